//! Consensus rules.
//!
//! - [`tx`]: rules a transaction must meet alone ([`check_transaction`]) and against the coins it
//!   spends ([`check_tx_inputs`]), producing signature checks that run in parallel later.
//! - [`block`]: context-free block rules ([`check_block`]) and rules that depend on the parent
//!   ([`check_header_contextual`], [`check_block_contextual`]).
//! - [`connect`]: applies a block to a coin view, yielding the UTXO changes and undo data, with
//!   all signature checks of the block run across threads.
//! - [`sigcache`]: signature checks that passed, so a transaction verified in the mempool is
//!   not verified again when its block connects (or after a reorg).

pub mod block;
pub mod connect;
pub mod sigcache;
pub mod tx;

pub use block::{HeaderContext, check_block, check_block_contextual, check_header_contextual};
pub use connect::{BlockChanges, Signatures, connect_block};
pub use sigcache::SigCache;
pub use tx::{SigCheck, check_transaction, check_tx_inputs, verify_all};
