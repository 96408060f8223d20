//! The local testnet launcher behind `cairn-testnet`: starts N `cairn node` processes on
//! 127.0.0.1, each with its own datadir under one folder, connects them, mines on a subset, shows
//! their status, and runs the scenario verbs (kill, restart, partition, heal) on a running testnet.
//!
//! - [`spec`]: `DIR/testnet.json`, the description of a testnet that every verb reads and updates.
//! - [`process`]: starting and stopping node processes, and telling whether one is alive.
//! - [`testnet`]: the [`Testnet`] and its verbs.
//! - [`status`]: what each node reports, and the live table.
//!
//! Partitions work at the application level: each node bans the other group's peer ids (as
//! `setban` does) and so refuses their connections; healing lifts exactly those bans and dials
//! across at once. No network namespaces are used, so no root is needed.

pub mod process;
pub mod spec;
pub mod status;
pub mod testnet;
pub mod view;

pub use spec::{NodeSpec, TestnetSpec};
pub use status::NodeStatus;
pub use testnet::{Testnet, UpOptions};
