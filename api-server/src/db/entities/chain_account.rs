//! `chain_accounts`: a tenant's service account on a chain; its key sealed under the KEK.

use sea_orm::entity::prelude::*;

/// A tenant's service account on a chain; its key sealed under the KEK.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chain_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub chain_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// The account id on the chain.
    pub account: String,
    pub sealed_key: Vec<u8>,
    pub created_at: DateTimeUtc,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
