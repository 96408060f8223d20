//! RPC arguments at the edges of their types: each is refused with Core's -8 or served within
//! bounded memory, and the node (its network included) stays up.

use serde_json::{Value, json};

use crate::common::TestNode;

#[test]
fn a_ban_longer_than_any_clock_is_refused_and_the_network_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = TestNode::start(dir.path(), &[]);
    let peer = cairn_p2p::identity::Keypair::generate_ed25519().public().to_peer_id().to_string();
    let (code, message) = node.call_err("setban", &[json!(peer), json!("add"), json!(u64::MAX)]);
    assert_eq!(code, -8, "{message}");
    assert!(message.contains("bantime out of range"), "{message}");
    let (code, _) = node.call_err("setban", &[json!(peer), json!("add"), json!(u64::MAX), json!(true)]);
    assert_eq!(code, -8);
    // The network layer still answers, and an ordinary long ban still works.
    let _: Value = node.call("setban", &[json!(peer), json!("add"), json!(10 * 365 * 24 * 3600)]);
    let banned: Vec<Value> = node.call("listbanned", &[]);
    assert_eq!(banned.len(), 1);
    assert_eq!(banned[0]["address"], json!(peer));
    let _: Value = node.call("getnetworkinfo", &[]);
}

#[test]
fn generating_u32_max_blocks_reserves_nothing_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = TestNode::start(dir.path(), &[]);
    let address: String = node.call("getnewaddress", &[]);
    // maxtries 3 ends it after at most 3 blocks; before the fix the call reserved 128 GiB for
    // the hashes and the process aborted.
    let hashes: Vec<String> = node.call("generatetoaddress", &[json!(u32::MAX), json!(address), json!(3)]);
    assert!(hashes.len() <= 3, "{hashes:?}");
    let height: usize = node.call("getblockcount", &[]);
    assert_eq!(height, hashes.len());
    assert!(node.is_running());
}
