//! The real binary: bootstrap once, graceful SIGTERM, OTLP trace export.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    /// The metrics listener.
    pub(crate) metrics: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start(data_dir: &std::path::Path, envs: &[(&str, String)]) -> Server {
    let ports = consortia_ports::free_ports(2).unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", ports[0]).parse().unwrap();
    let metrics: SocketAddr = format!("127.0.0.1:{}", ports[1]).parse().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_consortia-api"));
    cmd.env("CONSORTIA_DATA_DIR", data_dir)
        .env("CONSORTIA_LISTEN", addr.to_string())
        .env("CONSORTIA_METRICS_LISTEN", metrics.to_string())
        .env("CONSORTIA_WORKERS", "2")
        .env_remove("DATABASE_URL")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        // The server's log, kept with its data (see `log_tail`); every start appends.
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(data_dir.join("server.log"))
                .unwrap(),
        ));
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        child,
        addr,
        metrics,
    }
}

/// The last lines of the server log under `data_dir`, for failure messages.
pub(crate) fn log_tail(data_dir: &std::path::Path) -> String {
    let log = std::fs::read_to_string(data_dir.join("server.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// A minimal HTTP/1.1 exchange; returns (status, body).
pub(crate) fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    parse(&out)
}

fn parse(out: &str) -> (u16, String) {
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

pub(crate) fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

pub(crate) fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn first_start_writes_a_private_bootstrap_token_once() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("bootstrap-token");
    let first = start(dir.path(), &[]);
    let token = std::fs::read_to_string(&token_file).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (status, body) = http(first.addr, "GET", "/api/v1/me", Some(&token), None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"is_platform_admin\":true"));
    // Metrics are on their own listener, not on the API's.
    let (status, body) = http(first.metrics, "GET", "/metrics", None, None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("consortia_api_http_requests_total"), "{body}");
    assert_eq!(http(first.addr, "GET", "/metrics", None, None).0, 404);
    drop(first);

    std::fs::remove_file(&token_file).unwrap();
    let second = start(dir.path(), &[]);
    assert!(
        !token_file.exists(),
        "a later start must not create another administrator token"
    );
    let (status, _) = http(second.addr, "GET", "/api/v1/me", Some(&token), None);
    assert_eq!(status, 200, "the first token still works after a restart");
}

/// Reads one HTTP/1.1 response (headers and a Content-Length body) from a kept-alive
/// connection.
fn read_one_response(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    head + &String::from_utf8_lossy(&body)
}

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), &[]);
    let token = std::fs::read_to_string(dir.path().join("bootstrap-token")).unwrap();
    let body = r#"{"name": "in-flight"}"#;
    let mut s = TcpStream::connect(server.addr).unwrap();
    // A complete request first, answered on this connection: a worker owns it before SIGTERM
    // (a connection still in the accept queue would be reset with the listener).
    write!(s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let first = read_one_response(&mut s);
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    write!(
        s,
        "POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..5]
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    sigterm(&server.child);
    std::thread::sleep(Duration::from_millis(500));
    s.write_all(&body.as_bytes()[5..]).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (status, resp) = parse(&out);
    assert_eq!(
        status, 201,
        "the request begun before SIGTERM completes: {resp}"
    );
    let exit = wait_exit(&mut server.child, Duration::from_secs(20));
    assert!(exit.success(), "clean exit after draining: {exit:?}");
}

#[test]
fn sigterm_ends_open_live_feeds_instead_of_waiting_for_them() {
    let dir = tempfile::tempdir().unwrap();
    // A long graceful timeout: an open event stream that is not ended would hold it all.
    let mut server = start(dir.path(), &[("CONSORTIA_SHUTDOWN_TIMEOUT", "60".into())]);
    let token = std::fs::read_to_string(dir.path().join("bootstrap-token")).unwrap();
    let mut s = TcpStream::connect(server.addr).unwrap();
    write!(
        s,
        "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains("event: ready") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the stream closed before it was ready");
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(
        String::from_utf8_lossy(&seen).contains("text/event-stream"),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    let asked = Instant::now();
    sigterm(&server.child);
    let exit = wait_exit(&mut server.child, Duration::from_secs(15));
    assert!(exit.success(), "clean exit: {exit:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(15),
        "the stop waited for the stream"
    );
    // The stream ended rather than being cut: its chunked body was finished.
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(
        String::from_utf8_lossy(&rest).ends_with("0\r\n\r\n"),
        "{:?}",
        String::from_utf8_lossy(&rest)
    );
}

#[test]
fn traces_are_exported_over_otlp_http() {
    let receiver = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", receiver.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel::<(String, Vec<u8>)>();
    std::thread::spawn(move || {
        for conn in receiver.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 65536];
            // Read headers, then exactly Content-Length bytes of body.
            let (head, body) = loop {
                let n = conn.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break (String::new(), Vec::new());
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..pos]).to_string();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    let mut body = buf[pos + 4..].to_vec();
                    while body.len() < len {
                        let n = conn.read(&mut chunk).unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        body.extend_from_slice(&chunk[..n]);
                    }
                    break (head, body);
                }
            };
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n");
            let _ = tx.send((head, body));
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)]);
    let token = std::fs::read_to_string(dir.path().join("bootstrap-token")).unwrap();
    assert_eq!(
        http(server.addr, "GET", "/api/v1/me", Some(&token), None).0,
        200
    );
    sigterm(&server.child);
    wait_exit(&mut server.child, Duration::from_secs(20));
    let (head, body) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("spans reach the OTLP receiver");
    assert!(head.starts_with("POST /v1/traces"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/x-protobuf"),
        "{head}"
    );
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("consortia-api"),
        "service name in the resource"
    );
    assert!(text.contains("request"), "the request span is exported");
    assert!(text.contains("/api/v1/me"), "with its route");
}

