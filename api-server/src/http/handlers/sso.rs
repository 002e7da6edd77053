//! Sign-in: OIDC login and callback, browser sessions (list, revoke, logout), the local login
//! (an API token exchanged for a session), and invitations that let a person join a tenant.

use crate::app::AppState;
use crate::db::entities::{login_request, session, tenant_invite, user};
use crate::domain::roles::Role;
use crate::http::auth::{self, SESSION_COOKIE};
use crate::http::problem::{ApiError, ApiResult};
use crate::http::views::{Page, PageQuery, UserView, page};
use crate::oidc::{ExternalIdentity, OidcError};
use crate::service::access::{Caller, Credential};
use crate::store;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const LOGIN_COOKIE: &str = "consortia_login";
const LOGIN_TTL_SECS: i64 = 600;
const NOT_A_MEMBER: &str = "you signed in, but you are not a member of any tenant: ask a tenant administrator for an invitation link";

fn sso(state: &AppState) -> Result<&crate::oidc::Oidc, ApiError> {
    state.sso.as_deref().ok_or_else(|| {
        ApiError::NotFound(
            "single sign-on is not configured on this server (set CONSORTIA_OIDC_ISSUER); \
             use an API token, e.g. the bootstrap administrator's"
                .into(),
        )
    })
}

fn oidc_error(e: OidcError) -> ApiError {
    match e {
        OidcError::Unavailable(_) => ApiError::Unavailable(e.to_string()),
        OidcError::Refused(_) | OidcError::InvalidToken(_) => {
            ApiError::Unauthorized(format!("sign-in refused: {e}"))
        }
    }
}

fn cookie<'c>(
    state: &AppState,
    name: &'c str,
    value: String,
    path: &'c str,
    max_age: i64,
) -> Cookie<'c> {
    Cookie::build(name, value)
        .path(path)
        .http_only(true)
        .secure(state.sessions.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age))
        .finish()
}

/// Sealed part of a pending login.
#[derive(Serialize, Deserialize)]
struct PendingSecrets {
    nonce: String,
    pkce_verifier: String,
}

/// Where to go after signing in, and an invitation to redeem.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoginQuery {
    /// A path on this site to return to (default `/`).
    pub return_to: Option<String>,
    /// The token of a tenant invitation link.
    pub invite: Option<String>,
}

fn check_return_to(r: Option<&str>) -> Result<String, ApiError> {
    let r = r.unwrap_or("/");
    let ok = r.starts_with('/')
        && !r.starts_with("//")
        && !r.contains('\\')
        && r.len() <= 512
        && !r.chars().any(char::is_control);
    if ok {
        Ok(r.to_string())
    } else {
        Err(ApiError::BadRequest(
            "`return_to` must be a path on this site, starting with a single `/`".into(),
        ))
    }
}

/// A usable invitation with this token, or a clear refusal.
async fn usable_invite(state: &AppState, token: &str) -> Result<tenant_invite::Model, ApiError> {
    let refused = || {
        ApiError::BadRequest(
            "this invitation link is not valid: it was used, revoked, has expired, or never existed"
                .into(),
        )
    };
    if token.is_empty() || token.len() > 100 {
        return Err(refused());
    }
    let inv = store::sessions::invite_by_hash(&state.db, &state.token_key.hash(token))
        .await?
        .ok_or_else(refused)?;
    if inv.used_at.is_some() || inv.revoked_at.is_some() || inv.expires_at <= state.clock.now() {
        return Err(refused());
    }
    Ok(inv)
}

/// Starts signing in: redirects to the identity provider (authorization code with PKCE S256,
/// `state` and `nonce`).
#[utoipa::path(get, path = "/auth/login", operation_id = "startLogin", tag = "auth", params(LoginQuery),
    responses((status = 303, description = "To the identity provider"),
        (status = 400, body = crate::http::problem::Problem),
        (status = 404, description = "Single sign-on is not configured", body = crate::http::problem::Problem),
        (status = 503, description = "The identity provider is not reachable, or too many sign-ins are in progress", body = crate::http::problem::Problem)))]
