//! `/api/v1/alliances` and `/api/v1/invitations`: consortia of tenants, governed by votes.
//!
//! Visibility: only users of a member tenant (and the platform administrator) see an alliance,
//! its members, proposals and events; an invited tenant sees only its invitation; everyone
//! else gets 404. Changes are made by admins of a member tenant, named in the body as
//! `tenant_id` (the member acting).

use super::check;
use crate::app::AppState;
use crate::db::entities::{alliance, alliance_event, alliance_member, invitation, proposal, vote};
use crate::domain::governance::{self, Comparator, Outcome, Policy};
use crate::domain::roles::Action;
use crate::domain::validation;
use crate::http::problem::{ApiError, ApiResult, Problem};
use crate::http::views::{Page, PageQuery, page};
use crate::service::access::Caller;
use crate::service::alliances::{alliance_not_found, ensure_open};
use crate::store;
use crate::store::alliances as db;
use crate::store::chains as chain_db;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// How long an approved invitation waits for an answer.
pub const INVITATION_DAYS: i64 = 7;

// ----- request bodies -----

/// A member organisation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberOrg {
    /// Display name, 1–100 characters.
    pub name: String,
    /// Organisation id, unique in the alliance and usable as a Fabric MSP id: a letter, then
    /// up to 63 letters, digits, `.` or `-`.
    pub org_id: String,
}

/// Body of `POST /api/v1/alliances`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAlliance {
    /// The founding tenant (the caller must be one of its admins).
    pub tenant_id: Uuid,
    /// 1–100 characters.
    pub name: String,
    /// Up to 2000 characters.
    #[serde(default)]
    pub description: String,
    pub policy: Policy,
    /// The founder's member organisation.
    pub org: MemberOrg,
}

/// Body naming the member tenant that acts.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Acting {
    /// A member tenant the caller is an admin of.
    pub tenant_id: Uuid,
}

/// What a proposal would do.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ProposalAction {
    /// Invite a tenant to join.
    InviteMember { tenant_id: Uuid },
    /// Remove a member.
    RemoveMember { tenant_id: Uuid },
    /// Replace the voting policy.
    ChangePolicy { policy: Policy },
    /// Create a chain for the alliance (the body of `POST …/chains` less `tenant_id`). It is
    /// checked when proposed and again when approved, then created as the proposer's.
    CreateChain(super::chains::ChainSpec),
    /// Delete a chain of the alliance: how a chain others use is deleted. Carried out when
    /// approved, as `DELETE …/chains/{chain_id}` would (`keep_data` keeps the nodes' data).
    DeleteChain {
        chain_id: Uuid,
        #[serde(default)]
        keep_data: bool,
    },
    /// Add validators to a running chain: refused, because the native engine cannot change
    /// a chain's validator set yet.
    AddNodes {},
}

impl ProposalAction {
    fn kind(&self) -> &'static str {
        match self {
            ProposalAction::InviteMember { .. } => "invite_member",
            ProposalAction::RemoveMember { .. } => "remove_member",
            ProposalAction::ChangePolicy { .. } => "change_policy",
            ProposalAction::CreateChain(_) => "create_chain",
            ProposalAction::DeleteChain { .. } => "delete_chain",
            ProposalAction::AddNodes {} => "add_nodes",
        }
    }
}

/// Body of `POST /api/v1/alliances/{alliance_id}/proposals`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProposal {
    /// The proposing member tenant.
    pub tenant_id: Uuid,
    /// Up to 2000 characters.
    #[serde(default)]
    pub description: String,
    pub action: ProposalAction,
}

/// A vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VoteChoice {
    Yes,
    No,
}

/// Body of `POST .../proposals/{proposal_id}/votes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CastVote {
    /// The voting member tenant.
    pub tenant_id: Uuid,
    pub vote: VoteChoice,
}

/// Body of `POST /api/v1/invitations/{invitation_id}/accept`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    /// The joining tenant's member organisation.
    pub org: MemberOrg,
}

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
    pub status: String,
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
    pub status: String,
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

