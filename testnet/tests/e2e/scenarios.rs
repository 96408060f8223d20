//! The five scenarios of the testnet issue: converge, spend, kill, partition, churn.

use std::time::{Duration, Instant};

use cairn_testnet::testnet::Miners;
use serde_json::{Value, json};

use crate::common::{Net, start, wait_until};

const MIN: Duration = Duration::from_secs(60);

fn names(net: &Net) -> Vec<String> {
    net.names()
}

/// Mature coins for `node`: 101 blocks to its own address, agreed by everyone.
fn fund(net: &Net, node: &str) {
    let addr = net.address(node);
    let _: Vec<String> = net.call(node, "generatetoaddress", &[json!(101), json!(addr)]);
    net.converge(&names(net), MIN);
}

#[test]
fn converge_four_nodes_two_mining() {
    let mut net = start(4, Miners::First(2), 250);
    wait_until(2 * MIN, "30 blocks are mined", || net.height("node3") >= 30);
    let (height, _) = net.settle("node4", Duration::from_secs(30));
    assert!(height >= 31);
    // Both miners found blocks (coinbases to their wallets).
    for m in ["node1", "node2"] {
        let b: Value = net.call(m, "getbalances", &[]);
        assert!(b["mine"]["immature"].as_f64().unwrap() > 0.0, "{m} mined nothing: {b}");
    }
    net.assert_no_panics();
}

#[test]
fn spend_propagates_is_mined_and_both_wallets_agree() {
    let net = start(4, Miners::None, 1000);
    fund(&net, "node1");
    let txid: String = net.call("node1", "sendtoaddress", &[json!(net.address("node3")), json!(12.5)]);
    wait_until(MIN, "the payment reaches node2's mempool", || net.mempool("node2").contains(&txid));
    let _: Vec<String> = net.call("node2", "generatetoaddress", &[json!(1), json!(net.address("node2"))]);
    net.converge(&names(&net), MIN);

    let received: Value = net.call("node3", "gettransaction", &[json!(txid)]);
    let sent: Value = net.call("node1", "gettransaction", &[json!(txid)]);
    assert_eq!(received["confirmations"], 1, "{received}");
    assert_eq!(sent["confirmations"], 1, "{sent}");
    assert_eq!(received["blockhash"], sent["blockhash"]);
    assert_eq!(received["amount"].as_f64(), Some(12.5));
    assert_eq!(sent["amount"].as_f64(), Some(-12.5));
    assert!(sent["fee"].as_f64().unwrap() < 0.0);
    assert_eq!(net.call::<f64>("node3", "getbalance", &[]), 12.5);
    // At height 102 node1's coinbases of heights 1 and 2 are mature; it paid 12.5 and the fee
    // from them and got its change back.
    let fee = -sent["fee"].as_f64().unwrap();
    let balance1: f64 = net.call("node1", "getbalance", &[]);
    assert!(
        (balance1 - (100.0 - 12.5 - fee)).abs() < 1e-8,
        "node1 balance {balance1}, fee {fee}"
    );
    net.assert_no_panics();
}

#[test]
fn killed_miner_rejoins_and_its_wallet_is_intact() {
    let mut net = start(3, Miners::None, 300);
    fund(&net, "node1");
    let txid: String = net.call("node1", "sendtoaddress", &[json!(net.address("node2")), json!(7)]);
    wait_until(MIN, "the payment reaches node2", || net.mempool("node2").contains(&txid));
    let _: Vec<String> = net.call("node1", "generatetoaddress", &[json!(1), json!(net.address("node1"))]);
    net.converge(&names(&net), MIN);
    assert_eq!(net.call::<f64>("node2", "getbalance", &[]), 7.0);

    net.tn.set_mining("node1", 1).unwrap();
    net.tn.set_mining("node2", 1).unwrap();
    let h0 = net.height("node3");
    wait_until(MIN, "both miners work", || net.height("node3") >= h0 + 6);
    net.tn.kill("node2").unwrap();
    let h1 = net.height("node1");
    wait_until(MIN, "node1 mines on alone", || net.height("node1") >= h1 + 3);
    net.tn.restart("node2").unwrap();
    let target = net.height("node1");
    wait_until(MIN, "node2 catches up", || net.height("node2") >= target);
    net.settle("node3", MIN);

    assert_eq!(
        net.call::<f64>("node2", "getbalance", &[]),
        7.0,
        "the received coins survived the crash"
    );
    let tx: Value = net.call("node2", "gettransaction", &[json!(txid)]);
    assert!(tx["confirmations"].as_i64().unwrap() >= 1, "{tx}");
    let info: Value = net.call("node2", "getmininginfo", &[]);
    assert_eq!(info["generate"], false);
    net.assert_no_panics();
}

