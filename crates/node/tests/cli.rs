//! The `consortia-node` command line, as a user runs it.

use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use consortia_node::config::NodeConfig;
use consortia_node::genesis::Genesis;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_consortia-node");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn ok_json(args: &[&str]) -> Value {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn fails_with(args: &[&str], needle: &str) {
    let out = run(args);
    let err =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(
        err.contains(needle),
        "{args:?}: expected {needle:?} in {err}"
    );
}

#[test]
fn keygen_writes_an_owner_only_key_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("k.json");
    let p = f.to_str().unwrap();
    let v = ok_json(&["keygen", "--out", p, "--json"]);
    assert_eq!(v["public_key"].as_str().unwrap().len(), 64);
    let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let key = consortia_node::keys::load(&f).unwrap();
    assert_eq!(
        hex::encode(key.verifying_key().to_bytes()),
        v["public_key"].as_str().unwrap()
    );
    // Never overwrites a key.
    fails_with(&["keygen", "--out", p], "creating key file");
    // The secret never appears in output.
    let v = ok_json(&["keygen", "--json"]);
    assert!(v.get("secret_key").is_none());
}

#[test]
fn testnet_makes_loadable_networks_of_1_4_and_7() {
    for n in [1usize, 4, 7] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("net");
        let v = ok_json(&[
            "testnet",
            "--validators",
            &n.to_string(),
            "--dir",
            d.to_str().unwrap(),
            "--accounts",
            "3",
            "--json",
        ]);
        assert_eq!(v["nodes"].as_array().unwrap().len(), n);
        let g = Genesis::load(&d.join("genesis.json")).unwrap();
        assert_eq!(g.validators.len(), n);
        assert_eq!(g.accounts.len(), 3);
        let mut ports = std::collections::HashSet::new();
        for i in 0..n {
            let home = d.join(format!("node{i}"));
            let cfg = NodeConfig::load(&home).unwrap();
            assert_eq!(cfg.peers.len(), n - 1);
            assert!(ports.insert(cfg.p2p_listen.clone()) && ports.insert(cfg.api_listen.clone()));
            assert_eq!(Genesis::load(&home.join("genesis.json")).unwrap(), g);
            let key = consortia_node::keys::load(&home.join("node_key.json")).unwrap();
            assert_eq!(
                g.validators.index_of(&key.verifying_key().to_bytes()),
                Some(i)
            );
            let mode = std::fs::metadata(home.join("node_key.json"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600);
        }
        // Refuses to overwrite a network.
        fails_with(
            &["testnet", "--validators", "1", "--dir", d.to_str().unwrap()],
            "already holds",
        );
    }
    fails_with(
        &["testnet", "--validators", "0", "--dir", "/tmp/x-never"],
        "between 1 and 100",
    );
}

