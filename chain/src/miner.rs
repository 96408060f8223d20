//! Block templates and the proof-of-work search.
//!
//! A template is a coinbase (height, extra-nonce, payout of subsidy plus fees) followed by pool
//! transactions by fee rate within the size cap. The nonce search hashes the first 64 header bytes
//! once (the SHA-256 midstate) and then, per nonce, runs two compressions: the header's last 16
//! bytes with padding, and the second SHA-256 over the 32-byte digest. When a thread exhausts the
//! 2^32 nonces it rolls its extra-nonce (a new coinbase, a new merkle root). Mining runs on plain
//! threads, never on an async runtime, and checks `should_stop` between batches of 2^16 nonces
//! (about a millisecond), so it stops promptly when the tip changes.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sha2::block_api::compress256;

use crate::amount::Amount;
use crate::block::{Block, Header, merkle_root};
use crate::chain::Chainstate;
use crate::hash::{BlockHash, MerkleRoot, Txid};
use crate::mempool::Mempool;
use crate::pow::U256;
use crate::transaction::{Lock, OutPoint, Transaction, TxIn, TxOut};

const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];
/// Nonces between checks of the stop condition.
pub const NONCE_BATCH: u32 = 1 << 16;
/// Bytes kept free in a template for the header and coinbase.
const COINBASE_RESERVE: usize = 1_000;

/// A block to mine.
#[derive(Clone, Debug)]
pub struct BlockTemplate {
    /// The block, nonce 0.
    pub block: Block,
    /// Its height.
    pub height: u32,
    /// Fees of its transactions.
    pub fees: Amount,
    /// The target its hash must meet.
    pub target: U256,
}

/// Builds a template on the chain's tip paying to `payout`, with the pool's best transactions.
/// `extra` (at most 80 bytes used) goes into the coinbase after the height and extra-nonce, to
/// tell miners apart.
pub fn create_template(chain: &Chainstate, mempool: &Mempool, payout: &Lock, now: u64, extra: &[u8]) -> BlockTemplate {
    let selected = mempool.select_for_block(chain.params().max_block_size - COINBASE_RESERVE);
    let fees = Amount::checked_sum(selected.iter().map(|e| e.fee)).unwrap_or(Amount::MAX_MONEY);
    let txs = selected.into_iter().map(|e| e.tx.clone()).collect();
    template_on(chain, &chain.tip_hash(), txs, fees, payout, now, extra).expect("the tip is in the index")
}

/// Builds a template on any known block `parent` with the given transactions (whose fees the
/// caller states). `None` if `parent` is unknown.
pub fn template_on(
    chain: &Chainstate,
    parent: &BlockHash,
    txs: Vec<Transaction>,
    fees: Amount,
    payout: &Lock,
    now: u64,
    extra: &[u8],
) -> Option<BlockTemplate> {
    let params = chain.params();
    let ctx = chain.header_context(parent, now)?;
    let time = (now.min(u64::from(u32::MAX)) as u32).max(ctx.median_time_past + 1);
    let mut data = ctx.height.to_le_bytes().to_vec();
    data.extend_from_slice(&0u64.to_le_bytes());
    data.extend_from_slice(&extra[..extra.len().min(80)]);
    let reward = params.block_subsidy(ctx.height).checked_add(fees).unwrap_or(Amount::MAX_MONEY);
    let coinbase = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint::NULL,
            signature: data,
            pubkey: vec![],
        }],
        outputs: vec![TxOut {
            value: reward,
            lock: payout.clone(),
        }],
        lock_time: 0,
    };
    let mut txdata = vec![coinbase];
    txdata.extend(txs);
    let header = Header {
        version: 1,
        prev_blockhash: *parent,
        merkle_root: MerkleRoot::ZERO,
        time,
        bits: ctx.expected_bits,
        nonce: 0,
    };
    let mut block = Block { header, txdata };
    block.header.merkle_root = block.compute_merkle_root().0;
    let target = U256::from_compact(ctx.expected_bits).unwrap_or(params.pow_limit);
    Some(BlockTemplate {
        block,
        height: ctx.height,
        fees,
        target,
    })
}

/// Writes `extra_nonce` into the coinbase and recomputes the merkle root.
pub fn set_extra_nonce(block: &mut Block, extra_nonce: u64) {
    let data = &mut block.txdata[0].inputs[0].signature;
    if data.len() >= 12 {
        data[4..12].copy_from_slice(&extra_nonce.to_le_bytes());
    }
    let ids: Vec<Txid> = block.txdata.iter().map(Transaction::compute_txid).collect();
    block.header.merkle_root = merkle_root(&ids).0;
}

