//! The desired Kubernetes objects of a native `Chain`: a pure function of the Chain and its
//! key material, tested as data (golden files under `tests/golden/`).
//!
//! For a Chain `X` in namespace `N` with members `m…`:
//! - ServiceAccount `X-node` (no API token mounted: nodes never talk to Kubernetes);
//! - ConfigMap `X-genesis`: `genesis.json` and each validator's `<pod>.config.json`;
//! - Service `X-peers` (headless, publishes not-ready pods so validators find each other
//!   while starting) and Service `X-client` (the nodes' REST API, port 26657); the names and
//!   labels the API server relies on come from `consortia_crds::contract`;
//! - StatefulSet `X-m` per member with `replicas` = that member's validators, pods `X-m-i`,
//!   a PVC per pod from `volumeClaimTemplates`; each pod mounts only its own member's keys;
//! - PodDisruptionBudget `X-validators`: at most f validators voluntarily down (n = 3f+1);
//! - NetworkPolicy `X-nodes`: the p2p port admits only the chain's own pods; the API port is
//!   open to clients.
//!
//! The key Secret `X-keys` is not here: it is created once (never applied, never
//! regenerated) by the controller, and holds no owner reference so that
//! `retainPolicy: Retain` can keep it.

use std::collections::BTreeMap;

use consortia_crds::contract::{
    CHAIN_LABEL, CLIENT_PORT, MEMBER_LABEL, client_service_name, keys_secret_name,
};
use consortia_crds::{Chain, ServiceType};
use consortia_engines::native::{self, API_PORT, Addressing, Material, P2P_PORT};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The field manager of every server-side apply, and the `managed-by` label value.
pub const MANAGER: &str = "consortia-operator";
/// Label naming a node's role: `validator` or `observer`.
pub const ROLE_LABEL: &str = "consortia.dev/role";
/// Where a node keeps its data (the image's volume).
pub const DATA_DIR: &str = "/var/lib/consortia-node";
const NETWORK_DIR: &str = "/etc/consortia/network";
const KEYS_DIR: &str = "/etc/consortia/keys";
/// Default volume size of a node.
pub const DEFAULT_STORAGE: &str = "10Gi";
/// Longest object name derived from a Chain: a StatefulSet's name must leave room for the
/// pod ordinal and the controller-revision-hash label (63 characters).
pub const MAX_STATEFULSET_NAME: usize = 52;

/// Settings of the operator that shape the objects.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Node image used when the Chain names none; `spec.version` replaces its tag.
    pub node_image: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            node_image: format!(
                "ghcr.io/consortia-dev/consortia-node:{}",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }
}

/// Every object the operator applies for a Chain, in apply order.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub service_account: ServiceAccount,
    pub config_map: ConfigMap,
    pub peers_service: Service,
    pub client_service: Service,
    pub stateful_sets: Vec<StatefulSet>,
    pub pdb: PodDisruptionBudget,
    pub network_policy: NetworkPolicy,
}

impl Desired {
    /// Every object as JSON, in apply order (golden files, validation).
    pub fn to_values(&self) -> Vec<Value> {
        let mut out = vec![
            to_value(&self.service_account),
            to_value(&self.config_map),
            to_value(&self.peers_service),
            to_value(&self.client_service),
        ];
        out.extend(self.stateful_sets.iter().map(to_value));
        out.push(to_value(&self.pdb));
        out.push(to_value(&self.network_policy));
        out
    }
}

fn to_value<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).expect("Kubernetes objects serialise")
}

/// Converts a built object to its typed form. In debug builds (every test) it also checks
/// that the typed form kept every field written, so a misspelt field name cannot vanish
/// silently.
fn from_value<T: serde::de::DeserializeOwned + serde::Serialize>(v: Value) -> T {
    let typed: T = serde_json::from_value(v.clone()).expect("the builders write valid objects");
    debug_assert!(
        contains(&to_value(&typed), &v),
        "a field of this object is unknown to Kubernetes: {v:#}"
    );
    typed
}

