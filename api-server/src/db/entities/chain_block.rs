//! `chain_blocks`: the header and commit certificate of a block that holds deposits, shared
//! by every receipt of the block.

use sea_orm::entity::prelude::*;

/// A block's seal (header and commit certificate), once per block.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chain_blocks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub chain_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub height: i64,
    pub block_hash: String,
    /// `consortia_chain::receipt::BlockSeal` as JSON.
    pub seal: String,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
