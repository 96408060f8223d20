//! A wallet driven through a chain of hand-built blocks: mining, paying, confirming, reorgs,
//! conflicts, insufficient funds, and a restart that rebuilds everything by replaying blocks.

use cairn_chain::{Network, Transaction};
use cairn_wallet::coin_select::fee_units;
use cairn_wallet::{Address, AddressError, Balances, Category, TxState, Wallet, WalletError};

use crate::common::{Chain, T0, coins, units};
use crate::signing::verify_signed;

const RATE: u64 = 10_000;

fn balances(trusted: u64, pending: u64, immature: u64) -> Balances {
    Balances {
        trusted: units(trusted),
        untrusted_pending: units(pending),
        immature: units(immature),
    }
}

/// The outputs a wallet transaction spends, looked up in the transactions given.
fn spent_outputs(tx: &Transaction, known: &[&Transaction]) -> Vec<cairn_chain::TxOut> {
    tx.inputs
        .iter()
        .map(|i| {
            let parent = known.iter().find(|t| t.compute_txid() == i.prevout.txid).unwrap();
            parent.outputs[i.prevout.vout as usize].clone()
        })
        .collect()
}

struct Setup {
    /// Kept alive for the test's duration: dropping them deletes the wallet files.
    dirs: (tempfile::TempDir, tempfile::TempDir),
    alice: Wallet,
    bob: Wallet,
    mine: Address,
    bob_addr: Address,
    chain: Chain,
}

/// Alice mines 101 blocks to her address; Bob has one address labelled "from alice".
fn setup() -> Setup {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut alice = Wallet::create_or_open(d1.path(), Network::Regtest, 0, T0).unwrap();
    let mut bob = Wallet::create_or_open(d2.path(), Network::Regtest, 0, T0).unwrap();
    let mine = alice.new_address("mining", T0).unwrap();
    let bob_addr = bob.new_address("from alice", T0).unwrap();
    let mut chain = Chain::default();
    for _ in 0..101 {
        let (b, h) = chain.extend(&mine.lock(), vec![], 0);
        alice.block_connected(&b, h);
        bob.block_connected(&b, h);
    }
    Setup {
        dirs: (d1, d2),
        alice,
        bob,
        mine,
        bob_addr,
        chain,
    }
}

#[test]
fn mined_coins_mature_after_101_confirmations() {
    let Setup {
        mut alice,
        chain,
        mine,
        dirs: _dirs,
        ..
    } = setup();
    assert_eq!(alice.balances(101), balances(coins(50).to_units(), 0, coins(5_000).to_units()));
    // Idempotent: replaying a block changes nothing.
    alice.block_connected(&chain.blocks[50], 51);
    alice.block_connected(&chain.blocks[100], 101);
    assert_eq!(alice.balances(101), balances(coins(50).to_units(), 0, coins(5_000).to_units()));
    let unspent = alice.list_unspent(101, 1, 9_999_999);
    assert_eq!(unspent.len(), 1);
    assert_eq!(unspent[0].confirmations, 101);
    assert_eq!(unspent[0].address, mine);
    assert_eq!(unspent[0].label, "mining");
    assert!(unspent[0].coinbase && unspent[0].spendable);
    assert!(alice.list_unspent(101, 102, 9_999_999).is_empty());
    let history = alice.list_transactions(101, 1_000, 0);
    assert_eq!(history.len(), 101);
    assert_eq!(history[0].category, Category::Generate);
    assert!(history[1..].iter().all(|e| e.category == Category::Immature));
    // Core's paging: the newest `count` after skipping `skip`, oldest first.
    let page = alice.list_transactions(101, 3, 2);
    let heights: Vec<u32> = page.iter().map(|e| e.block.unwrap().1).collect();
    assert_eq!(heights, vec![97, 98, 99]);
    assert!(alice.list_transactions(101, 10, 500).is_empty());
}

