//! Commit watchers: one per chain, following its committed blocks and handing each awaited
//! transaction its receipt, built from the block.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::anyhow;
use consortia_chain::client::Client;
use consortia_chain::receipt::Receipt;
use consortia_chain::tx::SignedTx;
use uuid::Uuid;

use crate::runtime::Runtime;

/// The chains' commit watchers.
pub struct Watchers {
    watchers: Mutex<HashMap<Uuid, Arc<Watcher>>>,
    /// Where followers run: the runtime that built the signer (the server's main runtime),
    /// not the actix worker whose request happened to start one.
    tasks: tokio::runtime::Handle,
    /// Where a follower finds another node when its own stops answering.
    runtime: Option<Arc<dyn Runtime>>,
}

/// Where a follower reads blocks: one of the chain's running nodes, and another one when
/// that stops answering (a node may die for good; the chain goes on without it).
struct Source {
    runtime: Option<Arc<dyn Runtime>>,
    chain: Uuid,
    endpoint: String,
}

/// Failed reads in a row after which a follower moves to another node.
const FAILURES_BEFORE_MOVING: u32 = 3;

impl Source {
    /// The next running node after the current one (the current one if it is the only).
    async fn move_on(&mut self) {
        let Some(runtime) = &self.runtime else {
            return;
        };
        let all = runtime.endpoints(self.chain).await;
        if all.is_empty() {
            return;
        }
        let next = all
            .iter()
            .position(|e| *e == self.endpoint)
            .map_or(0, |i| (i + 1) % all.len());
        if all[next] != self.endpoint {
            tracing::info!(chain = %self.chain, from = %self.endpoint, to = %all[next], "following blocks from another node");
            self.endpoint = all[next].clone();
        }
    }
}

type Waiters = HashMap<[u8; 32], tokio::sync::oneshot::Sender<Receipt>>;

/// Follows a chain's committed blocks (`GET /v1/blocks?from=…&wait_ms=…`) and hands each
/// awaited transaction its receipt, built from the block: one stream of blocks serves every
/// waiting deposit, instead of each polling for its own receipt.
pub struct Watcher {
    waiters: Mutex<Waiters>,
    follower: Mutex<Follower>,
}

/// A watcher's block-following task. `closed` is set, under the same lock, when the chain is
/// dropped: a watcher handed out just before the drop can then never start a follower
/// that nobody would stop.
#[derive(Default)]
struct Follower {
    task: Option<tokio::task::JoinHandle<()>>,
    closed: bool,
}

