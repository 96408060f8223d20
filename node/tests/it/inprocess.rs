//! Nodes run in the test's own process through the library (`cairn_node::launch`), as the
//! binary runs one: two independent regtest nodes on one runtime, driven over RPC, stopped
//! through their handles.

use std::time::{Duration, Instant};

use cairn_node::config::NodeArgs;
use cairn_rpc::{ClientError, Credentials, RpcClient};
use clap::Parser;
use serde_json::json;

fn args(datadir: &std::path::Path) -> NodeArgs {
    NodeArgs::try_parse_from([
        "node",
        "--network",
        "regtest",
        "--rpc-bind",
        "127.0.0.1:0",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--datadir",
        datadir.to_str().unwrap(),
    ])
    .unwrap()
}

/// An RPC client for the node in `datadir`, once it has left its warmup.
fn client(datadir: &std::path::Path, addr: std::net::SocketAddr) -> RpcClient {
    let cookie = Credentials::read_cookie(&datadir.join("regtest").join(".cookie")).unwrap();
    let mut rpc = RpcClient::new(addr.to_string(), &cookie).with_timeout(Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match rpc.call::<u32>("getblockcount", &[]) {
            Ok(_) => return rpc,
            Err(ClientError::Rpc { code: -28, .. }) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("node did not come up: {e}"),
        }
    }
}

#[test]
fn two_nodes_in_one_process_run_and_stop_through_their_handles() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let a = runtime.block_on(cairn_node::launch(args(da.path()).resolve().unwrap())).unwrap();
    let b = runtime.block_on(cairn_node::launch(args(db.path()).resolve().unwrap())).unwrap();
    let (mut ra, mut rb) = (client(da.path(), a.rpc_addr()), client(db.path(), b.rpc_addr()));
    let addr: String = ra.call("getnewaddress", &[]).unwrap();
    let mined: Vec<String> = ra.call("generatetoaddress", &[json!(5), json!(addr)]).unwrap();
    assert_eq!(mined.len(), 5);
    assert_eq!(ra.call::<u32>("getblockcount", &[]).unwrap(), 5);
    assert_eq!(rb.call::<u32>("getblockcount", &[]).unwrap(), 0, "the other node is independent");
    a.stop();
    runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(60), a.wait()).await })
        .unwrap()
        .unwrap();
    assert!(ra.call::<u32>("getblockcount", &[]).is_err(), "a is down");
    assert_eq!(rb.call::<u32>("getblockcount", &[]).unwrap(), 0, "b still runs");
    b.stop();
    runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(60), b.wait()).await })
        .unwrap()
        .unwrap();
    // A busy RPC port is an error from launch itself, not a hang.
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut busy = args(da.path());
    busy.rpc_bind = Some(holder.local_addr().unwrap().to_string());
    let err = runtime.block_on(cairn_node::launch(busy.resolve().unwrap())).unwrap_err();
    assert!(format!("{err:#}").contains("binding the RPC server"), "{err:#}");
}

/// Whoever has seen a block (as `generatetoaddress`'s result or in `getblockcount`) finds it in
/// the wallet on the next call: the chain service hands its events to the wallet before it
/// answers or publishes the tip (Core's wallet RPCs wait for the same). Each block here matures
/// one more coinbase, so the balance tells exactly which blocks the wallet had seen.
#[test]
fn the_wallet_has_seen_every_block_the_caller_has_seen() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let node = runtime.block_on(cairn_node::launch(args(dir.path()).resolve().unwrap())).unwrap();
    let mut rpc = client(dir.path(), node.rpc_addr());
    let addr: String = rpc.call("getnewaddress", &[]).unwrap();
    let _: Vec<String> = rpc.call("generatetoaddress", &[json!(100), json!(addr)]).unwrap();
    for height in 101..=160u64 {
        let _: Vec<String> = rpc.call("generatetoaddress", &[json!(1), json!(addr)]).unwrap();
        let balance: f64 = rpc.call("getbalance", &[]).unwrap();
        assert_eq!(balance, 50.0 * (height - 100) as f64, "after block {height}");
        assert_eq!(rpc.call::<u64>("getblockcount", &[]).unwrap(), height);
        let unspent: Vec<serde_json::Value> = rpc.call("listunspent", &[]).unwrap();
        assert_eq!(unspent.len() as u64, height - 100, "after block {height}");
    }
    node.stop();
    runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(60), node.wait()).await })
        .unwrap()
        .unwrap();
}
