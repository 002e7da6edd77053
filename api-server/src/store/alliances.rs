//! Alliance rows: alliances, members, proposals, votes, invitations, events.

use crate::db::entities::{
    alliance, alliance_event, alliance_member, invitation, membership, proposal, vote,
};
use crate::domain::governance::{AllianceStatus, InvitationStatus, Policy, ProposalStatus};
use crate::domain::pagination::PageRequest;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<alliance::Model>, DbErr> {
    alliance::Entity::find_by_id(id).one(db).await
}

pub async fn members(
    db: &impl ConnectionTrait,
    alliance: Uuid,
) -> Result<Vec<alliance_member::Model>, DbErr> {
    alliance_member::Entity::find()
        .filter(alliance_member::Column::AllianceId.eq(alliance))
        .order_by_asc(alliance_member::Column::JoinedAt)
        .order_by_asc(alliance_member::Column::Id)
        .all(db)
        .await
}

pub async fn member(
    db: &impl ConnectionTrait,
    alliance: Uuid,
    tenant: Uuid,
) -> Result<Option<alliance_member::Model>, DbErr> {
    alliance_member::Entity::find()
        .filter(alliance_member::Column::AllianceId.eq(alliance))
        .filter(alliance_member::Column::TenantId.eq(tenant))
        .one(db)
        .await
}

pub async fn member_count(db: &impl ConnectionTrait, alliance: Uuid) -> Result<u64, DbErr> {
    alliance_member::Entity::find()
        .filter(alliance_member::Column::AllianceId.eq(alliance))
        .count(db)
        .await
}

/// Tenants a user belongs to (with the role string).
pub async fn user_tenants(
    db: &impl ConnectionTrait,
    user: Uuid,
) -> Result<Vec<membership::Model>, DbErr> {
    membership::Entity::find()
        .filter(membership::Column::UserId.eq(user))
        .all(db)
        .await
}

/// The ids of the alliances any of `tenants` is a member of (a query to filter by, or run).
pub fn of_tenants(tenants: &[Uuid]) -> sea_orm::Select<alliance_member::Entity> {
    alliance_member::Entity::find()
        .select_only()
        .column(alliance_member::Column::AllianceId)
        .filter(alliance_member::Column::TenantId.is_in(tenants.iter().copied()))
}

/// Every alliance any of `tenants` is a member of.
pub async fn ids_of_tenants(
    db: &impl ConnectionTrait,
    tenants: &[Uuid],
) -> Result<Vec<Uuid>, DbErr> {
    of_tenants(tenants).distinct().into_tuple().all(db).await
}

/// Alliances where any of `tenants` is a member, by id.
pub async fn list_for_tenants(
    db: &impl ConnectionTrait,
    tenants: Option<&[Uuid]>,
    page: &PageRequest,
) -> Result<Vec<alliance::Model>, DbErr> {
    let mut q = alliance::Entity::find();
    if let Some(tenants) = tenants {
        let ids = sea_orm::QueryTrait::into_query(of_tenants(tenants));
        q = q.filter(alliance::Column::Id.in_subquery(ids));
    }
    super::page_by_id(q, alliance::Column::Id, page)
        .all(db)
        .await
}

pub struct NewAlliance<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub policy: Policy,
    pub founder: Uuid,
}

pub async fn insert(
    db: &impl ConnectionTrait,
    a: NewAlliance<'_>,
    now: DateTime<Utc>,
) -> Result<alliance::Model, DbErr> {
    alliance::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(a.name.into()),
        description: Set(a.description.into()),
        status: Set(AllianceStatus::Active),
        threshold_percentage: Set(a.policy.threshold_percentage as i32),
        comparator: Set(a.policy.comparator.as_str().into()),
        proposal_duration_hours: Set(a.policy.proposal_duration_hours as i32),
        founder_tenant_id: Set(a.founder),
        created_at: Set(now),
        updated_at: Set(now),
        closed_at: Set(None),
    }
    .insert(db)
    .await
}

