//! `NetworkApi`: peers and addresses from the libp2p layer. `addnode` takes libp2p multiaddrs
//! (`/ip4/127.0.0.1/tcp/19444/p2p/12D3KooW…`) where Core takes `host:port`; everything else keeps
//! Core's names and shapes, with Cairn's `peerid` and `listenaddrs` added to `getnetworkinfo`.

use cairn_chain::mempool::MIN_RELAY_FEE_PER_KB;
use cairn_p2p::{AddNode, Multiaddr, NetworkError, NetworkHandle};
use cairn_rpc::api::NetworkApiServer;
use cairn_rpc::error::code;
use cairn_rpc::types::{BannedPeer, NetworkInfo, PeerInfo};
use cairn_rpc::{RpcError, RpcResult};
use jsonrpsee::core::async_trait;

use super::RpcContext;
use super::blockchain::fee_rate_amount;

/// `major * 10000 + minor * 100 + patch`, as Core's `version`.
fn version_number() -> u32 {
    let part = |s: &str| s.parse::<u32>().unwrap_or(0);
    part(env!("CARGO_PKG_VERSION_MAJOR")) * 10_000 + part(env!("CARGO_PKG_VERSION_MINOR")) * 100 + part(env!("CARGO_PKG_VERSION_PATCH"))
}

fn stopped(e: NetworkError) -> RpcError {
    RpcError::new(code::CLIENT_P2P_DISABLED, format!("Error: {e}"))
}

impl RpcContext {
    fn net(&self) -> RpcResult<&NetworkHandle> {
        self.net
            .get()
            .ok_or_else(|| RpcError::new(code::CLIENT_P2P_DISABLED, "Error: Peer-to-peer functionality missing or disabled"))
    }
}

#[async_trait]
impl NetworkApiServer for RpcContext {
    async fn getnetworkinfo(&self) -> RpcResult<NetworkInfo> {
        let info = self.net()?.info().await.map_err(stopped)?;
        Ok(NetworkInfo {
            version: version_number(),
            subversion: format!("/Cairn:{}/", env!("CARGO_PKG_VERSION")),
            protocolversion: 1,
            localrelay: true,
            timeoffset: 0,
            networkactive: true,
            connections: info.inbound + info.outbound,
            connections_in: info.inbound,
            connections_out: info.outbound,
            relayfee: fee_rate_amount(MIN_RELAY_FEE_PER_KB),
            incrementalfee: fee_rate_amount(MIN_RELAY_FEE_PER_KB),
            localaddresses: Vec::new(),
            warnings: Vec::new(),
            peerid: Some(info.peer_id.to_string()),
            listenaddrs: info.listen_addrs.iter().map(ToString::to_string).collect(),
        })
    }

    async fn getpeerinfo(&self) -> RpcResult<Vec<PeerInfo>> {
        let mut peers = self.net()?.peers().await.map_err(stopped)?;
        peers.sort_by_key(|p| p.id);
        Ok(peers
            .into_iter()
            .map(|p| {
                let height = |h: Option<u32>| h.map_or(-1, i64::from);
                PeerInfo {
                    id: p.id,
                    peerid: p.peer.to_string(),
                    addr: p.address.to_string(),
                    inbound: p.inbound,
                    connection_type: if p.inbound { "inbound" } else { "outbound-full-relay" }.to_string(),
                    startingheight: height(p.starting_height),
                    synced_blocks: height(p.synced_height),
                    synced_headers: height(p.best_height),
                    bytessent: p.bytes_sent,
                    bytesrecv: p.bytes_received,
                    conntime: p.connected_at,
                    pingtime: p.ping.map(|d| d.as_secs_f64()),
                    subver: p.agent.unwrap_or_default(),
                }
            })
            .collect())
    }

    async fn getconnectioncount(&self) -> RpcResult<usize> {
        let info = self.net()?.info().await.map_err(stopped)?;
        Ok(info.inbound + info.outbound)
    }

    async fn addnode(&self, node: String, command: String) -> RpcResult<()> {
        let how = match command.as_str() {
            "add" => AddNode::Add,
            "remove" => AddNode::Remove,
            "onetry" => AddNode::OneTry,
            _ => {
                return Err(RpcError::invalid_parameter(format!(
                    "Unknown command '{command}': use add, remove or onetry"
                )));
            }
        };
        let addr: Multiaddr = node.parse().map_err(|e| {
            RpcError::invalid_parameter(format!(
                "'{node}' is not a libp2p address ({e}); expected e.g. /ip4/127.0.0.1/tcp/19444/p2p/<peer id>"
            ))
        })?;
        match self.net()?.add_node(addr, how).await {
            Ok(()) => Ok(()),
            Err(NetworkError::AlreadyAdded) => Err(RpcError::new(code::CLIENT_NODE_ALREADY_ADDED, "Error: Node already added")),
            Err(NetworkError::NotAdded) => Err(RpcError::new(
                code::CLIENT_NODE_NOT_ADDED,
                "Error: Node could not be removed. It has not been added previously.",
            )),
            Err(NetworkError::Dial { addr, reason }) => Err(RpcError::new(
                code::CLIENT_NODE_NOT_CONNECTED,
                format!("Error: cannot connect to {addr}: {reason}"),
            )),
            Err(e) => Err(stopped(e)),
        }
    }

    async fn listbanned(&self) -> RpcResult<Vec<BannedPeer>> {
        let bans = self.net()?.banned().await.map_err(stopped)?;
        Ok(bans
            .into_iter()
            .map(|b| BannedPeer {
                address: b.peer.to_string(),
                ban_created: b.created,
                banned_until: b.created + b.duration.as_secs(),
                ban_duration: b.duration.as_secs(),
                time_remaining: b.remaining.as_secs(),
            })
            .collect())
    }
}
