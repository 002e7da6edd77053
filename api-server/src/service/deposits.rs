//! The evidence-deposit service. A tenant records a content hash (and metadata) on one or
//! more chains of its alliances and gets a receipt per chain that verifies offline
//! (`consortia-node verify-receipt --genesis …`). A deposit is answered only after every
//! chain committed it and it is stored, so an acknowledged deposit is never lost; with an
//! `Idempotency-Key` (or an internal one) a request is carried out once, and one cut off
//! between the chain and the database is finished by [`Deposits::resume`].

use crate::clock::Clock;
use crate::db::entities::{chain, chain_block, deposit, deposit_receipt, idempotency_key};
use crate::domain::deposits::{
    CreateDeposit, CreateDeposits, DepositBatch, DepositQuery, DepositView, Intent, KEY_TTL_HOURS,
    KeyState, MAX_BATCH, MAX_CHAINS, OnChain, ReceiptView, Remembered, RequestKind, Verification,
    VerifyDeposit, check_hash, check_item, deposit_not_found, depositing_tenant, internal_key,
    is_internal, on_chain,
};
use crate::domain::error::{Error, Result};
use crate::domain::pagination::{self, PageRequest};
use crate::domain::roles::Action;
use crate::service::access::{Access, Caller};
use crate::service::signer::Signer;
use crate::store::alliances as alliance_db;
use crate::store::chains as db;
use crate::store::idempotency;
use chrono::{TimeZone, Utc};
use consortia_chain::hexser;
use consortia_chain::receipt::{AnchoredPart, AnchoredReceipt, BlockSeal, Receipt, TxProof};
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// A deposit request's answer: the JSON body, and whether it is an earlier attempt's,
/// replayed for the same `Idempotency-Key`.
pub struct Answer {
    /// The response body (a deposit, or a batch), JSON.
    pub body: String,
    /// True when replayed.
    pub replayed: bool,
}

/// How long one attempt of a keyed request owns its key: two commit timeouts and slack.
fn lease() -> chrono::Duration {
    chrono::Duration::from_std(crate::service::signer::COMMIT_TIMEOUT * 2).unwrap_or_default()
        + chrono::Duration::seconds(30)
}

/// Block seals by (chain, height), to assemble whole receipts (each decoded once).
pub type Seals = HashMap<(Uuid, i64), BlockSeal>;

