//! The RocksDB implementation of the chain store.

use std::path::Path;

use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

use rocksdb::{ColumnFamily, ColumnFamilyDescriptor, DB, IteratorMode, Options, WriteBatch, WriteOptions};

use super::{Column, IndexRecord};
use crate::anchor::BlockAnchor;
use crate::block::Block;
use crate::coins::CoinsCache;
use crate::encode::{Decodable, Encodable};
use crate::error::StoreError;
use crate::hash::{BlockHash, Txid};
use crate::params::Params;
use crate::transaction::OutPoint;
use crate::utxo::{BlockUndo, Coin, UtxoDigest, UtxoStats};

const KEY_TIP: &[u8] = b"tip";
/// Present once the anchor index covers the active chain (set at creation; a store made before
/// the index gets it when [`crate::chain::Chainstate::open`] has built it).
const KEY_ANCHOR_INDEX: &[u8] = b"anchor-index/2";
const KEY_NETWORK: &[u8] = b"network";
const KEY_VERSION: &[u8] = b"version";
const SCHEMA_VERSION: &[u8] = b"1";

/// How the store writes.
#[derive(Clone, Copy, Debug)]
pub struct StoreOptions {
    /// fsync the write-ahead log on every block connect/disconnect. A killed process never loses
    /// a committed batch either way (the log is in the OS page cache); syncing also survives power
    /// loss, at the cost of one fsync per block.
    pub sync_writes: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { sync_writes: true }
    }
}

/// The chain's RocksDB database.
pub struct Store {
    db: DB,
    sync_writes: AtomicBool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.db.path()).finish()
    }
}

fn corrupt(what: &'static str) -> impl FnOnce(crate::error::DecodeError) -> StoreError {
    move |source| StoreError::Corrupt { what, source }
}

