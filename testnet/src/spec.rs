//! `DIR/testnet.json`: the nodes of a testnet (name, pid, peer id, addresses, cookie, datadir),
//! written atomically after every verb that changes it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

/// File name of the description inside the testnet folder.
pub const FILE_NAME: &str = "testnet.json";

/// One node of the testnet.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    /// `node1`, `node2`, …
    pub name: String,
    /// The running process, if any.
    pub pid: Option<u32>,
    /// libp2p peer id (stable across restarts: the key is in the datadir).
    pub peerid: String,
    /// Full p2p multiaddr, ending in `/p2p/<peerid>`.
    pub p2p: String,
    /// JSON-RPC URL.
    pub rpc: String,
    /// JSON-RPC address, `host:port`.
    pub rpc_addr: String,
    /// The RPC cookie file.
    pub cookie: PathBuf,
    /// The node's datadir (`cairn cli --datadir` takes it).
    pub datadir: PathBuf,
    /// Its log file.
    pub log: PathBuf,
    /// p2p port (kept across restarts).
    pub p2p_port: u16,
    /// RPC port (kept across restarts).
    pub rpc_port: u16,
    /// Mining threads the node starts with (0: not mining).
    pub mine_threads: usize,
    /// A receiving address of the node's wallet.
    pub address: String,
}

/// A whole testnet.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct TestnetSpec {
    /// `testnet` or `regtest`.
    pub network: String,
    /// The folder holding the nodes' datadirs and this file.
    pub dir: PathBuf,
    /// The `cairn` binary the nodes run.
    pub cairn: PathBuf,
    /// Regtest only: mean milliseconds between a miner's blocks.
    pub regtest_block_time_ms: u64,
    /// The nodes.
    pub nodes: Vec<NodeSpec>,
    /// The two groups of an application-level partition, while one is in place.
    pub partition: Option<[Vec<String>; 2]>,
    /// The lock file held by the launcher that owns the nodes (`run`), if any: every node is
    /// started with `--owner-lock` on it (restarts and added nodes too, from any invocation),
    /// so they all stop when that launcher ends. `None` for `up`: detached nodes.
    #[serde(default)]
    pub owner_lock: Option<PathBuf>,
}

impl TestnetSpec {
    /// Path of the description file in `dir`.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// Reads `DIR/testnet.json`.
    ///
    /// # Errors
    /// A missing or unreadable file, or one that does not parse.
    pub fn load(dir: &Path) -> Result<TestnetSpec> {
        let path = Self::path_in(dir);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {} (is a testnet set up there? cairn-testnet up --dir DIR)", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a testnet description", path.display()))
    }

    /// Writes `DIR/testnet.json` atomically (temporary file, then rename).
    ///
    /// # Errors
    /// I/O failures.
    pub fn save(&self) -> Result<()> {
        let path = Self::path_in(&self.dir);
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(&tmp, text + "\n").with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
        Ok(())
    }

    /// The node called `name`.
    ///
    /// # Errors
    /// No such node (the message lists the names).
    pub fn index_of(&self, name: &str) -> Result<usize> {
        self.nodes.iter().position(|n| n.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
            anyhow!("no node {name:?} in this testnet (nodes: {})", names.join(", "))
        })
    }

    /// Parses a group of node names (`node1,node2`), each known and listed once.
    ///
    /// # Errors
    /// Unknown or repeated names, or an empty group.
    pub fn parse_group(&self, text: &str) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            self.index_of(name)?;
            if out.iter().any(|n| n == name) {
                bail!("{name} is listed twice in {text:?}");
            }
            out.push(name.to_string());
        }
        if out.is_empty() {
            bail!("empty group {text:?}: give node names separated by commas, e.g. node1,node2");
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dir: &Path) -> TestnetSpec {
        TestnetSpec {
            network: "regtest".into(),
            dir: dir.to_path_buf(),
            cairn: "/bin/cairn".into(),
            regtest_block_time_ms: 1000,
            nodes: (1..=3)
                .map(|i| NodeSpec {
                    name: format!("node{i}"),
                    pid: Some(100 + i),
                    peerid: format!("12D3Koo{i}"),
                    p2p: format!("/ip4/127.0.0.1/tcp/{i}/p2p/12D3Koo{i}"),
                    rpc: format!("http://127.0.0.1:{i}"),
                    rpc_addr: format!("127.0.0.1:{i}"),
                    cookie: dir.join(format!("node{i}/regtest/.cookie")),
                    datadir: dir.join(format!("node{i}")),
                    log: dir.join(format!("node{i}/node.log")),
                    p2p_port: 1,
                    rpc_port: 2,
                    mine_threads: 1,
                    address: String::new(),
                })
                .collect(),
            partition: None,
            owner_lock: None,
        }
    }

    #[test]
    fn saves_and_loads_the_same_description() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec(dir.path());
        s.partition = Some([vec!["node1".into()], vec!["node2".into(), "node3".into()]]);
        s.save().unwrap();
        assert_eq!(TestnetSpec::load(dir.path()).unwrap(), s);
        assert!(!dir.path().join("testnet.json.tmp").exists());
    }

    #[test]
    fn groups_name_known_nodes_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path());
        assert_eq!(s.parse_group("node1, node3").unwrap(), vec!["node1", "node3"]);
        assert!(
            s.parse_group("node1,node9")
                .unwrap_err()
                .to_string()
                .contains("nodes: node1, node2, node3")
        );
        assert!(s.parse_group("node1,node1").is_err());
        assert!(s.parse_group(",").is_err());
    }

    #[test]
    fn a_missing_or_broken_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(TestnetSpec::load(dir.path()).unwrap_err().to_string().contains("cairn-testnet up"));
        std::fs::write(dir.path().join(FILE_NAME), "{").unwrap();
        assert!(
            TestnetSpec::load(dir.path())
                .unwrap_err()
                .to_string()
                .contains("not a testnet description")
        );
    }
}
