//! A chain without a node: genesis, blocks and commit certificates built by hand from fixed
//! keys, so receipts (honest ones, and ones a Byzantine quorum could sign) are reproducible.

#![allow(dead_code)]

use consortia_bft::{
    CommitCertificate, CommitSig, Validator, ValidatorSet, VoteKind, vote_sign_bytes,
};
use consortia_chain::Hash;
use consortia_chain::account::Account;
use consortia_chain::block::{Block, Header, tx_leaf, tx_root};
use consortia_chain::genesis::{Genesis, GenesisAccount, Params};
use consortia_chain::merkle;
use consortia_chain::receipt::{AnchoredItem, AnchoredReceipt, Receipt};
use consortia_chain::tx::{HashAlg, Op, SignedTx, Tx, WeightedKey};
use ed25519_dalek::{Signer, SigningKey};

pub const CHAIN: &str = "consortia-vectors";
pub const GENESIS_TIME_MS: u64 = 1_767_225_600_000;
pub const BLOCK_TIME_MS: u64 = GENESIS_TIME_MS + 1_250;

pub fn key(i: u8) -> SigningKey {
    SigningKey::from_bytes(&[i; 32])
}

pub fn wk(k: &SigningKey, weight: u32) -> WeightedKey {
    WeightedKey {
        public_key: k.verifying_key().to_bytes(),
        weight,
    }
}

/// Four validators of unequal power (1, 2, 3, 4: a quorum needs 7 of 10) and two accounts:
/// `alice` (two keys, threshold 1, a recovery key) and `bob` (one key).
pub struct Net {
    pub genesis: Genesis,
    pub validators: Vec<SigningKey>,
    pub alice: SigningKey,
    pub alice2: SigningKey,
    pub bob: SigningKey,
}

impl Net {
    pub fn new() -> Net {
        let validators: Vec<SigningKey> = (0..4).map(|i| key(100 + i)).collect();
        let (alice, alice2, recovery, bob) = (key(1), key(2), key(3), key(4));
        let genesis = Genesis {
            chain_id: CHAIN.into(),
            genesis_time_ms: GENESIS_TIME_MS,
            validators: ValidatorSet::new(
                validators
                    .iter()
                    .enumerate()
                    .map(|(i, k)| Validator {
                        name: format!("validator-{i}"),
                        public_key: k.verifying_key().to_bytes(),
                        power: i as u64 + 1,
                    })
                    .collect(),
            )
            .unwrap(),
            accounts: vec![
                GenesisAccount {
                    id: "alice".into(),
                    keys: vec![wk(&alice, 1), wk(&alice2, 1)],
                    threshold: 1,
                    recovery_key: Some(recovery.verifying_key().to_bytes()),
                },
                GenesisAccount {
                    id: "bob".into(),
                    keys: vec![wk(&bob, 1)],
                    threshold: 1,
                    recovery_key: None,
                },
            ],
            params: Params {
                max_metadata_bytes: 8192,
                commit_delay_ms: 50,
                ..Params::default()
            },
        };
        genesis.validate().unwrap();
        Net {
            genesis,
            validators,
            alice,
            alice2,
            bob,
        }
    }

    pub fn tx(&self, account: &str, nonce: u64, op: Op) -> Tx {
        Tx {
            chain_id: CHAIN.into(),
            account: account.into(),
            nonce,
            expiry_height: 1_000,
            op,
        }
    }

    /// A SHA-256 deposit of `content` (32 bytes) by `alice`.
    pub fn deposit(&self, nonce: u64, content: Hash, metadata: &str) -> SignedTx {
        self.tx(
            "alice",
            nonce,
            Op::Deposit {
                hash_alg: HashAlg::Sha256,
                content_hash: content.to_vec(),
                metadata: metadata.into(),
                external_id: None,
            },
        )
        .sign(&[&self.alice])
    }

    /// The accounts after `txs` ran at height 1: the state root an honest node computes for
    /// blocks of deposits and added keys (all these fixtures hold).
    pub fn state_root(&self, txs: &[SignedTx]) -> Hash {
        let mut accounts: Vec<Account> = self
            .genesis
            .accounts
            .iter()
            .map(|a| Account {
                id: a.id.clone(),
                keys: a.keys.clone(),
                threshold: a.threshold,
                recovery_key: a.recovery_key,
                nonce: 0,
                created_height: 0,
                deposits: 0,
            })
            .collect();
        for t in txs {
            let a = accounts
                .iter_mut()
                .find(|a| a.id == t.tx.account)
                .expect("fixtures act for genesis accounts");
            match &t.tx.op {
                Op::Deposit { .. } => a.deposits += 1,
                Op::AddKey { key } => a.keys.push(key.clone()),
                other => panic!("fixture state does not run {}", other.kind()),
            }
            a.nonce = t.tx.nonce;
        }
        accounts.sort_by(|a, b| a.id.cmp(&b.id));
        let leaves: Vec<Hash> = accounts.iter().map(Account::leaf).collect();
        merkle::root(&leaves)
    }

