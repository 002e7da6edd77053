//! API tokens: a caller's own (`/api/v1/tokens`) and a tenant's (`/api/v1/tenants/{id}/tokens`).

use super::check;
use crate::domain::roles::Action;
use crate::domain::{tokens, validation};
use crate::http::auth::Principal;
use crate::http::problem::{ApiError, ApiResult, Problem};
use crate::http::views::{self, CreatedToken, Page, PageQuery, TokenView};
use crate::state::AppState;
use crate::store;
use crate::store::tokens::{NewToken, Owner};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Longest lifetime a token may be given.
const MAX_LIFETIME_DAYS: i64 = 3650;

/// Body of `POST /api/v1/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Label, 1–100 characters.
    pub name: String,
    /// Limit the token to this tenant (you must be a member).
    pub tenant_id: Option<Uuid>,
    /// Expiry time (RFC 3339), in the future and within ten years; none means no expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Body of `POST /api/v1/tenants/{tenant_id}/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantToken {
    /// Label, 1–100 characters.
    pub name: String,
    /// A service-account member to mint for; yourself when absent.
    pub user_id: Option<Uuid>,
    /// Expiry time (RFC 3339); none means no expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

/// `now`: the app's clock (token expiry is judged by the same clock when the token is used).
fn check_expiry(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<(), ApiError> {
    if let Some(t) = expires_at {
        if t <= now {
            return Err(ApiError::field(
                "/expires_at",
                "expires_at must be in the future",
            ));
        }
        if t > now + Duration::days(MAX_LIFETIME_DAYS) {
            return Err(ApiError::field(
                "/expires_at",
                "expires_at must be within ten years",
            ));
        }
    }
    Ok(())
}

async fn mint(
    state: &AppState,
    who: &Principal,
    user_id: Uuid,
    tenant_id: Option<Uuid>,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> ApiResult<HttpResponse> {
    let minted = tokens::mint(&state.token_key);
    let row = store::tokens::insert(
        &state.db,
        NewToken {
            id: minted.id,
            user_id,
            tenant_id,
            name,
            secret_hash: &minted.secret_hash,
            created_by: who.user.id,
            expires_at,
        },
    )
    .await?;
    who.created(row.id);
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(CreatedToken {
            token: row.into(),
            secret: minted.bearer,
        }))
}

/// Creates a token for yourself. The secret is in this response only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_own(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<CreateToken>,
) -> ApiResult<HttpResponse> {
    check("/name", validation::display_name("name", &body.name))?;
    check_expiry(body.expires_at, state.clock.now())?;
    // A tenant-scoped token can only mint tokens for the same tenant: no escalation.
    let tenant = match (who.token_tenant, body.tenant_id) {
        (Some(scope), None) => Some(scope),
        (_, t) => t,
    };
    if let Some(t) = tenant {
        who.access(&state, t, crate::domain::roles::Action::Read)
            .await?;
    }
    mint(
        &state,
        &who,
        who.user.id,
        tenant,
        &body.name,
        body.expires_at,
    )
    .await
}

/// Lists your own tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", params(PageQuery),
    responses((status = 200, body = Page<TokenView>), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_own(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = q.page()?;
    let rows = store::tokens::list(&state.db, Owner::User(who.user.id), &page).await?;
    let rows = rows
        .into_iter()
        .filter(|t| who.token_tenant.is_none() || t.tenant_id == who.token_tenant)
        .collect();
    Ok(HttpResponse::Ok().json(views::page(
        rows,
        &page,
        |t| t.id.to_string(),
        TokenView::from,
    )))
}

/// Revokes one of your own tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{token_id}", tag = "tokens",
    params(("token_id" = Uuid, Path, description = "Token id")),
    responses((status = 204, description = "revoked"), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn revoke_own(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let t = store::tokens::get_owned(&state.db, Owner::User(who.user.id), id)
        .await?
        .filter(|t| who.token_tenant.is_none() || t.tenant_id == who.token_tenant)
        .ok_or_else(|| ApiError::NotFound(format!("token {id} not found")))?;
    let id = t.id;
    store::tokens::revoke(&state.db, t).await?;
    // After the write, so a concurrent request cannot re-cache the unrevoked row.
    state.auth_cache.forget(id);
    Ok(HttpResponse::NoContent().finish())
}

/// Lists tokens scoped to a tenant (admins).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/tokens", tag = "tokens",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), PageQuery),
    responses((status = 200, body = Page<TokenView>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_tenant(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let tenant = path.into_inner();
    let page = q.page()?;
    who.access(&state, tenant, Action::ManageTokens).await?;
    let rows = store::tokens::list(&state.db, Owner::Tenant(tenant), &page).await?;
    Ok(HttpResponse::Ok().json(views::page(
        rows,
        &page,
        |t| t.id.to_string(),
        TokenView::from,
    )))
}

/// Creates a tenant-scoped token for yourself or a service account of the tenant (admins).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant_id}/tokens", tag = "tokens", request_body = CreateTenantToken,
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 201, body = CreatedToken), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_tenant(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<Uuid>,
    body: web::Json<CreateTenantToken>,
) -> ApiResult<HttpResponse> {
    let tenant = path.into_inner();
    who.access(&state, tenant, Action::ManageTokens).await?;
    check("/name", validation::display_name("name", &body.name))?;
    check_expiry(body.expires_at, state.clock.now())?;
    let user_id = match body.user_id {
        None => who.user.id,
        Some(u) if u == who.user.id => u,
        Some(u) => {
            store::users::membership(&state.db, tenant, u)
                .await?
                .ok_or_else(|| {
                    ApiError::NotFound(format!("user {u} is not a member of this tenant"))
                })?;
            let user = store::users::get(&state.db, u)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("user {u} not found")))?;
            if user.kind != "service" {
                return Err(ApiError::field(
                    "/user_id",
                    "tokens for people are created by those people; name a service account",
                ));
            }
            u
        }
    };
    mint(
        &state,
        &who,
        user_id,
        Some(tenant),
        &body.name,
        body.expires_at,
    )
    .await
}

/// Revokes a token scoped to the tenant (admins).
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant_id}/tokens/{token_id}", tag = "tokens",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("token_id" = Uuid, Path, description = "Token id")),
    responses((status = 204, description = "revoked"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn revoke_tenant(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (tenant, id) = path.into_inner();
    who.access(&state, tenant, Action::ManageTokens).await?;
    let t = store::tokens::get_owned(&state.db, Owner::Tenant(tenant), id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("token {id} not found")))?;
    let id = t.id;
    store::tokens::revoke(&state.db, t).await?;
    // After the write, so a concurrent request cannot re-cache the unrevoked row.
    state.auth_cache.forget(id);
    Ok(HttpResponse::NoContent().finish())
}
