//! Issue 19's methods for Core's monitoring tools, end to end: what a dashboard or exporter
//! reads of blocks, the chain and the mempool, in Core's shapes and with Core's errors.

use serde_json::{Value, json};

use crate::common::{TestNode, mine};

/// Units (1e-8) of a JSON amount in coins.
fn units(v: &Value) -> u64 {
    (v.as_f64().unwrap() * 1e8).round() as u64
}

#[test]
fn mempool_packages_block_stats_and_chain_tx_counts_answer_as_core() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = TestNode::start(dir.path(), &[]);
    mine(&mut a, 101);
    let to: String = a.call("getnewaddress", &[]);
    let parent: String = a.call("sendtoaddress", &[json!(to), json!(1.5)]);
    // A child spending the parent's 1.5 output while both are in the pool.
    let unspent: Vec<Value> = a.call("listunspent", &[json!(0)]);
    // An empty address list filters nothing (Core); an address twice is an error.
    let unfiltered: Vec<Value> = a.call("listunspent", &[json!(0), json!(9_999_999), json!([])]);
    assert_eq!(unfiltered.len(), unspent.len());
    assert_eq!(a.call_err("listunspent", &[json!(0), json!(9_999_999), json!([to, to])]).0, -8);
    let out = unspent
        .iter()
        .find(|u| u["txid"] == json!(parent) && units(&u["amount"]) == 150_000_000)
        .unwrap_or_else(|| panic!("no 1.5 output of the parent in {unspent:?}"));
    let raw: String = a.call(
        "createrawtransaction",
        &[json!([{"txid": parent, "vout": out["vout"]}]), json!([{ to.clone(): 1.4999 }])],
    );
    let signed: Value = a.call("signrawtransactionwithwallet", &[json!(raw)]);
    let child: String = a.call("sendrawtransaction", &[signed["hex"].clone()]);

    let p: Value = a.call("getmempoolentry", &[json!(parent)]);
    let c: Value = a.call("getmempoolentry", &[json!(child)]);
    for field in [
        "vsize",
        "weight",
        "time",
        "height",
        "descendantcount",
        "descendantsize",
        "ancestorcount",
        "ancestorsize",
        "wtxid",
        "fees",
        "depends",
        "spentby",
        "bip125-replaceable",
        "unbroadcast",
    ] {
        assert!(c.get(field).is_some(), "{field} missing from {c}");
    }
    assert_eq!(c["weight"], json!(c["vsize"].as_u64().unwrap() * 4));
    assert_eq!(c["wtxid"], json!(child));
    assert_eq!(units(&c["fees"]["base"]), 10_000, "{c}");
    assert_eq!((c["ancestorcount"].clone(), c["depends"].clone()), (json!(2), json!([parent])));
    assert_eq!((p["descendantcount"].clone(), p["spentby"].clone()), (json!(2), json!([child])));
    assert_eq!(units(&c["fees"]["ancestor"]), units(&p["fees"]["base"]) + 10_000);
    assert_eq!(units(&p["fees"]["descendant"]), units(&c["fees"]["ancestor"]));
    assert_eq!(
        c["ancestorsize"].as_u64(),
        Some(c["vsize"].as_u64().unwrap() + p["vsize"].as_u64().unwrap())
    );
    let anc: Vec<String> = a.call("getmempoolancestors", &[json!(child)]);
    let desc: Value = a.call("getmempooldescendants", &[json!(parent), json!(true)]);
    assert_eq!(anc, vec![parent.clone()]);
    assert_eq!(desc[&child], c);
    let verbose: Value = a.call("getrawmempool", &[json!(true)]);
    assert_eq!((verbose[&parent].clone(), verbose[&child].clone()), (p.clone(), c.clone()));
    let seq: Value = a.call("getrawmempool", &[json!(false), json!(true)]);
    assert_eq!(seq["txids"].as_array().map(Vec::len), Some(2), "{seq}");
    assert!(seq["mempool_sequence"].as_u64().unwrap() >= 2, "{seq}");
    assert_eq!(a.call_err("getrawmempool", &[json!(true), json!(true)]).0, -8);
    assert_eq!(
        a.call_err("getmempoolentry", &[json!("00".repeat(32))]),
        (-5, "Transaction not in mempool".to_string())
    );

    // Mined: the block's statistics.
    let fees = units(&p["fees"]["base"]) + 10_000;
    let hash = mine(&mut a, 1).remove(0);
    let st: Value = a.call("getblockstats", &[json!(102)]);
    assert_eq!(st["blockhash"], json!(hash));
    assert_eq!((st["txs"].clone(), st["height"].clone()), (json!(3), json!(102)));
    assert_eq!(st["totalfee"].as_u64(), Some(fees));
    assert_eq!(st["minfee"].as_u64(), Some(10_000.min(fees - 10_000)));
    assert_eq!(st["feerate_percentiles"].as_array().map(Vec::len), Some(5));
    assert_eq!(st.as_object().unwrap().len(), 31, "{st}");
    let some: Value = a.call("getblockstats", &[json!(hash), json!(["txs", "totalfee"])]);
    assert_eq!(some, json!({"txs": 3, "totalfee": fees}));
    assert_eq!(
        a.call_err("getblockstats", &[json!(102), json!(["fees"])]),
        (-8, "Invalid selected statistic 'fees'".into())
    );
    assert_eq!(a.call_err("getblockstats", &[json!(103)]).0, -8);
    assert_eq!(a.call_err("getblockstats", &[json!(-1)]).0, -8);
    assert_eq!(a.call_err("getblockstats", &[json!("11".repeat(32))]).0, -5);

    // The chain's transactions: genesis and 101 blocks of one, then 3.
    let cts: Value = a.call("getchaintxstats", &[]);
    assert_eq!(cts["txcount"], json!(105), "{cts}");
    assert_eq!(
        (cts["window_final_block_height"].clone(), cts["window_block_count"].clone()),
        (json!(102), json!(101))
    );
    let ten: Value = a.call("getchaintxstats", &[json!(10)]);
    assert_eq!(ten["window_tx_count"], json!(12), "{ten}");
    assert!(ten["window_interval"].as_i64().unwrap() >= 0, "{ten}");
    assert_eq!(a.call_err("getchaintxstats", &[json!(102)]).0, -8);
    assert_eq!(a.call_err("getchaintxstats", &[json!(-1)]).0, -8);

    // The UTXO set without its digest, and the indexes (none).
    let none: Value = a.call("gettxoutsetinfo", &[json!("none")]);
    let full: Value = a.call("gettxoutsetinfo", &[]);
    assert!(
        none.get("hash_serialized_3").is_none() && full["hash_serialized_3"].is_string(),
        "{none} {full}"
    );
    assert_eq!(none["txouts"], full["txouts"]);
    assert_eq!(a.call_err("gettxoutsetinfo", &[json!("sha1")]).0, -8);
    assert_eq!(a.call::<Value>("getindexinfo", &[]), json!({}));
}

