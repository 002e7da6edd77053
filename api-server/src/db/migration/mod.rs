//! Schema migrations (sea-orm-migration). One schema serves SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

mod columns;

mod m20261125_000001_core;
mod m20261125_000002_alliances;
mod m20261125_000003_pki;
mod m20261128_000004_sso;
mod m20261128_000005_marketplace;
mod m20261128_000006_chains;
mod m20261128_000007_installations;
mod m20261128_000008_chain_blocks;
mod m20261207_000009_session_origin;
mod m20261207_000010_idempotency;
mod m20261207_000011_template_listing;
mod m20261208_000012_json_columns;
mod m20261208_000013_listing_indexes;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_core::Migration),
            Box::new(m20261125_000002_alliances::Migration),
            Box::new(m20261125_000003_pki::Migration),
            Box::new(m20261128_000004_sso::Migration),
            Box::new(m20261128_000005_marketplace::Migration),
            Box::new(m20261128_000006_chains::Migration),
            Box::new(m20261128_000007_installations::Migration),
            Box::new(m20261128_000008_chain_blocks::Migration),
            Box::new(m20261207_000009_session_origin::Migration),
            Box::new(m20261207_000010_idempotency::Migration),
            Box::new(m20261207_000011_template_listing::Migration),
            Box::new(m20261208_000012_json_columns::Migration),
            Box::new(m20261208_000013_listing_indexes::Migration),
        ]
    }
}