pub async fn add_member(
    db: &impl ConnectionTrait,
    alliance: Uuid,
    tenant: Uuid,
    org_name: &str,
    org_id: &str,
    now: DateTime<Utc>,
) -> Result<alliance_member::Model, DbErr> {
    alliance_member::ActiveModel {
        id: Set(Uuid::now_v7()),
        alliance_id: Set(alliance),
        tenant_id: Set(tenant),
        org_name: Set(org_name.into()),
        org_id: Set(org_id.into()),
        joined_at: Set(now),
    }
    .insert(db)
    .await
}

pub async fn remove_member(
    db: &impl ConnectionTrait,
    alliance: Uuid,
    tenant: Uuid,
) -> Result<bool, DbErr> {
    let r = alliance_member::Entity::delete_many()
        .filter(alliance_member::Column::AllianceId.eq(alliance))
        .filter(alliance_member::Column::TenantId.eq(tenant))
        .exec(db)
        .await?;
    Ok(r.rows_affected > 0)
}

pub async fn set_policy(
    db: &impl ConnectionTrait,
    a: alliance::Model,
    p: Policy,
    now: DateTime<Utc>,
) -> Result<alliance::Model, DbErr> {
    let mut am: alliance::ActiveModel = a.into();
    am.threshold_percentage = Set(p.threshold_percentage as i32);
    am.comparator = Set(p.comparator.as_str().into());
    am.proposal_duration_hours = Set(p.proposal_duration_hours as i32);
    am.updated_at = Set(now);
    am.update(db).await
}

pub async fn close(
    db: &impl ConnectionTrait,
    a: alliance::Model,
    now: DateTime<Utc>,
) -> Result<alliance::Model, DbErr> {
    let mut am: alliance::ActiveModel = a.into();
    am.status = Set(AllianceStatus::Closed);
    am.closed_at = Set(Some(now));
    am.updated_at = Set(now);
    am.update(db).await
}

/// Appends to the alliance's event feed.
pub async fn event(
    db: &impl ConnectionTrait,
    alliance: Uuid,
    kind: &str,
    actor: (Option<Uuid>, Option<Uuid>),
    data: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    alliance_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        alliance_id: Set(alliance),
        kind: Set(kind.into()),
        actor_tenant_id: Set(actor.0),
        actor_user_id: Set(actor.1),
        data: Set(data),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .map(|_| ())
}

pub async fn events(
    db: &impl ConnectionTrait,
    alliance: Uuid,
    page: &PageRequest,
) -> Result<Vec<alliance_event::Model>, DbErr> {
    let q = alliance_event::Entity::find().filter(alliance_event::Column::AllianceId.eq(alliance));
    super::page_by_id(q, alliance_event::Column::Id, page)
        .all(db)
        .await
}

