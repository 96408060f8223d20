//! The node's settings: command-line flags, a config file, and the data directory layout.
//!
//! The config file is `<datadir>/cairn.conf` (or `--conf FILE`): `key=value` lines, `#` comments,
//! `[regtest]`/`[test]` sections, the keys being the long flag names (`network`, `rpc-bind`,
//! `listen`, `peer`, `mine-to`, `mine-threads`, `regtest-block-time`, `max-upload-rate`,
//! `max-download-rate`, `piece-size`) plus `rpcuser` and `rpcpassword`, and the `bitcoin.conf`
//! keys Core users bring (see [`file`]). A key given on the command line replaces the file's
//! value (for repeatable keys, all of the file's values). Unknown keys are an error, so a typo
//! never goes unnoticed.
//!
//! Layout, as Bitcoin Core's: `<datadir>/cairn.conf`, and per network `<datadir>/<network>/`
//! holding `chainstate/` (RocksDB: blocks, undo data, UTXO set), `wallets/default/wallet.json`,
//! `content/<cid>/` (one folder per shared file: manifest, piece bitfield, share record),
//! `downloads/` (fetched files, unless another destination was given),
//! `.cookie` (while running) and `rpc.addr` (the address the RPC server bound, for `cairn cli`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};

mod file;
use cairn_chain::Network;
use cairn_p2p::Multiaddr;
use clap::Parser;
pub use file::ConfigFile;

/// The default RPC port of a network (Core's plus 1000, so both can run side by side).
pub fn default_rpc_port(network: Network) -> u16 {
    match network {
        Network::Regtest => 19443,
        Network::Testnet => 19332,
    }
}

/// The ring puzzle's zero bits on regtest: low, so that nodes started by tests (and their keys)
/// come at once, while the check itself still runs.
pub const REGTEST_PUZZLE_BITS: u8 = 4;
/// The ring puzzle's zero bits on testnet: a node's first start grinds 2^16 keys (about a second
/// on two cores, `cargo bench -p cairn-p2p --bench puzzle`); owning a chosen key of a
/// 1,000-node ring takes an attacker about as many keys times the ring size.
pub const TESTNET_PUZZLE_BITS: u8 = 16;

/// The default peer-to-peer port of a network (one above the RPC port).
pub fn default_p2p_port(network: Network) -> u16 {
    match network {
        Network::Regtest => 19444,
        Network::Testnet => 19333,
    }
}

/// Parses libp2p addresses, naming the flag in the error.
fn parse_multiaddrs(flag: &str, texts: &[String]) -> Result<Vec<Multiaddr>> {
    texts
        .iter()
        .map(|t| {
            t.parse::<Multiaddr>()
                .map_err(|e| anyhow!("--{flag} {t:?} is not a libp2p address ({e}); expected e.g. /ip4/127.0.0.1/tcp/19444"))
        })
        .collect()
}

/// Peer addresses: multiaddrs or Core's `host:port` (the network's port when left out).
fn parse_peers(flag: &str, texts: &[String], network: Network) -> Result<Vec<Multiaddr>> {
    texts
        .iter()
        .map(|t| cairn_p2p::peer_address(t, default_p2p_port(network)).map_err(|e| anyhow!("--{flag}: {e}")))
        .collect()
}

/// The per-user default data directory: `$HOME/.cairn`.
pub fn default_datadir() -> PathBuf {
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cairn"),
        None => PathBuf::from(".cairn"),
    }
}

/// Default mean time between a regtest miner's blocks, in milliseconds.
pub const DEFAULT_REGTEST_BLOCK_TIME_MS: u64 = 1000;
/// Largest `--regtest-block-time` (one hour).
pub const MAX_REGTEST_BLOCK_TIME_MS: u64 = 3_600_000;

/// Smallest `--maxmempool`, MB: Core's, 40 times the descendant size limit rounded up.
pub const MIN_MEMPOOL_MB: u64 = (cairn_chain::mempool::MAX_DESCENDANT_BYTES as u64 * 40).div_ceil(1_000_000);
/// Largest `--maxmempool`, MB.
pub const MAX_MEMPOOL_MB: u64 = 100_000;

