//! The peer-to-peer acceptance scenarios: real `cairn node` processes on 127.0.0.1, connected by
//! `--peer` and `addnode`, each wait bounded.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{TestNode, mine, tempdirs, wait_until};

/// How long blocks and transactions get to cross a small local network.
const PROPAGATION: Duration = Duration::from_secs(60);

fn height(node: &mut TestNode) -> u32 {
    node.call("getblockcount", &[])
}

fn best(node: &mut TestNode) -> String {
    node.call("getbestblockhash", &[])
}

fn utxo_digest(node: &mut TestNode) -> Value {
    let info: Value = node.call("gettxoutsetinfo", &[]);
    info["hash_serialized_3"].clone()
}

fn mempool(node: &mut TestNode) -> Vec<String> {
    node.call("getrawmempool", &[])
}

/// Waits until every node has `target`'s best block.
fn converge(nodes: &mut [&mut TestNode], timeout: Duration) -> String {
    let tip = best(nodes[0]);
    for n in nodes.iter_mut() {
        let ok = wait_until(timeout, || best(n) == tip);
        assert!(ok, "node did not reach tip {tip} (height {}); log:\n{}", height(n), n.log());
    }
    tip
}

#[test]
fn blocks_and_transactions_cross_a_line_of_three() {
    let [da, db, dc] = tempdirs();
    let mut a = TestNode::start(da.path(), &[]);
    let a_addr = a.p2p_addr();
    let mut b = TestNode::start(db.path(), &["--peer", &a_addr]);
    let b_addr = b.p2p_addr();
    let mut c = TestNode::start(dc.path(), &["--peer", &b_addr]);
    assert!(wait_until(PROPAGATION, || c.call::<usize>("getconnectioncount", &[]) >= 1));

    // Blocks mined on A reach C through B.
    mine(&mut a, 101);
    converge(&mut [&mut a, &mut b, &mut c], PROPAGATION);
    assert_eq!(height(&mut c), 101);

    // Coins from A to C's address: mined on A, seen by C's wallet.
    let c_receive: String = c.call("getnewaddress", &[]);
    let paid: String = a.call("sendtoaddress", &[json!(c_receive), json!(10)]);
    let mined = mine(&mut a, 1);
    converge(&mut [&mut a, &mut b, &mut c], PROPAGATION);
    let tx: Value = c.call("gettransaction", &[json!(paid)]);
    assert_eq!(tx["blockhash"], json!(mined[0]));
    assert_eq!(c.raw("getbalance", &[]), "10.00000000");

    // A transaction from C's wallet reaches A's mempool by gossip, and A mines it.
    let a_receive: String = a.call("getnewaddress", &[]);
    let spent: String = c.call("sendtoaddress", &[json!(a_receive), json!(3)]);
    assert!(
        wait_until(PROPAGATION, || mempool(&mut a).contains(&spent)),
        "C's transaction did not reach A; C log:\n{}",
        c.log()
    );
    mine(&mut a, 1);
    converge(&mut [&mut a, &mut b, &mut c], PROPAGATION);
    let tx: Value = c.call("gettransaction", &[json!(spent)]);
    assert_eq!(tx["confirmations"], 1);

    // getpeerinfo on B shows both neighbours with traffic and heights (from the blocks they
    // relayed or, at the latest, the next status round).
    let mut peers: Vec<Value> = Vec::new();
    let heights_known = wait_until(Duration::from_secs(30), || {
        peers = b.call("getpeerinfo", &[]);
        peers.len() == 2 && peers.iter().all(|p| p["synced_headers"] == 103)
    });
    assert!(heights_known, "{peers:?}");
    for p in &peers {
        assert!(p["bytessent"].as_u64().unwrap() > 0 && p["bytesrecv"].as_u64().unwrap() > 0, "{p}");
        assert!(p["peerid"].as_str().unwrap().starts_with("12D3KooW"), "{p}");
    }
    assert_eq!(peers.iter().filter(|p| p["inbound"] == true).count(), 1);
    let info: Value = b.call("getnetworkinfo", &[]);
    assert_eq!(info["connections"], 2);
    assert!(info["listenaddrs"][0].as_str().unwrap().ends_with(info["peerid"].as_str().unwrap()));
}

