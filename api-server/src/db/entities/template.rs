//! `templates`: a marketplace solution template (its versions are `template_versions`).

use sea_orm::entity::prelude::*;

/// A template row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "templates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub publisher_tenant_id: Uuid,
    /// The publisher's name for it (unique per publisher).
    pub slug: String,
    /// The catalog's name for it once a version is published (equal to `slug`), and `~`
    /// with the id before: unique, so one publisher's published slug is no one else's.
    #[sea_orm(unique)]
    pub listed_slug: String,
    pub name: String,
    pub summary: String,
    pub category: String,
    /// Comma-separated engines.
    pub engines: String,
    /// Shipped with Consortia.
    pub builtin: bool,
    pub installs: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
