//! Chains at start: every chain recorded for this server's runtime is started again, or its
//! running nodes adopted.

use crate::runtime::Runtime;
use crate::store;
use consortia_pki::seal::Kek;
use sea_orm::DatabaseConnection;

/// Starts (or adopts) every chain recorded for `runtime`; how many. A chain that cannot be
/// started is logged and the others go on.
pub async fn resume(
    db: &DatabaseConnection,
    kek: &Kek,
    runtime: &dyn Runtime,
) -> anyhow::Result<usize> {
    let mut n = 0;
    for c in store::chains::all_on(db, runtime.kind()).await? {
        let plan = store::chains::chain_plan(db, kek, &c).await?;
        match runtime.ensure(plan).await {
            Ok(()) => n += 1,
            Err(e) => tracing::error!(chain = %c.id, error = %e, "could not resume chain"),
        }
    }
    Ok(n)
}
