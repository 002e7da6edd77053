//! Blocks and their headers.

use borsh::{BorshDeserialize, BorshSerialize};
use consortia_bft::{CommitCertificate, Hash, hexser};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::merkle;
use crate::tx::SignedTx;

pub const HEADER_DOMAIN: &[u8] = b"consortia/header/v1\0";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub chain_id: String,
    pub height: u64,
    /// Proposer's clock, unix milliseconds; never below the previous block's.
    pub time_ms: u64,
    /// Hash of the previous block; the genesis hash for height 1.
    #[serde(with = "hexser::array")]
    pub prev_hash: Hash,
    /// RFC 6962 Merkle root over `leaf_hash(borsh(signed tx))` of the block's transactions.
    #[serde(with = "hexser::array")]
    pub tx_root: Hash,
    pub tx_count: u32,
    /// Commitment to every account after this block's transactions.
    #[serde(with = "hexser::array")]
    pub state_root: Hash,
    #[serde(with = "hexser::array")]
    pub validators_hash: Hash,
    /// Index of the proposing validator.
    pub proposer: u32,
    pub round: u32,
}

impl Header {
    /// `SHA-256(HEADER_DOMAIN ‖ borsh(header))`: the value consensus decides on.
    pub fn hash(&self) -> Hash {
        let mut h = Sha256::new();
        h.update(HEADER_DOMAIN);
        h.update(borsh::to_vec(self).expect("borsh to memory"));
        h.finalize().into()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub header: Header,
    pub txs: Vec<SignedTx>,
}

impl Block {
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }
}

/// A block with the certificate that committed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedBlock {
    pub block: Block,
    pub certificate: CommitCertificate,
}

/// Committed blocks with their certificates, from `GET /v1/blocks`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockPage {
    /// The serving node's committed height when it answered.
    pub height: u64,
    /// Consecutive blocks from the requested height (empty when it has none yet).
    pub blocks: Vec<CommittedBlock>,
}

/// The Merkle leaf of a transaction inside a block.
pub fn tx_leaf(tx: &SignedTx) -> Hash {
    merkle::leaf_hash(&borsh::to_vec(tx).expect("borsh to memory"))
}

pub fn tx_root(txs: &[SignedTx]) -> Hash {
    let leaves: Vec<Hash> = txs.iter().map(tx_leaf).collect();
    merkle::root(&leaves)
}