/// Whether `held` has every field of `want` with the same value (extra fields, such as
/// server defaults and status, are ignored; lists must match item by item).
pub fn contains(held: &Value, want: &Value) -> bool {
    match (held, want) {
        (Value::Object(h), Value::Object(w)) => w
            .iter()
            .all(|(k, wv)| h.get(k).is_some_and(|hv| contains(hv, wv))),
        (Value::Array(h), Value::Array(w)) => {
            h.len() == w.len() && h.iter().zip(w).all(|(hv, wv)| contains(hv, wv))
        }
        (Value::Number(h), Value::Number(w)) => h.as_f64() == w.as_f64(),
        _ => held == want,
    }
}

/// Name of the ConfigMap with the genesis and node configurations.
pub fn config_map_name(chain: &str) -> String {
    format!("{chain}-genesis")
}

/// Name of a member's StatefulSet.
pub fn stateful_set_name(chain: &str, member: &str) -> String {
    format!("{chain}-{member}")
}

/// Name of a member's observer StatefulSet.
pub fn observer_set_name(chain: &str, member: &str) -> String {
    format!("{chain}-{member}-obs")
}

pub use consortia_engines::native::node_name;

/// The chain id written into a new genesis: `namespace.name`, or the name alone when that
/// would be too long.
pub fn chain_id(chain: &Chain) -> String {
    let name = chain.name_any();
    let full = format!("{}.{name}", chain.namespace().unwrap_or_default());
    if full.len() <= 64 { full } else { name }
}

/// Labels every object of a Chain carries; the selector labels are the first three.
pub fn labels(chain: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (CHAIN_LABEL.to_string(), chain.to_string()),
        (
            "app.kubernetes.io/name".to_string(),
            "consortia-node".to_string(),
        ),
        ("app.kubernetes.io/instance".to_string(), chain.to_string()),
        (
            "app.kubernetes.io/part-of".to_string(),
            "consortia".to_string(),
        ),
        (
            "app.kubernetes.io/managed-by".to_string(),
            MANAGER.to_string(),
        ),
    ])
}

fn selector(chain: &str) -> Value {
    json!({
        CHAIN_LABEL: chain,
        "app.kubernetes.io/name": "consortia-node",
        "app.kubernetes.io/instance": chain,
    })
}

fn validators_selector(chain: &str) -> Value {
    let mut s = selector(chain);
    s[ROLE_LABEL] = json!(Role::Validator.label());
    s
}

/// What a StatefulSet's nodes do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Votes on blocks; fixed by the genesis.
    Validator,
    /// Follows the validators and serves reads; scaled freely.
    Observer,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Validator => "validator",
            Role::Observer => "observer",
        }
    }
}

fn metadata(chain: &Chain, name: String, extra: &[(&str, &str)]) -> Value {
    let mut labels = labels(&chain.name_any());
    for (k, v) in extra {
        labels.insert(k.to_string(), v.to_string());
    }
    json!({
        "name": name,
        "namespace": chain.namespace(),
        "labels": labels,
        "ownerReferences": [chain.controller_owner_ref(&())],
    })
}

/// The image of the chain's nodes: `spec.images.node`, else the default with `spec.version`
/// as its tag.
pub fn node_image(chain: &Chain, settings: &Settings) -> String {
    if let Some(image) = chain.spec.images.as_ref().and_then(|i| i.node.clone()) {
        return image;
    }
    match &chain.spec.version {
        Some(version) => {
            let repo = match settings.node_image.rsplit_once(':') {
                // A ':' after the last '/' is a tag separator, not a registry port.
                Some((repo, tag)) if !tag.contains('/') => repo,
                _ => settings.node_image.as_str(),
            };
            let repo = repo.split('@').next().unwrap_or(repo);
            format!("{repo}:{version}")
        }
        None => settings.node_image.clone(),
    }
}

