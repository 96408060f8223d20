//! What an operator does by hand, as Core's RPCs: `invalidateblock` (treat a block as invalid,
//! leaving its branch), `reconsiderblock` (undo that) and `verifychain` (check the last blocks
//! against the store: block data, undo data, and the UTXO set by a disconnect and reconnect
//! in memory).

use std::collections::HashMap;

use tracing::{info, warn};

use super::{Chainstate, TipEvent, TipUpdate};
use crate::error::{ChainError, StoreError};
use crate::hash::BlockHash;
use crate::store::status;
use crate::transaction::OutPoint;
use crate::utxo::Coin;
use crate::validation::{Signatures, check_block, connect_block};

/// Most blocks `verifychain` checks at levels 3 and 4 (which keep their changes in memory).
pub const DEEP_CHECK_BLOCKS: u32 = 1_000;

/// Why `invalidateblock`/`reconsiderblock` did nothing.
#[derive(Debug, thiserror::Error)]
pub enum ManualError {
    /// No block with that hash is known.
    #[error("Block not found")]
    UnknownBlock,
    /// The genesis block cannot be invalidated.
    #[error("the genesis block cannot be invalidated")]
    Genesis,
    /// The store failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
}

impl From<StoreError> for ManualError {
    fn from(e: StoreError) -> Self {
        ManualError::Chain(e.into())
    }
}

/// Why `verifychain` failed: the first block that does not check out, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyFailure {
    /// The block.
    pub hash: BlockHash,
    /// Its height.
    pub height: u32,
    /// What is wrong.
    pub reason: String,
}

impl Chainstate {
    /// Marks `hash` invalid (Core's `invalidateblock`): if it is on the active chain, the chain
    /// is disconnected down to its parent; then the most-work chain without it is activated.
    /// Its descendants count as invalid too, until [`Chainstate::reconsider_block`].
    ///
    /// # Errors
    /// See [`ManualError`].
    pub fn invalidate_block(&mut self, hash: &BlockHash) -> Result<TipUpdate, ManualError> {
        let record = *self.index.get(hash).ok_or(ManualError::UnknownBlock)?;
        if record.height == 0 {
            return Err(ManualError::Genesis);
        }
        let mut update = TipUpdate::default();
        if self.block_hash_at(record.height) == Some(*hash) {
            while self.height() >= record.height {
                let height = self.height();
                let top = self.tip_hash();
                let block = self.disconnect_tip()?;
                if top != *hash {
                    self.set_status(&top, status::FAILED_CHILD)?;
                }
                update.events.push(TipEvent::Disconnected { block, height });
            }
        }
        self.set_status(hash, status::FAILED)?;
        info!(%hash, height = record.height, "block invalidated by hand");
        // Branches pruned from the candidates as having less work than the old tip may lead now.
        self.rebuild_candidates();
        update.absorb(self.activate_best_chain()?);
        Ok(update)
    }

    /// Clears the invalid marks of `hash`, its ancestors and its descendants (Core's
    /// `reconsiderblock`), then activates the most-work chain. A block that really breaks a rule
    /// is found invalid again when connected.
    ///
    /// # Errors
    /// See [`ManualError`].
    pub fn reconsider_block(&mut self, hash: &BlockHash) -> Result<TipUpdate, ManualError> {
        let record = *self.index.get(hash).ok_or(ManualError::UnknownBlock)?;
        let flags = status::FAILED | status::FAILED_CHILD;
        let mut cleared = Vec::new();
        let marked: Vec<BlockHash> = self.index.iter().filter(|(_, r)| r.status & flags != 0).map(|(h, _)| *h).collect();
        for h in marked {
            let r = self.index[&h];
            let related = if r.height >= record.height {
                self.ancestor(&h, record.height) == Some(*hash)
            } else {
                self.ancestor(hash, r.height) == Some(h)
            };
            if related && let Some(r) = self.index.get_mut(&h) {
                r.status &= !flags;
                cleared.push(*r);
            }
        }
        self.store.put_index(&cleared)?;
        info!(%hash, cleared = cleared.len(), "block reconsidered by hand");
        self.rebuild_candidates();
        Ok(self.activate_best_chain()?)
    }

    fn set_status(&mut self, hash: &BlockHash, flag: u8) -> Result<(), StoreError> {
        if let Some(r) = self.index.get_mut(hash) {
            r.status |= flag;
            let r = *r;
            self.candidates.remove(&super::candidate_key(&r));
            self.store.put_index(&[r])?;
        }
        Ok(())
    }

