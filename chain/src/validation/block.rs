//! Block rules: context-free ones, and the ones that depend on the chain below the block.

use crate::block::{Block, Header};
use crate::error::{BlockError, TxError};
use crate::params::Params;
use crate::pow::check_proof_of_work;
use crate::validation::tx::check_transaction;

/// Rules that need only the block (Bitcoin Core's `CheckBlock`): proof of work, merkle root
/// (and its mutation), size, exactly one coinbase in first position, and every transaction's
/// context-free rules.
///
/// A block that fails here is never stored, so its hash is never marked invalid: the failure may
/// be a mutated body of a valid header. A block that passes has its body fixed by its header:
/// the merkle root commits to the transaction list, duplicated subtrees (CVE-2012-2459) are
/// refused as mutation, and 64-byte transactions, which could stand in for inner nodes
/// (CVE-2017-12842), are refused by consensus. Only then may a later failure (while connecting)
/// mark the hash invalid.
///
/// # Errors
/// The first rule broken.
pub fn check_block(block: &Block, params: &Params) -> Result<(), BlockError> {
    check_proof_of_work(&block.block_hash(), block.header.bits, params.pow_limit)?;
    if block.txdata.is_empty() {
        return Err(BlockError::NoTransactions);
    }
    let (root, mutated) = block.compute_merkle_root();
    if root != block.header.merkle_root {
        return Err(BlockError::BadMerkleRoot);
    }
    // Checked after the root matches, as in Core: a mutated list with a matching root is a copy of
    // a valid block with duplicated transactions, not proof that the block hash is invalid.
    if mutated {
        return Err(BlockError::MutatedMerkle);
    }
    let size = block.size();
    if size > params.max_block_size {
        return Err(BlockError::TooLarge {
            size,
            max: params.max_block_size,
        });
    }
    if !block.txdata[0].is_coinbase() {
        return Err(BlockError::FirstNotCoinbase);
    }
    if block.txdata[1..].iter().any(|tx| tx.is_coinbase()) {
        return Err(BlockError::MultipleCoinbase);
    }
    for (index, tx) in block.txdata.iter().enumerate() {
        check_transaction(tx, params).map_err(|error| BlockError::Tx {
            index,
            txid: tx.compute_txid(),
            error,
        })?;
    }
    Ok(())
}

/// What the header rules need to know about the chain below a block.
#[derive(Clone, Copy, Debug)]
pub struct HeaderContext {
    /// Height of the new block.
    pub height: u32,
    /// Median time of the 11 blocks before it.
    pub median_time_past: u32,
    /// The bits the difficulty rule requires.
    pub expected_bits: u32,
    /// The local clock (Unix seconds): passed in, never read here.
    pub now: u64,
}

/// Header rules that depend on the parent (Core's `ContextualCheckBlockHeader`).
///
/// # Errors
/// Wrong bits, or a time not above the median time past or more than two hours in the future.
pub fn check_header_contextual(header: &Header, ctx: &HeaderContext, params: &Params) -> Result<(), BlockError> {
    if header.bits != ctx.expected_bits {
        return Err(BlockError::WrongBits {
            expected: ctx.expected_bits,
            got: header.bits,
        });
    }
    if header.time <= ctx.median_time_past {
        return Err(BlockError::TimeTooOld {
            time: header.time,
            mtp: ctx.median_time_past,
        });
    }
    let max = ctx.now + u64::from(params.max_future_block_time);
    if u64::from(header.time) > max {
        return Err(BlockError::TimeTooNew { time: header.time, max });
    }
    Ok(())
}

/// Block rules that depend on its height (Core's `ContextualCheckBlock`): the coinbase starts
/// with the height (BIP 34) and every transaction is final.
///
/// # Errors
/// The first rule broken.
pub fn check_block_contextual(block: &Block, ctx: &HeaderContext) -> Result<(), BlockError> {
    if block.txdata[0].coinbase_height() != Some(ctx.height) {
        return Err(BlockError::BadCoinbaseHeight { expected: ctx.height });
    }
    for (index, tx) in block.txdata.iter().enumerate() {
        if !tx.is_final(ctx.height, ctx.median_time_past) {
            return Err(BlockError::Tx {
                index,
                txid: tx.compute_txid(),
                error: TxError::NonFinal,
            });
        }
    }
    Ok(())
}
