//! `alliance_members`: a tenant's membership in an alliance, with its member organisation.

use sea_orm::entity::prelude::*;

/// A tenant's membership in an alliance, with its member organisation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alliance_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub alliance_id: Uuid,
    pub tenant_id: Uuid,
    /// Display name of the member organisation.
    pub org_name: String,
    /// Organisation id, unique in the alliance; usable as a Fabric MSP id.
    pub org_id: String,
    pub joined_at: DateTimeUtc,
}

/// Related rows are loaded by id in the store.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
