//! Builds the unsigned transaction for a payment from a coin [`Selection`].
//!
//! The transaction is version 1 with lock time 0. Inputs are shuffled and the change output, if
//! any, takes a random position beside the payment (as Bitcoin Core does), so an observer cannot
//! tell change from payment by position. The RNG is passed in, which keeps tests deterministic.
//!
//! Inputs are left unsigned (empty signature and key). Because every signature is 64 bytes and
//! every key 33, the signed size is known now: [`signed_size`] gives it, and it is the size the
//! coin selection's [`SizeModel`] predicted.
//!
//! [`Selection`]: crate::coin_select::Selection
//! [`SizeModel`]: crate::coin_select::SizeModel

use cairn_chain::encode::Encodable;
use cairn_chain::{Amount, Lock, OutPoint, Transaction, TxIn, TxOut};
use rand::Rng;
use rand::seq::SliceRandom;

use crate::coin_select::{INPUT_SIZE, SizeModel, dust};
use crate::error::WalletError;

/// Bytes a signature and public key add to an unsigned input.
const SIGNING_BYTES: usize = 64 + 33;

/// Who is paid, how much, and who pays the fee.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Payment {
    /// The recipient's lock.
    pub lock: Lock,
    /// The amount sent (before the fee when `subtract_fee`).
    pub amount: Amount,
    /// Whether the fee comes out of `amount` rather than on top of it.
    pub subtract_fee: bool,
}

/// An unsigned transaction with what signing needs.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UnsignedTx {
    /// The transaction, inputs without signatures.
    pub tx: Transaction,
    /// The output each input spends, in input order.
    pub spent: Vec<TxOut>,
    /// Inputs minus outputs.
    pub fee: Amount,
    /// Position of the change output, if there is one.
    pub change_index: Option<usize>,
}

/// The size model of a payment to `payment_lock` with change (if any) to `change_lock`.
pub fn size_model(payment_lock: &Lock, change_lock: &Lock) -> SizeModel {
    size_model_many(std::slice::from_ref(payment_lock), change_lock)
}

/// The encoded size `tx` will have once every unsigned input carries a signature and key.
pub fn signed_size(tx: &Transaction) -> usize {
    let unsigned = tx.inputs.iter().filter(|i| i.signature.is_empty() && i.pubkey.is_empty()).count();
    tx.size() + unsigned * SIGNING_BYTES
}

/// Builds the unsigned transaction spending `inputs` (with the outputs they spend) to pay
/// `payment`, `fee` to the miner and `change` (if any) back to the wallet.
///
/// # Errors
/// [`WalletError::AmountTooSmall`] if the payment output would be below [`dust`] (after
/// subtracting the fee); [`WalletError::InsufficientFunds`] if the inputs do not cover the
/// outputs and the fee.
pub fn build_transaction<R: Rng + ?Sized>(
    payment: &Payment,
    inputs: Vec<(OutPoint, TxOut)>,
    fee: Amount,
    change: Option<TxOut>,
    rng: &mut R,
) -> Result<UnsignedTx, WalletError> {
    let available = Amount::checked_sum(inputs.iter().map(|(_, o)| o.value))?;
    let change_value = change.as_ref().map_or(Amount::ZERO, |c| c.value);
    let value = if payment.subtract_fee {
        available
            .checked_sub(fee)
            .and_then(|v| v.checked_sub(change_value))
            .map_err(|_| WalletError::AmountTooSmall)?
    } else {
        payment.amount
    };
    let output = TxOut {
        value,
        lock: payment.lock.clone(),
    };
    build_outputs(vec![output], inputs, fee, change, rng)
}

/// The size model of a payment to every lock of `payment_locks` with change (if any) to
/// `change_lock` (`sendmany`).
pub fn size_model_many(payment_locks: &[Lock], change_lock: &Lock) -> SizeModel {
    let output_size = |lock: &Lock| {
        TxOut {
            value: Amount::ZERO,
            lock: lock.clone(),
        }
        .encode()
        .len()
    };
    SizeModel {
        fixed: 4 + 4 + payment_locks.iter().map(output_size).sum::<usize>(),
        outputs: payment_locks.len(),
        input: INPUT_SIZE,
        change_output: output_size(change_lock),
    }
}

