//! Fee estimation from what this node saw: how many blocks transactions of each fee rate waited
//! between entering our mempool and being mined (the idea of Core's `CBlockPolicyEstimator`, in a
//! smaller form).
//!
//! - Fee rates fall into exponentially spaced buckets (×1.1 from the minimum relay rate).
//! - A transaction is tracked from the moment it enters the pool (with the tip height then) until
//!   a block confirms it — recorded as "confirmed after k blocks" in its bucket — or it leaves
//!   otherwise (evicted, conflicted: forgotten, as Core does).
//! - Old observations fade: every block multiplies all counts by [`DECAY`] (Core's long-horizon
//!   decay, a half-life of about 350 blocks).
//! - `estimate(target, threshold)`: walking down from the highest bucket, buckets are grouped
//!   until they hold [`MIN_SAMPLES`] outcomes; a group passes when the share confirmed within
//!   `target` blocks — counting transactions still waiting longer than `target` as failures — is
//!   at least `threshold` (0.85, or 0.95 for `conservative`). The answer is the mean fee rate of
//!   the lowest passing group, or nothing while there is too little data.
//!
//! Held in memory only: after a restart the node answers "insufficient data" until it has
//! watched enough blocks (Core keeps `fee_estimates.dat`; README says so).

use std::collections::HashMap;

use cairn_chain::mempool::MIN_RELAY_FEE_PER_KB;
use cairn_chain::{Block, Txid};

/// Longest confirmation target answered (Core's).
pub const MAX_TARGET: u32 = 1008;
/// Spacing of the buckets.
const BUCKET_SPACING: f64 = 1.1;
/// Highest bucket: 1 coin per kB (a rate nobody pays by accident).
const MAX_RATE: f64 = 1e8;
/// Per-block fading of every count.
const DECAY: f64 = 0.998;
/// Outcomes a group of buckets needs before it is judged.
const MIN_SAMPLES: f64 = 4.0;
/// Most transactions tracked at once (the pool's count is bounded by its bytes; this bounds the
/// map whatever the pool holds).
const MAX_TRACKED: usize = 200_000;

/// One bucket's decayed counts.
#[derive(Clone, Debug, Default)]
struct Bucket {
    /// `confirmed[k - 1]`: confirmed after k blocks (k ≤ MAX_TARGET; later ones count in the
    /// last slot).
    confirmed: Vec<f64>,
    /// Sum of the fee rates confirmed here, weighted as the counts are.
    rate_sum: f64,
    /// All confirmed.
    total: f64,
}

/// See the module documentation.
#[derive(Debug)]
pub struct FeeEstimator {
    /// Lower bounds of the buckets, in units per 1000 bytes.
    bounds: Vec<f64>,
    buckets: Vec<Bucket>,
    /// Pool transactions being watched: bucket, fee rate, tip height when they entered.
    tracked: HashMap<Txid, (usize, u64, u32)>,
}

impl Default for FeeEstimator {
    fn default() -> Self {
        let mut bounds = vec![MIN_RELAY_FEE_PER_KB as f64];
        while *bounds.last().unwrap_or(&MAX_RATE) < MAX_RATE {
            let next = bounds[bounds.len() - 1] * BUCKET_SPACING;
            bounds.push(next);
        }
        let buckets = vec![
            Bucket {
                confirmed: vec![0.0; MAX_TARGET as usize],
                ..Bucket::default()
            };
            bounds.len()
        ];
        FeeEstimator {
            bounds,
            buckets,
            tracked: HashMap::new(),
        }
    }
}

/// An estimate: units per 1000 bytes, and the target it was found for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub rate_per_kb: u64,
    pub blocks: u32,
}

impl FeeEstimator {
    fn bucket_of(&self, rate: u64) -> usize {
        self.bounds.partition_point(|b| *b <= rate as f64).saturating_sub(1)
    }

    /// A transaction entered the pool at tip `height` paying `rate` per 1000 bytes.
    pub fn entered(&mut self, txid: Txid, rate: u64, height: u32) {
        if self.tracked.len() < MAX_TRACKED {
            self.tracked.insert(txid, (self.bucket_of(rate), rate, height));
        }
    }

    /// A transaction left the pool without being mined.
    pub fn left(&mut self, txid: &Txid) {
        self.tracked.remove(txid);
    }

    /// A block at `height` was connected: its tracked transactions are confirmed, and every
    /// count fades by one block.
    pub fn connected(&mut self, block: &Block, height: u32) {
        for b in &mut self.buckets {
            b.confirmed.iter_mut().for_each(|c| *c *= DECAY);
            b.rate_sum *= DECAY;
            b.total *= DECAY;
        }
        for tx in &block.txdata {
            let Some((bucket, rate, entered)) = self.tracked.remove(&tx.compute_txid()) else {
                continue;
            };
            let waited = height.saturating_sub(entered).clamp(1, MAX_TARGET);
            let b = &mut self.buckets[bucket];
            b.confirmed[waited as usize - 1] += 1.0;
            b.rate_sum += rate as f64;
            b.total += 1.0;
        }
    }

