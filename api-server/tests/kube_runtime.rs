//! The kubernetes runtime against the in-memory API server of `consortia-kube-fake`: the key
//! Secret and the Chain it writes, that it writes nothing for a chain already in place, that
//! it refuses another chain's keys, how it reads the operator's status and the pods, and
//! removal under both data choices.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use consortia_api::runtime::kubernetes::KubernetesRuntime;
use consortia_api::runtime::{
    ChainPlan, ChainReport, Engine, NodePlan, NodeReport, NodeState, Phase, Runtime, RuntimeError,
};
use consortia_kube_fake::FakeApi;
use http::Method;
use serde_json::{Value, json};
use uuid::Uuid;

const NS: &str = "team";
const NAME: &str = "ch-demo";
const CHAINS: &str = "/apis/consortia.dev/v1alpha1/namespaces/team/chains";
const CHAIN: &str = "/apis/consortia.dev/v1alpha1/namespaces/team/chains/ch-demo";
const SECRET: &str = "/api/v1/namespaces/team/secrets/ch-demo-keys";
const PODS: &str = "/api/v1/namespaces/team/pods";
const GENESIS: &[u8] = br#"{"chain_id":"ch-demo","validators":["ch-demo-org2-0"]}"#;

fn id() -> Uuid {
    Uuid::from_u128(0x0199_0000_0000_7000_8000_0000_0000_0001)
}

fn node(member: &str, i: u32) -> NodePlan {
    NodePlan {
        name: format!("{NAME}-{member}-{i}"),
        member: member.to_string(),
        p2p_port: 0,
        api_port: 0,
    }
}

/// Members interleaved on purpose: the Chain lists them in order of first appearance.
fn plan(engine: Engine) -> ChainPlan {
    let nodes = vec![node("org2", 0), node("org1", 0), node("org2", 1)];
    let mut material = BTreeMap::from([
        ("genesis.json".to_string(), GENESIS.to_vec()),
        ("layout.json".to_string(), b"{}".to_vec()),
        ("client.json".to_string(), b"client key".to_vec()),
    ]);
    for n in &nodes {
        material.insert(
            format!("{}.json", n.name),
            format!("key of {}", n.name).into(),
        );
    }
    ChainPlan {
        id: id(),
        name: NAME.to_string(),
        engine,
        version: Some("1.2.0".to_string()),
        consensus: engine.consensus()[0].to_string(),
        material,
        nodes,
    }
}

fn runtime() -> (FakeApi, KubernetesRuntime) {
    let api = FakeApi::default();
    let rt = KubernetesRuntime::new(api.client(), NS);
    (api, rt)
}

fn secret_with_genesis(genesis: &[u8]) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "ch-demo-keys", "namespace": NS, "labels": {"made-by": "someone else"}},
        "type": "Opaque", "immutable": true,
        "data": {"genesis.json": STANDARD.encode(genesis)},
    })
}

/// A Chain as the API server would have applied it, with `finalizers` and `status`.
fn stored_chain(name: &str, chain_id: Uuid, finalizers: Value, status: Value) -> Value {
    json!({
        "apiVersion": "consortia.dev/v1alpha1", "kind": "Chain",
        "metadata": {
            "name": name, "namespace": NS, "generation": 1, "finalizers": finalizers,
            "labels": {"consortia.dev/chain-id": chain_id.to_string()},
        },
        "spec": {"engine": "native", "members": [{"name": "org1", "validators": 1}], "retainPolicy": "Retain"},
        "status": status,
    })
}

fn condition(type_: &str, status: &str, message: &str) -> Value {
    json!({"type": type_, "status": status, "reason": "R", "message": message,
           "lastTransitionTime": "2026-11-28T00:00:00Z"})
}

fn pod(chain: &str, member: &str, i: u32, ready: bool, restarts: i32, waiting: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("{chain}-{member}-{i}"), "namespace": NS,
            "labels": {"consortia.dev/chain": chain, "consortia.dev/member": member},
        },
        "status": {
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
            "containerStatuses": [{
                "name": "node", "image": "node", "imageID": "", "ready": ready,
                "restartCount": restarts,
                "state": if waiting.is_empty() { json!({"running": {}}) } else { json!({"waiting": {"reason": waiting}}) },
            }],
        },
    })
}

fn decode(v: &Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().expect("base64 string")).unwrap()
}

