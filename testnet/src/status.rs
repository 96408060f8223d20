//! What each node reports (height, tip, peers, mempool, mining), and the tables the launcher
//! prints.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, Result};
use cairn_rpc::auth::Credentials;
use cairn_rpc::client::RpcClient;
use serde_json::Value;

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
    /// Trusted wallet balance, as printed by the node.
    pub balance: String,
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
            balance: String::new(),
            error: Some(error),
        }
    }
}

/// Asks `node` for its state; a node that does not answer is reported down with the reason.
pub fn query(node: &NodeSpec) -> NodeStatus {
    match try_query(node) {
        Ok(s) => s,
        Err(e) => NodeStatus::down(&node.name, format!("{e:#}")),
    }
}

fn try_query(node: &NodeSpec) -> Result<NodeStatus> {
    let mut c = client(node, CALL_TIMEOUT)?;
    let chain: Value = c.call("getblockchaininfo", &[])?;
    let peers: usize = c.call("getconnectioncount", &[])?;
    let mempool: Value = c.call("getmempoolinfo", &[])?;
    let mining: Value = c.call("getmininginfo", &[])?;
    let balance = c.call_raw("getbalance", &[])?;
    Ok(NodeStatus {
        name: node.name.clone(),
        up: true,
        height: chain["blocks"].as_u64().unwrap_or(0) as u32,
        best: chain["bestblockhash"].as_str().unwrap_or("").to_string(),
        peers,
        mempool: mempool["size"].as_u64().unwrap_or(0) as usize,
        mining: mining["generate"].as_bool().unwrap_or(false),
        hashps: mining["hashespersec"].as_f64().unwrap_or(0.0),
        balance: balance.get().to_string(),
        error: None,
    })
}

/// Every node's state, in order.
pub fn query_all(spec: &TestnetSpec) -> Vec<NodeStatus> {
    spec.nodes.iter().map(query).collect()
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

/// The live status block: one summary line, then a line per node.
pub fn render(statuses: &[NodeStatus], clock: &str) -> String {
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
                "  {:<8} height {:>6}  tip {}  peers {:>2}  mempool {:>4}  {:<12} balance {}",
                s.name,
                s.height,
                short(&s.best),
                s.peers,
                s.mempool,
                if s.mining { rate(s.hashps) } else { "not mining".to_string() },
                s.balance
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
        let _ = writeln!(
            out,
            "    cli      {} cli --network {} --datadir {} getblockchaininfo",
            spec.cairn.display(),
            spec.network,
            n.datadir.display()
        );
    }
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
            balance: "50.00000000".into(),
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
        let text = render(&[b, NodeStatus::down("node3", "refused".into())], "12:00:00");
        assert!(text.contains("tips differ (1 tips among 1 nodes up of 2)"), "{text}");
        assert!(text.contains("node3    DOWN  (refused)"), "{text}");
        assert!(text.contains("2.50 MH/s"), "{text}");
    }

    #[test]
    fn hashes_are_shown_after_their_leading_zeros() {
        assert_eq!(short("0000000000abcdef0123456789"), "abcdef012345");
        assert_eq!(short("ab"), "ab");
        assert_eq!(short(""), "");
    }
}
