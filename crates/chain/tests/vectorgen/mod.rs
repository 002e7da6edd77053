//! The generator of the receipt format's test vectors (`tests/vectors/`): one block of four
//! transactions (a deposit, a key added, the anchor of a 3-item batch, a look-alike anchor of
//! another kind) and what a Byzantine quorum could certify, turned into genesis files,
//! receipts and tampered copies, each with the verdict every verifier must reach.

mod anchored;
mod genesis;
mod malformed;
mod refused;
mod steps;
mod valid;

use std::collections::BTreeMap;

use consortia_chain::block::Block;
use consortia_chain::genesis::Genesis;
use consortia_chain::merkle;
use consortia_chain::receipt::{AnchoredItem, AnchoredReceipt, Receipt, anchor_metadata};
use consortia_chain::tx::{HashAlg, Op, Tx};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{Net, key, wk};

pub const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");
pub const MANIFEST: &str = "vectors.json";
/// The genesis most cases are checked against.
const GF: &str = "genesis.json";

pub fn h(b: impl AsRef<[u8]>) -> String {
    hex::encode(b)
}

fn pretty<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap();
    out.push(b'\n');
    out
}

/// What a verifier must answer for one receipt.
enum Expect {
    /// The whole verdict object.
    Valid(Value),
    /// `{"valid": false, "code": …}` (the reason's wording is the implementation's).
    Invalid(&'static str),
}

#[derive(Default)]
struct Vectors {
    files: BTreeMap<String, Vec<u8>>,
    genesis: Vec<Value>,
    cases: Vec<Value>,
}

impl Vectors {
    /// A genesis file; `valid` ones carry the hashes a verifier must compute.
    fn genesis(&mut self, name: &str, text: Vec<u8>, about: &str) {
        let file = format!("genesis/{name}");
        let entry = match serde_json::from_slice::<Genesis>(&text)
            .ok()
            .filter(|g| g.validate().is_ok())
        {
            Some(g) => json!({"file": file, "valid": true, "hash": h(g.hash()),
                "validators_hash": h(g.validators_hash()), "about": about}),
            None => json!({"file": file, "valid": false, "about": about}),
        };
        self.genesis.push(entry);
        self.files.insert(file, text);
    }

