//! Most-work chain selection and reorganisations.

use cairn_chain::pow::{U256, work_for_bits};
use cairn_chain::*;

use crate::common::*;

/// Builds and submits `n` blocks on `parent`, the first carrying `first_txs`, as headers-first
/// sync would (requested: a side branch is stored before it has the most work); returns the last
/// block's hash and the total blocks disconnected and connected along the way.
fn branch(h: &mut Harness, parent: BlockHash, n: usize, first_txs: Vec<Transaction>, fees: Amount, salt: u8) -> (BlockHash, usize, usize) {
    let (mut parent, mut txs, mut fees) = (parent, first_txs, fees);
    let (mut disconnected, mut connected) = (0, 0);
    for _ in 0..n {
        let b = h.build_on(parent, std::mem::take(&mut txs), fees, salt);
        fees = Amount::ZERO;
        parent = b.block_hash();
        let r = h.submit_requested(b).unwrap();
        disconnected += r.update.disconnected().count();
        connected += r.update.connected().count();
    }
    (parent, disconnected, connected)
}

#[test]
fn more_work_branch_replaces_the_tip_and_utxo_matches_a_fresh_node() {
    let mut h = Harness::regtest();
    h.mine(110);
    let fork = h.chain.tip_hash();
    // Branch A (active first): 3 blocks, with a payment to key 2 in the mempool first.
    let pay_a = h.pay_from_coinbase(1, &lock_of(&key(2)), 50_000, 1_000);
    let only_in_a = h.pay_from_coinbase(2, &lock_of(&key(2)), 60_000, 1_000);
    h.mempool.accept(pay_a.clone(), &h.chain, h.now).unwrap();
    h.mempool.accept(only_in_a.clone(), &h.chain, h.now).unwrap();
    h.mine(3);
    assert!(h.mempool.is_empty());
    let a_tip = h.chain.tip_hash();
    // Branch B: 4 blocks from the fork, containing pay_a (confirmed on both) but not only_in_a.
    let (b_tip, disconnected, connected) = branch(&mut h, fork, 4, vec![pay_a.clone()], units(1_000), 9);
    assert_eq!(h.chain.tip_hash(), b_tip);
    assert_ne!(h.chain.tip_hash(), a_tip);
    assert_eq!((disconnected, connected), (3, 4));
    // The transaction confirmed only on the losing branch is back in the mempool; the one on both is not.
    assert!(h.mempool.contains(&only_in_a.compute_txid()));
    assert!(!h.mempool.contains(&pay_a.compute_txid()));
    // A node that only ever saw the winning branch has the same UTXO set.
    let mut fresh = Harness::regtest();
    fresh.now = h.now;
    for height in 1..=h.chain.height() {
        let hash = h.chain.block_hash_at(height).unwrap();
        fresh.submit(h.chain.get_block(&hash).unwrap().unwrap()).unwrap();
    }
    assert_eq!(fresh.chain.tip_hash(), b_tip);
    assert_eq!(fresh.stats(), h.stats());
    assert_eq!(h.chain.recompute_utxo_stats().unwrap(), h.stats());
}

#[test]
fn equal_work_branch_does_not_replace_the_first_seen() {
    let mut h = Harness::regtest();
    h.mine(5);
    let fork = h.chain.block_hash_at(3).unwrap();
    let tip = h.chain.tip_hash();
    let (other, disconnected, connected) = branch(&mut h, fork, 2, vec![], Amount::ZERO, 7);
    assert_eq!((disconnected, connected), (0, 0));
    assert_eq!(h.chain.tip_hash(), tip);
    // One more block on the other branch gives it more work: now it wins.
    let (winner, disconnected, connected) = branch(&mut h, other, 1, vec![], Amount::ZERO, 7);
    assert_eq!((disconnected, connected), (2, 3));
    assert_eq!(h.chain.tip_hash(), winner);
}

