//! The Consortia operator: reconciles `Chain` resources into running consortium chains.
//!
//! - [`resources`]: the desired objects of a Chain, a pure function (golden-file tested);
//! - [`status`]: spec checks beyond the schema and the status, pure functions;
//! - [`controller`]: the reconcile loop (keys made once, server-side apply, status, finalizer);
//! - [`leader`]: Lease-based leader election; [`metrics`], [`probe`], [`serve`]: plumbing.

pub mod controller;
pub mod leader;
pub mod metrics;
pub mod probe;
pub mod resources;
pub mod serve;
pub mod status;

/// Every custom resource definition as one multi-document YAML stream.
pub fn crd_yaml() -> anyhow::Result<String> {
    let mut out = String::new();
    for crd in consortia_crds::all() {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&crd)?);
    }
    Ok(out)
}
