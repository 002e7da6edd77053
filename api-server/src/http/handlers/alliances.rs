//! `/api/v1/alliances`: consortia of tenants — founding, listing, leaving and the event feed —
//! over HTTP. The use cases are in [`crate::service::governance`]; proposals and votes are in
//! [`super::proposals`], invitations in [`super::invitations`].

use crate::app::AppState;
use crate::domain::governance::{Acting, CreateAlliance};
use crate::http::problem::{ApiResult, Problem};
use crate::http::views::alliances::{AllianceEventView, AllianceView, alliance_view};
use crate::http::views::{Page, PageQuery, page, page_request};
use crate::service::access::Caller;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

/// `tenant_id` filter of the alliance list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AllianceQuery {
    /// Only alliances this tenant belongs to.
    pub tenant_id: Option<Uuid>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// Creates an alliance; the founding tenant becomes its first member (admins).
#[utoipa::path(post, path = "/api/v1/alliances", operation_id = "createAlliance", tag = "alliances", request_body = CreateAlliance,
    responses((status = 201, body = AllianceView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    who: Caller,
    body: web::Json<CreateAlliance>,
) -> ApiResult<HttpResponse> {
    let (a, members) = state.governance.create(&who, &body).await?;
    Ok(HttpResponse::Created().json(alliance_view(a, members)?))
}

/// Lists the alliances the caller's tenants belong to.
#[utoipa::path(get, path = "/api/v1/alliances", operation_id = "listAlliances", tag = "alliances", params(AllianceQuery),
    responses((status = 200, body = Page<AllianceView>), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    who: Caller,
    q: web::Query<AllianceQuery>,
) -> ApiResult<HttpResponse> {
    let page_req = page_request(q.limit, q.cursor.as_deref())?;
    let (rows, next_cursor) = state.governance.list(&who, q.tenant_id, &page_req).await?;
    let items = rows
        .into_iter()
        .map(|(a, members)| alliance_view(a, members))
        .collect::<ApiResult<_>>()?;
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// One alliance with its members (members only).
#[utoipa::path(get, path = "/api/v1/alliances/{alliance_id}", operation_id = "getAlliance", tag = "alliances",
    params(("alliance_id" = Uuid, Path, description = "Alliance id")),
    responses((status = 200, body = AllianceView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (a, members) = state
        .alliances
        .authorize_view(&who, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(alliance_view(a, members)?))
}

/// A member tenant leaves the alliance (its admins). The last one to leave closes it.
#[utoipa::path(post, path = "/api/v1/alliances/{alliance_id}/leave", operation_id = "leaveAlliance", tag = "alliances", request_body = Acting,
    params(("alliance_id" = Uuid, Path, description = "Alliance id")),
    responses((status = 200, body = AllianceView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn leave(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    body: web::Json<Acting>,
) -> ApiResult<HttpResponse> {
    let (a, members) = state
        .governance
        .leave(&who, path.into_inner(), body.tenant_id)
        .await?;
    Ok(HttpResponse::Ok().json(alliance_view(a, members)?))
}

/// The alliance's event feed, oldest first (members only).
#[utoipa::path(get, path = "/api/v1/alliances/{alliance_id}/events", operation_id = "listAllianceEvents", tag = "alliances",
    params(("alliance_id" = Uuid, Path, description = "Alliance id"), PageQuery),
    responses((status = 200, body = Page<AllianceEventView>), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn events(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page_req = q.page()?;
    let rows = state
        .governance
        .events(&who, path.into_inner(), &page_req)
        .await?;
    Ok(HttpResponse::Ok().json(page(
        rows,
        &page_req,
        |e| e.id.to_string(),
        AllianceEventView::from,
    )))
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        POST "/api/v1/alliances" => create,
        GET "/api/v1/alliances" => list,
        GET "/api/v1/alliances/{alliance_id}" => get,
        POST "/api/v1/alliances/{alliance_id}/leave" => leave,
        GET "/api/v1/alliances/{alliance_id}/events" => events,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, leave, events))]
pub struct Doc;
