//! `chain_materials`: a chain's keys and genesis, sealed under the KEK (AAD: the chain id).

use sea_orm::entity::prelude::*;

/// A chain's keys and genesis, sealed under the KEK (AAD: the chain id).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chain_materials")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub chain_id: Uuid,
    pub sealed: Vec<u8>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