pub async fn login(
    state: web::Data<AppState>,
    q: web::Query<LoginQuery>,
) -> ApiResult<HttpResponse> {
    let oidc = sso(&state)?;
    let return_to = check_return_to(q.return_to.as_deref())?;
    let invite_hash = match q.invite.as_deref() {
        Some(t) => Some(usable_invite(&state, t).await?.token_hash),
        None => None,
    };
    if store::sessions::pending_logins(&state.db, Utc::now()).await?
        >= state.sessions.max_pending_logins
    {
        return Err(ApiError::Unavailable(
            "too many sign-ins are in progress; try again in a minute".into(),
        ));
    }
    let start = oidc.begin().await.map_err(oidc_error)?;
    let browser = crate::oidc::random_token();
    let id = Uuid::now_v7();
    let secrets = serde_json::to_vec(&PendingSecrets {
        nonce: start.nonce,
        pkce_verifier: start.pkce_verifier,
    })
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let now = Utc::now();
    store::sessions::insert_login(
        &state.db,
        login_request::Model {
            id,
            state_hash: state.token_key.hash(&start.state),
            browser_hash: state.token_key.hash(&browser),
            sealed: hex::encode(state.kek.seal(&secrets, id.as_bytes())),
            return_to,
            invite_hash,
            created_at: now,
            expires_at: now + Duration::seconds(LOGIN_TTL_SECS),
        },
    )
    .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", start.url))
        .insert_header(("Cache-Control", "no-store"))
        .cookie(cookie(
            &state,
            LOGIN_COOKIE,
            browser,
            "/auth",
            LOGIN_TTL_SECS,
        ))
        .finish())
}

/// What the identity provider sends back.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` sent at login.
    pub state: Option<String>,
    /// An error code, when the provider refused.
    pub error: Option<String>,
    /// The provider's explanation of `error`.
    pub error_description: Option<String>,
}

/// Finishes signing in: exchanges the code, validates the ID token (signature, issuer,
/// audience, expiry, nonce), finds or links the user, and starts a session.
#[utoipa::path(get, path = "/auth/callback", operation_id = "finishLogin", tag = "auth", params(CallbackQuery),
    responses((status = 303, description = "Signed in; the session cookie is set"),
        (status = 400, body = crate::http::problem::Problem),
        (status = 401, body = crate::http::problem::Problem),
        (status = 403, description = "Not a member of any tenant", body = crate::http::problem::Problem),
        (status = 503, body = crate::http::problem::Problem)))]
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<CallbackQuery>,
) -> ApiResult<HttpResponse> {
    let oidc = sso(&state)?;
    if let Some(err) = q.error.as_deref() {
        let clip = |s: &str| s.chars().take(200).collect::<String>();
        return Err(ApiError::Unauthorized(format!(
            "the identity provider refused the sign-in: {}{}",
            clip(err),
            q.error_description
                .as_deref()
                .map(|d| format!(" ({})", clip(d)))
                .unwrap_or_default()
        )));
    }
    let st = q
        .state
        .as_deref()
        .filter(|s| !s.is_empty() && s.len() <= 200)
        .ok_or_else(|| ApiError::BadRequest("the `state` parameter is missing".into()))?;
    let code = q
        .code
        .as_deref()
        .filter(|s| !s.is_empty() && s.len() <= 2048)
        .ok_or_else(|| ApiError::BadRequest("the `code` parameter is missing".into()))?;
    let pending = store::sessions::take_login(&state.db, &state.token_key.hash(st))
        .await?
        .ok_or_else(|| {
            ApiError::BadRequest(
                "unknown or already used login `state`: start again at /auth/login".into(),
            )
        })?;
    if pending.expires_at <= Utc::now() {
        return Err(ApiError::BadRequest(
            "this login took too long: start again at /auth/login".into(),
        ));
    }
    let browser_ok = req
        .cookie(LOGIN_COOKIE)
        .is_some_and(|c| state.token_key.verify(c.value(), &pending.browser_hash));
    if !browser_ok {
        return Err(ApiError::BadRequest(
            "this login was not started in this browser: start again at /auth/login".into(),
        ));
    }
    let secrets: PendingSecrets = state
        .kek
        .open(
            &hex::decode(&pending.sealed).map_err(|e| ApiError::Internal(e.to_string()))?,
            pending.id.as_bytes(),
        )
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| ApiError::Internal("a pending login could not be unsealed".into()))?;
    let done = oidc
        .finish(code, &secrets.pkce_verifier, &secrets.nonce)
        .await
        .map_err(oidc_error)?;
    let user = admit(&state, &done.identity, pending.invite_hash.as_deref()).await?;
    auth::trail(&req).note(|n| n.actor_user_id = Some(user.id));
    let (secret, _) = start_session(
        &state,
        &req,
        user.id,
        Origin::Oidc {
            identity: &done.identity,
            id_token: &done.id_token,
        },
    )
    .await?;
    tracing::info!(user_id = %user.id, "signed in with single sign-on");
    let mut clear = cookie(&state, LOGIN_COOKIE, String::new(), "/auth", 0);
    clear.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", pending.return_to))
        .insert_header(("Cache-Control", "no-store"))
        .cookie(clear)
        .cookie(session_cookie(&state, secret))
        .finish())
}

