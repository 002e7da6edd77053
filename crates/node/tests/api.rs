//! Bad input on every route of the node API: each gets a clear 4xx and changes nothing.
//!
//! The node under test runs consensus with a key outside the validator set of a one-validator
//! chain whose validator is not running, so nothing commits and the mempool and accounts can
//! be checked exactly.

use consortia_node::config::NodeConfig;
use consortia_node::genesis::{Genesis, Params};
use consortia_node::testnet::{TestnetSpec, generate};
use consortia_node::tx::{HashAlg, Op, SignedTx, Tx};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use tokio::sync::watch;

struct Api {
    base: String,
    http: reqwest::Client,
    genesis: Genesis,
    acct: SigningKey,
    _stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

async fn observer(mempool_max: u32) -> Api {
    let dir = tempfile::tempdir().unwrap();
    let params = Params {
        mempool_max_txs: mempool_max,
        ..Params::default()
    };
    generate(
        dir.path(),
        &TestnetSpec {
            validators: 1,
            chain_id: "api-test".into(),
            base_port: None,
            accounts: 2,
            params,
        },
    )
    .unwrap();
    let home = dir.path().join("node0");
    let cfg = NodeConfig::load(&home).unwrap();
    let genesis = Genesis::load(&home.join("genesis.json")).unwrap();
    // Not the validator's key: it admits transactions but never commits.
    let key = consortia_node::keys::generate();
    let (stop, rx) = watch::channel(false);
    let h = consortia_node::node::start(&cfg, genesis.clone(), key, &home.join("data"), rx)
        .await
        .unwrap();
    let acct = consortia_node::keys::load(&dir.path().join("accounts/acct-0.json")).unwrap();
    Api {
        base: format!("http://{}", h.api_addr),
        http: reqwest::Client::new(),
        genesis,
        acct,
        _stop: stop,
        _dir: dir,
    }
}

impl Api {
    fn deposit(&self, nonce: u64) -> Tx {
        Tx {
            chain_id: self.genesis.chain_id.clone(),
            account: "acct-0".into(),
            nonce,
            expiry_height: 100,
            op: Op::Deposit {
                hash_alg: HashAlg::Sha256,
                content_hash: vec![nonce as u8; 32],
                metadata: String::new(),
                external_id: None,
            },
        }
    }

