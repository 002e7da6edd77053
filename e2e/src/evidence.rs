//! The evidence round trip, the chain's flagship service seen from a client: deposit a
//! content hash, verify the receipt offline, see a tampered copy refused, find the deposit
//! by its hash.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

use crate::node_cli::{Deposit, NodeCli};
use crate::wait;

/// The account that deposits, and its key file.
pub struct Depositor<'a> {
    pub account: &'a str,
    pub key: &'a Path,
}

/// Runs the round trip against the node API at `url`; `genesis` is the chain's genesis
/// file and `dir` a scratch directory for receipts. Returns the transaction hash.
pub fn round_trip(
    node: &NodeCli,
    url: &str,
    depositor: &Depositor,
    genesis: &Path,
    dir: &Path,
) -> Result<String> {
    let content_hash = unique_content_hash();
    let receipt = node.deposit_and_wait(
        url,
        &Deposit {
            account: depositor.account,
            key: depositor.key,
            content_hash: &content_hash,
            metadata: r#"{"suite":"consortia-e2e"}"#,
            external_id: "e2e-1",
        },
    )?;
    let tx_hash = receipt["tx_hash"]
        .as_str()
        .with_context(|| format!("expected a receipt with a tx_hash, got {receipt}"))?
        .to_string();
    let receipt_path = dir.join("receipt.json");
    std::fs::write(&receipt_path, receipt.to_string())?;

    let verdict = node.verify_receipt(genesis, &receipt_path)?;
    ensure!(
        verdict.exit_ok && verdict.report["valid"] == true,
        "expected verify-receipt to accept the receipt of {tx_hash}, it said {}",
        verdict.report
    );
    expect_tampering_detected(node, genesis, dir, &receipt, &content_hash)?;

    wait::until(
        &format!("query deposits {content_hash} to list {tx_hash}"),
        Duration::from_secs(30),
        || {
            let found = node.deposits(url, &content_hash)?;
            let listed = found["deposits"]
                .as_array()
                .is_some_and(|d| d.iter().any(|d| d["tx_hash"] == tx_hash.as_str()));
            if listed { Ok(()) } else { bail!("{found}") }
        },
    )?;
    Ok(tx_hash)
}

/// A receipt whose deposited hash was altered must not verify: the check has teeth.
fn expect_tampering_detected(
    node: &NodeCli,
    genesis: &Path,
    dir: &Path,
    receipt: &Value,
    content_hash: &str,
) -> Result<()> {
    let mut tampered = receipt.clone();
    let field = tampered
        .pointer_mut("/tx/tx/op/deposit/content_hash")
        .with_context(|| format!("expected the receipt to carry the deposit, got {receipt}"))?;
    ensure!(
        field == content_hash,
        "expected the receipt to carry content hash {content_hash}, it carries {field}"
    );
    *field = json!("00".repeat(32));
    let path = dir.join("tampered-receipt.json");
    std::fs::write(&path, tampered.to_string())?;
    let verdict = node.verify_receipt(genesis, &path)?;
    ensure!(
        !verdict.exit_ok && verdict.report["valid"] == false,
        "expected verify-receipt to refuse a receipt with an altered content hash, it said {}",
        verdict.report
    );
    Ok(())
}

/// 64 hex digits (a SHA-256 size) that no other run deposits.
pub fn unique_content_hash() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:032x}{:032x}", u128::from(std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hashes_are_sha256_sized_hex_and_differ() {
        let a = unique_content_hash();
        std::thread::sleep(Duration::from_millis(1));
        let b = unique_content_hash();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
    }
}
