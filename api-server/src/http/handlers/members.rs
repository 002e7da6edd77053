//! `/api/v1/tenants/{tenant_id}/members` and `…/invites`: who belongs to a tenant, with
//! which role, and the links that let a person join.

use crate::app::AppState;
use crate::db::entities::tenant_invite;
use crate::domain::tenants::{AddMember, ChangeRole, InviteStatus, NewInvite};
use crate::http::problem::{ApiResult, ConflictProblem, ForbiddenProblem};
use crate::http::views::{MemberView, Page, PageQuery, page};
use crate::service::access::Caller;
use crate::service::members::{Added, Invited};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A tenant invitation (the token appears only in the creation response).
#[derive(Debug, Serialize, ToSchema)]
pub struct InviteView {
    /// Invitation id.
    pub id: Uuid,
    /// Tenant.
    pub tenant_id: Uuid,
    /// Role granted.
    pub role: String,
    /// Restricted to this e-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `pending`, `used`, `revoked` or `expired`.
    pub status: &'static str,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Valid until.
    pub expires_at: DateTime<Utc>,
    /// The single-use token (only when just created).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The link to send (only when just created).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

fn invite_view(i: &tenant_invite::Model, now: DateTime<Utc>) -> InviteView {
    let status = InviteStatus::of(
        i.used_at.is_some(),
        i.revoked_at.is_some(),
        i.expires_at,
        now,
    );
    InviteView {
        id: i.id,
        tenant_id: i.tenant_id,
        role: i.role.clone(),
        email: i.email.clone(),
        status: status.as_str(),
        created_at: i.created_at,
        expires_at: i.expires_at,
        token: None,
        url: None,
    }
}

fn invited_view(i: Invited, now: DateTime<Utc>) -> InviteView {
    InviteView {
        token: Some(i.token),
        url: Some(i.url),
        ..invite_view(&i.invite, now)
    }
}

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

/// Adds a new service account, or a person by e-mail (admins; owners for `owner`).
///
/// A person joins directly when the caller is the platform administrator or already shares
/// a tenant with them. Anyone else named by e-mail gets an invitation link bound to that
/// address (`202`, the link in `url`, shown once) which they accept by signing in through
/// it; the answer is the same whether or not the address has an account here.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant_id}/members", tag = "members", operation_id = "addMember",
    request_body = AddMember,
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 201, description = "The new member", body = MemberView),
        (status = 202, description = "An invitation link for the person to accept", body = InviteView),
        ForbiddenProblem, ConflictProblem),
    security(("bearer" = [])))]
pub async fn add(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    body: web::Json<AddMember>,
) -> ApiResult<HttpResponse> {
    Ok(
        match state.members.add(&who, path.into_inner(), &body).await? {
            Added::Member(m) => HttpResponse::Created().json(MemberView::from(m)),
            Added::Invited(i) => {
                HttpResponse::Accepted().json(invited_view(i, state.members.now()))
            }
        },
    )
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

/// Creates a single-use invitation link into the tenant (admins; owners for the owner role).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant_id}/invites", operation_id = "createInvite", tag = "members",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")), request_body = NewInvite,
    responses((status = 201, body = InviteView), (status = 400, body = crate::http::problem::Problem),
        (status = 403, body = crate::http::problem::Problem), (status = 404, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn create_invite(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    body: web::Json<NewInvite>,
) -> ApiResult<HttpResponse> {
    let i = state.members.invite(&who, path.into_inner(), &body).await?;
    Ok(HttpResponse::Created().json(invited_view(i, state.members.now())))
}

/// Lists the tenant's invitations (admins).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/invites", operation_id = "listInvites", tag = "members",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), PageQuery),
    responses((status = 200, body = Page<InviteView>), (status = 400, body = crate::http::problem::Problem),
        (status = 403, body = crate::http::problem::Problem),
        (status = 404, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn list_invites(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let req = q.page()?;
    let rows = state.members.invites(&who, path.into_inner(), &req).await?;
    let now = state.members.now();
    Ok(HttpResponse::Ok().json(page(
        rows,
        &req,
        |i| i.id.to_string(),
        |i| invite_view(&i, now),
    )))
}

/// Revokes an unused invitation (admins).
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant_id}/invites/{invite_id}", operation_id = "revokeInvite", tag = "members",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("invite_id" = Uuid, Path, description = "Invitation id")),
    responses((status = 204), (status = 403, body = crate::http::problem::Problem),
        (status = 404, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn revoke_invite(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (tenant, id) = path.into_inner();
    state.members.revoke_invite(&who, tenant, id).await?;
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
        POST "/api/v1/tenants/{tenant_id}/invites" => create_invite,
        GET "/api/v1/tenants/{tenant_id}/invites" => list_invites,
        DELETE "/api/v1/tenants/{tenant_id}/invites/{invite_id}" => revoke_invite,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    add,
    get,
    change_role,
    remove,
    create_invite,
    list_invites,
    revoke_invite
))]
pub struct Doc;
