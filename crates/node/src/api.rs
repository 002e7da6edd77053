//! The node's REST API (JSON). Errors are `{"error": {"code": "...", "message": "..."}}`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use consortia_bft::Hash;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::admission::admit;
use crate::block::{BlockPage, CommittedBlock};
use crate::error::TxError;
use crate::ledger::Ledger;
use crate::limits::{MAX_BATCH, MAX_BATCH_BYTES, MAX_PAGE_BLOCKS, MAX_TX_BODY, PAGE_BYTES};
use crate::shared::{Role, Shared};
use crate::tx::SignedTx;

/// Longest a client may wait for a block.
const MAX_WAIT_MS: u64 = 30_000;
const DEFAULT_PAGE_BLOCKS: u32 = 16;

type S = State<Arc<Shared>>;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/v1/txs",
            post(submit).layer(DefaultBodyLimit::max(MAX_TX_BODY)),
        )
        .route(
            "/v1/txs/batch",
            post(submit_batch).layer(DefaultBodyLimit::max(MAX_BATCH_BYTES)),
        )
        .route("/v1/txs/{hash}", get(tx_status))
        .route("/v1/txs/{hash}/receipt", get(receipt))
        .route("/v1/blocks", get(blocks))
        .route("/v1/blocks/latest", get(latest_block))
        .route("/v1/blocks/{height}", get(block))
        .route("/v1/blocks/{height}/tx-hashes", get(block_tx_hashes))
        .route("/v1/accounts/{id}", get(account))
        .route("/v1/deposits/{content_hash}", get(deposits))
        .route("/v1/status", get(status))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .with_state(shared)
}

/// An error answer.
pub struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// The answer of an observer to a transaction submission.
    fn observer() -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "observer",
            "this node is an observer: it follows the chain but accepts no transactions; \
             submit transactions to a validator",
        )
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "malformed",
        };
        let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        ApiError::new(status, code, r.body_text())
    }
}

impl From<TxError> for ApiError {
    fn from(e: TxError) -> Self {
        let code = e.code();
        let status = match e {
            TxError::MempoolFull => StatusCode::SERVICE_UNAVAILABLE,
            TxError::Duplicate | TxError::NonceTaken(_) => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let mut err = ApiError::new(status, code, e.to_string());
        if matches!(e, TxError::MempoolFull) {
            err.retry_after = Some(1);
        }
        err
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

fn parse_hash(s: &str) -> Result<Hash, ApiError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_hash",
            "expected a 32-byte hash as 64 hex digits",
        )
    })?;
    Ok(out)
}

fn parse_height(s: &str) -> Result<u64, ApiError> {
    s.parse::<u64>().ok().filter(|h| *h >= 1).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_height",
            "height is a positive integer",
        )
    })
}

#[derive(Serialize)]
struct Submitted {
    tx_hash: String,
    status: &'static str,
}

async fn submit(
    State(s): S,
    body: Result<Json<SignedTx>, JsonRejection>,
) -> Result<(StatusCode, Json<Submitted>), ApiError> {
    if s.is_observer() {
        return Err(ApiError::observer());
    }
    let Json(tx) = body?;
    let s2 = s.clone();
    let r = tokio::task::spawn_blocking(move || admit(&s2, vec![tx], true))
        .await
        .map_err(ApiError::internal)?;
    let hash = r
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("no verdict"))??;
    Ok((
        StatusCode::ACCEPTED,
        Json(Submitted {
            tx_hash: hex::encode(hash),
            status: "pending",
        }),
    ))
}

#[derive(Serialize)]
struct BatchItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    tx_hash: Option<String>,
    accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<serde_json::Value>,
}

