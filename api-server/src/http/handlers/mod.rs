//! Request handlers, one module per resource. Each reads: parse, authorize, act, answer.

pub mod alliances;
pub mod audit_events;
pub mod chains;
pub mod deposits;
pub mod installations;
pub mod me;
pub mod members;
pub mod ops;
pub mod pki;
pub mod sso;
pub mod templates;
pub mod tenants;
pub mod tokens;

use crate::http::problem::ApiError;

/// Turns a field check's message into a validation error at `pointer`.
pub fn check(pointer: &str, r: Result<(), String>) -> Result<(), ApiError> {
    r.map_err(|m| ApiError::field(pointer, m))
}
