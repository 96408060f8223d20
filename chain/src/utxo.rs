//! Unspent outputs ("coins"), undo data, and the UTXO set digest.
//!
//! Encodings (stored in RocksDB):
//!
//! ```text
//! Coin      = height:u32 | is_coinbase:u8 | TxOut
//! BlockUndo = [OutPoint Coin]      (the coins a block spent that existed before it)
//! ```
//!
//! The digest is SHA-256 over every coin in outpoint-key order (`txid | vout big-endian`,
//! followed by the coin encoding), like Bitcoin Core's `hash_serialized`: two nodes with equal
//! digests hold the same UTXO set, whatever path of blocks and reorgs brought them there.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::amount::Amount;
use crate::block::Block;
use crate::encode::{Decodable, Encodable, Reader, write_compact_size};
use crate::error::DecodeError;
use crate::transaction::{OutPoint, TxOut};

/// An unspent output and where it came from.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Coin {
    /// The output.
    pub output: TxOut,
    /// Height of the block that created it.
    pub height: u32,
    /// Whether a coinbase created it (then it matures after 100 blocks).
    pub is_coinbase: bool,
}

impl Encodable for Coin {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.height.to_le_bytes());
        out.push(u8::from(self.is_coinbase));
        self.output.encode_to(out);
    }
}

impl Decodable for Coin {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let height = r.u32()?;
        let is_coinbase = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(DecodeError::Invalid("coinbase flag")),
        };
        Ok(Coin {
            height,
            is_coinbase,
            output: TxOut::decode_from(r)?,
        })
    }
}

/// The coins a block spent that existed before it, in spending order.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct BlockUndo {
    /// Spent outpoints with their coins.
    pub spent: Vec<(OutPoint, Coin)>,
}

impl Encodable for BlockUndo {
    fn encode_to(&self, out: &mut Vec<u8>) {
        write_compact_size(out, self.spent.len() as u64);
        for (op, coin) in &self.spent {
            op.encode_to(out);
            coin.encode_to(out);
        }
    }
}

impl Decodable for BlockUndo {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // Smallest entry: 36-byte outpoint + 5-byte coin header + 10-byte output.
        let n = r.length(51, crate::block::MAX_BLOCK_TXS * 10)?;
        let mut spent = Vec::with_capacity(n);
        for _ in 0..n {
            spent.push((OutPoint::decode_from(r)?, Coin::decode_from(r)?));
        }
        Ok(BlockUndo { spent })
    }
}

/// Summary of a UTXO set, as `gettxoutsetinfo` reports it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UtxoStats {
    /// Number of unspent outputs.
    pub txouts: u64,
    /// Their total value.
    pub total_amount: Amount,
    /// SHA-256 of the serialized set (hex shown as-is, not reversed).
    pub digest: [u8; 32],
    /// Bytes of the serialized set.
    pub serialized_size: u64,
}

/// Accumulates coins, fed in outpoint-key order, into [`UtxoStats`].
#[derive(Default)]
pub struct UtxoDigest {
    hasher: Sha256,
    txouts: u64,
    total: u64,
    size: u64,
    buf: Vec<u8>,
}

impl UtxoDigest {
    /// Adds one coin given as its stored key and value bytes.
    pub fn add_raw(&mut self, key: &[u8], value: &[u8], amount: Amount) {
        self.hasher.update(key);
        self.hasher.update(value);
        self.txouts += 1;
        self.total = self.total.saturating_add(amount.to_units());
        self.size += (key.len() + value.len()) as u64;
    }

    /// Adds one coin.
    pub fn add(&mut self, op: &OutPoint, coin: &Coin) {
        self.buf.clear();
        coin.encode_to(&mut self.buf);
        let value = std::mem::take(&mut self.buf);
        self.add_raw(&op.to_key(), &value, coin.output.value);
        self.buf = value;
    }

    /// The summary.
    pub fn finish(self) -> UtxoStats {
        UtxoStats {
            txouts: self.txouts,
            total_amount: Amount::from_units(self.total.min(Amount::MAX_MONEY.to_units())).unwrap_or(Amount::MAX_MONEY),
            digest: self.hasher.finalize().into(),
            serialized_size: self.size,
        }
    }
}

/// A UTXO set held in memory, rebuilt by replaying blocks: the independent recomputation that
/// `verify_utxo_set` compares the stored set against. It trusts the blocks (they were validated
/// when connected) and applies only their effects.
#[derive(Default, Debug)]
pub struct MemoryUtxoSet {
    coins: BTreeMap<[u8; 36], Coin>,
}

impl MemoryUtxoSet {
    /// Applies a block's spends and new outputs.
    pub fn apply_block(&mut self, block: &Block, height: u32) {
        for (i, tx) in block.txdata.iter().enumerate() {
            if i > 0 {
                for input in &tx.inputs {
                    self.coins.remove(&input.prevout.to_key());
                }
            }
            let txid = tx.compute_txid();
            for (vout, out) in tx.outputs.iter().enumerate() {
                if !out.lock.is_unspendable() {
                    let coin = Coin {
                        output: out.clone(),
                        height,
                        is_coinbase: i == 0,
                    };
                    self.coins.insert(OutPoint::new(txid, vout as u32).to_key(), coin);
                }
            }
        }
    }

    /// The set's summary.
    pub fn stats(&self) -> UtxoStats {
        let mut d = UtxoDigest::default();
        for (k, c) in &self.coins {
            d.add(&OutPoint::from_key(k).expect("keys are made by to_key"), c);
        }
        d.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::tests::arb_lock;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn coin_and_undo_round_trip(value in 0..=Amount::MAX_MONEY.to_units(), lock in arb_lock(), height in any::<u32>(), cb in any::<bool>(), n in 0usize..5) {
            let coin = Coin { output: TxOut { value: Amount::from_units(value).unwrap(), lock }, height, is_coinbase: cb };
            prop_assert_eq!(Coin::decode(&coin.encode()).unwrap(), coin.clone());
            let undo = BlockUndo { spent: (0..n).map(|i| (OutPoint::new(crate::hash::Txid::ZERO, i as u32), coin.clone())).collect() };
            prop_assert_eq!(BlockUndo::decode(&undo.encode()).unwrap(), undo);
        }

        #[test]
        fn undo_decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = BlockUndo::decode(&bytes);
            let _ = Coin::decode(&bytes);
        }
    }
}
