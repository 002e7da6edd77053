//! Bounded polling: every wait of the suite has a deadline and, when it passes, says what it
//! waited for and what it saw last.

use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

/// How often cluster state is polled.
pub const INTERVAL: Duration = Duration::from_secs(2);

/// Calls `probe` every [`INTERVAL`] until it returns `Ok` or `timeout` passes. An `Err` from
/// the probe means "not yet" and describes what it sees; a change of it is logged.
pub fn until<T>(what: &str, timeout: Duration, probe: impl FnMut() -> Result<T>) -> Result<T> {
    until_every(what, timeout, INTERVAL, probe)
}

/// [`until`] with a chosen polling interval.
pub fn until_every<T>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut probe: impl FnMut() -> Result<T>,
) -> Result<T> {
    let start = Instant::now();
    let mut last_seen = String::new();
    loop {
        match probe() {
            Ok(value) => {
                eprintln!("    ok after {}s: {what}", start.elapsed().as_secs());
                return Ok(value);
            }
            Err(e) => {
                let seen = format!("{e:#}");
                if seen != last_seen {
                    eprintln!(
                        "    [{:>3}s] waiting for {what}: {seen}",
                        start.elapsed().as_secs()
                    );
                    last_seen = seen;
                }
            }
        }
        if start.elapsed() >= timeout {
            bail!(
                "timed out after {}s waiting for {what}; last seen: {last_seen}",
                timeout.as_secs()
            );
        }
        sleep(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::anyhow;

    #[test]
    fn returns_the_value_once_the_probe_succeeds() {
        let mut calls = 0;
        let v = until_every(
            "the third call",
            Duration::from_secs(5),
            Duration::ZERO,
            || {
                calls += 1;
                if calls < 3 {
                    Err(anyhow!("call {calls}"))
                } else {
                    Ok(calls)
                }
            },
        )
        .unwrap();
        assert_eq!(v, 3);
    }

    #[test]
    fn a_timeout_names_the_wait_and_the_last_thing_seen() {
        let mut calls = 0;
        let err = until_every(
            "phase Running",
            Duration::from_millis(300),
            Duration::from_millis(5),
            || -> Result<()> {
                calls += 1;
                Err(anyhow!("phase Provisioning (poll {calls})"))
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("timed out after 0s waiting for phase Running"),
            "{err}"
        );
        assert!(
            err.ends_with(&format!("last seen: phase Provisioning (poll {calls})")),
            "{err}"
        );
        assert!(calls > 1, "polled only {calls} times");
    }
}
