//! Every block rule, with a valid case and its invalid case, through `process_block`.

use cairn_chain::*;

use crate::common::*;

fn expect_block_err(h: &mut Harness, block: Block) -> BlockError {
    match h.submit(block) {
        Err(ChainError::Block(e)) => e,
        other => {
            // Errors found while connecting are reported in the update and leave the tip alone.
            let r = other.expect("no store error");
            assert_eq!(r.update.invalid.len(), 1, "expected the block to be rejected, got {r:?}");
            r.update.invalid[0].1.clone()
        }
    }
}

#[test]
fn valid_block_extends_the_tip() {
    let mut h = Harness::regtest();
    let tip = h.chain.tip_hash();
    let b = h.build_on(tip, vec![], Amount::ZERO, 0);
    let hash = b.block_hash();
    let r = h.submit(b).unwrap();
    assert_eq!(r.status, BlockStatus::Accepted);
    assert_eq!(h.chain.tip_hash(), hash);
    assert_eq!(h.chain.height(), 1);
    assert_eq!(h.stats().txouts, 1);
}

#[test]
fn proof_of_work_must_meet_the_target() {
    let mut h = Harness::regtest();
    let mut b = h.build_on(h.chain.tip_hash(), vec![], Amount::ZERO, 0);
    // Find a nonce whose hash is above the (trivial) target.
    let limit = Network::Regtest.params().pow_limit;
    while cairn_chain::pow::check_proof_of_work(&b.block_hash(), b.header.bits, limit).is_ok() {
        b.header.nonce += 1;
    }
    assert_eq!(expect_block_err(&mut h, b), BlockError::HighHash);
    assert_eq!(h.chain.height(), 0);
}

#[test]
fn difficulty_bits_must_follow_the_rule() {
    let mut h = Harness::regtest();
    let mut b = h.build_on(h.chain.tip_hash(), vec![], Amount::ZERO, 0);
    b.header.bits = 0x2000ffff; // a valid, harder target, but not the required one
    solve(&mut b);
    assert_eq!(
        expect_block_err(&mut h, b),
        BlockError::WrongBits {
            expected: 0x207fffff,
            got: 0x2000ffff
        }
    );
}

#[test]
fn merkle_root_must_match() {
    let mut h = Harness::regtest();
    let mut b = h.build_on(h.chain.tip_hash(), vec![], Amount::ZERO, 0);
    b.header.merkle_root = cairn_chain::hash::MerkleRoot::from_byte_array([9; 32]);
    solve(&mut b);
    assert_eq!(expect_block_err(&mut h, b), BlockError::BadMerkleRoot);
}

#[test]
fn duplicated_transactions_mutation_is_rejected_without_poisoning_the_hash() {
    let mut h = Harness::regtest();
    h.mine(101);
    let t1 = h.pay_from_coinbase(1, &lock_of(&key(2)), 1_000, 1_000);
    let t2 = h.pay_from_coinbase(2, &lock_of(&key(2)), 1_000, 1_000);
    let good = h.build_on(h.chain.tip_hash(), vec![t1, t2.clone()], units(2_000), 0);
    // [cb, t1, t2] and [cb, t1, t2, t2] share a merkle root and so a block hash.
    let mut mutated = good.clone();
    mutated.txdata.push(t2);
    assert_eq!(mutated.block_hash(), good.block_hash());
    assert_eq!(expect_block_err(&mut h, mutated), BlockError::MutatedMerkle);
    // The genuine block with the same hash is still accepted.
    let hash = good.block_hash();
    h.submit(good).unwrap();
    assert_eq!(h.chain.tip_hash(), hash);
}

/// A structurally valid transaction of exactly 64 bytes (its input spends nothing real).
fn sixty_four_byte_tx() -> Transaction {
    use cairn_chain::encode::Encodable;
    let mut tx = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint {
                txid: Txid::from_byte_array([7; 32]),
                vout: 0,
            },
            signature: vec![],
            pubkey: vec![],
        }],
        outputs: vec![TxOut {
            value: Amount::ZERO,
            lock: Lock::DataCarrier(vec![]),
        }],
        lock_time: 0,
    };
    let len = tx.encode().len();
    assert!(len < 64, "{len}");
    tx.outputs[0].lock = Lock::DataCarrier(vec![0x40; 64 - len]);
    assert_eq!(tx.encode().len(), 64);
    tx
}

