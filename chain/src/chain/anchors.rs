//! The anchor index seen from the chain state ([`crate::anchor`]): lookups that see blocks not
//! yet flushed too, and the one-time build for a store made before the index existed.

use tracing::info;

use super::Chainstate;
use crate::anchor::{AnchorHit, BlockAnchor, block_anchors};
use crate::error::StoreError;
use crate::hash::BlockHash;

/// Blocks read per batch while building the index of an older store.
const BUILD_BATCH: usize = 500;

impl Chainstate {
    /// The anchors of `content_id` in the active chain, earliest first.
    ///
    /// # Errors
    /// Store failures.
    pub fn anchors(&self, content_id: &[u8; 32]) -> Result<Vec<AnchorHit>, StoreError> {
        let mut pairs = self.store.anchors(content_id)?;
        for pending in self.coins.pending_blocks() {
            let hash = pending.record.hash();
            pairs.extend(
                pending
                    .anchors
                    .iter()
                    .filter(|a| a.content_id == *content_id)
                    .map(|a| (hash, a.txid)),
            );
        }
        let mut hits: Vec<AnchorHit> = pairs
            .into_iter()
            .filter_map(|(block_hash, txid)| {
                let record = self.index.get(&block_hash)?;
                // Only the active chain counts (the index holds nothing else, but a lookup
                // must never vouch for a block off it).
                (self.block_hash_at(record.height) == Some(block_hash)).then_some(AnchorHit {
                    txid,
                    block_hash,
                    height: record.height,
                    time: record.header.time,
                })
            })
            .collect();
        hits.sort_by_key(|h| (h.height, h.txid));
        hits.dedup();
        Ok(hits)
    }

    /// Builds the anchor index from the active chain if the store predates it (once; logged).
    ///
    /// # Errors
    /// Store failures, or a block of the active chain missing.
    pub(super) fn build_anchor_index(&mut self) -> Result<(), StoreError> {
        if self.store.anchor_index_built()? {
            return Ok(());
        }
        // The store's own tip: blocks connected since are written with their anchors.
        let stored_tip = self.store.tip()?;
        let Some(end) = self.index.get(&stored_tip).map(|r| r.height) else {
            return Err(StoreError::Missing {
                what: "index record",
                hash: stored_tip,
            });
        };
        info!(blocks = end, "building the anchor index from the stored chain (once)");
        // A store of an earlier index format: start from nothing.
        self.store.clear_anchors()?;
        let hashes: Vec<BlockHash> = self.active.iter().take(end as usize + 1).copied().collect();
        let mut found = 0usize;
        for chunk in hashes.chunks(BUILD_BATCH) {
            let mut batch: Vec<(BlockHash, u32, Vec<BlockAnchor>)> = Vec::new();
            for hash in chunk {
                let height = self.index.get(hash).map_or(0, |r| r.height);
                let block = self.store.get_block(hash)?.ok_or(StoreError::Missing {
                    what: "block",
                    hash: *hash,
                })?;
                let anchors = block_anchors(&block);
                found += anchors.len();
                if !anchors.is_empty() {
                    batch.push((*hash, height, anchors));
                }
            }
            self.store.add_anchors(&batch, false)?;
        }
        self.store.add_anchors(&[], true)?;
        info!(anchors = found, "anchor index built");
        Ok(())
    }
}
