//! Core's wallet methods beyond paying, end to end: received-by-address totals, address info,
//! locked coins (also across a restart), signed messages, backups, `settxfee` and
//! `abandontransaction`'s refusals — with Core's error codes.

use serde_json::{Value, json};

use crate::common::TestNode;

/// Units (1e-8) of a JSON amount in coins.
fn units(v: &Value) -> u64 {
    (v.as_f64().unwrap() * 1e8).round() as u64
}

#[test]
fn received_totals_address_info_locks_messages_backups_and_fee_rates_follow_core() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = TestNode::start(dir.path(), &[]);
    let mine: String = node.call("getnewaddress", &[]);
    let _: Vec<String> = node.call("generatetoaddress", &[json!(101), json!(mine)]);
    let rent: String = node.call("getnewaddress", &[json!("rent")]);
    let paid: String = node.call("sendtoaddress", &[json!(rent), json!(1.0)]);
    let _: Vec<String> = node.call("generatetoaddress", &[json!(1), json!(mine)]);

    // getreceivedbyaddress / listreceivedbyaddress.
    let got: Value = node.call("getreceivedbyaddress", &[json!(rent)]);
    assert_eq!(units(&got), 100_000_000);
    let got: Value = node.call("getreceivedbyaddress", &[json!(rent), json!(2)]);
    assert_eq!(units(&got), 0);
    // A valid regtest address of a key no wallet here holds.
    let foreign = cairn_wallet::Address::new(cairn_chain::Network::Regtest, cairn_chain::PubkeyHash::from_byte_array([7; 20])).to_string();
    assert_eq!(node.call_err("getreceivedbyaddress", &[json!(foreign)]).0, -4);
    assert_eq!(node.call_err("getreceivedbyaddress", &[json!("nonsense")]).0, -5);
    let list: Vec<Value> = node.call("listreceivedbyaddress", &[]);
    let entry = list.iter().find(|e| e["address"] == json!(rent)).expect("rent listed");
    assert_eq!((entry["label"].clone(), entry["confirmations"].clone()), (json!("rent"), json!(1)));
    assert_eq!(entry["txids"], json!([paid]));
    let empty: String = node.call("getnewaddress", &[json!("empty")]);
    let with_empty: Vec<Value> = node.call("listreceivedbyaddress", &[json!(1), json!(true)]);
    assert!(with_empty.iter().any(|e| e["address"] == json!(empty) && units(&e["amount"]) == 0));
    assert!(!list.iter().any(|e| e["address"] == json!(empty)), "not without include_empty");
    let filtered: Vec<Value> = node.call("listreceivedbyaddress", &[json!(0), json!(true), json!(false), json!(rent)]);
    assert_eq!(filtered.len(), 1);
    assert_eq!(
        node.call_err("listreceivedbyaddress", &[json!(0), json!(true), json!(false), json!("nonsense")])
            .0,
        -4
    );

    // getaddressinfo: a receiving key, the payment's change key, and someone else's address.
    let info: Value = node.call("getaddressinfo", &[json!(rent)]);
    assert_eq!((info["ismine"].clone(), info["ischange"].clone()), (json!(true), json!(false)));
    assert_eq!(info["labels"], json!(["rent"]));
    assert_eq!(info["pubkey"].as_str().unwrap().len(), 66);
    assert!(info["timestamp"].as_u64().unwrap() > 1_600_000_000);
    let coins: Vec<Value> = node.call("listunspent", &[]);
    let change = coins
        .iter()
        .find(|c| c["txid"] == json!(paid) && c["address"] != json!(rent))
        .expect("the payment's change");
    let info: Value = node.call("getaddressinfo", &[change["address"].clone()]);
    assert_eq!((info["ismine"].clone(), info["ischange"].clone()), (json!(true), json!(true)));
    assert_eq!(info["labels"], json!([]));
    assert!(
        !list.iter().any(|e| e["address"] == change["address"]),
        "change is no receiving address"
    );
    let info: Value = node.call("getaddressinfo", &[json!(foreign)]);
    assert_eq!((info["ismine"].clone(), info.get("pubkey")), (json!(false), None));

    // lockunspent: locked coins are not chosen and not listed; persistent locks survive restart.
    let rent_coin = json!({"txid": paid, "vout": change["vout"].as_u64().unwrap() ^ 1});
    let change_coin = json!({"txid": paid, "vout": change["vout"]});
    assert!(node.call::<bool>("lockunspent", &[json!(false), json!([rent_coin]), json!(true)]));
    assert!(node.call::<bool>("lockunspent", &[json!(false), json!([change_coin])]));
    let locked: Vec<Value> = node.call("listlockunspent", &[]);
    assert_eq!(locked.len(), 2);
    let listed: Vec<Value> = node.call("listunspent", &[]);
    assert!(!listed.iter().any(|c| c["txid"] == json!(paid)), "locked coins are not listed");
    let (code, message) = node.call_err("lockunspent", &[json!(false), json!([rent_coin])]);
    assert_eq!((code, message.as_str()), (-8, "Invalid parameter, output already locked"));
    let unknown = json!({"txid": "11".repeat(32), "vout": 0});
    assert_eq!(
        node.call_err("lockunspent", &[json!(false), json!([unknown])]).1,
        "Invalid parameter, unknown transaction"
    );
    let far = json!({"txid": paid, "vout": 7});
    assert_eq!(
        node.call_err("lockunspent", &[json!(false), json!([far])]).1,
        "Invalid parameter, vout index out of bounds"
    );
    let every: Vec<Value> = listed.iter().map(|c| json!({"txid": c["txid"], "vout": c["vout"]})).collect();
    assert!(node.call::<bool>("lockunspent", &[json!(false), json!(every)]));
    assert_eq!(
        node.call_err("sendtoaddress", &[json!(foreign), json!(0.1)]).0,
        -6,
        "every coin locked"
    );
    drop(node);
    let mut node = TestNode::start(dir.path(), &[]);
    let locked: Vec<Value> = node.call("listlockunspent", &[]);
    assert_eq!(locked, vec![rent_coin.clone()], "only the persistent lock survives a restart");
    assert!(node.call::<bool>("lockunspent", &[json!(true)]));
    assert_eq!(
        node.call_err("lockunspent", &[json!(true), json!([rent_coin])]).1,
        "Invalid parameter, expected locked output"
    );
    let locked: Vec<Value> = node.call("listlockunspent", &[]);
    assert!(locked.is_empty());

    // signmessage / verifymessage.
    let sig: String = node.call("signmessage", &[json!(rent), json!("I own this")]);
    assert!(node.call::<bool>("verifymessage", &[json!(rent), json!(sig), json!("I own this")]));
    assert!(!node.call::<bool>("verifymessage", &[json!(rent), json!(sig), json!("I own that")]));
    assert!(!node.call::<bool>("verifymessage", &[json!(mine), json!(sig), json!("I own this")]));
    assert_eq!(node.call_err("verifymessage", &[json!(rent), json!("%%%"), json!("x")]).0, -5);
    assert_eq!(node.call_err("signmessage", &[json!(foreign), json!("x")]).0, -4);

    // backupwallet: a file, or a directory; the copy is the wallet file, private.
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("copy.json");
    let () = node.call("backupwallet", &[json!(file)]);
    let original = std::fs::read(dir.path().join("regtest/wallets/default/wallet.json")).unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), original);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let () = node.call("backupwallet", &[json!(backups.path())]);
    assert_eq!(std::fs::read(backups.path().join("default.json")).unwrap(), original);
    assert_eq!(
        node.call_err("backupwallet", &[json!(backups.path().join("no/such/dir/x.json"))]).0,
        -4
    );

    // settxfee: the wallet's rate for payments without fee_rate; Core's bounds.
    assert!(node.call::<bool>("settxfee", &[json!(0.0002)]));
    let txid: String = node.call("sendtoaddress", &[json!(foreign), json!(0.5)]);
    let tx: Value = node.call("gettransaction", &[json!(txid)]);
    let size = tx["hex"].as_str().unwrap().len() as u64 / 2;
    let fee = units(&tx["fee"]).max((-tx["fee"].as_f64().unwrap() * 1e8).round() as u64);
    assert_eq!(fee, size * 20, "20 units per byte");
    assert_eq!(node.call_err("settxfee", &[json!(0.00000001)]).0, -8);
    assert_eq!(node.call_err("settxfee", &[json!(1)]).0, -8);
    assert!(node.call::<bool>("settxfee", &[json!(0)]));

    // abandontransaction refuses what is not a wallet transaction, or is in the mempool or a block.
    assert_eq!(node.call_err("abandontransaction", &[json!("22".repeat(32))]).0, -5);
    let (code, message) = node.call_err("abandontransaction", &[json!(txid)]);
    assert_eq!((code, message.as_str()), (-5, "Transaction not eligible for abandonment"));
    assert_eq!(node.call_err("abandontransaction", &[json!(paid)]).0, -5);
}

