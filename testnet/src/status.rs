//! What each node reports (height, tip, peers, mempool, mining, what its wallet holds and when
//! its mined coins become spendable), and the tables the launcher prints.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, Result};
use cairn_chain::{Amount, Network};
use cairn_rpc::auth::Credentials;
use cairn_rpc::client::RpcClient;
use cairn_rpc::types::AmountParam;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::spec::{NodeSpec, TestnetSpec};

/// Timeout of one status call.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// An RPC client for `node` (the cookie is read anew: it changes at every start).
///
/// # Errors
/// The cookie cannot be read (the node is not running).
pub fn client(node: &NodeSpec, timeout: Duration) -> Result<RpcClient> {
    let credentials = Credentials::read_cookie(&node.cookie)
        .with_context(|| format!("{}: reading the RPC cookie {} (is it running?)", node.name, node.cookie.display()))?;
    Ok(RpcClient::new(node.rpc_addr.clone(), &credentials).with_timeout(timeout))
}

/// One node's state.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeStatus {
    /// Node name.
    pub name: String,
    /// Answering RPC.
    pub up: bool,
    /// Chain height.
    pub height: u32,
    /// Best block hash.
    pub best: String,
    /// Connected peers.
    pub peers: usize,
    /// Transactions in the mempool.
    pub mempool: usize,
    /// Mining on.
    pub mining: bool,
    /// Its own hashes per second.
    pub hashps: f64,
    /// What the wallet can spend now (`getbalances` mine.trusted).
    pub spendable: Amount,
    /// Mined coins that are not spendable yet (`getbalances` mine.immature).
    pub immature: Amount,
    /// Blocks until the next of those coinbases becomes spendable (`None`: nothing immature).
    pub matures_in: Option<u32>,
    /// Why it is not up.
    pub error: Option<String>,
}

impl NodeStatus {
    fn down(name: &str, error: String) -> NodeStatus {
        NodeStatus {
            name: name.to_string(),
            up: false,
            height: 0,
            best: String::new(),
            peers: 0,
            mempool: 0,
            mining: false,
            hashps: 0.0,
            spendable: Amount::ZERO,
            immature: Amount::ZERO,
            matures_in: None,
            error: Some(error),
        }
    }
}

/// Asks `node` for its state; a node that does not answer is reported down with the reason.
pub fn query(node: &NodeSpec, network: Network) -> NodeStatus {
    match try_query(node, network) {
        Ok(s) => s,
        Err(e) => NodeStatus::down(&node.name, format!("{e:#}")),
    }
}

/// `getbalances`, the part the status shows.
#[derive(Deserialize)]
struct Balances {
    mine: MineBalances,
}

#[derive(Deserialize)]
struct MineBalances {
    trusted: AmountParam,
    immature: AmountParam,
}

/// Most wallet entries read to find the oldest immature coinbase: a node has at most
/// `coinbase_maturity` of them (one per block of the last 100), among its newest entries.
const HISTORY_WINDOW: usize = 1000;

/// Blocks until the oldest immature coinbase of a wallet history (`listtransactions` entries)
/// becomes spendable: the wallet spends a coinbase at `maturity + 1` confirmations (Core's
/// wallet rule, one more than consensus needs).
pub fn blocks_to_maturity(entries: &[Value], maturity: u32) -> Option<u32> {
    entries
        .iter()
        .filter(|e| e["category"] == "immature")
        .filter_map(|e| e["confirmations"].as_i64())
        .max()
        .map(|conf| (i64::from(maturity) + 1 - conf).clamp(1, i64::from(maturity) + 1) as u32)
}

fn try_query(node: &NodeSpec, network: Network) -> Result<NodeStatus> {
    let mut c = client(node, CALL_TIMEOUT)?;
    let chain: Value = c.call("getblockchaininfo", &[])?;
    let peers: usize = c.call("getconnectioncount", &[])?;
    let mempool: Value = c.call("getmempoolinfo", &[])?;
    let mining: Value = c.call("getmininginfo", &[])?;
    let balances: Balances = c.call("getbalances", &[])?;
    let (spendable, immature) = (balances.mine.trusted.0, balances.mine.immature.0);
    let matures_in = if immature > Amount::ZERO {
        let history: Vec<Value> = c.call("listtransactions", &[json!("*"), json!(HISTORY_WINDOW)])?;
        blocks_to_maturity(&history, network.params().coinbase_maturity)
    } else {
        None
    };
    Ok(NodeStatus {
        name: node.name.clone(),
        up: true,
        height: chain["blocks"].as_u64().unwrap_or(0) as u32,
        best: chain["bestblockhash"].as_str().unwrap_or("").to_string(),
        peers,
        mempool: mempool["size"].as_u64().unwrap_or(0) as usize,
        mining: mining["generate"].as_bool().unwrap_or(false),
        hashps: mining["hashespersec"].as_f64().unwrap_or(0.0),
        spendable,
        immature,
        matures_in,
        error: None,
    })
}