    /// Block 1 over `txs`, proposed in `round` by that round's proposer.
    pub fn block(&self, txs: Vec<SignedTx>, round: u32) -> Block {
        Block {
            header: Header {
                chain_id: CHAIN.into(),
                height: 1,
                time_ms: BLOCK_TIME_MS,
                prev_hash: self.genesis.hash(),
                tx_root: tx_root(&txs),
                tx_count: txs.len() as u32,
                state_root: self.state_root(&txs),
                validators_hash: self.genesis.validators_hash(),
                proposer: self.genesis.validators.proposer(1, round) as u32,
                round,
            },
            txs,
        }
    }

    /// Precommits of `signers` for `header` in `round`.
    pub fn certify(&self, header: &Header, round: u32, signers: &[usize]) -> CommitCertificate {
        let hash = header.hash();
        let msg = vote_sign_bytes(
            CHAIN,
            VoteKind::Precommit,
            header.height,
            round,
            Some(&hash),
        );
        CommitCertificate {
            height: header.height,
            round,
            block_hash: hash,
            signatures: signers
                .iter()
                .map(|&i| CommitSig {
                    validator: i as u32,
                    signature: self.validators[i].sign(&msg).to_bytes(),
                })
                .collect(),
        }
    }

    /// The receipt of transaction `index` of `block`, certified in the header's round by
    /// validators 1, 2 and 3 (power 9 of 10).
    pub fn receipt(&self, block: &Block, index: usize) -> Receipt {
        let cert = self.certify(&block.header, block.header.round, &[1, 2, 3]);
        receipt_with(block, &cert, index)
    }
}

pub fn receipt_with(block: &Block, cert: &CommitCertificate, index: usize) -> Receipt {
    let leaves: Vec<Hash> = block.txs.iter().map(tx_leaf).collect();
    Receipt {
        tx: block.txs[index].clone(),
        tx_hash: block.txs[index].hash(),
        height: block.header.height,
        index: index as u32,
        block_hash: block.hash(),
        proof: merkle::proof(&leaves, index),
        header: block.header.clone(),
        certificate: cert.clone(),
    }
}

/// `n` distinct items (content hashes 0xa0.., metadata naming their position).
pub fn items(n: usize) -> Vec<AnchoredItem> {
    (0..n)
        .map(|i| AnchoredItem {
            hash_alg: HashAlg::Sha256,
            content_hash: vec![0xa0 + i as u8; 32],
            metadata: format!("{{\"n\":{i}}}"),
        })
        .collect()
}

/// The anchoring deposit of `items`, its metadata written as the API server's deposit service
/// writes it (`api-server/src/http/handlers/deposits.rs`), so receipts made so far stay valid.
pub fn anchor_tx(net: &Net, nonce: u64, items: &[AnchoredItem]) -> SignedTx {
    let leaves: Vec<Hash> = items.iter().map(AnchoredItem::leaf).collect();
    net.deposit(
        nonce,
        merkle::root(&leaves),
        &serde_json::json!({"kind": "consortia.merkle-anchor", "leaves": items.len()}).to_string(),
    )
}

/// Every item's receipt, the anchoring transaction being `block.txs[at]`.
pub fn anchored(
    block: &Block,
    at: usize,
    items: &[AnchoredItem],
    net: &Net,
) -> Vec<AnchoredReceipt> {
    let leaves: Vec<Hash> = items.iter().map(AnchoredItem::leaf).collect();
    let anchor = net.receipt(block, at);
    items
        .iter()
        .enumerate()
        .map(|(i, item)| AnchoredReceipt {
            item: item.clone(),
            index: i as u64,
            size: items.len() as u64,
            path: merkle::proof(&leaves, i),
            anchor: anchor.clone(),
        })
        .collect()
}

/// An ed25519 signature of `msg` by `sk` whose nonce point `R` has the point of order 2
/// added: the cofactored equation `[8][S]B = [8]R + [8][k]A` holds (ZIP 215 accepts it, as
/// transaction signatures are checked), the cofactorless one does not (strict verification
/// refuses it, as precommit signatures are checked).
pub fn sign_with_torsion(sk: &SigningKey, msg: &[u8]) -> [u8; 64] {
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT as B;
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest, Sha512};
    let h = Sha512::digest(sk.to_bytes());
    let mut a_bytes = [0u8; 32];
    a_bytes.copy_from_slice(&h[..32]);
    a_bytes[0] &= 248;
    a_bytes[31] &= 127;
    a_bytes[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a_bytes);
    let public = sk.verifying_key().to_bytes();
    // (0, -1): the point of order 2.
    let mut t = [0xffu8; 32];
    t[0] = 0xec;
    t[31] = 0x7f;
    let t = CompressedEdwardsY(t).decompress().unwrap();
    assert!(t.is_small_order());
    let r = Scalar::from_bytes_mod_order_wide(&Sha512::digest([&h[32..], msg].concat()).into());
    let big_r = (r * B + t).compress().to_bytes();
    let k = Scalar::from_bytes_mod_order_wide(
        &Sha512::digest([&big_r[..], &public, msg].concat()).into(),
    );
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&big_r);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}
