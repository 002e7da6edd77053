//! Admission of transactions into the mempool, for clients (REST API) and peers (gossip).

use std::collections::HashSet;

use consortia_bft::Hash;

use crate::error::TxError;
use crate::metrics::Reason;
use crate::shared::Shared;
use crate::tx::{SignedTx, verify_batch};

/// Admits transactions into the mempool: stateless checks, one batch signature
/// verification, then key weight and nonce against the committed state. `gossip` sends the
/// admitted ones on to the peers (for transactions from clients).
pub fn admit(shared: &Shared, txs: Vec<SignedTx>, gossip: bool) -> Vec<Result<Hash, TxError>> {
    let params = &shared.genesis.params;
    let chain = &shared.genesis.chain_id;
    let mut results: Vec<Result<Hash, TxError>> = Vec::with_capacity(txs.len());
    let hashes: Vec<Hash> = txs.iter().map(|t| t.hash()).collect();
    {
        let mp = shared.mempool.lock().unwrap_or_else(|e| e.into_inner());
        let mut in_batch = HashSet::new();
        for (tx, hash) in txs.iter().zip(&hashes) {
            let r = tx
                .check_stateless(chain, params.max_metadata_bytes as usize)
                .and_then(|()| mp.check(hash, tx))
                .and_then(|()| {
                    if in_batch.insert(*hash) {
                        Ok(*hash)
                    } else {
                        Err(TxError::Duplicate)
                    }
                });
            results.push(r);
        }
    }
    let idx: Vec<usize> = (0..txs.len()).filter(|i| results[*i].is_ok()).collect();
    let refs: Vec<&SignedTx> = idx.iter().map(|i| &txs[*i]).collect();
    let hs: Vec<Hash> = idx.iter().map(|i| hashes[*i]).collect();
    for (i, v) in idx.iter().zip(verify_batch(&refs, &hs)) {
        if let Err(e) = v {
            results[*i] = Err(e);
        }
    }
    // Key weight and nonce against committed state, in one read transaction.
    let ids: Vec<&str> = txs.iter().map(|t| t.tx.account.as_str()).collect();
    let accounts = shared
        .store
        .accounts(&ids)
        .unwrap_or_else(|_| vec![None; ids.len()]);
    for (i, tx) in txs.iter().enumerate() {
        if results[i].is_err() {
            continue;
        }
        let r = match &accounts[i] {
            None => Err(TxError::UnknownAccount(tx.tx.account.clone())),
            Some(a) => {
                let expected = a.nonce + 1;
                if tx.tx.nonce < expected {
                    Err(TxError::StaleNonce {
                        expected,
                        got: tx.tx.nonce,
                    })
                } else if tx.tx.nonce > a.nonce + params.nonce_window {
                    Err(TxError::NonceTooFar {
                        expected,
                        got: tx.tx.nonce,
                    })
                } else if tx.tx.expiry_height <= *shared.height.borrow() {
                    Err(TxError::Expired {
                        expiry: tx.tx.expiry_height,
                        height: *shared.height.borrow(),
                    })
                } else {
                    a.authorize(tx)
                }
            }
        };
        if let Err(e) = r {
            results[i] = Err(e);
        }
    }
    let mut added = 0;
    {
        let mut mp = shared.mempool.lock().unwrap_or_else(|e| e.into_inner());
        for (tx, r) in txs.into_iter().zip(results.iter_mut()) {
            if let Ok(hash) = r {
                match mp.insert(*hash, tx, gossip) {
                    Ok(()) => added += 1,
                    Err(e) => *r = Err(e),
                }
            }
        }
        shared.metrics.mempool_size.set(mp.len() as i64);
    }
    for r in &results {
        if let Err(e) = r {
            let code = e.code().to_string();
            shared
                .metrics
                .rejected
                .get_or_create(&Reason { reason: code })
                .inc();
        }
    }
    if added > 0 {
        shared.wakeup.notify_one();
    }
    results
}