#[test]
fn reorg_onto_a_branch_with_an_invalid_block_falls_back() {
    let mut h = Harness::regtest();
    h.mine(110);
    let fork = h.chain.block_hash_at(108).unwrap();
    let tip = h.chain.tip_hash();
    let stats = h.stats();
    // B1 valid, B2 invalid (bad signature), B3 on top: more work than the active chain once B3 arrives.
    let b1 = h.build_on(fork, vec![], Amount::ZERO, 3);
    let mut bad = h.pay_from_coinbase(1, &lock_of(&key(2)), 1_000, 0);
    bad.outputs[0].value = units(5_000);
    h.submit_requested(b1.clone()).unwrap();
    let b2 = h.build_on(b1.block_hash(), vec![bad], Amount::ZERO, 3);
    h.submit_requested(b2.clone()).unwrap();
    let b3 = h.build_on(b2.block_hash(), vec![], Amount::ZERO, 3);
    let r = h.submit_requested(b3.clone()).unwrap();
    assert_eq!(r.update.invalid.len(), 1);
    assert_eq!(r.update.invalid[0].0, b2.block_hash());
    // Back on the original chain, with its UTXO set intact.
    assert_eq!(h.chain.tip_hash(), tip);
    assert_eq!(h.stats(), stats);
    assert!(h.chain.index_record(&b2.block_hash()).unwrap().is_failed());
    assert!(h.chain.index_record(&b3.block_hash()).unwrap().is_failed());
}

/// On testnet the difficulty varies with time, so a branch can be longer yet carry less work.
#[test]
fn longer_branch_with_less_work_does_not_replace_the_tip() {
    let mut h = Harness::new(Network::Testnet);
    let params = Network::Testnet.params();
    let g = h.chain.tip_hash();
    // Blocks 1 and 2 both use the anchor target (2^231): mine them with two threads.
    let mut prefix = Vec::new();
    for i in 0..2 {
        let parent = prefix.last().map(Block::block_hash).unwrap_or(g);
        let mut b = h.build_unsolved(parent, vec![], Amount::ZERO, 40 + i);
        if i == 1 {
            // Far behind schedule: the next target is the easiest allowed.
            b.header.time += 100_000;
        }
        let b = mine_hard(b);
        h.now = u64::from(b.header.time);
        h.submit(b.clone()).unwrap();
        prefix.push(b);
    }
    let anchor_time = prefix[0].header.time;
    let p2 = prefix[1].block_hash();
    // Branch A: A3 is timed so that A4's target is 2^240 (about 2^16 work); 2 blocks.
    let mut a3 = h.build_unsolved(p2, vec![], Amount::ZERO, 1);
    a3.header.time = anchor_time + 20 + 9 * 600;
    let a3 = mine_hard(a3);
    h.submit(a3.clone()).unwrap();
    let a4 = mine_hard(h.build_unsolved(a3.block_hash(), vec![], Amount::ZERO, 1));
    assert_eq!(U256::from_compact(a4.header.bits).unwrap(), U256::ONE << 240);
    h.submit(a4.clone()).unwrap();
    assert_eq!(h.chain.tip_hash(), a4.block_hash());
    // Branch B: 3 blocks at the easiest target (work 2 each): longer, less work.
    let mut parent = p2;
    for _ in 0..3 {
        let mut b = h.build_unsolved(parent, vec![], Amount::ZERO, 2);
        b.header.time = h.chain.index_record(&parent).unwrap().header.time + 100_000;
        h.now = u64::from(b.header.time);
        let b = mine_hard(b);
        assert_eq!(b.header.bits, params.pow_limit_bits);
        parent = b.block_hash();
        h.submit_requested(b).unwrap();
    }
    let b_rec = *h.chain.index_record(&parent).unwrap();
    assert!(b_rec.height > h.chain.height());
    assert!(b_rec.chain_work < h.chain.tip().chain_work);
    assert_eq!(h.chain.tip_hash(), a4.block_hash());
    assert_eq!(work_for_bits(a4.header.bits), U256::from_u64(65_535));
}

/// Finding 1: a block nobody asked for whose branch has less work than the tip is neither stored
/// nor reported accepted (so not relayed); the same block asked for by sync is stored; a
/// competing block with equal work is stored, as Core does.
#[test]
fn unrequested_blocks_on_branches_with_less_work_are_not_stored() {
    let mut h = Harness::regtest();
    h.mine(10);
    let tip = h.chain.tip_hash();
    let fork = h.chain.block_hash_at(7).unwrap();
    let low = h.build_on(fork, vec![], Amount::ZERO, 5);
    let r = h.submit(low.clone()).unwrap();
    assert_eq!(r.status, BlockStatus::LowWork);
    assert!(!h.chain.contains_block(&low.block_hash()));
    assert!(h.chain.get_block(&low.block_hash()).unwrap().is_none(), "nothing written");
    assert_eq!(h.chain.tip_hash(), tip);
    // Asked for (headers-first sync has seen a branch with more work behind it): stored.
    assert_eq!(h.submit_requested(low.clone()).unwrap().status, BlockStatus::Accepted);
    assert!(h.chain.contains_block(&low.block_hash()));
    // A sibling of the tip has as much work as the tip: stored, the tip stays first seen.
    let parent = h.chain.block_hash_at(9).unwrap();
    let sibling = h.build_on(parent, vec![], Amount::ZERO, 6);
    assert_eq!(h.submit(sibling.clone()).unwrap().status, BlockStatus::Accepted);
    assert!(h.chain.contains_block(&sibling.block_hash()));
    assert_eq!(h.chain.tip_hash(), tip);
}

