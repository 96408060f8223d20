//! Cairn's consensus core, synchronous and free of networking: the types and canonical encoding
//! of transactions and blocks, the consensus rules, the RocksDB-backed chain state with most-work
//! selection and reorgs, the mempool and the miner.
//!
//! Data flows one way: a block enters [`chain::Chainstate::process_block`], is validated
//! ([`validation`]), stored and, if its chain has the most work, connected (through the [`coins`]
//! cache, flushed to RocksDB in one atomic batch per block, or per many blocks during a bulk
//! download, [`store`]); the returned [`chain::TipUpdate`] tells the [`mempool::Mempool`] what
//! changed. The [`miner`] builds templates from the tip and the pool. A node that is behind
//! checks a peer's headers first ([`headers`]) and then fetches the blocks.

pub mod amount;
pub mod anchor;
pub mod block;
pub mod chain;
pub mod coins;
pub mod encode;
pub mod error;
#[doc(hidden)]
pub mod fuzz;
pub mod hash;
pub mod headers;
pub mod mempool;
pub mod miner;
pub mod orphan;
pub mod params;
pub mod pow;
pub mod sighash;
pub mod store;
pub mod transaction;
pub mod utxo;
pub mod validation;

pub use amount::Amount;
pub use block::{Block, Header};
pub use chain::{
    BlockStats, BlockStatus, ChainTip, Chainstate, ManualError, ProcessedBlock, StatsError, TipEvent, TipStatus, TipUpdate, VerifyFailure,
};
pub use error::{BlockError, ChainError, DecodeError, HeadersError, StoreError, TxError};
pub use hash::{BlockHash, PubkeyHash, Txid};
pub use headers::{HeaderChainSummary, HeaderCursor};
pub use mempool::Mempool;
pub use params::{Network, Params};
pub use store::StoreOptions;
pub use transaction::{Lock, OutPoint, Transaction, TxIn, TxOut};
