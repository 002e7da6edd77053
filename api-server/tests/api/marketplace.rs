//! The marketplace: template packages, publishing and review, the catalog, parameter checks,
//! built-in templates, and the `template lint` command.

use crate::support::{Backend, Resp, TestApp};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use consortia_api::domain::templates::build_package;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn manifest(slug: &str, version: &str, extra: &str) -> String {
    format!(
        r##"apiVersion: consortia.dev/v1
slug: {slug}
name: Cold chain
summary: Temperature records for shipments.
description: "# Cold chain\nRecords every reading."
category: traceability
publisher: Acme Partners
license: Apache-2.0
engines: [native]
version: {version}
chain: {{engine: native, consensus: bft, nodes_per_member: 1}}
parameters:
  type: object
  additionalProperties: false
  required: [max_celsius]
  properties:
    max_celsius: {{type: number, minimum: -80, maximum: 40}}
artifacts:
  - {{path: config/sensors.json, sha256: "{sha}", kind: config}}
{extra}"##,
        sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"{\"sensors\": 4}")),
    )
}

fn package(manifest_text: &str) -> Vec<u8> {
    let mut files = BTreeMap::new();
    files.insert(
        "config/sensors.json".to_string(),
        b"{\"sensors\": 4}".to_vec(),
    );
    build_package(manifest_text, &files)
}

async fn upload(app: &TestApp, tenant: &str, token: &str, bytes: Vec<u8>) -> Resp {
    app.send(
        TestRequest::post()
            .uri(&format!("/api/v1/tenants/{tenant}/templates"))
            .insert_header(("content-type", "application/gzip"))
            .set_payload(bytes),
        Some(token),
    )
    .await
}