#[tokio::test]
async fn ensure_creates_the_key_secret_then_applies_the_chain() {
    let (api, rt) = runtime();
    let plan = plan(Engine::Native);
    rt.ensure(plan.clone()).await.unwrap();

    let secret = api.get(SECRET).expect("the key Secret exists");
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(secret["immutable"], true);
    assert_eq!(
        secret["metadata"]["labels"],
        json!({
            "consortia.dev/chain": NAME,
            "consortia.dev/chain-id": id().to_string(),
            "app.kubernetes.io/managed-by": "consortia-api",
        })
    );
    let data = secret["data"].as_object().unwrap();
    let files: BTreeMap<String, Vec<u8>> =
        data.iter().map(|(k, v)| (k.clone(), decode(v))).collect();
    assert_eq!(
        files, plan.material,
        "the Secret holds exactly the plan's files"
    );

    let chain = api.get(CHAIN).expect("the Chain exists");
    assert_eq!(
        chain["spec"],
        json!({
            "engine": "native",
            "version": "1.2.0",
            "consensus": "bft",
            "members": [
                {"name": "org2", "validators": 2, "observers": 0, "peers": 0, "orderers": 0},
                {"name": "org1", "validators": 1, "observers": 0, "peers": 0, "orderers": 0},
            ],
            "retainPolicy": "Retain",
        })
    );
    assert_eq!(
        chain["metadata"]["labels"]["consortia.dev/chain-id"],
        id().to_string()
    );

    let writes = api.writes();
    assert_eq!(writes.len(), 2, "{writes:#?}");
    assert_eq!(
        (writes[0].method.clone(), writes[0].path.as_str()),
        (Method::POST, "/api/v1/namespaces/team/secrets")
    );
    assert!(writes[0].query.contains("fieldManager=consortia-api"));
    assert_eq!(
        (writes[1].method.clone(), writes[1].path.as_str()),
        (Method::PATCH, CHAIN)
    );
    assert!(
        writes[1]
            .content_type
            .starts_with("application/apply-patch")
    );
    assert!(writes[1].query.contains("fieldManager=consortia-api"));
    assert!(writes[1].query.contains("force=true"));
    assert!(
        writes[1].body.get("status").is_none(),
        "the API server never writes status"
    );
}

#[tokio::test]
async fn ensure_of_a_chain_in_place_writes_nothing() {
    let (api, rt) = runtime();
    rt.ensure(plan(Engine::Native)).await.unwrap();
    api.clear_log();
    rt.ensure(plan(Engine::Native)).await.unwrap();
    assert_eq!(api.writes(), [], "a second ensure only reads");
    assert!(!api.requests().is_empty());
}

#[tokio::test]
async fn ensure_reapplies_a_chain_that_drifted() {
    let (api, rt) = runtime();
    rt.ensure(plan(Engine::Native)).await.unwrap();
    api.edit(CHAIN, |c| c["spec"]["members"][0]["validators"] = json!(7));
    api.clear_log();
    rt.ensure(plan(Engine::Native)).await.unwrap();
    let writes = api.writes();
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(
        (writes[0].method.clone(), writes[0].path.as_str()),
        (Method::PATCH, CHAIN)
    );
    assert_eq!(
        api.get(CHAIN).unwrap()["spec"]["members"][0]["validators"],
        2
    );
}

#[tokio::test]
async fn the_users_consensus_reaches_the_chain() {
    let (api, rt) = runtime();
    rt.ensure(plan(Engine::Native)).await.unwrap();
    assert_eq!(api.get(CHAIN).unwrap()["spec"]["consensus"], "bft");
    // A Chain written without it (by an older API server) gets it on the next ensure.
    api.edit(CHAIN, |c| {
        c["spec"].as_object_mut().unwrap().remove("consensus");
    });
    api.clear_log();
    rt.ensure(plan(Engine::Native)).await.unwrap();
    assert_eq!(api.writes().len(), 1, "{:#?}", api.writes());
    assert_eq!(api.get(CHAIN).unwrap()["spec"]["consensus"], "bft");
}

#[tokio::test]
async fn ensure_refuses_a_key_secret_with_another_genesis() {
    let (api, rt) = runtime();
    api.put(SECRET, secret_with_genesis(b"{\"chain_id\":\"another\"}"));
    let before = api.get(SECRET);
    let err = rt.ensure(plan(Engine::Native)).await.unwrap_err();
    let RuntimeError::Failed(e) = &err else {
        panic!("expected Failed, got {err:?}");
    };
    let msg = format!("{e:#}");
    assert!(msg.contains("team/ch-demo-keys"), "{msg}");
    assert!(msg.contains("does not hold this chain's genesis"), "{msg}");
    assert!(
        msg.contains("delete it"),
        "the message says what to do: {msg}"
    );
    assert_eq!(api.get(CHAIN), None, "no Chain for keys that are not ours");
    assert_eq!(api.get(SECRET), before, "the other Secret is untouched");
    assert_eq!(api.writes(), []);
}

#[tokio::test]
async fn ensure_adopts_a_key_secret_with_the_same_genesis() {
    let (api, rt) = runtime();
    api.put(SECRET, secret_with_genesis(GENESIS));
    rt.ensure(plan(Engine::Native)).await.unwrap();
    assert_eq!(
        api.get(SECRET).unwrap()["metadata"]["labels"]["made-by"],
        "someone else",
        "the existing Secret is kept as it is"
    );
    assert!(api.get(CHAIN).is_some());
}

