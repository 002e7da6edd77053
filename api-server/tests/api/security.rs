//! Every endpoint against bad callers and bad input: each gets a clear problem+json 4xx and
//! changes nothing in the database.

use crate::support::TestApp;
use actix_web::http::Method;
use actix_web::test::TestRequest;
use consortia_api::http::{Routes, register};
use serde_json::{Value, json};

/// Who may call an endpoint.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Need {
    Public,
    Authenticated,
    PlatformAdmin,
    /// A role inside the tenant named in the path (or query).
    Role(&'static str),
    /// The sign-in endpoints themselves (cookies, redirects, an identity provider): their
    /// refusals are tested in `sso.rs`.
    SignIn,
}

struct Endpoint {
    method: Method,
    template: &'static str,
    need: Need,
    body: Option<Value>,
}

fn endpoints() -> Vec<Endpoint> {
    use Need::*;
    let e = |method: Method, template: &'static str, need: Need, body: Option<Value>| Endpoint {
        method,
        template,
        need,
        body,
    };
    vec![
        e(Method::GET, "/healthz", Public, None),
        e(Method::GET, "/readyz", Public, None),
        e(Method::GET, "/api/v1/openapi.json", Public, None),
        e(Method::GET, "/api/v1/me", Authenticated, None),
        e(
            Method::POST,
            "/api/v1/tenants",
            PlatformAdmin,
            Some(json!({"slug": "new-co", "name": "New", "kind": "customer"})),
        ),
        e(Method::GET, "/api/v1/tenants", Authenticated, None),
        e(
            Method::GET,
            "/api/v1/tenants/{tenant_id}",
            Role("viewer"),
            None,
        ),
        e(
            Method::PATCH,
            "/api/v1/tenants/{tenant_id}",
            Role("owner"),
            Some(json!({"name": "Renamed"})),
        ),
        e(
            Method::GET,
            "/api/v1/tenants/{tenant_id}/members",
            Role("viewer"),
            None,
        ),
        e(
            Method::POST,
            "/api/v1/tenants/{tenant_id}/members",
            Role("admin"),
            Some(json!({"email": "x@acme.example", "display_name": "X", "role": "viewer"})),
        ),
        e(
            Method::GET,
            "/api/v1/tenants/{tenant_id}/members/{user_id}",
            Role("viewer"),
            None,
        ),
        e(
            Method::PATCH,
            "/api/v1/tenants/{tenant_id}/members/{user_id}",
            Role("admin"),
            Some(json!({"role": "viewer"})),
        ),
        e(
            Method::DELETE,
            "/api/v1/tenants/{tenant_id}/members/{user_id}",
            Role("admin"),
            None,
        ),
        e(
            Method::POST,
            "/api/v1/tokens",
            Authenticated,
            Some(json!({"name": "t"})),
        ),
        e(Method::GET, "/api/v1/tokens", Authenticated, None),
        e(
            Method::DELETE,
            "/api/v1/tokens/{token_id}",
            Authenticated,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/tenants/{tenant_id}/tokens",
            Role("admin"),
            None,
        ),
        e(
            Method::POST,
            "/api/v1/tenants/{tenant_id}/tokens",
            Role("admin"),
            Some(json!({"name": "t"})),
        ),
        e(
            Method::DELETE,
            "/api/v1/tenants/{tenant_id}/tokens/{token_id}",
            Role("admin"),
            None,
        ),
        e(Method::GET, "/api/v1/audit-events", Role("admin"), None),
        e(Method::GET, "/api/v1/chains", Role("viewer"), None),
        e(Method::GET, "/api/v1/engines", Authenticated, None),
        e(Method::GET, "/api/v1/deposits", Role("viewer"), None),
        e(Method::GET, "/api/v1/events", Role("viewer"), None),
        e(
            Method::POST,
            "/api/v1/alliances",
            Role("admin"),
            Some(
                json!({"tenant_id": "{tenant_id}", "name": "Trade", "description": "",
                "policy": {"threshold_percentage": 50, "comparator": "greater_than", "proposal_duration_hours": 24},
                "org": {"name": "Acme", "org_id": "Acme2MSP"}}),
            ),
        ),
        e(Method::GET, "/api/v1/alliances", Authenticated, None),
        e(
            Method::GET,
            "/api/v1/alliances/{alliance_id}",
            Role("viewer"),
            None,
        ),
        e(
            Method::POST,
            "/api/v1/alliances/{alliance_id}/leave",
            Role("admin"),
            Some(json!({"tenant_id": "{tenant_id}"})),
        ),
        e(
            Method::GET,
            "/api/v1/alliances/{alliance_id}/events",
            Role("viewer"),
            None,
        ),
        e(
            Method::POST,
            "/api/v1/alliances/{alliance_id}/proposals",
            Role("admin"),
            Some(json!({"tenant_id": "{tenant_id}", "description": "",
                "action": {"change_policy": {"policy": {"threshold_percentage": 60, "comparator": "greater_than", "proposal_duration_hours": 24}}}})),
        ),
        e(
            Method::GET,
            "/api/v1/alliances/{alliance_id}/proposals",
            Role("viewer"),
            None,
        ),
        e(
            Method::GET,
            "/api/v1/alliances/{alliance_id}/proposals/{proposal_id}",
            Role("viewer"),
            None,
        ),
        e(
            Method::POST,
            "/api/v1/alliances/{alliance_id}/proposals/{proposal_id}/votes",
            Role("admin"),
            Some(json!({"tenant_id": "{tenant_id}", "vote": "yes"})),
        ),
        e(
            Method::POST,
            "/api/v1/alliances/{alliance_id}/chains",
            Role("admin"),
            Some(json!({"tenant_id": "{tenant_id}", "name": "x", "engine": "native"})),
        ),
        e(
            Method::GET,
            "/api/v1/alliances/{alliance_id}/chains",
            Role("viewer"),
            None,
        ),
        e(
            Method::GET,
            "/api/v1/alliances/{alliance_id}/chains/{chain_id}",
            Role("viewer"),
            None,
        ),
        e(
            Method::GET,
            "/api/v1/alliances/{alliance_id}/chains/{chain_id}/genesis",
            Role("viewer"),
            None,
        ),
        e(
            Method::DELETE,
            "/api/v1/alliances/{alliance_id}/chains/{chain_id}",
            Role("admin"),
            None,
        ),
        e(
            Method::POST,
            "/api/v1/alliances/{alliance_id}/chains/{chain_id}/installations",
            Role("developer"),
            Some(json!({"tenant_id": "{tenant_id}", "slug": "evidence-deposit"})),
        ),
        e(
            Method::GET,
            "/api/v1/alliances/{alliance_id}/chains/{chain_id}/installations",
            Role("viewer"),
            None,
        ),
        e(
            Method::POST,
            "/api/v1/deposits",
            Role("developer"),
            Some(
                json!({"tenant_id": "{tenant_id}", "content_hash": "abababababababababababababababababababababababababababababababab",
                "chain_ids": ["0190a000-0000-7000-8000-000000000004"]}),
            ),
        ),
        e(
            Method::POST,
            "/api/v1/deposits/batch",
            Role("developer"),
            Some(
                json!({"tenant_id": "{tenant_id}", "chain_ids": ["0190a000-0000-7000-8000-000000000004"],
                "items": [{"content_hash": "abababababababababababababababababababababababababababababababab"}]}),
            ),
        ),
        e(
            Method::GET,
            "/api/v1/deposits/{deposit_id}",
            Role("viewer"),
            None,
        ),
        e(
            Method::POST,
            "/api/v1/deposits/verify",
            Role("viewer"),
            Some(
                json!({"tenant_id": "{tenant_id}", "content_hash": "abababababababababababababababababababababababababababababababab"}),
            ),
        ),
        e(Method::GET, "/api/v1/invitations", Authenticated, None),
        e(
            Method::GET,
            "/api/v1/invitations/{invitation_id}",
            Role("viewer"),
            None,
        ),
        e(
            Method::POST,
            "/api/v1/invitations/{invitation_id}/accept",
            Role("admin"),
            Some(json!({"org": {"name": "Acme", "org_id": "AcmeMSP"}})),
        ),
        e(
            Method::POST,
            "/api/v1/invitations/{invitation_id}/reject",
            Role("admin"),
            None,
        ),
        e(
            Method::GET,
            "/api/v1/alliances/{alliance_id}/cas",
            Role("viewer"),
            None,
        ),
        e(
            Method::GET,
            "/api/v1/alliances/{alliance_id}/certificates",
            Role("viewer"),
            None,
        ),
        e(Method::GET, "/api/v1/cas/{ca_id}", Role("viewer"), None),
        e(Method::GET, "/api/v1/cas/{ca_id}/crl", Public, None),
        e(
            Method::POST,
            "/api/v1/cas/{ca_id}/certificates",
            Role("admin"),
            Some(
                json!({"common_name": "peer9", "profile": "peer", "validity_days": 30, "sans": ["peer9.acme.example"]}),
            ),
        ),
        e(
            Method::GET,
            "/api/v1/cas/{ca_id}/certificates",
            Role("viewer"),
            None,
        ),
        e(
            Method::GET,
            "/api/v1/certificates/{certificate_id}",
            Role("viewer"),
            None,
        ),
        e(
            Method::GET,
            "/api/v1/certificates/{certificate_id}/msp",
            Role("viewer"),
            None,
        ),
        e(
            Method::POST,
            "/api/v1/certificates/{certificate_id}/revoke",
            Role("admin"),
            Some(json!({"reason": "superseded"})),
        ),
        e(
            Method::POST,
            "/api/v1/certificates/{certificate_id}/renew",
            Role("admin"),
            Some(json!({"rekey": false})),
        ),
        e(Method::GET, "/auth/config", Public, None),
        e(Method::GET, "/auth/login", SignIn, None),
        e(Method::GET, "/auth/callback", SignIn, None),
        e(Method::GET, "/auth/session", SignIn, None),
        e(Method::POST, "/auth/logout", SignIn, None),
        e(Method::POST, "/auth/token", SignIn, None),
        e(Method::GET, "/api/v1/sessions", Authenticated, None),
        e(
            Method::DELETE,
            "/api/v1/sessions/{session_id}",
            Authenticated,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/tenants/{tenant_id}/invites",
            Role("admin"),
            Some(json!({"role": "viewer"})),
        ),
        e(
            Method::GET,
            "/api/v1/tenants/{tenant_id}/invites",
            Role("admin"),
            None,
        ),
        e(
            Method::DELETE,
            "/api/v1/tenants/{tenant_id}/invites/{invite_id}",
            Role("admin"),
            None,
        ),
        // The package body is gzip, not JSON: its bad bodies are tested in marketplace.rs.
        e(
            Method::POST,
            "/api/v1/tenants/{tenant_id}/templates",
            Role("developer"),
            None,
        ),
        e(
            Method::GET,
            "/api/v1/tenants/{tenant_id}/templates",
            Role("viewer"),
            None,
        ),
        e(
            Method::POST,
            "/api/v1/templates/{template_id}/versions/{version}/submit",
            Authenticated,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/templates/{template_id}/versions/{version}/review",
            PlatformAdmin,
            Some(json!({"decision": "approve"})),
        ),
        e(
            Method::POST,
            "/api/v1/templates/{template_id}/versions/{version}/deprecate",
            Authenticated,
            Some(json!({"reason": "old"})),
        ),
        e(
            Method::GET,
            "/api/v1/templates/{template_id}/versions/{version}/package",
            Authenticated,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/templates/{template_id}/history",
            Authenticated,
            None,
        ),
        e(Method::GET, "/api/v1/template-reviews", PlatformAdmin, None),
        e(Method::GET, "/api/v1/catalog", Authenticated, None),
        e(Method::GET, "/api/v1/catalog/{slug}", Authenticated, None),
        e(
            Method::POST,
            "/api/v1/catalog/{slug}/parameters/check",
            Authenticated,
            Some(json!({"parameters": {}})),
        ),
    ]
}

