//! `votes`: a member tenant's vote on a proposal; (proposal_id, tenant_id) is unique.

use sea_orm::entity::prelude::*;

/// A member tenant's vote on a proposal; (proposal_id, tenant_id) is unique.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "votes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub proposal_id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub approve: bool,
    pub created_at: DateTimeUtc,
}

/// Related rows are loaded by id in the store.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
