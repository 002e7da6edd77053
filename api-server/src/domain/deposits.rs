//! The evidence-deposit service's vocabulary: requests, the answer (stored verbatim for an
//! idempotent retry), the checks of a digest and its metadata, what a request puts on a
//! chain, and how a stored receipt is made whole again. Pure: the depositing is in
//! `service::deposits`.

use crate::domain::error::{Error, Result};
use crate::domain::status::status_enum;
use chrono::{DateTime, Utc};
use consortia_chain::receipt::AnchoredItem;
use consortia_chain::tx::{HashAlg, Op};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Most chains one deposit may go to.
pub const MAX_CHAINS: usize = 16;
/// Largest metadata, as JSON text (the chain's `max_metadata_bytes`).
pub const MAX_METADATA_BYTES: usize = 4096;

/// Body of `POST /api/v1/deposits`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDeposit {
    /// The depositing tenant; may be omitted with a token scoped to one tenant.
    #[serde(default)]
    pub tenant_id: Option<Uuid>,
    /// The content's digest, hex.
    pub content_hash: String,
    /// `sha256` (default), `sha3-256`, `sm3` or `sha512`.
    #[serde(default = "sha256")]
    pub hash_alg: String,
    /// Any JSON object, at most 4096 bytes as text.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Option<Value>,
    /// Chains to deposit on (1–16), each of an alliance the tenant belongs to.
    pub chain_ids: Vec<Uuid>,
}

pub fn sha256() -> String {
    "sha256".into()
}

/// Body of `POST /api/v1/deposits/verify`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyDeposit {
    /// Look among this tenant's deposits (default: every tenant of the caller).
    #[serde(default)]
    pub tenant_id: Option<Uuid>,
    pub content_hash: String,
    #[serde(default = "sha256")]
    pub hash_alg: String,
}

/// Query of `GET /api/v1/deposits`: whose deposits, on which chain, from when to when.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DepositQuery {
    /// This tenant's deposits (default: every tenant of the caller, as its credential acts).
    pub tenant_id: Option<Uuid>,
    /// Only deposits with a receipt on this chain.
    pub chain_id: Option<Uuid>,
    /// Deposited at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Deposited before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

impl DepositQuery {
    /// Refuses a time window that ends before it starts.
    pub fn check(&self) -> Result<()> {
        match (self.since, self.until) {
            (Some(s), Some(u)) if u <= s => {
                Err(Error::Malformed("until must be later than since".into()))
            }
            _ => Ok(()),
        }
    }
}

/// Where and when a deposit was committed on one chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptView {
    pub chain_id: Uuid,
    pub tx_hash: String,
    pub height: u64,
    /// The block's time.
    pub committed_at: DateTime<Utc>,
    /// The receipt: verify it offline against the chain's genesis. Left out of batch
    /// answers unless `?receipts=full` (read it with `GET /api/v1/deposits/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub receipt: Option<Value>,
}

/// A deposit and its receipts.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepositView {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub hash_alg: String,
    pub content_hash: String,
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
    pub receipts: Vec<ReceiptView>,
}

/// The answer of `verify`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    pub content_hash: String,
    /// Whether any deposit of this content exists.
    pub deposited: bool,
    /// Oldest first, a page at a time (`limit`, `cursor` in the query).
    pub deposits: Vec<DepositView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Not found, in the words every deposit lookup uses.
pub fn deposit_not_found(id: Uuid) -> Error {
    Error::NotFound(format!("deposit {id} not found"))
}

/// Checks the digest against its algorithm; returns it lower-case.
pub fn check_hash(alg: &str, hash: &str) -> Result<(HashAlg, String)> {
    let alg = HashAlg::parse(alg).ok_or_else(|| {
        Error::field(
            "/hash_alg",
            format!("unknown hash_alg {alg:?}: use sha256, sha3-256, sm3 or sha512"),
        )
    })?;
    let bytes =
        hex::decode(hash).map_err(|_| Error::field("/content_hash", "content_hash must be hex"))?;
    if bytes.len() != alg.digest_len() {
        return Err(Error::field(
            "/content_hash",
            format!(
                "a {} digest is {} bytes ({} hex digits); this one is {} bytes",
                alg.name(),
                alg.digest_len(),
                alg.digest_len() * 2,
                bytes.len()
            ),
        ));
    }
    Ok((alg, hash.to_ascii_lowercase()))
}

/// The tenant a deposit is made for: the one asked, else the one the credential is scoped
/// to.
pub fn depositing_tenant(asked: Option<Uuid>, token_tenant: Option<Uuid>) -> Result<Uuid> {
    match (asked, token_tenant) {
        (Some(t), _) => Ok(t),
        (None, Some(t)) => Ok(t),
        (None, None) => Err(Error::field(
            "/tenant_id",
            "tenant_id is required unless the token is scoped to one tenant",
        )),
    }
}

/// One item of a batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositItem {
    pub content_hash: String,
    #[serde(default = "sha256")]
    pub hash_alg: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Option<Value>,
}

/// Body of `POST /api/v1/deposits/batch`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDeposits {
    #[serde(default)]
    pub tenant_id: Option<Uuid>,
    /// Chains every item goes to (1–16).
    pub chain_ids: Vec<Uuid>,
    /// 1–1000 deposits.
    pub items: Vec<DepositItem>,
    /// `each` (default): every item is its own transaction, indexed by the chain itself.
    /// `merkle`: the items are the leaves of a Merkle tree and one transaction per chain
    /// deposits its root; each receipt is the item's inclusion path plus that transaction's
    /// receipt (`consortia-node verify-receipt` checks both). Far cheaper for the chain;
    /// the chain's own content-hash index then knows the root, not each item.
    #[serde(default)]
    pub anchor: Option<String>,
}

