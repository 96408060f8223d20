//! A `cairn node` process for tests: its own temp datadir, RPC on an ephemeral port of
//! 127.0.0.1, output captured to a log file, and killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use cairn_rpc::{ClientError, Credentials, RpcClient};
use serde_json::Value;

/// How long a node gets to start or stop.
pub const STARTUP: Duration = Duration::from_secs(60);

/// The `cairn` binary under test.
pub fn cairn_bin() -> &'static str {
    env!("CARGO_BIN_EXE_cairn")
}

/// A running node.
pub struct TestNode {
    pub datadir: PathBuf,
    child: Option<Child>,
    pub rpc: RpcClient,
    pub rpc_addr: String,
}

impl TestNode {
    /// Starts a regtest node on `datadir` with `extra` flags and waits until RPC answers.
    pub fn start(datadir: &Path, extra: &[&str]) -> TestNode {
        TestNode::start_logging(datadir, extra, &std::env::var("CAIRN_TEST_LOG").unwrap_or_else(|_| "info".into()))
    }

    /// [`TestNode::start`] with the log filter `filter` (RUST_LOG).
    pub fn start_logging(datadir: &Path, extra: &[&str], filter: &str) -> TestNode {
        let net_dir = datadir.join("regtest");
        let _ = std::fs::remove_file(net_dir.join("rpc.addr"));
        std::fs::create_dir_all(datadir).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(datadir.join("node.log"))
            .unwrap();
        let mut args: Vec<&str> = extra.to_vec();
        if !extra.contains(&"--listen") {
            args.extend(["--listen", "/ip4/127.0.0.1/tcp/0"]);
        }
        let child = Command::new(cairn_bin())
            .args(["node", "--network", "regtest", "--rpc-bind", "127.0.0.1:0", "--datadir"])
            .arg(datadir)
            .args(&args)
            .env("RUST_LOG", filter)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn cairn node");
        let mut node = TestNode {
            datadir: datadir.to_path_buf(),
            child: Some(child),
            rpc: RpcClient::new("127.0.0.1:1", &Credentials::new("x", "y")),
            rpc_addr: String::new(),
        };
        let deadline = Instant::now() + STARTUP;
        loop {
            assert!(Instant::now() < deadline, "node did not start; log:\n{}", node.log());
            if let Some(status) = node.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("node exited with {status}; log:\n{}", node.log());
            }
            if let (Ok(addr), Ok(creds)) = (
                std::fs::read_to_string(net_dir.join("rpc.addr")),
                Credentials::read_cookie(&net_dir.join(".cookie")),
            ) {
                node.rpc_addr = addr.trim().to_string();
                node.rpc = RpcClient::new(node.rpc_addr.clone(), &creds).with_timeout(Duration::from_secs(120));
                match node.rpc.call::<u32>("getblockcount", &[]) {
                    Ok(_) => return node,
                    Err(ClientError::Rpc { code: -28, .. }) | Err(ClientError::Connect { .. }) | Err(ClientError::Io(_)) => {}
                    Err(e) => panic!("unexpected error while starting: {e}"),
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The node's first peer-to-peer listen address, ending in `/p2p/<peer id>`.
    pub fn p2p_addr(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let info: Value = self.call("getnetworkinfo", &[]);
            if let Some(a) = info["listenaddrs"][0].as_str() {
                return a.to_string();
            }
            assert!(Instant::now() < deadline, "no listen address; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The node's peer id.
    pub fn peer_id(&mut self) -> String {
        let info: Value = self.call("getnetworkinfo", &[]);
        info["peerid"].as_str().expect("a peer id").to_string()
    }

    /// A client for wallet `name`'s endpoint (`/wallet/<name>`).
    pub fn wallet(&self, name: &str) -> RpcClient {
        let creds = Credentials::read_cookie(&self.datadir.join("regtest").join(".cookie")).unwrap();
        RpcClient::new(self.rpc_addr.clone(), &creds)
            .with_timeout(Duration::from_secs(120))
            .with_wallet(name)
    }

    /// Calls a method and parses the result.
    pub fn call<T: serde::de::DeserializeOwned>(&mut self, method: &str, params: &[Value]) -> T {
        match self.rpc.call(method, params) {
            Ok(v) => v,
            Err(e) => panic!("{method} {params:?} failed: {e}"),
        }
    }

    /// Calls a method; its error, if it fails.
    pub fn try_call<T: serde::de::DeserializeOwned>(&mut self, method: &str, params: &[Value]) -> Result<T, ClientError> {
        self.rpc.call(method, params)
    }

    /// Calls a method and returns the raw JSON text of the result.
    pub fn raw(&mut self, method: &str, params: &[Value]) -> String {
        match self.rpc.call_raw(method, params) {
            Ok(v) => v.get().to_string(),
            Err(e) => panic!("{method} {params:?} failed: {e}"),
        }
    }

    /// Calls a method that must fail; returns the error code and message.
    pub fn call_err(&mut self, method: &str, params: &[Value]) -> (i64, String) {
        match self.rpc.call_raw(method, params) {
            Err(ClientError::Rpc { code, message }) => (code, message),
            other => panic!("{method} {params:?}: expected an RPC error, got {other:?}"),
        }
    }

    /// SIGKILLs the process.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends a signal and waits for the exit status.
    pub fn signal_and_wait(&mut self, signal: i32) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(child.id() as i32, signal);
        }
        wait_with_timeout(&mut child, STARTUP).unwrap_or_else(|| {
            let _ = child.kill();
            panic!("node did not exit after signal {signal}; log:\n{}", self.log())
        })
    }

    /// Waits for the process to exit by itself (after `stop`).
    pub fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        wait_with_timeout(&mut child, STARTUP).unwrap_or_else(|| {
            let _ = child.kill();
            panic!("node did not exit; log:\n{}", self.log())
        })
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// The node's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.datadir.join("node.log")).unwrap_or_default()
    }
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// `N` fresh temporary folders (nodes' data folders, files to share), removed when dropped.
pub fn tempdirs<const N: usize>() -> [tempfile::TempDir; N] {
    std::array::from_fn(|_| tempfile::tempdir().unwrap())
}

/// Polls `f` until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Writes `len` pseudo-random bytes (xorshift, seeded) to `path`.
pub fn random_file(path: &Path, len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut bytes = Vec::with_capacity(len);
    while bytes.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(len);
    std::fs::write(path, &bytes).unwrap();
    bytes
}

/// The node's RPC URL with its cookie, as Python clients take it.
pub fn cookie_url(datadir: &Path, node: &TestNode) -> String {
    let cookie = std::fs::read_to_string(datadir.join("regtest").join(".cookie")).unwrap();
    format!("http://{}@{}", cookie.trim(), node.rpc_addr)
}

/// Runs `scripts/<script>` with `args` (its venv made on the first run), killed after `deadline`;
/// its exit status, stdout and stderr.
pub fn run_script(script: &str, args: &[&str], deadline: Duration) -> (std::process::ExitStatus, String, String) {
    let path = format!("{}/../scripts/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = std::process::Command::new("bash")
        .arg(&path)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {path}: {e}"));
    let end = Instant::now() + deadline;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{script} timed out:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Mines `n` blocks on `node` to a new address of its wallet; their hashes.
pub fn mine(node: &mut TestNode, n: u32) -> Vec<String> {
    let addr: String = node.call("getnewaddress", &[]);
    node.call("generatetoaddress", &[serde_json::json!(n), serde_json::json!(addr)])
}
