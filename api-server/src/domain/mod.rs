//! Pure product rules: roles, tokens, pagination and input validation. No I/O here.

pub mod governance;
pub mod pagination;
pub mod roles;
pub mod tokens;
pub mod validation;
