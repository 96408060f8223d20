//! bitcoin-cli's two dashboards: `-getinfo` (chain, network, wallet and balance in one screen,
//! from several calls) and `-netinfo [level]` (connection counts by direction and network, and
//! from level 1 one line per peer). Same layout as bitcoin-cli's; fields Cairn has no value for
//! (proxies, block-relay-only connections) print as Core prints an empty one.

use anyhow::Result;
use cairn_rpc::RpcClient;
use serde_json::{Value, json};

fn call(client: &mut RpcClient, method: &str) -> Result<Value> {
    Ok(serde_json::from_str(client.call_params(method, &json!([]))?.get())?)
}

fn amount(v: &Value) -> String {
    format!("{:.8}", v.as_f64().unwrap_or(0.0))
}

/// `-getinfo`. `wallet` is `-rpcwallet`'s name; without it the only loaded wallet is shown, or
/// each loaded wallet's balance.
///
/// # Errors
/// A call fails.
pub fn getinfo(root: &mut RpcClient, wallet_client: &dyn Fn(&str) -> Result<RpcClient>, wallet: Option<&str>) -> Result<String> {
    let chain = call(root, "getblockchaininfo")?;
    let net = call(root, "getnetworkinfo")?;
    let mut out = String::new();
    out.push_str(&format!("Chain: {}\n", chain["chain"].as_str().unwrap_or("")));
    out.push_str(&format!("Blocks: {}\n", chain["blocks"]));
    out.push_str(&format!("Headers: {}\n", chain["headers"]));
    out.push_str(&format!(
        "Verification progress: {:.4}%\n",
        chain["verificationprogress"].as_f64().unwrap_or(0.0) * 100.0
    ));
    out.push_str(&format!("Difficulty: {}\n\n", chain["difficulty"]));
    out.push_str(&format!(
        "Network: in {}, out {}, total {}\n",
        net["connections_in"], net["connections_out"], net["connections"]
    ));
    out.push_str(&format!("Version: {}\n", net["version"]));
    out.push_str(&format!("Time offset (s): {}\n", net["timeoffset"]));
    out.push_str("Proxies: n/a\n");
    out.push_str(&format!("Min tx relay fee rate (BTC/kvB): {}\n\n", amount(&net["relayfee"])));

    let names: Vec<String> = match wallet {
        Some(w) => vec![w.to_string()],
        None => serde_json::from_value(call(root, "listwallets")?).unwrap_or_default(),
    };
    match names.as_slice() {
        [] => {}
        [one] => {
            let mut w = wallet_client(one)?;
            let info = call(&mut w, "getwalletinfo")?;
            let balances = call(&mut w, "getbalances")?;
            out.push_str(&format!("Wallet: \"{}\"\n", info["walletname"].as_str().unwrap_or(one)));
            out.push_str(&format!("Keypool size: {}\n", info["keypoolsize"]));
            if let Some(until) = info.get("unlocked_until") {
                out.push_str(&format!("Unlocked until: {until}\n"));
            }
            out.push_str(&format!("\nBalance: {}\n\n", amount(&balances["mine"]["trusted"])));
        }
        many => {
            out.push_str("Balances\n");
            for name in many {
                let balances = call(&mut wallet_client(name)?, "getbalances")?;
                out.push_str(&format!("{} {name}\n", amount(&balances["mine"]["trusted"])));
            }
            out.push('\n');
        }
    }
    let warnings = match &chain["warnings"] {
        Value::Array(w) if !w.is_empty() => w.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n"),
        _ => "(none)".to_string(),
    };
    out.push_str(&format!("Warnings: {warnings}"));
    Ok(out)
}

/// The network of a peer address: `ipv4`, `ipv6` or `other` (a name, a relay).
fn network_of(addr: &str) -> &'static str {
    if addr.contains("/ip4/") {
        "ipv4"
    } else if addr.contains("/ip6/") {
        "ipv6"
    } else if let Ok(a) = addr.parse::<std::net::SocketAddr>() {
        if a.is_ipv4() { "ipv4" } else { "ipv6" }
    } else {
        "other"
    }
}

/// `-netinfo [level]`: level 0 the counts; 1 and above also one line per peer.
///
/// # Errors
/// A call fails.
pub fn netinfo(client: &mut RpcClient, level: u8) -> Result<String> {
    let net = call(client, "getnetworkinfo")?;
    let chain = call(client, "getblockchaininfo")?;
    let peers = call(client, "getpeerinfo")?;
    let peers = peers.as_array().cloned().unwrap_or_default();
    let mut out = format!(
        "Cairn client {} {} - server {}{}\n\n",
        env!("CARGO_PKG_VERSION"),
        chain["chain"].as_str().unwrap_or(""),
        net["protocolversion"],
        net["subversion"].as_str().unwrap_or("")
    );
    if level >= 1 {
        out.push_str("<->   type   net    ping(ms)  sent(KiB)  recv(KiB)  age(min)    id  address\n");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        for p in &peers {
            let addr = p["addr"].as_str().unwrap_or("");
            out.push_str(&format!(
                "{:<4}  {:<5}  {:<5}  {:>8}  {:>9}  {:>9}  {:>8}  {:>4}  {}\n",
                if p["inbound"] == true { "in" } else { "out" },
                "full",
                network_of(addr),
                p["pingtime"].as_f64().map_or(String::new(), |t| format!("{:.0}", t * 1000.0)),
                p["bytessent"].as_u64().unwrap_or(0) / 1024,
                p["bytesrecv"].as_u64().unwrap_or(0) / 1024,
                now.saturating_sub(p["conntime"].as_u64().unwrap_or(now)) / 60,
                p["id"],
                addr,
            ));
        }
        out.push_str("                     ms        KiB        KiB       min\n\n");
    }
    let count = |inbound: bool, network: &str| {
        peers
            .iter()
            .filter(|p| (p["inbound"] == true) == inbound && network_of(p["addr"].as_str().unwrap_or("")) == network)
            .count()
    };
    out.push_str("        ipv4    ipv6   total   block\n");
    let (in4, in6) = (count(true, "ipv4"), count(true, "ipv6"));
    let (out4, out6) = (count(false, "ipv4"), count(false, "ipv6"));
    let inbound = peers.iter().filter(|p| p["inbound"] == true).count();
    let outbound = peers.len() - inbound;
    out.push_str(&format!("in     {in4:>5}   {in6:>5}   {inbound:>5}\n"));
    out.push_str(&format!("out    {out4:>5}   {out6:>5}   {outbound:>5}   {:>5}\n", 0));
    out.push_str(&format!("total  {:>5}   {:>5}   {:>5}\n", in4 + out4, in6 + out6, peers.len()));
    let local: Vec<&str> = net["localaddresses"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    out.push_str(&format!(
        "\nLocal addresses: {}",
        if local.is_empty() { "n/a".to_string() } else { local.join(", ") }
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_of_peer_addresses() {
        assert_eq!(network_of("/ip4/127.0.0.1/tcp/1/p2p/12D3Koo"), "ipv4");
        assert_eq!(network_of("/ip6/::1/tcp/1"), "ipv6");
        assert_eq!(network_of("127.0.0.1:8333"), "ipv4");
        assert_eq!(network_of("[::1]:8333"), "ipv6");
        assert_eq!(network_of("/dns4/example.org/tcp/1"), "other");
    }
}
