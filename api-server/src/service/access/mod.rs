//! Who is calling and what they may do: credentials (API tokens, browser sessions,
//! provider-issued JWTs), the caller's role in a tenant, and which tenants a caller sees.
//!
//! A tenant the caller cannot see (not a member, token scoped elsewhere, or no such tenant)
//! is `NotFound`, never `Forbidden`, so ids of other tenants reveal nothing.

pub mod cache;

use crate::clock::Clock;
use crate::db::entities::{api_token, session, tenant, user};
use crate::domain::audit::Trail;
use crate::domain::error::{Error, Result};
use crate::domain::roles::{self, Action, Role};
use crate::domain::tokens::{self, TokenKey};
use crate::store;
use cache::AuthCache;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// What a caller is told when its credentials do not work.
pub const NOT_AUTHENTICATED: &str = "send `Authorization: Bearer <token>` with a valid, unexpired, unrevoked API token \
     (or an access token from the configured identity provider), or sign in to the console";

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A Consortia API token (`cst_...`).
    ApiToken(Uuid),
    /// A browser session cookie.
    Session(Uuid),
    /// A JWT access token issued by the configured identity provider.
    ProviderJwt,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user the credential acts for.
    pub user: user::Model,
    /// The credential used.
    pub credential: Credential,
    /// When set, the credential acts only inside this tenant.
    pub token_tenant: Option<Uuid>,
    /// When set, the credential acts with this role at most: a token someone else minted
    /// (for a service account) never carries more than its minter holds.
    pub role_cap: Option<Role>,
    /// When set, credentials made with this one (tokens it mints) expire no later.
    pub not_after: Option<DateTime<Utc>>,
    /// The request's audit note.
    pub trail: Trail,
}

/// What authenticating an API token found.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The token row.
    pub token: api_token::Model,
    /// Its user.
    pub user: user::Model,
    /// The minter's role in the token's tenant, when someone else minted it.
    pub role_cap: Option<Role>,
}

impl Caller {
    /// A caller with a fresh audit trail (for jobs and tests; requests get theirs from the edge).
    pub fn new(user: user::Model, credential: Credential, token_tenant: Option<Uuid>) -> Caller {
        Caller {
            user,
            credential,
            token_tenant,
            role_cap: None,
            not_after: None,
            trail: Trail::default(),
        }
    }

    /// Whether this caller is the platform administrator acting platform-wide.
    pub fn is_platform_admin(&self) -> bool {
        self.user.is_platform_admin && self.token_tenant.is_none()
    }

    /// Refuses unless the caller is the platform administrator.
    pub fn require_platform_admin(&self) -> Result<()> {
        if self.is_platform_admin() {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "only the platform administrator can do this".into(),
            ))
        }
    }

    /// Whether the caller's credential may act in `tenant` at all (its scope).
    pub fn in_scope(&self, tenant: Uuid) -> bool {
        self.token_tenant.is_none_or(|t| t == tenant)
    }

    /// Records the tenant acted in, for the audit log.
    pub fn noted_tenant(&self, tenant: Uuid) {
        self.trail.note(|n| n.tenant_id = Some(tenant));
    }

    /// Records the tenant acted in unless one is already recorded.
    pub fn noted_tenant_if_none(&self, tenant: Uuid) {
        self.trail.note(|n| {
            if n.tenant_id.is_none() {
                n.tenant_id = Some(tenant);
            }
        });
    }

    /// Records the id of something the request created, for the audit log.
    pub fn created(&self, id: impl std::fmt::Display) {
        let id = id.to_string();
        self.trail.note(|n| n.created = Some(id));
    }
}

/// Which tenants a listing covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantScope {
    /// Every tenant (the platform administrator, unscoped).
    All,
    /// These tenants only (possibly none).
    Only(Vec<Uuid>),
}

impl TenantScope {
    /// The tenants, or `None` for all.
    pub fn as_filter(&self) -> Option<&[Uuid]> {
        match self {
            TenantScope::All => None,
            TenantScope::Only(t) => Some(t),
        }
    }
}

/// Browser session lifetimes and cookie flags.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    /// Longest life of a session.
    pub ttl: Duration,
    /// A session unused this long ends.
    pub idle_timeout: Duration,
    /// Whether cookies carry `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// Most sign-ins in progress at once (each a row until its callback or expiry): anyone
    /// can start one, so they are bounded.
    pub max_pending_logins: u64,
}

