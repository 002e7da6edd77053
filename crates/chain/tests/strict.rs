//! "Changing any byte of a receipt's JSON makes it fail" (issue 17 point 13): the JSON form
//! has one spelling (lowercase hex, no unknown fields), and what a Byzantine quorum could
//! certify but no honest node builds (a first block that does not follow the genesis, an
//! unsigned or twice-signed transaction, a header naming another round's proposer) is
//! refused too.

mod common;

use common::{Net, anchor_tx, anchored, items, key, receipt_with, wk};
use consortia_chain::genesis::Genesis;
use consortia_chain::receipt::{AnchoredReceipt, Receipt, verify_anchored, verify_receipt};
use consortia_chain::tx::{Op, TxSignature};
use serde_json::Value;

/// A plain deposit, a key added (key objects), and an anchored item's receipt.
fn receipts(net: &Net) -> (Receipt, Receipt, AnchoredReceipt) {
    let batch = items(3);
    let add_key = net
        .tx(
            "bob",
            1,
            Op::AddKey {
                key: wk(&key(9), 2),
            },
        )
        .sign(&[&net.bob]);
    let block = net.block(
        vec![
            net.deposit(1, [0xab; 32], "{\"kind\":\"contract\"}"),
            add_key,
            anchor_tx(net, 2, &batch),
        ],
        0,
    );
    let anchored = anchored(&block, 2, &batch, net).remove(1);
    (net.receipt(&block, 0), net.receipt(&block, 1), anchored)
}

