//! A real terminal dashboard that people run against Bitcoin Core, unchanged, against a node with
//! traffic: btcmonitor 0.9.0 from PyPI, drawn in a pseudo-terminal and read back as text
//! (`scripts/dashboard.sh` makes the venv; `scripts/dashboard_capture.py` runs and captures it).
//! The screen must show the chain, the mempool, the peers and the recent blocks as the node
//! reports them. The last screen is also copied to `target/dashboard-screen.txt` to look at.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{TestNode, mine, wait_until};

/// How long blocks, transactions and connections get to cross between the two local nodes.
const PROPAGATION: Duration = Duration::from_secs(60);
/// The first run installs btcmonitor and its dependencies into a venv.
const DASHBOARD_DEADLINE: Duration = Duration::from_secs(300);
/// How long the dashboard runs before the snapshot: its mempool panels refresh every 5 s.
const DASHBOARD_SECONDS: &str = "10";

fn mempool_size(node: &mut TestNode) -> usize {
    node.call::<Vec<String>>("getrawmempool", &[]).len()
}

fn send(node: &mut TestNode, amount: f64) -> String {
    let to: String = node.call("getnewaddress", &[]);
    node.call("sendtoaddress", &[json!(to), json!(amount)])
}

/// Reads a child's pipe to the end on a thread, so a chatty child never blocks on a full pipe.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for `child` until `deadline`, killing it then; its exit success, stdout and stderr.
fn finish(mut child: Child, deadline: Duration) -> (Option<bool>, String, String) {
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());
    let end = Instant::now() + deadline;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s.success());
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (status, out.join().unwrap(), err.join().unwrap())
}

/// The cells of the screen's rows that start with `first` once trimmed, split into words:
/// panels sit side by side, so a row is cut at the panels' vertical borders first.
fn cells_starting_with<'a>(screen: &'a str, first: &str) -> Vec<Vec<&'a str>> {
    screen
        .lines()
        .flat_map(|line| line.split('│'))
        .map(str::split_whitespace)
        .map(Iterator::collect::<Vec<_>>)
        .filter(|words| words.first() == Some(&first))
        .collect()
}

#[test]
fn btcmonitor_shows_the_chain_mempool_peers_and_recent_blocks() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = TestNode::start(da.path(), &[]);
    let a_addr = a.p2p_addr();
    let mut b = TestNode::start(db.path(), &[]);
    b.call::<Value>("addnode", &[json!(a_addr), json!("add")]);
    let connected = wait_until(PROPAGATION, || {
        a.call::<usize>("getconnectioncount", &[]) == 1 && b.call::<usize>("getconnectioncount", &[]) == 1
    });
    assert!(connected, "B did not connect to A; A log:\n{}\nB log:\n{}", a.log(), b.log());

    // Coins to spend, then a block with three payments in it, then two payments left waiting.
    mine(&mut a, 101);
    for amount in [1.0, 2.0, 3.0] {
        send(&mut a, amount);
    }
    assert_eq!(mempool_size(&mut a), 3);
    let tip = mine(&mut a, 1).remove(0);
    let block: Value = a.call("getblock", &[json!(tip), json!(1)]);
    assert_eq!(block["nTx"], 4, "coinbase and three payments: {block}");
    let stats: Value = a.call("getblockstats", &[json!(102), json!(["totalfee"])]);
    let fees_btc = format!("{:.4}", stats["totalfee"].as_u64().unwrap() as f64 / 1e8);
    let waiting = [send(&mut a, 0.5), send(&mut a, 0.25)];
    assert_eq!(mempool_size(&mut a), 2);
    let synced = wait_until(PROPAGATION, || b.call::<String>("getbestblockhash", &[]) == tip);
    assert!(synced, "B did not reach A's tip {tip}; B log:\n{}", b.log());
    let info: Value = a.call("getblockchaininfo", &[]);
    assert_eq!(
        info["initialblockdownload"], false,
        "the dashboard would show its sync view: {info}"
    );

    let port = a.rpc_addr.rsplit(':').next().unwrap().to_string();
    let out = da.path().join("dashboard-screen.txt");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/dashboard.sh");
    let child = Command::new("bash")
        .arg(script)
        .arg("--datadir")
        .arg(da.path())
        .args(["--rpc-port", &port, "--seconds", DASHBOARD_SECONDS, "--out"])
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run scripts/dashboard.sh");
    let (status, stdout, stderr) = finish(child, DASHBOARD_DEADLINE);
    let screen = std::fs::read_to_string(&out).unwrap_or_default();
    let for_people = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/dashboard-screen.txt");
    if !screen.is_empty() {
        std::fs::write(for_people, &screen).expect("copy the screen to target/dashboard-screen.txt");
    }
    let node_log = a.log();
    let context = format!("screen:\n{screen}\nstderr:\n{stderr}\nnode A log:\n{node_log}");
    assert_ne!(
        status, None,
        "dashboard.sh ran over {DASHBOARD_DEADLINE:?}; stdout:\n{stdout}\n{context}"
    );
    assert_eq!(status, Some(true), "dashboard.sh failed; stdout:\n{stdout}\n{context}");
    assert!(!screen.trim().is_empty(), "no screen captured; stdout:\n{stdout}\n{context}");

    for absent in [
        "Unexpected error",
        "Connecting...",
        "Initial Block Download",
        "Unauthorized",
        "HTTP ",
    ] {
        assert!(!screen.contains(absent), "the dashboard shows {absent:?}\n{context}");
    }
    // The node panel ("Bitcoin Core"): chain, height, headers, peers, mempool.
    for row in ["Chain regtest", "Height 102", "Headers 102", "Verify 100.00%", "Mempool 2 txs /"] {
        assert!(screen.contains(row), "no {row:?} on the screen\n{context}");
    }
    // B connected to A, so A has one inbound peer.
    assert!(screen.contains("Peers 1 (1 in/0 out)"), "not one inbound peer\n{context}");
    // The mempool panel counts getrawmempool's entries; the block template holds the same two.
    assert!(screen.contains("Total: 2 txs |"), "mempool panel does not count 2 txs\n{context}");
    assert!(
        screen.contains("Transactions: 2 |"),
        "next block template does not hold 2 txs\n{context}"
    );
    // The largest transactions list shows the waiting payments by txid (first...last four).
    for txid in &waiting {
        let short = format!("{}...{}", &txid[..4], &txid[txid.len() - 4..]);
        assert!(screen.contains(&short), "waiting transaction {short} not listed\n{context}");
    }
    // Recent blocks: height, age, tx count, size ("0.00 MB"), fees in BTC, miner.
    assert!(screen.contains("Recent Blocks"), "no Recent Blocks panel\n{context}");
    let tip_rows = cells_starting_with(&screen, "102");
    assert_eq!(tip_rows.len(), 1, "one Recent Blocks row for the tip 102: {tip_rows:?}\n{context}");
    let tip_row = &tip_rows[0];
    assert!(tip_row.len() >= 6, "short Recent Blocks row {tip_row:?}\n{context}");
    assert_eq!(tip_row[2], "4", "the tip's tx count in {tip_row:?}\n{context}");
    assert_eq!(tip_row[5], fees_btc, "the tip's fees (BTC) in {tip_row:?}\n{context}");
    let below = cells_starting_with(&screen, "101");
    assert!(
        below.iter().any(|row| row.get(2) == Some(&"1")),
        "no Recent Blocks row for 101 with its coinbase only: {below:?}\n{context}"
    );
}
