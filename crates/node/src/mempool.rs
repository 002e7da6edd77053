//! The mempool: verified transactions waiting for a block, bounded, ordered per account by
//! nonce. Everything in it has passed admission (stateless checks, signature verification,
//! key weight and nonce against committed state), so a transaction's signatures are verified
//! once per node.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use consortia_bft::Hash;

use crate::error::TxError;
use crate::tx::SignedTx;

pub struct Mempool {
    by_hash: HashMap<Hash, Arc<SignedTx>>,
    by_account: BTreeMap<String, BTreeMap<u64, Hash>>,
    max_txs: usize,
    /// Admitted from clients and not yet sent to peers.
    outbox: Vec<Arc<SignedTx>>,
}

impl Mempool {
    pub fn new(max_txs: usize) -> Self {
        Mempool {
            by_hash: HashMap::new(),
            by_account: BTreeMap::new(),
            max_txs,
            outbox: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.by_hash.len() >= self.max_txs
    }

    pub fn contains(&self, hash: &Hash) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// Whether the mempool holds exactly `tx` (whose hash is `hash`), signatures included: the
    /// transaction hash does not cover them, so a copy with other signatures is another thing.
    pub fn holds(&self, hash: &Hash, tx: &SignedTx) -> bool {
        self.by_hash.get(hash).is_some_and(|t| **t == *tx)
    }

    pub fn hashes(&self) -> HashSet<Hash> {
        self.by_hash.keys().copied().collect()
    }

    /// Checks that would refuse `tx` because of what is already pending.
    pub fn check(&self, hash: &Hash, tx: &SignedTx) -> Result<(), TxError> {
        if self.by_hash.contains_key(hash) {
            return Err(TxError::Duplicate);
        }
        if self
            .by_account
            .get(&tx.tx.account)
            .is_some_and(|q| q.contains_key(&tx.tx.nonce))
        {
            return Err(TxError::NonceTaken(tx.tx.nonce));
        }
        if self.is_full() {
            return Err(TxError::MempoolFull);
        }
        Ok(())
    }

    /// Adds an admitted transaction. `gossip` queues it for the peers.
    pub fn insert(&mut self, hash: Hash, tx: SignedTx, gossip: bool) -> Result<(), TxError> {
        self.check(&hash, &tx)?;
        let tx = Arc::new(tx);
        self.by_account
            .entry(tx.tx.account.clone())
            .or_default()
            .insert(tx.tx.nonce, hash);
        if gossip {
            self.outbox.push(tx.clone());
        }
        self.by_hash.insert(hash, tx);
        Ok(())
    }

    pub fn take_outbox(&mut self) -> Vec<Arc<SignedTx>> {
        std::mem::take(&mut self.outbox)
    }

    /// Transactions for the next block: per account, consecutive nonces from the account's
    /// next nonce, accounts in turn, at most `max` in all.
    pub fn reap(&self, max: usize, next_nonce: impl Fn(&str) -> Option<u64>) -> Vec<SignedTx> {
        let mut queues: Vec<(u64, std::collections::btree_map::Range<'_, u64, Hash>)> = self
            .by_account
            .iter()
            .filter_map(|(acct, q)| {
                let n = next_nonce(acct)?;
                Some((n, q.range(n..)))
            })
            .collect();
        let mut out = Vec::with_capacity(max.min(self.by_hash.len()));
        // Round robin so one busy account cannot starve the others.
        while out.len() < max && !queues.is_empty() {
            queues.retain_mut(|(expected, it)| {
                if out.len() >= max {
                    return false;
                }
                match it.next() {
                    Some((nonce, hash)) if nonce == expected => {
                        if let Some(tx) = self.by_hash.get(hash) {
                            out.push((**tx).clone());
                        }
                        *expected += 1;
                        true
                    }
                    _ => false,
                }
            });
        }
        out
    }

    /// Removes what a committed block included, and whatever the new nonces made stale.
    pub fn remove_committed(
        &mut self,
        included: &[Hash],
        touched: impl Iterator<Item = (String, u64)>,
    ) {
        for h in included {
            if let Some(tx) = self.by_hash.remove(h)
                && let Some(q) = self.by_account.get_mut(&tx.tx.account)
            {
                q.remove(&tx.tx.nonce);
            }
        }
        for (acct, nonce) in touched {
            if let Some(q) = self.by_account.get_mut(&acct) {
                let stale: Vec<u64> = q.range(..=nonce).map(|(n, _)| *n).collect();
                for n in stale {
                    if let Some(h) = q.remove(&n) {
                        self.by_hash.remove(&h);
                    }
                }
                if q.is_empty() {
                    self.by_account.remove(&acct);
                }
            }
        }
    }

    /// Drops transactions a proposer found unexecutable.
    pub fn remove(&mut self, hashes: &[Hash]) {
        self.remove_committed(hashes, std::iter::empty());
    }
}