impl SessionSettings {
    /// Defaults for `public_url`: 12 h, 2 h idle, `Secure` when https.
    pub fn for_url(public_url: &str) -> SessionSettings {
        SessionSettings {
            ttl: Duration::from_secs(12 * 3600),
            idle_timeout: Duration::from_secs(2 * 3600),
            secure_cookies: public_url.starts_with("https://"),
            max_pending_logins: 10_000,
        }
    }
}

/// Authentication and authorization.
#[derive(Clone)]
pub struct Access {
    db: DatabaseConnection,
    token_key: TokenKey,
    cache: Arc<AuthCache>,
    clock: Arc<dyn Clock>,
    sessions: SessionSettings,
}

impl Access {
    /// The access service over `db`.
    pub fn new(
        db: DatabaseConnection,
        token_key: TokenKey,
        cache: Arc<AuthCache>,
        clock: Arc<dyn Clock>,
        sessions: SessionSettings,
    ) -> Access {
        Access {
            db,
            token_key,
            cache,
            clock,
            sessions,
        }
    }

    /// The key token and session secrets are hashed under.
    pub fn token_key(&self) -> &TokenKey {
        &self.token_key
    }

    /// Browser session settings.
    pub fn session_settings(&self) -> SessionSettings {
        self.sessions
    }

    /// Checks a Consortia API token: live, its secret right, and — when someone else
    /// minted it — its minter still a member of the token's tenant (whose role caps it).
    pub async fn api_token(&self, bearer: &str) -> Result<Authenticated> {
        let refused = || Error::Unauthenticated(NOT_AUTHENTICATED.into());
        let parsed = tokens::parse(bearer.trim()).ok_or_else(refused)?;
        let found = match self.cache.get(parsed.id) {
            Some(hit) => hit,
            None => {
                let (token, user) = store::tokens::with_user(&self.db, parsed.id)
                    .await?
                    .ok_or_else(refused)?;
                let role_cap = self.minter_cap(&token).await?;
                let found = Authenticated {
                    token,
                    user,
                    role_cap,
                };
                self.cache.put(found.clone());
                found
            }
        };
        let token = &found.token;
        let now = self.clock.now();
        let live = token.revoked_at.is_none() && token.expires_at.is_none_or(|t| t > now);
        if !live || !self.token_key.verify(parsed.secret, &token.secret_hash) {
            return Err(refused());
        }
        Ok(found)
    }

    /// The cap on a token minted by someone other than its user: the minter's role in the
    /// token's tenant, or `None` when no cap applies (own tokens, tokens the platform
    /// administrator minted). A token whose minter left the tenant is refused.
    async fn minter_cap(&self, token: &api_token::Model) -> Result<Option<Role>> {
        if token.created_by == token.user_id {
            return Ok(None);
        }
        let Some(tenant) = token.tenant_id else {
            return Ok(None);
        };
        if let Some(minter) = store::users::get(&self.db, token.created_by).await?
            && minter.is_platform_admin
        {
            return Ok(None);
        }
        match store::users::membership(&self.db, tenant, token.created_by).await? {
            Some(m) => Ok(Some(m.role)),
            None => Err(Error::Unauthenticated(NOT_AUTHENTICATED.into())),
        }
    }