/// The desired objects. The validators come from the material (the genesis), not from the
/// spec, so a spec asking for another validator set never changes a running chain.
pub fn desired(chain: &Chain, material: &Material, settings: &Settings) -> Desired {
    let name = chain.name_any();
    let ns = chain.namespace().unwrap_or_default();
    let peers = format!("{name}-peers");
    let configs = node_configs(material, &name, &ns);
    let mut cm_data = BTreeMap::new();
    cm_data.insert(
        native::GENESIS_FILE.to_string(),
        String::from_utf8(material.genesis_json()).expect("JSON is UTF-8"),
    );
    for (node, cfg) in &configs {
        cm_data.insert(format!("{node}.config.json"), cfg.clone());
    }
    cm_data.insert(OBSERVER_CONFIG.to_string(), observer_config());
    let config_hash = hex::encode(Sha256::digest(
        serde_json::to_vec(&cm_data).expect("strings serialise"),
    ));

    let service_account = from_value(json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(chain, format!("{name}-node"), &[]),
        "automountServiceAccountToken": false,
    }));
    let config_map = from_value(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(chain, config_map_name(&name), &[]),
        "data": cm_data,
    }));
    let peers_service = from_value(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(chain, peers.clone(), &[]),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": true,
            "selector": validators_selector(&name),
            "ports": [{"name": "p2p", "port": P2P_PORT, "targetPort": "p2p", "protocol": "TCP"}],
        },
    }));
    let service_type = chain
        .spec
        .exposure
        .as_ref()
        .and_then(|e| e.service_type)
        .unwrap_or(ServiceType::ClusterIP);
    let client_service = from_value(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(chain, client_service_name(&name), &[]),
        "spec": {
            "type": service_type,
            "selector": selector(&name),
            "ports": [{"name": "api", "port": CLIENT_PORT, "targetPort": "api", "protocol": "TCP"}],
        },
    }));

    // Members in genesis order, each with its validators.
    let mut members: Vec<(String, Vec<String>)> = Vec::new();
    for node in material.layout.nodes() {
        match members.iter_mut().find(|(m, _)| *m == node.member) {
            Some((_, nodes)) => nodes.push(node.name.clone()),
            None => members.push((node.member.clone(), vec![node.name.clone()])),
        }
    }
    let shape = Shape {
        peers: &peers,
        config_hash: &config_hash,
        genesis_hash: &material.genesis_hash(),
    };
    let mut stateful_sets: Vec<StatefulSet> = members
        .iter()
        .map(|(member, nodes)| {
            stateful_set(
                chain,
                settings,
                &shape,
                member,
                Role::Validator,
                nodes.len(),
                nodes,
            )
        })
        .collect();
    // Observers follow the spec, not the genesis: they can be added and removed freely.
    for m in chain.spec.members.iter().filter(|m| m.observers > 0) {
        stateful_sets.push(stateful_set(
            chain,
            settings,
            &shape,
            &m.name,
            Role::Observer,
            m.observers as usize,
            &[],
        ));
    }

    let f = material.layout.fault_tolerance();
    let pdb = from_value(json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(chain, format!("{name}-validators"), &[]),
        "spec": {
            "maxUnavailable": f,
            "selector": {"matchLabels": validators_selector(&name)},
        },
    }));
    let network_policy = from_value(json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(chain, format!("{name}-nodes"), &[]),
        "spec": {
            "podSelector": {"matchLabels": selector(&name)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": selector(&name)}}],
                    "ports": [{"protocol": "TCP", "port": P2P_PORT}],
                },
                {"ports": [{"protocol": "TCP", "port": API_PORT}]},
            ],
        },
    }));
    Desired {
        service_account,
        config_map,
        peers_service,
        client_service,
        stateful_sets,
        pdb,
        network_policy,
    }
}

