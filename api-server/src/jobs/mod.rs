//! Work the server does on its own, started by `server.rs`: at start and on a schedule.

pub mod builtins;
pub mod chains;
pub mod deposits;
pub mod installations;
pub mod proposals;
pub mod renewal;
