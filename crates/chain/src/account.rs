//! An account: its weighted keys, threshold and recovery key, and the rule that says whether a
//! transaction's signers may act for it. The node's state holds them; its API serves them.

use borsh::{BorshDeserialize, BorshSerialize};
use consortia_bft::{Hash, hexser};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::TxError;
use crate::merkle;
use crate::tx::{Op, SignedTx, WeightedKey};

pub const ACCOUNT_DOMAIN: &[u8] = b"consortia/account/v1\0";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
pub struct Account {
    pub id: String,
    pub keys: Vec<WeightedKey>,
    pub threshold: u32,
    #[serde(with = "hexser::option_array")]
    pub recovery_key: Option<[u8; 32]>,
    /// The nonce of the last executed transaction (0 for none).
    pub nonce: u64,
    pub created_height: u64,
    pub deposits: u64,
}

impl Account {
    pub fn total_weight(&self) -> u64 {
        self.keys.iter().map(|k| u64::from(k.weight)).sum()
    }

    pub fn leaf(&self) -> Hash {
        let mut h = Sha256::new();
        h.update(ACCOUNT_DOMAIN);
        h.update(borsh::to_vec(self).expect("borsh to memory"));
        merkle::leaf_hash(&h.finalize())
    }

    /// Whether the signers of `tx` may act for this account (signatures already verified).
    pub fn authorize(&self, tx: &SignedTx) -> Result<(), TxError> {
        if let Op::Recover { .. } = tx.tx.op {
            let rk = self.recovery_key.ok_or(TxError::NoRecoveryKey)?;
            return if tx.signatures.len() == 1 && tx.signatures[0].public_key == rk {
                Ok(())
            } else {
                Err(TxError::NotRecoveryKey)
            };
        }
        let mut have = 0u64;
        for s in &tx.signatures {
            let k = self
                .keys
                .iter()
                .find(|k| k.public_key == s.public_key)
                .ok_or_else(|| TxError::NotAccountKey(hex::encode(s.public_key)))?;
            have += u64::from(k.weight);
        }
        if have < u64::from(self.threshold) {
            return Err(TxError::InsufficientWeight {
                have,
                need: self.threshold,
            });
        }
        Ok(())
    }
}
