//! An observer trusts no upstream. A fake upstream serves the blocks of a real one-validator
//! chain, tampered in every way that matters — broken, forged, missing or reused certificate
//! signatures, altered header, altered transaction, wrong height, a block certified by the
//! validator's own key but invalid, and answers that are not block pages at all. The
//! observer's height never moves while that is all it gets; once the upstream turns honest it
//! follows to the validator's exact blocks. An observer given a liar and an honest node
//! follows the honest one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use consortia_bft::{CommitCertificate, CommitSig, VoteKind, vote_sign_bytes};
use consortia_node::block::BlockPage;
use consortia_node::client::Client;
use consortia_node::config::NodeConfig;
use consortia_node::genesis::{Genesis, Params};
use consortia_node::observer::ObserverHandle;
use consortia_node::store::Store;
use consortia_node::testnet::{TestnetSpec, generate};
use consortia_node::tx::{HashAlg, Op, SignedTx, Tx};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::Value;
use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lie {
    Honest,
    NotAPage,
    BadSignature,
    OutsiderSignature,
    RepeatedSigner,
    NoSignatures,
    AlteredHeader,
    AlteredTransaction,
    WrongHeight,
    CertifiedButInvalid,
}

struct Liar {
    store: Store,
    validator_key: SigningKey,
    chain_id: String,
    lie: Mutex<Lie>,
}

fn sign_cert(
    key: &SigningKey,
    chain_id: &str,
    height: u64,
    round: u32,
    hash: [u8; 32],
) -> CommitCertificate {
    let msg = vote_sign_bytes(chain_id, VoteKind::Precommit, height, round, Some(&hash));
    CommitCertificate {
        height,
        round,
        block_hash: hash,
        signatures: vec![CommitSig {
            validator: 0,
            signature: key.sign(&msg).to_bytes(),
        }],
    }
}

async fn liar_blocks(
    State(l): State<Arc<Liar>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let from: u64 = q["from"].parse().unwrap();
    let lie = *l.lie.lock().unwrap();
    let height = l.store.height().unwrap();
    if lie == Lie::NotAPage {
        return Json(serde_json::json!({"height": height, "blocks": [{"block": 1}]}))
            .into_response();
    }
    let start = if lie == Lie::WrongHeight {
        from + 1
    } else {
        from
    };
    let mut blocks = l.store.blocks_from(start, 16, 1 << 30).unwrap();
    if let Some(first) = blocks.first_mut() {
        let cert = &mut first.certificate;
        match lie {
            Lie::Honest | Lie::NotAPage | Lie::WrongHeight => {}
            Lie::BadSignature => cert.signatures[0].signature[10] ^= 1,
            Lie::OutsiderSignature => {
                let outsider = SigningKey::from_bytes(&[9; 32]);
                *cert = sign_cert(
                    &outsider,
                    &l.chain_id,
                    cert.height,
                    cert.round,
                    cert.block_hash,
                );
            }
            Lie::RepeatedSigner => {
                let s = cert.signatures[0].clone();
                cert.signatures.push(s);
            }
            Lie::NoSignatures => cert.signatures.clear(),
            Lie::AlteredHeader => first.block.header.time_ms += 1,
            Lie::AlteredTransaction => {
                if let Op::Deposit { metadata, .. } = &mut first.block.txs[0].tx.op {
                    *metadata = "{\"kind\":\"forged\"}".into();
                }
            }
            Lie::CertifiedButInvalid => {
                // The validator's own key signs a block whose state root is wrong: signatures
                // alone do not make a block valid.
                first.block.header.state_root = [7; 32];
                *cert = sign_cert(
                    &l.validator_key,
                    &l.chain_id,
                    cert.height,
                    cert.round,
                    first.block.hash(),
                );
            }
        }
    }
    Json(BlockPage { height, blocks }).into_response()
}

