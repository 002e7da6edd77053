//! Server configuration from flags and environment variables.

use crate::oidc::{OidcSettings, parse_group_map};
use crate::telemetry::LogFormat;
use clap::Args;
use openidconnect::{IssuerUrl, RedirectUrl};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where the metrics listener listens, if anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsListen {
    /// No metrics listener.
    Off,
    /// Serve `GET /metrics` here.
    At(SocketAddr),
}

fn parse_metrics_listen(s: &str) -> Result<MetricsListen, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(MetricsListen::Off);
    }
    s.parse()
        .map(MetricsListen::At)
        .map_err(|e| format!("`{s}` is neither an address like 0.0.0.0:9464 nor `off`: {e}"))
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

    /// Address of the metrics listener (`GET /metrics`), kept apart from the API's so that
    /// only the monitoring system reaches it; `off` serves no metrics.
    #[arg(long, env = "CONSORTIA_METRICS_LISTEN", default_value = "127.0.0.1:9464", value_parser = parse_metrics_listen)]
    pub metrics_listen: MetricsListen,

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

    /// Browser sessions last at most this many seconds.
    #[arg(long, env = "CONSORTIA_SESSION_TTL", default_value_t = 12 * 3600)]
    pub session_ttl: u64,

    /// A browser session unused for this many seconds ends.
    #[arg(long, env = "CONSORTIA_SESSION_IDLE_TIMEOUT", default_value_t = 2 * 3600)]
    pub session_idle_timeout: u64,

    /// Largest marketplace template package (tar.gz) accepted, in bytes.
    #[arg(long, env = "CONSORTIA_TEMPLATE_MAX_BYTES", default_value_t = crate::domain::templates::DEFAULT_MAX_PACKAGE_BYTES)]
    pub template_max_bytes: usize,

    /// The built web console (`npm run build` in `dashboard/`; `./scripts/run` does it),
    /// served at `/`. When the folder holds no build, only the API is served.
    #[arg(
        long,
        env = "CONSORTIA_CONSOLE_DIR",
        default_value = "./dashboard/dist"
    )]
    pub console_dir: PathBuf,

    /// Where chains run: `local` (consortia-node processes on this machine, data under the
    /// data directory) or `kubernetes` (Chain resources for the operator).
    #[arg(long, env = "CONSORTIA_RUNTIME", value_enum, default_value_t = RuntimeKind::Local)]
    pub runtime: RuntimeKind,

    /// Namespace of Chain resources (kubernetes runtime; default: the client's namespace).
    #[arg(long, env = "CONSORTIA_KUBE_NAMESPACE")]
    pub kube_namespace: Option<String>,

    /// Single sign-on.
    #[command(flatten)]
    pub oidc: OidcArgs,
}

/// The chain runtimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeKind {
    Local,
    Kubernetes,
}

/// Single sign-on with an OpenID Connect provider. Off unless an issuer is configured.
/// Every setting can also come from `--oidc-config FILE` (JSON with the same names in
/// snake case, e.g. `{"issuer": "...", "client_id": "...", "group_map": "..."}`);
/// flags and environment win over the file.
#[derive(Debug, Clone, Default, Args)]
pub struct OidcArgs {
    /// JSON file with OIDC settings.
    #[arg(long = "oidc-config", env = "CONSORTIA_OIDC_CONFIG")]
    pub config: Option<PathBuf>,

    /// Issuer URL of the identity provider (discovery at `<issuer>/.well-known/openid-configuration`).
    #[arg(long = "oidc-issuer", env = "CONSORTIA_OIDC_ISSUER")]
    pub issuer: Option<String>,

    /// Consortia's client id at the provider.
    #[arg(long = "oidc-client-id", env = "CONSORTIA_OIDC_CLIENT_ID")]
    pub client_id: Option<String>,

    /// Client secret (prefer the file form).
    #[arg(
        long = "oidc-client-secret",
        env = "CONSORTIA_OIDC_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,

