//! The README's "Your first chain" block, run verbatim against the real binaries; then the
//! API server is SIGKILLed while the chain runs, and the restarted server must adopt the
//! running nodes (none duplicated, none restarted) and still know every acknowledged deposit.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::{http, sigterm, start, wait_exit};
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn node_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_consortia-api")).with_file_name("consortia-node");
    assert!(
        bin.exists(),
        "{} is missing: cargo build -p consortia-node",
        bin.display()
    );
    bin
}

/// The shell block between the quickstart markers of README.md.
fn readme_block() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme
        .find("<!-- quickstart:begin -->")
        .expect("quickstart marker");
    let end = readme
        .find("<!-- quickstart:end -->")
        .expect("quickstart end marker");
    let fenced = &readme[start..end];
    let body = fenced.split_once("```sh\n").unwrap().1;
    body.rsplit_once("```").unwrap().0.to_string()
}

/// Pids of the node processes whose home is under `dir`.
fn node_pids(dir: &Path) -> Vec<u32> {
    let needle = dir.to_string_lossy().into_owned();
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat
                .rfind(')')
                .is_some_and(|i| stat[i + 2..].starts_with('Z'));
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            !zombie && cmd.contains("consortia-node run") && cmd.contains(&needle)
        })
        .collect();
    pids.sort();
    pids
}

/// Kills the node processes under a data directory when dropped: the nodes outlive the API
/// server by design, so a failing test would otherwise leave them running.
struct Reaper(PathBuf);

impl Drop for Reaper {
    fn drop(&mut self) {
        for pid in node_pids(&self.0) {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
    }
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// Runs the README block against `addr`; it must end with a receipt verified offline.
fn run_readme(addr: std::net::SocketAddr, data: &Path) {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{}", readme_block()))
        .current_dir(repo_root())
        .env("API", format!("http://{addr}"))
        .env("NODE", node_bin())
        .env("CONSORTIA_DATA_DIR", data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("VALID: transaction"),
        "the README sequence failed:\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A chain created by a request is supervised by the server, not by the HTTP worker that
/// served the request: a graceful stop right after creating it stops its nodes. (The
/// supervisors once ran on the worker's runtime, which the HTTP server drops when it stops,
/// so they vanished and left the nodes running as orphans.)
#[test]
fn a_graceful_stop_stops_the_nodes_of_chains_created_by_requests() {
    let data = tempfile::tempdir().unwrap();
    let _reaper = Reaper(data.path().to_path_buf());
    let mut server = start(data.path(), &[]);
    run_readme(server.addr, data.path());
    let chain_dir = data.path().join("chains");
    let before = node_pids(&chain_dir);
    assert_eq!(before.len(), 4, "four nodes run");
    sigterm(&server.child);
    assert!(wait_exit(&mut server.child, Duration::from_secs(30)).success());
    let left = node_pids(&chain_dir);
    for pid in &left {
        // Do not leave them behind for the next test.
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
    }
    assert!(
        left.is_empty(),
        "node processes outlived a graceful stop: {left:?}"
    );
}

#[test]
fn the_readme_sequence_reaches_a_verified_receipt_and_survives_an_api_server_crash() {
    let data = tempfile::tempdir().unwrap();
    let _reaper = Reaper(data.path().to_path_buf());
    let mut server = start(data.path(), &[]);
    run_readme(server.addr, data.path());

    // The chain the README made; one more acknowledged deposit.
    let token = std::fs::read_to_string(data.path().join("bootstrap-token")).unwrap();
    let (_, alliances) = http(server.addr, "GET", "/api/v1/alliances", Some(&token), None);
    let alliance = json(&alliances)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let chains_path = format!("/api/v1/alliances/{alliance}/chains");
    let (_, chains) = http(server.addr, "GET", &chains_path, Some(&token), None);
    let chain = json(&chains)["items"][0].clone();
    let chain_id = chain["id"].as_str().unwrap().to_string();
    let tenant = json(
        &http(
            server.addr,
            "GET",
            &format!("/api/v1/alliances/{alliance}"),
            Some(&token),
            None,
        )
        .1,
    )["members"][0]["tenant_id"]
        .as_str()
        .unwrap()
        .to_string();
    let deposit = |byte: &str| {
        format!(
            r#"{{"tenant_id":"{tenant}","content_hash":"{}","chain_ids":["{chain_id}"]}}"#,
            byte.repeat(32)
        )
    };
    let body = deposit("5a");
    let (status, created) = http(
        server.addr,
        "POST",
        "/api/v1/deposits",
        Some(&token),
        Some(&body),
    );
    assert_eq!(status, 201, "{created}");
    let deposit_id = json(&created)["id"].as_str().unwrap().to_string();

    let chain_dir = data.path().join("chains");
    let before = node_pids(&chain_dir);
    assert_eq!(before.len(), 4, "four nodes run");

    // SIGKILL the API server: the nodes keep running.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        node_pids(&chain_dir),
        before,
        "nodes outlive the API server"
    );

    // Restart: the same processes are adopted; the chain is running; nothing was lost.
    let mut server = start(data.path(), &[]);
    let path = format!("{chains_path}/{chain_id}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, c) = http(server.addr, "GET", &path, Some(&token), None);
        let c = json(&c);
        if c["phase"] == "running" {
            assert!(
                c["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|n| n["restarts"] == 0),
                "{c}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the chain did not come back: {c}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        node_pids(&chain_dir),
        before,
        "adopted, not duplicated or restarted"
    );
    let (status, got) = http(
        server.addr,
        "GET",
        &format!("/api/v1/deposits/{deposit_id}"),
        Some(&token),
        None,
    );
    assert_eq!(
        status, 200,
        "an acknowledged deposit survives the crash: {got}"
    );
    let (status, again) = http(
        server.addr,
        "POST",
        "/api/v1/deposits",
        Some(&token),
        Some(&deposit("5b")),
    );
    assert_eq!(
        status,
        201,
        "deposits work after adoption: {again}\nserver log:\n{}",
        crate::process::log_tail(data.path())
    );

    // A graceful stop stops the nodes too.
    sigterm(&server.child);
    assert!(wait_exit(&mut server.child, Duration::from_secs(30)).success());
    assert!(
        node_pids(&chain_dir).is_empty(),
        "nodes stop with a graceful shutdown"
    );
}
