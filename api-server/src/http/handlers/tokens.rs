//! API tokens: a caller's own (`/api/v1/tokens`) and a tenant's (`/api/v1/tenants/{id}/tokens`).

use crate::app::AppState;
use crate::domain::tokens::{CreateTenantToken, CreateToken};
use crate::http::problem::{ApiResult, ForbiddenProblem, NotFoundProblem};
use crate::http::views::{self, CreatedToken, Page, PageQuery, TokenView};
use crate::service::access::Caller;
use crate::service::tokens::Minted;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

fn created(m: Minted) -> HttpResponse {
    HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(CreatedToken {
            token: m.row.into(),
            secret: m.bearer,
        })
}

/// Creates a token for yourself. The secret is in this response only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", operation_id = "createOwnToken",
    request_body = CreateToken,
    responses((status = 201, description = "The token with its secret (shown once)", body = CreatedToken), NotFoundProblem),
    security(("bearer" = [])))]
pub async fn create_own(
    state: web::Data<AppState>,
    who: Caller,
    body: web::Json<CreateToken>,
) -> ApiResult<HttpResponse> {
    Ok(created(state.tokens.create_own(&who, &body).await?))
}

/// Lists your own tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", operation_id = "listOwnTokens",
    params(PageQuery),
    responses((status = 200, description = "A page of your tokens", body = Page<TokenView>)),
    security(("bearer" = [])))]
pub async fn list_own(
    state: web::Data<AppState>,
    who: Caller,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = q.page()?;
    let rows = state.tokens.list_own(&who, &page).await?;
    Ok(HttpResponse::Ok().json(views::page(
        rows,
        &page,
        |t| t.id.to_string(),
        TokenView::from,
    )))
}

/// Revokes one of your own tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{token_id}", tag = "tokens", operation_id = "revokeOwnToken",
    params(("token_id" = Uuid, Path, description = "Token id")),
    responses((status = 204, description = "Revoked")),
    security(("bearer" = [])))]
pub async fn revoke_own(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state.tokens.revoke_own(&who, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Lists tokens scoped to a tenant (admins).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/tokens", tag = "tokens", operation_id = "listTenantTokens",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), PageQuery),
    responses((status = 200, description = "A page of the tenant's tokens", body = Page<TokenView>), ForbiddenProblem),
    security(("bearer" = [])))]
pub async fn list_tenant(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = q.page()?;
    let rows = state
        .tokens
        .list_tenant(&who, path.into_inner(), &page)
        .await?;
    Ok(HttpResponse::Ok().json(views::page(
        rows,
        &page,
        |t| t.id.to_string(),
        TokenView::from,
    )))
}

/// Creates a tenant-scoped token for yourself or a service account of the tenant (admins).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant_id}/tokens", tag = "tokens", operation_id = "createTenantToken",
    request_body = CreateTenantToken,
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 201, description = "The token with its secret (shown once)", body = CreatedToken), ForbiddenProblem),
    security(("bearer" = [])))]
pub async fn create_tenant(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    body: web::Json<CreateTenantToken>,
) -> ApiResult<HttpResponse> {
    Ok(created(
        state
            .tokens
            .create_tenant(&who, path.into_inner(), &body)
            .await?,
    ))
}

/// Revokes a token scoped to the tenant (admins).
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant_id}/tokens/{token_id}", tag = "tokens", operation_id = "revokeTenantToken",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("token_id" = Uuid, Path, description = "Token id")),
    responses((status = 204, description = "Revoked"), ForbiddenProblem),
    security(("bearer" = [])))]
pub async fn revoke_tenant(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (tenant, id) = path.into_inner();
    state.tokens.revoke_tenant(&who, tenant, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        POST "/api/v1/tokens" => create_own,
        GET "/api/v1/tokens" => list_own,
        DELETE "/api/v1/tokens/{token_id}" => revoke_own,
        GET "/api/v1/tenants/{tenant_id}/tokens" => list_tenant,
        POST "/api/v1/tenants/{tenant_id}/tokens" => create_tenant,
        DELETE "/api/v1/tenants/{tenant_id}/tokens/{token_id}" => revoke_tenant,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_own,
    list_own,
    revoke_own,
    list_tenant,
    create_tenant,
    revoke_tenant
))]
pub struct Doc;