fn eligible_of(p: &proposal::Model) -> Result<Vec<Uuid>, ApiError> {
    serde_json::from_str(&p.eligible).map_err(|e| ApiError::Internal(format!("eligible: {e}")))
}

fn proposal_view(p: proposal::Model, votes: Vec<vote::Model>) -> Result<ProposalView, ApiError> {
    Ok(ProposalView {
        eligible_tenant_ids: eligible_of(&p)?,
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
    pub status: String,
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

// ----- access -----

fn check_org(pointer: &str, org: &MemberOrg) -> Result<(), ApiError> {
    check(
        &format!("{pointer}/name"),
        validation::display_name("name", &org.name),
    )?;
    let id = org.org_id.as_bytes();
    let ok = (1..=64).contains(&id.len())
        && id[0].is_ascii_alphabetic()
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-');
    if !ok {
        return Err(ApiError::field(
            &format!("{pointer}/org_id"),
            "org_id must be a letter followed by up to 63 letters, digits, '.' or '-' (a Fabric MSP id)",
        ));
    }
    Ok(())
}

fn check_policy(pointer: &str, p: &Policy) -> Result<(), ApiError> {
    let problems = p.problems();
    if problems.is_empty() {
        return Ok(());
    }
    let errors = problems
        .iter()
        .map(|(ptr, msg)| crate::http::problem::FieldError {
            pointer: format!("{pointer}{ptr}"),
            detail: msg.clone(),
        })
        .collect::<Vec<_>>();
    Err(ApiError::Validation {
        detail: problems
            .iter()
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        errors,
    })
}

fn check_text(pointer: &str, field: &str, s: &str, max: usize) -> Result<(), ApiError> {
    if s.chars().count() > max {
        return Err(ApiError::field(
            pointer,
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(())
}

/// Expires what has run out of time in an alliance (proposals and invitations). Idempotent;
/// called before reads and changes so every answer reflects the clock.
pub async fn expire_overdue(state: &AppState, alliance: Option<Uuid>) -> Result<(), ApiError> {
    let now = state.clock.now();
    for p in db::expired_open_proposals(&state.db, alliance, now).await? {
        // Recorded at the moment it expired, not when it was noticed.
        let at = p.expires_at;
        let txn = state.db.begin().await?;
        if db::expire_proposal(&txn, p.id, at).await? {
            db::event(
                &txn,
                p.alliance_id,
                "proposal_expired",
                (None, None),
                json!({"proposal_id": p.id, "kind": p.kind, "yes": p.yes_count, "no": p.no_count}),
                at,
            )
            .await?;
        }
        txn.commit().await?;
    }
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let mut q = invitation::Entity::find()
        .filter(invitation::Column::Status.eq("pending"))
        .filter(invitation::Column::ExpiresAt.lte(now));
    if let Some(a) = alliance {
        q = q.filter(invitation::Column::AllianceId.eq(a));
    }
    for i in q.all(&state.db).await? {
        let at = i.expires_at;
        let txn = state.db.begin().await?;
        if db::answer_invitation(&txn, i.id, "expired", None, at).await? {
            db::event(
                &txn,
                i.alliance_id,
                "invitation_expired",
                (None, None),
                json!({"invitation_id": i.id, "tenant_id": i.tenant_id}),
                at,
            )
            .await?;
        }
        txn.commit().await?;
    }
    Ok(())
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
    state
        .access
        .role_in(&who, body.tenant_id, Action::ManageMembers)
        .await?;
    check("/name", validation::display_name("name", &body.name))?;
    check_text("/description", "description", &body.description, 2000)?;
    check_policy("/policy", &body.policy)?;
    check_org("/org", &body.org)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let a = db::insert(
        &txn,
        db::NewAlliance {
            name: &body.name,
            description: &body.description,
            policy: body.policy,
            founder: body.tenant_id,
        },
        now,
    )
    .await?;
    let m = db::add_member(
        &txn,
        a.id,
        body.tenant_id,
        &body.org.name,
        &body.org.org_id,
        now,
    )
    .await?;
    crate::store::pki::create_root(&txn, &state.kek, a.id, &a.name, body.tenant_id, now).await?;
    crate::store::pki::create_member_cas(
        &txn,
        &state.kek,
        a.id,
        body.tenant_id,
        &body.org.name,
        &body.org.org_id,
        now,
    )
    .await?;
    db::event(
        &txn,
        a.id,
        "alliance_created",
        (Some(body.tenant_id), Some(who.user.id)),
        json!({"name": a.name, "policy": body.policy, "org_id": m.org_id}),
        now,
    )
    .await?;
    txn.commit().await?;
    who.created(a.id);
    Ok(HttpResponse::Created().json(alliance_view(a, vec![m])?))
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
    let tenants: Option<Vec<Uuid>> = match q.tenant_id {
        Some(t) => {
            state.access.role_in(&who, t, Action::Read).await?;
            Some(vec![t])
        }
        None if who.is_platform_admin() => None,
        None => Some(
            db::user_tenants(&state.db, who.user.id)
                .await?
                .into_iter()
                .map(|m| m.tenant_id)
                .filter(|t| who.token_tenant.is_none_or(|tt| tt == *t))
                .collect(),
        ),
    };
    let rows = db::list_for_tenants(&state.db, tenants.as_deref(), &page_req).await?;
    let (rows, next_cursor) =
        crate::domain::pagination::finish(rows, &page_req, |a| a.id.to_string());
    let mut items = Vec::with_capacity(rows.len());
    for a in rows {
        let members = db::members(&state.db, a.id).await?;
        items.push(alliance_view(a, members)?);
    }
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
    let id = path.into_inner();
    let (a, _) = state
        .alliances
        .authorize_member_action(&who, id, body.tenant_id, Action::ManageMembers)
        .await?;
    ensure_open(&a)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    if !db::remove_member(&txn, id, body.tenant_id).await? {
        return Err(alliance_not_found(id).into());
    }
    db::event(
        &txn,
        id,
        "member_left",
        (Some(body.tenant_id), Some(who.user.id)),
        json!({"tenant_id": body.tenant_id}),
        now,
    )
    .await?;
    let a = close_if_empty(&txn, a, now).await?;
    let members = db::members(&txn, id).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(alliance_view(a, members)?))
}

async fn close_if_empty(
    txn: &DatabaseTransaction,
    a: alliance::Model,
    now: DateTime<Utc>,
) -> Result<alliance::Model, ApiError> {
    if db::member_count(txn, a.id).await? > 0 {
        return Ok(a);
    }
    let id = a.id;
    let a = db::close(txn, a, now).await?;
    db::event(txn, id, "alliance_closed", (None, None), json!({}), now).await?;
    Ok(a)
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
    let id = path.into_inner();
    state.alliances.authorize_view(&who, id).await?;
    expire_overdue(&state, Some(id)).await?;
    let rows = db::events(&state.db, id, &page_req).await?;
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
    let (a, _) = state
        .alliances
        .authorize_member_action(&who, id, body.tenant_id, Action::ManageMembers)
        .await?;
    ensure_open(&a)?;
    check_text("/description", "description", &body.description, 2000)?;
    expire_overdue(&state, Some(id)).await?;
    let members = db::members(&state.db, id).await?;
    match &body.action {
        ProposalAction::InviteMember { tenant_id } => {
            // Whether a tenant exists is not told here (an id is all a proposer has): an
            // invitation to one that does not exist is recorded and never answered.
            if members.iter().any(|m| m.tenant_id == *tenant_id) {
                return Err(ApiError::Conflict(format!(
                    "tenant {tenant_id} is already a member"
                )));
            }
            if db::open_proposal_about(&state.db, id, "invite_member", "tenant_id", *tenant_id)
                .await?
                || db::pending_invitation_for(&state.db, id, *tenant_id).await?
            {
                return Err(ApiError::Conflict(format!(
                    "tenant {tenant_id} already has an open invitation or invitation proposal"
                )));
            }
        }
        ProposalAction::RemoveMember { tenant_id } => {
            if !members.iter().any(|m| m.tenant_id == *tenant_id) {
                return Err(ApiError::field(
                    "/action/remove_member/tenant_id",
                    format!("tenant {tenant_id} is not a member"),
                ));
            }
            if *tenant_id == body.tenant_id {
                return Err(ApiError::field(
                    "/action/remove_member/tenant_id",
                    "a member leaves with POST .../leave, not by proposing its own removal",
                ));
            }
            if db::open_proposal_about(&state.db, id, "remove_member", "tenant_id", *tenant_id)
                .await?
            {
                return Err(ApiError::Conflict(format!(
                    "an open proposal already removes tenant {tenant_id}"
                )));
            }
        }
        ProposalAction::ChangePolicy { policy } => {
            check_policy("/action/change_policy/policy", policy)?
        }
        ProposalAction::CreateChain(spec) => {
            // Checked now, so the alliance votes on a chain that can be made; checked again
            // when approved, against the alliance as it is then.
            super::chains::check_request(&state, &a, spec, "/action/create_chain").await?;
        }
        ProposalAction::DeleteChain { chain_id, .. } => {
            let here = chain_db::get(&state.db, *chain_id)
                .await?
                .is_some_and(|c| c.alliance_id == id);
            if !here {
                return Err(ApiError::field(
                    "/action/delete_chain/chain_id",
                    format!("chain {chain_id} is not a chain of this alliance"),
                ));
            }
            if db::open_proposal_about(&state.db, id, "delete_chain", "chain_id", *chain_id).await?
            {
                return Err(ApiError::Conflict(format!(
                    "an open proposal already deletes chain {chain_id}"
                )));
            }
        }
        ProposalAction::AddNodes {} => {
            return Err(ApiError::field(
                "/action",
                "add_nodes proposals are refused: the native engine cannot change a chain's \
                 validator set yet",
            ));
        }
    }
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let p = db::insert_proposal(
        &txn,
        db::NewProposal {
            alliance: &a,
            kind: body.action.kind(),
            payload: serde_json::to_value(&body.action)
                .map_err(|e| ApiError::Internal(e.to_string()))?
                .get(body.action.kind())
                .cloned()
                .unwrap_or(json!({})),
            description: &body.description,
            proposer_tenant: body.tenant_id,
            proposer_user: who.user.id,
            eligible: members.iter().map(|m| m.tenant_id).collect(),
        },
        now,
    )
    .await?;
    db::event(
        &txn,
        id,
        "proposal_created",
        (Some(body.tenant_id), Some(who.user.id)),
        json!({"proposal_id": p.id, "kind": p.kind, "action": serde_json::from_str::<serde_json::Value>(&p.payload).unwrap_or_default()}),
        now,
    )
    .await?;
    txn.commit().await?;
    who.created(p.id);
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
    if let Some(s) = q.status.as_deref()
        && !["open", "approved", "rejected", "expired"].contains(&s)
    {
        return Err(ApiError::BadRequest(
            "status must be open, approved, rejected or expired".into(),
        ));
    }
    let id = path.into_inner();
    state.alliances.authorize_view(&who, id).await?;
    expire_overdue(&state, Some(id)).await?;
    let rows = db::proposals(&state.db, id, q.status.as_deref(), &page_req).await?;
    let (rows, next_cursor) =
        crate::domain::pagination::finish(rows, &page_req, |p| p.id.to_string());
    let mut items = Vec::with_capacity(rows.len());
    for p in rows {
        let votes = db::votes(&state.db, p.id).await?;
        items.push(proposal_view(p, votes)?);
    }
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
    state.alliances.authorize_view(&who, id).await?;
    expire_overdue(&state, Some(id)).await?;
    let p = db::proposal(&state.db, id, pid)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("proposal {pid} not found")))?;
    let votes = db::votes(&state.db, p.id).await?;
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
    let (a, _) = state
        .alliances
        .authorize_member_action(&who, id, body.tenant_id, Action::ManageMembers)
        .await?;
    ensure_open(&a)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    // The row lock first: on SQLite a transaction that reads before it writes can lose a
    // lock upgrade to a concurrent voter; on PostgreSQL this queues concurrent voters.
    if !db::lock_open_proposal(&txn, pid).await? {
        let p = db::proposal(&txn, id, pid)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("proposal {pid} not found")))?;
        return Err(ApiError::Conflict(format!(
            "proposal {pid} is {}: votes are closed",
            p.status
        )));
    }
    // Re-read under the lock: concurrent votes committed before us are visible now.
    let p = db::proposal(&txn, id, pid)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("proposal {pid} not found")))?;
    if now >= p.expires_at {
        db::expire_proposal(&txn, pid, p.expires_at).await?;
        db::event(
            &txn,
            id,
            "proposal_expired",
            (None, None),
            json!({"proposal_id": pid, "kind": p.kind, "yes": p.yes_count, "no": p.no_count}),
            p.expires_at,
        )
        .await?;
        txn.commit().await?;
        return Err(ApiError::Conflict(format!(
            "proposal {pid} expired at {}: votes are closed",
            p.expires_at
        )));
    }
    let eligible = eligible_of(&p)?;
    if !eligible.contains(&body.tenant_id) {
        return Err(ApiError::Forbidden(
            "this member joined after the proposal was made; only the members at that time vote"
                .into(),
        ));
    }
    let approve = body.vote == VoteChoice::Yes;
    if let Err(e) = db::insert_vote(&txn, pid, body.tenant_id, who.user.id, approve, now).await {
        return Err(if store::is_unique_violation(&e) {
            ApiError::Conflict(
                "this member has already voted on the proposal; a vote is final".into(),
            )
        } else {
            e.into()
        });
    }
    let votes = db::votes(&txn, pid).await?;
    let yes = votes.iter().filter(|v| v.approve).count() as u64;
    let no = votes.len() as u64 - yes;
    let policy = Policy {
        threshold_percentage: p.threshold_percentage as u32,
        comparator: Comparator::parse(&p.comparator)
            .ok_or_else(|| ApiError::Internal("bad comparator".into()))?,
        proposal_duration_hours: 1,
    };
    let outcome = governance::outcome(&policy, eligible.len() as u64, yes, no);
    let status = match outcome {
        Outcome::Open => None,
        Outcome::Approved => Some("approved"),
        Outcome::Rejected => Some("rejected"),
    };
    let actor = (Some(body.tenant_id), Some(who.user.id));
    db::event(
        &txn,
        id,
        "vote_cast",
        actor,
        json!({"proposal_id": pid, "tenant_id": body.tenant_id, "vote": body.vote}),
        now,
    )
    .await?;
    let p = db::set_tally(&txn, p, yes as i32, no as i32, status, now).await?;
    match outcome {
        Outcome::Open => {}
        Outcome::Rejected => {
            db::event(
                &txn,
                id,
                "proposal_rejected",
                actor,
                json!({"proposal_id": pid, "kind": p.kind, "yes": yes, "no": no}),
                now,
            )
            .await?;
        }
        Outcome::Approved => {
            db::event(
                &txn,
                id,
                "proposal_approved",
                actor,
                json!({"proposal_id": pid, "kind": p.kind, "yes": yes, "no": no}),
                now,
            )
            .await?;
            execute_approved(&txn, a, &p, now).await?;
        }
    }
    txn.commit().await?;
    // The vote stands whatever happens here; one whose outcome went unrecorded is carried out
    // again at the next start (`resume_chain_proposals`).
    if outcome == Outcome::Approved
        && let Err(e) = carry_out_chain_proposal(&state, &p).await
    {
        tracing::error!(proposal = %pid, error = ?e, "could not carry out an approved chain proposal");
    }
    who.created(pid);
    Ok(HttpResponse::Created().json(proposal_view(p, votes)?))
}

