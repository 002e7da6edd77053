//! `GET /api/v1/me`: who the caller is and where it belongs.

use crate::domain::roles::Role;
use crate::http::auth::{Credential, Principal};
use crate::http::problem::{ApiError, ApiResult};
use crate::http::views::{TenantView, UserView};
use crate::state::AppState;
use crate::store;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A tenant the caller belongs to, with its role there.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyMembership {
    /// The tenant.
    pub tenant: TenantView,
    /// The caller's role in it.
    pub role: Role,
}

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The user the token acts for.
    pub user: UserView,
    /// Tenants the token may act in, with roles.
    pub memberships: Vec<MyMembership>,
    /// How the caller authenticated: `token`, `session` or `provider_jwt`.
    pub auth: &'static str,
    /// The API token used for this request, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<Uuid>,
    /// The browser session used for this request, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<Uuid>,
    /// When set, the token acts only inside this tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_tenant_id: Option<Uuid>,
}

/// The authenticated caller, its memberships and token scope.
#[utoipa::path(get, path = "/api/v1/me", tag = "me",
    responses((status = 200, body = Me), (status = 401, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn get_me(state: web::Data<AppState>, who: Principal) -> ApiResult<HttpResponse> {
    let mut memberships = Vec::new();
    for (m, t) in store::users::memberships_of(&state.db, who.user.id).await? {
        if who.token_tenant.is_some_and(|scope| scope != m.tenant_id) {
            continue;
        }
        if let Some(t) = t {
            memberships.push(MyMembership {
                tenant: t.into(),
                role: m.role.parse().map_err(ApiError::Internal)?,
            });
        }
    }
    Ok(HttpResponse::Ok().json(Me {
        auth: match who.credential {
            Credential::ApiToken(_) => "token",
            Credential::Session(_) => "session",
            Credential::ProviderJwt => "provider_jwt",
        },
        token_id: match who.credential {
            Credential::ApiToken(id) => Some(id),
            _ => None,
        },
        session_id: match who.credential {
            Credential::Session(id) => Some(id),
            _ => None,
        },
        token_tenant_id: who.token_tenant,
        user: who.user.into(),
        memberships,
    }))
}
