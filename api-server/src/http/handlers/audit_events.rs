//! `GET /api/v1/audit-events`: what happened, newest first.

use crate::domain::roles::Action;
use crate::http::auth::Principal;
use crate::http::problem::{ApiError, ApiResult, Problem};
use crate::http::views::{self, AuditEventView, Page, PageQuery};
use crate::state::AppState;
use crate::store;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

/// Which tenant's events.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// The tenant whose events to list; required unless you are the platform administrator.
    pub tenant_id: Option<Uuid>,
}

/// A tenant's audit events for its admins; every event for the platform administrator.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit", params(AuditFilter, PageQuery),
    responses((status = 200, body = Page<AuditEventView>), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    who: Principal,
    f: web::Query<AuditFilter>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = q.page()?;
    let tenant = match f.tenant_id.or(who.token_tenant) {
        Some(t) => {
            who.access(&state, t, Action::ReadAudit).await?;
            Some(t)
        }
        None if who.is_platform_admin() => None,
        None => {
            return Err(ApiError::BadRequest(
                "tenant_id is required: name the tenant whose events to list".into(),
            ));
        }
    };
    let rows = store::audit::list(&state.db, tenant, &page).await?;
    Ok(HttpResponse::Ok().json(views::page(
        rows,
        &page,
        |e| e.id.to_string(),
        AuditEventView::from,
    )))
}
