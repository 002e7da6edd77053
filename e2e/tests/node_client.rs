//! The evidence round trip of the cluster suite, run here against a local one-validator
//! network of real `consortia-node` processes: it proves the client commands and flags the
//! cluster suite relies on, on every run of the workspace's tests.
//!
//! Needs a built `consortia-node` (`cargo build -p consortia-node`; the workspace test run
//! builds it) or `CONSORTIA_E2E_NODE_BIN`; without one it skips and says so.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use consortia_e2e::config::{NODE_BIN_HELP, node_bin};
use consortia_e2e::evidence::{self, Depositor};
use consortia_e2e::node_cli::NodeCli;
use consortia_e2e::{process, wait};
use serde_json::Value;

/// A node process, stopped when dropped.
struct NodeProcess(Child);

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_deposit_through_the_client_yields_a_receipt_that_verifies_offline() {
    let bin = match node_bin() {
        Ok(Some(bin)) => bin,
        Ok(None) => {
            return eprintln!(
                "consortia-e2e node_client: skipped: no consortia-node: {NODE_BIN_HELP}"
            );
        }
        Err(e) => panic!("{e:#}"),
    };
    if let Err(e) = round_trip_on_a_local_network(&bin) {
        panic!("{e:#}");
    }
}

fn round_trip_on_a_local_network(bin: &Path) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let net = dir.path().join("net");
    let mut testnet = Command::new(bin);
    testnet
        .args([
            "testnet",
            "--validators",
            "1",
            "--accounts",
            "1",
            "--json",
            "--dir",
        ])
        .arg(&net);
    let layout: Value = serde_json::from_str(&process::run(&mut testnet, None)?)
        .context("`consortia-node testnet --json` did not print JSON")?;
    let url = layout["nodes"][0]["api"]
        .as_str()
        .with_context(|| format!("expected the node's API URL in {layout}"))?;

    let _node = NodeProcess(
        Command::new(bin)
            .args(["run", "--home"])
            .arg(net.join("node0"))
            .env("CONSORTIA_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("starting consortia-node run")?,
    );
    let cli = NodeCli::new(bin);
    wait::until_every(
        "the local node's API",
        Duration::from_secs(30),
        Duration::from_millis(200),
        || cli.status(url),
    )?;
    let key = net.join("accounts/acct-0.json");
    let depositor = Depositor {
        account: "acct-0",
        key: &key,
    };
    evidence::round_trip(&cli, url, &depositor, &net.join("genesis.json"), dir.path())?;
    Ok(())
}