/// `sendmany`: several outputs in the caller's order, the fee on top or shared by the outputs
/// named in `subtractfeefrom`, `verbose`, and Core's refusals.
#[test]
fn sendmany_pays_every_address_in_order_and_shares_the_fee_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = TestNode::start(dir.path(), &[]);
    let mine: String = node.call("getnewaddress", &[]);
    let _: Vec<String> = node.call("generatetoaddress", &[json!(110), json!(mine)]);
    let a = cairn_wallet::Address::new(cairn_chain::Network::Regtest, cairn_chain::PubkeyHash::from_byte_array([1; 20])).to_string();
    let b = cairn_wallet::Address::new(cairn_chain::Network::Regtest, cairn_chain::PubkeyHash::from_byte_array([2; 20])).to_string();
    let amounts = json!({ b.clone(): 1.5, a.clone(): 0.25 });
    let txid: String = node.call("sendmany", &[json!(""), amounts.clone()]);
    let tx: Value = node.call("getrawtransaction", &[json!(txid), json!(true)]);
    let pays = |tx: &Value, to: &str| {
        tx["vout"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["scriptPubKey"]["address"] == json!(to))
            .map(|o| (units(&o["value"]), o["n"].as_u64().unwrap()))
            .unwrap()
    };
    let ((vb, nb), (va, na)) = (pays(&tx, &b), pays(&tx, &a));
    assert_eq!((vb, va), (150_000_000, 25_000_000), "fee on top");
    assert!(nb < na, "outputs in the order given");
    let wallet_tx: Value = node.call("gettransaction", &[json!(txid)]);
    let fee = (-wallet_tx["fee"].as_f64().unwrap() * 1e8).round() as u64;
    assert!(fee > 0);

    // The fee shared by both (the first takes the remainder), verbose answer.
    let out: Value = node.call(
        "sendmany",
        &[
            json!(""),
            amounts,
            Value::Null,
            Value::Null,
            json!([a, b]),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            json!(true),
        ],
    );
    assert_eq!(out["fee_reason"], "Fallback fee");
    let tx: Value = node.call("getrawtransaction", &[out["txid"].clone(), json!(true)]);
    let (vb, va) = (pays(&tx, &b).0, pays(&tx, &a).0);
    let fee = 150_000_000 + 25_000_000 - vb - va;
    assert_eq!(
        (25_000_000 - va) - (150_000_000 - vb),
        fee % 2,
        "equal shares, the remainder to the first named"
    );

    assert_eq!(node.call_err("sendmany", &[json!("x"), json!({ a.clone(): 1 })]).0, -8);
    assert_eq!(node.call_err("sendmany", &[json!(""), json!({})]).0, -8);
    assert_eq!(node.call_err("sendmany", &[json!(""), json!({ a.clone(): 0 })]).0, -3);
    assert_eq!(node.call_err("sendmany", &[json!(""), json!({ "nonsense": 1 })]).0, -5);
    let (code, _) = node.call_err(
        "sendmany",
        &[json!(""), json!({ a.clone(): 1 }), Value::Null, Value::Null, json!([b])],
    );
    assert_eq!(code, -8, "subtractfeefrom names an address not paid");
    assert_eq!(node.call_err("sendmany", &[json!(""), json!({ a: 100_000 })]).0, -6);
}

