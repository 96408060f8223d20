//! Floods a node can take: a peer filling its mempool with the largest transactions there are.

use std::time::Duration;

use cairn_chain::{Network, PubkeyHash};
use cairn_wallet::Address;
use serde_json::{Value, json};

use crate::common::{TestNode, wait_until};

/// Outputs per transaction: 3,300 outputs of 29 bytes make ~96 kB, just under the 100 kB limit.
const OUTPUTS: usize = 3_300;
/// Transactions sent: ~6.7 MB, more than the 5 MB pool holds.
const TXS: usize = 70;

/// A peer relays 70 transactions of ~96 kB with 3,300 outputs each, fees rising one step per
/// transaction, into a node whose mempool holds 5 MB (`--maxmempool 5`, Core's smallest). The
/// node keeps at most 5 MB, keeps the best-paying ones, evicts or refuses the cheapest, raises the
/// fee a newcomer must pay (`mempoolminfee`), and does not punish the peer: paying fees is not
/// misbehaviour, the fee is the throttle (as in Core).
#[test]
fn a_mempool_flood_of_the_largest_transactions_is_bounded_and_priced() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut node = TestNode::start(da.path(), &["--maxmempool", "5"]);
    let a_addr = node.p2p_addr();
    let mut flooder = TestNode::start(db.path(), &["--peer", &a_addr]);
    let change: String = flooder.call("getnewaddress", &[]);
    let hashes: Vec<String> = flooder.call("generatetoaddress", &[json!(100 + TXS), json!(change)]);
    assert!(wait_until(Duration::from_secs(60), || node.call::<u64>("getblockcount", &[])
        == (100 + TXS) as u64));

    let outputs: Vec<Value> = (0..OUTPUTS)
        .map(|i| {
            let mut h = [0u8; 20];
            h[..8].copy_from_slice(&(i as u64).to_le_bytes());
            json!({ Address::new(Network::Regtest, PubkeyHash::from_byte_array(h)).to_string(): 0.001 })
        })
        .collect();
    let mut txids = Vec::new();
    for (i, hash) in hashes.iter().take(TXS).enumerate() {
        let block: Value = flooder.call("getblock", &[json!(hash)]);
        let coinbase = block["tx"][0].as_str().unwrap().to_string();
        // 50 in; 3.3 to the outputs; the fee rises by 0.001 per transaction; the rest back.
        let fee = 0.001 * (i + 1) as f64;
        let mut outs = outputs.clone();
        outs.push(json!({ change.clone(): format!("{:.8}", 50.0 - 0.001 * OUTPUTS as f64 - fee) }));
        let raw: String = flooder.call("createrawtransaction", &[json!([{"txid": coinbase, "vout": 0}]), json!(outs)]);
        let signed: Value = flooder.call("signrawtransactionwithwallet", &[json!(raw)]);
        assert_eq!(signed["complete"], true, "{signed}");
        let txid: String = flooder.call("sendrawtransaction", &[signed["hex"].clone()]);
        txids.push(txid);
    }
    let best = txids.last().unwrap().clone();
    assert!(
        wait_until(Duration::from_secs(60), || {
            node.call::<Vec<String>>("getrawmempool", &[]).contains(&best)
        }),
        "the best-paying transaction reached the node; log:\n{}",
        node.log()
    );
    let info: Value = node.call("getmempoolinfo", &[]);
    assert!(info["bytes"].as_u64().unwrap() <= 5_000_000, "{info}");
    assert_eq!(info["maxmempool"], 5_000_000, "{info}");
    let held: Vec<String> = node.call("getrawmempool", &[]);
    assert!(held.len() < TXS, "{} of {TXS} held", held.len());
    assert!(!held.contains(&txids[0]), "the cheapest was evicted or refused");
    let min_fee = info["mempoolminfee"].as_f64().unwrap();
    assert!(min_fee > 0.00001, "a full pool asks more than the relay minimum: {info}");
    // The flooder's own pool (300 MB) holds them all: nothing was lost on the way, the node chose.
    let theirs: Vec<String> = flooder.call("getrawmempool", &[]);
    assert_eq!(theirs.len(), TXS);
    let banned: Vec<Value> = node.call("listbanned", &[]);
    assert!(banned.is_empty(), "paying fees is not misbehaviour: {banned:?}");
    assert_eq!(node.call::<u32>("getconnectioncount", &[]), 1);
    assert!(node.is_running());
}
