//! `template_installations`: a marketplace template installed on a chain.

use sea_orm::entity::prelude::*;

/// A template installed on a chain (one per template and chain).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "template_installations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub chain_id: Uuid,
    pub template_id: Uuid,
    pub template_version_id: Uuid,
    pub version: String,
    /// The member tenant that installed it.
    pub tenant_id: Uuid,
    /// The install parameters (JSON object), checked against the version's schema.
    #[sea_orm(column_type = "JsonBinary")]
    pub parameters: Json,
    /// The template's config artifacts rendered with the parameters (JSON object by path).
    #[sea_orm(column_type = "JsonBinary")]
    pub config: Json,
    /// `installing`, `installed` or `failed`.
    pub status: crate::domain::templates::InstallStatus,
    /// Why it failed, or what is pending.
    pub message: Option<String>,
    /// The transaction that anchored the installation on the chain.
    pub tx_hash: Option<String>,
    pub height: Option<i64>,
    /// Its receipt JSON (`consortia-node verify-receipt` checks it).
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub receipt: Option<Json>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
