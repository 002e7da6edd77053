//! `/api/v1/tenants/{tenant_id}/members`: who belongs to a tenant, with which role.

use super::check;
use crate::domain::roles::{self, Action, Role};
use crate::domain::validation;
use crate::http::auth::Principal;
use crate::http::problem::{ApiError, ApiResult, Problem};
use crate::http::views::{MemberView, Page, PageQuery};
use crate::state::AppState;
use crate::store;
use actix_web::{HttpResponse, web};
use sea_orm::TransactionTrait;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Kind of user to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum UserKind {
    /// A person, identified by e-mail.
    #[default]
    Human,
    /// A service account for programs (CI, scripts); gets tokens from tenant admins.
    Service,
}

/// Body of `POST /api/v1/tenants/{tenant_id}/members`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    /// `human` (default) or `service`.
    #[serde(default)]
    pub kind: UserKind,
    /// E-mail of a person (required for `human`, refused for `service`).
    pub email: Option<String>,
    /// Display name (used when the user is new).
    pub display_name: String,
    /// Role in the tenant.
    pub role: Role,
}

/// Body of `PATCH /api/v1/tenants/{tenant_id}/members/{user_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRole {
    /// The new role.
    pub role: Role,
}

fn refusal(r: roles::MembershipRefusal) -> ApiError {
    match r {
        roles::MembershipRefusal::LastOwner => ApiError::Conflict(r.to_string()),
        _ => ApiError::Forbidden(r.to_string()),
    }
}

fn member_not_found(user: Uuid) -> ApiError {
    ApiError::NotFound(format!("user {user} is not a member of this tenant"))
}

/// Lists a tenant's members (viewers and up).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/members", tag = "members",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), PageQuery),
    responses((status = 200, body = Page<MemberView>), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let tenant = path.into_inner();
    let page = q.page()?;
    who.access(&state, tenant, Action::Read).await?;
    let rows = store::users::members(&state.db, tenant, &page).await?;
    let (rows, next_cursor) =
        crate::domain::pagination::finish(rows, &page, |(m, _)| m.user_id.to_string());
    let mut items = Vec::with_capacity(rows.len());
    for (m, u) in rows {
        let u = u.ok_or_else(|| ApiError::Internal("membership without user".into()))?;
        items.push(MemberView::new(m, u)?);
    }
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// Adds a person (by e-mail) or a new service account to a tenant (admins; owners for `owner`).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant_id}/members", tag = "members", request_body = AddMember,
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 201, body = MemberView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn add(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<Uuid>,
    body: web::Json<AddMember>,
) -> ApiResult<HttpResponse> {
    let tenant = path.into_inner();
    let actor = who.access(&state, tenant, Action::Read).await?;
    roles::check_membership_change(actor, None, Some(body.role), 0).map_err(refusal)?;
    check(
        "/display_name",
        validation::display_name("display_name", &body.display_name),
    )?;
    let email = match (body.kind, body.email.as_deref()) {
        (UserKind::Human, Some(e)) => {
            check("/email", validation::email("email", e))?;
            Some(e)
        }
        (UserKind::Human, None) => {
            return Err(ApiError::field(
                "/email",
                "email is required for a human member",
            ));
        }
        (UserKind::Service, Some(_)) => {
            return Err(ApiError::field(
                "/email",
                "service accounts have no e-mail; leave it out",
            ));
        }
        (UserKind::Service, None) => None,
    };
    let txn = state.db.begin().await?;
    let existing = match email {
        Some(e) => store::users::by_email(&txn, e).await?,
        None => None,
    };
    let user = match existing {
        Some(u) => u,
        None => {
            let kind = if body.kind == UserKind::Service {
                "service"
            } else {
                "human"
            };
            store::users::insert(
                &txn,
                store::users::NewUser {
                    email,
                    display_name: &body.display_name,
                    kind,
                    is_platform_admin: false,
                },
            )
            .await?
        }
    };
    if store::users::membership(&txn, tenant, user.id)
        .await?
        .is_some()
    {
        return Err(ApiError::Conflict(format!(
            "user {} is already a member; change their role instead",
            user.id
        )));
    }
    let m = store::users::add_member(&txn, tenant, user.id, body.role.as_str()).await?;
    txn.commit().await?;
    who.created(user.id);
    Ok(HttpResponse::Created().json(MemberView::new(m, user)?))
}

/// One member (viewers and up).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/members/{user_id}", tag = "members",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("user_id" = Uuid, Path, description = "User id")),
    responses((status = 200, body = MemberView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (tenant, user_id) = path.into_inner();
    who.access(&state, tenant, Action::Read).await?;
    let m = store::users::membership(&state.db, tenant, user_id)
        .await?
        .ok_or_else(|| member_not_found(user_id))?;
    let u = store::users::get(&state.db, user_id)
        .await?
        .ok_or_else(|| member_not_found(user_id))?;
    Ok(HttpResponse::Ok().json(MemberView::new(m, u)?))
}

/// Changes a member's role (admins; owners for anything touching `owner`).
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant_id}/members/{user_id}", tag = "members", request_body = ChangeRole,
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("user_id" = Uuid, Path, description = "User id")),
    responses((status = 200, body = MemberView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn change_role(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<ChangeRole>,
) -> ApiResult<HttpResponse> {
    let (tenant, user_id) = path.into_inner();
    let actor = who.access(&state, tenant, Action::Read).await?;
    let txn = state.db.begin().await?;
    let m = store::users::membership(&txn, tenant, user_id)
        .await?
        .ok_or_else(|| member_not_found(user_id))?;
    let from: Role = m.role.parse().map_err(ApiError::Internal)?;
    let owners = store::users::owner_count(&txn, tenant).await?;
    roles::check_membership_change(actor, Some(from), Some(body.role), owners).map_err(refusal)?;
    let m = store::users::set_role(&txn, m, body.role.as_str()).await?;
    txn.commit().await?;
    let u = store::users::get(&state.db, user_id)
        .await?
        .ok_or_else(|| member_not_found(user_id))?;
    Ok(HttpResponse::Ok().json(MemberView::new(m, u)?))
}

/// Removes a member and revokes their tokens scoped to the tenant (admins; owners for owners).
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant_id}/members/{user_id}", tag = "members",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), ("user_id" = Uuid, Path, description = "User id")),
    responses((status = 204, description = "removed"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn remove(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (tenant, user_id) = path.into_inner();
    let actor = who.access(&state, tenant, Action::Read).await?;
    let txn = state.db.begin().await?;
    let m = store::users::membership(&txn, tenant, user_id)
        .await?
        .ok_or_else(|| member_not_found(user_id))?;
    let from: Role = m.role.parse().map_err(ApiError::Internal)?;
    let owners = store::users::owner_count(&txn, tenant).await?;
    roles::check_membership_change(actor, Some(from), None, owners).map_err(refusal)?;
    store::users::remove_member(&txn, tenant, user_id).await?;
    store::tokens::revoke_for_member(&txn, tenant, user_id).await?;
    txn.commit().await?;
    state.auth_cache.clear();
    Ok(HttpResponse::NoContent().finish())
}
