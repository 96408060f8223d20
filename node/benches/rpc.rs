//! RPC benchmark: throughput of `getblockcount` over 32 concurrent keep-alive connections, and
//! latency percentiles at a fixed 1,000 requests/s (open loop: latency counts from the moment a
//! request was due, so a stall is not hidden by the sender waiting).
//!
//! Run: `cargo bench -p cairn-node --bench rpc` (options: `-- --seconds 10 --connections 32
//! --rate 1000`). It starts a release `cairn node` on regtest with a temp datadir; load generator
//! and node share the machine, so on 2 cores the figure is a floor for the server alone.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cairn_rpc::{Credentials, RpcClient};
use support::{BenchNode, arg, cores};

const BODY: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"getblockcount","params":[]}"#;

fn throughput(addr: &str, creds: &Credentials, connections: usize, seconds: u64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            let (stop, done, addr, creds) = (stop.clone(), done.clone(), addr.to_string(), creds.clone());
            std::thread::spawn(move || {
                let mut c = RpcClient::new(addr, &creds);
                while !stop.load(Ordering::Relaxed) {
                    let r = c.post(BODY, &[]).expect("request");
                    assert_eq!(r.status, 200);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Warm up, then measure.
    std::thread::sleep(Duration::from_secs(1));
    let start_count = done.load(Ordering::Relaxed);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let count = done.load(Ordering::Relaxed) - start_count;
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    count as f64 / elapsed
}

fn latency(addr: &str, creds: &Credentials, rate: u64, seconds: u64) -> Vec<Duration> {
    // Each sender owns one connection and every `senders`-th slot of the schedule.
    let senders = 16u64;
    let interval = Duration::from_secs_f64(senders as f64 / rate as f64);
    let start = Instant::now() + Duration::from_millis(200);
    let per_sender = rate * seconds / senders;
    let threads: Vec<_> = (0..senders)
        .map(|i| {
            let (addr, creds) = (addr.to_string(), creds.clone());
            std::thread::spawn(move || {
                let mut c = RpcClient::new(addr, &creds);
                let offset = Duration::from_secs_f64(i as f64 / rate as f64);
                let mut samples = Vec::with_capacity(per_sender as usize);
                for k in 0..per_sender {
                    let due = start + offset + interval * k as u32;
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                    let r = c.post(BODY, &[]).expect("request");
                    assert_eq!(r.status, 200);
                    samples.push(due.elapsed());
                }
                samples
            })
        })
        .collect();
    let mut all: Vec<Duration> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    all.sort();
    all
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        println!("rpc: benchmark");
        return;
    }
    let seconds = arg("--seconds", 10);
    let connections = arg("--connections", 32) as usize;
    let rate = arg("--rate", 1000);
    let dir = tempfile::tempdir().expect("temp dir");
    let node = BenchNode::start(dir.path(), &[], "warn");
    let (addr, creds) = (node.addr.clone(), node.creds.clone());
    println!("machine: {} cores; node and load generator share them", cores());
    let rps = throughput(&addr, &creds, connections, seconds);
    println!("throughput: getblockcount, {connections} keep-alive connections, {seconds} s: {rps:.0} requests/s");
    let samples = latency(&addr, &creds, rate, seconds);
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "latency at {rate} requests/s over {seconds} s ({} requests): p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        samples.len(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        samples[samples.len() - 1]
    );
}
