//! Chain and mempool notifications: how the wallet's view follows the node.
//!
//! The node calls these in chain order: [`Wallet::block_connected`] for each block joining the
//! active chain (also during the start-up rescan), [`Wallet::block_disconnected`] for each block
//! leaving it (tip first), and the mempool hooks as transactions enter and leave the pool. Each
//! call is idempotent, so replaying a block already seen changes nothing.
//!
//! Conflicts: when a block spends an outpoint that a different wallet transaction also spends,
//! that transaction and its wallet descendants become `Conflicted` by the block. Only the deepest
//! conflicting block is kept; blocks disconnect tip first, so when that block leaves the active
//! chain no other conflicting block can remain, and the transactions revert to `Inactive`.

use std::collections::HashSet;

use cairn_chain::{Block, BlockHash, OutPoint, Transaction, Txid};

use crate::wallet::{TxState, Wallet};

impl Wallet {
    /// Records a block joining the active chain at `height`: its transactions that pay or spend
    /// this wallet become confirmed, and wallet transactions it conflicts with become conflicted.
    pub fn block_connected(&mut self, block: &Block, height: u32) {
        let block_hash = block.block_hash();
        let block_time = block.header.time;
        for (index, tx) in block.txdata.iter().enumerate() {
            let txid = tx.compute_txid();
            let state = TxState::Confirmed {
                block_hash,
                height,
                index: u32::try_from(index).unwrap_or(u32::MAX),
                block_time,
            };
            let spends_ours = self.spends_ours(tx);
            if let Some(w) = self.txs.get_mut(&txid) {
                w.state = state;
                w.from_me |= spends_ours;
            } else if spends_ours || tx.outputs.iter().any(|o| self.is_mine(&o.lock)) {
                tracing::debug!(%txid, height, "wallet transaction in block");
                self.insert_tx(tx.clone(), txid, state, u64::from(block_time), spends_ours);
            }
            if !tx.is_coinbase() {
                self.mark_conflicts(tx, txid, block_hash, height);
            }
        }
    }

    /// Records a block leaving the active chain: transactions it confirmed, and those it
    /// conflicted, become inactive (the node re-adds the ones its mempool takes back).
    pub fn block_disconnected(&mut self, block: &Block, height: u32) {
        let hash = block.block_hash();
        let mut changed = 0usize;
        for w in self.txs.values_mut() {
            let leaves = match w.state {
                TxState::Confirmed { block_hash, .. } | TxState::Conflicted { block_hash, .. } => block_hash == hash,
                TxState::InMempool | TxState::Inactive => false,
            };
            if leaves {
                w.state = TxState::Inactive;
                changed += 1;
            }
        }
        tracing::debug!(height, %hash, changed, "wallet block disconnected");
    }

    /// Records a transaction entering the mempool, if it pays or spends this wallet (or is
    /// already known).
    pub fn tx_accepted_to_mempool(&mut self, tx: &Transaction, now: u64) {
        let txid = tx.compute_txid();
        let spends_ours = self.spends_ours(tx);
        if let Some(w) = self.txs.get_mut(&txid) {
            // The chain is the authority: a confirmed transaction stays confirmed.
            if !matches!(w.state, TxState::Confirmed { .. }) {
                w.state = TxState::InMempool;
            }
            w.from_me |= spends_ours;
        } else if spends_ours || tx.outputs.iter().any(|o| self.is_mine(&o.lock)) {
            self.insert_tx(tx.clone(), txid, TxState::InMempool, now, spends_ours);
        }
    }

    /// Records a transaction leaving the mempool without being confirmed (evicted, expired or
    /// conflicted in the pool); a confirmed transaction is unaffected.
    pub fn tx_left_mempool(&mut self, txid: &Txid) {
        if let Some(w) = self.txs.get_mut(txid)
            && w.state == TxState::InMempool
        {
            w.state = TxState::Inactive;
        }
    }