/// A partner tenant with an owner; returns (tenant, owner token).
pub(crate) async fn partner(app: &TestApp, slug: &str) -> (String, String) {
    let r = app
        .post(
            "/api/v1/tenants",
            &app.admin_token,
            json!({"slug": slug, "name": slug, "kind": "partner",
                "owner": {"email": format!("owner@{slug}.example"), "display_name": "Owner"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let tenant = r.body["id"].as_str().unwrap().to_string();
    let members = app
        .get(
            &format!("/api/v1/tenants/{tenant}/members"),
            &app.admin_token,
        )
        .await;
    let owner = members.body["items"][0]["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (tenant, app.token_for(&owner).await)
}

fn pointers(r: &Resp) -> Vec<String> {
    r.body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["pointer"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

crate::both!(
    builtins_are_in_the_catalog,
    publishing_goes_through_review,
    drafts_keep_their_slugs_to_themselves
);

/// Submits and approves the version an upload answered with.
async fn publish(app: &TestApp, uploaded: &Resp, token: &str) -> Resp {
    let id = uploaded.body["template"]["id"].as_str().unwrap();
    let version = uploaded.body["version"]["version"].as_str().unwrap();
    let base = format!("/api/v1/templates/{id}/versions/{version}");
    let r = app.post(&format!("{base}/submit"), token, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.post(
        &format!("{base}/review"),
        &app.admin_token,
        json!({"decision": "approve"}),
    )
    .await
}

/// A slug is a publisher's own until a version is published: another publisher uploading
/// the same slug learns nothing (the answer is that of a fresh slug) and gets a template of
/// its own; the first to be published claims the catalog's name, and the other is then told
/// so, which the catalog shows anyone anyway.
async fn drafts_keep_their_slugs_to_themselves(app: &TestApp) {
    let (acme, acme_owner) = partner(app, "acme-partners").await;
    let (globex, globex_owner) = partner(app, "globex-partners").await;
    let (_, customer) = app.tenant_with_owner("buyer").await;
    let globex_draft = upload(
        app,
        &globex,
        &globex_owner,
        package(&manifest("secret-plan", "1.0.0", "")),
    )
    .await;
    assert_eq!(globex_draft.status, 201, "{}", globex_draft.body);
    let same = upload(
        app,
        &acme,
        &acme_owner,
        package(&manifest("secret-plan", "1.0.0", "")),
    )
    .await;
    let fresh = upload(
        app,
        &acme,
        &acme_owner,
        package(&manifest("open-plan", "1.0.0", "")),
    )
    .await;
    for r in [&same, &fresh] {
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["version"]["status"], "draft");
    }
    let shape = |r: &Resp| {
        let mut v = r.body.clone();
        for p in ["id", "slug", "name", "created_at", "updated_at"] {
            v["template"][p] = Value::Null;
        }
        for p in ["created_at", "package_sha256", "package_bytes"] {
            v["version"][p] = Value::Null;
        }
        v["version"]["manifest"]["slug"] = Value::Null;
        v
    };
    assert_eq!(shape(&same), shape(&fresh));
    assert_ne!(
        same.body["template"]["id"],
        globex_draft.body["template"]["id"]
    );
    assert_eq!(same.body["template"]["slug"], "secret-plan");

    // Both go to review; Acme's is published first and holds the name.
    let globex_id = globex_draft.body["template"]["id"].as_str().unwrap();
    let globex_base = format!("/api/v1/templates/{globex_id}/versions/1.0.0");
    let r = app
        .post(&format!("{globex_base}/submit"), &globex_owner, json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = publish(app, &same, &acme_owner).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "published");
    let listed = app.get("/api/v1/catalog/secret-plan", &customer).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["template"]["id"], same.body["template"]["id"]);
    // Globex's version cannot be published under that name now, nor a new one uploaded.
    let r = app
        .post(
            &format!("{globex_base}/review"),
            &app.admin_token,
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("secret-plan"));
    let r = upload(
        app,
        &globex,
        &globex_owner,
        package(&manifest("secret-plan", "1.1.0", "")),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    // The catalog lists one `secret-plan`, Acme's.
    let catalog = app.get("/api/v1/catalog?q=secret-plan", &customer).await;
    let items = catalog.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", catalog.body);
    assert_eq!(items[0]["template"]["id"], same.body["template"]["id"]);
}

async fn builtins_are_in_the_catalog(app: &TestApp) {
    assert_eq!(
        consortia_api::jobs::builtins::load(&app.state.templates)
            .await
            .unwrap(),
        4
    );
    // Loading again (every start) adds nothing.
    assert_eq!(
        consortia_api::jobs::builtins::load(&app.state.templates)
            .await
            .unwrap(),
        0
    );
    let (_, customer) = app.tenant_with_owner("buyer").await;
    let all = app.get("/api/v1/catalog", &customer).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let slugs: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["template"]["slug"].as_str().unwrap())
        .collect();
    for s in [
        "evidence-deposit",
        "product-traceability",
        "quorum-qbft-network",
        "fabric-supply-chain",
    ] {
        assert!(slugs.contains(&s), "{s} missing from {slugs:?}");
    }
    // A page at a time, in the same order.
    let mut paged: Vec<String> = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(
                &format!("/api/v1/catalog?limit=3&cursor={cursor}"),
                &customer,
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        paged.extend(
            items
                .iter()
                .map(|i| i["template"]["slug"].as_str().unwrap().to_string()),
        );
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(paged, slugs, "pages add up to the whole catalog");
    let native = app.get("/api/v1/catalog?engine=native", &customer).await;
    assert_eq!(native.body["items"].as_array().unwrap().len(), 2);
    assert!(
        native.body["items"][0]["template"]
            .get("requires")
            .is_none()
    );
    let quorum = app.get("/api/v1/catalog?q=QBFT", &customer).await;
    assert_eq!(quorum.body["items"].as_array().unwrap().len(), 1);
    assert!(
        quorum.body["items"][0]["template"]["requires"]
            .as_str()
            .unwrap()
            .contains("Kubernetes")
    );
    let tr = app
        .get(
            "/api/v1/catalog?category=traceability&sort=recent",
            &customer,
        )
        .await;
    assert_eq!(tr.body["items"].as_array().unwrap().len(), 1);
    for bad in [
        "engine=cobol",
        "category=games",
        "sort=random",
        "surprise=1",
    ] {
        let r = app.get(&format!("/api/v1/catalog?{bad}"), &customer).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    assert_eq!(
        app.call(Method::GET, "/api/v1/catalog", None, None)
            .await
            .status,
        401
    );

    // One call has the whole detail page.
    let d = app.get("/api/v1/catalog/evidence-deposit", &customer).await;
    assert_eq!(d.status, 200);
    let v = &d.body["versions"][0];
    assert_eq!(v["status"], "published");
    assert!(v["manifest"]["description"].as_str().unwrap().len() > 200);
    assert_eq!(v["manifest"]["parameters"]["type"], "object");
    assert_eq!(v["manifest"]["chain"]["engine"], "native");
    assert_eq!(
        app.get("/api/v1/catalog/no-such", &customer).await.status,
        404
    );

    // Parameters against the schema: every error by JSON pointer.
    let check = |body: Value| {
        app.post(
            "/api/v1/catalog/evidence-deposit/parameters/check",
            &customer,
            body,
        )
    };
    let ok = check(json!({"parameters": {"hash_algorithm": "sha256", "retention_days": 3650, "batch_window_ms": 250}})).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let bad = check(json!({"parameters": {"hash_algorithm": "md5", "retention_days": 0, "batch_window_ms": 5001, "notify_webhook": "http://hooks.example.com/deposits"}})).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let mut p = pointers(&bad);
    p.sort();
    assert_eq!(
        p,
        [
            "/parameters/batch_window_ms",
            "/parameters/hash_algorithm",
            "/parameters/notify_webhook",
            "/parameters/retention_days"
        ]
    );
    let r = check(json!({"version": "9.9.9", "parameters": {}})).await;
    assert_eq!(r.status, 422);
    let fab = app
        .post(
            "/api/v1/catalog/fabric-supply-chain/parameters/check",
            &customer,
            json!({"parameters": {"channel_name": "Supply_Chain", "endorsement_policy": "majority", "batch_timeout_ms": 50,
                "private_data_collections": [{"name": "pricing", "members": [], "required_peer_count": 1}]}}),
        )
        .await;
    let mut p = pointers(&fab);
    p.sort();
    assert_eq!(
        p,
        [
            "/parameters/batch_timeout_ms",
            "/parameters/channel_name",
            "/parameters/private_data_collections/0/members"
        ]
    );
}

async fn publishing_goes_through_review(app: &TestApp) {
    let (tenant, owner) = partner(app, "acme-partners").await;
    let (_, dev) = app
        .member(&tenant, "dev@acme-partners.example", "developer")
        .await;
    let (_, customer) = app.tenant_with_owner("buyer").await;
    let r = upload(
        app,
        &tenant,
        &dev,
        package(&manifest("cold-chain", "1.0.0", "")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["version"]["status"], "draft");
    let id = r.body["template"]["id"].as_str().unwrap().to_string();
    let base = format!("/api/v1/templates/{id}/versions/1.0.0");
    // A draft is not in the catalog, and its package is the publisher's only.
    assert_eq!(
        app.get("/api/v1/catalog/cold-chain", &customer)
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("{base}/package"), &customer).await.status,
        404
    );
    // Another tenant cannot submit it (404), the reviewer cannot review a draft (409).
    assert_eq!(
        app.post(&format!("{base}/submit"), &customer, json!({}))
            .await
            .status,
        404
    );
    let r = app
        .post(
            &format!("{base}/review"),
            &app.admin_token,
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = app.post(&format!("{base}/submit"), &dev, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "in_review");
    // Under review it cannot change.
    let r = upload(
        app,
        &tenant,
        &dev,
        package(&manifest("cold-chain", "1.0.0", "")),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let q = app.get("/api/v1/template-reviews", &app.admin_token).await;
    assert_eq!(q.body["items"][0]["template"]["slug"], "cold-chain");
    assert_eq!(
        app.get("/api/v1/template-reviews", &owner).await.status,
        403
    );
    // Only the platform reviewer decides; a rejection needs a reason.
    let r = app
        .post(
            &format!("{base}/review"),
            &owner,
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .post(
            &format!("{base}/review"),
            &app.admin_token,
            json!({"decision": "reject"}),
        )
        .await;
    assert_eq!(r.status, 422);
    let r = app
        .post(
            &format!("{base}/review"),
            &app.admin_token,
            json!({"decision": "reject", "reason": "add a licence file"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "rejected");
    assert_eq!(r.body["reason"], "add a licence file");
    // Fixed and uploaded again: the rejected version is replaced by a draft.
    let fixed =
        manifest("cold-chain", "1.0.0", "").replace("Temperature records", "Temperature logs");
    // Smuggled bytes after the checked archive (a second gzip member with another file) never
    // reach anyone: the stored package is rebuilt from the checked files.
    let mut smuggled = package(&fixed);
    let mut extra = BTreeMap::new();
    extra.insert("evil.sh".to_string(), b"rm -rf /".to_vec());
    smuggled.extend(build_package("x", &extra));
    let r = upload(app, &tenant, &dev, smuggled).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["version"]["status"], "draft");
    app.post(&format!("{base}/submit"), &dev, json!({})).await;
    let r = app
        .post(
            &format!("{base}/review"),
            &app.admin_token,
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(r.body["status"], "published", "{}", r.body);
    // Published: in the catalog, immutable.
    let c = app.get("/api/v1/catalog/cold-chain", &customer).await;
    assert_eq!(c.status, 200);
    assert_eq!(
        c.body["template"]["summary"],
        "Temperature logs for shipments."
    );
    let r = upload(app, &tenant, &dev, package(&fixed)).await;
    assert_eq!(r.status, 409);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("upload a new version")
    );
    let pkg = app.get(&format!("{base}/package"), &customer).await;
    assert_eq!(pkg.status, 200);
    assert_eq!(pkg.header("content-type"), Some("application/gzip"));
    let raw = app.raw_body(&format!("{base}/package"), &customer).await;
    assert_eq!(
        raw,
        package(&fixed),
        "the canonical package, without the smuggled member"
    );
    // A new version goes through review again; the catalog keeps showing 1.0.0.
    let r = upload(
        app,
        &tenant,
        &dev,
        package(&manifest("cold-chain", "1.1.0", "")),
    )
    .await;
    assert_eq!(r.status, 201);
    let all = app.get("/api/v1/catalog?q=cold", &customer).await;
    assert_eq!(all.body["items"][0]["latest_version"], "1.0.0");
    // The partner sees every version and the installs count; the history is complete.
    let own = app
        .get(&format!("/api/v1/tenants/{tenant}/templates"), &dev)
        .await;
    let versions: Vec<&str> = own.body["items"][0]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["status"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["draft", "published"]);
    assert_eq!(own.body["items"][0]["template"]["installs"], 0);
    let h = app
        .get(&format!("/api/v1/templates/{id}/history"), &dev)
        .await;
    let steps: Vec<String> = h.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["version"].as_str().unwrap(),
                e["action"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            "1.0.0 uploaded",
            "1.0.0 submitted",
            "1.0.0 rejected",
            "1.0.0 replaced",
            "1.0.0 submitted",
            "1.0.0 approved",
            "1.1.0 uploaded"
        ]
    );
    assert_eq!(
        app.get(&format!("/api/v1/templates/{id}/history"), &customer)
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("/api/v1/templates/{id}/history"), &app.admin_token)
            .await
            .status,
        200
    );
    // Deprecation: the partner's admins, published versions only.
    let r = app
        .post(&format!("{base}/deprecate"), &dev, json!({}))
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .post(
            &format!("{base}/deprecate"),
            &owner,
            json!({"reason": "use 1.1"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "deprecated");
    let r = app
        .post(
            "/api/v1/templates/{id}/versions/1.1.0/deprecate"
                .replace("{id}", &id)
                .as_str(),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 409);
    // Every step is in the audit log.
    assert!(app.audit_count().await >= 10);
}

#[actix_web::test]
async fn bad_packages_are_refused_and_nothing_is_stored() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (tenant, owner) = partner(&app, "acme-partners").await;
    let (other_partner, other_owner) = partner(&app, "globex-partners").await;
    let (_, viewer) = app
        .member(&tenant, "v@acme-partners.example", "viewer")
        .await;
    let (customer_tenant, customer) = app.tenant_with_owner("buyer").await;
    // Globex's `taken` is in the catalog.
    let r = upload(
        &app,
        &other_partner,
        &other_owner,
        package(&manifest("taken", "1.0.0", "")),
    )
    .await;
    assert_eq!(r.status, 201);
    publish(&app, &r, &other_owner).await;
    let before = app.snapshot().await;
    let good = manifest("cold-chain", "1.0.0", "");
    let mut digest_files = BTreeMap::new();
    digest_files.insert("config/sensors.json".to_string(), b"tampered".to_vec());
    let mut big_files = BTreeMap::new();
    // Incompressible bytes (xorshift), so the package itself is over the 256 KiB test limit.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let noise: Vec<u8> = (0..400_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    big_files.insert("config/sensors.json".to_string(), noise);
    // (what, tenant, package, token, status, pointer of the error)
    type Case<'a> = (&'a str, String, Vec<u8>, &'a str, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "invalid semver",
            tenant.clone(),
            package(&good.replace("version: 1.0.0", "version: 1.0")),
            owner.as_str(),
            422,
            "/version",
        ),
        (
            "unknown field",
            tenant.clone(),
            package(&good.replace("license:", "licence: x\nlicense:")),
            owner.as_str(),
            422,
            "/licence",
        ),
        (
            "missing name",
            tenant.clone(),
            package(&good.replace("name: Cold chain\n", "")),
            owner.as_str(),
            422,
            "/name",
        ),
        (
            "bad schema",
            tenant.clone(),
            package(&good.replace("type: number, minimum", "type: numbr, minimum")),
            owner.as_str(),
            422,
            "/parameters",
        ),
        (
            "bad digest",
            tenant.clone(),
            build_package(&good, &digest_files),
            owner.as_str(),
            422,
            "/artifacts/0/sha256",
        ),
        (
            "not gzip",
            tenant.clone(),
            b"plain text".to_vec(),
            owner.as_str(),
            422,
            "package",
        ),
        (
            "oversized",
            tenant.clone(),
            build_package(&good, &big_files),
            owner.as_str(),
            413,
            "",
        ),
        (
            "customer tenant",
            customer_tenant.clone(),
            package(&good),
            customer.as_str(),
            403,
            "",
        ),
        (
            "other tenant",
            other_partner.clone(),
            package(&good),
            owner.as_str(),
            404,
            "",
        ),
        (
            "viewer",
            tenant.clone(),
            package(&good),
            viewer.as_str(),
            403,
            "",
        ),
        (
            "slug of another publisher",
            tenant.clone(),
            package(&manifest("taken", "2.0.0", "")),
            owner.as_str(),
            409,
            "",
        ),
    ];
    for (what, t, bytes, token, status, pointer) in cases {
        let r = upload(&app, &t, token, bytes).await;
        assert_eq!(r.status, status, "{what}: {}", r.body);
        if !pointer.is_empty() {
            assert!(
                pointers(&r).iter().any(|p| p.starts_with(pointer)),
                "{what}: {:?}",
                pointers(&r)
            );
        }
        assert_eq!(app.snapshot().await, before, "{what} stored something");
    }
    // Wrong media type; no token.
    let r = app
        .send(
            TestRequest::post()
                .uri(&format!("/api/v1/tenants/{tenant}/templates"))
                .set_json(json!({"manifest": "x"})),
            Some(&owner),
        )
        .await;
    assert_eq!(r.status, 415);
    let r = app
        .send(
            TestRequest::post()
                .uri(&format!("/api/v1/tenants/{tenant}/templates"))
                .insert_header(("content-type", "application/gzip"))
                .set_payload(package(&good)),
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(app.snapshot().await, before);
}

#[test]
fn template_lint_reports_every_problem_with_its_place() {
    let exe = env!("CARGO_BIN_EXE_consortia-api");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(dir.path().join("config/sensors.json"), b"{\"sensors\": 5}").unwrap();
    std::fs::write(dir.path().join("stray.txt"), b"x").unwrap();
    let bad =
        manifest("cold-chain", "one", "").replace("category: traceability", "category: games");
    std::fs::write(dir.path().join("consortia-template.yaml"), bad).unwrap();
    let out = std::process::Command::new(exe)
        .args(["template", "lint"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    for want in ["/version:", "/category:"] {
        assert!(text.contains(want), "{want} missing in {text}");
    }
    // With the manifest fixed, the files are checked: digest and the stray file.
    std::fs::write(
        dir.path().join("consortia-template.yaml"),
        manifest("cold-chain", "1.0.0", ""),
    )
    .unwrap();
    let out = std::process::Command::new(exe)
        .args(["template", "lint"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("/artifacts/0/sha256:"), "{text}");
    assert!(text.contains("artifact:stray.txt:"), "{text}");
    // Fixed: lint passes, pack writes a package that lints too.
    std::fs::remove_file(dir.path().join("stray.txt")).unwrap();
    std::fs::write(dir.path().join("config/sensors.json"), b"{\"sensors\": 4}").unwrap();
    let pkg = dir.path().join("out.tar.gz");
    let pack_dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(exe)
        .args(["template", "pack"])
        .arg(dir.path())
        .arg("--out")
        .arg(&pkg)
        .output()
        .unwrap();
    // (the package lands inside the template dir; move it out before linting the dir)
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let moved = pack_dir.path().join("out.tar.gz");
    std::fs::rename(&pkg, &moved).unwrap();
    for path in [dir.path().to_path_buf(), moved] {
        let out = std::process::Command::new(exe)
            .args(["template", "lint"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // The shipped templates are clean.
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for entry in std::fs::read_dir(shipped).unwrap() {
        let out = std::process::Command::new(exe)
            .args(["template", "lint"])
            .arg(entry.unwrap().path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
