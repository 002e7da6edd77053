//! Idempotency keys of deposit requests: what a request asked for, the deposit ids it
//! assigned before anything went on chain, and its answer once recorded. A retry with the
//! same key gets the first answer; one after a failure finds on chain what the first
//! attempt committed (by those ids) instead of depositing twice.

use super::columns::{string, ts, uuid};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    TenantId,
    Key,
    RequestSha256,
    Request,
    DepositIds,
    State,
    Response,
    LockedUntil,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(uuid(IdempotencyKeys::TenantId))
                .col(string(IdempotencyKeys::Key, 255))
                .col(string(IdempotencyKeys::RequestSha256, 64))
                .col(ColumnDef::new(IdempotencyKeys::Request).text().not_null())
                .col(
                    ColumnDef::new(IdempotencyKeys::DepositIds)
                        .text()
                        .not_null(),
                )
                .col(string(IdempotencyKeys::State, 16))
                .col(ColumnDef::new(IdempotencyKeys::Response).text().null())
                .col(ts(IdempotencyKeys::LockedUntil))
                .col(ts(IdempotencyKeys::CreatedAt))
                .col(ts(IdempotencyKeys::ExpiresAt))
                .primary_key(
                    Index::create()
                        .col(IdempotencyKeys::TenantId)
                        .col(IdempotencyKeys::Key),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_idempotency_keys_state")
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::State)
                .col(IdempotencyKeys::LockedUntil)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await
    }
}
