//! `template_versions`: one uploaded version of a template, with its package.

use sea_orm::entity::prelude::*;

/// A template version row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "template_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub template_id: Uuid,
    pub version: String,
    /// The checked manifest as JSON.
    #[sea_orm(column_type = "JsonBinary")]
    pub manifest: Json,
    /// Size of the package (the bytes are in `template_packages`).
    pub package_bytes: i64,
    pub package_sha256: String,
    /// Where the version stands.
    pub status: crate::domain::templates::VersionStatus,
    /// Why it was rejected or deprecated.
    pub reason: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub submitted_at: Option<DateTimeUtc>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub reviewed_by: Option<Uuid>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