#[test]
fn payment_confirmation_reorg_and_conflict() {
    let Setup {
        mut alice,
        mut bob,
        mine,
        bob_addr,
        mut chain,
        dirs: _dirs,
    } = setup();
    let five_thousand = coins(5_000).to_units();
    let created = alice.create_transaction(&bob_addr, coins(10), RATE, false, 101, T0 + 1).unwrap();
    let tx = created.tx.clone();
    // One input, payment and change: 4 + 1 + 135 + 1 + 2 × 29 + 4 bytes.
    assert_eq!(tx.size(), 203);
    assert_eq!(created.fee, units(2_030));
    assert_eq!(created.txid, tx.compute_txid());
    verify_signed(&tx, &spent_outputs(&tx, &[&chain.blocks[0].txdata[0]]));
    // Creating marks nothing.
    assert_eq!(alice.balances(101).trusted, coins(50));

    alice.commit_transaction(&tx, T0 + 2).unwrap();
    bob.tx_accepted_to_mempool(&tx, T0 + 2);
    let change = coins(40).to_units() - 2_030;
    assert_eq!(alice.balances(101), balances(change, 0, five_thousand));
    assert_eq!(bob.balances(101), balances(0, coins(10).to_units(), 0));
    let d = alice.get_transaction(&created.txid, 101).unwrap();
    assert_eq!(
        (d.amount, d.fee, d.confirmations, d.trusted),
        (-1_000_000_000, Some(-2_030), 0, true)
    );
    assert_eq!(d.details.len(), 1, "change is not listed");
    assert_eq!(d.details[0].category, Category::Send);
    assert_eq!(d.details[0].address, Some(bob_addr));
    assert_eq!(d.details[0].amount, -1_000_000_000);
    assert!(alice.transactions_to_resubmit().is_empty());
    let bd = bob.get_transaction(&created.txid, 101).unwrap();
    assert_eq!((bd.amount, bd.fee, bd.trusted), (1_000_000_000, None, false));
    assert_eq!(bd.details[0].category, Category::Receive);
    assert_eq!(bd.details[0].label, "from alice");

    // Mined in block 102.
    let (b102, h) = chain.extend(&mine.lock(), vec![tx.clone()], 0);
    alice.block_connected(&b102, h);
    bob.block_connected(&b102, h);
    let d = alice.get_transaction(&created.txid, 102).unwrap();
    assert_eq!(d.confirmations, 1);
    assert_eq!(d.block, Some((b102.block_hash(), 102, 1, b102.header.time)));
    assert_eq!(alice.balances(102), balances(change + coins(50).to_units(), 0, five_thousand));
    assert_eq!(bob.balances(102), balances(coins(10).to_units(), 0, 0));

    // Reorged out: inactive, to be re-submitted; its coinbase is orphaned.
    let (b102, h) = chain.pop();
    alice.block_disconnected(&b102, h);
    bob.block_disconnected(&b102, h);
    assert_eq!(alice.tx_state(&created.txid), Some(TxState::Inactive));
    assert_eq!(alice.transactions_to_resubmit(), vec![tx.clone()]);
    assert_eq!(alice.balances(101), balances(coins(50).to_units(), 0, five_thousand));
    assert_eq!(bob.balances(101), Balances::default());
    let orphan = alice.get_transaction(&b102.txdata[0].compute_txid(), 101).unwrap();
    assert_eq!(orphan.details[0].category, Category::Orphan);
    assert_eq!(orphan.confirmations, 0);

    // Back in the mempool, then a child spends its change.
    alice.tx_accepted_to_mempool(&tx, T0 + 3);
    assert!(alice.transactions_to_resubmit().is_empty());
    let child = alice.create_transaction(&bob_addr, coins(1), RATE, false, 101, T0 + 4).unwrap();
    assert_eq!(child.tx.inputs.len(), 1);
    assert_eq!(child.tx.inputs[0].prevout.txid, created.txid);
    verify_signed(&child.tx, &spent_outputs(&child.tx, &[&tx]));
    alice.commit_transaction(&child.tx, T0 + 5).unwrap();
    let child_change = change - coins(1).to_units() - child.fee.to_units();
    assert_eq!(alice.balances(101), balances(child_change, 0, five_thousand));

    // A double spend of the coinbase confirms instead: both become conflicted.
    alice.tx_left_mempool(&created.txid);
    alice.tx_left_mempool(&child.txid);
    let carol = Address::new(Network::Regtest, cairn_wallet::KeyPair::generate().pubkey_hash());
    let dbl = alice.create_transaction(&carol, coins(5), RATE, false, 101, T0 + 6).unwrap();
    assert_eq!(dbl.tx.inputs[0].prevout, tx.inputs[0].prevout);
    alice.tx_accepted_to_mempool(&tx, T0 + 7);
    alice.tx_accepted_to_mempool(&child.tx, T0 + 7);
    let (b102b, h) = chain.extend(&mine.lock(), vec![dbl.tx.clone()], 1);
    alice.block_connected(&b102b, h);
    let conflicted = TxState::Conflicted {
        block_hash: b102b.block_hash(),
        height: 102,
    };
    assert_eq!(alice.tx_state(&created.txid), Some(conflicted));
    assert_eq!(alice.tx_state(&child.txid), Some(conflicted));
    let d = alice.get_transaction(&created.txid, 102).unwrap();
    assert_eq!(d.confirmations, -1);
    assert_eq!(d.wallet_conflicts, vec![dbl.txid]);
    assert_eq!(alice.get_transaction(&child.txid, 103).unwrap().confirmations, -2);
    assert_eq!(alice.get_transaction(&dbl.txid, 102).unwrap().wallet_conflicts, vec![created.txid]);
    assert!(alice.transactions_to_resubmit().is_empty());
    // The mempool dropping them afterwards changes nothing.
    alice.tx_left_mempool(&created.txid);
    assert_eq!(alice.tx_state(&created.txid), Some(conflicted));
    let dbl_change = coins(45).to_units() - dbl.fee.to_units();
    assert_eq!(alice.balances(102), balances(dbl_change + coins(50).to_units(), 0, five_thousand));

    // The conflicting block leaves: both revert to inactive.
    let (b102b, h) = chain.pop();
    alice.block_disconnected(&b102b, h);
    assert_eq!(alice.tx_state(&created.txid), Some(TxState::Inactive));
    assert_eq!(alice.tx_state(&child.txid), Some(TxState::Inactive));
    assert_eq!(alice.transactions_to_resubmit(), vec![tx.clone(), child.tx.clone()]);
    let unconfirmed = alice.unconfirmed_txids();
    assert_eq!(unconfirmed.len(), 3);
    assert!([created.txid, child.txid, dbl.txid].iter().all(|t| unconfirmed.contains(t)));
    assert_eq!(alice.balances(101), balances(coins(50).to_units(), 0, five_thousand));

    // Both confirm after all.
    let (b, h) = chain.extend(&mine.lock(), vec![tx.clone(), child.tx.clone()], 2);
    alice.block_connected(&b, h);
    assert_eq!(alice.get_transaction(&child.txid, 102).unwrap().confirmations, 1);
    assert!(alice.transactions_to_resubmit().is_empty());
    assert_eq!(alice.balances(102), balances(child_change + coins(50).to_units(), 0, five_thousand));
}

