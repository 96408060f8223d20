//! The config file: `key=value` lines, `#` comments, and Core's `[regtest]`/`[test]` sections.
//!
//! Keys are Cairn's long flag names (`rpc-bind`, `peer`, …), `rpcuser`/`rpcpassword`, and the
//! `bitcoin.conf` keys people bring from Core:
//! - read as Core reads them ([`CORE_KEYS`]): `regtest=1`, `testnet=1`, `chain=`, `rpcbind`,
//!   `rpcport`, `rpcallowip`, `rpcauth`, `addnode`, `bind`, `port`, `wallet`, `listen=1`,
//!   `server=1`;
//! - known to Core but meaningless for Cairn ([`IGNORED_CORE_KEYS`]): a warning, not an error
//!   (`txindex`, `dbcache`, `prune`, `fallbackfee`, `zmqpub…`, …).
//!
//! Any other key is an error, so a typo never goes unnoticed. A `#` starts a comment at the start
//! of a line or after a space; a `#` inside a value (`rpcpassword=ab#cd`) is an error, not a
//! silent cut (Core refuses it in `rpcpassword` for the same reason).
//!
//! Sections, as Core's: `[regtest]` applies to regtest only, `[test]` (or `[testnet]`) to
//! testnet; `[main]`, `[signet]` and `[testnet4]` name networks Cairn does not have and are
//! skipped. A section's value beats the top level's for that network. The network itself is
//! chosen at the top level (`network=`, `chain=`, `regtest=1`, `testnet=1`).

use anyhow::{Result, anyhow, bail};
use cairn_chain::Network;

/// Cairn's own keys.
const KNOWN_KEYS: &[&str] = &[
    "network",
    "rpc-bind",
    "rpcuser",
    "rpcpassword",
    "listen",
    "peer",
    "mine-to",
    "mine-threads",
    "regtest-block-time",
    "max-upload-rate",
    "max-download-rate",
    "piece-size",
    "super-seed",
    "connect",
    "chord-successors",
    "chord-vnodes",
    "chord-puzzle-bits",
    "maxmempool",
];

/// Core's keys Cairn reads.
pub const CORE_KEYS: &[&str] = &[
    "regtest",
    "testnet",
    "chain",
    "rpcbind",
    "rpcport",
    "rpcallowip",
    "rpcauth",
    "addnode",
    "bind",
    "port",
    "wallet",
    "server",
    "debug",
    "printtoconsole",
    "nodebuglogfile",
];

/// Core's keys that mean nothing for Cairn: warned about and ignored.
pub const IGNORED_CORE_KEYS: &[&str] = &[
    "txindex",
    "blockfilterindex",
    "coinstatsindex",
    "dbcache",
    "prune",
    "par",
    "daemon",
    "daemonwait",
    "datadir",
    "walletdir",
    "disablewallet",
    "fallbackfee",
    "paytxfee",
    "mintxfee",
    "maxtxfee",
    "minrelaytxfee",
    "blocksonly",
    "dnsseed",
    "forcednsseed",
    "seednode",
    "upnp",
    "natpmp",
    "discover",
    "onlynet",
    "proxy",
    "onion",
    "listenonion",
    "whitelist",
    "whitebind",
    "maxconnections",
    "maxuploadtarget",
    "assumevalid",
    "rpcthreads",
    "rpcworkqueue",
    "rpcservertimeout",
    "rpccookiefile",
    "zmqpubrawblock",
    "zmqpubrawtx",
    "zmqpubhashblock",
    "zmqpubhashtx",
    "zmqpubsequence",
    "debuglogfile",
    "shrinkdebugfile",
    "logtimestamps",
    "logips",
    "keypool",
    "avoidpartialspends",
    "spendzeroconfchange",
    "walletbroadcast",
    "walletrbf",
    "mempoolfullrbf",
    "persistmempool",
    "mempoolexpiry",
    "limitancestorcount",
    "limitdescendantcount",
    "deprecatedrpc",
    "acceptnonstdtxn",
    "peerbloomfilters",
    "peerblockfilters",
    "v2transport",
];

/// Sections naming networks Cairn does not have.
const OTHER_NETWORK_SECTIONS: &[&str] = &["main", "signet", "testnet4"];

