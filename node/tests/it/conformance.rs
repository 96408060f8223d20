//! Conformance with Bitcoin Core's documented RPC results: `scripts/conformance.sh` calls every method of
//! Core's table (`scripts/conformance/core_rpc.json`) that the node offers, through python-bitcoinrpc's
//! `AuthServiceProxy` with Core's parameters, and checks field names and JSON types against the table.
//! A second node is connected first so that `getpeerinfo` has an entry to check.

use std::time::Duration;

use crate::common::{TestNode, cookie_url, run_script, wait_until};

#[test]
fn every_offered_core_method_returns_cores_documented_fields() {
    let (dir, peer_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut peer = TestNode::start(peer_dir.path(), &[]);
    let peer_addr = peer.p2p_addr();
    let mut node = TestNode::start(dir.path(), &["--peer", &peer_addr]);
    assert!(
        wait_until(Duration::from_secs(60), || node.call::<usize>("getconnectioncount", &[]) >= 1),
        "no peer connected; log:\n{}",
        node.log()
    );
    let url = cookie_url(dir.path(), &node);
    // Creating the venv downloads two small packages the first time; the checks take seconds.
    let (status, stdout, stderr) = run_script("conformance.sh", &[&url], Duration::from_secs(300));
    assert!(
        status.success(),
        "conformance failed:\n{stdout}\n{stderr}\nnode log:\n{}",
        node.log()
    );
    assert!(stdout.contains("conformance ok:"), "{stdout}");
    println!("{stdout}");
}