/// Every node's state, in order.
pub fn query_all(spec: &TestnetSpec) -> Vec<NodeStatus> {
    let network = spec.network.parse().unwrap_or(Network::Regtest);
    spec.nodes.iter().map(|n| query(n, network)).collect()
}

/// The mean time between the testnet's blocks, for "spendable in N blocks (≈ T)": testnet's
/// target spacing; on regtest the miners' pace (each mines one block per `regtest_block_time`
/// on average). `None` when no node mines.
pub fn block_interval(spec: &TestnetSpec) -> Option<Duration> {
    let miners = spec.nodes.iter().filter(|n| n.mine_threads > 0).count() as u64;
    if miners == 0 {
        return None;
    }
    match spec.network.parse::<Network>().ok()? {
        Network::Testnet => Some(Duration::from_secs(u64::from(Network::Testnet.params().target_spacing))),
        Network::Regtest => Some(Duration::from_millis(spec.regtest_block_time_ms / miners)),
    }
}

/// Whether every node is up and on the same tip.
pub fn tips_agree(statuses: &[NodeStatus]) -> bool {
    statuses.iter().all(|s| s.up) && statuses.windows(2).all(|w| w[0].best == w[1].best)
}

fn rate(h: f64) -> String {
    if h >= 1e6 {
        format!("{:.2} MH/s", h / 1e6)
    } else if h >= 1e3 {
        format!("{:.1} kH/s", h / 1e3)
    } else {
        format!("{h:.0} H/s")
    }
}

/// About how long `blocks` blocks take at `interval` a block, for people.
fn about(blocks: u32, interval: Duration) -> String {
    let secs = interval.as_secs_f64() * f64::from(blocks);
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else if secs < 5400.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

/// What a node's wallet holds, and when its mined coins become spendable.
fn wallet_text(s: &NodeStatus, interval: Option<Duration>) -> String {
    let mut out = format!("spendable {}", s.spendable);
    if s.immature > Amount::ZERO {
        let _ = write!(out, "  immature {}", s.immature);
        if let Some(n) = s.matures_in {
            let eta = interval.map_or(String::new(), |i| format!(", ≈ {}", about(n, i)));
            let _ = write!(out, " (next spendable in {n} block{}{eta})", if n == 1 { "" } else { "s" });
        }
    } else if s.spendable == Amount::ZERO && s.mining {
        out.push_str("  (no block mined yet)");
    }
    out
}

/// The live status block: one summary line, then a line per node. `interval` is the mean time
/// between blocks (see [`block_interval`]), for the time until coins mature.
pub fn render(statuses: &[NodeStatus], clock: &str, interval: Option<Duration>) -> String {
    let mut out = String::new();
    let up: Vec<&NodeStatus> = statuses.iter().filter(|s| s.up).collect();
    let top = up.iter().map(|s| s.height).max().unwrap_or(0);
    let summary = if up.is_empty() {
        "no node answers".to_string()
    } else if tips_agree(statuses) {
        format!("tips agree at height {top} ({})", short(&up[0].best))
    } else {
        let distinct: std::collections::BTreeSet<&str> = up.iter().map(|s| s.best.as_str()).collect();
        format!(
            "tips differ ({} tips among {} nodes up of {}), highest {top}",
            distinct.len(),
            up.len(),
            statuses.len()
        )
    };
    let _ = writeln!(out, "{clock}  {summary}");
    for s in statuses {
        if s.up {
            let _ = writeln!(
                out,
                "  {:<8} height {:>6}  tip {}  peers {:>2}  mempool {:>4}  {:<12} {}",
                s.name,
                s.height,
                short(&s.best),
                s.peers,
                s.mempool,
                if s.mining { rate(s.hashps) } else { "not mining".to_string() },
                wallet_text(s, interval)
            );
        } else {
            let why = s.error.as_deref().unwrap_or("down");
            let _ = writeln!(out, "  {:<8} DOWN  ({})", s.name, why.lines().next().unwrap_or(why));
        }
    }
    out
}

fn short(hash: &str) -> &str {
    // Leading zeros carry no information on a proof-of-work chain: show the 12 digits after them.
    let trimmed = hash.trim_start_matches('0');
    let start = hash.len() - trimmed.len();
    &hash[start..(start + 12).min(hash.len())]
}

/// `cairn cli` (or another subcommand) aimed at `node`: `CAIRN SUB --network N --datadir D`.
fn command_for(spec: &TestnetSpec, node: &NodeSpec, sub: &str) -> String {
    format!(
        "{} {sub} --network {} --datadir {}",
        spec.cairn.display(),
        spec.network,
        node.datadir.display()
    )
}

/// The table printed once the testnet is up: where each node is and how to talk to it.
pub fn node_table(spec: &TestnetSpec) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "cairn testnet: {} nodes on {}, in {}",
        spec.nodes.len(),
        spec.network,
        spec.dir.display()
    );
    for n in &spec.nodes {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  {}  pid {}  {}",
            n.name,
            n.pid.map_or("-".to_string(), |p| p.to_string()),
            if n.mine_threads > 0 {
                format!("mining on {} thread(s)", n.mine_threads)
            } else {
                "not mining".to_string()
            }
        );
        let _ = writeln!(out, "    peer id  {}", n.peerid);
        let _ = writeln!(out, "    p2p      {}", n.p2p);
        let _ = writeln!(out, "    rpc      {}  (cookie {})", n.rpc, n.cookie.display());
        let _ = writeln!(out, "    address  {}", n.address);
        let _ = writeln!(out, "    cli      {} getblockchaininfo", command_for(spec, n, "cli"));
    }
    out
}

