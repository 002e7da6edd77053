//! What every request handler shares.

use crate::clock::Clock;
use crate::domain::tokens::TokenKey;
use crate::http::auth_cache::AuthCache;
use crate::http::metrics::Metrics;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Shared application state (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    /// Database pool.
    pub db: DatabaseConnection,
    /// Key that token secrets are hashed under.
    pub token_key: TokenKey,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Recently authenticated tokens.
    pub auth_cache: Arc<AuthCache>,
    /// Where "now" comes from (proposal and invitation expiry).
    pub clock: Arc<dyn Clock>,
    /// The key-encryption key CA keys are sealed under.
    pub kek: Arc<consortia_pki::seal::Kek>,
    /// The server's public base URL (CRL distribution points point here).
    pub public_url: String,
}