/// A whole receipt from a stored row: its transaction's part and its block's seal.
pub fn whole_receipt(r: &deposit_receipt::Model, seals: &Seals) -> Result<Value> {
    let stored = |e: serde_json::Error| Error::Internal(format!("stored receipt: {e}"));
    let seal = || {
        seals.get(&(r.chain_id, r.height)).cloned().ok_or_else(|| {
            Error::Internal(format!(
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

pub fn receipt_view(r: deposit_receipt::Model, seals: Option<&Seals>) -> Result<ReceiptView> {
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

/// A deposit's view; whole receipts when `seals` are given.
pub fn to_view(
    d: deposit::Model,
    receipts: Vec<deposit_receipt::Model>,
    seals: Option<&Seals>,
) -> Result<DepositView> {
    Ok(DepositView {
        id: d.id,
        tenant_id: d.tenant_id,
        hash_alg: d.hash_alg,
        content_hash: d.content_hash,
        metadata: d.metadata,
        created_at: d.created_at,
        receipts: receipts
            .into_iter()
            .map(|r| receipt_view(r, seals))
            .collect::<Result<_>>()?,
    })
}

/// The deposits use cases.
#[derive(Clone)]
pub struct Deposits {
    db: DatabaseConnection,
    access: Access,
    signer: Arc<Signer>,
    clock: Arc<dyn Clock>,
}

impl Deposits {
    /// Over `db`, depositing through `signer`.
    pub fn new(
        db: DatabaseConnection,
        access: Access,
        signer: Arc<Signer>,
        clock: Arc<dyn Clock>,
    ) -> Deposits {
        Deposits {
            db,
            access,
            signer,
            clock,
        }
    }

    /// Records one content hash on each named chain (developers of the tenant and up).
    pub async fn single(
        &self,
        who: &Caller,
        key: Option<String>,
        req: &CreateDeposit,
    ) -> Result<Answer> {
        let tenant = depositing_tenant(req.tenant_id, who.token_tenant)?;
        self.access
            .role_in(who, tenant, Action::WriteWorkloads)
            .await?;
        let item = check_item("", &req.hash_alg, &req.content_hash, &req.metadata)?;
        let chains = self.chains_for(tenant, &req.chain_ids).await?;
        let intent = Intent {
            kind: RequestKind::Single,
            tenant,
            chains: chains.iter().map(|c| c.id).collect(),
            items: vec![item],
            merkle: false,
            full: true,
        };
        self.execute(who, key, intent, &chains).await
    }

    /// Records up to 1000 content hashes on each named chain in one go: one transaction
    /// each, or (`anchor: merkle`) one Merkle root; `receipts` is `summary` (default) or
    /// `full`.
    pub async fn batch(
        &self,
        who: &Caller,
        key: Option<String>,
        receipts: Option<&str>,
        req: &CreateDeposits,
    ) -> Result<Answer> {
        let tenant = depositing_tenant(req.tenant_id, who.token_tenant)?;
        self.access
            .role_in(who, tenant, Action::WriteWorkloads)
            .await?;
        if req.items.is_empty() || req.items.len() > MAX_BATCH {
            return Err(Error::field(
                "/items",
                format!("send 1 to {MAX_BATCH} items"),
            ));
        }
        let items = req
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
            .collect::<Result<Vec<_>>>()?;
        let chains = self.chains_for(tenant, &req.chain_ids).await?;
        let full = match receipts {
            None | Some("summary") => false,
            Some("full") => true,
            Some(other) => {
                return Err(Error::Malformed(format!(
                    "receipts={other:?}: use summary (the default) or full"
                )));
            }
        };
        let merkle = match req.anchor.as_deref() {
            None | Some("each") => false,
            Some("merkle") => true,
            Some(other) => {
                return Err(Error::field(
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
        self.execute(who, key, intent, &chains).await
    }

    /// A deposit with its whole receipts (users of its tenant; anyone else is told it does
    /// not exist).
    pub async fn get(&self, who: &Caller, id: Uuid) -> Result<DepositView> {
        let d = db::deposit(&self.db, id)
            .await?
            .ok_or_else(|| deposit_not_found(id))?;
        self.access
            .role_in(who, d.tenant_id, Action::Read)
            .await
            .map_err(|e| match e {
                Error::NotFound(_) | Error::Forbidden(_) => deposit_not_found(id),
                other => other,
            })?;
        self.deposit_view(d).await
    }

    /// A page of the caller's tenants' deposits (or `tenant_id`'s), newest first, with each
    /// receipt's chain, transaction, height and time (the whole receipt is read one deposit
    /// at a time).
    pub async fn list(
        &self,
        who: &Caller,
        q: &DepositQuery,
        page: &PageRequest,
    ) -> Result<(Vec<DepositView>, Option<String>)> {
        q.check()?;
        let tenants = self.readable_tenants(who, q.tenant_id).await?;
        let filter = db::DepositFilter {
            tenants,
            chain: q.chain_id,
            since: q.since,
            until: q.until,
        };
        let rows = db::deposits(&self.db, &filter, page).await?;
        let (rows, next) = pagination::finish(rows, page, |d| d.id.to_string());
        let ids: Vec<Uuid> = rows.iter().map(|d| d.id).collect();
        let mut receipts: HashMap<Uuid, Vec<deposit_receipt::Model>> = HashMap::new();
        for r in db::receipts_of(&self.db, &ids).await? {
            receipts.entry(r.deposit_id).or_default().push(r);
        }
        let items = rows
            .into_iter()
            .map(|d| {
                let rs = receipts.remove(&d.id).unwrap_or_default();
                to_view(d, rs, None)
            })
            .collect::<Result<_>>()?;
        Ok((items, next))
    }

    /// `asked` (read access needed), or the tenant the credential is scoped to, or every
    /// tenant of the caller.
    async fn readable_tenants(&self, who: &Caller, asked: Option<Uuid>) -> Result<Vec<Uuid>> {
        match asked.or(who.token_tenant) {
            Some(t) => {
                self.access.role_in(who, t, Action::Read).await?;
                Ok(vec![t])
            }
            None => self.access.own_tenants(who).await,
        }
    }

    /// Where and when a content hash was deposited, among the caller's tenants' deposits
    /// (or `tenant_id`'s), a page at a time.
    pub async fn verify(
        &self,
        who: &Caller,
        req: &VerifyDeposit,
        page: &PageRequest,
    ) -> Result<Verification> {
        let (_, content_hash) = check_hash(&req.hash_alg, &req.content_hash)?;
        let tenants = self.readable_tenants(who, req.tenant_id).await?;
        let rows = db::deposits_of_hash(&self.db, &tenants, &content_hash, page).await?;
        let (rows, next_cursor) = pagination::finish(rows, page, |d| d.id.to_string());
        let mut deposits = Vec::with_capacity(rows.len());
        for d in rows {
            deposits.push(self.deposit_view(d).await?);
        }
        Ok(Verification {
            content_hash,
            deposited: !deposits.is_empty(),
            deposits,
            next_cursor,
        })
    }

    /// Runs a deposit request, once per `Idempotency-Key`: a new key is claimed with the deposit
    /// ids assigned now; a key already answered gets that answer again (`Idempotent-Replayed:
    /// true`); a key whose attempt stopped between the chain and the database is taken over,
    /// and what that attempt committed is found on chain by its ids instead of deposited again.
    async fn execute(
        &self,
        who: &Caller,
        key: Option<String>,
        intent: Intent,
        chains: &[chain::Model],
    ) -> Result<Answer> {
        let now = self.clock.now();
        let mut ids: Vec<Uuid> = intent.items.iter().map(|_| Uuid::now_v7()).collect();
        let k = key.unwrap_or_else(internal_key);
        let internal = |e: serde_json::Error| Error::Internal(e.to_string());
        let wanted = serde_json::to_string(&intent).map_err(internal)?;
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(wanted.as_bytes()));
        let request = json!({"user": who.user.id, "intent": intent});
        let row = idempotency_key::Model {
            tenant_id: intent.tenant,
            key: k.clone(),
            request_sha256: sha.clone(),
            request,
            deposit_ids: serde_json::json!(ids),
            state: KeyState::Pending,
            response: None,
            locked_until: now + lease(),
            created_at: now,
            expires_at: now + chrono::Duration::hours(KEY_TTL_HOURS),
        };
        let mut recover = false;
        if let idempotency::Claim::Existing(held) = idempotency::claim(&self.db, row).await? {
            if held.request_sha256 != sha {
                return Err(Error::field(
                    "",
                    format!("Idempotency-Key {k:?} was used for a different request"),
                ));
            }
            if let (true, Some(answer)) = (held.state == KeyState::Done, held.response) {
                return Ok(Answer {
                    body: answer,
                    replayed: true,
                });
            }
            if !idempotency::take_over(&self.db, intent.tenant, &k, now, now + lease()).await? {
                return Err(Error::Conflict(format!(
                    "a request with Idempotency-Key {k:?} is in progress; retry when it ends"
                )));
            }
            ids = Vec::<Uuid>::deserialize(&held.deposit_ids)
                .map_err(|e| Error::Internal(format!("stored deposit ids: {e}")))?;
            recover = true;
        }
        self.finish(who, &k, &intent, chains, &ids, recover).await
    }

    /// Deposits and records; on failure a keyed attempt gives its key up at once.
    async fn finish(
        &self,
        who: &Caller,
        key: &str,
        intent: &Intent,
        chains: &[chain::Model],
        ids: &[Uuid],
        recover: bool,
    ) -> Result<Answer> {
        let done = self
            .deposit_all(Some(who.user.id), intent, chains, ids, recover, key)
            .await;
        if done.is_err()
            && let Err(e) =
                idempotency::unlock(&self.db, intent.tenant, key, self.clock.now()).await
        {
            tracing::warn!(error = %e, "could not release an idempotency key");
        }
        let body = done?;
        if intent.kind == RequestKind::Single {
            who.created(ids[0]);
        }
        who.noted_tenant(intent.tenant);
        Ok(Answer {
            body,
            replayed: false,
        })
    }

    /// Finishes deposit requests that stopped between the chain and the database (a crash, a
    /// commit after the timeout): what reached a chain is found there by its deposit ids and
    /// recorded (a request that reached some chains is completed on the others). A request none
    /// of which reached any chain is not deposited here: its caller was told it failed. An
    /// internal key is then dropped; a client's key stays, for its retry. Runs at start, then
    /// every minute. Returns how many it finished.
    pub async fn resume(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        idempotency::sweep_expired(&self.db, now).await?;
        let mut n = 0;
        for held in idempotency::abandoned(&self.db, now).await? {
            if !idempotency::take_over(&self.db, held.tenant_id, &held.key, now, now + lease())
                .await?
            {
                continue;
            }
            let Remembered { intent, user } = Remembered::deserialize(&held.request)?;
            let ids = Vec::<Uuid>::deserialize(&held.deposit_ids)?;
            let mut chains = Vec::new();
            for id in &intent.chains {
                chains.extend(db::get(&self.db, *id).await?);
            }
            let done = if chains.len() != intent.chains.len() {
                Err(anyhow::anyhow!("a chain of the request is gone"))
            } else if !self.reached_a_chain(&intent, &ids, &chains).await? {
                if is_internal(&held.key) {
                    idempotency::drop_key(&self.db, held.tenant_id, &held.key).await?;
                } else {
                    idempotency::unlock(&self.db, held.tenant_id, &held.key, now).await?;
                }
                continue;
            } else {
                self.deposit_all(user, &intent, &chains, &ids, true, &held.key)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))
            };
            match done {
                Ok(_) => n += 1,
                Err(e) => {
                    tracing::warn!(tenant = %held.tenant_id, error = %format!("{e:#}"), "could not finish a keyed deposit request");
                    idempotency::unlock(&self.db, held.tenant_id, &held.key, self.clock.now())
                        .await?;
                }
            }
        }
        Ok(n)
    }

    /// Whether any transaction of the request is on any of its chains.
    async fn reached_a_chain(
        &self,
        intent: &Intent,
        ids: &[Uuid],
        chains: &[chain::Model],
    ) -> anyhow::Result<bool> {
        let ops = on_chain(intent, ids).ops;
        for c in chains {
            let found = self
                .signer
                .committed_before(c.id, intent.tenant, &ops)
                .await?;
            if found.iter().any(Option::is_some) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The named chains, each of an alliance the tenant belongs to (else 404) and native.
    async fn chains_for(&self, tenant: Uuid, ids: &[Uuid]) -> Result<Vec<chain::Model>> {
        if ids.is_empty() || ids.len() > MAX_CHAINS {
            return Err(Error::field(
                "/chain_ids",
                format!("name 1 to {MAX_CHAINS} chains"),
            ));
        }
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) {
                return Err(Error::field(
                    &format!("/chain_ids/{i}"),
                    format!("chain {id} is named twice"),
                ));
            }
        }
        let mut chains = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            // Only chains of the tenant's alliances exist for it.
            let c = db::get(&self.db, *id)
                .await?
                .ok_or_else(|| Error::NotFound(format!("chain {id} not found")))?;
            if alliance_db::member(&self.db, c.alliance_id, tenant)
                .await?
                .is_none()
            {
                return Err(Error::NotFound(format!("chain {id} not found")));
            }
            if c.engine != "native" {
                return Err(Error::field(
                    &format!("/chain_ids/{i}"),
                    format!("chain {id} runs {}; deposits go to native chains", c.engine),
                ));
            }
            chains.push(c);
        }
        Ok(chains)
    }

    /// Deposits the intent's items (with the deposit ids `ids`) on every chain at once; answers
    /// (the response body's JSON) only when all are committed and stored. `recover`: an earlier
    /// attempt may have committed some, found by their ids instead of deposited again. The
    /// `key` is marked answered (an internal one dropped) in the transaction that records the
    /// deposits.
    async fn deposit_all(
        &self,
        user: Option<Uuid>,
        intent: &Intent,
        chains: &[chain::Model],
        ids: &[Uuid],
        recover: bool,
        key: &str,
    ) -> Result<String> {
        let (tenant, items, full, merkle) =
            (intent.tenant, &intent.items, intent.full, intent.merkle);
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
                    self.signer.commit_once(c.id, tenant, ops).await
                } else {
                    self.signer.commit(c.id, tenant, ops).await
                }
                .map_err(|e| Error::Unavailable(format!("chain {}: {e:#}", c.id)))?;
                Ok::<_, Error>((c.id, receipts))
            }
        });
        let committed = futures_util::future::try_join_all(work).await?;
        let now = self.clock.now();
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
                metadata: serde_json::from_str(&item.metadata).unwrap_or(Value::Null),
                created_by: user,
                created_at: now,
            };
            rows.push((row, receipts));
        }
        let mut views = rows
            .iter()
            .cloned()
            .map(|(d, r)| to_view(d, r, full.then_some(&seals)))
            .collect::<Result<Vec<_>>>()?;
        let body = if intent.kind == RequestKind::Single {
            serde_json::to_string(&views.remove(0))
        } else {
            serde_json::to_string(&DepositBatch { deposits: views })
        }
        .map_err(|e| Error::Internal(e.to_string()))?;
        let txn = self.db.begin().await?;
        db::insert_deposits(&txn, rows, blocks).await?;
        if is_internal(key) {
            idempotency::drop_key(&txn, tenant, key).await?;
        } else {
            idempotency::complete(&txn, tenant, key, body.clone()).await?;
        }
        txn.commit().await?;
        Ok(body)
    }

    async fn deposit_view(&self, d: deposit::Model) -> Result<DepositView> {
        let receipts = db::receipts(&self.db, d.id).await?;
        let blocks: Vec<(Uuid, i64)> = receipts.iter().map(|r| (r.chain_id, r.height)).collect();
        let seals = db::seals(&self.db, &blocks)
            .await?
            .into_iter()
            .map(|(block, seal)| Ok((block, serde_json::from_str(&seal)?)))
            .collect::<Result<Seals, serde_json::Error>>()
            .map_err(|e| Error::Internal(format!("stored seal: {e}")))?;
        to_view(d, receipts, Some(&seals))
    }
}
