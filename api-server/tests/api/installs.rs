//! Installing marketplace templates on chains (real `consortia-node` processes): a chain
//! created from a template takes its chain defaults and genesis parameters, and the
//! installation is anchored on the chain with a receipt that verifies offline; installing
//! onto a running chain; install counts for the publisher and nothing else; bad input that
//! changes nothing.

use std::collections::BTreeMap;

use crate::alliances::found;
use crate::chains::wait_chain;
use crate::marketplace::partner;
use crate::support::{Resp, TestApp};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use consortia_api::domain::templates::build_package;
use consortia_chain::genesis::Genesis;
use consortia_chain::receipt::{Receipt, verify_receipt};
use consortia_chain::tx::Op;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const LEDGER_CONFIG: &str = r#"{
  "parameter_targets": {"max_celsius": "/alerts/max_celsius", "site": "/site/name"},
  "alerts": {"max_celsius": 8, "channel": "email"},
  "site": {},
  "genesis_params": {"max_metadata_bytes": 2048, "max_block_txs": 5000}
}"#;

fn ledger_manifest(version: &str) -> String {
    format!(
        r##"apiVersion: consortia.dev/v1
slug: cold-ledger
name: Cold ledger
summary: Temperature records for shipments.
description: "# Cold ledger"
category: traceability
publisher: Acme Partners
license: Apache-2.0
engines: [native]
version: {version}
chain: {{engine: native, consensus: bft, nodes_per_member: 2}}
parameters:
  type: object
  additionalProperties: false
  required: [site]
  properties:
    max_celsius: {{type: number, minimum: -80, maximum: 40, default: 6}}
    site: {{type: string, minLength: 2}}
artifacts:
  - {{path: config/ledger.json, sha256: "{sha}", kind: config}}
"##,
        sha = hex::encode(Sha256::digest(LEDGER_CONFIG.as_bytes())),
    )
}

