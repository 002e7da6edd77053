//! `/api/v1/alliances/{alliance_id}/proposals`: proposals and votes over HTTP. The use cases
//! are in [`crate::service::governance`]; what an approved chain proposal makes or deletes,
//! [`crate::service::chains`] carries out after the deciding vote.

use crate::app::AppState;
use crate::domain::governance::{CastVote, CreateProposal, ProposalAction};
use crate::http::problem::{ApiResult, Problem};
use crate::http::views::alliances::{ProposalView, proposal_view};
use crate::http::views::{Page, PageQuery};
use crate::service::access::Caller;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

/// `status` filter of the proposal list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProposalQuery {
    /// `open`, `approved`, `rejected` or `expired`.
    pub status: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// Proposes a change (admins of a member tenant). Voters are the members at this moment.
#[utoipa::path(post, path = "/api/v1/alliances/{alliance_id}/proposals", operation_id = "createProposal", tag = "alliances", request_body = CreateProposal,
    params(("alliance_id" = Uuid, Path, description = "Alliance id")),
    responses((status = 201, body = ProposalView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn propose(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    body: web::Json<CreateProposal>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    if let ProposalAction::CreateChain(spec) = &body.action {
        // Checked now, so the alliance votes on a chain that can be made; checked again
        // when approved, against the alliance as it is then.
        let a = state
            .governance
            .may_propose(&who, id, body.tenant_id)
            .await?;
        state
            .chains
            .check_request(&a, spec, "/action/create_chain")
            .await?;
    }
    let p = state.governance.propose(&who, id, &body).await?;
    Ok(HttpResponse::Created().json(proposal_view(p, vec![])?))
}

/// Lists an alliance's proposals (members only).
#[utoipa::path(get, path = "/api/v1/alliances/{alliance_id}/proposals", operation_id = "listProposals", tag = "alliances",
    params(("alliance_id" = Uuid, Path, description = "Alliance id"), ProposalQuery),
    responses((status = 200, body = Page<ProposalView>), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_proposals(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
    q: web::Query<ProposalQuery>,
) -> ApiResult<HttpResponse> {
    let page_req = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .page()?;
    let (rows, next_cursor) = state
        .governance
        .proposals(&who, path.into_inner(), q.status.as_deref(), &page_req)
        .await?;
    let items = rows
        .into_iter()
        .map(|(p, votes)| proposal_view(p, votes))
        .collect::<ApiResult<_>>()?;
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// One proposal with its votes (members only).
#[utoipa::path(get, path = "/api/v1/alliances/{alliance_id}/proposals/{proposal_id}", operation_id = "getProposal", tag = "alliances",
    params(("alliance_id" = Uuid, Path, description = "Alliance id"), ("proposal_id" = Uuid, Path, description = "Proposal id")),
    responses((status = 200, body = ProposalView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_proposal(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (id, pid) = path.into_inner();
    let (p, votes) = state.governance.proposal(&who, id, pid).await?;
    Ok(HttpResponse::Ok().json(proposal_view(p, votes)?))
}

/// Casts a member tenant's vote (its admins). A vote is final; the proposal is decided as
/// soon as its outcome can no longer change, and the decision is carried out at once.
#[utoipa::path(post, path = "/api/v1/alliances/{alliance_id}/proposals/{proposal_id}/votes", operation_id = "voteOnProposal", tag = "alliances", request_body = CastVote,
    params(("alliance_id" = Uuid, Path, description = "Alliance id"), ("proposal_id" = Uuid, Path, description = "Proposal id")),
    responses((status = 201, body = ProposalView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn vote(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<CastVote>,
) -> ApiResult<HttpResponse> {
    let (id, pid) = path.into_inner();
    let voted = state.governance.vote(&who, id, pid, &body).await?;
    // The vote stands whatever happens here; one whose outcome went unrecorded is carried out
    // again at the next start (`resume_chain_proposals`).
    if voted.approved
        && let Err(e) = state.chains.carry_out_proposal(&voted.proposal).await
    {
        tracing::error!(proposal = %pid, error = ?e, "could not carry out an approved chain proposal");
    }
    Ok(HttpResponse::Created().json(proposal_view(voted.proposal, voted.votes)?))
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        POST "/api/v1/alliances/{alliance_id}/proposals" => propose,
        GET "/api/v1/alliances/{alliance_id}/proposals" => list_proposals,
        GET "/api/v1/alliances/{alliance_id}/proposals/{proposal_id}" => get_proposal,
        POST "/api/v1/alliances/{alliance_id}/proposals/{proposal_id}/votes" => vote,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(propose, list_proposals, get_proposal, vote))]
pub struct Doc;
