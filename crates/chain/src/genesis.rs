//! The genesis file: chain id, validator set, initial accounts and parameters. Its hash
//! (over a canonical encoding, not the JSON text) links block 1 to it.

use std::collections::HashSet;
use std::path::Path;

use borsh::{BorshDeserialize, BorshSerialize};
use consortia_bft::tendermint::Timeouts;
use consortia_bft::{Hash, ValidatorSet, hexser};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::tx::{WeightedKey, check_account_id};

pub const GENESIS_DOMAIN: &[u8] = b"consortia/genesis/v1\0";
pub const VALIDATORS_DOMAIN: &[u8] = b"consortia/validators/v1\0";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    pub id: String,
    pub keys: Vec<WeightedKey>,
    pub threshold: u32,
    #[serde(default, with = "hexser::option_array")]
    pub recovery_key: Option<[u8; 32]>,
}

/// Chain parameters. Every node of a chain must use the same values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    pub max_block_txs: u32,
    pub max_block_bytes: u64,
    pub max_metadata_bytes: u32,
    pub mempool_max_txs: u32,
    /// How far ahead of an account's next nonce a pending transaction may be.
    pub nonce_window: u64,
    pub propose_timeout_ms: u64,
    pub propose_timeout_delta_ms: u64,
    pub prevote_timeout_ms: u64,
    pub prevote_timeout_delta_ms: u64,
    pub precommit_timeout_ms: u64,
    pub precommit_timeout_delta_ms: u64,
    /// Pause after a commit before the next height (lets transactions gather).
    pub commit_delay_ms: u64,
    /// A proposer with nothing to include waits this long before an empty block.
    pub empty_block_ms: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            max_block_txs: 10_000,
            max_block_bytes: 16 << 20,
            max_metadata_bytes: 4096,
            mempool_max_txs: 100_000,
            nonce_window: 10_000,
            propose_timeout_ms: 3000,
            propose_timeout_delta_ms: 500,
            prevote_timeout_ms: 1000,
            prevote_timeout_delta_ms: 500,
            precommit_timeout_ms: 1000,
            precommit_timeout_delta_ms: 500,
            commit_delay_ms: 0,
            empty_block_ms: 1000,
        }
    }
}

impl Params {
    /// Values every node can work with.
    pub fn validate(&self) -> Result<(), GenesisError> {
        let p = self;
        if p.max_block_txs == 0 || p.max_block_txs > 100_000 {
            return Err(GenesisError::Param("max_block_txs"));
        }
        // A block must hold at least one transaction, and its proposal must fit in a peer
        // frame (with room for the rest of the message).
        if p.max_block_bytes < crate::tx::MAX_TX_BYTES as u64
            || p.max_block_bytes > (crate::limits::MAX_FRAME / 3 * 2) as u64
        {
            return Err(GenesisError::Param("max_block_bytes"));
        }
        if p.max_metadata_bytes == 0 || p.max_metadata_bytes > 64 * 1024 {
            return Err(GenesisError::Param("max_metadata_bytes"));
        }
        if p.mempool_max_txs == 0 {
            return Err(GenesisError::Param("mempool_max_txs"));
        }
        if p.propose_timeout_ms == 0 || p.prevote_timeout_ms == 0 || p.precommit_timeout_ms == 0 {
            return Err(GenesisError::Param("timeouts"));
        }
        Ok(())
    }

    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            propose_ms: self.propose_timeout_ms,
            propose_delta_ms: self.propose_timeout_delta_ms,
            prevote_ms: self.prevote_timeout_ms,
            prevote_delta_ms: self.prevote_timeout_delta_ms,
            precommit_ms: self.precommit_timeout_ms,
            precommit_delta_ms: self.precommit_timeout_delta_ms,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    pub chain_id: String,
    /// Unix milliseconds.
    pub genesis_time_ms: u64,
    pub validators: ValidatorSet,
    #[serde(default)]
    pub accounts: Vec<GenesisAccount>,
    #[serde(default)]
    pub params: Params,
}

#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid genesis file: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("chain id must be 1-64 characters of a-z A-Z 0-9 . _ -")]
    ChainId,
    #[error("validator set: {0}")]
    Validators(#[from] consortia_bft::ValidatorSetError),
    #[error("account {0}: {1}")]
    Account(String, crate::error::TxError),
    #[error("account {0:?} is listed twice")]
    DuplicateAccount(String),
    #[error("parameter {0} is out of range")]
    Param(&'static str),
}

pub fn check_chain_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

impl Genesis {
    pub fn load(path: &Path) -> Result<Genesis, GenesisError> {
        let p = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| GenesisError::Read {
            path: p.clone(),
            source,
        })?;
        let g: Genesis = serde_json::from_slice(&bytes)
            .map_err(|source| GenesisError::Parse { path: p, source })?;
        g.validate()?;
        Ok(g)
    }

    pub fn validate(&self) -> Result<(), GenesisError> {
        if !check_chain_id(&self.chain_id) {
            return Err(GenesisError::ChainId);
        }
        self.validators.validate()?;
        let mut ids = HashSet::new();
        for a in &self.accounts {
            check_account_id(&a.id).map_err(|e| GenesisError::Account(a.id.clone(), e))?;
            crate::tx::check_keys(&a.keys, a.threshold)
                .map_err(|e| GenesisError::Account(a.id.clone(), e))?;
            if !ids.insert(&a.id) {
                return Err(GenesisError::DuplicateAccount(a.id.clone()));
            }
        }
        self.params.validate()
    }

    /// `SHA-256(GENESIS_DOMAIN ‖ borsh(chain_id, time, validators (name, key, power), accounts,
    /// params))`.
    pub fn hash(&self) -> Hash {
        let validators: Vec<(String, [u8; 32], u64)> = self
            .validators
            .iter()
            .map(|v| (v.name.clone(), v.public_key, v.power))
            .collect();
        let body = borsh::to_vec(&(
            &self.chain_id,
            self.genesis_time_ms,
            validators,
            &self.accounts,
            &self.params,
        ))
        .expect("borsh to memory");
        let mut h = Sha256::new();
        h.update(GENESIS_DOMAIN);
        h.update(body);
        h.finalize().into()
    }

    pub fn validators_hash(&self) -> Hash {
        validators_hash(&self.validators)
    }
}

/// Commits to the keys and powers of a validator set (names excluded).
pub fn validators_hash(vs: &ValidatorSet) -> Hash {
    let mut h = Sha256::new();
    h.update(VALIDATORS_DOMAIN);
    for v in vs.iter() {
        h.update(v.public_key);
        h.update(v.power.to_be_bytes());
    }
    h.finalize().into()
}
