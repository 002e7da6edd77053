//! Consortia's custom resources. `Chain` describes a consortium chain — its engine, members
//! and their nodes — and reports what the operator made of it.
//!
//! Every field carries a description (so `kubectl explain chain.spec` is useful), enums and
//! bounds are part of the schema, and CEL rules reject combinations the schema alone cannot
//! (a consensus that does not belong to the engine, duplicate members, changing the engine).
//!
//! It is also the contract between the API server and the operator: one [`Engine`] with its
//! consensus table ([`engine`]), one [`Phase`], and the object names and labels both sides
//! rely on ([`contract`]).

// clippy reads the repeated `type_ = ...` inside separate `printcolumn(...)` groups of the
// `#[kube]` attribute as duplicated attributes; they are not.
#![allow(clippy::duplicated_attributes)]

pub mod contract;
pub mod engine;
mod phase;

pub use engine::Engine;
pub use phase::Phase;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, CustomResourceExt, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A consortium chain, provisioned and kept running by the Consortia operator.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "consortia.dev",
    version = "v1alpha1",
    kind = "Chain",
    namespaced,
    shortname = "ch",
    status = "ChainStatus",
    doc = "A consortium chain: its engine, its member organisations and their nodes.",
    printcolumn(
        name = "Engine",
        type_ = "string",
        description = "Chain engine",
        json_path = ".spec.engine"
    ),
    printcolumn(
        name = "Phase",
        type_ = "string",
        description = "Lifecycle phase",
        json_path = ".status.phase"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        description = "Ready nodes / all nodes",
        json_path = ".status.readyDisplay"
    ),
    printcolumn(
        name = "Height",
        type_ = "integer",
        description = "Latest block height",
        json_path = ".status.blockHeight"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        description = "Time since creation",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.members.all(m, self.members.exists_one(n, n.name == m.name))").message("member names must be unique"))]
#[x_kube(validation = Rule::new(engine::consensus_rule()).message(Message::Message(engine::consensus_message())))]
pub struct ChainSpec {
    /// The chain software: `native`, `fabric` or `quorum`. Cannot be changed after creation.
    #[x_kube(validation = Rule::new("self == oldSelf").message("engine is immutable"))]
    pub engine: Engine,
    /// Engine version (image tag), e.g. `2.5.12` for Fabric; the operator's default when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub version: Option<String>,
    /// Consensus protocol: `bft` (native), `etcdraft` or `bft` (Fabric), `qbft` or `raft` (Quorum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(bft|etcdraft|qbft|raft)$"))]
    pub consensus: Option<String>,
    /// The member organisations and the nodes each one runs. Each member's nodes are its own
    /// workloads and volumes.
    #[schemars(length(min = 1, max = 64))]
    pub members: Vec<MemberSpec>,
    /// Persistent storage of every node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSpec>,
    /// Container images to use instead of the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<ImagesSpec>,
    /// How clients outside the cluster reach the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure: Option<ExposureSpec>,
    /// Compute resources of every node container (requests and limits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<k8s_openapi::api::core::v1::ResourceRequirements>,
    /// What happens to the chain's data when the Chain is deleted: `Retain` (the default)
    /// keeps the nodes' volumes and the key Secret, `Delete` removes them.
    #[serde(default)]
    pub retain_policy: RetainPolicy,
}

/// Whether a chain's data outlives the Chain resource.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RetainPolicy {
    /// Keep the nodes' volumes (PersistentVolumeClaims) and the key Secret.
    #[default]
    Retain,
    /// Delete the nodes' volumes and the key Secret with the Chain.
    Delete,
}