/// One `key=value` line.
#[derive(Debug, Clone)]
struct Entry {
    /// `None` at the top level, else the section's network.
    section: Option<Network>,
    key: String,
    value: String,
}

/// The `key=value` pairs of a config file, in order.
#[derive(Debug, Default, Clone)]
pub struct ConfigFile {
    entries: Vec<Entry>,
    /// What is ignored, for the node to warn about once it logs.
    warnings: Vec<String>,
}

fn section_network(name: &str) -> Option<Network> {
    match name {
        "regtest" => Some(Network::Regtest),
        "test" | "testnet" => Some(Network::Testnet),
        _ => None,
    }
}

impl ConfigFile {
    /// Reads `path`; a missing file is empty when `must_exist` is false.
    ///
    /// # Errors
    /// Unreadable file, or see [`ConfigFile::parse`].
    pub fn read(path: &std::path::Path, must_exist: bool) -> Result<ConfigFile> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => return Ok(ConfigFile::default()),
            Err(e) => return Err(anyhow::Error::new(e).context(format!("reading config file {}", path.display()))),
        };
        Self::parse(&text).map_err(|e| e.context(format!("in config file {}", path.display())))
    }

    /// Parses config text.
    ///
    /// # Errors
    /// A line without `=`, an unknown key or section, or a `#` inside a value (with the line
    /// number).
    pub fn parse(text: &str) -> Result<ConfigFile> {
        let mut file = ConfigFile::default();
        // `Some(None)`: a section for a network Cairn does not have (its lines are skipped).
        let mut section: Option<Option<Network>> = None;
        for (n, raw) in text.lines().enumerate() {
            let line_no = n + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[') {
                let name = name
                    .strip_suffix(']')
                    .ok_or_else(|| anyhow!("line {line_no}: a section is [name], found {line:?}"))?
                    .trim();
                section = match section_network(name) {
                    Some(net) => Some(Some(net)),
                    None if OTHER_NETWORK_SECTIONS.contains(&name) => {
                        file.warnings
                            .push(format!("section [{name}] is for a network Cairn does not have: skipped"));
                        Some(None)
                    }
                    None => bail!("line {line_no}: unknown section [{name}] (known: [regtest], [test])"),
                };
                continue;
            }
            // A comment starts at a `#` after whitespace; one inside a value is refused.
            let content = match line.find(" #").or_else(|| line.find("\t#")) {
                Some(at) => line[..at].trim_end(),
                None => line,
            };
            let (k, v) = content
                .split_once('=')
                .ok_or_else(|| anyhow!("line {line_no}: expected key=value, found {line:?}"))?;
            let (k, v) = (k.trim(), v.trim());
            if v.contains('#') {
                bail!(
                    "line {line_no}: '#' inside the value of {k:?}; remove it (a comment needs a space before '#'), as Core refuses ambiguous '#' too"
                );
            }
            if !KNOWN_KEYS.contains(&k) && !CORE_KEYS.contains(&k) {
                if IGNORED_CORE_KEYS.contains(&k) {
                    file.warnings
                        .push(format!("line {line_no}: {k} is a Bitcoin Core setting Cairn does not use: ignored"));
                    continue;
                }
                bail!(
                    "line {line_no}: unknown key {k:?} (Cairn's: {}; Core's read too: {})",
                    KNOWN_KEYS.join(", "),
                    CORE_KEYS.join(", ")
                );
            }
            match section {
                Some(None) => {}
                Some(Some(net)) => {
                    if ["network", "chain", "regtest", "testnet"].contains(&k) {
                        bail!("line {line_no}: {k} chooses the network: put it before any section");
                    }
                    file.entries.push(Entry {
                        section: Some(net),
                        key: k.to_string(),
                        value: v.to_string(),
                    });
                }
                None => file.entries.push(Entry {
                    section: None,
                    key: k.to_string(),
                    value: v.to_string(),
                }),
            }
        }
        Ok(file)
    }

    /// The settings that apply to `network`: the top level's, then its section's (which win).
    pub fn for_network(&self, network: Network) -> ConfigFile {
        let top = self.entries.iter().filter(|e| e.section.is_none());
        let section = self.entries.iter().filter(|e| e.section == Some(network));
        ConfigFile {
            entries: top.chain(section).cloned().collect(),
            warnings: self.warnings.clone(),
        }
    }

    /// The network the top level chooses: `network=`, `chain=`, `regtest=1` or `testnet=1`.
    ///
    /// # Errors
    /// An unknown network, or two different choices.
    pub fn network(&self) -> Result<Option<Network>> {
        let mut chosen: Vec<(String, Network)> = Vec::new();
        for e in self.entries.iter().filter(|e| e.section.is_none()) {
            let net = match (e.key.as_str(), e.value.as_str()) {
                ("network" | "chain", v) => match v {
                    "test" => Network::Testnet,
                    other => other.parse().map_err(|err| anyhow!("config {}: {err}", e.key))?,
                },
                ("regtest", "1") => Network::Regtest,
                ("testnet", "1") => Network::Testnet,
                ("regtest" | "testnet", "0") => continue,
                ("regtest" | "testnet", v) => bail!("config {}: {v:?} is not 0 or 1", e.key),
                _ => continue,
            };
            chosen.push((format!("{}={}", e.key, e.value), net));
        }
        if let Some((a, net)) = chosen.first()
            && let Some((b, _)) = chosen.iter().find(|(_, n)| n != net)
        {
            bail!("config: {a} and {b} choose different networks");
        }
        Ok(chosen.first().map(|(_, n)| *n))
    }

    /// The last value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().rev().find(|e| e.key == key).map(|e| e.value.as_str())
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.entries.iter().filter(|e| e.key == key).map(|e| e.value.clone()).collect()
    }

    /// What the file sets that Cairn ignores (to log as warnings).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_apply_to_their_network_and_beat_the_top_level() {
        let f = ConfigFile::parse(
            "regtest=1\nrpcport=1000\naddnode=a:1\n[regtest]\nrpcport=2000\naddnode=b:2\n[test]\nrpcport=3000\n[main]\nrpcport=4000\n",
        )
        .unwrap();
        assert_eq!(f.network().unwrap(), Some(Network::Regtest));
        let r = f.for_network(Network::Regtest);
        assert_eq!(r.get("rpcport"), Some("2000"));
        assert_eq!(r.all("addnode"), ["a:1", "b:2"]);
        assert_eq!(f.for_network(Network::Testnet).get("rpcport"), Some("3000"));
        assert!(f.warnings().iter().any(|w| w.contains("[main]")));
    }

    #[test]
    fn core_keys_are_read_or_warned_about_and_typos_are_errors() {
        let f = ConfigFile::parse("txindex=1\ndbcache=450\nserver=1\nrpcallowip=10.0.0.0/8\n").unwrap();
        assert_eq!(f.warnings().len(), 2);
        assert_eq!(f.get("rpcallowip"), Some("10.0.0.0/8"));
        let e = ConfigFile::parse("rpcpasword=x").unwrap_err().to_string();
        assert!(e.contains("unknown key \"rpcpasword\""), "{e}");
        let e = ConfigFile::parse("[mainnet]\n").unwrap_err().to_string();
        assert!(e.contains("unknown section"), "{e}");
        let e = ConfigFile::parse("[regtest]\nregtest=1\n").unwrap_err().to_string();
        assert!(e.contains("before any section"), "{e}");
        let e = ConfigFile::parse("chain=regtest\ntestnet=1\n")
            .unwrap()
            .network()
            .unwrap_err()
            .to_string();
        assert!(e.contains("different networks"), "{e}");
        assert_eq!(ConfigFile::parse("chain=test").unwrap().network().unwrap(), Some(Network::Testnet));
    }

    #[test]
    fn a_hash_inside_a_value_is_an_error_and_after_a_space_a_comment() {
        let e = ConfigFile::parse("# top\nrpcuser=u\nrpcpassword=ab#cd\n").unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("'#' inside the value"), "{e}");
        let f = ConfigFile::parse("rpcpassword=pw # a note\nrpcuser=u\t# tab\n").unwrap();
        assert_eq!((f.get("rpcpassword"), f.get("rpcuser")), (Some("pw"), Some("u")));
    }
}