#[test]
fn block_templates_submitted_blocks_and_generated_blocks_follow_core() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = TestNode::start(dir.path(), &[]);
    mine(&mut a, 101);
    let to: String = a.call("getnewaddress", &[]);
    let paid: String = a.call("sendtoaddress", &[json!(to), json!(2)]);
    let other: String = a.call("sendtoaddress", &[json!(to), json!(3)]);
    let fee = units(&a.call::<Value>("getmempoolentry", &[json!(paid)])["fees"]["base"]);

    // A miner's template: the next height on our tip, the pool's transactions, the reward.
    let tip: String = a.call("getbestblockhash", &[]);
    let t: Value = a.call("getblocktemplate", &[json!({"rules": ["segwit"]})]);
    assert_eq!((t["height"].clone(), t["previousblockhash"].clone()), (json!(102), json!(tip)));
    let txids: Vec<&str> = t["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["txid"].as_str().unwrap())
        .collect();
    assert!(txids.contains(&paid.as_str()) && txids.contains(&other.as_str()), "{t}");
    let fees: u64 = t["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["fee"].as_u64().unwrap())
        .sum();
    assert_eq!(t["coinbasevalue"].as_u64(), Some(50 * 100_000_000 + fees), "{t}");
    for field in [
        "version",
        "bits",
        "target",
        "curtime",
        "mintime",
        "longpollid",
        "sizelimit",
        "noncerange",
    ] {
        assert!(t.get(field).is_some(), "{field} missing from {t}");
    }
    assert_eq!(a.call_err("getblocktemplate", &[json!({"mode": "proposal"})]).0, -8);

    // Raising a transaction's priority changes its modified fee, not what it pays.
    assert!(a.call::<bool>("prioritisetransaction", &[json!(paid), json!(0), json!(12_345)]));
    let e: Value = a.call("getmempoolentry", &[json!(paid)]);
    assert_eq!((units(&e["fees"]["base"]), units(&e["fees"]["modified"])), (fee, fee + 12_345));
    assert_eq!(a.call_err("prioritisetransaction", &[json!(paid), json!(1), json!(5)]).0, -8);

    // A block of exactly one chosen transaction, built and returned, then submitted.
    let built: Value = a.call("generateblock", &[json!(to), json!([paid]), json!(false)]);
    let hash = built["hash"].as_str().unwrap().to_string();
    assert_eq!(a.call::<String>("getbestblockhash", &[]), tip, "not submitted yet");
    let mut broken = built["hex"].as_str().unwrap().to_string();
    // The last byte belongs to the last transaction: the merkle root no longer matches.
    let last = broken.pop().unwrap();
    broken.push(if last == '0' { '1' } else { '0' });
    assert_eq!(
        a.call::<Option<String>>("submitblock", &[json!(broken)]).as_deref(),
        Some("bad-txnmrklroot")
    );
    assert_eq!(a.call::<Option<String>>("submitblock", &[built["hex"].clone()]), None);
    assert_eq!(a.call::<String>("getbestblockhash", &[]), hash);
    assert_eq!(
        a.call::<Option<String>>("submitblock", &[built["hex"].clone()]).as_deref(),
        Some("duplicate")
    );
    assert_eq!(a.call_err("submitblock", &[json!("00ff")]).0, -22);
    let block: Value = a.call("getblock", &[json!(hash)]);
    assert_eq!(block["tx"].as_array().map(Vec::len), Some(2));
    assert_eq!(block["tx"][1], json!(paid));
    let pool: Vec<String> = a.call("getrawmempool", &[]);
    assert_eq!(pool, vec![other.clone()]);

    // A coin spent twice in one block: refused before any mining.
    assert_eq!(a.call_err("generateblock", &[json!(to), json!([other, other])]).0, -25);
    // Submitted at once; errors as Core's.
    let next: Value = a.call("generateblock", &[json!(to), json!([other])]);
    assert_eq!(a.call::<String>("getbestblockhash", &[]), next["hash"].as_str().unwrap());
    assert_eq!(a.call_err("generateblock", &[json!(to), json!(["11".repeat(32)])]).0, -5);
    assert_eq!(a.call_err("generateblock", &[json!(to), json!(["zz"])]).0, -22);
    assert_eq!(a.call_err("generateblock", &[json!("nonsense"), json!([])]).0, -5);

    // The network's hash rate over the blocks mined.
    let rate: f64 = a.call("getnetworkhashps", &[]);
    assert!(rate > 0.0, "{rate}");
    assert_eq!(a.call_err("getnetworkhashps", &[json!(0)]).0, -8);
    assert_eq!(a.call_err("getnetworkhashps", &[json!(10), json!(1_000)]).0, -8);
}

#[test]
fn test_accept_output_order_and_fee_estimates_follow_core() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = TestNode::start(dir.path(), &[]);
    mine(&mut a, 101);

    // Fee estimates: nothing to say before the node has watched transactions confirm.
    let none: Value = a.call("estimatesmartfee", &[json!(6)]);
    assert_eq!(none["errors"], json!(["Insufficient data or no feerate found"]), "{none}");
    assert!(none.get("feerate").is_none());
    for bad in [json!([0]), json!([1009]), json!([6, "cheap"])] {
        assert_eq!(a.call_err("estimatesmartfee", bad.as_array().unwrap()).0, -8, "{bad}");
    }
    // Eight blocks, each confirming the payment sent just before it.
    let to: String = a.call("getnewaddress", &[]);
    let mut rate = 0;
    for _ in 0..8 {
        let txid: String = a.call("sendtoaddress", &[json!(to), json!(0.5)]);
        let e: Value = a.call("getmempoolentry", &[json!(txid)]);
        rate = units(&e["fees"]["base"]) * 1000 / e["vsize"].as_u64().unwrap();
        mine(&mut a, 1);
    }
    let est: Value = a.call("estimatesmartfee", &[json!(2)]);
    assert_eq!(est["blocks"], json!(2), "{est}");
    let got = units(&est["feerate"]);
    assert!(
        got * 10 >= rate * 9 && got * 10 <= rate * 11,
        "estimate {got}/kB for payments paying {rate}/kB: {est}"
    );

    // Outputs keep the order the caller wrote, whichever address sorts first.
    let (x, y): (String, String) = (a.call("getnewaddress", &[]), a.call("getnewaddress", &[]));
    let (first, second) = if x > y { (x, y) } else { (y, x) };
    let unspent: Vec<Value> = a.call("listunspent", &[]);
    let coin = &unspent[0];
    let input = json!([{"txid": coin["txid"], "vout": coin["vout"]}]);
    let raw: String = a.call(
        "createrawtransaction",
        &[input.clone(), json!({ first.clone(): 1, second.clone(): 2 })],
    );
    let decoded: Value = a.call("decoderawtransaction", &[json!(raw)]);
    assert_eq!(decoded["vout"][0]["scriptPubKey"]["address"], json!(first), "{decoded}");
    assert_eq!(decoded["vout"][1]["scriptPubKey"]["address"], json!(second));

    // testmempoolaccept: the verdict, nothing admitted.
    let change = units(&coin["amount"]) - 300_000_000 - 10_000;
    let raw: String = a.call(
        "createrawtransaction",
        &[
            input,
            json!({ first.clone(): 1, second.clone(): 2, to.clone(): change as f64 / 1e8 }),
        ],
    );
    let signed: Value = a.call("signrawtransactionwithwallet", &[json!(raw)]);
    let hex = signed["hex"].clone();
    let verdict: Vec<Value> = a.call("testmempoolaccept", &[json!([hex])]);
    assert_eq!(verdict[0]["allowed"], json!(true), "{verdict:?}");
    assert_eq!(units(&verdict[0]["fees"]["base"]), 10_000);
    assert!(verdict[0]["vsize"].as_u64().unwrap() > 0);
    assert!(
        a.call::<Vec<String>>("getrawmempool", &[]).is_empty(),
        "testmempoolaccept admitted it"
    );
    let expensive: Vec<Value> = a.call("testmempoolaccept", &[json!([hex]), json!(0.00000001)]);
    assert_eq!(expensive[0]["reject-reason"], json!("max-fee-exceeded"));
    let txid: String = a.call("sendrawtransaction", std::slice::from_ref(&hex));
    let again: Vec<Value> = a.call("testmempoolaccept", &[json!([hex])]);
    assert_eq!((again[0]["txid"].clone(), again[0]["allowed"].clone()), (json!(txid), json!(false)));
    assert_eq!(again[0]["reject-reason"], json!("txn-already-in-mempool"));
    assert_eq!(a.call_err("testmempoolaccept", &[json!([])]).0, -8);
    assert_eq!(a.call_err("testmempoolaccept", &[json!(vec![hex; 26])]).0, -8);
}