#[test]
fn a_64_byte_transaction_is_refused_before_its_block_is_stored_or_its_hash_judged() {
    let mut h = Harness::regtest();
    h.mine(1);
    let b = h.build_on(h.chain.tip_hash(), vec![sixty_four_byte_tx()], Amount::ZERO, 0);
    let hash = b.block_hash();
    let is_64 = |e: &BlockError| {
        matches!(
            e,
            BlockError::Tx {
                error: TxError::SixtyFourBytes,
                ..
            }
        )
    };
    let e = expect_block_err(&mut h, b.clone());
    assert!(is_64(&e), "{e:?}");
    assert!(
        h.chain.index_record(&hash).is_none(),
        "a block with a 64-byte transaction is not stored"
    );
    // Nor remembered as invalid: a body that may be forged never poisons the hash of its header.
    let e = expect_block_err(&mut h, b);
    assert!(is_64(&e), "{e:?}");
    assert!(!h.chain.is_known_invalid(&hash));
}

#[test]
fn exactly_one_coinbase_and_it_comes_first() {
    let mut h = Harness::regtest();
    h.mine(101);
    let tip = h.chain.tip_hash();
    let t1 = h.pay_from_coinbase(1, &lock_of(&key(2)), 1_000, 0);

    let mut b = h.build_on(tip, vec![t1.clone()], Amount::ZERO, 0);
    b.txdata.swap(0, 1);
    fix_merkle(&mut b);
    solve(&mut b);
    assert_eq!(expect_block_err(&mut h, b), BlockError::FirstNotCoinbase);

    let mut b = h.build_on(tip, vec![], Amount::ZERO, 0);
    let second = coinbase(102, units(1), &h.lock, 7);
    b.txdata.push(second);
    fix_merkle(&mut b);
    solve(&mut b);
    assert_eq!(expect_block_err(&mut h, b), BlockError::MultipleCoinbase);

    let mut b = h.build_on(tip, vec![], Amount::ZERO, 0);
    b.txdata.clear();
    fix_merkle(&mut b);
    solve(&mut b);
    assert_eq!(expect_block_err(&mut h, b), BlockError::NoTransactions);
}

#[test]
fn coinbase_must_carry_the_height() {
    let mut h = Harness::regtest();
    let mut b = h.build_on(h.chain.tip_hash(), vec![], Amount::ZERO, 0);
    b.txdata[0].inputs[0].signature[0] = 9;
    fix_merkle(&mut b);
    solve(&mut b);
    assert_eq!(expect_block_err(&mut h, b), BlockError::BadCoinbaseHeight { expected: 1 });
}

#[test]
fn coinbase_pays_at_most_subsidy_plus_fees() {
    let mut h = Harness::regtest();
    h.mine(101);
    let tip = h.chain.tip_hash();
    let tx = h.pay_from_coinbase(1, &lock_of(&key(2)), 1_000, 5_000);
    // Claiming exactly the fee is fine...
    let ok = h.build_on(tip, vec![tx.clone()], units(5_000), 0);
    // ...one unit more is not.
    let bad = h.build_on(tip, vec![tx], units(5_001), 1);
    let limit = Amount::from_coins(50).unwrap().checked_add(units(5_000)).unwrap();
    assert_eq!(
        expect_block_err(&mut h, bad),
        BlockError::CoinbaseTooLarge {
            paid: limit.checked_add(units(1)).unwrap(),
            limit
        }
    );
    h.submit(ok).unwrap();
    assert_eq!(h.chain.height(), 102);
}

#[test]
fn subsidy_halves_on_schedule() {
    let mut h = Harness::regtest();
    h.mine(149);
    let tip = h.chain.tip_hash();
    // Height 150 is the first halving on regtest: 50 coins is too much.
    let mut b = h.build_on(tip, vec![], Amount::ZERO, 0);
    b.txdata[0].outputs[0].value = Amount::from_coins(50).unwrap();
    fix_merkle(&mut b);
    solve(&mut b);
    assert!(matches!(expect_block_err(&mut h, b), BlockError::CoinbaseTooLarge { .. }));
    let ok = h.build_on(tip, vec![], Amount::ZERO, 1);
    assert_eq!(ok.txdata[0].outputs[0].value, Amount::from_coins(25).unwrap());
    h.submit(ok).unwrap();
    assert_eq!(h.chain.height(), 150);
}

