//! Wiring: the application state every request shares, built once at start-up.

pub mod state;

pub use state::{AppState, Infra};
