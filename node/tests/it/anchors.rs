//! Files anchored in the chain, end to end with real nodes: a file published with `anchor` on A
//! is proved on C (two hops away) once mined; a reorg that removes the anchoring block leaves
//! the anchor waiting in the mempool until it is mined again; a content id never anchored is a
//! clear error; the index comes back after `--reindex`; `cairn fetch` tells the anchor.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{TestNode, cairn_bin, mine, tempdirs, wait_until};

const PROPAGATION: Duration = Duration::from_secs(60);

fn anchor_of(node: &mut TestNode, cid: &str) -> Option<Value> {
    node.try_call::<Value>("verifyanchor", &[json!(cid)]).ok()
}

#[test]
fn a_file_anchored_on_a_is_proved_on_c_and_follows_a_reorg() {
    let [da, db, dc, files] = tempdirs();
    let mut a = TestNode::start(da.path(), &[]);
    let a_addr = a.p2p_addr();
    let mut b = TestNode::start(db.path(), &["--peer", &a_addr]);
    let b_addr = b.p2p_addr();
    let mut c = TestNode::start(dc.path(), &["--peer", &b_addr]);
    assert!(wait_until(PROPAGATION, || c.call::<usize>("getconnectioncount", &[]) >= 1));
    mine(&mut a, 101);
    assert!(
        wait_until(PROPAGATION, || c.call::<u32>("getblockcount", &[]) == 101),
        "{}",
        c.log()
    );

    let path = files.path().join("deed.txt");
    std::fs::write(&path, b"This deed was written on the first of December.\n").unwrap();
    let published: Value = a.call(
        "publishfile",
        &[json!(path.to_str().unwrap()), json!("deed.txt"), json!([]), json!(true)],
    );
    let cid = published["cid"].as_str().unwrap().to_string();
    let txid = published["anchor"].as_str().expect("an anchoring txid").to_string();
    // B has no coins: its file is shared all the same, the anchor's failure said beside it.
    let other = files.path().join("note.txt");
    std::fs::write(&other, b"B's note\n").unwrap();
    let unpaid: Value = b.call(
        "publishfile",
        &[json!(other.to_str().unwrap()), json!(null), json!(null), json!(true)],
    );
    assert!(unpaid.get("anchor").is_none(), "{unpaid}");
    assert!(unpaid["anchor_error"].as_str().unwrap().contains("Insufficient funds"), "{unpaid}");
    let listed: Vec<Value> = b.call("listfiles", &[]);
    assert!(listed.iter().any(|f| f["cid"] == unpaid["cid"]), "shared: {listed:?}");
    // Relayed before it is mined: C sees it waiting.
    assert!(
        wait_until(PROPAGATION, || anchor_of(&mut c, &cid).is_some_and(|v| v["confirmations"] == 0)),
        "{}",
        c.log()
    );
    let waiting = anchor_of(&mut c, &cid).unwrap();
    assert_eq!(waiting["txid"], txid.as_str());
    assert!(waiting.get("blockhash").is_none(), "{waiting}");

    // Mined on A: C proves it with the block's time.
    let block = mine(&mut a, 1)[0].clone();
    assert!(wait_until(PROPAGATION, || c.call::<String>("getbestblockhash", &[]) == block));
    let proof = anchor_of(&mut c, &cid).unwrap();
    let header: Value = c.call("getblockheader", &[json!(block)]);
    assert_eq!(proof["txid"], txid.as_str());
    assert_eq!(proof["blockhash"], block.as_str());
    assert_eq!(proof["height"], 102);
    assert_eq!(proof["time"], header["time"]);
    assert_eq!((proof["confirmations"].clone(), proof["anchors"].clone()), (json!(1), json!(1)));
    // The output is recognisable in the transaction.
    let tx: Value = c.call("getrawtransaction", &[json!(txid), json!(true), json!(block)]);
    let data = format!("OP_RETURN {}{cid}", hex::encode(b"cairn:a1"));
    assert!(
        tx["vout"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["scriptPubKey"]["asm"] == data.as_str()),
        "{tx}"
    );

    // Never anchored, and not a content id.
    let never = "ab".repeat(32);
    let (code, message) = c.call_err("verifyanchor", &[json!(never)]);
    assert_eq!(code, -5);
    assert!(message.contains("not anchored"), "{message}");
    assert_eq!(c.call_err("verifyanchor", &[json!("xyz")]).0, -8);

    // A reorg on C takes the block out: the anchor waits in the mempool again, then is mined anew.
    c.call::<Value>("invalidateblock", &[json!(block)]);
    let back = anchor_of(&mut c, &cid).expect("back in the mempool");
    assert_eq!((back["confirmations"].clone(), back["txid"].clone()), (json!(0), json!(txid)));
    let again = mine(&mut c, 1)[0].clone();
    assert_ne!(again, block);
    let proof = anchor_of(&mut c, &cid).unwrap();
    assert_eq!((proof["blockhash"].clone(), proof["height"].clone()), (json!(again), json!(102)));

    // The index comes back after --reindex (C restarted; its tip is its own block).
    c.call::<Value>("stop", &[]);
    c.wait_exit();
    drop(c);
    let mut c = TestNode::start(dc.path(), &["--reindex"]);
    let proof = anchor_of(&mut c, &cid).expect("anchored after the reindex");
    assert_eq!(proof["blockhash"], again.as_str());
    assert!(c.log().contains("reindex done"), "{}", c.log());

    // `cairn fetch` on B tells what it downloaded was anchored.
    let out = std::process::Command::new(cairn_bin())
        .args(["fetch", "--network", "regtest", "--datadir"])
        .arg(&b.datadir)
        .arg(&cid)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("anchored: existed no later than") && stderr.contains(&block),
        "{stderr}"
    );
}
