//! The Tendermint consensus state machine.
//!
//! A faithful transcription of Algorithm 1 of Buchman, Kwon and Milosevic, "The latest gossip
//! on BFT consensus" (arXiv:1807.04938, 2018). Comments cite the algorithm's line numbers. The
//! machine does no I/O, reads no clock and draws no randomness: the host feeds it messages,
//! proposal validity and timeouts, and carries out the [`Effect`]s it returns, in order. That
//! is what lets one seeded simulator drive many validators deterministically.
//!
//! Host duties:
//! * verify nothing itself — the machine checks every signature and the sender's membership;
//! * when it receives a proposal, check it with [`Tendermint::check_proposal`] (signer,
//!   signature, novelty) before spending anything on its block, then obtain and validate the
//!   block whose hash is the proposal's value and pass the verdict with
//!   [`Tendermint::on_proposal`];
//! * answer [`Effect::RequestValue`] with [`Tendermint::on_value`] (the block it built);
//! * make [`Effect::Persist`] durable *before* sending the [`Effect::Broadcast`] that follows
//!   it: that is what prevents a restarted validator from signing two different votes;
//! * after [`Effect::Decide`], store the block with its certificate and call
//!   [`Tendermint::start_height`] for the next height;
//! * re-send [`Tendermint::own_messages`] now and then (gossip is not reliable), and buffer
//!   messages for the next height ([`MessageError::FutureHeight`]) to replay after it starts.
//!
//! Deviation from the paper, on purpose: the decision rule (line 49) accepts a value the host
//! has marked valid from any proposal of this height, not only the proposal of the deciding
//! round; a quorum of precommits is what makes a decision safe, the proposal only supplies the
//! body. Rounds far ahead of ours (more than [`ROUND_WINDOW`]) only count towards the round
//! skip of line 55, so a faulty validator cannot make us store votes for unbounded rounds; like
//! every other rule, that skip counts only messages whose signature verified.

use std::collections::{BTreeMap, HashMap, HashSet};

use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};

use crate::{
    CommitCertificate, CommitSig, Hash, ValidatorSet, VoteKind, hexser, proposal_sign_bytes,
    verify_proposal, verify_vote, vote_sign_bytes,
};

/// How many rounds beyond the current one we keep votes for.
pub const ROUND_WINDOW: u32 = 64;
/// How many different values we keep from one validator for one vote (or proposal) slot.
pub const MAX_VALUES_PER_VOTER: u8 = 2;

/// The step of the current round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Propose,
    Prevote,
    Precommit,
}

/// A timeout the host must deliver back after `after_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Timeout {
    pub height: u64,
    pub round: u32,
    pub step: Step,
}

/// Timeout durations: `base + round * delta` milliseconds, per step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    pub propose_ms: u64,
    pub propose_delta_ms: u64,
    pub prevote_ms: u64,
    pub prevote_delta_ms: u64,
    pub precommit_ms: u64,
    pub precommit_delta_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            propose_ms: 1000,
            propose_delta_ms: 500,
            prevote_ms: 500,
            prevote_delta_ms: 250,
            precommit_ms: 500,
            precommit_delta_ms: 250,
        }
    }
}

impl Timeouts {
    fn duration(&self, step: Step, round: u32) -> u64 {
        let (base, delta) = match step {
            Step::Propose => (self.propose_ms, self.propose_delta_ms),
            Step::Prevote => (self.prevote_ms, self.prevote_delta_ms),
            Step::Precommit => (self.precommit_ms, self.precommit_delta_ms),
        };
        base.saturating_add(delta.saturating_mul(u64::from(round)))
    }
}

/// `PROPOSAL(h, r, v, vr)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub height: u64,
    pub round: u32,
    #[serde(with = "hexser::array")]
    pub value: Hash,
    pub valid_round: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedProposal {
    pub proposal: Proposal,
    /// Index of the proposer in the validator set.
    pub proposer: u32,
    #[serde(with = "hexser::array")]
    pub signature: [u8; 64],
}

/// `PREVOTE(h, r, v)` or `PRECOMMIT(h, r, v)`; `value: None` is a vote for nil.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub kind: VoteKind,
    pub height: u64,
    pub round: u32,
    #[serde(with = "hexser::option_array")]
    pub value: Option<Hash>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedVote {
    pub vote: Vote,
    pub validator: u32,
    #[serde(with = "hexser::array")]
    pub signature: [u8; 64],
}

/// A consensus message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    Proposal(SignedProposal),
    Vote(SignedVote),
}

impl Message {
    pub fn height(&self) -> u64 {
        match self {
            Message::Proposal(p) => p.proposal.height,
            Message::Vote(v) => v.vote.height,
        }
    }

    pub fn round(&self) -> u32 {
        match self {
            Message::Proposal(p) => p.proposal.round,
            Message::Vote(v) => v.vote.round,
        }
    }
}