/// `listsinceblock`: what happened since a block, `lastblock` by `target_confirmations`, change
/// entries on request, and after a reorg the transactions of the abandoned branch in `removed`.
#[test]
fn listsinceblock_lists_what_came_after_a_block_and_what_a_reorg_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = TestNode::start(dir.path(), &[]);
    let mine: String = node.call("getnewaddress", &[]);
    let _: Vec<String> = node.call("generatetoaddress", &[json!(101), json!(mine)]);
    let since: String = node.call("getbestblockhash", &[]);
    let other = cairn_wallet::Address::new(cairn_chain::Network::Regtest, cairn_chain::PubkeyHash::from_byte_array([5; 20])).to_string();
    let paid: String = node.call("sendtoaddress", &[json!(other), json!(3.0)]);
    let blocks: Vec<String> = node.call("generatetoaddress", &[json!(2), json!(mine)]);

    let out: Value = node.call("listsinceblock", &[json!(since)]);
    let txs = out["transactions"].as_array().unwrap();
    assert!(txs.iter().any(|e| e["txid"] == json!(paid) && e["category"] == "send"), "{out}");
    assert!(
        txs.iter().all(|e| e["blockheight"].as_u64().unwrap_or(u64::MAX) > 101),
        "nothing at or below the block"
    );
    assert_eq!(out["lastblock"], json!(blocks[1]));
    assert_eq!(out["removed"], json!([]));
    let out: Value = node.call("listsinceblock", &[json!(since), json!(2)]);
    assert_eq!(out["lastblock"], json!(blocks[0]));
    let all: Value = node.call("listsinceblock", &[]);
    assert!(all["transactions"].as_array().unwrap().len() > txs.len());
    let with_change: Value = node.call("listsinceblock", &[json!(since), json!(1), json!(false), json!(true), json!(true)]);
    assert!(
        with_change["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["txid"] == json!(paid) && e["category"] == "receive"),
        "the payment's change: {with_change}"
    );

    // The block with the payment leaves the chain: asked since that block, the payment is removed.
    let () = node.call("invalidateblock", &[json!(blocks[0])]);
    // Mined to another address: the same template on the same second would be the invalid block.
    let _: Vec<String> = node.call("generatetoaddress", &[json!(3), json!(other)]);
    let out: Value = node.call("listsinceblock", &[json!(blocks[1])]);
    assert!(out["removed"].as_array().unwrap().iter().any(|e| e["txid"] == json!(paid)), "{out}");
    let out: Value = node.call("listsinceblock", &[json!(blocks[1]), json!(1), json!(false), json!(false)]);
    assert!(out.get("removed").is_none());

    assert_eq!(node.call_err("listsinceblock", &[json!("00".repeat(32))]).0, -5);
    assert_eq!(node.call_err("listsinceblock", &[json!(since), json!(0)]).0, -8);
}