    /// A live session for a cookie's secret, with its user.
    pub async fn session(&self, secret: &str) -> Result<Option<(session::Model, user::Model)>> {
        if secret.is_empty() || secret.len() > 128 {
            return Ok(None);
        }
        let Some((s, u)) =
            store::sessions::session_by_hash(&self.db, &self.token_key.hash(secret)).await?
        else {
            return Ok(None);
        };
        let now = self.clock.now();
        let idle = chrono::Duration::from_std(self.sessions.idle_timeout).unwrap_or_default();
        if s.revoked_at.is_some() || s.expires_at <= now || s.last_seen_at + idle <= now {
            return Ok(None);
        }
        // A session exchanged for an API token ends when that token is revoked or expires.
        if let Some(origin) = s.origin_token_id {
            let live = store::tokens::with_user(&self.db, origin)
                .await?
                .is_some_and(|(t, _)| {
                    t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now)
                });
            if !live {
                return Ok(None);
            }
        }
        if now - s.last_seen_at > chrono::Duration::seconds(60) {
            store::sessions::touch_session(&self.db, s.id, now).await?;
        }
        Ok(Some((s, u)))
    }

    /// The user linked to an identity at a provider.
    pub async fn linked_user(&self, issuer: &str, subject: &str) -> Result<user::Model> {
        store::sessions::user_by_identity(&self.db, issuer, subject)
            .await?
            .ok_or_else(|| {
                Error::Unauthenticated(
                    "the token's subject is not linked to a Consortia user: sign in to the console once, \
                     or have an administrator add it"
                        .into(),
                )
            })
    }

    /// The CSRF token of a session: a keyed hash of the session secret, so it needs no
    /// storage and cannot be derived without the server's key.
    pub fn csrf_token(&self, session_secret: &str) -> String {
        self.token_key.hash(&format!("csrf:{session_secret}"))
    }

    /// Whether `sent` is the session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, session_secret: &str, sent: &str) -> bool {
        self.token_key
            .verify(&format!("csrf:{session_secret}"), sent)
    }

    /// Forgets a cached token (after it was revoked here).
    pub fn forget_token(&self, id: Uuid) {
        self.cache.forget(id);
    }

    /// Forgets every cached token (after changes that touch many).
    pub fn forget_all_tokens(&self) {
        self.cache.clear();
    }

    /// The caller's role in `tenant`, checked against `action`.
    pub async fn role_in(&self, who: &Caller, tenant: Uuid, action: Action) -> Result<Role> {
        self.tenant_for(who, tenant, action).await.map(|(r, _)| r)
    }

    /// Like [`Access::role_in`], also returning the tenant (read in the same query).
    pub async fn tenant_for(
        &self,
        who: &Caller,
        tenant: Uuid,
        action: Action,
    ) -> Result<(Role, tenant::Model)> {
        let not_found = || Error::not_found("tenant", tenant);
        if !who.in_scope(tenant) {
            return Err(not_found());
        }
        let (role, row) = if who.user.is_platform_admin {
            let t = store::tenants::get(&self.db, tenant)
                .await?
                .ok_or_else(not_found)?;
            (Role::Owner, t)
        } else {
            let (m, t) = store::users::membership_with_tenant(&self.db, tenant, who.user.id)
                .await?
                .ok_or_else(not_found)?;
            (m.role, t)
        };
        let role = who.role_cap.map_or(role, |cap| role.min(cap));
        who.noted_tenant(tenant);
        if roles::allows(role, action) {
            Ok((role, row))
        } else {
            Err(Error::Forbidden(format!(
                "this needs the {} role or higher in the tenant; you are {role}",
                action.required_role()
            )))
        }
    }

    /// The tenants a listing covers: `asked` when given (checked for `action`), else every
    /// tenant for the platform administrator, else the caller's own tenants within its
    /// credential's scope.
    pub async fn scope(
        &self,
        who: &Caller,
        asked: Option<Uuid>,
        action: Action,
    ) -> Result<TenantScope> {
        if let Some(t) = asked {
            self.role_in(who, t, action).await?;
            return Ok(TenantScope::Only(vec![t]));
        }
        if who.is_platform_admin() {
            return Ok(TenantScope::All);
        }
        Ok(TenantScope::Only(self.own_tenants(who).await?))
    }

    /// Whether the caller's credential still holds: its token or browser session is neither
    /// revoked nor expired (a provider JWT holds until its own expiry). A long-lived request
    /// (the live feed) asks this again and again and ends when it no longer holds.
    pub async fn still_valid(&self, who: &Caller) -> Result<bool> {
        let now = self.clock.now();
        let live = |revoked: Option<DateTime<Utc>>, expires: Option<DateTime<Utc>>| {
            revoked.is_none() && expires.is_none_or(|e| e > now)
        };
        Ok(match who.credential {
            Credential::ApiToken(id) => store::tokens::get(&self.db, id)
                .await?
                .is_some_and(|t| live(t.revoked_at, t.expires_at)),
            Credential::Session(id) => store::sessions::session(&self.db, id)
                .await?
                .is_some_and(|s| live(s.revoked_at, Some(s.expires_at))),
            Credential::ProviderJwt => who.not_after.is_none_or(|e| e > now),
        })
    }

    /// The tenants the caller belongs to, within its credential's scope.
    pub async fn own_tenants(&self, who: &Caller) -> Result<Vec<Uuid>> {
        Ok(store::users::tenant_ids(&self.db, who.user.id)
            .await?
            .into_iter()
            .filter(|t| who.in_scope(*t))
            .collect())
    }
}