/// Each validator's configuration: listen on all interfaces, dial the others through the
/// headless Service's per-pod DNS names.
fn node_configs(material: &Material, chain: &str, ns: &str) -> BTreeMap<String, String> {
    let ports = |_: &str| (P2P_PORT, API_PORT);
    let address = |node: &str| format!("{node}.{chain}-peers.{ns}.svc:{P2P_PORT}");
    let addressing = Addressing {
        listen_host: "0.0.0.0",
        ports: &ports,
        peer_address: &address,
        data_dir: "chain".into(),
    };
    material
        .validator_names()
        .iter()
        .map(|node| {
            let cfg = native::node_config(&material.genesis, node, &addressing)
                .expect("every validator of the genesis has a configuration");
            (
                node.clone(),
                String::from_utf8(serde_json::to_vec_pretty(&cfg).expect("config serialises"))
                    .expect("JSON is UTF-8"),
            )
        })
        .collect()
}

/// Where observers read their configuration.
const OBSERVER_CONFIG: &str = "observer.config.json";

/// The configuration every observer shares: only the API address and data directory matter.
fn observer_config() -> String {
    let cfg = consortia_chain::config::NodeConfig {
        moniker: "observer".into(),
        p2p_listen: format!("0.0.0.0:{P2P_PORT}"),
        api_listen: format!("0.0.0.0:{API_PORT}"),
        peers: Vec::new(),
        data_dir: "chain".into(),
    };
    String::from_utf8(serde_json::to_vec_pretty(&cfg).expect("config serialises"))
        .expect("JSON is UTF-8")
}

/// What every StatefulSet of a chain shares.
struct Shape<'a> {
    peers: &'a str,
    config_hash: &'a str,
    genesis_hash: &'a str,
}

