//! What the Kubernetes runtime writes and how it reads what the operator reports: plain
//! functions from a plan to objects and from objects to a [`ChainReport`].

use std::collections::BTreeMap;

use consortia_crds::contract::{CHAIN_ID_LABEL, CHAIN_LABEL, MEMBER_LABEL, keys_secret_name};
use consortia_crds::{Chain, ChainSpec, MemberSpec, RetainPolicy};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::ResourceExt;
use kube::api::ObjectMeta;

use crate::runtime::{ChainPlan, ChainReport, NodePlan, NodeReport, NodeState, Phase};

/// Field manager of every write, and the `managed-by` label of the key Secret and the Chain.
pub const FIELD_MANAGER: &str = "consortia-api";
const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The operator's condition types (operator/src/status.rs).
const READY: &str = "Ready";
const SPEC_VALID: &str = "SpecValid";
/// Why a container that keeps exiting waits: the kubelet restarts it after a backoff.
const CRASH_LOOP: &str = "CrashLoopBackOff";

fn labels(plan: &ChainPlan, with_chain: bool) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        (CHAIN_ID_LABEL.to_string(), plan.id.to_string()),
        (MANAGED_BY_LABEL.to_string(), FIELD_MANAGER.to_string()),
    ]);
    if with_chain {
        labels.insert(CHAIN_LABEL.to_string(), plan.name.clone());
    }
    labels
}

/// The chain's key Secret: the plan's material files, immutable.
pub fn keys_secret(plan: &ChainPlan, namespace: &str) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(keys_secret_name(&plan.name)),
            namespace: Some(namespace.to_string()),
            labels: Some(labels(plan, true)),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_string()),
        immutable: Some(true),
        data: Some(
            plan.material
                .iter()
                .map(|(k, v)| (k.clone(), ByteString(v.clone())))
                .collect(),
        ),
        ..Secret::default()
    }
}

/// Whether an existing key Secret holds the plan's genesis (and so the plan's chain).
pub fn holds_genesis(secret: &Secret, plan: &ChainPlan) -> bool {
    let file = consortia_engines::native::GENESIS_FILE;
    let held = secret.data.as_ref().and_then(|d| d.get(file)).map(|b| &b.0);
    held.is_some() && held == plan.material.get(file)
}

/// The plan's members: one per distinct `member` of its nodes, in order of first appearance
/// (the order of the genesis layout), each running its nodes as validators.
pub fn members(nodes: &[NodePlan]) -> Vec<MemberSpec> {
    let mut members: Vec<MemberSpec> = Vec::new();
    for node in nodes {
        match members.iter_mut().find(|m| m.name == node.member) {
            Some(m) => m.validators += 1,
            None => members.push(MemberSpec {
                name: node.member.clone(),
                msp_id: None,
                validators: 1,
                observers: 0,
                peers: 0,
                orderers: 0,
            }),
        }
    }
    members
}

/// The Chain resource of a plan. Its data stays when it is deleted unless `remove` says
/// otherwise.
pub fn chain_resource(plan: &ChainPlan, namespace: &str) -> Chain {
    let mut chain = Chain::new(
        &plan.name,
        ChainSpec {
            engine: plan.engine,
            version: plan.version.clone(),
            consensus: Some(plan.consensus.clone()),
            members: members(&plan.nodes),
            storage: None,
            images: None,
            exposure: None,
            resources: None,
            retain_policy: RetainPolicy::Retain,
        },
    );
    chain.metadata.namespace = Some(namespace.to_string());
    chain.metadata.labels = Some(labels(plan, false));
    chain
}

/// Whether `held` already has everything `want` sets (so applying it would change nothing).
pub fn up_to_date(held: &Chain, want: &Chain) -> bool {
    let (h, w) = (&held.spec, &want.spec);
    h.engine == w.engine
        && h.version == w.version
        && h.consensus == w.consensus
        && h.members == w.members
        && h.retain_policy == w.retain_policy
        && want
            .labels()
            .iter()
            .all(|(k, v)| held.labels().get(k) == Some(v))
}

/// A chain the runtime does not run.
pub fn stopped(message: Option<String>) -> ChainReport {
    ChainReport {
        phase: Phase::Stopped,
        height: None,
        genesis_hash: None,
        message,
        nodes: Vec::new(),
    }
}

/// What the operator reports of `chain`, with its pods as nodes.
pub fn chain_report(chain: &Chain, pods: &[Pod]) -> ChainReport {
    let status = chain.status.clone().unwrap_or_default();
    let mut nodes: Vec<NodeReport> = pods.iter().map(node_report).collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    if chain.metadata.deletion_timestamp.is_some() {
        return ChainReport {
            nodes,
            ..stopped(Some("the chain is being deleted".to_string()))
        };
    }
    // The API has no `pending`: a chain the operator accepted is being provisioned.
    let phase = match status.phase {
        Some(Phase::Pending) => Phase::Provisioning,
        Some(phase) => phase,
        None => Phase::Stopped,
    };
    let failing = |type_: &str| {
        status
            .conditions
            .iter()
            .find(|c| c.type_ == type_ && c.status == "False")
            .map(|c| c.message.clone())
    };
    // A refused spec explains the most (even on a running chain: a change was not applied);
    // then why the nodes are not ready.
    let message = failing(SPEC_VALID).or_else(|| failing(READY)).or_else(|| {
        status.phase.is_none().then(|| {
            "the operator has not reported on this chain yet; check that it runs and watches this namespace"
                .to_string()
        })
    });
    ChainReport {
        phase,
        height: status.block_height,
        genesis_hash: status.genesis_hash,
        message,
        nodes,
    }
}

