//! `consortia-node bench`: drives evidence deposits against a running network and reports
//! in the manner of Hyperledger Caliper (send rate, throughput, failures, latency).
//!
//! Workers own disjoint sets of accounts (so each keeps its accounts' nonces in order), sign
//! deposits in batches and submit them round robin to the given nodes; a mempool that is full
//! answers 503 and the worker backs off and resends. A tracker follows committed blocks with
//! long polls and matches transaction hashes, so latency is submit → observed commit.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ed25519_dalek::SigningKey;
use serde::Serialize;

use crate::client::{ApiFailure, Client};
use crate::tx::{HashAlg, Op, SignedTx, Tx};

pub struct BenchOptions {
    pub nodes: Vec<String>,
    pub accounts_dir: PathBuf,
    pub duration: Duration,
    /// Target send rate in tx/s (None: as fast as the network accepts).
    pub rate: Option<u64>,
    pub batch: usize,
    pub workers: usize,
    /// How long to wait for outstanding transactions after sending stops.
    pub drain: Duration,
}

#[derive(Serialize, Debug)]
pub struct BenchReport {
    pub name: &'static str,
    pub nodes: usize,
    pub duration_s: f64,
    pub sent: u64,
    pub committed: u64,
    pub failed: u64,
    pub rejected: u64,
    pub send_rate_tps: f64,
    pub throughput_tps: f64,
    pub latency_ms: Latency,
    pub start_height: u64,
    pub end_height: u64,
}

#[derive(Serialize, Debug, Default)]
pub struct Latency {
    pub min: f64,
    pub avg: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl BenchReport {
    pub fn text(&self) -> String {
        let l = &self.latency_ms;
        format!(
            "+------------------+---------+------------+--------+-----------+-----------+-----------+-----------+-----------+------------------+\n\
             | Name             | Succ    | Fail       | Send   | p50 (ms)  | p95 (ms)  | p99 (ms)  | Max (ms)  | Avg (ms)  | Throughput (TPS) |\n\
             |                  |         | (rej/lost) | (TPS)  |           |           |           |           |           |                  |\n\
             +------------------+---------+------------+--------+-----------+-----------+-----------+-----------+-----------+------------------+\n\
             | {:<16} | {:<7} | {:<10} | {:<6.0} | {:<9.1} | {:<9.1} | {:<9.1} | {:<9.1} | {:<9.1} | {:<16.1} |\n\
             +------------------+---------+------------+--------+-----------+-----------+-----------+-----------+-----------+------------------+\n\
             nodes {}, duration {:.1} s, heights {} -> {}",
            self.name,
            self.committed,
            format!("{}/{}", self.rejected, self.failed - self.rejected),
            self.send_rate_tps,
            l.p50,
            l.p95,
            l.p99,
            l.max,
            l.avg,
            self.throughput_tps,
            self.nodes,
            self.duration_s,
            self.start_height,
            self.end_height,
        )
    }
}

struct Acct {
    id: String,
    key: SigningKey,
    nonce: u64,
}

fn load_accounts(dir: &Path) -> Result<Vec<(String, SigningKey)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "json")
            && let Some(id) = p.file_stem().and_then(|s| s.to_str())
        {
            out.push((id.to_string(), crate::keys::load(&p)?));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    if out.is_empty() {
        bail!("no account key files (ID.json) in {}", dir.display());
    }
    Ok(out)
}

#[derive(Default)]
struct Shared {
    sent_at: HashMap<String, Instant>,
    latencies: Vec<f64>,
    sent: u64,
    rejected: u64,
    last_commit: Option<Instant>,
    /// Every worker has stopped sending (so `sent_at` can only shrink).
    sending_done: bool,
}

