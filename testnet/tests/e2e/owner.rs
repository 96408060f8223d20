//! `cairn-testnet run` owns its nodes: however the launcher ends (SIGHUP, SIGTERM, its output
//! closing, SIGKILL), within 30 s no node of its testnet runs, and the datadirs open again at the
//! height they had. And the status says what a node's mining has earned before it can be spent.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use cairn_chain::Amount;
use cairn_testnet::testnet::Miners;
use cairn_testnet::{Testnet, TestnetSpec, UpOptions};
use serde_json::json;

use crate::common::{cairn_bin, start, wait_until};

/// Blocks mined before the launcher is stopped; the reopened datadirs must be at this height.
const MINED: u32 = 3;

/// A `cairn-testnet run` of 2 regtest nodes that do not mine (so the height only moves when the
/// test mines), killed with SIGKILL and its nodes stopped when dropped, whatever the test did.
struct Run {
    child: Child,
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Ok(mut net) = Testnet::open(&self.dir) {
            let _ = net.down(Duration::from_secs(10));
        }
    }
}

/// Starts the launcher and reads its output until the first status; returns the output, still
/// open, for the test to drain or close.
fn start_run() -> (Run, BufReader<ChildStdout>) {
    let (run, reader, _) = start_run_seen();
    (run, reader)
}

/// [`start_run`], also returning what the launcher printed up to its first status.
fn start_run_seen() -> (Run, BufReader<ChildStdout>, String) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cairn-testnet"))
        .args([
            "run",
            "--nodes",
            "2",
            "--network",
            "regtest",
            "--miners",
            "none",
            "--interval",
            "1",
            "--dir",
        ])
        .arg(&dir)
        .env("CAIRN_BIN", cairn_bin())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let run = Run { child, dir, _tmp: tmp };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut seen = String::new();
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            seen.push_str(&line);
            // The first status block follows the node table.
            if line.contains("tips agree") || line.contains("tips differ") {
                let _ = tx.send(Ok((reader, seen)));
                return;
            }
            line.clear();
        }
        let _ = tx.send(Err(seen));
    });
    match rx.recv_timeout(Duration::from_secs(180)) {
        Ok(Ok((reader, seen))) => {
            assert!(
                seen.contains("sendtoaddress") && seen.contains("publishfile"),
                "first screen:\n{seen}"
            );
            (run, reader, seen)
        }
        Ok(Err(seen)) => panic!("the launcher ended before its first status:\n{seen}"),
        Err(_) => panic!("no status from the launcher within 180 s"),
    }
}

/// Keeps reading the launcher's output (so it never blocks on a full pipe) until it closes.
fn drain(mut reader: BufReader<ChildStdout>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = reader.read_to_string(&mut rest);
        let _ = tx.send(rest);
    });
    rx
}

/// Mines [`MINED`] blocks on node1 and waits until both nodes have them.
fn mine(dir: &Path) {
    let net = Testnet::open(dir).unwrap();
    let mut c = net.client("node1", Duration::from_secs(60)).unwrap();
    let _: Vec<String> = c
        .call("generatetoaddress", &[json!(MINED), json!(net.spec.nodes[0].address)])
        .unwrap();
    wait_until(Duration::from_secs(60), "both nodes have the mined blocks", || {
        ["node1", "node2"].iter().all(|n| {
            net.client(n, Duration::from_secs(10))
                .ok()
                .and_then(|mut c| c.call::<u32>("getblockcount", &[]).ok())
                == Some(MINED)
        })
    });
}

/// Processes (not zombies) whose command line names a folder inside `dir`: the testnet's nodes.
fn nodes_running_in(dir: &Path) -> Vec<String> {
    let want = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let Ok(pid) = name.parse::<u32>() else { continue };
        if !cairn_testnet::process::is_zombie(pid) && cmd.contains(" node ") && cmd.contains(&want) {
            found.push(format!("pid {name}: {cmd}"));
        }
    }
    found
}

/// The launcher has ended some way: within 30 s no node runs; each stopped cleanly; the
/// datadirs open again at the height they had.
fn assert_nodes_stop_and_reopen(run: &mut Run) {
    let dir = run.dir.clone();
    wait_until(Duration::from_secs(30), "no node of the testnet runs", || {
        nodes_running_in(&dir).is_empty()
    });
    let spec = TestnetSpec::load(&dir).unwrap();
    for n in &spec.nodes {
        let log = std::fs::read_to_string(&n.log).unwrap_or_default();
        assert!(log.contains("shut down cleanly"), "{} did not stop cleanly:\n{log}", n.name);
    }
    let _ = run.child.kill();
    let _ = run.child.wait();
    let mut net = Testnet::up(&UpOptions {
        nodes: 2,
        dir: dir.clone(),
        network: "regtest".into(),
        miners: Miners::None,
        mine_threads: 1,
        regtest_block_time_ms: 1000,
        cairn: cairn_bin(),
        owner_lock: None,
    })
    .unwrap_or_else(|e| panic!("the datadirs did not open again: {e:#}"));
    for n in ["node1", "node2"] {
        let height: u32 = net.client(n, Duration::from_secs(60)).unwrap().call("getblockcount", &[]).unwrap();
        assert_eq!(height, MINED, "{n} reopened at another height");
    }
    net.down(Duration::from_secs(30)).unwrap();
}

fn signal(run: &Run, sig: i32) {
    // SAFETY: plain kill(2) on our own child.
    unsafe {
        libc::kill(run.child.id() as libc::pid_t, sig);
    }
}