/// `fundrawtransaction`: Core's way to pay with a raw transaction — outputs only, the wallet adds
/// inputs and change; then sign and send.
#[test]
fn fundrawtransaction_adds_inputs_and_change_to_a_raw_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = TestNode::start(dir.path(), &[]);
    let mine: String = node.call("getnewaddress", &[]);
    let _: Vec<String> = node.call("generatetoaddress", &[json!(110), json!(mine)]);
    let to = cairn_wallet::Address::new(cairn_chain::Network::Regtest, cairn_chain::PubkeyHash::from_byte_array([9; 20])).to_string();
    let raw: String = node.call("createrawtransaction", &[json!([]), json!([{ to.clone(): 2.5 }])]);
    let funded: Value = node.call(
        "fundrawtransaction",
        &[json!(raw), json!({"changePosition": 0, "lockUnspents": true})],
    );
    assert_eq!(funded["changepos"], 0);
    let fee = units(&funded["fee"]);
    let decoded: Value = node.call("decoderawtransaction", &[funded["hex"].clone()]);
    assert!(!decoded["vin"].as_array().unwrap().is_empty());
    assert_eq!(
        decoded["vout"][1]["scriptPubKey"]["address"],
        json!(to),
        "the payment keeps its place after the change"
    );
    let locked: Vec<Value> = node.call("listlockunspent", &[]);
    assert_eq!(locked.len(), decoded["vin"].as_array().unwrap().len(), "lockUnspents");
    let signed: Value = node.call("signrawtransactionwithwallet", &[funded["hex"].clone()]);
    assert_eq!(signed["complete"], true);
    let txid: String = node.call("sendrawtransaction", &[signed["hex"].clone()]);
    let entry: Value = node.call("getmempoolentry", &[json!(txid)]);
    assert_eq!(units(&entry["fees"]["base"]), fee);

    // The fee taken from the payment; Core's refusals.
    let funded: Value = node.call("fundrawtransaction", &[json!(raw), json!({"subtractFeeFromOutputs": [0]})]);
    let decoded: Value = node.call("decoderawtransaction", &[funded["hex"].clone()]);
    let paid = decoded["vout"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["scriptPubKey"]["address"] == json!(to))
        .unwrap();
    assert_eq!(units(&paid["value"]) + units(&funded["fee"]), 250_000_000);
    assert_eq!(
        node.call_err("fundrawtransaction", &[json!(raw), json!({"changePosition": 5})]).0,
        -8
    );
    assert_eq!(node.call_err("fundrawtransaction", &[json!(raw), json!({"nosuch": 1})]).0, -3);
    assert_eq!(node.call_err("fundrawtransaction", &[json!("zz")]).0, -22);
    assert_eq!(
        node.call_err("fundrawtransaction", &[signed["hex"].clone()]).0,
        -4,
        "inputs present"
    );
}
