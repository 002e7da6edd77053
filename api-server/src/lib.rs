//! Consortia's control-plane API server.
//!
//! Layers, imports pointing one way (`http -> service -> domain`, `service -> store -> db`,
//! `service -> runtime`); no module imports one above it and no two import each other
//! (`tests/layers.rs` fails on a cycle):
//!
//! - [`domain`]: pure types and rules, no I/O;
//! - [`store`]: every database query ([`db`] holds entities and migrations);
//! - [`runtime`]: where chains run (local processes or Kubernetes);
//! - [`service`]: the use cases, each with only the dependencies it needs, returning
//!   [`domain::error::Error`];
//! - [`jobs`]: work started at start-up or on a timer (resume, renewal, built-ins);
//! - [`http`]: extract, call a service, render a view; errors become RFC 9457 problems in
//!   one place;
//! - [`app`]: the state handlers share, wired once; [`server`] starts it all.

pub mod app;
pub mod bootstrap;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod oidc;
pub mod runtime;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;
