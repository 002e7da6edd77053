//! Observer nodes: read replicas that follow the chain without taking part in consensus.
//!
//! An observer holds no key, opens no peer link and admits no transaction. It pulls committed
//! blocks with their commit certificates from an upstream node's REST API
//! (`GET /v1/blocks?from=&limit=&wait_ms=`, long-polled) and trusts nothing it receives: a
//! block is committed only if it is the next height, its certificate carries valid signatures
//! of distinct genesis validators holding more than two thirds of the power over its hash (the
//! check validators apply to blocks they sync), and it passes the validation and execution
//! validators run (`Ledger::validate`: chain, parent, validator set, transaction root, every
//! transaction signature and rule, state root). A refused block is logged and never stored; the
//! observer turns to its next upstream and asks again after a pause. Its database is a
//! validator's, bound to the genesis hash, so it resumes from its stored height after a
//! restart and its receipts verify offline like a validator's.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use consortia_bft::{CertificateError, verify_certificate};
use tokio::sync::{Notify, watch};

use crate::api::serve_api;
use crate::block::{BlockPage, CommittedBlock};
use crate::client::Client;
use crate::config::NodeConfig;
use crate::genesis::Genesis;
use crate::ledger::Ledger;
use crate::mempool::Mempool;
use crate::metrics::{Metrics, Reason};
use crate::shared::{ObserverStatus, Role, Shared};

/// Blocks asked for per request (the upstream may send fewer).
const PAGE_BLOCKS: u32 = 64;
/// How long an upstream may hold a request open waiting for the next block.
const WAIT_MS: u64 = 10_000;
/// Least time between two requests that brought nothing: an upstream that answers a long poll
/// at once does not make the observer spin.
const MIN_POLL: Duration = Duration::from_millis(200);
/// Pause after the first failure in a row; it doubles with each further one, up to
/// `MAX_BACKOFF`.
const BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Why a block from an upstream is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("block {got} is not the next height {expected}")]
    Sequence { expected: u64, got: u64 },
    #[error(
        "block {height}: its commit certificate does not verify against the genesis validators: {source}"
    )]
    Certificate {
        height: u64,
        source: CertificateError,
    },
    #[error("block {height} fails validation: {why}")]
    Invalid { height: u64, why: String },
}

impl Refusal {
    /// A short label for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Sequence { .. } => "sequence",
            Refusal::Certificate { .. } => "certificate",
            Refusal::Invalid { .. } => "invalid",
        }
    }
}

/// Why following a page of blocks stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("storing block {height}: {message}")]
    Storage { height: u64, message: String },
}

/// Decides whether `cb` may be committed next: it must be the next height, carry a
/// certificate of the genesis validators over its hash, and pass the validators' own
/// validation (which executes it; the outcome is kept for `Ledger::commit`).
pub fn check_next(ledger: &mut Ledger, cb: &CommittedBlock, now_ms: u64) -> Result<(), Refusal> {
    let expected = ledger.height() + 1;
    let height = cb.block.header.height;
    if height != expected {
        return Err(Refusal::Sequence {
            expected,
            got: height,
        });
    }
    verify_certificate(
        &ledger.genesis.chain_id,
        &ledger.genesis.validators,
        height,
        &cb.block.hash(),
        &cb.certificate,
    )
    .map_err(|source| Refusal::Certificate { height, source })?;
    // A block is decided in the round it was proposed in or later.
    if cb.block.header.round > cb.certificate.round {
        return Err(Refusal::Invalid {
            height,
            why: format!(
                "the header names round {}, the certificate decides it in round {}",
                cb.block.header.round, cb.certificate.round
            ),
        });
    }
    // No transaction was verified before: all signatures are checked here.
    ledger
        .validate(&cb.block, &HashSet::new(), now_ms)
        .map_err(|why| Refusal::Invalid { height, why })
}

/// Commits `blocks` in order while each passes [`check_next`], calling `on_commit(height,
/// transactions)` after each; returns how many were committed and why it stopped early, if it
/// did. Nothing after a refused block is looked at.
pub fn follow(
    ledger: &mut Ledger,
    blocks: Vec<CommittedBlock>,
    now_ms: u64,
    mut on_commit: impl FnMut(u64, u64),
) -> (u64, Result<(), FollowError>) {
    let mut committed = 0;
    for cb in blocks {
        if let Err(r) = check_next(ledger, &cb, now_ms) {
            return (committed, Err(r.into()));
        }
        let height = cb.block.header.height;
        let txs = cb.block.txs.len() as u64;
        if let Err(e) = ledger.commit(cb.block, cb.certificate) {
            return (
                committed,
                Err(FollowError::Storage {
                    height,
                    message: format!("{e:#}"),
                }),
            );
        }
        committed += 1;
        on_commit(height, txs);
    }
    (committed, Ok(()))
}

