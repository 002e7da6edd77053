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
    /// Hex SHA-256 of `request`: a retry must ask for the same thing.
    pub request_sha256: String,
    /// The checked request, as JSON (what the start-up job needs to finish it).
    pub request: String,
    /// JSON array of the deposit ids assigned before anything went on chain; each item's
    /// on-chain transaction carries its id as `external_id`.
    pub deposit_ids: String,
    /// `pending` or `done`.
    pub state: String,
    /// The answer's JSON once done.
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