#[test]
fn bad_requests_and_insufficient_funds() {
    let Setup {
        mut alice, bob_addr, dirs, ..
    } = setup();
    let keys = || {
        cairn_wallet::Keystore::load(dirs.0.path(), Network::Regtest)
            .unwrap()
            .unwrap()
            .keys()
            .len()
    };
    let spendable: Vec<_> = alice.list_unspent(101, 0, u32::MAX).into_iter().filter(|c| c.spendable).collect();
    let n = spendable.len();
    assert_eq!(n, 1);
    let err = alice.create_transaction(&bob_addr, coins(1_000), RATE, false, 101, T0).unwrap_err();
    let fee = fee_units(4 + 1 + n * 135 + 1 + 29 + 4, RATE) as u64;
    match err {
        WalletError::InsufficientFunds { needed, available } => {
            assert_eq!(needed, units(coins(1_000).to_units() + fee));
            assert_eq!(available, coins(50));
            assert_eq!(available, alice.balances(101).trusted);
        }
        other => panic!("{other:?}"),
    }
    // 50 coins exactly, fee on top: short by the fee.
    let err = alice.create_transaction(&bob_addr, coins(50), RATE, false, 101, T0).unwrap_err();
    assert!(matches!(err, WalletError::InsufficientFunds { needed, .. } if needed == units(coins(50).to_units() + fee)));
    // Subtracting the fee, all 50 coins go.
    let all = alice.create_transaction(&bob_addr, coins(50), RATE, true, 101, T0).unwrap();
    assert_eq!(all.tx.outputs.len(), 1);
    assert_eq!(all.tx.outputs[0].value, units(coins(50).to_units() - fee));
    assert_eq!(all.fee, units(fee));
    assert!(matches!(
        alice.create_transaction(&bob_addr, units(545), RATE, false, 101, T0),
        Err(WalletError::AmountTooSmall)
    ));
    assert!(matches!(
        alice.create_transaction(&bob_addr, units(1_000), 1_000_000, true, 101, T0),
        Err(WalletError::AmountTooSmall)
    ));
    let testnet = Address::new(Network::Testnet, bob_addr.pubkey_hash());
    assert!(matches!(
        alice.create_transaction(&testnet, coins(1), RATE, false, 101, T0),
        Err(WalletError::Address(AddressError::WrongNetwork { .. }))
    ));
    // Failed attempts, and a payment without change, use up no change key.
    assert_eq!(keys(), 1);
}

