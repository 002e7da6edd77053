//! `sessions`: a browser session (the cookie holds an opaque secret; the row its keyed hash).

use sea_orm::entity::prelude::*;

/// A session row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    #[sea_orm(unique)]
    pub secret_hash: String,
    /// `oidc` or `token` (an API token exchanged for a session: the local login).
    pub method: String,
    pub issuer: Option<String>,
    pub subject: Option<String>,
    /// The ID token (for the provider's end-session endpoint), sealed under the KEK.
    pub sealed_id_token: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    /// The API token a `token` session was exchanged for: the session ends with it.
    pub origin_token_id: Option<Uuid>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
