//! `/auth` and `/api/v1/sessions`: signing in over HTTP — the OIDC login and callback, the
//! local login (an API token exchanged for a session), the browser's session and its CSRF
//! token, and the person's sessions. The use cases are in [`crate::service::signin`]; this
//! module handles cookies and redirects.

use crate::app::AppState;
use crate::http::auth::{self, SESSION_COOKIE};
use crate::http::problem::{ApiError, ApiResult};
use crate::http::views::sessions::{AuthConfig, LoggedOut, SessionInfo, SessionView, view};
use crate::http::views::{Page, PageQuery, page};
use crate::service::access::{Caller, Credential};
use crate::service::signin::{Callback, LOGIN_TTL_SECS, token_refused};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const LOGIN_COOKIE: &str = "consortia_login";

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

/// Where to go after signing in, and an invitation to redeem.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoginQuery {
    /// A path on this site to return to (default `/`).
    pub return_to: Option<String>,
    /// The token of a tenant invitation link.
    pub invite: Option<String>,
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
    let begun = state
        .signin
        .begin(q.return_to.as_deref(), q.invite.as_deref())
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", begun.url))
        .insert_header(("Cache-Control", "no-store"))
        .cookie(cookie(
            &state,
            LOGIN_COOKIE,
            begun.browser,
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
    let callback = Callback {
        code: q.code.as_deref(),
        state: q.state.as_deref(),
        error: q.error.as_deref(),
        error_description: q.error_description.as_deref(),
    };
    let browser = req.cookie(LOGIN_COOKIE);
    let started = state
        .signin
        .finish(
            &callback,
            browser.as_ref().map(|c| c.value()),
            user_agent(&req),
        )
        .await?;
    auth::trail(&req).note(|n| n.actor_user_id = Some(started.user.id));
    let mut clear = cookie(&state, LOGIN_COOKIE, String::new(), "/auth", 0);
    clear.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", started.return_to))
        .insert_header(("Cache-Control", "no-store"))
        .cookie(clear)
        .cookie(session_cookie(&state, started.secret))
        .finish())
}

fn user_agent(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("User-Agent")
        .and_then(|v| v.to_str().ok())
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

/// Ends the browser session (needs the CSRF token), and names the provider's end-session URL.
#[utoipa::path(post, path = "/auth/logout", operation_id = "logout", tag = "auth",
    responses((status = 200, body = LoggedOut), (status = 401, body = crate::http::problem::Problem),
        (status = 403, description = "CSRF token missing or wrong", body = crate::http::problem::Problem)))]
pub async fn logout(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let no_session = || ApiError::Unauthorized("no live session: sign in first".into());
    let secret = auth::session_secret(&req).ok_or_else(no_session)?;
    let (s, _) = state
        .access
        .session(&secret)
        .await?
        .ok_or_else(no_session)?;
    auth::check_csrf(&state, &req, &secret)?;
    let end_session_url = state.signin.logout(&s).await?;
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
    let found = state.access.api_token(&body.token).await;
    let authenticated = found.map_err(token_refused)?;
    let started = state
        .signin
        .token_session(authenticated, user_agent(&req))
        .await?;
    auth::trail(&req).note(|n| n.actor_user_id = Some(started.user.id));
    let row = started.session;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .cookie(session_cookie(&state, started.secret.clone()))
        .json(SessionInfo {
            csrf_token: state.access.csrf_token(&started.secret),
            session: view(&row, Some(row.id)),
            user: started.user.into(),
        }))
}

/// How to sign in here.
#[utoipa::path(get, path = "/auth/config", operation_id = "signInConfig", tag = "auth", responses((status = 200, body = AuthConfig)))]
pub async fn config(state: web::Data<AppState>) -> HttpResponse {
    let issuer = state.signin.issuer();
    HttpResponse::Ok().json(AuthConfig {
        sso: issuer.is_some(),
        issuer,
        local_login: true,
    })
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
    let req = q.page()?;
    let current = match who.credential {
        Credential::Session(id) => Some(id),
        _ => None,
    };
    let rows = state.signin.sessions(&who, &req).await?;
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
    state.signin.revoke(&who, path.into_inner()).await?;
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
