//! Startup, shutdown and the `cairn cli` client.

use std::process::Command;
use std::time::{Duration, Instant};

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
    // -named, with bitcoin-cli's single-dash spellings.
    let genesis: String = node.call("getblockhash", &[json!(0)]);
    let (status, out, err) = cli(&["-named", "getblockhash", "height=0"]);
    assert_eq!((status, out.trim()), (Some(0), genesis.as_str()), "{err}");
    let (status, out, _) = cli(&["-named", "getblock", &genesis, "verbosity=0"]);
    assert_eq!(status, Some(0));
    assert!(out.trim().chars().all(|c| c.is_ascii_hexdigit()), "{out}");
    let (status, _, err) = cli(&["-named", "getblockhash", "heigth=0"]);
    assert_eq!(status, Some(8), "unknown named parameter: {err}");
    // -regtest -datadir= -rpcconnect= -rpcport= -rpccookiefile=, as bitcoin-cli takes them.
    let port = node.rpc_addr.rsplit_once(':').unwrap().1.to_string();
    let cookie = dir.path().join("regtest").join(".cookie");
    let out = Command::new(cairn_bin())
        .arg("cli")
        .arg("-regtest")
        .arg(format!("-datadir={}", dir.path().display()))
        .args(["-rpcconnect=127.0.0.1", &format!("-rpcport={port}")])
        .arg(format!("-rpccookiefile={}", cookie.display()))
        .arg("getblockcount")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "101",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // -stdin: arguments from standard input, one per line.
    let mut child = Command::new(cairn_bin())
        .args(["cli", "--network", "regtest", "--datadir"])
        .arg(dir.path())
        .args(["-stdin", "getblockhash"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"0\n").unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), genesis);
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

/// `-rpcwait`: the cli keeps trying while nothing listens, and calls once the server is up (a
/// stand-in HTTP server here, so the test controls when it appears).
#[test]
fn cli_rpcwait_retries_until_the_server_answers() {
    use std::io::{BufRead, BufReader, Read, Write};
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(cairn_bin())
        .arg("cli")
        .arg(format!("-datadir={}", dir.path().display()))
        .args(["-regtest", "-rpcwait", "-rpcwaittimeout=60", "-rpcuser=u", "-rpcpassword=p"])
        .arg(format!("-rpcconnect=127.0.0.1:{port}"))
        .arg("getblockcount")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "the cli gave up instead of waiting");
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = BufReader::new(stream);
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    assert!(String::from_utf8_lossy(&body).contains("getblockcount"));
    let reply = r#"{"jsonrpc":"2.0","result":7,"id":1}"#;
    write!(
        reader.get_mut(),
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
        reply.len()
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the cli did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "7");
}

/// bitcoin-cli's dashboards: `-getinfo` (one wallet, several, or the one `-rpcwallet` names) and
/// `-netinfo` with its per-peer level.
#[test]
fn cli_getinfo_and_netinfo_dashboards_show_chain_wallets_and_peers() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = TestNode::start(da.path(), &[]);
    let addr = a.p2p_addr();
    let mut b = TestNode::start(db.path(), &["--peer", &addr]);
    let mine: String = b.call("getnewaddress", &[]);
    let _: Vec<String> = b.call("generatetoaddress", &[serde_json::json!(101), serde_json::json!(mine)]);
    let cli = |args: &[&str]| {
        let out = Command::new(cairn_bin())
            .args(["cli", "-regtest", &format!("-datadir={}", db.path().display())])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let info = cli(&["-getinfo"]);
    for line in [
        "Chain: regtest",
        "Blocks: 101",
        "Headers: 101",
        "Verification progress: 100.0000%",
        "Wallet: \"default\"",
        "Balance: 50.00000000",
        "Warnings: (none)",
    ] {
        assert!(info.contains(line), "{line} missing from:\n{info}");
    }
    assert!(crate::common::wait_until(std::time::Duration::from_secs(20), || {
        cli(&["-getinfo"]).contains("Network: in 0, out 1, total 1")
    }));
    let _: Value = b.call("createwallet", &[serde_json::json!("spare")]);
    let info = cli(&["-getinfo"]);
    assert!(info.contains("Balances\n50.00000000 default\n0.00000000 spare\n"), "{info}");
    let info = cli(&["-rpcwallet=spare", "-getinfo"]);
    assert!(info.contains("Wallet: \"spare\"") && info.contains("Balance: 0.00000000"), "{info}");

    let net = cli(&["-netinfo"]);
    assert!(net.contains("regtest") && net.contains("ipv4    ipv6   total   block"), "{net}");
    assert!(net.contains("out        1       0       1"), "{net}");
    let net = cli(&["-netinfo", "1"]);
    assert!(
        net.lines()
            .any(|l| l.starts_with("out ") && l.contains("ipv4") && l.contains("/ip4/127.0.0.1")),
        "{net}"
    );
    let _ = &mut a;
}

/// Logs as Core's: NETDIR/debug.log beside the console (`-printtoconsole=0` silences the
/// console), `-debug=CATEGORY` at start and the `logging` RPC at run time, `getrpcinfo`'s
/// `logpath`.
#[test]
fn debug_log_categories_and_the_logging_rpc_follow_core() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = TestNode::start_logging(dir.path(), &["-debug=mempool", "-printtoconsole=0"], "info");
    let debug_log = dir.path().join("regtest/debug.log");
    let info: Value = node.call("getrpcinfo", &[]);
    assert_eq!(info["logpath"], json!(debug_log.display().to_string()));
    let states: Value = node.call("logging", &[]);
    assert_eq!((states["mempool"].clone(), states["net"].clone()), (json!(true), json!(false)));
    let mine: String = node.call("getnewaddress", &[]);
    let _: Vec<String> = node.call("generatetoaddress", &[json!(101), json!(mine)]);
    let _: String = node.call("sendtoaddress", &[json!(mine), json!(1)]);
    let text = std::fs::read_to_string(&debug_log).unwrap();
    assert!(text.contains("connected block"), "info lines in debug.log");
    assert!(text.contains("DEBUG cairn_chain::mempool"), "mempool's debug lines: -debug=mempool");
    assert!(!text.contains('\u{1b}'), "no colour codes in a file");
    assert!(!node.log().contains("connected block"), "-printtoconsole=0: nothing on the console");

    let states: Value = node.call("logging", &[json!(["net", "walletdb"]), json!(["mempool"])]);
    assert_eq!(
        (states["net"].clone(), states["walletdb"].clone(), states["mempool"].clone()),
        (json!(true), json!(true), json!(false))
    );
    let states: Value = node.call("logging", &[json!([]), json!(["all"])]);
    assert!(states.as_object().unwrap().values().all(|v| v == false));
    assert_eq!(node.call_err("logging", &[json!(["nosuch"])]).0, -8);
}
