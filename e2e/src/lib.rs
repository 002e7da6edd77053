//! Helpers of the real-cluster end-to-end suite (`tests/cluster.rs`).
//!
//! The suite installs the Helm chart into a fresh namespace, lets the operator provision
//! native chains, deposits evidence through `consortia-node` and checks what deleting a
//! chain leaves behind. It drives the same tools a user would (`kubectl`, `helm`,
//! `consortia-node`) as processes, so what it proves is what an operator of the platform
//! would see. Decisions (is this chain ready, what does its manifest say, which port did
//! kubectl pick) are plain functions tested here without a cluster; the rest is thin I/O.

pub mod chain;
pub mod config;
pub mod evidence;
pub mod kubectl;
pub mod node_cli;
pub mod port_forward;
pub mod process;
pub mod release;
pub mod wait;

/// Prints a step of the scenario so a CI log reads as a narrative.
pub fn step(what: &str) {
    eprintln!("\n==> {what}");
}