#[test]
fn restart_replays_to_identical_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Wallet::create_or_open(dir.path(), Network::Regtest, 0, T0).unwrap();
    let mine = alice.new_address("mining", T0).unwrap();
    let bob = Address::new(Network::Regtest, cairn_wallet::KeyPair::generate().pubkey_hash());
    let mut chain = Chain::default();
    for _ in 0..102 {
        let (b, h) = chain.extend(&mine.lock(), vec![], 0);
        alice.block_connected(&b, h);
    }
    let confirmed = alice.create_transaction(&bob, coins(3), RATE, false, 102, T0 + 1).unwrap();
    alice.commit_transaction(&confirmed.tx, T0 + 1).unwrap();
    let (b, h) = chain.extend(&mine.lock(), vec![confirmed.tx.clone()], 0);
    alice.block_connected(&b, h);
    let pending = alice.create_transaction(&bob, coins(2), RATE, false, 103, T0 + 2).unwrap();
    alice.commit_transaction(&pending.tx, T0 + 2).unwrap();
    let tip = chain.tip();
    let before = (
        alice.balances(tip),
        alice.list_unspent(tip, 0, u32::MAX),
        alice.list_transactions(tip, 1_000, 0),
    );
    let details = alice.get_transaction(&confirmed.txid, tip);
    drop(alice);

    // As after kill -9: reopen, replay the active chain from the birth height.
    let mut alice = Wallet::create_or_open(dir.path(), Network::Regtest, tip, T0 + 100).unwrap();
    assert_eq!(alice.birth_height(), 0);
    for (i, b) in chain.blocks.iter().enumerate() {
        let height = i as u32 + 1;
        if height >= alice.birth_height() {
            alice.block_connected(b, height);
        }
    }
    // The unconfirmed send is known from the file, waiting to be re-submitted.
    assert_eq!(alice.transactions_to_resubmit(), vec![pending.tx.clone()]);
    alice.tx_accepted_to_mempool(&pending.tx, T0 + 100);
    let after = (
        alice.balances(tip),
        alice.list_unspent(tip, 0, u32::MAX),
        alice.list_transactions(tip, 1_000, 0),
    );
    assert_eq!(after, before);
    assert_eq!(alice.get_transaction(&confirmed.txid, tip), details);
    assert_eq!(alice.label_of(&mine), Some("mining"));
}

