//! Transactions: what an account asks the chain to do, signed by the account's keys.
//!
//! The transaction hash is `SHA-256(TX_DOMAIN ‖ borsh(Tx))`; every signature is an ed25519
//! signature over that 32-byte hash. Signatures are not part of the hash, so a transaction's
//! identity cannot be changed by re-signing it.

use std::collections::HashSet;

use borsh::{BorshDeserialize, BorshSerialize};
use consortia_bft::{Hash, hexser};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::TxError;

pub const TX_DOMAIN: &[u8] = b"consortia/tx/v1\0";
/// Largest encoded signed transaction accepted.
pub const MAX_TX_BYTES: usize = 8 * 1024;
/// Most keys an account may hold.
pub const MAX_KEYS: usize = 16;
/// Longest external id of a deposit.
pub const MAX_EXTERNAL_ID: usize = 128;

/// Account ids: 3–64 characters of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn check_account_id(id: &str) -> Result<(), TxError> {
    let ok = (3..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && id.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(TxError::BadAccountId(id.chars().take(80).collect()))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightedKey {
    #[serde(with = "hexser::array")]
    pub public_key: [u8; 32],
    pub weight: u32,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum HashAlg {
    Sha256,
    /// SHA3-256 (FIPS 202).
    #[serde(rename = "sha3-256")]
    Sha3_256,
    /// SM3 (GB/T 32905), the Chinese national standard digest.
    Sm3,
    Sha512,
}

impl HashAlg {
    /// Every algorithm, in encoding order.
    pub const ALL: [HashAlg; 4] = [
        HashAlg::Sha256,
        HashAlg::Sha3_256,
        HashAlg::Sm3,
        HashAlg::Sha512,
    ];

    pub fn digest_len(self) -> usize {
        match self {
            HashAlg::Sha256 | HashAlg::Sha3_256 | HashAlg::Sm3 => 32,
            HashAlg::Sha512 => 64,
        }
    }

    /// The name used in JSON (`sha256`, `sha3-256`, `sm3`, `sha512`).
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha3_256 => "sha3-256",
            HashAlg::Sm3 => "sm3",
            HashAlg::Sha512 => "sha512",
        }
    }

    pub fn parse(name: &str) -> Option<HashAlg> {
        HashAlg::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// What a transaction does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// Creates a new account, paid for (nonce) by the sending account.
    CreateAccount {
        id: String,
        keys: Vec<WeightedKey>,
        threshold: u32,
        #[serde(default, with = "hexser::option_array")]
        recovery_key: Option<[u8; 32]>,
    },
    AddKey {
        key: WeightedKey,
    },
    RemoveKey {
        #[serde(with = "hexser::array")]
        public_key: [u8; 32],
    },
    SetThreshold {
        threshold: u32,
    },
    SetRecoveryKey {
        #[serde(default, with = "hexser::option_array")]
        recovery_key: Option<[u8; 32]>,
    },
    /// Replaces every key and the threshold; authorised by the recovery key alone.
    Recover {
        keys: Vec<WeightedKey>,
        threshold: u32,
    },
    /// Evidence deposit: records a content hash with metadata.
    Deposit {
        hash_alg: HashAlg,
        #[serde(with = "hexser::bytes")]
        content_hash: Vec<u8>,
        #[serde(default)]
        metadata: String,
        #[serde(default)]
        external_id: Option<String>,
    },
}

impl Op {
    pub fn kind(&self) -> &'static str {
        match self {
            Op::CreateAccount { .. } => "create_account",
            Op::AddKey { .. } => "add_key",
            Op::RemoveKey { .. } => "remove_key",
            Op::SetThreshold { .. } => "set_threshold",
            Op::SetRecoveryKey { .. } => "set_recovery_key",
            Op::Recover { .. } => "recover",
            Op::Deposit { .. } => "deposit",
        }
    }
}

