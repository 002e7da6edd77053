//! Alliance governance: the voting policy and the outcome of a proposal.
//!
//! Modelled on AWS Managed Blockchain's approval threshold policy: a proposal is approved
//! when the yes votes, as a percentage of the members at the time the proposal was made,
//! are greater than (or greater than or equal to) the threshold. It is decided as soon as
//! the outcome can no longer change, and expires (not approved) after its duration.

use crate::domain::error::{Error, Result, check};
use crate::domain::status::status_enum;
use crate::domain::validation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

status_enum! {
    /// Whether an alliance is running: `active`, or `closed` once its last member left.
    AllianceStatus {
        /// Members govern it.
        Active = "active",
        /// Its last member left; nothing changes any more.
        Closed = "closed",
    }
}

status_enum! {
    /// Where a proposal stands.
    ProposalStatus {
        /// Votes are being cast.
        Open = "open",
        /// Approved and carried out.
        Approved = "approved",
        /// Rejected: it can no longer pass.
        Rejected = "rejected",
        /// Its time ran out before it passed.
        Expired = "expired",
    }
}

status_enum! {
    /// Where an alliance invitation stands.
    InvitationStatus {
        /// Waiting for the invited tenant.
        Pending = "pending",
        /// Accepted: the tenant joined.
        Accepted = "accepted",
        /// Declined.
        Rejected = "rejected",
        /// Not answered in time.
        Expired = "expired",
    }
}

/// How yes votes are compared with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Comparator {
    /// Yes share > threshold.
    GreaterThan,
    /// Yes share ≥ threshold.
    GreaterThanOrEqual,
}

impl Comparator {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::GreaterThan => "greater_than",
            Comparator::GreaterThanOrEqual => "greater_than_or_equal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "greater_than" => Some(Comparator::GreaterThan),
            "greater_than_or_equal" => Some(Comparator::GreaterThanOrEqual),
            _ => None,
        }
    }
}

/// An alliance's voting policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// 1–100.
    pub threshold_percentage: u32,
    pub comparator: Comparator,
    /// 1–168 (one week).
    pub proposal_duration_hours: u32,
}

impl Policy {
    /// Field problems, as (JSON pointer suffix, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(1..=100).contains(&self.threshold_percentage) {
            out.push((
                "/threshold_percentage",
                "threshold_percentage must be between 1 and 100".to_string(),
            ));
        }
        if !(1..=168).contains(&self.proposal_duration_hours) {
            out.push((
                "/proposal_duration_hours",
                "proposal_duration_hours must be between 1 and 168".to_string(),
            ));
        }
        out
    }

    /// Whether `yes` of `eligible` voters meet the threshold.
    pub fn approves(&self, yes: u64, eligible: u64) -> bool {
        if eligible == 0 {
            return false;
        }
        // yes / eligible ⋈ threshold / 100, in integers.
        let lhs = yes * 100;
        let rhs = u64::from(self.threshold_percentage) * eligible;
        match self.comparator {
            Comparator::GreaterThan => lhs > rhs,
            Comparator::GreaterThanOrEqual => lhs >= rhs,
        }
    }
}

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not decided yet: more votes could still go either way.
    Open,
    Approved,
    Rejected,
}

