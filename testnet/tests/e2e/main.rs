//! End-to-end scenarios on real `cairn node` processes started by the launcher, on 127.0.0.1 with
//! ports the kernel picked, in temporary folders; every wait is bounded and every node is stopped
//! when a test ends (also when it fails).
//!
//! The nodes run the `cairn` binary of the same build (`target/<profile>/cairn`, built by
//! `cargo test --workspace` / `cargo nextest run --workspace`), or `$CAIRN_BIN`.

mod cli;
mod common;
mod deps;
mod owner;
mod scenarios;