#[test]
fn a_late_node_syncs_500_blocks() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = TestNode::start(da.path(), &[]);
    mine(&mut a, 500);
    let a_addr = a.p2p_addr();
    let mut b = TestNode::start(db.path(), &["--peer", &a_addr]);
    converge(&mut [&mut a, &mut b], Duration::from_secs(120));
    assert_eq!(height(&mut b), 500);
    assert_eq!(utxo_digest(&mut a), utxo_digest(&mut b));
}

#[test]
fn nodes_mining_apart_converge_on_the_most_work() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = TestNode::start(da.path(), &[]);
    let mut b = TestNode::start(db.path(), &[]);
    // Apart: A mines 5 blocks, B mines 8 (fixed regtest difficulty: more blocks, more work).
    mine(&mut a, 5);
    let b_blocks = mine(&mut b, 8);
    let a_balance_before: Value = a.call("getbalances", &[]);
    assert_eq!(a_balance_before["mine"]["immature"], json!(250.0));

    let b_addr = b.p2p_addr();
    a.call::<Value>("addnode", &[json!(b_addr), json!("onetry")]);
    let tip = converge(&mut [&mut b, &mut a], PROPAGATION);
    assert_eq!(tip, b_blocks[7]);
    assert_eq!(height(&mut a), 8);
    assert_eq!(utxo_digest(&mut a), utxo_digest(&mut b));

    // A's five coinbases are gone with its branch; B's eight are immature.
    let a_bal: Value = a.call("getbalances", &[]);
    let b_bal: Value = b.call("getbalances", &[]);
    assert_eq!(a_bal["mine"]["immature"], json!(0.0), "{a_bal}");
    assert_eq!(b_bal["mine"]["immature"], json!(400.0), "{b_bal}");
}

#[test]
fn addnode_follows_core_semantics() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = TestNode::start(da.path(), &[]);
    let mut b = TestNode::start(db.path(), &[]);
    let b_addr = b.p2p_addr();
    a.call::<Value>("addnode", &[json!(b_addr), json!("add")]);
    assert_eq!(a.call_err("addnode", &[json!(b_addr), json!("add")]).0, -23);
    assert!(wait_until(PROPAGATION, || b.call::<usize>("getconnectioncount", &[]) == 1));
    a.call::<Value>("addnode", &[json!(b_addr), json!("remove")]);
    assert_eq!(a.call_err("addnode", &[json!(b_addr), json!("remove")]).0, -24);
    assert_eq!(a.call_err("addnode", &[json!("not an address"), json!("add")]).0, -8);
    assert_eq!(a.call_err("addnode", &[json!(b_addr), json!("sometimes")]).0, -8);

    // An added peer that goes away is redialed when it comes back.
    let c_dir = tempfile::tempdir().unwrap();
    let mut c = TestNode::start(c_dir.path(), &["--listen", "/ip4/127.0.0.1/tcp/0"]);
    let c_addr = c.p2p_addr();
    let port = c_addr.split('/').nth(4).unwrap().to_string();
    a.call::<Value>("addnode", &[json!(c_addr), json!("add")]);
    assert!(wait_until(PROPAGATION, || c.call::<usize>("getconnectioncount", &[]) == 1));
    c.kill9();
    drop(c);
    let listen = format!("/ip4/127.0.0.1/tcp/{port}");
    let mut c = TestNode::start(c_dir.path(), &["--listen", &listen]);
    assert!(
        wait_until(PROPAGATION, || c.call::<usize>("getconnectioncount", &[]) == 1),
        "A did not redial; A log:\n{}",
        a.log()
    );
}

