//! A receipt file's verdict: what `consortia-node verify-receipt` prints and what the test
//! vectors pin (`crates/chain/RECEIPTS.md`, "Verdicts"). The JSON text decides the kind of
//! receipt (an object with an `anchor` member is an anchored one), text that is not a
//! receipt of that kind is `malformed`, and the rest is the verifier's.

use serde::Serialize;
use serde_json::{Value, json};

use crate::genesis::Genesis;
use crate::receipt::{AnchoredReceipt, Receipt, VerifiedReceipt, verify_anchored, verify_receipt};
use crate::tx::HashAlg;

/// The code of a receipt whose JSON is not a receipt (bad syntax, a missing, unknown or
/// repeated field, a value of the wrong type or range, hex that is not lowercase).
pub const MALFORMED: &str = "malformed";

/// The item an anchored receipt proves, and its place in its batch.
#[derive(Clone, Debug, Serialize)]
pub struct AnchoredSummary {
    #[serde(with = "consortia_bft::hexser::bytes")]
    pub content_hash: Vec<u8>,
    pub hash_alg: HashAlg,
    pub index: u64,
    pub size: u64,
}

/// The outcome of checking one receipt file against a genesis.
#[derive(Clone, Debug)]
pub enum Verdict {
    Valid {
        receipt: VerifiedReceipt,
        /// For an anchored receipt, the item it proves.
        anchored_item: Option<AnchoredSummary>,
    },
    Invalid {
        /// The reason's stable name ([`crate::receipt::ReceiptError::code`] or [`MALFORMED`]).
        code: &'static str,
        /// The reason for people.
        reason: String,
    },
}

/// Checks the JSON text of a plain or anchored receipt against `genesis` (already validated).
pub fn check(genesis: &Genesis, text: &[u8]) -> Verdict {
    let anchored = serde_json::from_slice::<Value>(text)
        .ok()
        .is_some_and(|v| v.get("anchor").is_some());
    let malformed = |e: serde_json::Error| Verdict::Invalid {
        code: MALFORMED,
        reason: format!("not a receipt: {e}"),
    };
    let outcome = if anchored {
        match serde_json::from_slice::<AnchoredReceipt>(text) {
            Ok(r) => verify_anchored(genesis, &r).map(|v| {
                let item = AnchoredSummary {
                    content_hash: r.item.content_hash,
                    hash_alg: r.item.hash_alg,
                    index: r.index,
                    size: r.size,
                };
                (v, Some(item))
            }),
            Err(e) => return malformed(e),
        }
    } else {
        match serde_json::from_slice::<Receipt>(text) {
            Ok(r) => verify_receipt(genesis, &r).map(|v| (v, None)),
            Err(e) => return malformed(e),
        }
    };
    match outcome {
        Ok((receipt, anchored_item)) => Verdict::Valid {
            receipt,
            anchored_item,
        },
        Err(e) => Verdict::Invalid {
            code: e.code(),
            reason: e.to_string(),
        },
    }
}

impl Verdict {
    pub fn is_valid(&self) -> bool {
        matches!(self, Verdict::Valid { .. })
    }

    /// `{"valid": true, "receipt": {…}, "anchored_item": {…} | null}` or
    /// `{"valid": false, "code": "…", "reason": "…"}`.
    pub fn to_json(&self) -> Value {
        match self {
            Verdict::Valid {
                receipt,
                anchored_item,
            } => json!({"valid": true, "receipt": receipt, "anchored_item": anchored_item}),
            Verdict::Invalid { code, reason } => {
                json!({"valid": false, "code": code, "reason": reason})
            }
        }
    }

    /// One line for people: `VALID: …` or `INVALID: …`.
    pub fn text(&self) -> String {
        match self {
            Verdict::Invalid { reason, .. } => format!("INVALID: {reason}"),
            Verdict::Valid {
                receipt: v,
                anchored_item,
            } => {
                let lead = match anchored_item {
                    Some(a) => format!(
                        "VALID: {} is item {} of {} anchored by transaction",
                        hex::encode(&a.content_hash),
                        a.index,
                        a.size
                    ),
                    None => "VALID: transaction".to_string(),
                };
                format!(
                    "{lead} {} ({} by {}) is in block {} (hash {}) at index {}, \
                     signed by validators holding {}/{} of the voting power",
                    hex::encode(v.tx_hash),
                    v.kind,
                    v.account,
                    v.height,
                    hex::encode(v.block_hash),
                    v.index,
                    v.signed_power,
                    v.total_power
                )
            }
        }
    }
}
