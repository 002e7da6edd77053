//! The Chains the suite creates: their manifests, the objects the operator is expected to
//! make for them, and what their status must say before the suite uses them.

use anyhow::{Result, bail};
use serde_json::{Value, json};

/// Port of the node REST API behind the `<chain>-client` Service.
pub const CLIENT_API_PORT: u16 = 26657;
/// The genesis account whose key file the operator stores as `client.json`.
pub const CLIENT_ACCOUNT: &str = "client";

/// What deleting a Chain does to its volumes and keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetainPolicy {
    /// Volumes and the keys Secret outlive the Chain.
    Retain,
    /// Volumes and the keys Secret are removed with the Chain.
    Delete,
}

impl RetainPolicy {
    fn as_str(self) -> &'static str {
        match self {
            RetainPolicy::Retain => "Retain",
            RetainPolicy::Delete => "Delete",
        }
    }
}

/// A native chain to create: its name, members with their validator counts, retain policy.
#[derive(Clone, Debug)]
pub struct ChainPlan {
    pub name: String,
    pub members: Vec<(String, u32)>,
    pub retain: RetainPolicy,
}

impl ChainPlan {
    pub fn new(name: &str, members: &[(&str, u32)], retain: RetainPolicy) -> Self {
        ChainPlan {
            name: name.to_string(),
            members: members.iter().map(|(m, n)| (m.to_string(), *n)).collect(),
            retain,
        }
    }

    /// The `Chain` resource, ready for `kubectl apply`.
    pub fn manifest(&self) -> Value {
        let members: Vec<Value> = self
            .members
            .iter()
            .map(|(name, validators)| json!({"name": name, "validators": validators}))
            .collect();
        json!({
            "apiVersion": "consortia.dev/v1alpha1",
            "kind": "Chain",
            "metadata": {"name": self.name},
            "spec": {
                "engine": "native",
                "members": members,
                "retainPolicy": self.retain.as_str(),
            },
        })
    }

    /// Validators of all members together.
    pub fn validators(&self) -> usize {
        self.members.iter().map(|(_, n)| *n as usize).sum()
    }

    /// Secret with the genesis, one key file per node and the client account's key.
    pub fn keys_secret(&self) -> String {
        format!("{}-keys", self.name)
    }

    pub fn genesis_config_map(&self) -> String {
        format!("{}-genesis", self.name)
    }

    pub fn peers_service(&self) -> String {
        format!("{}-peers", self.name)
    }

    /// Service in front of the nodes' REST API.
    pub fn client_service(&self) -> String {
        format!("{}-client", self.name)
    }

    /// One StatefulSet per member.
    pub fn statefulsets(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|(m, _)| format!("{}-{m}", self.name))
            .collect()
    }

    /// Every node's pod name, member by member.
    pub fn pods(&self) -> Vec<String> {
        self.members
            .iter()
            .flat_map(|(m, n)| (0..*n).map(move |i| format!("{}-{m}-{i}", self.name)))
            .collect()
    }

    /// Entries the keys Secret must hold.
    pub fn expected_key_entries(&self) -> Vec<String> {
        let mut entries = vec!["genesis.json".to_string(), "client.json".to_string()];
        entries.extend(self.pods().iter().map(|p| format!("{p}.json")));
        entries
    }

    /// Label selector of the objects (volumes included) that belong to this chain.
    pub fn selector(&self) -> String {
        format!("consortia.dev/chain={}", self.name)
    }

    /// Objects the operator makes that carry an owner reference to the Chain, as
    /// `kind/name` for kubectl.
    pub fn owned_objects(&self) -> Vec<String> {
        let mut objects: Vec<String> = self
            .statefulsets()
            .iter()
            .map(|s| format!("statefulset/{s}"))
            .collect();
        objects.push(format!("service/{}", self.peers_service()));
        objects.push(format!("service/{}", self.client_service()));
        objects.push(format!("configmap/{}", self.genesis_config_map()));
        objects
    }
}

/// What a running chain's status reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Running {
    pub block_height: u64,
    pub genesis_hash: String,
}

/// `Ok` when a Chain (as `kubectl get -o json` prints it) is `Running`, its `Ready`
/// condition is `True` and it has made a block; otherwise an error saying what it shows.
pub fn running(chain: &Value) -> Result<Running> {
    let status = &chain["status"];
    let phase = status["phase"].as_str();
    let ready = condition(status, "Ready");
    let height = status["blockHeight"].as_u64();
    let genesis_hash = status["genesisHash"].as_str().filter(|h| !h.is_empty());
    if let (Some("Running"), Some("True"), Some(h), Some(g)) = (
        phase,
        ready.as_ref().map(|c| c.status.as_str()),
        height,
        genesis_hash,
    ) && h > 0
    {
        return Ok(Running {
            block_height: h,
            genesis_hash: g.to_string(),
        });
    }
    let ready = match ready {
        Some(c) => format!("{} ({}: {})", c.status, c.reason, c.message),
        None => "absent".to_string(),
    };
    bail!(
        "phase {}, Ready condition {ready}, blockHeight {}, genesisHash {}, nodes ready {}",
        phase.unwrap_or("none"),
        height.map_or("none".to_string(), |h| h.to_string()),
        genesis_hash.unwrap_or("none"),
        status["readyDisplay"].as_str().unwrap_or("unknown"),
    )
}

