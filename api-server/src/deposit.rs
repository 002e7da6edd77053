//! Signing for the evidence-deposit service: each tenant deposits through its own service
//! account on each chain (`t-<tenant>`), created on first use by the chain's `client`
//! genesis account, its key sealed under the KEK like every other key.
//!
//! Nonces are handed out in memory per (chain, tenant) so concurrent deposits do not wait
//! for each other's commits; any submission failure forgets the account's state so the
//! next deposit reads the nonce from the chain again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow};
use consortia_chain::client::Client;
use consortia_chain::keys;
use consortia_chain::receipt::Receipt;
use consortia_chain::tx::{Op, SignedTx, Tx, WeightedKey};
use consortia_engines::native::{CLIENT_ACCOUNT, CLIENT_KEY_FILE};
use ed25519_dalek::SigningKey;
use uuid::Uuid;

use crate::app::AppState;
use crate::db::entities::chain_account;
use crate::store::chains as db;

/// Blocks a deposit stays valid for.
const TTL_BLOCKS: u64 = 100_000;
/// How long a deposit waits for its commit.
pub const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

struct AccountState {
    account: String,
    key: SigningKey,
    next_nonce: u64,
    expiry_height: u64,
    chain_id: String,
}

type Slot = Arc<tokio::sync::Mutex<Option<AccountState>>>;

/// Service accounts in use, the locks that order their nonces, and one commit watcher per
/// chain.
pub struct Signer {
    slots: Mutex<HashMap<(Uuid, Uuid), Slot>>,
    creating: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
    watchers: Mutex<HashMap<Uuid, Arc<Watcher>>>,
    /// Where watchers run: the runtime that built the signer (the server's main runtime),
    /// not the actix worker whose request happened to start one.
    tasks: tokio::runtime::Handle,
}