#[test]
fn coinbase_outputs_mature_after_100_blocks() {
    let mut h = Harness::regtest();
    h.mine(100);
    // At height 101 the coinbase of block 2 has 99 confirmations: too young.
    let young = h.pay_from_coinbase(2, &lock_of(&key(2)), 1_000, 0);
    let b = h.build_on(h.chain.tip_hash(), vec![young], Amount::ZERO, 0);
    match expect_block_err(&mut h, b) {
        BlockError::Tx {
            error: TxError::ImmatureCoinbase { depth: 99, .. },
            ..
        } => {}
        e => panic!("unexpected {e:?}"),
    }
    // The coinbase of block 1 has 100: spendable.
    let mature = h.pay_from_coinbase(1, &lock_of(&key(2)), 1_000, 0);
    let b = h.build_on(h.chain.tip_hash(), vec![mature], Amount::ZERO, 1);
    h.submit(b).unwrap();
    assert_eq!(h.chain.height(), 101);
}

#[test]
fn no_output_is_spent_twice() {
    let mut h = Harness::regtest();
    h.mine(102);
    let tip = h.chain.tip_hash();
    let a = h.pay_from_coinbase(1, &lock_of(&key(2)), 1_000, 0);
    let b = h.pay_from_coinbase(1, &lock_of(&key(3)), 2_000, 0);
    // Within one block.
    let block = h.build_on(tip, vec![a.clone(), b.clone()], Amount::ZERO, 0);
    match expect_block_err(&mut h, block) {
        BlockError::Tx {
            index: 2,
            error: TxError::MissingOrSpent(_),
            ..
        } => {}
        e => panic!("unexpected {e:?}"),
    }
    // Against the chain.
    let block = h.build_on(tip, vec![a], Amount::ZERO, 1);
    h.submit(block).unwrap();
    let block = h.build_on(h.chain.tip_hash(), vec![b], Amount::ZERO, 2);
    assert!(matches!(
        expect_block_err(&mut h, block),
        BlockError::Tx {
            error: TxError::MissingOrSpent(_),
            ..
        }
    ));
    assert_eq!(h.chain.height(), 103);
}

#[test]
fn spending_an_output_of_an_earlier_transaction_in_the_same_block_is_allowed() {
    let mut h = Harness::regtest();
    h.mine(101);
    let parent = h.pay_from_coinbase(1, &h.lock.clone(), 1_000_000, 0);
    let out = (OutPoint::new(parent.compute_txid(), 0), parent.outputs[0].clone());
    let child = h.spend(
        &[out],
        vec![TxOut {
            value: units(999_000),
            lock: lock_of(&key(2)),
        }],
    );
    // Wrong order: the child's input does not exist yet.
    let bad = h.build_on(h.chain.tip_hash(), vec![child.clone(), parent.clone()], units(1_000), 0);
    assert!(matches!(
        expect_block_err(&mut h, bad),
        BlockError::Tx {
            index: 1,
            error: TxError::MissingOrSpent(_),
            ..
        }
    ));
    let good = h.build_on(h.chain.tip_hash(), vec![parent, child], units(1_000), 1);
    h.submit(good).unwrap();
    assert_eq!(h.chain.height(), 102);
}

#[test]
fn block_size_is_capped() {
    let mut h = Harness::regtest();
    let mut b = h.build_on(h.chain.tip_hash(), vec![], Amount::ZERO, 0);
    b.txdata[0].outputs.extend((0..12_000).map(|_| TxOut {
        value: Amount::ZERO,
        lock: Lock::DataCarrier(vec![0; 80]),
    }));
    fix_merkle(&mut b);
    solve(&mut b);
    assert!(matches!(expect_block_err(&mut h, b), BlockError::TooLarge { max: 1_000_000, .. }));
}

#[test]
fn time_must_be_above_median_and_not_too_far_ahead() {
    let mut h = Harness::regtest();
    h.mine(11);
    let tip = h.chain.tip_hash();
    let mtp = h.chain.median_time_past(&tip);
    let mut b = h.build_on(tip, vec![], Amount::ZERO, 0);
    b.header.time = mtp;
    solve(&mut b);
    assert_eq!(expect_block_err(&mut h, b), BlockError::TimeTooOld { time: mtp, mtp });
    let mut b = h.build_on(tip, vec![], Amount::ZERO, 1);
    b.header.time = (h.now + 2 * 3600 + 1) as u32;
    solve(&mut b);
    assert!(matches!(expect_block_err(&mut h, b), BlockError::TimeTooNew { .. }));
    // Exactly two hours ahead is allowed.
    let mut b = h.build_on(tip, vec![], Amount::ZERO, 2);
    b.header.time = (h.now + 2 * 3600) as u32;
    solve(&mut b);
    h.submit(b).unwrap();
    assert_eq!(h.chain.height(), 12);
}