/// Flags of `cairn node`.
#[derive(Parser, Debug, Default)]
pub struct NodeArgs {
    /// Chain to follow: regtest (instant blocks, for tests) or testnet (10 s blocks, real proof of
    /// work). Default: regtest.
    #[arg(long)]
    pub network: Option<Network>,
    /// Data directory (default: ~/.cairn). The network's files go to DATADIR/NETWORK/.
    #[arg(long)]
    pub datadir: Option<PathBuf>,
    /// Config file (default: DATADIR/cairn.conf; a missing default file is fine).
    #[arg(long)]
    pub conf: Option<PathBuf>,
    /// Where the JSON-RPC server listens: HOST:PORT, or HOST for the network's default port
    /// (regtest 19443, testnet 19332). Port 0 picks a free port (written to
    /// DATADIR/NETWORK/rpc.addr). Default: 127.0.0.1 and the default port.
    #[arg(long, value_name = "HOST:PORT")]
    pub rpc_bind: Option<String>,
    /// A libp2p address to listen on for peers (repeatable), e.g. /ip4/127.0.0.1/tcp/0.
    /// Default: /ip4/0.0.0.0/tcp/PORT on the network's default port (regtest 19444, testnet
    /// 19333), as Core listens on all interfaces.
    #[arg(long, value_name = "MULTIADDR")]
    pub listen: Vec<String>,
    /// A peer to connect to and keep connected (redialed with backoff): a libp2p address, e.g.
    /// /ip4/127.0.0.1/tcp/19444/p2p/12D3KooW..., or host:port as Core's -addnode (repeatable).
    #[arg(long, value_name = "ADDR")]
    pub peer: Vec<String>,
    /// Connect only to this peer (repeatable), as Core's -connect: it is kept connected like
    /// --peer, and no peer found by discovery is dialed (others may still connect to us, and the
    /// Chord ring still reaches the nodes it needs). `--connect 0`: no automatic connection.
    #[arg(long, value_name = "MULTIADDR")]
    pub connect: Vec<String>,
    /// Mine continuously, paying to this wallet address (implies --mine-threads 1 unless set).
    #[arg(long, value_name = "ADDRESS")]
    pub mine_to: Option<String>,
    /// Mine continuously on N threads (0: do not mine). Without --mine-to, coins go to a fresh
    /// address of this node's wallet.
    #[arg(long, value_name = "N")]
    pub mine_threads: Option<usize>,
    /// Regtest only: mean milliseconds between this miner's blocks (regtest proof of work is
    /// instant, so continuous mining waits a random, exponentially distributed time per block,
    /// like real mining luck; 0: as fast as the chain takes them). Default 1000.
    #[arg(long, value_name = "MS")]
    pub regtest_block_time: Option<u64>,
    /// File sharing: most KiB per second this node uploads, over all files and peers
    /// (0: unlimited, the default).
    #[arg(long, value_name = "KIB/S")]
    pub max_upload_rate: Option<u64>,
    /// File sharing: most KiB per second this node downloads (0: unlimited, the default).
    #[arg(long, value_name = "KIB/S")]
    pub max_download_rate: Option<u64>,
    /// File sharing: piece size of files this node publishes, in KiB, a power of two from 16 to
    /// 16384. Default 256.
    #[arg(long, value_name = "KIB")]
    pub piece_size: Option<u32>,
    /// File sharing: super-seed the files this node publishes (BEP 16): show peers an empty
    /// bitfield and offer one piece at a time, the next once the last was passed on, so the
    /// seed sends about one copy. For a seed whose upload is the bottleneck; slower otherwise.
    #[arg(long)]
    pub super_seed: bool,
    /// Content index: length of each Chord node's successor list, the nodes its records are
    /// replicated on (4 to 64, default 8). Lookups survive the failure of all but one of them.
    #[arg(long, value_name = "N")]
    pub chord_successors: Option<u64>,
    /// Content index: virtual nodes this node runs on the Chord ring (1 to 32, default 1); more
    /// spread the keys more evenly over nodes, at the cost of more maintenance traffic.
    #[arg(long, value_name = "N")]
    pub chord_vnodes: Option<u64>,
    /// Content index: zero bits the ring's puzzle asks of a peer id (0 to 28; default 16 on
    /// testnet, 4 on regtest). A node's first start makes a key that meets it (2^bits key
    /// generations, on every core); peers whose ids do not are refused by the ring, and records
    /// they sign are not kept. Every node of a network should use the same value.
    #[arg(long, value_name = "BITS")]
    pub chord_puzzle_bits: Option<u64>,
    /// Most megabytes (1,000,000 bytes) of transactions the mempool holds, as Core's
    /// -maxmempool: when it is full the lowest fee rates are evicted and the fee a newcomer must
    /// pay rises (`getmempoolinfo`'s mempoolminfee). 5 to 100000; default 300.
    #[arg(long, value_name = "MB")]
    pub maxmempool: Option<u64>,
    /// Stop cleanly as soon as no process holds FILE locked (flock) any more. A launcher that owns
    /// its nodes (`cairn-testnet run`) holds an exclusive lock on FILE for as long as it lives, so
    /// its nodes end with it however it ends, SIGKILL included. A node started while FILE is not
    /// locked refuses to start. Command line only (not a config key: it belongs to whoever starts
    /// the node, not to the datadir).
    #[arg(long, value_name = "FILE")]
    pub owner_lock: Option<PathBuf>,
    /// Turn on the detail of a log category (repeatable; Core's `-debug=net`): net, mempool,
    /// validation, rpc, walletdb, estimatefee, chord, content, sync, mining, … or all.
    #[arg(long, value_name = "CATEGORY")]
    pub debug: Vec<String>,
    /// Log to the console (standard output): 1 (the default) or 0.
    #[arg(long, value_name = "0|1", num_args = 0..=1, default_missing_value = "1")]
    pub printtoconsole: Option<String>,
    /// Write no NETDIR/debug.log.
    #[arg(long)]
    pub nodebuglogfile: bool,
    /// Rebuild the UTXO set and the anchor index from the stored blocks before starting, every
    /// block checked again (Core's -reindex-chainstate; Core's -reindex is taken as the same: the
    /// block index is stored with each block and needs no rebuild). Command line only.
    #[arg(long, alias = "reindex-chainstate")]
    pub reindex: bool,
}

