//! The Python clients people use with Bitcoin Core, unchanged, against a real node:
//! python-bitcoinlib's `RawProxy` and python-bitcoinrpc's `AuthServiceProxy`
//! (`scripts/python-clients.sh` makes the venv; `scripts/deps.sh` installs python3-venv).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::TestNode;

#[test]
fn python_bitcoinlib_and_python_bitcoinrpc_work_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start(dir.path(), &[]);
    let cookie = std::fs::read_to_string(dir.path().join("regtest").join(".cookie")).unwrap();
    let url = format!("http://{}@{}", cookie.trim(), node.rpc_addr);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/python-clients.sh");
    let mut child = Command::new("bash")
        .arg(script)
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run scripts/python-clients.sh");
    // Creating the venv downloads two small packages the first time.
    let deadline = Instant::now() + Duration::from_secs(300);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("python clients timed out");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python clients failed:\n{stdout}\n{stderr}\nnode log:\n{}",
        node.log()
    );
    assert!(stdout.contains("python clients ok"), "{stdout}");
}
