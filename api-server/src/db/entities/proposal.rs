//! `proposals`: a governance proposal.

use sea_orm::entity::prelude::*;

/// A governance proposal.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "proposals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub alliance_id: Uuid,
    /// `invite_member`, `remove_member`, `change_policy`, ...
    pub kind: String,
    /// The proposal's details as JSON.
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    pub description: String,
    /// `open`, `approved`, `rejected` or `expired`.
    pub status: crate::domain::governance::ProposalStatus,
    pub proposer_tenant_id: Uuid,
    pub proposer_user_id: Uuid,
    /// JSON array of the tenant ids that were members when the proposal was made.
    #[sea_orm(column_type = "JsonBinary")]
    pub eligible: Json,
    pub threshold_percentage: i32,
    pub comparator: String,
    pub yes_count: i32,
    pub no_count: i32,
    /// Bumped by every vote; the update that bumps it serialises concurrent votes.
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
}

/// Related rows are loaded by id in the store.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