/// Every JSON pointer in `v` with the value there.
fn walk<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    out.push((at.clone(), v));
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                walk(x, format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                walk(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn is_hex_with_letters(s: &str) -> bool {
    s.len() >= 2
        && s.len().is_multiple_of(2)
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && s.bytes().any(|b| b.is_ascii_alphabetic())
}

/// Whether the JSON text `v` is taken as a valid receipt (plain or anchored) or genesis.
type Accepts = dyn Fn(&Value) -> bool;

fn cases(net: &Net) -> Vec<(&'static str, Value, Box<Accepts>)> {
    let (deposit, add_key, item) = receipts(net);
    let g = net.genesis.clone();
    let (g1, g2) = (g.clone(), g.clone());
    vec![
        (
            "deposit receipt",
            serde_json::to_value(&deposit).unwrap(),
            Box::new(move |v| {
                serde_json::from_value::<Receipt>(v.clone())
                    .is_ok_and(|r| verify_receipt(&g, &r).is_ok())
            }),
        ),
        (
            "add-key receipt",
            serde_json::to_value(&add_key).unwrap(),
            Box::new(move |v| {
                serde_json::from_value::<Receipt>(v.clone())
                    .is_ok_and(|r| verify_receipt(&g1, &r).is_ok())
            }),
        ),
        (
            "anchored receipt",
            serde_json::to_value(&item).unwrap(),
            Box::new(move |v| {
                serde_json::from_value::<AnchoredReceipt>(v.clone())
                    .is_ok_and(|r| verify_anchored(&g2, &r).is_ok())
            }),
        ),
        (
            "genesis",
            serde_json::to_value(&net.genesis).unwrap(),
            Box::new(|v| {
                serde_json::from_value::<Genesis>(v.clone()).is_ok_and(|g| g.validate().is_ok())
            }),
        ),
    ]
}

#[test]
fn uppercase_hex_is_refused_everywhere() {
    let net = Net::new();
    let mut accepted = Vec::new();
    let mut tried = Vec::new();
    for (what, json, accepts) in cases(&net) {
        assert!(accepts(&json), "the genuine {what} is refused");
        let mut all = Vec::new();
        walk(&json, String::new(), &mut all);
        for (at, v) in all {
            let Some(s) = v.as_str().filter(|s| is_hex_with_letters(s)) else {
                continue;
            };
            let mut changed = json.clone();
            *changed.pointer_mut(&at).unwrap() = Value::from(s.to_ascii_uppercase());
            // One digit only, too: "any byte".
            let mut one = json.clone();
            let i = s.find(|c: char| c.is_ascii_alphabetic()).unwrap();
            let mut t = s.to_string();
            t.replace_range(i..=i, &s[i..=i].to_ascii_uppercase());
            *one.pointer_mut(&at).unwrap() = Value::from(t);
            for c in [changed, one] {
                if accepts(&c) {
                    accepted.push(format!("{what} {at}"));
                }
            }
            tried.push(format!("{what} {at}"));
        }
    }
    // Hex in every kind of place: hashes, the path, keys (account, signer, validator), both
    // kinds of signature, deposited content.
    for expected in [
        "deposit receipt /tx_hash",
        "deposit receipt /proof/0",
        "deposit receipt /header/prev_hash",
        "deposit receipt /tx/signatures/0/signature",
        "deposit receipt /tx/tx/op/deposit/content_hash",
        "deposit receipt /certificate/signatures/0/signature",
        "add-key receipt /tx/tx/op/add_key/key/public_key",
        "anchored receipt /item/content_hash",
        "anchored receipt /path/0",
        "anchored receipt /anchor/certificate/block_hash",
        "genesis /validators/0/public_key",
        "genesis /accounts/0/recovery_key",
    ] {
        assert!(tried.iter().any(|t| t == expected), "{expected} not tried");
    }
    assert!(
        accepted.is_empty(),
        "uppercase hex accepted at {accepted:#?}"
    );
}

#[test]
fn unknown_fields_are_refused_in_every_object() {
    let net = Net::new();
    let mut accepted = Vec::new();
    let mut tried = 0;
    for (what, json, accepts) in cases(&net) {
        let mut all = Vec::new();
        walk(&json, String::new(), &mut all);
        for (at, v) in all {
            if !v.is_object() {
                continue;
            }
            let mut changed = json.clone();
            changed
                .pointer_mut(&at)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .insert("note".into(), Value::from(0));
            tried += 1;
            if accepts(&changed) {
                accepted.push(format!("{what} {}", if at.is_empty() { "/" } else { &at }));
            }
        }
    }
    assert!(tried > 30, "{tried}");
    assert!(
        accepted.is_empty(),
        "an unknown field accepted in {accepted:#?}"
    );
}

#[test]
fn the_first_block_must_follow_the_genesis() {
    let net = Net::new();
    let txs = vec![net.deposit(1, [1; 32], "")];
    let mut other_prev = net.block(txs.clone(), 0);
    other_prev.header.prev_hash = [0x42; 32];
    let mut before_genesis = net.block(txs.clone(), 0);
    before_genesis.header.time_ms = net.genesis.genesis_time_ms - 1;
    for (what, block) in [
        ("a parent other than the genesis", other_prev),
        ("a time before the genesis", before_genesis),
    ] {
        let r = net.receipt(&block, 0);
        assert!(
            verify_receipt(&net.genesis, &r).is_err(),
            "block 1 with {what} verifies"
        );
    }
    // Right at the genesis time is fine.
    let mut at_genesis = net.block(txs, 0);
    at_genesis.header.time_ms = net.genesis.genesis_time_ms;
    verify_receipt(&net.genesis, &net.receipt(&at_genesis, 0)).unwrap();
}

/// Block validation refuses a transaction without signatures; so does the verifier.
#[test]
fn a_transaction_without_signatures_is_refused() {
    let net = Net::new();
    let mut unsigned = net.deposit(1, [1; 32], "");
    unsigned.signatures.clear();
    let block = net.block(vec![unsigned], 0);
    assert!(verify_receipt(&net.genesis, &net.receipt(&block, 0)).is_err());
}

/// One key's signature counts once: a transaction listing a key twice is refused (as block
/// validation refuses it), whether the entry is repeated or carries other bytes.
#[test]
fn a_transaction_signed_twice_by_one_key_is_refused() {
    let net = Net::new();
    let mut twice = net.deposit(1, [1; 32], "");
    let s = twice.signatures[0].clone();
    twice.signatures.push(s);
    let mut other_bytes = net.deposit(1, [1; 32], "");
    let mut sig = other_bytes.signatures[0].signature;
    sig[63] ^= 0x10;
    other_bytes.signatures.push(TxSignature {
        public_key: net.alice.verifying_key().to_bytes(),
        signature: sig,
    });
    for (what, tx) in [("repeated", twice), ("with other bytes", other_bytes)] {
        let block = net.block(vec![tx], 0);
        assert!(
            verify_receipt(&net.genesis, &net.receipt(&block, 0)).is_err(),
            "a key listed twice ({what}) verifies"
        );
    }
}

/// A block's header names the round it was proposed in and that round's proposer,
/// `(height + round) mod n`, and the certificate decides it in that round or later.
#[test]
fn the_header_names_its_rounds_proposer_and_is_decided_no_earlier() {
    let net = Net::new();
    let n = net.genesis.validators.len() as u32;
    let mut wrong = Vec::new();
    for round in 0..5u32 {
        for proposer in 0..n {
            let mut cert_rounds = vec![round.saturating_sub(1), round, round + 1];
            cert_rounds.dedup();
            for cert_round in cert_rounds {
                let mut block = net.block(vec![net.deposit(1, [1; 32], "")], round);
                block.header.proposer = proposer;
                let cert = net.certify(&block.header, cert_round, &[1, 2, 3]);
                let r = receipt_with(&block, &cert, 0);
                let honest = proposer == (1 + round) % n && cert_round >= round;
                if verify_receipt(&net.genesis, &r).is_ok() != honest {
                    wrong.push((round, proposer, cert_round, honest));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "(header round, proposer, certificate round, should verify) judged wrongly: {wrong:?}"
    );
}
