//! The wallet crate's integration tests: one binary, one module per area.

mod address;
mod coin_select;
mod common;
mod encryption;
mod keystore;
mod scenario;
mod signing;