/// Searches nonces `start..start+count` of `header` for a hash at or below `target`, with the
/// midstate: one compression for the first 64 bytes, then two per nonce.
pub fn scan_nonces(header: &Header, target: &U256, start: u32, count: u32) -> Option<u32> {
    let bytes = header.to_bytes();
    let mut mid = IV;
    let mut first = [0u8; 64];
    first.copy_from_slice(&bytes[..64]);
    compress256(&mut mid, &[first]);

    let mut second = [0u8; 64];
    second[..16].copy_from_slice(&bytes[64..80]);
    second[16] = 0x80;
    second[56..64].copy_from_slice(&(80u64 * 8).to_be_bytes());
    let mut third = [0u8; 64];
    third[32] = 0x80;
    third[56..64].copy_from_slice(&(32u64 * 8).to_be_bytes());
    let target_top = (target.to_le_bytes()[28..32])
        .try_into()
        .map(u32::from_le_bytes)
        .unwrap_or(u32::MAX);

    let mut nonce = start;
    for _ in 0..count {
        second[12..16].copy_from_slice(&nonce.to_le_bytes());
        let mut s = mid;
        compress256(&mut s, &[second]);
        for (i, w) in s.iter().enumerate() {
            third[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
        }
        let mut h = IV;
        compress256(&mut h, &[third]);
        // The hash read as a little-endian number: its top 32 bits are the last word, byte-swapped.
        if h[7].swap_bytes() <= target_top {
            let mut hash = [0u8; 32];
            for (i, w) in h.iter().enumerate() {
                hash[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
            }
            if U256::from_le_bytes(hash) <= *target {
                return Some(nonce);
            }
        }
        nonce = nonce.wrapping_add(1);
    }
    None
}

/// Mines `template` on `threads` threads until a block is found or `should_stop` returns true.
/// Thread `t` uses extra-nonces `t, t + threads, …`, so no two threads hash the same header.
/// `hashes` counts nonces tried (for hash-rate reports).
pub fn mine(template: &BlockTemplate, threads: usize, should_stop: &(dyn Fn() -> bool + Sync), hashes: &AtomicU64) -> Option<Block> {
    let threads = threads.max(1);
    let found: Mutex<Option<Block>> = Mutex::new(None);
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..threads {
            let (found, done) = (&found, &done);
            s.spawn(move || {
                let mut block = template.block.clone();
                let mut extra_nonce = t as u64;
                set_extra_nonce(&mut block, extra_nonce);
                let mut start: u64 = 0;
                while !done.load(Ordering::Relaxed) && !should_stop() {
                    if let Some(nonce) = scan_nonces(&block.header, &template.target, start as u32, NONCE_BATCH) {
                        block.header.nonce = nonce;
                        hashes.fetch_add(u64::from(nonce.wrapping_sub(start as u32)) + 1, Ordering::Relaxed);
                        if !done.swap(true, Ordering::SeqCst)
                            && let Ok(mut f) = found.lock()
                        {
                            *f = Some(block);
                        }
                        return;
                    }
                    hashes.fetch_add(u64::from(NONCE_BATCH), Ordering::Relaxed);
                    start += u64::from(NONCE_BATCH);
                    if start > u64::from(u32::MAX) {
                        // Nonce space exhausted: roll the extra-nonce.
                        start = 0;
                        extra_nonce += threads as u64;
                        set_extra_nonce(&mut block, extra_nonce);
                    }
                }
            });
        }
    });
    found.into_inner().ok().flatten()
}

/// Builds a template and mines it on the calling thread (for regtest, tests and demos).
pub fn generate_block(chain: &Chainstate, mempool: &Mempool, payout: &Lock, now: u64) -> Block {
    let template = create_template(chain, mempool, payout, now, b"cairn");
    let counter = AtomicU64::new(0);
    mine(&template, 1, &|| false, &counter).expect("mining without a stop condition always finds a block")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pow::check_proof_of_work;

    #[test]
    fn midstate_search_agrees_with_plain_hashing() {
        let mut header = Header {
            version: 1,
            prev_blockhash: crate::hash::BlockHash::ZERO,
            merkle_root: MerkleRoot::from_byte_array([7; 32]),
            time: 1234,
            bits: 0x2000ffff,
            nonce: 0,
        };
        let target = U256::from_compact(0x2000ffff).unwrap();
        let limit = U256::from_compact(0x207fffff).unwrap();
        let nonce = scan_nonces(&header, &target, 0, 1 << 20).expect("a 1-in-128 target is met within 2^20 nonces");
        header.nonce = nonce;
        assert!(check_proof_of_work(&header.block_hash(), header.bits, limit).is_ok());
        // Every nonce before it fails when hashed the plain way.
        for n in 0..nonce {
            header.nonce = n;
            assert!(check_proof_of_work(&header.block_hash(), header.bits, limit).is_err());
        }
    }

    #[test]
    fn mining_stops_when_asked() {
        let header = Header {
            version: 1,
            prev_blockhash: crate::hash::BlockHash::ZERO,
            merkle_root: MerkleRoot::ZERO,
            time: 0,
            bits: 0x03000001,
            nonce: 0,
        };
        let coinbase = Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint::NULL,
                signature: vec![0; 12],
                pubkey: vec![],
            }],
            outputs: vec![],
            lock_time: 0,
        };
        let template = BlockTemplate {
            block: Block {
                header,
                txdata: vec![coinbase],
            },
            height: 1,
            fees: Amount::ZERO,
            target: U256::ONE,
        };
        let counter = AtomicU64::new(0);
        let polls = AtomicU64::new(0);
        let stop = || polls.fetch_add(1, Ordering::Relaxed) >= 4;
        assert!(mine(&template, 2, &stop, &counter).is_none());
        assert!(counter.load(Ordering::Relaxed) >= u64::from(NONCE_BATCH));
    }
}
