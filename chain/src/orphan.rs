//! A bounded pool of blocks whose parent is not known yet.
//!
//! When the parent arrives, its waiting children are taken out and processed. The pool holds at
//! most `max_blocks` blocks, so a peer feeding unconnectable blocks can cost at most that much
//! memory. Blocks we asked for (headers-first sync downloads out of order) are kept over blocks
//! nobody asked for: the oldest unrequested block is evicted first, an unrequested block never
//! evicts a requested one, so a flood of gossiped orphans cannot push out what sync waits for.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::block::Block;
use crate::hash::BlockHash;

/// Orphan blocks, keyed by hash and indexed by parent.
#[derive(Debug)]
pub struct OrphanPool {
    blocks: HashMap<BlockHash, Block>,
    by_parent: HashMap<BlockHash, Vec<BlockHash>>,
    order: VecDeque<BlockHash>,
    requested: HashSet<BlockHash>,
    max_blocks: usize,
}

impl OrphanPool {
    /// An empty pool holding at most `max_blocks`.
    pub fn new(max_blocks: usize) -> Self {
        OrphanPool {
            blocks: HashMap::new(),
            by_parent: HashMap::new(),
            order: VecDeque::new(),
            requested: HashSet::new(),
            max_blocks: max_blocks.max(1),
        }
    }

    /// Number of blocks held.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Whether the block is held.
    pub fn contains(&self, hash: &BlockHash) -> bool {
        self.blocks.contains_key(hash)
    }

    /// Adds a block (`requested`: one we asked a peer for), making room if full: the oldest
    /// unrequested block goes first; a requested one goes only to make room for another
    /// requested one. Returns false if it was already held or no room could be made for it.
    pub fn insert(&mut self, block: Block, requested: bool) -> bool {
        let hash = block.block_hash();
        if self.blocks.contains_key(&hash) {
            return false;
        }
        while self.blocks.len() >= self.max_blocks {
            let victim = self
                .order
                .iter()
                .position(|h| !self.requested.contains(h))
                .or((requested && !self.order.is_empty()).then_some(0));
            let Some(old) = victim.and_then(|i| self.order.remove(i)) else {
                return false;
            };
            self.remove(&old);
        }
        if requested {
            self.requested.insert(hash);
        }
        self.by_parent.entry(block.header.prev_blockhash).or_default().push(hash);
        self.order.push_back(hash);
        self.blocks.insert(hash, block);
        true
    }

    fn remove(&mut self, hash: &BlockHash) {
        self.requested.remove(hash);
        if let Some(block) = self.blocks.remove(hash) {
            let parent = block.header.prev_blockhash;
            if let Some(v) = self.by_parent.get_mut(&parent) {
                v.retain(|h| h != hash);
                if v.is_empty() {
                    self.by_parent.remove(&parent);
                }
            }
        }
    }

    /// Takes out the blocks waiting for `parent`, each with whether it was asked for.
    pub fn take_children(&mut self, parent: &BlockHash) -> Vec<(Block, bool)> {
        let hashes = self.by_parent.remove(parent).unwrap_or_default();
        let out: Vec<(Block, bool)> = hashes
            .iter()
            .filter_map(|h| self.blocks.remove(h).map(|b| (b, self.requested.remove(h))))
            .collect();
        if !out.is_empty() {
            self.order.retain(|h| self.blocks.contains_key(h));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::Header;
    use crate::hash::MerkleRoot;

    fn block(prev: u8, nonce: u32) -> Block {
        Block {
            header: Header {
                version: 1,
                prev_blockhash: BlockHash::from_byte_array([prev; 32]),
                merkle_root: MerkleRoot::ZERO,
                time: 0,
                bits: 0,
                nonce,
            },
            txdata: vec![],
        }
    }

    #[test]
    fn bounded_and_indexed_by_parent() {
        let mut pool = OrphanPool::new(3);
        for n in 0..5 {
            assert!(pool.insert(block(1, n), false));
        }
        assert!(!pool.insert(block(1, 4), false));
        assert_eq!(pool.len(), 3);
        // The two oldest were evicted.
        assert!(!pool.contains(&block(1, 0).block_hash()));
        let kids = pool.take_children(&BlockHash::from_byte_array([1; 32]));
        assert_eq!(kids.len(), 3);
        assert!(pool.is_empty());
    }

    #[test]
    fn blocks_sync_asked_for_are_not_pushed_out_by_gossiped_ones() {
        let mut pool = OrphanPool::new(3);
        assert!(pool.insert(block(1, 0), true));
        assert!(pool.insert(block(1, 1), true));
        // A flood of unrequested orphans only ever replaces unrequested ones.
        for n in 10..100 {
            pool.insert(block(2, n), false);
        }
        assert_eq!(pool.len(), 3);
        assert!(pool.contains(&block(1, 0).block_hash()) && pool.contains(&block(1, 1).block_hash()));
        // A full pool of requested blocks refuses unrequested ones outright.
        assert!(pool.insert(block(1, 2), true));
        assert!(!pool.contains(&block(2, 99).block_hash()), "the unrequested one made room");
        assert!(!pool.insert(block(2, 200), false));
        // Another requested one replaces the oldest requested.
        assert!(pool.insert(block(1, 3), true));
        assert!(!pool.contains(&block(1, 0).block_hash()));
        assert_eq!(pool.take_children(&BlockHash::from_byte_array([1; 32])).len(), 3);
        assert!(pool.is_empty());
    }
}
