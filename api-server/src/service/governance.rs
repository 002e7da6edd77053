//! Alliance governance: founding, leaving, proposals and votes, and the invitations an
//! approved `invite_member` proposal sends.
//!
//! Visibility: only users of a member tenant (and the platform administrator) see an
//! alliance, its members, proposals and events; an invited tenant sees only its invitation;
//! everyone else is told it does not exist. Changes are made by admins of a member tenant,
//! named in the request as the member acting. Making or deleting a chain an approved
//! proposal asks for happens outside the deciding vote's transaction, by the caller of
//! [`Governance::vote`] (nodes starting and stopping are no part of a database transaction).

use crate::clock::Clock;
use crate::db::entities::{alliance, alliance_event, alliance_member, invitation, proposal, vote};
use crate::domain::error::{Error, Result};
use crate::domain::governance::{
    self, AcceptInvitation, CastVote, Comparator, CreateAlliance, CreateProposal, INVITATION_DAYS,
    InvitationStatus, Outcome, Policy, ProposalAction, ProposalStatus, VoteChoice, check_policy,
    check_text,
};
use crate::domain::pagination::{self, PageRequest};
use crate::domain::roles::Action;
use crate::service::access::{Access, Caller};
use crate::service::alliances::{Alliances, alliance_not_found, ensure_open};
use crate::store;
use crate::store::alliances as db;
use chrono::{DateTime, Utc};
use consortia_pki::seal::Kek;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, TransactionTrait};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

/// An alliance with its members.
pub type WithMembers = (alliance::Model, Vec<alliance_member::Model>);

/// A proposal with its votes.
pub type WithVotes = (proposal::Model, Vec<vote::Model>);

/// An alliance invitation with the alliance's name.
pub type Named = (invitation::Model, String);

/// What a vote did.
pub struct Voted {
    /// The proposal, with the new tally and status.
    pub proposal: proposal::Model,
    /// Its votes.
    pub votes: Vec<vote::Model>,
    /// Whether this vote approved it.
    pub approved: bool,
}

async fn alliance_name(conn: &impl ConnectionTrait, id: Uuid) -> Result<String> {
    Ok(db::get(conn, id).await?.map(|a| a.name).unwrap_or_default())
}

/// Answers a pending invitation, once: a conflict naming its state when it was answered
/// (or expired) before. Written first (see `Governance::vote`).
async fn answer_once(
    txn: &DatabaseTransaction,
    id: Uuid,
    answer: InvitationStatus,
    by: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    if db::answer_invitation(txn, id, answer, Some(by), now).await? {
        return Ok(());
    }
    let cur = db::invitation(txn, id)
        .await?
        .map(|i| i.status.as_str())
        .unwrap_or("gone");
    Err(Error::Conflict(format!("invitation {id} is {cur}")))
}

async fn close_if_empty(
    txn: &DatabaseTransaction,
    a: alliance::Model,
    now: DateTime<Utc>,
) -> Result<alliance::Model> {
    if db::member_count(txn, a.id).await? > 0 {
        return Ok(a);
    }
    let id = a.id;
    let a = db::close(txn, a, now).await?;
    db::event(txn, id, "alliance_closed", (None, None), json!({}), now).await?;
    Ok(a)
}

/// The governance use cases.
#[derive(Clone)]
pub struct Governance {
    db: DatabaseConnection,
    access: Access,
    alliances: Alliances,
    kek: Arc<Kek>,
    clock: Arc<dyn Clock>,
}

impl Governance {
    /// Over `db`; CA keys of new members are sealed under `kek`.
    pub fn new(
        db: DatabaseConnection,
        access: Access,
        alliances: Alliances,
        kek: Arc<Kek>,
        clock: Arc<dyn Clock>,
    ) -> Governance {
        Governance {
            db,
            access,
            alliances,
            kek,
            clock,
        }
    }

