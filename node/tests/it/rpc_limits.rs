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

/// Every integer argument, given a number its type cannot hold (huge, negative, or with a
/// fraction): Core's -8 "out of range" (or -3 for a fraction), never a parse failure, a panic or
/// an allocation of that size; the node answers normally afterwards.
#[test]
fn every_integer_argument_out_of_its_range_is_a_minus_8() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = TestNode::start(dir.path(), &[]);
    let address: String = node.call("getnewaddress", &[]);
    let peer = cairn_p2p::identity::Keypair::generate_ed25519().public().to_peer_id().to_string();
    let txid = "00".repeat(32);
    let huge = json!(1e30);
    let beyond_u64 = json!(18446744073709551616.0_f64 * 4.0);
    let input = json!([{"txid": txid, "vout": 0}]);
    let outputs = json!({ address.clone(): 1 });
    // (method, parameters with `X` where the bad number goes)
    let calls: Vec<(&str, Vec<Value>)> = vec![
        ("getblockhash", vec![json!("X")]),
        ("gettxout", vec![json!(txid), json!("X")]),
        ("createrawtransaction", vec![input.clone(), outputs.clone(), json!("X")]),
        ("generatetoaddress", vec![json!("X"), json!(address)]),
        ("generatetoaddress", vec![json!(1), json!(address), json!("X")]),
        ("setgenerate", vec![json!(true), json!("X")]),
        ("getbalance", vec![json!("*"), json!("X")]),
        ("listunspent", vec![json!("X")]),
        ("listunspent", vec![json!(0), json!("X")]),
        (
            "sendtoaddress",
            vec![
                json!(address),
                json!(1),
                json!(""),
                json!(""),
                json!(false),
                json!(false),
                json!("X"),
            ],
        ),
        ("listtransactions", vec![json!("*"), json!("X")]),
        ("listtransactions", vec![json!("*"), json!(10), json!("X")]),
        ("setban", vec![json!(peer), json!("add"), json!("X")]),
        ("disconnectnode", vec![json!(""), json!("X")]),
    ];
    for (method, params) in &calls {
        for bad in [&huge, &beyond_u64, &json!(-1), &json!(-9.223372036854776e18)] {
            // setgenerate's -1 is in range (mine on every core).
            if *method == "setgenerate" && bad == &json!(-1) {
                continue;
            }
            let params: Vec<Value> = params.iter().map(|p| if p == "X" { bad.clone() } else { p.clone() }).collect();
            let (code, message) = node.call_err(method, &params);
            assert_eq!(code, -8, "{method} {params:?}: {message}");
        }
        let params: Vec<Value> = params.iter().map(|p| if p == "X" { json!(1.5) } else { p.clone() }).collect();
        let (code, message) = node.call_err(method, &params);
        assert_eq!(code, -3, "{method} {params:?}: {message}");
    }
    let (_, message) = node.call_err("listtransactions", &[json!("*"), json!(-1)]);
    assert_eq!(message, "Negative count");
    let (_, message) = node.call_err("listtransactions", &[json!("*"), json!(1), json!(-1)]);
    assert_eq!(message, "Negative from");
    // In range, the same methods work; a huge count is just "everything".
    let listed: Vec<Value> = node.call("listtransactions", &[json!("*"), json!(i64::MAX), json!(0)]);
    assert!(listed.is_empty());
    assert_eq!(
        node.call::<String>("getblockhash", &[json!(0.0)]).len(),
        64,
        "an integral float is an integer"
    );
    assert!(node.is_running());
}
