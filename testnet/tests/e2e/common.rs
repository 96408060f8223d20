//! Starting a testnet for a test, calling its nodes, and waiting for them to agree.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cairn_rpc::client::ClientError;
use cairn_testnet::testnet::Miners;
use cairn_testnet::{Testnet, UpOptions};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The `cairn` binary: `$CAIRN_BIN`, else `target/<profile>/cairn` next to this test's folder.
pub fn cairn_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CAIRN_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = profile_dir.join("cairn");
    assert!(
        bin.is_file(),
        "{} is missing: run the tests with --workspace (scripts/test.sh) so the node binary is built, or set CAIRN_BIN",
        bin.display()
    );
    bin
}

/// A testnet in a temporary folder, stopped when dropped.
pub struct Net {
    pub tn: Testnet,
    _dir: tempfile::TempDir,
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = self.tn.down(Duration::from_secs(10));
    }
}

/// Starts `nodes` regtest nodes; `miners` mine continuously, one block per `block_ms` on average
/// each.
pub fn start(nodes: usize, miners: Miners, block_ms: u64) -> Net {
    let dir = tempfile::tempdir().unwrap();
    let tn = Testnet::up(&UpOptions {
        nodes,
        dir: dir.path().join("net"),
        network: "regtest".into(),
        miners,
        mine_threads: 1,
        regtest_block_time_ms: block_ms,
        cairn: cairn_bin(),
        owner_lock: None,
    })
    .unwrap_or_else(|e| panic!("testnet did not start: {e:#}"));
    Net { tn, _dir: dir }
}

pub fn wait_until(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Net {
    pub fn try_call<T: DeserializeOwned>(&self, node: &str, method: &str, params: &[Value]) -> Result<T, ClientError> {
        let mut c = self
            .tn
            .client(node, Duration::from_secs(120))
            .map_err(|e| ClientError::BadReply(format!("{e:#}")))?;
        c.call(method, params)
    }

    pub fn call<T: DeserializeOwned>(&self, node: &str, method: &str, params: &[Value]) -> T {
        self.try_call(node, method, params)
            .unwrap_or_else(|e| panic!("{node} {method} {params:?}: {e}\nlog:\n{}", self.log_tail(node)))
    }

    pub fn height(&self, node: &str) -> u32 {
        self.call(node, "getblockcount", &[])
    }

    /// The node's receiving address from the launcher.
    pub fn address(&self, node: &str) -> String {
        self.tn.spec.nodes[self.tn.spec.index_of(node).unwrap()].address.clone()
    }

    pub fn names(&self) -> Vec<String> {
        self.tn.spec.nodes.iter().map(|n| n.name.clone()).collect()
    }

    pub fn log_tail(&self, node: &str) -> String {
        let Ok(i) = self.tn.spec.index_of(node) else { return String::new() };
        let text = std::fs::read_to_string(&self.tn.spec.nodes[i].log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    pub fn mempool(&self, node: &str) -> Vec<String> {
        self.call(node, "getrawmempool", &[])
    }

    /// Waits until `nodes` are on one tip with equal UTXO digests; returns the height and tip.
    pub fn converge(&self, nodes: &[String], timeout: Duration) -> (u32, String) {
        let deadline = Instant::now() + timeout;
        loop {
            let tips: Vec<Result<String, ClientError>> = nodes.iter().map(|n| self.try_call(n, "getbestblockhash", &[])).collect();
            if tips.iter().all(Result::is_ok) {
                let tips: Vec<String> = tips.into_iter().map(Result::unwrap).collect();
                if tips.windows(2).all(|w| w[0] == w[1]) {
                    let infos: Vec<Value> = nodes.iter().map(|n| self.call(n, "gettxoutsetinfo", &[])).collect();
                    let same = infos
                        .windows(2)
                        .all(|w| w[0]["bestblock"] == w[1]["bestblock"] && w[0]["hash_serialized_3"] == w[1]["hash_serialized_3"]);
                    if same && infos[0]["bestblock"] == Value::String(tips[0].clone()) {
                        return (infos[0]["height"].as_u64().unwrap() as u32, tips[0].clone());
                    }
                }
            }
            if Instant::now() >= deadline {
                let state: Vec<String> = nodes
                    .iter()
                    .map(|n| {
                        format!(
                            "{n}: {:?} {:?}",
                            self.try_call::<u32>(n, "getblockcount", &[]),
                            self.try_call::<String>(n, "getbestblockhash", &[])
                        )
                    })
                    .collect();
                panic!("nodes did not converge within {timeout:?}: {state:#?}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops all mining, then mines one block on `node` so that a tie between branches of equal
    /// work (which nothing else would break once mining stops) is settled, and waits until every
    /// node agrees.
    pub fn settle(&mut self, node: &str, timeout: Duration) -> (u32, String) {
        self.tn.set_mining_all_off().unwrap();
        // Let blocks found just before mining stopped spread.
        std::thread::sleep(Duration::from_millis(500));
        let _: Vec<String> = self.call(
            node,
            "generatetoaddress",
            &[serde_json::json!(1), serde_json::json!(self.address(node))],
        );
        self.converge(&self.names(), timeout)
    }

    /// Every node's log is free of panics.
    pub fn assert_no_panics(&self) {
        for n in &self.tn.spec.nodes {
            let text = std::fs::read_to_string(&n.log).unwrap_or_default();
            assert!(!text.contains("panicked"), "{} panicked:\n{}", n.name, self.log_tail(&n.name));
        }
    }
}