/// One pod of a chain as a node: running once Kubernetes counts it ready.
pub fn node_report(pod: &Pod) -> NodeReport {
    let status = pod.status.as_ref();
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let container = status
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first());
    let crash_looping = container
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.waiting.as_ref())
        .is_some_and(|w| w.reason.as_deref() == Some(CRASH_LOOP));
    let state = if ready {
        NodeState::Running
    } else if crash_looping {
        NodeState::Restarting
    } else {
        NodeState::Starting
    };
    NodeReport {
        name: pod.name_any(),
        member: pod.labels().get(MEMBER_LABEL).cloned().unwrap_or_default(),
        state,
        restarts: container.map_or(0, |c| c.restart_count.max(0) as u32),
        height: None,
        endpoint: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Engine;
    use serde_json::json;
    use uuid::Uuid;

    fn node(member: &str, i: u32) -> NodePlan {
        NodePlan {
            name: format!("ch-x-{member}-{i}"),
            member: member.to_string(),
            p2p_port: 0,
            api_port: 0,
        }
    }

    fn chain(status: serde_json::Value) -> Chain {
        serde_json::from_value(json!({
            "apiVersion": "consortia.dev/v1alpha1", "kind": "Chain",
            "metadata": {"name": "ch-x", "namespace": "team"},
            "spec": {"engine": "native", "members": [{"name": "org1", "validators": 1}]},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn members_group_nodes_in_order_of_first_appearance() {
        let nodes = [node("b", 0), node("a", 0), node("b", 1), node("c", 0)];
        let got: Vec<(String, u32)> = members(&nodes)
            .into_iter()
            .map(|m| (m.name, m.validators))
            .collect();
        assert_eq!(got, [("b".into(), 2), ("a".into(), 1), ("c".into(), 1)]);
    }

    #[test]
    fn operator_phases_map_to_runtime_phases() {
        for (operator, runtime) in [
            ("Pending", Phase::Provisioning),
            ("Provisioning", Phase::Provisioning),
            ("Running", Phase::Running),
            ("Degraded", Phase::Degraded),
            ("Failed", Phase::Failed),
        ] {
            let report = chain_report(&chain(json!({"phase": operator})), &[]);
            assert_eq!(report.phase, runtime, "{operator}");
        }
        let report = chain_report(&chain(json!({})), &[]);
        assert_eq!(report.phase, Phase::Stopped);
        assert!(
            report
                .message
                .unwrap()
                .contains("operator has not reported")
        );
    }

    #[test]
    fn a_refused_spec_explains_before_unready_nodes() {
        let conditions = |spec_ok: &str| {
            json!({"phase": "Failed", "conditions": [
                {"type": "SpecValid", "status": spec_ok, "reason": "EngineNotSupported", "message": "only native chains are", "lastTransitionTime": "2026-11-28T00:00:00Z"},
                {"type": "Ready", "status": "False", "reason": "NodesNotReady", "message": "1/4 nodes ready", "lastTransitionTime": "2026-11-28T00:00:00Z"},
            ]})
        };
        let refused = chain_report(&chain(conditions("False")), &[]);
        assert_eq!(refused.message.as_deref(), Some("only native chains are"));
        let unready = chain_report(&chain(conditions("True")), &[]);
        assert_eq!(unready.message.as_deref(), Some("1/4 nodes ready"));
    }

    #[test]
    fn a_chain_being_deleted_is_stopped() {
        let mut c = chain(json!({"phase": "Running"}));
        c.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
        ));
        assert_eq!(chain_report(&c, &[]).phase, Phase::Stopped);
    }

    #[test]
    fn the_chain_carries_the_consensus_of_the_plan() {
        let plan = ChainPlan {
            id: Uuid::nil(),
            name: "ch-x".into(),
            engine: Engine::Quorum,
            version: None,
            consensus: "raft".into(),
            material: BTreeMap::new(),
            nodes: vec![node("a", 0)],
        };
        let chain = chain_resource(&plan, "team");
        assert_eq!(chain.spec.engine, Engine::Quorum);
        assert_eq!(chain.spec.consensus.as_deref(), Some("raft"));
        let mut other = chain.clone();
        other.spec.consensus = Some("qbft".into());
        assert!(
            !up_to_date(&other, &chain),
            "another consensus is re-applied"
        );
    }

    #[test]
    fn a_secret_without_a_genesis_never_matches() {
        let plan = ChainPlan {
            id: Uuid::nil(),
            name: "ch-x".into(),
            engine: Engine::Native,
            version: None,
            consensus: "bft".into(),
            material: BTreeMap::new(),
            nodes: vec![node("a", 0)],
        };
        assert!(!holds_genesis(&keys_secret(&plan, "team"), &plan));
    }
}
