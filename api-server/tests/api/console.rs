//! The web console served at `/`: the files of a build, the SPA fallback for client routes,
//! cache headers, the Content-Security-Policy, gzip, and the API's paths left to the API.

use crate::support::{Backend, TestApp};
use actix_web::{App, test, web};
use consortia_api::http;
use consortia_api::http::console::{CONTENT_SECURITY_POLICY, Console};
use std::io::Read;

const INDEX: &str = r#"<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>"#;

/// A build like Vite's in `dist/` (index.html, a hashed script large enough to be gzipped,
/// an icon), beside a file that must never be served.
struct Build {
    _root: tempfile::TempDir,
    dist: std::path::PathBuf,
}

impl Build {
    fn path(&self) -> &std::path::Path {
        &self.dist
    }
}

fn build() -> Build {
    let root = tempfile::tempdir().unwrap();
    let dist = root.path().join("dist");
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(dist.join("index.html"), INDEX).unwrap();
    let script = "console.log('consortia');\n".repeat(200);
    std::fs::write(dist.join("assets/index-abc123.js"), script).unwrap();
    std::fs::write(dist.join("favicon.svg"), "<svg/>").unwrap();
    std::fs::write(dist.join(".consortia-sources-sha256"), "stamp").unwrap();
    std::fs::write(root.path().join("secret.txt"), "do not serve").unwrap();
    Build { _root: root, dist }
}

struct Got {
    status: u16,
    headers: actix_web::http::header::HeaderMap,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
}

async fn call(app: &TestApp, console: Option<&web::Data<Console>>, req: test::TestRequest) -> Got {
    let mut a = App::new().configure(http::configure(app.state.clone()));
    if let Some(c) = console {
        a = a.app_data(c.clone());
    }
    let svc = test::init_service(a).await;
    let res = test::call_service(&svc, req.to_request()).await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = test::read_body(res).await.to_vec();
    Got {
        status,
        headers,
        body,
    }
}

fn get(path: &str) -> test::TestRequest {
    test::TestRequest::get().uri(path)
}

#[actix_web::test]
async fn the_console_is_served_at_the_root_with_its_policy() {
    let app = TestApp::new(Backend::Sqlite).await;
    let dir = build();
    let console = web::Data::new(Console::load(dir.path()).unwrap());
    let got = call(&app, Some(&console), get("/")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, INDEX.as_bytes());
    assert!(got.header("content-type").starts_with("text/html"));
    assert_eq!(got.header("cache-control"), "no-cache");
    let csp = got.header("content-security-policy");
    assert_eq!(csp, CONTENT_SECURITY_POLICY);
    let scripts = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .expect("a script-src directive");
    assert_eq!(scripts, "script-src 'self'", "no inline or foreign scripts");
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(got.header("x-content-type-options"), "nosniff");
}

#[actix_web::test]
async fn client_routes_fall_back_to_the_app() {
    let app = TestApp::new(Backend::Sqlite).await;
    let dir = build();
    let console = web::Data::new(Console::load(dir.path()).unwrap());
    for path in [
        "/chains",
        "/alliances/0190c1d2-0000-7000-8000-000000000000",
        "/index.html",
    ] {
        let got = call(&app, Some(&console), get(path)).await;
        assert_eq!(got.status, 200, "{path}");
        assert_eq!(got.body, INDEX.as_bytes(), "{path}");
        assert_eq!(got.header("cache-control"), "no-cache", "{path}");
    }
}

#[actix_web::test]
async fn hashed_assets_are_immutable_and_gzipped_when_accepted() {
    let app = TestApp::new(Backend::Sqlite).await;
    let dir = build();
    let console = web::Data::new(Console::load(dir.path()).unwrap());
    let want = std::fs::read(dir.path().join("assets/index-abc123.js")).unwrap();

    let plain = call(&app, Some(&console), get("/assets/index-abc123.js")).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.body, want);
    assert!(plain.header("content-type").starts_with("text/javascript"));
    assert_eq!(
        plain.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(plain.header("content-encoding"), "");

    let zipped = call(
        &app,
        Some(&console),
        get("/assets/index-abc123.js").insert_header(("Accept-Encoding", "br, gzip")),
    )
    .await;
    assert_eq!(zipped.header("content-encoding"), "gzip");
    assert!(zipped.body.len() < want.len());
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&zipped.body[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, want);

    // Files outside assets/ are not hashed: they are revalidated.
    let icon = call(&app, Some(&console), get("/favicon.svg")).await;
    assert_eq!(icon.status, 200);
    assert_eq!(icon.header("content-type"), "image/svg+xml");
    assert_eq!(icon.header("cache-control"), "no-cache");
}

#[actix_web::test]
async fn missing_files_and_api_paths_are_not_the_app() {
    let app = TestApp::new(Backend::Sqlite).await;
    let dir = build();
    let console = web::Data::new(Console::load(dir.path()).unwrap());
    for path in [
        "/assets/index-old999.js",
        "/api/v1/nothing-here",
        "/api",
        "/auth/nothing-here",
        "/healthz/x",
        "/metrics",
        "/.consortia-sources-sha256",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
    ] {
        let got = call(&app, Some(&console), get(path)).await;
        assert_eq!(got.status, 404, "{path}");
        assert!(
            got.header("content-type")
                .starts_with("application/problem+json"),
            "{path}: {}",
            got.header("content-type")
        );
        assert!(!String::from_utf8_lossy(&got.body).contains("do not serve"));
    }
    // Only reads: a POST to a client route is no route at all.
    let post = call(
        &app,
        Some(&console),
        test::TestRequest::post().uri("/chains"),
    )
    .await;
    assert_eq!(post.status, 404);
    assert!(!String::from_utf8_lossy(&post.body).contains("<html"));
}

#[actix_web::test]
async fn without_a_build_only_the_api_is_served() {
    let app = TestApp::new(Backend::Sqlite).await;
    let got = call(&app, None, get("/")).await;
    assert_eq!(got.status, 404);
    assert!(
        got.header("content-type")
            .starts_with("application/problem+json")
    );
    let empty = tempfile::tempdir().unwrap();
    let err = Console::load(empty.path()).err().expect("no index.html");
    assert!(err.to_string().contains("index.html"), "{err}");
}
