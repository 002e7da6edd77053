//! `kubectl port-forward` to a free local port, stopped when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::kubectl::Kubectl;
use crate::process;

/// A running port-forward; `url` reaches the remote port.
pub struct PortForward {
    child: Child,
    pub url: String,
}

impl PortForward {
    /// Forwards a free local port to `remote_port` of `target` (e.g. `svc/x-client`); the
    /// local port is the one kubectl picks and announces, so no two runs race for one.
    pub fn start(kubectl: &Kubectl, target: &str, remote_port: u16) -> Result<Self> {
        let remote = format!(":{remote_port}");
        let mut cmd = kubectl.command(&["port-forward", "--address", "127.0.0.1", target, &remote]);
        eprintln!("+ {} &", process::show(&cmd));
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("could not start `kubectl port-forward`")?;
        let stdout = child.stdout.take().context("port-forward without stdout")?;
        let (tx, rx) = mpsc::channel();
        // Keeps reading for the forward's whole life, so kubectl never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = forwarded_port(&line) {
                    let _ = tx.send(port);
                }
            }
        });
        let mut forward = PortForward {
            child,
            url: String::new(),
        };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(port) => {
                forward.url = format!("http://127.0.0.1:{port}");
                eprintln!("    {target}:{remote_port} is at {}", forward.url);
                Ok(forward)
            }
            Err(_) => {
                let exited = forward.child.try_wait().ok().flatten();
                bail!(
                    "expected `kubectl port-forward {target} {remote}` to announce a local port \
                     within 30s; {}",
                    match exited {
                        Some(status) => format!("it exited ({status}), see its stderr above"),
                        None => "it printed nothing".to_string(),
                    }
                )
            }
        }
    }
}

impl Drop for PortForward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The local port of kubectl's `Forwarding from 127.0.0.1:PORT -> REMOTE` line.
pub fn forwarded_port(line: &str) -> Option<u16> {
    let rest = line.trim().strip_prefix("Forwarding from ")?;
    let (local, _remote) = rest.split_once(" -> ")?;
    local.rsplit_once(':')?.1.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_port_is_read_from_kubectls_announcement() {
        assert_eq!(
            forwarded_port("Forwarding from 127.0.0.1:41233 -> 26657"),
            Some(41233)
        );
        assert_eq!(
            forwarded_port("Forwarding from [::1]:41233 -> 26657\n"),
            Some(41233)
        );
        assert_eq!(forwarded_port("Handling connection for 41233"), None);
        assert_eq!(forwarded_port("Forwarding from 127.0.0.1:x -> 1"), None);
    }
}
