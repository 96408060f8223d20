//! Error types of the wallet crate, one enum per concern, each variant carrying typed context.
//!
//! Messages are lower case and self-contained: the RPC layer shows them to users as they are
//! (for example "invalid checksum" for a mistyped address).

use std::path::PathBuf;

use cairn_chain::error::AmountError;
use cairn_chain::{Amount, Network, OutPoint};
use thiserror::Error;

/// Why a string is not a valid address (for the expected network).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddressError {
    /// The string contains characters outside the Base58 alphabet.
    #[error("invalid base58 encoding")]
    InvalidBase58,
    /// The decoded payload is not 1 version byte + 20 hash bytes + 4 checksum bytes.
    #[error("invalid address length: {len} bytes, expected 25")]
    InvalidLength {
        /// Decoded length in bytes (for a string too long to be worth decoding, its length).
        len: usize,
    },
    /// The checksum does not match the payload: most likely a typo.
    #[error("invalid checksum")]
    InvalidChecksum,
    /// The version byte names no network this software knows.
    #[error("unknown address version byte {version:#04x}")]
    UnknownVersion {
        /// The version byte found.
        version: u8,
    },
    /// A valid address of another network.
    #[error("address is for network {found}, not {expected}")]
    WrongNetwork {
        /// The network the caller asked for.
        expected: Network,
        /// The network the address belongs to.
        found: Network,
    },
}

/// A wallet failure: bad input from the caller, not enough money, or a storage problem.
#[derive(Debug, Error)]
pub enum WalletError {
    /// Reading or writing the wallet file (or its directory) failed.
    #[error("wallet i/o error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The wallet file exists but cannot be trusted: bad JSON, hex, keys, format or network.
    #[error("wallet file {path} is corrupt: {reason}")]
    Corrupt {
        /// The wallet file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A wallet file exists where a new wallet was to be created.
    #[error("a wallet already exists in {path}")]
    AlreadyExists {
        /// The wallet directory.
        path: PathBuf,
    },
    /// The wallet is encrypted and locked: its secret keys cannot be used now.
    #[error("the wallet is locked")]
    Locked,
    /// An encryption command on a wallet in the wrong state.
    #[error("{0}")]
    WrongEncState(&'static str),
    /// The passphrase does not open the wallet.
    #[error("the wallet passphrase entered was incorrect")]
    PassphraseIncorrect,
    /// The spendable coins do not cover the amount plus the fee.
    #[error("insufficient funds: need {needed}, have {available}")]
    InsufficientFunds {
        /// Amount plus the fee at the size of a transaction spending every available coin.
        needed: Amount,
        /// The total of the spendable coins.
        available: Amount,
    },
    /// The payment is below the dust threshold, or would be once the fee is subtracted from it.
    #[error("transaction amount too small")]
    AmountTooSmall,
    /// The destination address is invalid or belongs to another network.
    #[error(transparent)]
    Address(#[from] AddressError),
    /// Amount arithmetic left the money range (an absurd amount or fee rate).
    #[error("amount out of range: {0}")]
    Amount(#[from] AmountError),
    /// The transaction would exceed the consensus size limit (too many small coins).
    #[error("transaction too large: {size} bytes, maximum {max}")]
    TxTooLarge {
        /// The size of the signed transaction.
        size: usize,
        /// The consensus limit.
        max: usize,
    },
    /// An input spends an output whose key this wallet does not hold.
    #[error("no key to sign input {index} spending {outpoint}")]
    MissingKey {
        /// Input position.
        index: usize,
        /// The output it spends.
        outpoint: OutPoint,
    },
    /// The spent outputs given for signing do not match the inputs one to one.
    #[error("{spent} spent outputs given for {inputs} inputs")]
    SpentOutputsMismatch {
        /// Number of inputs.
        inputs: usize,
        /// Number of spent outputs supplied.
        spent: usize,
    },
}

impl WalletError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        WalletError::Io { path: path.into(), source }
    }
}
