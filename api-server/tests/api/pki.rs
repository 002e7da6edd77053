//! The alliance PKI through the API: CA hierarchy, issuance from CSRs and generated keys,
//! revocation seen by OpenSSL through the published CRL, renewal, expiry filters, and who may
//! act on which CA.

use crate::alliances::{found, join};
use crate::support::TestApp;
use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// The founder's organisation CA in `alliance`, and a certificate it issued.
pub async fn org_ca_and_cert(
    app: &TestApp,
    token: &str,
    tenant: &str,
    alliance: &str,
) -> (String, String) {
    let cas = app
        .get(&format!("/api/v1/alliances/{alliance}/cas"), token)
        .await;
    assert_eq!(cas.status, 200, "{}", cas.body);
    let org = cas
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "org" && c["tenant_id"] == tenant)
        .unwrap();
    let ca = org["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            &format!("/api/v1/cas/{ca}/certificates"),
            token,
            json!({"profile": "peer", "common_name": "peer0", "validity_days": 90}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (
        ca,
        r.body["certificate"]["id"].as_str().unwrap().to_string(),
    )
}

fn openssl(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn find_ca<'a>(cas: &'a Value, kind: &str, tenant: &str) -> &'a Value {
    cas.as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == kind && c["tenant_id"] == tenant)
        .unwrap()
}

crate::both!(
    pki_end_to_end,
    pki_refuses_bad_requests,
    renewal_job_gauges_and_rewrap,
    a_hostile_common_name_stays_out_of_download_headers,
    crls_are_numbered_and_signed_once_per_change
);

/// A CRL's number and what it lists.
fn crl_number_and_count(der: &[u8]) -> (u64, usize) {
    let (_, crl) = x509_parser::parse_x509_crl(der).expect("a DER CRL");
    (
        crl.crl_number().unwrap().to_string().parse().unwrap(),
        crl.iter_revoked_certificates().count(),
    )
}

