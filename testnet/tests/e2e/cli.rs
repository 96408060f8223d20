//! The `cairn-testnet` binary's verbs, end to end.

use std::path::Path;
use std::process::Command;

use cairn_testnet::TestnetSpec;

use crate::common::cairn_bin;

fn launcher(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cairn-testnet"))
        .args(args)
        .arg("--dir")
        .arg(dir)
        .env("CAIRN_BIN", cairn_bin())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// Stops the testnet even if an assertion fails.
struct Down<'a>(&'a Path);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = launcher(self.0, &["down"]);
    }
}

#[test]
fn up_status_verbs_and_down() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let _down = Down(&dir);
    let (ok, out) = launcher(
        &dir,
        &[
            "up",
            "--nodes",
            "2",
            "--network",
            "regtest",
            "--miners",
            "1",
            "--regtest-block-time",
            "300",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("node1") && out.contains("cli --network regtest --datadir"), "{out}");

    let spec = TestnetSpec::load(&dir).unwrap();
    assert_eq!(spec.nodes.len(), 2);
    for n in &spec.nodes {
        assert!(n.pid.is_some());
        assert!(
            n.p2p.starts_with("/ip4/127.0.0.1/tcp/") && n.p2p.ends_with(&format!("/p2p/{}", n.peerid)),
            "{n:?}"
        );
        assert!(n.cookie.is_file() && n.datadir.is_dir() && n.rpc.starts_with("http://127.0.0.1:"));
    }
    assert_eq!((spec.nodes[0].mine_threads, spec.nodes[1].mine_threads), (1, 0));

    // A second `up` in the same folder is refused while the first runs.
    let (ok, out) = launcher(&dir, &["up", "--nodes", "2", "--network", "regtest"]);
    assert!(!ok && out.contains("already running"), "{out}");

    let (ok, out) = launcher(&dir, &["status"]);
    assert!(ok && out.contains("node2") && out.contains("height"), "{out}");
    let (ok, out) = launcher(&dir, &["partition", "node1", "node9"]);
    assert!(!ok && out.contains("no node \"node9\""), "{out}");
    let (ok, out) = launcher(&dir, &["partition", "node1", "node2"]);
    assert!(ok, "{out}");
    assert!(TestnetSpec::load(&dir).unwrap().partition.is_some());
    let (ok, out) = launcher(&dir, &["heal"]);
    assert!(ok, "{out}");
    let (ok, out) = launcher(&dir, &["kill", "node2"]);
    assert!(ok, "{out}");
    let (ok, out) = launcher(&dir, &["status"]);
    assert!(ok && out.contains("node2    DOWN"), "{out}");
    let (ok, out) = launcher(&dir, &["restart", "node2"]);
    assert!(ok, "{out}");
    let (ok, out) = launcher(&dir, &["mine", "node1", "off"]);
    assert!(ok, "{out}");
    assert_eq!(TestnetSpec::load(&dir).unwrap().nodes[0].mine_threads, 0);

    let pids: Vec<(u32, std::path::PathBuf)> = TestnetSpec::load(&dir)
        .unwrap()
        .nodes
        .iter()
        .filter_map(|n| n.pid.map(|p| (p, n.datadir.clone())))
        .collect();
    assert_eq!(pids.len(), 2);
    let (ok, out) = launcher(&dir, &["down"]);
    assert!(ok, "{out}");
    for (pid, datadir) in pids {
        assert!(!cairn_testnet::process::alive(pid, &datadir), "pid {pid} still runs after down");
    }
    assert!(TestnetSpec::load(&dir).unwrap().nodes.iter().all(|n| n.pid.is_none()));
}