#[test]
fn sighup_to_the_launcher_stops_its_nodes() {
    let (mut run, out) = start_run();
    let _rest = drain(out);
    mine(&run.dir);
    signal(&run, libc::SIGHUP);
    assert_nodes_stop_and_reopen(&mut run);
}

#[test]
fn sigterm_to_the_launcher_stops_its_nodes() {
    let (mut run, out) = start_run();
    let rest = drain(out);
    mine(&run.dir);
    signal(&run, libc::SIGTERM);
    let status = wait_exit(&mut run.child, Duration::from_secs(60));
    assert!(status.success(), "the launcher failed: {status}");
    let text = rest.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(text.contains("stopped; datadirs kept"), "{text}");
    assert_nodes_stop_and_reopen(&mut run);
}

#[test]
fn a_closed_output_stops_the_launcher_and_its_nodes() {
    let (mut run, out) = start_run();
    mine(&run.dir);
    // `cairn-testnet run | tee log`, and tee goes away.
    drop(out);
    let status = wait_exit(&mut run.child, Duration::from_secs(60));
    assert!(status.success(), "the launcher failed on a closed output: {status}");
    assert_nodes_stop_and_reopen(&mut run);
}

#[test]
fn sigkill_of_the_launcher_stops_its_nodes() {
    let (mut run, out) = start_run();
    let _rest = drain(out);
    mine(&run.dir);
    signal(&run, libc::SIGKILL);
    assert_nodes_stop_and_reopen(&mut run);
}

fn wait_exit(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let mut status = None;
    wait_until(timeout, "the launcher exits", || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status.unwrap()
}

#[test]
fn the_status_shows_immature_coins_after_the_first_mined_block() {
    let net = start(1, Miners::None, 1000);
    let before = &net.tn.status()[0];
    assert_eq!((before.spendable, before.immature), (Amount::ZERO, Amount::ZERO));
    let _: Vec<String> = net.call("node1", "generatetoaddress", &[json!(1), json!(net.address("node1"))]);
    let after = &net.tn.status()[0];
    assert!(after.immature > Amount::ZERO, "{after:?}");
    assert_eq!(after.spendable, Amount::ZERO);
    assert_eq!(after.matures_in, Some(100), "{after:?}");
    let text = cairn_testnet::status::render(&net.tn.status(), "00:00:00", Some(Duration::from_secs(1)));
    assert!(
        text.contains("immature 50.00000000 (next spendable in 100 blocks, ≈ 2 min)"),
        "{text}"
    );
}

/// One HTTP GET to the launcher's view, the whole answer (head and body).
fn http_get(host: &str, path: &str, auth: Option<&str>) -> String {
    use std::io::Write;
    let mut socket = std::net::TcpStream::connect(host).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let header = auth
        .map(|a| {
            let (user, password) = a.split_once(':').unwrap();
            format!("Authorization: {}\r\n", cairn_rpc::Credentials::new(user, password).header_value())
        })
        .unwrap_or_default();
    write!(socket, "GET {path} HTTP/1.1\r\nHost: {host}\r\n{header}Connection: close\r\n\r\n").unwrap();
    if path == "/events" {
        // A stream: read up to the end of its first event.
        let mut seen = Vec::new();
        let mut byte = [0u8; 1];
        while !seen.ends_with(b"\n\n") || !seen.windows(6).any(|w| w == b"event:") {
            assert_eq!(
                socket.read(&mut byte).unwrap(),
                1,
                "stream ended: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.push(byte[0]);
        }
        return String::from_utf8_lossy(&seen).into_owned();
    }
    let mut answer = String::new();
    socket.read_to_string(&mut answer).unwrap();
    answer
}

/// The view's JSON state.
fn view_state(host: &str, auth: &str) -> serde_json::Value {
    let answer = http_get(host, "/status.json", Some(auth));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap()
}

/// The launcher's testnet view: every node side by side, behind the view's cookie, live.
#[test]
fn the_testnet_view_shows_every_node_side_by_side_behind_its_cookie() {
    let (run, reader, seen) = start_run_seen();
    let _rest = drain(reader);
    let url = seen
        .lines()
        .find_map(|l| l.trim().strip_prefix("http://").filter(|u| u.contains('@')))
        .unwrap_or_else(|| panic!("no view address in:\n{seen}"));
    let (auth, host) = url.trim_end_matches('/').split_once('@').unwrap();
    assert!(http_get(host, "/status.json", None).starts_with("HTTP/1.1 401"));
    assert!(http_get(host, "/status.json", Some("__cookie__:wrong")).starts_with("HTTP/1.1 401"));
    let state = view_state(host, auth);
    let nodes = state["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2, "{state}");
    assert!(
        nodes
            .iter()
            .all(|n| n["up"] == true && n["dashboard"].as_str().unwrap().ends_with("/dashboard/")),
        "{state}"
    );
    mine(&run.dir);
    wait_until(Duration::from_secs(60), "the view shows the mined height on both nodes", || {
        let s = view_state(host, auth);
        s["agree"] == true && s["nodes"].as_array().unwrap().iter().all(|n| n["height"] == MINED)
    });
    let page = http_get(host, "/", Some(auth));
    assert!(page.starts_with("HTTP/1.1 200") && page.contains("Cairn testnet"), "{page}");
    let event = http_get(host, "/events", Some(auth));
    assert!(event.contains("event: status") && event.contains("\"node2\""), "{event}");
    assert!(run.dir.join("view.cookie").exists());
}
