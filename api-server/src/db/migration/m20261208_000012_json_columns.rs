//! Columns that hold JSON documents become JSON columns, so the stores read and write
//! values instead of strings parsed at each use.
//!
//! On PostgreSQL they become `jsonb` (the values are checked by the database, and can be
//! queried and indexed). SQLite has no JSON type: its columns stay `text`, which is what
//! the driver reads and writes JSON values as, so nothing changes there.
//!
//! Deposit receipts stay text on purpose: a receipt is a signed document handed back byte
//! for byte, and `jsonb` would reorder its keys.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every converted column, as (table, column).
const COLUMNS: &[(&str, &str)] = &[
    ("certificates", "sans"),
    ("proposals", "payload"),
    ("proposals", "eligible"),
    ("alliance_events", "data"),
    ("template_versions", "manifest"),
    ("template_installations", "parameters"),
    ("template_installations", "config"),
    ("template_installations", "receipt"),
    ("deposits", "metadata"),
    ("idempotency_keys", "request"),
    ("idempotency_keys", "deposit_ids"),
];

/// One batch that converts every column to `to`.
fn convert(to: &str) -> String {
    COLUMNS
        .iter()
        .map(|(table, column)| {
            format!("ALTER TABLE {table} ALTER COLUMN {column} TYPE {to} USING {column}::{to};")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

async fn run(m: &SchemaManager<'_>, to: &str) -> Result<(), DbErr> {
    if m.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    m.get_connection()
        .execute_unprepared(&convert(to))
        .await
        .map(|_| ())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        run(m, "jsonb").await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        run(m, "text").await
    }
}