/// Carries out what an approved proposal does outside the database: creating or deleting a
/// chain. Other kinds were carried out inside the deciding vote's transaction.
async fn carry_out_chain_proposal(state: &AppState, p: &proposal::Model) -> Result<(), ApiError> {
    match p.kind.as_str() {
        "create_chain" => create_proposed_chain(state, p).await,
        "delete_chain" => delete_proposed_chain(state, p).await,
        _ => Ok(()),
    }
}

/// Deletes the chain of an approved `delete_chain` proposal; nothing when it is gone already.
async fn delete_proposed_chain(state: &AppState, p: &proposal::Model) -> Result<(), ApiError> {
    #[derive(Deserialize)]
    struct Payload {
        chain_id: Uuid,
        #[serde(default)]
        keep_data: bool,
    }
    let what: Payload = serde_json::from_str(&p.payload)
        .map_err(|e| ApiError::Internal(format!("delete_chain payload: {e}")))?;
    let Some(c) = chain_db::get(&state.db, what.chain_id)
        .await?
        .filter(|c| c.alliance_id == p.alliance_id)
    else {
        return Ok(());
    };
    let actor = super::chains::Actor {
        tenant: p.proposer_tenant_id,
        user: Some(p.proposer_user_id),
        proposal: Some(p.id),
    };
    super::chains::remove(state, &c, what.keep_data, actor).await
}