/// Settings after merging the flags with the config file.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The network.
    pub network: Network,
    /// The data directory root.
    pub datadir: PathBuf,
    /// RPC listen address.
    pub rpc_bind: SocketAddr,
    /// Non-loopback RPC clients allowed (Core's `rpcallowip`).
    pub rpc_allow: Vec<cairn_rpc::allow::AllowIp>,
    /// Core's `rpcauth` credentials (salted hashes).
    pub rpc_auth: Vec<cairn_rpc::Credentials>,
    /// Wallets to load at start besides those of `settings.json` (Core's `wallet=`).
    pub wallets: Vec<String>,
    /// User and password from the config, if set.
    pub rpc_user: Option<(String, RpcPassword)>,
    /// P2P listen addresses.
    pub listen: Vec<Multiaddr>,
    /// Peers to keep connected.
    pub peers: Vec<Multiaddr>,
    /// Mining payout address.
    pub mine_to: Option<String>,
    /// Mining threads.
    pub mine_threads: usize,
    /// Regtest: mean time between this miner's blocks.
    pub regtest_block_time: std::time::Duration,
    /// Upload limit of file sharing, bytes per second (`None`: unlimited).
    pub max_upload_rate: Option<u64>,
    /// Download limit of file sharing, bytes per second (`None`: unlimited).
    pub max_download_rate: Option<u64>,
    /// Piece size of published files, bytes.
    pub piece_size: u32,
    /// Super-seed published files.
    pub super_seed: bool,
    /// `--connect` given: dial no peer found by discovery.
    pub connect_only: bool,
    /// Chord successor list length (replicas).
    pub chord_successors: usize,
    /// Chord virtual nodes.
    pub chord_vnodes: u8,
    /// The ring puzzle's zero bits.
    pub chord_puzzle_bits: u8,
    /// Stop when no process holds this file locked.
    pub owner_lock: Option<PathBuf>,
    /// Mempool size bound, bytes.
    pub max_mempool_bytes: usize,
    /// Log categories turned to debug (`-debug=`).
    pub debug: Vec<String>,
    /// Log to the console.
    pub print_to_console: bool,
    /// Write NETDIR/debug.log.
    pub debug_log_file: bool,
    /// Rebuild the chain state from the stored blocks before starting.
    pub reindex: bool,
}

/// A password from the config; `Debug` does not show it.
#[derive(Clone)]
pub struct RpcPassword(pub String);

impl std::fmt::Debug for RpcPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl NodeConfig {
    /// `<datadir>/<network>/`.
    pub fn network_dir(&self) -> PathBuf {
        network_dir(&self.datadir, self.network)
    }
}