#[test]
fn partition_then_heal_converges_on_the_most_work_branch() {
    let mut net = start(4, Miners::None, 1000);
    // node2 gets 101 coinbases (all mature later); node1 then gets exactly one mature coinbase.
    fund(&net, "node2");
    fund(&net, "node1");
    let unspent: Vec<Value> = net.call("node1", "listunspent", &[]);
    assert_eq!(unspent.len(), 1, "node1 owns one mature coin: {unspent:?}");
    let coin = json!([{"txid": unspent[0]["txid"], "vout": unspent[0]["vout"]}]);

    net.tn.partition("node1,node2", "node3,node4").unwrap();
    wait_until(MIN, "the groups disconnect", || {
        net.call::<usize>("node1", "getconnectioncount", &[]) == 1 && net.call::<usize>("node3", "getconnectioncount", &[]) == 1
    });

    // Side A (node1, node2; it will lose): a plain payment, and node1's coin spent one way.
    let t1: String = net.call("node2", "sendtoaddress", &[json!(net.address("node1")), json!(3)]);
    let a_out = json!({ net.address("node1"): 49.999 });
    let raw_a: String = net.call("node1", "createrawtransaction", &[coin.clone(), a_out]);
    let signed_a: Value = net.call("node1", "signrawtransactionwithwallet", &[json!(raw_a)]);
    assert_eq!(signed_a["complete"], true, "{signed_a}");
    let t_a: String = net.call("node1", "sendrawtransaction", &[signed_a["hex"].clone()]);
    // Side B (node3, node4; it will win): the same coin spent another way (signed by node1's
    // wallet, which never saw it in a mempool).
    let b_out = json!({ net.address("node4"): 49.998 });
    let raw_b: String = net.call("node1", "createrawtransaction", &[coin, b_out]);
    let signed_b: Value = net.call("node1", "signrawtransactionwithwallet", &[json!(raw_b)]);
    assert_eq!(signed_b["complete"], true, "{signed_b}");
    let t_b: String = net.call("node3", "sendrawtransaction", &[signed_b["hex"].clone()]);
    wait_until(MIN, "side A's transactions reach node2", || {
        let m = net.mempool("node2");
        m.contains(&t1) && m.contains(&t_a)
    });
    assert!(!net.mempool("node4").contains(&t_a), "the partition holds");

    let a_blocks: Vec<String> = net.call("node2", "generatetoaddress", &[json!(2), json!(net.address("node2"))]);
    let b_blocks: Vec<String> = net.call("node3", "generatetoaddress", &[json!(4), json!(net.address("node3"))]);
    let side_a = net.converge(&["node1".into(), "node2".into()], MIN);
    let side_b = net.converge(&["node3".into(), "node4".into()], MIN);
    assert_eq!(side_a.1, *a_blocks.last().unwrap());
    assert_eq!(side_b.1, *b_blocks.last().unwrap());
    assert_eq!(side_b.0, side_a.0 + 2);
    let before: Value = net.call("node1", "gettransaction", &[json!(t_a)]);
    assert_eq!(before["confirmations"], 2);

    let healed = Instant::now();
    net.tn.heal().unwrap();
    let (height, tip) = net.converge(&names(&net), Duration::from_secs(30));
    let took = healed.elapsed();
    assert_eq!(
        (height, tip.as_str()),
        (side_b.0, side_b.1.as_str()),
        "everyone is on the branch with more work"
    );
    eprintln!("converged {took:?} after heal");

    // The payment confirmed only on the losing side is back in the mempool; the conflicting
    // spend is not, and node1's wallet reports it conflicted, as Core does.
    wait_until(MIN, "t1 returns to node2's mempool", || net.mempool("node2").contains(&t1));
    for n in names(&net) {
        assert!(!net.mempool(&n).contains(&t_a), "{n} still holds the conflicted spend");
    }
    let conflicted: Value = net.call("node1", "gettransaction", &[json!(t_a)]);
    assert!(conflicted["confirmations"].as_i64().unwrap() < 0, "{conflicted}");
    assert!(
        conflicted["walletconflicts"].as_array().unwrap().contains(&json!(t_b)),
        "{conflicted}"
    );
    let winner: Value = net.call("node1", "gettransaction", &[json!(t_b)]);
    assert!(winner["confirmations"].as_i64().unwrap() >= 1, "{winner}");

    // Mined again on the winning chain.
    let _: Vec<String> = net.call("node2", "generatetoaddress", &[json!(1), json!(net.address("node2"))]);
    net.converge(&names(&net), MIN);
    let again: Value = net.call("node2", "gettransaction", &[json!(t1)]);
    assert_eq!(again["confirmations"], 1, "{again}");
    net.assert_no_panics();
}

#[test]
fn churn_nodes_leave_and_join_while_mining_continues() {
    let mut net = start(4, Miners::First(2), 300);
    wait_until(MIN, "mining is under way", || net.height("node4") >= 5);
    // Round by round: a crash, a clean leave, a new node joining, a miner restarting.
    net.tn.kill("node3").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    net.tn.stop("node4", Duration::from_secs(20)).unwrap();
    let joined = net.tn.add_node(0).unwrap();
    net.tn.restart("node3").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    net.tn.kill("node2").unwrap();
    net.tn.restart("node4").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    net.tn.restart("node2").unwrap();
    let h = net.height("node1");
    wait_until(MIN, "mining continues after the churn", || net.height(&joined) >= h + 3);

    for n in names(&net) {
        assert!(net.tn.is_running(&n).unwrap(), "{n} is not running");
    }
    net.settle(&joined, MIN);
    net.assert_no_panics();
}
