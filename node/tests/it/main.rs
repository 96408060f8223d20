//! The node end to end: a real `cairn node` process driven over JSON-RPC, as a user would.

mod anchors;
mod chord;
mod common;
mod config;
mod conformance;
mod core_methods;
mod dashboard;
mod dashboard_browser;
mod disk_full;
mod files;
mod flood;
mod hostile;
mod hostile_ring;
mod inprocess;
mod js_interop;
mod lifecycle;
mod misbehaviour;
mod network;
mod python;
mod rpc_limits;
mod walkthrough;
mod wallet_tools;
mod wallets;