/// An unrequested orphan that turns out, once its parent arrives, to sit on a branch with less
/// work than the tip is dropped, not stored.
#[test]
fn unrequested_orphans_on_branches_with_less_work_are_dropped_when_their_parent_arrives() {
    let mut h = Harness::regtest();
    h.mine(10);
    // The branch is built on a node that shares blocks 1..=5 and has nothing after them.
    let mut src = Harness::regtest();
    src.now = h.now;
    for height in 1..=5 {
        src.submit(h.chain.get_block(&h.chain.block_hash_at(height).unwrap()).unwrap().unwrap())
            .unwrap();
    }
    let mut branch = Vec::new();
    for _ in 0..3 {
        let b = src.build_on(src.chain.tip_hash(), vec![], Amount::ZERO, 5);
        src.submit(b.clone()).unwrap();
        branch.push(b);
    }
    let [b1, b2, b3] = [branch[0].clone(), branch[1].clone(), branch[2].clone()];
    // b1 is stored because sync asked for it; b3 came by gossip before b2.
    h.submit_requested(b1).unwrap();
    assert_eq!(h.submit(b3.clone()).unwrap().status, BlockStatus::Orphan);
    // b2 itself is low-work and unrequested: not stored; b3 waits on.
    assert_eq!(h.submit(b2.clone()).unwrap().status, BlockStatus::LowWork);
    assert_eq!(h.chain.orphan_count(), 1);
    // b2 asked for: stored, and b3 (unrequested, a chain of 8 blocks against the tip's 10)
    // dropped from the pool without being stored.
    assert_eq!(h.submit_requested(b2.clone()).unwrap().status, BlockStatus::Accepted);
    assert!(h.chain.contains_block(&b2.block_hash()));
    assert!(!h.chain.contains_block(&b3.block_hash()));
    assert_eq!(h.chain.orphan_count(), 0);
}

/// Finding 10: a transaction verified on its way into the mempool is not verified again when
/// its block connects, nor when a reorg takes the block off and a branch that also carries it
/// connects; a transaction whose signature does not match is still refused.
#[test]
fn signatures_verified_in_the_mempool_are_not_verified_again() {
    let mut h = Harness::regtest();
    h.mine(110);
    let fork = h.chain.tip_hash();
    let pays: Vec<Transaction> = (1..=3).map(|i| h.pay_from_coinbase(i, &lock_of(&key(2)), 50_000, 1_000)).collect();
    for tx in &pays {
        h.mempool.accept(tx.clone(), &h.chain, h.now).unwrap();
    }
    let entries = h.chain.sig_cache().len();
    assert_eq!(entries, 3);
    let before = h.chain.sig_cache().hits();
    h.mine(1);
    assert!(h.mempool.is_empty());
    assert_eq!(
        h.chain.sig_cache().hits() - before,
        3,
        "the block's three checks came from the cache"
    );
    // A branch of two blocks carrying the same payments replaces it: the disconnected ones go
    // back to the mempool and into the branch without a second verification.
    let before = h.chain.sig_cache().hits();
    let (tip, disconnected, _) = branch(&mut h, fork, 2, pays.clone(), units(3_000), 4);
    assert_eq!(h.chain.tip_hash(), tip);
    assert_eq!(disconnected, 1);
    assert!(h.chain.sig_cache().hits() - before >= 3);
    assert_eq!(h.chain.sig_cache().len(), entries, "no check was stored twice");
    // A payment with a signature from another transaction is refused, cache or not.
    let mut forged = h.pay_from_coinbase(4, &lock_of(&key(2)), 50_000, 1_000);
    forged.inputs[0].signature = pays[0].inputs[0].signature.clone();
    let e = h.mempool.accept(forged, &h.chain, h.now).unwrap_err();
    assert!(e.to_string().contains("signature"), "{e}");
}

