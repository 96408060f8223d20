//! `getblockstats`' figures and the chain's transaction counts, checked against a block whose
//! transactions and fees the test chose.

use cairn_chain::encode::Encodable;
use cairn_chain::store::status;
use cairn_chain::*;

use crate::common::*;

#[test]
fn block_stats_count_fees_sizes_and_the_utxo_change_as_core() {
    let mut h = Harness::regtest();
    h.mine(101);
    let (outs, each) = h.split_coinbase(2);
    let to = lock_of(&key(2));
    let pay = |value: u64| TxOut {
        value: units(value),
        lock: to.clone(),
    };
    // a: fee 1,000, one output (back to us); b: fee 5,000, two outputs; c spends a's output in
    // the same block, fee 2,000.
    let a = h.spend(
        &outs[0..1],
        vec![TxOut {
            value: units(each - 1_000),
            lock: h.lock.clone(),
        }],
    );
    let b = h.spend(&outs[1..2], vec![pay(1_000_000), pay(each - 1_000_000 - 5_000)]);
    let c = h.spend(
        &[(OutPoint::new(a.compute_txid(), 0), a.outputs[0].clone())],
        vec![pay(each - 1_000 - 2_000)],
    );
    for tx in [&a, &b, &c] {
        h.mempool.accept(tx.clone(), &h.chain, h.now).unwrap();
    }
    let hash = h.mine(1)[0];
    let block = h.chain.get_block(&hash).unwrap().unwrap();
    assert_eq!(block.txdata.len(), 4);
    let st = h.chain.block_stats(&hash).unwrap();
    let sizes: Vec<u64> = [&a, &b, &c].iter().map(|t| t.encode().len() as u64).collect();
    let coinbase_outs = block.txdata[0].outputs.len() as u64;
    assert_eq!((st.txs, st.ins, st.outs), (4, 3, coinbase_outs + 4));
    assert_eq!(
        (st.totalfee, st.minfee, st.maxfee, st.medianfee, st.avgfee),
        (8_000, 1_000, 5_000, 2_000, 2_666)
    );
    assert_eq!(st.total_size, sizes.iter().sum::<u64>());
    assert_eq!(st.total_weight, 4 * st.total_size);
    assert_eq!(st.mintxsize, *sizes.iter().min().unwrap());
    assert_eq!(st.maxtxsize, *sizes.iter().max().unwrap());
    assert_eq!(st.total_out, (each - 1_000) + (each - 5_000) + (each - 3_000));
    assert_eq!(st.subsidy, h.chain.params().block_subsidy(st.height).to_units());
    assert_eq!(st.height, 103);
    // Three coins spent (two from earlier blocks, one made and spent here), four made besides
    // the coinbase's.
    assert_eq!(st.utxo_increase, (coinbase_outs + 4) as i64 - 3);
    assert_eq!(st.utxo_increase_actual, st.utxo_increase);
    let rates: Vec<u64> = [(1_000, sizes[0]), (5_000, sizes[1]), (2_000, sizes[2])]
        .iter()
        .map(|(fee, size)| fee / size)
        .collect();
    assert_eq!(st.minfeerate, *rates.iter().min().unwrap());
    assert_eq!(st.maxfeerate, *rates.iter().max().unwrap());
    assert!(
        st.feerate_percentiles.windows(2).all(|w| w[0] <= w[1]),
        "{:?}",
        st.feerate_percentiles
    );
    assert_eq!(st.feerate_percentiles[4], st.maxfeerate);
    // A block with the coinbase only: no fees, no minimum to show.
    let empty = h.chain.block_stats(&h.chain.block_hash_at(50).unwrap()).unwrap();
    assert_eq!(
        (empty.txs, empty.ins, empty.totalfee, empty.minfee, empty.minfeerate),
        (1, 0, 0, 0, 0)
    );
    assert!(matches!(h.chain.block_stats(&BlockHash::ZERO), Err(StatsError::NotFound)));
}

#[test]
fn transaction_counts_are_kept_and_filled_in_for_records_of_earlier_versions() {
    let mut h = Harness::regtest();
    h.mine(101);
    h.split_coinbase(3);
    let tip = h.chain.tip_hash();
    // Genesis and 101 blocks of one transaction, then one of two (coinbase + split).
    assert_eq!(h.chain.chain_tx_count(&tip), Some(104));
    assert_eq!(h.chain.index_record(&tip).unwrap().tx_count, 2);
    assert_eq!(h.chain.chain_tx_count(&h.chain.block_hash_at(10).unwrap()), Some(11));
    // Records as an earlier version wrote them: no count.
    let old: Vec<_> = (0..=h.chain.height())
        .map(|height| {
            let mut r = *h.chain.index_record(&h.chain.block_hash_at(height).unwrap()).unwrap();
            assert_ne!(r.status & status::HAVE_DATA, 0);
            r.tx_count = 0;
            r
        })
        .collect();
    h.chain.store().put_index(&old).unwrap();
    let h = h.reopen();
    assert_eq!(h.chain.index_record(&tip).unwrap().tx_count, 2);
    assert_eq!(h.chain.chain_tx_count(&tip), Some(104));
}
