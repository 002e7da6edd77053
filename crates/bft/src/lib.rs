//! Byzantine fault tolerant consensus for the Consortia native chain.
//!
//! This crate holds the parts of consensus that every other piece agrees on:
//!
//! * [`ValidatorSet`]: who votes, with what power, and who proposes at a given height and round;
//! * [`vote_sign_bytes`]: the exact bytes a validator signs for a prevote or precommit;
//! * [`CommitCertificate`] and [`verify_certificate`]: the proof that more than two thirds of
//!   the voting power precommitted a block hash — what makes a receipt verifiable offline;
//! * [`tendermint`]: the Tendermint consensus state machine (Buchman, Kwon, Milosevic, "The
//!   latest gossip on BFT consensus", 2018, Algorithm 1), deterministic and free of I/O.
//!
//! Values are 32-byte block hashes; the host carries block bodies itself and tells the state
//! machine whether a proposed value is valid.

pub mod hexser;
pub mod tendermint;

use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};

/// A 32-byte hash (a block hash, the value consensus decides on).
pub type Hash = [u8; 32];

/// Domain separator for vote signatures; never reused for any other signed message.
pub const VOTE_DOMAIN: &[u8] = b"consortia/vote/v1\0";
/// Domain separator for proposal signatures.
pub const PROPOSAL_DOMAIN: &[u8] = b"consortia/proposal/v1\0";

/// The two voting steps of Tendermint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoteKind {
    Prevote,
    Precommit,
}

impl VoteKind {
    fn tag(self) -> u8 {
        match self {
            VoteKind::Prevote => 1,
            VoteKind::Precommit => 2,
        }
    }
}

/// The bytes a validator signs for a vote: a fixed binary layout, so that a verifier written
/// in any language can rebuild them.
///
/// `VOTE_DOMAIN ‖ kind:u8 ‖ height:u64be ‖ round:u32be ‖ has_value:u8 ‖ value:[u8;32]
/// (zeros when nil) ‖ chain_id_len:u16be ‖ chain_id (UTF-8)`
pub fn vote_sign_bytes(
    chain_id: &str,
    kind: VoteKind,
    height: u64,
    round: u32,
    value: Option<&Hash>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(VOTE_DOMAIN.len() + 48 + chain_id.len());
    out.extend_from_slice(VOTE_DOMAIN);
    out.push(kind.tag());
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&round.to_be_bytes());
    match value {
        Some(v) => {
            out.push(1);
            out.extend_from_slice(v);
        }
        None => {
            out.push(0);
            out.extend_from_slice(&[0u8; 32]);
        }
    }
    push_str(&mut out, chain_id);
    out
}

/// The bytes a proposer signs for a proposal:
/// `PROPOSAL_DOMAIN ‖ height:u64be ‖ round:u32be ‖ valid_round:i64be (-1 = none) ‖ value:[u8;32]
/// ‖ chain_id_len:u16be ‖ chain_id`.
pub fn proposal_sign_bytes(
    chain_id: &str,
    height: u64,
    round: u32,
    valid_round: Option<u32>,
    value: &Hash,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(PROPOSAL_DOMAIN.len() + 56 + chain_id.len());
    out.extend_from_slice(PROPOSAL_DOMAIN);
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&round.to_be_bytes());
    out.extend_from_slice(&valid_round.map_or(-1i64, i64::from).to_be_bytes());
    out.extend_from_slice(value);
    push_str(&mut out, chain_id);
    out
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..usize::from(len)]);
}

/// One validator: its ed25519 public key and voting power.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validator {
    /// Human-readable name (for logs and status); not part of any signature.
    #[serde(default)]
    pub name: String,
    #[serde(with = "hexser::array")]
    pub public_key: [u8; 32],
    pub power: u64,
}

/// The validator set of a chain, in a fixed order; a validator is referred to by its index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
}

/// Why a validator set is unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValidatorSetError {
    #[error("the validator set is empty")]
    Empty,
    #[error("validator {0} has zero voting power")]
    ZeroPower(usize),
    #[error("validator {0} repeats the public key of validator {1}")]
    DuplicateKey(usize, usize),
    #[error("validator {0} has an invalid ed25519 public key")]
    BadKey(usize),
    #[error("total voting power overflows")]
    Overflow,
}

impl ValidatorSet {
    pub fn new(validators: Vec<Validator>) -> Result<Self, ValidatorSetError> {
        let set = ValidatorSet { validators };
        set.validate()?;
        Ok(set)
    }

