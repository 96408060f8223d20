//! `NetworkApi`: peers and addresses from the libp2p layer. `addnode` takes libp2p multiaddrs
//! (`/ip4/127.0.0.1/tcp/19444/p2p/12D3KooW…`) where Core takes `host:port`; everything else keeps
//! Core's names and shapes, with Cairn's `peerid` and `listenaddrs` added to `getnetworkinfo`.

use cairn_chain::mempool::MIN_RELAY_FEE_PER_KB;
use cairn_p2p::{AddNode, Multiaddr, NetworkError, NetworkHandle, PeerId, Subnet};
use cairn_rpc::api::NetworkApiServer;
use cairn_rpc::error::code;
use cairn_rpc::types::{
    AddedNodeAddress, AddedNodeEntry, BannedPeer, CoinAmount, Int, NetTotals, NetworkInfo, NetworkReach, PeerInfo, UploadTarget,
};
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
    pub(super) fn net(&self) -> RpcResult<&NetworkHandle> {
        self.net
            .get()
            .ok_or_else(|| RpcError::new(code::CLIENT_P2P_DISABLED, "Error: Peer-to-peer functionality missing or disabled"))
    }
}

/// `setban add` without a time bans for a day, as Core's default `-bantime`.
const MANUAL_BAN_SECS: u64 = 24 * 60 * 60;