/// What must survive a crash so a restarted validator never contradicts itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persisted {
    pub height: u64,
    pub round: u32,
    pub step: Step,
    pub locked: Option<(u32, Hash)>,
    pub valid: Option<(u32, Hash)>,
    /// Every message this validator signed at `height`.
    pub own: Vec<Message>,
    /// The prevotes that justify `valid` (a quorum for its value in its round). Kept so that
    /// after a restart we can still show others why we are locked: without them a lock could
    /// outlive the only copies of its evidence and stall the height.
    #[serde(default)]
    pub polka: Vec<SignedVote>,
}

/// What the host must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Write this state durably before carrying out the next effect.
    Persist(Persisted),
    /// Send to every other validator (the machine has already delivered it to itself).
    Broadcast(Message),
    /// Call [`Tendermint::on_timeout`] with `timeout` after `after_ms` milliseconds.
    ScheduleTimeout { timeout: Timeout, after_ms: u64 },
    /// We propose at this height and round: build a block and pass its hash to
    /// [`Tendermint::on_value`].
    RequestValue { height: u64, round: u32 },
    /// The value is decided; the certificate proves it.
    Decide {
        height: u64,
        round: u32,
        value: Hash,
        certificate: CommitCertificate,
    },
}

/// Why a message was not taken.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MessageError {
    #[error("message for past height {0}")]
    PastHeight(u64),
    #[error("message for the next height {0}; replay it once that height starts")]
    FutureHeight(u64),
    #[error("message for height {0}, too far ahead")]
    FarFutureHeight(u64),
    #[error("sender {0} is not in the validator set")]
    UnknownValidator(u32),
    #[error("validator {0} is not the proposer of this round")]
    NotProposer(u32),
    #[error("invalid signature from validator {0}")]
    BadSignature(u32),
    #[error("duplicate message")]
    Duplicate,
    #[error("conflicting message from validator {0} (equivocation)")]
    Equivocation(u32),
    #[error("round {0} is beyond the window kept in memory")]
    RoundTooFar(u32),
}

/// Votes of one kind in one round. An equivocating validator's conflicting votes are all
/// kept (up to [`MAX_VALUES_PER_VOTER`]), each counting for its own value, as the paper counts
/// messages from distinct senders per value: dropping all but the first would let a Byzantine
/// validator show different halves of the network different votes and hide a quorum that a
/// correct validator relies on.
#[derive(Clone, Debug, Default)]
struct Tally {
    votes: BTreeMap<(u32, Option<Hash>), [u8; 64]>,
    power: BTreeMap<Option<Hash>, u64>,
    voters: BTreeMap<u32, u8>,
    total: u64,
}

