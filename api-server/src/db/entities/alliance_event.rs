//! `alliance_events`: one entry of an alliance's event feed.

use sea_orm::entity::prelude::*;

/// One entry of an alliance's event feed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alliance_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub alliance_id: Uuid,
    pub kind: String,
    pub actor_tenant_id: Option<Uuid>,
    pub actor_user_id: Option<Uuid>,
    /// Details as JSON.
    #[sea_orm(column_type = "JsonBinary")]
    pub data: Json,
    pub created_at: DateTimeUtc,
}

/// Related rows are loaded by id in the store.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
