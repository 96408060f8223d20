//! The anchor index: anchors of the active chain found by content id, moved out and back in by
//! a reorg, kept across a restart and a reindex, and built once for a store made before it.

use cairn_chain::anchor::{AnchorHit, anchor_lock};
use cairn_chain::*;

use crate::common::*;

/// Spends the coinbase at `height`: an anchor of `id`, the rest back to us less 1,000 units.
fn anchor_tx(h: &Harness, height: u32, id: &[u8; 32]) -> Transaction {
    let (op, out) = h.coinbase_of(height);
    let change = out.value.to_units() - 1_000;
    h.spend(
        &[(op, out)],
        vec![
            TxOut {
                value: Amount::ZERO,
                lock: anchor_lock(id),
            },
            TxOut {
                value: units(change),
                lock: h.lock.clone(),
            },
        ],
    )
}

fn hit(block: &Block, height: u32, txid: Txid) -> AnchorHit {
    AnchorHit {
        txid,
        block_hash: block.block_hash(),
        height,
        time: block.header.time,
    }
}

#[test]
fn anchors_follow_the_active_chain_through_reorgs_restarts_and_reindex() {
    let mut h = Harness::regtest();
    h.mine(101);
    let id = [9u8; 32];
    let tx = anchor_tx(&h, 1, &id);
    let txid = tx.compute_txid();
    let fork = h.chain.tip_hash();
    let a = h.build_on(fork, vec![tx.clone()], units(1_000), 1);
    h.submit(a.clone()).unwrap();
    assert_eq!(h.chain.anchors(&id).unwrap(), vec![hit(&a, 102, txid)]);
    assert!(h.chain.anchors(&[8u8; 32]).unwrap().is_empty(), "never anchored");

    // A longer branch without it: the anchor leaves with its block.
    let b1 = h.build_on(fork, vec![], Amount::ZERO, 2);
    h.submit(b1.clone()).unwrap();
    let b2 = h.build_on(b1.block_hash(), vec![], Amount::ZERO, 3);
    h.submit(b2.clone()).unwrap();
    assert_eq!(h.chain.tip_hash(), b2.block_hash());
    assert!(h.chain.anchors(&id).unwrap().is_empty(), "the reorg took it out");

    // Mined again on the new branch: anchored again, at the new block.
    let c = h.build_on(b2.block_hash(), vec![tx.clone()], units(1_000), 4);
    h.submit(c.clone()).unwrap();
    let expected = vec![hit(&c, 104, txid)];
    assert_eq!(h.chain.anchors(&id).unwrap(), expected);

    // A second anchor of the same id, later: the earliest comes first.
    let again = anchor_tx(&h, 2, &id);
    let d = h.build_on(c.block_hash(), vec![again.clone()], units(1_000), 5);
    h.submit(d.clone()).unwrap();
    let both = vec![hit(&c, 104, txid), hit(&d, 105, again.compute_txid())];
    assert_eq!(h.chain.anchors(&id).unwrap(), both);

    let mut h = h.reopen();
    assert_eq!(h.chain.anchors(&id).unwrap(), both, "kept across a restart");
    h.chain.reindex_chainstate().unwrap();
    assert_eq!(h.chain.anchors(&id).unwrap(), both, "rebuilt by a reindex");
}

#[test]
fn a_store_made_before_the_index_gets_it_built_once() {
    let mut h = Harness::regtest();
    h.mine(101);
    let id = [3u8; 32];
    let tx = anchor_tx(&h, 1, &id);
    h.mempool.accept(tx.clone(), &h.chain, h.now).unwrap();
    let mined = h.mine(1)[0];
    let block = h.chain.get_block(&mined).unwrap().unwrap();
    let expected = vec![hit(&block, 102, tx.compute_txid())];
    assert_eq!(h.chain.anchors(&id).unwrap(), expected, "a mined anchor is indexed");
    // Make it look like a store made before the index (no mark, nothing indexed), or with the
    // first format of its keys (96 bytes, no height): both get it built anew.
    let h = h.reopen_after(|path| {
        let names = cairn_chain::store::Column::ALL.map(|c| c.name());
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), path, names).unwrap();
        db.delete_cf(db.cf_handle("meta").unwrap(), b"anchor-index/2").unwrap();
        let anchors = db.cf_handle("anchors").unwrap();
        let keys: Vec<Box<[u8]>> = db
            .iterator_cf(anchors, rocksdb::IteratorMode::Start)
            .map(|kv| kv.unwrap().0)
            .collect();
        assert_eq!(keys.len(), 1);
        db.delete_cf(anchors, &keys[0]).unwrap();
        let mut old = id.to_vec();
        old.extend_from_slice(&[7u8; 64]);
        db.put_cf(anchors, old, []).unwrap();
    });
    assert_eq!(h.chain.anchors(&id).unwrap(), expected, "built when the store opened");
}