#[test]
fn transactions_in_a_block_are_fully_validated() {
    let mut h = Harness::regtest();
    h.mine(101);
    let tip = h.chain.tip_hash();
    let mut bad_sig = h.pay_from_coinbase(1, &lock_of(&key(2)), 1_000, 5_000);
    bad_sig.outputs[0].value = units(2_000);
    let b = h.build_on(tip, vec![bad_sig], units(4_000), 0);
    assert!(matches!(
        expect_block_err(&mut h, b),
        BlockError::Tx {
            error: TxError::BadSignature { index: 0 },
            ..
        }
    ));
    let (op, out) = h.coinbase_of(1);
    let overspend = h.spend(
        &[(op, out.clone())],
        vec![TxOut {
            value: out.value.checked_add(units(1)).unwrap(),
            lock: h.lock.clone(),
        }],
    );
    let b = h.build_on(tip, vec![overspend], Amount::ZERO, 1);
    assert!(matches!(
        expect_block_err(&mut h, b),
        BlockError::Tx {
            error: TxError::InputsBelowOutputs { .. },
            ..
        }
    ));
    let missing = h.spend(
        &[(OutPoint::new(Txid::from_byte_array([5; 32]), 0), out)],
        vec![TxOut {
            value: units(1),
            lock: h.lock.clone(),
        }],
    );
    let b = h.build_on(tip, vec![missing], Amount::ZERO, 2);
    assert!(matches!(
        expect_block_err(&mut h, b),
        BlockError::Tx {
            error: TxError::MissingOrSpent(_),
            ..
        }
    ));
    assert_eq!(h.chain.tip_hash(), tip);
}

#[test]
fn invalid_blocks_are_remembered_and_their_children_rejected() {
    let mut h = Harness::regtest();
    h.mine(101);
    let tip = h.chain.tip_hash();
    let mut bad = h.pay_from_coinbase(1, &lock_of(&key(2)), 1_000, 0);
    bad.outputs[0].value = units(2_000);
    let b = h.build_on(tip, vec![bad], Amount::ZERO, 0);
    let bad_hash = b.block_hash();
    expect_block_err(&mut h, b.clone());
    // Resubmitting is answered from memory.
    assert!(matches!(h.submit(b), Err(ChainError::Block(BlockError::KnownInvalid(x))) if x == bad_hash));
    // A child of the invalid block is rejected without validation of its own.
    let child = h.build_on(bad_hash, vec![], Amount::ZERO, 1);
    assert!(matches!(h.submit(child), Err(ChainError::Block(BlockError::InvalidParent(x))) if x == bad_hash));
    // The memory survives a restart.
    let mut h = h.reopen();
    let rec = h.chain.index_record(&bad_hash).unwrap();
    assert!(rec.is_failed());
    assert_eq!(h.chain.tip_hash(), tip);
    let b = h.chain.get_block(&bad_hash).unwrap().unwrap();
    assert!(matches!(h.submit(b), Err(ChainError::Block(BlockError::KnownInvalid(_)))));
}

#[test]
fn orphans_wait_for_their_parent() {
    let mut h = Harness::regtest();
    let g = h.chain.tip_hash();
    let b1 = h.build_on(g, vec![], Amount::ZERO, 0);
    // Build b2 and b3 on b1 without telling the chain about b1: use a second chain state.
    let mut other = Harness::regtest();
    other.now = h.now;
    other.submit(b1.clone()).unwrap();
    let b2 = other.build_on(b1.block_hash(), vec![], Amount::ZERO, 0);
    other.submit(b2.clone()).unwrap();
    let b3 = other.build_on(b2.block_hash(), vec![], Amount::ZERO, 0);
    assert_eq!(h.submit(b3.clone()).unwrap().status, BlockStatus::Orphan);
    assert_eq!(h.submit(b2).unwrap().status, BlockStatus::Orphan);
    assert_eq!(h.chain.orphan_count(), 2);
    let r = h.submit(b1).unwrap();
    assert_eq!(r.update.connected().count(), 3);
    assert_eq!(h.chain.tip_hash(), b3.block_hash());
    assert_eq!(h.chain.orphan_count(), 0);
}