impl Tally {
    fn for_value(&self, v: Option<Hash>) -> u64 {
        self.power.get(&v).copied().unwrap_or(0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Rule {
    PrevoteTimeout,
    PolkaValue,
    PrecommitTimeout,
}

/// One validator's (or observer's) consensus state for the current height.
pub struct Tendermint {
    chain_id: String,
    validators: ValidatorSet,
    key: Option<SigningKey>,
    me: Option<u32>,
    timeouts: Timeouts,

    height: u64,
    round: u32,
    step: Step,
    locked: Option<(u32, Hash)>,
    valid: Option<(u32, Hash)>,
    decided: bool,
    awaiting_value: Option<u32>,

    proposals: BTreeMap<u32, Vec<SignedProposal>>,
    validity: HashMap<Hash, bool>,
    votes: BTreeMap<(u32, VoteKind), Tally>,
    highest_round: BTreeMap<u32, u32>,
    fired: HashSet<(Rule, u32)>,
    own: Vec<Message>,
}

impl Tendermint {
    /// A new state machine. `key` is this validator's signing key (None for an observer that
    /// follows votes but never signs); it must belong to the validator set to sign.
    pub fn new(
        chain_id: impl Into<String>,
        validators: ValidatorSet,
        key: Option<SigningKey>,
        timeouts: Timeouts,
    ) -> Self {
        let me = key.as_ref().and_then(|k| {
            validators
                .index_of(&k.verifying_key().to_bytes())
                .map(|i| i as u32)
        });
        Tendermint {
            chain_id: chain_id.into(),
            validators,
            key,
            me,
            timeouts,
            height: 0,
            round: 0,
            step: Step::Propose,
            locked: None,
            valid: None,
            decided: true,
            awaiting_value: None,
            proposals: BTreeMap::new(),
            validity: HashMap::new(),
            votes: BTreeMap::new(),
            highest_round: BTreeMap::new(),
            fired: HashSet::new(),
            own: Vec::new(),
        }
    }

    pub fn height(&self) -> u64 {
        self.height
    }

    pub fn round(&self) -> u32 {
        self.round
    }

    pub fn step(&self) -> Step {
        self.step
    }

    pub fn validator_index(&self) -> Option<u32> {
        self.me
    }

    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }

    /// Whether this height is decided (the host has not started the next one yet).
    pub fn is_decided(&self) -> bool {
        self.decided
    }

    /// The messages this validator signed at the current height, for re-gossip.
    pub fn own_messages(&self) -> &[Message] {
        &self.own
    }

    /// What to re-send to peers now and then so that every correct validator eventually holds
    /// what we hold (the gossip property Tendermint's liveness rests on): our own messages,
    /// the proposal and votes of the current round, and the prevotes that justify our locked
    /// and valid values — without those a validator that missed them could never accept a
    /// re-proposal of a locked value.
    pub fn gossip_messages(&self) -> Vec<Message> {
        let mut out = self.own.clone();
        let mut rounds = vec![self.round];
        rounds.extend(self.locked.map(|(r, _)| r));
        rounds.extend(self.valid.map(|(r, _)| r));
        rounds.sort_unstable();
        rounds.dedup();
        for r in rounds {
            for p in self.proposals.get(&r).into_iter().flatten() {
                if Some(p.proposer) != self.me {
                    out.push(Message::Proposal(p.clone()));
                }
            }
            for kind in [VoteKind::Prevote, VoteKind::Precommit] {
                let Some(t) = self.tally(r, kind) else {
                    continue;
                };
                for ((validator, value), signature) in &t.votes {
                    if Some(*validator) == self.me {
                        continue;
                    }
                    out.push(Message::Vote(SignedVote {
                        vote: Vote {
                            kind,
                            height: self.height,
                            round: r,
                            value: *value,
                        },
                        validator: *validator,
                        signature: *signature,
                    }));
                }
            }
        }
        out
    }

    /// The votes held for `round` at this height: (kind, validator, value).
    pub fn votes_in_round(&self, round: u32) -> Vec<(VoteKind, u32, Option<Hash>)> {
        [VoteKind::Prevote, VoteKind::Precommit]
            .into_iter()
            .flat_map(|kind| {
                self.tally(round, kind)
                    .into_iter()
                    .flat_map(move |t| t.votes.keys().map(move |(i, v)| (kind, *i, *v)))
            })
            .collect()
    }

    /// The proposal received for `round` at this height, if any.
    pub fn proposal(&self, round: u32) -> Option<&SignedProposal> {
        self.proposals.get(&round).and_then(|ps| ps.first())
    }

    /// Starts `height` at round 0 (line 10 for a new height).
    pub fn start_height(&mut self, height: u64) -> Vec<Effect> {
        self.reset(height);
        let mut out = Vec::new();
        self.start_round(0, &mut out);
        self.evaluate(&mut out);
        out
    }

    /// Resumes after a restart. When `persisted` is for `height`, the round, step, locks and
    /// our own messages come back (and are re-sent); otherwise the height starts afresh.
    pub fn restore(&mut self, height: u64, persisted: Option<Persisted>) -> Vec<Effect> {
        let Some(p) = persisted.filter(|p| p.height == height) else {
            return self.start_height(height);
        };
        self.reset(height);
        self.round = p.round;
        self.step = p.step;
        self.locked = p.locked;
        self.valid = p.valid;
        let mut out = Vec::new();
        for sv in &p.polka {
            if sv.vote.height == height
                && let Some(v) = self.validators.get(sv.validator as usize)
                && verify_vote(
                    &self.chain_id,
                    &v.public_key,
                    sv.vote.kind,
                    sv.vote.height,
                    sv.vote.round,
                    sv.vote.value.as_ref(),
                    &sv.signature,
                )
            {
                self.record_vote(sv);
            }
        }
        for m in &p.own {
            match m {
                Message::Proposal(sp) => {
                    self.validity.insert(sp.proposal.value, true);
                    self.proposals
                        .entry(sp.proposal.round)
                        .or_default()
                        .push(sp.clone());
                    self.note_round(sp.proposer, sp.proposal.round);
                }
                Message::Vote(sv) => {
                    self.record_vote(sv);
                }
            }
            out.push(Effect::Broadcast(m.clone()));
        }
        self.own = p.own;
        // Re-arm the timeout of the step we were in so the round cannot stall.
        self.schedule(self.step, self.round, &mut out);
        if self.step == Step::Propose
            && self.is_proposer(self.round)
            && !self.proposals.contains_key(&self.round)
        {
            self.awaiting_value = Some(self.round);
            out.push(Effect::RequestValue {
                height,
                round: self.round,
            });
        }
        self.evaluate(&mut out);
        out
    }

    fn reset(&mut self, height: u64) {
        self.height = height;
        self.round = 0;
        self.step = Step::Propose;
        self.locked = None;
        self.valid = None;
        self.decided = false;
        self.awaiting_value = None;
        self.proposals.clear();
        self.validity.clear();
        self.votes.clear();
        self.highest_round.clear();
        self.fired.clear();
        self.own.clear();
    }

    fn is_proposer(&self, round: u32) -> bool {
        self.me
            .is_some_and(|me| self.validators.proposer(self.height, round) == me as usize)
    }

    /// `StartRound(round)`, lines 11–21.
    fn start_round(&mut self, round: u32, out: &mut Vec<Effect>) {
        self.round = round;
        self.step = Step::Propose;
        self.awaiting_value = None;
        if self.is_proposer(round) {
            if let Some((vr, v)) = self.valid {
                self.propose(v, Some(vr), out);
            } else {
                self.awaiting_value = Some(round);
                out.push(Effect::RequestValue {
                    height: self.height,
                    round,
                });
            }
        }
        // Also armed for the proposer, so a host that never answers cannot stall the round.
        self.schedule(Step::Propose, round, out);
    }

    fn schedule(&mut self, step: Step, round: u32, out: &mut Vec<Effect>) {
        out.push(Effect::ScheduleTimeout {
            timeout: Timeout {
                height: self.height,
                round,
                step,
            },
            after_ms: self.timeouts.duration(step, round),
        });
    }

    /// The host's answer to [`Effect::RequestValue`]: the hash of the block it built.
    pub fn on_value(&mut self, height: u64, round: u32, value: Hash) -> Vec<Effect> {
        let mut out = Vec::new();
        if height != self.height
            || round != self.round
            || self.step != Step::Propose
            || self.decided
            || self.awaiting_value != Some(round)
        {
            return out;
        }
        self.awaiting_value = None;
        self.propose(value, None, &mut out);
        self.evaluate(&mut out);
        out
    }

    fn propose(&mut self, value: Hash, valid_round: Option<u32>, out: &mut Vec<Effect>) {
        let (Some(key), Some(me)) = (&self.key, self.me) else {
            return;
        };
        let proposal = Proposal {
            height: self.height,
            round: self.round,
            value,
            valid_round,
        };
        let signature = key
            .sign(&proposal_sign_bytes(
                &self.chain_id,
                proposal.height,
                proposal.round,
                valid_round,
                &value,
            ))
            .to_bytes();
        let sp = SignedProposal {
            proposal,
            proposer: me,
            signature,
        };
        self.validity.insert(value, true);
        self.proposals
            .entry(self.round)
            .or_default()
            .push(sp.clone());
        self.note_round(me, self.round);
        self.emit(Message::Proposal(sp), out);
    }

    fn vote(&mut self, kind: VoteKind, value: Option<Hash>, out: &mut Vec<Effect>) {
        let (Some(key), Some(me)) = (&self.key, self.me) else {
            return;
        };
        let vote = Vote {
            kind,
            height: self.height,
            round: self.round,
            value,
        };
        let signature = key
            .sign(&vote_sign_bytes(
                &self.chain_id,
                kind,
                vote.height,
                vote.round,
                value.as_ref(),
            ))
            .to_bytes();
        let sv = SignedVote {
            vote,
            validator: me,
            signature,
        };
        self.record_vote(&sv);
        self.emit(Message::Vote(sv), out);
    }

    fn emit(&mut self, m: Message, out: &mut Vec<Effect>) {
        self.own.push(m.clone());
        out.push(Effect::Persist(self.persisted()));
        out.push(Effect::Broadcast(m));
    }

    /// The state to persist now (also emitted with every signed message).
    pub fn persisted(&self) -> Persisted {
        Persisted {
            height: self.height,
            round: self.round,
            step: self.step,
            locked: self.locked,
            valid: self.valid,
            own: self.own.clone(),
            polka: self.polka_for_valid(),
        }
    }

    fn polka_for_valid(&self) -> Vec<SignedVote> {
        let Some((vr, v)) = self.valid else {
            return Vec::new();
        };
        let Some(t) = self.tally(vr, VoteKind::Prevote) else {
            return Vec::new();
        };
        t.votes
            .iter()
            .filter(|((_, value), _)| *value == Some(v))
            .map(|((validator, value), signature)| SignedVote {
                vote: Vote {
                    kind: VoteKind::Prevote,
                    height: self.height,
                    round: vr,
                    value: *value,
                },
                validator: *validator,
                signature: *signature,
            })
            .collect()
    }

    fn check_height(&self, height: u64) -> Result<(), MessageError> {
        if height == self.height && !self.decided {
            Ok(())
        } else if height <= self.height {
            Err(MessageError::PastHeight(height))
        } else if height == self.height + 1 {
            Err(MessageError::FutureHeight(height))
        } else {
            Err(MessageError::FarFutureHeight(height))
        }
    }

    /// Whether `sp` is signed by the proposer of its height and round, looking at nothing but
    /// the validator set: what a host checks before it keeps a proposal for the next height.
    pub fn check_proposal_origin(&self, sp: &SignedProposal) -> Result<(), MessageError> {
        let p = &sp.proposal;
        let key = self.proposer_key(sp)?;
        if verify_proposal(
            &self.chain_id,
            key,
            p.height,
            p.round,
            p.valid_round,
            &p.value,
            &sp.signature,
        ) {
            Ok(())
        } else {
            Err(MessageError::BadSignature(sp.proposer))
        }
    }

    /// Whether [`Tendermint::on_proposal`] would take `sp`: for this height, from the proposer
    /// of its round with a valid signature, new, and within the values a proposer may have per
    /// round. A host calls it before it spends anything on the proposal's block.
    pub fn check_proposal(&self, sp: &SignedProposal) -> Result<(), MessageError> {
        let p = &sp.proposal;
        self.check_height(p.height)?;
        self.proposer_key(sp)?;
        let existing = self
            .proposals
            .get(&p.round)
            .map_or(&[][..], |v| v.as_slice());
        if existing.contains(sp) {
            return Err(MessageError::Duplicate);
        }
        if existing.len() >= usize::from(MAX_VALUES_PER_VOTER) {
            return Err(MessageError::Equivocation(sp.proposer));
        }
        // Verified before anything counts, the round skip included: otherwise anyone could
        // push us to a far round in other validators' names.
        self.check_proposal_origin(sp)
    }

    fn proposer_key(&self, sp: &SignedProposal) -> Result<&[u8; 32], MessageError> {
        let v = self
            .validators
            .get(sp.proposer as usize)
            .ok_or(MessageError::UnknownValidator(sp.proposer))?;
        if self
            .validators
            .proposer(sp.proposal.height, sp.proposal.round)
            != sp.proposer as usize
        {
            return Err(MessageError::NotProposer(sp.proposer));
        }
        Ok(&v.public_key)
    }

    /// A proposal from the network, with the host's verdict on the block it names.
    pub fn on_proposal(
        &mut self,
        sp: SignedProposal,
        valid: bool,
    ) -> Result<Vec<Effect>, MessageError> {
        self.check_proposal(&sp)?;
        let p = &sp.proposal;
        if p.round > self.round.saturating_add(ROUND_WINDOW) {
            self.note_round(sp.proposer, p.round);
            let mut out = Vec::new();
            self.evaluate(&mut out);
            return Ok(out);
        }
        // A value known valid stays valid (validity is deterministic per height).
        let entry = self.validity.entry(p.value).or_insert(valid);
        *entry |= valid;
        self.note_round(sp.proposer, p.round);
        self.proposals.entry(p.round).or_default().push(sp);
        let mut out = Vec::new();
        self.evaluate(&mut out);
        Ok(out)
    }

    /// A vote from the network.
    pub fn on_vote(&mut self, sv: SignedVote) -> Result<Vec<Effect>, MessageError> {
        let vote = &sv.vote;
        self.check_height(vote.height)?;
        let v = self
            .validators
            .get(sv.validator as usize)
            .ok_or(MessageError::UnknownValidator(sv.validator))?;
        if let Some(t) = self.votes.get(&(vote.round, vote.kind)) {
            if t.votes.contains_key(&(sv.validator, vote.value)) {
                return Err(MessageError::Duplicate);
            }
            if t.voters.get(&sv.validator).copied().unwrap_or(0) >= MAX_VALUES_PER_VOTER {
                return Err(MessageError::Equivocation(sv.validator));
            }
        }
        if !verify_vote(
            &self.chain_id,
            &v.public_key,
            vote.kind,
            vote.height,
            vote.round,
            vote.value.as_ref(),
            &sv.signature,
        ) {
            return Err(MessageError::BadSignature(sv.validator));
        }
        if vote.round > self.round.saturating_add(ROUND_WINDOW) {
            self.note_round(sv.validator, vote.round);
        } else {
            self.record_vote(&sv);
        }
        let mut out = Vec::new();
        self.evaluate(&mut out);
        Ok(out)
    }

    fn record_vote(&mut self, sv: &SignedVote) {
        let power = self.validators.power_of(sv.validator as usize);
        let tally = self.votes.entry((sv.vote.round, sv.vote.kind)).or_default();
        if tally
            .votes
            .insert((sv.validator, sv.vote.value), sv.signature)
            .is_none()
        {
            *tally.power.entry(sv.vote.value).or_default() += power;
            let seen = tally.voters.entry(sv.validator).or_default();
            if *seen == 0 {
                tally.total += power;
            }
            *seen += 1;
        }
        self.note_round(sv.validator, sv.vote.round);
    }

    fn note_round(&mut self, validator: u32, round: u32) {
        let r = self.highest_round.entry(validator).or_insert(round);
        *r = (*r).max(round);
    }

    /// A timeout the host scheduled has elapsed (lines 57–65).
    pub fn on_timeout(&mut self, t: Timeout) -> Vec<Effect> {
        let mut out = Vec::new();
        if t.height != self.height || t.round != self.round || self.decided {
            return out;
        }
        match t.step {
            // Line 57: OnTimeoutPropose.
            Step::Propose if self.step == Step::Propose => {
                self.step = Step::Prevote;
                self.vote(VoteKind::Prevote, None, &mut out);
            }
            // Line 61: OnTimeoutPrevote.
            Step::Prevote if self.step == Step::Prevote => {
                self.step = Step::Precommit;
                self.vote(VoteKind::Precommit, None, &mut out);
            }
            // Line 65: OnTimeoutPrecommit.
            Step::Precommit => {
                let next = self.round.saturating_add(1);
                self.start_round(next, &mut out);
            }
            _ => return out,
        }
        self.evaluate(&mut out);
        out
    }

    fn is_valid(&self, v: &Hash) -> bool {
        self.validity.get(v).copied().unwrap_or(false)
    }

    fn tally(&self, round: u32, kind: VoteKind) -> Option<&Tally> {
        self.votes.get(&(round, kind))
    }

    /// Fires every rule whose condition holds, until none does.
    fn evaluate(&mut self, out: &mut Vec<Effect>) {
        while !self.decided && self.fire_one(out) {}
    }

    fn fire_one(&mut self, out: &mut Vec<Effect>) -> bool {
        let round = self.round;
        let vs = &self.validators;

        // Line 49: a quorum of precommits for a value we hold and know valid, any round.
        let decision = self.votes.iter().find_map(|((r, kind), t)| {
            if *kind != VoteKind::Precommit {
                return None;
            }
            t.power.iter().find_map(|(v, p)| match v {
                Some(v) if vs.is_quorum(*p) && self.is_valid(v) => Some((*r, *v)),
                _ => None,
            })
        });
        if let Some((r, v)) = decision {
            self.decide(r, v, out);
            return true;
        }

        // Line 55: f+1 validators are in a later round: skip to it.
        if let Some(r) = self.round_to_skip_to() {
            self.start_round(r, out);
            return true;
        }

        let proposal = self
            .proposals
            .get(&round)
            .and_then(|ps| ps.first())
            .map(|p| (p.proposal.value, p.proposal.valid_round));

        if self.step == Step::Propose {
            match proposal {
                // Line 22: a fresh proposal.
                Some((v, None)) => {
                    let ok = self.is_valid(&v) && self.locked.is_none_or(|(_, lv)| lv == v);
                    self.step = Step::Prevote;
                    self.vote(VoteKind::Prevote, ok.then_some(v), out);
                    return true;
                }
                // Line 28: a re-proposal backed by a polka in its valid round.
                Some((v, Some(vr)))
                    if vr < round
                        && self
                            .tally(vr, VoteKind::Prevote)
                            .is_some_and(|t| vs.is_quorum(t.for_value(Some(v)))) =>
                {
                    let ok =
                        self.is_valid(&v) && self.locked.is_none_or(|(lr, lv)| lr <= vr || lv == v);
                    self.step = Step::Prevote;
                    self.vote(VoteKind::Prevote, ok.then_some(v), out);
                    return true;
                }
                _ => {}
            }
        }

        let prevotes = self.tally(round, VoteKind::Prevote);
        let prevote_any = prevotes.is_some_and(|t| vs.is_quorum(t.total));
        let prevote_nil = prevotes.is_some_and(|t| vs.is_quorum(t.for_value(None)));
        let polka = self
            .proposals
            .get(&round)
            .into_iter()
            .flatten()
            .map(|p| p.proposal.value)
            .find(|v| prevotes.is_some_and(|t| vs.is_quorum(t.for_value(Some(*v)))));
        let precommit_any = self
            .tally(round, VoteKind::Precommit)
            .is_some_and(|t| vs.is_quorum(t.total));

        // Line 34: a quorum of prevotes of any kind, first time in this round.
        if self.step == Step::Prevote
            && prevote_any
            && self.fired.insert((Rule::PrevoteTimeout, round))
        {
            self.schedule(Step::Prevote, round, out);
            return true;
        }

        // Line 36: a polka for the proposed value, first time in this round.
        if self.step >= Step::Prevote
            && let Some(v) = polka
            && self.is_valid(&v)
            && self.fired.insert((Rule::PolkaValue, round))
        {
            self.valid = Some((round, v));
            if self.step == Step::Prevote {
                self.locked = Some((round, v));
                self.step = Step::Precommit;
                self.vote(VoteKind::Precommit, Some(v), out);
            } else {
                out.push(Effect::Persist(self.persisted()));
            }
            return true;
        }

        // Line 44: a polka for nil.
        if self.step == Step::Prevote && prevote_nil {
            self.step = Step::Precommit;
            self.vote(VoteKind::Precommit, None, out);
            return true;
        }

        // Line 47: a quorum of precommits of any kind, first time in this round.
        if precommit_any && self.fired.insert((Rule::PrecommitTimeout, round)) {
            self.schedule(Step::Precommit, round, out);
            return true;
        }

        false
    }

    fn round_to_skip_to(&self) -> Option<u32> {
        let mut rounds: Vec<(u32, u64)> = self
            .highest_round
            .iter()
            .filter(|(_, r)| **r > self.round)
            .map(|(v, r)| (*r, self.validators.power_of(*v as usize)))
            .collect();
        // The highest round r such that validators at r or beyond hold more than a third.
        rounds.sort_unstable_by_key(|r| std::cmp::Reverse(r.0));
        let mut power = 0;
        for (r, p) in rounds {
            power += p;
            if self.validators.is_one_third(power) {
                return Some(r);
            }
        }
        None
    }

    fn decide(&mut self, round: u32, value: Hash, out: &mut Vec<Effect>) {
        self.decided = true;
        let mut signatures: Vec<CommitSig> = self
            .tally(round, VoteKind::Precommit)
            .map(|t| {
                t.votes
                    .iter()
                    .filter(|((_, v), _)| *v == Some(value))
                    .map(|((i, _), sig)| CommitSig {
                        validator: *i,
                        signature: *sig,
                    })
                    .collect()
            })
            .unwrap_or_default();
        signatures.sort_unstable_by_key(|s| s.validator);
        out.push(Effect::Decide {
            height: self.height,
            round,
            value,
            certificate: CommitCertificate {
                height: self.height,
                round,
                block_hash: value,
                signatures,
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Validator, verify_certificate};

    fn keys(n: usize) -> Vec<SigningKey> {
        (0..n)
            .map(|i| SigningKey::from_bytes(&[i as u8 + 1; 32]))
            .collect()
    }

    fn set(keys: &[SigningKey]) -> ValidatorSet {
        ValidatorSet::new(
            keys.iter()
                .enumerate()
                .map(|(i, k)| Validator {
                    name: format!("v{i}"),
                    public_key: k.verifying_key().to_bytes(),
                    power: 1,
                })
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn single_validator_decides_its_own_proposal() {
        let k = keys(1);
        let mut t = Tendermint::new("c", set(&k), Some(k[0].clone()), Timeouts::default());
        let fx = t.start_height(1);
        assert!(fx.contains(&Effect::RequestValue {
            height: 1,
            round: 0
        }));
        let fx = t.on_value(1, 0, [7; 32]);
        let decide = fx.iter().find_map(|e| match e {
            Effect::Decide { certificate, .. } => Some(certificate.clone()),
            _ => None,
        });
        let cert = decide.expect("decided");
        verify_certificate("c", &set(&k), 1, &[7; 32], &cert).unwrap();
        // Persist always precedes the broadcast of a signed message.
        for (i, e) in fx.iter().enumerate() {
            if matches!(e, Effect::Broadcast(_)) {
                assert!(matches!(fx[i - 1], Effect::Persist(_)));
            }
        }
    }

    #[test]
    fn four_validators_decide_in_lockstep() {
        let k = keys(4);
        let vs = set(&k);
        let mut nodes: Vec<Tendermint> = k
            .iter()
            .map(|k| Tendermint::new("c", vs.clone(), Some(k.clone()), Timeouts::default()))
            .collect();
        let mut queue: Vec<(usize, Message)> = Vec::new();
        let mut decided = vec![None; 4];
        let mut pending: Vec<(usize, Vec<Effect>)> = Vec::new();
        for (i, n) in nodes.iter_mut().enumerate() {
            pending.push((i, n.start_height(1)));
        }
        while let Some((i, fx)) = pending.pop() {
            for e in fx {
                match e {
                    Effect::Broadcast(m) => {
                        for j in (0..4).filter(|j| *j != i) {
                            queue.push((j, m.clone()));
                        }
                    }
                    Effect::RequestValue { height, round } => {
                        pending.push((i, nodes[i].on_value(height, round, [9; 32])));
                    }
                    Effect::Decide {
                        value, certificate, ..
                    } => {
                        verify_certificate("c", &vs, 1, &value, &certificate).unwrap();
                        decided[i] = Some(value);
                    }
                    _ => {}
                }
            }
            if pending.is_empty()
                && let Some((j, m)) = queue.pop()
            {
                let fx = match m {
                    Message::Proposal(p) => nodes[j].on_proposal(p, true).unwrap_or_default(),
                    Message::Vote(v) => nodes[j].on_vote(v).unwrap_or_default(),
                };
                pending.push((j, fx));
            }
        }
        assert_eq!(decided, vec![Some([9; 32]); 4]);
    }

    /// Far-ahead proposals count towards the round skip only once their signature verifies:
    /// forgeries in two validators' names (more than a third) leave the round alone, the same
    /// proposals genuinely signed move it.
    #[test]
    fn only_verified_far_proposals_skip_rounds() {
        let k = keys(4);
        let vs = set(&k);
        let mut t = Tendermint::new("c", vs.clone(), Some(k[0].clone()), Timeouts::default());
        t.start_height(5);
        let far = |who: usize| {
            let base = u32::MAX - 100;
            base + ((who as u64 + 4 - (5 + u64::from(base)) % 4) % 4) as u32
        };
        let proposal = |who: usize, signer: &SigningKey| {
            let round = far(who);
            assert_eq!(vs.proposer(5, round), who);
            SignedProposal {
                signature: signer
                    .sign(&proposal_sign_bytes("c", 5, round, None, &[who as u8; 32]))
                    .to_bytes(),
                proposal: Proposal {
                    height: 5,
                    round,
                    value: [who as u8; 32],
                    valid_round: None,
                },
                proposer: who as u32,
            }
        };
        for who in [1, 2] {
            assert_eq!(
                t.on_proposal(proposal(who, &k[3]), true),
                Err(MessageError::BadSignature(who as u32))
            );
        }
        assert_eq!(t.round(), 0);
        assert!(t.on_proposal(proposal(1, &k[1]), true).is_ok());
        assert_eq!(
            t.round(),
            0,
            "one validator of four is not more than a third"
        );
        assert!(t.on_proposal(proposal(2, &k[2]), true).is_ok());
        assert_eq!(t.round(), far(1).min(far(2)));
    }

    #[test]
    fn rejects_forged_and_foreign_messages() {
        let k = keys(4);
        let vs = set(&k);
        let mut t = Tendermint::new("c", vs.clone(), Some(k[1].clone()), Timeouts::default());
        t.start_height(5);
        let outsider = SigningKey::from_bytes(&[99; 32]);
        let vote = Vote {
            kind: VoteKind::Prevote,
            height: 5,
            round: 0,
            value: Some([1; 32]),
        };
        let sign = |k: &SigningKey, v: &Vote| {
            k.sign(&vote_sign_bytes(
                "c",
                v.kind,
                v.height,
                v.round,
                v.value.as_ref(),
            ))
            .to_bytes()
        };
        // An outsider signing as validator 2.
        let forged = SignedVote {
            vote: vote.clone(),
            validator: 2,
            signature: sign(&outsider, &vote),
        };
        assert_eq!(t.on_vote(forged), Err(MessageError::BadSignature(2)));
        // An index outside the set.
        let unknown = SignedVote {
            vote: vote.clone(),
            validator: 9,
            signature: sign(&outsider, &vote),
        };
        assert_eq!(t.on_vote(unknown), Err(MessageError::UnknownValidator(9)));
        // A vote signed for another chain.
        let other_chain = SignedVote {
            vote: vote.clone(),
            validator: 2,
            signature: k[2]
                .sign(&vote_sign_bytes(
                    "other",
                    vote.kind,
                    5,
                    0,
                    vote.value.as_ref(),
                ))
                .to_bytes(),
        };
        assert_eq!(t.on_vote(other_chain), Err(MessageError::BadSignature(2)));
        // A genuine vote, then an equivocating one.
        let good = SignedVote {
            vote: vote.clone(),
            validator: 2,
            signature: sign(&k[2], &vote),
        };
        assert!(t.on_vote(good.clone()).is_ok());
        assert_eq!(t.on_vote(good), Err(MessageError::Duplicate));
        let other = Vote {
            value: Some([2; 32]),
            ..vote
        };
        let equiv = SignedVote {
            vote: other.clone(),
            validator: 2,
            signature: sign(&k[2], &other),
        };
        // A conflicting vote is kept (it counts for its own value), a third one is refused.
        assert!(t.on_vote(equiv).is_ok());
        let third = Vote {
            value: None,
            ..other
        };
        let equiv = SignedVote {
            vote: third.clone(),
            validator: 2,
            signature: sign(&k[2], &third),
        };
        assert_eq!(t.on_vote(equiv), Err(MessageError::Equivocation(2)));
        // A proposal from a validator that is not this round's proposer.
        let p = Proposal {
            height: 5,
            round: 0,
            value: [3; 32],
            valid_round: None,
        };
        let wrong = (vs.proposer(5, 0) + 1) % 4;
        let sp = SignedProposal {
            signature: k[wrong]
                .sign(&proposal_sign_bytes("c", 5, 0, None, &p.value))
                .to_bytes(),
            proposal: p,
            proposer: wrong as u32,
        };
        assert_eq!(
            t.on_proposal(sp, true),
            Err(MessageError::NotProposer(wrong as u32))
        );
    }
}