    fn case(&mut self, name: &str, genesis: &str, text: Vec<u8>, expect: Expect, about: &str) {
        let file = format!("receipts/{name}.json");
        let verdict = match expect {
            Expect::Valid(v) => v,
            Expect::Invalid(code) => json!({"valid": false, "code": code}),
        };
        self.cases.push(
            json!({"name": name, "genesis": format!("genesis/{genesis}"),
            "receipt": file, "verdict": verdict, "about": about}),
        );
        assert!(
            self.files.insert(file, text).is_none(),
            "{name} named twice"
        );
    }
}

/// The verdict of a valid receipt, from the fixture's own data (not from the verifier).
fn valid(g: &Genesis, r: &Receipt, item: Option<&AnchoredReceipt>) -> Expect {
    let signed: u64 = r
        .certificate
        .signatures
        .iter()
        .map(|s| g.validators.power_of(s.validator as usize))
        .sum();
    Expect::Valid(json!({
        "valid": true,
        "receipt": {
            "chain_id": g.chain_id, "tx_hash": h(r.tx_hash), "height": r.height,
            "index": r.index, "block_hash": h(r.block_hash), "block_time_ms": r.header.time_ms,
            "account": r.tx.tx.account, "kind": r.tx.tx.op.kind(), "signed_power": signed,
            "total_power": g.validators.total_power(),
        },
        "anchored_item": item.map(|a| json!({"content_hash": h(&a.item.content_hash),
            "hash_alg": a.item.hash_alg.name(), "index": a.index, "size": a.size})),
    }))
}

/// A JSON value changed in place (`at` is a JSON pointer).
fn edit<T: Serialize>(v: &T, at: &str, f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut j = serde_json::to_value(v).unwrap();
    f(j.pointer_mut(at)
        .unwrap_or_else(|| panic!("{at} not in the receipt")));
    pretty(&j)
}

/// The batch of three the anchoring transaction commits to: one item per kind of digest
/// length and algorithm tag, one without metadata.
fn batch() -> Vec<AnchoredItem> {
    vec![
        AnchoredItem {
            hash_alg: HashAlg::Sha256,
            content_hash: Sha256::digest(b"invoice 2026-001").to_vec(),
            metadata: "{\"kind\":\"invoice\",\"n\":1}".into(),
        },
        AnchoredItem {
            hash_alg: HashAlg::Sm3,
            content_hash: (0..32u8).map(|i| 0xc0 ^ i).collect(),
            metadata: String::new(),
        },
        AnchoredItem {
            hash_alg: HashAlg::Sha512,
            content_hash: (0..64u8).map(|i| i.wrapping_mul(37)).collect(),
            metadata: "{\"kind\":\"scan\",\"pages\":12}".into(),
        },
    ]
}

/// The genesis hash's input, rebuilt here from the specification's words.
fn genesis_body(g: &Genesis) -> Vec<u8> {
    let validators: Vec<(String, [u8; 32], u64)> = g
        .validators
        .iter()
        .map(|v| (v.name.clone(), v.public_key, v.power))
        .collect();
    borsh::to_vec(&(
        &g.chain_id,
        g.genesis_time_ms,
        validators,
        &g.accounts,
        &g.params,
    ))
    .unwrap()
}

/// The vectors' chain: block 1, proposed in round 1 (so by validator (1 + 1) mod 4 = 2),
/// certified in round 1 by validators 1, 2 and 3 (power 9 of 10).
pub struct Chain {
    net: Net,
    block: Block,
    items: Vec<AnchoredItem>,
    leaves: Vec<consortia_chain::Hash>,
    root: consortia_chain::Hash,
    r_deposit: Receipt,
    r_add_key: Receipt,
    /// The batch's three items' receipts.
    anchored: Vec<AnchoredReceipt>,
}

impl Chain {
    fn new() -> Chain {
        let net = Net::new();
        let items = batch();
        let leaves: Vec<_> = items.iter().map(AnchoredItem::leaf).collect();
        let root = merkle::root(&leaves);
        let deposit = net.tx(
            "alice",
            1,
            Op::Deposit {
                hash_alg: HashAlg::Sha256,
                content_hash: Sha256::digest(b"the signed contract").to_vec(),
                metadata: "{\"kind\":\"contract\",\"title\":\"Größe 合同 \\\"v2\\\"\"}".into(),
                external_id: Some("C-2026-001".into()),
            },
        );
        // The largest expiry: 64-bit integers must be read exactly (not as doubles).
        let deposit = Tx {
            expiry_height: u64::MAX,
            ..deposit
        }
        .sign(&[&net.alice, &net.alice2]);
        let add_key = net
            .tx(
                "bob",
                1,
                Op::AddKey {
                    key: wk(&key(9), 2),
                },
            )
            .sign(&[&net.bob]);
        let anchor = net.deposit(2, root, &anchor_metadata(items.len() as u64));
        let wrong_kind = net.deposit(3, root, "{\"kind\":\"contract\",\"leaves\":3}");
        let block = net.block(vec![deposit, add_key, anchor, wrong_kind], 1);
        let r_deposit = net.receipt(&block, 0);
        let r_add_key = net.receipt(&block, 1);
        let r_anchor = net.receipt(&block, 2);
        let anchored: Vec<AnchoredReceipt> = (0..items.len())
            .map(|i| AnchoredReceipt {
                item: items[i].clone(),
                index: i as u64,
                size: items.len() as u64,
                path: merkle::proof(&leaves, i),
                anchor: r_anchor.clone(),
            })
            .collect();
        Chain {
            net,
            block,
            items,
            leaves,
            root,
            r_deposit,
            r_add_key,
            anchored,
        }
    }
}

/// Every file of `tests/vectors/`, by path.
pub fn generate() -> BTreeMap<String, Vec<u8>> {
    let c = Chain::new();
    let mut v = Vectors::default();
    genesis::add(&mut v, &c.net);
    valid::add(&mut v, &c);
    malformed::add(&mut v, &c);
    refused::add(&mut v, &c);
    anchored::add(&mut v, &c);
    let steps = steps::json(&c);
    let manifest = json!({
        "about": "Test vectors of the Consortia receipt format (crates/chain/RECEIPTS.md). Each case: check `receipt` against `genesis`; a verifier must reach `verdict` (for a valid receipt the whole object, for an invalid one `valid` and `code`). Genesis files marked valid: false must be refused before any receipt is looked at. Regenerate: cargo test -p consortia-chain --test vectors -- --ignored write_vectors",
        "genesis": v.genesis,
        "cases": v.cases,
        "steps": steps,
    });
    v.files.insert(MANIFEST.into(), pretty(&manifest));
    v.files
}

/// Compact JSON text of `v` with every object's members in reverse alphabetical order:
/// member order and whitespace carry no meaning.
fn reversed(v: &Value) -> String {
    match v {
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .rev()
                .map(|(k, x)| format!("{}:{}", Value::from(k.as_str()), reversed(x)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Array(a) => format!("[{}]", a.iter().map(reversed).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}
