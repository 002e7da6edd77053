//! Free TCP ports on 127.0.0.1 for chain nodes to listen on: what the API server's local
//! runtime places nodes on, and what the node's `testnet` command and the test suites use.

/// `n` distinct free TCP ports on 127.0.0.1 for nodes to listen on.
///
/// - Every listener is held until all are bound, so none repeats.
/// - They are drawn below the kernel's ephemeral range (`ip_local_port_range`, 32768 and up
///   by default) where it leaves room: no outgoing connection is ever given one of them, so a
///   node that restarts on its ports finds them free even on a busy machine. (Port 0 draws
///   from the ephemeral range, and a client's connection can take a stopped node's port.)
pub fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    free_ports_avoiding(n, &Default::default())
}

/// [`free_ports`], never one of `avoid` (ports that belong to something not running right now,
/// such as a node waiting to be restarted).
pub fn free_ports_avoiding(
    n: usize,
    avoid: &std::collections::HashSet<u16>,
) -> std::io::Result<Vec<u16>> {
    use std::net::TcpListener;
    const FLOOR: u16 = 10_000;
    let low = ephemeral_low().unwrap_or(32_768);
    let mut held: Vec<TcpListener> = Vec::with_capacity(n);
    if low > FLOOR + 1_000 {
        let mut tries = 0;
        while held.len() < n && tries < 20 * n + 100 {
            tries += 1;
            let port = rand::random_range(FLOOR..low);
            if avoid.contains(&port) {
                continue;
            }
            if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
                held.push(l);
            }
        }
    }
    // Avoided ports the OS hands out stay bound until the end, so it cannot repeat them.
    let mut skipped = Vec::new();
    while held.len() < n {
        let l = TcpListener::bind("127.0.0.1:0")?;
        if avoid.contains(&l.local_addr()?.port()) {
            skipped.push(l);
        } else {
            held.push(l);
        }
    }
    held.iter().map(|l| Ok(l.local_addr()?.port())).collect()
}

/// The low end of Linux's ephemeral port range.
fn ephemeral_low() -> Option<u16> {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    /// Ports for nodes never repeat (binding port 0 and dropping the listener repeats ~8 in
    /// 600 here) and lie below the ephemeral range, where no outgoing connection takes them.
    #[test]
    fn free_ports_never_repeat_and_avoid_the_ephemeral_range() {
        let ports = crate::free_ports(300).unwrap();
        let distinct: std::collections::HashSet<_> = ports.iter().collect();
        assert_eq!(distinct.len(), ports.len());
        if let Ok(range) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range") {
            let low: u16 = range.split_whitespace().next().unwrap().parse().unwrap();
            if low > 11_000 {
                assert!(ports.iter().all(|p| (10_000..low).contains(p)), "{ports:?}");
                // Ports to avoid are never drawn, even when they are nearly all there is.
                let avoid: std::collections::HashSet<u16> = (10_000..low).skip(40).collect();
                let ports = crate::free_ports_avoiding(16, &avoid).unwrap();
                assert!(ports.iter().all(|p| !avoid.contains(p)), "{ports:?}");
            }
        }
    }
}
