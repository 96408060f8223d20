//! Cairn's wallet: keys, addresses, an atomically written keystore, coin selection, transaction
//! building and signing, and a view of the wallet's transactions that follows the chain.
//!
//! Data flow: the node opens the [`Wallet`] ([`Wallet::create_or_open`]) and replays active-chain
//! blocks from its birth height ([`Wallet::block_connected`]); from then on it forwards block and
//! mempool notifications ([`sync`]). A payment is [`Wallet::create_transaction`] (coin selection
//! in [`coin_select`], building in [`builder`], signing in [`signer`]); [`Wallet::commit_transaction`]
//! records it in the wallet file ([`keystore`]) as the node hands it to the mempool. Balances and
//! history ([`history`]) are derived from the tracked transactions on demand.

pub mod address;
pub mod builder;
pub mod coin_select;
pub mod crypter;
pub mod error;
pub mod history;
pub mod keys;
pub mod keystore;
pub mod manage;
pub mod message;
pub mod signer;
pub mod sync;
pub mod wallet;

pub use address::Address;
pub use coin_select::{Candidate, DUST_UNITS, INPUT_SIZE, Selection, SizeModel, dust, select_coins};
pub use error::{AddressError, WalletError};
pub use history::{Balances, BlockInfo, Category, TxDetails, TxEntry, WalletCoin};
pub use keys::KeyPair;
pub use keystore::Keystore;
pub use manage::{AbandonError, CoinStatus, Funding, KeyInfo, Received};
pub use wallet::{CreatedTx, TxState, Wallet, WalletTx};
