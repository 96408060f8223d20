//! Applying a block to the UTXO set.
//!
//! Coins are looked up in one batch (a RocksDB multi-get in production), the block's
//! transactions are checked in order against those coins plus the outputs of earlier
//! transactions in the same block, and then every signature of the block is verified across
//! threads. The result is a [`BlockChanges`]: what to delete, what to add, and the undo data that
//! lets the block be disconnected later. Nothing is written here.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::amount::Amount;
use crate::block::Block;
use crate::error::{BlockError, StoreError, TxError};
use crate::hash::Txid;
use crate::params::Params;
use crate::transaction::OutPoint;
use crate::utxo::{BlockUndo, Coin};
use crate::validation::sigcache::SigCache;
use crate::validation::tx::{SigCheck, check_tx_inputs, verify_all};

/// Most signature checks per verification task (large blocks).
const SIG_BATCH_MAX: usize = 64;
/// Fewest signature checks per verification task (below this, task overhead shows).
const SIG_BATCH_MIN: usize = 4;
/// Verification tasks per rayon thread a block is cut into, at least: with fewer, the last
/// task of a small block leaves threads idle (200 checks in batches of 64 on two threads take
/// as long as 256 would).
const TASKS_PER_THREAD: usize = 4;

/// Signature checks per verification task for a block with `checks` of them.
fn sig_batch(checks: usize) -> usize {
    (checks / (rayon::current_num_threads() * TASKS_PER_THREAD)).clamp(SIG_BATCH_MIN, SIG_BATCH_MAX)
}

/// The effect of connecting a block.
#[derive(Debug, Default)]
pub struct BlockChanges {
    /// Coins from before the block that it spends (remove from the set).
    pub spent: Vec<OutPoint>,
    /// Coins it creates that are still unspent at its end (add to the set).
    pub added: Vec<(OutPoint, Coin)>,
    /// The spent coins, for disconnecting.
    pub undo: BlockUndo,
    /// Total fees of the block's transactions.
    pub fees: Amount,
    /// Its file anchors ([`crate::anchor`]), for the anchor index.
    pub anchors: Vec<crate::anchor::BlockAnchor>,
}

/// How [`connect_block`] treats signatures.
#[derive(Clone, Copy, Debug)]
pub enum Signatures<'c> {
    /// Verify every one.
    VerifyAll,
    /// Verify those the cache has not seen pass, and remember the ones that pass.
    Cached(&'c SigCache),
    /// Verify none (for callers that verified the block before).
    Skip,
}

impl<'c> Signatures<'c> {
    fn cache(self) -> Option<&'c SigCache> {
        match self {
            Signatures::Cached(c) => Some(c),
            Signatures::VerifyAll | Signatures::Skip => None,
        }
    }
}

/// A failure while connecting: the block is invalid, or reading coins failed.
#[derive(Debug)]
pub enum ConnectError {
    /// The block breaks a rule.
    Invalid(BlockError),
    /// The coin store failed.
    Store(StoreError),
}