/// A partner tenant whose template version went through review; returns (tenant, owner
/// token, template id).
async fn published_partner_template(app: &TestApp) -> (String, String, String) {
    let (tenant, owner) = partner(app, "acme-partners").await;
    let mut files = BTreeMap::new();
    files.insert(
        "config/ledger.json".to_string(),
        LEDGER_CONFIG.as_bytes().to_vec(),
    );
    let up = app
        .send(
            TestRequest::post()
                .uri(&format!("/api/v1/tenants/{tenant}/templates"))
                .insert_header(("content-type", "application/gzip"))
                .set_payload(build_package(&ledger_manifest("1.0.0"), &files)),
            Some(&owner),
        )
        .await;
    assert_eq!(up.status, 201, "{}", up.body);
    let id = up.body["template"]["id"].as_str().unwrap().to_string();
    let base = format!("/api/v1/templates/{id}/versions/1.0.0");
    let r = app.post(&format!("{base}/submit"), &owner, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .post(
            &format!("{base}/review"),
            &app.admin_token,
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    (tenant, owner, id)
}

/// Checks an installation's receipt offline and that it anchors `package_sha256`.
fn check_anchor(genesis: &Genesis, installation: &Value, package_sha256: &str, slug: &str) {
    let receipt: Receipt = serde_json::from_value(installation["receipt"].clone())
        .unwrap_or_else(|e| panic!("a receipt: {e}: {installation}"));
    verify_receipt(genesis, &receipt).expect("the installation receipt verifies offline");
    assert_eq!(
        hex::encode(receipt.tx_hash),
        installation["tx_hash"].as_str().unwrap()
    );
    let Op::Deposit {
        content_hash,
        metadata,
        ..
    } = &receipt.tx.tx.op
    else {
        panic!("an installation is anchored by a deposit");
    };
    assert_eq!(hex::encode(content_hash), package_sha256);
    let metadata: Value = serde_json::from_str(metadata).unwrap();
    assert_eq!(metadata["template"], slug);
    assert_eq!(metadata["installation"], installation["id"]);
    assert_eq!(
        metadata["config_sha256"],
        hex::encode(Sha256::digest(
            serde_json::to_string(&installation["config"])
                .unwrap()
                .as_bytes()
        ))
    );
}

async fn installs_of(app: &TestApp, token: &str, slug: &str) -> i64 {
    let r = app.get(&format!("/api/v1/catalog/{slug}"), token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["template"]["installs"].as_i64().unwrap()
}

fn package_sha(detail: &Value, version: &str) -> String {
    detail["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version"] == version)
        .and_then(|v| v["package_sha256"].as_str())
        .unwrap_or_else(|| panic!("no package digest for {version}: {detail}"))
        .to_string()
}

async fn templates_install_onto_chains(app: &TestApp) {
    consortia_api::jobs::builtins::load(&app.state.templates)
        .await
        .unwrap();
    let (partner, partner_token, template_id) = published_partner_template(app).await;
    let (tenant, token) = app.tenant_with_owner("buyer").await;
    let alliance = found(app, &token, &tenant, "BuyerMSP").await;
    let chains = format!("/api/v1/alliances/{alliance}/chains");

    // A chain from the partner's template: engine, consensus and nodes from its defaults,
    // genesis parameters from its config, parameters rendered into its config.
    let r = app
        .post(
            &chains,
            &token,
            json!({"tenant_id": tenant, "name": "cold", "template": {"slug": "cold-ledger",
                "parameters": {"site": "Rotterdam"}}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["engine"], "native");
    assert_eq!(r.body["nodes_per_member"], 2);
    assert_eq!(r.body["nodes"].as_array().unwrap().len(), 2);
    let chain = r.body["id"].as_str().unwrap().to_string();
    let inst = &r.body["installations"][0];
    assert_eq!(inst["slug"], "cold-ledger");
    assert_eq!(inst["version"], "1.0.0");
    assert_eq!(inst["status"], "installing");
    assert_eq!(
        inst["config"]["config/ledger.json"]["site"]["name"],
        "Rotterdam"
    );
    assert_eq!(
        inst["config"]["config/ledger.json"]["alerts"]["max_celsius"], 6,
        "the schema's default fills a parameter left out"
    );
    let path = format!("{chains}/{chain}");
    let genesis: Genesis =
        serde_json::from_value(app.get(&format!("{path}/genesis"), &token).await.body).unwrap();
    assert_eq!(genesis.params.max_metadata_bytes, 2048);
    assert_eq!(genesis.params.max_block_txs, 5000);
    let c = wait_chain(app, &token, &path, "the installation", |c| {
        c["installations"][0]["status"] != "installing"
    })
    .await;
    let inst = &c["installations"][0];
    assert_eq!(inst["status"], "installed", "{c}");
    let detail = app.get("/api/v1/catalog/cold-ledger", &token).await.body;
    let cold_package = package_sha(&detail, "1.0.0");
    check_anchor(&genesis, inst, &cold_package, "cold-ledger");

    // A server that stopped after the chain committed an installation's anchor, before the
    // row said so, resumes the installation by adopting that anchor: never a second one.
    let anchored_tx = inst["tx_hash"].as_str().unwrap().to_string();
    let inst_id: uuid::Uuid = inst["id"].as_str().unwrap().parse().unwrap();
    use consortia_api::db::entities::template_installation as ti;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    ti::Entity::update_many()
        .col_expr(ti::Column::Status, Expr::value("installing"))
        .col_expr(ti::Column::TxHash, Expr::value(Option::<String>::None))
        .col_expr(ti::Column::Height, Expr::value(Option::<i64>::None))
        .col_expr(
            ti::Column::Receipt,
            Expr::value(Option::<serde_json::Value>::None),
        )
        .filter(ti::Column::Id.eq(inst_id))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(
        consortia_api::jobs::installations::resume(&app.state.installations)
            .await
            .unwrap(),
        1
    );
    let c = wait_chain(app, &token, &path, "the resumed installation", |c| {
        c["installations"][0]["status"] != "installing"
    })
    .await;
    let inst = &c["installations"][0];
    assert_eq!(inst["status"], "installed", "{c}");
    assert_eq!(
        inst["tx_hash"],
        anchored_tx.as_str(),
        "the anchor is adopted"
    );
    check_anchor(&genesis, inst, &cold_package, "cold-ledger");
    let node = consortia_chain::client::Client::new(c["endpoints"][0].as_str().unwrap()).unwrap();
    let on_chain = node.deposits(&cold_package).await.unwrap();
    assert_eq!(
        on_chain["deposits"].as_array().unwrap().len(),
        1,
        "one anchor on chain: {on_chain}"
    );

    // A built-in template onto the running chain: installed within the request.
    let before = installs_of(app, &token, "evidence-deposit").await;
    let installations = format!("{path}/installations");
    let r = app
        .post(
            &installations,
            &token,
            json!({"tenant_id": tenant, "slug": "evidence-deposit",
                "parameters": {"hash_algorithm": "sha256", "retention_days": 30, "batch_window_ms": 100}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "installed");
    assert_eq!(
        r.body["config"]["config/deposit-service.json"]["retention"]["off_chain_days"],
        30
    );
    assert_eq!(
        r.body["config"]["config/deposit-service.json"]["batching"]["max_batch_size"], 500,
        "defaults fill the rest"
    );
    let detail = app
        .get("/api/v1/catalog/evidence-deposit", &token)
        .await
        .body;
    let version = r.body["version"].as_str().unwrap();
    check_anchor(
        &genesis,
        &r.body,
        &package_sha(&detail, version),
        "evidence-deposit",
    );
    assert_eq!(
        installs_of(app, &token, "evidence-deposit").await,
        before + 1
    );
    // Two installs of one template at once: one is made (and anchored), the other is a
    // conflict that wrote nothing to the chain.
    let trace = json!({"tenant_id": tenant, "slug": "product-traceability",
        "parameters": {"product_id_scheme": "sku", "stages": ["made", "sold"], "require_stage_order": true}});
    let (a, b) = futures_util::join!(
        app.post(&installations, &token, trace.clone()),
        app.post(&installations, &token, trace.clone())
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{} / {}", a.body, b.body);
    assert_eq!(installs_of(app, &token, "product-traceability").await, 1);
    let list = app.get(&installations, &token).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body.as_array().unwrap().len(), 3);

    // Installing it again is a conflict; nothing changes.
    let snap = app.snapshot().await;
    let again = app
        .post(
            &installations,
            &token,
            json!({"tenant_id": tenant, "slug": "evidence-deposit",
                "parameters": {"hash_algorithm": "sha256", "retention_days": 30, "batch_window_ms": 100}}),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(app.snapshot().await, snap);

    // The publisher sees how often its template was installed, never where or by whom.
    let own = app
        .get(
            &format!("/api/v1/tenants/{partner}/templates"),
            &partner_token,
        )
        .await;
    assert_eq!(own.status, 200, "{}", own.body);
    let mine = own.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["template"]["id"] == template_id.as_str())
        .unwrap_or_else(|| panic!("{}", own.body));
    assert_eq!(mine["template"]["installs"], 1);
    for p in [&path, &installations] {
        assert_eq!(app.get(p, &partner_token).await.status, 404, "{p}");
    }

    // Deleting the chain takes its installations with it.
    let del = app
        .call(
            Method::DELETE,
            &format!("{path}?tenant_id={tenant}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(del.status, 204, "{}", del.body);
    assert_eq!(app.get(&installations, &token).await.status, 404);
}

async fn bad_installs_change_nothing(app: &TestApp) {
    consortia_api::jobs::builtins::load(&app.state.templates)
        .await
        .unwrap();
    let (tenant, token) = app.tenant_with_owner("buyer").await;
    let alliance = found(app, &token, &tenant, "BuyerMSP").await;
    let (_, viewer) = app.member(&tenant, "viewer@buyer.example", "viewer").await;
    let (other, other_token) = app.tenant_with_owner("globex").await;
    let chains = format!("/api/v1/alliances/{alliance}/chains");
    let r = app
        .post(
            &chains,
            &token,
            json!({"tenant_id": tenant, "name": "plain", "engine": "native"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let chain = r.body["id"].as_str().unwrap().to_string();
    let installations = format!("{chains}/{chain}/installations");
    let good = json!({"hash_algorithm": "sha256", "retention_days": 30, "batch_window_ms": 100});
    let snap = app.snapshot().await;
    // (what, path, token, body, status, pointers that must be named)
    type Case<'a> = (&'a str, &'a str, &'a str, Value, u16, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "parameters that fail the schema, every error by pointer",
            &installations,
            &token,
            json!({"tenant_id": tenant, "slug": "evidence-deposit",
                "parameters": {"hash_algorithm": "md5", "retention_days": 0, "extra": 1}}),
            422,
            vec![
                "/parameters/hash_algorithm",
                "/parameters/retention_days",
                "/parameters",
            ],
        ),
        (
            "an unsupported engine",
            &installations,
            &token,
            json!({"tenant_id": tenant, "slug": "quorum-qbft-network"}),
            422,
            vec!["/slug"],
        ),
        (
            "an unknown version",
            &installations,
            &token,
            json!({"tenant_id": tenant, "slug": "evidence-deposit", "version": "9.9.9", "parameters": good}),
            422,
            vec!["/version"],
        ),
        (
            "an unknown template",
            &installations,
            &token,
            json!({"tenant_id": tenant, "slug": "no-such-template"}),
            404,
            vec![],
        ),
        (
            "an unknown field",
            &installations,
            &token,
            json!({"tenant_id": tenant, "slug": "evidence-deposit", "parameters": good, "force": true}),
            400,
            vec![],
        ),
        (
            "parameters that are not an object",
            &installations,
            &token,
            json!({"tenant_id": tenant, "slug": "evidence-deposit", "parameters": [1]}),
            400,
            vec![],
        ),
        (
            "a viewer may not install",
            &installations,
            &viewer,
            json!({"tenant_id": tenant, "slug": "evidence-deposit", "parameters": good}),
            403,
            vec![],
        ),
        (
            "another tenant's chain",
            &installations,
            &other_token,
            json!({"tenant_id": other, "slug": "evidence-deposit", "parameters": good}),
            404,
            vec![],
        ),
        (
            "a chain from a template with bad parameters",
            &chains,
            &token,
            json!({"tenant_id": tenant, "name": "bad", "template": {"slug": "evidence-deposit",
                "parameters": {"retention_days": "forever"}}}),
            422,
            vec![
                "/template/parameters/retention_days",
                "/template/parameters",
            ],
        ),
        (
            "a chain from a template of an engine the runtime lacks",
            &chains,
            &token,
            json!({"tenant_id": tenant, "name": "bad", "template": {"slug": "fabric-supply-chain"}}),
            422,
            vec!["/engine"],
        ),
        (
            "a chain whose engine the template does not support",
            &chains,
            &token,
            json!({"tenant_id": tenant, "name": "bad", "engine": "native",
                "template": {"slug": "quorum-qbft-network"}}),
            422,
            vec!["/template"],
        ),
        (
            "a chain from an unknown template version",
            &chains,
            &token,
            json!({"tenant_id": tenant, "name": "bad",
                "template": {"slug": "evidence-deposit", "version": "0.0.1", "parameters": good}}),
            422,
            vec!["/template/version"],
        ),
    ];
    for (what, path, who, body, status, want) in cases {
        let r: Resp = app.post(path, who, body).await;
        assert_eq!(r.status, status, "{what}: {}", r.body);
        let got: Vec<String> = r.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["pointer"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default();
        for w in want {
            assert!(
                got.iter().any(|g| g == w),
                "{what}: no error at {w} in {}",
                r.body
            );
        }
        assert_eq!(app.snapshot().await, snap, "{what} changed something");
    }

    // A version stored before a check was added that it fails (here: deposit metadata under
    // the 1 KiB installation anchors need) is refused by name, not a 500, and nothing changes.
    published_partner_template(app).await;
    let stale_config = LEDGER_CONFIG.replace("2048", "512");
    let manifest = ledger_manifest("1.0.0").replace(
        &hex::encode(Sha256::digest(LEDGER_CONFIG.as_bytes())),
        &hex::encode(Sha256::digest(stale_config.as_bytes())),
    );
    let files = BTreeMap::from([("config/ledger.json".to_string(), stale_config.into_bytes())]);
    {
        use consortia_api::db::entities::template_package as tp;
        use sea_orm::{EntityTrait, IntoActiveModel, Set};
        let mut row = tp::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .find(|p| {
                consortia_api::domain::templates::read_package(&p.package, usize::MAX / 8)
                    .is_ok_and(|pkg| pkg.manifest.slug == "cold-ledger")
            })
            .expect("the partner's stored package")
            .into_active_model();
        row.package = Set(build_package(&manifest, &files));
        tp::Entity::update(row).exec(&app.state.db).await.unwrap();
    }
    let snap = app.snapshot().await;
    let r = app
        .post(
            &installations,
            &token,
            json!({"tenant_id": tenant, "slug": "cold-ledger", "parameters": {"site": "Oslo"}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["errors"][0]["pointer"], "/slug", "{}", r.body);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("no longer passes") && detail.contains("max_metadata_bytes"),
        "{detail}"
    );
    assert_eq!(app.snapshot().await, snap);
    let del = app
        .call(
            Method::DELETE,
            &format!("{chains}/{chain}?tenant_id={tenant}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(del.status, 204, "{}", del.body);
}

crate::both!(templates_install_onto_chains, bad_installs_change_nothing);