#[test]
fn every_registered_route_is_in_the_security_table() {
    let mut r = Routes::recording();
    register(&mut r);
    let table: Vec<(Method, &str)> = endpoints()
        .iter()
        .map(|e| (e.method.clone(), e.template))
        .collect();
    for (m, p) in &r.seen {
        assert!(
            table.iter().any(|(tm, tp)| tm == m && tp == p),
            "{m} {p} has no security tests: add it to endpoints()"
        );
    }
    assert_eq!(
        table.len(),
        r.seen.len(),
        "the table names a route that is not registered"
    );
}

/// Tenant A with a member of every role, a service account token, and tenant B elsewhere.
struct Fixture {
    tenant: String,
    alliance: String,
    ca: String,
    certificate: String,
    proposal: String,
    invitation: String,
    dev_id: String,
    token_id: String,
    tokens: std::collections::HashMap<&'static str, String>,
    outsider: String,
    revoked: String,
    expired: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let (tenant, owner) = app.tenant_with_owner("acme").await;
    let (_, admin) = app.member(&tenant, "admin@acme.example", "admin").await;
    let (dev_id, dev) = app.member(&tenant, "dev@acme.example", "developer").await;
    let (_, viewer) = app.member(&tenant, "viewer@acme.example", "viewer").await;
    let (_, outsider) = app.tenant_with_owner("globex").await;
    let svc = app
        .post(
            &format!("/api/v1/tenants/{tenant}/members"),
            &owner,
            json!({"kind": "service", "display_name": "bot", "role": "viewer"}),
        )
        .await;
    let svc_id = svc.body["user"]["id"].as_str().unwrap().to_string();
    let tok = app
        .post(
            &format!("/api/v1/tenants/{tenant}/tokens"),
            &owner,
            json!({"name": "bot", "user_id": svc_id}),
        )
        .await;
    let token_id = tok.body["id"].as_str().unwrap().to_string();
    let r = app
        .post("/api/v1/tokens", &viewer, json!({"name": "gone"}))
        .await;
    let revoked = r.body["secret"].as_str().unwrap().to_string();
    app.call(
        Method::DELETE,
        &format!("/api/v1/tokens/{}", r.body["id"].as_str().unwrap()),
        Some(&viewer),
        None,
    )
    .await;
    let soon = app.state.clock.now() + chrono::Duration::milliseconds(1500);
    let expired = app
        .post(
            "/api/v1/tokens",
            &owner,
            json!({"name": "brief", "expires_at": soon}),
        )
        .await
        .body["secret"]
        .as_str()
        .unwrap()
        .to_string();
    // An alliance of A's with an open proposal (two members, so one vote does not decide),
    // and an invitation of A into another tenant's alliance.
    let (umbrella, umbrella_owner) = app.tenant_with_owner("umbrella").await;
    let (partner, partner_owner) = app.tenant_with_owner("partner").await;
    let alliance = crate::alliances::found(app, &owner, &tenant, "AcmeMSP").await;
    crate::alliances::join(
        app,
        &alliance,
        (&owner, &tenant),
        (&partner_owner, &partner),
        "PartnerMSP",
    )
    .await;
    let proposal = crate::alliances::propose(
        app,
        &owner,
        &tenant,
        &alliance,
        json!({"invite_member": {"tenant_id": umbrella}}),
    )
    .await;
    let other = crate::alliances::found(app, &umbrella_owner, &umbrella, "UmbrellaMSP").await;
    let p = crate::alliances::propose(
        app,
        &umbrella_owner,
        &umbrella,
        &other,
        json!({"invite_member": {"tenant_id": tenant}}),
    )
    .await;
    crate::alliances::vote(app, &umbrella_owner, &umbrella, &other, &p, "yes", 201).await;
    let invitation = crate::alliances::invitation_for(app, &owner, &tenant).await;
    let (ca, certificate) = crate::pki::org_ca_and_cert(app, &owner, &tenant, &alliance).await;
    app.clock.advance(chrono::Duration::milliseconds(1600));
    let tokens = [
        ("owner", owner),
        ("admin", admin),
        ("developer", dev),
        ("viewer", viewer),
    ]
    .into_iter()
    .collect();
    Fixture {
        tenant,
        alliance,
        ca,
        certificate,
        proposal,
        invitation,
        dev_id,
        token_id,
        tokens,
        outsider,
        revoked,
        expired,
    }
}