/// A started observer (used by `run` and by tests).
pub struct ObserverHandle {
    pub shared: Arc<Shared>,
    pub api_addr: std::net::SocketAddr,
    /// The task that follows the upstreams; it ends when shutdown turns true.
    pub follower: tokio::task::JoinHandle<()>,
}

/// Largest page answer read from an upstream: a page holds up to `PAGE_BYTES` of blocks past
/// its first, which may be a full block; JSON (hex, escapes) takes several times the stored
/// size.
fn max_page_body(genesis: &Genesis) -> usize {
    let block = usize::try_from(genesis.params.max_block_bytes).unwrap_or(usize::MAX);
    crate::limits::PAGE_BYTES
        .saturating_add(block)
        .saturating_mul(8)
}

/// Starts an observer: opens (or resumes) the ledger in `data`, serves the read API on
/// `cfg.api_listen`, and follows `upstreams` (REST API base URLs) until `shutdown` turns true.
pub async fn start(
    cfg: &NodeConfig,
    genesis: Genesis,
    upstreams: Vec<String>,
    data: &Path,
    shutdown: watch::Receiver<bool>,
) -> Result<ObserverHandle> {
    if upstreams.is_empty() {
        bail!("an observer needs at least one upstream URL (--observe)");
    }
    let upstreams: Vec<String> = upstreams
        .iter()
        .map(|u| {
            Client::new(u)
                .map(|c| c.base().to_string())
                .with_context(|| format!("--observe {u:?}"))
        })
        .collect::<Result<_>>()?;
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let ledger = Ledger::open(&data.join("chain.redb"), genesis.clone())?;
    let (height_tx, height_rx) = watch::channel(ledger.height());
    let (status_tx, status_rx) = watch::channel(ObserverStatus {
        upstreams: upstreams.clone(),
        upstream: upstreams.first().cloned(),
        ..ObserverStatus::default()
    });
    let max_body = max_page_body(&genesis);
    let shared = Arc::new(Shared {
        genesis,
        genesis_hash: ledger.genesis_hash,
        store: ledger.store().clone(),
        mempool: Mutex::new(Mempool::new(0)),
        wakeup: Arc::new(Notify::new()),
        height: height_rx,
        metrics: Metrics::observer(),
        role: Role::Observer(status_rx),
    });
    shared.metrics.height.set(ledger.height() as i64);
    let api_addr = serve_api(&cfg.api_listen, shared.clone(), shutdown.clone()).await?;
    let follower = Follower {
        shared: shared.clone(),
        ledger: Arc::new(Mutex::new(ledger)),
        upstreams,
        height_tx: Arc::new(height_tx),
        status_tx,
        max_body,
    };
    let follower = tokio::spawn(follower.run(shutdown));
    Ok(ObserverHandle {
        shared,
        api_addr,
        follower,
    })
}

/// The follower task: the only writer of an observer's ledger.
struct Follower {
    shared: Arc<Shared>,
    /// Locked only inside `spawn_blocking` (execution is CPU work).
    ledger: Arc<Mutex<Ledger>>,
    upstreams: Vec<String>,
    height_tx: Arc<watch::Sender<u64>>,
    status_tx: watch::Sender<ObserverStatus>,
    max_body: usize,
}

/// What one request to an upstream came to.
enum Step {
    /// Blocks were committed.
    Progress,
    /// Nothing new (yet).
    Idle,
    /// The upstream could not be used: unreachable, nonsense, lagging, or it sent a block
    /// that was refused. Try the next one after a pause.
    Failed,
}