pub async fn run(opts: BenchOptions) -> Result<BenchReport> {
    if opts.nodes.is_empty() {
        bail!("give at least one --node URL");
    }
    let clients: Vec<Client> = opts
        .nodes
        .iter()
        .map(|n| Client::new(n))
        .collect::<Result<_>>()?;
    let status = clients[0].status().await?;
    let chain_id = status["chain_id"]
        .as_str()
        .context("status without chain_id")?
        .to_string();
    let start_height = status["height"].as_u64().unwrap_or(0);
    let mut accounts = Vec::new();
    for (id, key) in load_accounts(&opts.accounts_dir)? {
        let a = clients[0].account(&id).await?;
        accounts.push(Acct {
            id,
            key,
            nonce: a.nonce,
        });
    }
    let workers = opts.workers.clamp(1, accounts.len());
    let mut groups: Vec<Vec<Acct>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, a) in accounts.into_iter().enumerate() {
        groups[i % workers].push(a);
    }
    let shared = Arc::new(Mutex::new(Shared::default()));
    let start = Instant::now();
    let stop_at = start + opts.duration;
    let expiry = start_height + 1_000_000;

    // Tracker: follows blocks on the first node.
    let tracker = {
        let client = clients[0].clone();
        let shared = shared.clone();
        let deadline = stop_at + opts.drain;
        tokio::spawn(async move {
            let mut height = start_height + 1;
            while Instant::now() < deadline {
                let Ok(b) = client.block_tx_hashes(height, 1000).await else {
                    continue;
                };
                let now = Instant::now();
                let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
                for h in b["tx_hashes"].as_array().into_iter().flatten() {
                    if let Some(h) = h.as_str()
                        && let Some(t) = s.sent_at.remove(h)
                    {
                        s.latencies
                            .push(now.duration_since(t).as_secs_f64() * 1000.0);
                        s.last_commit = Some(now);
                    }
                }
                let done = s.sending_done && s.sent_at.is_empty();
                drop(s);
                height += 1;
                if done {
                    break;
                }
            }
            height - 1
        })
    };

    let per_worker_rate = opts.rate.map(|r| (r as f64 / workers as f64).max(1.0));
    let mut tasks = Vec::new();
    for (w, mut group) in groups.into_iter().enumerate() {
        let clients = clients.clone();
        let shared = shared.clone();
        let chain_id = chain_id.clone();
        let batch = opts.batch.max(1);
        tasks.push(tokio::spawn(async move {
            let mut next_node = w;
            let mut turn = 0usize;
            let mut sent_here = 0u64;
            let mut pending: Vec<SignedTx> = Vec::new();
            while Instant::now() < stop_at {
                if let Some(rate) = per_worker_rate {
                    let due = start + Duration::from_secs_f64(sent_here as f64 / rate);
                    if due > Instant::now() {
                        tokio::time::sleep_until(due.into()).await;
                    }
                }
                if pending.is_empty() {
                    // Build and sign a batch off the async threads.
                    let mut unsigned = Vec::with_capacity(batch);
                    for _ in 0..batch {
                        let n = group.len();
                        let a = &mut group[turn % n];
                        turn += 1;
                        a.nonce += 1;
                        let content: [u8; 32] = rand::random();
                        unsigned.push((
                            Tx {
                                chain_id: chain_id.clone(),
                                account: a.id.clone(),
                                nonce: a.nonce,
                                expiry_height: expiry,
                                op: Op::Deposit {
                                    hash_alg: HashAlg::Sha256,
                                    content_hash: content.to_vec(),
                                    metadata: "{\"bench\":true}".into(),
                                    external_id: None,
                                },
                            },
                            a.key.clone(),
                        ));
                    }
                    pending = tokio::task::spawn_blocking(move || {
                        unsigned.into_iter().map(|(t, k)| t.sign(&[&k])).collect()
                    })
                    .await
                    .unwrap_or_default();
                }
                let client = &clients[next_node % clients.len()];
                next_node += 1;
                let t0 = Instant::now();
                match client.submit_batch(&pending).await {
                    Ok(results) => {
                        let mut retry = Vec::new();
                        {
                            let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
                            for (tx, r) in pending.drain(..).zip(results) {
                                match r {
                                    Ok(h) => {
                                        s.sent += 1;
                                        sent_here += 1;
                                        s.sent_at.insert(h, t0);
                                    }
                                    Err(code) if code == "mempool_full" => retry.push(tx),
                                    Err(_) => s.rejected += 1,
                                }
                            }
                        }
                        if !retry.is_empty() {
                            pending = retry;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                    Err(e) => {
                        let full = e
                            .downcast_ref::<ApiFailure>()
                            .is_some_and(|f| f.status == 503);
                        if !full {
                            tracing::warn!(error = %e, "submission failed; retrying");
                        }
                        tokio::time::sleep(Duration::from_millis(if full { 50 } else { 500 }))
                            .await;
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let send_secs = start.elapsed().as_secs_f64();
    shared
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .sending_done = true;
    let end_height = tracker.await.unwrap_or(start_height);
    let s = shared.lock().unwrap_or_else(|e| e.into_inner());
    let committed = s.latencies.len() as u64;
    let mut lat = s.latencies.clone();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((p / 100.0) * (lat.len() as f64 - 1.0)).round() as usize;
        lat[i.min(lat.len() - 1)]
    };
    let span = s
        .last_commit
        .map(|t| t.duration_since(start).as_secs_f64())
        .unwrap_or(send_secs)
        .max(1e-9);
    Ok(BenchReport {
        name: "deposit",
        nodes: clients.len(),
        duration_s: send_secs,
        sent: s.sent,
        committed,
        failed: s.rejected + (s.sent - committed),
        rejected: s.rejected,
        send_rate_tps: s.sent as f64 / send_secs,
        throughput_tps: committed as f64 / span,
        latency_ms: Latency {
            min: lat.first().copied().unwrap_or(0.0),
            avg: if lat.is_empty() {
                0.0
            } else {
                lat.iter().sum::<f64>() / lat.len() as f64
            },
            p50: pct(50.0),
            p95: pct(95.0),
            p99: pct(99.0),
            max: lat.last().copied().unwrap_or(0.0),
        },
        start_height,
        end_height,
    })
}