fn stateful_set(
    chain: &Chain,
    settings: &Settings,
    shape: &Shape<'_>,
    member: &str,
    role: Role,
    replicas: usize,
    validators: &[String],
) -> StatefulSet {
    let name = chain.name_any();
    let ns = chain.namespace().unwrap_or_default();
    let Shape {
        peers,
        config_hash,
        genesis_hash,
    } = *shape;
    let mut pod_labels = serde_json::to_value(labels(&name)).expect("labels serialise");
    pod_labels[MEMBER_LABEL] = json!(member);
    pod_labels[ROLE_LABEL] = json!(role.label());
    let mut match_labels = selector(&name);
    match_labels[MEMBER_LABEL] = json!(member);
    match_labels[ROLE_LABEL] = json!(role.label());
    let storage = chain.spec.storage.as_ref();
    let size = storage
        .and_then(|s| s.size.clone())
        .unwrap_or_else(|| DEFAULT_STORAGE.to_string());
    let mut pvc_spec = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    });
    if let Some(class) = storage.and_then(|s| s.storage_class_name.clone()) {
        pvc_spec["storageClassName"] = json!(class);
    }
    let key_items: Vec<Value> = validators
        .iter()
        .map(|n| json!({"key": native::key_file_name(n), "path": native::key_file_name(n)}))
        .collect();
    let args = match role {
        Role::Validator => json!([
            "run",
            "--home",
            DATA_DIR,
            "--config",
            format!("{NETWORK_DIR}/$(POD_NAME).config.json"),
            "--genesis",
            format!("{NETWORK_DIR}/{}", native::GENESIS_FILE),
            "--key",
            format!("{KEYS_DIR}/$(POD_NAME).json"),
        ]),
        // Observers follow the validators through the headless Service (validators only)
        // and verify every block's certificate against the genesis.
        Role::Observer => json!([
            "run",
            "--home",
            DATA_DIR,
            "--config",
            format!("{NETWORK_DIR}/{OBSERVER_CONFIG}"),
            "--genesis",
            format!("{NETWORK_DIR}/{}", native::GENESIS_FILE),
            "--observe",
            format!("http://{peers}.{ns}.svc:{API_PORT}"),
        ]),
    };
    let mut mounts = vec![
        json!({"name": "data", "mountPath": DATA_DIR}),
        json!({"name": "network", "mountPath": NETWORK_DIR, "readOnly": true}),
    ];
    let mut volumes =
        vec![json!({"name": "network", "configMap": {"name": config_map_name(&name)}})];
    if role == Role::Validator {
        // Each pod sees only its own member's keys.
        mounts.push(json!({"name": "keys", "mountPath": KEYS_DIR, "readOnly": true}));
        volumes.push(json!({"name": "keys", "secret": {
            "secretName": keys_secret_name(&name),
            "items": key_items,
            "defaultMode": 0o440,
        }}));
    }
    let set_name = match role {
        Role::Validator => stateful_set_name(&name, member),
        Role::Observer => observer_set_name(&name, member),
    };
    let mut container = json!({
        "name": "node",
        "image": node_image(chain, settings),
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "env": [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "CONSORTIA_LOG", "value": "info"},
        ],
        "ports": [
            {"name": "p2p", "containerPort": P2P_PORT, "protocol": "TCP"},
            {"name": "api", "containerPort": API_PORT, "protocol": "TCP"},
        ],
        "readinessProbe": {
            "httpGet": {"path": "/v1/status", "port": "api"},
            "periodSeconds": 5,
            "timeoutSeconds": 2,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "api"},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
            "failureThreshold": 6,
        },
        "volumeMounts": mounts,
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
            "capabilities": {"drop": ["ALL"]},
        },
    });
    if let Some(resources) = &chain.spec.resources {
        container["resources"] = to_value(resources);
    }
    from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata(chain, set_name, &[(MEMBER_LABEL, member), (ROLE_LABEL, role.label())]),
        "spec": {
            "serviceName": peers,
            "replicas": replicas,
            // Validators start together: a BFT chain needs 2f+1 of them before any is useful.
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "RollingUpdate"},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "selector": {"matchLabels": match_labels},
            "template": {
                "metadata": {
                    "labels": pod_labels,
                    "annotations": {
                        "consortia.dev/config-hash": config_hash,
                        "consortia.dev/genesis-hash": genesis_hash,
                    },
                },
                "spec": {
                    "serviceAccountName": format!("{name}-node"),
                    "automountServiceAccountToken": false,
                    "enableServiceLinks": false,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {
                        "runAsNonRoot": true,
                        "runAsUser": 65532,
                        "runAsGroup": 65532,
                        "fsGroup": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    // Spread a chain's validators over machines where the cluster allows.
                    "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
                        "weight": 100,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {"matchLabels": selector(&name)},
                        },
                    }]}},
                    "containers": [container],
                    "volumes": volumes,
                },
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data", "labels": {CHAIN_LABEL: name, MEMBER_LABEL: member, ROLE_LABEL: role.label()}},
                "spec": pvc_spec,
            }],
        },
    }))
}

/// Labels of the key Secret (it has no owner reference; see the module documentation).
pub fn keys_secret_labels(chain: &str) -> BTreeMap<String, String> {
    labels(chain)
}

/// The Chain's API version and kind, for status patches.
pub fn chain_type_meta() -> (String, String) {
    (
        Chain::api_version(&()).to_string(),
        Chain::kind(&()).to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::contains;
    use serde_json::json;

    #[test]
    fn contains_ignores_extra_fields_but_not_changed_ones() {
        let held = json!({"a": 1, "b": {"c": [1, {"d": 2, "e": 3}]}, "status": {}});
        assert!(contains(&held, &json!({"a": 1, "b": {"c": [1, {"d": 2}]}})));
        assert!(!contains(&held, &json!({"a": 2})));
        assert!(!contains(&held, &json!({"b": {"c": [1]}})));
        assert!(!contains(&held, &json!({"x": null})));
        assert!(contains(&json!({"n": 288}), &json!({"n": 288.0})));
    }
}
