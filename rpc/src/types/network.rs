//! Shapes of the peer-to-peer methods (`getnetworkinfo`, `getpeerinfo`, `getnettotals`,
//! `getaddednodeinfo`, `listbanned`).

use serde::Serialize;

use super::CoinAmount;

/// `getnettotals`.
#[derive(Serialize, Debug, Clone)]
pub struct NetTotals {
    /// Bytes received from all peers since the start.
    pub totalbytesrecv: u64,
    /// Bytes sent to all peers since the start.
    pub totalbytessent: u64,
    /// Unix time in milliseconds.
    pub timemillis: u64,
    /// Core's `-maxuploadtarget` state; Cairn sets no such target.
    pub uploadtarget: UploadTarget,
}

/// `getnettotals.uploadtarget`: as Core reports it with no `-maxuploadtarget` (Cairn's upload
/// limits are rates, `--max-upload-rate`, not a daily volume).
#[derive(Serialize, Debug, Clone)]
pub struct UploadTarget {
    /// Length of the measuring timeframe in seconds.
    pub timeframe: u64,
    /// Target in bytes (0: none).
    pub target: u64,
    /// Whether the target is reached.
    pub target_reached: bool,
    /// Whether historical blocks are served.
    pub serve_historical_blocks: bool,
    /// Bytes left in the current cycle.
    pub bytes_left_in_cycle: u64,
    /// Seconds left in the current cycle.
    pub time_left_in_cycle: u64,
}

/// One entry of `getaddednodeinfo`.
#[derive(Serialize, Debug, Clone)]
pub struct AddedNodeEntry {
    /// The address as added.
    pub addednode: String,
    pub connected: bool,
    /// The connection, when connected.
    pub addresses: Vec<AddedNodeAddress>,
}

/// A connection of an added node.
#[derive(Serialize, Debug, Clone)]
pub struct AddedNodeAddress {
    pub address: String,
    /// `inbound` or `outbound`.
    pub connected: String,
}

/// `getnetworkinfo`. `peerid` and `listenaddrs` are Cairn's additions (libp2p identity).
#[derive(Serialize, Debug, Clone)]
pub struct NetworkInfo {
    pub version: u32,
    pub subversion: String,
    pub protocolversion: u32,
    /// `0000000000000001`: NODE_NETWORK (a Cairn node serves every block it has).
    pub localservices: String,
    pub localservicesnames: Vec<String>,
    pub localrelay: bool,
    pub timeoffset: i64,
    pub networkactive: bool,
    pub connections: usize,
    pub connections_in: usize,
    pub connections_out: usize,
    /// Core's five networks: IPv4 and IPv6 reachable over TCP, the overlay networks not.
    pub networks: Vec<NetworkReach>,
    pub relayfee: CoinAmount,
    pub incrementalfee: CoinAmount,
    pub localaddresses: Vec<String>,
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peerid: Option<String>,
    pub listenaddrs: Vec<String>,
}

/// One of `getnetworkinfo`'s `networks`.
#[derive(Serialize, Debug, Clone)]
pub struct NetworkReach {
    pub name: String,
    pub limited: bool,
    pub reachable: bool,
    pub proxy: String,
    pub proxy_randomize_credentials: bool,
}

/// A `getpeerinfo` entry, in Core's field order; `peerid` is Cairn's addition (libp2p identity).
/// Where a Cairn connection has no such thing, Core's value for "none": no compact-block
/// relay (`bip152_hb_*` false), no header presync (-1), no fee filter (0), no permissions.
#[derive(Serialize, Debug, Clone)]
pub struct PeerInfo {
    pub id: u64,
    pub peerid: String,
    pub addr: String,
    /// `ipv4`, `ipv6` or `not_publicly_routable` (loopback, private and link-local), as Core.
    pub network: String,
    /// A Cairn node serves the whole chain: `NETWORK`, as [`NetworkInfo::localservices`].
    pub services: String,
    pub servicesnames: Vec<String>,
    pub relaytxes: bool,
    pub lastsend: u64,
    pub lastrecv: u64,
    pub last_transaction: u64,
    pub last_block: u64,
    pub bytessent: u64,
    pub bytesrecv: u64,
    pub conntime: u64,
    /// Its clock minus ours at its last status, seconds (0 before one).
    pub timeoffset: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pingtime: Option<f64>,
    /// The major version of its identify protocol (`/cairn/regtest/1.0.0` → 1), 0 if unknown.
    pub version: u32,
    pub subver: String,
    pub inbound: bool,
    pub bip152_hb_to: bool,
    pub bip152_hb_from: bool,
    pub startingheight: i64,
    pub presynced_headers: i64,
    pub synced_headers: i64,
    pub synced_blocks: i64,
    /// Heights of blocks requested from it and not yet received: Cairn fetches blocks in
    /// batches through request-response, not tracked per height; empty.
    pub inflight: Vec<u32>,
    /// Addresses travel by identify and Kademlia, with every peer.
    pub addr_relay_enabled: bool,
    /// Listen addresses it announced (identify) during this connection.
    pub addr_processed: u64,
    pub addr_rate_limited: u64,
    pub permissions: Vec<String>,
    pub minfeefilter: CoinAmount,
    /// Cairn counts bytes per connection (multiplexed libp2p streams), not per message type:
    /// everything is under Core's `*other*` key.
    pub bytessent_per_msg: std::collections::BTreeMap<String, u64>,
    pub bytesrecv_per_msg: std::collections::BTreeMap<String, u64>,
    pub connection_type: String,
    /// `v2`: every Cairn connection is encrypted and authenticated (Noise), as BIP 324's.
    pub transport_protocol_type: String,
    /// Noise exposes no BIP 324 session id: empty.
    pub session_id: String,
}

/// One `listbanned` entry: a banned subnet (`network/prefix`) or peer id, in `address`.
#[derive(Serialize, Debug, Clone)]
pub struct BannedPeer {
    pub address: String,
    pub ban_created: u64,
    pub banned_until: u64,
    pub ban_duration: u64,
    pub time_remaining: u64,
}
