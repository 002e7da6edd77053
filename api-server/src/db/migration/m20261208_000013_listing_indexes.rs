//! Indexes for the console's lists and the live feed: a tenant's deposits newest first, a
//! chain's deposits, and the feed's scan of recent alliance events.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (name, table, columns).
const INDEXES: &[(&str, &str, &[&str])] = &[
    ("ix_deposits_tenant_id", "deposits", &["tenant_id", "id"]),
    (
        "ix_deposit_receipts_chain",
        "deposit_receipts",
        &["chain_id", "deposit_id"],
    ),
    (
        "ix_alliance_events_created",
        "alliance_events",
        &["created_at"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Each statement is safe to repeat: SQLite runs migrations outside a transaction.
        for (name, table, columns) in INDEXES {
            let mut i = Index::create();
            i.name(*name).table(Alias::new(*table)).if_not_exists();
            for c in *columns {
                i.col(Alias::new(*c));
            }
            m.create_index(i.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES {
            m.drop_index(
                Index::drop()
                    .name(*name)
                    .table(Alias::new(*table))
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
