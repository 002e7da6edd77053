//! Pure product rules and types: errors, audit notes, roles, tokens, governance, pagination
//! and input validation. No I/O here.

pub mod audit;
pub mod chains;
pub mod deposits;
pub mod error;
pub mod governance;
pub mod pagination;
pub mod pki;
pub mod roles;
pub mod status;
pub mod templates;
pub mod tenants;
pub mod tokens;
pub mod validation;