fn session_cookie(state: &AppState, secret: String) -> Cookie<'static> {
    cookie(
        state,
        SESSION_COOKIE,
        secret,
        "/",
        state.sessions.ttl.as_secs() as i64,
    )
}

/// How a session was started.
enum Origin<'a> {
    /// Single sign-on.
    Oidc {
        identity: &'a ExternalIdentity,
        id_token: &'a str,
    },
    /// The local login: an API token exchanged for a session, which ends with the token.
    Token(Uuid),
}

async fn start_session(
    state: &AppState,
    req: &HttpRequest,
    user: Uuid,
    origin: Origin<'_>,
) -> Result<(String, session::Model), ApiError> {
    let secret = crate::oidc::random_token();
    let id = Uuid::now_v7();
    let now = state.clock.now();
    let (method, identity, id_token, origin_token_id) = match origin {
        Origin::Oidc { identity, id_token } => ("oidc", Some(identity), Some(id_token), None),
        Origin::Token(token) => ("token", None, None, Some(token)),
    };
    let row = session::Model {
        id,
        user_id: user,
        secret_hash: state.token_key.hash(&secret),
        method: method.into(),
        issuer: identity.map(|i| i.issuer.clone()),
        subject: identity.map(|i| i.subject.clone()),
        sealed_id_token: id_token.map(|t| hex::encode(state.kek.seal(t.as_bytes(), id.as_bytes()))),
        user_agent: req
            .headers()
            .get("User-Agent")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(200).collect()),
        created_at: now,
        last_seen_at: now,
        expires_at: now + Duration::from_std(state.sessions.ttl).unwrap_or_default(),
        revoked_at: None,
        origin_token_id,
    };
    store::sessions::insert_session(&state.db, row.clone()).await?;
    Ok((secret, row))
}