impl Follower {
    fn running(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Watcher {
    /// Registers interest in `hashes` before they are submitted.
    pub(crate) fn expect(
        &self,
        hashes: &[[u8; 32]],
    ) -> Vec<tokio::sync::oneshot::Receiver<Receipt>> {
        let mut w = self.waiters.lock().unwrap();
        hashes
            .iter()
            .map(|h| {
                let (tx, rx) = tokio::sync::oneshot::channel();
                w.insert(*h, tx);
                rx
            })
            .collect()
    }

    pub(crate) fn forget(&self, hashes: &[[u8; 32]]) {
        let mut w = self.waiters.lock().unwrap();
        for h in hashes {
            w.remove(h);
        }
    }

    fn deliver(&self, block: &consortia_chain::block::CommittedBlock) {
        let mut w = self.waiters.lock().unwrap();
        if w.is_empty() {
            return;
        }
        let hashes: Vec<[u8; 32]> = block.block.txs.iter().map(SignedTx::hash).collect();
        if !hashes.iter().any(|h| w.contains_key(h)) {
            return;
        }
        // Every proof of the block at once: per-transaction proofs would cost O(n) each.
        let leaves: Vec<_> = block
            .block
            .txs
            .iter()
            .map(consortia_chain::block::tx_leaf)
            .collect();
        let mut proofs = consortia_chain::merkle::all_proofs(&leaves);
        let block_hash = block.block.hash();
        for (index, (tx, hash)) in block.block.txs.iter().zip(hashes).enumerate() {
            if let Some(waiter) = w.remove(&hash) {
                let _ = waiter.send(Receipt {
                    tx: tx.clone(),
                    tx_hash: hash,
                    height: block.block.header.height,
                    index: index as u32,
                    block_hash,
                    proof: std::mem::take(&mut proofs[index]),
                    header: block.block.header.clone(),
                    certificate: block.certificate.clone(),
                });
            }
        }
    }
}

/// Largest block page the watcher reads.
const MAX_PAGE_BYTES: usize = 64 << 20;

async fn follow(watcher: Arc<Watcher>, mut source: Source, mut from: u64) {
    let Ok(mut client) = Client::new(&source.endpoint) else {
        return;
    };
    let mut failures = 0;
    loop {
        if failures >= FAILURES_BEFORE_MOVING {
            failures = 0;
            source.move_on().await;
            match Client::new(&source.endpoint) {
                Ok(c) => client = c,
                Err(_) => return,
            }
        }
        let endpoint = &source.endpoint;
        match client.block_page_raw(from, 64, 5_000, MAX_PAGE_BYTES).await {
            Ok(body) => match serde_json::from_slice::<consortia_chain::block::BlockPage>(&body) {
                Ok(page) => {
                    failures = 0;
                    for b in &page.blocks {
                        if b.block.header.height == from {
                            watcher.deliver(b);
                            from += 1;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(%endpoint, error = %e, "unreadable block page");
                    failures += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            },
            Err(e) => {
                tracing::debug!(%endpoint, error = %format!("{e:#}"), "following blocks");
                failures += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

impl Watchers {
    /// Followers run on `tasks` and move between the nodes `runtime` reports running.
    pub fn new(tasks: tokio::runtime::Handle, runtime: Option<Arc<dyn Runtime>>) -> Watchers {
        Watchers {
            watchers: Default::default(),
            tasks,
            runtime,
        }
    }

    /// The chain's commit watcher, started (from the node's current height) on first use.
    pub(crate) async fn watcher(
        &self,
        chain: Uuid,
        endpoint: &str,
    ) -> anyhow::Result<Arc<Watcher>> {
        let w = self.watcher_entry(chain);
        if !w.follower.lock().unwrap().running() {
            let height = Client::new(endpoint)?.status().await?["height"]
                .as_u64()
                .unwrap_or(0);
            self.start(&w, chain, endpoint, height + 1)?;
        }
        Ok(w)
    }

    fn watcher_entry(&self, chain: Uuid) -> Arc<Watcher> {
        self.watchers
            .lock()
            .unwrap()
            .entry(chain)
            .or_insert_with(|| {
                Arc::new(Watcher {
                    waiters: Mutex::new(HashMap::new()),
                    follower: Mutex::new(Follower::default()),
                })
            })
            .clone()
    }

    /// Starts `w` following blocks from `from`, unless it already does; refuses a watcher
    /// whose chain was dropped meanwhile.
    fn start(
        &self,
        w: &Arc<Watcher>,
        chain: Uuid,
        endpoint: &str,
        from: u64,
    ) -> anyhow::Result<()> {
        let mut f = w.follower.lock().unwrap();
        if f.closed {
            return Err(anyhow!("the chain was deleted"));
        }
        if !f.running() {
            let source = Source {
                runtime: self.runtime.clone(),
                chain,
                endpoint: endpoint.to_string(),
            };
            f.task = Some(self.tasks.spawn(follow(w.clone(), source, from)));
        }
        Ok(())
    }

    /// Stops following a chain (it was deleted): its follower ends, transactions still
    /// waiting on it fail at once, and a watcher handed out before the drop never starts one.
    pub fn drop_chain(&self, chain: Uuid) {
        if let Some(w) = self.watchers.lock().unwrap().remove(&chain) {
            let mut f = w.follower.lock().unwrap();
            f.closed = true;
            if let Some(t) = f.task.take() {
                t.abort();
            }
            drop(f);
            w.waiters.lock().unwrap().clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A watcher handed out just before its chain is dropped must not start a follower:
    /// nothing would ever stop it (it would poll a deleted chain's endpoint forever).
    #[tokio::test]
    async fn a_dropped_chain_never_gets_a_follower() {
        let signer = Watchers::new(tokio::runtime::Handle::current(), None);
        let (dropped, kept) = (Uuid::now_v7(), Uuid::now_v7());

        let w = signer.watcher_entry(dropped);
        let waiting = w.expect(&[[7; 32]]);
        signer.drop_chain(dropped);
        let err = signer
            .start(&w, dropped, "http://127.0.0.1:9", 1)
            .unwrap_err();
        assert_eq!(err.to_string(), "the chain was deleted");
        assert!(w.follower.lock().unwrap().task.is_none());
        // A deposit that was waiting on the dropped chain fails instead of timing out.
        for r in waiting {
            assert!(r.await.is_err());
        }

        // A live chain's watcher starts once, and its drop stops it.
        let w = signer.watcher_entry(kept);
        signer.start(&w, kept, "http://127.0.0.1:9", 1).unwrap();
        signer.start(&w, kept, "http://127.0.0.1:9", 1).unwrap();
        let task = w.follower.lock().unwrap().task.as_ref().map(|t| t.id());
        assert!(task.is_some());
        signer.drop_chain(kept);
        tokio::task::yield_now().await;
        assert!(!w.follower.lock().unwrap().running());
        assert!(signer.watchers.lock().unwrap().is_empty());
    }
}
