//! `idempotency_keys`: a keyed deposit request, its assigned deposit ids and its answer.

use sea_orm::entity::prelude::*;

/// One key of one tenant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// Hex SHA-256 of the checked request's JSON text: a retry must ask for the same thing.
    pub request_sha256: String,
    /// The checked request, as JSON (what the start-up job needs to finish it).
    #[sea_orm(column_type = "JsonBinary")]
    pub request: Json,
    /// JSON array of the deposit ids assigned before anything went on chain; each item's
    /// on-chain transaction carries its id as `external_id`.
    #[sea_orm(column_type = "JsonBinary")]
    pub deposit_ids: Json,
    /// `pending` or `done`.
    pub state: crate::domain::deposits::KeyState,
    /// The answer once done, kept as text: a replay returns it byte for byte.
    pub response: Option<String>,
    /// A pending request's attempt owns the key until then.
    pub locked_until: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