/// Who gets in: a linked identity, a user with the same verified e-mail, an invitation, or a
/// group mapping. Nothing is written unless the person ends up in at least one tenant (or
/// is the platform administrator).
async fn admit(
    state: &AppState,
    who: &ExternalIdentity,
    invite_hash: Option<&str>,
) -> Result<user::Model, ApiError> {
    let settings = &sso(state)?.settings;
    let txn = state.db.begin().await?;
    let now = state.clock.now();
    let mut user = store::sessions::user_by_identity(&txn, &who.issuer, &who.subject).await?;
    let mut link = false;
    // Linking by e-mail: only when the provider vouches for the address (`email_verified`
    // speaks of the `email` claim, so only when that is the claim used), never onto the
    // platform administrator, and never onto a user already linked to another subject of
    // this provider (a recycled mailbox must not inherit someone's account).
    let verified = who.email_verified && settings.claim_email == "email";
    if user.is_none()
        && let Some(email) = who.email.as_deref()
        && (verified || settings.trust_unverified_email)
        && let Some(candidate) = store::users::by_email(&txn, email).await?
        && !candidate.is_platform_admin
        && !store::sessions::has_identity_at(&txn, candidate.id, &who.issuer).await?
    {
        user = Some(candidate);
        link = true;
    }
    // Tenants the person joins now: the invitation first, then group mappings.
    let mut grants: Vec<(Uuid, Role)> = Vec::new();
    let mut invite = None;
    if let Some(h) = invite_hash {
        let inv = store::sessions::invite_by_hash(&txn, h)
            .await?
            .ok_or_else(|| ApiError::BadRequest("the invitation no longer exists".into()))?;
        if let Some(required) = inv.email.as_deref()
            && !(who.email_verified && who.email.as_deref() == Some(required))
        {
            return Err(ApiError::Forbidden(
                "this invitation is for another e-mail address (or yours is not verified by the identity provider)"
                    .into(),
            ));
        }
        grants.push((inv.tenant_id, inv.role.parse().map_err(ApiError::Internal)?));
        invite = Some(inv);
    }
    for m in &settings.group_map {
        if who.groups.iter().any(|g| g == &m.group) {
            match store::tenants::by_slug(&txn, &m.tenant_slug).await? {
                Some(t) => grants.push((t.id, m.role)),
                None => {
                    tracing::warn!(tenant = %m.tenant_slug, "group mapping names a tenant that does not exist")
                }
            }
        }
    }
    let user = match user {
        Some(u) => u,
        None if grants.is_empty() => return Err(ApiError::Forbidden(NOT_A_MEMBER.into())),
        None => {
            let email_free = match who.email.as_deref() {
                Some(e) => store::users::by_email(&txn, e).await?.is_none(),
                None => false,
            };
            let name = who
                .name
                .clone()
                .or_else(|| who.email.clone())
                .unwrap_or_else(|| who.subject.clone());
            link = true;
            store::users::insert(
                &txn,
                store::users::NewUser {
                    email: who.email.as_deref().filter(|_| email_free),
                    display_name: &name.chars().take(100).collect::<String>(),
                    kind: crate::domain::tenants::UserKind::Human,
                    is_platform_admin: false,
                },
            )
            .await?
        }
    };
    if link {
        store::sessions::link_identity(&txn, user.id, &who.issuer, &who.subject).await?;
    }
    if let Some(inv) = invite
        && !store::sessions::redeem_invite(&txn, inv.id, user.id, now).await?
    {
        return Err(ApiError::BadRequest(
            "this invitation link was used, revoked or has expired".into(),
        ));
    }
    for (tenant, role) in grants {
        if store::users::membership(&txn, tenant, user.id)
            .await?
            .is_none()
        {
            store::users::add_member(&txn, tenant, user.id, role).await?;
        }
    }
    if !user.is_platform_admin && store::sessions::membership_count(&txn, user.id).await? == 0 {
        return Err(ApiError::Forbidden(NOT_A_MEMBER.into()));
    }
    txn.commit().await?;
    Ok(user)
}

/// The current browser session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// The signed-in user.
    pub user: UserView,
    /// The session.
    pub session: SessionView,
    /// Send this in the `X-CSRF-Token` header with every cookie-authenticated request that
    /// changes state.
    pub csrf_token: String,
}

