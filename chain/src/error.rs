//! Error types of the chain crate, one enum per concern, each variant carrying typed context.

use thiserror::Error;

use crate::amount::Amount;
use crate::hash::{BlockHash, Txid};
use crate::transaction::OutPoint;

/// A hash string that is not 64 (or 40) hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseHashError {
    /// The string has the wrong number of characters.
    #[error("hash string has {0} characters")]
    Length(usize),
    /// The string is not hex.
    #[error("hash string is not hex")]
    Hex,
}

/// An amount outside `0..=MAX_MONEY`, or arithmetic that would leave it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AmountError {
    /// More than `MAX_MONEY` base units.
    #[error("amount {0} is above the money supply cap")]
    OutOfRange(u64),
    /// Arithmetic overflowed.
    #[error("amount arithmetic overflowed")]
    Overflow,
    /// Subtraction went below zero.
    #[error("amount would be negative")]
    Negative,
    /// Not a decimal coin amount with at most eight decimals.
    #[error("invalid amount {0:?}")]
    Parse(String),
}

/// Bytes that are not a canonical encoding.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended in the middle of a value.
    #[error("unexpected end of data")]
    UnexpectedEnd,
    /// A `CompactSize` used a longer form than needed.
    #[error("non-canonical compact size")]
    NonCanonicalSize,
    /// A length prefix above the allowed maximum.
    #[error("length {len} exceeds maximum {max}")]
    TooLarge {
        /// The announced length.
        len: u64,
        /// The cap for this field.
        max: u64,
    },
    /// Bytes left after a complete value.
    #[error("{0} trailing bytes")]
    TrailingBytes(usize),
    /// A lock type this version does not know.
    #[error("unknown lock type {0}")]
    UnknownLock(u8),
    /// An amount above `MAX_MONEY`.
    #[error("amount out of range: {0}")]
    Amount(#[from] AmountError),
    /// A stored record that does not belong (wrong tag or version).
    #[error("invalid {0}")]
    Invalid(&'static str),
}

/// Why a transaction is invalid (on its own, or against the chain and mempool).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TxError {
    /// A transaction needs at least one input.
    #[error("bad-txns-vin-empty")]
    NoInputs,
    /// A transaction needs at least one output.
    #[error("bad-txns-vout-empty")]
    NoOutputs,
    /// Admitting it would make a chain of unconfirmed transactions longer or larger than the
    /// pool allows (Core's ancestor and descendant limits: 25 transactions, 101 kvB).
    #[error("too-long-mempool-chain: {0}")]
    TooLongMempoolChain(String),
    /// Exactly 64 bytes: such a transaction could be taken for an inner merkle node (two 32-byte
    /// hashes), letting a forged body match a real block's merkle root (CVE-2017-12842's shape;
    /// BIP 54 makes the same rule).
    #[error("bad-txns-size-64: a transaction of exactly 64 bytes could pass for an inner merkle node")]
    SixtyFourBytes,
    /// The encoding is larger than allowed.
    #[error("bad-txns-oversize: {size} bytes, maximum {max}")]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// The outputs' total leaves the money range.
    #[error("bad-txns-txouttotal-toolarge")]
    OutputTotalOutOfRange,
    /// The same outpoint is spent twice by one transaction.
    #[error("bad-txns-inputs-duplicate: {0}")]
    DuplicateInput(OutPoint),
    /// A non-coinbase input refers to the null outpoint.
    #[error("bad-txns-prevout-null")]
    NullPrevout,
    /// The coinbase data is not 2 to 100 bytes.
    #[error("bad-cb-length: {0} bytes")]
    CoinbaseDataSize(usize),
    /// A coinbase transaction outside the first position of a block, or sent alone.
    #[error("coinbase")]
    UnexpectedCoinbase,
    /// A data-carrier output longer than 80 bytes.
    #[error("datacarrier output of {0} bytes exceeds 80")]
    DataCarrierTooLarge(usize),
    /// The input spends an outpoint that does not exist or is already spent.
    #[error("bad-txns-inputs-missingorspent: {0}")]
    MissingOrSpent(OutPoint),
    /// The input spends a coinbase output with fewer than 100 confirmations.
    #[error("bad-txns-premature-spend-of-coinbase: {outpoint} has {depth} confirmations")]
    ImmatureCoinbase {
        /// The coinbase output.
        outpoint: OutPoint,
        /// Its confirmations at the spending height.
        depth: u32,
    },
    /// The inputs' total leaves the money range.
    #[error("bad-txns-inputvalues-outofrange")]
    InputTotalOutOfRange,
    /// Outputs worth more than the inputs.
    #[error("bad-txns-in-belowout: inputs {inputs}, outputs {outputs}")]
    InputsBelowOutputs {
        /// Total input value.
        inputs: Amount,
        /// Total output value.
        outputs: Amount,
    },
    /// The lock of the spent output cannot be satisfied.
    #[error("input {index}: spent output is unspendable")]
    Unspendable {
        /// Input position.
        index: usize,
    },
    /// The public key is malformed.
    #[error("input {index}: invalid public key")]
    BadPubkey {
        /// Input position.
        index: usize,
    },
    /// The public key does not hash to the lock's key hash.
    #[error("input {index}: public key does not match the locking key hash")]
    PubkeyMismatch {
        /// Input position.
        index: usize,
    },
    /// The signature is not a 64-byte compact ECDSA signature.
    #[error("input {index}: malformed signature")]
    MalformedSignature {
        /// Input position.
        index: usize,
    },
    /// The signature has a high S value (only low-S is accepted).
    #[error("input {index}: non-canonical signature: high S")]
    HighS {
        /// Input position.
        index: usize,
    },
    /// The signature does not verify.
    #[error("input {index}: signature verification failed")]
    BadSignature {
        /// Input position.
        index: usize,
    },
    /// The lock time is not yet reached.
    #[error("bad-txns-nonfinal")]
    NonFinal,
    /// Already in the mempool or confirmed.
    #[error("txn-already-known")]
    AlreadyKnown,
    /// Spends an output that a mempool transaction already spends.
    #[error("txn-mempool-conflict: {outpoint} already spent by {by}")]
    Conflict {
        /// The contested output.
        outpoint: OutPoint,
        /// The mempool transaction that spends it.
        by: Txid,
    },
    /// The mempool is full and the fee rate is below what would be evicted.
    #[error("mempool full: fee rate {feerate} sat/kB is below the minimum {min} sat/kB")]
    MempoolFull {
        /// The transaction's fee rate.
        feerate: u64,
        /// The rate it would have to beat.
        min: u64,
    },
    /// The fee rate is below the relay minimum.
    #[error("min relay fee not met: {fee} < {min}")]
    FeeTooLow {
        /// The fee paid.
        fee: Amount,
        /// The minimum for its size.
        min: Amount,
    },
}

