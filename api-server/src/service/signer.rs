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

use crate::clock::Clock;
use crate::db::entities::chain_account;
use crate::runtime::Runtime;
use crate::service::watchers::Watchers;
use crate::store::chains as db;
use sea_orm::DatabaseConnection;

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

/// Service accounts in use, the locks that order their nonces, and the chains' commit
/// watchers.
pub struct Signer {
    db: DatabaseConnection,
    kek: Arc<consortia_pki::seal::Kek>,
    clock: Arc<dyn Clock>,
    runtime: Arc<dyn Runtime>,
    slots: Mutex<HashMap<(Uuid, Uuid), Slot>>,
    creating: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
    watchers: Watchers,
}

impl Signer {
    /// `tasks`: the runtime that outlives the HTTP server (watchers run there).
    pub fn new(
        db: DatabaseConnection,
        kek: Arc<consortia_pki::seal::Kek>,
        clock: Arc<dyn Clock>,
        runtime: Arc<dyn Runtime>,
        tasks: tokio::runtime::Handle,
    ) -> Signer {
        Signer {
            db,
            kek,
            clock,
            slots: Default::default(),
            creating: Default::default(),
            watchers: Watchers::new(tasks, Some(runtime.clone())),
            runtime,
        }
    }
}

/// The REST endpoint of one of the chain's running nodes.
pub async fn running_endpoint(runtime: &dyn Runtime, chain: Uuid) -> anyhow::Result<String> {
    runtime
        .endpoints(chain)
        .await
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("the chain has no running node"))
}