/// One member organisation of the chain.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberSpec {
    /// Short name, unique in the chain: a DNS label used in the names of the member's workloads.
    #[schemars(
        length(min = 1, max = 40),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub name: String,
    /// Organisation id (the Fabric MSP id), e.g. `Org1MSP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 64),
        regex(pattern = r"^[A-Za-z][A-Za-z0-9.-]*$")
    )]
    pub msp_id: Option<String>,
    /// Validator nodes (native, Quorum) of this member.
    #[serde(default)]
    #[schemars(range(min = 0, max = 16))]
    pub validators: u32,
    /// Observer nodes (native) of this member: read-only nodes that follow the validators,
    /// check every block's commit certificate against the genesis and serve reads and
    /// receipts. Unlike validators they can be added and removed at any time.
    #[serde(default)]
    #[schemars(range(min = 0, max = 16))]
    pub observers: u32,
    /// Peer nodes (Fabric) of this member.
    #[serde(default)]
    #[schemars(range(min = 0, max = 16))]
    pub peers: u32,
    /// Orderer nodes (Fabric) of this member.
    #[serde(default)]
    #[schemars(range(min = 0, max = 16))]
    pub orderers: u32,
}

/// Storage of the nodes' data.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// Volume size per node, as a Kubernetes quantity, e.g. `10Gi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"))]
    pub size: Option<String>,
    /// StorageClass of the volumes; the cluster default when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
}

/// Image overrides.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImagesSpec {
    /// Image of native-chain nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Image of Fabric peers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// Image of Fabric orderers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orderer: Option<String>,
    /// Image of GoQuorum nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<String>,
}

/// Service type of the client endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ServiceType {
    /// Inside the cluster only (default).
    ClusterIP,
    /// A port on every node.
    NodePort,
    /// A cloud load balancer.
    LoadBalancer,
}

/// Exposure of the chain's client API.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExposureSpec {
    /// Service type of the client endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<ServiceType>,
}

/// What the operator observed.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainStatus {
    /// Lifecycle phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// `Ready`, `Progressing` and `Degraded`, with reasons and messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Nodes that are ready.
    #[serde(default)]
    pub ready_nodes: u32,
    /// Nodes the chain should have.
    #[serde(default)]
    pub total_nodes: u32,
    /// `ready/total`, for `kubectl get`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_display: Option<String>,
    /// Latest block height reported by the nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_height: Option<u64>,
    /// Hash of the genesis block (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genesis_hash: Option<String>,
    /// Client endpoints, `host:port`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<String>,
}

/// Every custom resource definition of Consortia, in a stable order.
pub fn all()
-> Vec<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>
{
    vec![Chain::crd()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_crd_has_what_kubectl_users_need() {
        let crd = serde_json::to_value(Chain::crd()).unwrap();
        let v = &crd["spec"]["versions"][0];
        assert_eq!(crd["spec"]["names"]["shortNames"][0], "ch");
        assert_eq!(crd["spec"]["scope"], "Namespaced");
        assert!(v["subresources"]["status"].is_object());
        let cols: Vec<&str> = v["additionalPrinterColumns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(cols, ["Engine", "Phase", "Ready", "Height", "Age"]);
        let spec = &v["schema"]["openAPIV3Schema"]["properties"]["spec"];
        let text = spec.to_string();
        assert!(text.contains("x-kubernetes-validations"), "{text}");
        assert!(text.contains("self == oldSelf"));
        assert_eq!(
            spec["properties"]["engine"]["enum"],
            serde_json::json!(["native", "fabric", "quorum"])
        );
        // Every property of the spec and the status has a description.
        fn described(schema: &serde_json::Value, path: &str, missing: &mut Vec<String>) {
            if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
                for (k, p) in props {
                    let here = format!("{path}.{k}");
                    if p.get("description").is_none() && !path.ends_with("conditions") {
                        missing.push(here.clone());
                    }
                    described(p, &here, missing);
                    if let Some(items) = p.get("items") {
                        described(items, &format!("{here}[]"), missing);
                    }
                }
            }
        }
        let mut missing = Vec::new();
        described(spec, "spec", &mut missing);
        described(
            &v["schema"]["openAPIV3Schema"]["properties"]["status"],
            "status",
            &mut missing,
        );
        let missing: Vec<_> = missing
            .into_iter()
            .filter(|m| !m.contains("conditions[]"))
            .collect();
        assert!(
            missing.is_empty(),
            "fields without a description: {missing:?}"
        );
    }
}
