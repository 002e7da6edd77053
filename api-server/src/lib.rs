//! Consortia's control-plane API server: tenants, users, roles, tokens and audit today;
//! alliances, PKI, marketplace and chains grow from here.

pub mod bootstrap;
pub mod clock;
pub mod config;
pub mod db;
pub mod deposit;
pub mod domain;
pub mod http;
pub mod marketplace;
pub mod pki;
pub mod runtime;
pub mod server;
pub mod sso;
pub mod state;
pub mod store;
pub mod telemetry;