/// Creates the chain of an approved `create_chain` proposal, as the proposer's. If the
/// alliance changed so that it can no longer be made (its name was taken meanwhile, the
/// members now need too many validators...), the alliance's history says why
/// (`chain_creation_failed`) and nothing is made.
async fn create_proposed_chain(state: &AppState, p: &proposal::Model) -> Result<(), ApiError> {
    let spec: super::chains::ChainSpec = serde_json::from_str(&p.payload)
        .map_err(|e| ApiError::Internal(format!("create_chain payload: {e}")))?;
    let actor = super::chains::Actor {
        tenant: p.proposer_tenant_id,
        user: Some(p.proposer_user_id),
        proposal: Some(p.id),
    };
    let alliance = db::get(&state.db, p.alliance_id)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("alliance {} is gone", p.alliance_id)))?;
    let made = match super::chains::check_request(state, &alliance, &spec, "").await {
        Ok(checked) => super::chains::provision(state, checked, actor).await,
        Err(e) => Err(e),
    };
    if let Err(e) = made {
        tracing::warn!(proposal = %p.id, error = ?e, "an approved chain could not be created");
        db::event(
            &state.db,
            p.alliance_id,
            "chain_creation_failed",
            (None, None),
            json!({"proposal_id": p.id, "name": spec.name, "reason": e.to_string(),
                "errors": match &e { ApiError::Validation { errors, .. } => json!(errors), _ => json!([]) }}),
            state.clock.now(),
        )
        .await?;
    }
    Ok(())
}

