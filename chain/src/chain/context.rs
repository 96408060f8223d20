//! Where a block stands in the tree: its ancestors, its median time past, and the context a block
//! built on it is checked in.

use super::Chainstate;
use crate::hash::BlockHash;
use crate::headers::{ContextWindow, median, recent_times};
use crate::validation::HeaderContext;

impl Chainstate {
    /// The ancestor of `hash` at `height`.
    pub fn ancestor(&self, hash: &BlockHash, height: u32) -> Option<BlockHash> {
        let mut cursor = *hash;
        loop {
            let r = self.index.get(&cursor)?;
            if r.height < height {
                return None;
            }
            if r.height == height {
                return Some(cursor);
            }
            // Once on the active chain, jump.
            if self.block_hash_at(r.height) == Some(cursor) {
                return self.block_hash_at(height);
            }
            cursor = r.header.prev_blockhash;
        }
    }

    /// The median time of the block `hash` and its 10 predecessors (Bitcoin's median time past).
    pub fn median_time_past(&self, hash: &BlockHash) -> u32 {
        median(&recent_times(self, hash))
    }

    /// The context a block built on `parent` is checked in.
    pub fn header_context(&self, parent: &BlockHash, now: u64) -> Option<HeaderContext> {
        ContextWindow::at(self, parent).map(|w| w.context(self.params, now))
    }

    /// The context of the next block on the tip (for templates and the mempool).
    pub fn next_block_context(&self, now: u64) -> HeaderContext {
        self.header_context(&self.tip_hash(), now).expect("the tip is in the index")
    }
}
