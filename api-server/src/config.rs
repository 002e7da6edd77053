//! Server configuration from flags and environment variables.

use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Settings shared by every subcommand that touches the database.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Directory for the SQLite database, keys and the bootstrap token.
    #[arg(long, env = "CONSORTIA_DATA_DIR", default_value = "./.consortia")]
    pub data_dir: PathBuf,

    /// PostgreSQL URL (`postgres://user@host:5432/db`); SQLite in the data directory when unset.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

impl DbArgs {
    /// The database URL to use.
    pub fn url(&self) -> String {
        match &self.database_url {
            Some(u) if !u.is_empty() => u.clone(),
            _ => crate::db::sqlite_url(&self.data_dir),
        }
    }
}

/// Settings of `consortia-api serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Database settings.
    #[command(flatten)]
    pub db: DbArgs,

    /// Address to listen on.
    #[arg(long, env = "CONSORTIA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// File holding the 64-hex-character key that API token secrets are hashed under;
    /// created in the data directory when absent. Every replica must share it.
    #[arg(long, env = "CONSORTIA_TOKEN_KEY_FILE")]
    pub token_key_file: Option<PathBuf>,

    /// File holding the 64-hex-character key-encryption key that CA and node keys are sealed
    /// under (AES-256-GCM); created in the data directory when absent and `CONSORTIA_KEK` is
    /// unset. Every replica must share it.
    #[arg(long, env = "CONSORTIA_KEK_FILE")]
    pub kek_file: Option<PathBuf>,

    /// Public base URL of this API (e.g. `https://baas.example.com`), written into
    /// certificates as their CRL distribution point. Default: `http://<listen address>`.
    #[arg(long, env = "CONSORTIA_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Server-managed certificates expiring within this many days are renewed automatically.
    #[arg(long, env = "CONSORTIA_RENEWAL_WINDOW_DAYS", default_value_t = 15)]
    pub renewal_window_days: u32,

    /// Seconds between runs of the renewal job (0 turns it off).
    #[arg(long, env = "CONSORTIA_RENEWAL_INTERVAL", default_value_t = 3600)]
    pub renewal_interval: u64,

    /// HTTP worker threads (default: one per CPU core).
    #[arg(long, env = "CONSORTIA_WORKERS")]
    pub workers: Option<usize>,

    /// Seconds to let in-flight requests finish after SIGTERM/SIGINT.
    #[arg(long, env = "CONSORTIA_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,

    /// Seconds an authenticated token is remembered (0 = always ask the database). A
    /// revocation takes effect at once on the replica that makes it, within this on others.
    #[arg(long, env = "CONSORTIA_AUTH_CACHE_TTL", default_value_t = 5)]
    pub auth_cache_ttl: u64,

    /// Log format.
    #[arg(long, env = "CONSORTIA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}
