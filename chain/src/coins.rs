//! The in-memory layer over the stored UTXO set, like Bitcoin Core's `CCoinsViewCache`.
//!
//! Connecting a block changes the cache, not RocksDB. A *flush* writes everything the cache holds
//! (coin puts and deletes, the connected blocks' undo data and index records, and the new tip) as
//! one atomic batch. So the stored tip and the stored UTXO set always agree: a process killed
//! between flushes reopens at the last flushed tip and connects the blocks after it again from
//! the block store (they are written when they arrive, before they are connected).
//!
//! The chain state flushes after every block in normal operation, so nothing changes for a node
//! at the tip. During a bulk download it flushes every [`FLUSH_BLOCKS`] blocks or
//! [`FLUSH_BYTES`] of cached data, which saves most of the database work: a coin created and spent
//! between two flushes is never written at all ("fresh" coins, as in Core).
//!
//! Why "fresh" is sound: a coin created by a block cannot already be in the stored set. Coinbases
//! commit to their height (BIP 34 holds from genesis), and every other transaction spends coins
//! that can be spent once on a chain, so no txid repeats on one chain; disconnecting a block
//! removes its coins. Disconnecting always happens on a flushed (empty) cache.

use std::collections::HashMap;

use crate::store::IndexRecord;
use crate::transaction::OutPoint;
use crate::utxo::{BlockUndo, Coin};
use crate::validation::BlockChanges;
use crate::{BlockHash, encode::Encodable};

/// Most connected blocks held before a flush during a bulk download (bounds the blocks a crash
/// makes the node connect again at the next start).
pub const FLUSH_BLOCKS: usize = 1_000;

/// Most cached bytes (estimated) held before a flush during a bulk download.
pub const FLUSH_BYTES: usize = 64 << 20;

/// Estimated memory of one cached coin beyond its encoding (key, map slot, allocation).
const ENTRY_OVERHEAD: usize = 96;

#[derive(Debug)]
struct Entry {
    /// `None`: spent (the stored row must be deleted at the flush).
    coin: Option<Coin>,
    /// Created since the last flush, so not in the store: spending it just forgets it.
    fresh: bool,
}

/// A connected block not yet written: its index record (with the VALID flag) and undo data.
#[derive(Debug)]
pub struct PendingBlock {
    /// The record as it is to be stored.
    pub record: IndexRecord,
    /// The coins it spent.
    pub undo: BlockUndo,
    /// Its file anchors.
    pub anchors: Vec<crate::anchor::BlockAnchor>,
}

/// Coin changes and connected blocks since the last flush.
#[derive(Debug, Default)]
pub struct CoinsCache {
    coins: HashMap<OutPoint, Entry>,
    blocks: Vec<PendingBlock>,
    bytes: usize,
}

impl CoinsCache {
    /// What the cache knows of `op`: `Some(Some(coin))` unspent, `Some(None)` spent since the last
    /// flush, `None` not cached (ask the store).
    pub fn get(&self, op: &OutPoint) -> Option<Option<&Coin>> {
        self.coins.get(op).map(|e| e.coin.as_ref())
    }

    /// Records a connected block: removes the coins it spent, adds the ones it created, and keeps
    /// its record and undo data for the flush.
    pub fn apply(&mut self, record: IndexRecord, changes: BlockChanges) {
        for op in changes.spent {
            match self.coins.get_mut(&op) {
                Some(e) if e.fresh => {
                    let e = self.coins.remove(&op).expect("just found");
                    self.bytes = self.bytes.saturating_sub(entry_size(&e));
                }
                Some(e) => {
                    if let Some(c) = e.coin.take() {
                        self.bytes = self.bytes.saturating_sub(c.encode().len());
                    }
                }
                None => {
                    let e = Entry { coin: None, fresh: false };
                    self.bytes += entry_size(&e);
                    self.coins.insert(op, e);
                }
            }
        }
        for (op, coin) in changes.added {
            let size = coin.encode().len();
            match self.coins.get_mut(&op) {
                // A stored row is still to be deleted: overwrite it instead (not fresh).
                Some(e) => {
                    if let Some(old) = e.coin.replace(coin) {
                        self.bytes = self.bytes.saturating_sub(old.encode().len());
                    }
                    self.bytes += size;
                }
                None => {
                    let e = Entry {
                        coin: Some(coin),
                        fresh: true,
                    };
                    self.bytes += entry_size(&e);
                    self.coins.insert(op, e);
                }
            }
        }
        self.bytes += undo_size(&changes.undo);
        self.blocks.push(PendingBlock {
            record,
            undo: changes.undo,
            anchors: changes.anchors,
        });
    }

    /// Undo data of a connected block not yet flushed.
    pub fn undo(&self, hash: &BlockHash) -> Option<&BlockUndo> {
        self.blocks.iter().find(|b| b.record.hash() == *hash).map(|b| &b.undo)
    }

