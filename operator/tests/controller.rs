//! The Chain controller against kube's tower-test mock API server (`consortia-kube-fake`):
//! what it creates, that it writes nothing when nothing changed, that keys are made once, how
//! it handles changes, invalid specs, deletion under both retain policies, API errors and races.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use consortia_chain::genesis::Params;
use consortia_crds::Chain;
use consortia_engines::native::{Layout, Material, Node};
use consortia_kube_fake::FakeApi;
use consortia_operator::controller::{self, Context, FINALIZER};
use consortia_operator::leader::{LeaseLock, LeaseSettings};
use consortia_operator::metrics::Metrics;
use consortia_operator::probe::{NodeStatus, Probe};
use consortia_operator::resources::Settings;
use http::Method;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use serde_json::{Value, json};

const NS: &str = "team";
const CHAIN: &str = "/apis/consortia.dev/v1alpha1/namespaces/team/chains/demo";
const SECRET: &str = "/api/v1/namespaces/team/secrets/demo-keys";
const CONFIG: &str = "/api/v1/namespaces/team/configmaps/demo-genesis";
const STS: &str = "/apis/apps/v1/namespaces/team/statefulsets";
const PVCS: &str = "/api/v1/namespaces/team/persistentvolumeclaims";

/// A probe whose answer the test sets (`u64::MAX`: unreachable).
struct FixedProbe(AtomicU64);

#[async_trait::async_trait]
impl Probe for FixedProbe {
    async fn status(&self, base_url: &str) -> Option<NodeStatus> {
        assert_eq!(base_url, "http://demo-client.team.svc:26657");
        let h = self.0.load(Ordering::Relaxed);
        (h != u64::MAX).then(|| NodeStatus {
            height: h,
            genesis_hash: "feed".into(),
        })
    }
}

fn fixed_now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_second(1_800_000_000).unwrap())
}

struct Harness {
    api: FakeApi,
    ctx: Arc<Context>,
    probe: Arc<FixedProbe>,
}

fn harness() -> Harness {
    let api = FakeApi::default();
    let probe = Arc::new(FixedProbe(AtomicU64::new(u64::MAX)));
    let ctx = Arc::new(Context {
        client: api.client(),
        settings: Settings {
            node_image: "registry.example/consortia-node:1.0.0".into(),
        },
        probe: probe.clone(),
        metrics: Arc::new(Metrics::default()),
        now: fixed_now,
    });
    Harness { api, ctx, probe }
}

fn chain_spec(members: Value, policy: &str) -> Value {
    json!({
        "apiVersion": "consortia.dev/v1alpha1",
        "kind": "Chain",
        "metadata": {"name": "demo", "namespace": NS, "generation": 1},
        "spec": {"engine": "native", "members": members, "retainPolicy": policy},
    })
}

fn four_validators() -> Value {
    json!([{"name": "org1", "validators": 2}, {"name": "org2", "validators": 2}])
}

impl Harness {
    fn create_chain(&self, chain: Value) {
        self.api.put(CHAIN, chain);
    }

    fn chain(&self) -> Option<Chain> {
        self.api
            .get(CHAIN)
            .map(|v| serde_json::from_value(v).unwrap())
    }

    async fn reconcile(&self) -> Result<Action, controller::Error> {
        let chain = self.chain().expect("the Chain exists");
        controller::reconcile(Arc::new(chain), self.ctx.clone()).await
    }

    /// Plays the StatefulSet controller: every desired pod ready, rollout complete.
    fn all_pods_ready(&self, ready: i64) {
        for path in self.api.paths() {
            if path.starts_with(STS) {
                self.api.edit(&path, |sts| {
                    let want = sts["spec"]["replicas"].as_i64().unwrap();
                    let generation = sts["metadata"]["generation"].clone();
                    sts["status"] = json!({
                        "replicas": want,
                        "readyReplicas": want.min(ready),
                        "updatedReplicas": want,
                        "currentRevision": "r1",
                        "updateRevision": "r1",
                        "observedGeneration": generation,
                    });
                });
            }
        }
    }