/// A peer id, given bare or as the `/p2p/` part of a multiaddr.
fn parse_peer(text: &str) -> Option<PeerId> {
    if let Ok(p) = text.parse::<PeerId>() {
        return Some(p);
    }
    let addr: Multiaddr = text.parse().ok()?;
    addr.iter().find_map(|p| match p {
        cairn_p2p::Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}

/// What `setban` names.
#[derive(Clone, Copy)]
enum BanTarget {
    Peer(PeerId),
    Subnet(Subnet),
}

/// Core's service bits for a node that serves every block (NODE_NETWORK), as hex.
const NODE_NETWORK: &str = "0000000000000001";

/// Core's `network` of a peer's address: loopback, private and link-local addresses are
/// `not_publicly_routable`.
fn network_of(address: &Multiaddr) -> &'static str {
    for p in address.iter() {
        match p {
            cairn_p2p::Protocol::Ip4(ip) => {
                let local = ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified();
                return if local { "not_publicly_routable" } else { "ipv4" };
            }
            cairn_p2p::Protocol::Ip6(ip) => {
                let segment = ip.segments()[0];
                let local = ip.is_loopback()
                    || ip.is_unspecified()
                    || (segment & 0xfe00) == 0xfc00 // unique local
                    || (segment & 0xffc0) == 0xfe80; // link local
                return if local { "not_publicly_routable" } else { "ipv6" };
            }
            _ => {}
        }
    }
    "not_publicly_routable"
}

/// The major number of an identify protocol version such as `/cairn/regtest/1.0.0`.
fn major_version(protocol: &str) -> u32 {
    protocol
        .rsplit('/')
        .next()
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

#[async_trait]
impl NetworkApiServer for RpcContext {
    async fn getnetworkinfo(&self) -> RpcResult<NetworkInfo> {
        let info = self.net()?.info().await.map_err(stopped)?;
        let (timeoffset, warnings) = self
            .clock
            .lock()
            .map(|c| (c.median(), c.warning().into_iter().collect()))
            .unwrap_or_default();
        Ok(NetworkInfo {
            version: version_number(),
            subversion: format!("/Cairn:{}/", env!("CARGO_PKG_VERSION")),
            protocolversion: 1,
            localservices: NODE_NETWORK.to_string(),
            localservicesnames: vec!["NETWORK".to_string()],
            localrelay: true,
            timeoffset,
            networkactive: info.active,
            connections: info.inbound + info.outbound,
            connections_in: info.inbound,
            connections_out: info.outbound,
            networks: ["ipv4", "ipv6", "onion", "i2p", "cjdns"]
                .iter()
                .map(|name| {
                    let tcp = matches!(*name, "ipv4" | "ipv6");
                    NetworkReach {
                        name: name.to_string(),
                        limited: !tcp,
                        reachable: tcp,
                        proxy: String::new(),
                        proxy_randomize_credentials: false,
                    }
                })
                .collect(),
            relayfee: fee_rate_amount(MIN_RELAY_FEE_PER_KB),
            incrementalfee: fee_rate_amount(MIN_RELAY_FEE_PER_KB),
            localaddresses: Vec::new(),
            warnings,
            peerid: Some(info.peer_id.to_string()),
            listenaddrs: info.listen_addrs.iter().map(ToString::to_string).collect(),
        })
    }

    async fn getpeerinfo(&self) -> RpcResult<Vec<PeerInfo>> {
        let mut peers = self.net()?.peers().await.map_err(stopped)?;
        peers.sort_by_key(|p| p.id);
        let offsets: Vec<i64> = {
            let clock = self.clock.lock().unwrap_or_else(|e| e.into_inner());
            peers.iter().map(|p| clock.offset(&p.peer).unwrap_or(0)).collect()
        };
        Ok(peers
            .into_iter()
            .zip(offsets)
            .map(|(p, timeoffset)| {
                let height = |h: Option<u32>| h.map_or(-1, i64::from);
                let per_msg = |bytes: u64| std::iter::once(("*other*".to_string(), bytes)).filter(|(_, b)| *b > 0).collect();
                PeerInfo {
                    id: p.id,
                    peerid: p.peer.to_string(),
                    addr: p.address.to_string(),
                    network: network_of(&p.address).to_string(),
                    services: NODE_NETWORK.to_string(),
                    servicesnames: vec!["NETWORK".to_string()],
                    relaytxes: true,
                    lastsend: p.last_sent,
                    lastrecv: p.last_received,
                    last_transaction: p.last_transaction,
                    last_block: p.last_block,
                    bytessent: p.bytes_sent,
                    bytesrecv: p.bytes_received,
                    conntime: p.connected_at,
                    timeoffset,
                    pingtime: p.ping.map(|d| d.as_secs_f64()),
                    version: p.protocol_version.as_deref().map_or(0, major_version),
                    subver: p.agent.unwrap_or_default(),
                    inbound: p.inbound,
                    bip152_hb_to: false,
                    bip152_hb_from: false,
                    startingheight: height(p.starting_height),
                    presynced_headers: -1,
                    synced_headers: height(p.best_height),
                    synced_blocks: height(p.synced_height),
                    inflight: Vec::new(),
                    addr_relay_enabled: true,
                    addr_processed: p.addresses_received,
                    addr_rate_limited: 0,
                    permissions: Vec::new(),
                    minfeefilter: CoinAmount(cairn_chain::Amount::ZERO),
                    bytessent_per_msg: per_msg(p.bytes_sent),
                    bytesrecv_per_msg: per_msg(p.bytes_received),
                    connection_type: if p.inbound { "inbound" } else { "outbound-full-relay" }.to_string(),
                    transport_protocol_type: "v2".to_string(),
                    session_id: String::new(),
                }
            })
            .collect())
    }

    async fn getconnectioncount(&self) -> RpcResult<usize> {
        let info = self.net()?.info().await.map_err(stopped)?;
        Ok(info.inbound + info.outbound)
    }

    fn getnettotals(&self) -> RpcResult<NetTotals> {
        let (sent, received) = self.net()?.traffic_totals();
        let timemillis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Ok(NetTotals {
            totalbytesrecv: received,
            totalbytessent: sent,
            timemillis,
            uploadtarget: UploadTarget {
                timeframe: 24 * 60 * 60,
                target: 0,
                target_reached: false,
                serve_historical_blocks: true,
                bytes_left_in_cycle: 0,
                time_left_in_cycle: 0,
            },
        })
    }

    async fn getaddednodeinfo(&self, node: Option<String>) -> RpcResult<Vec<AddedNodeEntry>> {
        let mut added = self.net()?.added_nodes().await.map_err(stopped)?;
        if let Some(wanted) = node {
            let addr = cairn_p2p::peer_address(&wanted, crate::config::default_p2p_port(self.network)).ok();
            added.retain(|a| Some(&a.addr) == addr.as_ref() || a.addr.to_string() == wanted);
            if added.is_empty() {
                return Err(RpcError::new(code::CLIENT_NODE_NOT_ADDED, "Error: Node has not been added."));
            }
        }
        let peers = self.net()?.peers().await.map_err(stopped)?;
        Ok(added
            .into_iter()
            .map(|a| {
                let connected = a.connected.and_then(|p| peers.iter().find(|s| s.peer == p));
                AddedNodeEntry {
                    addednode: a.addr.to_string(),
                    connected: connected.is_some(),
                    addresses: connected
                        .map(|s| {
                            vec![AddedNodeAddress {
                                address: s.address.to_string(),
                                connected: if s.inbound { "inbound" } else { "outbound" }.into(),
                            }]
                        })
                        .unwrap_or_default(),
                }
            })
            .collect())
    }

    async fn setnetworkactive(&self, state: bool) -> RpcResult<bool> {
        self.net()?.set_active(state).await.map_err(stopped)?;
        Ok(state)
    }

    fn ping(&self) -> RpcResult<()> {
        // libp2p's ping protocol measures every peer every 10 s on its own; `pingtime` in
        // getpeerinfo is at most that old. Nothing more to ask for.
        self.net()?;
        Ok(())
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
        let addr = cairn_p2p::peer_address(&node, crate::config::default_p2p_port(self.network)).map_err(RpcError::invalid_parameter)?;
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

    async fn setban(&self, subnet: String, command: String, bantime: Option<Int<u64>>, absolute: Option<bool>) -> RpcResult<()> {
        let bantime = bantime.map(|b| b.get("bantime")).transpose()?;
        // A peer id (or a multiaddr naming one) bans that identity; an address or subnet bans
        // every connection from or to it, as Core's.
        let target = match parse_peer(&subnet) {
            Some(peer) => BanTarget::Peer(peer),
            None => BanTarget::Subnet(
                Subnet::parse(&subnet).map_err(|_| RpcError::new(code::CLIENT_INVALID_IP_OR_SUBNET, "Error: Invalid IP/Subnet"))?,
            ),
        };
        let net = self.net()?;
        match command.as_str() {
            "add" => {
                let already = match target {
                    BanTarget::Peer(peer) => net.banned().await.map_err(stopped)?.iter().any(|b| b.target == peer),
                    BanTarget::Subnet(s) => net.banned_subnets().await.map_err(stopped)?.iter().any(|b| b.target == s),
                };
                if already {
                    return Err(RpcError::new(code::CLIENT_NODE_ALREADY_ADDED, "Error: IP/Subnet already banned"));
                }
                let now = crate::clock::unix_now();
                let secs = match (bantime.unwrap_or(0), absolute.unwrap_or(false)) {
                    (0, _) => MANUAL_BAN_SECS,
                    (t, true) if t <= now => {
                        return Err(RpcError::invalid_parameter("Error: Absolute timestamp is in the past"));
                    }
                    (t, true) => t - now,
                    (t, false) => t,
                };
                if secs > cairn_p2p::peer::MAX_BAN.as_secs() {
                    return Err(RpcError::invalid_parameter(format!(
                        "Error: bantime out of range: at most {} seconds (100 years)",
                        cairn_p2p::peer::MAX_BAN.as_secs()
                    )));
                }
                let duration = std::time::Duration::from_secs(secs);
                match target {
                    BanTarget::Peer(peer) => net.ban(peer, duration, "banned with setban").await,
                    BanTarget::Subnet(s) => net.ban_subnet(s, duration).await.map_err(stopped)?,
                }
                Ok(())
            }
            "remove" => {
                let lifted = match target {
                    BanTarget::Peer(peer) => net.unban(Some(peer)).await,
                    BanTarget::Subnet(s) => net.unban_subnet(s).await,
                }
                .map_err(stopped)?;
                if lifted {
                    Ok(())
                } else {
                    Err(RpcError::new(
                        code::CLIENT_INVALID_IP_OR_SUBNET,
                        "Error: Unban failed. Requested address/subnet was not previously manually banned.",
                    ))
                }
            }
            _ => Err(RpcError::invalid_parameter(format!(
                "Unknown command '{command}': use add or remove"
            ))),
        }
    }

    async fn clearbanned(&self) -> RpcResult<()> {
        self.net()?.unban(None).await.map_err(stopped)?;
        Ok(())
    }

    async fn disconnectnode(&self, address: Option<String>, nodeid: Option<Int<u64>>) -> RpcResult<()> {
        let nodeid = nodeid.map(|n| n.get("nodeid")).transpose()?;
        let net = self.net()?;
        let peer = match (address.as_deref().filter(|a| !a.is_empty()), nodeid) {
            (Some(a), None) => parse_peer(a)
                .ok_or_else(|| RpcError::invalid_parameter("Error: address is not a peer id or a multiaddr ending in /p2p/<peer id>"))?,
            (None, Some(id)) => net
                .peers()
                .await
                .map_err(stopped)?
                .into_iter()
                .find(|p| p.id == id)
                .map(|p| p.peer)
                .ok_or_else(|| RpcError::new(code::CLIENT_NODE_NOT_CONNECTED, "Node not found in connected nodes"))?,
            _ => return Err(RpcError::invalid_parameter("Only one of address and nodeid should be provided.")),
        };
        if net.disconnect(peer).await.map_err(stopped)? {
            Ok(())
        } else {
            Err(RpcError::new(code::CLIENT_NODE_NOT_CONNECTED, "Node not found in connected nodes"))
        }
    }

    async fn listbanned(&self) -> RpcResult<Vec<BannedPeer>> {
        let net = self.net()?;
        let peers = net.banned().await.map_err(stopped)?;
        let subnets = net.banned_subnets().await.map_err(stopped)?;
        let row = |address: String, created: u64, duration: std::time::Duration, remaining: std::time::Duration| BannedPeer {
            address,
            ban_created: created,
            banned_until: created.saturating_add(duration.as_secs()),
            ban_duration: duration.as_secs(),
            time_remaining: remaining.as_secs(),
        };
        let mut rows: Vec<BannedPeer> = peers
            .into_iter()
            .map(|b| row(b.target.to_string(), b.created, b.duration, b.remaining))
            .chain(
                subnets
                    .into_iter()
                    .map(|b| row(b.target.to_string(), b.created, b.duration, b.remaining)),
            )
            .collect();
        rows.sort_by_key(|r| r.ban_created);
        Ok(rows)
    }
}
