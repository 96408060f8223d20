//! Cairn's node: the chain service, the wallet service, the RPC methods, the peer-to-peer
//! glue, mining and file sharing, behind [`launch`] (start a node on a tokio runtime and get a
//! [`NodeHandle`]) and [`run`] (what `cairn node` does). The `cairn` binary is a thin `main`
//! over this library, so tests can run nodes in-process.
//!
//! The pieces: [`config`] (flags and config file), [`launch`](mod@launch) (startup and shutdown
//! order), [`service`] (the chain service, sole owner of chain and mempool), [`wallet_service`]
//! (the wallet, following the chain's events), [`rpc`] (the RPC methods), [`router`] (network
//! events to chain decisions), [`policy`] (what a peer's data says about the peer), [`fees`] (fee estimation), [`sync`]
//! (headers-first sync), [`miner`] (continuous mining), [`content`] (file sharing), [`cli`] (the
//! client), [`shutdown`] (signals and fatal errors).

pub mod cli;
pub mod clock;
pub mod config;
pub mod content;
pub mod fees;
pub mod fetch;
pub mod launch;
pub mod logging;
pub mod miner;
pub mod policy;
pub mod router;
pub mod rpc;
pub mod service;
pub mod settings;
pub mod shutdown;
pub mod sync;
pub mod wallet_load;
pub mod wallet_service;

pub use launch::{NodeHandle, launch, run};
