//! Mining speed: nonces per second per thread with the midstate search, next to the raw SHA-256
//! compression rate on the same machine (the target is at least 90% of half of it, since each
//! nonce costs two compressions).
//!
//! Run: `cargo bench -p cairn-chain --bench mining`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cairn_chain::block::Header;
use cairn_chain::hash::{BlockHash, MerkleRoot};
use cairn_chain::miner::{BlockTemplate, mine, scan_nonces};
use cairn_chain::pow::U256;
use cairn_chain::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sha2::block_api::compress256;

const BATCH: u32 = 1 << 16;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("mining");
    g.measurement_time(Duration::from_secs(6));
    g.throughput(Throughput::Elements(u64::from(BATCH)));
    g.bench_function("raw_sha256_compressions_1_thread", |b| {
        let block = [0x5au8; 64];
        b.iter(|| {
            let mut state = [
                0x6a09e667u32,
                0xbb67ae85,
                0x3c6ef372,
                0xa54ff53a,
                0x510e527f,
                0x9b05688c,
                0x1f83d9ab,
                0x5be0cd19,
            ];
            for _ in 0..BATCH {
                compress256(&mut state, &[block]);
                state[0] ^= 1;
            }
            black_box(state)
        })
    });
    let header = Header {
        version: 1,
        prev_blockhash: BlockHash::ZERO,
        merkle_root: MerkleRoot::from_byte_array([3; 32]),
        time: 1,
        bits: 0x1d00ffff,
        nonce: 0,
    };
    // A target no hash meets, so every nonce is tried.
    let target = U256::ZERO;
    let mut start = 0u32;
    g.bench_function("scan_nonces_1_thread", |b| {
        b.iter(|| {
            let r = scan_nonces(black_box(&header), &target, start, BATCH);
            start = start.wrapping_add(BATCH);
            r
        })
    });
    g.finish();

    // Whole-miner rate over all threads for a few seconds (printed, not a criterion sample).
    for threads in [1usize, 2] {
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
            target: U256::ZERO,
        };
        let counter = AtomicU64::new(0);
        let started = Instant::now();
        let stop = || started.elapsed() > Duration::from_secs(4);
        mine(&template, threads, &stop, &counter);
        let rate = counter.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
        println!(
            "mining/mine_{threads}_threads: {:.2} Mnonce/s total, {:.2} Mnonce/s per thread",
            rate / 1e6,
            rate / 1e6 / threads as f64
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