struct Condition {
    status: String,
    reason: String,
    message: String,
}

fn condition(status: &Value, kind: &str) -> Option<Condition> {
    let c = status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)?;
    let text = |field: &str| c[field].as_str().unwrap_or("").to_string();
    Some(Condition {
        status: text("status"),
        reason: text("reason"),
        message: text("message"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn four_validators() -> ChainPlan {
        ChainPlan::new(
            "evidence",
            &[("org1", 2), ("org2", 2)],
            RetainPolicy::Delete,
        )
    }

    #[test]
    fn the_manifest_is_a_native_chain_with_the_members_and_policy() {
        let m = four_validators().manifest();
        assert_eq!(m["apiVersion"], "consortia.dev/v1alpha1");
        assert_eq!(m["kind"], "Chain");
        assert_eq!(m["metadata"]["name"], "evidence");
        assert_eq!(
            m["spec"],
            json!({"engine": "native", "retainPolicy": "Delete", "members": [
                {"name": "org1", "validators": 2}, {"name": "org2", "validators": 2}]})
        );
        let kept = ChainPlan::new("archive", &[("org1", 1)], RetainPolicy::Retain).manifest();
        assert_eq!(kept["spec"]["retainPolicy"], "Retain");
    }

    #[test]
    fn names_follow_the_operator_contract() {
        let c = four_validators();
        assert_eq!(c.validators(), 4);
        assert_eq!(c.statefulsets(), ["evidence-org1", "evidence-org2"]);
        assert_eq!(
            c.pods(),
            [
                "evidence-org1-0",
                "evidence-org1-1",
                "evidence-org2-0",
                "evidence-org2-1"
            ]
        );
        assert_eq!(
            c.expected_key_entries(),
            [
                "genesis.json",
                "client.json",
                "evidence-org1-0.json",
                "evidence-org1-1.json",
                "evidence-org2-0.json",
                "evidence-org2-1.json"
            ]
        );
        assert_eq!(
            c.owned_objects(),
            [
                "statefulset/evidence-org1",
                "statefulset/evidence-org2",
                "service/evidence-peers",
                "service/evidence-client",
                "configmap/evidence-genesis"
            ]
        );
        assert_eq!(c.keys_secret(), "evidence-keys");
        assert_eq!(c.selector(), "consortia.dev/chain=evidence");
    }

    fn chain_with(status: Value) -> Value {
        json!({"metadata": {"name": "evidence"}, "status": status})
    }

    #[test]
    fn a_running_ready_chain_with_blocks_is_running() {
        let c = chain_with(json!({
            "phase": "Running", "blockHeight": 7, "genesisHash": "ab12",
            "conditions": [{"type": "Progressing", "status": "False"},
                           {"type": "Ready", "status": "True", "reason": "AllNodesReady"}]}));
        assert_eq!(
            running(&c).unwrap(),
            Running {
                block_height: 7,
                genesis_hash: "ab12".into()
            }
        );
    }

    #[test]
    fn each_missing_piece_keeps_a_chain_from_counting_as_running() {
        let ok = json!({"phase": "Running", "blockHeight": 3, "genesisHash": "ab",
                        "conditions": [{"type": "Ready", "status": "True"}]});
        let broken = [
            ("phase", json!("Provisioning"), "phase Provisioning"),
            ("blockHeight", json!(0), "blockHeight 0"),
            ("blockHeight", Value::Null, "blockHeight none"),
            ("genesisHash", json!(""), "genesisHash none"),
            (
                "conditions",
                json!([{"type": "Ready", "status": "False", "reason": "NodesNotReady",
                        "message": "2/4 nodes ready"}]),
                "Ready condition False (NodesNotReady: 2/4 nodes ready)",
            ),
            ("conditions", json!([]), "Ready condition absent"),
        ];
        for (field, value, seen) in broken {
            let mut status = ok.clone();
            status[field] = value;
            let err = running(&chain_with(status)).unwrap_err().to_string();
            assert!(err.contains(seen), "{field}: expected {seen:?} in {err:?}");
        }
    }

    #[test]
    fn a_chain_without_status_says_so() {
        let err = running(&json!({"metadata": {}})).unwrap_err().to_string();
        assert_eq!(
            err,
            "phase none, Ready condition absent, blockHeight none, genesisHash none, \
             nodes ready unknown"
        );
    }
}