/// The answer of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepositBatch {
    pub deposits: Vec<DepositView>,
}

/// Most items in one batch.
pub const MAX_BATCH: usize = 1000;

/// A checked deposit: algorithm, lower-case hex digest, metadata as JSON text.
#[derive(Serialize, Deserialize)]
pub struct Checked {
    #[serde(with = "alg_name")]
    pub alg: HashAlg,
    pub hash: String,
    pub metadata: String,
}

/// A hash algorithm by its name, as stored with an idempotency key.
mod alg_name {
    use consortia_chain::tx::HashAlg;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(a: &HashAlg, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(a.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<HashAlg, D::Error> {
        let name = String::deserialize(d)?;
        HashAlg::parse(&name).ok_or_else(|| D::Error::custom(format!("hash_alg {name:?}")))
    }
}

/// A checked deposit request: what an idempotency key remembers, and what a retry with the
/// same key must ask for again (compared by the SHA-256 of this JSON).
#[derive(Serialize, Deserialize)]
pub struct Intent {
    pub kind: RequestKind,
    pub tenant: Uuid,
    pub chains: Vec<Uuid>,
    pub items: Vec<Checked>,
    pub merkle: bool,
    pub full: bool,
}

/// Which endpoint a request came to (its answer's shape).
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// `POST /api/v1/deposits`: one deposit.
    Single,
    /// `POST /api/v1/deposits/batch`.
    Batch,
}

/// What a key's row keeps: the intent and who asked (not part of the comparison).
#[derive(Serialize, Deserialize)]
pub struct Remembered {
    pub intent: Intent,
    pub user: Option<Uuid>,
}

/// How long a key is remembered.
pub const KEY_TTL_HOURS: i64 = 24;

status_enum! {
    /// Where a keyed deposit request stands.
    KeyState {
        /// Taken by an attempt (or cut off): its deposits may not all be recorded yet.
        Pending = "pending",
        /// Answered: a retry replays the stored answer.
        Done = "done",
    }
}

/// The key a request without `Idempotency-Key` is recorded under while it runs, so that a
/// request cut off between the chain and the database is finished all the same (by the
/// background sweep). It holds a space, which a client's key never does, and its row goes
/// when the deposits are recorded: nobody can replay it.
pub fn internal_key() -> String {
    format!("internal {}", Uuid::now_v7())
}

/// Whether a key is one the server made up ([`internal_key`]).
pub fn is_internal(key: &str) -> bool {
    key.starts_with("internal ")
}

pub fn check_item(at: &str, alg: &str, hash: &str, metadata: &Option<Value>) -> Result<Checked> {
    let (alg, hash) = check_hash(alg, hash).map_err(|e| e.under(at))?;
    let metadata = match metadata {
        None | Some(Value::Null) => "{}".to_string(),
        Some(v @ Value::Object(_)) => v.to_string(),
        Some(_) => {
            return Err(Error::field(
                &format!("{at}/metadata"),
                "metadata must be a JSON object",
            ));
        }
    };
    if metadata.len() > MAX_METADATA_BYTES {
        return Err(Error::field(
            &format!("{at}/metadata"),
            format!(
                "metadata is {} bytes as JSON; at most {MAX_METADATA_BYTES}",
                metadata.len()
            ),
        ));
    }
    Ok(Checked {
        alg,
        hash,
        metadata,
    })
}

/// What a request puts on each chain.
pub struct OnChain {
    /// Anchored: the items as the leaves of one Merkle tree (empty otherwise)...
    pub anchored: Vec<AnchoredItem>,
    pub leaves: Vec<consortia_chain::Hash>,
    /// ...of which only the root goes on chain; else one deposit per item. Each names its
    /// deposit id (`external_id`), so an attempt's transactions can be found again.
    pub ops: Vec<Op>,
}

pub fn on_chain(intent: &Intent, ids: &[Uuid]) -> OnChain {
    if intent.merkle {
        let anchored: Vec<AnchoredItem> = intent
            .items
            .iter()
            .map(|c| AnchoredItem {
                hash_alg: c.alg,
                content_hash: hex::decode(&c.hash).expect("checked"),
                metadata: c.metadata.clone(),
            })
            .collect();
        let leaves: Vec<consortia_chain::Hash> = anchored.iter().map(AnchoredItem::leaf).collect();
        let ops = vec![Op::Deposit {
            hash_alg: HashAlg::Sha256,
            content_hash: consortia_chain::merkle::root(&leaves).to_vec(),
            // The one spelling verify_anchored checks against (RECEIPTS.md).
            metadata: consortia_chain::receipt::anchor_metadata(leaves.len() as u64),
            external_id: Some(format!("anchor-{}", ids[0])),
        }];
        OnChain {
            anchored,
            leaves,
            ops,
        }
    } else {
        let ops = intent
            .items
            .iter()
            .zip(ids)
            .map(|(c, id)| Op::Deposit {
                hash_alg: c.alg,
                content_hash: hex::decode(&c.hash).expect("checked"),
                metadata: c.metadata.clone(),
                external_id: Some(id.to_string()),
            })
            .collect();
        OnChain {
            anchored: Vec::new(),
            leaves: Vec::new(),
            ops,
        }
    }
}
