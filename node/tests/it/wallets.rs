//! Wallets by name, as Core: `createwallet`/`loadwallet`/`unloadwallet`/`listwallets`/
//! `getwalletinfo`, calls routed by `/wallet/<name>`, Core's errors when the wallet cannot be
//! chosen, `load_on_startup` kept across a restart, and `cairn cli -rpcwallet`.

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

use cairn_rpc::{ClientError, RpcClient};
use serde_json::{Value, json};

use crate::common::{TestNode, cairn_bin};

fn ok<T: serde::de::DeserializeOwned>(c: &mut RpcClient, method: &str, params: &[Value]) -> T {
    c.call(method, params).unwrap_or_else(|e| panic!("{method} {params:?}: {e}"))
}

fn err(c: &mut RpcClient, method: &str, params: &[Value]) -> (i64, String) {
    match c.call::<Value>(method, params) {
        Err(ClientError::Rpc { code, message }) => (code, message),
        other => panic!("{method} {params:?}: expected an RPC error, got {other:?}"),
    }
}

/// Units (1e-8) of a JSON amount in coins.
fn units(v: &Value) -> u64 {
    (v.as_f64().unwrap() * 1e8).round() as u64
}

#[test]
fn wallets_are_created_loaded_unloaded_and_chosen_by_endpoint_as_core() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = TestNode::start(dir.path(), &[]);
    let wallets: Vec<String> = node.call("listwallets", &[]);
    assert_eq!(wallets, ["default"]);
    let info: Value = node.call("getwalletinfo", &[]);
    assert_eq!(info["walletname"], "default");
    assert_eq!(info["scanning"], false);
    assert_eq!(info["lastprocessedblock"]["height"], 0);
    assert!(info.get("unlocked_until").is_none(), "not encrypted: {info}");
    let mine: String = node.call("getnewaddress", &[]);
    let _: Vec<String> = node.call("generatetoaddress", &[json!(101), json!(mine)]);

    let created: Value = node.call("createwallet", &[json!("alice")]);
    assert_eq!(created, json!({"name": "alice"}));
    let wallets: Vec<String> = node.call("listwallets", &[]);
    assert_eq!(wallets, ["default", "alice"]);
    // Two wallets: a wallet call at `/` must name one; other calls are unaffected.
    let (code, message) = node.call_err("getbalance", &[]);
    assert_eq!(code, -19);
    assert!(
        message.starts_with("Multiple wallets are loaded. Please select which wallet"),
        "{message}"
    );
    let _: u32 = node.call("getblockcount", &[]);

    let mut alice = node.wallet("alice");
    let mut default = node.wallet("default");
    let info: Value = ok(&mut alice, "getwalletinfo", &[]);
    assert_eq!(info["walletname"], "alice");
    assert_eq!(info["lastprocessedblock"]["height"], 101);
    assert_eq!(info["txcount"], 0);
    let to_alice: String = ok(&mut alice, "getnewaddress", &[]);
    let first: String = ok(&mut default, "sendtoaddress", &[json!(to_alice), json!(2.0)]);
    // Alice follows the mempool from the moment she was loaded.
    let balances: Value = ok(&mut alice, "getbalances", &[]);
    assert_eq!(units(&balances["mine"]["untrusted_pending"]), 200_000_000);
    let _: Vec<String> = node.call("generatetoaddress", &[json!(1), json!(mine)]);
    let balance: Value = ok(&mut alice, "getbalance", &[]);
    assert_eq!(units(&balance), 200_000_000);
    let tx: Value = ok(&mut alice, "gettransaction", &[json!(first)]);
    assert_eq!(tx["confirmations"], 1);
    assert_eq!(err(&mut node.wallet("nosuch"), "getbalance", &[]).0, -18);

    // Unloaded, alice misses a payment; loading her again rescans from her birth.
    let unloaded: Value = ok(&mut alice, "unloadwallet", &[]);
    assert_eq!(unloaded, json!({}));
    assert_eq!(err(&mut alice, "getbalance", &[]).0, -18);
    let wallets: Vec<String> = node.call("listwallets", &[]);
    assert_eq!(wallets, ["default"]);
    let _: String = node.call("sendtoaddress", &[json!(to_alice), json!(1.0)]);
    let _: Vec<String> = node.call("generatetoaddress", &[json!(2), json!(mine)]);
    let loaded: Value = node.call("loadwallet", &[json!("alice")]);
    assert_eq!(loaded, json!({"name": "alice"}));
    let balance: Value = ok(&mut alice, "getbalance", &[]);
    assert_eq!(units(&balance), 300_000_000);
    let info: Value = ok(&mut alice, "getwalletinfo", &[]);
    assert_eq!(info["txcount"], 2);
    assert_eq!(info["lastprocessedblock"]["height"], 104);

    // Core's errors.
    assert_eq!(node.call_err("loadwallet", &[json!("alice")]).0, -35);
    assert_eq!(node.call_err("createwallet", &[json!("alice")]).0, -36);
    let (code, message) = node.call_err("loadwallet", &[json!("nosuch")]);
    assert_eq!(code, -18);
    assert!(message.contains("Path does not exist"), "{message}");
    for bad in ["../x", "", ".hidden", "a/b"] {
        assert_eq!(node.call_err("createwallet", &[json!(bad)]).0, -8, "{bad:?}");
    }
    assert_eq!(node.call_err("createwallet", &[json!("w"), json!(true)]).0, -4);
    assert_eq!(
        err(&mut alice, "unloadwallet", &[json!("default")]).0,
        -8,
        "endpoint and argument name different wallets"
    );
    let created: Value = node.call("createwallet", &[json!("e"), Value::Null, Value::Null, json!("")]);
    assert_eq!(
        created["warnings"][0],
        "Empty string given as passphrase, wallet will not be encrypted."
    );

    // load_on_startup: bob is added to the start list, default removed; alice and e stay out.
    let _: Value = node.call(
        "createwallet",
        &[
            json!("bob"),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            json!(true),
        ],
    );
    let _: Value = ok(&mut default, "unloadwallet", &[Value::Null, json!(false)]);
    let settings: Value = serde_json::from_slice(&std::fs::read(dir.path().join("regtest/settings.json")).unwrap()).unwrap();
    assert_eq!(settings["wallet"], json!(["bob"]));

    // cli -rpcwallet, and a path that is neither endpoint.
    let out = Command::new(cairn_bin())
        .args([
            "cli",
            "-regtest",
            &format!("-datadir={}", dir.path().display()),
            "-rpcwallet=alice",
            "getwalletinfo",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["walletname"], "alice");
    let mut http = std::net::TcpStream::connect(&node.rpc_addr).unwrap();
    http.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    http.write_all(b"POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        .unwrap();
    let mut reply = String::new();
    let _ = http.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");

    drop(node);
    let mut node = TestNode::start(dir.path(), &[]);
    let wallets: Vec<String> = node.call("listwallets", &[]);
    assert_eq!(wallets, ["bob"]);
    // One wallet loaded: calls at `/` reach it. None: Core's -18.
    let info: Value = node.call("getwalletinfo", &[]);
    assert_eq!(info["walletname"], "bob");
    let _: Value = node.call("unloadwallet", &[json!("bob")]);
    let (code, message) = node.call_err("unloadwallet", &[]);
    assert_eq!(code, -8, "neither an endpoint nor a name: {message}");
    let (code, message) = node.call_err("getbalance", &[]);
    assert_eq!(code, -18);
    assert!(message.starts_with("No wallet is loaded."), "{message}");
}

/// A wallet loaded while blocks arrive joins the event stream exactly where its rescan ended: it
/// neither misses nor counts twice a block, whatever the timing. Checked against the figure a
/// restart (a rescan of a still chain) gives.
#[test]
fn a_wallet_loaded_while_blocks_arrive_misses_none_and_counts_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = TestNode::start(dir.path(), &[]);
    let _: Value = node.call(
        "createwallet",
        &[
            json!("miner"),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            json!(true),
        ],
    );
    let mut miner = node.wallet("miner");
    let to: String = ok(&mut miner, "getnewaddress", &[]);
    let mut background = node.wallet("miner");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Below regtest's first halving (block 150): every block pays 50.
    let mining = {
        let (stop, to) = (stop.clone(), to.clone());
        std::thread::spawn(move || {
            let mut blocks = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && blocks < 140 {
                let _: Vec<String> = ok(&mut background, "generatetoaddress", &[json!(1), json!(to)]);
                blocks += 1;
            }
            blocks
        })
    };
    for _ in 0..6 {
        let _: Value = ok(&mut miner, "unloadwallet", &[]);
        std::thread::sleep(Duration::from_millis(30));
        let _: Value = node.call("loadwallet", &[json!("miner")]);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let blocks = mining.join().unwrap();
    assert!(blocks > 0);
    let live: Value = ok(&mut miner, "getbalances", &[]);
    let info: Value = ok(&mut miner, "getwalletinfo", &[]);
    assert_eq!(info["txcount"], blocks, "one coinbase per block mined to the wallet");
    drop(node);
    let node = TestNode::start(dir.path(), &[]);
    let rescanned: Value = ok(&mut node.wallet("miner"), "getbalances", &[]);
    assert_eq!(live["mine"], rescanned["mine"]);
    let total = units(&live["mine"]["trusted"]) + units(&live["mine"]["immature"]);
    assert_eq!(total, u64::from(blocks) * 50 * 100_000_000, "every block's 50 coins, once: {live}");
}

/// Encryption as Core's: a wallet created with a passphrase (or encrypted later) is locked; its
/// keys serve only between `walletpassphrase` and the timeout or `walletlock`; the passphrase
/// can be changed; the file holds no secret in the clear; and the passphrase never reaches the
/// log, even at trace level.
#[test]
fn encrypted_wallets_lock_unlock_and_relock_on_time_as_core() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = TestNode::start_logging(dir.path(), &[], "trace");
    let mine: String = node.call("getnewaddress", &[]);
    let _: Vec<String> = node.call("generatetoaddress", &[json!(101), json!(mine)]);
    let _: Value = node.call("createwallet", &[json!("vault"), Value::Null, Value::Null, json!("pass phrase 1")]);
    let mut vault = node.wallet("vault");
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let info: Value = ok(&mut vault, "getwalletinfo", &[]);
    assert_eq!(info["unlocked_until"], 0, "locked from the start: {info}");
    let (code, message) = err(&mut vault, "getnewaddress", &[]);
    assert_eq!(
        (code, message.as_str()),
        (-13, "Error: Please enter the wallet passphrase with walletpassphrase first.")
    );
    assert_eq!(err(&mut vault, "walletpassphrase", &[json!("pass phrase 2"), json!(60)]).0, -14);
    assert_eq!(err(&mut vault, "walletpassphrase", &[json!("pass phrase 1"), json!(-1)]).0, -8);
    let () = ok(&mut vault, "walletpassphrase", &[json!("pass phrase 1"), json!(60)]);
    let info: Value = ok(&mut vault, "getwalletinfo", &[]);
    let until = info["unlocked_until"].as_u64().unwrap();
    assert!(until >= now() + 55 && until <= now() + 61, "{info}");
    let to_vault: String = ok(&mut vault, "getnewaddress", &[]);
    let mut default = node.wallet("default");
    let _: String = ok(&mut default, "sendtoaddress", &[json!(to_vault), json!(3.0)]);
    let _: Vec<String> = node.call("generatetoaddress", &[json!(1), json!(mine)]);
    let _: String = ok(&mut vault, "sendtoaddress", &[json!(mine), json!(1.0)]);
    let () = ok(&mut vault, "walletlock", &[]);
    assert_eq!(err(&mut vault, "sendtoaddress", &[json!(mine), json!(0.5)]).0, -13);

    // A short unlock ends by itself.
    let () = ok(&mut vault, "walletpassphrase", &[json!("pass phrase 1"), json!(1)]);
    assert!(crate::common::wait_until(Duration::from_secs(10), || {
        let info: Value = ok(&mut vault, "getwalletinfo", &[]);
        info["unlocked_until"] == 0
    }));
    assert_eq!(err(&mut vault, "sendtoaddress", &[json!(mine), json!(0.5)]).0, -13);

    // A new passphrase; the old one no longer opens it.
    assert_eq!(
        err(&mut vault, "walletpassphrasechange", &[json!("nope"), json!("pass phrase 2")]).0,
        -14
    );
    let () = ok(
        &mut vault,
        "walletpassphrasechange",
        &[json!("pass phrase 1"), json!("pass phrase 2")],
    );
    assert_eq!(err(&mut vault, "walletpassphrase", &[json!("pass phrase 1"), json!(60)]).0, -14);
    let () = ok(&mut vault, "walletpassphrase", &[json!("pass phrase 2"), json!(60)]);
    let _: String = ok(&mut vault, "sendtoaddress", &[json!(mine), json!(0.5)]);

    // encryptwallet on a wallet with keys and coins; Core's wrong-state errors.
    assert_eq!(err(&mut default, "walletlock", &[]).0, -15);
    assert_eq!(err(&mut default, "walletpassphrase", &[json!("x"), json!(1)]).0, -15);
    assert_eq!(err(&mut default, "encryptwallet", &[json!("")]).0, -8);
    let said: String = ok(&mut default, "encryptwallet", &[json!("pass phrase 3")]);
    assert!(said.starts_with("wallet encrypted"), "{said}");
    assert_eq!(err(&mut default, "encryptwallet", &[json!("pass phrase 3")]).0, -15);
    assert_eq!(err(&mut default, "sendtoaddress", &[json!(to_vault), json!(1.0)]).0, -13);
    let () = ok(&mut default, "walletpassphrase", &[json!("pass phrase 3"), json!(60)]);
    let _: String = ok(&mut default, "sendtoaddress", &[json!(to_vault), json!(1.0)]);
    for name in ["default", "vault"] {
        let text = std::fs::read_to_string(dir.path().join("regtest/wallets").join(name).join("wallet.json")).unwrap();
        assert!(!text.contains("\"secret\""), "{name}: {text}");
        assert!(text.contains("\"sealed\""), "{name}");
    }
    // Unloaded and loaded again: locked.
    let _: Value = ok(&mut vault, "unloadwallet", &[]);
    let _: Value = node.call("loadwallet", &[json!("vault")]);
    let info: Value = ok(&mut vault, "getwalletinfo", &[]);
    assert_eq!(info["unlocked_until"], 0);
    let log = node.log();
    assert!(log.contains("TRACE"), "the node logged at trace level");
    for secret in ["pass phrase 1", "pass phrase 2", "pass phrase 3"] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}