fn url(e: &Endpoint, f: &Fixture) -> String {
    let path = e
        .template
        .replace("{tenant_id}", &f.tenant)
        .replace("{user_id}", &f.dev_id)
        .replace("{token_id}", &f.token_id)
        .replace("{alliance_id}", &f.alliance)
        .replace("{proposal_id}", &f.proposal)
        .replace("{invitation_id}", &f.invitation)
        .replace("{ca_id}", &f.ca)
        .replace("{certificate_id}", &f.certificate)
        .replace("{session_id}", "0190a000-0000-7000-8000-000000000001")
        .replace("{invite_id}", "0190a000-0000-7000-8000-000000000002")
        .replace("{template_id}", "0190a000-0000-7000-8000-000000000003")
        .replace("{version}", "1.0.0")
        .replace("{slug}", "evidence-deposit")
        .replace("{chain_id}", "0190a000-0000-7000-8000-000000000004")
        .replace("{deposit_id}", "0190a000-0000-7000-8000-000000000005");
    // Lists across a caller's tenants name the tenant in the query.
    let by_query = [
        "/api/v1/audit-events",
        "/api/v1/chains",
        "/api/v1/deposits",
        "/api/v1/events",
    ];
    if by_query.contains(&e.template)
        || (e.method == Method::DELETE && e.template.ends_with("/chains/{chain_id}"))
    {
        format!("{path}?tenant_id={}", f.tenant)
    } else {
        path
    }
}

