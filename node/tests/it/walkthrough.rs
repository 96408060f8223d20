//! The acceptance walk: mine, send, confirm, kill -9, restart, and bad input.

use serde_json::{Value, json};

use crate::common::TestNode;

fn coins(raw: &str) -> u64 {
    cairn_chain::Amount::from_coin_str(raw.trim_start_matches('-')).unwrap().to_units()
}

#[test]
fn mine_send_confirm_crash_restart_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = TestNode::start(dir.path(), &[]);

    // 1. A fresh regtest node.
    assert_eq!(node.call::<u32>("getblockcount", &[]), 0);

    // 2. Mine 101 blocks: exactly one coinbase is mature.
    let a: String = node.call("getnewaddress", &[]);
    let hashes: Vec<String> = node.call("generatetoaddress", &[json!(101), json!(a)]);
    assert_eq!(hashes.len(), 101);
    assert_eq!(node.call::<u32>("getblockcount", &[]), 101);
    assert_eq!(node.raw("getbestblockhash", &[]), format!("\"{}\"", hashes[100]));
    assert_eq!(node.raw("getbalance", &[]), "50.00000000");

    // 3. Send 10 to a second address of ours; it waits in the mempool, then confirms.
    let b: String = node.call("getnewaddress", &[json!("bob")]);
    let txid: String = node.call("sendtoaddress", &[json!(b), json!(10)]);
    let pool: Vec<String> = node.call("getrawmempool", &[]);
    assert_eq!(pool, vec![txid.clone()]);
    let pending: Value = node.call("gettransaction", &[json!(txid)]);
    assert_eq!(pending["confirmations"], 0);
    let fee = coins(&pending["fee"].to_string());
    assert!(fee > 0 && fee < 100_000_000, "fee {fee}");
    let mined: Vec<String> = node.call("generatetoaddress", &[json!(1), json!(a)]);
    assert_eq!(mined.len(), 1);
    let confirmed: Value = node.call("gettransaction", &[json!(txid)]);
    assert_eq!(confirmed["confirmations"], 1);
    assert_eq!(confirmed["blockhash"], json!(mined[0]));
    assert!(node.call::<Vec<String>>("getrawmempool", &[]).is_empty());
    // The 10 went to ourselves, so the wallet lost only the fee; one more coinbase matured.
    let balance = coins(&node.raw("getbalance", &[]));
    assert_eq!(balance, 100 * 100_000_000 - fee);
    let unspent: Vec<Value> = node.call("listunspent", &[json!(1), json!(9_999_999), json!([b])]);
    assert_eq!(unspent.len(), 1);
    assert_eq!(unspent[0]["amount"].as_f64(), Some(10.0));
    let balances: Value = node.call("getbalances", &[]);
    // Immature: blocks 3..=102 of 102 (100 coinbases), the last one with the fee.
    assert_eq!(coins(&balances["mine"]["immature"].to_string()), 100 * 50 * 100_000_000 + fee);
    let utxo_before: Value = node.call("gettxoutsetinfo", &[]);
    assert_eq!(utxo_before["height"], 102);
    // 102 coinbases, one of them spent into a payment and its change (genesis is unspendable).
    assert_eq!(utxo_before["txouts"], 103);

    // 4. kill -9 and restart: same height, balance and UTXO digest.
    let height: u32 = node.call("getblockcount", &[]);
    let balance_text = node.raw("getbalance", &[]);
    node.kill9();
    let mut node = TestNode::start(dir.path(), &[]);
    assert_eq!(node.call::<u32>("getblockcount", &[]), height);
    assert_eq!(node.raw("getbalance", &[]), balance_text);
    let utxo_after: Value = node.call("gettxoutsetinfo", &[]);
    assert_eq!(utxo_after["hash_serialized_3"], utxo_before["hash_serialized_3"]);
    assert_eq!(utxo_after["total_amount"], utxo_before["total_amount"]);
    let again: Value = node.call("gettransaction", &[json!(txid)]);
    assert_eq!(again["confirmations"], 1);

    // 5. Bad input: clear errors with Core's codes, and the node keeps running.
    assert_eq!(node.call_err("sendtoaddress", &[json!("Rnotanaddress"), json!(1)]).0, -5);
    let valid: Value = node.call("validateaddress", &[json!(a)]);
    assert_eq!(valid["isvalid"], true);
    let mut typo = a.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let invalid: Value = node.call("validateaddress", &[json!(typo)]);
    assert_eq!(invalid["isvalid"], false);
    assert_eq!(node.call_err("sendtoaddress", &[json!(typo), json!(1)]).0, -5);
    let (code, message) = node.call_err("sendtoaddress", &[json!(b), json!(1_000_000)]);
    assert_eq!(code, -6, "{message}");
    assert!(message.contains("more needed"), "{message}");
    assert_eq!(node.call_err("nosuchmethod", &[]).0, -32601);
    let r = node.rpc.post(b"{\"method\": \"getblockcount\", ", &[]).unwrap();
    assert_eq!(r.status, 500);
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["error"]["code"], -32700);
    let mut wrong = cairn_rpc::RpcClient::new(node.rpc_addr.clone(), &cairn_rpc::Credentials::new("__cookie__", "wrong"));
    assert_eq!(wrong.post(b"{\"method\":\"getblockcount\"}", &[]).unwrap().status, 401);
    assert_eq!(node.call_err("getblockhash", &[json!(1000)]).0, -8);
    assert_eq!(node.call_err("getblock", &[json!("00".repeat(32))]).0, -5);
    assert_eq!(node.call_err("getblock", &[json!("xyz")]).0, -32602);
    assert_eq!(node.call_err("sendrawtransaction", &[json!("zz")]).0, -22);
    assert!(node.is_running());
    assert_eq!(node.call::<u32>("getblockcount", &[]), height);
}
