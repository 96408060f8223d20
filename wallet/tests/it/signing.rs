//! Build and sign: the signed transaction is exactly the predicted size and passes the chain's
//! own transaction and signature checks against the outputs it spends.

use cairn_chain::utxo::Coin;
use cairn_chain::validation::{SigCheck, check_transaction, check_tx_inputs, verify_all};
use cairn_chain::{Amount, Lock, Network, OutPoint, Transaction, TxOut, Txid};
use cairn_wallet::builder::{Payment, build_transaction, signed_size, size_model};
use cairn_wallet::signer::sign_transaction;
use cairn_wallet::{Candidate, KeyPair, select_coins};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Verifies every signature of `tx` against `spent` with the consensus code, in parallel.
pub fn verify_signed(tx: &Transaction, spent: &[TxOut]) {
    let params = Network::Regtest.params();
    check_transaction(tx, params).unwrap();
    let coins: Vec<Option<Coin>> = spent
        .iter()
        .map(|o| {
            Some(Coin {
                output: o.clone(),
                height: 1,
                is_coinbase: false,
            })
        })
        .collect();
    let checked = check_tx_inputs(tx, &coins, 2, params).unwrap();
    let checks: Vec<(usize, SigCheck<'_>)> = checked.sig_checks.into_iter().enumerate().collect();
    verify_all(&checks, None).unwrap();
}

#[test]
fn signed_size_equals_estimate_and_signatures_verify() {
    let keys: Vec<KeyPair> = (0..5).map(|_| KeyPair::generate()).collect();
    let recipient = Lock::PubkeyHash(KeyPair::generate().pubkey_hash());
    let change_lock = Lock::PubkeyHash(keys[0].pubkey_hash());
    let mut rng = StdRng::seed_from_u64(42);
    for (n_coins, amount, rate, subtract_fee) in [
        (1, 10_000_000, 1_000, false),
        (5, 250_000_000, 5_000, false),
        (5, 499_000_000, 1_000, false),
        (3, 300_000_000, 20_000, true),
        (2, 100_000_000, 1_000, true),
    ] {
        let owned: Vec<(OutPoint, TxOut)> = (0..n_coins)
            .map(|i| {
                let op = OutPoint::new(Txid::from_byte_array([i as u8 + 1; 32]), i);
                let out = TxOut {
                    value: Amount::from_units(100_000_000).unwrap(),
                    lock: Lock::PubkeyHash(keys[i as usize].pubkey_hash()),
                };
                (op, out)
            })
            .collect();
        let candidates: Vec<Candidate> = owned
            .iter()
            .map(|(op, o)| Candidate {
                outpoint: *op,
                value: o.value,
            })
            .collect();
        let sizes = size_model(&recipient, &change_lock);
        let amount = Amount::from_units(amount).unwrap();
        let sel = select_coins(&candidates, amount, rate, &sizes, subtract_fee).unwrap();
        let inputs = sel
            .inputs
            .iter()
            .map(|c| owned.iter().find(|(op, _)| *op == c.outpoint).unwrap().clone())
            .collect();
        let change = (sel.change > Amount::ZERO).then(|| TxOut {
            value: sel.change,
            lock: change_lock.clone(),
        });
        let payment = Payment {
            lock: recipient.clone(),
            amount,
            subtract_fee,
        };
        let mut u = build_transaction(&payment, inputs, sel.fee, change, &mut rng).unwrap();
        let estimate = signed_size(&u.tx);
        assert_eq!(estimate, sizes.tx_size(sel.inputs.len(), sel.change > Amount::ZERO));
        sign_transaction(&mut u.tx, &u.spent, |h| keys.iter().find(|k| k.pubkey_hash() == *h).cloned()).unwrap();
        assert_eq!(u.tx.size(), estimate);
        assert!(u128::from(sel.fee.to_units()) * 1000 >= u128::from(rate) * estimate as u128);
        verify_signed(&u.tx, &u.spent);
        let paid = u.tx.outputs.iter().find(|o| o.lock == recipient).unwrap().value;
        if subtract_fee {
            assert!(paid < amount);
        } else {
            assert_eq!(paid, amount);
        }
        // Tampering after signing is caught by the same checks.
        let mut bad = u.tx.clone();
        bad.outputs[0].value = Amount::from_units(bad.outputs[0].value.to_units() - 1).unwrap();
        let coins: Vec<Option<Coin>> = u
            .spent
            .iter()
            .map(|o| {
                Some(Coin {
                    output: o.clone(),
                    height: 1,
                    is_coinbase: false,
                })
            })
            .collect();
        let checked = check_tx_inputs(&bad, &coins, 2, Network::Regtest.params()).unwrap();
        assert!(checked.sig_checks.iter().any(|c| c.verify().is_err()));
    }
}