/// The body with `{tenant_id}` placeholders filled in.
fn with_ids(b: &Value, f: &Fixture) -> Value {
    serde_json::from_str(&b.to_string().replace("{tenant_id}", &f.tenant)).unwrap()
}

fn assert_problem(r: &crate::support::Resp, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{what}"
    );
    assert!(
        r.body["type"]
            .as_str()
            .unwrap()
            .starts_with("https://consortia.dev/problems/"),
        "{what}"
    );
    assert!(!r.body["detail"].as_str().unwrap().is_empty(), "{what}");
    assert!(r.body["request_id"].is_string(), "{what}");
}

/// Sends a request that must be refused; asserts the problem, that no table but the audit
/// log changed, and that a mutating request left exactly one audit event.
async fn refused(
    app: &TestApp,
    mutating: bool,
    req: TestRequest,
    token: Option<&str>,
    status: u16,
    what: &str,
) {
    let before = app.snapshot().await;
    let audit_before = app.audit_count().await;
    let r = app.send(req, token).await;
    assert_problem(&r, status, what);
    assert_eq!(
        app.snapshot().await,
        before,
        "{what}: a refused request changed the database"
    );
    let expected = audit_before + usize::from(mutating);
    assert_eq!(
        app.audit_count().await,
        expected,
        "{what}: one audit event per mutating request"
    );
}

