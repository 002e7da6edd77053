//! `chains`: a chain of an alliance.

use sea_orm::entity::prelude::*;

/// A chain of an alliance.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chains")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub alliance_id: Uuid,
    /// Display name, unique in the alliance.
    pub name: String,
    /// Name of its resources (`ch-…`, a DNS label), unique on the platform.
    pub resource_name: String,
    pub engine: String,
    pub consensus: String,
    pub version: Option<String>,
    /// `local` or `kubernetes`.
    pub runtime: String,
    pub nodes_per_member: i32,
    /// The chain id in its genesis.
    pub chain_id: String,
    pub genesis_hash: String,
    pub created_by_tenant: Uuid,
    pub created_by_user: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
