//! Per-engine material: everything a chain of a given engine needs before its first node
//! starts (keys, genesis, node configuration). The operator and the API server's local
//! runtime both take it from here, so there is one definition of "what a 4-validator native
//! chain is".

pub mod native;
pub mod quorum;