/// Why a block (or header) is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlockError {
    /// The header hash is above the target.
    #[error("high-hash: proof of work failed")]
    HighHash,
    /// The compact target is malformed or above the network's limit.
    #[error("bad-diffbits: invalid compact target {0:#010x}")]
    BadTarget(u32),
    /// The target is not the one the difficulty rule requires.
    #[error("bad-diffbits: expected {expected:#010x}, got {got:#010x}")]
    WrongBits {
        /// Required bits.
        expected: u32,
        /// Bits in the header.
        got: u32,
    },
    /// The time is not above the median of the previous 11 blocks.
    #[error("time-too-old: {time} <= median time past {mtp}")]
    TimeTooOld {
        /// Header time.
        time: u32,
        /// Median of the previous 11 blocks.
        mtp: u32,
    },
    /// The time is more than two hours ahead of this node's clock.
    #[error("time-too-new: {time} > {max}")]
    TimeTooNew {
        /// Header time.
        time: u32,
        /// Now plus two hours.
        max: u64,
    },
    /// The merkle root does not match the transactions.
    #[error("bad-txnmrklroot")]
    BadMerkleRoot,
    /// The transaction list repeats a subtree (CVE-2012-2459).
    #[error("bad-txns-duplicate: mutated merkle tree")]
    MutatedMerkle,
    /// The block has no transactions.
    #[error("bad-blk-length: no transactions")]
    NoTransactions,
    /// The first transaction is not a coinbase.
    #[error("bad-cb-missing")]
    FirstNotCoinbase,
    /// A coinbase after the first position.
    #[error("bad-cb-multiple")]
    MultipleCoinbase,
    /// The coinbase does not start with the block height.
    #[error("bad-cb-height: expected height {expected}")]
    BadCoinbaseHeight {
        /// The block's height.
        expected: u32,
    },
    /// The coinbase pays more than subsidy plus fees.
    #[error("bad-cb-amount: coinbase pays {paid}, limit {limit}")]
    CoinbaseTooLarge {
        /// What the coinbase outputs total.
        paid: Amount,
        /// Subsidy plus fees.
        limit: Amount,
    },
    /// The block encoding exceeds the size cap.
    #[error("bad-blk-length: {size} bytes, maximum {max}")]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// A transaction in the block is invalid.
    #[error("bad transaction {txid} at position {index}: {error}")]
    Tx {
        /// Position in the block.
        index: usize,
        /// Its id.
        txid: Txid,
        /// Why.
        error: TxError,
    },
    /// The block descends from a block known to be invalid.
    #[error("bad-prevblk: parent {0} is invalid")]
    InvalidParent(BlockHash),
    /// The block itself was already found invalid.
    #[error("duplicate-invalid: {0} was already found invalid")]
    KnownInvalid(BlockHash),
    /// A block whose parent is unknown claims a target easier than any block this chain could
    /// need soon: proof of work that cheap buys no place in the orphan pool.
    #[error("orphan-too-easy: an orphan claiming bits {bits:#010x} is easier than the floor {floor:#010x}")]
    OrphanTooEasy {
        /// The bits the orphan claims.
        bits: u32,
        /// The easiest bits an orphan may claim now.
        floor: u32,
    },
}

