//! Coin selection properties: the selection pays target + fee, the fee meets the rate for the
//! exact size, no coin is used twice, and the result is deterministic.

use std::collections::HashSet;

use cairn_chain::{Amount, Lock, OutPoint, PubkeyHash, Txid};
use cairn_wallet::builder::size_model;
use cairn_wallet::coin_select::{INPUT_SIZE, fee_units};
use cairn_wallet::{Candidate, SizeModel, WalletError, dust, select_coins};
use proptest::prelude::*;

fn sizes() -> SizeModel {
    let lock = Lock::PubkeyHash(PubkeyHash::from_byte_array([7; 20]));
    size_model(&lock, &lock)
}

fn candidate(n: u32, units: u64) -> Candidate {
    let mut id = [0u8; 32];
    id[..4].copy_from_slice(&n.to_le_bytes());
    Candidate {
        outpoint: OutPoint::new(Txid::from_byte_array(id), n % 3),
        value: Amount::from_units(units).unwrap(),
    }
}

fn arb_candidates() -> impl Strategy<Value = Vec<Candidate>> {
    proptest::collection::vec(1u64..5_000_000_000, 0..40)
        .prop_map(|vs| vs.into_iter().enumerate().map(|(i, v)| candidate(i as u32, v)).collect())
}

#[test]
fn input_size_matches_the_encoding() {
    assert_eq!(INPUT_SIZE, 135);
    // version + input count + input + output count + one 29-byte output + lock time.
    assert_eq!(sizes().tx_size(1, false), 4 + 1 + 135 + 1 + 29 + 4);
    assert_eq!(sizes().tx_size(253, true) - sizes().tx_size(252, true), 135 + 2);
}

#[test]
fn exact_match_needs_no_change() {
    let s = sizes();
    let rate = 1_000;
    let fee = fee_units(s.tx_size(1, false), rate) as u64;
    let coins = [candidate(1, 1_000_000), candidate(2, 100_000 + fee), candidate(3, 50_000)];
    let sel = select_coins(&coins, Amount::from_units(100_000).unwrap(), rate, &s, false).unwrap();
    assert_eq!(sel.inputs, vec![coins[1]]);
    assert_eq!(sel.change, Amount::ZERO);
    assert_eq!(sel.fee.to_units(), fee);
}

#[test]
fn change_below_dust_goes_to_the_fee() {
    let s = sizes();
    let rate = 1_000;
    let fee_change = fee_units(s.tx_size(1, true), rate) as u64;
    let target = 100_000;
    // Leaves 545 units of change after the fee of a transaction with change: dust.
    let coin = candidate(1, target + fee_change + 545);
    let sel = select_coins(&[coin], Amount::from_units(target).unwrap(), rate, &s, false).unwrap();
    assert_eq!(sel.change, Amount::ZERO);
    assert_eq!(sel.fee.to_units(), fee_change + 545);
    let coin = candidate(1, target + fee_change + 546);
    let sel = select_coins(&[coin], Amount::from_units(target).unwrap(), rate, &s, false).unwrap();
    assert_eq!(sel.change, dust());
    assert_eq!(sel.fee.to_units(), fee_change);
}

#[test]
fn insufficient_funds_reports_exact_amounts() {
    let s = sizes();
    let coins = [candidate(1, 30_000), candidate(2, 20_000)];
    let err = select_coins(&coins, Amount::from_units(50_000).unwrap(), 2_000, &s, false).unwrap_err();
    let fee = fee_units(s.tx_size(2, false), 2_000) as u64;
    match err {
        WalletError::InsufficientFunds { needed, available } => {
            assert_eq!(needed.to_units(), 50_000 + fee);
            assert_eq!(available.to_units(), 50_000);
        }
        other => panic!("{other:?}"),
    }
    // Subtracting the fee, the coins cover the amount.
    let sel = select_coins(&coins, Amount::from_units(50_000).unwrap(), 2_000, &s, true).unwrap();
    assert_eq!(sel.inputs.len(), 2);
    assert_eq!(sel.fee.to_units(), fee);
}

#[test]
fn uneconomic_coins_are_avoided() {
    let s = sizes();
    // At 10,000 units/kB an input costs 1,350 units: a 1,000-unit coin is worth less than that.
    let coins = [candidate(1, 1_000), candidate(2, 1_000_000)];
    let sel = select_coins(&coins, Amount::from_units(10_000).unwrap(), 10_000, &s, false).unwrap();
    assert_eq!(sel.inputs, vec![coins[1]]);
}

proptest! {
    #[test]
    fn selection_pays_target_and_fee(coins in arb_candidates(), target in 546u64..20_000_000_000, rate in 0u64..200_000) {
        let s = sizes();
        let target_amount = Amount::from_units(target).unwrap();
        match select_coins(&coins, target_amount, rate, &s, false) {
            Ok(sel) => {
                let total: u64 = sel.inputs.iter().map(|c| c.value.to_units()).sum();
                prop_assert_eq!(total, target + sel.fee.to_units() + sel.change.to_units());
                let has_change = sel.change > Amount::ZERO;
                prop_assert!(!has_change || sel.change >= dust());
                let size = s.tx_size(sel.inputs.len(), has_change);
                prop_assert!(u128::from(sel.fee.to_units()) * 1000 >= u128::from(rate) * size as u128);
                let unique: HashSet<OutPoint> = sel.inputs.iter().map(|c| c.outpoint).collect();
                prop_assert_eq!(unique.len(), sel.inputs.len());
                prop_assert!(sel.inputs.iter().all(|c| coins.contains(c)));
                // Deterministic, and independent of the candidates' order.
                let mut reversed = coins.clone();
                reversed.reverse();
                prop_assert_eq!(select_coins(&reversed, target_amount, rate, &s, false).unwrap(), sel);
            }
            Err(WalletError::InsufficientFunds { needed, available }) => {
                let total: u64 = coins.iter().map(|c| c.value.to_units()).sum();
                prop_assert_eq!(available.to_units(), total);
                prop_assert_eq!(u128::from(needed.to_units()), u128::from(target) + fee_units(s.tx_size(coins.len(), false), rate));
                prop_assert!(available < needed);
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn subtract_fee_selection_covers_the_amount(coins in arb_candidates(), target in 546u64..20_000_000_000, rate in 0u64..200_000) {
        let s = sizes();
        if let Ok(sel) = select_coins(&coins, Amount::from_units(target).unwrap(), rate, &s, true) {
            let total: u64 = sel.inputs.iter().map(|c| c.value.to_units()).sum();
            prop_assert!(total >= target);
            let has_change = sel.change > Amount::ZERO;
            let size = s.tx_size(sel.inputs.len(), has_change);
            prop_assert_eq!(u128::from(sel.fee.to_units()), fee_units(size, rate));
            prop_assert!(total >= sel.change.to_units());
        }
    }

    #[test]
    fn duplicate_candidates_are_used_once(coins in arb_candidates(), target in 546u64..1_000_000_000) {
        let mut doubled = coins.clone();
        doubled.extend(coins.iter().copied());
        if let Ok(sel) = select_coins(&doubled, Amount::from_units(target).unwrap(), 1_000, &sizes(), false) {
            let unique: HashSet<OutPoint> = sel.inputs.iter().map(|c| c.outpoint).collect();
            prop_assert_eq!(unique.len(), sel.inputs.len());
        }
    }
}
