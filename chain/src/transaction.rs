//! Transactions: inputs that spend earlier outputs, outputs guarded by a [`Lock`].
//!
//! Encoding (all integers little-endian, lists and byte strings `CompactSize`-prefixed):
//!
//! ```text
//! Transaction = version:u32 | inputs:[TxIn] | outputs:[TxOut] | lock_time:u32
//! TxIn        = prev_txid:32 | prev_vout:u32 | signature:bytes(<=100) | pubkey:bytes(<=65)
//! TxOut       = value:u64 | Lock
//! Lock        = 0x00 pubkey_hash:20            (pay to public key hash)
//!             | 0x01 data:bytes(<=80)           (data carrier, unspendable)
//! ```
//!
//! A coinbase has exactly one input whose previous output is [`OutPoint::NULL`]; its `signature`
//! field carries the coinbase data, which starts with the block height (u32, little-endian).

use std::fmt;
use std::str::FromStr;

use crate::amount::Amount;
use crate::encode::{Decodable, Encodable, Reader, write_var_bytes, write_var_list};
use crate::error::DecodeError;
use crate::hash::{PubkeyHash, Txid, sha256d};

/// Most bytes a data-carrier output may carry.
pub const MAX_DATA_CARRIER: usize = 80;
/// Largest byte string in the signature field (the coinbase data limit, as in Bitcoin).
pub const MAX_SIGNATURE_FIELD: u64 = 100;
/// Largest public key field (an uncompressed key).
pub const MAX_PUBKEY_FIELD: u64 = 65;
/// Most inputs or outputs a decoded transaction may list.
pub const MAX_TX_IO: u64 = 100_000;

/// A reference to one output of an earlier transaction.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OutPoint {
    /// The transaction that created the output.
    pub txid: Txid,
    /// The output's position in it.
    pub vout: u32,
}

impl OutPoint {
    /// The previous output of a coinbase input.
    pub const NULL: OutPoint = OutPoint {
        txid: Txid::ZERO,
        vout: u32::MAX,
    };

    /// A reference to output `vout` of `txid`.
    pub const fn new(txid: Txid, vout: u32) -> Self {
        OutPoint { txid, vout }
    }

    /// Whether this is the coinbase marker.
    pub fn is_null(&self) -> bool {
        *self == Self::NULL
    }

    /// A fixed 36-byte key that sorts by txid then output index (used as the UTXO key on disk).
    pub fn to_key(&self) -> [u8; 36] {
        let mut k = [0u8; 36];
        k[..32].copy_from_slice(self.txid.as_bytes());
        k[32..].copy_from_slice(&self.vout.to_be_bytes());
        k
    }

    /// Reads a key made by [`OutPoint::to_key`].
    pub fn from_key(k: &[u8]) -> Result<Self, DecodeError> {
        if k.len() != 36 {
            return Err(DecodeError::Invalid("outpoint key"));
        }
        let mut txid = [0u8; 32];
        txid.copy_from_slice(&k[..32]);
        let vout = u32::from_be_bytes([k[32], k[33], k[34], k[35]]);
        Ok(OutPoint::new(Txid::from_byte_array(txid), vout))
    }
}

impl fmt::Display for OutPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.txid, self.vout)
    }
}

impl fmt::Debug for OutPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for OutPoint {
    type Err = DecodeError;

    /// Parses `txid:vout`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (t, v) = s.split_once(':').ok_or(DecodeError::Invalid("outpoint"))?;
        let txid = t.parse().map_err(|_| DecodeError::Invalid("outpoint txid"))?;
        let vout = v.parse().map_err(|_| DecodeError::Invalid("outpoint index"))?;
        Ok(OutPoint::new(txid, vout))
    }
}

impl Encodable for OutPoint {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.txid.as_bytes());
        out.extend_from_slice(&self.vout.to_le_bytes());
    }
}

impl Decodable for OutPoint {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(OutPoint {
            txid: Txid::from_byte_array(r.array()?),
            vout: r.u32()?,
        })
    }
}

/// The condition an output's spender must meet. New kinds of lock get new tags.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Lock {
    /// Spendable by a signature from the key whose `Hash160` is given.
    PubkeyHash(PubkeyHash),
    /// Unspendable data (at most 80 bytes), for timestamping content ids.
    DataCarrier(Vec<u8>),
}

