//! `/api/v1/tenants`: organisations on the platform.

use super::check;
use crate::domain::roles::{Action, Role};
use crate::domain::validation;
use crate::http::auth::Principal;
use crate::http::problem::{ApiError, ApiResult, Problem};
use crate::http::views::{self, Page, PageQuery, TenantKind, TenantView};
use crate::state::AppState;
use crate::store;
use crate::store::tenants::{NewTenant, Visible};
use actix_web::{HttpResponse, web};
use sea_orm::TransactionTrait;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// The first owner of a new tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerSpec {
    /// E-mail of the owner; an existing user with it is reused.
    pub email: String,
    /// Display name, used when the user is new.
    pub display_name: String,
}

/// Body of `POST /api/v1/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// DNS-label slug: 3–40 of a-z, 0-9, '-'; unique.
    pub slug: String,
    /// Display name, 1–100 characters.
    pub name: String,
    /// `customer` or `partner`.
    pub kind: TenantKind,
    /// Optional first owner.
    pub owner: Option<OwnerSpec>,
}

/// Body of `PATCH /api/v1/tenants/{tenant_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    /// New display name.
    pub name: Option<String>,
}

/// Filters of the tenant list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TenantFilter {
    /// Only tenants of this kind.
    pub kind: Option<TenantKind>,
}

/// Creates a tenant (platform administrator).
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", request_body = CreateTenant,
    responses((status = 201, body = TenantView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<CreateTenant>,
) -> ApiResult<HttpResponse> {
    who.require_platform_admin()?;
    let body = body.into_inner();
    check("/slug", validation::slug("slug", &body.slug))?;
    check("/name", validation::display_name("name", &body.name))?;
    if let Some(o) = &body.owner {
        check("/owner/email", validation::email("owner.email", &o.email))?;
        check(
            "/owner/display_name",
            validation::display_name("owner.display_name", &o.display_name),
        )?;
    }
    let txn = state.db.begin().await?;
    let tenant = store::tenants::insert(
        &txn,
        NewTenant {
            slug: &body.slug,
            name: &body.name,
            kind: body.kind.as_str(),
        },
    )
    .await
    .map_err(|e| {
        if store::is_unique_violation(&e) {
            ApiError::Conflict(format!("a tenant with slug `{}` already exists", body.slug))
        } else {
            e.into()
        }
    })?;
    if let Some(o) = &body.owner {
        let user = match store::users::by_email(&txn, &o.email).await? {
            Some(u) => u,
            None => {
                store::users::insert(
                    &txn,
                    store::users::NewUser {
                        email: Some(&o.email),
                        display_name: &o.display_name,
                        kind: "human",
                        is_platform_admin: false,
                    },
                )
                .await?
            }
        };
        store::users::add_member(&txn, tenant.id, user.id, Role::Owner.as_str()).await?;
    }
    txn.commit().await?;
    who.created(tenant.id);
    who.note(|n| n.tenant_id = Some(tenant.id));
    Ok(HttpResponse::Created().json(TenantView::from(tenant)))
}

/// Lists the tenants the caller can see (all, for the platform administrator).
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", params(PageQuery, TenantFilter),
    responses((status = 200, body = Page<TenantView>), (status = 400, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<PageQuery>,
    f: web::Query<TenantFilter>,
) -> ApiResult<HttpResponse> {
    let page = q.page()?;
    let visible = match who.token_tenant {
        Some(t) => Visible::One {
            tenant: t,
            user: (!who.user.is_platform_admin).then_some(who.user.id),
        },
        None if who.user.is_platform_admin => Visible::All,
        None => Visible::MemberOf(who.user.id),
    };
    let rows =
        store::tenants::list(&state.db, visible, f.kind.map(TenantKind::as_str), &page).await?;
    Ok(HttpResponse::Ok().json(views::page(
        rows,
        &page,
        |t| t.id.to_string(),
        TenantView::from,
    )))
}

/// One tenant (members and the platform administrator).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}", tag = "tenants",
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, body = TenantView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let (_, t) = who.access_tenant(&state, id, Action::Read).await?;
    Ok(HttpResponse::Ok().json(TenantView::from(t)))
}

/// Changes a tenant's display name (owners).
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant_id}", tag = "tenants", request_body = UpdateTenant,
    params(("tenant_id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, body = TenantView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<Uuid>,
    body: web::Json<UpdateTenant>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let (_, t) = who.access_tenant(&state, id, Action::ManageTenant).await?;
    let t = match &body.name {
        Some(name) => {
            check("/name", validation::display_name("name", name))?;
            store::tenants::rename(&state.db, t, name).await?
        }
        None => t,
    };
    Ok(HttpResponse::Ok().json(TenantView::from(t)))
}