impl Signer {
    /// `tasks`: the runtime that outlives the HTTP server (watchers run there).
    pub fn new(tasks: tokio::runtime::Handle) -> Signer {
        Signer {
            slots: Default::default(),
            creating: Default::default(),
            watchers: Default::default(),
            tasks,
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
    fn expect(&self, hashes: &[[u8; 32]]) -> Vec<tokio::sync::oneshot::Receiver<Receipt>> {
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

    fn forget(&self, hashes: &[[u8; 32]]) {
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

async fn follow(watcher: Arc<Watcher>, endpoint: String, mut from: u64) {
    let Ok(client) = Client::new(&endpoint) else {
        return;
    };
    loop {
        match client.block_page_raw(from, 64, 5_000, MAX_PAGE_BYTES).await {
            Ok(body) => match serde_json::from_slice::<consortia_chain::block::BlockPage>(&body) {
                Ok(page) => {
                    for b in &page.blocks {
                        if b.block.header.height == from {
                            watcher.deliver(b);
                            from += 1;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(%endpoint, error = %e, "unreadable block page");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            },
            Err(e) => {
                tracing::debug!(%endpoint, error = %format!("{e:#}"), "following blocks");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// The REST endpoint of one of the chain's running nodes.
pub(crate) async fn running_endpoint(state: &AppState, chain: Uuid) -> anyhow::Result<String> {
    state
        .runtime
        .endpoints(chain)
        .await
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("the chain has no running node"))
}

/// The id of a tenant's service account on every chain.
pub fn account_id(tenant: Uuid) -> String {
    format!("t-{}", &tenant.simple().to_string()[..16])
}

/// Signed transactions ready to submit, and where to submit them.
struct Prepared {
    pub txs: Vec<SignedTx>,
    pub endpoint: String,
}

impl Signer {
    fn slot(&self, chain: Uuid, tenant: Uuid) -> Slot {
        self.slots
            .lock()
            .unwrap()
            .entry((chain, tenant))
            .or_default()
            .clone()
    }

    /// The chain's commit watcher, started (from the node's current height) on first use.
    async fn watcher(&self, chain: Uuid, endpoint: &str) -> anyhow::Result<Arc<Watcher>> {
        let w = self.watcher_entry(chain);
        if !w.follower.lock().unwrap().running() {
            let height = Client::new(endpoint)?.status().await?["height"]
                .as_u64()
                .unwrap_or(0);
            self.start(&w, endpoint, height + 1)?;
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
    fn start(&self, w: &Arc<Watcher>, endpoint: &str, from: u64) -> anyhow::Result<()> {
        let mut f = w.follower.lock().unwrap();
        if f.closed {
            return Err(anyhow!("the chain was deleted"));
        }
        if !f.running() {
            f.task = Some(
                self.tasks
                    .spawn(follow(w.clone(), endpoint.to_string(), from)),
            );
        }
        Ok(())
    }

    /// Stops following a chain (it was deleted): its follower ends, deposits still waiting
    /// on it fail at once, and a watcher handed out before the drop never starts one.
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
        self.slots.lock().unwrap().retain(|(c, _), _| *c != chain);
    }

    /// Submits signed transactions of one chain as one batch and waits for their receipts.
    async fn submit_and_wait(
        &self,
        chain: Uuid,
        endpoint: &str,
        txs: &[SignedTx],
    ) -> anyhow::Result<Vec<Receipt>> {
        let watcher = self.watcher(chain, endpoint).await?;
        let hashes: Vec<[u8; 32]> = txs.iter().map(SignedTx::hash).collect();
        let waits = watcher.expect(&hashes);
        let client = Client::new(endpoint)?;
        let submitted = if txs.len() == 1 {
            client.submit(&txs[0]).await.map(|_| ())
        } else {
            client.submit_batch(txs).await.and_then(|results| {
                results.into_iter().try_for_each(|r| {
                    r.map(|_| ())
                        .map_err(|e| anyhow!("the node refused a deposit: {e}"))
                })
            })
        };
        if let Err(e) = submitted {
            watcher.forget(&hashes);
            return Err(e);
        }
        let all = futures_util::future::try_join_all(waits);
        match tokio::time::timeout(COMMIT_TIMEOUT, all).await {
            Ok(Ok(receipts)) => Ok(receipts),
            Ok(Err(_)) => Err(anyhow!("the chain's block follower stopped")),
            Err(_) => {
                watcher.forget(&hashes);
                Err(anyhow!("not committed within {COMMIT_TIMEOUT:?}"))
            }
        }
    }

    /// Signs `ops` as the tenant's service account on `chain`, submits them to one of the
    /// chain's running nodes and answers with their receipts once committed. A failed
    /// submission forgets the account's cached state (the next call reads the nonce again).
    pub async fn commit(
        &self,
        state: &AppState,
        chain: Uuid,
        tenant: Uuid,
        ops: Vec<Op>,
    ) -> anyhow::Result<Vec<Receipt>> {
        let endpoint = running_endpoint(state, chain).await?;
        let Prepared { txs, endpoint } = self.prepare(state, chain, tenant, ops, &endpoint).await?;
        let committed = self.submit_and_wait(chain, &endpoint, &txs).await;
        if committed.is_err() {
            self.forget(chain, tenant).await;
        }
        committed
    }

    /// Forgets what is cached for (chain, tenant); the next use reads the chain again.
    async fn forget(&self, chain: Uuid, tenant: Uuid) {
        *self.slot(chain, tenant).lock().await = None;
    }

    /// Signs `ops` as the tenant's service account on `chain` (consecutive nonces), creating
    /// the account if needed.
    async fn prepare(
        &self,
        state: &AppState,
        chain: Uuid,
        tenant: Uuid,
        ops: Vec<Op>,
        endpoint: &str,
    ) -> anyhow::Result<Prepared> {
        let slot = self.slot(chain, tenant);
        let mut guard = slot.lock().await;
        if guard.is_none() {
            *guard = Some(self.load(state, chain, tenant, endpoint).await?);
        }
        let st = guard.as_mut().expect("loaded above");
        let first = st.next_nonce;
        st.next_nonce += ops.len() as u64;
        let (chain_id, account, expiry, key) = (
            st.chain_id.clone(),
            st.account.clone(),
            st.expiry_height,
            st.key.clone(),
        );
        drop(guard);
        let txs = ops
            .into_iter()
            .enumerate()
            .map(|(i, op)| {
                Tx {
                    chain_id: chain_id.clone(),
                    account: account.clone(),
                    nonce: first + i as u64,
                    expiry_height: expiry,
                    op,
                }
                .sign(&[&key])
            })
            .collect();
        Ok(Prepared {
            txs,
            endpoint: endpoint.to_string(),
        })
    }

    async fn load(
        &self,
        state: &AppState,
        chain: Uuid,
        tenant: Uuid,
        endpoint: &str,
    ) -> anyhow::Result<AccountState> {
        let client = Client::new(endpoint)?;
        let status = client
            .status()
            .await
            .context("reading the chain's status")?;
        let chain_id = status["chain_id"]
            .as_str()
            .context("a node status without chain_id")?
            .to_string();
        let height = status["height"].as_u64().unwrap_or(0);
        let (account, key) = match db::account(&state.db, chain, tenant).await? {
            Some(row) => {
                let plain = state
                    .kek
                    .open(&row.sealed_key, &db::account_aad(chain, tenant))
                    .map_err(|e| anyhow!("unsealing a service account key: {e}"))?;
                (row.account, keys::from_json(&plain)?)
            }
            None => {
                self.create(state, &client, &chain_id, height, chain, tenant)
                    .await?
            }
        };
        let on_chain = client
            .account(&account)
            .await
            .with_context(|| format!("reading account {account}"))?;
        Ok(AccountState {
            account,
            key,
            next_nonce: on_chain.nonce + 1,
            expiry_height: height + TTL_BLOCKS,
            chain_id,
        })
    }

    /// Creates the tenant's account on the chain (signed by the platform's `client`
    /// account), then records its sealed key.
    async fn create(
        &self,
        state: &AppState,
        client: &Client,
        chain_id: &str,
        height: u64,
        chain: Uuid,
        tenant: Uuid,
    ) -> anyhow::Result<(String, SigningKey)> {
        let lock = self
            .creating
            .lock()
            .unwrap()
            .entry(chain)
            .or_default()
            .clone();
        let _one_at_a_time = lock.lock().await;
        // Another request may have made it while this one waited.
        if let Some(row) = db::account(&state.db, chain, tenant).await? {
            let plain = state
                .kek
                .open(&row.sealed_key, &db::account_aad(chain, tenant))
                .map_err(|e| anyhow!("unsealing a service account key: {e}"))?;
            return Ok((row.account, keys::from_json(&plain)?));
        }
        let material = db::material(&state.db, &state.kek, chain).await?;
        let platform = keys::from_json(
            material
                .get(CLIENT_KEY_FILE)
                .context("the chain's material has no client key")?,
        )?;
        let id = account_id(tenant);
        let key = keys::generate();
        let payer = client.account(CLIENT_ACCOUNT).await?;
        let tx = Tx {
            chain_id: chain_id.to_string(),
            account: CLIENT_ACCOUNT.to_string(),
            nonce: payer.nonce + 1,
            expiry_height: height + 1000,
            op: Op::CreateAccount {
                id: id.clone(),
                keys: vec![WeightedKey {
                    public_key: key.verifying_key().to_bytes(),
                    weight: 1,
                }],
                threshold: 1,
                recovery_key: None,
            },
        }
        .sign(&[&platform]);
        let hash = client
            .submit(&tx)
            .await
            .context("creating the service account")?;
        client
            .wait_receipt(&hash, COMMIT_TIMEOUT)
            .await
            .context("waiting for the service account")?;
        db::insert_account(
            &state.db,
            chain_account::Model {
                chain_id: chain,
                tenant_id: tenant,
                account: id.clone(),
                sealed_key: state
                    .kek
                    .seal(&keys::to_json(&key), &db::account_aad(chain, tenant)),
                created_at: state.clock.now(),
            },
        )
        .await?;
        tracing::info!(%chain, %tenant, account = %id, "created a tenant service account");
        Ok((id, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A watcher handed out just before its chain is dropped must not start a follower:
    /// nothing would ever stop it (it would poll a deleted chain's endpoint forever).
    #[tokio::test]
    async fn a_dropped_chain_never_gets_a_follower() {
        let signer = Signer::new(tokio::runtime::Handle::current());
        let (dropped, kept) = (Uuid::now_v7(), Uuid::now_v7());

        let w = signer.watcher_entry(dropped);
        let waiting = w.expect(&[[7; 32]]);
        signer.drop_chain(dropped);
        let err = signer.start(&w, "http://127.0.0.1:9", 1).unwrap_err();
        assert_eq!(err.to_string(), "the chain was deleted");
        assert!(w.follower.lock().unwrap().task.is_none());
        // A deposit that was waiting on the dropped chain fails instead of timing out.
        for r in waiting {
            assert!(r.await.is_err());
        }

        // A live chain's watcher starts once, and its drop stops it.
        let w = signer.watcher_entry(kept);
        signer.start(&w, "http://127.0.0.1:9", 1).unwrap();
        signer.start(&w, "http://127.0.0.1:9", 1).unwrap();
        let task = w.follower.lock().unwrap().task.as_ref().map(|t| t.id());
        assert!(task.is_some());
        signer.drop_chain(kept);
        tokio::task::yield_now().await;
        assert!(!w.follower.lock().unwrap().running());
        assert!(signer.watchers.lock().unwrap().is_empty());
    }
}