    /// The lowest fee rate that confirmed within `target` blocks at least `threshold` of the
    /// time, at `target` or, lacking data, at a longer target (up to [`MAX_TARGET`]).
    pub fn estimate(&self, target: u32, threshold: f64, tip: u32) -> Option<Estimate> {
        let mut t = target.clamp(1, MAX_TARGET);
        loop {
            if let Some(rate) = self.estimate_at(t, threshold, tip) {
                return Some(Estimate {
                    rate_per_kb: rate.max(MIN_RELAY_FEE_PER_KB),
                    blocks: t,
                });
            }
            if t == MAX_TARGET {
                return None;
            }
            t = (t * 2).min(MAX_TARGET);
        }
    }

    fn estimate_at(&self, target: u32, threshold: f64, tip: u32) -> Option<u64> {
        // Transactions still waiting longer than the target: failures, per bucket.
        let mut waiting = vec![0.0; self.buckets.len()];
        for (bucket, _, entered) in self.tracked.values() {
            if tip.saturating_sub(*entered) >= target {
                waiting[*bucket] += 1.0;
            }
        }
        let (mut ok, mut all, mut rate_sum, mut rate_n) = (0.0, 0.0, 0.0, 0.0);
        let mut best = None;
        for i in (0..self.buckets.len()).rev() {
            let b = &self.buckets[i];
            ok += b.confirmed[..target as usize].iter().sum::<f64>();
            all += b.total + waiting[i];
            rate_sum += b.rate_sum;
            rate_n += b.total;
            if all < MIN_SAMPLES {
                continue;
            }
            if ok / all < threshold {
                break;
            }
            if rate_n > 0.0 {
                best = Some((rate_sum / rate_n) as u64);
            }
            (ok, all, rate_sum, rate_n) = (0.0, 0.0, 0.0, 0.0);
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_chain::{Block, Header, Transaction, TxIn, TxOut};

    fn tx(n: u32) -> Transaction {
        Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: cairn_chain::OutPoint::new(Txid::from_byte_array([7; 32]), n),
                signature: vec![],
                pubkey: vec![],
            }],
            outputs: vec![TxOut {
                value: cairn_chain::Amount::from_units(1).unwrap(),
                lock: cairn_chain::Lock::DataCarrier(vec![]),
            }],
            lock_time: 0,
        }
    }

    fn block(txs: Vec<Transaction>) -> Block {
        Block {
            header: Header {
                version: 1,
                prev_blockhash: cairn_chain::BlockHash::ZERO,
                merkle_root: Default::default(),
                time: 0,
                bits: 0,
                nonce: 0,
            },
            txdata: txs,
        }
    }

    #[test]
    fn rates_that_confirm_fast_are_the_estimate_and_slow_ones_are_not() {
        let mut f = FeeEstimator::default();
        assert_eq!(f.estimate(2, 0.85, 0), None, "no data, no answer");
        // Over 30 blocks: each block, a 50,000/kB transaction confirmed at once, and a
        // 2,000/kB one that waits 10 blocks.
        let mut n = 0;
        let mut slow: Vec<(u32, Transaction)> = Vec::new();
        for height in 1..=30u32 {
            let fast = tx(n);
            n += 1;
            f.entered(fast.compute_txid(), 50_000, height - 1);
            let lazy = tx(n);
            n += 1;
            f.entered(lazy.compute_txid(), 2_000, height - 1);
            slow.push((height + 9, lazy));
            let mut txs = vec![fast];
            txs.extend(slow.iter().filter(|(h, _)| *h == height).map(|(_, t)| t.clone()));
            f.connected(&block(txs), height);
        }
        let quick = f.estimate(2, 0.85, 30).unwrap();
        assert_eq!(quick.blocks, 2);
        assert!((45_000..=55_000).contains(&quick.rate_per_kb), "{quick:?}");
        // Within 16 blocks the cheap rate does as well.
        let patient = f.estimate(16, 0.85, 30).unwrap();
        assert!(patient.rate_per_kb < 3_000, "{patient:?}");
        // A transaction that left without a block is forgotten.
        let gone = tx(n);
        f.entered(gone.compute_txid(), 9_000, 30);
        f.left(&gone.compute_txid());
        assert!(f.tracked.is_empty() || !f.tracked.contains_key(&gone.compute_txid()));
    }
}
