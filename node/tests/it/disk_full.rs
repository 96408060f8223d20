//! A full disk stops the node, cleanly, and loses nothing: the write that fails is refused as a
//! whole (RocksDB applies a batch or nothing), the node stops with the error and a non-zero exit
//! instead of running on with a tip its disk does not have, and it reopens at the last stored
//! tip. The disk is a real one that fills up: a small tmpfs the test mounts under the datadir
//! (root only; skipped with a message otherwise).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::common::TestNode;

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: mounting a tmpfs needs root");
            return None;
        }
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs(at.to_path_buf())),
            Ok(o) => {
                eprintln!("skipped: mount tmpfs failed: {}", String::from_utf8_lossy(&o.stderr));
                None
            }
            Err(e) => {
                eprintln!("skipped: no mount command: {e}");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros to `path` until the filesystem refuses more.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 << 10];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
}

#[test]
fn a_full_disk_stops_the_node_cleanly_and_it_reopens_at_the_stored_tip() {
    let tmp = tempfile::tempdir().unwrap();
    let datadir = tmp.path().join("node");
    // The chain state lives on the small disk; the log next to it stays on the big one.
    let Some(_disk) = Tmpfs::mount(&datadir.join("regtest"), "64m") else {
        return;
    };
    let mut node = TestNode::start(&datadir, &[]);
    let address: String = node.call("getnewaddress", &[]);
    let _: Vec<String> = node.call("generatetoaddress", &[json!(5), json!(address)]);

    let filler = datadir.join("regtest").join("filler");
    fill(&filler);
    // The next write may still fit in space RocksDB set aside for its log before the disk
    // filled up: mine until one does not.
    let mut stored: u32 = node.call("getblockcount", &[]);
    let message = loop {
        match node.try_call::<Vec<String>>("generatetoaddress", &[json!(1), json!(address)]) {
            Ok(_) => stored += 1,
            Err(e) => break e.to_string(),
        }
        assert!(stored < 5 + 2_000, "2,000 blocks written to a full disk");
    };
    eprintln!("blocks written after the disk filled: {}", stored - 5);
    assert!(message.contains("No space left on device"), "{message}");
    let status = node.wait_exit();
    assert!(!status.success(), "a node that cannot write its chain state must not exit 0");
    let log = node.log();
    assert!(log.contains("fatal error"), "{log}");
    assert!(log.contains("stopped on a fatal error"), "{log}");

    // Space again: the node reopens at the tip it stored, and goes on.
    std::fs::remove_file(&filler).unwrap();
    let mut node = TestNode::start(&datadir, &[]);
    let height: u32 = node.call("getblockcount", &[]);
    assert_eq!(height, stored);
    let info: serde_json::Value = node.call("gettxoutsetinfo", &[]);
    assert_eq!(info["height"], json!(stored));
    let _: Vec<String> = node.call("generatetoaddress", &[json!(1), json!(address)]);
    assert_eq!(node.call::<u32>("getblockcount", &[]), stored + 1);
}
