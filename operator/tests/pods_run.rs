//! The objects the operator renders really run: each StatefulSet pod of a 4-validator chain
//! with one observer is started as a `consortia-node` process exactly as the kubelet would
//! (the container's args with `$(POD_NAME)` expanded, the ConfigMap and the member's Secret
//! items as files at the mount paths), with only the cluster DNS names mapped to local
//! ports. The chain must make blocks, take a deposit signed with the `client` key from the
//! Secret, produce a receipt that verifies offline against the ConfigMap's genesis, and the
//! observer must follow it.
//!
//! Needs the `consortia-node` binary beside the test binaries (`cargo build -p
//! consortia-node`; `scripts/test` builds the whole workspace first).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use consortia_chain::genesis::Params;
use consortia_crds::Chain;
use consortia_engines::native::{Material, key_file_name};
use consortia_operator::resources::{self, Settings};
use consortia_operator::status;
use serde_json::Value;

fn node_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CONSORTIA_NODE_BIN") {
        return p.into();
    }
    // target/<profile>/deps/<test> -> target/<profile>/consortia-node
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("consortia-node");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p consortia-node` (or set CONSORTIA_NODE_BIN)",
        bin.display()
    );
    bin
}

struct Pods(Vec<Child>);

impl Drop for Pods {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A node's `/v1/status`, through the node's own client.
fn node_status(bin: &Path, api: &str) -> Option<Value> {
    let out = Command::new(bin)
        .args(["query", "--node", api, "--json", "status"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).ok())?
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn rendered_statefulsets_run_a_chain_that_takes_deposits_and_an_observer_follows_it() {
    let bin = node_bin();
    let chain: Chain = serde_yaml::from_str(
        "apiVersion: consortia.dev/v1alpha1\nkind: Chain\nmetadata: {name: demo, namespace: team, uid: u1}\n\
         spec: {engine: native, members: [{name: org1, validators: 2, observers: 1}, {name: org2, validators: 2}]}\n",
    )
    .unwrap();
    let (layout, _) = status::spec_layout(&chain).unwrap();
    let params = Params {
        empty_block_ms: 200,
        ..Params::default()
    };
    let material = Material::generate(&resources::chain_id(&chain), &layout, params, 1).unwrap();
    let secret = material.to_files();
    let desired = resources::desired(&chain, &material, &Settings::default());

    // Cluster DNS -> local ports.
    let pods: Vec<(String, &k8s_openapi::api::apps::v1::StatefulSet)> = desired
        .stateful_sets
        .iter()
        .flat_map(|sts| {
            let n = sts.spec.as_ref().unwrap().replicas.unwrap();
            (0..n).map(move |i| {
                (
                    format!("{}-{i}", sts.metadata.name.as_deref().unwrap()),
                    sts,
                )
            })
        })
        .collect();
    let free = consortia_ports::free_ports(2 * pods.len()).unwrap();
    let ports: BTreeMap<String, (u16, u16)> = pods
        .iter()
        .zip(free.chunks(2))
        .map(|((p, _), f)| (p.clone(), (f[0], f[1])))
        .collect();
    let local = |text: &str| -> String {
        let mut t = text.to_string();
        for (pod, (p2p, _)) in &ports {
            t = t.replace(
                &format!("{pod}.demo-peers.team.svc:26656"),
                &format!("127.0.0.1:{p2p}"),
            );
        }
        t
    };
    let validator_api = format!("http://127.0.0.1:{}", ports["demo-org1-0"].1);

    let dir = tempfile::tempdir().unwrap();
    let network = dir.path().join("network");
    std::fs::create_dir_all(&network).unwrap();
    for (file, text) in desired.config_map.data.as_ref().unwrap() {
        std::fs::write(network.join(file), local(text)).unwrap();
    }
    let mut children = Pods(Vec::new());
    for (pod, sts) in &pods {
        let spec = sts.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
        let container = &spec.containers[0];
        // This pod's mounts: network (ConfigMap), keys (the Secret's listed items), data.
        let root = dir.path().join(pod);
        let mut mounts: Vec<(String, PathBuf)> = Vec::new();
        for m in container.volume_mounts.as_ref().unwrap() {
            let volume = spec
                .volumes
                .as_ref()
                .unwrap()
                .iter()
                .find(|v| v.name == m.name);
            let host = match volume {
                Some(v) if v.config_map.is_some() => network.clone(),
                Some(v) if v.secret.is_some() => {
                    let keys = root.join("keys");
                    std::fs::create_dir_all(&keys).unwrap();
                    for item in v.secret.as_ref().unwrap().items.as_ref().unwrap() {
                        std::fs::write(keys.join(&item.path), &secret[&item.key]).unwrap();
                    }
                    keys
                }
                _ => root.join("data"),
            };
            std::fs::create_dir_all(&host).unwrap();
            mounts.push((m.mount_path.clone(), host));
        }
        let args: Vec<String> = container
            .args
            .as_ref()
            .unwrap()
            .iter()
            .map(|a| {
                let mut a = a.replace("$(POD_NAME)", pod);
                for (mount, host) in &mounts {
                    if let Some(rest) = a.strip_prefix(mount.as_str()) {
                        a = format!("{}{rest}", host.display());
                    }
                }
                a.replace("http://demo-peers.team.svc:26657", &validator_api)
            })
            .collect();
        // The pod's own config names its listen addresses; point them at its local ports.
        let (p2p, api) = ports[pod];
        let config_arg = args.iter().position(|a| a == "--config").unwrap() + 1;
        let own_config = root.join("config.json");
        let mut cfg: Value =
            serde_json::from_str(&std::fs::read_to_string(&args[config_arg]).unwrap()).unwrap();
        cfg["p2p_listen"] = format!("127.0.0.1:{p2p}").into();
        cfg["api_listen"] = format!("127.0.0.1:{api}").into();
        std::fs::write(&own_config, cfg.to_string()).unwrap();
        let mut args = args;
        args[config_arg] = own_config.display().to_string();
        let log = std::fs::File::create(dir.path().join(format!("{pod}.log"))).unwrap();
        children.0.push(
            Command::new(&bin)
                .args(&args)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
    }

    let height = |pod: &str| {
        node_status(&bin, &format!("http://127.0.0.1:{}", ports[pod].1))
            .and_then(|s| s["height"].as_u64())
            .unwrap_or(0)
    };
    wait_for(
        "the validators to make blocks",
        Duration::from_secs(60),
        || {
            ["demo-org1-0", "demo-org1-1", "demo-org2-0", "demo-org2-1"]
                .iter()
                .all(|p| height(p) >= 2)
        },
    );

    // A deposit signed with the Secret's client key, receipt verified against the ConfigMap.
    let client_key = dir.path().join("client.json");
    std::fs::write(&client_key, &secret["client.json"]).unwrap();
    let out = Command::new(&bin)
        .args([
            "deposit",
            "--node",
            &validator_api,
            "--account",
            "client",
            "--key",
        ])
        .arg(&client_key)
        .args(["--content-hash", &"ab".repeat(32), "--wait", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let receipt = dir.path().join("receipt.json");
    std::fs::write(&receipt, &out.stdout).unwrap();
    let verified = Command::new(&bin)
        .arg("verify-receipt")
        .arg("--genesis")
        .arg(network.join("genesis.json"))
        .arg(&receipt)
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );

    // The observer follows past the deposit and says what it is.
    let committed: u64 = serde_json::from_slice::<Value>(&out.stdout).unwrap()["height"]
        .as_u64()
        .unwrap();
    wait_for("the observer to follow", Duration::from_secs(30), || {
        height("demo-org1-obs-0") >= committed
    });
    let status = node_status(
        &bin,
        &format!("http://127.0.0.1:{}", ports["demo-org1-obs-0"].1),
    )
    .unwrap();
    assert_eq!(status["role"], "observer");
    assert_eq!(status["genesis_hash"], material.genesis_hash());
    // Each validator pod only ever saw its own member's keys.
    let org2_keys: Vec<String> = std::fs::read_dir(dir.path().join("demo-org2-0/keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut org2_keys = org2_keys;
    org2_keys.sort();
    assert_eq!(
        org2_keys,
        [key_file_name("demo-org2-0"), key_file_name("demo-org2-1")]
    );
    assert!(!Path::new(&dir.path().join("demo-org1-obs-0/keys")).exists());
}
