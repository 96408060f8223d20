//! Figures about blocks and the chain that Core's RPC reports: per-block statistics
//! (`getblockstats`) and transaction counts (`getchaintxstats`), and the filling in of
//! transaction counts for index records written before they were kept.

use std::collections::HashMap;

use tracing::info;

use super::Chainstate;
use crate::encode::Encodable;
use crate::error::StoreError;
use crate::hash::BlockHash;
use crate::store::{IndexRecord, Store, status};
use crate::transaction::OutPoint;

/// Bytes a coin costs the UTXO set beyond its output: outpoint, height/coinbase code and flag
/// (Core's `PER_UTXO_OVERHEAD`).
const PER_UTXO_OVERHEAD: i64 = 36 + 4 + 1;

/// Weight units per byte: Cairn has no witness data, so a transaction's weight is 4 × its size
/// and its virtual size is its size.
const WITNESS_SCALE: u64 = 4;

/// Core's `getblockstats` figures for one block. Amounts are base units, rates units per
/// virtual byte, sizes bytes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BlockStats {
    pub blockhash: BlockHash,
    pub height: u32,
    pub time: u32,
    pub mediantime: u32,
    /// Transactions, coinbase included.
    pub txs: u64,
    /// Inputs of the transactions other than the coinbase.
    pub ins: u64,
    /// Outputs of every transaction.
    pub outs: u64,
    pub subsidy: u64,
    /// Value of the outputs of the transactions other than the coinbase.
    pub total_out: u64,
    /// Size and weight of the transactions other than the coinbase.
    pub total_size: u64,
    pub total_weight: u64,
    pub totalfee: u64,
    pub avgfee: u64,
    pub avgfeerate: u64,
    pub avgtxsize: u64,
    pub maxfee: u64,
    pub maxfeerate: u64,
    pub maxtxsize: u64,
    pub medianfee: u64,
    pub mediantxsize: u64,
    pub minfee: u64,
    pub minfeerate: u64,
    pub mintxsize: u64,
    /// Fee rates at the 10th, 25th, 50th, 75th and 90th percentile of weight.
    pub feerate_percentiles: [u64; 5],
    pub utxo_increase: i64,
    pub utxo_size_inc: i64,
    /// As the two above, without outputs that can never be spent.
    pub utxo_increase_actual: i64,
    pub utxo_size_inc_actual: i64,
}

/// Core's `CalculateTruncatedMedian`.
fn truncated_median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    match v.len() {
        0 => 0,
        n if n % 2 == 0 => (v[n / 2 - 1] + v[n / 2]) / 2,
        n => v[n / 2],
    }
}

/// Core's `CalculatePercentilesByWeight`: the fee rate at each percentile of the block's weight.
fn percentiles_by_weight(mut scores: Vec<(u64, u64)>, total_weight: u64) -> [u64; 5] {
    let mut out = [0u64; 5];
    let Some(&(last, _)) = scores.iter().max() else {
        return out;
    };
    scores.sort_unstable();
    let w = total_weight as f64;
    let marks = [w / 10.0, w / 4.0, w / 2.0, w * 3.0 / 4.0, w * 9.0 / 10.0];
    let mut next = 0;
    let mut cumulative = 0u64;
    for (rate, weight) in scores {
        cumulative += weight;
        while next < marks.len() && cumulative as f64 >= marks[next] {
            out[next] = rate;
            next += 1;
        }
    }
    for slot in out.iter_mut().skip(next) {
        *slot = last;
    }
    out
}