/// Carries out approved chain proposals that a stopped server never got to (it stopped
/// between the deciding vote's commit and the chain's creation or deletion): `create_chain`
/// proposals whose alliance feed has neither `chain_created` nor `chain_creation_failed`
/// naming them, and `delete_chain` proposals whose chain still exists. Runs at start,
/// before requests are served. Returns how many it carried out.
pub async fn resume_chain_proposals(state: &AppState) -> anyhow::Result<usize> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let deletions = proposal::Entity::find()
        .filter(proposal::Column::Kind.eq("delete_chain"))
        .filter(proposal::Column::Status.eq("approved"))
        .all(&state.db)
        .await?;
    let mut deleted = 0;
    for p in deletions {
        let chain = serde_json::from_str::<serde_json::Value>(&p.payload)
            .ok()
            .and_then(|v| Uuid::try_parse(v["chain_id"].as_str()?).ok());
        let Some(chain) = chain else { continue };
        if chain_db::get(&state.db, chain).await?.is_none() {
            continue;
        }
        match delete_proposed_chain(state, &p).await {
            Ok(()) => deleted += 1,
            Err(e) => {
                tracing::error!(proposal = %p.id, error = ?e, "could not carry out an approved chain deletion")
            }
        }
    }
    let approved = proposal::Entity::find()
        .filter(proposal::Column::Kind.eq("create_chain"))
        .filter(proposal::Column::Status.eq("approved"))
        .all(&state.db)
        .await?;
    if approved.is_empty() {
        return Ok(deleted);
    }
    let settled: std::collections::HashSet<String> = alliance_event::Entity::find()
        .filter(alliance_event::Column::Kind.is_in(["chain_created", "chain_creation_failed"]))
        .all(&state.db)
        .await?
        .into_iter()
        .filter_map(|e| {
            let data: serde_json::Value = serde_json::from_str(&e.data).ok()?;
            Some(data["proposal_id"].as_str()?.to_string())
        })
        .collect();
    let mut n = deleted;
    for p in approved {
        if settled.contains(&p.id.to_string()) {
            continue;
        }
        match create_proposed_chain(state, &p).await {
            Ok(()) => n += 1,
            Err(e) => {
                tracing::error!(proposal = %p.id, error = ?e, "could not carry out an approved chain proposal")
            }
        }
    }
    Ok(n)
}

