//! Transaction rules.

use std::collections::HashSet;

use rayon::prelude::*;
use secp256k1::{Message, PublicKey, ecdsa::Signature};

use crate::validation::sigcache::SigCache;

use crate::amount::Amount;
use crate::encode::Encodable;
use crate::error::TxError;
use crate::hash::PubkeyHash;
use crate::params::Params;
use crate::sighash::signature_hash;
use crate::transaction::{Lock, MAX_DATA_CARRIER, Transaction, TxOut};
use crate::utxo::Coin;

/// Rules that need nothing but the transaction (Bitcoin Core's `CheckTransaction`).
///
/// # Errors
/// The first rule broken.
pub fn check_transaction(tx: &Transaction, params: &Params) -> Result<(), TxError> {
    if tx.inputs.is_empty() {
        return Err(TxError::NoInputs);
    }
    if tx.outputs.is_empty() {
        return Err(TxError::NoOutputs);
    }
    let size = tx.encode().len();
    if size == 64 {
        return Err(TxError::SixtyFourBytes);
    }
    if size > params.max_tx_size {
        return Err(TxError::TooLarge {
            size,
            max: params.max_tx_size,
        });
    }
    // Each value is in range by construction of `Amount`; the total must be too.
    Amount::checked_sum(tx.outputs.iter().map(|o| o.value)).map_err(|_| TxError::OutputTotalOutOfRange)?;
    for out in &tx.outputs {
        if let Lock::DataCarrier(d) = &out.lock
            && d.len() > MAX_DATA_CARRIER
        {
            return Err(TxError::DataCarrierTooLarge(d.len()));
        }
    }
    let mut seen = HashSet::with_capacity(tx.inputs.len());
    for input in &tx.inputs {
        if !seen.insert(input.prevout) {
            return Err(TxError::DuplicateInput(input.prevout));
        }
    }
    if tx.is_coinbase() {
        let len = tx.inputs[0].signature.len();
        if !(4..=100).contains(&len) {
            return Err(TxError::CoinbaseDataSize(len));
        }
    } else if tx.inputs.iter().any(|i| i.prevout.is_null()) {
        return Err(TxError::NullPrevout);
    }
    Ok(())
}

/// One signature to verify: the input and the output it spends, detached from the block walk so
/// that checks (signature hash included) can run on any thread.
#[derive(Clone, Debug)]
pub struct SigCheck<'a> {
    /// The spending transaction.
    pub tx: &'a Transaction,
    /// Input position.
    pub index: usize,
    /// The output being spent.
    pub spent: TxOut,
    /// The key hash the spent output names.
    pub key_hash: PubkeyHash,
}

impl SigCheck<'_> {
    /// Verifies: a compressed key hashing to the lock's key hash, and a low-S compact signature
    /// by that key over the signature hash.
    ///
    /// # Errors
    /// Which part failed, with the input index.
    pub fn verify(&self) -> Result<(), TxError> {
        self.verify_cached(None)
    }

    /// [`SigCheck::verify`], answered from `cache` when the same check passed before, and
    /// remembered there when it passes now.
    ///
    /// # Errors
    /// As [`SigCheck::verify`].
    pub fn verify_cached(&self, cache: Option<&SigCache>) -> Result<(), TxError> {
        let index = self.index;
        let input = &self.tx.inputs[index];
        if input.pubkey.len() != 33 {
            return Err(TxError::BadPubkey { index });
        }
        if PubkeyHash::from_pubkey_bytes(&input.pubkey) != self.key_hash {
            return Err(TxError::PubkeyMismatch { index });
        }
        let digest = signature_hash(self.tx, index, &self.spent);
        let key = cache.map(|c| c.key(&digest, &input.pubkey, &input.signature));
        if let (Some(c), Some(k)) = (cache, &key)
            && c.contains(k)
        {
            return Ok(());
        }
        let pubkey = PublicKey::from_slice(&input.pubkey).map_err(|_| TxError::BadPubkey { index })?;
        if input.signature.len() != 64 {
            return Err(TxError::MalformedSignature { index });
        }
        let sig = Signature::from_compact(&input.signature).map_err(|_| TxError::MalformedSignature { index })?;
        let mut normalized = sig;
        normalized.normalize_s();
        if normalized != sig {
            return Err(TxError::HighS { index });
        }
        secp256k1::ecdsa::verify(&sig, Message::from_digest(digest), &pubkey).map_err(|_| TxError::BadSignature { index })?;
        if let (Some(c), Some(k)) = (cache, key) {
            c.insert(k);
        }
        Ok(())
    }
}

