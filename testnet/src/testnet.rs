//! A testnet and its verbs: up, down, kill, restart, partition, heal, add a node, mining on/off.
//!
//! Every node listens on 127.0.0.1 with ports picked at `up` and kept across restarts, and is
//! started with every other node as `--peer`, so the nodes form a full mesh and a restarted node
//! reconnects at once. The description in `DIR/testnet.json` is saved after every change, so the
//! verbs work from separate invocations of `cairn-testnet` (and `down` can clean up after a
//! failed `up`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use cairn_rpc::client::{ClientError, RpcClient};
use serde_json::{Value, json};

use crate::process;
use crate::spec::{NodeSpec, TestnetSpec};
use crate::status::{self, NodeStatus};

/// Most nodes in one testnet.
pub const MAX_NODES: usize = 64;

/// How long a starting node may take to answer RPC.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// How long `down` and `restart` wait for a clean shutdown before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(30);

/// Length of a partition ban (lifted by `heal`).
const PARTITION_BAN_SECS: u64 = 30 * 24 * 3600;

/// Core's "already banned" and "not banned" error codes (ignored when re-applying or lifting).
const ALREADY_BANNED: i64 = -23;
const NOT_BANNED: i64 = -30;

/// Which nodes mine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miners {
    /// Every node.
    All,
    /// None.
    None,
    /// The first N nodes.
    First(usize),
    /// These nodes by name.
    Named(Vec<String>),
}

impl std::str::FromStr for Miners {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Miners> {
        match s {
            "all" => Ok(Miners::All),
            "none" => Ok(Miners::None),
            _ => match s.parse::<usize>() {
                Ok(n) => Ok(Miners::First(n)),
                Err(_) => {
                    let names: Vec<String> = s.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect();
                    if names.is_empty() || names.iter().any(|n| !is_node_name(n)) {
                        bail!("--miners {s:?}: expected all, none, a count, or node names such as node1,node3");
                    }
                    Ok(Miners::Named(names))
                }
            },
        }
    }
}

/// The pid of `node` if it is running.
fn running_pid(node: &NodeSpec) -> Option<u32> {
    node.pid.filter(|p| process::alive(*p, &node.datadir))
}

fn is_node_name(n: &str) -> bool {
    n.strip_prefix("node")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

impl Miners {
    fn mines(&self, index: usize, name: &str) -> bool {
        match self {
            Miners::All => true,
            Miners::None => false,
            Miners::First(n) => index < *n,
            Miners::Named(names) => names.iter().any(|n| n == name),
        }
    }
}

/// Settings of `up` / `run`.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Number of nodes.
    pub nodes: usize,
    /// Folder for the datadirs and `testnet.json`.
    pub dir: PathBuf,
    /// `testnet` or `regtest`.
    pub network: String,
    /// Which nodes mine.
    pub miners: Miners,
    /// Threads per mining node.
    pub mine_threads: usize,
    /// Regtest: mean milliseconds between a miner's blocks.
    pub regtest_block_time_ms: u64,
    /// The `cairn` binary.
    pub cairn: PathBuf,
    /// A lock file the caller holds ([`crate::process::OwnerLock`]) for as long as the nodes may
    /// run: they are started with `--owner-lock` on it. `None`: detached nodes (`up`).
    pub owner_lock: Option<PathBuf>,
}

/// A testnet described by `DIR/testnet.json`.
#[derive(Debug)]
pub struct Testnet {
    /// The description (saved after every change).
    pub spec: TestnetSpec,
}