#[test]
fn added_nodes_by_host_and_port_network_activity_and_rpc_info_follow_core() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = TestNode::start(da.path(), &[]);
    let mut b = TestNode::start(db.path(), &["--listen", "/ip4/127.0.0.1/tcp/0"]);
    // Core's spelling: host:port.
    let b_addr = b.p2p_addr();
    let port = b_addr.split('/').nth(4).unwrap().to_string();
    let host_port = format!("127.0.0.1:{port}");
    a.call::<Value>("addnode", &[json!(host_port), json!("add")]);
    assert!(
        wait_until(PROPAGATION, || a.call::<usize>("getconnectioncount", &[]) == 1),
        "{}",
        a.log()
    );
    let added: Vec<Value> = a.call("getaddednodeinfo", &[]);
    assert_eq!(added.len(), 1, "{added:?}");
    assert_eq!(added[0]["addednode"], json!(format!("/ip4/127.0.0.1/tcp/{port}")));
    assert!(
        wait_until(
            PROPAGATION,
            || a.call::<Vec<Value>>("getaddednodeinfo", &[json!(host_port)])[0]["connected"] == json!(true)
        ),
        "{:?}",
        a.call::<Vec<Value>>("getaddednodeinfo", &[])
    );
    let one: Vec<Value> = a.call("getaddednodeinfo", &[json!(host_port)]);
    assert_eq!(one[0]["addresses"][0]["connected"], json!("outbound"), "{one:?}");
    assert_eq!(a.call_err("getaddednodeinfo", &[json!("127.0.0.1:1")]).0, -24);
    assert_eq!(a.call::<Value>("ping", &[]), Value::Null);

    // Network activity off: every peer gone, nobody let in; on: the added peer is back.
    assert!(!a.call::<bool>("setnetworkactive", &[json!(false)]));
    assert!(
        wait_until(PROPAGATION, || a.call::<usize>("getconnectioncount", &[]) == 0),
        "{}",
        a.log()
    );
    assert_eq!(a.call::<Value>("getnetworkinfo", &[])["networkactive"], json!(false));
    b.call::<Value>("addnode", &[json!(a.p2p_addr()), json!("onetry")]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        a.call::<usize>("getconnectioncount", &[]),
        0,
        "a peer got in while network activity was off"
    );
    assert!(a.call::<bool>("setnetworkactive", &[json!(true)]));
    assert!(
        wait_until(PROPAGATION, || a.call::<usize>("getconnectioncount", &[]) == 1),
        "{}",
        a.log()
    );
    assert_eq!(a.call::<Value>("getnetworkinfo", &[])["networkactive"], json!(true));

    // The server's own view: this very call is in progress.
    let info: Value = a.call("getrpcinfo", &[]);
    let active = info["active_commands"].as_array().unwrap();
    assert!(
        active.iter().any(|c| c["method"] == "getrpcinfo" && c["duration"].is_u64()),
        "{info}"
    );
}

#[test]
fn setban_clearbanned_and_disconnectnode() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = TestNode::start(da.path(), &[]);
    let mut b = TestNode::start(db.path(), &[]);
    let b_addr = b.p2p_addr();
    let b_id = b.peer_id();
    a.call::<Value>("addnode", &[json!(b_addr), json!("onetry")]);
    assert!(wait_until(PROPAGATION, || a.call::<usize>("getconnectioncount", &[]) == 1));

    // disconnectnode by getpeerinfo id; the peer may come back, it is not banned (B may redial
    // A at once, found by discovery: a new connection has a new id, as in Core).
    let peers: Vec<Value> = a.call("getpeerinfo", &[]);
    let old_id = peers[0]["id"].clone();
    a.call::<Value>("disconnectnode", &[json!(""), old_id.clone()]);
    assert!(wait_until(PROPAGATION, || {
        let peers: Vec<Value> = a.call("getpeerinfo", &[]);
        peers.iter().all(|p| p["id"] != old_id)
    }));
    assert_eq!(a.call_err("disconnectnode", &[json!(""), json!(999)]).0, -29);

    // setban disconnects and refuses the peer; Core's codes for the repeats.
    a.call::<Value>("addnode", &[json!(b_addr), json!("onetry")]);
    assert!(wait_until(PROPAGATION, || a.call::<usize>("getconnectioncount", &[]) == 1));
    a.call::<Value>("setban", &[json!(b_id), json!("add"), json!(600)]);
    assert!(wait_until(PROPAGATION, || a.call::<usize>("getconnectioncount", &[]) == 0));
    assert_eq!(a.call_err("setban", &[json!(b_id), json!("add")]).0, -23);
    let banned: Vec<Value> = a.call("listbanned", &[]);
    assert_eq!(banned.len(), 1);
    assert_eq!(banned[0]["address"], json!(b_id));
    assert_eq!(banned[0]["ban_duration"], 600);
    let a_addr = a.p2p_addr();
    b.call::<Value>("addnode", &[json!(a_addr), json!("onetry")]);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(a.call::<usize>("getconnectioncount", &[]), 0, "a banned peer got in");
    a.call::<Value>("setban", &[json!(b_id), json!("remove")]);
    assert_eq!(a.call_err("setban", &[json!(b_id), json!("remove")]).0, -30);
    assert_eq!(a.call_err("setban", &[json!("not-a-peer"), json!("add")]).0, -30);
    a.call::<Value>("clearbanned", &[]);
    b.call::<Value>("addnode", &[json!(a_addr), json!("onetry")]);
    assert!(wait_until(PROPAGATION, || a.call::<usize>("getconnectioncount", &[]) == 1));
}

