//! `/api/v1/alliances` and `/api/v1/invitations`: consortia of tenants, governed by votes,
//! over HTTP. The use cases are in [`crate::service::governance`]; this module reads
//! requests, renders views, and has [`crate::service::chains`] make or delete the chains
//! approved proposals ask for.

use crate::app::AppState;
use crate::db::entities::{alliance, alliance_event, alliance_member, invitation, proposal, vote};
use crate::domain::governance::{
    self, AcceptInvitation, Acting, CastVote, Comparator, CreateAlliance, CreateProposal, Policy,
    ProposalAction, VoteChoice,
};
use crate::http::problem::{ApiError, ApiResult, Problem};
use crate::http::views::{Page, PageQuery, page};
use crate::service::access::Caller;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

// ----- views -----

/// A member of an alliance.
#[derive(Debug, Serialize, ToSchema)]
pub struct AllianceMemberView {
    pub tenant_id: Uuid,
    pub org_name: String,
    pub org_id: String,
    pub joined_at: DateTime<Utc>,
}

impl From<alliance_member::Model> for AllianceMemberView {
    fn from(m: alliance_member::Model) -> Self {
        AllianceMemberView {
            tenant_id: m.tenant_id,
            org_name: m.org_name,
            org_id: m.org_id,
            joined_at: m.joined_at,
        }
    }
}

/// An alliance.
#[derive(Debug, Serialize, ToSchema)]
pub struct AllianceView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// `active` or `closed`.
    pub status: governance::AllianceStatus,
    pub policy: Policy,
    pub founder_tenant_id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    pub members: Vec<AllianceMemberView>,
}

fn policy_of(a: &alliance::Model) -> Result<Policy, ApiError> {
    Ok(Policy {
        threshold_percentage: a.threshold_percentage as u32,
        comparator: Comparator::parse(&a.comparator)
            .ok_or_else(|| ApiError::Internal(format!("bad comparator {}", a.comparator)))?,
        proposal_duration_hours: a.proposal_duration_hours as u32,
    })
}

fn alliance_view(
    a: alliance::Model,
    members: Vec<alliance_member::Model>,
) -> Result<AllianceView, ApiError> {
    Ok(AllianceView {
        policy: policy_of(&a)?,
        id: a.id,
        name: a.name,
        description: a.description,
        status: a.status,
        founder_tenant_id: a.founder_tenant_id,
        created_at: a.created_at,
        closed_at: a.closed_at,
        members: members.into_iter().map(Into::into).collect(),
    })
}

/// One vote on a proposal.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoteView {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub vote: VoteChoice,
    pub created_at: DateTime<Utc>,
}

/// A proposal with its tally.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalView {
    pub id: Uuid,
    pub alliance_id: Uuid,
    /// `invite_member`, `remove_member`, `change_policy`, `create_chain`, `delete_chain` or
    /// `add_nodes`.
    pub kind: String,
    /// What the proposal does, as proposed.
    #[schema(value_type = Object)]
    pub action: serde_json::Value,
    pub description: String,
    /// `open`, `approved`, `rejected` or `expired`.
    pub status: governance::ProposalStatus,
    pub proposer_tenant_id: Uuid,
    pub proposer_user_id: Uuid,
    /// Member tenants when the proposal was made: the voters.
    pub eligible_tenant_ids: Vec<Uuid>,
    pub threshold_percentage: u32,
    pub comparator: String,
    pub yes: u32,
    pub no: u32,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    pub votes: Vec<VoteView>,
}

fn proposal_view(p: proposal::Model, votes: Vec<vote::Model>) -> Result<ProposalView, ApiError> {
    Ok(ProposalView {
        eligible_tenant_ids: governance::eligible(&p.eligible)?,
        action: serde_json::from_str(&p.payload).unwrap_or(serde_json::Value::Null),
        id: p.id,
        alliance_id: p.alliance_id,
        kind: p.kind,
        description: p.description,
        status: p.status,
        proposer_tenant_id: p.proposer_tenant_id,
        proposer_user_id: p.proposer_user_id,
        threshold_percentage: p.threshold_percentage as u32,
        comparator: p.comparator,
        yes: p.yes_count as u32,
        no: p.no_count as u32,
        created_at: p.created_at,
        expires_at: p.expires_at,
        decided_at: p.decided_at,
        votes: votes
            .into_iter()
            .map(|v| VoteView {
                tenant_id: v.tenant_id,
                user_id: v.user_id,
                vote: if v.approve {
                    VoteChoice::Yes
                } else {
                    VoteChoice::No
                },
                created_at: v.created_at,
            })
            .collect(),
    })
}

/// An invitation into an alliance.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    pub id: Uuid,
    pub alliance_id: Uuid,
    pub alliance_name: String,
    pub proposal_id: Uuid,
    /// The invited tenant.
    pub tenant_id: Uuid,
    /// `pending`, `accepted`, `rejected` or `expired`.
    pub status: governance::InvitationStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responded_at: Option<DateTime<Utc>>,
}

fn invitation_view(i: invitation::Model, alliance_name: String) -> InvitationView {
    InvitationView {
        id: i.id,
        alliance_id: i.alliance_id,
        alliance_name,
        proposal_id: i.proposal_id,
        tenant_id: i.tenant_id,
        status: i.status,
        created_at: i.created_at,
        expires_at: i.expires_at,
        responded_at: i.responded_at,
    }
}

/// An entry of an alliance's event feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct AllianceEventView {
    pub id: Uuid,
    /// e.g. `alliance_created`, `proposal_created`, `vote_cast`, `proposal_approved`,
    /// `proposal_rejected`, `proposal_expired`, `invitation_sent`, `member_joined`,
    /// `invitation_rejected`, `invitation_expired`, `member_removed`, `member_left`,
    /// `policy_changed`, `alliance_closed`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_tenant_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_user_id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl From<alliance_event::Model> for AllianceEventView {
    fn from(e: alliance_event::Model) -> Self {
        AllianceEventView {
            id: e.id,
            kind: e.kind,
            actor_tenant_id: e.actor_tenant_id,
            actor_user_id: e.actor_user_id,
            data: serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null),
            created_at: e.created_at,
        }
    }
}

// ----- alliances -----

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
    let page_req = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .page()?;
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

// ----- proposals -----

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

// ----- invitations -----

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
        POST "/api/v1/alliances" => create,
        GET "/api/v1/alliances" => list,
        GET "/api/v1/alliances/{alliance_id}" => get,
        POST "/api/v1/alliances/{alliance_id}/leave" => leave,
        GET "/api/v1/alliances/{alliance_id}/events" => events,
        POST "/api/v1/alliances/{alliance_id}/proposals" => propose,
        GET "/api/v1/alliances/{alliance_id}/proposals" => list_proposals,
        GET "/api/v1/alliances/{alliance_id}/proposals/{proposal_id}" => get_proposal,
        POST "/api/v1/alliances/{alliance_id}/proposals/{proposal_id}/votes" => vote,
        GET "/api/v1/invitations" => list_invitations,
        GET "/api/v1/invitations/{invitation_id}" => get_invitation,
        POST "/api/v1/invitations/{invitation_id}/accept" => accept_invitation,
        POST "/api/v1/invitations/{invitation_id}/reject" => reject_invitation,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create,
    list,
    get,
    leave,
    events,
    propose,
    list_proposals,
    get_proposal,
    vote,
    list_invitations,
    get_invitation,
    accept_invitation,
    reject_invitation
))]
pub struct Doc;