    /// File holding the client secret.
    #[arg(
        long = "oidc-client-secret-file",
        env = "CONSORTIA_OIDC_CLIENT_SECRET_FILE"
    )]
    pub client_secret_file: Option<PathBuf>,

    /// Redirect URL registered at the provider. Default: `<public url>/auth/callback`.
    #[arg(long = "oidc-redirect-url", env = "CONSORTIA_OIDC_REDIRECT_URL")]
    pub redirect_url: Option<String>,

    /// Scopes to request, space-separated. Default: `openid email profile`.
    #[arg(long = "oidc-scopes", env = "CONSORTIA_OIDC_SCOPES")]
    pub scopes: Option<String>,

    /// Claim holding the e-mail address. Default: `email`.
    #[arg(long = "oidc-claim-email", env = "CONSORTIA_OIDC_CLAIM_EMAIL")]
    pub claim_email: Option<String>,

    /// Claim holding the display name. Default: `name`.
    #[arg(long = "oidc-claim-name", env = "CONSORTIA_OIDC_CLAIM_NAME")]
    pub claim_name: Option<String>,

    /// Claim holding the groups. Default: `groups`.
    #[arg(long = "oidc-claim-groups", env = "CONSORTIA_OIDC_CLAIM_GROUPS")]
    pub claim_groups: Option<String>,

    /// Groups that grant tenant roles: `group=tenant-slug:role`, comma-separated.
    #[arg(long = "oidc-group-map", env = "CONSORTIA_OIDC_GROUP_MAP")]
    pub group_map: Option<String>,

    /// Audience a bearer JWT access token from the provider must carry (the API's resource
    /// id, not the console's client id). Unset: only Consortia API tokens are accepted.
    #[arg(long = "oidc-api-audience", env = "CONSORTIA_OIDC_API_AUDIENCE")]
    pub api_audience: Option<String>,

    /// Link a signing-in person to an existing user by an e-mail the provider has not verified.
    #[arg(
        long = "oidc-trust-unverified-email",
        env = "CONSORTIA_OIDC_TRUST_UNVERIFIED_EMAIL"
    )]
    pub trust_unverified_email: Option<bool>,

    /// Least seconds between JWKS fetches caused by tokens naming unknown keys. Default: 10.
    #[arg(
        long = "oidc-jwks-min-refresh",
        env = "CONSORTIA_OIDC_JWKS_MIN_REFRESH"
    )]
    pub jwks_min_refresh_secs: Option<u64>,
}

/// The `--oidc-config` file: the same settings as the flags (flags and environment win).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OidcFile {
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_secret_file: Option<std::path::PathBuf>,
    redirect_url: Option<String>,
    scopes: Option<String>,
    claim_email: Option<String>,
    claim_name: Option<String>,
    claim_groups: Option<String>,
    group_map: Option<String>,
    api_audience: Option<String>,
    trust_unverified_email: Option<bool>,
    jwks_min_refresh_secs: Option<u64>,
}

impl OidcArgs {
    /// Resolves flags, environment and the optional config file. `None` when no issuer is
    /// configured (single sign-on off).
    pub fn settings(&self, public_url: &str) -> anyhow::Result<Option<OidcSettings>> {
        let args = self;
        let file: OidcFile = match &args.config {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    anyhow::anyhow!("could not read OIDC config file {}: {e}", p.display())
                })?;
                serde_json::from_str(&text).map_err(|e| {
                    anyhow::anyhow!("OIDC config file {} is not valid: {e}", p.display())
                })?
            }
            None => OidcFile::default(),
        };
        let Some(issuer) = args.issuer.clone().or(file.issuer) else {
            return Ok(None);
        };
        let issuer = issuer.trim_end_matches('/').to_string();
        IssuerUrl::new(issuer.clone())
            .map_err(|e| anyhow::anyhow!("OIDC issuer `{issuer}` is not a URL: {e}"))?;
        let client_id = args.client_id.clone().or(file.client_id).ok_or_else(|| {
            anyhow::anyhow!(
                "OIDC issuer is set but no client id (--oidc-client-id / CONSORTIA_OIDC_CLIENT_ID)"
            )
        })?;
        let secret_file = args.client_secret_file.clone().or(file.client_secret_file);
        let client_secret = match (
            args.client_secret.clone().or(file.client_secret),
            secret_file,
        ) {
            (Some(s), _) => Some(s),
            (None, Some(p)) => Some(
                std::fs::read_to_string(&p)
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "could not read OIDC client secret file {}: {e}",
                            p.display()
                        )
                    })?
                    .trim()
                    .to_string(),
            ),
            (None, None) => None,
        };
        let redirect_url = args
            .redirect_url
            .clone()
            .or(file.redirect_url)
            .unwrap_or_else(|| format!("{}/auth/callback", public_url.trim_end_matches('/')));
        RedirectUrl::new(redirect_url.clone())
            .map_err(|e| anyhow::anyhow!("OIDC redirect URL `{redirect_url}` is not a URL: {e}"))?;
        let scopes: Vec<String> = args
            .scopes
            .clone()
            .or(file.scopes)
            .unwrap_or_else(|| "openid email profile".into())
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let group_map = match args.group_map.clone().or(file.group_map) {
            Some(s) => parse_group_map(&s).map_err(anyhow::Error::msg)?,
            None => Vec::new(),
        };
        Ok(Some(OidcSettings {
            api_audience: args.api_audience.clone().or(file.api_audience),
            issuer,
            client_id,
            client_secret,
            redirect_url,
            scopes,
            claim_email: args
                .claim_email
                .clone()
                .or(file.claim_email)
                .unwrap_or_else(|| "email".into()),
            claim_name: args
                .claim_name
                .clone()
                .or(file.claim_name)
                .unwrap_or_else(|| "name".into()),
            claim_groups: args
                .claim_groups
                .clone()
                .or(file.claim_groups)
                .unwrap_or_else(|| "groups".into()),
            group_map,
            trust_unverified_email: args
                .trust_unverified_email
                .or(file.trust_unverified_email)
                .unwrap_or(false),
            jwks_min_refresh: Duration::from_secs(
                args.jwks_min_refresh_secs
                    .or(file.jwks_min_refresh_secs)
                    .unwrap_or(10),
            ),
        }))
    }
}
