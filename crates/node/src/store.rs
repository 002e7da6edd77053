//! Crash-safe storage on redb: every committed block is written with its certificate, its
//! transaction index, its deposit (content-hash) index and the accounts it changed in one
//! write transaction, made durable (fsync) before `commit` returns. A crash therefore leaves
//! either the whole block or none of it.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use consortia_bft::Hash;
use redb::{Database, MultimapTableDefinition, ReadableTable, TableDefinition};

use crate::block::CommittedBlock;
use crate::state::Account;
use crate::tx::Op;

const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
const TXS: TableDefinition<&[u8], (u64, u32)> = TableDefinition::new("tx_index");
const DEPOSITS: MultimapTableDefinition<&[u8], &[u8]> = MultimapTableDefinition::new("deposits");
const ACCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("accounts");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// `hash`: the hash of the genesis the database was initialised from.
const GENESIS: TableDefinition<&str, &[u8]> = TableDefinition::new("genesis");

/// Handle to the node's database; cheap to clone, safe to read from any thread while the
/// consensus task writes (redb readers see the last committed block).
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        let db = Database::create(path)
            .with_context(|| format!("opening the chain database {}", path.display()))?;
        let w = db.begin_write()?;
        {
            w.open_table(BLOCKS)?;
            w.open_table(TXS)?;
            w.open_multimap_table(DEPOSITS)?;
            w.open_table(ACCOUNTS)?;
            w.open_table(META)?;
            w.open_table(GENESIS)?;
        }
        w.commit()?;
        Ok(Store { db: Arc::new(db) })
    }

    /// The hash of the genesis this database was initialised from (absent in a database
    /// created before it was recorded).
    pub fn genesis_hash(&self) -> Result<Option<Hash>> {
        let r = self.db.begin_read()?;
        let t = r.open_table(GENESIS)?;
        Ok(match t.get("hash")? {
            Some(v) => Some(
                v.value()
                    .try_into()
                    .context("the stored genesis hash is not 32 bytes")?,
            ),
            None => None,
        })
    }

    /// Records the genesis hash.
    pub fn set_genesis_hash(&self, hash: &Hash) -> Result<()> {
        let w = self.db.begin_write()?;
        w.open_table(GENESIS)?.insert("hash", hash.as_slice())?;
        w.commit()?;
        Ok(())
    }

    pub fn height(&self) -> Result<u64> {
        let r = self.db.begin_read()?;
        let t = r.open_table(META)?;
        Ok(t.get("height")?.map(|v| v.value()).unwrap_or(0))
    }

    /// Writes the genesis accounts (only into an empty database).
    pub fn init_accounts(&self, accounts: &[Account]) -> Result<()> {
        let w = self.db.begin_write()?;
        {
            let mut t = w.open_table(ACCOUNTS)?;
            for a in accounts {
                t.insert(a.id.as_str(), borsh::to_vec(a)?.as_slice())?;
            }
            w.open_table(META)?.insert("height", 0)?;
        }
        w.commit()?;
        Ok(())
    }

    /// Makes a block durable, with everything derived from it.
    pub fn commit(&self, cb: &CommittedBlock, changed: &[&Account]) -> Result<()> {
        let height = cb.block.header.height;
        let w = self.db.begin_write()?;
        {
            let mut blocks = w.open_table(BLOCKS)?;
            blocks.insert(height, postcard::to_allocvec(cb)?.as_slice())?;
            let mut txs = w.open_table(TXS)?;
            let mut deposits = w.open_multimap_table(DEPOSITS)?;
            for (i, tx) in cb.block.txs.iter().enumerate() {
                let hash = tx.hash();
                txs.insert(hash.as_slice(), (height, i as u32))?;
                if let Op::Deposit { content_hash, .. } = &tx.tx.op {
                    deposits.insert(content_hash.as_slice(), hash.as_slice())?;
                }
            }
            let mut accounts = w.open_table(ACCOUNTS)?;
            for a in changed {
                accounts.insert(a.id.as_str(), borsh::to_vec(*a)?.as_slice())?;
            }
            w.open_table(META)?.insert("height", height)?;
        }
        w.commit()?;
        Ok(())
    }

    pub fn block(&self, height: u64) -> Result<Option<CommittedBlock>> {
        let r = self.db.begin_read()?;
        let t = r.open_table(BLOCKS)?;
        match t.get(height)? {
            Some(v) => Ok(Some(postcard::from_bytes(v.value())?)),
            None => Ok(None),
        }
    }

    /// Consecutive committed blocks from `from`, at most `limit` of them and, past the first,
    /// no more than `max_bytes` of stored encoding in all (one read transaction).
    pub fn blocks_from(
        &self,
        from: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<CommittedBlock>> {
        let r = self.db.begin_read()?;
        let t = r.open_table(BLOCKS)?;
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for (expected, e) in (from..).zip(t.range(from..)?) {
            let (k, v) = e?;
            let raw = v.value();
            if out.len() >= limit
                || k.value() != expected
                || (!out.is_empty() && bytes + raw.len() > max_bytes)
            {
                break;
            }
            bytes += raw.len();
            out.push(postcard::from_bytes(raw)?);
        }
        Ok(out)
    }

    pub fn tx_location(&self, hash: &Hash) -> Result<Option<(u64, u32)>> {
        let r = self.db.begin_read()?;
        let t = r.open_table(TXS)?;
        Ok(t.get(hash.as_slice())?.map(|v| v.value()))
    }

    /// Hashes of the deposit transactions of a content hash, oldest first.
    pub fn deposits(&self, content_hash: &[u8]) -> Result<Vec<(Hash, u64, u32)>> {
        let r = self.db.begin_read()?;
        let t = r.open_multimap_table(DEPOSITS)?;
        let txs = r.open_table(TXS)?;
        let mut out = Vec::new();
        for v in t.get(content_hash)? {
            let v = v?;
            let Ok(hash) = <Hash>::try_from(v.value()) else {
                continue;
            };
            if let Some(loc) = txs.get(hash.as_slice())? {
                let (h, i) = loc.value();
                out.push((hash, h, i));
            }
        }
        out.sort_by_key(|(_, h, i)| (*h, *i));
        Ok(out)
    }

    pub fn account(&self, id: &str) -> Result<Option<Account>> {
        let r = self.db.begin_read()?;
        let t = r.open_table(ACCOUNTS)?;
        match t.get(id)? {
            Some(v) => Ok(Some(borsh::from_slice(v.value())?)),
            None => Ok(None),
        }
    }

    /// Several accounts in one read transaction (`None` for unknown ids).
    pub fn accounts(&self, ids: &[&str]) -> Result<Vec<Option<Account>>> {
        let r = self.db.begin_read()?;
        let t = r.open_table(ACCOUNTS)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(match t.get(*id)? {
                Some(v) => Some(borsh::from_slice(v.value())?),
                None => None,
            });
        }
        Ok(out)
    }

    pub fn all_accounts(&self) -> Result<Vec<Account>> {
        let r = self.db.begin_read()?;
        let t = r.open_table(ACCOUNTS)?;
        let mut out = Vec::new();
        for e in t.iter()? {
            let (_, v) = e?;
            out.push(borsh::from_slice(v.value())?);
        }
        Ok(out)
    }
}