async fn serve_liar(liar: Arc<Liar>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/v1/blocks", get(liar_blocks))
        .with_state(liar);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

async fn start_observer(
    genesis: &Genesis,
    upstreams: Vec<String>,
    data: &std::path::Path,
    stop: watch::Receiver<bool>,
) -> (ObserverHandle, Client) {
    let cfg = NodeConfig {
        moniker: "observer".into(),
        p2p_listen: String::new(),
        api_listen: "127.0.0.1:0".into(),
        peers: vec![],
        data_dir: data.to_path_buf(),
    };
    let h = consortia_node::observer::start(&cfg, genesis.clone(), upstreams, data, stop)
        .await
        .unwrap();
    let c = Client::new(&format!("http://{}", h.api_addr)).unwrap();
    (h, c)
}

fn deposit(key: &SigningKey, chain: &str, nonce: u64) -> SignedTx {
    Tx {
        chain_id: chain.into(),
        account: "acct-0".into(),
        nonce,
        expiry_height: 1000,
        op: Op::Deposit {
            hash_alg: HashAlg::Sha256,
            content_hash: vec![nonce as u8; 32],
            metadata: "{\"kind\":\"contract\"}".into(),
            external_id: None,
        },
    }
    .sign(&[key])
}

async fn wait_until<F: std::future::Future<Output = bool>>(
    what: &str,
    within: Duration,
    mut f: impl FnMut() -> F,
) {
    let deadline = Instant::now() + within;
    while !f().await {
        assert!(Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_refuses_every_lie_of_its_upstream() {
    let dir = tempfile::tempdir().unwrap();
    // Blocks only when there is something to put in them: block 1 holds the first deposit.
    let params = Params {
        empty_block_ms: 600_000,
        ..Params::default()
    };
    generate(
        dir.path(),
        &TestnetSpec {
            validators: 1,
            chain_id: "observer-test".into(),
            base_port: None,
            accounts: 1,
            params,
        },
    )
    .unwrap();
    let home = dir.path().join("node0");
    let cfg = NodeConfig::load(&home).unwrap();
    let genesis = Genesis::load(&home.join("genesis.json")).unwrap();
    let vkey = consortia_node::keys::load(&home.join("node_key.json")).unwrap();
    let (stop, rx) = watch::channel(false);
    let validator = consortia_node::node::start(
        &cfg,
        genesis.clone(),
        vkey.clone(),
        &home.join("data"),
        rx.clone(),
    )
    .await
    .unwrap();
    let vclient = Client::new(&format!("http://{}", validator.api_addr)).unwrap();
    let acct = consortia_node::keys::load(&dir.path().join("accounts/acct-0.json")).unwrap();
    let mut hashes = Vec::new();
    for n in 1..=2 {
        let h = vclient
            .submit(&deposit(&acct, &genesis.chain_id, n))
            .await
            .unwrap();
        let r = vclient
            .wait_receipt(&h, Duration::from_secs(20))
            .await
            .unwrap();
        assert_eq!(r.height, n, "each deposit in a block of its own");
        hashes.push(h);
    }

    let liar = Arc::new(Liar {
        store: validator.shared.store.clone(),
        validator_key: vkey,
        chain_id: genesis.chain_id.clone(),
        lie: Mutex::new(Lie::NotAPage),
    });
    let liar_url = serve_liar(liar.clone()).await;
    let (_obs, oc) = start_observer(
        &genesis,
        vec![liar_url.clone()],
        &dir.path().join("obs1"),
        rx.clone(),
    )
    .await;

    let obs_status = || async { oc.status().await.unwrap() };
    wait_until(
        "an unusable answer is noticed",
        Duration::from_secs(20),
        || async {
            obs_status().await["observer"]["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("block page"))
        },
    )
    .await;
    let lies = [
        (Lie::BadSignature, "certificate", "does not verify"),
        (Lie::OutsiderSignature, "certificate", "does not verify"),
        (Lie::RepeatedSigner, "certificate", "signs twice"),
        (Lie::NoSignatures, "certificate", "more than two thirds"),
        (Lie::AlteredHeader, "certificate", "another block hash"),
        (
            Lie::AlteredTransaction,
            "invalid",
            "transaction root does not match",
        ),
        (
            Lie::WrongHeight,
            "sequence",
            "block 2 is not the next height 1",
        ),
        (
            Lie::CertifiedButInvalid,
            "invalid",
            "state root does not match",
        ),
    ];
    for (lie, reason, needle) in lies {
        let before = obs_status().await["observer"]["refused_blocks"]
            .as_u64()
            .unwrap();
        *liar.lie.lock().unwrap() = lie;
        wait_until(
            &format!("{lie:?} is refused"),
            Duration::from_secs(20),
            || async {
                let st = obs_status().await;
                st["observer"]["refused_blocks"].as_u64().unwrap() > before
                    && st["observer"]["last_refusal"]
                        .as_str()
                        .is_some_and(|r| r.contains(needle))
            },
        )
        .await;
        let st = obs_status().await;
        assert_eq!(st["height"], 0, "{lie:?} moved the observer: {st}");
        assert_eq!(st["latest_block_hash"], Value::Null);
        let e = oc.block(Some(1)).await.unwrap_err();
        assert!(format!("{e}").contains("unknown_block"), "{lie:?}: {e}");
        let m = reqwest::get(format!("{}/metrics", oc.base()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            m.contains(&format!(
                "consortia_node_observer_refused_blocks_total{{reason=\"{reason}\"}}"
            )),
            "{lie:?}: no refusal counted as {reason}:\n{m}"
        );
    }
    assert_eq!(oc.account("acct-0").await.unwrap().nonce, 0);

    // Honest again: the observer follows to the validator's exact blocks and receipts.
    *liar.lie.lock().unwrap() = Lie::Honest;
    wait_until(
        "the observer follows an honest upstream",
        Duration::from_secs(20),
        || async { obs_status().await["height"] == 2 },
    )
    .await;
    for h in 1..=2 {
        assert_eq!(
            oc.block(Some(h)).await.unwrap(),
            vclient.block(Some(h)).await.unwrap()
        );
    }
    for h in &hashes {
        let r = oc.receipt(h).await.unwrap();
        consortia_node::receipt::verify_receipt(&genesis, &r).unwrap();
        assert_eq!(r, vclient.receipt(h).await.unwrap());
    }

    // Given a liar and an honest node, an observer refuses the one and follows the other.
    *liar.lie.lock().unwrap() = Lie::AlteredTransaction;
    let (_obs2, oc2) = start_observer(
        &genesis,
        vec![liar_url, vclient.base().to_string()],
        &dir.path().join("obs2"),
        rx.clone(),
    )
    .await;
    wait_until(
        "the second observer follows the honest node",
        Duration::from_secs(20),
        || async { oc2.status().await.unwrap()["height"] == 2 },
    )
    .await;
    let st = oc2.status().await.unwrap();
    assert!(
        st["observer"]["refused_blocks"].as_u64().unwrap() >= 1,
        "{st}"
    );
    assert_eq!(st["upstream"], vclient.base());
    for h in 1..=2 {
        assert_eq!(
            oc2.block(Some(h)).await.unwrap(),
            vclient.block(Some(h)).await.unwrap()
        );
    }
    let _ = stop.send(true);
}
