//! Certificate renewal: every `every` seconds, the server renews the certificates whose keys
//! it keeps (managed identities) before they expire.

use crate::service::pki::Pki;
use std::time::Duration;

/// Runs the renewal job forever: every `every` seconds, renews managed certificates that
/// expire within `window_days` (see [`Pki::renew_due`]).
pub async fn every(pki: Pki, every: u64, window_days: u32) {
    let mut tick = tokio::time::interval(Duration::from_secs(every));
    loop {
        tick.tick().await;
        match pki.renew_due(window_days).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(renewed = n, "renewal job"),
            Err(e) => tracing::warn!(error = %e, "renewal job failed"),
        }
    }
}
