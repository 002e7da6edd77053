//! `deposits`: an evidence deposit: a content hash recorded on one or more chains.

use sea_orm::entity::prelude::*;

/// An evidence deposit: a content hash recorded on one or more chains.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deposits")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// `sha256`, `sha3-256`, `sm3` or `sha512`.
    pub hash_alg: String,
    /// Lower-case hex.
    pub content_hash: String,
    /// Free-form JSON the depositor attached.
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
