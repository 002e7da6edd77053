//! Test harness: a real database per test (SQLite file or fresh PostgreSQL database),
//! the real app, and helpers to call it.

use actix_web::http::Method;
use actix_web::{App, test};
use consortia_api::app::{AppState, Infra};
use consortia_api::bootstrap;
use consortia_api::domain::tokens::TokenKey;
use consortia_api::http;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::Value;
use std::sync::Arc;

/// Which database a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running app over its own database.
pub struct TestApp {
    pub state: AppState,
    /// The app's clock: tests move it to make proposals and invitations expire.
    pub clock: consortia_api::clock::ManualClock,
    pub admin_token: String,
    /// Holds the SQLite file and bootstrap token until the test ends.
    pub _data_dir: tempfile::TempDir,
    pg_cleanup: Option<(String, String)>,
}

/// A response: status, headers, and the body parsed as JSON (Null when empty or not JSON).
pub struct Resp {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A new, empty PostgreSQL database on the server `DATABASE_URL` names: its URL, and the
/// (server URL, name) to drop it by.
pub async fn fresh_postgres() -> (String, (String, String)) {
    let admin_url = std::env::var("DATABASE_URL").unwrap();
    let name = format!("consortia_t_{}", uuid::Uuid::new_v4().simple());
    let admin = consortia_api::db::connect(&admin_url).await.unwrap();
    admin
        .execute_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            format!("CREATE DATABASE {name}"),
        ))
        .await
        .unwrap();
    admin.close().await.unwrap();
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap();
    (format!("{base}/{name}"), (admin_url, name))
}

/// Runs `$scenario` on SQLite and (when configured) PostgreSQL.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[actix_web::test] async fn $name() { super::$name(&$crate::support::TestApp::new($crate::support::Backend::Sqlite).await).await } )*
        }
        mod postgres {
            $( #[actix_web::test] async fn $name() {
                if let Some(app) = $crate::support::TestApp::new_pg().await { super::$name(&app).await }
            } )*
        }
    };
}

impl TestApp {
    /// A PostgreSQL-backed app, or None (with a note) when `DATABASE_URL` is not PostgreSQL.
    pub async fn new_pg() -> Option<TestApp> {
        match std::env::var("DATABASE_URL") {
            Ok(u) if u.starts_with("postgres") => Some(TestApp::new(Backend::Postgres).await),
            _ => {
                eprintln!("DATABASE_URL is not a PostgreSQL URL: PostgreSQL variant skipped");
                None
            }
        }
    }

    pub async fn new(backend: Backend) -> TestApp {
        let data_dir = tempfile::tempdir().unwrap();
        let (url, pg_cleanup) = match backend {
            Backend::Sqlite => (consortia_api::db::sqlite_url(data_dir.path()), None),
            Backend::Postgres => {
                let (url, cleanup) = fresh_postgres().await;
                (url, Some(cleanup))
            }
        };
        let db = consortia_api::db::connect(&url).await.unwrap();
        consortia_api::db::migrate(&db).await.unwrap();
        let key = TokenKey::generate();
        let bootstrap::Outcome::Created(path) =
            bootstrap::run(&db, &key, data_dir.path()).await.unwrap()
        else {
            panic!("fresh database must bootstrap");
        };
        let admin_token = std::fs::read_to_string(path).unwrap();
        let clock = consortia_api::clock::ManualClock::new(chrono::Utc::now());
        TestApp {
            clock: clock.clone(),
            state: AppState::new(Infra {
                db,
                token_key: key,
                auth_cache_ttl: std::time::Duration::from_secs(5),
                clock: Arc::new(clock.clone()),
                kek: Arc::new(consortia_pki::seal::Kek::generate()),
                public_url: "https://baas.example.test".into(),
                sso: None,
                sessions: consortia_api::service::access::SessionSettings::for_url(
                    "https://baas.example.test",
                ),
                template_max_bytes: 256 * 1024,
                runtime: Arc::new(consortia_api::runtime::local::LocalRuntime::new(
                    data_dir.path(),
                    consortia_api::runtime::local::find_node_bin(),
                )),
                tasks: tokio::runtime::Handle::current(),
            }),
            admin_token,
            _data_dir: data_dir,
            pg_cleanup,
        }
    }

