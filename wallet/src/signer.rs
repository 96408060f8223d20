//! Signs every input of a built transaction with the wallet key its spent output names.
//!
//! Signing goes through [`cairn_chain::sighash::sign_input`], the same digest the consensus
//! rules verify. That digest covers every input's public key, so all keys are filled in first
//! and only then is each input signed. The keys are looked up through a function so that the
//! signer never sees the whole keystore.

use cairn_chain::sighash::sign_input;
use cairn_chain::{Lock, PubkeyHash, Transaction, TxOut};

use crate::error::WalletError;
use crate::keys::KeyPair;

/// Signs input `i` of `tx` for each `spent[i]`, with the key `key_for` returns for the spent
/// output's key hash.
///
/// # Errors
/// [`WalletError::SpentOutputsMismatch`] if `spent` does not have one output per input;
/// [`WalletError::MissingKey`] if an output is not a key-hash lock or its key is unknown; the
/// transaction is then left unchanged.
pub fn sign_transaction(
    tx: &mut Transaction,
    spent: &[TxOut],
    key_for: impl Fn(&PubkeyHash) -> Option<KeyPair>,
) -> Result<(), WalletError> {
    if spent.len() != tx.inputs.len() {
        return Err(WalletError::SpentOutputsMismatch {
            inputs: tx.inputs.len(),
            spent: spent.len(),
        });
    }
    let mut keys = Vec::with_capacity(spent.len());
    for (index, output) in spent.iter().enumerate() {
        let key = match &output.lock {
            Lock::PubkeyHash(hash) => key_for(hash),
            Lock::DataCarrier(_) => None,
        };
        let key = key.ok_or(WalletError::MissingKey {
            index,
            outpoint: tx.inputs[index].prevout,
        })?;
        keys.push(key);
    }
    // The signature hash commits to every input's public key, so all keys go in before the
    // first signature is made; otherwise filling in a later key would invalidate earlier ones.
    for (input, key) in tx.inputs.iter_mut().zip(&keys) {
        input.pubkey = key.public_key().serialize().to_vec();
    }
    for (index, (output, key)) in spent.iter().zip(&keys).enumerate() {
        // `index` is below `tx.inputs.len()` (checked above), so `sign_input` cannot index out of range.
        sign_input(tx, index, output, key.secret_key());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_chain::validation::{SigCheck, check_transaction};
    use cairn_chain::{Amount, Network, OutPoint, TxIn, Txid};

    fn spend(n: usize) -> Transaction {
        Transaction {
            version: 1,
            inputs: (0..n)
                .map(|i| TxIn {
                    prevout: OutPoint::new(Txid::from_byte_array([i as u8 + 1; 32]), 0),
                    signature: vec![],
                    pubkey: vec![],
                })
                .collect(),
            outputs: vec![TxOut {
                value: Amount::from_units(1_000).unwrap(),
                lock: Lock::PubkeyHash(PubkeyHash::from_byte_array([9; 20])),
            }],
            lock_time: 0,
        }
    }

    #[test]
    fn signatures_verify_against_the_spent_outputs() {
        let keys = [KeyPair::generate(), KeyPair::generate()];
        let spent: Vec<TxOut> = keys
            .iter()
            .map(|k| TxOut {
                value: Amount::from_units(5_000).unwrap(),
                lock: Lock::PubkeyHash(k.pubkey_hash()),
            })
            .collect();
        let mut tx = spend(2);
        let before = crate::builder::signed_size(&tx);
        sign_transaction(&mut tx, &spent, |h| keys.iter().find(|k| k.pubkey_hash() == *h).cloned()).unwrap();
        assert_eq!(tx.size(), before);
        check_transaction(&tx, Network::Regtest.params()).unwrap();
        for (index, s) in spent.iter().enumerate() {
            let Lock::PubkeyHash(key_hash) = s.lock else { unreachable!() };
            let check = SigCheck {
                tx: &tx,
                index,
                spent: s.clone(),
                key_hash,
            };
            check.verify().unwrap();
        }
    }

    #[test]
    fn unknown_key_and_length_mismatch_are_errors() {
        let spent = vec![TxOut {
            value: Amount::from_units(5_000).unwrap(),
            lock: Lock::PubkeyHash(PubkeyHash::from_byte_array([3; 20])),
        }];
        let mut tx = spend(1);
        let err = sign_transaction(&mut tx, &spent, |_| None).unwrap_err();
        assert!(matches!(err, WalletError::MissingKey { index: 0, .. }));
        let err = sign_transaction(&mut spend(2), &spent, |_| None).unwrap_err();
        assert!(matches!(err, WalletError::SpentOutputsMismatch { inputs: 2, spent: 1 }));
    }
}
