//! Accounts and the rules every transaction is executed by.
//!
//! An account's id never changes; its keys do. A transaction is authorised when the weights of
//! its distinct signing keys that belong to the account reach the account's threshold; a
//! `recover` is authorised by the recovery key alone and replaces every key.

use std::collections::BTreeMap;

use consortia_bft::Hash;

use crate::error::TxError;
use crate::merkle;
use crate::tx::{MAX_KEYS, Op, SignedTx};

pub use crate::account::{ACCOUNT_DOMAIN, Account};

/// Read access to accounts (committed state, or an overlay of pending changes on it).
pub trait Accounts {
    fn account(&self, id: &str) -> Option<&Account>;
}

/// All accounts, with their Merkle leaves cached so the state root costs one hash per
/// account per block (a sparse Merkle tree would make it logarithmic; at consortium scale —
/// thousands of accounts — this is well under a millisecond).
#[derive(Default, Clone)]
pub struct State {
    accounts: BTreeMap<String, Account>,
    leaves: BTreeMap<String, Hash>,
}

impl Accounts for State {
    fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.get(id)
    }
}

impl State {
    pub fn insert(&mut self, a: Account) {
        self.leaves.insert(a.id.clone(), a.leaf());
        self.accounts.insert(a.id.clone(), a);
    }

    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    pub fn root(&self) -> Hash {
        let leaves: Vec<Hash> = self.leaves.values().copied().collect();
        merkle::root(&leaves)
    }

    /// The root the state would have with `changes` applied.
    pub fn root_with(&self, changes: &BTreeMap<String, Account>) -> Hash {
        if changes.is_empty() {
            return self.root();
        }
        let mut leaves = self.leaves.clone();
        for (id, a) in changes {
            leaves.insert(id.clone(), a.leaf());
        }
        let leaves: Vec<Hash> = leaves.into_values().collect();
        merkle::root(&leaves)
    }
}

/// Pending changes over a base state, for executing a block without touching it.
pub struct Overlay<'a> {
    pub base: &'a State,
    pub changes: BTreeMap<String, Account>,
}

impl Accounts for Overlay<'_> {
    fn account(&self, id: &str) -> Option<&Account> {
        self.changes.get(id).or_else(|| self.base.account(id))
    }
}

impl<'a> Overlay<'a> {
    pub fn new(base: &'a State) -> Self {
        Overlay {
            base,
            changes: BTreeMap::new(),
        }
    }

    /// Executes one transaction whose signatures are verified, at block `height`.
    pub fn apply(&mut self, tx: &SignedTx, height: u64) -> Result<(), TxError> {
        let t = &tx.tx;
        let mut acct = self
            .account(&t.account)
            .cloned()
            .ok_or_else(|| TxError::UnknownAccount(t.account.clone()))?;
        if height > t.expiry_height {
            return Err(TxError::Expired {
                expiry: t.expiry_height,
                height,
            });
        }
        let expected = acct.nonce + 1;
        if t.nonce < expected {
            return Err(TxError::StaleNonce {
                expected,
                got: t.nonce,
            });
        }
        if t.nonce > expected {
            return Err(TxError::NonceGap {
                expected,
                got: t.nonce,
            });
        }
        acct.authorize(tx)?;
        match &t.op {
            Op::CreateAccount {
                id,
                keys,
                threshold,
                recovery_key,
            } => {
                if self.account(id).is_some() {
                    return Err(TxError::AccountExists(id.clone()));
                }
                self.changes.insert(
                    id.clone(),
                    Account {
                        id: id.clone(),
                        keys: keys.clone(),
                        threshold: *threshold,
                        recovery_key: *recovery_key,
                        nonce: 0,
                        created_height: height,
                        deposits: 0,
                    },
                );
            }
            Op::AddKey { key } => {
                if acct.keys.iter().any(|k| k.public_key == key.public_key) {
                    return Err(TxError::KeyExists(hex::encode(key.public_key)));
                }
                if acct.keys.len() >= MAX_KEYS {
                    return Err(TxError::TooManyKeys { max: MAX_KEYS });
                }
                acct.keys.push(key.clone());
            }
            Op::RemoveKey { public_key } => {
                let pos = acct
                    .keys
                    .iter()
                    .position(|k| &k.public_key == public_key)
                    .ok_or_else(|| TxError::NotAccountKey(hex::encode(public_key)))?;
                acct.keys.remove(pos);
                if acct.total_weight() < u64::from(acct.threshold) {
                    return Err(TxError::WouldLockOut {
                        threshold: acct.threshold,
                        total: acct.total_weight(),
                    });
                }
            }
            Op::SetThreshold { threshold } => {
                if u64::from(*threshold) > acct.total_weight() {
                    return Err(TxError::WouldLockOut {
                        threshold: *threshold,
                        total: acct.total_weight(),
                    });
                }
                acct.threshold = *threshold;
            }
            Op::SetRecoveryKey { recovery_key } => acct.recovery_key = *recovery_key,
            Op::Recover { keys, threshold } => {
                acct.keys = keys.clone();
                acct.threshold = *threshold;
            }
            Op::Deposit { .. } => acct.deposits += 1,
        }
        acct.nonce = t.nonce;
        self.changes.insert(acct.id.clone(), acct);
        Ok(())
    }
}
