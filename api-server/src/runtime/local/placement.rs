//! Where the local runtime puts a chain's nodes: two free ports on 127.0.0.1 per node, none
//! repeated, none the caller asks to avoid, none handed to a chain still being created.

use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;

use crate::runtime::{NodePorts, Placement};

/// Ports handed to chains that are being created and not yet recorded. Process-wide: every
/// local runtime of this process draws from the same machine.
static RESERVED: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Ports for `count` nodes, none in `avoid` nor reserved for another placement; reserved until
/// the placement is dropped.
pub fn place(count: usize, avoid: &HashSet<u16>) -> std::io::Result<Placement> {
    let ports = {
        let mut reserved = RESERVED.lock().unwrap_or_else(|e| e.into_inner());
        let mut avoid = avoid.clone();
        avoid.extend(reserved.iter().copied());
        let ports = consortia_ports::free_ports_avoiding(count * 2, &avoid)?;
        reserved.extend(ports.iter().copied());
        ports
    };
    let nodes = ports
        .chunks(2)
        .map(|p| NodePorts {
            p2p: p[0],
            api: p[1],
        })
        .collect();
    Ok(Placement::held(nodes, move || {
        let mut reserved = RESERVED.lock().unwrap_or_else(|e| e.into_inner());
        for p in &ports {
            reserved.remove(p);
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reserved(ports: &[u16]) -> bool {
        let r = RESERVED.lock().unwrap();
        ports.iter().all(|p| r.contains(p))
    }

    #[test]
    fn placements_never_share_a_port_while_held_and_release_when_dropped() {
        let first = place(3, &HashSet::new()).unwrap();
        assert_eq!(first.nodes.len(), 3);
        let taken: HashSet<u16> = first.held_ports().iter().copied().collect();
        assert_eq!(taken.len(), 6, "{first:?}");
        // Even when asked to avoid nothing, a second chain is kept off the first one's ports.
        let second = place(3, &HashSet::new()).unwrap();
        assert!(second.held_ports().iter().all(|p| !taken.contains(p)));
        let held = first.held_ports().to_vec();
        assert!(reserved(&held));
        drop(first);
        let r = RESERVED.lock().unwrap();
        assert!(held.iter().all(|p| !r.contains(p)), "released once dropped");
        assert!(second.held_ports().iter().all(|p| r.contains(p)));
    }

    #[test]
    fn ports_to_avoid_are_never_placed() {
        let avoid: HashSet<u16> = place(8, &HashSet::new())
            .unwrap()
            .held_ports()
            .iter()
            .copied()
            .collect();
        let placed = place(8, &avoid).unwrap();
        assert!(placed.held_ports().iter().all(|p| !avoid.contains(p)));
    }
}