    async fn post(
        &self,
        path: &str,
        body: Vec<u8>,
        ctype: Option<&str>,
    ) -> (u16, Value, Option<String>) {
        let mut r = self.http.post(format!("{}{path}", self.base)).body(body);
        if let Some(c) = ctype {
            r = r.header("content-type", c);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let retry = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let v = resp.json().await.unwrap_or(Value::Null);
        (status, v, retry)
    }

    async fn post_json(
        &self,
        path: &str,
        v: &impl serde::Serialize,
    ) -> (u16, Value, Option<String>) {
        self.post(
            path,
            serde_json::to_vec(v).unwrap(),
            Some("application/json"),
        )
        .await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn snapshot(&self) -> (Value, Value) {
        let (_, acct) = self.get("/v1/accounts/acct-0").await;
        let (_, st) = self.get("/v1/status").await;
        (acct, st["mempool_size"].clone())
    }
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<none>")
}

#[tokio::test]
async fn submit_refuses_bad_transactions_and_changes_nothing() {
    let api = observer(1000).await;
    let before = api.snapshot().await;
    let good = api.deposit(1).sign(&[&api.acct]);
    let good_json = serde_json::to_value(&good).unwrap();

    // Malformed JSON, wrong types, unknown fields, missing fields.
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("malformed", b"{not json".to_vec(), 400, "malformed"),
        (
            "wrong type",
            serde_json::to_vec(&json!({"tx": 5, "signatures": []})).unwrap(),
            400,
            "malformed",
        ),
        (
            "unknown field",
            {
                let mut v = good_json.clone();
                v["extra"] = json!(1);
                serde_json::to_vec(&v).unwrap()
            },
            400,
            "malformed",
        ),
        (
            "unknown op",
            {
                let mut v = good_json.clone();
                v["tx"]["op"] = json!({"mint": {}});
                serde_json::to_vec(&v).unwrap()
            },
            400,
            "malformed",
        ),
        (
            "bad hex",
            {
                let mut v = good_json.clone();
                v["signatures"][0]["signature"] = json!("zz");
                serde_json::to_vec(&v).unwrap()
            },
            400,
            "malformed",
        ),
        (
            "missing field",
            {
                let mut v = good_json.clone();
                v["tx"].as_object_mut().unwrap().remove("nonce");
                serde_json::to_vec(&v).unwrap()
            },
            400,
            "malformed",
        ),
        ("oversized", vec![b' '; 70 * 1024], 413, "too_large"),
    ];
    for (name, body, status, c) in cases {
        let (s, v, _) = api.post("/v1/txs", body, Some("application/json")).await;
        assert_eq!((s, code(&v)), (status, c), "{name}: {v}");
    }
    let (s, v, _) = api
        .post("/v1/txs", serde_json::to_vec(&good).unwrap(), None)
        .await;
    assert_eq!((s, code(&v)), (415, "unsupported_media_type"));

    // Refused at admission, each with its reason.
    let other = SigningKey::from_bytes(&[42; 32]);
    let mut wrong_chain = api.deposit(1);
    wrong_chain.chain_id = "other".into();
    let mut tampered = good.clone();
    tampered.tx.nonce = 2;
    let mut big_meta = api.deposit(1);
    if let Op::Deposit { metadata, .. } = &mut big_meta.op {
        *metadata = "x".repeat(5000);
    }
    let mut bad_len = api.deposit(1);
    if let Op::Deposit { content_hash, .. } = &mut bad_len.op {
        content_hash.truncate(20);
    }
    let mut ghost = api.deposit(1);
    ghost.account = "ghost".into();
    let mut expired = api.deposit(1);
    expired.expiry_height = 0;
    let refused: Vec<(&str, SignedTx, u16, &str)> = vec![
        (
            "wrong chain",
            wrong_chain.sign(&[&api.acct]),
            422,
            "wrong_chain_id",
        ),
        ("bad signature", tampered, 422, "bad_signature"),
        (
            "foreign key",
            api.deposit(1).sign(&[&other]),
            422,
            "not_account_key",
        ),
        (
            "metadata",
            big_meta.sign(&[&api.acct]),
            422,
            "metadata_too_large",
        ),
        (
            "hash length",
            bad_len.sign(&[&api.acct]),
            422,
            "bad_hash_length",
        ),
        (
            "unknown account",
            ghost.sign(&[&api.acct]),
            422,
            "unknown_account",
        ),
        (
            "zero nonce",
            api.deposit(0).sign(&[&api.acct]),
            422,
            "zero_nonce",
        ),
        (
            "too far ahead",
            api.deposit(1_000_000).sign(&[&api.acct]),
            422,
            "nonce_too_far",
        ),
        ("expired", expired.sign(&[&api.acct]), 422, "expired"),
        (
            "unsigned",
            SignedTx {
                tx: api.deposit(1),
                signatures: vec![],
            },
            422,
            "unsigned",
        ),
    ];
    for (name, tx, status, c) in refused {
        let (s, v, _) = api.post_json("/v1/txs", &tx).await;
        assert_eq!((s, code(&v)), (status, c), "{name}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    assert_eq!(
        api.snapshot().await,
        before,
        "a refused request changed state"
    );

    // A good one is accepted once; the replay is a conflict.
    let (s, v, _) = api.post_json("/v1/txs", &good).await;
    assert_eq!(s, 202, "{v}");
    let (s, v, _) = api.post_json("/v1/txs", &good).await;
    assert_eq!((s, code(&v)), (409, "duplicate"));
    let other_same_nonce = api.deposit(1);
    let mut o = other_same_nonce;
    o.expiry_height = 99;
    let (s, v, _) = api.post_json("/v1/txs", &o.sign(&[&api.acct])).await;
    assert_eq!((s, code(&v)), (409, "nonce_taken"));
    let (s, v) = api
        .get(&format!("/v1/txs/{}", hex::encode(good.hash())))
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("pending")));
}

#[tokio::test]
async fn a_full_mempool_answers_503_with_retry_after() {
    let api = observer(3).await;
    let batch: Vec<SignedTx> = (1..=5).map(|n| api.deposit(n).sign(&[&api.acct])).collect();
    let (s, v, _) = api.post_json("/v1/txs/batch", &batch).await;
    assert_eq!(s, 200);
    let accepted: Vec<bool> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["accepted"].as_bool().unwrap())
        .collect();
    assert_eq!(accepted, vec![true, true, true, false, false]);
    assert_eq!(v["results"][3]["error"]["code"], "mempool_full");
    let before = api.snapshot().await;
    let (s, v, retry) = api
        .post_json("/v1/txs", &api.deposit(4).sign(&[&api.acct]))
        .await;
    assert_eq!((s, code(&v)), (503, "mempool_full"));
    assert_eq!(retry.as_deref(), Some("1"));
    let (s, _, retry) = api
        .post_json("/v1/txs/batch", &vec![api.deposit(4).sign(&[&api.acct])])
        .await;
    assert_eq!((s, retry.as_deref()), (503, Some("1")));
    assert_eq!(api.snapshot().await, before);
    assert_eq!(before.1, json!(3));
}

