//! A peer that gossips an invalid block is banned, and the honest nodes keep converging.
//!
//! The misbehaving peer is Cairn's own libp2p layer driven by the test: it connects to an honest
//! node and publishes a block whose proof of work is valid but whose merkle root is not.

use std::time::{Duration, Instant};

use cairn_chain::encode::Encodable;
use cairn_chain::hash::MerkleRoot;
use cairn_chain::pow::check_proof_of_work;
use cairn_chain::{Block, BlockHash, Header, Network};
use cairn_p2p::{Limits, Multiaddr, NetworkConfig, Topic};
use serde_json::{Value, json};

use crate::common::{TestNode, wait_until};

fn invalid_block_on(parent: BlockHash) -> Block {
    let params = Network::Regtest.params();
    let coinbase = params.genesis_block().txdata[0].clone();
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32;
    let mut header = Header {
        version: 1,
        prev_blockhash: parent,
        merkle_root: MerkleRoot::from_byte_array([0xab; 32]),
        time,
        bits: params.pow_limit_bits,
        nonce: 0,
    };
    while check_proof_of_work(&header.block_hash(), header.bits, params.pow_limit).is_err() {
        header.nonce += 1;
    }
    Block {
        header,
        txdata: vec![coinbase],
    }
}

#[test]
fn a_peer_sending_an_invalid_block_is_banned() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = TestNode::start(da.path(), &[]);
    let a_addr = a.p2p_addr();
    let mut b = TestNode::start(db.path(), &["--peer", &a_addr]);
    assert!(wait_until(Duration::from_secs(30), || a.call::<usize>("getconnectioncount", &[]) == 1));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let tip: String = a.call("getbestblockhash", &[]);
    let bad = invalid_block_on(tip.parse().unwrap());
    let evil_id = runtime.block_on(async {
        let key = cairn_p2p::identity::Keypair::generate_ed25519();
        let (net, mut events, _task) = cairn_p2p::start(
            key,
            NetworkConfig {
                network: Network::Regtest,
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
                peers: vec![a_addr.parse::<Multiaddr>().unwrap()],
                limits: Limits::default(),
                target_outbound: 0,
                agent: "evil".into(),
                content: None,
                index: None,
            },
        )
        .unwrap();
        // Drain events so the loop never stalls.
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        let id = net.peer_id().to_string();
        // Publish until the honest node has subscribed us into its mesh and judged the block.
        let deadline = Instant::now() + Duration::from_secs(30);
        let bytes = bad.encode();
        let mut banned = false;
        while Instant::now() < deadline && !banned {
            net.publish(Topic::Blocks, bytes.clone());
            tokio::time::sleep(Duration::from_millis(500)).await;
            let list: Vec<Value> = tokio::task::block_in_place(|| a.call("listbanned", &[]));
            banned = list.iter().any(|e| e["address"] == json!(id));
        }
        assert!(banned, "the invalid block's sender was not banned; log:\n{}", a.log());
        id
    });
    let peers: Vec<Value> = a.call("getpeerinfo", &[]);
    assert!(peers.iter().all(|p| p["peerid"] != json!(evil_id)), "{peers:?}");
    assert_eq!(a.call::<u32>("getblockcount", &[]), 0, "the invalid block was not connected");

    // The honest pair keeps converging.
    let addr: String = a.call("getnewaddress", &[]);
    let mined: Vec<String> = a.call("generatetoaddress", &[json!(3), json!(addr)]);
    assert!(wait_until(Duration::from_secs(60), || b.call::<String>("getbestblockhash", &[]) == mined[2]));
    drop(runtime);
}