    /// Expires what has run out of time (proposals and invitations) in one alliance or in
    /// all. Idempotent; run before reads and changes so every answer reflects the clock.
    pub async fn expire_overdue(&self, alliance: Option<Uuid>) -> Result<()> {
        let now = self.clock.now();
        for p in db::expired_open_proposals(&self.db, alliance, now).await? {
            // Recorded at the moment it expired, not when it was noticed.
            let at = p.expires_at;
            let txn = self.db.begin().await?;
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
        for i in db::expired_pending_invitations(&self.db, alliance, now).await? {
            let at = i.expires_at;
            let txn = self.db.begin().await?;
            if db::answer_invitation(&txn, i.id, InvitationStatus::Expired, None, at).await? {
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

    /// Founds an alliance (admins of the founding tenant): the founder is its first member,
    /// with a root CA and its organisation's CAs.
    pub async fn create(&self, who: &Caller, req: &CreateAlliance) -> Result<WithMembers> {
        self.access
            .role_in(who, req.tenant_id, Action::ManageMembers)
            .await?;
        req.check()?;
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        let a = db::insert(
            &txn,
            db::NewAlliance {
                name: &req.name,
                description: &req.description,
                policy: req.policy,
                founder: req.tenant_id,
            },
            now,
        )
        .await?;
        let m = db::add_member(
            &txn,
            a.id,
            req.tenant_id,
            &req.org.name,
            &req.org.org_id,
            now,
        )
        .await?;
        store::pki::create_root(&txn, &self.kek, a.id, &a.name, req.tenant_id, now).await?;
        store::pki::create_member_cas(
            &txn,
            &self.kek,
            a.id,
            req.tenant_id,
            &req.org.name,
            &req.org.org_id,
            now,
        )
        .await?;
        db::event(
            &txn,
            a.id,
            "alliance_created",
            (Some(req.tenant_id), Some(who.user.id)),
            json!({"name": a.name, "policy": req.policy, "org_id": m.org_id}),
            now,
        )
        .await?;
        txn.commit().await?;
        who.created(a.id);
        Ok((a, vec![m]))
    }

    /// The tenants whose alliances (or invitations) the caller lists: `tenant` (read access
    /// needed), or every tenant it belongs to as its credential acts; `None` for all (the
    /// platform administrator, when `all_for_admin`).
    async fn listing_tenants(
        &self,
        who: &Caller,
        tenant: Option<Uuid>,
        all_for_admin: bool,
    ) -> Result<Option<Vec<Uuid>>> {
        Ok(match tenant {
            Some(t) => {
                self.access.role_in(who, t, Action::Read).await?;
                Some(vec![t])
            }
            None if all_for_admin && who.is_platform_admin() => None,
            None => Some(
                db::user_tenants(&self.db, who.user.id)
                    .await?
                    .into_iter()
                    .map(|m| m.tenant_id)
                    .filter(|t| who.token_tenant.is_none_or(|tt| tt == *t))
                    .collect(),
            ),
        })
    }

    /// A page of the alliances the caller's tenants belong to (all, for the platform
    /// administrator).
    pub async fn list(
        &self,
        who: &Caller,
        tenant: Option<Uuid>,
        page: &PageRequest,
    ) -> Result<(Vec<WithMembers>, Option<String>)> {
        let tenants = self.listing_tenants(who, tenant, true).await?;
        let rows = db::list_for_tenants(&self.db, tenants.as_deref(), page).await?;
        let (rows, next) = pagination::finish(rows, page, |a| a.id.to_string());
        let mut items = Vec::with_capacity(rows.len());
        for a in rows {
            let members = db::members(&self.db, a.id).await?;
            items.push((a, members));
        }
        Ok((items, next))
    }

    /// A member tenant leaves (its admins); the last one to leave closes the alliance.
    pub async fn leave(&self, who: &Caller, id: Uuid, tenant: Uuid) -> Result<WithMembers> {
        let (a, _) = self
            .alliances
            .authorize_member_action(who, id, tenant, Action::ManageMembers)
            .await?;
        ensure_open(&a)?;
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        if !db::remove_member(&txn, id, tenant).await? {
            return Err(alliance_not_found(id));
        }
        db::event(
            &txn,
            id,
            "member_left",
            (Some(tenant), Some(who.user.id)),
            json!({"tenant_id": tenant}),
            now,
        )
        .await?;
        let a = close_if_empty(&txn, a, now).await?;
        let members = db::members(&txn, id).await?;
        txn.commit().await?;
        Ok((a, members))
    }

    /// A page of the alliance's event feed, oldest first (members).
    pub async fn events(
        &self,
        who: &Caller,
        id: Uuid,
        page: &PageRequest,
    ) -> Result<Vec<alliance_event::Model>> {
        self.alliances.authorize_view(who, id).await?;
        self.expire_overdue(Some(id)).await?;
        Ok(db::events(&self.db, id, page).await?)
    }

    /// The alliance, when `tenant` may propose in it: an open alliance, a member the caller
    /// administers.
    pub async fn may_propose(
        &self,
        who: &Caller,
        id: Uuid,
        tenant: Uuid,
    ) -> Result<alliance::Model> {
        let (a, _) = self
            .alliances
            .authorize_member_action(who, id, tenant, Action::ManageMembers)
            .await?;
        ensure_open(&a)?;
        Ok(a)
    }

    /// Records a proposal; the voters are the members at this moment. A `create_chain`
    /// action is checked by the caller first (against the runtime and the catalog).
    pub async fn propose(
        &self,
        who: &Caller,
        id: Uuid,
        req: &CreateProposal,
    ) -> Result<proposal::Model> {
        let a = self.may_propose(who, id, req.tenant_id).await?;
        check_text("/description", "description", &req.description, 2000)?;
        self.expire_overdue(Some(id)).await?;
        let members = db::members(&self.db, id).await?;
        match &req.action {
            ProposalAction::InviteMember { tenant_id } => {
                // Whether a tenant exists is not told here (an id is all a proposer has): an
                // invitation to one that does not exist is recorded and never answered.
                if members.iter().any(|m| m.tenant_id == *tenant_id) {
                    return Err(Error::Conflict(format!(
                        "tenant {tenant_id} is already a member"
                    )));
                }
                if db::open_proposal_about(&self.db, id, "invite_member", "tenant_id", *tenant_id)
                    .await?
                    || db::pending_invitation_for(&self.db, id, *tenant_id).await?
                {
                    return Err(Error::Conflict(format!(
                        "tenant {tenant_id} already has an open invitation or invitation proposal"
                    )));
                }
            }
            ProposalAction::RemoveMember { tenant_id } => {
                if !members.iter().any(|m| m.tenant_id == *tenant_id) {
                    return Err(Error::field(
                        "/action/remove_member/tenant_id",
                        format!("tenant {tenant_id} is not a member"),
                    ));
                }
                if *tenant_id == req.tenant_id {
                    return Err(Error::field(
                        "/action/remove_member/tenant_id",
                        "a member leaves with POST .../leave, not by proposing its own removal",
                    ));
                }
                if db::open_proposal_about(&self.db, id, "remove_member", "tenant_id", *tenant_id)
                    .await?
                {
                    return Err(Error::Conflict(format!(
                        "an open proposal already removes tenant {tenant_id}"
                    )));
                }
            }
            ProposalAction::ChangePolicy { policy } => {
                check_policy("/action/change_policy/policy", policy)?
            }
            ProposalAction::CreateChain(_) => {}
            ProposalAction::DeleteChain { chain_id, .. } => {
                let here = store::chains::get(&self.db, *chain_id)
                    .await?
                    .is_some_and(|c| c.alliance_id == id);
                if !here {
                    return Err(Error::field(
                        "/action/delete_chain/chain_id",
                        format!("chain {chain_id} is not a chain of this alliance"),
                    ));
                }
                if db::open_proposal_about(&self.db, id, "delete_chain", "chain_id", *chain_id)
                    .await?
                {
                    return Err(Error::Conflict(format!(
                        "an open proposal already deletes chain {chain_id}"
                    )));
                }
            }
            ProposalAction::AddNodes {} => {
                return Err(Error::field(
                    "/action",
                    "add_nodes proposals are refused: the native engine cannot change a chain's \
                     validator set yet",
                ));
            }
        }
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        let kind = req.action.kind();
        let p = db::insert_proposal(
            &txn,
            db::NewProposal {
                alliance: &a,
                kind,
                payload: serde_json::to_value(&req.action)
                    .map_err(|e| Error::Internal(e.to_string()))?
                    .get(kind)
                    .cloned()
                    .unwrap_or(json!({})),
                description: &req.description,
                proposer_tenant: req.tenant_id,
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
            (Some(req.tenant_id), Some(who.user.id)),
            json!({"proposal_id": p.id, "kind": p.kind, "action": p.payload}),
            now,
        )
        .await?;
        txn.commit().await?;
        who.created(p.id);
        Ok(p)
    }

    /// A page of the alliance's proposals, with their votes (members).
    pub async fn proposals(
        &self,
        who: &Caller,
        id: Uuid,
        status: Option<&str>,
        page: &PageRequest,
    ) -> Result<(Vec<WithVotes>, Option<String>)> {
        let status = match status {
            Some(s) => Some(ProposalStatus::parse(s).ok_or_else(|| {
                Error::Malformed("status must be open, approved, rejected or expired".into())
            })?),
            None => None,
        };
        self.alliances.authorize_view(who, id).await?;
        self.expire_overdue(Some(id)).await?;
        let rows = db::proposals(&self.db, id, status, page).await?;
        let (rows, next) = pagination::finish(rows, page, |p| p.id.to_string());
        let mut items = Vec::with_capacity(rows.len());
        for p in rows {
            let votes = db::votes(&self.db, p.id).await?;
            items.push((p, votes));
        }
        Ok((items, next))
    }

    /// One proposal with its votes (members).
    pub async fn proposal(&self, who: &Caller, id: Uuid, pid: Uuid) -> Result<WithVotes> {
        self.alliances.authorize_view(who, id).await?;
        self.expire_overdue(Some(id)).await?;
        let p = db::proposal(&self.db, id, pid)
            .await?
            .ok_or_else(|| Error::NotFound(format!("proposal {pid} not found")))?;
        let votes = db::votes(&self.db, p.id).await?;
        Ok((p, votes))
    }

    /// Casts a member tenant's vote (its admins). A vote is final; the proposal is decided
    /// as soon as its outcome can no longer change, and what it does in the database is done
    /// in the same transaction.
    pub async fn vote(&self, who: &Caller, id: Uuid, pid: Uuid, req: &CastVote) -> Result<Voted> {
        let (a, _) = self
            .alliances
            .authorize_member_action(who, id, req.tenant_id, Action::ManageMembers)
            .await?;
        ensure_open(&a)?;
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        // The row lock first: on SQLite a transaction that reads before it writes can lose a
        // lock upgrade to a concurrent voter; on PostgreSQL this queues concurrent voters.
        if !db::lock_open_proposal(&txn, pid).await? {
            let p = db::proposal(&txn, id, pid)
                .await?
                .ok_or_else(|| Error::NotFound(format!("proposal {pid} not found")))?;
            return Err(Error::Conflict(format!(
                "proposal {pid} is {}: votes are closed",
                p.status
            )));
        }
        // Re-read under the lock: concurrent votes committed before us are visible now.
        let p = db::proposal(&txn, id, pid)
            .await?
            .ok_or_else(|| Error::NotFound(format!("proposal {pid} not found")))?;
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
            return Err(Error::Conflict(format!(
                "proposal {pid} expired at {}: votes are closed",
                p.expires_at
            )));
        }
        let eligible = governance::eligible(&p.eligible)?;
        if !eligible.contains(&req.tenant_id) {
            return Err(Error::Forbidden(
                "this member joined after the proposal was made; only the members at that time vote"
                    .into(),
            ));
        }
        let approve = req.vote == VoteChoice::Yes;
        if let Err(e) = db::insert_vote(&txn, pid, req.tenant_id, who.user.id, approve, now).await {
            return Err(if store::is_unique_violation(&e) {
                Error::Conflict(
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
                .ok_or_else(|| Error::Internal("bad comparator".into()))?,
            proposal_duration_hours: 1,
        };
        let outcome = governance::outcome(&policy, eligible.len() as u64, yes, no);
        let status = match outcome {
            Outcome::Open => None,
            Outcome::Approved => Some(ProposalStatus::Approved),
            Outcome::Rejected => Some(ProposalStatus::Rejected),
        };
        let actor = (Some(req.tenant_id), Some(who.user.id));
        db::event(
            &txn,
            id,
            "vote_cast",
            actor,
            json!({"proposal_id": pid, "tenant_id": req.tenant_id, "vote": req.vote}),
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
        who.created(pid);
        Ok(Voted {
            proposal: p,
            votes,
            approved: outcome == Outcome::Approved,
        })
    }

    /// A page of the invitations addressed to the caller's tenants (or to `tenant`).
    pub async fn invitations(
        &self,
        who: &Caller,
        tenant: Option<Uuid>,
        page: &PageRequest,
    ) -> Result<(Vec<Named>, Option<String>)> {
        let tenants = self
            .listing_tenants(who, tenant, false)
            .await?
            .unwrap_or_default();
        self.expire_overdue(None).await?;
        let rows = db::invitations_for(&self.db, &tenants, page).await?;
        let (rows, next) = pagination::finish(rows, page, |i| i.id.to_string());
        let mut items = Vec::with_capacity(rows.len());
        for i in rows {
            let name = alliance_name(&self.db, i.alliance_id).await?;
            items.push((i, name));
        }
        Ok((items, next))
    }

    /// The invitation, when the caller may act with `action` for the invited tenant.
    async fn invited(&self, who: &Caller, id: Uuid, action: Action) -> Result<invitation::Model> {
        let nf = || Error::NotFound(format!("invitation {id} not found"));
        let i = db::invitation(&self.db, id).await?.ok_or_else(nf)?;
        self.access
            .role_in(who, i.tenant_id, action)
            .await
            .map_err(|e| match e {
                Error::NotFound(_) => nf(),
                other => other,
            })?;
        Ok(i)
    }

    /// One invitation (users of the invited tenant).
    pub async fn invitation(&self, who: &Caller, id: Uuid) -> Result<Named> {
        self.invited(who, id, Action::Read).await?;
        self.expire_overdue(None).await?;
        let i = db::invitation(&self.db, id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("invitation {id} not found")))?;
        let name = alliance_name(&self.db, i.alliance_id).await?;
        Ok((i, name))
    }

    /// Accepts an invitation (admins of the invited tenant): the tenant joins with its
    /// member organisation and gets its CAs.
    pub async fn accept(
        &self,
        who: &Caller,
        id: Uuid,
        req: &AcceptInvitation,
    ) -> Result<WithMembers> {
        let i = self.invited(who, id, Action::ManageMembers).await?;
        req.org.check("/org")?;
        self.expire_overdue(Some(i.alliance_id)).await?;
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        answer_once(&txn, id, InvitationStatus::Accepted, who.user.id, now).await?;
        let a = db::get(&txn, i.alliance_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("invitation {id} not found")))?;
        ensure_open(&a)?;
        if db::member(&txn, a.id, i.tenant_id).await?.is_some() {
            return Err(Error::Conflict("the tenant is already a member".into()));
        }
        let org = &req.org;
        if let Err(e) = db::add_member(&txn, a.id, i.tenant_id, &org.name, &org.org_id, now).await {
            return Err(if store::is_unique_violation(&e) {
                Error::Conflict(format!("org_id {} is taken in this alliance", org.org_id))
            } else {
                e.into()
            });
        }
        store::pki::create_member_cas(
            &txn,
            &self.kek,
            a.id,
            i.tenant_id,
            &org.name,
            &org.org_id,
            now,
        )
        .await?;
        db::event(
            &txn,
            a.id,
            "member_joined",
            (Some(i.tenant_id), Some(who.user.id)),
            json!({"tenant_id": i.tenant_id, "invitation_id": id, "org_id": org.org_id, "org_name": org.name}),
            now,
        )
        .await?;
        let members = db::members(&txn, a.id).await?;
        txn.commit().await?;
        Ok((a, members))
    }

    /// Declines an invitation (admins of the invited tenant).
    pub async fn reject(&self, who: &Caller, id: Uuid) -> Result<Named> {
        let i = self.invited(who, id, Action::ManageMembers).await?;
        self.expire_overdue(Some(i.alliance_id)).await?;
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        answer_once(&txn, id, InvitationStatus::Rejected, who.user.id, now).await?;
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
            .ok_or_else(|| Error::Internal("invitation vanished".into()))?;
        let name = alliance_name(&txn, i.alliance_id).await?;
        txn.commit().await?;
        Ok((i, name))
    }
}

/// Carries out an approved proposal inside the deciding vote's transaction.
async fn execute_approved(
    txn: &DatabaseTransaction,
    a: alliance::Model,
    p: &proposal::Model,
    now: DateTime<Utc>,
) -> Result<()> {
    let payload = &p.payload;
    let target = || -> Result<Uuid> {
        payload
            .get("tenant_id")
            .and_then(|t| t.as_str())
            .and_then(|t| Uuid::try_parse(t).ok())
            .ok_or_else(|| Error::Internal("proposal without tenant_id".into()))
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
                    .map_err(|e| Error::Internal(e.to_string()))?;
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
        // Made or removed once the vote is committed, by the caller of `vote` (and at start
        // for votes whose outcome went unrecorded).
        "create_chain" | "delete_chain" => {}
        other => return Err(Error::Internal(format!("cannot carry out {other}"))),
    }
    Ok(())
}