/// `<datadir>/<network>/`.
pub fn network_dir(datadir: &Path, network: Network) -> PathBuf {
    datadir.join(network.as_str())
}

/// Parses `HOST:PORT`, or `HOST` with `default_port`.
///
/// # Errors
/// Not an address, or a name that does not resolve.
pub fn parse_host_port(text: &str, default_port: u16) -> Result<SocketAddr> {
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Ok(a);
    }
    if let Ok(ip) = text.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, default_port));
    }
    let with_port = if text.contains(':') {
        text.to_string()
    } else {
        format!("{text}:{default_port}")
    };
    with_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| anyhow!("{text:?} is not HOST:PORT"))
}

/// Reads the config file: `--conf FILE` (which must exist), else `DATADIR/cairn.conf` if present.
///
/// # Errors
/// See [`ConfigFile::read`].
pub fn load_config(conf: Option<&Path>, datadir: &Path) -> Result<ConfigFile> {
    match conf {
        Some(path) => ConfigFile::read(path, true),
        None => ConfigFile::read(&datadir.join("cairn.conf"), false),
    }
}

/// The network: the flag, else the config's choice (`network=`, Core's `chain=`, `regtest=1`,
/// `testnet=1`), else regtest.
///
/// # Errors
/// An unknown network name in the config, or two different choices.
pub fn resolve_network(flag: Option<Network>, file: &ConfigFile) -> Result<Network> {
    match flag {
        Some(n) => Ok(n),
        None => Ok(file.network()?.unwrap_or(Network::Regtest)),
    }
}