    /// Checks the last `depth` blocks of the active chain (all for 0) at `level` (0–4, Core's
    /// levels): 0 each block is stored and hashes to its index entry; 1 it passes the
    /// context-free block checks; 2 its undo data is stored and spends as many coins as its
    /// inputs do; 3 disconnecting the blocks in memory, tip first, finds every output they
    /// created in the UTXO set (or restored by a later block's undo data) and restores what they
    /// spent; 4 reconnecting them in memory, with every rule and signature checked, gives back
    /// the UTXO set it started from. Nothing is written. Returns the first failure.
    ///
    /// # Errors
    /// Store failures.
    pub fn verify_chain(&self, level: u8, depth: u32) -> Result<Result<(), VerifyFailure>, StoreError> {
        let level = level.min(4);
        let tip = self.height();
        let depth = if depth == 0 || depth > tip { tip } else { depth };

        let heights: Vec<u32> = (tip + 1 - depth..=tip).rev().filter(|h| *h > 0).collect();
        // The view of the UTXO set as the disconnects change it: Some(coin) restored, None spent.
        let mut view: HashMap<OutPoint, Option<Coin>> = HashMap::new();
        let mut blocks = Vec::new();
        for &height in &heights {
            let Some(hash) = self.block_hash_at(height) else { continue };
            let fail = |reason: String| Ok(Err(VerifyFailure { hash, height, reason }));
            let Some(block) = self.get_block(&hash)? else {
                return fail("block data missing from the store".into());
            };
            if block.block_hash() != hash {
                return fail("stored block does not hash to its index entry".into());
            }
            if level >= 1
                && let Err(e) = check_block(&block, self.params)
            {
                return fail(format!("block check failed: {e}"));
            }
            if level >= 2 {
                let Some(undo) = self.get_undo(&hash)? else {
                    return fail("undo data missing from the store".into());
                };
                // Undo data holds the coins from before the block; outputs the block both
                // creates and spends are in neither it nor the UTXO set.
                let txids: Vec<_> = block.txdata.iter().map(|t| t.compute_txid()).collect();
                let created: std::collections::HashSet<_> = txids.iter().copied().collect();
                let spent_inside: std::collections::HashSet<OutPoint> = block
                    .txdata
                    .iter()
                    .filter(|t| !t.is_coinbase())
                    .flat_map(|t| t.inputs.iter().map(|i| i.prevout))
                    .filter(|op| created.contains(&op.txid))
                    .collect();
                let inputs: usize = block
                    .txdata
                    .iter()
                    .filter(|t| !t.is_coinbase())
                    .map(|t| t.inputs.len())
                    .sum::<usize>()
                    - spent_inside.len();
                if undo.spent.len() != inputs {
                    return fail(format!("undo data holds {} coins for {inputs} inputs", undo.spent.len()));
                }
                // Levels 3 and 4 hold what the blocks changed in memory: as Core stops them where
                // its coin cache would overflow, they cover the last DEEP_CHECK_BLOCKS blocks,
                // and the older ones get levels 0 to 2.
                let deep = level >= 3 && tip - height < DEEP_CHECK_BLOCKS;
                if deep {
                    for (tx, txid) in block.txdata.iter().zip(&txids) {
                        for (vout, out) in tx.outputs.iter().enumerate() {
                            let op = OutPoint::new(*txid, vout as u32);
                            if out.lock.is_unspendable() || spent_inside.contains(&op) {
                                continue;
                            }
                            let present = match view.get(&op) {
                                Some(c) => c.clone(),
                                None => self.get_coin(&op)?,
                            };
                            if present.as_ref().map(|c| &c.output) != Some(out) {
                                return fail(format!("output {op} is not in the UTXO set as created"));
                            }
                            view.insert(op, None);
                        }
                    }
                    for (op, coin) in &undo.spent {
                        view.insert(*op, Some(coin.clone()));
                    }
                }
                if deep && level >= 4 {
                    blocks.push((hash, height, block));
                }
            }
        }
        if level >= 4 {
            // Reconnect, oldest first, over the view the disconnects left.
            for (hash, height, block) in blocks.into_iter().rev() {
                let lookup = |ops: &[OutPoint]| -> Result<Vec<Option<Coin>>, StoreError> {
                    ops.iter()
                        .map(|op| match view.get(op) {
                            Some(c) => Ok(c.clone()),
                            None => self.get_coin(op),
                        })
                        .collect()
                };
                let changes = match connect_block(&block, height, self.params, Signatures::VerifyAll, lookup) {
                    Ok(c) => c,
                    Err(crate::validation::connect::ConnectError::Store(e)) => return Err(e),
                    Err(crate::validation::connect::ConnectError::Invalid(e)) => {
                        warn!(%hash, height, error = %e, "verifychain: block fails to reconnect");
                        return Ok(Err(VerifyFailure {
                            hash,
                            height,
                            reason: format!("reconnecting failed: {e}"),
                        }));
                    }
                };
                for op in changes.spent {
                    view.insert(op, None);
                }
                for (op, coin) in changes.added {
                    view.insert(op, Some(coin));
                }
            }
            // Every coin the view now holds must be the UTXO set's own.
            for (op, coin) in &view {
                if self.get_coin(op)? != *coin {
                    let (hash, height) = (self.tip_hash(), tip);
                    return Ok(Err(VerifyFailure {
                        hash,
                        height,
                        reason: format!("reconnecting the blocks does not give back the UTXO set at {op}"),
                    }));
                }
            }
        }
        Ok(Ok(()))
    }
}