fn request(e: &Endpoint, f: &Fixture) -> TestRequest {
    let req = TestRequest::default()
        .method(e.method.clone())
        .uri(&url(e, f));
    match &e.body {
        Some(b) => req.set_json(with_ids(b, f)),
        None => req,
    }
}

crate::both!(
    bad_callers_are_refused_on_every_endpoint,
    bad_bodies_are_refused_on_every_endpoint,
    extreme_numbers_never_cause_a_server_error,
    unauthenticated_requests_write_a_bounded_audit_log
);

async fn bad_callers_are_refused_on_every_endpoint(app: &TestApp) {
    let f = fixture(app).await;
    for e in endpoints() {
        let what = format!("{} {}", e.method, e.template);
        let mutating = e.method != Method::GET;
        if e.need == Need::Public {
            assert_eq!(app.send(request(&e, &f), None).await.status, 200, "{what}");
            continue;
        }
        if e.need == Need::SignIn {
            continue;
        }
        refused(
            app,
            mutating,
            request(&e, &f),
            None,
            401,
            &format!("{what} without a token"),
        )
        .await;
        refused(
            app,
            mutating,
            request(&e, &f),
            Some("cst_not-a-token"),
            401,
            &format!("{what} with garbage"),
        )
        .await;
        refused(
            app,
            mutating,
            request(&e, &f),
            Some(&f.revoked),
            401,
            &format!("{what} with a revoked token"),
        )
        .await;
        refused(
            app,
            mutating,
            request(&e, &f),
            Some(&f.expired),
            401,
            &format!("{what} with an expired token"),
        )
        .await;
        match e.need {
            Need::PlatformAdmin => {
                refused(
                    app,
                    mutating,
                    request(&e, &f),
                    Some(&f.tokens["owner"]),
                    403,
                    &format!("{what} as a tenant owner"),
                )
                .await;
            }
            Need::Role(min) => {
                refused(
                    app,
                    mutating,
                    request(&e, &f),
                    Some(&f.outsider),
                    404,
                    &format!("{what} from another tenant"),
                )
                .await;
                let order = ["viewer", "developer", "admin", "owner"];
                let idx = order.iter().position(|r| *r == min).unwrap();
                if idx > 0 {
                    let below = order[idx - 1];
                    refused(
                        app,
                        mutating,
                        request(&e, &f),
                        Some(&f.tokens[below]),
                        403,
                        &format!("{what} as {below}"),
                    )
                    .await;
                }
            }
            _ => {}
        }
    }
    // Ids of other tenants' things answer 404 even where the path tenant is the caller's own.
    let own_path_foreign_token = format!("/api/v1/tokens/{}", f.token_id);
    refused(
        app,
        true,
        TestRequest::delete().uri(&own_path_foreign_token),
        Some(&f.outsider),
        404,
        "revoking another user's token",
    )
    .await;
    let foreign_scope = TestRequest::post()
        .uri("/api/v1/tokens")
        .set_json(json!({"name": "x", "tenant_id": f.tenant}));
    refused(
        app,
        true,
        foreign_scope,
        Some(&f.outsider),
        404,
        "scoping a token to another tenant",
    )
    .await;
    refused(
        app,
        false,
        TestRequest::get().uri("/api/v1/tenants/not-a-uuid"),
        Some(&f.tokens["owner"]),
        400,
        "malformed id",
    )
    .await;
    refused(
        app,
        false,
        TestRequest::get().uri("/api/v1/nowhere"),
        Some(&f.tokens["owner"]),
        404,
        "unknown route",
    )
    .await;
}