#[tokio::test]
async fn ensure_judges_a_key_secret_created_by_a_racing_writer() {
    // The Secret appears between our read and our create: the create gets 409.
    for (genesis, accepted) in [(GENESIS, true), (&b"{}"[..], false)] {
        let (api, rt) = runtime();
        api.put(SECRET, secret_with_genesis(genesis));
        api.fail_next(Method::GET, "/secrets/ch-demo-keys", 404);
        let result = rt.ensure(plan(Engine::Native)).await;
        let posted = api
            .requests()
            .iter()
            .any(|r| r.method == Method::POST && r.path.ends_with("/secrets"));
        assert!(posted, "the create was attempted");
        assert_eq!(result.is_ok(), accepted, "{result:?}");
        assert_eq!(api.get(CHAIN).is_some(), accepted);
    }
}

#[tokio::test]
async fn ensure_refuses_a_chain_being_deleted() {
    let (api, rt) = runtime();
    rt.ensure(plan(Engine::Native)).await.unwrap();
    api.edit(CHAIN, |c| {
        c["metadata"]["deletionTimestamp"] = json!("2026-11-28T00:00:00Z");
    });
    api.clear_log();
    let err = rt.ensure(plan(Engine::Native)).await.unwrap_err();
    assert!(err.to_string().contains("being deleted"), "{err}");
    assert_eq!(api.writes(), []);
}

#[tokio::test]
async fn ensure_reports_api_errors_and_creates_no_chain() {
    let (api, rt) = runtime();
    api.fail_next(Method::POST, "/secrets", 500);
    let err = rt.ensure(plan(Engine::Native)).await.unwrap_err();
    assert!(matches!(err, RuntimeError::Failed(_)));
    assert!(
        err.to_string()
            .contains("creating Secret team/ch-demo-keys"),
        "{err}"
    );
    assert_eq!(api.get(CHAIN), None);
}

#[tokio::test]
async fn fabric_and_quorum_are_refused_before_anything_is_written() {
    let (api, rt) = runtime();
    assert_eq!(rt.kind(), "kubernetes");
    assert!(rt.supports(Engine::Native).is_ok());
    for engine in [Engine::Fabric, Engine::Quorum] {
        let Err(RuntimeError::Unsupported(msg)) = rt.supports(engine) else {
            panic!("{engine:?} must be unsupported");
        };
        assert!(msg.contains(engine.as_str()), "{msg}");
        assert!(msg.contains("native chains only"), "{msg}");
        let err = rt.ensure(plan(engine)).await.unwrap_err();
        assert!(matches!(err, RuntimeError::Unsupported(_)), "{err:?}");
    }
    assert_eq!(api.requests(), []);
}

#[tokio::test]
async fn report_maps_the_chain_status_and_its_pods() {
    let (api, rt) = runtime();
    api.put(
        CHAIN,
        stored_chain(
            NAME,
            id(),
            json!([]),
            json!({
                "phase": "Degraded", "blockHeight": 42, "genesisHash": "feed",
                "readyNodes": 1, "totalNodes": 3,
                "conditions": [
                    condition("SpecValid", "True", "the spec was accepted"),
                    condition("Ready", "False", "1/3 nodes ready"),
                ],
            }),
        ),
    );
    // Another chain, found neither by id nor by pod label.
    api.put(
        &format!("{CHAINS}/ch-other"),
        stored_chain(
            "ch-other",
            Uuid::from_u128(7),
            json!([]),
            json!({"phase": "Running"}),
        ),
    );
    api.put(
        &format!("{PODS}/ch-demo-org2-0"),
        pod(NAME, "org2", 0, true, 0, ""),
    );
    api.put(
        &format!("{PODS}/ch-demo-org2-1"),
        pod(NAME, "org2", 1, false, 3, "CrashLoopBackOff"),
    );
    api.put(
        &format!("{PODS}/ch-demo-org1-0"),
        pod(NAME, "org1", 0, false, 0, "ContainerCreating"),
    );
    api.put(
        &format!("{PODS}/ch-other-org1-0"),
        pod("ch-other", "org1", 0, true, 0, ""),
    );

    let report = rt.report(id()).await;
    let n = |name: &str, member: &str, state, restarts| NodeReport {
        name: name.to_string(),
        member: member.to_string(),
        state,
        restarts,
        height: None,
        endpoint: None,
    };
    assert_eq!(
        report,
        ChainReport {
            phase: Phase::Degraded,
            height: Some(42),
            genesis_hash: Some("feed".to_string()),
            message: Some("1/3 nodes ready".to_string()),
            nodes: vec![
                n("ch-demo-org1-0", "org1", NodeState::Starting, 0),
                n("ch-demo-org2-0", "org2", NodeState::Running, 0),
                n("ch-demo-org2-1", "org2", NodeState::Restarting, 3),
            ],
        }
    );
    let lists: Vec<_> = api
        .requests()
        .into_iter()
        .map(|r| (r.path, r.query))
        .collect();
    assert!(
        lists.iter().any(|(p, q)| p == CHAINS
            && q.contains(&format!(
                "labelSelector=consortia.dev%2Fchain-id%3D{}",
                id()
            ))),
        "the Chain is found by its id label: {lists:?}"
    );
}

