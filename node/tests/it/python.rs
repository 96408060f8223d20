//! The Python clients people use with Bitcoin Core, unchanged, against a real node:
//! python-bitcoinlib's `RawProxy` and python-bitcoinrpc's `AuthServiceProxy`
//! (`scripts/python-clients.sh` makes the venv; `scripts/deps.sh` installs python3-venv).

use std::time::Duration;

use crate::common::{TestNode, cookie_url, run_script};

#[test]
fn python_bitcoinlib_and_python_bitcoinrpc_work_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start(dir.path(), &[]);
    let url = cookie_url(dir.path(), &node);
    // Creating the venv downloads two small packages the first time.
    let (status, stdout, stderr) = run_script("python-clients.sh", &[&url], Duration::from_secs(300));
    assert!(
        status.success(),
        "python clients failed:\n{stdout}\n{stderr}\nnode log:\n{}",
        node.log()
    );
    assert!(stdout.contains("python clients ok"), "{stdout}");
}
