//! The `consortia-node` client commands the suite uses, always with `--json`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::process;

/// `consortia-node` at a path.
#[derive(Clone, Debug)]
pub struct NodeCli {
    bin: PathBuf,
}

/// A deposit to make.
pub struct Deposit<'a> {
    pub account: &'a str,
    pub key: &'a Path,
    pub content_hash: &'a str,
    pub metadata: &'a str,
    pub external_id: &'a str,
}

/// What `verify-receipt` concluded.
#[derive(Debug)]
pub struct Verdict {
    /// The command exited 0.
    pub exit_ok: bool,
    /// Its JSON report: `{"valid": bool, "receipt": …}` or `{"valid": false, "reason": …}`.
    pub report: Value,
}

impl NodeCli {
    pub fn new(bin: &Path) -> Self {
        NodeCli {
            bin: bin.to_path_buf(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args);
        cmd
    }

    fn json(&self, args: &[&str], logged: bool) -> Result<Value> {
        let mut cmd = self.command(args);
        if logged {
            eprintln!("+ {}", process::show(&cmd));
        }
        let out = process::run(&mut cmd, None)?;
        serde_json::from_str(&out)
            .with_context(|| format!("`{}` did not print JSON: {out}", process::show(&cmd)))
    }

    /// `query status` of the node behind `url`.
    pub fn status(&self, url: &str) -> Result<Value> {
        self.json(&["query", "--node", url, "--json", "status"], false)
    }

    /// `deposit … --wait`: submits, waits for the commit and returns the receipt.
    pub fn deposit_and_wait(&self, url: &str, d: &Deposit) -> Result<Value> {
        let key = d.key.to_string_lossy();
        self.json(
            &[
                "deposit",
                "--node",
                url,
                "--account",
                d.account,
                "--key",
                &key,
                "--content-hash",
                d.content_hash,
                "--metadata",
                d.metadata,
                "--external-id",
                d.external_id,
                "--wait",
                "--json",
            ],
            true,
        )
    }

    /// `query deposits HASH`: where a content hash was deposited.
    pub fn deposits(&self, url: &str, content_hash: &str) -> Result<Value> {
        self.json(
            &["query", "--node", url, "--json", "deposits", content_hash],
            false,
        )
    }

    /// `verify-receipt --genesis G RECEIPT`, offline; an invalid receipt is a verdict, not an
    /// error.
    pub fn verify_receipt(&self, genesis: &Path, receipt: &Path) -> Result<Verdict> {
        let mut cmd = self.command(&["verify-receipt", "--json", "--genesis"]);
        cmd.arg(genesis).arg(receipt);
        eprintln!("+ {}", process::show(&cmd));
        let out = process::output(&mut cmd, None)?;
        let text = String::from_utf8_lossy(&out.stdout);
        let report = serde_json::from_str(&text).with_context(|| {
            format!(
                "`{}` ({}) did not print a JSON verdict: {text} {}",
                process::show(&cmd),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        Ok(Verdict {
            exit_ok: out.status.success(),
            report,
        })
    }
}
