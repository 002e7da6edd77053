//! `GET /api/v1/me`: who the caller is and where it belongs.

use crate::app::AppState;
use crate::domain::roles::Role;
use crate::http::problem::ApiResult;
use crate::http::views::{TenantView, UserView};
use crate::service::access::{Caller, Credential};
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
#[utoipa::path(get, path = "/api/v1/me", tag = "me", operation_id = "getMe",
    responses((status = 200, description = "The caller", body = Me)),
    security(("bearer" = [])))]
pub async fn get_me(state: web::Data<AppState>, who: Caller) -> ApiResult<HttpResponse> {
    let memberships = state
        .tenants
        .memberships_of(&who)
        .await?
        .into_iter()
        .map(|(m, t)| MyMembership {
            tenant: t.into(),
            role: m.role,
        })
        .collect();
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

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        GET "/api/v1/me" => get_me,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(get_me))]
pub struct Doc;
