//! `GET /api/v1/audit-events`: what happened, newest first.

use crate::app::AppState;
use crate::domain::audit::{AuditQuery, OutcomeClass};
use crate::http::problem::{ApiResult, ForbiddenProblem};
use crate::http::views::{self, AuditEventView, Page, PageQuery};
use crate::service::access::Caller;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

/// Which events: whose, what, by whom, when.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// The tenant whose events to list; required unless you are the platform administrator.
    pub tenant_id: Option<Uuid>,
    /// `success`, `denied`, `invalid` or `failed`.
    pub outcome: Option<OutcomeClass>,
    /// Done by this user.
    pub actor_user_id: Option<Uuid>,
    /// Part of the action, e.g. `tokens` or `DELETE` (any case; at most 200 characters).
    pub action: Option<String>,
    /// At or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// A tenant's audit events for its admins; every event for the platform administrator.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit", operation_id = "listAuditEvents",
    params(AuditFilter, PageQuery),
    responses((status = 200, description = "A page of events, newest first", body = Page<AuditEventView>),
        ForbiddenProblem, crate::http::problem::NotFoundProblem,
        (status = 422, body = crate::http::problem::Problem)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    who: Caller,
    f: web::Query<AuditFilter>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = q.page()?;
    let f = f.into_inner();
    let filter = AuditQuery {
        outcome: f.outcome,
        actor_user_id: f.actor_user_id,
        action: f.action,
        since: f.since,
        until: f.until,
    };
    let rows = state.audit.list(&who, f.tenant_id, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(views::page(
        rows,
        &page,
        |e| e.id.to_string(),
        AuditEventView::from,
    )))
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        GET "/api/v1/audit-events" => list,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list), components(schemas(OutcomeClass)))]
pub struct Doc;