/// `abandontransaction`: only a sent transaction in no block and not in the mempool can be
/// abandoned; it is then not offered again, shows `abandoned`, keeps the mark across a restart,
/// and stops being abandoned once it is back in the mempool.
#[test]
fn an_abandoned_payment_is_not_resubmitted_until_it_returns() {
    let Setup {
        mut alice,
        bob_addr,
        dirs,
        chain,
        ..
    } = setup();
    let created = alice.create_transaction(&bob_addr, coins(10), RATE, false, 101, T0 + 1).unwrap();
    let (tx, txid) = (created.tx.clone(), created.txid);
    alice.commit_transaction(&tx, T0 + 1).unwrap();
    assert!(
        matches!(alice.abandon(&txid), Err(cairn_wallet::AbandonError::NotEligible)),
        "in the mempool"
    );
    assert!(matches!(
        alice.abandon(&cairn_chain::Txid::from_byte_array([3; 32])),
        Err(cairn_wallet::AbandonError::Unknown)
    ));
    alice.tx_left_mempool(&txid);
    assert_eq!(alice.transactions_to_resubmit(), vec![tx.clone()]);
    alice.abandon(&txid).unwrap();
    assert!(alice.transactions_to_resubmit().is_empty());
    assert!(alice.is_abandoned(&txid));
    let sent = alice.list_transactions(101, 1_000, 0);
    assert!(sent.iter().any(|e| e.txid == txid && e.category == Category::Send && e.abandoned));
    // Its coin is free again: a new payment may spend it.
    alice.create_transaction(&bob_addr, coins(40), RATE, false, 101, T0 + 2).unwrap();

    // The mark is in the file.
    drop(alice);
    let mut alice = Wallet::create_or_open(dirs.0.path(), Network::Regtest, 0, T0).unwrap();
    for (i, b) in chain.blocks.iter().enumerate() {
        alice.block_connected(b, i as u32 + 1);
    }
    assert!(alice.is_abandoned(&txid));
    assert!(alice.transactions_to_resubmit().is_empty());
    // Back in the mempool (someone relayed it): no longer abandoned.
    alice.tx_accepted_to_mempool(&tx, T0 + 3);
    assert!(!alice.is_abandoned(&txid));
}

/// Core's entries for a payment to one of one's own receiving addresses: a send and a receive for
/// that output, nothing for the change; the transaction's amount is the payment's net, zero.
#[test]
fn a_payment_to_ones_own_address_is_a_send_and_a_receive() {
    let Setup {
        mut alice, dirs: _dirs, ..
    } = setup();
    let savings = alice.new_address("savings", T0).unwrap();
    let created = alice.create_transaction(&savings, coins(10), RATE, false, 101, T0 + 1).unwrap();
    alice.commit_transaction(&created.tx, T0 + 1).unwrap();
    let d = alice.get_transaction(&created.txid, 101).unwrap();
    assert_eq!((d.amount, d.fee), (0, Some(-2_030)));
    let kinds: Vec<(Category, i64, Option<Address>)> = d.details.iter().map(|e| (e.category, e.amount, e.address)).collect();
    assert_eq!(
        kinds,
        vec![
            (Category::Send, -1_000_000_000, Some(savings)),
            (Category::Receive, 1_000_000_000, Some(savings)),
        ],
        "change is not listed"
    );
    assert_eq!(d.details[1].label, "savings");
    let listed: Vec<Category> = alice
        .list_transactions(101, 1_000, 0)
        .into_iter()
        .filter(|e| e.txid == created.txid)
        .map(|e| e.category)
        .collect();
    assert_eq!(listed, vec![Category::Send, Category::Receive]);
    // Listed after the blocks it follows, though their times are later than the clock's (as
    // regtest's are when blocks are mined quickly).
    let newest: Vec<_> = alice.list_transactions(101, 2, 0).into_iter().map(|e| e.txid).collect();
    assert_eq!(newest, vec![created.txid, created.txid]);
    // Change appears only when asked for (listsinceblock's include_change).
    let change = alice.change_entries(101);
    assert_eq!(change.len(), 1);
    assert_ne!(change[0].address, Some(savings));
    assert_eq!(change[0].amount, coins(40).to_units() as i64 - 2_030);
}
