//! `audit_events`: one row per mutating request, accepted or refused.

use sea_orm::entity::prelude::*;

/// An audit row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub time: DateTimeUtc,
    pub request_id: String,
    pub actor_user_id: Option<Uuid>,
    pub actor_token_id: Option<Uuid>,
    /// The tenant the request acted in, once the actor was known to belong to it.
    pub tenant_id: Option<Uuid>,
    pub action: String,
    pub target: Option<String>,
    /// `success`, `denied` or `failed`.
    pub outcome: String,
    pub status: i32,
}

/// Audit events stand alone.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