/// Checks `block` at `height` against the coins `lookup` returns (in the order of the outpoints
/// it is given; `None` for missing or spent) and computes its changes. Signatures are verified
/// as `signatures` says: all of them, those `cache` has not seen pass before (remembering the
/// ones that pass), or none.
///
/// # Errors
/// [`ConnectError::Invalid`] for a broken rule, [`ConnectError::Store`] if `lookup` fails.
pub fn connect_block<F>(
    block: &Block,
    height: u32,
    params: &Params,
    signatures: Signatures<'_>,
    lookup: F,
) -> Result<BlockChanges, ConnectError>
where
    F: FnOnce(&[OutPoint]) -> Result<Vec<Option<Coin>>, StoreError>,
{
    let txids: Vec<Txid> = block.txdata.par_iter().map(|t| t.compute_txid()).collect();
    // Outputs created in this block, by the position of the creating transaction.
    let mut created_by: HashMap<OutPoint, usize> = HashMap::new();
    for (i, (tx, txid)) in block.txdata.iter().zip(&txids).enumerate() {
        for (vout, out) in tx.outputs.iter().enumerate() {
            if !out.lock.is_unspendable() {
                created_by.insert(OutPoint::new(*txid, vout as u32), i);
            }
        }
    }
    // Coins from before the block: fetched in one batch.
    let mut external: Vec<OutPoint> = Vec::new();
    let mut seen = HashSet::new();
    for tx in &block.txdata[1..] {
        for input in &tx.inputs {
            if !created_by.contains_key(&input.prevout) && seen.insert(input.prevout) {
                external.push(input.prevout);
            }
        }
    }
    let fetched = lookup(&external).map_err(ConnectError::Store)?;
    let mut available: HashMap<OutPoint, Coin> = external
        .iter()
        .copied()
        .zip(fetched)
        .filter_map(|(o, c)| c.map(|c| (o, c)))
        .collect();

    let mut changes = BlockChanges::default();
    let mut spent_in_block: HashSet<OutPoint> = HashSet::with_capacity(external.len());
    let mut fees = Amount::ZERO;
    // The lowest-position signature failure found by the verification tasks.
    let sig_failure: Mutex<Option<(usize, TxError)>> = Mutex::new(None);
    let invalid = |index: usize, error: TxError| {
        ConnectError::Invalid(BlockError::Tx {
            index,
            txid: txids[index],
            error,
        })
    };
    // Like Bitcoin Core's check queue: the walk below checks inputs in order and hands batches of
    // signature checks to rayon's threads as it goes, so verification overlaps the walk.
    // Set when the walk rejects the block, so queued verification tasks skip their work.
    let abort = AtomicBool::new(false);
    let sig_batch = sig_batch(block.txdata[1..].iter().map(|t| t.inputs.len()).sum());
    let walk = rayon::scope(|scope| -> Result<(), ConnectError> {
        let mut batch: Vec<(usize, SigCheck<'_>)> = Vec::with_capacity(sig_batch);
        let shared = Shared {
            failure: &sig_failure,
            abort: &abort,
            cache: signatures.cache(),
        };
        for (i, tx) in block.txdata.iter().enumerate() {
            if i > 0 {
                let mut coins = Vec::with_capacity(tx.inputs.len());
                for input in &tx.inputs {
                    // An output of a later transaction in the block is not yet available.
                    let coin = match created_by.get(&input.prevout) {
                        Some(&j) if j >= i => None,
                        _ => available.remove(&input.prevout),
                    };
                    if coin.is_none() || !spent_in_block.insert(input.prevout) {
                        abort.store(true, Ordering::Relaxed);
                        return Err(invalid(i, TxError::MissingOrSpent(input.prevout)));
                    }
                    coins.push(coin);
                }
                let checked = check_tx_inputs(tx, &coins, height, params).map_err(|e| {
                    abort.store(true, Ordering::Relaxed);
                    invalid(i, e)
                })?;
                fees = fees.checked_add(checked.fee).map_err(|_| {
                    abort.store(true, Ordering::Relaxed);
                    invalid(i, TxError::InputTotalOutOfRange)
                })?;
                if !matches!(signatures, Signatures::Skip) {
                    batch.extend(checked.sig_checks.into_iter().map(|c| (i, c)));
                    if batch.len() >= sig_batch {
                        dispatch(scope, std::mem::replace(&mut batch, Vec::with_capacity(sig_batch)), shared);
                    }
                }
                for (input, coin) in tx.inputs.iter().zip(coins) {
                    if !created_by.contains_key(&input.prevout) {
                        changes.spent.push(input.prevout);
                        changes.undo.spent.push((input.prevout, coin.expect("checked above")));
                    }
                }
            }
            for (vout, out) in tx.outputs.iter().enumerate() {
                if !out.lock.is_unspendable() {
                    let op = OutPoint::new(txids[i], vout as u32);
                    available.insert(
                        op,
                        Coin {
                            output: out.clone(),
                            height,
                            is_coinbase: i == 0,
                        },
                    );
                }
            }
        }
        if !batch.is_empty() {
            dispatch(scope, batch, shared);
        }
        Ok(())
    });
    // Input errors come first, as in Core (the walk stops at the first one); then signatures.
    walk?;
    let limit = params.block_subsidy(height).checked_add(fees).map_err(|_| {
        ConnectError::Invalid(BlockError::CoinbaseTooLarge {
            paid: Amount::MAX_MONEY,
            limit: Amount::MAX_MONEY,
        })
    })?;
    let paid =
        Amount::checked_sum(block.txdata[0].outputs.iter().map(|o| o.value)).map_err(|_| invalid(0, TxError::OutputTotalOutOfRange))?;
    if paid > limit {
        return Err(ConnectError::Invalid(BlockError::CoinbaseTooLarge { paid, limit }));
    }
    if let Some((i, e)) = sig_failure.into_inner().ok().flatten() {
        return Err(invalid(i, e));
    }
    for (op, _) in created_by.iter() {
        if !spent_in_block.contains(op)
            && let Some(coin) = available.remove(op)
        {
            changes.added.push((*op, coin));
        }
    }
    changes.added.sort_by_key(|(op, _)| *op);
    changes.fees = fees;
    changes.anchors = crate::anchor::block_anchors(block);
    Ok(changes)
}

/// What verification tasks share with the walk.
#[derive(Clone, Copy)]
struct Shared<'s> {
    /// The lowest-position failure found so far.
    failure: &'s Mutex<Option<(usize, TxError)>>,
    /// The walk already rejected the block: nothing left to verify.
    abort: &'s AtomicBool,
    /// Checks that passed before.
    cache: Option<&'s SigCache>,
}

/// Verifies a batch of signature checks on a rayon thread, keeping the lowest-position failure.
fn dispatch<'scope, 'a: 'scope>(scope: &rayon::Scope<'scope>, batch: Vec<(usize, SigCheck<'a>)>, shared: Shared<'scope>) {
    scope.spawn(move |_| {
        if shared.abort.load(Ordering::Relaxed) {
            return;
        }
        if let Err(found) = verify_all(&batch, shared.cache)
            && let Ok(mut slot) = shared.failure.lock()
            && slot.as_ref().is_none_or(|(pos, _)| found.0 < *pos)
        {
            *slot = Some(found);
        }
    });
}
