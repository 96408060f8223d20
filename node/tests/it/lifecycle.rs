//! Startup, shutdown and the `cairn cli` client.

use std::process::Command;

use serde_json::{Value, json};

use crate::common::{TestNode, cairn_bin};

#[test]
fn stop_and_signals_shut_down_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let cookie = dir.path().join("regtest").join(".cookie");
    let mut node = TestNode::start(dir.path(), &[]);
    assert!(cookie.exists());
    let mode = std::fs::metadata(&cookie).unwrap().permissions();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
    assert_eq!(node.call::<String>("stop", &[]), "Cairn server stopping");
    assert!(node.wait_exit().success());
    assert!(!cookie.exists(), "the cookie is removed on a clean exit");
    assert!(node.log().contains("shut down cleanly"));

    for signal in [libc::SIGINT, libc::SIGTERM] {
        let mut node = TestNode::start(dir.path(), &[]);
        assert!(node.signal_and_wait(signal).success());
        assert!(!cookie.exists());
    }
}

#[test]
fn continuous_mining_pays_the_wallet() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = TestNode::start(dir.path(), &["--mine-threads", "1"]);
    assert!(crate::common::wait_until(std::time::Duration::from_secs(60), || node
        .call::<u32>("getblockcount", &[])
        >= 3));
    let info: Value = node.call("getmininginfo", &[]);
    assert_eq!(info["chain"], "regtest");
    let balances: Value = node.call("getbalances", &[]);
    assert!(balances["mine"]["immature"].as_f64().unwrap() >= 100.0, "{balances}");
    assert!(node.log().contains("connected block"));
    assert!(node.signal_and_wait(libc::SIGTERM).success());
}

#[test]
fn setgenerate_turns_mining_on_and_off_at_run_time() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let mut node = TestNode::start(dir.path(), &[]);
    assert!(!node.call::<bool>("getgenerate", &[]));
    let (code, msg) = node.call_err("setgenerate", &[Value::Bool(true), Value::from(100_000)]);
    assert_eq!(code, -8, "{msg}");
    assert!(!node.call::<bool>("getgenerate", &[]), "a refused call changes nothing");

    let _: Value = node.call("setgenerate", &[Value::Bool(true), Value::from(1)]);
    assert!(node.call::<bool>("getgenerate", &[]));
    assert!(crate::common::wait_until(Duration::from_secs(60), || node
        .call::<u32>("getblockcount", &[])
        >= 3));
    let info: Value = node.call("getmininginfo", &[]);
    assert_eq!(info["generate"], true);
    assert_eq!(info["genproclimit"], 1);
    let balances: Value = node.call("getbalances", &[]);
    assert!(
        balances["mine"]["immature"].as_f64().unwrap() >= 150.0,
        "paid to this wallet: {balances}"
    );

    let _: Value = node.call("setgenerate", &[Value::Bool(false)]);
    assert!(!node.call::<bool>("getgenerate", &[]));
    // A search in progress stops at once; give a block being submitted time to land.
    std::thread::sleep(Duration::from_millis(500));
    let stopped_at = node.call::<u32>("getblockcount", &[]);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        node.call::<u32>("getblockcount", &[]),
        stopped_at,
        "no blocks after setgenerate false"
    );
    let info: Value = node.call("getmininginfo", &[]);
    assert_eq!(info["generate"], false);
    assert_eq!(info["hashespersec"], 0.0);
    assert!(node.signal_and_wait(libc::SIGTERM).success());
}

#[test]
fn cli_follows_bitcoin_cli_conventions() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = TestNode::start(dir.path(), &[]);
    let cli = |args: &[&str]| {
        let out = Command::new(cairn_bin())
            .args(["cli", "--network", "regtest", "--datadir"])
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (status, out, _) = cli(&["getblockcount"]);
    assert_eq!((status, out.as_str()), (Some(0), "0\n"));
    let (_, address, _) = cli(&["getnewaddress"]);
    let address = address.trim().to_string();
    assert!(address.starts_with('R'), "raw string printed without quotes: {address}");
    let (status, out, _) = cli(&["generatetoaddress", "101", &address]);
    assert_eq!(status, Some(0));
    let hashes: Vec<String> = serde_json::from_str(&out).unwrap();
    assert_eq!(hashes.len(), 101);
    assert!(out.starts_with("[\n  \""), "pretty-printed: {out}");
    let (_, out, _) = cli(&["getbalance"]);
    assert_eq!(out, "50.00000000\n");
    let (_, out, _) = cli(&["getblock", &hashes[0], "1"]);
    let block: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(block["height"], 1);
    // Exit status |code| (low 8 bits), as bitcoin-cli.
    let (status, _, err) = cli(&["getblockhash", "-1"]);
    assert_eq!(status, Some(8));
    assert!(err.contains("error code: -8"), "{err}");
    let (status, _, err) = cli(&["nosuchmethod"]);
    assert_eq!(status, Some(32601 & 0xff));
    assert!(err.contains("error code: -32601"), "{err}");
    // A string parameter stays a string (a label "2024"), a JSON one must be JSON.
    let (status, out, err) = cli(&["getnewaddress", "2024"]);
    assert_eq!(status, Some(0), "{err}");
    assert!(out.starts_with('R'), "{out}");
    let (status, _, err) = cli(&["getblockhash", "tip"]);
    assert_eq!(status, Some(1));
    assert!(err.contains("Error parsing JSON: tip"), "{err}");
    let (status, out, _) = cli(&["help", "getblock"]);
    assert_eq!(status, Some(0));
    assert!(out.starts_with("getblock \"blockhash\" ( verbosity )"), "{out}");
    let info: Value = node.call("getblockchaininfo", &[]);
    assert_eq!(info["blocks"], 101);
    assert_eq!(info["chain"], "regtest");
    let _: Value = node.call("getnetworkinfo", &[]);
    assert_eq!(node.call::<Vec<Value>>("getpeerinfo", &[]), Vec::<Value>::new());
    // addnode takes libp2p addresses and Core's host:port; anything else is a parameter error.
    assert_eq!(node.call_err("addnode", &[json!("127.0.0.1:port"), json!("add")]).0, -8);
}
