//! Use cases. Each service holds only what it needs (a database pool, the clock, a key,
//! another service) and returns [`crate::domain::error::Error`]; transactions begin and end
//! here, every query is in [`crate::store`].

pub mod access;
pub mod audit;
pub mod members;
pub mod tenants;
pub mod tokens;
