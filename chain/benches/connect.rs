//! Signature checks per second while connecting a block of 2,000 one-input transactions, next to
//! raw secp256k1 verification on one core.
//!
//! - `raw_verify_1_core`: 2,000 `secp256k1::ecdsa::verify` calls in a row on one thread, keys
//!   and signatures parsed beforehand.
//! - `raw_parse_and_verify_1_core`: the same, parsing the 33-byte key and the signature each time
//!   (what libsecp256k1's `bench_verify` measures).
//! - `raw_verify_all_cores`: the same 2,000 calls spread over rayon's threads (the machine's
//!   ceiling for any parallel verifier).
//! - `validate_block/parallel`: `validation::connect_block` on that block against the RocksDB UTXO
//!   set: batched coin reads, every input rule, and all signatures across rayon's threads.
//! - `validate_block/1_thread`: the same inside a one-thread pool.
//! - `validate_block/sigs_cached`: `validate_block/parallel` with every signature check answered
//!   by a warm signature cache (the block's transactions were verified in the mempool).
//! - `process_block`: the whole path (checks, validation, one RocksDB batch with the tip) on a
//!   fresh RocksDB checkpoint of the prepared chain each iteration.
//! - `process_block/after_mempool`: the same after the block's transactions entered the mempool
//!   (untimed), so the signature cache holds their checks.
//!
//! Run: `cargo bench -p cairn-chain --bench connect`. Throughput is in signature checks (elements).

mod support;

use std::time::{Duration, Instant};

use cairn_chain::validation::{SigCache, Signatures, connect_block};
use cairn_chain::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use secp256k1::{Message, PublicKey, ecdsa::Signature};
use support::{INPUTS, Setup, setup};

fn bench(c: &mut Criterion) {
    let s = setup();
    let params = s.h.chain.params();
    let height = s.h.chain.height() + 1;

    let raw = s.raw_checks();

    let mut g = c.benchmark_group("connect_2000_inputs");
    g.throughput(Throughput::Elements(INPUTS as u64));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("raw_verify_1_core", |b| {
        b.iter(|| {
            for (m, sig, pk) in &raw {
                secp256k1::ecdsa::verify(sig, *m, pk).unwrap();
            }
        })
    });
    // The machine's ceiling: the same raw verifications spread over rayon's threads.
    g.bench_function("raw_verify_all_cores", |b| {
        use rayon::prelude::*;
        b.iter(|| {
            raw.par_iter()
                .with_min_len(16)
                .for_each(|(m, sig, pk)| secp256k1::ecdsa::verify(sig, *m, pk).unwrap())
        })
    });
    // libsecp256k1's own bench_verify parses the key and signature on every iteration.
    let raw_bytes: Vec<(Message, Vec<u8>, Vec<u8>)> = s.block.txdata[1..]
        .iter()
        .zip(&raw)
        .map(|(tx, (m, _, _))| (*m, tx.inputs[0].signature.clone(), tx.inputs[0].pubkey.clone()))
        .collect();
    g.bench_function("raw_parse_and_verify_1_core", |b| {
        b.iter(|| {
            for (m, sig, pk) in &raw_bytes {
                let sig = Signature::from_compact(sig).unwrap();
                let pk = PublicKey::from_slice(pk).unwrap();
                secp256k1::ecdsa::verify(&sig, *m, &pk).unwrap();
            }
        })
    });
    let store = s.h.chain.store();
    g.bench_function("validate_block/parallel", |b| {
        b.iter(|| {
            connect_block(&s.block, height, params, Signatures::VerifyAll, |ops| store.get_coins(ops))
                .map_err(|_| "invalid")
                .unwrap()
        })
    });
    // The same block when its transactions were verified on the way into the mempool: every
    // signature check is answered by the signature cache.
    let cache = SigCache::default();
    connect_block(&s.block, height, params, Signatures::Cached(&cache), |ops| store.get_coins(ops))
        .map_err(|_| "invalid")
        .unwrap();
    g.bench_function("validate_block/sigs_cached", |b| {
        b.iter(|| {
            connect_block(&s.block, height, params, Signatures::Cached(&cache), |ops| store.get_coins(ops))
                .map_err(|_| "invalid")
                .unwrap()
        })
    });
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    g.bench_function("validate_block/1_thread", |b| {
        b.iter(|| {
            one.install(|| {
                connect_block(&s.block, height, params, Signatures::VerifyAll, |ops| store.get_coins(ops))
                    .map_err(|_| "invalid")
                    .unwrap()
            })
        })
    });

    // The full path, each iteration on a fresh hard-linked checkpoint of the prepared database.
    let src = s.h.dir.path().to_path_buf();
    let Setup { h, block } = s;
    let now = h.now;
    drop(h.chain);
    g.sample_size(10);
    g.bench_function("process_block", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let copy = dir.path().join("db");
                copy_dir(&src, &copy);
                let mut chain = Chainstate::open(&copy, Network::Regtest, StoreOptions::default()).unwrap();
                let start = Instant::now();
                let r = chain.process_block(block.clone(), now).unwrap();
                total += start.elapsed();
                assert_eq!(r.update.connected().count(), 1);
            }
            total
        })
    });
    // The same, after the block's transactions entered the mempool (not timed): what a node
    // that relayed them does when their block arrives.
    g.bench_function("process_block/after_mempool", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let copy = dir.path().join("db");
                copy_dir(&src, &copy);
                let mut chain = Chainstate::open(&copy, Network::Regtest, StoreOptions::default()).unwrap();
                let mut pool = Mempool::new(300_000_000);
                for tx in &block.txdata[1..] {
                    pool.accept(tx.clone(), &chain, now).unwrap();
                }
                let start = Instant::now();
                let r = chain.process_block(block.clone(), now).unwrap();
                total += start.elapsed();
                assert_eq!(r.update.connected().count(), 1);
                assert!(chain.sig_cache().hits() >= INPUTS as u64);
            }
            total
        })
    });
    g.finish();
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
