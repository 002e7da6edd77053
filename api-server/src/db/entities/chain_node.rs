//! `chain_nodes`: a node of a chain, run for one member tenant.

use sea_orm::entity::prelude::*;

/// A node of a chain, run for one member tenant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chain_nodes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub chain_id: Uuid,
    pub name: String,
    pub tenant_id: Uuid,
    /// The member's label in node names.
    pub member: String,
    /// `validator`.
    pub role: String,
    /// Hex ed25519 public key.
    pub public_key: String,
    pub p2p_port: i32,
    pub api_port: i32,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
