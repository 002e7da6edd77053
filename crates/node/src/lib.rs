//! The Consortia native chain node: a permissioned BFT chain (Tendermint, see
//! `consortia-bft`) with weighted-key accounts and evidence deposits whose receipts verify
//! offline. See the crate README for the protocol, formats and commands.

pub mod api;
pub mod bench;
pub mod block;
pub mod client;
pub mod config;
pub mod driver;
pub mod error;
pub mod genesis;
pub mod keys;
pub mod ledger;
pub mod mempool;
pub mod merkle;
pub mod metrics;
pub mod net;
pub mod node;
pub mod observer;
pub mod receipt;
pub mod state;
pub mod store;
pub mod testnet;
pub mod tx;

pub use consortia_bft::{Hash, hexser};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
