//! `/api/v1/invitations`: the alliance invitations addressed to a tenant, over HTTP. The use
//! cases are in [`crate::service::governance`].

use crate::app::AppState;
use crate::domain::governance::AcceptInvitation;
use crate::http::problem::{ApiResult, Problem};
use crate::http::views::alliances::{AllianceView, InvitationView, alliance_view, invitation_view};
use crate::http::views::{Page, PageQuery};
use crate::service::access::Caller;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

/// Filters of the invitation list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InvitationQuery {
    /// Only this tenant's invitations (default: every tenant the caller belongs to).
    pub tenant_id: Option<Uuid>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// Invitations addressed to the caller's tenants.
#[utoipa::path(get, path = "/api/v1/invitations", operation_id = "listAllianceInvitations", tag = "alliances", params(InvitationQuery),
    responses((status = 200, body = Page<InvitationView>), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_invitations(
    state: web::Data<AppState>,
    who: Caller,
    q: web::Query<InvitationQuery>,
) -> ApiResult<HttpResponse> {
    let page_req = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .page()?;
    let (rows, next_cursor) = state
        .governance
        .invitations(&who, q.tenant_id, &page_req)
        .await?;
    let items = rows
        .into_iter()
        .map(|(i, name)| invitation_view(i, name))
        .collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// One invitation (users of the invited tenant).
#[utoipa::path(get, path = "/api/v1/invitations/{invitation_id}", operation_id = "getAllianceInvitation", tag = "alliances",
    params(("invitation_id" = Uuid, Path, description = "Invitation id")),
    responses((status = 200, body = InvitationView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_invitation(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (i, name) = state.governance.invitation(&who, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(invitation_view(i, name)))
}

/// Accepts an invitation (admins of the invited tenant): the tenant joins with its member
/// organisation.
#[utoipa::path(post, path = "/api/v1/invitations/{invitation_id}/accept", operation_id = "acceptAllianceInvitation", tag = "alliances", request_body = AcceptInvitation,
    params(("invitation_id" = Uuid, Path, description = "Invitation id")),
    responses((status = 200, body = AllianceView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn accept_invitation(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    body: web::Json<AcceptInvitation>,
) -> ApiResult<HttpResponse> {
    let (a, members) = state
        .governance
        .accept(&who, path.into_inner(), &body)
        .await?;
    Ok(HttpResponse::Ok().json(alliance_view(a, members)?))
}

/// Declines an invitation (admins of the invited tenant).
#[utoipa::path(post, path = "/api/v1/invitations/{invitation_id}/reject", operation_id = "rejectAllianceInvitation", tag = "alliances",
    params(("invitation_id" = Uuid, Path, description = "Invitation id")),
    responses((status = 200, body = InvitationView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn reject_invitation(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (i, name) = state.governance.reject(&who, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(invitation_view(i, name)))
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        GET "/api/v1/invitations" => list_invitations,
        GET "/api/v1/invitations/{invitation_id}" => get_invitation,
        POST "/api/v1/invitations/{invitation_id}/accept" => accept_invitation,
        POST "/api/v1/invitations/{invitation_id}/reject" => reject_invitation,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list_invitations, get_invitation, accept_invitation, reject_invitation))]
pub struct Doc;
