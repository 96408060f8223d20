//! A peer that gossips an invalid block is banned, and the honest nodes keep converging.
//!
//! The misbehaving peer is the hostile-peer harness ([`crate::hostile::Hostile`]): it connects to
//! an honest node and publishes a block whose proof of work is valid but whose merkle root is not.

use std::time::Duration;

use cairn_chain::encode::Encodable;
use cairn_chain::hash::MerkleRoot;
use cairn_chain::pow::check_proof_of_work;
use cairn_chain::{Block, BlockHash, Header, Network};
use cairn_p2p::Topic;
use serde_json::{Value, json};

use crate::common::{TestNode, wait_until};
use crate::hostile::Hostile;

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

    let tip: String = a.call("getbestblockhash", &[]);
    let bad = invalid_block_on(tip.parse().unwrap());
    let evil = Hostile::start(&a_addr, |_| None);
    let evil_id = evil.peer_id();
    // Publish until the honest node has subscribed us into its mesh and judged the block.
    let bytes = bad.encode();
    assert!(
        wait_until(Duration::from_secs(30), || {
            evil.publish(Topic::Blocks, bytes.clone());
            let list: Vec<Value> = a.call("listbanned", &[]);
            list.iter().any(|e| e["address"] == json!(evil_id))
        }),
        "the invalid block's sender was not banned; log:\n{}",
        a.log()
    );
    let peers: Vec<Value> = a.call("getpeerinfo", &[]);
    assert!(peers.iter().all(|p| p["peerid"] != json!(evil_id)), "{peers:?}");
    assert_eq!(a.call::<u32>("getblockcount", &[]), 0, "the invalid block was not connected");

    // The honest pair keeps converging.
    let addr: String = a.call("getnewaddress", &[]);
    let mined: Vec<String> = a.call("generatetoaddress", &[json!(3), json!(addr)]);
    assert!(wait_until(Duration::from_secs(60), || b.call::<String>("getbestblockhash", &[]) == mined[2]));
}