#[test]
fn genesis_builds_from_keys_and_refuses_bad_input() {
    let k1 = ok_json(&["keygen", "--json"])["public_key"]
        .as_str()
        .unwrap()
        .to_string();
    let k2 = ok_json(&["keygen", "--json"])["public_key"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.json");
    let v = ok_json(&[
        "genesis",
        "--chain-id",
        "alliance-1",
        "--validator",
        &format!("org1={k1}"),
        "--validator",
        &format!("org2={k2}:3"),
        "--account",
        &format!("ops={k1},{k2}@2"),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let g = Genesis::load(&out).unwrap();
    assert_eq!(hex::encode(g.hash()), v["genesis_hash"].as_str().unwrap());
    assert_eq!(g.validators.total_power(), 4);
    assert_eq!(g.accounts[0].threshold, 2);
    fails_with(
        &["genesis", "--chain-id", "c", "--validator", "a=nothex"],
        "not a 32-byte hex public key",
    );
    fails_with(
        &[
            "genesis",
            "--chain-id",
            "c",
            "--validator",
            &format!("a={k1}"),
            "--validator",
            &format!("b={k1}"),
        ],
        "repeats the public key",
    );
    fails_with(
        &[
            "genesis",
            "--chain-id",
            "c",
            "--validator",
            &format!("a={k1}:0"),
        ],
        "zero voting power",
    );
    fails_with(
        &[
            "genesis",
            "--chain-id",
            "bad id!",
            "--validator",
            &format!("a={k1}"),
        ],
        "chain id",
    );
    fails_with(
        &[
            "genesis",
            "--chain-id",
            "c",
            "--validator",
            &format!("a={k1}"),
            "--account",
            &format!("xyz={k1}@5"),
        ],
        "exceeds the total key weight",
    );
    fails_with(
        &["genesis", "--chain-id", "c", "--validator", "novalue"],
        "expected NAME=PUBKEY",
    );
}

#[test]
fn verify_receipt_refuses_what_is_not_a_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("n");
    ok_json(&[
        "testnet",
        "--validators",
        "1",
        "--dir",
        net.to_str().unwrap(),
        "--json",
    ]);
    let bad = dir.path().join("r.json");
    std::fs::write(&bad, b"{\"tx\": 1}").unwrap();
    let out = run(&[
        "verify-receipt",
        "--json",
        "--genesis",
        net.join("genesis.json").to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    fails_with(
        &[
            "verify-receipt",
            "--genesis",
            "/nonexistent/g.json",
            bad.to_str().unwrap(),
        ],
        "cannot read",
    );
}

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One validator (n = 1 is allowed for development): every client command end to end.
#[test]
fn single_node_client_commands() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    ok_json(&[
        "testnet",
        "--validators",
        "1",
        "--accounts",
        "1",
        "--dir",
        net.to_str().unwrap(),
        "--json",
    ]);
    let home = net.join("node0");
    let _node = Node(
        Command::new(BIN)
            .args(["run", "--home"])
            .arg(&home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let api = format!("http://{}", NodeConfig::load(&home).unwrap().api_listen);
    let deadline = Instant::now() + Duration::from_secs(20);
    while run(&["query", "--node", &api, "status"]).status.code() != Some(0) {
        assert!(Instant::now() < deadline, "node did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let key = net.join("accounts/acct-0.json");
    let k = key.to_str().unwrap();
    let g = net.join("genesis.json");
    let client = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        v.extend(
            [
                "--node",
                &api,
                "--account",
                "acct-0",
                "--key",
                k,
                "--wait",
                "--json",
            ]
            .map(String::from),
        );
        v
    };
    let call = |args: Vec<String>| ok_json(&args.iter().map(String::as_str).collect::<Vec<_>>());

    // Deposit a file; query it by content hash and by transaction; verify the receipt offline.
    let doc = dir.path().join("contract.pdf");
    std::fs::write(&doc, b"the signed contract").unwrap();
    let r = call(client(&[
        "deposit",
        "--file",
        doc.to_str().unwrap(),
        "--metadata",
        "{\"kind\":\"contract\"}",
        "--external-id",
        "C-1",
    ]));
    let tx_hash = r["tx_hash"].as_str().unwrap().to_string();
    let content = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        b"the signed contract",
    ));
    let d = ok_json(&["query", "--node", &api, "--json", "deposits", &content]);
    assert_eq!(d["deposits"][0]["tx_hash"], tx_hash.as_str());
    let t = ok_json(&["query", "--node", &api, "--json", "tx", &tx_hash]);
    assert_eq!(t["status"], "committed");
    let rf = dir.path().join("receipt.json");
    ok_json(&[
        "query",
        "--node",
        &api,
        "--json",
        "receipt",
        &tx_hash,
        "--out",
        rf.to_str().unwrap(),
    ]);
    let v = ok_json(&[
        "verify-receipt",
        "--json",
        "--genesis",
        g.to_str().unwrap(),
        rf.to_str().unwrap(),
    ]);
    assert_eq!(v["valid"], true);
    assert_eq!(v["receipt"]["kind"], "deposit");
    // The committed transaction, submitted again, is refused at admission as stale.
    let receipt: consortia_node::receipt::Receipt =
        serde_json::from_slice(&std::fs::read(&rf).unwrap()).unwrap();
    let replay = tokio::runtime::Runtime::new().unwrap().block_on(async {
        consortia_node::client::Client::new(&api)
            .unwrap()
            .submit(&receipt.tx)
            .await
    });
    let e = format!("{:#}", replay.unwrap_err());
    assert!(e.contains("422: stale_nonce"), "{e}");
    let mut tampered: Value = serde_json::from_slice(&std::fs::read(&rf).unwrap()).unwrap();
    tampered["tx"]["tx"]["op"]["deposit"]["metadata"] = Value::from("{\"kind\":\"forged\"}");
    std::fs::write(&rf, serde_json::to_vec(&tampered).unwrap()).unwrap();
    let out = run(&[
        "verify-receipt",
        "--genesis",
        g.to_str().unwrap(),
        rf.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("INVALID"));

    // Account operations: add a key, raise the threshold, create an account, rotate.
    let k2 = dir.path().join("k2.json");
    let pk2 = ok_json(&["keygen", "--out", k2.to_str().unwrap(), "--json"])["public_key"]
        .as_str()
        .unwrap()
        .to_string();
    let rec = dir.path().join("rec.json");
    let prec = ok_json(&["keygen", "--out", rec.to_str().unwrap(), "--json"])["public_key"]
        .as_str()
        .unwrap()
        .to_string();
    call(client(&[
        "account",
        "add-key",
        "--new-key",
        &format!("{pk2}:1"),
    ]));
    call(client(&[
        "account",
        "set-recovery-key",
        "--recovery-key",
        &prec,
    ]));
    let a = ok_json(&["query", "--node", &api, "--json", "account", "acct-0"]);
    assert_eq!(a["keys"].as_array().unwrap().len(), 2);
    let mut two = client(&["account", "set-threshold", "--threshold", "2"]);
    two.extend(["--key".to_string(), k2.to_str().unwrap().to_string()]);
    call(two.clone());
    // One key is no longer enough.
    let out = run(&client(&["deposit", "--content-hash", &"ab".repeat(32)])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("insufficient_weight"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Recovery replaces the keys; the account id stays.
    let fresh = dir.path().join("fresh.json");
    let pf = ok_json(&["keygen", "--out", fresh.to_str().unwrap(), "--json"])["public_key"]
        .as_str()
        .unwrap()
        .to_string();
    ok_json(&[
        "account",
        "recover",
        "--new-key",
        &pf,
        "--threshold",
        "1",
        "--node",
        &api,
        "--account",
        "acct-0",
        "--key",
        rec.to_str().unwrap(),
        "--wait",
        "--json",
    ]);
    ok_json(&[
        "account",
        "create",
        "--id",
        "new-org",
        "--new-key",
        &pk2,
        "--node",
        &api,
        "--account",
        "acct-0",
        "--key",
        fresh.to_str().unwrap(),
        "--wait",
        "--json",
    ]);
    let a = ok_json(&["query", "--node", &api, "--json", "account", "new-org"]);
    assert_eq!(a["threshold"], 1);
    let b = ok_json(&["query", "--node", &api, "--json", "block"]);
    assert!(b["block"]["header"]["height"].as_u64().unwrap() >= 6);
}