impl Testnet {
    /// Starts a testnet: N nodes on 127.0.0.1, connected, mining as asked; writes
    /// `DIR/testnet.json`. Datadirs already in DIR are reused (their chains and wallets continue).
    /// On failure the nodes started so far are stopped again.
    ///
    /// # Errors
    /// Bad options, a testnet already running in DIR, or a node that does not start.
    pub fn up(opts: &UpOptions) -> Result<Testnet> {
        if opts.nodes == 0 || opts.nodes > MAX_NODES {
            bail!("--nodes {}: between 1 and {MAX_NODES}", opts.nodes);
        }
        if opts.network != "testnet" && opts.network != "regtest" {
            bail!("--network {:?}: testnet or regtest", opts.network);
        }
        if let Miners::Named(names) = &opts.miners
            && let Some(bad) = names.iter().find(|n| {
                n.trim_start_matches("node")
                    .parse::<usize>()
                    .map_or(true, |i| i == 0 || i > opts.nodes)
            })
        {
            bail!("--miners: there is no {bad} among {} nodes", opts.nodes);
        }
        if !opts.cairn.is_file() {
            bail!(
                "the cairn binary {} does not exist (build it with `cargo build --release --workspace --bins`, or pass --cairn PATH)",
                opts.cairn.display()
            );
        }
        std::fs::create_dir_all(&opts.dir).with_context(|| format!("creating {}", opts.dir.display()))?;
        let dir = opts.dir.canonicalize()?;
        if let Ok(old) = TestnetSpec::load(&dir)
            && let Some(n) = old.nodes.iter().find(|n| running_pid(n).is_some())
        {
            bail!(
                "a testnet is already running in {} ({} is up): stop it with `cairn-testnet down --dir {}`",
                dir.display(),
                n.name,
                dir.display()
            );
        }
        let cairn = opts.cairn.canonicalize()?;
        let mut net = Testnet {
            spec: TestnetSpec {
                network: opts.network.clone(),
                dir: dir.clone(),
                cairn,
                regtest_block_time_ms: opts.regtest_block_time_ms,
                nodes: Vec::new(),
                partition: None,
                owner_lock: opts.owner_lock.clone(),
            },
        };
        for i in 0..opts.nodes {
            let name = format!("node{}", i + 1);
            let threads = if opts.miners.mines(i, &name) { opts.mine_threads } else { 0 };
            if let Err(e) = net.add_node_named(&name, threads) {
                let _ = net.down(Duration::from_secs(10));
                return Err(e);
            }
        }
        Ok(net)
    }

    /// The testnet described in `dir`.
    ///
    /// # Errors
    /// No readable description there.
    pub fn open(dir: &Path) -> Result<Testnet> {
        Ok(Testnet {
            spec: TestnetSpec::load(dir)?,
        })
    }

    fn save(&self) -> Result<()> {
        self.spec.save()
    }

    /// Adds a node (the next free name) to a running testnet and returns its name.
    ///
    /// # Errors
    /// The node does not start.
    pub fn add_node(&mut self, mine_threads: usize) -> Result<String> {
        if self.spec.nodes.len() >= MAX_NODES {
            bail!("a testnet has at most {MAX_NODES} nodes");
        }
        let mut n = self.spec.nodes.len() + 1;
        while self.spec.nodes.iter().any(|x| x.name == format!("node{n}")) {
            n += 1;
        }
        let name = format!("node{n}");
        self.add_node_named(&name, mine_threads)?;
        Ok(name)
    }

    fn add_node_named(&mut self, name: &str, mine_threads: usize) -> Result<()> {
        let datadir = self.spec.dir.join(name);
        std::fs::create_dir_all(&datadir).with_context(|| format!("creating {}", datadir.display()))?;
        let node = NodeSpec {
            name: name.to_string(),
            pid: None,
            peerid: String::new(),
            p2p: String::new(),
            rpc: String::new(),
            rpc_addr: String::new(),
            cookie: datadir.join(&self.spec.network).join(".cookie"),
            log: datadir.join("node.log"),
            datadir,
            p2p_port: 0,
            rpc_port: 0,
            mine_threads,
            address: String::new(),
        };
        self.spec.nodes.push(node);
        let i = self.spec.nodes.len() - 1;
        self.assign_ports(i)?;
        self.save()?;
        // A port picked as free can be taken by another program before the node binds it: then
        // the node exits at once, and it is tried again on other ports.
        let mut attempt = 0;
        while let Err(e) = self.start(i) {
            let in_use = std::fs::read_to_string(&self.spec.nodes[i].log).is_ok_and(|l| l.contains("in use"));
            attempt += 1;
            if !in_use || attempt >= 3 {
                return Err(e);
            }
            self.assign_ports(i)?;
            let log = &self.spec.nodes[i].log;
            std::fs::write(log, "").with_context(|| format!("clearing {}", log.display()))?;
        }
        let address: String = self.client(name, Duration::from_secs(30))?.call("getnewaddress", &[])?;
        self.spec.nodes[i].address = address;
        self.save()
    }

    /// Gives node `i` two free ports no other node uses, and the addresses that follow from them.
    fn assign_ports(&mut self, i: usize) -> Result<()> {
        let taken: Vec<u16> = self
            .spec
            .nodes
            .iter()
            .flat_map(|n| [n.p2p_port, n.rpc_port])
            .filter(|p| *p != 0)
            .collect();
        let ports = process::free_ports(2, &taken)?;
        let node = &mut self.spec.nodes[i];
        (node.p2p_port, node.rpc_port) = (ports[0], ports[1]);
        node.p2p = format!("/ip4/127.0.0.1/tcp/{}", ports[0]);
        node.rpc = format!("http://127.0.0.1:{}", ports[1]);
        node.rpc_addr = format!("127.0.0.1:{}", ports[1]);
        Ok(())
    }

