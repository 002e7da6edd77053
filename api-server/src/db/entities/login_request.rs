//! `login_requests`: an OIDC login in flight (between `/auth/login` and `/auth/callback`).

use sea_orm::entity::prelude::*;

/// A pending login. `sealed` holds the nonce and PKCE verifier, sealed under the KEK.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Keyed hash of the `state` parameter.
    #[sea_orm(unique)]
    pub state_hash: String,
    /// Keyed hash of the login cookie that binds the login to the browser that began it.
    pub browser_hash: String,
    pub sealed: String,
    pub return_to: String,
    /// Keyed hash of the tenant invitation token the login redeems, if any.
    pub invite_hash: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
