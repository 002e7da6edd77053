//! What the alliance endpoints answer: alliances with their members, proposals with their
//! votes, invitations and the event feed.

use crate::db::entities::{alliance, alliance_event, alliance_member, invitation, proposal, vote};
use crate::domain::governance::{self, Comparator, Policy, VoteChoice};
use crate::http::problem::ApiError;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

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

pub(crate) fn policy_of(a: &alliance::Model) -> Result<Policy, ApiError> {
    Ok(Policy {
        threshold_percentage: a.threshold_percentage as u32,
        comparator: Comparator::parse(&a.comparator)
            .ok_or_else(|| ApiError::Internal(format!("bad comparator {}", a.comparator)))?,
        proposal_duration_hours: a.proposal_duration_hours as u32,
    })
}

pub(crate) fn alliance_view(
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

pub(crate) fn proposal_view(
    p: proposal::Model,
    votes: Vec<vote::Model>,
) -> Result<ProposalView, ApiError> {
    Ok(ProposalView {
        eligible_tenant_ids: governance::eligible(&p.eligible)?,
        action: p.payload,
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

pub(crate) fn invitation_view(i: invitation::Model, alliance_name: String) -> InvitationView {
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
    /// The alliance whose feed it is.
    pub alliance_id: Uuid,
    /// e.g. `alliance_created`, `proposal_created`, `vote_cast`, `proposal_approved`,
    /// `proposal_rejected`, `proposal_expired`, `invitation_sent`, `member_joined`,
    /// `invitation_rejected`, `invitation_expired`, `member_removed`, `member_left`,
    /// `policy_changed`, `alliance_closed`, `chain_created`, `chain_creation_failed`,
    /// `chain_deleted`.
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
            alliance_id: e.alliance_id,
            kind: e.kind,
            actor_tenant_id: e.actor_tenant_id,
            actor_user_id: e.actor_user_id,
            data: e.data,
            created_at: e.created_at,
        }
    }
}
