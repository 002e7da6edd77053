//! The Consortia native chain's protocol as a library: transactions, blocks, genesis, accounts,
//! receipts and their offline verification, Merkle proofs, key files, the node configuration
//! file, the limits nodes enforce and an HTTP client of the node API.
//!
//! What the node binary (`consortia-node`), the API server, the operator and
//! `consortia-engines` share, without the node's server, storage and CLI. See
//! `crates/node/README.md` for the protocol and `RECEIPTS.md` for the receipt format a
//! verifier in any language implements.

pub mod account;
pub mod block;
#[cfg(feature = "client")]
pub mod client;
pub mod config;
pub mod error;
pub mod genesis;
pub mod keys;
pub mod limits;
pub mod merkle;
pub mod receipt;
pub mod tx;
pub mod verdict;

pub use consortia_bft::{Hash, hexser};