async fn bad_bodies_are_refused_on_every_endpoint(app: &TestApp) {
    let f = fixture(app).await;
    let admin = app.admin_token.clone();
    for e in endpoints().into_iter().filter(|e| e.body.is_some()) {
        let what = format!("{} {}", e.method, e.template);
        let base = || {
            TestRequest::default()
                .method(e.method.clone())
                .uri(&url(&e, &f))
        };
        let raw = |body: &str| {
            base()
                .insert_header(("content-type", "application/json"))
                .set_payload(body.to_owned())
        };
        refused(
            app,
            true,
            raw("{\"name\": "),
            Some(&admin),
            400,
            &format!("{what}: malformed JSON"),
        )
        .await;
        refused(
            app,
            true,
            raw("[1,2,3]"),
            Some(&admin),
            400,
            &format!("{what}: wrong JSON type"),
        )
        .await;
        let mut unknown = with_ids(e.body.as_ref().unwrap(), &f);
        unknown["surprise"] = json!(true);
        refused(
            app,
            true,
            base().set_json(unknown),
            Some(&admin),
            400,
            &format!("{what}: unknown field"),
        )
        .await;
        let mut wrong = with_ids(e.body.as_ref().unwrap(), &f);
        let first = wrong.as_object().unwrap().keys().next().unwrap().clone();
        wrong[first.as_str()] = json!(12345);
        refused(
            app,
            true,
            base().set_json(wrong),
            Some(&admin),
            400,
            &format!("{what}: wrong field type"),
        )
        .await;
        let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(1024 * 1024 + 10));
        refused(
            app,
            true,
            raw(&huge),
            Some(&admin),
            413,
            &format!("{what}: oversized body"),
        )
        .await;
        let text = base()
            .insert_header(("content-type", "text/plain"))
            .set_payload("name=x");
        refused(
            app,
            true,
            text,
            Some(&admin),
            415,
            &format!("{what}: not JSON"),
        )
        .await;
    }
    // Unknown enum values and bad field values are refused clearly.
    let bad_kind = TestRequest::post()
        .uri("/api/v1/tenants")
        .set_json(json!({"slug": "abc", "name": "A", "kind": "vendor"}));
    refused(
        app,
        true,
        bad_kind,
        Some(&admin),
        400,
        "unknown tenant kind",
    )
    .await;
    let bad_role = TestRequest::post()
        .uri(&format!("/api/v1/tenants/{}/members", f.tenant))
        .set_json(json!({"email": "a@b.io", "display_name": "A", "role": "root"}));
    refused(app, true, bad_role, Some(&admin), 400, "unknown role").await;
    let bad_slug = TestRequest::post()
        .uri("/api/v1/tenants")
        .set_json(json!({"slug": "Bad Slug", "name": "A", "kind": "customer"}));
    refused(app, true, bad_slug, Some(&admin), 422, "bad slug").await;
}

