//! The lifecycle phase of a chain, as the operator writes it in a `Chain`'s status and as the
//! API server's runtimes report it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

// Kubernetes spells the values as declared (`Running`); the API server's JSON spells them in
// snake case (`running`, see `Phase::api_name`). The doc line below is the CRD's description.
/// Lifecycle phase of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Phase {
    /// Accepted, nothing created yet.
    Pending,
    /// Keys, genesis and workloads are being created or changed.
    Provisioning,
    /// Every node is ready and the chain makes blocks.
    Running,
    /// Some nodes are not ready, but the chain can go on.
    Degraded,
    /// The chain cannot be provisioned as specified.
    Failed,
    /// Not running: stopped, being deleted, or unknown to the runtime. Only the API server's
    /// runtimes report it; a `Chain`'s status never holds it.
    #[schemars(skip)]
    Stopped,
}

impl Phase {
    /// The phase's name in the API server's JSON.
    pub fn api_name(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Provisioning => "provisioning",
            Phase::Running => "running",
            Phase::Degraded => "degraded",
            Phase::Failed => "failed",
            Phase::Stopped => "stopped",
        }
    }

    /// Serializes the phase as the API server names it (`#[serde(serialize_with = ...)]`).
    pub fn serialize_api<S: serde::Serializer>(phase: &Phase, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(phase.api_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_and_the_api_spell_phases_their_own_way() {
        #[derive(Serialize)]
        struct Api(#[serde(serialize_with = "Phase::serialize_api")] Phase);
        for (phase, kube, api) in [
            (Phase::Pending, "Pending", "pending"),
            (Phase::Provisioning, "Provisioning", "provisioning"),
            (Phase::Running, "Running", "running"),
            (Phase::Degraded, "Degraded", "degraded"),
            (Phase::Failed, "Failed", "failed"),
            (Phase::Stopped, "Stopped", "stopped"),
        ] {
            assert_eq!(serde_json::to_value(phase).unwrap(), kube);
            assert_eq!(serde_json::to_value(Api(phase)).unwrap(), api);
        }
    }

    #[test]
    fn a_chain_status_never_declares_stopped() {
        use kube::CustomResourceExt;
        let crd = serde_json::to_value(crate::Chain::crd()).unwrap();
        let status =
            &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"];
        assert_eq!(
            status["properties"]["phase"]["enum"],
            serde_json::json!(["Pending", "Provisioning", "Running", "Degraded", "Failed"])
        );
    }
}