impl Lock {
    const TAG_PUBKEY_HASH: u8 = 0;
    const TAG_DATA_CARRIER: u8 = 1;

    /// Whether no input can ever spend an output with this lock (such outputs never enter the
    /// UTXO set, as in Bitcoin Core).
    pub fn is_unspendable(&self) -> bool {
        matches!(self, Lock::DataCarrier(_))
    }
}

impl Encodable for Lock {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Lock::PubkeyHash(h) => {
                out.push(Self::TAG_PUBKEY_HASH);
                out.extend_from_slice(&h.to_byte_array());
            }
            Lock::DataCarrier(d) => {
                out.push(Self::TAG_DATA_CARRIER);
                write_var_bytes(out, d);
            }
        }
    }
}

impl Decodable for Lock {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            Self::TAG_PUBKEY_HASH => Ok(Lock::PubkeyHash(PubkeyHash::from_byte_array(r.array()?))),
            Self::TAG_DATA_CARRIER => Ok(Lock::DataCarrier(r.var_bytes(MAX_DATA_CARRIER as u64)?)),
            t => Err(DecodeError::UnknownLock(t)),
        }
    }
}

/// An input: the output it spends and the proof that it may.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct TxIn {
    /// The output being spent ([`OutPoint::NULL`] for a coinbase).
    pub prevout: OutPoint,
    /// A 64-byte compact low-S ECDSA signature; in a coinbase, the coinbase data.
    pub signature: Vec<u8>,
    /// The compressed public key (33 bytes); empty in a coinbase.
    pub pubkey: Vec<u8>,
}

impl Encodable for TxIn {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.prevout.encode_to(out);
        write_var_bytes(out, &self.signature);
        write_var_bytes(out, &self.pubkey);
    }
}

impl Decodable for TxIn {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TxIn {
            prevout: OutPoint::decode_from(r)?,
            signature: r.var_bytes(MAX_SIGNATURE_FIELD)?,
            pubkey: r.var_bytes(MAX_PUBKEY_FIELD)?,
        })
    }
}

/// An output: an amount and the lock that guards it.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct TxOut {
    /// The amount.
    pub value: Amount,
    /// Who may spend it.
    pub lock: Lock,
}

impl Encodable for TxOut {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.value.to_units().to_le_bytes());
        self.lock.encode_to(out);
    }
}

impl Decodable for TxOut {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TxOut {
            value: Amount::from_units(r.u64()?)?,
            lock: Lock::decode_from(r)?,
        })
    }
}

/// A transaction.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Transaction {
    /// Format version (1).
    pub version: u32,
    /// Inputs.
    pub inputs: Vec<TxIn>,
    /// Outputs.
    pub outputs: Vec<TxOut>,
    /// Earliest height (below 500,000,000) or time at which the transaction may be mined; 0 for none.
    pub lock_time: u32,
}

/// Lock times at or above this are Unix times, below it heights (as in Bitcoin).
pub const LOCKTIME_THRESHOLD: u32 = 500_000_000;

impl Transaction {
    /// Hashes the encoding: the transaction id.
    pub fn compute_txid(&self) -> Txid {
        Txid::from_byte_array(sha256d(&self.encode()))
    }

    /// Whether this is a coinbase (a single input spending the null outpoint).
    pub fn is_coinbase(&self) -> bool {
        self.inputs.len() == 1 && self.inputs[0].prevout.is_null()
    }

    /// Encoded size in bytes.
    pub fn size(&self) -> usize {
        // Cheap enough: transactions are small and this is not on a hot path per nonce.
        self.encode().len()
    }

    /// The height written at the start of a coinbase's data, if present.
    pub fn coinbase_height(&self) -> Option<u32> {
        if !self.is_coinbase() {
            return None;
        }
        let d = &self.inputs[0].signature;
        (d.len() >= 4).then(|| u32::from_le_bytes([d[0], d[1], d[2], d[3]]))
    }