/// The signed body of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct Tx {
    pub chain_id: String,
    /// The account acting.
    pub account: String,
    /// Must be the account's last nonce + 1.
    pub nonce: u64,
    /// The last height at which the transaction may be included.
    pub expiry_height: u64,
    pub op: Op,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct TxSignature {
    #[serde(with = "hexser::array")]
    pub public_key: [u8; 32],
    #[serde(with = "hexser::array")]
    pub signature: [u8; 64],
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedTx {
    pub tx: Tx,
    pub signatures: Vec<TxSignature>,
}

impl Tx {
    pub fn hash(&self) -> Hash {
        let mut h = Sha256::new();
        h.update(TX_DOMAIN);
        h.update(borsh::to_vec(self).expect("borsh encoding to memory cannot fail"));
        h.finalize().into()
    }

    /// Signs with each key.
    pub fn sign(self, keys: &[&SigningKey]) -> SignedTx {
        let hash = self.hash();
        SignedTx {
            signatures: keys
                .iter()
                .map(|k| TxSignature {
                    public_key: k.verifying_key().to_bytes(),
                    signature: k.sign(&hash).to_bytes(),
                })
                .collect(),
            tx: self,
        }
    }
}

impl SignedTx {
    pub fn hash(&self) -> Hash {
        self.tx.hash()
    }

    pub fn encoded_len(&self) -> usize {
        borsh::object_length(self).unwrap_or(usize::MAX)
    }

    pub fn signers(&self) -> impl Iterator<Item = &[u8; 32]> {
        self.signatures.iter().map(|s| &s.public_key)
    }

    /// Checks that need no chain state; signatures are checked separately (in batches).
    pub fn check_stateless(&self, chain_id: &str, max_metadata: usize) -> Result<(), TxError> {
        let tx = &self.tx;
        if tx.chain_id != chain_id {
            return Err(TxError::WrongChainId {
                expected: chain_id.to_string(),
                got: tx.chain_id.chars().take(80).collect(),
            });
        }
        let len = self.encoded_len();
        if len > MAX_TX_BYTES {
            return Err(TxError::TooLarge {
                size: len,
                max: MAX_TX_BYTES,
            });
        }
        check_account_id(&tx.account)?;
        if tx.nonce == 0 {
            return Err(TxError::ZeroNonce);
        }
        if self.signatures.is_empty() {
            return Err(TxError::Unsigned);
        }
        let mut seen = HashSet::new();
        for s in &self.signatures {
            if !seen.insert(s.public_key) {
                return Err(TxError::DuplicateSigner(hex::encode(s.public_key)));
            }
        }
        match &tx.op {
            Op::CreateAccount {
                id,
                keys,
                threshold,
                ..
            } => {
                check_account_id(id)?;
                check_keys(keys, *threshold)?;
            }
            Op::AddKey { key } => {
                check_key(&key.public_key)?;
                if key.weight == 0 {
                    return Err(TxError::ZeroWeight);
                }
            }
            Op::RemoveKey { .. } => {}
            Op::SetThreshold { threshold } => {
                if *threshold == 0 {
                    return Err(TxError::ZeroThreshold);
                }
            }
            Op::SetRecoveryKey { recovery_key } => {
                if let Some(k) = recovery_key {
                    check_key(k)?;
                }
            }
            Op::Recover { keys, threshold } => check_keys(keys, *threshold)?,
            Op::Deposit {
                hash_alg,
                content_hash,
                metadata,
                external_id,
            } => {
                if content_hash.len() != hash_alg.digest_len() {
                    return Err(TxError::BadHashLength {
                        expected: hash_alg.digest_len(),
                        got: content_hash.len(),
                    });
                }
                if metadata.len() > max_metadata {
                    return Err(TxError::MetadataTooLarge {
                        size: metadata.len(),
                        max: max_metadata,
                    });
                }
                if let Some(e) = external_id
                    && (e.is_empty() || e.len() > MAX_EXTERNAL_ID)
                {
                    return Err(TxError::BadExternalId);
                }
            }
        }
        Ok(())
    }

    /// Verifies every signature (one by one).
    ///
    /// Transaction signatures follow ZIP 215: the cofactored equation `[8][s]B = [8]R + [8][k]A`,
    /// `s` canonical, and keys that are not small-order points. Under these rules one-by-one and
    /// batch verification give the same verdict for every input, which consensus needs: with
    /// RFC 8032 "strict" single checks beside cofactored batch checks, a crafted signature
    /// (a torsion component in `R`) passes in one node's batch and fails another node's single
    /// check, and honest nodes disagree on whether a block is valid.
    pub fn verify_signatures(&self) -> Result<(), TxError> {
        let hash = self.hash();
        for s in &self.signatures {
            let ok = verifying_key(&s.public_key).is_some_and(|k| {
                k.verify(&ed25519_zebra::Signature::from_bytes(&s.signature), &hash)
                    .is_ok()
            });
            if !ok {
                return Err(TxError::BadSignature(hex::encode(s.public_key)));
            }
        }
        Ok(())
    }
}

/// Decompressed public keys, by their bytes. Decompressing an ed25519 point costs about as
/// much as a third of a verification, and a chain sees the same few keys sign again and
/// again; the cache is bounded and simply cleared when full.
static KEYS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<[u8; 32], ed25519_zebra::VerificationKey>>,
> = std::sync::LazyLock::new(Default::default);
const KEY_CACHE_MAX: usize = 100_000;

/// The public key, decompressed and checked (a curve point, not of small order), from the
/// cache. The same rule as account keys get when they are registered ([`check_keys`]).
pub fn verifying_key(bytes: &[u8; 32]) -> Option<ed25519_zebra::VerificationKey> {
    let mut cache = KEYS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(k) = cache.get(bytes) {
        return Some(*k);
    }
    check_key(bytes).ok()?;
    let k = ed25519_zebra::VerificationKey::try_from(*bytes).ok()?;
    if cache.len() >= KEY_CACHE_MAX {
        cache.clear();
    }
    cache.insert(*bytes, k);
    Some(k)
}

/// Verifies the signatures of many transactions with ZIP 215 batch verification (which agrees
/// with [`SignedTx::verify_signatures`] on every input); on a batch failure falls back to one
/// by one to tell which. Returns one verdict per transaction. `hashes` are the transactions'
/// hashes (computed once by the caller).
pub fn verify_batch(txs: &[&SignedTx], hashes: &[Hash]) -> Vec<Result<(), TxError>> {
    let mut batch = ed25519_zebra::batch::Verifier::new();
    let mut queued = 0usize;
    let mut verdicts: Vec<Result<(), TxError>> = vec![Ok(()); txs.len()];
    for (i, (tx, hash)) in txs.iter().zip(hashes).enumerate() {
        for s in &tx.signatures {
            match verifying_key(&s.public_key) {
                Some(k) => {
                    batch.queue((
                        ed25519_zebra::VerificationKeyBytes::from(k),
                        ed25519_zebra::Signature::from_bytes(&s.signature),
                        hash,
                    ));
                    queued += 1;
                }
                None => verdicts[i] = Err(TxError::BadSignature(hex::encode(s.public_key))),
            }
        }
    }
    if queued > 0 && verdicts.iter().all(|v| v.is_ok()) && batch.verify(rand_core_06::OsRng).is_ok()
    {
        return verdicts;
    }
    for (i, tx) in txs.iter().enumerate() {
        if verdicts[i].is_ok() {
            verdicts[i] = tx.verify_signatures();
        }
    }
    verdicts
}

fn check_key(k: &[u8; 32]) -> Result<(), TxError> {
    match VerifyingKey::from_bytes(k) {
        Ok(v) if !v.is_weak() => Ok(()),
        _ => Err(TxError::BadKey(hex::encode(k))),
    }
}

pub(crate) fn check_keys(keys: &[WeightedKey], threshold: u32) -> Result<(), TxError> {
    if keys.is_empty() {
        return Err(TxError::NoKeys);
    }
    if keys.len() > MAX_KEYS {
        return Err(TxError::TooManyKeys { max: MAX_KEYS });
    }
    let mut seen = HashSet::new();
    let mut total: u64 = 0;
    for k in keys {
        check_key(&k.public_key)?;
        if k.weight == 0 {
            return Err(TxError::ZeroWeight);
        }
        if !seen.insert(k.public_key) {
            return Err(TxError::DuplicateKey(hex::encode(k.public_key)));
        }
        total += u64::from(k.weight);
    }
    if threshold == 0 {
        return Err(TxError::ZeroThreshold);
    }
    if u64::from(threshold) > total {
        return Err(TxError::Unreachable { threshold, total });
    }
    Ok(())
}