    /// Starts node `i` (with every other node as a peer) and waits until it answers.
    fn start(&mut self, i: usize) -> Result<()> {
        let spec = &self.spec;
        let node = &spec.nodes[i];
        let mut args: Vec<String> = vec![
            "node".into(),
            "--network".into(),
            spec.network.clone(),
            "--datadir".into(),
            node.datadir.display().to_string(),
            "--rpc-bind".into(),
            node.rpc_addr.clone(),
            "--listen".into(),
            format!("/ip4/127.0.0.1/tcp/{}", node.p2p_port),
            "--mine-threads".into(),
            node.mine_threads.to_string(),
        ];
        if spec.network == "regtest" {
            args.extend(["--regtest-block-time".into(), spec.regtest_block_time_ms.to_string()]);
        }
        for other in spec.nodes.iter().filter(|o| o.name != node.name && !o.peerid.is_empty()) {
            args.extend(["--peer".into(), other.p2p.clone()]);
        }
        if let Some(lock) = &spec.owner_lock {
            args.extend(["--owner-lock".into(), lock.display().to_string()]);
        }
        let pid = process::spawn(&spec.cairn, &args, &node.log)?;
        self.spec.nodes[i].pid = Some(pid);
        self.save()?;
        let peerid = match self.wait_ready(i) {
            Ok(id) => id,
            Err(e) => {
                // Never leave a half-started node behind.
                process::signal(pid, libc::SIGKILL);
                process::wait_gone(pid, &self.spec.nodes[i].datadir, Duration::from_secs(10));
                self.spec.nodes[i].pid = None;
                self.save()?;
                return Err(e);
            }
        };
        let node = &mut self.spec.nodes[i];
        node.p2p = format!("/ip4/127.0.0.1/tcp/{}/p2p/{peerid}", node.p2p_port);
        node.peerid = peerid;
        self.save()?;
        if let Some(groups) = self.spec.partition.clone() {
            self.apply_partition_for(i, &groups)?;
        }
        Ok(())
    }

    /// Waits until node `i` answers `getnetworkinfo`; returns its peer id.
    fn wait_ready(&self, i: usize) -> Result<String> {
        let node = &self.spec.nodes[i];
        let pid = node.pid.ok_or_else(|| anyhow!("{} was not started", node.name))?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if !process::alive(pid, &node.datadir) {
                bail!(
                    "{} exited while starting ({}); the end of its log {}:\n{}",
                    node.name,
                    process::describe(pid),
                    node.log.display(),
                    log_tail(&node.log)
                );
            }
            if let Ok(mut c) = status::client(node, Duration::from_secs(5))
                && let Ok(info) = c.call::<Value>("getnetworkinfo", &[])
                && let Some(id) = info["peerid"].as_str()
            {
                return Ok(id.to_string());
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} did not answer RPC within {START_TIMEOUT:?}; its log {}:\n{}",
                    node.name,
                    node.log.display(),
                    log_tail(&node.log)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// An RPC client for the node called `name`.
    ///
    /// # Errors
    /// No such node, or it is not running.
    pub fn client(&self, name: &str, timeout: Duration) -> Result<RpcClient> {
        let node = &self.spec.nodes[self.spec.index_of(name)?];
        status::client(node, timeout)
    }

    /// Whether the node called `name` is running.
    ///
    /// # Errors
    /// No such node.
    pub fn is_running(&self, name: &str) -> Result<bool> {
        let node = &self.spec.nodes[self.spec.index_of(name)?];
        Ok(running_pid(node).is_some())
    }

    /// Every node's state.
    pub fn status(&self) -> Vec<NodeStatus> {
        status::query_all(&self.spec)
    }

    /// Stops every node (SIGTERM, SIGKILL after `grace`); returns the names of those that had
    /// to be killed.
    ///
    /// # Errors
    /// The description cannot be saved.
    pub fn down(&mut self, grace: Duration) -> Result<Vec<String>> {
        let running: Vec<(usize, u32)> = self
            .spec
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| running_pid(n).map(|p| (i, p)))
            .collect();
        // Signal all first, then wait: they shut down in parallel.
        for &(_, pid) in &running {
            process::signal(pid, libc::SIGTERM);
        }
        let mut killed = Vec::new();
        for (i, pid) in running {
            if !process::stop(pid, &self.spec.nodes[i].datadir, grace) {
                killed.push(self.spec.nodes[i].name.clone());
            }
        }
        for n in &mut self.spec.nodes {
            n.pid = None;
        }
        self.save()?;
        Ok(killed)
    }

