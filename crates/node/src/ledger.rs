//! The ledger: committed state plus deterministic block building, validation and commit.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, Result, bail};
use consortia_bft::{CommitCertificate, Hash};

use crate::block::{Block, CommittedBlock, Header, tx_leaf, tx_root};
use crate::error::TxError;
use crate::genesis::Genesis;
use crate::merkle;
use crate::receipt::Receipt;
use crate::state::{Account, Overlay, State};
use crate::store::Store;
use crate::tx::{SignedTx, verify_batch};

/// The result of executing a block: the accounts it changes and the state root after it.
#[derive(Clone)]
pub struct Outcome {
    pub changes: BTreeMap<String, Account>,
    pub state_root: Hash,
}

pub struct Ledger {
    pub genesis: Genesis,
    pub genesis_hash: Hash,
    validators_hash: Hash,
    store: Store,
    state: State,
    height: u64,
    last_hash: Hash,
    last_time_ms: u64,
    /// Outcomes of blocks validated or built at the current height, by block hash.
    outcomes: HashMap<Hash, Outcome>,
}

impl Ledger {
    /// Opens (or initialises from genesis) the chain database at `path`.
    pub fn open(path: &Path, genesis: Genesis) -> Result<Ledger> {
        let store = Store::open(path)?;
        let genesis_hash = genesis.hash();
        // A database belongs to one genesis: opening it with another (same chain id, other
        // validators, accounts or parameters) would run a different chain on old state.
        match store.genesis_hash()? {
            Some(h) if h != genesis_hash => bail!(
                "the database was initialised from genesis {}, but this genesis file hashes to {}",
                hex::encode(h),
                hex::encode(genesis_hash)
            ),
            Some(_) => {}
            None => store.set_genesis_hash(&genesis_hash)?,
        }
        let mut state = State::default();
        let height = store.height()?;
        let accounts = store.all_accounts()?;
        if height == 0 && accounts.is_empty() {
            let initial: Vec<Account> = genesis
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
            store.init_accounts(&initial)?;
            for a in initial {
                state.insert(a);
            }
        } else {
            for a in accounts {
                state.insert(a);
            }
        }
        let (last_hash, last_time_ms) = if height == 0 {
            (genesis_hash, genesis.genesis_time_ms)
        } else {
            let b = store
                .block(height)?
                .with_context(|| format!("block {height} missing from the database"))?;
            if b.block.header.chain_id != genesis.chain_id {
                bail!(
                    "the database holds chain {:?}, the genesis file is for {:?}",
                    b.block.header.chain_id,
                    genesis.chain_id
                );
            }
            (b.block.hash(), b.block.header.time_ms)
        };
        if height > 0
            && state.root()
                != store
                    .block(height)?
                    .map(|b| b.block.header.state_root)
                    .unwrap_or_default()
        {
            bail!("stored accounts do not match the state root of block {height}");
        }
        Ok(Ledger {
            validators_hash: genesis.validators_hash(),
            genesis,
            genesis_hash,
            store,
            state,
            height,
            last_hash,
            last_time_ms,
            outcomes: HashMap::new(),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn height(&self) -> u64 {
        self.height
    }

    pub fn last_hash(&self) -> Hash {
        self.last_hash
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn next_nonce(&self, account: &str) -> Option<u64> {
        use crate::state::Accounts;
        self.state.account(account).map(|a| a.nonce + 1)
    }

    /// Builds the next block from candidate transactions (signatures already verified), in
    /// order, skipping those that fail; returns the block and the refused transactions.
    pub fn build(
        &mut self,
        candidates: Vec<SignedTx>,
        round: u32,
        proposer: u32,
        now_ms: u64,
    ) -> (Block, Vec<(Hash, TxError)>) {
        let height = self.height + 1;
        let params = &self.genesis.params;
        let mut overlay = Overlay::new(&self.state);
        let mut txs = Vec::new();
        let mut refused = Vec::new();
        let mut bytes = 0u64;
        for tx in candidates {
            if txs.len() >= params.max_block_txs as usize {
                break;
            }
            let size = tx.encoded_len() as u64;
            if bytes + size > params.max_block_bytes {
                break;
            }
            match overlay.apply(&tx, height) {
                Ok(()) => {
                    bytes += size;
                    txs.push(tx);
                }
                Err(e) => refused.push((tx.hash(), e)),
            }
        }
        let outcome = Outcome {
            state_root: self.state.root_with(&overlay.changes),
            changes: overlay.changes,
        };
        let header = Header {
            chain_id: self.genesis.chain_id.clone(),
            height,
            time_ms: now_ms.max(self.last_time_ms),
            prev_hash: self.last_hash,
            tx_root: tx_root(&txs),
            tx_count: txs.len() as u32,
            state_root: outcome.state_root,
            validators_hash: self.validators_hash,
            proposer,
            round,
        };
        let block = Block { header, txs };
        self.outcomes.insert(block.hash(), outcome);
        (block, refused)
    }

    /// Checks that `block` is a valid next block. `verified` holds hashes of *signed*
    /// transactions ([`tx_leaf`]: the transaction with its signatures) whose signatures this
    /// node has already verified (its mempool); the rest are verified here in one batch. Not
    /// the transaction hash: it does not cover the signatures, so a proposer could pass off a
    /// known transaction with corrupted signatures.
    pub fn validate(
        &mut self,
        block: &Block,
        verified: &HashSet<Hash>,
        now_ms: u64,
    ) -> Result<(), String> {
        let hash = block.hash();
        if self.outcomes.contains_key(&hash) {
            return Ok(());
        }
        let h = &block.header;
        let params = &self.genesis.params;
        if h.chain_id != self.genesis.chain_id {
            return Err("block is for another chain".into());
        }
        if h.height != self.height + 1 {
            return Err(format!(
                "block height {} is not the next height {}",
                h.height,
                self.height + 1
            ));
        }
        if h.prev_hash != self.last_hash {
            return Err("block does not extend our last block".into());
        }
        if h.validators_hash != self.validators_hash {
            return Err("block names another validator set".into());
        }
        let proposer = self.genesis.validators.proposer(h.height, h.round);
        if h.proposer as usize != proposer {
            return Err(format!(
                "block names validator {} as proposer of round {}, whose proposer is {proposer}",
                h.proposer, h.round
            ));
        }
        if h.time_ms < self.last_time_ms {
            return Err("block time goes backwards".into());
        }
        if h.time_ms > now_ms + 30_000 {
            return Err("block time is more than 30 s in the future".into());
        }
        if h.tx_count as usize != block.txs.len() || block.txs.len() > params.max_block_txs as usize
        {
            return Err("block transaction count is wrong or over the limit".into());
        }
        // The same measure `build` fills blocks by.
        let bytes = block
            .txs
            .iter()
            .fold(0u64, |n, t| n.saturating_add(t.encoded_len() as u64));
        if bytes > params.max_block_bytes {
            return Err(format!(
                "block holds {bytes} bytes of transactions, over the limit of {}",
                params.max_block_bytes
            ));
        }
        let leaves: Vec<Hash> = block.txs.iter().map(tx_leaf).collect();
        if merkle::root(&leaves) != h.tx_root {
            return Err("transaction root does not match".into());
        }
        let max_meta = params.max_metadata_bytes as usize;
        let hashes: Vec<Hash> = block.txs.iter().map(|t| t.hash()).collect();
        let mut unique = HashSet::with_capacity(hashes.len());
        let mut to_verify = Vec::new();
        let mut to_verify_hashes = Vec::new();
        for ((tx, hash), leaf) in block.txs.iter().zip(&hashes).zip(&leaves) {
            tx.check_stateless(&self.genesis.chain_id, max_meta)
                .map_err(|e| format!("transaction {}: {e}", hex::encode(hash)))?;
            if !unique.insert(*hash) {
                return Err(format!("transaction {} appears twice", hex::encode(hash)));
            }
            if !verified.contains(leaf) {
                to_verify.push(tx);
                to_verify_hashes.push(*hash);
            }
        }
        for (r, hash) in verify_batch(&to_verify, &to_verify_hashes)
            .into_iter()
            .zip(&to_verify_hashes)
        {
            r.map_err(|e| format!("transaction {}: {e}", hex::encode(hash)))?;
        }
        let mut overlay = Overlay::new(&self.state);
        for (tx, hash) in block.txs.iter().zip(&hashes) {
            overlay
                .apply(tx, h.height)
                .map_err(|e| format!("transaction {}: {e}", hex::encode(hash)))?;
        }
        let state_root = self.state.root_with(&overlay.changes);
        if state_root != h.state_root {
            return Err("state root does not match".into());
        }
        let changes = overlay.changes;
        self.outcomes.insert(
            hash,
            Outcome {
                changes,
                state_root,
            },
        );
        Ok(())
    }

    /// Commits a validated block with its certificate (durably), and advances the state.
    pub fn commit(&mut self, block: Block, certificate: CommitCertificate) -> Result<()> {
        let hash = block.hash();
        let outcome = self
            .outcomes
            .remove(&hash)
            .context("commit of a block that was not validated")?;
        let changed: Vec<&Account> = outcome.changes.values().collect();
        let cb = CommittedBlock { block, certificate };
        self.store.commit(&cb, &changed)?;
        for a in outcome.changes.into_values() {
            self.state.insert(a);
        }
        self.height = cb.block.header.height;
        self.last_hash = hash;
        self.last_time_ms = cb.block.header.time_ms;
        self.outcomes.clear();
        Ok(())
    }

    /// A receipt for a committed transaction.
    pub fn receipt(store: &Store, tx_hash: &Hash) -> Result<Option<Receipt>> {
        let Some((height, index)) = store.tx_location(tx_hash)? else {
            return Ok(None);
        };
        let cb = store
            .block(height)?
            .with_context(|| format!("indexed block {height} is missing"))?;
        let leaves: Vec<Hash> = cb.block.txs.iter().map(tx_leaf).collect();
        let tx = cb
            .block
            .txs
            .get(index as usize)
            .cloned()
            .context("indexed transaction is missing from its block")?;
        Ok(Some(Receipt {
            tx,
            tx_hash: *tx_hash,
            height,
            index,
            block_hash: cb.block.hash(),
            proof: merkle::proof(&leaves, index as usize),
            header: cb.block.header,
            certificate: cb.certificate,
        }))
    }
}
