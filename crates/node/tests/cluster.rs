//! Four real `consortia-node` processes from `testnet`: deposits flow; one node is killed with
//! SIGKILL under load and the chain keeps committing; it restarts, catches up, and no
//! transaction that was reported committed is lost on any node. Receipts from the restarted
//! node verify offline with the CLI. A node restarted behind several near-maximum blocks
//! catches up by sync.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use consortia_bft::{CommitCertificate, CommitSig, VoteKind, vote_sign_bytes};
use consortia_node::block::Block;
use consortia_node::client::Client;
use consortia_node::config::NodeConfig;
use consortia_node::genesis::Genesis;
use consortia_node::ledger::Ledger;
use consortia_node::tx::{HashAlg, Op, Tx};
use ed25519_dalek::{Signer, SigningKey};

const BIN: &str = env!("CARGO_BIN_EXE_consortia-node");

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(home: &Path) -> Proc {
    let log = std::fs::File::create(home.join("node.log")).unwrap();
    Proc(
        Command::new(BIN)
            .args(["run", "--home"])
            .arg(home)
            .env("CONSORTIA_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

async fn height(c: &Client) -> u64 {
    c.status()
        .await
        .ok()
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

/// A four-validator network under `dir/net` with four accounts and the given genesis
/// parameters (JSON): its directory, the nodes' homes and API clients.
fn testnet(dir: &Path, params_json: &str) -> (PathBuf, Vec<PathBuf>, Vec<Client>) {
    let params = dir.join("params.json");
    std::fs::write(&params, params_json).unwrap();
    let net = dir.join("net");
    let out = Command::new(BIN)
        .args([
            "testnet",
            "--validators",
            "4",
            "--accounts",
            "4",
            "--json",
            "--dir",
        ])
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
    let homes: Vec<PathBuf> = (0..4).map(|i| net.join(format!("node{i}"))).collect();
    let clients: Vec<Client> = homes
        .iter()
        .map(|h| {
            let cfg = NodeConfig::load(h).unwrap();
            Client::new(&format!("http://{}", cfg.api_listen)).unwrap()
        })
        .collect();
    (net, homes, clients)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_survive_a_killed_node() {
    let dir = tempfile::tempdir().unwrap();
    // Short timeouts so a dead proposer's rounds pass quickly.
    let (net, homes, clients) = testnet(
        dir.path(),
        r#"{"propose_timeout_ms": 800, "prevote_timeout_ms": 400, "precommit_timeout_ms": 400, "empty_block_ms": 300}"#,
    );
    let mut procs: Vec<Option<Proc>> = homes.iter().map(|h| Some(spawn(h))).collect();
    for c in &clients {
        wait_height(c, 2, Duration::from_secs(30), "startup").await;
    }

    // Load: each account's deposits go to nodes 0-2 in turn (node 3 will be killed).
    let committed: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let accepted: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for a in 0..4 {
        let key = consortia_node::keys::load(&net.join(format!("accounts/acct-{a}.json"))).unwrap();
        let clients = clients[..3].to_vec();
        let accepted = accepted.clone();
        let stop = stop.clone();
        load.push(tokio::spawn(async move {
            let mut nonce = 0u64;
            let mut turn = a;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let batch: Vec<_> = (0..20)
                    .map(|_| {
                        nonce += 1;
                        deposit(&key, a, nonce)
                    })
                    .collect();
                let c = &clients[turn % clients.len()];
                turn += 1;
                match c.submit_batch(&batch).await {
                    Ok(rs) => {
                        let ok: Vec<String> = rs.into_iter().filter_map(Result::ok).collect();
                        assert_eq!(ok.len(), batch.len(), "a deposit was refused");
                        accepted.lock().unwrap().extend(ok);
                    }
                    Err(e) => panic!("submission failed: {e:#}"),
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    // A watcher records what is reported committed (by node 0), with its height.
    let watcher = {
        let c = clients[0].clone();
        let committed = committed.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut h = height(&c).await.max(1);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(b) = c.block_tx_hashes(h, 1000).await {
                    for t in b["tx_hashes"].as_array().unwrap() {
                        committed
                            .lock()
                            .unwrap()
                            .insert(t.as_str().unwrap().to_string(), h);
                    }
                    h += 1;
                }
            }
        })
    };

    let h0 = height(&clients[0]).await;
    wait_height(&clients[0], h0 + 5, Duration::from_secs(30), "under load").await;
    // SIGKILL node 3 under load: the other three (a quorum) keep committing.
    drop(procs[3].take());
    let killed_at = height(&clients[0]).await;
    let n_before = committed.lock().unwrap().len();
    wait_height(
        &clients[0],
        killed_at + 10,
        Duration::from_secs(60),
        "with node 3 down",
    )
    .await;
    assert!(
        committed.lock().unwrap().len() > n_before,
        "no deposits committed while node 3 was down"
    );

    // Restart it: it resumes from disk, syncs the blocks it missed, and follows the chain.
    procs[3] = Some(spawn(&homes[3]));
    let target = height(&clients[0]).await + 3;
    wait_height(
        &clients[3],
        target,
        Duration::from_secs(60),
        "node 3 catching up",
    )
    .await;

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    watcher.await.unwrap();
    // Everything accepted commits eventually.
    let accepted = accepted.lock().unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    for t in &accepted {
        loop {
            let s = clients[0].tx(t).await.unwrap();
            if s["status"] == "committed" {
                break;
            }
            assert!(Instant::now() < deadline, "accepted {t} never committed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Nothing reported committed is missing on any node, including the restarted one, and
    // all agree on where it is.
    let final_height = height(&clients[0]).await;
    for c in &clients {
        wait_height(c, final_height, Duration::from_secs(30), "final").await;
    }
    let committed = committed.lock().unwrap().clone();
    assert!(
        committed.len() > 100,
        "only {} deposits committed",
        committed.len()
    );
    for (t, h) in &committed {
        for c in &clients {
            let s = c.tx(t).await.unwrap();
            assert_eq!(s["status"], "committed", "{t} lost on {}", c.base());
            assert_eq!(s["height"].as_u64(), Some(*h));
        }
    }
    for h in 1..=final_height {
        let hashes: Vec<_> = {
            let mut v = Vec::new();
            for c in &clients {
                v.push(c.block(Some(h)).await.unwrap()["block"]["header"].clone());
            }
            v
        };
        assert!(
            hashes.windows(2).all(|w| w[0] == w[1]),
            "nodes disagree at height {h}"
        );
    }
    // A receipt served by the restarted node verifies offline against the genesis file.
    let t = committed.keys().next().unwrap();
    let receipt = clients[3].receipt(t).await.unwrap();
    let rfile = dir.path().join("receipt.json");
    std::fs::write(&rfile, serde_json::to_vec(&receipt).unwrap()).unwrap();
    let out = Command::new(BIN)
        .args(["verify-receipt", "--json", "--genesis"])
        .arg(net.join("genesis.json"))
        .arg(&rfile)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    // Metrics show the work.
    let m = reqwest::get(format!("{}/metrics", clients[3].base()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let synced: f64 = m
        .lines()
        .find_map(|l| l.strip_prefix("consortia_node_sync_blocks_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    assert!(synced > 0.0, "the restarted node synced no blocks:\n{m}");
}

/// Sync replies carry whole blocks up to a byte budget, at least one each: a node restarted
/// behind several near-maximum blocks catches up. (Replies of up to 16 blocks with no budget
/// outgrew the peer frame limit of 96 MiB as soon as two 64 MiB blocks were due: the lagging
/// node refused every reply and never caught up.)
///
/// The blocks are made offline, with a quorum of the validators' keys, into node 0's database:
/// consensus over them would mostly measure how long four processes take to gossip 64 MiB
/// proposals, not sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_behind_near_maximum_blocks_catches_up() {
    const MAX_BLOCK: u64 = 64 << 20;
    let dir = tempfile::tempdir().unwrap();
    let (net, homes, clients) = testnet(
        dir.path(),
        &format!(r#"{{"max_block_bytes": {MAX_BLOCK}, "max_metadata_bytes": 8000}}"#),
    );
    // Node 3 runs, then goes down.
    let node3 = spawn(&homes[3]);
    wait_up(&clients[3]).await;
    drop(node3);

    // Meanwhile validators 0-2 commit three blocks of nearly 64 MiB.
    let genesis = Genesis::load(&net.join("genesis.json")).unwrap();
    let keys: Vec<SigningKey> = homes[..3]
        .iter()
        .map(|h| consortia_node::keys::load(&h.join("node_key.json")).unwrap())
        .collect();
    let account = consortia_node::keys::load(&net.join("accounts/acct-0.json")).unwrap();
    {
        let data = homes[0].join("data");
        std::fs::create_dir_all(&data).unwrap();
        let mut ledger = Ledger::open(&data.join("chain.redb"), genesis.clone()).unwrap();
        let mut nonce = 0;
        for _ in 0..3 {
            let txs: Vec<_> = (0..8_300)
                .map(|_| {
                    nonce += 1;
                    deposit_with(&account, 0, nonce, "m".repeat(7_900))
                })
                .collect();
            let proposer = genesis.validators.proposer(ledger.height() + 1, 0) as u32;
            let (block, refused) = ledger.build(txs, 0, proposer, consortia_node::now_ms());
            assert!(refused.is_empty());
            nonce = block.txs.last().unwrap().tx.nonce;
            let bytes: usize = block.txs.iter().map(|t| t.encoded_len()).sum();
            assert!(bytes as u64 > MAX_BLOCK * 9 / 10, "{bytes}");
            let cert = certify(&genesis, &keys, &block);
            ledger
                .validate(&block, &HashSet::new(), consortia_node::now_ms())
                .unwrap();
            ledger.commit(block, cert).unwrap();
        }
    }

    // Node 0 serves them; node 3 restarts three near-maximum blocks behind and catches up.
    let _node0 = spawn(&homes[0]);
    let _node3 = spawn(&homes[3]);
    wait_height(
        &clients[3],
        3,
        Duration::from_secs(180),
        "node 3 catching up over near-maximum blocks",
    )
    .await;
    for h in 1..=3 {
        let (a, b) = (
            clients[0].block_tx_hashes(h, 0).await.unwrap(),
            clients[3].block_tx_hashes(h, 0).await.unwrap(),
        );
        assert_eq!(
            a["block_hash"], b["block_hash"],
            "nodes disagree at height {h}"
        );
    }
    let status = clients[3].status().await.unwrap();
    assert_eq!(status["sync"]["blocks_synced"], 3, "{status}");
}

async fn wait_up(c: &Client) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while c.status().await.is_err() {
        assert!(Instant::now() < deadline, "{} never answered", c.base());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A commit certificate for `block` signed by `keys` (validators 0, 1, … in order).
fn certify(genesis: &Genesis, keys: &[SigningKey], block: &Block) -> CommitCertificate {
    let hash = block.hash();
    let h = block.header.height;
    let msg = vote_sign_bytes(&genesis.chain_id, VoteKind::Precommit, h, 0, Some(&hash));
    CommitCertificate {
        height: h,
        round: 0,
        block_hash: hash,
        signatures: keys
            .iter()
            .enumerate()
            .map(|(i, k)| CommitSig {
                validator: i as u32,
                signature: k.sign(&msg).to_bytes(),
            })
            .collect(),
    }
}

fn deposit(key: &SigningKey, account: usize, nonce: u64) -> consortia_node::tx::SignedTx {
    deposit_with(key, account, nonce, format!("{{\"n\":{nonce}}}"))
}

fn deposit_with(
    key: &SigningKey,
    account: usize,
    nonce: u64,
    metadata: String,
) -> consortia_node::tx::SignedTx {
    let mut content = [0u8; 32];
    content[..8].copy_from_slice(&nonce.to_be_bytes());
    content[8] = account as u8;
    Tx {
        chain_id: "consortia-local".into(),
        account: format!("acct-{account}"),
        nonce,
        expiry_height: 1_000_000,
        op: Op::Deposit {
            hash_alg: HashAlg::Sha256,
            content_hash: content.to_vec(),
            metadata,
            external_id: None,
        },
    }
    .sign(&[key])
}
