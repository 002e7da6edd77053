//! Who is calling, read from the request: the bearer token or the session cookie becomes a
//! [`Caller`] through the access service. What the caller may do is decided there.

use crate::app::AppState;
use crate::domain::audit::Trail;
use crate::http::problem::ApiError;
use crate::service::access::{Caller, Credential, NOT_AUTHENTICATED};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

/// Name of the session cookie (its value is an opaque random secret).
pub const SESSION_COOKIE: &str = "consortia_session";
/// Header a cookie-authenticated request that changes state must carry.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// The request's audit trail (the edge opens one per request).
pub fn trail(req: &HttpRequest) -> Trail {
    if let Some(t) = req.extensions().get::<Trail>() {
        return t.clone();
    }
    let t = Trail::default();
    req.extensions_mut().insert(t.clone());
    t
}

/// Refuses a cookie-authenticated request whose `X-CSRF-Token` header is not the session's
/// CSRF token.
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
    if state.access.csrf_matches(session_secret, sent) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "a cookie-authenticated request that changes state must send the `{CSRF_HEADER}` \
             header with the `csrf_token` from GET /auth/session"
        )))
    }
}

/// The session cookie's secret, if the request carries one.
pub fn session_secret(req: &HttpRequest) -> Option<String> {
    req.cookie(SESSION_COOKIE).map(|c| c.value().to_string())
}

impl FromRequest for Caller {
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
            let refused = || ApiError::Unauthorized(NOT_AUTHENTICATED.into());
            let (mut role_cap, mut not_after) = (None, None);
            let (user, credential, token_tenant) = match header {
                Some(header) => {
                    let bearer = header
                        .strip_prefix("Bearer ")
                        .or_else(|| header.strip_prefix("bearer "))
                        .ok_or_else(refused)?
                        .trim();
                    if bearer.starts_with("cst_") {
                        let a = state.access.api_token(bearer).await?;
                        role_cap = a.role_cap;
                        not_after = a.token.expires_at;
                        (a.user, Credential::ApiToken(a.token.id), a.token.tenant_id)
                    } else if let Some(sso) = state
                        .sso
                        .as_ref()
                        .filter(|_| bearer.split('.').count() == 3)
                    {
                        let who = sso.verify_access_token(bearer).await.map_err(|e| {
                            ApiError::Unauthorized(format!("the bearer token was refused: {e}"))
                        })?;
                        let user = state.access.linked_user(&who.issuer, &who.subject).await?;
                        (user, Credential::ProviderJwt, None)
                    } else {
                        return Err(refused());
                    }
                }
                None => {
                    let secret = session_secret(&req).ok_or_else(refused)?;
                    let (session, user) =
                        state.access.session(&secret).await?.ok_or_else(refused)?;
                    if crate::http::audit::is_mutating(req.method()) {
                        check_csrf(&state, &req, &secret)?;
                    }
                    (user, Credential::Session(session.id), None)
                }
            };
            let trail = trail(&req);
            trail.note(|n| {
                n.actor_user_id = Some(user.id);
                if let Credential::ApiToken(id) = credential {
                    n.actor_token_id = Some(id);
                }
                if token_tenant.is_some() {
                    n.tenant_id = token_tenant;
                }
            });
            Ok(Caller {
                user,
                credential,
                token_tenant,
                role_cap,
                not_after,
                trail,
            })
        })
    }
}
