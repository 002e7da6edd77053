//! Observers as an operator runs them: real `consortia-node run --observe` processes next to
//! four real validators. The observer follows the chain (skipping an upstream that is down),
//! serves receipts that verify offline, refuses transactions, and resumes from its own
//! database after a SIGKILL. The command line refuses a key or a bad URL in observer mode.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use consortia_node::client::{ApiFailure, Client};
use consortia_node::config::NodeConfig;
use consortia_node::receipt::Receipt;
use consortia_node::tx::{HashAlg, Op, SignedTx, Tx};
use ed25519_dalek::SigningKey;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_consortia-node");

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str], log: &Path) -> Proc {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Proc(
        Command::new(BIN)
            .args(args)
            .env("CONSORTIA_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

async fn status(c: &Client) -> Option<Value> {
    c.status().await.ok()
}

async fn height(c: &Client) -> u64 {
    status(c)
        .await
        .and_then(|s| s["height"].as_u64())
        .unwrap_or(0)
}

async fn wait_height(c: &Client, h: u64, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    while height(c).await < h {
        assert!(
            Instant::now() < deadline,
            "{what}: {} did not reach height {h}",
            c.base()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn deposit(key: &SigningKey, nonce: u64, content: u8) -> SignedTx {
    Tx {
        chain_id: "consortia-local".into(),
        account: "acct-0".into(),
        nonce,
        expiry_height: 1_000_000,
        op: Op::Deposit {
            hash_alg: HashAlg::Sha256,
            content_hash: vec![content; 32],
            metadata: "{\"kind\":\"contract\"}".into(),
            external_id: None,
        },
    }
    .sign(&[key])
}

fn testnet(dir: &Path, validators: usize) -> PathBuf {
    let params = dir.join("params.json");
    std::fs::write(
        &params,
        r#"{"propose_timeout_ms": 800, "prevote_timeout_ms": 400, "precommit_timeout_ms": 400, "empty_block_ms": 300}"#,
    )
    .unwrap();
    let net = dir.join("net");
    let out = Command::new(BIN)
        .args(["testnet", "--accounts", "1", "--json", "--validators"])
        .arg(validators.to_string())
        .arg("--dir")
        .arg(&net)
        .arg("--params")
        .arg(&params)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    net
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_follows_four_validators_serves_receipts_refuses_txs_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let net = testnet(dir.path(), 4);
    let homes: Vec<PathBuf> = (0..4).map(|i| net.join(format!("node{i}"))).collect();
    let validators: Vec<Client> = homes
        .iter()
        .map(|h| {
            let cfg = NodeConfig::load(h).unwrap();
            Client::new(&format!("http://{}", cfg.api_listen)).unwrap()
        })
        .collect();
    let _procs: Vec<Proc> = homes
        .iter()
        .map(|h| spawn(&["run", "--home", h.to_str().unwrap()], &h.join("node.log")))
        .collect();

    // The observer: its own home and config (no p2p address, no peers, no key), the shared
    // genesis, and three upstreams of which the first is down.
    let obs_home = dir.path().join("observer");
    std::fs::create_dir_all(&obs_home).unwrap();
    let [obs_port, dead_port] = consortia_ports::free_ports(2).unwrap()[..] else {
        unreachable!()
    };
    let obs_api = format!("127.0.0.1:{obs_port}");
    let obs_cfg = dir.path().join("observer.json");
    std::fs::write(
        &obs_cfg,
        format!(r#"{{"moniker": "observer-0", "api_listen": "{obs_api}"}}"#),
    )
    .unwrap();
    let dead = format!("http://127.0.0.1:{dead_port}");
    let genesis = net.join("genesis.json");
    let obs_args: Vec<String> = vec![
        "run".into(),
        "--home".into(),
        obs_home.to_str().unwrap().into(),
        "--config".into(),
        obs_cfg.to_str().unwrap().into(),
        "--genesis".into(),
        genesis.to_str().unwrap().into(),
        "--observe".into(),
        dead.clone(),
        "--observe".into(),
        validators[0].base().into(),
        "--observe".into(),
        validators[1].base().into(),
    ];
    let obs_args: Vec<&str> = obs_args.iter().map(String::as_str).collect();
    let obs_log = obs_home.join("observer.log");
    let mut observer = Some(spawn(&obs_args, &obs_log));
    let obs = Client::new(&format!("http://{obs_api}")).unwrap();

    for v in &validators {
        wait_height(v, 2, Duration::from_secs(30), "validators starting").await;
    }
    // A deposit through a validator; the observer serves the same receipt, which verifies
    // offline against the genesis file alone.
    let key = consortia_node::keys::load(&net.join("accounts/acct-0.json")).unwrap();
    let tx = deposit(&key, 1, 7);
    let hash = validators[0].submit(&tx).await.unwrap();
    let from_validator = validators[0]
        .wait_receipt(&hash, Duration::from_secs(30))
        .await
        .unwrap();
    wait_height(
        &obs,
        from_validator.height,
        Duration::from_secs(30),
        "observer following",
    )
    .await;
    let from_observer = obs.receipt(&hash).await.unwrap();
    // Each node stores the quorum of precommits it saw, so certificates may differ; the rest
    // is the same.
    assert_eq!(
        same_but_certificate(&from_observer),
        same_but_certificate(&from_validator)
    );
    let rfile = dir.path().join("receipt.json");
    std::fs::write(&rfile, serde_json::to_vec(&from_observer).unwrap()).unwrap();
    let out = Command::new(BIN)
        .args(["verify-receipt", "--json", "--genesis"])
        .arg(&genesis)
        .arg(&rfile)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    let d = obs.deposits(&hex::encode([7u8; 32])).await.unwrap();
    assert_eq!(d["deposits"][0]["tx_hash"], hash.as_str());
    assert_eq!(obs.account("acct-0").await.unwrap().nonce, 1);

    // Status tells the roles apart.
    let st = status(&obs).await.unwrap();
    assert_eq!(st["role"], "observer");
    assert_eq!(st["validator_index"], Value::Null);
    assert_eq!(st["node_key"], Value::Null);
    assert_eq!(st["upstreams"].as_array().unwrap().len(), 3);
    assert_ne!(
        st["upstream"], dead,
        "following the upstream that is down: {st}"
    );
    let log = std::fs::read_to_string(&obs_log).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("cannot fetch blocks from upstream") && l.contains(&dead)),
        "the dead upstream left no trace in the log:\n{log}"
    );
    let vst = status(&validators[2]).await.unwrap();
    assert_eq!(vst["role"], "validator");
    assert_eq!(vst["validator_index"], 2);

    // Transactions are refused with a clear answer and go nowhere.
    let tx2 = deposit(&key, 2, 8);
    let e = obs.submit(&tx2).await.unwrap_err();
    let f = e.downcast_ref::<ApiFailure>().expect("an API error answer");
    assert_eq!((f.status, f.code.as_str()), (403, "observer"));
    assert!(f.message.contains("submit transactions to a validator"));
    let e = obs
        .submit_batch(std::slice::from_ref(&tx2))
        .await
        .unwrap_err();
    let f = e.downcast_ref::<ApiFailure>().expect("an API error answer");
    assert_eq!((f.status, f.code.as_str()), (403, "observer"));
    let h2 = hex::encode(tx2.hash());
    for c in [&obs, &validators[0]] {
        let e = c.tx(&h2).await.unwrap_err();
        assert_eq!(e.downcast_ref::<ApiFailure>().unwrap().status, 404);
    }
    // The CLI says the same.
    let out = Command::new(BIN)
        .args(["deposit", "--account", "acct-0", "--content-hash"])
        .arg("ab".repeat(32))
        .arg("--node")
        .arg(obs.base())
        .arg("--key")
        .arg(net.join("accounts/acct-0.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("this node is an observer"),
        "deposit via an observer: {err}"
    );

    // It keeps up with the validators and holds exactly their blocks.
    let target = height(&validators[0]).await + 3;
    wait_height(&obs, target, Duration::from_secs(30), "observer keeping up").await;
    // Validator 1 may be a round behind validator 0 on a busy machine.
    wait_height(
        &validators[1],
        target,
        Duration::from_secs(30),
        "validator 1 at the target",
    )
    .await;
    for h in 1..=target {
        let a = obs.block(Some(h)).await.unwrap();
        let b = validators[1].block(Some(h)).await.unwrap();
        assert_eq!(a["block"], b["block"], "the observer's block {h} differs");
    }

    // SIGKILL; the chain moves on; a restarted observer resumes from its own database (it
    // does not fetch again what it had) and catches up.
    let before = height(&obs).await;
    drop(observer.take());
    let moved_to = height(&validators[0]).await + 5;
    wait_height(
        &validators[0],
        moved_to,
        Duration::from_secs(30),
        "chain without observer",
    )
    .await;
    observer = Some(spawn(&obs_args, &obs_log));
    wait_height(
        &obs,
        moved_to,
        Duration::from_secs(30),
        "observer restarted",
    )
    .await;
    let st = status(&obs).await.unwrap();
    let now = st["height"].as_u64().unwrap();
    let followed = st["observer"]["blocks_followed"].as_u64().unwrap();
    assert!(
        followed <= now - before,
        "after a restart at height {before} the observer fetched {followed} blocks to reach {now}"
    );
    assert_eq!(obs.receipt(&hash).await.unwrap(), from_observer);
    let m = reqwest::get(format!("{}/metrics", obs.base()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let metric = |name: &str| -> f64 {
        m.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{m}"))
    };
    assert!(metric("consortia_node_height") >= now as f64);
    assert!(metric("consortia_node_observer_upstream_height") >= now as f64);
    drop(observer);
}

fn same_but_certificate(r: &Receipt) -> Receipt {
    let mut r = r.clone();
    r.certificate.signatures.clear();
    r
}

fn run_fails(args: &[&str], needle: &str) {
    let out = Command::new(BIN).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(
        err.contains(needle),
        "{args:?}: expected {needle:?} in {err}"
    );
}

#[test]
fn observer_command_line_refuses_a_key_and_bad_upstream_urls() {
    let dir = tempfile::tempdir().unwrap();
    let net = testnet(dir.path(), 1);
    let home = net.join("node0");
    let h = home.to_str().unwrap();
    let key = home.join("node_key.json");
    run_fails(
        &[
            "run",
            "--home",
            h,
            "--observe",
            "http://127.0.0.1:1",
            "--key",
            key.to_str().unwrap(),
        ],
        "an observer holds no key",
    );
    run_fails(
        &["run", "--home", h, "--observe", "127.0.0.1:26657"],
        "must start with http://",
    );
    // Nothing was started: no database was created.
    assert!(!home.join("data").exists());
}
