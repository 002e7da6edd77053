//! Approved chain proposals at start: those whose chain a stopped server never made or
//! deleted are carried out before requests are served.

use crate::service::chains::Chains;

/// Carries out the approved `create_chain` / `delete_chain` proposals left undone; how many.
pub async fn resume(chains: &Chains) -> anyhow::Result<usize> {
    chains.resume_proposals().await
}