impl Store {
    /// Opens (or creates, with the genesis block as tip) the store at `path` for `params`' network.
    ///
    /// # Errors
    /// RocksDB failures, or a database made for another network.
    pub fn open(path: &Path, params: &Params, options: StoreOptions) -> Result<Store, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_max_open_files(256);
        let cfs = Column::ALL
            .iter()
            .map(|c| ColumnFamilyDescriptor::new(c.name(), Options::default()));
        let db = DB::open_cf_descriptors(&opts, path, cfs)?;
        let store = Store {
            db,
            sync_writes: AtomicBool::new(options.sync_writes),
        };
        match store.db.get_cf(store.cf(Column::Meta), KEY_NETWORK)? {
            Some(found) if found != params.network.as_str().as_bytes() => {
                return Err(StoreError::WrongNetwork {
                    expected: params.network.to_string(),
                    found: String::from_utf8_lossy(&found).into_owned(),
                });
            }
            Some(_) => {}
            None => store.init_genesis(params)?,
        }
        Ok(store)
    }

    fn init_genesis(&self, params: &Params) -> Result<(), StoreError> {
        let genesis = params.genesis_block();
        let hash = genesis.block_hash();
        let record = IndexRecord {
            header: genesis.header,
            height: 0,
            chain_work: crate::pow::work_for_bits(genesis.header.bits),
            status: super::status::HAVE_DATA | super::status::VALID,
            sequence: 0,
            tx_count: genesis.txdata.len() as u32,
        };
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(Column::Index), hash.as_bytes(), record.encode());
        batch.put_cf(self.cf(Column::Blocks), hash.as_bytes(), genesis.encode());
        batch.put_cf(self.cf(Column::Meta), KEY_TIP, hash.as_bytes());
        batch.put_cf(self.cf(Column::Meta), KEY_VERSION, SCHEMA_VERSION);
        batch.put_cf(self.cf(Column::Meta), KEY_ANCHOR_INDEX, b"1");
        batch.put_cf(self.cf(Column::Meta), KEY_NETWORK, params.network.as_str().as_bytes());
        self.write(batch)
    }

    fn cf(&self, c: Column) -> &ColumnFamily {
        self.db.cf_handle(c.name()).expect("every column family is opened in Store::open")
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut wo = WriteOptions::default();
        wo.set_sync(self.sync_writes.load(Ordering::Relaxed));
        self.db.write_opt(batch, &wo)?;
        Ok(())
    }

    /// Turns the per-write fsync on or off (off during a bulk download, as Core does not sync
    /// each block during initial download). Turning it back on syncs the
    /// write-ahead log once, so everything written meanwhile is durable from then on. Either way
    /// every batch stays atomic, and a killed process loses nothing.
    ///
    /// # Errors
    /// The log could not be synced.
    pub fn set_sync_writes(&self, on: bool) -> Result<(), StoreError> {
        let was = self.sync_writes.swap(on, Ordering::Relaxed);
        if on && !was {
            self.db.flush_wal(true)?;
        }
        Ok(())
    }

    /// Every block index record.
    ///
    /// # Errors
    /// RocksDB failures or undecodable records.
    pub fn load_index(&self) -> Result<Vec<IndexRecord>, StoreError> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(Column::Index), IteratorMode::Start) {
            let (_, v) = item?;
            out.push(IndexRecord::decode(&v).map_err(corrupt("block index"))?);
        }
        Ok(out)
    }

    /// The hash of the block the UTXO set is at.
    ///
    /// # Errors
    /// RocksDB failures, or no tip recorded.
    pub fn tip(&self) -> Result<BlockHash, StoreError> {
        let v = self.db.get_cf(self.cf(Column::Meta), KEY_TIP)?.ok_or(StoreError::Missing {
            what: "tip",
            hash: BlockHash::ZERO,
        })?;
        let bytes: [u8; 32] = v.as_slice().try_into().map_err(|_| StoreError::Corrupt {
            what: "tip",
            source: crate::error::DecodeError::Invalid("tip length"),
        })?;
        Ok(BlockHash::from_byte_array(bytes))
    }

    /// Stores a block and its index record together.
    ///
    /// # Errors
    /// RocksDB failures.
    pub fn put_block(&self, block: &Block, record: &IndexRecord) -> Result<(), StoreError> {
        let hash = record.hash();
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(Column::Blocks), hash.as_bytes(), block.encode());
        batch.put_cf(self.cf(Column::Index), hash.as_bytes(), record.encode());
        self.write(batch)
    }

    /// Updates index records (status changes).
    ///
    /// # Errors
    /// RocksDB failures.
    pub fn put_index(&self, records: &[IndexRecord]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        for r in records {
            batch.put_cf(self.cf(Column::Index), r.hash().as_bytes(), r.encode());
        }
        self.write(batch)
    }

    /// A stored block.
    ///
    /// # Errors
    /// RocksDB failures or an undecodable block.
    pub fn get_block(&self, hash: &BlockHash) -> Result<Option<Block>, StoreError> {
        self.db
            .get_pinned_cf(self.cf(Column::Blocks), hash.as_bytes())?
            .map(|v| Block::decode(&v).map_err(corrupt("block")))
            .transpose()
    }

    /// A connected block's undo data.
    ///
    /// # Errors
    /// RocksDB failures or undecodable data.
    pub fn get_undo(&self, hash: &BlockHash) -> Result<Option<BlockUndo>, StoreError> {
        self.db
            .get_pinned_cf(self.cf(Column::Undo), hash.as_bytes())?
            .map(|v| BlockUndo::decode(&v).map_err(corrupt("undo")))
            .transpose()
    }

    /// One unspent output.
    ///
    /// # Errors
    /// RocksDB failures or an undecodable coin.
    pub fn get_coin(&self, op: &OutPoint) -> Result<Option<Coin>, StoreError> {
        self.db
            .get_pinned_cf(self.cf(Column::Utxo), op.to_key())?
            .map(|v| Coin::decode(&v).map_err(corrupt("coin")))
            .transpose()
    }

    /// Many unspent outputs in batched reads, in the order asked. Large requests are split into
    /// chunks read on rayon's threads.
    ///
    /// # Errors
    /// RocksDB failures or an undecodable coin.
    pub fn get_coins(&self, ops: &[OutPoint]) -> Result<Vec<Option<Coin>>, StoreError> {
        const CHUNK: usize = 512;
        if ops.len() <= CHUNK {
            return self.get_coins_batch(ops);
        }
        let parts: Vec<Result<Vec<Option<Coin>>, StoreError>> = ops.par_chunks(CHUNK).map(|c| self.get_coins_batch(c)).collect();
        let mut out = Vec::with_capacity(ops.len());
        for part in parts {
            out.extend(part?);
        }
        Ok(out)
    }

    fn get_coins_batch(&self, ops: &[OutPoint]) -> Result<Vec<Option<Coin>>, StoreError> {
        let keys: Vec<[u8; 36]> = ops.iter().map(OutPoint::to_key).collect();
        let results = self.db.batched_multi_get_cf(self.cf(Column::Utxo), keys.iter(), false);
        results
            .into_iter()
            .map(|r| r?.map(|v| Coin::decode(&v).map_err(corrupt("coin"))).transpose())
            .collect()
    }

    /// Writes the coins cache: its coin puts and deletes, the undo data and index records of the
    /// blocks it connected, and the tip (its last block), in one atomic batch.
    ///
    /// # Errors
    /// RocksDB failures (then nothing was written).
    pub fn flush(&self, cache: &CoinsCache) -> Result<(), StoreError> {
        let Some(last) = cache.pending_blocks().last() else {
            return Ok(());
        };
        let utxo = self.cf(Column::Utxo);
        let mut batch = WriteBatch::default();
        for (op, coin) in cache.changes() {
            match coin {
                Some(c) => batch.put_cf(utxo, op.to_key(), c.encode()),
                None => batch.delete_cf(utxo, op.to_key()),
            }
        }
        for b in cache.pending_blocks() {
            let hash = b.record.hash();
            batch.put_cf(self.cf(Column::Undo), hash.as_bytes(), b.undo.encode());
            batch.put_cf(self.cf(Column::Index), hash.as_bytes(), b.record.encode());
            for a in &b.anchors {
                batch.put_cf(self.cf(Column::Anchors), anchor_key(a, b.record.height, &hash), []);
            }
        }
        batch.put_cf(self.cf(Column::Meta), KEY_TIP, last.record.hash().as_bytes());
        self.write(batch)
    }

    /// Disconnects the tip block: removes the coins it created, restores the ones it spent from
    /// `undo`, and moves the tip to its parent, in one atomic batch.
    ///
    /// # Errors
    /// RocksDB failures (then nothing was written).
    pub fn disconnect_block(&self, block: &Block, height: u32, undo: &BlockUndo) -> Result<(), StoreError> {
        let utxo = self.cf(Column::Utxo);
        let mut batch = WriteBatch::default();
        for tx in &block.txdata {
            let txid = tx.compute_txid();
            for (vout, out) in tx.outputs.iter().enumerate() {
                if !out.lock.is_unspendable() {
                    batch.delete_cf(utxo, OutPoint::new(txid, vout as u32).to_key());
                }
            }
        }
        for (op, coin) in &undo.spent {
            batch.put_cf(utxo, op.to_key(), coin.encode());
        }
        let hash = block.block_hash();
        for a in crate::anchor::block_anchors(block) {
            batch.delete_cf(self.cf(Column::Anchors), anchor_key(&a, height, &hash));
        }
        batch.put_cf(self.cf(Column::Meta), KEY_TIP, block.header.prev_blockhash.as_bytes());
        self.write(batch)
    }

    /// Empties the UTXO set and puts the tip back at genesis (the first step of a reindex).
    ///
    /// # Errors
    /// RocksDB failures.
    pub fn reset_chainstate(&self, genesis: &BlockHash) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.cf(Column::Utxo), [0u8; 36].as_slice(), [0xffu8; 37].as_slice());
        // The anchors go with the chain state: connecting the blocks again writes them again.
        batch.delete_range_cf(
            self.cf(Column::Anchors),
            [0u8; ANCHOR_KEY].as_slice(),
            [0xffu8; ANCHOR_KEY + 1].as_slice(),
        );
        batch.put_cf(self.cf(Column::Meta), KEY_TIP, genesis.as_bytes());
        self.write(batch)
    }

    /// The stored anchors of `content_id`: (block, transaction) pairs of the chain as flushed,
    /// lowest height first (the key orders them so: the earliest is read first, whatever number
    /// of later anchors someone piles on).
    ///
    /// # Errors
    /// RocksDB failures or a malformed key.
    pub fn anchors(&self, content_id: &[u8; 32]) -> Result<Vec<(BlockHash, Txid)>, StoreError> {
        let mode = IteratorMode::From(content_id.as_slice(), rocksdb::Direction::Forward);
        let mut found = Vec::new();
        for item in self.db.iterator_cf(self.cf(Column::Anchors), mode) {
            let (key, _) = item?;
            if !key.starts_with(content_id) {
                break;
            }
            let bad = || StoreError::Corrupt {
                what: "anchor key",
                source: crate::error::DecodeError::Invalid("anchor key length"),
            };
            if key.len() != ANCHOR_KEY {
                return Err(bad());
            }
            let block: [u8; 32] = key.get(36..68).and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
            let txid: [u8; 32] = key.get(68..100).and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
            found.push((BlockHash::from_byte_array(block), Txid::from_byte_array(txid)));
            if found.len() >= MAX_ANCHORS_READ {
                break;
            }
        }
        Ok(found)
    }

    /// Empties the anchor index (before it is built anew).
    ///
    /// # Errors
    /// RocksDB failures.
    pub fn clear_anchors(&self) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        // Every key any version wrote is at most ANCHOR_KEY bytes: the range covers them all.
        let empty: &[u8] = &[];
        batch.delete_range_cf(self.cf(Column::Anchors), empty, [0xffu8; ANCHOR_KEY + 1].as_slice());
        self.write(batch)
    }

    /// Whether the anchor index covers the stored chain.
    ///
    /// # Errors
    /// RocksDB failures.
    pub fn anchor_index_built(&self) -> Result<bool, StoreError> {
        Ok(self.db.get_cf(self.cf(Column::Meta), KEY_ANCHOR_INDEX)?.is_some())
    }

    /// Writes the anchors of connected blocks (building the index of a store made before it),
    /// and with `done` marks the index complete, in one batch.
    ///
    /// # Errors
    /// RocksDB failures.
    pub fn add_anchors(&self, blocks: &[(BlockHash, u32, Vec<BlockAnchor>)], done: bool) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        for (hash, height, anchors) in blocks {
            for a in anchors {
                batch.put_cf(self.cf(Column::Anchors), anchor_key(a, *height, hash), []);
            }
        }
        if done {
            batch.put_cf(self.cf(Column::Meta), KEY_ANCHOR_INDEX, b"1");
        }
        self.write(batch)
    }

    /// Digest and totals of the stored UTXO set, read from one consistent snapshot.
    ///
    /// # Errors
    /// RocksDB failures or an undecodable coin.
    pub fn utxo_stats(&self) -> Result<UtxoStats, StoreError> {
        let mut digest = UtxoDigest::default();
        for item in self.db.iterator_cf(self.cf(Column::Utxo), IteratorMode::Start) {
            let (k, v) = item?;
            let coin = Coin::decode(&v).map_err(corrupt("coin"))?;
            digest.add_raw(&k, &v, coin.output.value);
        }
        Ok(digest.finish())
    }
}

/// Most anchors one lookup reads for a content id: anyone may anchor an id again and again, and a
/// lookup must stay cheap. They are read lowest height first, so the earliest is always among
/// them; only the count of later ones stops at this.
pub const MAX_ANCHORS_READ: usize = 10_000;

/// Length of an anchor index key.
const ANCHOR_KEY: usize = 100;

/// The index key of an anchor: content id ‖ height (big-endian, so lower heights sort first) ‖
/// block hash ‖ txid.
fn anchor_key(a: &BlockAnchor, height: u32, block: &BlockHash) -> [u8; ANCHOR_KEY] {
    let mut key = [0u8; ANCHOR_KEY];
    key[..32].copy_from_slice(&a.content_id);
    key[32..36].copy_from_slice(&height.to_be_bytes());
    key[36..68].copy_from_slice(block.as_bytes());
    key[68..].copy_from_slice(a.txid.as_bytes());
    key
}