impl NodeArgs {
    /// Merges the flags with the config file.
    ///
    /// # Errors
    /// A bad config file or value.
    pub fn resolve(self) -> Result<NodeConfig> {
        let datadir = self.datadir.clone().unwrap_or_else(default_datadir);
        let raw = load_config(self.conf.as_deref(), &datadir)?;
        let network = resolve_network(self.network, &raw)?;
        let file = raw.for_network(network);
        for warning in file.warnings() {
            tracing::warn!("config: {warning}");
        }
        let port = match file.get("rpcport") {
            Some(v) => v.parse().map_err(|_| anyhow!("config rpcport: {v:?} is not a port number"))?,
            None => default_rpc_port(network),
        };
        let rpc_bind = match self.rpc_bind.as_deref().or(file.get("rpc-bind")).or(file.get("rpcbind")) {
            Some(text) => parse_host_port(text, port)?,
            None => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        };
        let rpc_allow = file
            .all("rpcallowip")
            .iter()
            .map(|a| cairn_rpc::allow::AllowIp::parse(a).map_err(|e| anyhow!("config {e}")))
            .collect::<Result<Vec<_>>>()?;
        if !rpc_bind.ip().is_loopback() && rpc_allow.is_empty() {
            bail!(
                "the RPC server would listen on {rpc_bind}, not a loopback address, but no rpcallowip names the clients allowed: add rpcallowip=ADDRESS[/MASK] to the config (as Core, Cairn refuses to let everyone call it)"
            );
        }
        let rpc_auth = file
            .all("rpcauth")
            .iter()
            .map(|a| cairn_rpc::Credentials::from_rpcauth(a).map_err(|e| anyhow!("config {e}")))
            .collect::<Result<Vec<_>>>()?;
        match file.get("server") {
            None | Some("1") => {}
            Some("0") => tracing::warn!("config: server=0 ignored: Cairn's RPC server always runs (cairn cli talks to it)"),
            Some(v) => bail!("config server: {v:?} is not 0 or 1"),
        }
        let wallets = file.all("wallet");
        if let Some(bad) = wallets.iter().find(|w| !crate::settings::valid_wallet_name(w)) {
            bail!("config wallet: {bad:?} is not a wallet name (1 to 64 letters, digits, spaces, '-', '_', '.')");
        }
        let p2p_port = match file.get("port") {
            Some(v) => v.parse().map_err(|_| anyhow!("config port: {v:?} is not a port number"))?,
            None => default_p2p_port(network),
        };
        let rpc_user = match (file.get("rpcuser"), file.get("rpcpassword")) {
            (Some(u), Some(p)) if !u.is_empty() && !p.is_empty() => Some((u.to_string(), RpcPassword(p.to_string()))),
            (None, None) => None,
            _ => bail!("config: rpcuser and rpcpassword must be set together"),
        };
        let listen = if self.listen.is_empty() {
            // Core's `listen` is 0 or 1; Cairn's a multiaddr.
            let mut listen = Vec::new();
            for v in file.all("listen") {
                match v.as_str() {
                    "1" => {}
                    "0" => tracing::warn!("config: listen=0 ignored: Cairn always listens (peers and the Chord ring need it)"),
                    _ => listen.push(v),
                }
            }
            // Core's `bind=ADDR[:PORT]`.
            for b in file.all("bind") {
                let a = parse_host_port(&b, p2p_port)?;
                let ip = match a.ip() {
                    IpAddr::V4(v4) => format!("/ip4/{v4}"),
                    IpAddr::V6(v6) => format!("/ip6/{v6}"),
                };
                listen.push(format!("{ip}/tcp/{}", a.port()));
            }
            listen
        } else {
            self.listen
        };
        let mut listen = parse_multiaddrs("listen", &listen)?;
        if listen.is_empty() {
            listen.push(format!("/ip4/0.0.0.0/tcp/{p2p_port}").parse()?);
        }
        let peers = if self.peer.is_empty() {
            let mut peers = file.all("peer");
            peers.extend(file.all("addnode"));
            peers
        } else {
            self.peer
        };
        let mut peers = parse_peers("peer", &peers, network)?;
        let connect = if self.connect.is_empty() {
            file.all("connect")
        } else {
            self.connect
        };
        let connect_only = !connect.is_empty();
        // As in Core, `--connect 0` makes no automatic connection at all.
        let connect: Vec<String> = connect.into_iter().filter(|a| a.trim() != "0").collect();
        let connect = parse_peers("connect", &connect, network)?;
        for a in connect {
            if !peers.contains(&a) {
                peers.push(a);
            }
        }
        let mine_to = self.mine_to.or_else(|| file.get("mine-to").map(str::to_string));
        let mine_threads = match (self.mine_threads, file.get("mine-threads")) {
            (Some(n), _) => n,
            (None, Some(v)) => v.parse().map_err(|_| anyhow!("config mine-threads: {v:?} is not a number"))?,
            (None, None) => usize::from(mine_to.is_some()),
        };
        let regtest_block_time = match (self.regtest_block_time, file.get("regtest-block-time")) {
            (Some(n), _) => n,
            (None, Some(v)) => v
                .parse()
                .map_err(|_| anyhow!("config regtest-block-time: {v:?} is not a number of milliseconds"))?,
            (None, None) => DEFAULT_REGTEST_BLOCK_TIME_MS,
        };
        let number = |flag: Option<u64>, key: &str| -> Result<Option<u64>> {
            match (flag, file.get(key)) {
                (Some(n), _) => Ok(Some(n)),
                (None, Some(v)) => v.parse().map(Some).map_err(|_| anyhow!("config {key}: {v:?} is not a number")),
                (None, None) => Ok(None),
            }
        };
        let kib_rate = |n: Option<u64>| n.filter(|n| *n > 0).map(|n| n.saturating_mul(1024));
        let max_upload_rate = kib_rate(number(self.max_upload_rate, "max-upload-rate")?);
        let max_download_rate = kib_rate(number(self.max_download_rate, "max-download-rate")?);
        let piece_kib = number(self.piece_size.map(u64::from), "piece-size")?.unwrap_or(256);
        let piece_ok = piece_kib.is_power_of_two() && (16..=16384).contains(&piece_kib);
        if !piece_ok {
            bail!("--piece-size {piece_kib}: a power of two from 16 to 16384 (KiB)");
        }
        let super_seed = self.super_seed
            || match file.get("super-seed") {
                None | Some("0" | "false") => false,
                Some("1" | "true") => true,
                Some(v) => bail!("config super-seed: {v:?} is not 1, 0, true or false"),
            };
        let chord_successors = number(self.chord_successors, "chord-successors")?.unwrap_or(8);
        if !(4..=64).contains(&chord_successors) {
            bail!("--chord-successors {chord_successors}: 4 to 64");
        }
        let chord_vnodes = number(self.chord_vnodes, "chord-vnodes")?.unwrap_or(1);
        if !(1..=32).contains(&chord_vnodes) {
            bail!("--chord-vnodes {chord_vnodes}: 1 to 32");
        }
        let default_bits = match network {
            Network::Regtest => REGTEST_PUZZLE_BITS,
            Network::Testnet => TESTNET_PUZZLE_BITS,
        };
        let chord_puzzle_bits = number(self.chord_puzzle_bits, "chord-puzzle-bits")?.unwrap_or(default_bits.into());
        let max_bits = cairn_p2p::identity::MAX_PUZZLE_BITS;
        if chord_puzzle_bits > u64::from(max_bits) {
            bail!("--chord-puzzle-bits {chord_puzzle_bits}: 0 to {max_bits}");
        }
        // Core's floor: 40 times the descendant size limit (101 kvB), rounded up to whole MB, so a
        // full package always fits.
        let maxmempool = number(self.maxmempool, "maxmempool")?.unwrap_or(300);
        if !(MIN_MEMPOOL_MB..=MAX_MEMPOOL_MB).contains(&maxmempool) {
            bail!("--maxmempool {maxmempool}: {MIN_MEMPOOL_MB} to {MAX_MEMPOOL_MB} (MB)");
        }
        if regtest_block_time > MAX_REGTEST_BLOCK_TIME_MS {
            bail!("--regtest-block-time {regtest_block_time}: at most {MAX_REGTEST_BLOCK_TIME_MS} ms");
        }
        let debug = if self.debug.is_empty() { file.all("debug") } else { self.debug };
        if let Some(bad) = debug
            .iter()
            .find(|d| crate::logging::CATEGORIES.iter().all(|(n, _)| n != d) && !["all", "1", "none", "0", ""].contains(&d.as_str()))
        {
            let known: Vec<&str> = crate::logging::CATEGORIES.iter().map(|(n, _)| *n).collect();
            bail!("--debug {bad}: not a log category ({})", known.join(", "));
        }
        let flag = |v: Option<&str>, key: &str| -> Result<Option<bool>> {
            match v {
                None => Ok(None),
                Some("1" | "true") => Ok(Some(true)),
                Some("0" | "false") => Ok(Some(false)),
                Some(other) => bail!("{key}: {other:?} is not 0 or 1"),
            }
        };
        let print_to_console = flag(self.printtoconsole.as_deref().or(file.get("printtoconsole")), "printtoconsole")?.unwrap_or(true);
        let debug_log_file = !(self.nodebuglogfile || flag(file.get("nodebuglogfile"), "nodebuglogfile")?.unwrap_or(false));
        Ok(NodeConfig {
            debug,
            print_to_console,
            debug_log_file,
            network,
            datadir,
            rpc_bind,
            rpc_allow,
            rpc_auth,
            wallets,
            rpc_user,
            listen,
            peers,
            mine_to,
            mine_threads,
            regtest_block_time: std::time::Duration::from_millis(regtest_block_time),
            max_upload_rate,
            max_download_rate,
            piece_size: piece_kib as u32 * 1024,
            super_seed,
            connect_only,
            chord_successors: chord_successors as usize,
            chord_vnodes: chord_vnodes as u8,
            chord_puzzle_bits: chord_puzzle_bits as u8,
            owner_lock: self.owner_lock,
            max_mempool_bytes: maxmempool as usize * 1_000_000,
            reindex: self.reindex,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_and_flags_merge() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cairn.conf"),
            "# comment\nnetwork=testnet\nrpc-bind=127.0.0.1:5555\nrpcuser=alice\nrpcpassword=pw # trailing\npeer=/ip4/127.0.0.1/tcp/1\npeer=/ip4/127.0.0.1/tcp/2\n",
        )
        .unwrap();
        let args = NodeArgs {
            datadir: Some(dir.path().to_path_buf()),
            mine_threads: Some(2),
            ..NodeArgs::default()
        };
        let cfg = args.resolve().unwrap();
        assert_eq!(cfg.network, Network::Testnet);
        assert_eq!(cfg.rpc_bind, "127.0.0.1:5555".parse().unwrap());
        assert_eq!(cfg.rpc_user.as_ref().unwrap().0, "alice");
        assert_eq!(cfg.rpc_user.as_ref().unwrap().1.0, "pw");
        assert!(!format!("{cfg:?}").contains("pw\""));
        assert_eq!(cfg.peers.len(), 2);
        assert_eq!(cfg.mine_threads, 2);
        assert_eq!((cfg.max_upload_rate, cfg.piece_size), (None, 256 * 1024));
        assert_eq!(cfg.max_mempool_bytes, 300_000_000, "Core's default");
        for (mb, ok) in [(4, false), (5, true), (100_000, true), (100_001, false), (u64::MAX, false)] {
            let args = NodeArgs {
                datadir: Some(dir.path().to_path_buf()),
                maxmempool: Some(mb),
                ..NodeArgs::default()
            };
            match args.resolve() {
                Ok(cfg) => assert!(ok && cfg.max_mempool_bytes == mb as usize * 1_000_000, "{mb}"),
                Err(e) => assert!(!ok && e.to_string().contains("--maxmempool"), "{mb}: {e}"),
            }
        }
        let args = NodeArgs {
            datadir: Some(dir.path().to_path_buf()),
            network: Some(Network::Regtest),
            rpc_bind: Some("127.0.0.1".into()),
            peer: vec!["/ip4/127.0.0.1/tcp/3".into()],
            ..NodeArgs::default()
        };
        let cfg = args.resolve().unwrap();
        assert_eq!(cfg.network, Network::Regtest);
        assert_eq!(cfg.rpc_bind.port(), 19443);
        assert_eq!(cfg.peers, vec!["/ip4/127.0.0.1/tcp/3".parse::<Multiaddr>().unwrap()]);
        assert_eq!(cfg.listen, vec!["/ip4/0.0.0.0/tcp/19444".parse::<Multiaddr>().unwrap()]);
        assert_eq!(cfg.network_dir(), dir.path().join("regtest"));
        let limited = NodeArgs {
            datadir: Some(dir.path().to_path_buf()),
            max_upload_rate: Some(8192),
            max_download_rate: Some(0),
            piece_size: Some(64),
            ..NodeArgs::default()
        };
        let cfg = limited.resolve().unwrap();
        assert_eq!((cfg.max_upload_rate, cfg.max_download_rate), (Some(8 << 20), None));
        assert_eq!(cfg.piece_size, 65536);
        let odd = NodeArgs {
            datadir: Some(dir.path().to_path_buf()),
            piece_size: Some(100),
            ..NodeArgs::default()
        };
        assert!(odd.resolve().unwrap_err().to_string().contains("power of two"));
        let connect = NodeArgs {
            datadir: Some(dir.path().to_path_buf()),
            connect: vec!["/ip4/127.0.0.1/tcp/7".into()],
            chord_successors: Some(16),
            chord_vnodes: Some(4),
            ..NodeArgs::default()
        };
        let cfg = connect.resolve().unwrap();
        assert!(cfg.connect_only);
        assert_eq!(cfg.peers.len(), 3, "file peers plus the --connect one");
        assert_eq!((cfg.chord_successors, cfg.chord_vnodes), (16, 4));
        let none = NodeArgs {
            datadir: Some(dir.path().to_path_buf()),
            connect: vec!["0".into()],
            ..NodeArgs::default()
        };
        let cfg = none.resolve().unwrap();
        assert!(cfg.connect_only && cfg.peers.len() == 2);
        assert_eq!((cfg.chord_successors, cfg.chord_vnodes), (8, 1));
        for (network, bits) in [(Network::Regtest, REGTEST_PUZZLE_BITS), (Network::Testnet, TESTNET_PUZZLE_BITS)] {
            let args = NodeArgs {
                datadir: Some(dir.path().to_path_buf()),
                network: Some(network),
                ..NodeArgs::default()
            };
            assert_eq!(args.resolve().unwrap().chord_puzzle_bits, bits);
        }
        for (bits, ok) in [(0, true), (28, true), (29, false), (u64::MAX, false)] {
            let args = NodeArgs {
                datadir: Some(dir.path().to_path_buf()),
                chord_puzzle_bits: Some(bits),
                ..NodeArgs::default()
            };
            match args.resolve() {
                Ok(cfg) => assert!(ok && u64::from(cfg.chord_puzzle_bits) == bits),
                Err(e) => assert!(!ok && e.to_string().contains("--chord-puzzle-bits"), "{e}"),
            }
        }
        for (r, v) in [(Some(3), None), (Some(65), None), (None, Some(0)), (None, Some(33))] {
            let bad = NodeArgs {
                datadir: Some(dir.path().to_path_buf()),
                chord_successors: r,
                chord_vnodes: v,
                ..NodeArgs::default()
            };
            assert!(bad.resolve().is_err(), "{r:?} {v:?}");
        }
        // Core's host:port is taken too; nonsense is refused with what was expected.
        let core = NodeArgs {
            datadir: Some(dir.path().to_path_buf()),
            peer: vec!["127.0.0.1:19444".into(), "[::1]".into()],
            ..NodeArgs::default()
        };
        let peers: Vec<String> = core.resolve().unwrap().peers.iter().map(ToString::to_string).collect();
        // The config file in this directory says testnet: its port when none is given.
        assert_eq!(peers, ["/ip4/127.0.0.1/tcp/19444", "/ip6/::1/tcp/19333"]);
        let bad = NodeArgs {
            datadir: Some(dir.path().to_path_buf()),
            peer: vec!["127.0.0.1:port".into()],
            ..NodeArgs::default()
        };
        let err = bad.resolve().unwrap_err().to_string();
        assert!(err.contains("--peer") && err.contains("expected host:port"), "{err}");
    }

    #[test]
    fn cores_keys_and_sections_configure_the_node() {
        let dir = tempfile::tempdir().unwrap();
        let conf = "regtest=1\ntxindex=1\nserver=1\nrpcbind=127.0.0.1\nrpcport=1111\naddnode=127.0.0.1:7000\nport=7100\nwallet=alice\n\
                    rpcauth=bob:cb77f0957de88ff388cf817ddbc7273$8c3b5ad7dd6b9f0fa3e6d2c2e4c4d93d1c3a44dbce58cfe3b4c3d2bbef2f1a77\n\
                    [regtest]\nrpcport=2222\nrpcallowip=10.0.0.0/8\n[test]\nrpcport=3333\n";
        std::fs::write(dir.path().join("cairn.conf"), conf).unwrap();
        let args = || NodeArgs {
            datadir: Some(dir.path().to_path_buf()),
            ..NodeArgs::default()
        };
        let cfg = args().resolve().unwrap();
        assert_eq!(cfg.network, Network::Regtest);
        assert_eq!(cfg.rpc_bind, "127.0.0.1:2222".parse().unwrap(), "the [regtest] section wins");
        assert_eq!(cfg.rpc_allow.len(), 1);
        assert_eq!(cfg.rpc_auth.len(), 1);
        assert_eq!(cfg.wallets, ["alice"]);
        assert_eq!(cfg.listen, vec!["/ip4/0.0.0.0/tcp/7100".parse::<Multiaddr>().unwrap()]);
        assert_eq!(cfg.peers.len(), 1, "addnode is a peer");
        let cfg = NodeArgs {
            network: Some(Network::Testnet),
            ..args()
        }
        .resolve()
        .unwrap();
        assert_eq!(cfg.rpc_bind.port(), 3333, "the [test] section for testnet");

        // Listening beyond loopback needs rpcallowip; a bad rpcauth line is an error.
        let refuse = |conf: &str| {
            std::fs::write(dir.path().join("cairn.conf"), conf).unwrap();
            format!("{:#}", args().resolve().unwrap_err())
        };
        let e = refuse("rpcbind=0.0.0.0\n");
        assert!(e.contains("rpcallowip"), "{e}");
        let e = refuse("rpcauth=bob:nohash\n");
        assert!(e.contains("USER:SALT$HASH"), "{e}");
        let e = refuse("rpcallowip=10.0.0.0/99\n");
        assert!(e.contains("rpcallowip"), "{e}");
        let e = refuse("rpcpassword=a#b\nrpcuser=u\n");
        assert!(e.contains("'#' inside the value"), "{e}");
        std::fs::write(dir.path().join("cairn.conf"), "rpcbind=0.0.0.0\nrpcallowip=192.168.0.0/16\n").unwrap();
        assert_eq!(args().resolve().unwrap().rpc_bind, "0.0.0.0:19443".parse().unwrap());
    }

    #[test]
    fn bad_config_is_a_clear_error() {
        let e = ConfigFile::parse("rpcbnd=1.2.3.4").unwrap_err().to_string();
        assert!(e.contains("unknown key \"rpcbnd\""), "{e}");
        let e = ConfigFile::parse("network").unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        assert!(parse_host_port("not an address at all", 1).is_err());
        assert_eq!(parse_host_port("[::1]:7", 1).unwrap(), "[::1]:7".parse().unwrap());
        assert_eq!(parse_host_port("::1", 9).unwrap(), "[::1]:9".parse().unwrap());
    }
}