/// The first screen's "what now": the exact commands to send coins from node1 to node2 and to
/// share a file from node1 with node2 (and when node1 will have coins to send).
pub fn first_steps(spec: &TestnetSpec) -> String {
    let mut out = String::new();
    let (Some(a), Some(b)) = (spec.nodes.first(), spec.nodes.get(1).or(spec.nodes.first())) else {
        return out;
    };
    let cli = |n: &NodeSpec| command_for(spec, n, "cli");
    let maturity = spec.network.parse::<Network>().map_or(100, |n| n.params().coinbase_maturity);
    let _ = writeln!(out, "Try it (from another terminal):");
    let _ = writeln!(
        out,
        "  send coins   {} sendtoaddress {} 1.5",
        cli(a),
        if b.address.is_empty() { "ADDRESS" } else { &b.address }
    );
    let _ = writeln!(
        out,
        "               (a mined block pays 50 coins, spendable once {maturity} more blocks are on top of it: the status shows when)"
    );
    let _ = writeln!(out, "  share a file {} publishfile /absolute/path/to/file     → its cid", cli(a));
    let _ = writeln!(out, "               {} CID", command_for(spec, b, "fetch"));
    let _ = writeln!(out, "  find files   {} searchfiles WORDS", cli(b));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(name: &str, best: &str, height: u32) -> NodeStatus {
        NodeStatus {
            name: name.into(),
            up: true,
            height,
            best: best.into(),
            peers: 2,
            mempool: 0,
            mining: true,
            hashps: 2.5e6,
            spendable: Amount::from_units(50 * Amount::COIN).unwrap(),
            immature: Amount::ZERO,
            matures_in: None,
            error: None,
        }
    }

    #[test]
    fn agreement_needs_every_node_up_on_one_tip() {
        let a = up("node1", "00ab", 5);
        let b = up("node2", "00ab", 5);
        assert!(tips_agree(&[a.clone(), b.clone()]));
        assert!(!tips_agree(&[a.clone(), up("node2", "00cd", 5)]));
        assert!(!tips_agree(&[a, NodeStatus::down("node2", "refused".into())]));
        let text = render(&[b, NodeStatus::down("node3", "refused".into())], "12:00:00", None);
        assert!(text.contains("tips differ (1 tips among 1 nodes up of 2)"), "{text}");
        assert!(text.contains("node3    DOWN  (refused)"), "{text}");
        assert!(text.contains("2.50 MH/s"), "{text}");
    }

    #[test]
    fn the_line_says_what_is_immature_and_when_it_becomes_spendable() {
        let mut s = up("node1", "00ab", 5);
        s.spendable = Amount::ZERO;
        s.immature = Amount::from_units(250 * Amount::COIN).unwrap();
        s.matures_in = Some(96);
        let text = render(&[s.clone()], "12:00:00", Some(Duration::from_secs(10)));
        assert!(
            text.contains("spendable 0.00000000  immature 250.00000000 (next spendable in 96 blocks, ≈ 16 min)"),
            "{text}"
        );
        s.immature = Amount::ZERO;
        s.matures_in = None;
        assert!(render(&[s], "12:00:00", None).contains("spendable 0.00000000  (no block mined yet)"));
    }

    #[test]
    fn maturity_counts_from_the_oldest_immature_coinbase() {
        let entries = vec![
            json!({"category": "immature", "confirmations": 5}),
            json!({"category": "receive", "confirmations": 90}),
            json!({"category": "immature", "confirmations": 1}),
        ];
        // Spendable at 101 confirmations: the oldest has 5, so 96 more blocks.
        assert_eq!(blocks_to_maturity(&entries, 100), Some(96));
        assert_eq!(blocks_to_maturity(&entries[1..2], 100), None);
        assert_eq!(
            blocks_to_maturity(&[json!({"category": "immature", "confirmations": 101})], 100),
            Some(1)
        );
    }

    #[test]
    fn hashes_are_shown_after_their_leading_zeros() {
        assert_eq!(short("0000000000abcdef0123456789"), "abcdef012345");
        assert_eq!(short("ab"), "ab");
        assert_eq!(short(""), "");
    }
}