/// Carries out an approved proposal inside the deciding vote's transaction.
async fn execute_approved(
    txn: &DatabaseTransaction,
    a: alliance::Model,
    p: &proposal::Model,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let payload: serde_json::Value =
        serde_json::from_str(&p.payload).map_err(|e| ApiError::Internal(e.to_string()))?;
    let target = || -> Result<Uuid, ApiError> {
        payload
            .get("tenant_id")
            .and_then(|t| t.as_str())
            .and_then(|t| Uuid::try_parse(t).ok())
            .ok_or_else(|| ApiError::Internal("proposal without tenant_id".into()))
    };
    match p.kind.as_str() {
        "invite_member" => {
            let t = target()?;
            if db::member(txn, a.id, t).await?.is_some() {
                return Ok(());
            }
            let expires = now + chrono::Duration::days(INVITATION_DAYS);
            // The feed reads the same whether or not the tenant exists; only an existing one
            // gets an invitation to answer.
            let invitation = if store::tenants::get(txn, t).await?.is_some() {
                db::insert_invitation(txn, a.id, p.id, t, now, expires)
                    .await?
                    .id
            } else {
                Uuid::now_v7()
            };
            db::event(
                txn,
                a.id,
                "invitation_sent",
                (None, None),
                json!({"invitation_id": invitation, "tenant_id": t, "expires_at": expires}),
                now,
            )
            .await?;
        }
        "remove_member" => {
            let t = target()?;
            if db::remove_member(txn, a.id, t).await? {
                db::event(
                    txn,
                    a.id,
                    "member_removed",
                    (None, None),
                    json!({"tenant_id": t, "proposal_id": p.id}),
                    now,
                )
                .await?;
                close_if_empty(txn, a, now).await?;
            }
        }
        "change_policy" => {
            let policy: Policy =
                serde_json::from_value(payload.get("policy").cloned().unwrap_or_default())
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
            let id = a.id;
            db::set_policy(txn, a, policy, now).await?;
            db::event(
                txn,
                id,
                "policy_changed",
                (None, None),
                json!({"policy": policy, "proposal_id": p.id}),
                now,
            )
            .await?;
        }
        // Made or removed once the vote is committed (see `carry_out_chain_proposal`): starting
        // and stopping nodes is no part of a database transaction.
        "create_chain" | "delete_chain" => {}
        other => return Err(ApiError::Internal(format!("cannot carry out {other}"))),
    }
    Ok(())
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

async fn alliance_name(conn: &impl ConnectionTrait, id: Uuid) -> Result<String, ApiError> {
    Ok(db::get(conn, id).await?.map(|a| a.name).unwrap_or_default())
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
    let tenants: Vec<Uuid> = match q.tenant_id {
        Some(t) => {
            state.access.role_in(&who, t, Action::Read).await?;
            vec![t]
        }
        None => db::user_tenants(&state.db, who.user.id)
            .await?
            .into_iter()
            .map(|m| m.tenant_id)
            .filter(|t| who.token_tenant.is_none_or(|tt| tt == *t))
            .collect(),
    };
    expire_overdue(&state, None).await?;
    let rows = db::invitations_for(&state.db, &tenants, &page_req).await?;
    let (rows, next_cursor) =
        crate::domain::pagination::finish(rows, &page_req, |i| i.id.to_string());
    let mut items = Vec::with_capacity(rows.len());
    for i in rows {
        let name = alliance_name(&state.db, i.alliance_id).await?;
        items.push(invitation_view(i, name));
    }
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

async fn invited(
    state: &AppState,
    who: &Caller,
    id: Uuid,
    action: Action,
) -> Result<invitation::Model, ApiError> {
    let nf = || ApiError::NotFound(format!("invitation {id} not found"));
    let i = db::invitation(&state.db, id).await?.ok_or_else(nf)?;
    state
        .access
        .role_in(who, i.tenant_id, action)
        .await
        .map_err(ApiError::from)
        .map_err(|e| match e {
            ApiError::NotFound(_) => nf(),
            other => other,
        })?;
    Ok(i)
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
    let id = path.into_inner();
    invited(&state, &who, id, Action::Read).await?;
    expire_overdue(&state, None).await?;
    let i = db::invitation(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("invitation {id} not found")))?;
    let name = alliance_name(&state.db, i.alliance_id).await?;
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
    let id = path.into_inner();
    let i = invited(&state, &who, id, Action::ManageMembers).await?;
    check_org("/org", &body.org)?;
    expire_overdue(&state, Some(i.alliance_id)).await?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    // Write first (see `vote`): the invitation is answered once.
    if !db::answer_invitation(&txn, id, "accepted", Some(who.user.id), now).await? {
        let cur = db::invitation(&txn, id)
            .await?
            .map(|i| i.status)
            .unwrap_or_default();
        return Err(ApiError::Conflict(format!("invitation {id} is {cur}")));
    }
    let a = db::get(&txn, i.alliance_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("invitation {id} not found")))?;
    ensure_open(&a)?;
    if db::member(&txn, a.id, i.tenant_id).await?.is_some() {
        return Err(ApiError::Conflict("the tenant is already a member".into()));
    }
    if let Err(e) = db::add_member(
        &txn,
        a.id,
        i.tenant_id,
        &body.org.name,
        &body.org.org_id,
        now,
    )
    .await
    {
        return Err(if store::is_unique_violation(&e) {
            ApiError::Conflict(format!(
                "org_id {} is taken in this alliance",
                body.org.org_id
            ))
        } else {
            e.into()
        });
    }
    crate::store::pki::create_member_cas(
        &txn,
        &state.kek,
        a.id,
        i.tenant_id,
        &body.org.name,
        &body.org.org_id,
        now,
    )
    .await?;
    db::event(
        &txn,
        a.id,
        "member_joined",
        (Some(i.tenant_id), Some(who.user.id)),
        json!({"tenant_id": i.tenant_id, "invitation_id": id, "org_id": body.org.org_id, "org_name": body.org.name}),
        now,
    )
    .await?;
    let members = db::members(&txn, a.id).await?;
    txn.commit().await?;
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
    let id = path.into_inner();
    let i = invited(&state, &who, id, Action::ManageMembers).await?;
    expire_overdue(&state, Some(i.alliance_id)).await?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    if !db::answer_invitation(&txn, id, "rejected", Some(who.user.id), now).await? {
        let cur = db::invitation(&txn, id)
            .await?
            .map(|i| i.status)
            .unwrap_or_default();
        return Err(ApiError::Conflict(format!("invitation {id} is {cur}")));
    }
    db::event(
        &txn,
        i.alliance_id,
        "invitation_rejected",
        (Some(i.tenant_id), Some(who.user.id)),
        json!({"tenant_id": i.tenant_id, "invitation_id": id}),
        now,
    )
    .await?;
    let i = db::invitation(&txn, id)
        .await?
        .ok_or_else(|| ApiError::Internal("invitation vanished".into()))?;
    let name = alliance_name(&txn, i.alliance_id).await?;
    txn.commit().await?;
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