/// `getnettotals` counts every byte exchanged since the start (more than any one peer's share,
/// and growing with a sync), in Core's shape; `getmemoryinfo` answers in Core's shape and
/// refuses modes it does not have with Core's errors.
#[test]
fn nettotals_count_the_traffic_and_memoryinfo_answers_as_core() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = TestNode::start(da.path(), &[]);
    let a_addr = a.p2p_addr();
    let mut b = TestNode::start(db.path(), &["--peer", &a_addr]);
    let totals = |n: &mut TestNode| -> (u64, u64, Value) {
        let t: Value = n.call("getnettotals", &[]);
        (t["totalbytessent"].as_u64().unwrap(), t["totalbytesrecv"].as_u64().unwrap(), t)
    };
    assert!(wait_until(Duration::from_secs(30), || {
        let peers: Vec<Value> = b.call("getpeerinfo", &[]);
        !peers.is_empty()
    }));
    let (sent0, recv0, shape) = totals(&mut b);
    let target = &shape["uploadtarget"];
    assert_eq!(target["timeframe"], 86400);
    assert_eq!(target["target"], 0);
    assert_eq!(target["target_reached"], false);
    assert!(shape["timemillis"].as_u64().unwrap() > 1_700_000_000_000);
    mine(&mut a, 30);
    converge(&mut [&mut a, &mut b], Duration::from_secs(60));
    let (sent1, recv1, _) = totals(&mut b);
    assert!(recv1 > recv0 + 30 * 80, "30 blocks came in: {recv0} -> {recv1}");
    assert!(sent1 >= sent0);
    let peers: Vec<Value> = b.call("getpeerinfo", &[]);
    let per_peer: u64 = peers.iter().map(|p| p["bytesrecv"].as_u64().unwrap()).sum();
    assert!(recv1 >= per_peer, "totals {recv1} cover the peers' {per_peer}");

    let info: Value = a.call("getmemoryinfo", &[]);
    for field in ["used", "free", "total", "locked", "chunks_used", "chunks_free"] {
        assert!(info["locked"][field].is_u64(), "{info}");
    }
    let same: Value = a.call("getmemoryinfo", &[json!("stats")]);
    assert_eq!(same, info);
    assert_eq!(
        a.call_err("getmemoryinfo", &[json!("mallocinfo")]),
        (-8, "mallocinfo mode not available".into())
    );
    assert_eq!(a.call_err("getmemoryinfo", &[json!("bogus")]), (-8, "unknown mode bogus".into()));
}

/// `getchaintips` over RPC, in Core's shape (the branches themselves: `chain` tests).
#[test]
fn getchaintips_reports_the_active_tip_in_cores_shape() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = TestNode::start(dir.path(), &[]);
    mine(&mut a, 5);
    let tips: Vec<Value> = a.call("getchaintips", &[]);
    assert_eq!(tips.len(), 1, "{tips:?}");
    assert_eq!(tips[0]["height"], 5);
    assert_eq!(tips[0]["branchlen"], 0);
    assert_eq!(tips[0]["status"], "active");
    assert_eq!(tips[0]["hash"], json!(best(&mut a)));
}