#[test]
fn rewrap_keys_moves_every_sealed_key_to_a_new_kek() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let server = start(data, &[]);
    let token = std::fs::read_to_string(data.join("bootstrap-token")).unwrap();
    let mode = std::fs::metadata(data.join("kek"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "the KEK file is private");
    let (s, body) = http(
        server.addr,
        "POST",
        "/api/v1/tenants",
        Some(&token),
        Some(r#"{"slug":"acme","name":"Acme","kind":"customer"}"#),
    );
    assert_eq!(s, 201, "{body}");
    let tenant = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let create = format!(
        r#"{{"tenant_id":"{tenant}","name":"A","policy":{{"threshold_percentage":50,"comparator":"greater_than","proposal_duration_hours":24}},"org":{{"name":"Acme","org_id":"AcmeMSP"}}}}"#
    );
    let (s, body) = http(
        server.addr,
        "POST",
        "/api/v1/alliances",
        Some(&token),
        Some(&create),
    );
    assert_eq!(s, 201, "{body}");
    let alliance = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, body) = http(
        server.addr,
        "GET",
        &format!("/api/v1/alliances/{alliance}/cas"),
        Some(&token),
        None,
    );
    let cas: serde_json::Value = serde_json::from_str(&body).unwrap();
    let org = cas
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "org")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    drop(server);

    let new_kek = data.join("kek.new");
    std::fs::write(&new_kek, hex::encode(rand::random::<[u8; 32]>())).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_consortia-api"))
        .args(["rewrap-keys", "--new-kek-file"])
        .arg(&new_kek)
        .env("CONSORTIA_DATA_DIR", data)
        .env_remove("DATABASE_URL")
        .env_remove("CONSORTIA_KEK")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("re-sealed 3 CA keys"));

    let issue = r#"{"profile":"peer","common_name":"peer0","validity_days":30}"#;
    let path = format!("/api/v1/cas/{org}/certificates");
    // With the new KEK the CAs sign; with the old one they can no longer be opened.
    let server = start(
        data,
        &[("CONSORTIA_KEK_FILE", new_kek.display().to_string())],
    );
    let (s, body) = http(server.addr, "POST", &path, Some(&token), Some(issue));
    assert_eq!(s, 201, "{body}");
    drop(server);
    let server = start(data, &[]);
    let (s, _) = http(server.addr, "POST", &path, Some(&token), Some(issue));
    assert_eq!(s, 500);
}