    /// Whether there is nothing to flush.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty() && self.coins.is_empty()
    }

    /// Connected blocks since the last flush.
    pub fn pending_blocks(&self) -> &[PendingBlock] {
        &self.blocks
    }

    /// Estimated memory held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether a bulk download should flush now.
    pub fn is_full(&self) -> bool {
        self.blocks.len() >= FLUSH_BLOCKS || self.bytes >= FLUSH_BYTES
    }

    /// The coin changes to write: `(outpoint, Some(coin))` to put, `(outpoint, None)` to delete.
    /// Fresh coins are puts; fresh coins already spent are gone from the cache.
    pub fn changes(&self) -> impl Iterator<Item = (&OutPoint, Option<&Coin>)> {
        self.coins.iter().map(|(op, e)| (op, e.coin.as_ref()))
    }

    /// Forgets everything (after a successful flush, or when the stored set is reset).
    pub fn clear(&mut self) {
        self.coins = HashMap::new();
        self.blocks.clear();
        self.bytes = 0;
    }
}

fn entry_size(e: &Entry) -> usize {
    ENTRY_OVERHEAD + e.coin.as_ref().map_or(0, |c| c.encode().len())
}

fn undo_size(u: &BlockUndo) -> usize {
    // Outpoint (36) plus a coin (value, lock, height, flag: ~40) per spent coin.
    16 + u.spent.len() * 80
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amount::Amount;
    use crate::block::Header;
    use crate::hash::{PubkeyHash, Txid};
    use crate::pow::U256;
    use crate::transaction::{Lock, TxOut};

    fn op(n: u8) -> OutPoint {
        OutPoint::new(Txid::from_byte_array([n; 32]), 0)
    }

    fn coin(v: u64) -> Coin {
        Coin {
            output: TxOut {
                value: Amount::from_units(v).unwrap(),
                lock: Lock::PubkeyHash(PubkeyHash::from_byte_array([7; 20])),
            },
            height: 1,
            is_coinbase: false,
        }
    }

    fn record(n: u32) -> IndexRecord {
        IndexRecord {
            header: Header {
                version: 1,
                prev_blockhash: BlockHash::ZERO,
                merkle_root: Default::default(),
                time: 0,
                bits: 0x207fffff,
                nonce: n,
            },
            height: n,
            chain_work: U256::ZERO,
            status: 0,
            sequence: u64::from(n),
            tx_count: 0,
        }
    }

    fn changes(spent: &[(u8, u64)], added: &[(u8, u64)]) -> BlockChanges {
        BlockChanges {
            spent: spent.iter().map(|(n, _)| op(*n)).collect(),
            added: added.iter().map(|(n, v)| (op(*n), coin(*v))).collect(),
            undo: BlockUndo {
                spent: spent.iter().map(|(n, v)| (op(*n), coin(*v))).collect(),
            },
            fees: Amount::ZERO,
            anchors: Vec::new(),
        }
    }

    fn written(c: &CoinsCache) -> Vec<(OutPoint, Option<u64>)> {
        let mut v: Vec<_> = c
            .changes()
            .map(|(op, coin)| (*op, coin.map(|c| c.output.value.to_units())))
            .collect();
        v.sort_by_key(|(op, _)| *op);
        v
    }

    #[test]
    fn a_coin_created_and_spent_between_flushes_is_never_written() {
        let mut c = CoinsCache::default();
        // Block 1 spends stored coin 1 and creates 2; block 2 spends 2 and creates 3.
        c.apply(record(1), changes(&[(1, 10)], &[(2, 9)]));
        c.apply(record(2), changes(&[(2, 9)], &[(3, 8)]));
        assert_eq!(written(&c), vec![(op(1), None), (op(3), Some(8))]);
        assert_eq!(c.get(&op(2)), None, "forgotten, and not in the store either");
        assert_eq!(c.get(&op(1)), Some(None));
        assert_eq!(c.get(&op(3)).flatten().map(|c| c.output.value.to_units()), Some(8));
        assert_eq!(c.pending_blocks().len(), 2);
        assert!(c.undo(&record(2).hash()).is_some());
        assert!(c.undo(&record(9).hash()).is_none());
    }

    #[test]
    fn re_creating_a_spent_stored_coin_overwrites_it() {
        let mut c = CoinsCache::default();
        c.apply(record(1), changes(&[(1, 10)], &[]));
        c.apply(record(2), changes(&[], &[(1, 5)]));
        // Still a put (the stored row is replaced), and spending it again is a delete.
        assert_eq!(written(&c), vec![(op(1), Some(5))]);
        c.apply(record(3), changes(&[(1, 5)], &[]));
        assert_eq!(written(&c), vec![(op(1), None)]);
    }

    #[test]
    fn bytes_are_tracked_and_clear_empties() {
        let mut c = CoinsCache::default();
        assert!(c.is_empty());
        c.apply(record(1), changes(&[(1, 10)], &[(2, 9), (3, 9)]));
        let b = c.bytes();
        assert!(b > 0);
        c.apply(record(2), changes(&[(2, 9)], &[]));
        assert!(!c.is_full());
        c.clear();
        assert!(c.is_empty());
        assert_eq!(c.bytes(), 0);
    }
}
