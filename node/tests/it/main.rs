//! The node end to end: a real `cairn node` process driven over JSON-RPC, as a user would.

mod common;
mod walkthrough;
mod lifecycle;
mod python;
