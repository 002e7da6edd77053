//! `invitations`: an approved invitation of a tenant into an alliance.

use sea_orm::entity::prelude::*;

/// An approved invitation of a tenant into an alliance.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub alliance_id: Uuid,
    pub proposal_id: Uuid,
    pub tenant_id: Uuid,
    /// `pending`, `accepted`, `rejected` or `expired`.
    pub status: crate::domain::governance::InvitationStatus,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub responded_at: Option<DateTimeUtc>,
    pub responded_by: Option<Uuid>,
}

/// Related rows are loaded by id in the store.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