    /// Checks the invariants (used after deserialising).
    pub fn validate(&self) -> Result<(), ValidatorSetError> {
        if self.validators.is_empty() {
            return Err(ValidatorSetError::Empty);
        }
        let mut total: u64 = 0;
        for (i, v) in self.validators.iter().enumerate() {
            if v.power == 0 {
                return Err(ValidatorSetError::ZeroPower(i));
            }
            if VerifyingKey::from_bytes(&v.public_key).is_err() {
                return Err(ValidatorSetError::BadKey(i));
            }
            if let Some(j) = self.validators[..i]
                .iter()
                .position(|o| o.public_key == v.public_key)
            {
                return Err(ValidatorSetError::DuplicateKey(i, j));
            }
            total = total
                .checked_add(v.power)
                .ok_or(ValidatorSetError::Overflow)?;
        }
        // Keep 3 * total representable so quorum arithmetic cannot overflow.
        total.checked_mul(3).ok_or(ValidatorSetError::Overflow)?;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.validators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<&Validator> {
        self.validators.get(index)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Validator> {
        self.validators.iter()
    }

    pub fn index_of(&self, public_key: &[u8; 32]) -> Option<usize> {
        self.validators
            .iter()
            .position(|v| &v.public_key == public_key)
    }

    pub fn total_power(&self) -> u64 {
        self.validators.iter().map(|v| v.power).sum()
    }

    pub fn power_of(&self, index: usize) -> u64 {
        self.validators.get(index).map_or(0, |v| v.power)
    }

    /// More than two thirds of the total power (a quorum, "2f+1").
    pub fn is_quorum(&self, power: u64) -> bool {
        power.saturating_mul(3) > self.total_power().saturating_mul(2)
    }

    /// More than one third of the total power ("f+1": at least one correct validator).
    pub fn is_one_third(&self, power: u64) -> bool {
        power.saturating_mul(3) > self.total_power()
    }

    /// The proposer of `round` at `height`: round robin over the set, shifted by the height so
    /// that every validator proposes in turn.
    pub fn proposer(&self, height: u64, round: u32) -> usize {
        let n = self.validators.len() as u64;
        ((height.wrapping_add(u64::from(round))) % n) as usize
    }

    /// How many faulty validators (by count, with equal power) the set tolerates.
    pub fn max_faulty(&self) -> usize {
        (self.validators.len() - 1) / 3
    }
}

/// One validator's precommit signature inside a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitSig {
    /// Index of the validator in the chain's validator set.
    pub validator: u32,
    #[serde(with = "hexser::array")]
    pub signature: [u8; 64],
}

/// Proof that a quorum of validators precommitted `block_hash` at `height` in `round`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitCertificate {
    pub height: u64,
    pub round: u32,
    #[serde(with = "hexser::array")]
    pub block_hash: Hash,
    pub signatures: Vec<CommitSig>,
}

/// Why a commit certificate does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CertificateError {
    #[error("certificate is for height {found}, expected {expected}")]
    WrongHeight { expected: u64, found: u64 },
    #[error("certificate is for another block hash")]
    WrongBlock,
    #[error("signature {0} names validator {1}, which is not in the validator set")]
    UnknownValidator(usize, u32),
    #[error("validator {0} signs twice")]
    DuplicateSigner(u32),
    #[error("signature of validator {0} does not verify")]
    BadSignature(u32),
    #[error("signers hold {power} of {total} voting power; more than two thirds is needed")]
    NoQuorum { power: u64, total: u64 },
}

/// Verifies that `cert` proves a quorum of `validators` precommitted `block_hash` at `height`.
///
/// Every listed signature must be valid and come from a distinct validator in the set (a
/// certificate padded with invalid or repeated signatures is rejected, not just ignored), and
/// the signers must hold more than two thirds of the voting power.
pub fn verify_certificate(
    chain_id: &str,
    validators: &ValidatorSet,
    height: u64,
    block_hash: &Hash,
    cert: &CommitCertificate,
) -> Result<(), CertificateError> {
    if cert.height != height {
        return Err(CertificateError::WrongHeight {
            expected: height,
            found: cert.height,
        });
    }
    if &cert.block_hash != block_hash {
        return Err(CertificateError::WrongBlock);
    }
    let msg = vote_sign_bytes(
        chain_id,
        VoteKind::Precommit,
        cert.height,
        cert.round,
        Some(&cert.block_hash),
    );
    let mut seen = vec![false; validators.len()];
    let mut power = 0u64;
    let mut keys = Vec::with_capacity(cert.signatures.len());
    let mut sigs = Vec::with_capacity(cert.signatures.len());
    for (i, s) in cert.signatures.iter().enumerate() {
        let idx = s.validator as usize;
        let v = validators
            .get(idx)
            .ok_or(CertificateError::UnknownValidator(i, s.validator))?;
        if std::mem::replace(&mut seen[idx], true) {
            return Err(CertificateError::DuplicateSigner(s.validator));
        }
        let key = VerifyingKey::from_bytes(&v.public_key)
            .map_err(|_| CertificateError::BadSignature(s.validator))?;
        keys.push(key);
        sigs.push(Signature::from_bytes(&s.signature));
        power += v.power;
    }
    if !validators.is_quorum(power) {
        return Err(CertificateError::NoQuorum {
            power,
            total: validators.total_power(),
        });
    }
    for ((key, sig), s) in keys.iter().zip(&sigs).zip(&cert.signatures) {
        if key.verify_strict(&msg, sig).is_err() {
            return Err(CertificateError::BadSignature(s.validator));
        }
    }
    Ok(())
}

/// Verifies one vote signature.
pub fn verify_vote(
    chain_id: &str,
    public_key: &[u8; 32],
    kind: VoteKind,
    height: u64,
    round: u32,
    value: Option<&Hash>,
    signature: &[u8; 64],
) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    let msg = vote_sign_bytes(chain_id, kind, height, round, value);
    key.verify_strict(&msg, &Signature::from_bytes(signature))
        .is_ok()
}

/// Verifies one proposal signature.
pub fn verify_proposal(
    chain_id: &str,
    public_key: &[u8; 32],
    height: u64,
    round: u32,
    valid_round: Option<u32>,
    value: &Hash,
    signature: &[u8; 64],
) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    let msg = proposal_sign_bytes(chain_id, height, round, valid_round, value);
    key.verify_strict(&msg, &Signature::from_bytes(signature))
        .is_ok()
}
