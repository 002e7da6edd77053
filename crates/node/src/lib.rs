//! The Consortia native chain node: a permissioned BFT chain (Tendermint, see
//! `consortia-bft`) with weighted-key accounts and evidence deposits whose receipts verify
//! offline. The protocol itself (transactions, blocks, genesis, receipts, keys, client) is the
//! `consortia-chain` library; this crate is the node's server: p2p, storage, mempool,
//! consensus driver, REST API, observer and CLI. See the crate README for the protocol,
//! formats and commands.

pub mod admission;
pub mod api;
pub mod bench;
pub mod driver;
pub mod ledger;
pub mod mempool;
pub mod metrics;
pub mod net;
pub mod node;
pub mod observer;
pub mod shared;
pub mod state;
pub mod store;
pub mod testnet;

// The protocol lives in `consortia-chain`; its modules keep their paths in this crate so the
// node's code and tests name them as before (`crate::tx`, `consortia_node::receipt`).
pub use consortia_chain::{
    Hash, account, block, client, config, error, genesis, hexser, keys, limits, merkle, receipt, tx,
};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