/// Why a list of headers (a peer's answer during headers-first sync) is rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeadersError {
    /// The list is empty.
    #[error("no headers")]
    Empty,
    /// The first header's parent is not in the block index.
    #[error("headers do not connect: parent {parent} is unknown")]
    Unconnected {
        /// The unknown parent.
        parent: BlockHash,
    },
    /// A header does not build on the one before it in the list.
    #[error("header {index} does not build on the header before it")]
    NotContinuous {
        /// Position in the list.
        index: usize,
    },
    /// A header of a block already found invalid.
    #[error("header {index} ({hash}) is a block already found invalid")]
    KnownInvalid {
        /// Position in the list.
        index: usize,
        /// Its hash.
        hash: BlockHash,
    },
    /// A header breaks a header rule (proof of work, bits, time) or builds on an invalid block.
    #[error("header {index} ({hash}) is invalid: {error}")]
    Invalid {
        /// Position in the list.
        index: usize,
        /// Its hash.
        hash: BlockHash,
        /// The rule broken (boxed: it is large and this path is rare).
        error: Box<BlockError>,
    },
}

/// A failure of the block store.
#[derive(Debug, Error)]
pub enum StoreError {
    /// RocksDB reported an error.
    #[error("database error: {0}")]
    Db(#[from] rocksdb::Error),
    /// A stored record did not decode: the database is corrupt or from another version.
    #[error("corrupt {what} record: {source}")]
    Corrupt {
        /// Which kind of record.
        what: &'static str,
        /// The decoding error.
        source: DecodeError,
    },
    /// The database belongs to another network.
    #[error("database is for network {found}, not {expected}")]
    WrongNetwork {
        /// The network asked for.
        expected: String,
        /// The network stored.
        found: String,
    },
    /// Data the chain state refers to is missing.
    #[error("missing {what} for block {hash}")]
    Missing {
        /// Which record.
        what: &'static str,
        /// The block.
        hash: BlockHash,
    },
}

/// An error from the chain state: either the input was invalid or the store failed.
#[derive(Debug, Error)]
pub enum ChainError {
    /// The block is invalid.
    #[error(transparent)]
    Block(#[from] BlockError),
    /// Storage failed; the chain state on disk is unchanged by the failed step.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rocksdb::Error> for ChainError {
    fn from(e: rocksdb::Error) -> Self {
        ChainError::Store(StoreError::Db(e))
    }
}