    /// Marks every other wallet transaction spending an input of `tx` (confirmed at
    /// `block_hash`), and their descendants, as conflicted.
    fn mark_conflicts(&mut self, tx: &Transaction, txid: Txid, block_hash: BlockHash, height: u32) {
        let mut stack: Vec<Txid> = tx
            .inputs
            .iter()
            .filter_map(|i| self.spends.get(&i.prevout))
            .flatten()
            .filter(|t| **t != txid)
            .copied()
            .collect();
        let mut visited = HashSet::new();
        while let Some(t) = stack.pop() {
            if !visited.insert(t) {
                continue;
            }
            let Some(w) = self.txs.get_mut(&t) else { continue };
            match w.state {
                // Cannot happen on a consistent chain: two confirmed spends of one output.
                TxState::Confirmed { .. } => continue,
                // Keep the deeper conflicting block (see the module docs).
                TxState::Conflicted { height: h, .. } if h <= height => continue,
                _ => {}
            }
            tracing::info!(txid = %t, conflicting = %txid, height, "wallet transaction conflicted");
            w.state = TxState::Conflicted { block_hash, height };
            let outputs = u32::try_from(w.tx.outputs.len()).unwrap_or(u32::MAX);
            for vout in 0..outputs {
                if let Some(children) = self.spends.get(&OutPoint::new(t, vout)) {
                    stack.extend(children.iter().copied());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_chain::block::Header;
    use cairn_chain::{Amount, Lock, Network, TxIn, TxOut};

    fn spend(prevouts: &[OutPoint], to: &Lock) -> Transaction {
        Transaction {
            version: 1,
            inputs: prevouts
                .iter()
                .map(|p| TxIn {
                    prevout: *p,
                    signature: vec![],
                    pubkey: vec![],
                })
                .collect(),
            outputs: vec![TxOut {
                value: Amount::from_units(10_000).unwrap(),
                lock: to.clone(),
            }],
            lock_time: 0,
        }
    }

    fn block(height: u32, txs: Vec<Transaction>) -> Block {
        let mut data = height.to_le_bytes().to_vec();
        data.push(7);
        let coinbase = Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint::NULL,
                signature: data,
                pubkey: vec![],
            }],
            outputs: vec![TxOut {
                value: Amount::ZERO,
                lock: Lock::DataCarrier(vec![]),
            }],
            lock_time: 0,
        };
        let mut txdata = vec![coinbase];
        txdata.extend(txs);
        Block {
            header: Header {
                version: 1,
                prev_blockhash: BlockHash::ZERO,
                merkle_root: Default::default(),
                time: 1_000 + height,
                bits: 0,
                nonce: height,
            },
            txdata,
        }
    }

    #[test]
    fn deepest_conflict_is_kept_and_descendants_follow() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Wallet::create_or_open(dir.path(), Network::Regtest, 0, 0).unwrap();
        let me = w.new_address("", 0).unwrap().lock();
        let other = Lock::DataCarrier(vec![1]);
        let x = OutPoint::new(Txid::from_byte_array([1; 32]), 0);
        let y = OutPoint::new(Txid::from_byte_array([2; 32]), 0);
        // Someone pays us from x and y; we spend that payment onwards.
        let a = spend(&[x, y], &me);
        let a_id = a.compute_txid();
        let child = spend(&[OutPoint::new(a_id, 0)], &other);
        let child_id = child.compute_txid();
        w.tx_accepted_to_mempool(&a, 1);
        w.tx_accepted_to_mempool(&child, 2);
        assert_eq!(w.tx_state(&child_id), Some(TxState::InMempool));
        assert!(w.txs[&child_id].from_me);
        // x is double spent at height 3, y at height 5.
        let b3 = block(3, vec![spend(&[x], &other)]);
        let b5 = block(5, vec![spend(&[y], &other)]);
        w.block_connected(&b3, 3);
        let at3 = Some(TxState::Conflicted {
            block_hash: b3.block_hash(),
            height: 3,
        });
        assert_eq!(w.tx_state(&a_id), at3);
        assert_eq!(w.tx_state(&child_id), at3);
        w.block_connected(&b5, 5);
        w.block_connected(&b3, 3);
        assert_eq!(w.tx_state(&a_id), at3);
        w.tx_left_mempool(&a_id);
        assert_eq!(w.tx_state(&a_id), at3);
        w.block_disconnected(&b5, 5);
        assert_eq!(w.tx_state(&a_id), at3);
        w.block_disconnected(&b3, 3);
        assert_eq!(w.tx_state(&a_id), Some(TxState::Inactive));
        assert_eq!(w.tx_state(&child_id), Some(TxState::Inactive));
        // Unrelated transactions are not tracked.
        let stranger = spend(&[OutPoint::new(Txid::from_byte_array([9; 32]), 0)], &other);
        w.tx_accepted_to_mempool(&stranger, 3);
        w.block_connected(&block(6, vec![stranger.clone()]), 6);
        assert_eq!(w.tx_state(&stranger.compute_txid()), None);
    }
}