/// Error of [`Chainstate::block_stats`].
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// No such block in the index.
    #[error("Block not found")]
    NotFound,
    /// Only the header is stored (Core: "Block not available (pruned data)").
    #[error("Block not available (only its header is known)")]
    NoData,
    /// The block was never connected, so there is no undo data for its spent coins.
    #[error("Undo data expected but can't be read. This could be due to disk corruption or a conflict with a pruning event.")]
    NoUndo,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Chainstate {
    /// `getblockstats`' figures for the stored, connected block `hash`.
    ///
    /// # Errors
    /// See [`StatsError`].
    pub fn block_stats(&self, hash: &BlockHash) -> Result<BlockStats, StatsError> {
        let record = *self.index_record(hash).ok_or(StatsError::NotFound)?;
        let block = self.get_block(hash)?.ok_or(StatsError::NoData)?;
        // Value and UTXO-set bytes of every coin the block spends: from the undo data, and from
        // the block itself for outputs it both creates and spends (those are not in the undo).
        let mut spent: HashMap<OutPoint, (u64, i64)> = HashMap::new();
        if block.txdata.len() > 1 {
            let undo = self.get_undo(hash)?.ok_or(StatsError::NoUndo)?;
            for (op, coin) in &undo.spent {
                spent.insert(
                    *op,
                    (coin.output.value.to_units(), coin.output.encode().len() as i64 + PER_UTXO_OVERHEAD),
                );
            }
            for tx in &block.txdata {
                let txid = tx.compute_txid();
                for (n, out) in tx.outputs.iter().enumerate() {
                    spent.insert(
                        OutPoint::new(txid, n as u32),
                        (out.value.to_units(), out.encode().len() as i64 + PER_UTXO_OVERHEAD),
                    );
                }
            }
        }
        let mut s = BlockStats {
            blockhash: *hash,
            height: record.height,
            time: record.header.time,
            mediantime: self.median_time_past(hash),
            txs: block.txdata.len() as u64,
            subsidy: self.params().block_subsidy(record.height).to_units(),
            ..BlockStats::default()
        };
        let (mut fees, mut sizes, mut rates) = (Vec::new(), Vec::new(), Vec::new());
        let (mut minfee, mut minrate, mut minsize) = (u64::MAX, u64::MAX, u64::MAX);
        for tx in &block.txdata {
            s.outs += tx.outputs.len() as u64;
            let mut out_value = 0u64;
            for out in &tx.outputs {
                let bytes = out.encode().len() as i64 + PER_UTXO_OVERHEAD;
                s.utxo_increase += 1;
                s.utxo_size_inc += bytes;
                if !out.lock.is_unspendable() {
                    s.utxo_increase_actual += 1;
                    s.utxo_size_inc_actual += bytes;
                }
                out_value = out_value.saturating_add(out.value.to_units());
            }
            if tx.is_coinbase() {
                continue;
            }
            s.ins += tx.inputs.len() as u64;
            s.total_out = s.total_out.saturating_add(out_value);
            let size = tx.encode().len() as u64;
            let weight = size * WITNESS_SCALE;
            s.total_size += size;
            s.total_weight += weight;
            let mut in_value = 0u64;
            for input in &tx.inputs {
                let (value, bytes) = spent.get(&input.prevout).copied().unwrap_or((0, PER_UTXO_OVERHEAD));
                in_value = in_value.saturating_add(value);
                s.utxo_increase -= 1;
                s.utxo_size_inc -= bytes;
                s.utxo_increase_actual -= 1;
                s.utxo_size_inc_actual -= bytes;
            }
            let fee = in_value.saturating_sub(out_value);
            let rate = fee * WITNESS_SCALE / weight.max(1);
            s.totalfee = s.totalfee.saturating_add(fee);
            s.maxfee = s.maxfee.max(fee);
            s.maxfeerate = s.maxfeerate.max(rate);
            s.maxtxsize = s.maxtxsize.max(size);
            minfee = minfee.min(fee);
            minrate = minrate.min(rate);
            minsize = minsize.min(size);
            fees.push(fee);
            sizes.push(size);
            rates.push((rate, weight));
        }
        let paying = s.txs.saturating_sub(1);
        if let Some(avg) = s.totalfee.checked_div(paying) {
            s.avgfee = avg;
            s.avgtxsize = s.total_size / paying;
            s.minfee = minfee;
            s.minfeerate = minrate;
            s.mintxsize = minsize;
        }
        s.avgfeerate = (s.totalfee * WITNESS_SCALE).checked_div(s.total_weight).unwrap_or(0);
        s.medianfee = truncated_median(fees);
        s.mediantxsize = truncated_median(sizes);
        s.feerate_percentiles = percentiles_by_weight(rates, s.total_weight);
        Ok(s)
    }

    /// Transactions in the chain from genesis up to and including `hash` (Core's `nChainTx`),
    /// if every block on the way is stored.
    pub fn chain_tx_count(&self, hash: &BlockHash) -> Option<u64> {
        let mut total = 0u64;
        let mut cursor = *self.index_record(hash)?;
        // Off the active chain: walk back to it.
        while self.block_hash_at(cursor.height) != Some(cursor.hash()) {
            if cursor.tx_count == 0 {
                return None;
            }
            total += u64::from(cursor.tx_count);
            cursor = *self.index_record(&cursor.header.prev_blockhash)?;
        }
        for h in 0..=cursor.height {
            let r = self.index_record(&self.block_hash_at(h)?)?;
            if r.tx_count == 0 {
                return None;
            }
            total += u64::from(r.tx_count);
        }
        Some(total)
    }
}

/// Fills in the transaction counts of stored blocks whose records predate them (a datadir of an
/// earlier version), reading each such block once and writing the records back.
pub(super) fn fill_tx_counts(store: &Store, records: &mut [IndexRecord]) -> Result<(), StoreError> {
    let missing: Vec<usize> = (0..records.len())
        .filter(|&i| records[i].tx_count == 0 && records[i].status & status::HAVE_DATA != 0)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    info!(
        blocks = missing.len(),
        "counting the transactions of blocks stored by an earlier version"
    );
    let mut updated = Vec::with_capacity(missing.len().min(4096));
    for i in missing {
        if let Some(block) = store.get_block(&records[i].hash())? {
            records[i].tx_count = u32::try_from(block.txdata.len()).unwrap_or(u32::MAX);
            updated.push(records[i]);
        }
        if updated.len() == 4096 {
            store.put_index(&updated)?;
            updated.clear();
        }
    }
    store.put_index(&updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_percentiles_follow_core() {
        assert_eq!(truncated_median(vec![]), 0);
        assert_eq!(truncated_median(vec![5, 1, 3]), 3);
        assert_eq!(truncated_median(vec![4, 1, 3, 10]), 3);
        assert_eq!(percentiles_by_weight(vec![], 0), [0; 5]);
        // Ten transactions of equal weight at rates 1..=10: the 10th percentile is reached by
        // the first, the median by the fifth, the 90th by the ninth.
        let scores: Vec<(u64, u64)> = (1..=10).map(|r| (r, 400)).collect();
        assert_eq!(percentiles_by_weight(scores, 4000), [1, 3, 5, 8, 9]);
        // One heavy transaction carries every percentile it covers.
        assert_eq!(percentiles_by_weight(vec![(2, 100), (7, 900)], 1000), [2, 7, 7, 7, 7]);
    }
}