async fn submit_batch(
    State(s): S,
    body: Result<Json<Vec<SignedTx>>, JsonRejection>,
) -> Result<Response, ApiError> {
    if s.is_observer() {
        return Err(ApiError::observer());
    }
    let Json(txs) = body?;
    if txs.is_empty() || txs.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_batch",
            format!("a batch holds 1 to {MAX_BATCH} transactions"),
        ));
    }
    let s2 = s.clone();
    let results = tokio::task::spawn_blocking(move || admit(&s2, txs, true))
        .await
        .map_err(ApiError::internal)?;
    let all_full = results
        .iter()
        .all(|r| matches!(r, Err(TxError::MempoolFull)));
    if all_full {
        return Err(TxError::MempoolFull.into());
    }
    let items: Vec<BatchItem> = results
        .into_iter()
        .map(|r| match r {
            Ok(h) => BatchItem {
                tx_hash: Some(hex::encode(h)),
                accepted: true,
                error: None,
            },
            Err(e) => BatchItem {
                tx_hash: None,
                accepted: false,
                error: Some(json!({"code": e.code(), "message": e.to_string()})),
            },
        })
        .collect();
    Ok(Json(json!({ "results": items })).into_response())
}

async fn tx_status(
    State(s): S,
    Path(hash): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let hash = parse_hash(&hash)?;
    if let Some((height, index)) = s.store.tx_location(&hash).map_err(ApiError::internal)? {
        return Ok(Json(
            json!({"tx_hash": hex::encode(hash), "status": "committed", "height": height, "index": index}),
        ));
    }
    if s.mempool
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&hash)
    {
        return Ok(Json(
            json!({"tx_hash": hex::encode(hash), "status": "pending"}),
        ));
    }
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_tx",
        "no such transaction",
    ))
}

async fn receipt(State(s): S, Path(hash): Path<String>) -> Result<Response, ApiError> {
    let hash = parse_hash(&hash)?;
    match Ledger::receipt(&s.store, &hash).map_err(ApiError::internal)? {
        Some(r) => Ok(Json(r).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_committed",
            "the transaction is not committed (yet)",
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitQuery {
    wait_ms: Option<u64>,
}

async fn wait_for_height(s: &Shared, height: u64, wait_ms: Option<u64>) {
    let Some(ms) = wait_ms else { return };
    let mut rx = s.height.clone();
    let _ = tokio::time::timeout(
        Duration::from_millis(ms.min(MAX_WAIT_MS)),
        rx.wait_for(|h| *h >= height),
    )
    .await;
}

async fn get_block(s: &Shared, height: u64) -> Result<CommittedBlock, ApiError> {
    s.store
        .block(height)
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_block",
                "no block at that height",
            )
        })
}

async fn latest_block(State(s): S) -> Result<Json<CommittedBlock>, ApiError> {
    let h = *s.height.borrow();
    if h == 0 {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_block",
            "no block yet",
        ));
    }
    Ok(Json(get_block(&s, h).await?))
}

async fn block(
    State(s): S,
    Path(height): Path<String>,
    q: Result<Query<WaitQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CommittedBlock>, ApiError> {
    let height = parse_height(&height)?;
    let Query(q) =
        q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text()))?;
    wait_for_height(&s, height, q.wait_ms).await;
    Ok(Json(get_block(&s, height).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    from: u64,
    limit: Option<u32>,
    wait_ms: Option<u64>,
}

/// Consecutive committed blocks with their certificates from `from`: what an observer
/// follows. With `wait_ms`, waits (long poll) until block `from` exists; an empty page means
/// it does not yet.
async fn blocks(
    State(s): S,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<BlockPage>, ApiError> {
    let Query(q) =
        q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text()))?;
    if q.from == 0 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_height",
            "from is a positive height",
        ));
    }
    let limit = q.limit.unwrap_or(DEFAULT_PAGE_BLOCKS);
    if limit == 0 || limit > MAX_PAGE_BLOCKS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_limit",
            format!("limit is 1 to {MAX_PAGE_BLOCKS} blocks"),
        ));
    }
    wait_for_height(&s, q.from, q.wait_ms).await;
    let height = *s.height.borrow();
    let store = s.store.clone();
    let blocks =
        tokio::task::spawn_blocking(move || store.blocks_from(q.from, limit as usize, PAGE_BYTES))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
    // A block stored after `height` was read may be in the page: the page never claims a
    // height below its own blocks.
    let height = blocks
        .last()
        .map_or(height, |b| height.max(b.block.header.height));
    Ok(Json(BlockPage { height, blocks }))
}