/// The schema a `$ref` names, or the schema itself.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

fn is_number(schema: &Value) -> bool {
    let kind = |t: &Value| t == "integer" || t == "number";
    match &schema["type"] {
        Value::Array(types) => types.iter().any(kind),
        t => kind(t),
    }
}

/// JSON pointers of every numeric field a schema allows, nested objects and `oneOf`
/// variants included (depth-bounded).
fn numeric_fields(doc: &Value, schema: &Value, at: &str, depth: usize, out: &mut Vec<String>) {
    if depth > 6 {
        return;
    }
    let schema = resolve(doc, schema);
    for key in ["oneOf", "anyOf", "allOf"] {
        for s in schema[key].as_array().into_iter().flatten() {
            numeric_fields(doc, s, at, depth + 1, out);
        }
    }
    if let Some(props) = schema["properties"].as_object() {
        for (name, s) in props {
            let here = format!("{at}/{name}");
            if is_number(resolve(doc, s)) {
                out.push(here);
            } else {
                numeric_fields(doc, s, &here, depth + 1, out);
            }
        }
    }
}

/// Sets the value at a JSON pointer, making the objects on the way.
fn set_at(body: &mut Value, pointer: &str, value: Value) {
    let mut at = body;
    let mut parts = pointer.split('/').skip(1).peekable();
    while let Some(part) = parts.next() {
        if !at.is_object() {
            *at = json!({});
        }
        let map = at.as_object_mut().unwrap();
        if parts.peek().is_none() {
            map.insert(part.to_string(), value);
            return;
        }
        at = map.entry(part.to_string()).or_insert_with(|| json!({}));
    }
}