    /// Kills the node called `name` with SIGKILL (a crash).
    ///
    /// # Errors
    /// No such node, or it is not running.
    pub fn kill(&mut self, name: &str) -> Result<()> {
        let i = self.spec.index_of(name)?;
        let node = &self.spec.nodes[i];
        let pid = running_pid(node).ok_or_else(|| anyhow!("{name} is not running"))?;
        process::signal(pid, libc::SIGKILL);
        if !process::wait_gone(pid, &node.datadir, Duration::from_secs(10)) {
            bail!("{name} (pid {pid}) is still running after SIGKILL");
        }
        self.spec.nodes[i].pid = None;
        self.save()
    }

    /// Stops the node called `name` cleanly (SIGTERM, SIGKILL after `grace`): a node leaving.
    ///
    /// # Errors
    /// No such node.
    pub fn stop(&mut self, name: &str, grace: Duration) -> Result<()> {
        let i = self.spec.index_of(name)?;
        if let Some(pid) = self.spec.nodes[i].pid {
            process::stop(pid, &self.spec.nodes[i].datadir, grace);
        }
        self.spec.nodes[i].pid = None;
        self.save()
    }

    /// Restarts the node called `name` (stopping it first if it runs) with its datadir, ports and
    /// mining settings; it reconnects to every other node. During a partition it keeps its side.
    ///
    /// # Errors
    /// No such node, or it does not start.
    pub fn restart(&mut self, name: &str) -> Result<()> {
        self.stop(name, STOP_GRACE)?;
        let i = self.spec.index_of(name)?;
        self.start(i)
    }

    /// Turns mining on `name` on (`threads` > 0) or off, now and for later restarts.
    ///
    /// # Errors
    /// No such node, it is not running, or the call failed.
    pub fn set_mining(&mut self, name: &str, threads: usize) -> Result<()> {
        let mut c = self.client(name, Duration::from_secs(30))?;
        let _: Value = c.call("setgenerate", &[json!(threads > 0), json!(threads)])?;
        let i = self.spec.index_of(name)?;
        self.spec.nodes[i].mine_threads = threads;
        self.save()
    }

    /// Turns mining off on every running node (now and for later restarts).
    ///
    /// # Errors
    /// A running node refused the call.
    pub fn set_mining_all_off(&mut self) -> Result<()> {
        let names: Vec<String> = self.spec.nodes.iter().map(|n| n.name.clone()).collect();
        for name in names {
            if self.is_running(&name)? {
                self.set_mining(&name, 0)?;
            } else {
                let i = self.spec.index_of(&name)?;
                self.spec.nodes[i].mine_threads = 0;
            }
        }
        self.save()
    }

    /// Splits the testnet in two groups that refuse each other's peers (every node must be in
    /// exactly one group).
    ///
    /// # Errors
    /// Bad groups, a partition already in place, a node down, or a failed ban.
    pub fn partition(&mut self, a: &str, b: &str) -> Result<()> {
        if self.spec.partition.is_some() {
            bail!("a partition is already in place: `heal` first");
        }
        let (a, b) = (self.spec.parse_group(a)?, self.spec.parse_group(b)?);
        if let Some(both) = a.iter().find(|n| b.contains(n)) {
            bail!("{both} is in both groups");
        }
        let missing: Vec<&str> = self
            .spec
            .nodes
            .iter()
            .map(|n| n.name.as_str())
            .filter(|n| !a.iter().chain(&b).any(|x| x == n))
            .collect();
        if !missing.is_empty() {
            bail!(
                "every node must be in one group; not placed: {} (a node in neither group would bridge the partition)",
                missing.join(", ")
            );
        }
        let groups = [a, b];
        for i in 0..self.spec.nodes.len() {
            self.apply_partition_for(i, &groups)?;
        }
        self.spec.partition = Some(groups);
        self.save()
    }

    /// Node `i` bans every peer of the other group (ban already in place: fine).
    fn apply_partition_for(&self, i: usize, groups: &[Vec<String>; 2]) -> Result<()> {
        let node = &self.spec.nodes[i];
        let Some(other) = groups.iter().find(|g| !g.contains(&node.name)) else {
            return Ok(());
        };
        // A node that is down gets its bans when it is restarted.
        let Some(mut c) = self.running_client(&node.name)? else {
            return Ok(());
        };
        for name in other {
            let peer = &self.spec.nodes[self.spec.index_of(name)?];
            match c.call::<Value>("setban", &[json!(peer.peerid), json!("add"), json!(PARTITION_BAN_SECS)]) {
                Ok(_) => {}
                Err(ClientError::Rpc { code: ALREADY_BANNED, .. }) => {}
                Err(e) => return Err(anyhow!("{}: banning {name}: {e}", node.name)),
            }
        }
        Ok(())
    }