#[tokio::test]
async fn batch_and_read_routes_refuse_bad_input() {
    let api = observer(1000).await;
    let before = api.snapshot().await;
    let (s, v, _) = api
        .post_json("/v1/txs/batch", &Vec::<SignedTx>::new())
        .await;
    assert_eq!((s, code(&v)), (400, "bad_batch"));
    let (s, v, _) = api
        .post("/v1/txs/batch", b"[1,2]".to_vec(), Some("application/json"))
        .await;
    assert_eq!((s, code(&v)), (400, "malformed"));
    let (s, v, _) = api
        .post(
            "/v1/txs/batch",
            vec![b' '; 33 << 20],
            Some("application/json"),
        )
        .await;
    assert_eq!((s, code(&v)), (413, "too_large"));
    assert_eq!(api.snapshot().await, before);

    let zeros = "0".repeat(64);
    let reads: Vec<(String, u16, &str)> = vec![
        ("/v1/txs/xyz".into(), 400, "bad_hash"),
        (format!("/v1/txs/{}", "ab".repeat(31)), 400, "bad_hash"),
        (format!("/v1/txs/{zeros}"), 404, "unknown_tx"),
        ("/v1/txs/xyz/receipt".into(), 400, "bad_hash"),
        (format!("/v1/txs/{zeros}/receipt"), 404, "not_committed"),
        ("/v1/blocks/latest".into(), 404, "unknown_block"),
        ("/v1/blocks/0".into(), 400, "bad_height"),
        ("/v1/blocks/-1".into(), 400, "bad_height"),
        ("/v1/blocks/abc".into(), 400, "bad_height"),
        ("/v1/blocks/5".into(), 404, "unknown_block"),
        ("/v1/blocks/5?wait_ms=x".into(), 400, "bad_query"),
        ("/v1/blocks/5?bogus=1".into(), 400, "bad_query"),
        (
            "/v1/blocks/5/tx-hashes?wait_ms=10".into(),
            404,
            "unknown_block",
        ),
        ("/v1/blocks/abc/tx-hashes".into(), 400, "bad_height"),
        ("/v1/blocks".into(), 400, "bad_query"),
        ("/v1/blocks?from=0".into(), 400, "bad_height"),
        ("/v1/blocks?from=x".into(), 400, "bad_query"),
        ("/v1/blocks?from=-1".into(), 400, "bad_query"),
        ("/v1/blocks?from=1&limit=0".into(), 400, "bad_limit"),
        ("/v1/blocks?from=1&limit=101".into(), 400, "bad_limit"),
        ("/v1/blocks?from=1&wait_ms=x".into(), 400, "bad_query"),
        ("/v1/blocks?from=1&bogus=1".into(), 400, "bad_query"),
        ("/v1/accounts/Not%20Valid".into(), 400, "bad_account_id"),
        ("/v1/accounts/nobody".into(), 404, "unknown_account"),
        ("/v1/deposits/xyz".into(), 400, "bad_hash"),
        ("/v1/nothing".into(), 404, "not_found"),
    ];
    for (path, status, c) in reads {
        let (s, v) = api.get(&path).await;
        assert_eq!((s, code(&v)), (status, c), "{path}: {v}");
    }
    let (s, v) = api.get("/v1/blocks?from=1&limit=5&wait_ms=10").await;
    assert_eq!((s, v), (200, json!({"height": 0, "blocks": []})));
    let (s, v) = api.get("/v1/accounts/acct-0").await;
    assert_eq!((s, v["nonce"].as_u64()), (200, Some(0)));
    let (s, v) = api.get(&format!("/v1/deposits/{zeros}")).await;
    assert_eq!(
        (s, v["deposits"].as_array().map(|a| a.len())),
        (200, Some(0))
    );
    let (s, v) = api.get("/v1/status").await;
    assert_eq!((s, v["chain_id"].as_str()), (200, Some("api-test")));
    assert_eq!(v["validator_index"], Value::Null);
    assert_eq!(v["role"], "validator");
    let resp = reqwest::get(format!("{}/metrics", api.base)).await.unwrap();
    let text = resp.text().await.unwrap();
    for m in [
        "consortia_node_height",
        "consortia_node_committed_transactions_total",
        "consortia_node_mempool_transactions",
        "consortia_node_consensus_round_changes_total",
    ] {
        assert!(text.contains(m), "metrics lack {m}");
    }
    let resp = reqwest::get(format!("{}/healthz", api.base)).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}
