//! File anchors: a transaction output that commits to a shared file's content id, so that the
//! block holding it proves the file existed no later than that block's time (Bitcoin's use as a
//! timestamp server, applied to files).
//!
//! An anchor is a data-carrier output whose data is [`ANCHOR_TAG`] followed by the 32-byte
//! content id — 40 bytes, recognisable by anyone reading the chain. The chain state keeps an
//! index of the anchors in the active chain by content id (RocksDB column `anchors`): written with
//! the block's connection, removed with its disconnection (a reorg moves anchors out and back in),
//! rebuilt by `--reindex` and built once from the stored chain when a store made before the index
//! opens.

use crate::block::Block;
use crate::hash::{BlockHash, Txid};
use crate::transaction::Lock;

/// What every anchor's data starts with: "cairn:a1" (version 1 of the anchor format).
pub const ANCHOR_TAG: [u8; 8] = *b"cairn:a1";

/// The data-carrier lock that anchors `content_id`.
pub fn anchor_lock(content_id: &[u8; 32]) -> Lock {
    let mut data = Vec::with_capacity(ANCHOR_TAG.len() + 32);
    data.extend_from_slice(&ANCHOR_TAG);
    data.extend_from_slice(content_id);
    Lock::DataCarrier(data)
}

/// The content id a lock anchors, if it is an anchor (exactly the tag and 32 bytes).
pub fn anchored_id(lock: &Lock) -> Option<[u8; 32]> {
    let Lock::DataCarrier(data) = lock else { return None };
    let rest = data.strip_prefix(&ANCHOR_TAG)?;
    rest.try_into().ok()
}

/// One anchor in a block: the content id and the transaction carrying it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockAnchor {
    /// The content id.
    pub content_id: [u8; 32],
    /// The transaction with the anchor output.
    pub txid: Txid,
}

/// Every anchor in `block`, in block order (a transaction anchoring one id twice counts once).
pub fn block_anchors(block: &Block) -> Vec<BlockAnchor> {
    let mut found = Vec::new();
    for tx in &block.txdata {
        let mut txid = None;
        for output in &tx.outputs {
            if let Some(content_id) = anchored_id(&output.lock) {
                let txid = *txid.get_or_insert_with(|| tx.compute_txid());
                let anchor = BlockAnchor { content_id, txid };
                if !found.contains(&anchor) {
                    found.push(anchor);
                }
            }
        }
    }
    found
}

/// An anchor of the active chain, as the index finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnchorHit {
    /// The anchoring transaction.
    pub txid: Txid,
    /// The block holding it.
    pub block_hash: BlockHash,
    /// That block's height.
    pub height: u32,
    /// That block's time (what the anchor proves: the content existed no later than this).
    pub time: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_format_is_an_anchor() {
        let id = [7u8; 32];
        let lock = anchor_lock(&id);
        assert_eq!(anchored_id(&lock), Some(id));
        let Lock::DataCarrier(data) = &lock else { unreachable!() };
        assert_eq!(data.len(), 40);
        assert_eq!(&data[..8], b"cairn:a1");
        let mut longer = data.clone();
        longer.push(0);
        assert_eq!(anchored_id(&Lock::DataCarrier(longer)), None);
        assert_eq!(anchored_id(&Lock::DataCarrier(data[..39].to_vec())), None);
        let mut other_tag = data.clone();
        other_tag[7] = b'2';
        assert_eq!(anchored_id(&Lock::DataCarrier(other_tag)), None);
        assert_eq!(
            anchored_id(&Lock::PubkeyHash(crate::hash::PubkeyHash::from_byte_array([0; 20]))),
            None
        );
    }
}
