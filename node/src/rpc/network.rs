//! `NetworkApi`. The peer-to-peer layer is not built yet (it comes with the libp2p network
//! work), so these report the truth: no peers, networking inactive, and `addnode` fails with
//! Core's "P2P functionality missing or disabled" (-31).

use cairn_chain::mempool::MIN_RELAY_FEE_PER_KB;
use cairn_rpc::api::NetworkApiServer;
use cairn_rpc::error::code;
use cairn_rpc::types::{NetworkInfo, PeerInfo};
use cairn_rpc::{RpcError, RpcResult};
use jsonrpsee::core::async_trait;

use super::RpcContext;
use super::blockchain::fee_rate_amount;

/// `major * 10000 + minor * 100 + patch`, as Core's `version`.
fn version_number() -> u32 {
    let part = |s: &str| s.parse::<u32>().unwrap_or(0);
    part(env!("CARGO_PKG_VERSION_MAJOR")) * 10_000 + part(env!("CARGO_PKG_VERSION_MINOR")) * 100 + part(env!("CARGO_PKG_VERSION_PATCH"))
}

#[async_trait]
impl NetworkApiServer for RpcContext {
    async fn getnetworkinfo(&self) -> RpcResult<NetworkInfo> {
        Ok(NetworkInfo {
            version: version_number(),
            subversion: format!("/Cairn:{}/", env!("CARGO_PKG_VERSION")),
            protocolversion: 1,
            localrelay: true,
            timeoffset: 0,
            networkactive: false,
            connections: 0,
            connections_in: 0,
            connections_out: 0,
            relayfee: fee_rate_amount(MIN_RELAY_FEE_PER_KB),
            incrementalfee: fee_rate_amount(MIN_RELAY_FEE_PER_KB),
            localaddresses: Vec::new(),
            warnings: Vec::new(),
            peerid: None,
            listenaddrs: Vec::new(),
        })
    }

    async fn getpeerinfo(&self) -> RpcResult<Vec<PeerInfo>> {
        Ok(Vec::new())
    }

    async fn getconnectioncount(&self) -> RpcResult<usize> {
        Ok(0)
    }

    async fn addnode(&self, _node: String, command: String) -> RpcResult<()> {
        if !matches!(command.as_str(), "add" | "remove" | "onetry") {
            return Err(RpcError::invalid_parameter(format!(
                "Unknown command '{command}': use add, remove or onetry"
            )));
        }
        Err(RpcError::new(
            code::CLIENT_P2P_DISABLED,
            "Error: Peer-to-peer functionality missing or disabled",
        ))
    }
}
