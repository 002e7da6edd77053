//! `/api/v1/tenants/{tenant_id}/members`: who belongs to a tenant, with which role.

use crate::app::AppState;
use crate::domain::tenants::{AddMember, ChangeRole};
use crate::http::problem::{ApiResult, ConflictProblem, ForbiddenProblem};
use crate::http::views::{MemberView, Page, PageQuery};
use crate::service::access::Caller;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

/// Lists a tenant's members (viewers and up).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/members", tag = "members", operation_id = "listMembers",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), PageQuery),
    responses((status = 200, description = "A page of members", body = Page<MemberView>)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = q.page()?;
    let rows = state.members.list(&who, path.into_inner(), &page).await?;
    Ok(HttpResponse::Ok().json(crate::http::views::page(
        rows,
        &page,
        |(m, _)| m.user_id.to_string(),
        MemberView::from,
    )))
}

/// Adds a person (by e-mail) or a new service account to a tenant (admins; owners for `owner`).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant_id}/members", tag = "members", operation_id = "addMember",
    request_body = AddMember,
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 201, description = "The new member", body = MemberView), ForbiddenProblem, ConflictProblem),
    security(("bearer" = [])))]
pub async fn add(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    body: web::Json<AddMember>,
) -> ApiResult<HttpResponse> {
    let m = state.members.add(&who, path.into_inner(), &body).await?;
    Ok(HttpResponse::Created().json(MemberView::from(m)))
}

/// One member (viewers and up).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/members/{user_id}", tag = "members", operation_id = "getMember",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("user_id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The member", body = MemberView)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (tenant, user) = path.into_inner();
    let m = state.members.get(&who, tenant, user).await?;
    Ok(HttpResponse::Ok().json(MemberView::from(m)))
}

/// Changes a member's role (admins; owners for anything touching `owner`).
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant_id}/members/{user_id}", tag = "members", operation_id = "changeMemberRole",
    request_body = ChangeRole,
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("user_id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The member with the new role", body = MemberView), ForbiddenProblem, ConflictProblem),
    security(("bearer" = [])))]
pub async fn change_role(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<ChangeRole>,
) -> ApiResult<HttpResponse> {
    let (tenant, user) = path.into_inner();
    let m = state
        .members
        .change_role(&who, tenant, user, body.role)
        .await?;
    Ok(HttpResponse::Ok().json(MemberView::from(m)))
}

/// Removes a member and revokes their tokens scoped to the tenant (admins; owners for owners).
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant_id}/members/{user_id}", tag = "members", operation_id = "removeMember",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("user_id" = Uuid, Path, description = "User id")),
    responses((status = 204, description = "Removed"), ForbiddenProblem, ConflictProblem),
    security(("bearer" = [])))]
pub async fn remove(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (tenant, user) = path.into_inner();
    state.members.remove(&who, tenant, user).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        GET "/api/v1/tenants/{tenant_id}/members" => list,
        POST "/api/v1/tenants/{tenant_id}/members" => add,
        GET "/api/v1/tenants/{tenant_id}/members/{user_id}" => get,
        PATCH "/api/v1/tenants/{tenant_id}/members/{user_id}" => change_role,
        DELETE "/api/v1/tenants/{tenant_id}/members/{user_id}" => remove,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, add, get, change_role, remove))]
pub struct Doc;