#[test]
fn blockchain_info_tells_whether_the_node_is_still_catching_up() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = TestNode::start(da.path(), &[]);
    // A fresh regtest node is in initial download, as Core's: its tip (genesis) is old.
    let info: Value = a.call("getblockchaininfo", &[]);
    assert_eq!(
        (info["initialblockdownload"].clone(), info["headers"].clone()),
        (json!(true), json!(0)),
        "{info}"
    );
    assert_eq!(info["verificationprogress"], json!(1.0));
    mine(&mut a, 300);
    let info: Value = a.call("getblockchaininfo", &[]);
    assert_eq!(info["initialblockdownload"], json!(false), "{info}");
    assert_eq!((info["blocks"].clone(), info["headers"].clone()), (json!(300), json!(300)));

    // A node syncing from it: its headers run ahead of (or equal) its blocks, and it ends caught up.
    let mut b = TestNode::start(db.path(), &[]);
    let a_addr = a.p2p_addr();
    b.call::<Value>("addnode", &[json!(a_addr), json!("add")]);
    let ok = crate::common::wait_until(std::time::Duration::from_secs(60), || {
        let i: Value = b.call("getblockchaininfo", &[]);
        assert!(i["headers"].as_u64() >= i["blocks"].as_u64(), "{i}");
        let p = i["verificationprogress"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{i}");
        i["blocks"] == json!(300)
    });
    assert!(ok, "B did not sync: {}", b.log());
    let info: Value = b.call("getblockchaininfo", &[]);
    assert_eq!(
        (
            info["headers"].clone(),
            info["initialblockdownload"].clone(),
            info["verificationprogress"].clone()
        ),
        (json!(300), json!(false), json!(1.0)),
        "{info}"
    );
}

