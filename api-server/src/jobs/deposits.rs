//! The deposit sweep: requests cut off between the chain and the database (a stopped
//! server, a commit after its timeout) are finished in the background.

use crate::service::deposits::Deposits;
use std::time::Duration;

/// Runs the sweep forever: first once the chains just resumed have had time to start, then
/// every minute (see [`Deposits::resume`]).
pub async fn every_minute(deposits: Deposits) {
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        match deposits.resume().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(requests = n, "interrupted deposit requests finished"),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "could not finish interrupted deposit requests")
            }
        }
    }
}