/// Every numeric field of every request body and query string the OpenAPI document
/// declares gets the extremes (zero, negatives, the edges of every integer width, huge
/// floats): the answer is never a 5xx and the server never panics.
async fn extreme_numbers_never_cause_a_server_error(app: &TestApp) {
    let f = fixture(app).await;
    let doc = serde_json::to_value(consortia_api::http::openapi::document()).unwrap();
    let extremes = [
        json!(0),
        json!(-1),
        json!(u32::MAX),
        json!(u64::from(u32::MAX) + 1),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1e300),
        json!(0.5),
    ];
    let mut tried = 0;
    for e in endpoints() {
        if e.need == Need::SignIn || e.need == Need::Public {
            continue;
        }
        let token = match e.need {
            Need::PlatformAdmin => app.admin_token.clone(),
            _ => f.tokens["owner"].clone(),
        };
        let op = &doc["paths"][e.template][e.method.as_str().to_lowercase()];
        let what = format!("{} {}", e.method, e.template);
        if let Some(b) = &e.body {
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            let mut fields = Vec::new();
            numeric_fields(&doc, schema, "", 0, &mut fields);
            for field in fields {
                for x in &extremes {
                    let mut body = with_ids(b, &f);
                    set_at(&mut body, &field, x.clone());
                    let req = TestRequest::default()
                        .method(e.method.clone())
                        .uri(&url(&e, &f))
                        .set_json(&body);
                    let r = app.send(req, Some(&token)).await;
                    assert!(r.status < 500, "{what} with {field} = {x}: {}", r.body);
                    tried += 1;
                }
            }
        }
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["in"] != "query" || !is_number(resolve(&doc, &p["schema"])) {
                continue;
            }
            let name = p["name"].as_str().unwrap();
            for x in &extremes {
                let base = url(&e, &f);
                let sep = if base.contains('?') { '&' } else { '?' };
                let req = TestRequest::default()
                    .method(e.method.clone())
                    .uri(&format!("{base}{sep}{name}={x}"));
                let req = match &e.body {
                    Some(b) => req.set_json(with_ids(b, &f)),
                    None => req,
                };
                let r = app.send(req, Some(&token)).await;
                assert!(r.status < 500, "{what} with ?{name}={x}: {}", r.body);
                tried += 1;
            }
        }
    }
    assert!(
        tried > 50,
        "only {tried} numeric inputs found: is the document read right?"
    );
}

/// Anyone can send unauthenticated requests, so their audit events have a budget (a burst,
/// then a steady rate); past it they are counted in a metric, not written. A signed-in
/// caller's events are never dropped.
async fn unauthenticated_requests_write_a_bounded_audit_log(app: &TestApp) {
    use consortia_api::service::audit::ANONYMOUS_BURST;
    let anonymous = || {
        TestRequest::post()
            .uri("/api/v1/tenants")
            .set_json(json!({"slug": "x-co", "name": "X", "kind": "customer"}))
    };
    let before = app.audit_count().await;
    for _ in 0..ANONYMOUS_BURST + 50 {
        assert_eq!(app.send(anonymous(), None).await.status, 401);
    }
    assert_eq!(
        app.audit_count().await,
        before + ANONYMOUS_BURST as usize,
        "written up to the burst, no more"
    );
    assert!(
        app.state
            .metrics
            .encode()
            .contains("consortia_api_audit_anonymous_dropped_total 50")
    );
    // The budget refills with time.
    app.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(app.send(anonymous(), None).await.status, 401);
    assert_eq!(
        app.audit_count().await,
        before + ANONYMOUS_BURST as usize + 1
    );
    // A signed-in caller's refused request is always recorded.
    let (tenant, _) = app.tenant_with_owner("acme").await;
    let (_, viewer) = app.member(&tenant, "v@acme.example", "viewer").await;
    let n = app.audit_count().await;
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tenants/{tenant}"),
            Some(&viewer),
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(app.audit_count().await, n + 1);
}
