//! A `bitcoin.conf` brought from Core: sections, Core's keys (read, or warned about), `rpcauth`
//! credentials that keep no password in the file, `wallet=` loaded at start, and the refusals
//! (`#` inside a value, a non-loopback RPC address without `rpcallowip`) with clear messages.

use std::process::Command;

use cairn_rpc::{ClientError, Credentials, RpcClient};
use serde_json::{Value, json};

use crate::common::{TestNode, cairn_bin};

/// HMAC-SHA256 (RFC 2104), as Core's rpcauth.py computes it.
fn hmac_sha256(key: &[u8], message: &[u8]) -> String {
    use cairn_chain::hash::sha256;
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let mut inner: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    inner.extend_from_slice(message);
    let mut outer: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    outer.extend_from_slice(&sha256(&inner));
    hex::encode(sha256(&outer))
}

#[test]
fn a_core_config_file_works_with_rpcauth_sections_and_wallets() {
    let dir = tempfile::tempdir().unwrap();
    // First start: make the wallet the config will name.
    let mut node = TestNode::start(dir.path(), &[]);
    let _: Value = node.call("createwallet", &[json!("savings")]);
    drop(node);

    let salt = "3f1e0a7c9b2d4e6f8a1b2c3d4e5f6a7b";
    let conf = format!(
        "# from bitcoin.conf\nregtest=1\nserver=1\ntxindex=1\ndbcache=450\nwallet=savings\nrpcauth=carol:{salt}${}\n[regtest]\nmaxmempool=50\n[main]\nrpcport=8332\n",
        hmac_sha256(salt.as_bytes(), b"correct horse")
    );
    std::fs::write(dir.path().join("cairn.conf"), conf).unwrap();
    let mut node = TestNode::start(dir.path(), &[]);
    let wallets: Vec<String> = node.call("listwallets", &[]);
    assert_eq!(wallets, ["default", "savings"], "wallet= is loaded at start");
    let info: Value = node.call("getmempoolinfo", &[]);
    assert_eq!(info["maxmempool"], 50_000_000, "the [regtest] section applies");
    let log = node.log();
    assert!(
        log.contains("txindex is a Bitcoin Core setting Cairn does not use"),
        "warned, not fatal"
    );
    assert!(log.contains("section [main] is for a network Cairn does not have"));

    let mut carol = RpcClient::new(node.rpc_addr.clone(), &Credentials::new("carol", "correct horse"));
    assert_eq!(carol.call::<u32>("getblockcount", &[]).unwrap(), 0);
    let mut wrong = RpcClient::new(node.rpc_addr.clone(), &Credentials::new("carol", "correct hors"));
    assert!(matches!(wrong.call::<u32>("getblockcount", &[]), Err(ClientError::Unauthorized)));
    let mut eve = RpcClient::new(node.rpc_addr.clone(), &Credentials::new("eve", "correct horse"));
    assert!(eve.call::<u32>("getblockcount", &[]).is_err());
    drop(node);

    // Refusals: the node does not start, and says why.
    let refused = |conf: &str| {
        std::fs::write(dir.path().join("cairn.conf"), conf).unwrap();
        let out = Command::new(cairn_bin())
            .args(["node", "--listen", "/ip4/127.0.0.1/tcp/0", "--datadir"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = refused("rpcuser=u\nrpcpassword=secret#part\n");
    assert!(err.contains("line 2") && err.contains("'#' inside the value"), "{err}");
    let err = refused("rpcbind=0.0.0.0\n");
    assert!(err.contains("rpcallowip"), "{err}");
    let err = refused("rpcpasword=typo\n");
    assert!(err.contains("unknown key \"rpcpasword\""), "{err}");
}