/// Finding 2 at its root: a reorg that fails halfway is reported step by step in the order it
/// happened, so a follower that applies the steps in order ends on the chain's tip. (Before,
/// the update listed every disconnect, then every connect: applied in that order, a block the
/// chain took off again read as connected.)
#[test]
fn a_failed_reorg_is_reported_in_the_order_it_happened() {
    let mut h = Harness::regtest();
    h.mine(110);
    let fork = h.chain.block_hash_at(108).unwrap();
    let (a1, a2) = (h.chain.block_hash_at(109).unwrap(), h.chain.block_hash_at(110).unwrap());
    let b1 = h.build_on(fork, vec![], Amount::ZERO, 3);
    let mut bad = h.pay_from_coinbase(1, &lock_of(&key(2)), 1_000, 0);
    bad.outputs[0].value = units(5_000);
    h.submit_requested(b1.clone()).unwrap();
    let b2 = h.build_on(b1.block_hash(), vec![bad], Amount::ZERO, 3);
    h.submit_requested(b2.clone()).unwrap();
    let b3 = h.build_on(b2.block_hash(), vec![], Amount::ZERO, 3);
    let r = h.submit_requested(b3).unwrap();
    let steps: Vec<(char, BlockHash, u32)> = r
        .update
        .events
        .iter()
        .map(|e| match e {
            TipEvent::Connected { block, height } => ('+', block.block_hash(), *height),
            TipEvent::Disconnected { block, height } => ('-', block.block_hash(), *height),
        })
        .collect();
    let b1h = b1.block_hash();
    assert_eq!(
        steps,
        vec![
            ('-', a2, 110),
            ('-', a1, 109),
            ('+', b1h, 109),
            ('-', b1h, 109),
            ('+', a1, 109),
            ('+', a2, 110)
        ]
    );
    // Replaying the steps in order on the chain as it was before leaves the chain as it is.
    let mut followed: Vec<BlockHash> = (0..=110).map(|height| h.chain.block_hash_at(height).unwrap()).collect();
    for (kind, hash, height) in &steps {
        match kind {
            '-' => assert_eq!(followed.pop(), Some(*hash)),
            _ => {
                assert_eq!(followed.len() as u32, *height);
                followed.push(*hash);
            }
        }
    }
    assert_eq!(followed.last(), Some(&h.chain.tip_hash()));
    assert_eq!(followed.len() as u32, h.chain.height() + 1);
}

#[test]
fn chain_tips_name_the_active_tip_and_every_branch_as_core_does() {
    let mut h = Harness::regtest();
    h.mine(10);
    let fork = h.chain.tip_hash();
    h.mine(3);
    let a_tip = h.chain.tip_hash();
    // B overtakes A (A was connected once: a valid fork); C, shorter, is stored but never
    // connected (valid headers, in Core's words).
    let (b_tip, _, _) = branch(&mut h, fork, 4, Vec::new(), Amount::ZERO, 9);
    let (c_tip, _, _) = branch(&mut h, fork, 2, Vec::new(), Amount::ZERO, 7);
    assert_eq!(h.chain.tip_hash(), b_tip);
    let tips = h.chain.chain_tips();
    let find = |hash: BlockHash| tips.iter().find(|t| t.hash == hash).copied().unwrap();
    assert_eq!(tips.len(), 3, "{tips:?}");
    assert_eq!(tips[0].hash, b_tip, "highest first");
    assert_eq!(
        (find(b_tip).status, find(b_tip).branchlen, find(b_tip).height),
        (TipStatus::Active, 0, 14)
    );
    assert_eq!(
        (find(a_tip).status, find(a_tip).branchlen, find(a_tip).height),
        (TipStatus::ValidFork, 3, 13)
    );
    assert_eq!(
        (find(c_tip).status, find(c_tip).branchlen, find(c_tip).height),
        (TipStatus::ValidHeaders, 2, 12)
    );
    assert_eq!(TipStatus::ValidHeaders.as_str(), "valid-headers");
    // A fresh chain has one tip: genesis, active.
    let fresh = Harness::regtest();
    let only = fresh.chain.chain_tips();
    assert_eq!(only.len(), 1);
    assert_eq!((only[0].height, only[0].branchlen, only[0].status), (0, 0, TipStatus::Active));
}
