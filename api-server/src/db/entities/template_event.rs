//! `template_events`: the publishing history of a template (upload, submit, review, deprecate).

use sea_orm::entity::prelude::*;

/// A history row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "template_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub template_id: Uuid,
    pub version: String,
    /// `uploaded`, `replaced`, `submitted`, `approved`, `rejected`, `deprecated`.
    pub action: String,
    pub actor_user_id: Option<Uuid>,
    pub detail: Option<String>,
    pub created_at: DateTimeUtc,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
