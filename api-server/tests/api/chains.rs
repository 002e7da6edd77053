//! Chains through the API on the local runtime (real `consortia-node` processes) and the
//! evidence-deposit service: create, run, deposit, verify offline, fault recovery, delete,
//! and bad input that changes nothing.

use std::time::{Duration, Instant};

use crate::alliances::{found, join, propose, vote};
use crate::support::{Resp, TestApp};
use actix_web::http::Method;
use consortia_chain::genesis::Genesis;
use consortia_chain::receipt::{AnchoredReceipt, Receipt, verify_anchored, verify_receipt};
use serde_json::{Value, json};

fn chains_path(alliance: &str) -> String {
    format!("/api/v1/alliances/{alliance}/chains")
}

async fn create_chain(
    app: &TestApp,
    token: &str,
    tenant: &str,
    alliance: &str,
    nodes: u32,
) -> Value {
    let r = app
        .post(
            &chains_path(alliance),
            token,
            json!({"tenant_id": tenant, "name": "evidence", "engine": "native", "nodes_per_member": nodes}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

/// Polls the chain until `pred` holds (the runtime's view changes as nodes start).
pub(crate) async fn wait_chain(
    app: &TestApp,
    token: &str,
    path: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = app.get(path, token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        if pred(&r.body) {
            return r.body;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn running(c: &Value) -> bool {
    c["phase"] == "running" && c["height"].as_u64().unwrap_or(0) >= 1
}

async fn deposit(app: &TestApp, token: &str, tenant: &str, chain: &str, hash: &str) -> Resp {
    app.post(
        "/api/v1/deposits",
        token,
        json!({"tenant_id": tenant, "content_hash": hash, "metadata": {"doc": "contract.pdf"}, "chain_ids": [chain]}),
    )
    .await
}

async fn chain_lifecycle(app: &TestApp) {
    let (tenant, token) = app.tenant_with_owner("acme").await;
    let alliance = found(app, &token, &tenant, "AcmeMSP").await;
    let started = Instant::now();
    let chain = create_chain(app, &token, &tenant, &alliance, 4).await;
    let id = chain["id"].as_str().unwrap().to_string();
    assert_eq!(chain["runtime"], "local");
    assert_eq!(chain["nodes"].as_array().unwrap().len(), 4);
    assert_eq!(chain["engine"], "native");
    assert_eq!(chain["consensus"], "bft");
    let path = format!("{}/{id}", chains_path(&alliance));
    let c = wait_chain(app, &token, &path, "the first block", running).await;
    eprintln!(
        "POST chains -> first committed block: {:?}",
        started.elapsed()
    );
    assert!(
        c["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["state"] == "running"),
        "{c}"
    );
    assert_eq!(c["endpoints"].as_array().unwrap().len(), 4);

    // A deposit, its receipt verified offline against the genesis the API serves.
    let hash = "ab".repeat(32);
    let r = deposit(app, &token, &tenant, &id, &hash).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let deposit_id = r.body["id"].as_str().unwrap().to_string();
    let receipt: Receipt =
        serde_json::from_value(r.body["receipts"][0]["receipt"].clone()).unwrap();
    let genesis = app.get(&format!("{path}/genesis"), &token).await;
    assert_eq!(genesis.status, 200);
    let genesis: Genesis = serde_json::from_value(genesis.body).unwrap();
    assert_eq!(
        hex::encode(genesis.hash()),
        c["genesis_hash"].as_str().unwrap()
    );
    verify_receipt(&genesis, &receipt).expect("the receipt verifies offline");
    assert_eq!(r.body["receipts"][0]["chain_id"], id.as_str());
    // As stored: the transaction's part and the block's seal, assembled again on reading.
    let stored = app
        .get(&format!("/api/v1/deposits/{deposit_id}"), &token)
        .await;
    assert_eq!(stored.status, 200, "{}", stored.body);
    let again: Receipt =
        serde_json::from_value(stored.body["receipts"][0]["receipt"].clone()).unwrap();
    assert_eq!(again, receipt, "the stored receipt is the one answered");
    verify_receipt(&genesis, &again).expect("the stored receipt verifies offline");
    // A row written before block seals were kept apart holds the whole receipt: it reads too.
    {
        use consortia_api::db::entities::deposit_receipt;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        deposit_receipt::Entity::update_many()
            .col_expr(
                deposit_receipt::Column::Receipt,
                Expr::value(serde_json::to_string(&receipt).unwrap()),
            )
            .filter(
                deposit_receipt::Column::DepositId.eq(uuid::Uuid::parse_str(&deposit_id).unwrap()),
            )
            .exec(&app.state.db)
            .await
            .unwrap();
        let old = app
            .get(&format!("/api/v1/deposits/{deposit_id}"), &token)
            .await;
        assert_eq!(
            old.body["receipts"][0]["receipt"],
            stored.body["receipts"][0]["receipt"]
        );
    }

    // A batch: one transaction batch on the chain, every item with its own receipt.
    let items: Vec<Value> = (0..3)
        .map(|i| json!({"content_hash": format!("{i:02x}").repeat(32), "metadata": {"n": i}}))
        .collect();
    let b = app
        .post(
            "/api/v1/deposits/batch?receipts=full",
            &token,
            json!({"tenant_id": tenant, "chain_ids": [id], "items": items}),
        )
        .await;
    assert_eq!(b.status, 201, "{}", b.body);
    let batch = b.body["deposits"].as_array().unwrap();
    assert_eq!(batch.len(), 3);
    for (i, d) in batch.iter().enumerate() {
        assert_eq!(d["content_hash"], format!("{i:02x}").repeat(32));
        let r: Receipt = serde_json::from_value(d["receipts"][0]["receipt"].clone()).unwrap();
        verify_receipt(&genesis, &r).expect("every batch receipt verifies offline");
    }
    // Anchored: five items, one transaction (the Merkle root); every item's receipt is its
    // path plus that transaction's receipt, checked offline, also by the node's CLI.
    let items: Vec<Value> = (0..5)
        .map(|i| json!({"content_hash": format!("{:02x}", 0x30 + i).repeat(32), "metadata": {"n": i}}))
        .collect();
    let m = app
        .post(
            "/api/v1/deposits/batch?receipts=full",
            &token,
            json!({"tenant_id": tenant, "chain_ids": [id], "items": items, "anchor": "merkle"}),
        )
        .await;
    assert_eq!(m.status, 201, "{}", m.body);
    let anchored = m.body["deposits"].as_array().unwrap();
    assert_eq!(anchored.len(), 5);
    let anchor_tx = anchored[0]["receipts"][0]["tx_hash"].clone();
    let dir = tempfile::tempdir().unwrap();
    let genesis_file = dir.path().join("genesis.json");
    std::fs::write(&genesis_file, serde_json::to_vec(&genesis).unwrap()).unwrap();
    for (i, d) in anchored.iter().enumerate() {
        assert_eq!(
            d["receipts"][0]["tx_hash"], anchor_tx,
            "one transaction for all"
        );
        let r: AnchoredReceipt =
            serde_json::from_value(d["receipts"][0]["receipt"].clone()).unwrap();
        assert_eq!(
            hex::encode(&r.item.content_hash),
            d["content_hash"].as_str().unwrap()
        );
        assert_eq!((r.index, r.size), (i as u64, 5));
        verify_anchored(&genesis, &r).expect("an anchored receipt verifies offline");
        let mut forged = r.clone();
        forged.item.content_hash[0] ^= 1;
        assert!(
            verify_anchored(&genesis, &forged).is_err(),
            "another hash does not"
        );
        let stored = app
            .get(
                &format!("/api/v1/deposits/{}", d["id"].as_str().unwrap()),
                &token,
            )
            .await;
        assert_eq!(
            stored.body["receipts"][0]["receipt"],
            d["receipts"][0]["receipt"]
        );
        if i == 0 {
            let file = dir.path().join("anchored.json");
            // `consortia-node verify-receipt` on a receipt written to a file.
            let verify = |receipt: &AnchoredReceipt| {
                std::fs::write(&file, serde_json::to_vec(receipt).unwrap()).unwrap();
                std::process::Command::new(consortia_api::runtime::local::find_node_bin().unwrap())
                    .args(["verify-receipt", "--genesis"])
                    .arg(&genesis_file)
                    .arg(&file)
                    .output()
                    .unwrap()
            };
            let out = verify(&r);
            let said = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && said.contains("VALID:") && said.contains("item 0 of 5"),
                "{said}"
            );
            let out = verify(&forged);
            assert!(
                !out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
    let bad = app
        .post(
            "/api/v1/deposits/batch",
            &token,
            json!({"tenant_id": tenant, "chain_ids": [id], "items": [{"content_hash": "ef".repeat(32)}], "anchor": "tree"}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);

    // By default a batch answers with where and when, not the receipts themselves.
    let summary = app
        .post(
            "/api/v1/deposits/batch",
            &token,
            json!({"tenant_id": tenant, "chain_ids": [id], "items": [{"content_hash": "ef".repeat(32)}]}),
        )
        .await;
    assert_eq!(summary.status, 201, "{}", summary.body);
    let first = &summary.body["deposits"][0]["receipts"][0];
    assert!(
        first["receipt"].is_null() && first["height"].as_u64().unwrap() > 0,
        "{first}"
    );
    let too_many: Vec<Value> = (0..1001)
        .map(|_| json!({"content_hash": "ab".repeat(32)}))
        .collect();
    let r = app
        .post(
            "/api/v1/deposits/batch",
            &token,
            json!({"tenant_id": tenant, "chain_ids": [id], "items": too_many}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = app
        .post(
            "/api/v1/deposits/batch",
            &token,
            json!({"tenant_id": tenant, "chain_ids": [id], "items": [{"content_hash": "ab".repeat(32)}, {"content_hash": "ab"}]}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.to_string().contains("/items/1/content_hash"),
        "{}",
        r.body
    );

    // Read back and verify by hash.
    let got = app
        .get(&format!("/api/v1/deposits/{deposit_id}"), &token)
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["content_hash"], hash.as_str());
    let v = app
        .post(
            "/api/v1/deposits/verify",
            &token,
            json!({"content_hash": hash.to_uppercase()}),
        )
        .await;
    assert_eq!(v.status, 200, "{}", v.body);
    assert_eq!(v.body["deposited"], true);
    assert_eq!(v.body["deposits"][0]["id"], deposit_id.as_str());
    let none = app
        .post(
            "/api/v1/deposits/verify",
            &token,
            json!({"content_hash": "cd".repeat(32)}),
        )
        .await;
    assert_eq!(none.body["deposited"], false);

    // Another tenant sees none of it.
    let (other, other_token) = app.tenant_with_owner("globex").await;
    assert_eq!(app.get(&path, &other_token).await.status, 404);
    assert_eq!(
        app.get(&format!("/api/v1/deposits/{deposit_id}"), &other_token)
            .await
            .status,
        404
    );
    let theirs = app
        .post(
            "/api/v1/deposits/verify",
            &other_token,
            json!({"content_hash": hash}),
        )
        .await;
    assert_eq!(theirs.body["deposited"], false);
    assert_eq!(
        deposit(app, &other_token, &other, &id, &hash).await.status,
        404
    );

    // SIGKILL of a node: the supervisor restarts it; the chain goes Degraded, then Running.
    let node = c["nodes"][1]["name"].as_str().unwrap().to_string();
    let resource = node.rsplitn(3, '-').last().unwrap().to_string();
    let pid_file = app
        ._data_dir
        .path()
        .join("chains")
        .join(&resource)
        .join(&node)
        .join("node.pid");
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let pid = pid.split_whitespace().next().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success()
    );
    wait_chain(app, &token, &path, "degraded", |c| c["phase"] == "degraded").await;
    let c = wait_chain(app, &token, &path, "recovery", |c| {
        running(c) && c["nodes"][1]["restarts"] == 1
    })
    .await;
    assert_ne!(
        std::fs::read_to_string(&pid_file)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap(),
        pid
    );
    let h = c["height"].as_u64().unwrap();
    wait_chain(app, &token, &path, "new blocks", |c| {
        c["height"].as_u64().unwrap_or(0) > h
    })
    .await;

    // Rotating the KEK re-seals the chain's keys and the tenant's service-account key.
    let chain_id: uuid::Uuid = id.parse().unwrap();
    let tenant_id: uuid::Uuid = tenant.parse().unwrap();
    let new_kek = consortia_pki::seal::Kek::generate();
    consortia_api::store::pki::rewrap(&app.state.db, &app.state.kek, &new_kek)
        .await
        .unwrap();
    let files = consortia_api::store::chains::material(&app.state.db, &new_kek, chain_id)
        .await
        .unwrap();
    let resealed: Genesis = serde_json::from_slice(&files["genesis.json"]).unwrap();
    assert_eq!(resealed.hash(), genesis.hash());
    assert!(
        consortia_api::store::chains::material(&app.state.db, &app.state.kek, chain_id)
            .await
            .is_err()
    );
    let account = consortia_api::store::chains::account(&app.state.db, chain_id, tenant_id)
        .await
        .unwrap()
        .expect("the tenant's service account");
    let aad = consortia_api::store::chains::account_aad(chain_id, tenant_id);
    assert!(new_kek.open(&account.sealed_key, &aad).is_ok());
    assert!(app.state.kek.open(&account.sealed_key, &aad).is_err());

    // Delete: nodes stop, data goes, the receipt stays readable.
    let del = app
        .call(
            Method::DELETE,
            &format!("{path}?tenant_id={tenant}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(del.status, 204, "{}", del.body);
    assert_eq!(app.get(&path, &token).await.status, 404);
    assert!(!app._data_dir.path().join("chains").join(&resource).exists());
    let pid_now = std::fs::read_to_string(format!("/proc/{pid}/stat"));
    assert!(
        pid_now.is_err() || pid_now.unwrap().contains(" Z "),
        "the old node is gone"
    );
    assert_eq!(
        app.get(&format!("/api/v1/deposits/{deposit_id}"), &token)
            .await
            .status,
        200
    );
}

async fn bad_chain_and_deposit_requests_change_nothing(app: &TestApp) {
    let (tenant, token) = app.tenant_with_owner("acme").await;
    let alliance = found(app, &token, &tenant, "AcmeMSP").await;
    let (other, other_token) = app.tenant_with_owner("globex").await;
    let (_, viewer) = app.member(&tenant, "viewer@acme.example", "viewer").await;
    let before = app.snapshot().await;
    let path = chains_path(&alliance);
    let cases: Vec<(&str, &str, Value, u16, &str)> = vec![
        (
            "unknown engine",
            &token,
            json!({"tenant_id": tenant, "name": "x", "engine": "bitcoin"}),
            422,
            "/engine",
        ),
        (
            "fabric locally",
            &token,
            json!({"tenant_id": tenant, "name": "x", "engine": "fabric"}),
            422,
            "Kubernetes runtime",
        ),
        (
            "quorum locally",
            &token,
            json!({"tenant_id": tenant, "name": "x", "engine": "quorum"}),
            422,
            "Kubernetes runtime",
        ),
        (
            "zero nodes",
            &token,
            json!({"tenant_id": tenant, "name": "x", "engine": "native", "nodes_per_member": 0}),
            422,
            "/nodes_per_member",
        ),
        (
            "too many nodes",
            &token,
            json!({"tenant_id": tenant, "name": "x", "engine": "native", "nodes_per_member": 17}),
            422,
            "/nodes_per_member",
        ),
        (
            "bad consensus",
            &token,
            json!({"tenant_id": tenant, "name": "x", "engine": "native", "consensus": "raft"}),
            422,
            "/consensus",
        ),
        (
            "bad name",
            &token,
            json!({"tenant_id": tenant, "name": " x", "engine": "native"}),
            422,
            "/name",
        ),
        (
            "unknown field",
            &token,
            json!({"tenant_id": tenant, "name": "x", "engine": "native", "nodez": 1}),
            400,
            "nodez",
        ),
        (
            "not a member",
            &other_token,
            json!({"tenant_id": other, "name": "x", "engine": "native"}),
            404,
            "not found",
        ),
        (
            "viewer",
            &viewer,
            json!({"tenant_id": tenant, "name": "x", "engine": "native"}),
            403,
            "",
        ),
    ];
    for (what, tok, body, status, says) in cases {
        let r = app.post(&path, tok, body).await;
        assert_eq!(r.status, status, "{what}: {}", r.body);
        assert!(r.body.to_string().contains(says), "{what}: {}", r.body);
    }
    let r = app.call(Method::POST, &path, None, Some(json!({}))).await;
    assert_eq!(r.status, 401);
    let big = "x".repeat(2 * 1024 * 1024);
    let r = app
        .post(
            &path,
            &token,
            json!({"tenant_id": tenant, "name": big, "engine": "native"}),
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.body);

    let unknown = uuid::Uuid::new_v4();
    let deposits: Vec<(&str, Value, u16, &str)> = vec![
        (
            "short sha256",
            json!({"tenant_id": tenant, "content_hash": "ab".repeat(31), "chain_ids": [unknown]}),
            422,
            "32 bytes",
        ),
        (
            "sha512 of 32 bytes",
            json!({"tenant_id": tenant, "content_hash": "ab".repeat(32), "hash_alg": "sha512", "chain_ids": [unknown]}),
            422,
            "64 bytes",
        ),
        (
            "not hex",
            json!({"tenant_id": tenant, "content_hash": "zz".repeat(32), "chain_ids": [unknown]}),
            422,
            "hex",
        ),
        (
            "unknown alg",
            json!({"tenant_id": tenant, "content_hash": "ab".repeat(32), "hash_alg": "md5", "chain_ids": [unknown]}),
            422,
            "/hash_alg",
        ),
        (
            "unknown chain",
            json!({"tenant_id": tenant, "content_hash": "ab".repeat(32), "chain_ids": [unknown]}),
            404,
            "not found",
        ),
        (
            "no chains",
            json!({"tenant_id": tenant, "content_hash": "ab".repeat(32), "chain_ids": []}),
            422,
            "/chain_ids",
        ),
        (
            "twice",
            json!({"tenant_id": tenant, "content_hash": "ab".repeat(32), "chain_ids": [unknown, unknown]}),
            422,
            "twice",
        ),
        (
            "metadata not object",
            json!({"tenant_id": tenant, "content_hash": "ab".repeat(32), "metadata": [1], "chain_ids": [unknown]}),
            422,
            "/metadata",
        ),
        (
            "metadata too big",
            json!({"tenant_id": tenant, "content_hash": "ab".repeat(32), "metadata": {"x": "y".repeat(5000)}, "chain_ids": [unknown]}),
            422,
            "4096",
        ),
        (
            "no tenant",
            json!({"content_hash": "ab".repeat(32), "chain_ids": [unknown]}),
            422,
            "/tenant_id",
        ),
        (
            "other tenant",
            json!({"tenant_id": other, "content_hash": "ab".repeat(32), "chain_ids": [unknown]}),
            404,
            "",
        ),
    ];
    for (what, body, status, says) in deposits {
        let r = app.post("/api/v1/deposits", &token, body).await;
        assert_eq!(r.status, status, "{what}: {}", r.body);
        assert!(r.body.to_string().contains(says), "{what}: {}", r.body);
    }
    assert_eq!(
        app.get(&format!("/api/v1/deposits/{unknown}"), &token)
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("{path}/{unknown}"), &token).await.status,
        404
    );
    assert_eq!(
        app.snapshot().await,
        before,
        "bad requests changed something"
    );
}

/// An alliance decides a chain together: a `create_chain` proposal is checked when made,
/// and the chain is created, as the proposer's, by the vote that approves it; one that can no
/// longer be made when approved is recorded as such and makes nothing.
async fn alliances_create_chains_by_vote(app: &TestApp) {
    let (acme, acme_t, globex, globex_t, alliance) = acme_and_globex(app).await;
    let proposals = format!("/api/v1/alliances/{alliance}/proposals");
    let chains = chains_path(&alliance);

    // Bad chains are refused when proposed, by pointer, and nothing is stored.
    let snap = app.snapshot().await;
    let cases = [
        (
            json!({"name": "x", "engine": "cobol"}),
            422,
            "/action/create_chain/engine",
        ),
        (
            json!({"name": "x", "engine": "fabric"}),
            422,
            "/action/create_chain/engine",
        ),
        (
            json!({"name": "x", "engine": "native", "nodes_per_member": 0}),
            422,
            "/action/create_chain/nodes_per_member",
        ),
        (
            json!({"name": "", "engine": "native"}),
            422,
            "/action/create_chain/name",
        ),
        (
            json!({"name": "x", "engine": "native", "template": {"slug": "no-such"}}),
            404,
            "",
        ),
        (
            json!({"name": "x", "engine": "native", "colour": "red"}),
            400,
            "",
        ),
        (json!({"engine": "native"}), 400, ""),
    ];
    for (spec, status, pointer) in cases {
        let r = app
            .post(
                &proposals,
                &acme_t,
                json!({"tenant_id": acme, "action": {"create_chain": spec}}),
            )
            .await;
        assert_eq!(r.status, status, "{spec}: {}", r.body);
        if !pointer.is_empty() {
            assert_eq!(
                r.body["errors"][0]["pointer"], pointer,
                "{spec}: {}",
                r.body
            );
        }
        assert_eq!(app.snapshot().await, snap, "{spec} changed something");
    }
    let r = app
        .post(
            &proposals,
            &acme_t,
            json!({"tenant_id": acme, "action": {"add_nodes": {}}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body["detail"].as_str().unwrap().contains("validator set"),
        "{}",
        r.body
    );

    // Proposed: nothing runs until the alliance approves (> 50 %: both members).
    let p = propose(
        app,
        &acme_t,
        &acme,
        &alliance,
        json!({"create_chain": {"name": "shared", "engine": "native"}}),
    )
    .await;
    let d = vote(app, &acme_t, &acme, &alliance, &p, "yes", 201).await;
    assert_eq!(d["status"], "open");
    assert_eq!(app.get(&chains, &acme_t).await.body["items"], json!([]));
    let d = vote(app, &globex_t, &globex, &alliance, &p, "yes", 201).await;
    assert_eq!(d["status"], "approved", "{d}");
    let list = app.get(&chains, &globex_t).await.body["items"].clone();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let chain = &list[0];
    assert_eq!(chain["name"], "shared");
    assert_eq!(
        chain["created_by_tenant_id"],
        acme.as_str(),
        "the proposer's chain"
    );
    let mut owners: Vec<&str> = chain["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["tenant_id"].as_str().unwrap())
        .collect();
    owners.sort();
    let mut want = vec![acme.as_str(), globex.as_str()];
    want.sort();
    assert_eq!(owners, want, "one validator per member");
    let path = format!("{chains}/{}", chain["id"].as_str().unwrap());
    wait_chain(
        app,
        &globex_t,
        &path,
        "the voted chain's first block",
        running,
    )
    .await;
    let created = event(app, &acme_t, &alliance, "chain_created").await;
    assert_eq!(created["data"]["proposal_id"], p.as_str(), "{created}");

    // A name already taken is refused when proposed...
    let r = app
        .post(
            &proposals,
            &acme_t,
            json!({"tenant_id": acme,
            "action": {"create_chain": {"name": "shared", "engine": "native"}}}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    // ...and one taken while the vote ran fails at approval, making nothing.
    let p = propose(
        app,
        &globex_t,
        &globex,
        &alliance,
        json!({"create_chain": {"name": "later", "engine": "native"}}),
    )
    .await;
    let direct = create_named(app, &acme_t, &acme, &alliance, "later").await;
    vote(app, &acme_t, &acme, &alliance, &p, "yes", 201).await;
    let d = vote(app, &globex_t, &globex, &alliance, &p, "yes", 201).await;
    assert_eq!(d["status"], "approved");
    let list = app.get(&chains, &acme_t).await.body["items"].clone();
    assert_eq!(
        list.as_array().unwrap().len(),
        2,
        "no second `later`: {list}"
    );
    let failed = event(app, &acme_t, &alliance, "chain_creation_failed").await;
    assert_eq!(failed["data"]["proposal_id"], p.as_str());
    assert!(
        failed["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("already has a chain named"),
        "{failed}"
    );

    // Approved, but the server stopped before it made the chain: carried out at start, once.
    let p = propose(
        app,
        &acme_t,
        &acme,
        &alliance,
        json!({"create_chain": {"name": "resumed", "engine": "native"}}),
    )
    .await;
    approved_but_not_carried_out(app, &p).await;
    assert_eq!(
        consortia_api::jobs::proposals::resume(&app.state.chains)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        consortia_api::jobs::proposals::resume(&app.state.chains)
            .await
            .unwrap(),
        0,
        "once"
    );
    let list = app.get(&chains, &acme_t).await.body["items"].clone();
    let resumed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "resumed")
        .unwrap_or_else(|| panic!("{list}"));
    let resumed = format!("{chains}/{}", resumed["id"].as_str().unwrap());

    // Voted chains are the alliance's: not even their proposer deletes them alone (see
    // `shared_chains_are_deleted_by_the_alliance`); the one made directly is its creator's.
    for (c, status) in [
        (path, 409),
        (format!("{chains}/{direct}"), 204),
        (resumed, 409),
    ] {
        let del = app
            .call(
                Method::DELETE,
                &format!("{c}?tenant_id={acme}"),
                Some(&acme_t),
                None,
            )
            .await;
        assert_eq!(del.status, status, "{c}: {}", del.body);
    }
}

/// A chain others use is deleted by the alliance's vote, never by one member alone: another
/// member's admin is refused (403); its creator is refused once another member deposited
/// on it (409); an approved `delete_chain` proposal deletes it (at once, or at the next
/// start if the server stopped first); a chain only its creator used is its creator's.
async fn shared_chains_are_deleted_by_the_alliance(app: &TestApp) {
    let (acme, acme_t, globex, globex_t, alliance) = acme_and_globex(app).await;
    let proposals = format!("/api/v1/alliances/{alliance}/proposals");
    let chains = chains_path(&alliance);
    let chain = create_named(app, &acme_t, &acme, &alliance, "evidence").await;
    let path = format!("{chains}/{chain}");
    let delete = |tenant: &str| format!("{path}?tenant_id={tenant}");

    // Another member's admin cannot delete it, and nothing changes.
    let snap = app.snapshot().await;
    refused_delete(app, &delete(&globex), &globex_t, 403, "delete_chain").await;
    assert_eq!(
        app.snapshot().await,
        snap,
        "a refused delete changed something"
    );

    // Once another member deposited on it, its creator cannot delete it alone either.
    wait_chain(app, &globex_t, &path, "the first block", running).await;
    let d = deposit(app, &globex_t, &globex, &chain, &"ab".repeat(32)).await;
    assert_eq!(d.status, 201, "{}", d.body);
    let deposit_id = d.body["id"].as_str().unwrap().to_string();

    // Nodes answer reads about every tenant's deposits, so their endpoints are the creator's
    // alone; and no API path shows one tenant's deposit to another.
    let theirs = app.get(&path, &globex_t).await.body;
    assert_eq!(theirs["endpoints"], json!([]), "{theirs}");
    assert!(
        theirs["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["endpoint"].is_null()),
        "{theirs}"
    );
    let ours = app.get(&path, &acme_t).await.body;
    assert!(!ours["endpoints"].as_array().unwrap().is_empty(), "{ours}");
    assert_eq!(
        app.get(&format!("/api/v1/deposits/{deposit_id}"), &acme_t)
            .await
            .status,
        404
    );
    let v = app
        .post(
            "/api/v1/deposits/verify",
            &acme_t,
            json!({"content_hash": "ab".repeat(32)}),
        )
        .await;
    assert_eq!(v.status, 200, "{}", v.body);
    assert_eq!(v.body["deposited"], false, "{}", v.body);
    // Its own depositor finds it; many deposits of one hash come a page at a time.
    let again = deposit(app, &globex_t, &globex, &chain, &"ab".repeat(32)).await;
    assert_eq!(again.status, 201, "{}", again.body);
    let body = json!({"content_hash": "ab".repeat(32)});
    let page = app
        .post("/api/v1/deposits/verify?limit=1", &globex_t, body.clone())
        .await
        .body;
    assert_eq!(page["deposits"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["deposits"][0]["id"], deposit_id.as_str());
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let rest = app
        .post(
            &format!("/api/v1/deposits/verify?limit=1&cursor={cursor}"),
            &globex_t,
            body,
        )
        .await
        .body;
    assert_eq!(rest["deposits"][0]["id"], again.body["id"], "{rest}");
    assert!(rest["next_cursor"].is_null(), "{rest}");

    refused_delete(app, &delete(&acme), &acme_t, 409, "deposited").await;
    assert_eq!(app.get(&path, &acme_t).await.status, 200, "still there");

    // The alliance decides. A proposal naming no chain of the alliance, or a second open
    // one for the same chain, is refused.
    let r = app
        .post(
            &proposals,
            &globex_t,
            json!({"tenant_id": globex, "action": {"delete_chain":
                {"chain_id": "0190a000-0000-7000-8000-000000000009"}}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        r.body["errors"][0]["pointer"], "/action/delete_chain/chain_id",
        "{}",
        r.body
    );
    let p = propose(
        app,
        &globex_t,
        &globex,
        &alliance,
        json!({"delete_chain": {"chain_id": chain}}),
    )
    .await;
    let r = app
        .post(
            &proposals,
            &acme_t,
            json!({"tenant_id": acme, "action": {"delete_chain": {"chain_id": chain}}}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let v = vote(app, &globex_t, &globex, &alliance, &p, "yes", 201).await;
    assert_eq!(v["status"], "open");
    assert_eq!(
        app.get(&path, &acme_t).await.status,
        200,
        "not before approval"
    );
    let v = vote(app, &acme_t, &acme, &alliance, &p, "yes", 201).await;
    assert_eq!(v["status"], "approved", "{v}");
    assert_eq!(app.get(&path, &acme_t).await.status, 404, "deleted");
    let deleted = event(app, &acme_t, &alliance, "chain_deleted").await;
    assert_eq!(deleted["data"]["chain_id"], chain.as_str(), "{deleted}");
    assert_eq!(deleted["data"]["proposal_id"], p.as_str(), "{deleted}");
    assert_eq!(
        app.get(&format!("/api/v1/deposits/{deposit_id}"), &globex_t)
            .await
            .status,
        200,
        "receipts outlive the chain"
    );

    // Approved, but the server stopped before it deleted the chain: done at start, once.
    let second = create_named(app, &acme_t, &acme, &alliance, "second").await;
    let p = propose(
        app,
        &acme_t,
        &acme,
        &alliance,
        json!({"delete_chain": {"chain_id": second}}),
    )
    .await;
    approved_but_not_carried_out(app, &p).await;
    assert_eq!(
        consortia_api::jobs::proposals::resume(&app.state.chains)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        consortia_api::jobs::proposals::resume(&app.state.chains)
            .await
            .unwrap(),
        0,
        "once"
    );
    assert_eq!(
        app.get(&format!("{chains}/{second}"), &acme_t).await.status,
        404
    );

    // A chain no one else used is its creator's to delete. The list comes a page at a time.
    let own = create_named(app, &acme_t, &acme, &alliance, "own").await;
    let other = create_named(app, &acme_t, &acme, &alliance, "other").await;
    let first = app.get(&format!("{chains}?limit=1"), &acme_t).await.body;
    assert_eq!(first["items"].as_array().unwrap().len(), 1, "{first}");
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let rest = app
        .get(&format!("{chains}?limit=1&cursor={cursor}"), &acme_t)
        .await
        .body;
    let mut seen = vec![
        first["items"][0]["id"].as_str().unwrap().to_string(),
        rest["items"][0]["id"].as_str().unwrap().to_string(),
    ];
    seen.sort();
    let mut want = vec![own.clone(), other];
    want.sort();
    assert_eq!(seen, want);
    assert!(rest["next_cursor"].is_null(), "{rest}");
    let r = app
        .call(
            Method::DELETE,
            &format!("{chains}/{own}?tenant_id={acme}"),
            Some(&acme_t),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
}

/// A chain deletion refused with `status`, saying `needle`.
async fn refused_delete(app: &TestApp, path: &str, token: &str, status: u16, needle: &str) {
    let r = app.call(Method::DELETE, path, Some(token), None).await;
    assert_eq!(r.status, status, "{}", r.body);
    assert!(
        r.body["detail"].as_str().unwrap().contains(needle),
        "{}",
        r.body
    );
}

/// Tenants acme and globex (their ids and owners' tokens) in one alliance (acme's).
async fn acme_and_globex(app: &TestApp) -> (String, String, String, String, String) {
    let (acme, acme_t) = app.tenant_with_owner("acme").await;
    let (globex, globex_t) = app.tenant_with_owner("globex").await;
    let alliance = found(app, &acme_t, &acme, "AcmeMSP").await;
    join(
        app,
        &alliance,
        (&acme_t, &acme),
        (&globex_t, &globex),
        "GlobexMSP",
    )
    .await;
    (acme, acme_t, globex, globex_t, alliance)
}

/// Marks a proposal approved without carrying it out: a server stopped between the
/// deciding vote's commit and the chain work.
async fn approved_but_not_carried_out(app: &TestApp, proposal: &str) {
    use consortia_api::db::entities::proposal as pr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    pr::Entity::update_many()
        .col_expr(pr::Column::Status, Expr::value("approved"))
        .filter(pr::Column::Id.eq(proposal.parse::<uuid::Uuid>().unwrap()))
        .exec(&app.state.db)
        .await
        .unwrap();
}

/// The alliance's latest event of `kind`.
async fn event(app: &TestApp, token: &str, alliance: &str, kind: &str) -> Value {
    let events = app
        .get(
            &format!("/api/v1/alliances/{alliance}/events?limit=200"),
            token,
        )
        .await
        .body;
    events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == kind)
        .cloned()
        .unwrap_or_else(|| panic!("no {kind} in {events}"))
}

async fn create_named(
    app: &TestApp,
    token: &str,
    tenant: &str,
    alliance: &str,
    name: &str,
) -> String {
    let r = app
        .post(
            &chains_path(alliance),
            token,
            json!({"tenant_id": tenant, "name": name, "engine": "native"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

crate::both!(
    chain_lifecycle,
    bad_chain_and_deposit_requests_change_nothing,
    alliances_create_chains_by_vote,
    shared_chains_are_deleted_by_the_alliance,
    keyed_deposits_happen_once,
    deposits_go_on_when_the_followed_node_dies_for_good
);

/// The block follower that hands deposits their receipts starts on one node; when that node
/// dies for good (it cannot start again), the follower moves to another running node and
/// deposits keep being answered (three validators of four still commit).
async fn deposits_go_on_when_the_followed_node_dies_for_good(app: &TestApp) {
    let (tenant, token) = app.tenant_with_owner("acme").await;
    let alliance = found(app, &token, &tenant, "AcmeMSP").await;
    let c = create_chain(app, &token, &tenant, &alliance, 4).await;
    let id = c["id"].as_str().unwrap().to_string();
    let path = format!("{}/{id}", chains_path(&alliance));
    let c = wait_chain(app, &token, &path, "the first block", running).await;
    let r = deposit(app, &token, &tenant, &id, &"e1".repeat(32)).await;
    assert_eq!(r.status, 201, "{}", r.body);

    // The node whose endpoint comes first (where the follower started) breaks for good: its
    // configuration is gone, so every restart fails, and it is killed.
    let first = c["endpoints"][0].as_str().unwrap();
    let node = c["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["endpoint"] == first)
        .unwrap_or_else(|| panic!("{c}"))["name"]
        .as_str()
        .unwrap()
        .to_string();
    let resource = node.rsplitn(3, '-').last().unwrap().to_string();
    let home = app
        ._data_dir
        .path()
        .join("chains")
        .join(&resource)
        .join(&node);
    std::fs::write(home.join("config.json"), b"not a configuration").unwrap();
    let pid = std::fs::read_to_string(home.join("node.pid")).unwrap();
    let pid = pid.split_whitespace().next().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success()
    );
    wait_chain(app, &token, &path, "the node down", |c| {
        c["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["name"] == node.as_str() && n["state"] != "running")
    })
    .await;
    for i in 2..4 {
        let r = deposit(app, &token, &tenant, &id, &format!("e{i}").repeat(32)).await;
        assert_eq!(r.status, 201, "deposit {i} after the node died: {}", r.body);
    }
}

/// Puts a keyed request back in the state a crash leaves between the chain and the
/// database: its deposits are on chain but not recorded, its key pending and unheld.
async fn forget_recording(app: &TestApp, tenant: &str, key: &str, ids: &[&str]) {
    use consortia_api::db::entities::{deposit, deposit_receipt, idempotency_key as k};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let ids: Vec<uuid::Uuid> = ids.iter().map(|i| i.parse().unwrap()).collect();
    deposit_receipt::Entity::delete_many()
        .filter(deposit_receipt::Column::DepositId.is_in(ids.clone()))
        .exec(&app.state.db)
        .await
        .unwrap();
    deposit::Entity::delete_many()
        .filter(deposit::Column::Id.is_in(ids))
        .exec(&app.state.db)
        .await
        .unwrap();
    let past = app.state.clock.now() - chrono::Duration::seconds(1);
    let r = k::Entity::update_many()
        .col_expr(k::Column::State, Expr::value("pending"))
        .col_expr(k::Column::Response, Expr::value(Option::<String>::None))
        .col_expr(k::Column::LockedUntil, Expr::value(past))
        .filter(k::Column::TenantId.eq(tenant.parse::<uuid::Uuid>().unwrap()))
        .filter(k::Column::Key.eq(key))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(r.rows_affected, 1);
}

/// How many deposits of `hash` the chain itself holds.
async fn on_chain(endpoint: &str, hash: &str) -> usize {
    consortia_chain::client::Client::new(endpoint)
        .unwrap()
        .deposits(hash)
        .await
        .unwrap()["deposits"]
        .as_array()
        .map_or(0, Vec::len)
}

/// An `Idempotency-Key` makes a deposit request safe to retry: the same key and request get
/// the first answer; a different request under the key is refused; a request that stopped
/// after the chain committed and before the database recorded is finished by its retry, or
/// by the start-up job, from what is on chain — never deposited twice.
async fn keyed_deposits_happen_once(app: &TestApp) {
    use actix_web::test::TestRequest;
    let (tenant, token) = app.tenant_with_owner("acme").await;
    let alliance = found(app, &token, &tenant, "AcmeMSP").await;
    let chain = create_named(app, &token, &tenant, &alliance, "evidence").await;
    let path = format!("{}/{chain}", chains_path(&alliance));
    let c = wait_chain(app, &token, &path, "the first block", running).await;
    let node = c["endpoints"][0].as_str().unwrap().to_string();
    let keyed = |key: &str, hash: &str| {
        TestRequest::post()
            .uri("/api/v1/deposits")
            .insert_header(("Idempotency-Key", key.to_string()))
            .set_json(json!({"tenant_id": tenant, "content_hash": hash, "chain_ids": [chain]}))
    };

    // A retry gets the first answer; one deposit, on the chain too.
    let h1 = "c1".repeat(32);
    let first = app.send(keyed("order-1", &h1), Some(&token)).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert!(first.header("idempotent-replayed").is_none());
    let again = app.send(keyed("order-1", &h1), Some(&token)).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(on_chain(&node, &h1).await, 1);
    let v = app
        .post(
            "/api/v1/deposits/verify",
            &token,
            json!({"content_hash": h1}),
        )
        .await;
    assert_eq!(
        v.body["deposits"].as_array().unwrap().len(),
        1,
        "{}",
        v.body
    );

    // The key names one request: another under it is refused and changes nothing; keys
    // that are not 1-255 visible ASCII characters are refused.
    let snap = app.snapshot().await;
    let other = app
        .send(keyed("order-1", &"c9".repeat(32)), Some(&token))
        .await;
    assert_eq!(other.status, 422, "{}", other.body);
    for bad in ["", "with space", &"k".repeat(256)] {
        let r = app.send(keyed(bad, &h1), Some(&token)).await;
        assert_eq!(r.status, 400, "{bad:?}: {}", r.body);
    }
    assert_eq!(app.snapshot().await, snap);

    // Committed on chain, never recorded (a crash between the two): the retry finds the
    // transaction by its deposit id and records it; the chain holds one deposit.
    let h2 = "c2".repeat(32);
    let made = app.send(keyed("order-2", &h2), Some(&token)).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id2 = made.body["id"].as_str().unwrap().to_string();
    forget_recording(app, &tenant, "order-2", &[&id2]).await;
    assert_eq!(
        app.get(&format!("/api/v1/deposits/{id2}"), &token)
            .await
            .status,
        404
    );
    let retry = app.send(keyed("order-2", &h2), Some(&token)).await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.body["id"], id2.as_str());
    assert_eq!(
        retry.body["receipts"][0]["tx_hash"], made.body["receipts"][0]["tx_hash"],
        "the first attempt's transaction, not a new one"
    );
    assert_eq!(on_chain(&node, &h2).await, 1, "deposited once");

    // The same, finished by the start-up job without any retry.
    let h3 = "c3".repeat(32);
    let made = app.send(keyed("order-3", &h3), Some(&token)).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id3 = made.body["id"].as_str().unwrap().to_string();
    forget_recording(app, &tenant, "order-3", &[&id3]).await;
    assert_eq!(app.state.deposits.resume().await.unwrap(), 1);
    assert_eq!(app.state.deposits.resume().await.unwrap(), 0, "once");
    let got = app.get(&format!("/api/v1/deposits/{id3}"), &token).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(
        got.body["receipts"][0]["tx_hash"],
        made.body["receipts"][0]["tx_hash"]
    );
    assert_eq!(on_chain(&node, &h3).await, 1);
    let replay = app.send(keyed("order-3", &h3), Some(&token)).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));

    // A request sent without a key runs under an internal one (a space in it: no client's):
    // its row goes when the deposit is recorded, and one cut off is finished by the sweep.
    use consortia_api::db::entities::idempotency_key as k;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
    let internal = || k::Entity::find().filter(k::Column::Key.starts_with("internal "));
    let plain = deposit(app, &token, &tenant, &chain, &"c4".repeat(32)).await;
    assert_eq!(plain.status, 201, "{}", plain.body);
    assert_eq!(internal().count(&app.state.db).await.unwrap(), 0);
    let h5 = "c5".repeat(32);
    let made = app.send(keyed("order-5", &h5), Some(&token)).await;
    let id5 = made.body["id"].as_str().unwrap().to_string();
    forget_recording(app, &tenant, "order-5", &[&id5]).await;
    k::Entity::update_many()
        .col_expr(k::Column::Key, Expr::value("internal cut-off"))
        .filter(k::Column::Key.eq("order-5"))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(app.state.deposits.resume().await.unwrap(), 1);
    assert_eq!(
        app.get(&format!("/api/v1/deposits/{id5}"), &token)
            .await
            .status,
        200
    );
    assert_eq!(
        internal().count(&app.state.db).await.unwrap(),
        0,
        "dropped once recorded"
    );
    assert_eq!(on_chain(&node, &h5).await, 1);

    // A request none of which reached a chain is never deposited by the sweep (its caller
    // was told it failed): an internal key is dropped, a client's key waits for its retry.
    for (key, hash, internal_key) in [
        ("order-7", "f7".repeat(32), true),
        ("order-8", "f8".repeat(32), false),
    ] {
        let made = app.send(keyed(key, &hash), Some(&token)).await;
        assert_eq!(made.status, 201, "{}", made.body);
        let id = made.body["id"].as_str().unwrap().to_string();
        forget_recording(app, &tenant, key, &[&id]).await;
        // The ids of an attempt that never reached the chain.
        let renamed = if internal_key {
            "internal never-sent"
        } else {
            key
        };
        k::Entity::update_many()
            .col_expr(k::Column::Key, Expr::value(renamed))
            .col_expr(
                k::Column::DepositIds,
                Expr::value(serde_json::json!([uuid::Uuid::now_v7()])),
            )
            .filter(k::Column::Key.eq(key))
            .exec(&app.state.db)
            .await
            .unwrap();
        assert_eq!(app.state.deposits.resume().await.unwrap(), 0, "{key}");
        assert_eq!(
            on_chain(&node, &hash).await,
            1,
            "{key}: not deposited again"
        );
        let left = k::Entity::find()
            .filter(k::Column::Key.eq(renamed))
            .one(&app.state.db)
            .await
            .unwrap();
        match left {
            None => assert!(internal_key, "{key}: a client's key is kept"),
            Some(row) => {
                assert!(!internal_key, "{key}: an internal key is dropped");
                assert_eq!(row.state.as_str(), "pending");
            }
        }
    }

    // A Merkle-anchored batch: its anchor is found by its id the same way.
    let batch = |key: &str| {
        TestRequest::post()
            .uri("/api/v1/deposits/batch")
            .insert_header(("Idempotency-Key", key.to_string()))
            .set_json(
                json!({"tenant_id": tenant, "chain_ids": [chain], "anchor": "merkle",
                "items": [{"content_hash": "d1".repeat(32)}, {"content_hash": "d2".repeat(32)}]}),
            )
    };
    let made = app.send(batch("batch-1"), Some(&token)).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let ids: Vec<String> = made.body["deposits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    forget_recording(app, &tenant, "batch-1", &refs).await;
    let retry = app.send(batch("batch-1"), Some(&token)).await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(
        retry.body["deposits"][1]["receipts"][0]["tx_hash"],
        made.body["deposits"][1]["receipts"][0]["tx_hash"]
    );
    assert_eq!(retry.body["deposits"][0]["id"], ids[0].as_str());

    // Keys are kept 24 hours; after that a key names a new request.
    app.clock.advance(chrono::Duration::hours(25));
    let reused = app
        .send(keyed("order-1", &"c6".repeat(32)), Some(&token))
        .await;
    assert_eq!(reused.status, 201, "{}", reused.body);
    assert!(reused.header("idempotent-replayed").is_none());
    assert_ne!(reused.body["id"], first.body["id"]);
}