/// The public CRL is signed once per change (a revocation) or hour, each time with a greater
/// CRL number; requests in between get the very same CRL (they used to re-sign the same
/// number with a new thisUpdate on every anonymous request).
async fn crls_are_numbered_and_signed_once_per_change(app: &TestApp) {
    let (acme, acme_t) = app.tenant_with_owner("acme").await;
    let alliance = found(app, &acme_t, &acme, "AcmeMSP").await;
    let (ca, cert) = org_ca_and_cert(app, &acme_t, &acme, &alliance).await;
    let path = format!("/api/v1/cas/{ca}/crl?format=der");
    let first = app.raw_body(&path, &app.admin_token).await;
    let (n1, listed) = crl_number_and_count(&first);
    assert_eq!(listed, 0);
    assert_eq!(
        app.raw_body(&path, &app.admin_token).await,
        first,
        "the same CRL until something changes"
    );
    let r = app
        .post(
            &format!("/api/v1/certificates/{cert}/revoke"),
            &acme_t,
            json!({"reason": "superseded"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let revoked = app.raw_body(&path, &app.admin_token).await;
    let (n2, listed) = crl_number_and_count(&revoked);
    assert_eq!(listed, 1);
    assert!(n2 > n1, "{n2} after {n1}");
    app.clock.advance(chrono::Duration::minutes(61));
    let later = app.raw_body(&path, &app.admin_token).await;
    let (n3, listed) = crl_number_and_count(&later);
    assert_eq!(listed, 1);
    assert!(n3 > n2, "{n3} after {n2}");
    assert_eq!(app.raw_body(&path, &app.admin_token).await, later);
}

/// A common name is input (from a body or a CSR): it names the MSP download without being
/// able to end the header, add a parameter or break the response.
async fn a_hostile_common_name_stays_out_of_download_headers(app: &TestApp) {
    let (acme, acme_t) = app.tenant_with_owner("acme").await;
    let alliance = crate::alliances::found(app, &acme_t, &acme, "AcmeMSP").await;
    let cas = app
        .get(&format!("/api/v1/alliances/{alliance}/cas"), &acme_t)
        .await;
    let ca = find_ca(&cas.body, "org", &acme)["id"]
        .as_str()
        .unwrap()
        .to_string();
    for cn in [
        "evil\"; filename=\"run.sh",
        "a\r\nSet-Cookie: session=stolen",
        "d\u{e9}j\u{e0} vu/../..",
    ] {
        let r = app
            .post(
                &format!("/api/v1/cas/{ca}/certificates"),
                &acme_t,
                json!({"profile": "client", "common_name": cn, "validity_days": 30}),
            )
            .await;
        assert_eq!(r.status, 201, "{cn:?}: {}", r.body);
        let id = r.body["certificate"]["id"].as_str().unwrap();
        let got = app
            .get(&format!("/api/v1/certificates/{id}/msp"), &acme_t)
            .await;
        assert_eq!(got.status, 200, "{cn:?}");
        assert!(got.header("set-cookie").is_none(), "{cn:?}");
        let cd = got.header("content-disposition").unwrap();
        let (plain, exact) = cd
            .strip_prefix("attachment; filename=\"")
            .and_then(|r| r.split_once("\"; filename*=UTF-8''"))
            .unwrap_or_else(|| panic!("{cn:?}: {cd}"));
        let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '%');
        assert!(plain.chars().all(safe), "{cn:?}: {cd}");
        assert!(exact.chars().all(safe), "{cn:?}: {cd}");
        assert!(plain.ends_with("-msp.tar.gz"), "{cd}");
    }
}

async fn pki_end_to_end(app: &TestApp) {
    let (acme, acme_t) = app.tenant_with_owner("acme").await;
    let (globex, globex_t) = app.tenant_with_owner("globex").await;
    let (_, initech_t) = app.tenant_with_owner("initech").await;
    let a = found(app, &acme_t, &acme, "AcmeMSP").await;
    join(app, &a, (&acme_t, &acme), (&globex_t, &globex), "GlobexMSP").await;
    // Root (founder), and an org CA and a TLS CA per member.
    let cas = app
        .get(&format!("/api/v1/alliances/{a}/cas"), &globex_t)
        .await
        .body;
    assert_eq!(cas.as_array().unwrap().len(), 5, "{cas}");
    let root = find_ca(&cas, "root", &acme).clone();
    let acme_org = find_ca(&cas, "org", &acme).clone();
    let globex_tls = find_ca(&cas, "tls", &globex).clone();
    assert_eq!(acme_org["parent_id"], root["id"]);
    assert_eq!(
        acme_org["crl_url"].as_str().unwrap(),
        format!(
            "https://baas.example.test/api/v1/cas/{}/crl",
            acme_org["id"].as_str().unwrap()
        )
    );
    assert!(
        !cas.to_string().contains("PRIVATE KEY"),
        "no CA key is ever returned"
    );
    assert_eq!(
        app.get(&format!("/api/v1/alliances/{a}/cas"), &initech_t)
            .await
            .status,
        404
    );
    let org_id = acme_org["id"].as_str().unwrap();

    // A generated key comes back once; reads never show it.
    let r = app
        .post(
            &format!("/api/v1/cas/{org_id}/certificates"),
            &acme_t,
            json!({"profile": "peer", "common_name": "peer0.acme", "sans": ["peer0.acme.example", "10.0.0.5"], "validity_days": 365, "managed": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        r.body["private_key_pem"]
            .as_str()
            .unwrap()
            .contains("PRIVATE KEY")
    );
    let cert_id = r.body["certificate"]["id"].as_str().unwrap().to_string();
    let got = app
        .get(&format!("/api/v1/certificates/{cert_id}"), &globex_t)
        .await;
    assert_eq!(got.status, 200);
    assert!(!got.body.to_string().contains("PRIVATE KEY"));
    assert_eq!(got.body["managed"], true);

    // A CSR made by openssl is accepted; OpenSSL verifies the chain the API returns.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, out) = openssl(
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "k.pem",
            "-out",
            "csr.pem",
            "-subj",
            "/CN=orderer0.acme",
        ],
        d,
    );
    assert!(ok, "{out}");
    let csr = std::fs::read_to_string(d.join("csr.pem")).unwrap();
    let r = app
        .post(
            &format!("/api/v1/cas/{org_id}/certificates"),
            &acme_t,
            json!({"profile": "orderer", "csr": csr, "validity_days": 30}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.get("private_key_pem").is_none());
    let leaf_id = r.body["certificate"]["id"].as_str().unwrap().to_string();
    std::fs::write(
        d.join("leaf.pem"),
        r.body["certificate"]["cert_pem"].as_str().unwrap(),
    )
    .unwrap();
    std::fs::write(d.join("root.pem"), root["cert_pem"].as_str().unwrap()).unwrap();
    std::fs::write(d.join("inter.pem"), acme_org["cert_pem"].as_str().unwrap()).unwrap();
    let (ok, out) = openssl(
        &[
            "verify",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "inter.pem",
            "leaf.pem",
        ],
        d,
    );
    assert!(ok, "{out}");

    // Revoke; the public CRL (no token) lists it and OpenSSL refuses the certificate.
    let r = app
        .post(
            &format!("/api/v1/certificates/{leaf_id}/revoke"),
            &acme_t,
            json!({"reason": "key_compromise"}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("revoked")),
        "{}",
        r.body
    );
    let r = app
        .post(
            &format!("/api/v1/certificates/{leaf_id}/revoke"),
            &acme_t,
            json!({"reason": "key_compromise"}),
        )
        .await;
    assert_eq!(r.status, 409);
    let crl = app
        .send(
            TestRequest::get().uri(&format!("/api/v1/cas/{org_id}/crl")),
            None,
        )
        .await;
    assert_eq!(crl.status, 200);
    let raw = {
        let app_req = TestRequest::get().uri(&format!("/api/v1/cas/{org_id}/crl"));
        let svc = actix_web::test::init_service(
            actix_web::App::new().configure(consortia_api::http::configure(app.state.clone())),
        )
        .await;
        let res = actix_web::test::call_service(&svc, app_req.to_request()).await;
        actix_web::test::read_body(res).await
    };
    std::fs::write(d.join("crl.pem"), &raw).unwrap();
    let (ok, out) = openssl(
        &[
            "verify",
            "-crl_check",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "inter.pem",
            "-CRLfile",
            "crl.pem",
            "leaf.pem",
        ],
        d,
    );
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    let (ok, out) = openssl(&["crl", "-in", "crl.pem", "-noout", "-text"], d);
    assert!(ok && out.contains("Key Compromise"), "{out}");

    // Renewal with the same key keeps the public key; with rekey a new key comes back.
    let r = app
        .post(
            &format!("/api/v1/certificates/{cert_id}/renew"),
            &acme_t,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.get("private_key_pem").is_none());
    assert_eq!(r.body["certificate"]["renewed_from"], cert_id.as_str());
    let spki = |pem: &str| {
        let der = consortia_api::store::pki::pem_to_der(pem).unwrap();
        let (_, x) = x509_parser::parse_x509_certificate(&der).unwrap();
        x.public_key().raw.to_vec()
    };
    let old_pem = got.body["cert_pem"].as_str().unwrap().to_string();
    assert_eq!(
        spki(&old_pem),
        spki(r.body["certificate"]["cert_pem"].as_str().unwrap())
    );
    let r = app
        .post(
            &format!("/api/v1/certificates/{cert_id}/renew"),
            &acme_t,
            json!({"rekey": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["private_key_pem"].is_string());
    assert_ne!(
        spki(&old_pem),
        spki(r.body["certificate"]["cert_pem"].as_str().unwrap())
    );

    // Expiring within N days.
    let r = app
        .post(
            &format!("/api/v1/cas/{org_id}/certificates"),
            &acme_t,
            json!({"profile": "client", "common_name": "short", "validity_days": 10}),
        )
        .await;
    let short = r.body["certificate"]["id"].as_str().unwrap().to_string();
    let list = app
        .get(
            &format!("/api/v1/alliances/{a}/certificates?expiring_within_days=15&status=valid"),
            &globex_t,
        )
        .await;
    let ids: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![short.as_str()], "{}", list.body);
    let list = app
        .get(
            &format!("/api/v1/cas/{org_id}/certificates?status=revoked"),
            &acme_t,
        )
        .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);

    // Who acts where: a member does not issue on another member's CA; only the founder's
    // admins act on the root; outsiders see nothing.
    let body = json!({"profile": "peer", "common_name": "x", "validity_days": 10});
    assert_eq!(
        app.post(
            &format!("/api/v1/cas/{org_id}/certificates"),
            &globex_t,
            body.clone()
        )
        .await
        .status,
        403
    );
    let root_id = root["id"].as_str().unwrap();
    assert_eq!(
        app.post(
            &format!("/api/v1/cas/{root_id}/certificates"),
            &globex_t,
            body.clone()
        )
        .await
        .status,
        403
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/cas/{root_id}/certificates"),
            &acme_t,
            body.clone()
        )
        .await
        .status,
        201
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/cas/{org_id}/certificates"),
            &initech_t,
            body.clone()
        )
        .await
        .status,
        404
    );
    let gt = globex_tls["id"].as_str().unwrap();
    let r = app
        .post(&format!("/api/v1/cas/{gt}/certificates"), &globex_t, json!({"profile": "tls-server", "common_name": "peer0.globex", "sans": ["peer0.globex.example"], "validity_days": 30}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // A Fabric MSP bundle: at issuance with the generated key, later without it.
    let r = app
        .post(&format!("/api/v1/cas/{org_id}/certificates"), &acme_t, json!({"profile": "admin", "common_name": "Admin@acme", "validity_days": 30, "msp_bundle": true}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    use base64::Engine;
    let tgz = base64::engine::general_purpose::STANDARD
        .decode(r.body["msp_bundle_base64"].as_str().unwrap())
        .unwrap();
    std::fs::write(d.join("admin.tgz"), &tgz).unwrap();
    assert!(
        Command::new("tar")
            .args(["xzf", "admin.tgz"])
            .current_dir(d)
            .status()
            .unwrap()
            .success()
    );
    let key = std::fs::read_to_string(d.join("msp/keystore/key.pem")).unwrap();
    assert_eq!(key, r.body["private_key_pem"].as_str().unwrap());
    let (ok, out) = openssl(
        &[
            "verify",
            "-CAfile",
            "msp/cacerts/ca.pem",
            "-untrusted",
            "msp/intermediatecerts/ca.pem",
            "msp/signcerts/cert.pem",
        ],
        d,
    );
    assert!(ok, "{out}");
    let (_, subj) = openssl(
        &[
            "x509",
            "-in",
            "msp/signcerts/cert.pem",
            "-noout",
            "-subject",
        ],
        d,
    );
    assert!(subj.contains("OU = admin"), "{subj}");
    let admin_id = r.body["certificate"]["id"].as_str().unwrap();
    let later = app
        .get(&format!("/api/v1/certificates/{admin_id}/msp"), &globex_t)
        .await;
    assert_eq!(later.status, 200);
    assert_eq!(later.header("content-type"), Some("application/gzip"));
    // Audited.
    let audit = app
        .get(
            &format!("/api/v1/audit-events?tenant_id={acme}&limit=200"),
            &acme_t,
        )
        .await;
    assert!(
        audit.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"].as_str().unwrap().contains("/revoke"))
    );
}

async fn pki_refuses_bad_requests(app: &TestApp) {
    let (acme, acme_t) = app.tenant_with_owner("acme").await;
    let (globex, globex_t) = app.tenant_with_owner("globex").await;
    let a = found(app, &acme_t, &acme, "AcmeMSP").await;
    join(app, &a, (&acme_t, &acme), (&globex_t, &globex), "GlobexMSP").await;
    let (org, cert) = org_ca_and_cert(app, &acme_t, &acme, &a).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "k.pem",
            "-out",
            "ca.csr",
            "-subj",
            "/CN=sneaky",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ],
        d,
    );
    let ca_csr = std::fs::read_to_string(d.join("ca.csr")).unwrap();
    openssl(
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "k2.pem",
            "-out",
            "ok.csr",
            "-outform",
            "DER",
            "-subj",
            "/CN=fine",
        ],
        d,
    );
    let mut der = std::fs::read(d.join("ok.csr")).unwrap();
    let n = der.len();
    der[n - 4] ^= 1;
    use base64::Engine;
    let tampered = format!(
        "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
        base64::engine::general_purpose::STANDARD.encode(&der)
    );
    let issue = format!("/api/v1/cas/{org}/certificates");
    let cases: Vec<(&str, &str, String, Value, u16)> = vec![
        (
            "malformed CSR",
            &acme_t,
            issue.clone(),
            json!({"profile": "peer", "csr": "garbage", "validity_days": 10}),
            422,
        ),
        (
            "CSR with a bad self-signature",
            &acme_t,
            issue.clone(),
            json!({"profile": "peer", "csr": tampered, "validity_days": 10}),
            422,
        ),
        (
            "CA flag requested by a leaf",
            &acme_t,
            issue.clone(),
            json!({"profile": "peer", "csr": ca_csr, "validity_days": 10}),
            422,
        ),
        (
            "SAN that is not a DNS name or IP",
            &acme_t,
            issue.clone(),
            json!({"profile": "tls-server", "common_name": "x", "sans": ["not a name!"], "validity_days": 10}),
            422,
        ),
        (
            "validity past the issuer",
            &acme_t,
            issue.clone(),
            json!({"profile": "peer", "common_name": "x", "validity_days": 99999}),
            422,
        ),
        (
            "zero validity",
            &acme_t,
            issue.clone(),
            json!({"profile": "peer", "common_name": "x", "validity_days": 0}),
            422,
        ),
        (
            "unknown profile",
            &acme_t,
            issue.clone(),
            json!({"profile": "superuser", "common_name": "x", "validity_days": 10}),
            400,
        ),
        (
            "no name and no CSR",
            &acme_t,
            issue.clone(),
            json!({"profile": "peer", "validity_days": 10}),
            422,
        ),
        (
            "another member's CA",
            &globex_t,
            issue.clone(),
            json!({"profile": "peer", "common_name": "x", "validity_days": 10}),
            403,
        ),
        (
            "revoke an unknown certificate",
            &acme_t,
            format!("/api/v1/certificates/{}/revoke", uuid::Uuid::now_v7()),
            json!({"reason": "superseded"}),
            404,
        ),
        (
            "unknown reason",
            &acme_t,
            format!("/api/v1/certificates/{cert}/revoke"),
            json!({"reason": "bored"}),
            400,
        ),
        (
            "revoke on another member's CA",
            &globex_t,
            format!("/api/v1/certificates/{cert}/revoke"),
            json!({"reason": "superseded"}),
            403,
        ),
        (
            "renew with a CSR but no rekey",
            &acme_t,
            format!("/api/v1/certificates/{cert}/renew"),
            json!({"csr": "x"}),
            422,
        ),
    ];
    for (what, token, path, body, status) in cases {
        let before = app.snapshot().await;
        let r = app.call(Method::POST, &path, Some(token), Some(body)).await;
        assert_eq!(r.status, status, "{what}: {}", r.body);
        assert_eq!(app.snapshot().await, before, "{what}: the database changed");
    }
    for (q, status) in [
        ("?status=lost", 400),
        ("?expiring_within_days=0", 400),
        ("?profile=root", 400),
        ("?bogus=1", 400),
    ] {
        let r = app
            .get(&format!("/api/v1/cas/{org}/certificates{q}"), &acme_t)
            .await;
        assert_eq!(r.status, status, "{q}");
    }
    let r = app
        .send(
            TestRequest::get().uri(&format!("/api/v1/cas/{org}/crl?format=xml")),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    let r = app
        .send(
            TestRequest::get().uri(&format!("/api/v1/cas/{}/crl", uuid::Uuid::now_v7())),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
}

async fn renewal_job_gauges_and_rewrap(app: &TestApp) {
    let (acme, acme_t) = app.tenant_with_owner("acme").await;
    let a = found(app, &acme_t, &acme, "AcmeMSP").await;
    let cas = app
        .get(&format!("/api/v1/alliances/{a}/cas"), &acme_t)
        .await
        .body;
    let org = find_ca(&cas, "org", &acme)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let issue = |managed: bool, cn: &str| json!({"profile": "node", "common_name": cn, "sans": [format!("{cn}.acme.example")], "validity_days": 10, "managed": managed});
    let m = app
        .post(
            &format!("/api/v1/cas/{org}/certificates"),
            &acme_t,
            issue(true, "node0"),
        )
        .await;
    let u = app
        .post(
            &format!("/api/v1/cas/{org}/certificates"),
            &acme_t,
            issue(false, "node1"),
        )
        .await;
    assert_eq!((m.status, u.status), (201, 201));
    let managed = m.body["certificate"].clone();
    // Every valid certificate's expiry is on the gauge.
    let metrics = app.send(TestRequest::get().uri("/metrics"), None).await;
    let _ = metrics;
    let text = app.state.metrics.encode();
    assert!(
        text.contains("consortia_api_certificate_expiry_timestamp_seconds"),
        "{text}"
    );
    assert!(text.contains(managed["serial"].as_str().unwrap()));
    assert!(text.contains(managed["id"].as_str().unwrap()));
    // Labels carry ids, never a common name (a person's name or e-mail, for some profiles).
    assert!(
        !text.contains("common_name") && !text.contains("node1"),
        "{text}"
    );
    // Fresh certificates are left alone; once less than the window (or a third of the
    // lifetime, for short-lived ones) is left, only the managed identity is renewed, once,
    // with the same key.
    assert_eq!(app.state.pki.renew_due(15).await.unwrap(), 0);
    app.clock.advance(chrono::Duration::days(8));
    assert_eq!(app.state.pki.renew_due(1).await.unwrap(), 0);
    assert_eq!(app.state.pki.renew_due(15).await.unwrap(), 1);
    assert_eq!(app.state.pki.renew_due(15).await.unwrap(), 0);
    let list = app
        .get(
            &format!("/api/v1/cas/{org}/certificates?limit=200"),
            &acme_t,
        )
        .await
        .body;
    let successor = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["renewed_from"] == managed["id"])
        .unwrap()
        .clone();
    assert_eq!(successor["managed"], true);
    let spki = |pem: &str| {
        let der = consortia_api::store::pki::pem_to_der(pem).unwrap();
        let (_, x) = x509_parser::parse_x509_certificate(&der).unwrap();
        x.public_key().raw.to_vec()
    };
    assert_eq!(
        spki(managed["cert_pem"].as_str().unwrap()),
        spki(successor["cert_pem"].as_str().unwrap())
    );
    let audit = app
        .get(
            &format!("/api/v1/audit-events?tenant_id={acme}&limit=200"),
            &acme_t,
        )
        .await;
    assert!(
        audit.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "SYSTEM pki.renew"),
        "{}",
        audit.body
    );
    // A revoked certificate leaves the gauge.
    let id = managed["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/certificates/{id}/revoke"),
        &acme_t,
        json!({"reason": "superseded"}),
    )
    .await;
    assert!(
        !app.state
            .metrics
            .encode()
            .contains(managed["serial"].as_str().unwrap())
    );
    // Re-wrap every sealed key under a new KEK: the old one no longer opens them.
    let new = consortia_pki::seal::Kek::generate();
    let (n_cas, n_certs) = consortia_api::store::pki::rewrap(&app.state.db, &app.state.kek, &new)
        .await
        .unwrap();
    assert_eq!((n_cas, n_certs), (3, 2));
    let ca_row = consortia_api::store::pki::ca(&app.state.db, org.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(consortia_api::store::pki::load(&new, &ca_row).is_ok());
    assert!(consortia_api::store::pki::load(&app.state.kek, &ca_row).is_err());
    // Sealed keys are not readable in the database.
    assert!(!app.snapshot().await.contains("PRIVATE KEY"));
}
