//! What a place on the ring costs (the static puzzle of `cairn_p2p::identity`): key generations
//! per second on one core, then the wall time of `grind` (every core) at a few puzzle sizes —
//! the cost of a node's first start — and, from the rate, what an attacker pays to own a chosen
//! key on a ring of N nodes (about N / vnodes keys that meet the puzzle).
//!
//! `cargo bench -p cairn-p2p --bench puzzle` (`-- --bits 8,12,16` for other sizes, `--runs K`).

use std::time::Instant;

use cairn_p2p::identity::{Keypair, grind, meets_puzzle};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let bits: Vec<u8> = arg("--bits")
        .unwrap_or_else(|| "8,12,16".into())
        .split(',')
        .filter_map(|b| b.trim().parse().ok())
        .collect();
    let runs: usize = arg("--runs").and_then(|r| r.parse().ok()).unwrap_or(5);

    let tries = 20_000u32;
    let start = Instant::now();
    let mut met = 0u32;
    for _ in 0..tries {
        let key = Keypair::generate_ed25519();
        met += u32::from(meets_puzzle(&key.public().to_peer_id(), 1));
    }
    let rate = f64::from(tries) / start.elapsed().as_secs_f64();
    println!("one core: {rate:.0} key generations + puzzle checks per second ({met} of {tries} met 1 bit)");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("grind uses {cores} cores; {runs} runs per size, medians with min-max");
    println!();
    println!("bits | expected keys | grind wall time (s): median (min-max) | attacker, N = 1,024 ring, 1 vnode: core-hours");
    for b in bits {
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                let key = grind(b);
                assert!(meets_puzzle(&key.public().to_peer_id(), b));
                t.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let expected = 2f64.powi(i32::from(b));
        // Owning a chosen key means a place in the arc of ~1/N before it: ~N keys that meet the
        // puzzle, each 2^bits tries.
        let attacker_hours = 1024.0 * expected / rate / 3600.0;
        println!(
            "{b:>4} | {expected:>13.0} | {:>8.3} ({:.3}-{:.3}) | {attacker_hours:.2}",
            times[times.len() / 2],
            times[0],
            times[times.len() - 1]
        );
    }
}
