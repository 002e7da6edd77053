//! Who is calling: bearer-token authentication and tenant access checks.

use crate::db::entities::{tenant, user};
use crate::domain::roles::{self, Action, Role};
use crate::domain::tokens;
use crate::http::audit::AuditNote;
use crate::http::problem::ApiError;
use crate::state::AppState;
use crate::store;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

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
pub struct Principal {
    /// The user the credential acts for.
    pub user: user::Model,
    /// The credential used.
    pub credential: Credential,
    /// When set, the token acts only inside this tenant.
    pub token_tenant: Option<Uuid>,
    /// The request, to leave notes for the audit log.
    req: HttpRequest,
}

const NOT_AUTHENTICATED: &str = "send `Authorization: Bearer <token>` with a valid, unexpired, unrevoked API token \
     (or an access token from the configured identity provider), or sign in to the console";

/// Name of the session cookie (its value is an opaque random secret).
pub const SESSION_COOKIE: &str = "consortia_session";
/// Header a cookie-authenticated request that changes state must carry.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// The CSRF token of a session: a keyed hash of the session secret, so it needs no storage
/// and cannot be derived without the server's key.
pub fn csrf_token(state: &AppState, session_secret: &str) -> String {
    state.token_key.hash(&format!("csrf:{session_secret}"))
}

/// Refuses a cookie-authenticated request whose `X-CSRF-Token` header is not the session's
/// CSRF token (compared in constant time).
pub fn check_csrf(
    state: &AppState,
    req: &HttpRequest,
    session_secret: &str,
) -> Result<(), ApiError> {
    let sent = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if state
        .token_key
        .verify(&format!("csrf:{session_secret}"), sent)
    {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "a cookie-authenticated request that changes state must send the `{CSRF_HEADER}` \
             header with the `csrf_token` from GET /auth/session"
        )))
    }
}

/// Checks a Consortia API token; the token row and its user when it is live.
pub async fn check_api_token(
    state: &AppState,
    bearer: &str,
) -> Result<(crate::db::entities::api_token::Model, user::Model), ApiError> {
    let parsed = tokens::parse(bearer.trim())
        .ok_or_else(|| ApiError::Unauthorized(NOT_AUTHENTICATED.into()))?;
    let (token, user) = match state.auth_cache.get(parsed.id) {
        Some(hit) => hit,
        None => {
            let (t, u) = store::tokens::with_user(&state.db, parsed.id)
                .await?
                .ok_or_else(|| ApiError::Unauthorized(NOT_AUTHENTICATED.into()))?;
            state.auth_cache.put(t.clone(), u.clone());
            (t, u)
        }
    };
    let now = state.clock.now();
    let live = token.revoked_at.is_none() && token.expires_at.is_none_or(|t| t > now);
    if !live || !state.token_key.verify(parsed.secret, &token.secret_hash) {
        return Err(ApiError::Unauthorized(NOT_AUTHENTICATED.into()));
    }
    Ok((token, user))
}

