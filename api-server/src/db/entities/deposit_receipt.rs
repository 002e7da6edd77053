//! `deposit_receipts`: where a deposit was committed: one row per chain, with the offline-verifiable receipt.

use sea_orm::entity::prelude::*;

/// Where a deposit was committed: one row per chain, with the offline-verifiable receipt.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deposit_receipts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub deposit_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub chain_id: Uuid,
    pub tx_hash: String,
    pub height: i64,
    pub committed_at: DateTimeUtc,
    /// The transaction's part of the receipt (`consortia_chain::receipt::TxProof` JSON); the
    /// block's part is in `chain_blocks`. (Rows written before that table existed hold the
    /// whole receipt.) Together they verify offline with `consortia-node verify-receipt`.
    pub receipt: String,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
