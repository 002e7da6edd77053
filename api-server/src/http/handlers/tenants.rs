//! `/api/v1/tenants`: organisations on the platform.

use crate::app::AppState;
use crate::domain::tenants::{CreateTenant, TenantKind, UpdateTenant};
use crate::http::problem::{ApiResult, ConflictProblem, ForbiddenProblem};
use crate::http::views::{self, Page, PageQuery, TenantView};
use crate::service::access::Caller;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

/// Filters of the tenant list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TenantFilter {
    /// Only tenants of this kind.
    pub kind: Option<TenantKind>,
}

/// Creates a tenant (platform administrator).
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", operation_id = "createTenant",
    request_body = CreateTenant,
    responses((status = 201, description = "The new tenant", body = TenantView), ForbiddenProblem, ConflictProblem),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    who: Caller,
    body: web::Json<CreateTenant>,
) -> ApiResult<HttpResponse> {
    let t = state.tenants.create(&who, &body).await?;
    Ok(HttpResponse::Created().json(TenantView::from(t)))
}

/// Lists the tenants the caller can see (all, for the platform administrator).
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", operation_id = "listTenants",
    params(PageQuery, TenantFilter),
    responses((status = 200, description = "A page of tenants", body = Page<TenantView>)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    who: Caller,
    q: web::Query<PageQuery>,
    f: web::Query<TenantFilter>,
) -> ApiResult<HttpResponse> {
    let page = q.page()?;
    let rows = state.tenants.list(&who, f.kind, &page).await?;
    Ok(HttpResponse::Ok().json(views::page(
        rows,
        &page,
        |t| t.id.to_string(),
        TenantView::from,
    )))
}

/// One tenant (members and the platform administrator).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}", tag = "tenants", operation_id = "getTenant",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, description = "The tenant", body = TenantView)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let t = state.tenants.get(&who, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(TenantView::from(t)))
}

/// Changes a tenant's display name (owners).
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant_id}", tag = "tenants", operation_id = "updateTenant",
    request_body = UpdateTenant,
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, description = "The tenant as changed", body = TenantView), ForbiddenProblem),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    body: web::Json<UpdateTenant>,
) -> ApiResult<HttpResponse> {
    let t = state.tenants.update(&who, path.into_inner(), &body).await?;
    Ok(HttpResponse::Ok().json(TenantView::from(t)))
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        POST "/api/v1/tenants" => create,
        GET "/api/v1/tenants" => list,
        GET "/api/v1/tenants/{tenant_id}" => get,
        PATCH "/api/v1/tenants/{tenant_id}" => update,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, update))]
pub struct Doc;