async fn block_tx_hashes(
    State(s): S,
    Path(height): Path<String>,
    q: Result<Query<WaitQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let height = parse_height(&height)?;
    let Query(q) =
        q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text()))?;
    wait_for_height(&s, height, q.wait_ms).await;
    let b = get_block(&s, height).await?;
    let hashes: Vec<String> = b.block.txs.iter().map(|t| hex::encode(t.hash())).collect();
    Ok(Json(json!({
        "height": height,
        "time_ms": b.block.header.time_ms,
        "block_hash": hex::encode(b.block.hash()),
        "tx_hashes": hashes,
    })))
}

async fn account(State(s): S, Path(id): Path<String>) -> Result<Response, ApiError> {
    crate::tx::check_account_id(&id)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_account_id", e.to_string()))?;
    match s.store.account(&id).map_err(ApiError::internal)? {
        Some(a) => Ok(Json(a).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_account",
            "no such account",
        )),
    }
}

async fn deposits(
    State(s): S,
    Path(content_hash): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let ch = hex::decode(&content_hash)
        .ok()
        .filter(|b| !b.is_empty() && b.len() <= 64)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_hash",
                "content hash must be hex",
            )
        })?;
    let list = s.store.deposits(&ch).map_err(ApiError::internal)?;
    let items: Vec<_> = list
        .into_iter()
        .map(|(h, height, index)| json!({"tx_hash": hex::encode(h), "height": height, "index": index}))
        .collect();
    Ok(Json(
        json!({"content_hash": hex::encode(ch), "deposits": items}),
    ))
}

async fn status(State(s): S) -> Json<serde_json::Value> {
    let height = *s.height.borrow();
    let latest = if height > 0 {
        s.store
            .block(height)
            .ok()
            .flatten()
            .map(|b| hex::encode(b.block.hash()))
    } else {
        None
    };
    let mempool = s.mempool.lock().unwrap_or_else(|e| e.into_inner()).len();
    match &s.role {
        Role::Validator(c) => {
            let st = c.status.borrow().clone();
            Json(json!({
                "role": "validator",
                "chain_id": s.genesis.chain_id,
                "genesis_hash": hex::encode(s.genesis_hash),
                "node_key": hex::encode(c.public_key),
                "validator_index": st.validator_index,
                "height": height,
                "latest_block_hash": latest,
                "round": st.round,
                "step": st.step,
                "sync": {"syncing": st.syncing, "best_peer_height": st.best_peer_height, "blocks_synced": st.sync_blocks},
                "validators": s.genesis.validators,
                "peers": c.net.peers(),
                "mempool_size": mempool,
            }))
        }
        Role::Observer(o) => {
            let o = o.borrow().clone();
            Json(json!({
                "role": "observer",
                "chain_id": s.genesis.chain_id,
                "genesis_hash": hex::encode(s.genesis_hash),
                "node_key": null,
                "validator_index": null,
                "height": height,
                "latest_block_hash": latest,
                "round": null,
                "step": null,
                "upstream": o.upstream,
                "upstreams": o.upstreams,
                "sync": {
                    "syncing": o.upstream_height > height,
                    "best_peer_height": o.upstream_height,
                    "blocks_synced": o.blocks_followed,
                },
                "observer": o,
                "validators": s.genesis.validators,
                "peers": [],
                "mempool_size": mempool,
            }))
        }
    }
}

async fn metrics(State(s): S) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
}

/// Serves the REST API on `listen` until `shutdown` turns true; returns the bound address.
pub(crate) async fn serve_api(
    listen: &str,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<std::net::SocketAddr> {
    let api_listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening for the API on {listen}"))?;
    let api_addr = api_listener.local_addr()?;
    let router = router(shared);
    let mut stop = shutdown;
    tokio::spawn(async move {
        let _ = axum::serve(api_listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
    });
    Ok(api_addr)
}
