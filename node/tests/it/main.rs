//! The node end to end: a real `cairn node` process driven over JSON-RPC, as a user would.

mod common;
mod lifecycle;
mod python;
mod walkthrough;