    /// Sends a request through the full middleware stack.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let req = test::TestRequest::default().method(method).uri(path);
        let req = match body {
            Some(b) => req.set_json(b),
            None => req,
        };
        self.send(req, token).await
    }

    /// Sends a prepared request (for raw bodies and custom headers).
    pub async fn send(&self, req: test::TestRequest, token: Option<&str>) -> Resp {
        let req = match token {
            Some(t) => req.insert_header(("Authorization", format!("Bearer {t}"))),
            None => req,
        };
        let res = self.respond(req).await;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        documented(
            res.request().method().as_str(),
            res.request().match_pattern().as_deref(),
            status,
            &headers,
        );
        let bytes = test::read_body(res).await;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
        }
    }

    /// The app's answer to `req`, through the full middleware stack.
    async fn respond(&self, req: test::TestRequest) -> actix_web::dev::ServiceResponse {
        let app = test::init_service(
            App::new()
                .wrap(actix_web::middleware::from_fn(http::observe::observe))
                .configure(http::configure(self.state.clone())),
        )
        .await;
        test::call_service(&app, req.to_request())
            .await
            .map_into_boxed_body()
    }

    /// A GET with a bearer token.
    fn get_as(path: &str, token: &str) -> test::TestRequest {
        test::TestRequest::get()
            .uri(path)
            .insert_header(("Authorization", format!("Bearer {token}")))
    }

    /// A GET's raw body bytes.
    pub async fn raw_body(&self, path: &str, token: &str) -> Vec<u8> {
        let res = self.respond(Self::get_as(path, token)).await;
        test::read_body(res).await.to_vec()
    }

    /// Opens a server-sent-events stream; the status and, when 200, the feed to read.
    pub async fn events(&self, path: &str, token: &str) -> (u16, Option<Feed>) {
        let res = self.respond(Self::get_as(path, token)).await;
        let status = res.status().as_u16();
        if status != 200 {
            return (status, None);
        }
        assert_eq!(
            res.headers().get("content-type").unwrap(),
            "text/event-stream"
        );
        (
            status,
            Some(Feed {
                body: res.into_body(),
                buf: String::new(),
            }),
        )
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Creates a tenant with an owner; returns (tenant id, owner token).
    pub async fn tenant_with_owner(&self, slug: &str) -> (String, String) {
        let r = self
            .post(
                "/api/v1/tenants",
                &self.admin_token,
                serde_json::json!({"slug": slug, "name": slug, "kind": "customer",
                    "owner": {"email": format!("owner@{slug}.example"), "display_name": "Owner"}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let tenant = r.body["id"].as_str().unwrap().to_string();
        let members = self
            .get(
                &format!("/api/v1/tenants/{tenant}/members"),
                &self.admin_token,
            )
            .await;
        let owner = members.body["items"][0]["user"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let token = self.token_for(&owner).await;
        (tenant, token)
    }

    /// Mints a token for a user directly (as the user would through `POST /api/v1/tokens`).
    pub async fn token_for(&self, user_id: &str) -> String {
        let minted = consortia_api::domain::tokens::mint(&self.state.token_key);
        consortia_api::store::tokens::insert(
            &self.state.db,
            consortia_api::store::tokens::NewToken {
                id: minted.id,
                user_id: user_id.parse().unwrap(),
                tenant_id: None,
                name: "test",
                secret_hash: &minted.secret_hash,
                created_by: user_id.parse().unwrap(),
                expires_at: None,
            },
        )
        .await
        .unwrap();
        minted.bearer
    }

    /// Adds a member with a role; returns (user id, token).
    pub async fn member(&self, tenant: &str, email: &str, role: &str) -> (String, String) {
        let r = self
            .post(
                &format!("/api/v1/tenants/{tenant}/members"),
                &self.admin_token,
                serde_json::json!({"email": email, "display_name": email, "role": role}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let user = r.body["user"]["id"].as_str().unwrap().to_string();
        let token = self.token_for(&user).await;
        (user, token)
    }

    /// Every row of every table but the audit log, as text: equal snapshots mean nothing changed.
    pub async fn snapshot(&self) -> String {
        use consortia_api::db::entities::*;
        use sea_orm::EntityTrait;
        let db = &self.state.db;
        format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
            tenant::Entity::find().all(db).await.unwrap(),
            user::Entity::find().all(db).await.unwrap(),
            identity::Entity::find().all(db).await.unwrap(),
            membership::Entity::find().all(db).await.unwrap(),
            api_token::Entity::find().all(db).await.unwrap(),
            self.count("bootstrap").await,
            alliance::Entity::find().all(db).await.unwrap(),
            alliance_member::Entity::find().all(db).await.unwrap(),
            proposal::Entity::find().all(db).await.unwrap(),
            vote::Entity::find().all(db).await.unwrap(),
            invitation::Entity::find().all(db).await.unwrap(),
            alliance_event::Entity::find().all(db).await.unwrap(),
            ca::Entity::find().all(db).await.unwrap(),
            certificate::Entity::find().all(db).await.unwrap(),
            session::Entity::find().all(db).await.unwrap(),
            login_request::Entity::find().all(db).await.unwrap(),
            tenant_invite::Entity::find().all(db).await.unwrap(),
            template::Entity::find().all(db).await.unwrap(),
            template_version::Entity::find().all(db).await.unwrap(),
            template_event::Entity::find().all(db).await.unwrap(),
            (
                chain::Entity::find().all(db).await.unwrap(),
                chain_node::Entity::find().all(db).await.unwrap(),
                chain_material::Entity::find().all(db).await.unwrap(),
                chain_account::Entity::find().all(db).await.unwrap(),
                deposit::Entity::find().all(db).await.unwrap(),
                deposit_receipt::Entity::find().all(db).await.unwrap(),
                template_installation::Entity::find().all(db).await.unwrap(),
            ),
        )
    }

    async fn count(&self, table: &str) -> usize {
        self.state
            .db
            .query_all_raw(Statement::from_string(
                self.state.db.get_database_backend(),
                format!("SELECT 1 FROM {table}"),
            ))
            .await
            .unwrap()
            .len()
    }

    /// Number of audit events.
    pub async fn audit_count(&self) -> usize {
        self.count("audit_events").await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Node processes of the local runtime outlive the app by design; end them with it.
        if let Ok(chains) = std::fs::read_dir(self._data_dir.path().join("chains")) {
            for node in chains
                .flatten()
                .flat_map(|c| std::fs::read_dir(c.path()).into_iter().flatten().flatten())
            {
                if let Ok(pid) = std::fs::read_to_string(node.path().join("node.pid"))
                    && let Some(pid) = pid.split_whitespace().next()
                {
                    let _ = std::process::Command::new("kill")
                        .args(["-9", pid])
                        .status();
                }
            }
        }
        if let Some((admin_url, name)) = self.pg_cleanup.take() {
            // Dropping needs async I/O; do it on a throwaway runtime in its own thread. FORCE
            // ends the test's own pool connections (closing the pool here would wait on the
            // runtime this thread is blocking).
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    if let Ok(admin) = consortia_api::db::connect(&admin_url).await {
                        let _ = admin
                            .execute_raw(Statement::from_string(
                                DatabaseBackend::Postgres,
                                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// Every answer the tests receive must be one the API document promises: its status listed
/// for the route, and errors served as problem+json. (A route the app does not know, and
/// Swagger UI, are not in the document.)
fn documented(
    method: &str,
    route: Option<&str>,
    status: u16,
    headers: &actix_web::http::header::HeaderMap,
) {
    static DOC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| serde_json::to_value(http::openapi::document()).unwrap());
    let Some(route) = route else { return };
    let Some(op) = doc["paths"][route].get(method.to_lowercase()) else {
        return;
    };
    let responses = &op["responses"];
    assert!(
        responses.get(status.to_string()).is_some(),
        "{method} {route} answered {status}, which its OpenAPI operation does not document (it lists {:?})",
        responses.as_object().map(|r| r.keys().collect::<Vec<_>>())
    );
    if status >= 400 {
        let ct = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let promised = responses[status.to_string()]["content"]
            .as_object()
            .map(|c| c.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        assert!(
            promised.iter().any(|p| ct.starts_with(p.as_str())),
            "{method} {route} answered {status} as `{ct}`, but the document promises {promised:?}"
        );
    }
}

/// An open server-sent-events stream.
pub struct Feed {
    body: actix_web::body::BoxBody,
    buf: String,
}

/// What reading a feed gave.
#[derive(Debug, PartialEq)]
pub enum Read {
    /// An event: its name and data.
    Event(String, Value),
    /// Nothing within the time given.
    Quiet,
    /// The server ended the stream.
    Ended,
}

impl Feed {
    /// The next event (comments skipped) within `within`.
    pub async fn next(&mut self, within: std::time::Duration) -> Read {
        use actix_web::body::MessageBody;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(i) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..i + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        name = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if !data.is_empty() {
                    return Read::Event(name, serde_json::from_str(&data).unwrap());
                }
            }
            let chunk = tokio::time::timeout_at(
                deadline,
                std::future::poll_fn(|cx| std::pin::Pin::new(&mut self.body).poll_next(cx)),
            )
            .await;
            match chunk {
                Err(_) => return Read::Quiet,
                Ok(None) => return Read::Ended,
                Ok(Some(Err(e))) => panic!("stream failed: {e}"),
                Ok(Some(Ok(b))) => self.buf.push_str(std::str::from_utf8(&b).unwrap()),
            }
        }
    }

    /// Every event within `within`, by name.
    pub async fn drain(&mut self, within: std::time::Duration) -> Vec<(String, Value)> {
        let deadline = tokio::time::Instant::now() + within;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Read::Event(n, d) => out.push((n, d)),
                Read::Quiet | Read::Ended => return out,
            }
        }
    }
}
