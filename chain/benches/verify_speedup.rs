//! The signature-check speed-up as one robust ratio: on a shared virtual machine, run-to-run
//! drift is larger than the effect, so this bench interleaves the three measurements 30 times in
//! one process and reports medians:
//!
//! - raw: 2,000 `secp256k1::ecdsa::verify` calls on one thread (keys and signatures parsed);
//! - raw with parsing: the same, parsing the 33-byte key and the signature each time (what
//!   libsecp256k1's own `bench_verify` measures);
//! - ceiling: the same calls spread over rayon's threads (what any parallel verifier can reach here);
//! - connect: `validation::connect_block` on the 2,000-input block (coin reads, input rules, key
//!   parsing and hashing, signature hashes and verification, overlapped across threads).
//!
//! Run: `cargo bench -p cairn-chain --bench verify_speedup`.

mod support;

use std::time::{Duration, Instant};

use cairn_chain::validation::{Signatures, connect_block};
use rayon::prelude::*;
use support::{INPUTS, setup};

const ROUNDS: usize = 30;

fn median_ms(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` asks harness-less benches for their names.
    }
    let s = setup();
    let raw = s.raw_checks();
    let params = s.h.chain.params();
    let height = s.h.chain.height() + 1;
    let store = s.h.chain.store();
    let bytes: Vec<(secp256k1::Message, Vec<u8>, Vec<u8>)> = s.block.txdata[1..]
        .iter()
        .zip(&raw)
        .map(|(tx, (m, _, _))| (*m, tx.inputs[0].signature.clone(), tx.inputs[0].pubkey.clone()))
        .collect();
    let (mut single, mut parsed, mut all, mut connect) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let t = Instant::now();
        for (m, sig, pk) in &raw {
            secp256k1::ecdsa::verify(sig, *m, pk).unwrap();
        }
        single.push(t.elapsed());
        let t = Instant::now();
        for (m, sig, pk) in &bytes {
            let sig = secp256k1::ecdsa::Signature::from_compact(sig).unwrap();
            let pk = secp256k1::PublicKey::from_slice(pk).unwrap();
            secp256k1::ecdsa::verify(&sig, *m, &pk).unwrap();
        }
        parsed.push(t.elapsed());
        let t = Instant::now();
        raw.par_iter()
            .with_min_len(16)
            .for_each(|(m, sig, pk)| secp256k1::ecdsa::verify(sig, *m, pk).unwrap());
        all.push(t.elapsed());
        let t = Instant::now();
        connect_block(&s.block, height, params, Signatures::VerifyAll, |ops| store.get_coins(ops))
            .map_err(|_| "invalid block")
            .unwrap();
        connect.push(t.elapsed());
    }
    let (single, parsed, all, connect) = (median_ms(single), median_ms(parsed), median_ms(all), median_ms(connect));
    let rate = |ms: f64| INPUTS as f64 / ms; // checks per millisecond = thousands per second
    println!("threads: {}", rayon::current_num_threads());
    println!("raw verify, 1 core:        {single:7.1} ms  {:6.1} k checks/s", rate(single));
    println!("raw parse+verify, 1 core:  {parsed:7.1} ms  {:6.1} k checks/s", rate(parsed));
    println!(
        "raw verify, all cores:     {all:7.1} ms  {:6.1} k checks/s  (ceiling {:.2}x)",
        rate(all),
        single / all
    );
    println!(
        "connect_block, 2000 inputs: {connect:6.1} ms  {:6.1} k checks/s  ({:.2}x raw 1-core, {:.2}x raw parse+verify)",
        rate(connect),
        single / connect,
        parsed / connect
    );
}
