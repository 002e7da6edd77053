//! The header and commit certificate of each block that holds a deposit, kept once per block
//! instead of in every receipt of the block (a receipt row then keeps only its transaction,
//! index and Merkle path). No foreign key to `chains`: receipts outlive a deleted chain, and
//! so must the blocks they need.

use super::m20261128_000006_chains::{text, uuid};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChainBlocks {
    Table,
    ChainId,
    Height,
    BlockHash,
    Seal,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ChainBlocks::Table)
                .col(uuid(ChainBlocks::ChainId))
                .col(ColumnDef::new(ChainBlocks::Height).big_integer().not_null())
                .col(text(ChainBlocks::BlockHash, 64))
                .col(ColumnDef::new(ChainBlocks::Seal).text().not_null())
                .primary_key(
                    Index::create()
                        .col(ChainBlocks::ChainId)
                        .col(ChainBlocks::Height),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ChainBlocks::Table).to_owned())
            .await
    }
}
