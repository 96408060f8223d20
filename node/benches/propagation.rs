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
use support::{BenchNode, arg, connected_times, cores, quantile};

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
