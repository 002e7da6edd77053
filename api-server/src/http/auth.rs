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
use chrono::Utc;
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user the token acts for.
    pub user: user::Model,
    /// The token used.
    pub token_id: Uuid,
    /// When set, the token acts only inside this tenant.
    pub token_tenant: Option<Uuid>,
    /// The request, to leave notes for the audit log.
    req: HttpRequest,
}

const NOT_AUTHENTICATED: &str =
    "send `Authorization: Bearer <token>` with a valid, unexpired, unrevoked API token";

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
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| ApiError::Unauthorized(NOT_AUTHENTICATED.into()))?;
            let bearer = header
                .strip_prefix("Bearer ")
                .or_else(|| header.strip_prefix("bearer "))
                .ok_or_else(|| ApiError::Unauthorized(NOT_AUTHENTICATED.into()))?;
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
            let live =
                token.revoked_at.is_none() && token.expires_at.is_none_or(|t| t > Utc::now());
            if !live || !state.token_key.verify(parsed.secret, &token.secret_hash) {
                return Err(ApiError::Unauthorized(NOT_AUTHENTICATED.into()));
            }
            AuditNote::update(&req, |n| {
                n.actor_user_id = Some(user.id);
                n.actor_token_id = Some(token.id);
                if token.tenant_id.is_some() {
                    n.tenant_id = token.tenant_id;
                }
            });
            Ok(Principal {
                user,
                token_id: token.id,
                token_tenant: token.tenant_id,
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
