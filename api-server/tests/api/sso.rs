//! Single sign-on against a real OpenID Connect provider: the npm `oidc-provider` package run
//! by `api-server/tests/oidc/provider.mjs` on 127.0.0.1 (installed by the test command).

use crate::support::{Backend, Resp, TestApp};
use actix_web::test::TestRequest;
use consortia_api::oidc::{Oidc, OidcSettings, parse_group_map};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PUBLIC: &str = "https://baas.example.test";
const CALLBACK: &str = "https://baas.example.test/auth/callback";
const CLIENT_SECRET: &str = "s3cret-of-consortia-client";

/// The identity provider process (killed on drop; it also exits when its stdin closes).
pub struct Idp {
    child: Child,
    pub issuer: String,
    http: reqwest::Client,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Idp {
    pub fn start() -> Idp {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "the test identity provider is not installed: run `npm ci` in {} (scripts/test does)",
            dir.display()
        );
        let clients = json!([{
            "client_id": "consortia",
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [CALLBACK],
            "post_logout_redirect_uris": [format!("{PUBLIC}/")],
            "grant_types": ["authorization_code", "client_credentials"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic"
        }, {
            "client_id": "another-app",
            "client_secret": "another-secret",
            "redirect_uris": ["https://another.example.test/cb"],
            "grant_types": ["authorization_code", "client_credentials"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic"
        }]);
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .env("OIDC_PORT", "0")
            .env("OIDC_CLIENTS", clients.to_string())
            .env("OIDC_API_AUDIENCE", "consortia-api")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node must be installed to run the identity provider");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("provider did not start: {e}: {line:?}"));
        Idp {
            child,
            issuer: v["issuer"].as_str().unwrap().to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/test/{path}", self.issuer))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "control {path}: {}", r.status());
        r.json().await.unwrap()
    }

    pub async fn stats(&self) -> Value {
        self.http
            .get(format!("{}/test/stats", self.issuer))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn account(&self, sub: &str, email: &str, groups: &[&str], verified: bool) {
        self.control(
            "accounts",
            json!({"sub": sub, "email": email, "name": sub.to_uppercase(), "groups": groups, "email_verified": verified}),
        )
        .await;
    }

    pub async fn mint(&self, claims: Value, key: &str, ttl: i64) -> String {
        self.control("mint", json!({"claims": claims, "key": key, "ttl": ttl}))
            .await["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn settings(&self, group_map: &str) -> OidcSettings {
        OidcSettings {
            issuer: self.issuer.clone(),
            client_id: "consortia".into(),
            client_secret: Some(CLIENT_SECRET.into()),
            redirect_url: CALLBACK.into(),
            scopes: vec![
                "openid".into(),
                "email".into(),
                "profile".into(),
                "groups".into(),
            ],
            claim_email: "email".into(),
            claim_name: "name".into(),
            claim_groups: "groups".into(),
            group_map: parse_group_map(group_map).unwrap(),
            api_audience: Some("consortia-api".into()),
            trust_unverified_email: false,
            jwks_min_refresh: Duration::ZERO,
        }
    }
}

/// A browser: cookies for the identity provider, and the cookies Consortia set.
#[derive(Default)]
pub struct Browser {
    idp_cookies: HashMap<String, String>,
    pub app_cookies: HashMap<String, String>,
}

fn set_cookies(headers: impl Iterator<Item = String>, jar: &mut HashMap<String, String>) {
    for h in headers {
        let pair = h.split(';').next().unwrap_or_default();
        if let Some((k, v)) = pair.split_once('=') {
            jar.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
}

fn cookie_header(jar: &HashMap<String, String>) -> String {
    jar.iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn app_set_cookies(r: &Resp) -> Vec<String> {
    r.headers
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

impl Browser {
    /// GET on Consortia with this browser's cookies.
    pub async fn app(
        &mut self,
        app: &TestApp,
        method: actix_web::http::Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Resp {
        let mut req = TestRequest::default().method(method).uri(uri);
        let c = cookie_header(&self.app_cookies);
        if !c.is_empty() {
            req = req.insert_header(("Cookie", c));
        }
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        if let Some(b) = body {
            req = req.set_json(b);
        }
        let r = app.send(req, None).await;
        set_cookies(app_set_cookies(&r).into_iter(), &mut self.app_cookies);
        r
    }

    /// Follows the identity provider's redirects until it sends the browser back to Consortia.
    pub async fn through_idp(&mut self, idp: &Idp, mut url: String) -> String {
        for _ in 0..12 {
            if url.starts_with(PUBLIC) {
                return url;
            }
            let mut req = idp.http.get(&url);
            let c = cookie_header(&self.idp_cookies);
            if !c.is_empty() {
                req = req.header("Cookie", c);
            }
            let r = req.send().await.unwrap();
            set_cookies(
                r.headers()
                    .get_all("set-cookie")
                    .iter()
                    .map(|v| v.to_str().unwrap().to_string()),
                &mut self.idp_cookies,
            );
            let status = r.status().as_u16();
            let next = r
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string());
            match next {
                Some(n) => url = n,
                None => panic!(
                    "identity provider stopped at {url}: {status} {}",
                    r.text().await.unwrap()
                ),
            }
        }
        panic!("too many redirects");
    }

    /// `/auth/login` up to the provider's redirect back: the callback URI (path and query).
    pub async fn start_login(&mut self, app: &TestApp, idp: &Idp, query: &str) -> String {
        let r = self
            .app(
                app,
                actix_web::http::Method::GET,
                &format!("/auth/login{query}"),
                &[],
                None,
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let to = r.header("location").unwrap().to_string();
        assert!(to.starts_with(&idp.issuer), "{to}");
        for p in [
            "code_challenge_method=S256",
            "state=",
            "nonce=",
            "code_challenge=",
        ] {
            assert!(to.contains(p), "{to} lacks {p}");
        }
        let back = self.through_idp(idp, to).await;
        back.strip_prefix(PUBLIC).unwrap().to_string()
    }

    /// A whole login; the callback's response.
    pub async fn login(&mut self, app: &TestApp, idp: &Idp, query: &str) -> Resp {
        let cb = self.start_login(app, idp, query).await;
        self.app(app, actix_web::http::Method::GET, &cb, &[], None)
            .await
    }

    pub async fn csrf(&mut self, app: &TestApp) -> String {
        let r = self
            .app(
                app,
                actix_web::http::Method::GET,
                "/auth/session",
                &[],
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["csrf_token"].as_str().unwrap().to_string()
    }
}

fn query_param(uri: &str, name: &str) -> Option<String> {
    let q = uri.split_once('?')?.1;
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

async fn setup(backend: Backend, group_map: &str) -> (TestApp, Idp) {
    let idp = Idp::start();
    let mut app = TestApp::new(backend).await;
    app.state
        .set_sso(Some(Arc::new(Oidc::new(idp.settings(group_map)).unwrap())));
    (app, idp)
}

async fn invite(app: &TestApp, tenant: &str, token: &str, body: Value) -> Resp {
    app.post(&format!("/api/v1/tenants/{tenant}/invites"), token, body)
        .await
}

use actix_web::http::Method;

async fn end_to_end(backend: Backend) {
    let (app, idp) = setup(backend, "").await;
    let (tenant, owner) = app.tenant_with_owner("acme").await;
    let inv = invite(&app, &tenant, &owner, json!({"role": "developer"})).await;
    assert_eq!(inv.status, 201, "{}", inv.body);
    let token = inv.body["token"].as_str().unwrap().to_string();
    assert!(
        inv.body["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/auth/login?invite={token}"))
    );
    // The token is shown once.
    let list = app
        .get(&format!("/api/v1/tenants/{tenant}/invites"), &owner)
        .await;
    assert_eq!(list.body["items"][0]["status"], "pending");
    assert!(list.body["items"][0].get("token").is_none());

    idp.account("bob", "bob@corp.example", &["ops"], true).await;
    idp.control("next-login", json!({"sub": "bob"})).await;
    let mut bob = Browser::default();
    let r = bob
        .login(&app, &idp, &format!("?invite={token}&return_to=/chains"))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/chains"));
    let set = app_set_cookies(&r).join("\n");
    let session_line = set
        .lines()
        .find(|l| l.starts_with("consortia_session="))
        .unwrap();
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(session_line.contains(attr), "{session_line} lacks {attr}");
    }
    // The cookie holds only an opaque random value.
    let secret = bob.app_cookies["consortia_session"].clone();
    assert_eq!(secret.len(), 43);
    assert!(!secret.contains('.'));

    let me = bob.app(&app, Method::GET, "/api/v1/me", &[], None).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["auth"], "session");
    assert_eq!(me.body["user"]["email"], "bob@corp.example");
    assert_eq!(me.body["user"]["display_name"], "BOB");
    assert_eq!(me.body["memberships"][0]["role"], "developer");
    let bob_id = me.body["user"]["id"].as_str().unwrap().to_string();

    // State-changing requests with the cookie need the CSRF token.
    let body = json!({"name": "ci"});
    let no = bob
        .app(
            &app,
            Method::POST,
            "/api/v1/tokens",
            &[],
            Some(body.clone()),
        )
        .await;
    assert_eq!(no.status, 403, "{}", no.body);
    assert!(no.body["detail"].as_str().unwrap().contains("X-CSRF-Token"));
    let wrong = bob
        .app(
            &app,
            Method::POST,
            "/api/v1/tokens",
            &[("X-CSRF-Token", "00ff")],
            Some(body.clone()),
        )
        .await;
    assert_eq!(wrong.status, 403);
    let csrf = bob.csrf(&app).await;
    let ok = bob
        .app(
            &app,
            Method::POST,
            "/api/v1/tokens",
            &[("X-CSRF-Token", &csrf)],
            Some(body),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.body);

    // The invitation is single-use.
    let used = Browser::default()
        .app(
            &app,
            Method::GET,
            &format!("/auth/login?invite={token}"),
            &[],
            None,
        )
        .await;
    assert_eq!(used.status, 400, "{}", used.body);
    assert!(used.body["detail"].as_str().unwrap().contains("invitation"));
    let list = app
        .get(&format!("/api/v1/tenants/{tenant}/invites"), &owner)
        .await;
    assert_eq!(list.body["items"][0]["status"], "used");

    // Bob signs in again from another browser: found by (issuer, subject), same user.
    idp.control("next-login", json!({"sub": "bob"})).await;
    let mut bob2 = Browser::default();
    let r = bob2.login(&app, &idp, "").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/"));
    let me2 = bob2.app(&app, Method::GET, "/api/v1/me", &[], None).await;
    assert_eq!(me2.body["user"]["id"].as_str().unwrap(), bob_id);

    // Sessions: listed, and one revoked from the other.
    let list = bob
        .app(&app, Method::GET, "/api/v1/sessions", &[], None)
        .await;
    assert_eq!(list.status, 200);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    // A page at a time, newest first.
    let one = bob
        .app(&app, Method::GET, "/api/v1/sessions?limit=1", &[], None)
        .await;
    assert_eq!(
        one.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        one.body
    );
    assert_eq!(one.body["items"][0]["id"], items[0]["id"]);
    let cursor = one.body["next_cursor"].as_str().unwrap();
    let two = bob
        .app(
            &app,
            Method::GET,
            &format!("/api/v1/sessions?limit=1&cursor={cursor}"),
            &[],
            None,
        )
        .await;
    assert_eq!(two.body["items"][0]["id"], items[1]["id"], "{}", two.body);
    assert!(two.body["next_cursor"].is_null(), "{}", two.body);
    let other = items.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Someone else cannot end it (404), Bob can.
    let stranger = app
        .call(
            Method::DELETE,
            &format!("/api/v1/sessions/{other}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(stranger.status, 404);
    let del = bob
        .app(
            &app,
            Method::DELETE,
            &format!("/api/v1/sessions/{other}"),
            &[("X-CSRF-Token", &csrf)],
            None,
        )
        .await;
    assert_eq!(del.status, 204, "{}", del.body);
    let gone = bob2.app(&app, Method::GET, "/api/v1/me", &[], None).await;
    assert_eq!(gone.status, 401);

    // Logout: needs the CSRF token; ends the session; names the provider's end-session URL.
    let no = bob.app(&app, Method::POST, "/auth/logout", &[], None).await;
    assert_eq!(no.status, 403);
    let out = bob
        .app(
            &app,
            Method::POST,
            "/auth/logout",
            &[("X-CSRF-Token", &csrf)],
            None,
        )
        .await;
    assert_eq!(out.status, 200, "{}", out.body);
    let end = out.body["end_session_url"].as_str().unwrap().to_string();
    assert!(
        end.starts_with(&format!("{}/session/end?", idp.issuer)),
        "{end}"
    );
    assert!(end.contains("id_token_hint="));
    let back = bob.through_idp(&idp, end).await;
    assert_eq!(back, format!("{PUBLIC}/"));
    assert_eq!(bob.app_cookies["consortia_session"], "");
    bob.app_cookies.insert("consortia_session".into(), secret);
    let after = bob.app(&app, Method::GET, "/api/v1/me", &[], None).await;
    assert_eq!(after.status, 401);
}

#[actix_web::test]
async fn login_end_to_end_sqlite() {
    end_to_end(Backend::Sqlite).await;
}

#[actix_web::test]
async fn login_end_to_end_postgres() {
    if std::env::var("DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        end_to_end(Backend::Postgres).await;
    }
}

#[actix_web::test]
async fn a_stranger_is_told_they_belong_nowhere_and_nothing_is_stored() {
    let (app, idp) = setup(Backend::Sqlite, "").await;
    app.tenant_with_owner("acme").await;
    let before = app.snapshot().await;
    idp.account("carol", "carol@corp.example", &[], true).await;
    idp.control("next-login", json!({"sub": "carol"})).await;
    let mut b = Browser::default();
    let r = b.login(&app, &idp, "").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("not a member of any tenant")
    );
    assert!(!b.app_cookies.contains_key("consortia_session"));
    assert_eq!(app.snapshot().await, before);
}

#[actix_web::test]
async fn group_mapping_and_verified_email_linking() {
    let (app, idp) = setup(
        Backend::Sqlite,
        "platform-ops=acme:admin, auditors=acme:viewer",
    )
    .await;
    let (tenant, _) = app.tenant_with_owner("acme").await;
    // A group member gets the mapped role.
    idp.account(
        "erin",
        "erin@corp.example",
        &["platform-ops", "other"],
        true,
    )
    .await;
    idp.control("next-login", json!({"sub": "erin"})).await;
    let mut erin = Browser::default();
    assert_eq!(erin.login(&app, &idp, "").await.status, 303);
    let me = erin.app(&app, Method::GET, "/api/v1/me", &[], None).await;
    assert_eq!(
        me.body["memberships"][0]["tenant"]["id"].as_str().unwrap(),
        tenant
    );
    assert_eq!(me.body["memberships"][0]["role"], "admin");

    // A member added by e-mail is linked when the provider says the e-mail is verified...
    let (dave_id, _) = app.member(&tenant, "dave@corp.example", "viewer").await;
    idp.account("dave-sub", "dave@corp.example", &[], true)
        .await;
    idp.control("next-login", json!({"sub": "dave-sub"})).await;
    let mut dave = Browser::default();
    assert_eq!(dave.login(&app, &idp, "").await.status, 303);
    let me = dave.app(&app, Method::GET, "/api/v1/me", &[], None).await;
    assert_eq!(me.body["user"]["id"].as_str().unwrap(), dave_id);

    // A second subject with Dave's verified address is not linked onto Dave's account, which
    // already has an identity at this provider (a recycled mailbox).
    idp.account("dave-new-sub", "dave@corp.example", &[], true)
        .await;
    idp.control("next-login", json!({"sub": "dave-new-sub"}))
        .await;
    let r = Browser::default().login(&app, &idp, "").await;
    assert_eq!(r.status, 403, "{}", r.body);

    // ...and not when it is unverified (no account takeover through an unverified address).
    app.member(&tenant, "frank@corp.example", "viewer").await;
    idp.account("frank-sub", "frank@corp.example", &[], false)
        .await;
    idp.control("next-login", json!({"sub": "frank-sub"})).await;
    let r = Browser::default().login(&app, &idp, "").await;
    assert_eq!(r.status, 403, "{}", r.body);
}

/// Each refused callback: a clear 4xx, no session, nothing stored.
async fn refused(app: &TestApp, b: &mut Browser, cb: &str, status: u16, needle: &str) {
    let before = app.snapshot().await;
    let r = b.app(app, Method::GET, cb, &[], None).await;
    assert_eq!(r.status, status, "{cb}: {}", r.body);
    let detail = r.body["detail"].as_str().unwrap().to_lowercase();
    assert!(detail.contains(needle), "{detail:?} lacks {needle:?}");
    assert!(
        b.app_cookies
            .get("consortia_session")
            .is_none_or(|v| v.is_empty())
    );
    // The pending login was consumed (state is single-use); nothing else changed.
    let after = app.snapshot().await;
    // Line 16 of the snapshot is `login_requests`.
    let strip = |s: &str| {
        s.lines()
            .enumerate()
            .filter(|(i, _)| *i != 15)
            .map(|(_, l)| l)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&after), strip(&before));
}

#[actix_web::test]
async fn tampered_or_missing_state_is_refused() {
    let (app, idp) = setup(Backend::Sqlite, "").await;
    let (tenant, owner) = app.tenant_with_owner("acme").await;
    app.member(&tenant, "alice@idp.example", "viewer").await;
    let _ = owner;
    let mut b = Browser::default();
    let cb = b.start_login(&app, &idp, "").await;
    let state = query_param(&cb, "state").unwrap();
    let code = query_param(&cb, "code").unwrap();
    let mut bad = state.clone();
    bad.replace_range(0..1, if bad.starts_with('A') { "B" } else { "A" });
    refused(
        &app,
        &mut b,
        &format!("/auth/callback?code={code}&state={bad}"),
        400,
        "state",
    )
    .await;
    refused(
        &app,
        &mut b,
        &format!("/auth/callback?code={code}"),
        400,
        "state",
    )
    .await;
    // The right state from a browser that did not start the login.
    let mut other = Browser::default();
    refused(&app, &mut other, &cb, 400, "browser").await;
    // That consumed the state: even the right browser cannot use it now.
    refused(&app, &mut b, &cb, 400, "state").await;
    // The provider's own refusal is passed on.
    refused(
        &app,
        &mut b,
        "/auth/callback?error=access_denied&error_description=nope",
        401,
        "access_denied",
    )
    .await;
}

/// Anyone can start a sign-in, and each is a row until its callback or expiry: past the
/// bound, new ones are refused (503) and write nothing; a finished one makes room.
#[actix_web::test]
async fn sign_ins_in_progress_are_bounded() {
    let (mut app, idp) = setup(Backend::Sqlite, "").await;
    let mut sessions = app.state.sessions;
    sessions.max_pending_logins = 3;
    app.state.set_sessions(sessions);
    let (tenant, _) = app.tenant_with_owner("acme").await;
    app.member(&tenant, "alice@idp.example", "viewer").await;
    let mut first = Browser::default();
    let cb = first.start_login(&app, &idp, "").await;
    for _ in 0..2 {
        let r = app.call(Method::GET, "/auth/login", None, None).await;
        assert_eq!(r.status, 303, "{}", r.body);
    }
    let snap = app.snapshot().await;
    let r = app.call(Method::GET, "/auth/login", None, None).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("sign-ins"));
    assert_eq!(
        app.snapshot().await,
        snap,
        "a refused sign-in stores nothing"
    );
    // The first browser finishes its sign-in: its row goes, and there is room again.
    let r = first.app(&app, Method::GET, &cb, &[], None).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = app.call(Method::GET, "/auth/login", None, None).await;
    assert_eq!(r.status, 303, "{}", r.body);
}

#[actix_web::test]
async fn a_reused_authorization_code_is_refused() {
    let (app, idp) = setup(Backend::Sqlite, "").await;
    let (tenant, _) = app.tenant_with_owner("acme").await;
    app.member(&tenant, "alice@idp.example", "viewer").await;
    let mut b = Browser::default();
    let cb = b.start_login(&app, &idp, "").await;
    let ok = b.app(&app, Method::GET, &cb, &[], None).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    // Replaying the callback: its state is spent.
    let mut b2 = Browser {
        app_cookies: b.app_cookies.clone(),
        ..Default::default()
    };
    b2.app_cookies.remove("consortia_session");
    refused(&app, &mut b2, &cb, 400, "state").await;
    // The spent code with a fresh, valid state: the provider refuses the code.
    let mut b3 = Browser::default();
    let fresh = b3.start_login(&app, &idp, "").await;
    let fresh_state = query_param(&fresh, "state").unwrap();
    let old_code = query_param(&cb, "code").unwrap();
    refused(
        &app,
        &mut b3,
        &format!("/auth/callback?code={old_code}&state={fresh_state}"),
        401,
        "invalid_grant",
    )
    .await;
}

async fn tampered_login(tamper: Value, needle: &str) {
    let (app, idp) = setup(Backend::Sqlite, "").await;
    let (tenant, _) = app.tenant_with_owner("acme").await;
    app.member(&tenant, "alice@idp.example", "viewer").await;
    let mut b = Browser::default();
    let cb = b.start_login(&app, &idp, "").await;
    idp.control("tamper", tamper).await;
    refused(&app, &mut b, &cb, 401, needle).await;
}

#[actix_web::test]
async fn a_wrong_nonce_is_refused() {
    tampered_login(json!({"claims": {"nonce": "not-the-one-we-sent"}}), "nonce").await;
}

#[actix_web::test]
async fn a_missing_nonce_is_refused() {
    tampered_login(json!({"remove": ["nonce"]}), "nonce").await;
}

#[actix_web::test]
async fn an_id_token_from_another_issuer_is_refused() {
    tampered_login(
        json!({"claims": {"iss": "http://127.0.0.1:1/evil"}}),
        "issuer",
    )
    .await;
}

#[actix_web::test]
async fn an_id_token_for_another_audience_is_refused() {
    tampered_login(json!({"claims": {"aud": "another-app"}}), "audience").await;
}

#[actix_web::test]
async fn an_expired_id_token_is_refused() {
    let past = chrono::Utc::now().timestamp() - 3600;
    tampered_login(
        json!({"claims": {"exp": past, "iat": past - 600}}),
        "expired",
    )
    .await;
}

#[actix_web::test]
async fn an_id_token_signed_by_an_unknown_key_is_refused() {
    let (app, idp) = setup(Backend::Sqlite, "").await;
    let (tenant, _) = app.tenant_with_owner("acme").await;
    app.member(&tenant, "alice@idp.example", "viewer").await;
    let mut b = Browser::default();
    let cb = b.start_login(&app, &idp, "").await;
    idp.control("tamper", json!({"key": "unknown"})).await;
    let jwks_before = idp.stats().await["jwks_requests"].as_u64().unwrap();
    refused(&app, &mut b, &cb, 401, "key").await;
    // An unknown key id makes Consortia fetch the JWKS again before refusing.
    assert_eq!(
        idp.stats().await["jwks_requests"].as_u64().unwrap(),
        jwks_before + 1
    );
}

#[actix_web::test]
async fn provider_access_tokens_are_accepted_as_bearer_tokens() {
    let (app, idp) = setup(Backend::Sqlite, "").await;
    let (tenant, _) = app.tenant_with_owner("acme").await;
    app.member(&tenant, "alice@idp.example", "developer").await;
    // Alice signs in once, which links her identity.
    let mut b = Browser::default();
    assert_eq!(b.login(&app, &idp, "").await.status, 303);

    let good = idp.mint(json!({"sub": "alice", "aud": "consortia-api", "scope": "api", "client_id": "consortia"}), "provider", 300).await;
    let me = app.get("/api/v1/me", &good).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["auth"], "provider_jwt");
    assert_eq!(me.body["user"]["email"], "alice@idp.example");
    // Bearer requests need no CSRF token.
    let t = app
        .post("/api/v1/tokens", &good, json!({"name": "from-jwt"}))
        .await;
    assert_eq!(t.status, 201, "{}", t.body);

    // A key rotated in after Consortia cached the JWKS: fetched again, accepted.
    let before = idp.stats().await["jwks_requests"].as_u64().unwrap();
    let rotated = idp
        .mint(
            json!({"sub": "alice", "aud": "consortia-api"}),
            "rotated",
            300,
        )
        .await;
    assert_eq!(app.get("/api/v1/me", &rotated).await.status, 200);
    assert_eq!(
        idp.stats().await["jwks_requests"].as_u64().unwrap(),
        before + 1
    );
    // Known now: no further fetch.
    assert_eq!(app.get("/api/v1/me", &rotated).await.status, 200);
    assert_eq!(
        idp.stats().await["jwks_requests"].as_u64().unwrap(),
        before + 1
    );

    for (claims, key, ttl, needle) in [
        (
            json!({"sub": "alice", "aud": "another-api"}),
            "provider",
            300,
            "audience",
        ),
        (
            json!({"sub": "alice", "aud": "consortia-api"}),
            "provider",
            -120,
            "expired",
        ),
        (
            json!({"sub": "alice", "aud": "consortia-api"}),
            "unknown",
            300,
            "key",
        ),
        (
            json!({"sub": "alice", "aud": "consortia-api", "iss": "http://127.0.0.1:1"}),
            "provider",
            300,
            "issuer",
        ),
        (
            json!({"sub": "nobody-linked", "aud": "consortia-api"}),
            "provider",
            300,
            "not linked",
        ),
    ] {
        let tok = idp.mint(claims.clone(), key, ttl).await;
        let r = app.get("/api/v1/me", &tok).await;
        assert_eq!(r.status, 401, "{claims}: {}", r.body);
        let d = r.body["detail"].as_str().unwrap().to_lowercase();
        assert!(d.contains(needle), "{claims}: {d}");
    }
    // A tampered signature.
    let mut parts: Vec<String> = good.split('.').map(String::from).collect();
    // (a different first character, whatever it was: the test must not pass by luck)
    let first = if parts[2].starts_with('A') { "B" } else { "A" };
    parts[2] = format!("{first}{}", &parts[2][1..]);
    let r = app.get("/api/v1/me", &parts.join(".")).await;
    assert_eq!(r.status, 401);
    // A real access token from the provider's token endpoint (client credentials).
    let r = idp
        .http
        .post(format!("{}/token", idp.issuer))
        .basic_auth("consortia", Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", "consortia-api"),
        ])
        .send()
        .await
        .unwrap();
    let at: Value = r.json().await.unwrap();
    let at = at["access_token"].as_str().unwrap();
    // Valid, but its subject (the client) is linked to no user.
    let r = app.get("/api/v1/me", at).await;
    assert_eq!(r.status, 401);
    assert!(
        r.body["detail"].as_str().unwrap().contains("not linked"),
        "{}",
        r.body
    );
}

#[actix_web::test]
async fn sessions_expire_when_idle() {
    let (app, idp) = setup(Backend::Sqlite, "").await;
    let (tenant, _) = app.tenant_with_owner("acme").await;
    app.member(&tenant, "alice@idp.example", "viewer").await;
    let mut b = Browser::default();
    assert_eq!(b.login(&app, &idp, "").await.status, 303);
    assert_eq!(
        b.app(&app, Method::GET, "/api/v1/me", &[], None)
            .await
            .status,
        200
    );
    app.clock.advance(chrono::Duration::hours(3));
    assert_eq!(
        b.app(&app, Method::GET, "/api/v1/me", &[], None)
            .await
            .status,
        401
    );
    assert_eq!(
        b.app(&app, Method::GET, "/auth/session", &[], None)
            .await
            .status,
        401
    );
}

/// A tracing writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[actix_web::test]
async fn no_code_token_cookie_or_secret_reaches_the_logs() {
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (app, idp) = setup(Backend::Sqlite, "").await;
    let (tenant, owner) = app.tenant_with_owner("acme").await;
    let inv = invite(&app, &tenant, &owner, json!({"role": "viewer"})).await;
    let invite_token = inv.body["token"].as_str().unwrap().to_string();
    let mut b = Browser::default();
    let cb = b
        .start_login(&app, &idp, &format!("?invite={invite_token}"))
        .await;
    let r = b.app(&app, Method::GET, &cb, &[], None).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let csrf = b.csrf(&app).await;
    let session = b.app_cookies["consortia_session"].clone();
    let jwt = idp
        .mint(
            json!({"sub": "alice", "aud": "consortia-api"}),
            "provider",
            300,
        )
        .await;
    assert_eq!(app.get("/api/v1/me", &jwt).await.status, 200);
    let bad = idp
        .mint(json!({"sub": "alice", "aud": "x"}), "unknown", 300)
        .await;
    assert_eq!(app.get("/api/v1/me", &bad).await.status, 401);
    let out = b
        .app(
            &app,
            Method::POST,
            "/auth/logout",
            &[("X-CSRF-Token", &csrf)],
            None,
        )
        .await;
    let end = out.body["end_session_url"].as_str().unwrap().to_string();
    let id_token = query_param(&end, "id_token_hint").unwrap();
    let local = b
        .app(
            &app,
            Method::POST,
            "/auth/token",
            &[],
            Some(json!({"token": app.admin_token})),
        )
        .await;
    assert_eq!(local.status, 200);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("signed in with single sign-on"),
        "the capture works"
    );
    let secrets = [
        ("code", query_param(&cb, "code").unwrap()),
        ("state", query_param(&cb, "state").unwrap()),
        ("session cookie", session),
        ("csrf token", csrf),
        ("invitation token", invite_token),
        ("provider JWT", jwt[jwt.len() - 20..].to_string()),
        ("refused JWT", bad[bad.len() - 20..].to_string()),
        ("id token", id_token[id_token.len() - 20..].to_string()),
        ("client secret", CLIENT_SECRET.to_string()),
        (
            "admin token",
            app.admin_token[app.admin_token.len() - 20..].to_string(),
        ),
    ];
    for (what, s) in secrets {
        assert!(!text.contains(&s), "the {what} appears in the logs");
    }
}

#[actix_web::test]
async fn local_login_exchanges_an_api_token_for_a_session() {
    let app = TestApp::new(Backend::Sqlite).await;
    let cfg = app.call(Method::GET, "/auth/config", None, None).await;
    assert_eq!(cfg.body, json!({"sso": false, "local_login": true}));
    // Without an identity provider, /auth/login says so.
    let r = app.call(Method::GET, "/auth/login", None, None).await;
    assert_eq!(r.status, 404);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("not configured")
    );

    let mut b = Browser::default();
    let r = b
        .app(
            &app,
            Method::POST,
            "/auth/token",
            &[],
            Some(json!({"token": app.admin_token})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["csrf_token"].is_string());
    let me = b.app(&app, Method::GET, "/api/v1/me", &[], None).await;
    assert_eq!(me.body["auth"], "session");
    assert_eq!(me.body["user"]["is_platform_admin"], true);

    // Bad input: wrong token, malformed body, unknown field, a tenant-scoped token.
    let mut other = Browser::default();
    let bad = other
        .app(
            &app,
            Method::POST,
            "/auth/token",
            &[],
            Some(json!({"token": "cst_nope"})),
        )
        .await;
    assert_eq!(bad.status, 401);
    assert!(
        bad.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("this API token is not valid"),
        "{}",
        bad.body
    );
    let malformed = other
        .app(
            &app,
            Method::POST,
            "/auth/token",
            &[],
            Some(json!({"tokn": "x"})),
        )
        .await;
    assert_eq!(malformed.status, 400);
    let (tenant, owner) = app.tenant_with_owner("acme").await;
    let scoped = app
        .post(
            &format!("/api/v1/tenants/{tenant}/tokens"),
            &owner,
            json!({"name": "ci"}),
        )
        .await;
    assert_eq!(scoped.status, 201, "{}", scoped.body);
    let r = other
        .app(
            &app,
            Method::POST,
            "/auth/token",
            &[],
            Some(json!({"token": scoped.body["secret"]})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("tenant-scoped"));
    assert!(!other.app_cookies.contains_key("consortia_session"));
    // A tenant-scoped token cannot see or end console sessions.
    let r = app
        .get("/api/v1/sessions", scoped.body["secret"].as_str().unwrap())
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // A session ends with the token it came from: revoking the token ends it.
    let personal = app
        .post("/api/v1/tokens", &owner, json!({"name": "console"}))
        .await;
    assert_eq!(personal.status, 201, "{}", personal.body);
    let mut console = Browser::default();
    let r = console
        .app(
            &app,
            Method::POST,
            "/auth/token",
            &[],
            Some(json!({"token": personal.body["secret"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let me = console
        .app(&app, Method::GET, "/api/v1/me", &[], None)
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{}", personal.body["id"].as_str().unwrap()),
            Some(&owner),
            None,
        )
        .await;
    assert!(r.status < 300, "{}", r.body);
    let me = console
        .app(&app, Method::GET, "/api/v1/me", &[], None)
        .await;
    assert_eq!(
        me.status, 401,
        "the session outlived its token: {}",
        me.body
    );
    // A forged cookie is no session.
    let mut forged = Browser::default();
    forged
        .app_cookies
        .insert("consortia_session".into(), "A".repeat(43));
    assert_eq!(
        forged
            .app(&app, Method::GET, "/api/v1/me", &[], None)
            .await
            .status,
        401
    );
}

#[actix_web::test]
async fn invitation_api_refuses_bad_input() {
    let (app, idp) = setup(Backend::Sqlite, "").await;
    let (tenant, owner) = app.tenant_with_owner("acme").await;
    let (other_tenant, other_owner) = app.tenant_with_owner("globex").await;
    let (_, viewer) = app.member(&tenant, "v@acme.example", "viewer").await;
    let (_, admin) = app.member(&tenant, "a@acme.example", "admin").await;
    let before = app.snapshot().await;
    for (token, body, status) in [
        (&viewer, json!({"role": "viewer"}), 403),
        (&admin, json!({"role": "owner"}), 403),
        (&other_owner, json!({"role": "viewer"}), 404),
        (&owner, json!({"role": "wizard"}), 400),
        (
            &owner,
            json!({"role": "viewer", "email": "not-an-email"}),
            422,
        ),
        (
            &owner,
            json!({"role": "viewer", "expires_in_hours": 0}),
            422,
        ),
        (
            &owner,
            json!({"role": "viewer", "expires_in_hours": 100000}),
            422,
        ),
        (&owner, json!({"role": "viewer", "extra": 1}), 400),
    ] {
        let r = invite(&app, &tenant, token, body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
    }
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/tenants/{tenant}/invites"),
            None,
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(r.status, 401);
    let big = "x".repeat(2 * 1024 * 1024);
    let r = invite(
        &app,
        &tenant,
        &owner,
        json!({"role": "viewer", "email": big}),
    )
    .await;
    assert_eq!(r.status, 413);
    assert_eq!(app.snapshot().await, before);

    // An invitation restricted to an e-mail, revoked, then refused at login.
    let inv = invite(
        &app,
        &tenant,
        &owner,
        json!({"role": "viewer", "email": "gina@corp.example"}),
    )
    .await;
    assert_eq!(inv.status, 201);
    let id = inv.body["id"].as_str().unwrap();
    let token = inv.body["token"].as_str().unwrap();
    // For someone else's address: refused at the callback, nothing stored.
    idp.account("hank", "hank@corp.example", &[], true).await;
    idp.control("next-login", json!({"sub": "hank"})).await;
    let mut b = Browser::default();
    let cb = b.start_login(&app, &idp, &format!("?invite={token}")).await;
    refused(&app, &mut b, &cb, 403, "another e-mail").await;
    // Cross-tenant revocation is a 404; the tenant's admin revokes it.
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tenants/{other_tenant}/invites/{id}"),
            Some(&other_owner),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tenants/{tenant}/invites/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let r = Browser::default()
        .app(
            &app,
            Method::GET,
            &format!("/auth/login?invite={token}"),
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    // An open redirect is refused.
    for rt in ["//evil.example", "https://evil.example", "/\\evil"] {
        let r = Browser::default()
            .app(
                &app,
                Method::GET,
                &format!("/auth/login?return_to={rt}"),
                &[],
                None,
            )
            .await;
        assert_eq!(r.status, 400, "{rt}");
    }
}

#[actix_web::test]
async fn provider_tokens_are_refused_unless_an_api_audience_is_configured() {
    let idp = Idp::start();
    let mut app = TestApp::new(Backend::Sqlite).await;
    let mut settings = idp.settings("");
    settings.api_audience = None;
    app.state
        .set_sso(Some(Arc::new(Oidc::new(settings).unwrap())));
    let (tenant, _) = app.tenant_with_owner("acme").await;
    app.member(&tenant, "alice@idp.example", "viewer").await;
    let mut b = Browser::default();
    assert_eq!(b.login(&app, &idp, "").await.status, 303);
    // Even a token for the console's own client id is refused as a bearer token.
    let tok = idp
        .mint(json!({"sub": "alice", "aud": "consortia"}), "provider", 300)
        .await;
    let r = app.get("/api/v1/me", &tok).await;
    assert_eq!(r.status, 401);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("--oidc-api-audience"),
        "{}",
        r.body
    );
}