/// A live session from the request's cookie, with its user and secret.
pub async fn session_from_cookie(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Option<(crate::db::entities::session::Model, user::Model, String)>, ApiError> {
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Ok(None);
    };
    let secret = cookie.value().to_string();
    if secret.is_empty() || secret.len() > 128 {
        return Ok(None);
    }
    let Some((s, u)) =
        store::sessions::session_by_hash(&state.db, &state.token_key.hash(&secret)).await?
    else {
        return Ok(None);
    };
    let now = state.clock.now();
    let idle = chrono::Duration::from_std(state.sessions.idle_timeout).unwrap_or_default();
    if s.revoked_at.is_some() || s.expires_at <= now || s.last_seen_at + idle <= now {
        return Ok(None);
    }
    if now - s.last_seen_at > chrono::Duration::seconds(60) {
        store::sessions::touch_session(&state.db, s.id, now).await?;
    }
    Ok(Some((s, u, secret)))
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::Internal("application state missing".into()))?
                .clone();
            let header = req
                .headers()
                .get(actix_web::http::header::AUTHORIZATION)
                .map(|v| v.to_str().unwrap_or_default().to_string());
            let (user, credential, token_tenant) = match header {
                Some(header) => {
                    let bearer = header
                        .strip_prefix("Bearer ")
                        .or_else(|| header.strip_prefix("bearer "))
                        .ok_or_else(|| ApiError::Unauthorized(NOT_AUTHENTICATED.into()))?
                        .trim();
                    if bearer.starts_with("cst_") {
                        let (token, user) = check_api_token(&state, bearer).await?;
                        (user, Credential::ApiToken(token.id), token.tenant_id)
                    } else if let Some(sso) = state
                        .sso
                        .as_ref()
                        .filter(|_| bearer.split('.').count() == 3)
                    {
                        let who = sso.verify_access_token(bearer).await.map_err(|e| {
                            ApiError::Unauthorized(format!("the bearer token was refused: {e}"))
                        })?;
                        let user = store::sessions::user_by_identity(&state.db, &who.issuer, &who.subject)
                            .await?
                            .ok_or_else(|| {
                                ApiError::Unauthorized(
                                    "the token's subject is not linked to a Consortia user: sign in to the console once, \
                                     or have an administrator add it"
                                        .into(),
                                )
                            })?;
                        (user, Credential::ProviderJwt, None)
                    } else {
                        return Err(ApiError::Unauthorized(NOT_AUTHENTICATED.into()));
                    }
                }
                None => {
                    let (session, user, secret) = session_from_cookie(&state, &req)
                        .await?
                        .ok_or_else(|| ApiError::Unauthorized(NOT_AUTHENTICATED.into()))?;
                    if crate::http::audit::is_mutating(req.method()) {
                        check_csrf(&state, &req, &secret)?;
                    }
                    (user, Credential::Session(session.id), None)
                }
            };
            AuditNote::update(&req, |n| {
                n.actor_user_id = Some(user.id);
                if let Credential::ApiToken(id) = credential {
                    n.actor_token_id = Some(id);
                }
                if token_tenant.is_some() {
                    n.tenant_id = token_tenant;
                }
            });
            Ok(Principal {
                user,
                credential,
                token_tenant,
                req,
            })
        })
    }
}

impl Principal {
    /// Whether this caller is the platform administrator acting platform-wide.
    pub fn is_platform_admin(&self) -> bool {
        self.user.is_platform_admin && self.token_tenant.is_none()
    }

    /// Refuses unless the caller is the platform administrator.
    pub fn require_platform_admin(&self) -> Result<(), ApiError> {
        if self.is_platform_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "only the platform administrator can do this".into(),
            ))
        }
    }

    /// The caller's role in `tenant`, checked against `action`.
    ///
    /// A tenant the caller cannot see (not a member, token scoped elsewhere, or no such
    /// tenant) is `NotFound`, never `Forbidden`, so ids of other tenants reveal nothing.
    pub async fn access(
        &self,
        state: &AppState,
        tenant: Uuid,
        action: Action,
    ) -> Result<Role, ApiError> {
        self.access_tenant(state, tenant, action)
            .await
            .map(|(role, _)| role)
    }

    /// Like [`Principal::access`], also returning the tenant (read in the same query).
    pub async fn access_tenant(
        &self,
        state: &AppState,
        tenant: Uuid,
        action: Action,
    ) -> Result<(Role, tenant::Model), ApiError> {
        let not_found = || ApiError::NotFound(format!("tenant {tenant} not found"));
        if self.token_tenant.is_some_and(|t| t != tenant) {
            return Err(not_found());
        }
        let (role, row) = if self.user.is_platform_admin {
            let t = store::tenants::get(&state.db, tenant)
                .await?
                .ok_or_else(not_found)?;
            (Role::Owner, t)
        } else {
            let (m, t) = store::users::membership_with_tenant(&state.db, tenant, self.user.id)
                .await?
                .ok_or_else(not_found)?;
            (m.role.parse::<Role>().map_err(ApiError::Internal)?, t)
        };
        self.note(|n| n.tenant_id = Some(tenant));
        if roles::allows(role, action) {
            Ok((role, row))
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs the {} role or higher in the tenant; you are {role}",
                action.required_role()
            )))
        }
    }

    /// Adds to the audit note of this request.
    pub fn note(&self, f: impl FnOnce(&mut AuditNote)) {
        AuditNote::update(&self.req, f);
    }

    /// Records the id of something the request created, for the audit log.
    pub fn created(&self, id: impl std::fmt::Display) {
        let id = id.to_string();
        self.note(|n| n.created = Some(id));
    }
}

/// Marker so the request's extensions hold an audit note from the start.
pub fn ensure_note(req: &HttpRequest) {
    if req.extensions().get::<AuditNote>().is_none() {
        req.extensions_mut().insert(AuditNote::default());
    }
}
