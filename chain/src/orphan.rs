//! A bounded pool of blocks whose parent is not known yet.
//!
//! When the parent arrives, its waiting children are taken out and processed. The pool holds at
//! most `max_blocks` blocks; the oldest is evicted first, so a peer feeding unconnectable blocks
//! can cost at most that much memory.

use std::collections::{HashMap, VecDeque};

use crate::block::Block;
use crate::hash::BlockHash;

/// Orphan blocks, keyed by hash and indexed by parent.
#[derive(Debug)]
pub struct OrphanPool {
    blocks: HashMap<BlockHash, Block>,
    by_parent: HashMap<BlockHash, Vec<BlockHash>>,
    order: VecDeque<BlockHash>,
    max_blocks: usize,
}

impl OrphanPool {
    /// An empty pool holding at most `max_blocks`.
    pub fn new(max_blocks: usize) -> Self {
        OrphanPool {
            blocks: HashMap::new(),
            by_parent: HashMap::new(),
            order: VecDeque::new(),
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

    /// Adds a block, evicting the oldest if full. Returns false if it was already held.
    pub fn insert(&mut self, block: Block) -> bool {
        let hash = block.block_hash();
        if self.blocks.contains_key(&hash) {
            return false;
        }
        while self.blocks.len() >= self.max_blocks {
            match self.order.pop_front() {
                Some(old) => self.remove(&old),
                None => break,
            }
        }
        self.by_parent.entry(block.header.prev_blockhash).or_default().push(hash);
        self.order.push_back(hash);
        self.blocks.insert(hash, block);
        true
    }

    fn remove(&mut self, hash: &BlockHash) {
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

    /// Takes out the blocks waiting for `parent`.
    pub fn take_children(&mut self, parent: &BlockHash) -> Vec<Block> {
        let hashes = self.by_parent.remove(parent).unwrap_or_default();
        let out: Vec<Block> = hashes.iter().filter_map(|h| self.blocks.remove(h)).collect();
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
            assert!(pool.insert(block(1, n)));
        }
        assert!(!pool.insert(block(1, 4)));
        assert_eq!(pool.len(), 3);
        // The two oldest were evicted.
        assert!(!pool.contains(&block(1, 0).block_hash()));
        let kids = pool.take_children(&BlockHash::from_byte_array([1; 32]));
        assert_eq!(kids.len(), 3);
        assert!(pool.is_empty());
    }
}