/// The id of a new service account of a tenant: the whole tenant id, since UUIDv7s made in
/// the same millisecond share their first 16 hex digits. Accounts made before keep their
/// recorded ids (`chain_accounts.account`), which is what every reader uses.
pub fn account_id(tenant: Uuid) -> String {
    format!("t-{}", tenant.simple())
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

    /// Stops following a chain (it was deleted): its follower ends, deposits still waiting
    /// on it fail at once, and a watcher handed out before the drop never starts one.
    pub fn drop_chain(&self, chain: Uuid) {
        self.watchers.drop_chain(chain);
        self.slots.lock().unwrap().retain(|(c, _), _| *c != chain);
    }

    /// Submits signed transactions of one chain as one batch and waits for their receipts.
    async fn submit_and_wait(
        &self,
        chain: Uuid,
        endpoint: &str,
        txs: &[SignedTx],
    ) -> anyhow::Result<Vec<Receipt>> {
        let watcher = self.watchers.watcher(chain, endpoint).await?;
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
        chain: Uuid,
        tenant: Uuid,
        ops: Vec<Op>,
    ) -> anyhow::Result<Vec<Receipt>> {
        let endpoint = running_endpoint(self.runtime.as_ref(), chain).await?;
        let Prepared { txs, endpoint } = self.prepare(chain, tenant, ops, &endpoint).await?;
        let committed = self.submit_and_wait(chain, &endpoint, &txs).await;
        if committed.is_err() {
            self.forget(chain, tenant).await;
        }
        committed
    }

    /// Commits `ops` unless an earlier attempt already did: an op whose transaction (by the
    /// tenant's account, with the same `external_id`) the chain's content-hash index holds
    /// gets that transaction's receipt; the others are committed now. Receipts come in
    /// `ops` order. For retries of requests that may have reached the chain.
    pub async fn commit_once(
        &self,
        chain: Uuid,
        tenant: Uuid,
        ops: Vec<Op>,
    ) -> anyhow::Result<Vec<Receipt>> {
        let found = self.committed_before(chain, tenant, &ops).await?;
        let missing: Vec<Op> = ops
            .into_iter()
            .zip(&found)
            .filter(|(_, f)| f.is_none())
            .map(|(op, _)| op)
            .collect();
        let mut fresh = if missing.is_empty() {
            Vec::new()
        } else {
            self.commit(chain, tenant, missing).await?
        }
        .into_iter();
        found
            .into_iter()
            .map(|f| match f {
                Some(r) => Ok(r),
                None => fresh.next().context("a receipt per committed op"),
            })
            .collect()
    }

    /// For each op, the receipt of the tenant's transaction with the op's `external_id`
    /// that the chain already holds, if any.
    pub async fn committed_before(
        &self,
        chain: Uuid,
        tenant: Uuid,
        ops: &[Op],
    ) -> anyhow::Result<Vec<Option<Receipt>>> {
        let Some(account) = db::account(&self.db, chain, tenant)
            .await?
            .map(|a| a.account)
        else {
            // No account yet: nothing of the tenant's is on this chain.
            return Ok(ops.iter().map(|_| None).collect());
        };
        let client = Client::new(&running_endpoint(self.runtime.as_ref(), chain).await?)?;
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            let Op::Deposit {
                content_hash,
                external_id: Some(want),
                ..
            } = op
            else {
                out.push(None);
                continue;
            };
            let listed = client.deposits(&hex::encode(content_hash)).await?;
            let mut hit = None;
            for d in listed["deposits"].as_array().into_iter().flatten() {
                let Some(tx) = d["tx_hash"].as_str() else {
                    continue;
                };
                let r = client.receipt(tx).await?;
                let ours = r.tx.tx.account == account
                    && matches!(&r.tx.tx.op, Op::Deposit { external_id: Some(x), .. } if x == want);
                if ours {
                    hit = Some(r);
                    break;
                }
            }
            out.push(hit);
        }
        Ok(out)
    }

    /// Forgets what is cached for (chain, tenant); the next use reads the chain again.
    async fn forget(&self, chain: Uuid, tenant: Uuid) {
        *self.slot(chain, tenant).lock().await = None;
    }

    /// Signs `ops` as the tenant's service account on `chain` (consecutive nonces), creating
    /// the account if needed.
    async fn prepare(
        &self,
        chain: Uuid,
        tenant: Uuid,
        ops: Vec<Op>,
        endpoint: &str,
    ) -> anyhow::Result<Prepared> {
        let slot = self.slot(chain, tenant);
        let mut guard = slot.lock().await;
        if guard.is_none() {
            *guard = Some(self.load(chain, tenant, endpoint).await?);
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
        let (account, key) = match db::account(&self.db, chain, tenant).await? {
            Some(row) => {
                let plain = self
                    .kek
                    .open(&row.sealed_key, &db::account_aad(chain, tenant))
                    .map_err(|e| anyhow!("unsealing a service account key: {e}"))?;
                (row.account, keys::from_json(&plain)?)
            }
            None => {
                self.create(&client, &chain_id, height, chain, tenant)
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
        if let Some(row) = db::account(&self.db, chain, tenant).await? {
            let plain = self
                .kek
                .open(&row.sealed_key, &db::account_aad(chain, tenant))
                .map_err(|e| anyhow!("unsealing a service account key: {e}"))?;
            return Ok((row.account, keys::from_json(&plain)?));
        }
        let material = db::material(&self.db, &self.kek, chain).await?;
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
            &self.db,
            chain_account::Model {
                chain_id: chain,
                tenant_id: tenant,
                account: id.clone(),
                sealed_key: self
                    .kek
                    .seal(&keys::to_json(&key), &db::account_aad(chain, tenant)),
                created_at: self.clock.now(),
            },
        )
        .await?;
        tracing::info!(%chain, %tenant, account = %id, "created a tenant service account");
        Ok((id, key))
    }
}

#[cfg(test)]
mod tests {
    use super::account_id;
    use uuid::{Builder, Uuid};

    #[test]
    fn tenants_made_in_the_same_millisecond_get_different_accounts() {
        let ms = 1_765_000_000_000;
        let a = Builder::from_unix_timestamp_millis(ms, &[1; 10]).into_uuid();
        let b = Builder::from_unix_timestamp_millis(ms, &[2; 10]).into_uuid();
        assert_ne!(account_id(a), account_id(b));
        let many: std::collections::HashSet<String> =
            (0..10_000).map(|_| account_id(Uuid::now_v7())).collect();
        assert_eq!(many.len(), 10_000);
        for id in many.iter().take(3) {
            consortia_chain::tx::check_account_id(id).unwrap();
        }
    }
}