/// Runs signature checks across threads (rayon's pool), returning the failure of the lowest
/// position (so every node reports the same reason). With a `cache`, checks that passed before
/// are not verified again, and the ones that pass now are remembered.
///
/// # Errors
/// The first failing check in order; `position` maps it back to the caller's item.
pub fn verify_all(checks: &[(usize, SigCheck<'_>)], cache: Option<&SigCache>) -> Result<(), (usize, TxError)> {
    let failures: Vec<(usize, TxError)> = checks
        .par_iter()
        .with_min_len(16)
        .filter_map(|(pos, c)| c.verify_cached(cache).err().map(|e| (*pos, e)))
        .collect();
    match failures.into_iter().min_by_key(|(pos, e)| (*pos, error_index(e))) {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

fn error_index(e: &TxError) -> usize {
    match e {
        TxError::BadPubkey { index }
        | TxError::PubkeyMismatch { index }
        | TxError::MalformedSignature { index }
        | TxError::HighS { index }
        | TxError::BadSignature { index }
        | TxError::Unspendable { index } => *index,
        _ => 0,
    }
}

/// What a transaction's inputs add up to, and the signatures still to check.
#[derive(Debug)]
pub struct InputsChecked<'a> {
    /// Inputs minus outputs.
    pub fee: Amount,
    /// One per input.
    pub sig_checks: Vec<SigCheck<'a>>,
}

/// Rules against the coins spent (Bitcoin Core's `CheckTxInputs`): each input's coin, given by
/// `coins` in input order (`None` when missing or spent), is mature at `spend_height`, the
/// totals are in range and inputs cover outputs. Signatures are not verified here: the returned
/// checks are, later and in parallel.
///
/// # Errors
/// The first rule broken.
pub fn check_tx_inputs<'a>(
    tx: &'a Transaction,
    coins: &[Option<Coin>],
    spend_height: u32,
    params: &Params,
) -> Result<InputsChecked<'a>, TxError> {
    let mut total = Amount::ZERO;
    let mut sig_checks = Vec::with_capacity(tx.inputs.len());
    for (index, (input, coin)) in tx.inputs.iter().zip(coins).enumerate() {
        let coin = coin.as_ref().ok_or(TxError::MissingOrSpent(input.prevout))?;
        if coin.is_coinbase {
            let depth = spend_height.saturating_sub(coin.height);
            if depth < params.coinbase_maturity {
                return Err(TxError::ImmatureCoinbase {
                    outpoint: input.prevout,
                    depth,
                });
            }
        }
        total = total.checked_add(coin.output.value).map_err(|_| TxError::InputTotalOutOfRange)?;
        let key_hash = match &coin.output.lock {
            Lock::PubkeyHash(h) => *h,
            Lock::DataCarrier(_) => return Err(TxError::Unspendable { index }),
        };
        sig_checks.push(SigCheck {
            tx,
            index,
            spent: coin.output.clone(),
            key_hash,
        });
    }
    let outputs = Amount::checked_sum(tx.outputs.iter().map(|o| o.value)).map_err(|_| TxError::OutputTotalOutOfRange)?;
    let fee = total
        .checked_sub(outputs)
        .map_err(|_| TxError::InputsBelowOutputs { inputs: total, outputs })?;
    Ok(InputsChecked { fee, sig_checks })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Txid;
    use crate::params::Network;
    use crate::sighash::{lock_for_key, sign_input};
    use crate::transaction::{OutPoint, TxIn, TxOut};
    use secp256k1::SecretKey;

    fn params() -> &'static Params {
        Network::Regtest.params()
    }

    fn key(n: u8) -> SecretKey {
        SecretKey::from_secret_bytes([n; 32]).unwrap()
    }

    fn coin(value: u64, k: &SecretKey, height: u32, is_coinbase: bool) -> Coin {
        Coin {
            output: TxOut {
                value: Amount::from_units(value).unwrap(),
                lock: lock_for_key(&PublicKey::from_secret_key(k)),
            },
            height,
            is_coinbase,
        }
    }

    /// A signed one-input transaction spending `coin` and paying `out` units to key 9.
    fn spend(coin: &Coin, k: &SecretKey, out: u64) -> Transaction {
        let mut tx = Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint::new(Txid::from_byte_array([1; 32]), 0),
                signature: vec![],
                pubkey: vec![],
            }],
            outputs: vec![TxOut {
                value: Amount::from_units(out).unwrap(),
                lock: lock_for_key(&PublicKey::from_secret_key(&key(9))),
            }],
            lock_time: 0,
        };
        sign_input(&mut tx, 0, &coin.output, k);
        tx
    }

    fn check_sigs(tx: &Transaction, c: &Coin, height: u32) -> Result<Amount, TxError> {
        let r = check_tx_inputs(tx, &[Some(c.clone())], height, params())?;
        for s in &r.sig_checks {
            s.verify()?;
        }
        Ok(r.fee)
    }

    #[test]
    fn valid_spend_passes_and_reports_fee() {
        let k = key(1);
        let c = coin(1000, &k, 1, false);
        let tx = spend(&c, &k, 900);
        check_transaction(&tx, params()).unwrap();
        assert_eq!(check_sigs(&tx, &c, 2).unwrap().to_units(), 100);
    }

    #[test]
    fn context_free_rules() {
        let k = key(1);
        let c = coin(1000, &k, 1, false);
        let good = spend(&c, &k, 900);
        let mut t = good.clone();
        t.inputs.clear();
        assert_eq!(check_transaction(&t, params()), Err(TxError::NoInputs));
        let mut t = good.clone();
        t.outputs.clear();
        assert_eq!(check_transaction(&t, params()), Err(TxError::NoOutputs));
        let mut t = good.clone();
        t.inputs.push(t.inputs[0].clone());
        assert!(matches!(check_transaction(&t, params()), Err(TxError::DuplicateInput(_))));
        let mut t = good.clone();
        t.outputs = vec![t.outputs[0].clone(); 2];
        t.outputs[0].value = Amount::MAX_MONEY;
        assert_eq!(check_transaction(&t, params()), Err(TxError::OutputTotalOutOfRange));
        let mut t = good.clone();
        t.outputs.push(TxOut {
            value: Amount::ZERO,
            lock: Lock::DataCarrier(vec![0; 81]),
        });
        assert_eq!(check_transaction(&t, params()), Err(TxError::DataCarrierTooLarge(81)));
        let mut t = good.clone();
        t.outputs = vec![t.outputs[0].clone(); 6000];
        assert!(matches!(check_transaction(&t, params()), Err(TxError::TooLarge { .. })));
        let mut t = good.clone();
        t.inputs.push(TxIn {
            prevout: OutPoint::NULL,
            signature: vec![],
            pubkey: vec![],
        });
        assert_eq!(check_transaction(&t, params()), Err(TxError::NullPrevout));
        let mut cb = good.clone();
        cb.inputs = vec![TxIn {
            prevout: OutPoint::NULL,
            signature: vec![1],
            pubkey: vec![],
        }];
        assert_eq!(check_transaction(&cb, params()), Err(TxError::CoinbaseDataSize(1)));
        // Exactly 64 bytes is refused; 63 and 65 are not (for this rule).
        let mut t = good.clone();
        t.outputs = vec![TxOut {
            value: Amount::ZERO,
            lock: Lock::DataCarrier(vec![]),
        }];
        t.inputs[0].signature.clear();
        t.inputs[0].pubkey.clear();
        let base = t.encode().len();
        for (len, refused) in [(63, false), (64, true), (65, false)] {
            t.outputs[0].lock = Lock::DataCarrier(vec![0; len - base]);
            assert_eq!(t.encode().len(), len);
            assert_eq!(
                check_transaction(&t, params()) == Err(TxError::SixtyFourBytes),
                refused,
                "{len} bytes"
            );
        }
    }

    #[test]
    fn inputs_must_exist_and_cover_outputs() {
        let k = key(1);
        let c = coin(1000, &k, 1, false);
        let tx = spend(&c, &k, 1001);
        assert!(matches!(
            check_tx_inputs(&tx, &[None], 2, params()),
            Err(TxError::MissingOrSpent(_))
        ));
        assert!(matches!(check_sigs(&tx, &c, 2), Err(TxError::InputsBelowOutputs { .. })));
    }

    #[test]
    fn coinbase_needs_100_confirmations() {
        let k = key(1);
        let c = coin(1000, &k, 10, true);
        let tx = spend(&c, &k, 900);
        assert_eq!(
            check_sigs(&tx, &c, 109),
            Err(TxError::ImmatureCoinbase {
                outpoint: tx.inputs[0].prevout,
                depth: 99
            })
        );
        assert!(check_sigs(&tx, &c, 110).is_ok());
    }

    #[test]
    fn signature_rules() {
        let k = key(1);
        let c = coin(1000, &k, 1, false);
        let good = spend(&c, &k, 900);
        // Signed by the wrong key: key hash mismatch.
        let wrong = spend(&c, &key(2), 900);
        assert_eq!(check_sigs(&wrong, &c, 2), Err(TxError::PubkeyMismatch { index: 0 }));
        // Tampered output after signing: the sighash commits to outputs.
        let mut t = good.clone();
        t.outputs[0].value = Amount::from_units(800).unwrap();
        assert_eq!(check_sigs(&t, &c, 2), Err(TxError::BadSignature { index: 0 }));
        // Same transaction, but the spent amount differs: the sighash commits to it.
        let other = coin(1001, &k, 1, false);
        assert_eq!(check_sigs(&good, &other, 2), Err(TxError::BadSignature { index: 0 }));
        // High-S form of a valid signature is rejected.
        let mut t = good.clone();
        let sig = Signature::from_compact(&t.inputs[0].signature).unwrap();
        t.inputs[0].signature = high_s(&sig).to_vec();
        assert_eq!(check_sigs(&t, &c, 2), Err(TxError::HighS { index: 0 }));
        // Malformed fields.
        let mut t = good.clone();
        t.inputs[0].signature.pop();
        assert_eq!(check_sigs(&t, &c, 2), Err(TxError::MalformedSignature { index: 0 }));
        let mut t = good;
        t.inputs[0].pubkey.pop();
        assert_eq!(check_sigs(&t, &c, 2), Err(TxError::BadPubkey { index: 0 }));
        // Data-carrier outputs cannot be spent.
        let dc = Coin {
            output: TxOut {
                value: Amount::ZERO,
                lock: Lock::DataCarrier(vec![]),
            },
            height: 1,
            is_coinbase: false,
        };
        let t = spend(&c, &k, 0);
        assert_eq!(
            check_tx_inputs(&t, &[Some(dc)], 2, params()).unwrap_err(),
            TxError::Unspendable { index: 0 }
        );
    }

    /// s -> n - s on the compact encoding.
    fn high_s(sig: &Signature) -> [u8; 64] {
        const N: [u8; 32] = [
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xBA, 0xAE, 0xDC, 0xE6, 0xAF,
            0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41,
        ];
        let mut c = sig.serialize_compact();
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let d = i16::from(N[i]) - i16::from(c[32 + i]) - borrow;
            borrow = i16::from(d < 0);
            c[32 + i] = (d + if d < 0 { 256 } else { 0 }) as u8;
        }
        c
    }
}
