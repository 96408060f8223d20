//! `invalidateblock`, `reconsiderblock` and `verifychain` on a real chain state: leaving a
//! branch by hand (to a side branch if it has the most work left), coming back, surviving a
//! restart, and the store checks that catch a damaged UTXO set.

use cairn_chain::store::status;
use cairn_chain::*;

use crate::common::*;

#[test]
fn invalidating_moves_to_the_best_chain_left_and_reconsidering_comes_back() {
    let mut h = Harness::regtest();
    let main = h.mine(5);
    // A side branch from block 2 of two blocks: less work than the main chain's five.
    let mut parent = main[1];
    let mut side = Vec::new();
    for salt in 1..=2u8 {
        let b = h.build_on(parent, vec![], Amount::ZERO, salt);
        parent = b.block_hash();
        side.push(parent);
        h.submit_requested(b).unwrap();
    }
    assert_eq!(h.chain.tip_hash(), main[4]);

    // Invalidate block 4: the main chain keeps 3 blocks, the side branch has 4: it leads.
    let update = h.chain.invalidate_block(&main[3]).unwrap();
    assert_eq!(h.chain.tip_hash(), side[1]);
    assert_eq!(h.chain.height(), 4);
    let disconnected = update.events.iter().filter(|e| matches!(e, TipEvent::Disconnected { .. })).count();
    assert_eq!(disconnected, 3, "blocks 5, 4 and 3 (back to the fork)");
    assert!(h.chain.index_record(&main[3]).unwrap().status & status::FAILED != 0);
    assert!(h.chain.index_record(&main[4]).unwrap().status & status::FAILED_CHILD != 0);
    assert!(h.chain.is_known_invalid(&main[4]));
    // A block on the invalid branch is refused.
    let child = h.build_on(main[4], vec![], Amount::ZERO, 9);
    assert!(h.submit(child).is_err());
    assert!(matches!(
        h.chain.invalidate_block(&h.chain.params().genesis_block().block_hash()),
        Err(ManualError::Genesis)
    ));
    assert!(matches!(h.chain.invalidate_block(&BlockHash::ZERO), Err(ManualError::UnknownBlock)));

    // Kept across a restart.
    let mut h = h.reopen();
    assert_eq!(h.chain.tip_hash(), side[1]);

    // Reconsidering block 5 clears its ancestors' marks too: back to the main chain.
    h.chain.reconsider_block(&main[4]).unwrap();
    assert_eq!(h.chain.tip_hash(), main[4]);
    for hash in &main {
        assert_eq!(h.chain.index_record(hash).unwrap().status & status::FAILED_MASK, 0);
    }
    assert_eq!(h.chain.verify_chain(4, 0).unwrap(), Ok(()));
}

#[test]
fn verifychain_checks_blocks_undo_data_and_the_utxo_set_at_each_level() {
    let mut h = Harness::regtest();
    h.mine(101);
    // A block with a payment and a spend of it in the same block.
    let (outs, each) = h.split_coinbase(2);
    let a = h.spend(
        &outs[0..1],
        vec![TxOut {
            value: units(each - 1_000),
            lock: h.lock.clone(),
        }],
    );
    let b = h.spend(
        &[(OutPoint::new(a.compute_txid(), 0), a.outputs[0].clone())],
        vec![TxOut {
            value: units(each - 2_000),
            lock: h.lock.clone(),
        }],
    );
    for tx in [a, b] {
        h.mempool.accept(tx, &h.chain, h.now).unwrap();
    }
    h.mine(3);
    for level in 0..=4 {
        assert_eq!(h.chain.verify_chain(level, 6).unwrap(), Ok(()), "level {level}");
    }
    assert_eq!(h.chain.verify_chain(9, 0).unwrap(), Ok(()), "levels above 4 are 4, depth 0 is all");

    // Damage the UTXO set: a coin of the tip block's coinbase removed behind the chain's back.
    let tip = h.chain.tip_hash();
    let coinbase = h.chain.get_block(&tip).unwrap().unwrap().txdata[0].clone();
    let op = OutPoint::new(coinbase.compute_txid(), 0);
    let h = delete_coin_behind_its_back(h, &op);
    assert_eq!(h.chain.verify_chain(2, 6).unwrap(), Ok(()), "level 2 does not look at coins");
    let failure = h.chain.verify_chain(3, 6).unwrap().unwrap_err();
    assert_eq!(failure.hash, tip);
    assert!(failure.reason.contains("not in the UTXO set"), "{}", failure.reason);
}

/// Closes the chain state, deletes the coin `op` from the UTXO column behind its back (a damaged
/// store), and reopens it.
fn delete_coin_behind_its_back(h: Harness, op: &OutPoint) -> Harness {
    h.reopen_after(|dir| {
        let cfs = cairn_chain::store::Column::ALL.map(|c| c.name());
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), dir, cfs).unwrap();
        db.delete_cf(db.cf_handle("utxo").unwrap(), op.to_key()).unwrap();
    })
}