/// A browser session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Session id.
    pub id: Uuid,
    /// `oidc` (single sign-on) or `token` (local login with an API token).
    pub method: String,
    /// Browser that started it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Started.
    pub created_at: DateTime<Utc>,
    /// Last used (to the minute).
    pub last_seen_at: DateTime<Utc>,
    /// Ends at the latest.
    pub expires_at: DateTime<Utc>,
    /// Whether this is the session of the request.
    pub current: bool,
}

fn view(s: &session::Model, current: Option<Uuid>) -> SessionView {
    SessionView {
        id: s.id,
        method: s.method.clone(),
        user_agent: s.user_agent.clone(),
        created_at: s.created_at,
        last_seen_at: s.last_seen_at,
        expires_at: s.expires_at,
        current: current == Some(s.id),
    }
}

/// The browser session of the request's cookie, with its CSRF token.
#[utoipa::path(get, path = "/auth/session", operation_id = "currentSession", tag = "auth",
    responses((status = 200, body = SessionInfo), (status = 401, body = crate::http::problem::Problem)))]
pub async fn current(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let no_session = || ApiError::Unauthorized("no live session: sign in first".into());
    let secret = auth::session_secret(&req).ok_or_else(no_session)?;
    let (s, u) = state
        .access
        .session(&secret)
        .await?
        .ok_or_else(no_session)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(SessionInfo {
            csrf_token: state.access.csrf_token(&secret),
            session: view(&s, Some(s.id)),
            user: u.into(),
        }))
}

/// Where the browser should go to end the provider's session too.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedOut {
    /// The provider's end-session URL, when it has one and the session came from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_session_url: Option<String>,
}

/// Ends the browser session (needs the CSRF token), and names the provider's end-session URL.
#[utoipa::path(post, path = "/auth/logout", operation_id = "logout", tag = "auth",
    responses((status = 200, body = LoggedOut), (status = 401, body = crate::http::problem::Problem),
        (status = 403, description = "CSRF token missing or wrong", body = crate::http::problem::Problem)))]
pub async fn logout(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let no_session = || ApiError::Unauthorized("no live session: sign in first".into());
    let secret = auth::session_secret(&req).ok_or_else(no_session)?;
    let (s, u) = state
        .access
        .session(&secret)
        .await?
        .ok_or_else(no_session)?;
    auth::check_csrf(&state, &req, &secret)?;
    store::sessions::revoke_session(&state.db, u.id, s.id, state.clock.now()).await?;
    let end_session_url = match (state.sso.as_deref(), s.sealed_id_token.as_deref()) {
        (Some(oidc), Some(sealed)) if s.method == "oidc" => {
            let id_token = hex::decode(sealed)
                .ok()
                .and_then(|b| state.kek.open(&b, s.id.as_bytes()).ok())
                .and_then(|b| String::from_utf8(b).ok());
            let back = format!("{}/", state.public_url.trim_end_matches('/'));
            oidc.end_session_url(id_token.as_deref(), &back).await
        }
        _ => None,
    };
    let mut clear = session_cookie(&state, String::new());
    clear.make_removal();
    Ok(HttpResponse::Ok()
        .cookie(clear)
        .json(LoggedOut { end_session_url }))
}

/// An API token to exchange for a browser session.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenLogin {
    /// A Consortia API token (`cst_...`), e.g. the bootstrap administrator's.
    pub token: String,
}

/// The local login: exchanges a valid, unscoped API token for a browser session (the embedded
/// default has no identity provider).
#[utoipa::path(post, path = "/auth/token", operation_id = "tokenLogin", tag = "auth", request_body = TokenLogin,
    responses((status = 200, body = SessionInfo), (status = 400, body = crate::http::problem::Problem),
        (status = 401, body = crate::http::problem::Problem)))]
