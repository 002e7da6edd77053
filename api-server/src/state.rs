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
    /// Single sign-on, when configured.
    pub sso: Option<Arc<crate::sso::Oidc>>,
    /// Browser session lifetimes.
    pub sessions: SessionSettings,
    /// Largest marketplace template package accepted (bytes).
    pub template_max_bytes: usize,
    /// Where chains run (local processes or Kubernetes).
    pub runtime: Arc<dyn crate::runtime::Runtime>,
    /// Tenants' service accounts on chains (evidence deposits).
    pub signer: Arc<crate::deposit::Signer>,
    /// The runtime that outlives the HTTP server: work a request starts but must not end
    /// with it (installing a template once a new chain is up) runs here, not on the actix
    /// worker's runtime, which is dropped when the HTTP server stops.
    pub tasks: tokio::runtime::Handle,
}

/// Browser session lifetimes and cookie flags.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    /// Longest life of a session.
    pub ttl: std::time::Duration,
    /// A session unused this long ends.
    pub idle_timeout: std::time::Duration,
    /// Whether cookies carry `Secure` (the public URL is https).
    pub secure_cookies: bool,
}

impl SessionSettings {
    /// Defaults for `public_url`: 12 h, 2 h idle, `Secure` when https.
    pub fn for_url(public_url: &str) -> SessionSettings {
        SessionSettings {
            ttl: std::time::Duration::from_secs(12 * 3600),
            idle_timeout: std::time::Duration::from_secs(2 * 3600),
            secure_cookies: public_url.starts_with("https://"),
        }
    }
}