impl Follower {
    async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut current = 0usize;
        let mut failures = 0u32;
        let mut client = self.client(current);
        while !*shutdown.borrow() {
            let Some(c) = client.as_ref() else { return };
            let from = *self.height_tx.borrow() + 1;
            let started = Instant::now();
            let fetched = tokio::select! {
                biased;
                r = shutdown.changed() => {
                    if r.is_err() { return; }
                    continue;
                }
                r = c.block_page_raw(from, PAGE_BLOCKS, WAIT_MS, self.max_body) => r,
            };
            let url = self.upstreams[current].clone();
            let step = match fetched {
                Ok(body) => self.apply(&url, body, from).await,
                Err(e) => {
                    let msg = format!("{e:#}");
                    tracing::warn!(chain_id = %self.shared.genesis.chain_id, upstream = %url, error = %msg, "cannot fetch blocks from upstream");
                    self.status_tx.send_modify(|s| s.last_error = Some(msg));
                    Step::Failed
                }
            };
            let pause = match step {
                Step::Progress => {
                    failures = 0;
                    Duration::ZERO
                }
                Step::Idle => {
                    failures = 0;
                    MIN_POLL.saturating_sub(started.elapsed())
                }
                Step::Failed => {
                    failures = failures.saturating_add(1);
                    current = (current + 1) % self.upstreams.len();
                    // A fresh client opens a fresh connection: behind a name that resolves to
                    // several nodes, or a Service, the next attempt may reach another one.
                    client = self.client(current);
                    let next = self.upstreams[current].clone();
                    self.status_tx.send_modify(|s| s.upstream = Some(next));
                    BACKOFF
                        .saturating_mul(1 << failures.saturating_sub(1).min(8))
                        .min(MAX_BACKOFF)
                }
            };
            if !pause.is_zero() {
                tokio::select! {
                    r = shutdown.changed() => if r.is_err() { return },
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        }
    }

    fn client(&self, i: usize) -> Option<Client> {
        // The URLs were checked at start; a failure here means no HTTP client can be built.
        match Client::new(&self.upstreams[i]) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot build an HTTP client");
                None
            }
        }
    }

    /// Parses a page and commits what passes, off the async workers.
    async fn apply(&self, url: &str, body: Vec<u8>, from: u64) -> Step {
        let ledger = self.ledger.clone();
        let shared = self.shared.clone();
        let height_tx = self.height_tx.clone();
        let status_tx = self.status_tx.clone();
        let work = tokio::task::spawn_blocking(move || {
            let page: BlockPage = serde_json::from_slice(&body).map_err(|e| {
                format!("the upstream answered with something other than a block page: {e}")
            })?;
            // The upstream's height is published before any of its blocks commit here, so
            // no reader ever sees this observer ahead of the upstream it follows.
            // (An upstream of an older version may report a height below its page's blocks.)
            let upstream = page
                .blocks
                .last()
                .map_or(page.height, |b| page.height.max(b.block.header.height));
            shared.metrics.upstream_height.set(upstream as i64);
            status_tx.send_modify(|s| s.upstream_height = upstream);
            let mut ledger = ledger.lock().unwrap_or_else(|e| e.into_inner());
            let (n, r) = follow(&mut ledger, page.blocks, crate::now_ms(), |height, txs| {
                shared.metrics.height.set(height as i64);
                shared.metrics.committed_txs.inc_by(txs);
                shared.metrics.sync_blocks.inc();
                let _ = height_tx.send(height);
            });
            Ok::<_, String>((upstream, n, r))
        })
        .await;
        let chain_id = &self.shared.genesis.chain_id;
        let (upstream_height, n, r) = match work {
            Ok(Ok(v)) => v,
            Ok(Err(msg)) => {
                tracing::warn!(%chain_id, upstream = %url, error = %msg, "unusable answer from upstream");
                self.status_tx.send_modify(|s| s.last_error = Some(msg));
                return Step::Failed;
            }
            Err(e) => {
                tracing::error!(%chain_id, error = %e, "block execution task failed");
                return Step::Failed;
            }
        };
        self.status_tx.send_modify(|s| {
            s.upstream = Some(url.to_string());
            s.blocks_followed += n;
        });
        if n > 0 {
            tracing::debug!(%chain_id, upstream = %url, blocks = n, height = from + n - 1, "followed");
        }
        match r {
            Ok(()) if n > 0 => Step::Progress,
            Ok(()) if upstream_height + 1 < from && self.upstreams.len() > 1 => {
                let msg = format!(
                    "{url} is at height {upstream_height}, behind this observer ({})",
                    from - 1
                );
                tracing::info!(%chain_id, upstream = %url, upstream_height, "upstream is behind; trying another");
                self.status_tx.send_modify(|s| s.last_error = Some(msg));
                Step::Failed
            }
            Ok(()) => Step::Idle,
            Err(FollowError::Refused(refusal)) => {
                let msg = refusal.to_string();
                tracing::warn!(%chain_id, upstream = %url, reason = refusal.reason(), error = %msg, "refused a block from upstream; it was not committed");
                self.shared
                    .metrics
                    .refused_blocks
                    .get_or_create(&Reason {
                        reason: refusal.reason().to_string(),
                    })
                    .inc();
                self.status_tx.send_modify(|s| {
                    s.refused_blocks += 1;
                    s.last_refusal = Some(format!("{url}: {msg}"));
                });
                Step::Failed
            }
            Err(e @ FollowError::Storage { .. }) => {
                let msg = e.to_string();
                tracing::error!(%chain_id, error = %msg, "cannot store a verified block");
                self.status_tx.send_modify(|s| s.last_error = Some(msg));
                Step::Failed
            }
        }
    }
}
