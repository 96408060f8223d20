//! Only standard libp2p protocols on the wire: a js-libp2p 3.x node configured with Cairn's
//! protocol and topic names connects to a Cairn node, subscribes, queries Kademlia through it
//! (finding a second Cairn node), and receives a block by gossip.
//!
//! The js node runs from `scripts/js-interop.sh`, which installs its npm packages on first use.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{TestNode, wait_until};

#[test]
fn a_js_libp2p_node_joins_subscribes_and_queries_kademlia() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = TestNode::start(da.path(), &[]);
    let a_addr = a.p2p_addr();
    let mut b = TestNode::start(db.path(), &["--peer", &a_addr]);
    let b_id = b.peer_id();
    // B is connected and identified (so it is in A's Kademlia table).
    assert!(wait_until(Duration::from_secs(30), || {
        let peers: Vec<Value> = a.call("getpeerinfo", &[]);
        peers.len() == 1 && peers[0]["subver"] != ""
    }));

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/js-interop.sh");
    let mut child = Command::new("bash")
        .arg(script)
        .args([&a_addr, "regtest"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run scripts/js-interop.sh");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                let _ = tx.send(v);
            }
        }
    });
    let a_log = a.datadir.join("node.log");
    let next = |what: &str, timeout: Duration| -> Value {
        let v = rx.recv_timeout(timeout).unwrap_or_else(|_| {
            panic!(
                "js node: no '{what}' event in time; cairn log:\n{}",
                std::fs::read_to_string(&a_log).unwrap_or_default()
            )
        });
        assert_ne!(v["event"], "error", "js node failed: {v}");
        assert_eq!(v["event"], what, "{v}");
        v
    };
    // npm ci may run first.
    let connected = next("connected", Duration::from_secs(300));
    next("subscribed", Duration::from_secs(30));
    let kad = next("kad", Duration::from_secs(60));
    let a_id = a.peer_id();
    assert!(kad["responses"].as_array().unwrap().contains(&json!(a_id)), "{kad}");
    assert!(
        kad["found"].as_array().unwrap().contains(&json!(b_id)),
        "Kademlia did not find the second node: {kad}"
    );

    // The js peer is a peer like any other.
    let peers: Vec<Value> = a.call("getpeerinfo", &[]);
    let js = peers.iter().find(|p| p["peerid"] == connected["peer"]).expect("js peer listed");
    assert!(js["subver"].as_str().unwrap().contains("js-libp2p"), "{js}");

    let addr: String = a.call("getnewaddress", &[]);
    a.call::<Value>("generatetoaddress", &[json!(1), json!(addr)]);
    let block = next("block", Duration::from_secs(60));
    assert!(block["bytes"].as_u64().unwrap() > 80);
    let _ = child.wait();
}
