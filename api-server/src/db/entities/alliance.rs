//! `alliances`: an alliance (consortium) of tenants.

use sea_orm::entity::prelude::*;

/// An alliance (consortium) of tenants.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alliances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// `active` or `closed`.
    pub status: crate::domain::governance::AllianceStatus,
    pub threshold_percentage: i32,
    /// `greater_than` or `greater_than_or_equal`.
    pub comparator: String,
    pub proposal_duration_hours: i32,
    pub founder_tenant_id: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
}

/// Related rows are loaded by id in the store.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