pub async fn token_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<TokenLogin>,
) -> ApiResult<HttpResponse> {
    let crate::service::access::Authenticated { token, user, .. } =
        state.access.api_token(&body.token).await?;
    if token.tenant_id.is_some() {
        return Err(ApiError::BadRequest(
            "a tenant-scoped token cannot start a console session: use a personal token".into(),
        ));
    }
    let (secret, mut row) = start_session(&state, &req, user.id, Origin::Token(token.id)).await?;
    // A session never outlives the token it was exchanged for.
    if let Some(exp) = token.expires_at
        && exp < row.expires_at
    {
        store::sessions::cap_session(&state.db, row.id, exp).await?;
        row.expires_at = exp;
    }
    auth::trail(&req).note(|n| n.actor_user_id = Some(user.id));
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .cookie(session_cookie(&state, secret.clone()))
        .json(SessionInfo {
            csrf_token: state.access.csrf_token(&secret),
            session: view(&row, Some(row.id)),
            user: user.into(),
        }))
}

/// How this server lets people sign in.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthConfig {
    /// Whether single sign-on is configured (then `/auth/login` works).
    pub sso: bool,
    /// The identity provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The local login (an API token exchanged at `/auth/token`) is always available.
    pub local_login: bool,
}

/// How to sign in here.
#[utoipa::path(get, path = "/auth/config", operation_id = "signInConfig", tag = "auth", responses((status = 200, body = AuthConfig)))]
pub async fn config(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(AuthConfig {
        sso: state.sso.is_some(),
        issuer: state.sso.as_ref().map(|s| s.settings.issuer.clone()),
        local_login: true,
    })
}

/// Console sessions span every tenant of the user: a token scoped to one tenant may not
/// see or end them.
fn refuse_scoped(who: &Caller) -> Result<(), ApiError> {
    if who.token_tenant.is_some() {
        Err(ApiError::Forbidden(
            "a tenant-scoped token cannot manage console sessions: use a personal token".into(),
        ))
    } else {
        Ok(())
    }
}

/// Lists the caller's live sessions, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/sessions", operation_id = "listSessions", tag = "auth", params(PageQuery),
    responses((status = 200, body = Page<SessionView>), (status = 400, body = crate::http::problem::Problem),
        (status = 401, body = crate::http::problem::Problem), crate::http::problem::ForbiddenProblem),
    security(("bearer" = [])))]
pub async fn list_sessions(
    state: web::Data<AppState>,
    who: Caller,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    refuse_scoped(&who)?;
    let req = q.page()?;
    let current = match who.credential {
        Credential::Session(id) => Some(id),
        _ => None,
    };
    let rows =
        store::sessions::sessions_of(&state.db, who.user.id, state.clock.now(), &req).await?;
    Ok(HttpResponse::Ok().json(page(
        rows,
        &req,
        |s| s.id.to_string(),
        |s| view(&s, current),
    )))
}

/// Ends one of the caller's sessions (another person's session is a 404).
#[utoipa::path(delete, path = "/api/v1/sessions/{session_id}", operation_id = "revokeSession", tag = "auth",
    params(("session_id" = Uuid, Path, description = "Session id")),
    responses((status = 204), (status = 401, body = crate::http::problem::Problem),
        crate::http::problem::ForbiddenProblem,
        (status = 404, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn revoke_session(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    refuse_scoped(&who)?;
    let id = path.into_inner();
    if !store::sessions::revoke_session(&state.db, who.user.id, id, state.clock.now()).await? {
        return Err(ApiError::NotFound(format!("session {id} not found")));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        GET "/auth/config" => config,
        GET "/auth/login" => login,
        GET "/auth/callback" => callback,
        GET "/auth/session" => current,
        POST "/auth/logout" => logout,
        POST "/auth/token" => token_login,
        GET "/api/v1/sessions" => list_sessions,
        DELETE "/api/v1/sessions/{session_id}" => revoke_session,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    login,
    callback,
    current,
    logout,
    token_login,
    config,
    list_sessions,
    revoke_session
))]
pub struct Doc;