    fn status(&self) -> Value {
        self.api.get(CHAIN).unwrap()["status"].clone()
    }

    fn condition(&self, type_: &str) -> Value {
        self.status()["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == type_)
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn genesis_in_config(&self) -> String {
        self.api.get(CONFIG).unwrap()["data"]["genesis.json"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

fn write_paths(api: &FakeApi) -> Vec<String> {
    api.writes()
        .iter()
        .map(|l| format!("{} {}", l.method, l.path))
        .collect()
}

#[tokio::test]
async fn provisions_a_chain_then_writes_nothing_while_it_is_unchanged() {
    let h = harness();
    h.create_chain(chain_spec(four_validators(), "Retain"));
    h.reconcile().await.unwrap();

    let chain = h.chain().unwrap();
    assert_eq!(
        chain.metadata.finalizers.as_deref(),
        Some(&[FINALIZER.to_string()][..])
    );
    let secret = h.api.get(SECRET).expect("the key Secret was created");
    assert_eq!(secret["immutable"], true);
    assert!(
        secret["metadata"]["ownerReferences"].is_null(),
        "keys must outlive the Chain under Retain"
    );
    for path in [
        "/api/v1/namespaces/team/serviceaccounts/demo-node",
        CONFIG,
        "/api/v1/namespaces/team/services/demo-peers",
        "/api/v1/namespaces/team/services/demo-client",
        "/apis/apps/v1/namespaces/team/statefulsets/demo-org1",
        "/apis/apps/v1/namespaces/team/statefulsets/demo-org2",
        "/apis/policy/v1/namespaces/team/poddisruptionbudgets/demo-validators",
        "/apis/networking.k8s.io/v1/namespaces/team/networkpolicies/demo-nodes",
    ] {
        let obj = h
            .api
            .get(path)
            .unwrap_or_else(|| panic!("{path} was not applied"));
        assert_eq!(
            obj["metadata"]["ownerReferences"][0]["kind"], "Chain",
            "{path}"
        );
        assert_eq!(
            obj["metadata"]["ownerReferences"][0]["controller"], true,
            "{path}"
        );
    }
    // Every apply used the one field manager, forced.
    for l in h.api.writes() {
        if l.method == Method::PATCH && !l.query.contains("fieldManager=consortia-operator") {
            panic!("write without our field manager: {l:?}");
        }
    }
    assert_eq!(h.status()["phase"], "Provisioning");
    assert_eq!(h.status()["readyDisplay"], "0/4");

    // Nodes come up and make blocks.
    h.all_pods_ready(i64::MAX);
    h.probe.0.store(12, Ordering::Relaxed);
    h.api.clear_log();
    let action = h.reconcile().await.unwrap();
    assert_eq!(action, Action::requeue(controller::RESYNC));
    assert_eq!(write_paths(&h.api), [format!("PATCH {CHAIN}/status")]);
    let status = h.status();
    assert_eq!(status["phase"], "Running");
    assert_eq!(status["readyNodes"], 4);
    assert_eq!(status["blockHeight"], 12);
    assert_eq!(status["genesisHash"], "feed");
    assert_eq!(status["observedGeneration"], 1);
    assert_eq!(status["endpoints"], json!(["demo-client.team.svc:26657"]));
    assert_eq!(h.condition("Ready")["status"], "True");
    assert_eq!(h.condition("Progressing")["reason"], "Stable");
    assert_eq!(h.condition("Degraded")["status"], "False");

    // Unchanged: reads only, no write at all.
    h.api.clear_log();
    h.reconcile().await.unwrap();
    assert!(
        h.api.writes().is_empty(),
        "writes on an unchanged chain: {:?}",
        write_paths(&h.api)
    );
    assert!(!h.api.requests().is_empty());
}

#[tokio::test]
async fn keys_and_genesis_are_made_once_and_never_regenerated() {
    let h = harness();
    h.create_chain(chain_spec(four_validators(), "Retain"));
    h.reconcile().await.unwrap();
    let secret = h.api.get(SECRET).unwrap();
    let genesis = h.genesis_in_config();

    // Someone deletes the ConfigMap: it comes back from the same keys.
    h.api.remove(CONFIG);
    h.api.clear_log();
    h.reconcile().await.unwrap();
    assert_eq!(h.genesis_in_config(), genesis);
    assert_eq!(h.api.get(SECRET).unwrap(), secret);
    assert!(!write_paths(&h.api).iter().any(|w| w.contains("secrets")));

    // A corrupted key Secret stops the chain's changes instead of minting new keys.
    h.api.edit(SECRET, |s| {
        s["data"]["client.json"] = json!("bm90IGEga2V5");
    });
    h.api.clear_log();
    h.reconcile().await.unwrap();
    assert_eq!(h.condition("SpecValid")["reason"], "KeyMaterialInvalid");
    assert!(
        write_paths(&h.api).iter().all(|w| w.ends_with("/status")),
        "only the status may be written: {:?}",
        write_paths(&h.api)
    );
}

#[tokio::test]
async fn a_racing_replica_keys_are_adopted_not_overwritten() {
    let h = harness();
    h.create_chain(chain_spec(four_validators(), "Retain"));
    // Another replica creates the Secret between our read and our create.
    let layout = Layout::new(
        ["org1", "org1", "org2", "org2"]
            .iter()
            .enumerate()
            .map(|(i, m)| Node {
                member: m.to_string(),
                name: format!("demo-{m}-{}", i % 2),
            })
            .collect(),
    )
    .unwrap();
    let theirs = Material::generate("team.demo", &layout, Params::default(), 5).unwrap();
    let data: serde_json::Map<String, Value> = theirs
        .to_files()
        .into_iter()
        .map(|(k, v)| (k, json!(STANDARD.encode(&v))))
        .collect();
    h.api.fail_next(Method::POST, "/secrets", 409);
    h.api.put(
        SECRET,
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "demo-keys", "namespace": NS}, "data": data}),
    );
    // Our read happened before theirs landed: it misses, and our create then conflicts.
    h.api.fail_next(Method::GET, "/secrets/demo-keys", 404);
    h.reconcile().await.unwrap();
    let genesis: Value = serde_json::from_str(&h.genesis_in_config()).unwrap();
    let ours: Value = serde_json::from_slice(&theirs.genesis_json()).unwrap();
    assert_eq!(
        genesis, ours,
        "the operator must run the keys the other replica made"
    );
}

#[tokio::test]
async fn image_changes_roll_the_statefulsets_and_validator_changes_are_refused() {
    let h = harness();
    h.create_chain(chain_spec(four_validators(), "Retain"));
    h.reconcile().await.unwrap();
    h.all_pods_ready(i64::MAX);
    h.probe.0.store(3, Ordering::Relaxed);
    h.reconcile().await.unwrap();

    // A new version: both StatefulSets get the new image; keys and genesis untouched.
    h.api.edit(CHAIN, |c| {
        c["spec"]["version"] = json!("1.1.0");
        c["metadata"]["generation"] = json!(2);
    });
    h.api.clear_log();
    h.reconcile().await.unwrap();
    let writes = write_paths(&h.api);
    assert!(
        writes.contains(&format!("PATCH {STS}/demo-org1")),
        "{writes:?}"
    );
    assert!(
        writes.contains(&format!("PATCH {STS}/demo-org2")),
        "{writes:?}"
    );
    assert!(
        !writes
            .iter()
            .any(|w| w.contains("secrets") || w.contains("configmaps")),
        "{writes:?}"
    );
    let sts = h.api.get(&format!("{STS}/demo-org1")).unwrap();
    assert_eq!(
        sts["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/consortia-node:1.1.0"
    );
    assert_eq!(h.status()["observedGeneration"], 2);

    // Another validator: refused with a clear condition, the running chain left as it is.
    h.api.edit(CHAIN, |c| {
        c["spec"]["members"][1]["validators"] = json!(3);
        c["metadata"]["generation"] = json!(3);
    });
    h.api.clear_log();
    h.reconcile().await.unwrap();
    let spec = h.condition("SpecValid");
    assert_eq!(spec["status"], "False");
    assert_eq!(spec["reason"], "ValidatorSetChangeUnsupported");
    assert!(
        spec["message"]
            .as_str()
            .unwrap()
            .contains("org1: 2, org2: 2"),
        "{spec}"
    );
    assert!(
        !write_paths(&h.api)
            .iter()
            .any(|w| w.contains("statefulsets"))
    );
    assert_eq!(
        h.api.get(&format!("{STS}/demo-org2")).unwrap()["spec"]["replicas"],
        2
    );
    assert_eq!(h.status()["phase"], "Running");
}

#[tokio::test]
async fn invalid_specs_create_nothing_and_say_why() {
    let h = harness();
    h.create_chain(chain_spec(
        json!([{"name": "org1", "validators": 0}]),
        "Retain",
    ));
    let action = h.reconcile().await.unwrap();
    assert_eq!(action, Action::await_change());
    let created: Vec<String> = h.api.paths().into_iter().filter(|p| p != CHAIN).collect();
    assert!(created.is_empty(), "created: {created:?}");
    assert_eq!(h.status()["phase"], "Failed");
    let spec = h.condition("SpecValid");
    assert_eq!(
        (spec["status"].as_str(), spec["reason"].as_str()),
        (Some("False"), Some("NoValidators"))
    );
    assert_eq!(h.condition("Ready")["status"], "False");

    // 3 validators is allowed with a warning (3f+1 would tolerate as many faults).
    let h = harness();
    h.create_chain(chain_spec(
        json!([{"name": "org1", "validators": 3}]),
        "Retain",
    ));
    h.reconcile().await.unwrap();
    assert!(h.api.get(SECRET).is_some());
    let spec = h.condition("SpecValid");
    assert_eq!(spec["status"], "True");
    assert_eq!(spec["reason"], "AcceptedWithWarnings");
    assert!(spec["message"].as_str().unwrap().contains("3f+1"), "{spec}");
    let pdb = h
        .api
        .get("/apis/policy/v1/namespaces/team/poddisruptionbudgets/demo-validators")
        .unwrap();
    assert_eq!(
        pdb["spec"]["maxUnavailable"], 0,
        "3 validators tolerate no voluntary disruption"
    );
}

fn add_pvcs(h: &Harness) {
    for (member, i) in [("org1", 0), ("org1", 1), ("org2", 0), ("org2", 1)] {
        let name = format!("data-demo-{member}-{i}");
        h.api.put(
            &format!("{PVCS}/{name}"),
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": name, "namespace": NS,
                                "labels": {"consortia.dev/chain": "demo", "consortia.dev/member": member}},
                   "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}}),
        );
    }
    // Another chain's volume must survive.
    h.api.put(
        &format!("{PVCS}/data-other-a-0"),
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": "data-other-a-0", "namespace": NS, "labels": {"consortia.dev/chain": "other"}},
               "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
    );
}

async fn delete_chain(h: &Harness) {
    let chains: kube::Api<Chain> = kube::Api::namespaced(h.ctx.client.clone(), NS);
    chains.delete("demo", &Default::default()).await.unwrap();
    assert!(
        h.chain().unwrap().metadata.deletion_timestamp.is_some(),
        "the finalizer holds it"
    );
}

#[tokio::test]
async fn deletion_with_retain_policy_delete_removes_volumes_and_keys() {
    let h = harness();
    h.create_chain(chain_spec(four_validators(), "Delete"));
    h.reconcile().await.unwrap();
    add_pvcs(&h);
    let stale = h.chain().unwrap();
    delete_chain(&h).await;
    h.reconcile().await.unwrap();
    assert!(h.chain().is_none(), "finalizer released, Chain gone");
    assert!(h.api.get(SECRET).is_none());
    let left: Vec<String> = h
        .api
        .paths()
        .into_iter()
        .filter(|p| p.starts_with(PVCS) || p.starts_with(STS))
        .collect();
    assert_eq!(left, [format!("{PVCS}/data-other-a-0")]);

    // A repeated cleanup (a stale copy of the deleting Chain) is harmless.
    let mut again = stale;
    again.metadata.deletion_timestamp = Some(fixed_now());
    controller::reconcile(Arc::new(again), h.ctx.clone())
        .await
        .unwrap();
}

#[tokio::test]
async fn deletion_with_retain_keeps_volumes_and_keys() {
    let h = harness();
    h.create_chain(chain_spec(four_validators(), "Retain"));
    h.reconcile().await.unwrap();
    add_pvcs(&h);
    delete_chain(&h).await;
    h.reconcile().await.unwrap();
    assert!(h.chain().is_none());
    assert!(h.api.get(SECRET).is_some());
    assert_eq!(
        h.api.paths().iter().filter(|p| p.starts_with(PVCS)).count(),
        5
    );
    assert!(
        !write_paths(&h.api)
            .iter()
            .any(|w| w.starts_with("DELETE") && !w.contains("chains"))
    );
}

#[tokio::test]
async fn deleting_a_chain_that_never_provisioned_is_clean() {
    let h = harness();
    // Refused spec: only the finalizer and status were ever written.
    h.create_chain(chain_spec(
        json!([{"name": "org1", "validators": 0}]),
        "Delete",
    ));
    h.reconcile().await.unwrap();
    delete_chain(&h).await;
    h.reconcile().await.unwrap();
    assert!(h.chain().is_none());
    assert!(h.api.paths().is_empty(), "{:?}", h.api.paths());
}

#[tokio::test]
async fn api_errors_fail_the_reconcile_and_requeue_then_recover() {
    let h = harness();
    h.create_chain(chain_spec(four_validators(), "Retain"));
    h.api
        .fail_next(Method::PATCH, "/statefulsets/demo-org2", 500);
    let chain = Arc::new(h.chain().unwrap());
    let err = controller::reconcile(chain.clone(), h.ctx.clone())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "api");
    assert_eq!(
        controller::error_policy(chain, &err, h.ctx.clone()),
        Action::requeue(Duration::from_secs(5))
    );
    let metrics = h.ctx.metrics.encode();
    assert!(
        metrics.contains("consortia_operator_reconcile_errors_total{result=\"api\"} 1"),
        "{metrics}"
    );
    // The next pass finishes the job with the keys made the first time.
    let genesis_before = h.api.get(SECRET).unwrap();
    h.reconcile().await.unwrap();
    assert!(h.api.get(&format!("{STS}/demo-org2")).is_some());
    assert_eq!(h.api.get(SECRET).unwrap(), genesis_before);
    assert!(
        h.ctx
            .metrics
            .encode()
            .contains("consortia_operator_reconciles_total{result=\"ok\"} 1")
    );
}

#[tokio::test]
async fn one_node_down_is_degraded_and_recovers() {
    let h = harness();
    h.create_chain(chain_spec(four_validators(), "Retain"));
    h.reconcile().await.unwrap();
    h.all_pods_ready(i64::MAX);
    h.probe.0.store(40, Ordering::Relaxed);
    h.reconcile().await.unwrap();
    let ready_since = h.condition("Ready")["lastTransitionTime"].clone();
    h.all_pods_ready(1); // org1 and org2 each have one ready pod: 2/4, quorum lost
    h.reconcile().await.unwrap();
    assert_eq!(h.status()["phase"], "Degraded");
    assert_eq!(h.condition("Degraded")["reason"], "QuorumLost");
    h.all_pods_ready(i64::MAX);
    h.reconcile().await.unwrap();
    assert_eq!(h.status()["phase"], "Running");
    assert_eq!(h.condition("Ready")["status"], "True");
    assert_eq!(
        h.condition("Ready")["lastTransitionTime"],
        ready_since,
        "same fixed clock"
    );
    // Nodes unreachable: the last known height stays.
    h.probe.0.store(u64::MAX, Ordering::Relaxed);
    h.api.clear_log();
    h.reconcile().await.unwrap();
    assert_eq!(h.status()["blockHeight"], 40);
    assert!(h.api.writes().is_empty());
}

#[tokio::test]
async fn only_one_replica_holds_the_lease_and_it_passes_on_expiry() {
    let api = FakeApi::default();
    let client = api.client();
    let lock = |id: &str| {
        let mut s = LeaseSettings::new("consortia-operator", id);
        // Long enough that a stalled test thread cannot let it lapse between two steps.
        s.duration = Duration::from_secs(3);
        LeaseLock::new(kube::Api::namespaced(client.clone(), "ops"), s)
    };
    let (a, b) = (lock("a"), lock("b"));
    assert!(a.try_acquire_or_renew().await.unwrap());
    assert!(!b.try_acquire_or_renew().await.unwrap());
    assert!(a.try_acquire_or_renew().await.unwrap(), "the holder renews");
    let lease = api
        .get("/apis/coordination.k8s.io/v1/namespaces/ops/leases/consortia-operator")
        .unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "a");
    // a stops renewing; once the lease lapses b takes it and a cannot renew.
    tokio::time::sleep(Duration::from_millis(3300)).await;
    assert!(b.try_acquire_or_renew().await.unwrap());
    assert!(!a.try_acquire_or_renew().await.unwrap());
    let lease = api
        .get("/apis/coordination.k8s.io/v1/namespaces/ops/leases/consortia-operator")
        .unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "b");
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
    // Releasing hands it over at once.
    b.release().await.unwrap();
    assert!(a.try_acquire_or_renew().await.unwrap());
    // Two candidates racing with the same stale read: exactly one wins (resourceVersion).
    api.edit(
        "/apis/coordination.k8s.io/v1/namespaces/ops/leases/consortia-operator",
        |l| {
            l["spec"]["renewTime"] = json!("2000-01-01T00:00:00.000000Z");
        },
    );
    let (c, d) = (lock("c"), lock("d"));
    let (rc, rd) = tokio::join!(c.try_acquire_or_renew(), d.try_acquire_or_renew());
    assert_eq!(u8::from(rc.unwrap()) + u8::from(rd.unwrap()), 1);
}