    /// An RPC client for `name` if it is running.
    fn running_client(&self, name: &str) -> Result<Option<RpcClient>> {
        let node = &self.spec.nodes[self.spec.index_of(name)?];
        match running_pid(node) {
            Some(_) => Ok(Some(status::client(node, Duration::from_secs(30))?)),
            None => Ok(None),
        }
    }

    /// Ends the partition: lifts exactly its bans and dials across at once.
    ///
    /// # Errors
    /// No partition in place, or a node refused the calls.
    pub fn heal(&mut self) -> Result<()> {
        let groups = self.spec.partition.clone().ok_or_else(|| anyhow!("no partition is in place"))?;
        for (mine, other) in [(&groups[0], &groups[1]), (&groups[1], &groups[0])] {
            for name in mine {
                let Some(mut c) = self.running_client(name)? else { continue };
                for o in other {
                    let peer = &self.spec.nodes[self.spec.index_of(o)?];
                    match c.call::<Value>("setban", &[json!(peer.peerid), json!("remove")]) {
                        Ok(_) | Err(ClientError::Rpc { code: NOT_BANNED, .. }) => {}
                        Err(e) => return Err(anyhow!("{name}: lifting the ban on {o}: {e}")),
                    }
                }
            }
        }
        // Both sides' bans are gone: now dial across (added peers would also come back, later).
        for name in &groups[0] {
            let Some(mut c) = self.running_client(name)? else { continue };
            for o in &groups[1] {
                let peer = &self.spec.nodes[self.spec.index_of(o)?];
                let _ = c.call::<Value>("addnode", &[json!(peer.p2p), json!("onetry")]);
            }
        }
        self.spec.partition = None;
        self.save()
    }
}

/// The last lines of a log file, for error messages.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Where the `cairn` binary is: `explicit`, else `$CAIRN_BIN`, else next to the running program
/// (`target/release/cairn` beside `target/release/cairn-testnet`).
///
/// # Errors
/// None of those exists.
pub fn find_cairn(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("CAIRN_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().context("locating cairn-testnet")?;
    let dir = exe.parent().ok_or_else(|| anyhow!("no folder around {}", exe.display()))?;
    for candidate in [dir.join("cairn"), dir.join("../cairn")] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "no cairn binary next to {} (build it with `cargo build --release --workspace --bins`, or pass --cairn PATH / set CAIRN_BIN)",
        exe.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn miners_parse_like_the_flag_says() {
        assert_eq!("all".parse::<Miners>().unwrap(), Miners::All);
        assert_eq!("none".parse::<Miners>().unwrap(), Miners::None);
        assert_eq!("2".parse::<Miners>().unwrap(), Miners::First(2));
        assert_eq!(
            "node1,node3".parse::<Miners>().unwrap(),
            Miners::Named(vec!["node1".into(), "node3".into()])
        );
        assert!("bob".parse::<Miners>().is_err());
        let m = Miners::First(2);
        assert!(m.mines(1, "node2") && !m.mines(2, "node3"));
        assert!(Miners::Named(vec!["node3".into()]).mines(2, "node3"));
    }

    #[test]
    fn bad_options_are_refused_before_anything_starts() {
        let dir = tempfile::tempdir().unwrap();
        let opts = UpOptions {
            nodes: 3,
            dir: dir.path().join("net"),
            network: "testnet".into(),
            miners: Miners::All,
            mine_threads: 1,
            regtest_block_time_ms: 1000,
            cairn: dir.path().join("no-such-cairn"),
            owner_lock: None,
        };
        let e = Testnet::up(&opts).unwrap_err().to_string();
        assert!(e.contains("does not exist"), "{e}");
        let e = Testnet::up(&UpOptions { nodes: 0, ..opts.clone() }).unwrap_err().to_string();
        assert!(e.contains("between 1 and"), "{e}");
        let e = Testnet::up(&UpOptions {
            network: "mainnet".into(),
            ..opts.clone()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("testnet or regtest"), "{e}");
        let e = Testnet::up(&UpOptions {
            miners: Miners::Named(vec!["node7".into()]),
            ..opts
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("no node7 among 3"), "{e}");
    }
}
