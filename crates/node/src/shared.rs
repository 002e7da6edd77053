//! What the REST API handlers and the task that writes the chain (consensus driver or observer
//! follower) share, and what each kind of node publishes about itself.

use std::sync::{Arc, Mutex};

use consortia_bft::Hash;
use serde::Serialize;
use tokio::sync::{Notify, watch};

use crate::block::Block;
use crate::driver::{ConsensusStatus, Wire};
use crate::genesis::Genesis;
use crate::mempool::Mempool;
use crate::metrics::Metrics;
use crate::net::Network;
use crate::store::Store;
use crate::tx::SignedTx;

pub type NodeWire = Wire<Block, Vec<SignedTx>>;

/// What the API handlers and the task that writes the chain (consensus driver or observer
/// follower) share.
pub struct Shared {
    pub genesis: Genesis,
    pub genesis_hash: Hash,
    pub store: Store,
    /// Always empty on an observer, which admits no transactions.
    pub mempool: Mutex<Mempool>,
    pub wakeup: Arc<Notify>,
    pub height: watch::Receiver<u64>,
    pub metrics: Metrics,
    pub role: Role,
}

/// How a node takes part in the chain.
pub enum Role {
    /// Runs consensus over peer links (a validator when its key is in the genesis set).
    Validator(Consensus),
    /// Follows an upstream's committed blocks over its REST API; read-only.
    Observer(watch::Receiver<ObserverStatus>),
}

/// The consensus side of a validator, as the API sees it.
pub struct Consensus {
    pub public_key: [u8; 32],
    pub status: watch::Receiver<ConsensusStatus>,
    pub net: Network<NodeWire>,
}

impl Shared {
    /// Whether this node only follows the chain (and so refuses transactions).
    pub fn is_observer(&self) -> bool {
        matches!(self.role, Role::Observer(_))
    }
}

/// What an observer publishes on its status endpoint.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ObserverStatus {
    /// Every upstream it may follow, in the order given.
    pub upstreams: Vec<String>,
    /// The upstream it follows now.
    pub upstream: Option<String>,
    /// The committed height that upstream reported last.
    pub upstream_height: u64,
    /// Blocks verified and committed since the observer started.
    pub blocks_followed: u64,
    /// Blocks refused since the observer started.
    pub refused_blocks: u64,
    /// Why the last refused block was refused.
    pub last_refusal: Option<String>,
    /// The last failure to reach, or make sense of, an upstream.
    pub last_error: Option<String>,
}
