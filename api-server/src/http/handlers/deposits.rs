//! `/api/v1/deposits`: the evidence-deposit service. A tenant records a content hash (and
//! metadata) on one or more chains of its alliances and gets a receipt per chain that
//! verifies offline (`consortia-node verify-receipt --genesis …`). A deposit is answered only
//! after every chain committed it and it is stored, so an acknowledged deposit is never lost.

use crate::app::AppState;
use crate::db::entities::{chain, chain_block, deposit, deposit_receipt, idempotency_key};
use crate::domain::roles::Action;
use crate::http::problem::{ApiError, ApiResult, Problem};
use crate::http::views::PageQuery;
use crate::service::access::Caller;
use crate::store::alliances as alliance_db;
use crate::store::chains as db;
use crate::store::idempotency;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, TimeZone, Utc};
use consortia_chain::hexser;
use consortia_chain::receipt::{
    AnchoredItem, AnchoredPart, AnchoredReceipt, BlockSeal, Receipt, TxProof,
};
use consortia_chain::tx::{HashAlg, Op};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
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

fn sha256() -> String {
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

fn deposit_not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("deposit {id} not found"))
}

/// Checks the digest against its algorithm; returns it lower-case.
fn check_hash(alg: &str, hash: &str) -> Result<(HashAlg, String), ApiError> {
    let alg = HashAlg::parse(alg).ok_or_else(|| {
        ApiError::field(
            "/hash_alg",
            format!("unknown hash_alg {alg:?}: use sha256, sha3-256, sm3 or sha512"),
        )
    })?;
    let bytes = hex::decode(hash)
        .map_err(|_| ApiError::field("/content_hash", "content_hash must be hex"))?;
    if bytes.len() != alg.digest_len() {
        return Err(ApiError::field(
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

/// The tenant a deposit is made for.
fn depositing_tenant(who: &Caller, asked: Option<Uuid>) -> Result<Uuid, ApiError> {
    match (asked, who.token_tenant) {
        (Some(t), _) => Ok(t),
        (None, Some(t)) => Ok(t),
        (None, None) => Err(ApiError::field(
            "/tenant_id",
            "tenant_id is required unless the token is scoped to one tenant",
        )),
    }
}

/// Block seals by (chain, height), to assemble whole receipts (each decoded once).
type Seals = HashMap<(Uuid, i64), BlockSeal>;

/// A whole receipt from a stored row: its transaction's part and its block's seal.
fn whole_receipt(r: &deposit_receipt::Model, seals: &Seals) -> ApiResult<Value> {
    let stored = |e: serde_json::Error| ApiError::Internal(format!("stored receipt: {e}"));
    let seal = || {
        seals.get(&(r.chain_id, r.height)).cloned().ok_or_else(|| {
            ApiError::Internal(format!(
                "no stored seal for block {} of chain {}",
                r.height, r.chain_id
            ))
        })
    };
    // The formats refuse each other's fields, so at most one parse succeeds.
    if let Ok(part) = serde_json::from_str::<TxProof>(&r.receipt) {
        return serde_json::to_value(Receipt::assemble(part, seal()?)).map_err(stored);
    }
    if let Ok(part) = serde_json::from_str::<AnchoredPart>(&r.receipt) {
        return serde_json::to_value(AnchoredReceipt::assemble(part, seal()?)).map_err(stored);
    }
    // Rows written before seals were kept apart hold the whole receipt.
    let whole: Receipt = serde_json::from_str(&r.receipt).map_err(stored)?;
    serde_json::to_value(whole).map_err(stored)
}

fn receipt_view(r: deposit_receipt::Model, seals: Option<&Seals>) -> ApiResult<ReceiptView> {
    let receipt = match seals {
        Some(seals) => Some(whole_receipt(&r, seals)?),
        None => None,
    };
    Ok(ReceiptView {
        chain_id: r.chain_id,
        tx_hash: r.tx_hash,
        height: r.height as u64,
        committed_at: r.committed_at,
        receipt,
    })
}

async fn deposit_view(state: &AppState, d: deposit::Model) -> ApiResult<DepositView> {
    let receipts = db::receipts(&state.db, d.id).await?;
    let blocks: Vec<(Uuid, i64)> = receipts.iter().map(|r| (r.chain_id, r.height)).collect();
    let seals = db::seals(&state.db, &blocks)
        .await?
        .into_iter()
        .map(|(block, seal)| Ok((block, serde_json::from_str(&seal)?)))
        .collect::<Result<Seals, serde_json::Error>>()
        .map_err(|e| ApiError::Internal(format!("stored seal: {e}")))?;
    to_view(d, receipts, Some(&seals))
}

/// A deposit's view; whole receipts when `seals` are given.
fn to_view(
    d: deposit::Model,
    receipts: Vec<deposit_receipt::Model>,
    seals: Option<&Seals>,
) -> ApiResult<DepositView> {
    Ok(DepositView {
        id: d.id,
        tenant_id: d.tenant_id,
        hash_alg: d.hash_alg,
        content_hash: d.content_hash,
        metadata: serde_json::from_str(&d.metadata).unwrap_or(Value::Null),
        created_at: d.created_at,
        receipts: receipts
            .into_iter()
            .map(|r| receipt_view(r, seals))
            .collect::<ApiResult<_>>()?,
    })
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

/// Query of `POST /api/v1/deposits/batch`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BatchQuery {
    /// `summary` (default: chain, transaction, height and time per receipt) or `full`
    /// (the receipts themselves).
    pub receipts: Option<String>,
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
struct Checked {
    #[serde(with = "alg_name")]
    alg: HashAlg,
    hash: String,
    metadata: String,
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
struct Intent {
    kind: RequestKind,
    tenant: Uuid,
    chains: Vec<Uuid>,
    items: Vec<Checked>,
    merkle: bool,
    full: bool,
}

/// Which endpoint a request came to (its answer's shape).
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RequestKind {
    /// `POST /api/v1/deposits`: one deposit.
    Single,
    /// `POST /api/v1/deposits/batch`.
    Batch,
}

/// What a key's row keeps: the intent and who asked (not part of the comparison).
#[derive(Serialize, Deserialize)]
struct Remembered {
    intent: Intent,
    user: Option<Uuid>,
}

/// How long one attempt of a keyed request owns its key: two commit timeouts and slack.
fn lease() -> chrono::Duration {
    chrono::Duration::from_std(crate::service::signer::COMMIT_TIMEOUT * 2).unwrap_or_default()
        + chrono::Duration::seconds(30)
}

/// How long a key is remembered.
const KEY_TTL_HOURS: i64 = 24;

/// The key a request without `Idempotency-Key` is recorded under while it runs, so that a
/// request cut off between the chain and the database is finished all the same (by the
/// background sweep). It holds a space, which a client's key never does, and its row goes
/// when the deposits are recorded: nobody can replay it.
fn internal_key() -> String {
    format!("internal {}", Uuid::now_v7())
}

/// Whether a key is one the server made up ([`internal_key`]).
fn is_internal(key: &str) -> bool {
    key.starts_with("internal ")
}

/// The `Idempotency-Key` header: 1-255 visible ASCII characters.
fn idempotency_key(req: &HttpRequest) -> ApiResult<Option<String>> {
    let Some(v) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = v.to_str().unwrap_or_default();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(ApiError::BadRequest(
            "Idempotency-Key must be 1-255 visible ASCII characters".into(),
        ));
    }
    Ok(Some(key.to_string()))
}

/// Runs a deposit request, once per `Idempotency-Key`: a new key is claimed with the deposit
/// ids assigned now; a key already answered gets that answer again (`Idempotent-Replayed:
/// true`); a key whose attempt stopped between the chain and the database is taken over,
/// and what that attempt committed is found on chain by its ids instead of deposited again.
async fn execute(
    state: &AppState,
    who: &Caller,
    key: Option<String>,
    intent: Intent,
    chains: &[chain::Model],
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let mut ids: Vec<Uuid> = intent.items.iter().map(|_| Uuid::now_v7()).collect();
    let k = key.unwrap_or_else(internal_key);
    let internal = |e: serde_json::Error| ApiError::Internal(e.to_string());
    let wanted = serde_json::to_string(&intent).map_err(internal)?;
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(wanted.as_bytes()));
    // A `Remembered`, written around the intent's JSON instead of serialising it again.
    let request = format!(r#"{{"user":"{}","intent":{wanted}}}"#, who.user.id);
    let row = idempotency_key::Model {
        tenant_id: intent.tenant,
        key: k.clone(),
        request_sha256: sha.clone(),
        request,
        deposit_ids: serde_json::to_string(&ids).map_err(internal)?,
        state: "pending".into(),
        response: None,
        locked_until: now + lease(),
        created_at: now,
        expires_at: now + chrono::Duration::hours(KEY_TTL_HOURS),
    };
    let mut recover = false;
    if let idempotency::Claim::Existing(held) = idempotency::claim(&state.db, row).await? {
        if held.request_sha256 != sha {
            return Err(ApiError::field(
                "",
                format!("Idempotency-Key {k:?} was used for a different request"),
            ));
        }
        if let (true, Some(answer)) = (held.state == "done", held.response) {
            return Ok(HttpResponse::Created()
                .insert_header(("Idempotent-Replayed", "true"))
                .content_type("application/json")
                .body(answer));
        }
        if !idempotency::take_over(&state.db, intent.tenant, &k, now, now + lease()).await? {
            return Err(ApiError::Conflict(format!(
                "a request with Idempotency-Key {k:?} is in progress; retry when it ends"
            )));
        }
        ids = serde_json::from_str(&held.deposit_ids)
            .map_err(|e| ApiError::Internal(format!("stored deposit ids: {e}")))?;
        recover = true;
    }
    finish(state, who, &k, &intent, chains, &ids, recover).await
}

/// Deposits and records; on failure a keyed attempt gives its key up at once.
async fn finish(
    state: &AppState,
    who: &Caller,
    key: &str,
    intent: &Intent,
    chains: &[chain::Model],
    ids: &[Uuid],
    recover: bool,
) -> ApiResult<HttpResponse> {
    let done = deposit_all(state, Some(who.user.id), intent, chains, ids, recover, key).await;
    if done.is_err()
        && let Err(e) = idempotency::unlock(&state.db, intent.tenant, key, state.clock.now()).await
    {
        tracing::warn!(error = %e, "could not release an idempotency key");
    }
    let body = done?;
    if intent.kind == RequestKind::Single {
        who.created(ids[0]);
    }
    who.noted_tenant(intent.tenant);
    Ok(HttpResponse::Created()
        .content_type("application/json")
        .body(body))
}

/// Finishes deposit requests that stopped between the chain and the database (a crash, a
/// commit after the timeout): what reached a chain is found there by its deposit ids and
/// recorded (a request that reached some chains is completed on the others). A request none
/// of which reached any chain is not deposited here: its caller was told it failed. An
/// internal key is then dropped; a client's key stays, for its retry. Runs at start, then
/// every minute. Returns how many it finished.
pub async fn resume_deposits(state: &AppState) -> anyhow::Result<usize> {
    let now = state.clock.now();
    idempotency::sweep_expired(&state.db, now).await?;
    let mut n = 0;
    for held in idempotency::abandoned(&state.db, now).await? {
        if !idempotency::take_over(&state.db, held.tenant_id, &held.key, now, now + lease()).await?
        {
            continue;
        }
        let Remembered { intent, user } = serde_json::from_str(&held.request)?;
        let ids: Vec<Uuid> = serde_json::from_str(&held.deposit_ids)?;
        let mut chains = Vec::new();
        for id in &intent.chains {
            chains.extend(db::get(&state.db, *id).await?);
        }
        let done = if chains.len() != intent.chains.len() {
            Err(anyhow::anyhow!("a chain of the request is gone"))
        } else if !reached_a_chain(state, &intent, &ids, &chains).await? {
            if is_internal(&held.key) {
                idempotency::drop_key(&state.db, held.tenant_id, &held.key).await?;
            } else {
                idempotency::unlock(&state.db, held.tenant_id, &held.key, now).await?;
            }
            continue;
        } else {
            deposit_all(state, user, &intent, &chains, &ids, true, &held.key)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
        };
        match done {
            Ok(_) => n += 1,
            Err(e) => {
                tracing::warn!(tenant = %held.tenant_id, error = %format!("{e:#}"), "could not finish a keyed deposit request");
                idempotency::unlock(&state.db, held.tenant_id, &held.key, state.clock.now())
                    .await?;
            }
        }
    }
    Ok(n)
}

/// Whether any transaction of the request is on any of its chains.
async fn reached_a_chain(
    state: &AppState,
    intent: &Intent,
    ids: &[Uuid],
    chains: &[chain::Model],
) -> anyhow::Result<bool> {
    let ops = on_chain(intent, ids).ops;
    for c in chains {
        let found = state
            .signer
            .committed_before(c.id, intent.tenant, &ops)
            .await?;
        if found.iter().any(Option::is_some) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn check_item(
    at: &str,
    alg: &str,
    hash: &str,
    metadata: &Option<Value>,
) -> Result<Checked, ApiError> {
    let (alg, hash) = check_hash(alg, hash).map_err(|e| e.under(at))?;
    let metadata = match metadata {
        None | Some(Value::Null) => "{}".to_string(),
        Some(v @ Value::Object(_)) => v.to_string(),
        Some(_) => {
            return Err(ApiError::field(
                &format!("{at}/metadata"),
                "metadata must be a JSON object",
            ));
        }
    };
    if metadata.len() > MAX_METADATA_BYTES {
        return Err(ApiError::field(
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

/// The named chains, each of an alliance the tenant belongs to (else 404) and native.
async fn chains_for(state: &AppState, tenant: Uuid, ids: &[Uuid]) -> ApiResult<Vec<chain::Model>> {
    if ids.is_empty() || ids.len() > MAX_CHAINS {
        return Err(ApiError::field(
            "/chain_ids",
            format!("name 1 to {MAX_CHAINS} chains"),
        ));
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return Err(ApiError::field(
                &format!("/chain_ids/{i}"),
                format!("chain {id} is named twice"),
            ));
        }
    }
    let mut chains = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        // Only chains of the tenant's alliances exist for it.
        let c = db::get(&state.db, *id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("chain {id} not found")))?;
        if alliance_db::member(&state.db, c.alliance_id, tenant)
            .await?
            .is_none()
        {
            return Err(ApiError::NotFound(format!("chain {id} not found")));
        }
        if c.engine != "native" {
            return Err(ApiError::field(
                &format!("/chain_ids/{i}"),
                format!("chain {id} runs {}; deposits go to native chains", c.engine),
            ));
        }
        chains.push(c);
    }
    Ok(chains)
}

/// What a request puts on each chain.
struct OnChain {
    /// Anchored: the items as the leaves of one Merkle tree (empty otherwise)...
    anchored: Vec<AnchoredItem>,
    leaves: Vec<consortia_chain::Hash>,
    /// ...of which only the root goes on chain; else one deposit per item. Each names its
    /// deposit id (`external_id`), so an attempt's transactions can be found again.
    ops: Vec<Op>,
}

fn on_chain(intent: &Intent, ids: &[Uuid]) -> OnChain {
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

/// Deposits the intent's items (with the deposit ids `ids`) on every chain at once; answers
/// (the response body's JSON) only when all are committed and stored. `recover`: an earlier
/// attempt may have committed some, found by their ids instead of deposited again. The
/// `key` is marked answered (an internal one dropped) in the transaction that records the
/// deposits.
async fn deposit_all(
    state: &AppState,
    user: Option<Uuid>,
    intent: &Intent,
    chains: &[chain::Model],
    ids: &[Uuid],
    recover: bool,
    key: &str,
) -> ApiResult<String> {
    let (tenant, items, full, merkle) = (intent.tenant, &intent.items, intent.full, intent.merkle);
    let OnChain {
        anchored,
        leaves,
        ops,
    } = on_chain(intent, ids);
    let paths = consortia_chain::merkle::all_proofs(&leaves);
    let work = chains.iter().map(|c| {
        let ops = ops.clone();
        async move {
            let receipts = if recover {
                state.signer.commit_once(c.id, tenant, ops).await
            } else {
                state.signer.commit(c.id, tenant, ops).await
            }
            .map_err(|e| ApiError::Unavailable(format!("chain {}: {e:#}", c.id)))?;
            Ok::<_, ApiError>((c.id, receipts))
        }
    });
    let committed = futures_util::future::try_join_all(work).await?;
    let now = state.clock.now();
    // Each block's header and certificate once; each receipt keeps its own part only.
    let mut seals: Seals = HashMap::new();
    let mut blocks = Vec::new();
    for (chain, rs) in &committed {
        for r in rs {
            if let std::collections::hash_map::Entry::Vacant(e) =
                seals.entry((*chain, r.height as i64))
            {
                let seal = r.seal();
                blocks.push(chain_block::Model {
                    chain_id: *chain,
                    height: r.height as i64,
                    block_hash: hexser::encode(&r.block_hash),
                    seal: serde_json::to_string(&seal).expect("seals serialise"),
                });
                e.insert(seal);
            }
        }
    }
    // One order for every request: on PostgreSQL two requests naming the same chains in
    // different orders would otherwise lock the same seal rows in opposite orders.
    blocks.sort_by_key(|b| (b.chain_id, b.height));
    let mut rows = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        // Time-ordered ids (assigned by the caller): new rows land at the end of the
        // primary-key indexes instead of splitting pages all over them.
        let id = ids[i];
        let receipts: Vec<deposit_receipt::Model> = committed
            .iter()
            .map(|(chain, rs)| {
                let r = if merkle { &rs[0] } else { &rs[i] };
                let part = r.tx_proof();
                let receipt = if merkle {
                    serde_json::to_string(&AnchoredPart {
                        item: anchored[i].clone(),
                        index: i as u64,
                        size: anchored.len() as u64,
                        path: paths[i].clone(),
                        anchor: part,
                    })
                } else {
                    serde_json::to_string(&part)
                }
                .expect("receipts serialise");
                deposit_receipt::Model {
                    deposit_id: id,
                    chain_id: *chain,
                    tx_hash: hexser::encode(&r.tx_hash),
                    height: r.height as i64,
                    committed_at: Utc
                        .timestamp_millis_opt(r.header.time_ms as i64)
                        .single()
                        .unwrap_or(now),
                    receipt,
                }
            })
            .collect();
        let row = deposit::Model {
            id,
            tenant_id: tenant,
            hash_alg: item.alg.name().into(),
            content_hash: item.hash.clone(),
            metadata: item.metadata.clone(),
            created_by: user,
            created_at: now,
        };
        rows.push((row, receipts));
    }
    let mut views = rows
        .iter()
        .cloned()
        .map(|(d, r)| to_view(d, r, full.then_some(&seals)))
        .collect::<ApiResult<Vec<_>>>()?;
    let body = if intent.kind == RequestKind::Single {
        serde_json::to_string(&views.remove(0))
    } else {
        serde_json::to_string(&DepositBatch { deposits: views })
    }
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let txn = state.db.begin().await?;
    db::insert_deposits(&txn, rows, blocks).await?;
    if is_internal(key) {
        idempotency::drop_key(&txn, tenant, key).await?;
    } else {
        idempotency::complete(&txn, tenant, key, body.clone()).await?;
    }
    txn.commit().await?;
    Ok(body)
}

/// Records a content hash on each named chain and answers with a receipt per chain.
#[utoipa::path(post, path = "/api/v1/deposits", operation_id = "createDeposit", tag = "deposits", request_body = CreateDeposit,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters: a retry with the same key and request gets the first answer (`Idempotent-Replayed: true`) and never deposits twice; kept 24 hours")),
    responses((status = 201, body = DepositView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "A request with this Idempotency-Key is in progress", body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    who: Caller,
    req: HttpRequest,
    body: web::Json<CreateDeposit>,
) -> ApiResult<HttpResponse> {
    let key = idempotency_key(&req)?;
    let tenant = depositing_tenant(&who, body.tenant_id)?;
    state
        .access
        .role_in(&who, tenant, Action::WriteWorkloads)
        .await?;
    let item = check_item("", &body.hash_alg, &body.content_hash, &body.metadata)?;
    let chains = chains_for(&state, tenant, &body.chain_ids).await?;
    let intent = Intent {
        kind: RequestKind::Single,
        tenant,
        chains: chains.iter().map(|c| c.id).collect(),
        items: vec![item],
        merkle: false,
        full: true,
    };
    execute(&state, &who, key, intent, &chains).await
}

/// Records up to 1000 content hashes on each named chain in one go (one transaction batch
/// per chain, one database transaction); answers with every deposit and its receipts.
#[utoipa::path(post, path = "/api/v1/deposits/batch", operation_id = "createDepositBatch", tag = "deposits", request_body = CreateDeposits,
    params(BatchQuery, ("Idempotency-Key" = Option<String>, Header, description = "As for `POST /api/v1/deposits`")),
    responses((status = 201, body = DepositBatch), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "A request with this Idempotency-Key is in progress", body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_batch(
    state: web::Data<AppState>,
    who: Caller,
    req: HttpRequest,
    q: web::Query<BatchQuery>,
    body: web::Json<CreateDeposits>,
) -> ApiResult<HttpResponse> {
    let key = idempotency_key(&req)?;
    let tenant = depositing_tenant(&who, body.tenant_id)?;
    state
        .access
        .role_in(&who, tenant, Action::WriteWorkloads)
        .await?;
    if body.items.is_empty() || body.items.len() > MAX_BATCH {
        return Err(ApiError::field(
            "/items",
            format!("send 1 to {MAX_BATCH} items"),
        ));
    }
    let items = body
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            check_item(
                &format!("/items/{i}"),
                &it.hash_alg,
                &it.content_hash,
                &it.metadata,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let chains = chains_for(&state, tenant, &body.chain_ids).await?;
    let full = match q.receipts.as_deref() {
        None | Some("summary") => false,
        Some("full") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "receipts={other:?}: use summary (the default) or full"
            )));
        }
    };
    let merkle = match body.anchor.as_deref() {
        None | Some("each") => false,
        Some("merkle") => true,
        Some(other) => {
            return Err(ApiError::field(
                "/anchor",
                format!("anchor {other:?}: use each (the default) or merkle"),
            ));
        }
    };
    let intent = Intent {
        kind: RequestKind::Batch,
        tenant,
        chains: chains.iter().map(|c| c.id).collect(),
        items,
        merkle,
        full,
    };
    execute(&state, &who, key, intent, &chains).await
}

/// A deposit with its receipts.
#[utoipa::path(get, path = "/api/v1/deposits/{deposit_id}", operation_id = "getDeposit", tag = "deposits",
    params(("deposit_id" = Uuid, Path)),
    responses((status = 200, body = DepositView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    who: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let d = db::deposit(&state.db, id)
        .await?
        .ok_or_else(|| deposit_not_found(id))?;
    state
        .access
        .role_in(&who, d.tenant_id, Action::Read)
        .await
        .map_err(ApiError::from)
        .map_err(|e| match e {
            ApiError::NotFound(_) | ApiError::Forbidden(_) => deposit_not_found(id),
            other => other,
        })?;
    Ok(HttpResponse::Ok().json(deposit_view(&state, d).await?))
}

/// Where and when a content hash was deposited, among the caller's tenants' deposits.
#[utoipa::path(post, path = "/api/v1/deposits/verify", operation_id = "verifyDeposit", tag = "deposits", request_body = VerifyDeposit, params(PageQuery),
    responses((status = 200, body = Verification), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn verify(
    state: web::Data<AppState>,
    who: Caller,
    q: web::Query<PageQuery>,
    body: web::Json<VerifyDeposit>,
) -> ApiResult<HttpResponse> {
    let req = q.page()?;
    let (_, content_hash) = check_hash(&body.hash_alg, &body.content_hash)?;
    let tenants: Vec<Uuid> = match body.tenant_id.or(who.token_tenant) {
        Some(t) => {
            state.access.role_in(&who, t, Action::Read).await?;
            vec![t]
        }
        None => state.access.own_tenants(&who).await?,
    };
    let rows = db::deposits_of_hash(&state.db, &tenants, &content_hash, &req).await?;
    let (rows, next_cursor) = crate::domain::pagination::finish(rows, &req, |d| d.id.to_string());
    let mut deposits = Vec::with_capacity(rows.len());
    for d in rows {
        deposits.push(deposit_view(&state, d).await?);
    }
    Ok(HttpResponse::Ok().json(Verification {
        content_hash,
        deposited: !deposits.is_empty(),
        deposits,
        next_cursor,
    }))
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        POST "/api/v1/deposits" => create,
        POST "/api/v1/deposits/batch" => create_batch,
        POST "/api/v1/deposits/verify" => verify,
        GET "/api/v1/deposits/{deposit_id}" => get,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, create_batch, get, verify))]
pub struct Doc;