#[tokio::test]
async fn report_of_a_refused_chain_says_why() {
    let (api, rt) = runtime();
    api.put(
        CHAIN,
        stored_chain(
            NAME,
            id(),
            json!([]),
            json!({"phase": "Failed", "conditions": [
                condition("SpecValid", "False", "the chain has no validators"),
                condition("Ready", "False", "the chain cannot be provisioned as specified"),
            ]}),
        ),
    );
    let report = rt.report(id()).await;
    assert_eq!(report.phase, Phase::Failed);
    assert_eq!(
        report.message.as_deref(),
        Some("the chain has no validators")
    );
    assert_eq!(report.nodes, []);
}

#[tokio::test]
async fn a_chain_not_on_kubernetes_is_stopped_without_endpoints() {
    let (_api, rt) = runtime();
    let report = rt.report(id()).await;
    assert_eq!(report.phase, Phase::Stopped);
    assert_eq!(report.nodes, []);
    assert_eq!(report.height, None);
    assert_eq!(rt.endpoints(id()).await, Vec::<String>::new());
}

#[tokio::test]
async fn report_says_when_the_api_cannot_be_read() {
    let (api, rt) = runtime();
    api.fail_next(Method::GET, "/chains", 500);
    let report = rt.report(id()).await;
    assert_eq!(report.phase, Phase::Failed);
    assert!(report.message.unwrap().contains("could not read the chain"));
}

#[tokio::test]
async fn endpoints_name_the_client_service() {
    let (api, rt) = runtime();
    rt.ensure(plan(Engine::Native)).await.unwrap();
    assert_eq!(
        rt.endpoints(id()).await,
        ["http://ch-demo-client.team.svc:26657"]
    );
    assert_eq!(api.get(CHAIN).unwrap()["metadata"]["name"], NAME);
}

#[tokio::test]
async fn remove_sets_the_retain_policy_then_deletes_the_chain() {
    for (keep_data, policy) in [(false, "Delete"), (true, "Retain")] {
        let (api, rt) = runtime();
        // The operator's finalizer holds the Chain until it has cleaned up.
        api.put(
            CHAIN,
            stored_chain(NAME, id(), json!(["consortia.dev/cleanup"]), json!({})),
        );
        rt.remove(id(), NAME, keep_data).await.unwrap();
        let writes = api.writes();
        assert_eq!(writes.len(), 2, "{writes:#?}");
        assert_eq!(
            (writes[0].method.clone(), writes[0].path.as_str()),
            (Method::PATCH, CHAIN)
        );
        assert!(
            writes[0]
                .content_type
                .starts_with("application/merge-patch")
        );
        assert_eq!(writes[0].body, json!({"spec": {"retainPolicy": policy}}));
        assert_eq!(
            (writes[1].method.clone(), writes[1].path.as_str()),
            (Method::DELETE, CHAIN)
        );
        let chain = api.get(CHAIN).expect("held by the finalizer");
        assert_eq!(chain["spec"]["retainPolicy"], policy);
        assert!(chain["metadata"]["deletionTimestamp"].is_string());
        assert_eq!(rt.report(id()).await.phase, Phase::Stopped);
    }
}

#[tokio::test]
async fn remove_of_a_chain_that_is_gone_succeeds() {
    let (api, rt) = runtime();
    rt.remove(id(), NAME, false).await.unwrap();
    assert_eq!(api.paths(), Vec::<String>::new());

    // Gone between the patch and the delete.
    api.put(CHAIN, stored_chain(NAME, id(), json!([]), json!({})));
    api.fail_next(Method::DELETE, "/chains/ch-demo", 404);
    rt.remove(id(), NAME, false).await.unwrap();
}

#[tokio::test]
async fn remove_reports_other_api_errors() {
    let (api, rt) = runtime();
    api.put(CHAIN, stored_chain(NAME, id(), json!([]), json!({})));
    api.fail_next(Method::PATCH, "/chains/ch-demo", 500);
    let err = rt.remove(id(), NAME, false).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("retainPolicy of Chain team/ch-demo"),
        "{err}"
    );
    assert!(
        api.get(CHAIN).is_some(),
        "not deleted with the wrong policy"
    );
}