/// Events of every alliance appended at or after `since`, oldest first (at most `limit`).
pub async fn events_since(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<alliance_event::Model>, DbErr> {
    alliance_event::Entity::find()
        .filter(alliance_event::Column::CreatedAt.gte(since))
        .order_by_asc(alliance_event::Column::CreatedAt)
        .order_by_asc(alliance_event::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

pub struct NewProposal<'a> {
    pub alliance: &'a alliance::Model,
    pub kind: &'a str,
    pub payload: serde_json::Value,
    pub description: &'a str,
    pub proposer_tenant: Uuid,
    pub proposer_user: Uuid,
    pub eligible: Vec<Uuid>,
}

pub async fn insert_proposal(
    db: &impl ConnectionTrait,
    p: NewProposal<'_>,
    now: DateTime<Utc>,
) -> Result<proposal::Model, DbErr> {
    let expires = now + chrono::Duration::hours(i64::from(p.alliance.proposal_duration_hours));
    proposal::ActiveModel {
        id: Set(Uuid::now_v7()),
        alliance_id: Set(p.alliance.id),
        kind: Set(p.kind.into()),
        payload: Set(p.payload.clone()),
        description: Set(p.description.into()),
        status: Set(ProposalStatus::Open),
        proposer_tenant_id: Set(p.proposer_tenant),
        proposer_user_id: Set(p.proposer_user),
        eligible: Set(serde_json::json!(p.eligible)),
        threshold_percentage: Set(p.alliance.threshold_percentage),
        comparator: Set(p.alliance.comparator.clone()),
        yes_count: Set(0),
        no_count: Set(0),
        version: Set(0),
        created_at: Set(now),
        expires_at: Set(expires),
        decided_at: Set(None),
    }
    .insert(db)
    .await
}

pub async fn proposal(
    db: &impl ConnectionTrait,
    alliance: Uuid,
    id: Uuid,
) -> Result<Option<proposal::Model>, DbErr> {
    proposal::Entity::find_by_id(id)
        .filter(proposal::Column::AllianceId.eq(alliance))
        .one(db)
        .await
}

pub async fn proposals(
    db: &impl ConnectionTrait,
    alliance: Uuid,
    status: Option<ProposalStatus>,
    page: &PageRequest,
) -> Result<Vec<proposal::Model>, DbErr> {
    let mut q = proposal::Entity::find().filter(proposal::Column::AllianceId.eq(alliance));
    if let Some(s) = status {
        q = q.filter(proposal::Column::Status.eq(s));
    }
    super::page_by_id(q, proposal::Column::Id, page)
        .all(db)
        .await
}

/// Whether an open proposal of an alliance of `kind` has `id` in its payload's `field`.
pub async fn open_proposal_about(
    db: &impl ConnectionTrait,
    alliance: Uuid,
    kind: &str,
    field: &str,
    id: Uuid,
) -> Result<bool, DbErr> {
    let rows = proposal::Entity::find()
        .filter(proposal::Column::AllianceId.eq(alliance))
        .filter(proposal::Column::Kind.eq(kind))
        .filter(proposal::Column::Status.eq(ProposalStatus::Open))
        .all(db)
        .await?;
    let t = id.to_string();
    Ok(rows.iter().any(|p| {
        p.payload
            .get(field)
            .and_then(|x| x.as_str())
            .is_some_and(|s| s == t)
    }))
}

/// Takes the proposal's row lock (and bumps its version) if it is still open: concurrent
/// voters queue here, so each sees the votes committed before it. False when not open.
pub async fn lock_open_proposal(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    let r = proposal::Entity::update_many()
        .col_expr(
            proposal::Column::Version,
            Expr::col(proposal::Column::Version).add(1),
        )
        .filter(proposal::Column::Id.eq(id))
        .filter(proposal::Column::Status.eq(ProposalStatus::Open))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

pub async fn insert_vote(
    db: &impl ConnectionTrait,
    proposal: Uuid,
    tenant: Uuid,
    user: Uuid,
    approve: bool,
    now: DateTime<Utc>,
) -> Result<vote::Model, DbErr> {
    vote::ActiveModel {
        id: Set(Uuid::now_v7()),
        proposal_id: Set(proposal),
        tenant_id: Set(tenant),
        user_id: Set(user),
        approve: Set(approve),
        created_at: Set(now),
    }
    .insert(db)
    .await
}

pub async fn votes(db: &impl ConnectionTrait, proposal: Uuid) -> Result<Vec<vote::Model>, DbErr> {
    vote::Entity::find()
        .filter(vote::Column::ProposalId.eq(proposal))
        .order_by_asc(vote::Column::Id)
        .all(db)
        .await
}

/// Records the tally and, when given, the final status.
pub async fn set_tally(
    db: &impl ConnectionTrait,
    p: proposal::Model,
    yes: i32,
    no: i32,
    status: Option<ProposalStatus>,
    now: DateTime<Utc>,
) -> Result<proposal::Model, DbErr> {
    let mut am: proposal::ActiveModel = p.into();
    am.yes_count = Set(yes);
    am.no_count = Set(no);
    if let Some(s) = status {
        am.status = Set(s);
        am.decided_at = Set(Some(now));
    }
    am.update(db).await
}

/// Open proposals past their expiry, of one alliance or all.
pub async fn expired_open_proposals(
    db: &impl ConnectionTrait,
    alliance: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Vec<proposal::Model>, DbErr> {
    let mut q = proposal::Entity::find()
        .filter(proposal::Column::Status.eq(ProposalStatus::Open))
        .filter(proposal::Column::ExpiresAt.lte(now));
    if let Some(a) = alliance {
        q = q.filter(proposal::Column::AllianceId.eq(a));
    }
    q.all(db).await
}

/// Marks an open proposal expired; false if someone else settled it first.
pub async fn expire_proposal(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let r = proposal::Entity::update_many()
        .col_expr(
            proposal::Column::Status,
            Expr::value(ProposalStatus::Expired.as_str()),
        )
        .col_expr(proposal::Column::DecidedAt, Expr::value(now))
        .filter(proposal::Column::Id.eq(id))
        .filter(proposal::Column::Status.eq(ProposalStatus::Open))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

pub async fn insert_invitation(
    db: &impl ConnectionTrait,
    alliance: Uuid,
    proposal: Uuid,
    tenant: Uuid,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<invitation::Model, DbErr> {
    invitation::ActiveModel {
        id: Set(Uuid::now_v7()),
        alliance_id: Set(alliance),
        proposal_id: Set(proposal),
        tenant_id: Set(tenant),
        status: Set(InvitationStatus::Pending),
        created_at: Set(now),
        expires_at: Set(expires),
        responded_at: Set(None),
        responded_by: Set(None),
    }
    .insert(db)
    .await
}

pub async fn invitation(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<invitation::Model>, DbErr> {
    invitation::Entity::find_by_id(id).one(db).await
}

pub async fn pending_invitation_for(
    db: &impl ConnectionTrait,
    alliance: Uuid,
    tenant: Uuid,
) -> Result<bool, DbErr> {
    Ok(invitation::Entity::find()
        .filter(invitation::Column::AllianceId.eq(alliance))
        .filter(invitation::Column::TenantId.eq(tenant))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .count(db)
        .await?
        > 0)
}

pub async fn invitations_for(
    db: &impl ConnectionTrait,
    tenants: &[Uuid],
    page: &PageRequest,
) -> Result<Vec<invitation::Model>, DbErr> {
    let q = invitation::Entity::find()
        .filter(invitation::Column::TenantId.is_in(tenants.iter().copied()));
    super::page_by_id(q, invitation::Column::Id, page)
        .all(db)
        .await
}

/// Settles a pending invitation: `accepted`, `rejected` or `expired`; false if it was no
/// longer pending (a concurrent answer won).
pub async fn answer_invitation(
    db: &impl ConnectionTrait,
    id: Uuid,
    status: InvitationStatus,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let r = invitation::Entity::update_many()
        .col_expr(invitation::Column::Status, Expr::value(status.as_str()))
        .col_expr(invitation::Column::RespondedAt, Expr::value(now))
        .col_expr(invitation::Column::RespondedBy, Expr::value(by))
        .filter(invitation::Column::Id.eq(id))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Pending invitations past their time, of one alliance or of all.
pub async fn expired_pending_invitations(
    db: &impl ConnectionTrait,
    alliance: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Vec<invitation::Model>, DbErr> {
    let mut q = invitation::Entity::find()
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .filter(invitation::Column::ExpiresAt.lte(now));
    if let Some(a) = alliance {
        q = q.filter(invitation::Column::AllianceId.eq(a));
    }
    q.all(db).await
}

/// Approved proposals of one kind, in every alliance.
pub async fn approved_proposals(
    db: &impl ConnectionTrait,
    kind: &str,
) -> Result<Vec<proposal::Model>, DbErr> {
    proposal::Entity::find()
        .filter(proposal::Column::Kind.eq(kind))
        .filter(proposal::Column::Status.eq(ProposalStatus::Approved))
        .all(db)
        .await
}

/// Ids of the proposals whose chain was made or could not be (`chain_created`,
/// `chain_creation_failed` in any alliance's feed).
pub async fn settled_chain_proposals(
    db: &impl ConnectionTrait,
) -> Result<std::collections::HashSet<String>, DbErr> {
    Ok(alliance_event::Entity::find()
        .filter(alliance_event::Column::Kind.is_in(["chain_created", "chain_creation_failed"]))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|e| Some(e.data["proposal_id"].as_str()?.to_string()))
        .collect())
}