/// The outcome with `yes` and `no` votes cast out of `eligible` voters: approved as soon as
/// the yes votes meet the threshold, rejected as soon as they cannot meet it even if every
/// remaining voter says yes.
pub fn outcome(policy: &Policy, eligible: u64, yes: u64, no: u64) -> Outcome {
    if policy.approves(yes, eligible) {
        return Outcome::Approved;
    }
    let remaining = eligible.saturating_sub(yes + no);
    if !policy.approves(yes + remaining, eligible) {
        return Outcome::Rejected;
    }
    Outcome::Open
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy(t: u32, c: Comparator) -> Policy {
        Policy {
            threshold_percentage: t,
            comparator: c,
            proposal_duration_hours: 24,
        }
    }

    #[test]
    fn familiar_cases() {
        let half_gt = policy(50, Comparator::GreaterThan);
        let half_ge = policy(50, Comparator::GreaterThanOrEqual);
        // 2 of 4 is exactly half.
        assert_eq!(outcome(&half_ge, 4, 2, 0), Outcome::Approved);
        assert_eq!(outcome(&half_gt, 4, 2, 0), Outcome::Open);
        assert_eq!(outcome(&half_gt, 4, 3, 0), Outcome::Approved);
        // Two no votes of four: more than half can no longer say yes.
        assert_eq!(outcome(&half_gt, 4, 0, 2), Outcome::Rejected);
        assert_eq!(outcome(&half_ge, 4, 0, 2), Outcome::Open);
        assert_eq!(outcome(&half_ge, 4, 1, 3), Outcome::Rejected);
        // A lone founder decides alone.
        assert_eq!(outcome(&half_gt, 1, 1, 0), Outcome::Approved);
        assert_eq!(outcome(&half_gt, 1, 0, 1), Outcome::Rejected);
        // Unanimity.
        let all = policy(100, Comparator::GreaterThanOrEqual);
        assert_eq!(outcome(&all, 3, 2, 0), Outcome::Open);
        assert_eq!(outcome(&all, 3, 2, 1), Outcome::Rejected);
        assert_eq!(outcome(&all, 3, 3, 0), Outcome::Approved);
        // "greater than 100%" can never pass.
        assert_eq!(
            outcome(&policy(100, Comparator::GreaterThan), 3, 0, 0),
            Outcome::Rejected
        );
    }

    #[test]
    fn policy_bounds() {
        let mut p = policy(0, Comparator::GreaterThan);
        assert_eq!(p.problems().len(), 1);
        p.threshold_percentage = 101;
        p.proposal_duration_hours = 0;
        assert_eq!(p.problems().len(), 2);
        p.threshold_percentage = 100;
        p.proposal_duration_hours = 169;
        assert_eq!(p.problems().len(), 1);
        p.proposal_duration_hours = 168;
        assert!(p.problems().is_empty());
    }

    /// The plain formula: the share of yes votes, as a real number, against the threshold.
    fn reference_approves(p: &Policy, yes: u64, eligible: u64) -> bool {
        let share = yes as f64 / eligible as f64 * 100.0;
        let t = f64::from(p.threshold_percentage);
        // Exact for these sizes: compare as rationals to avoid rounding at equality.
        let exact_eq = yes * 100 == u64::from(p.threshold_percentage) * eligible;
        match p.comparator {
            Comparator::GreaterThan => share > t && !exact_eq,
            Comparator::GreaterThanOrEqual => share >= t || exact_eq,
        }
    }

    proptest! {
        /// Over random policies, member counts and vote orders: the decision taken after
        /// each vote matches the reference, is taken exactly when no later votes could
        /// change it, and never changes once taken.
        #[test]
        fn outcome_matches_the_reference(
            threshold in 1u32..=100,
            ge in any::<bool>(),
            eligible in 1u64..=40,
            votes in proptest::collection::vec(any::<bool>(), 0..=40),
        ) {
            let p = policy(threshold, if ge { Comparator::GreaterThanOrEqual } else { Comparator::GreaterThan });
            let votes: Vec<bool> = votes.into_iter().take(eligible as usize).collect();
            let (mut yes, mut no) = (0u64, 0u64);
            let mut decided: Option<Outcome> = None;
            for v in &votes {
                if *v { yes += 1 } else { no += 1 }
                let o = outcome(&p, eligible, yes, no);
                let remaining = eligible - yes - no;
                // Reference: approved now; or every completion of the remaining votes is a
                // rejection; otherwise open.
                let approved_now = reference_approves(&p, yes, eligible);
                let could_still_pass = (0..=remaining).any(|extra| reference_approves(&p, yes + extra, eligible));
                let expected = if approved_now { Outcome::Approved } else if !could_still_pass { Outcome::Rejected } else { Outcome::Open };
                prop_assert_eq!(o, expected, "yes {} no {} of {}", yes, no, eligible);
                if let Some(d) = decided {
                    prop_assert_eq!(o, d, "a decision changed");
                }
                if o != Outcome::Open {
                    decided = Some(o);
                }
            }
            // When everyone has voted, the proposal is always decided.
            if votes.len() as u64 == eligible && decided.is_none() {
                prop_assert!(false, "all {} voted and nothing was decided", eligible);
            }
        }
    }
}

/// How long an approved invitation waits for an answer.
pub const INVITATION_DAYS: i64 = 7;

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
    CreateChain(crate::domain::chains::ChainSpec),
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
    /// The proposal kind stored and shown: `invite_member`, `create_chain`…
    pub fn kind(&self) -> &'static str {
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

impl MemberOrg {
    /// Field problems, under `pointer`.
    pub fn check(&self, pointer: &str) -> Result<()> {
        check(
            &format!("{pointer}/name"),
            validation::display_name("name", &self.name),
        )?;
        let id = self.org_id.as_bytes();
        let ok = (1..=64).contains(&id.len())
            && id[0].is_ascii_alphabetic()
            && id
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-');
        if !ok {
            return Err(Error::field(
                &format!("{pointer}/org_id"),
                "org_id must be a letter followed by up to 63 letters, digits, '.' or '-' (a Fabric MSP id)",
            ));
        }
        Ok(())
    }
}

/// A policy's problems as a validation error, each under `pointer`.
pub fn check_policy(pointer: &str, p: &Policy) -> Result<()> {
    Error::fields(
        p.problems()
            .into_iter()
            .map(|(ptr, msg)| (format!("{pointer}{ptr}"), msg))
            .collect(),
    )
}

/// A free text of at most `max` characters.
pub fn check_text(pointer: &str, field: &str, s: &str, max: usize) -> Result<()> {
    if s.chars().count() > max {
        return Err(Error::field(
            pointer,
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(())
}

impl CreateAlliance {
    /// Field problems, first one wins.
    pub fn check(&self) -> Result<()> {
        check("/name", validation::display_name("name", &self.name))?;
        check_text("/description", "description", &self.description, 2000)?;
        check_policy("/policy", &self.policy)?;
        self.org.check("/org")
    }
}

/// The tenants that vote on a proposal, as stored with it.
pub fn eligible(stored: &serde_json::Value) -> Result<Vec<Uuid>> {
    Vec::<Uuid>::deserialize(stored).map_err(|e| Error::Internal(format!("eligible: {e}")))
}