#[test]
fn an_orphan_must_be_nearly_as_hard_as_our_next_block_unless_we_asked_for_it() {
    let mut h = Harness::new(Network::Testnet);
    let g = h.chain.tip_hash();
    let orphan = |h: &Harness, parent: u8, bits: u32| {
        let mut b = h.build_unsolved(g, vec![], Amount::ZERO, parent);
        b.header.prev_blockhash = BlockHash::from_byte_array([parent; 32]);
        b.header.bits = bits;
        b
    };
    // Claiming the proof-of-work limit: nearly free, refused, not held.
    let mut cheap = orphan(&h, 5, 0x207f_ffff);
    solve(&mut cheap);
    match h.submit(cheap.clone()) {
        Err(ChainError::Block(BlockError::OrphanTooEasy { bits: 0x207f_ffff, .. })) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(h.chain.orphan_count(), 0);
    // The same block asked for by sync (its header chain was checked already) is held.
    assert_eq!(h.chain.process_requested_block(cheap, h.now).unwrap().status, BlockStatus::Orphan);
    assert_eq!(h.chain.orphan_count(), 1);
    // At the floor, 16 times easier than our next block: held.
    let next = h.chain.next_block_context(h.now).expected_bits;
    let floor = (pow::U256::from_compact(next).unwrap() << 4).to_compact();
    let hard = mine_hard(orphan(&h, 6, floor));
    assert_eq!(h.submit(hard).unwrap().status, BlockStatus::Orphan);
    assert_eq!(h.chain.orphan_count(), 2);
}

#[test]
fn reindex_rebuilds_the_same_utxo_set() {
    let mut h = Harness::regtest();
    h.mine(105);
    for height in 1..=3 {
        let tx = h.pay_from_coinbase(height, &lock_of(&key(2)), 10_000, 1_000);
        h.mempool.accept(tx, &h.chain, h.now).unwrap();
    }
    h.mine(2);
    let before = h.stats();
    let tip = h.chain.tip_hash();
    h.chain.reindex_chainstate().unwrap();
    assert_eq!(h.chain.tip_hash(), tip);
    assert_eq!(h.stats(), before);
    assert_eq!(h.chain.recompute_utxo_stats().unwrap(), before);
}

#[test]
fn a_store_of_another_network_is_refused() {
    let h = Harness::regtest();
    let path = h.dir.path().to_path_buf();
    drop(h.chain);
    let err = Chainstate::open(&path, Network::Testnet, StoreOptions::default()).unwrap_err();
    assert!(matches!(err, ChainError::Store(StoreError::WrongNetwork { .. })), "{err}");
}

mod hostile_input {
    use cairn_chain::encode::{Decodable, Encodable};
    use proptest::prelude::*;

    use super::*;

    /// A chain with spendable coins and a valid block of three transactions on its tip.
    fn fixture() -> (Harness, Vec<u8>) {
        let mut h = Harness::regtest();
        h.mine(103);
        let txs = (1..=3)
            .map(|height| h.pay_from_coinbase(height, &lock_of(&key(2)), 1_000, 1_000))
            .collect();
        let block = h.build_on(h.chain.tip_hash(), txs, units(3_000), 0);
        (h, block.encode())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        /// Random byte flips in a valid block: decoding and processing either succeed or return an
        /// error; nothing panics and the chain state stays consistent.
        #[test]
        fn mutated_blocks_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
            let (mut h, mut bytes) = fixture();
            for (i, b) in flips {
                let i = i % bytes.len();
                bytes[i] ^= b.max(1);
            }
            if let Ok(block) = Block::decode(&bytes) {
                let _ = h.submit(block);
            }
            prop_assert_eq!(h.chain.utxo_stats().unwrap(), h.chain.recompute_utxo_stats().unwrap());
        }
    }
}

/// With signature checks spread over threads in batches, the reported failure is still the one at
/// the lowest position, so every node gives the same reason.
#[test]
fn parallel_signature_checks_report_the_first_failure() {
    let mut h = Harness::regtest();
    h.mine(101);
    let n = 300usize;
    let (outs, _) = h.split_coinbase(n);
    let mut txs = h.spend_each(&outs);
    for bad in [250usize, 40, 170] {
        txs[bad].inputs[0].signature[10] ^= 1;
    }
    let block = h.build_on(h.chain.tip_hash(), txs, units(1_000 * n as u64), 0);
    match expect_block_err(&mut h, block) {
        // Position in the block: the coinbase is 0, so transaction 40 sits at 41.
        BlockError::Tx {
            index: 41,
            error: TxError::BadSignature { index: 0 } | TxError::MalformedSignature { index: 0 },
            ..
        } => {}
        e => panic!("unexpected {e:?}"),
    }
}