#[tokio::test]
async fn observers_scale_up_and_down_without_touching_validators() {
    let h = harness();
    h.create_chain(chain_spec(four_validators(), "Retain"));
    h.reconcile().await.unwrap();
    let secret = h.api.get(SECRET).unwrap();
    let obs = format!("{STS}/demo-org2-obs");

    h.api.edit(CHAIN, |c| {
        c["spec"]["members"][1]["observers"] = json!(3);
        c["metadata"]["generation"] = json!(2);
    });
    h.api.clear_log();
    h.reconcile().await.unwrap();
    assert_eq!(write_paths(&h.api)[0], format!("PATCH {obs}"));
    assert!(
        !write_paths(&h.api)
            .iter()
            .any(|w| w.contains("demo-org1") || w.ends_with("demo-org2"))
    );
    assert_eq!(h.api.get(&obs).unwrap()["spec"]["replicas"], 3);
    assert_eq!(h.condition("SpecValid")["status"], "True");
    assert_eq!(h.status()["totalNodes"], 7);

    // Observers down never count against the validators' fault tolerance.
    h.all_pods_ready(i64::MAX);
    h.api
        .edit(&obs, |s| s["status"]["readyReplicas"] = json!(0));
    h.probe.0.store(9, Ordering::Relaxed);
    h.reconcile().await.unwrap();
    assert_eq!(h.status()["phase"], "Degraded");
    assert_eq!(h.condition("Degraded")["reason"], "NodesUnavailable");

    h.api.edit(CHAIN, |c| {
        c["spec"]["members"][1]["observers"] = json!(0);
        c["metadata"]["generation"] = json!(3);
    });
    h.api.clear_log();
    h.reconcile().await.unwrap();
    assert!(
        h.api.get(&obs).is_none(),
        "observers no longer asked for are removed"
    );
    assert!(write_paths(&h.api).contains(&format!("DELETE {obs}")));
    assert_eq!(h.api.get(SECRET).unwrap(), secret);
    assert_eq!(h.status()["totalNodes"], 4);
}
