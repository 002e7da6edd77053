//! Use cases. Each service holds only what it needs (a database pool, the clock, a key,
//! another service) and returns [`crate::domain::error::Error`]; transactions begin and end
//! here, every query is in [`crate::store`].

pub mod access;
pub mod alliances;
pub mod audit;
pub mod chains;
pub mod crls;
pub mod deposits;
pub mod governance;
pub mod installations;
pub mod live;
pub mod members;
pub mod pki;
pub mod signer;
pub mod signin;
pub mod templates;
pub mod tenants;
pub mod tokens;
pub mod watchers;
