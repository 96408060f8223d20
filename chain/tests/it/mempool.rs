//! Mempool admission, conflicts, ordering, bounds, and its response to blocks and reorgs.

use cairn_chain::mempool::MempoolError;
use cairn_chain::*;

use crate::common::*;

fn rejected(r: Result<Txid, MempoolError>) -> TxError {
    match r {
        Err(MempoolError::Rejected(e)) => e,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn admits_valid_and_rejects_conflicting_spends_with_a_reason() {
    let mut h = Harness::regtest();
    h.mine(101);
    let a = h.pay_from_coinbase(1, &lock_of(&key(2)), 1_000, 1_000);
    let b = h.pay_from_coinbase(1, &lock_of(&key(3)), 2_000, 5_000);
    let a_id = h.mempool.accept(a.clone(), &h.chain, h.now).unwrap();
    let (op, _) = h.coinbase_of(1);
    assert_eq!(
        rejected(h.mempool.accept(b, &h.chain, h.now)),
        TxError::Conflict { outpoint: op, by: a_id }
    );
    assert_eq!(rejected(h.mempool.accept(a, &h.chain, h.now)), TxError::AlreadyKnown);
    assert_eq!(h.mempool.len(), 1);
}

#[test]
fn rejects_invalid_transactions() {
    let mut h = Harness::regtest();
    h.mine(101);
    // Immature coinbase (block 2's coinbase has 99 confirmations at the next height, 102).
    let young = h.pay_from_coinbase(3, &lock_of(&key(2)), 1_000, 1_000);
    assert!(matches!(
        rejected(h.mempool.accept(young, &h.chain, h.now)),
        TxError::ImmatureCoinbase { .. }
    ));
    // Bad signature.
    let mut bad = h.pay_from_coinbase(1, &lock_of(&key(2)), 1_000, 1_000);
    bad.outputs[0].value = units(1_001);
    assert_eq!(rejected(h.mempool.accept(bad, &h.chain, h.now)), TxError::BadSignature { index: 0 });
    // No fee.
    let free = h.pay_from_coinbase(1, &lock_of(&key(2)), 1_000, 0);
    assert!(matches!(
        rejected(h.mempool.accept(free, &h.chain, h.now)),
        TxError::FeeTooLow { .. }
    ));
    // A coinbase.
    let cb = coinbase(102, units(1), &h.lock, 0);
    assert_eq!(rejected(h.mempool.accept(cb, &h.chain, h.now)), TxError::UnexpectedCoinbase);
    // Unknown input.
    let (_, out) = h.coinbase_of(1);
    let ghost = h.spend(
        &[(OutPoint::new(Txid::from_byte_array([3; 32]), 0), out)],
        vec![TxOut {
            value: units(1),
            lock: h.lock.clone(),
        }],
    );
    assert!(matches!(
        rejected(h.mempool.accept(ghost, &h.chain, h.now)),
        TxError::MissingOrSpent(_)
    ));
    // Lock time in the future.
    let mut later = h.pay_from_coinbase(1, &lock_of(&key(2)), 1_000, 1_000);
    later.lock_time = 500;
    let (op, out) = h.coinbase_of(1);
    let later = {
        let mut t = later;
        t.inputs[0].signature.clear();
        cairn_chain::sighash::sign_input(&mut t, 0, &out, &h.key);
        let _ = op;
        t
    };
    assert_eq!(rejected(h.mempool.accept(later, &h.chain, h.now)), TxError::NonFinal);
    assert!(h.mempool.is_empty());
}

#[test]
fn chained_unconfirmed_spends_and_fee_rate_ordering() {
    let mut h = Harness::regtest();
    h.mine(103);
    let low = h.pay_from_coinbase(1, &lock_of(&key(2)), 1_000, 300);
    let high = h.pay_from_coinbase(2, &lock_of(&key(2)), 1_000, 90_000);
    let parent = h.pay_from_coinbase(3, &h.lock.clone(), 1_000_000, 500);
    let child = h.spend(
        &[(OutPoint::new(parent.compute_txid(), 0), parent.outputs[0].clone())],
        vec![TxOut {
            value: units(900_000),
            lock: lock_of(&key(2)),
        }],
    );
    for tx in [low.clone(), high.clone(), parent.clone(), child.clone()] {
        h.mempool.accept(tx, &h.chain, h.now).unwrap();
    }
    let order: Vec<Txid> = h.mempool.select_for_block(1_000_000).iter().map(|e| e.txid).collect();
    // The child pays the highest rate but must follow its parent.
    assert_eq!(order[0], high.compute_txid());
    let pos = |t: &Transaction| order.iter().position(|x| *x == t.compute_txid()).unwrap();
    assert!(pos(&parent) < pos(&child));
    assert!(pos(&high) < pos(&parent) && pos(&parent) < pos(&low));
    // Mined: all leave the pool, and the block pays their fees.
    h.mine(1);
    assert!(h.mempool.is_empty());
    let block = h.chain.get_block(&h.chain.tip_hash()).unwrap().unwrap();
    assert_eq!(block.txdata.len(), 5);
    assert_eq!(
        block.txdata[0].outputs[0].value.to_units(),
        50 * Amount::COIN + 300 + 90_000 + 500 + 100_000
    );
}

/// A transaction spending `from` (our key's output) into `n` equal outputs to our key, fee 10,000.
fn fan_out(h: &Harness, from: (OutPoint, TxOut), n: usize) -> Transaction {
    let each = (from.1.value.to_units() - 10_000) / n as u64;
    let outputs = (0..n)
        .map(|_| TxOut {
            value: units(each),
            lock: h.lock.clone(),
        })
        .collect();
    h.spend(&[from], outputs)
}

fn out(tx: &Transaction, vout: u32) -> (OutPoint, TxOut) {
    (OutPoint::new(tx.compute_txid(), vout), tx.outputs[vout as usize].clone())
}

#[test]
fn a_free_transaction_costs_a_look_up_per_input_not_per_output() {
    let mut h = Harness::regtest();
    h.mine(101);
    // 3,000 outputs, one input that does not exist: the kind of transaction a peer sends for free.
    let missing = (
        OutPoint::new(Txid::from_byte_array([9; 32]), 0),
        TxOut {
            value: units(50 * Amount::COIN),
            lock: h.lock.clone(),
        },
    );
    let junk = fan_out(&h, missing, 3_000);
    let before = h.chain.coin_lookups();
    assert!(matches!(
        rejected(h.mempool.accept(junk, &h.chain, h.now)),
        TxError::MissingOrSpent(_)
    ));
    let looked_up = h.chain.coin_lookups() - before;
    assert!(looked_up <= 1 + 8, "{looked_up} coin look-ups for one input");
    // A confirmed transaction sent again is still recognised.
    let tx = fan_out(&h, h.coinbase_of(1), 2);
    h.mempool.accept(tx.clone(), &h.chain, h.now).unwrap();
    h.mine(1);
    assert_eq!(rejected(h.mempool.accept(tx, &h.chain, h.now)), TxError::AlreadyKnown);
}

#[test]
fn chains_of_unconfirmed_transactions_are_limited_as_in_core() {
    let mut h = Harness::regtest();
    h.mine(101);
    // A chain of 25: each spends the one before. The 26th has 25 ancestors: refused.
    let mut last = fan_out(&h, h.coinbase_of(1), 1);
    h.mempool.accept(last.clone(), &h.chain, h.now).unwrap();
    for _ in 1..mempool::MAX_ANCESTORS {
        let next = fan_out(&h, out(&last, 0), 1);
        h.mempool.accept(next.clone(), &h.chain, h.now).unwrap();
        last = next;
    }
    assert_eq!(h.mempool.len(), 25);
    let e = rejected(h.mempool.accept(fan_out(&h, out(&last, 0), 1), &h.chain, h.now));
    assert!(matches!(&e, TxError::TooLongMempoolChain(m) if m.contains("ancestors")), "{e}");

    // A parent with 24 children has 25 descendants (itself included): a 25th child is refused,
    // though it has a single ancestor.
    let mut h = Harness::regtest();
    h.mine(101);
    let parent = fan_out(&h, h.coinbase_of(1), 30);
    h.mempool.accept(parent.clone(), &h.chain, h.now).unwrap();
    for vout in 0..24 {
        h.mempool.accept(fan_out(&h, out(&parent, vout), 1), &h.chain, h.now).unwrap();
    }
    let e = rejected(h.mempool.accept(fan_out(&h, out(&parent, 24), 1), &h.chain, h.now));
    assert!(matches!(&e, TxError::TooLongMempoolChain(m) if m.contains("descendants")), "{e}");
    assert_eq!(h.mempool.len(), 25);
}

#[test]
fn bounded_by_bytes_evicting_the_lowest_fee_rate() {
    let mut h = Harness::regtest();
    h.mine(104);
    let txs: Vec<Transaction> = (1..=4)
        .map(|height| h.pay_from_coinbase(height, &lock_of(&key(2)), 1_000, 1_000 * u64::from(height)))
        .collect();
    let size = txs[0].size();
    // Room for exactly three.
    h.mempool = Mempool::new(size * 3);
    for tx in &txs[1..4] {
        h.mempool.accept(tx.clone(), &h.chain, h.now).unwrap();
    }
    // The cheapest cannot get in...
    assert!(matches!(
        rejected(h.mempool.accept(txs[0].clone(), &h.chain, h.now)),
        TxError::MempoolFull { .. }
    ));
    // ...a better one evicts the cheapest held (fee 2000).
    let rich = h.pay_from_coinbase(1, &lock_of(&key(3)), 1_000, 9_000);
    h.mempool.accept(rich.clone(), &h.chain, h.now).unwrap();
    assert_eq!(h.mempool.len(), 3);
    assert!(!h.mempool.contains(&txs[1].compute_txid()));
    assert!(h.mempool.contains(&rich.compute_txid()));
    assert!(h.mempool.bytes() <= h.mempool.max_bytes());
}

#[test]
fn a_block_removes_conflicting_pool_transactions() {
    let mut h = Harness::regtest();
    h.mine(101);
    let in_pool = h.pay_from_coinbase(1, &lock_of(&key(2)), 1_000, 1_000);
    h.mempool.accept(in_pool.clone(), &h.chain, h.now).unwrap();
    let in_block = h.pay_from_coinbase(1, &lock_of(&key(3)), 2_000, 1_000);
    let b = h.build_on(h.chain.tip_hash(), vec![in_block], units(1_000), 0);
    h.submit(b).unwrap();
    assert!(h.mempool.is_empty());
}
