//! Cairn's JSON-RPC: an HTTP server speaking Bitcoin Core's dialect, and a small client.
//!
//! - [`api`]: the methods, one jsonrpsee trait per area, with Core's names and parameters. The
//!   node implements them (it owns the chain service the implementations need, and the crate
//!   dependencies point `rpc ← node`).
//! - [`types`]: the JSON shapes of results and parameters; amounts keep 8 decimals.
//! - [`error`]: Core's error codes.
//! - [`compat`]: cookie/password auth, legacy (JSON-RPC 1.0) framing, warmup, Core's HTTP
//!   statuses — a tower layer in front of jsonrpsee.
//! - [`server`]: starting and stopping; [`auth`]: credentials and the cookie file.
//! - [`client`]: the blocking client behind `cairn cli`.
//! - [`spec`]: every method's parameters as Core declares them: strict parameter checks, `help`,
//!   and the cli's argument table.

pub mod allow;
pub mod api;
pub mod auth;
pub mod client;
pub mod compat;
pub mod descriptor;
pub mod endpoint;
pub mod error;
pub mod pages;
pub mod server;
pub mod spec;
pub mod types;

pub use auth::{CookieFile, Credentials};
pub use client::{ClientError, RpcClient};
pub use compat::{ActiveCommands, Warmup};
pub use endpoint::WalletEndpoint;
pub use error::{RpcError, RpcResult};
pub use server::{RpcServer, RpcServerConfig};
