//! Block propagation: how long a block mined on one node takes to be connected by every node of
//! a 10-node local network.
//!
//! Ten release nodes on 127.0.0.1; node `i` is started with `--peer` to nodes `i-1` and `i/2`
//! (a connected graph with a few cycles; Kademlia adds more links). Node 0 mines one block at a
//! time with `generatetoaddress`; the next block is mined once every node has the last one. The
//! delays come from the nodes' own logs: each logs `connected block` with a microsecond timestamp
//! from the same machine clock, so delay = (time node i connected it) - (time node 0 did).
//! Reported: p50/p95 of the time until the last node had each block, and of the per-node delays.
//!
//! Run: `cargo bench --workspace --bench propagation` (options: `-- --nodes 10 --blocks 50`).
//! All nodes share the machine's cores, so the figures include scheduling contention.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{BenchNode, arg, cores, quantile};

/// Seconds since midnight UTC of a log line's RFC 3339 timestamp (`2026-11-22T15:10:27.123456Z`).
fn log_time(line: &str) -> Option<f64> {
    let ts = line.split_whitespace().next()?;
    let time = ts.split('T').nth(1)?.trim_end_matches('Z');
    let mut parts = time.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// When each block hash was connected, from a node's log.
fn connected_times(log: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in log.lines().filter(|l| l.contains("connected block") && !l.contains("disconnected")) {
        let Some(hash) = line.split_whitespace().find_map(|w| w.strip_prefix("hash=")) else {
            continue;
        };
        if let Some(t) = log_time(line) {
            out.entry(hash.to_string()).or_insert(t);
        }
    }
    out
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("propagation: benchmark");
        return;
    }
    let n = arg("--nodes", 10) as usize;
    let blocks = arg("--blocks", 50) as usize;
    let root = tempfile::tempdir().expect("temp dir");
    let mut nodes: Vec<BenchNode> = Vec::new();
    let mut addrs: Vec<String> = Vec::new();
    for i in 0..n {
        let mut extra: Vec<String> = Vec::new();
        if i > 0 {
            extra.extend(["--peer".into(), addrs[i - 1].clone()]);
            if i / 2 != i - 1 {
                extra.extend(["--peer".into(), addrs[i / 2].clone()]);
            }
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let mut node = BenchNode::start(&root.path().join(format!("n{i}")), &extra, "info");
        addrs.push(node.p2p_addr());
        nodes.push(node);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while nodes.iter_mut().any(|node| node.call::<usize>("getconnectioncount", &[]) == 0) {
        assert!(Instant::now() < deadline, "network did not connect");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let gossipsub form its meshes (a few heartbeats).
    std::thread::sleep(Duration::from_secs(3));
    let links: usize = nodes.iter_mut().map(|node| node.call::<usize>("getconnectioncount", &[])).sum();
    println!("machine: {} cores shared by {n} nodes; {} links", cores(), links / 2);

    let payout: String = nodes[0].call("getnewaddress", &[]);
    let mut mined = Vec::new();
    for _ in 0..blocks + 2 {
        let hashes: Vec<String> = nodes[0].call("generatetoaddress", &[json!(1), json!(payout)]);
        let hash = hashes[0].clone();
        let deadline = Instant::now() + Duration::from_secs(30);
        for node in nodes.iter_mut() {
            while node.call::<String>("getbestblockhash", &[]) != hash {
                assert!(Instant::now() < deadline, "block {hash} did not reach every node:\n{}", node.log());
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        mined.push(hash);
    }
    // The first two blocks warm up connections; measure the rest.
    let measured = &mined[2..];
    let times: Vec<HashMap<String, f64>> = nodes.iter().map(|node| connected_times(&node.log())).collect();
    let mut last_node = Vec::new();
    let mut per_node = Vec::new();
    for hash in measured {
        let origin = times[0][hash];
        let delays: Vec<f64> = times[1..].iter().map(|t| (t[hash] - origin) * 1000.0).collect();
        per_node.extend(delays.iter().copied());
        last_node.push(delays.iter().copied().fold(0.0, f64::max));
    }
    last_node.sort_by(f64::total_cmp);
    per_node.sort_by(f64::total_cmp);
    println!(
        "block propagation to all {} other nodes over {} blocks: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        n - 1,
        measured.len(),
        quantile(&last_node, 0.50),
        quantile(&last_node, 0.95),
        last_node[last_node.len() - 1]
    );
    println!(
        "per-node delay ({} samples): p50 {:.1} ms, p95 {:.1} ms",
        per_node.len(),
        quantile(&per_node, 0.50),
        quantile(&per_node, 0.95)
    );
    let info: Value = nodes[n - 1].call("getpeerinfo", &[]);
    println!("last node's peers: {}", info.as_array().map_or(0, Vec::len));
}