/// `invalidateblock`/`reconsiderblock`, the standard way to test reorgs on regtest: the chain,
/// the mempool, the wallet and `headers` follow; `verifychain` checks what is left.
#[test]
fn invalidating_and_reconsidering_blocks_reorgs_the_node_as_core() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = TestNode::start(dir.path(), &[]);
    mine(&mut a, 101);
    let to: String = a.call("getnewaddress", &[]);
    let paid: String = a.call("sendtoaddress", &[json!(to), json!(2.0)]);
    let hashes = mine(&mut a, 2);
    let tx: Value = a.call("gettransaction", &[json!(paid)]);
    assert_eq!(tx["confirmations"], 2);

    let () = a.call("invalidateblock", &[json!(hashes[0])]);
    assert_eq!(a.call::<u32>("getblockcount", &[]), 101);
    let info: Value = a.call("getblockchaininfo", &[]);
    assert_eq!((info["blocks"].clone(), info["headers"].clone()), (json!(101), json!(101)));
    let pool: Vec<String> = a.call("getrawmempool", &[]);
    assert_eq!(pool, vec![paid.clone()], "the payment is back in the mempool");
    let tx: Value = a.call("gettransaction", &[json!(paid)]);
    assert_eq!(tx["confirmations"], 0);
    let tips: Vec<Value> = a.call("getchaintips", &[]);
    assert!(
        tips.iter().any(|t| t["hash"] == json!(hashes[1]) && t["status"] == "invalid"),
        "{tips:?}"
    );
    assert!(a.call::<bool>("verifychain", &[json!(4), json!(0)]));

    let () = a.call("reconsiderblock", &[json!(hashes[0])]);
    assert_eq!(a.call::<String>("getbestblockhash", &[]), hashes[1]);
    let pool: Vec<String> = a.call("getrawmempool", &[]);
    assert!(pool.is_empty());
    let tx: Value = a.call("gettransaction", &[json!(paid)]);
    assert_eq!(tx["confirmations"], 2);
    assert_eq!(a.call_err("invalidateblock", &[json!("00".repeat(32))]).0, -5);
    let genesis: String = a.call("getblockhash", &[json!(0)]);
    assert_eq!(a.call_err("invalidateblock", &[json!(genesis)]).0, -8);
    // Hidden from the list, as Core's, but explained.
    let help: String = a.call("help", &[]);
    assert!(!help.contains("invalidateblock"));
    let help: String = a.call("help", &[json!("invalidateblock")]);
    assert!(help.starts_with("invalidateblock \"blockhash\""), "{help}");
}
