//! Conformance with Bitcoin Core's documented RPC results: `scripts/conformance.sh` calls every method of
//! Core's table (`scripts/conformance/core_rpc.json`) that the node offers, through python-bitcoinrpc's
//! `AuthServiceProxy` with Core's parameters, and checks field names and JSON types against the table.
//! A second node is connected first so that `getpeerinfo` has an entry to check.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{TestNode, wait_until};

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
    let cookie = std::fs::read_to_string(dir.path().join("regtest").join(".cookie")).unwrap();
    let url = format!("http://{}@{}", cookie.trim(), node.rpc_addr);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/conformance.sh");
    let mut child = Command::new("bash")
        .arg(script)
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run scripts/conformance.sh");
    // Creating the venv downloads two small packages the first time; the checks take seconds.
    let deadline = Instant::now() + Duration::from_secs(300);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("conformance script timed out; node log:\n{}", node.log());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "conformance failed:\n{stdout}\n{stderr}\nnode log:\n{}",
        node.log()
    );
    assert!(stdout.contains("conformance ok:"), "{stdout}");
    println!("{stdout}");
}
