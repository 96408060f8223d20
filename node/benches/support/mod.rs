//! Release `cairn node` processes for the benchmarks: a temp datadir each, RPC and p2p on
//! ephemeral ports of 127.0.0.1, killed when dropped.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cairn_rpc::{Credentials, RpcClient};
use serde_json::Value;

/// Kills and reaps the process when dropped, on every path (a failed start included).
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running node.
pub struct BenchNode {
    _child: ChildGuard,
    pub dir: PathBuf,
    pub addr: String,
    pub creds: Credentials,
    pub rpc: RpcClient,
}

impl BenchNode {
    /// Starts a regtest node on `dir` with `extra` flags; its log goes to `dir/node.log` at
    /// `log_level`. `CAIRN_BENCH_BIN` names another `cairn` binary to run (to compare two
    /// builds run by run, alternating, in one session).
    pub fn start(dir: &Path, extra: &[&str], log_level: &str) -> BenchNode {
        std::fs::create_dir_all(dir).unwrap();
        let log = std::fs::File::create(dir.join("node.log")).unwrap();
        let bin = std::env::var_os("CAIRN_BENCH_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_cairn").into());
        let child = ChildGuard(
            Command::new(bin)
                .args([
                    "node",
                    "--network",
                    "regtest",
                    "--rpc-bind",
                    "127.0.0.1:0",
                    "--listen",
                    "/ip4/127.0.0.1/tcp/0",
                    "--datadir",
                ])
                .arg(dir)
                .args(extra)
                .env("RUST_LOG", log_level)
                .env("NO_COLOR", "1")
                .stdout(Stdio::from(log.try_clone().unwrap()))
                .stderr(Stdio::from(log))
                .spawn()
                .expect("spawn cairn node"),
        );
        let net = dir.join("regtest");
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            assert!(Instant::now() < deadline, "node did not start");
            if let (Ok(addr), Ok(creds)) = (
                std::fs::read_to_string(net.join("rpc.addr")),
                Credentials::read_cookie(&net.join(".cookie")),
            ) {
                let addr = addr.trim().to_string();
                let mut rpc = RpcClient::new(addr.clone(), &creds).with_timeout(Duration::from_secs(600));
                if rpc.call::<u32>("getblockcount", &[]).is_ok() {
                    return BenchNode {
                        _child: child,
                        dir: dir.to_path_buf(),
                        addr,
                        creds,
                        rpc,
                    };
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Calls a method, panicking on failure.
    pub fn call<T: serde::de::DeserializeOwned>(&mut self, method: &str, params: &[Value]) -> T {
        self.rpc.call(method, params).unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// The first p2p listen address (waits for it).
    pub fn p2p_addr(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let info: Value = self.call("getnetworkinfo", &[]);
            if let Some(a) = info["listenaddrs"][0].as_str() {
                return a.to_string();
            }
            assert!(Instant::now() < deadline, "no listen address");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self._child.0.id()
    }

    /// CPU seconds (user + system) the process has used, from /proc.
    pub fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self._child.0.id())).unwrap_or_default();
        // Fields after the command name (which is in parentheses): utime is the 14th, stime the 15th.
        let rest = stat.rsplit(')').next().unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        (ticks(11) + ticks(12)) / hz
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }
}

/// The `q` quantile (0..=1) of sorted samples.
pub fn quantile<T: Copy>(sorted: &[T], q: f64) -> T {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Reads `--name value` from the command line.
pub fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Cores of this machine, for the report.
pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Seconds since midnight UTC of a log line's RFC 3339 timestamp (`2026-11-22T15:10:27.123456Z`).
pub fn log_time(line: &str) -> Option<f64> {
    let ts = line.split_whitespace().next()?;
    let time = ts.split('T').nth(1)?.trim_end_matches('Z');
    let mut parts = time.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// When each block hash was connected, from a node's log.
pub fn connected_times(log: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in log.lines().filter(|l| l.contains("connected block") && !l.contains("disconnected")) {
        let Some(hash) = line.split_whitespace().find_map(|w| w.strip_prefix("hash=")) else {
            continue;
        };
        if let Some(t) = log_time(line) {
            out.entry(hash.to_string()).or_insert(t);
        }
    }
    out
}
