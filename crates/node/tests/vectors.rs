//! The receipt format's test vectors (`crates/chain/tests/vectors`) through the node: the
//! `verify-receipt` command reaches every vector's verdict, and the vectors' block is the one
//! a real ledger builds from the same transactions (its state root included).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use consortia_node::genesis::Genesis;
use consortia_node::ledger::Ledger;
use consortia_node::receipt::{AnchoredReceipt, Receipt};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_consortia-node");

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../chain/tests/vectors")
}

fn manifest() -> Value {
    serde_json::from_slice(&std::fs::read(dir().join("vectors.json")).unwrap()).unwrap()
}

#[test]
fn verify_receipt_reaches_every_vectors_verdict() {
    let m = manifest();
    let mut wrong = Vec::new();
    for c in m["cases"].as_array().unwrap() {
        let out = Command::new(BIN)
            .args(["verify-receipt", "--json", "--genesis"])
            .arg(dir().join(c["genesis"].as_str().unwrap()))
            .arg(dir().join(c["receipt"].as_str().unwrap()))
            .output()
            .unwrap();
        let got: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let want = &c["verdict"];
        let valid = want["valid"] == true;
        let same = out.status.success() == valid
            && if valid {
                &got == want
            } else {
                got["valid"] == false && got["code"] == want["code"]
            };
        if !same {
            wrong.push(format!(
                "{}: expected {want}, got {got} (exit {:?})",
                c["name"], out.status
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // A genesis the vectors mark invalid is refused before any receipt is read.
    for g in m["genesis"].as_array().unwrap() {
        if g["valid"] == false {
            let out = Command::new(BIN)
                .args(["verify-receipt", "--json", "--genesis"])
                .arg(dir().join(g["file"].as_str().unwrap()))
                .arg(dir().join("receipts/deposit.json"))
                .output()
                .unwrap();
            assert!(!out.status.success(), "{} accepted", g["file"]);
        }
    }
}

/// The vectors are built by hand (`crates/chain/tests/common`); a node given the same
/// transactions in round 1 builds the very same block, so they are what a chain produces.
#[test]
fn the_vectors_block_is_what_a_ledger_builds() {
    let read = |f: &str| std::fs::read(dir().join(f)).unwrap();
    let genesis: Genesis = serde_json::from_slice(&read("genesis/genesis.json")).unwrap();
    let deposit: Receipt = serde_json::from_slice(&read("receipts/deposit.json")).unwrap();
    let add_key: Receipt = serde_json::from_slice(&read("receipts/add-key.json")).unwrap();
    let anchored: AnchoredReceipt =
        serde_json::from_slice(&read("receipts/anchored-0.json")).unwrap();
    let wrong_kind: AnchoredReceipt =
        serde_json::from_slice(&read("receipts/anchored-wrong-kind.json")).unwrap();
    let txs = vec![
        deposit.tx.clone(),
        add_key.tx,
        anchored.anchor.tx,
        wrong_kind.anchor.tx,
    ];
    let tmp = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(&tmp.path().join("chain.redb"), genesis).unwrap();
    let h = &deposit.header;
    let (block, refused) = ledger.build(txs, h.round, h.proposer, h.time_ms);
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(&block.header, h);
    ledger.validate(&block, &HashSet::new(), h.time_ms).unwrap();
    ledger.commit(block, deposit.certificate.clone()).unwrap();
    let stored = Ledger::receipt(ledger.store(), &deposit.tx_hash)
        .unwrap()
        .unwrap();
    assert_eq!(stored, deposit, "the node's receipt is the vector");
}