/// Builds the unsigned transaction spending `inputs` to `outputs` (in the caller's order), `fee`
/// to the miner and `change` (if any, at a random position) back to the wallet.
///
/// # Errors
/// [`WalletError::AmountTooSmall`] for an output below [`dust`];
/// [`WalletError::InsufficientFunds`] if the inputs do not equal outputs, change and fee.
pub fn build_outputs<R: Rng + ?Sized>(
    mut outputs: Vec<TxOut>,
    mut inputs: Vec<(OutPoint, TxOut)>,
    fee: Amount,
    change: Option<TxOut>,
    rng: &mut R,
) -> Result<UnsignedTx, WalletError> {
    if outputs.iter().any(|o| !o.lock.is_unspendable() && o.value < dust()) {
        return Err(WalletError::AmountTooSmall);
    }
    let available = Amount::checked_sum(inputs.iter().map(|(_, o)| o.value))?;
    let change_value = change.as_ref().map_or(Amount::ZERO, |c| c.value);
    let needed = Amount::checked_sum(outputs.iter().map(|o| o.value))?
        .checked_add(fee)?
        .checked_add(change_value)?;
    if needed != available {
        return Err(WalletError::InsufficientFunds { needed, available });
    }
    inputs.shuffle(rng);
    let change_index = change.map(|c| {
        let at = rng.random_range(0..=outputs.len());
        outputs.insert(at, c);
        at
    });
    let tx = Transaction {
        version: 1,
        inputs: inputs
            .iter()
            .map(|(prevout, _)| TxIn {
                prevout: *prevout,
                signature: Vec::new(),
                pubkey: Vec::new(),
            })
            .collect(),
        outputs,
        lock_time: 0,
    };
    Ok(UnsignedTx {
        tx,
        spent: inputs.into_iter().map(|(_, o)| o).collect(),
        fee,
        change_index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_chain::{PubkeyHash, Txid};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn lock(b: u8) -> Lock {
        Lock::PubkeyHash(PubkeyHash::from_byte_array([b; 20]))
    }

    fn coin(n: u8, units: u64) -> (OutPoint, TxOut) {
        let value = Amount::from_units(units).unwrap();
        (OutPoint::new(Txid::from_byte_array([n; 32]), 0), TxOut { value, lock: lock(1) })
    }

    #[test]
    fn change_position_varies_and_amounts_balance() {
        let payment = Payment {
            lock: lock(2),
            amount: Amount::from_units(10_000).unwrap(),
            subtract_fee: false,
        };
        let mut seen = [false; 2];
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..32 {
            let change = TxOut {
                value: Amount::from_units(89_000).unwrap(),
                lock: lock(3),
            };
            let fee = Amount::from_units(1_000).unwrap();
            let u = build_transaction(&payment, vec![coin(1, 60_000), coin(2, 40_000)], fee, Some(change), &mut rng).unwrap();
            let at = u.change_index.unwrap();
            seen[at] = true;
            assert_eq!(u.tx.outputs[at].lock, lock(3));
            assert_eq!(u.tx.outputs[1 - at].value.to_units(), 10_000);
            assert_eq!(u.spent.len(), 2);
            let model = size_model(&lock(2), &lock(3));
            assert_eq!(signed_size(&u.tx), model.tx_size(2, true));
        }
        assert_eq!(seen, [true, true]);
    }

    #[test]
    fn subtracting_the_fee_can_leave_dust() {
        let payment = Payment {
            lock: lock(2),
            amount: Amount::from_units(1_500).unwrap(),
            subtract_fee: true,
        };
        let mut rng = StdRng::seed_from_u64(1);
        let fee = Amount::from_units(1_000).unwrap();
        let err = build_transaction(&payment, vec![coin(1, 1_500)], fee, None, &mut rng).unwrap_err();
        assert!(matches!(err, WalletError::AmountTooSmall));
        let fee = Amount::from_units(2_000).unwrap();
        let err = build_transaction(&payment, vec![coin(1, 1_500)], fee, None, &mut rng).unwrap_err();
        assert!(matches!(err, WalletError::AmountTooSmall));
        let fee = Amount::from_units(900).unwrap();
        let u = build_transaction(&payment, vec![coin(1, 1_500)], fee, None, &mut rng).unwrap();
        assert_eq!(u.tx.outputs[0].value.to_units(), 600);
    }
}