    /// Whether the lock time allows inclusion in a block at `height` with median time past `mtp`
    /// (Bitcoin's `IsFinalTx`, without sequence numbers).
    pub fn is_final(&self, height: u32, mtp: u32) -> bool {
        if self.lock_time == 0 {
            return true;
        }
        let limit = if self.lock_time < LOCKTIME_THRESHOLD { height } else { mtp };
        self.lock_time < limit
    }
}

impl Encodable for Transaction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.version.to_le_bytes());
        write_var_list(out, &self.inputs);
        write_var_list(out, &self.outputs);
        out.extend_from_slice(&self.lock_time.to_le_bytes());
    }
}

impl Decodable for Transaction {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Transaction {
            version: r.u32()?,
            // Smallest TxIn: 36-byte outpoint + two empty length prefixes.
            inputs: r.var_list(38, MAX_TX_IO)?,
            // Smallest TxOut: 8-byte value + tag + 1 byte of payload.
            outputs: r.var_list(10, MAX_TX_IO)?,
            lock_time: r.u32()?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub fn arb_lock() -> impl Strategy<Value = Lock> {
        prop_oneof![
            any::<[u8; 20]>().prop_map(|b| Lock::PubkeyHash(PubkeyHash::from_byte_array(b))),
            proptest::collection::vec(any::<u8>(), 0..=80).prop_map(Lock::DataCarrier),
        ]
    }

    pub fn arb_tx() -> impl Strategy<Value = Transaction> {
        let txin = (
            any::<[u8; 32]>(),
            any::<u32>(),
            proptest::collection::vec(any::<u8>(), 0..=100),
            proptest::collection::vec(any::<u8>(), 0..=65),
        )
            .prop_map(|(t, v, s, p)| TxIn {
                prevout: OutPoint::new(Txid::from_byte_array(t), v),
                signature: s,
                pubkey: p,
            });
        let txout = (0..=Amount::MAX_MONEY.to_units(), arb_lock()).prop_map(|(v, lock)| TxOut {
            value: Amount::from_units(v).unwrap(),
            lock,
        });
        (
            any::<u32>(),
            proptest::collection::vec(txin, 0..4),
            proptest::collection::vec(txout, 0..4),
            any::<u32>(),
        )
            .prop_map(|(version, inputs, outputs, lock_time)| Transaction {
                version,
                inputs,
                outputs,
                lock_time,
            })
    }

    proptest! {
        #[test]
        fn transaction_round_trips(tx in arb_tx()) {
            let bytes = tx.encode();
            prop_assert_eq!(Transaction::decode(&bytes).unwrap(), tx);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Transaction::decode(&bytes);
            let _ = TxOut::decode(&bytes);
        }

        #[test]
        fn outpoint_key_round_trips(t in any::<[u8; 32]>(), v in any::<u32>()) {
            let o = OutPoint::new(Txid::from_byte_array(t), v);
            prop_assert_eq!(OutPoint::from_key(&o.to_key()).unwrap(), o);
            prop_assert_eq!(o.to_string().parse::<OutPoint>().unwrap(), o);
        }
    }

    #[test]
    fn oversized_data_carrier_does_not_decode() {
        let out = TxOut {
            value: Amount::ZERO,
            lock: Lock::DataCarrier(vec![0; 81]),
        };
        assert!(matches!(TxOut::decode(&out.encode()), Err(DecodeError::TooLarge { .. })));
        let mut bytes = TxOut {
            value: Amount::ZERO,
            lock: Lock::DataCarrier(vec![]),
        }
        .encode();
        bytes[8] = 7;
        assert_eq!(TxOut::decode(&bytes), Err(DecodeError::UnknownLock(7)));
    }

    #[test]
    fn lock_time_finality() {
        let mut tx = Transaction {
            version: 1,
            inputs: vec![],
            outputs: vec![],
            lock_time: 0,
        };
        assert!(tx.is_final(0, 0));
        tx.lock_time = 10;
        assert!(!tx.is_final(10, 0));
        assert!(tx.is_final(11, 0));
        tx.lock_time = LOCKTIME_THRESHOLD + 5;
        assert!(!tx.is_final(1_000, LOCKTIME_THRESHOLD + 5));
        assert!(tx.is_final(1_000, LOCKTIME_THRESHOLD + 6));
    }
}
