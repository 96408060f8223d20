//! Integration tests of the chain crate: one binary, one module per area.

mod anchors;
mod common;
mod crash;
mod headers;
mod manual;
mod mempool;
mod reorg;
mod rules;
mod stats;
