//! File sharing end to end: real `cairn node` processes on 127.0.0.1 publishing and fetching
//! files over the content swarm, each wait bounded.

use std::path::Path;
use std::time::Duration;

use cairn_p2p::content::ShareLink;
use serde_json::{Value, json};

use crate::common::{TestNode, random_file, tempdirs, wait_until};

/// How long a 32 MiB transfer may take on a loaded 2-core machine.
const TRANSFER: Duration = Duration::from_secs(180);
const MIB: usize = 1 << 20;

fn status(node: &mut TestNode, cid: &str) -> Value {
    node.call("getfetchstatus", &[json!(cid)])
}

fn wait_complete(node: &mut TestNode, cid: &str) -> Value {
    let mut last = Value::Null;
    let done = wait_until(TRANSFER, || {
        last = status(node, cid);
        assert_ne!(last["state"], "failed", "fetch failed: {last}");
        last["state"] == "complete"
    });
    assert!(done, "fetch did not complete: {last}\nlog:\n{}", node.log());
    last
}

fn publish(node: &mut TestNode, path: &Path) -> String {
    let r: Value = node.call("publishfile", &[json!(path.to_str().unwrap())]);
    r["cid"].as_str().unwrap().to_string()
}

fn same_file(path: &str, original: &[u8]) {
    let got = std::fs::read(path).unwrap();
    assert_eq!(got.len(), original.len());
    assert!(got == original, "{path} differs from the original");
}

#[test]
fn a_file_published_on_a_reaches_b_and_c_and_c_also_gets_pieces_from_b() {
    let [da, db, dc, files] = tempdirs();
    // A uploads slowly, so the swarm has to share: C cannot get everything from A first.
    let mut a = TestNode::start(da.path(), &["--max-upload-rate", "3072"]);
    let a_addr = a.p2p_addr();
    let mut b = TestNode::start(db.path(), &["--peer", &a_addr]);
    let b_addr = b.p2p_addr();
    let mut c = TestNode::start(dc.path(), &["--peer", &a_addr, "--peer", &b_addr]);
    assert!(wait_until(Duration::from_secs(60), || c.call::<usize>("getconnectioncount", &[]) >= 2));

    let original_path = files.path().join("random.bin");
    let original = random_file(&original_path, 32 * MIB, 42);
    let published: Value = a.call("publishfile", &[json!(original_path.to_str().unwrap()), json!("random.bin")]);
    assert_eq!(published["size"], 32 * MIB);
    assert_eq!(published["piece_size"], 256 * 1024);
    assert_eq!(published["pieces"], 128);
    let cid = published["cid"].as_str().unwrap().to_string();
    assert_eq!(cid.len(), 64);

    let started: Value = b.call("fetchfile", &[json!(cid)]);
    assert!(
        ["searching", "downloading"].contains(&started["state"].as_str().unwrap()),
        "{started}"
    );
    // C starts once B holds something, so that it finds B among the providers too.
    assert!(wait_until(TRANSFER, || status(&mut b, &cid)["pieces_have"].as_u64().unwrap() >= 4));
    c.call::<Value>("fetchfile", &[json!(cid)]);

    let b_done = wait_complete(&mut b, &cid);
    let c_done = wait_complete(&mut c, &cid);
    for done in [&b_done, &c_done] {
        assert_eq!(done["pieces_have"], 128);
        assert_eq!(done["bytes"], 32 * MIB);
        same_file(done["path"].as_str().unwrap(), &original);
    }
    assert!(c_done["path"].as_str().unwrap().ends_with("downloads/random.bin"), "{c_done}");

    let b_id = b.peer_id();
    let a_id = a.peer_id();
    let from = |s: &Value, peer: &str| -> u64 {
        s["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["peer"] == peer)
            .map_or(0, |t| t["downloaded"].as_u64().unwrap())
    };
    assert!(from(&c_done, &b_id) > 0, "C got nothing from B: {c_done}");
    assert!(from(&c_done, &a_id) > 0, "C got nothing from A: {c_done}");

    // Everyone lists the file; a completed fetch is served (C's copy is complete, B's too).
    let list: Vec<Value> = c.call("listfiles", &[]);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["origin"], "fetch");
    let list: Vec<Value> = a.call("listfiles", &[]);
    assert_eq!(
        (list[0]["origin"].as_str(), list[0]["state"].as_str()),
        (Some("publish"), Some("complete"))
    );
}

#[test]
fn a_killed_fetch_resumes_without_downloading_verified_pieces_again() {
    let [da, db, files] = tempdirs();
    // 2 MiB/s: the fetch takes ~16 s, long enough to kill it half-way.
    let mut a = TestNode::start(da.path(), &["--max-upload-rate", "2048"]);
    let a_addr = a.p2p_addr();
    let mut b = TestNode::start(db.path(), &["--peer", &a_addr]);
    assert!(wait_until(Duration::from_secs(60), || b.call::<usize>("getconnectioncount", &[]) >= 1));
    let path = files.path().join("resume.bin");
    let original = random_file(&path, 32 * MIB, 7);
    let cid = publish(&mut a, &path);
    let dest = files.path().join("fetched.bin");
    b.call::<Value>("fetchfile", &[json!(cid), json!(dest.to_str().unwrap())]);
    let mut before = 0;
    assert!(wait_until(TRANSFER, || {
        before = status(&mut b, &cid)["pieces_have"].as_u64().unwrap();
        before >= 40
    }));
    b.kill9();

    let mut b = TestNode::start(db.path(), &["--peer", &a_addr]);
    let resumed = status(&mut b, &cid);
    let held = resumed["pieces_have"].as_u64().unwrap();
    assert!(held >= before, "verified pieces lost in the crash: {held} < {before}");
    assert_eq!(resumed["path"], dest.to_str().unwrap());
    let held_bytes = resumed["bytes"].as_u64().unwrap();

    let done = wait_complete(&mut b, &cid);
    same_file(dest.to_str().unwrap(), &original);
    // What this run downloaded is what was missing, give or take endgame duplicates.
    let downloaded = done["downloaded"].as_u64().unwrap();
    let missing = (32 * MIB) as u64 - held_bytes;
    assert!(
        downloaded <= missing + 2 * MIB as u64,
        "downloaded {downloaded} bytes after the restart, but only {missing} were missing"
    );
    assert!(downloaded >= missing, "{downloaded} < {missing}");
}

#[test]
fn a_provider_of_corrupt_pieces_is_banned_and_the_fetch_completes_from_honest_peers() {
    let [da, dx, dc, files] = tempdirs();
    let mut a = TestNode::start(da.path(), &["--max-upload-rate", "4096"]);
    let a_addr = a.p2p_addr();
    let mut x = TestNode::start(dx.path(), &["--peer", &a_addr]);
    let x_addr = x.p2p_addr();
    let mut c = TestNode::start(dc.path(), &["--peer", &a_addr, "--peer", &x_addr]);
    assert!(wait_until(Duration::from_secs(60), || c.call::<usize>("getconnectioncount", &[]) >= 2));

    let honest = files.path().join("honest.bin");
    let original = random_file(&honest, 8 * MIB, 99);
    let liar_copy = files.path().join("liar.bin");
    std::fs::write(&liar_copy, &original).unwrap();
    let named = |node: &mut TestNode, path: &Path| -> String {
        let r: Value = node.call("publishfile", &[json!(path.to_str().unwrap()), json!("shared.bin")]);
        r["cid"].as_str().unwrap().to_string()
    };
    let cid = named(&mut a, &honest);
    assert_eq!(named(&mut x, &liar_copy), cid, "same name and bytes, same content id");
    // X's copy rots on disk after publishing: X now serves bad data for every block.
    let mut rotten = original.clone();
    for i in (0..rotten.len()).step_by(4096) {
        rotten[i] ^= 0x5a;
    }
    std::fs::write(&liar_copy, &rotten).unwrap();
    // Both provider records are on the ring before C looks (else C may finish from A alone).
    assert!(wait_until(Duration::from_secs(60), || {
        let hits: Vec<Value> = c.call("searchfiles", &[json!("shared")]);
        hits.first().is_some_and(|h| h["providers"] == 2)
    }));

    c.call::<Value>("fetchfile", &[json!(cid)]);
    let done = wait_complete(&mut c, &cid);
    same_file(done["path"].as_str().unwrap(), &original);
    let x_id = x.peer_id();
    let banned: Vec<Value> = c.call("listbanned", &[]);
    assert!(
        banned.iter().any(|b| b["address"] == x_id.as_str()),
        "X not banned: {banned:?}\nlog:\n{}",
        c.log()
    );
    let a_id = a.peer_id();
    assert!(banned.iter().all(|b| b["address"] != a_id.as_str()), "the honest peer was banned");
}

#[test]
fn bad_requests_are_clear_errors_and_lose_nothing() {
    let [da, db, files] = tempdirs();
    let mut a = TestNode::start(da.path(), &[]);
    let a_addr = a.p2p_addr();
    let mut b = TestNode::start(db.path(), &["--peer", &a_addr]);
    assert!(wait_until(Duration::from_secs(60), || b.call::<usize>("getconnectioncount", &[]) >= 1));
    let kept = files.path().join("kept.bin");
    let kept_bytes = random_file(&kept, MIB + 12345, 3);
    let kept_cid = publish(&mut a, &kept);

    // Unknown and malformed content ids.
    let unknown = "ab".repeat(32);
    assert_eq!(a.call_err("getfetchstatus", &[json!(unknown)]).0, -5);
    assert_eq!(a.call_err("removefile", &[json!(unknown)]).0, -5);
    let (code, msg) = a.call_err("getfetchstatus", &[json!("not-a-cid")]);
    assert_eq!(code, -8, "{msg}");
    assert!(msg.contains("64 hex digits"), "{msg}");
    assert_eq!(a.call_err("fetchfile", &[json!("12")]).0, -8);

    // Missing, unreadable and relative paths.
    let missing = files.path().join("missing.bin");
    let (code, msg) = a.call_err("publishfile", &[json!(missing.to_str().unwrap())]);
    assert_eq!(code, -8);
    assert!(msg.contains("file not found"), "{msg}");
    let below_a_file = kept.join("child");
    let (code, msg) = a.call_err("publishfile", &[json!(below_a_file.to_str().unwrap())]);
    assert_eq!(code, -8);
    assert!(msg.contains("cannot read"), "{msg}");
    let (code, msg) = a.call_err("publishfile", &[json!("/dev/null")]);
    assert_eq!(code, -8);
    assert!(msg.contains("not a regular file or a folder"), "{msg}");
    let empty = files.path().join("empty folder");
    std::fs::create_dir(&empty).unwrap();
    let (code, msg) = a.call_err("publishfile", &[json!(empty.to_str().unwrap())]);
    assert_eq!(code, -8);
    assert!(msg.contains("holds no file"), "{msg}");
    let (code, msg) = a.call_err("publishfile", &[json!("relative/file.bin")]);
    assert_eq!(code, -8);
    assert!(msg.contains("absolute path"), "{msg}");

    // Destinations that cannot be written: nothing is started, nothing is overwritten.
    let existing = files.path().join("existing.bin");
    std::fs::write(&existing, b"precious").unwrap();
    let (code, msg) = b.call_err("fetchfile", &[json!(kept_cid), json!(existing.to_str().unwrap())]);
    assert_eq!(code, -8);
    assert!(msg.contains("already exists"), "{msg}");
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");
    let (code, msg) = b.call_err("fetchfile", &[json!(kept_cid), json!("/proc/cairn-cannot-write-here")]);
    assert_eq!(code, -8);
    assert!(msg.contains("cannot write"), "{msg}");
    let nowhere = files.path().join("no/such/folder/file.bin");
    let (code, msg) = b.call_err("fetchfile", &[json!(kept_cid), json!(nowhere.to_str().unwrap())]);
    assert_eq!(code, -8);
    assert!(msg.contains("does not exist"), "{msg}");
    assert!(
        b.call::<Vec<Value>>("listfiles", &[]).is_empty(),
        "failed fetches leave nothing behind"
    );

    // A write that fails during the fetch: the folder disappears before the file can be created.
    let later = files.path().join("later.bin");
    let later_bytes = random_file(&later, 300_000, 4);
    let manifest_cid = {
        // Publish on A only after B started looking, so B's folder is gone by then.
        let into = files.path().join("into");
        std::fs::create_dir(&into).unwrap();
        // The content id is only known once published; publish a copy on a throwaway path first
        // to learn it, then withdraw it.
        let cid = publish(&mut a, &later);
        a.call::<Value>("removefile", &[json!(cid)]);
        let searching: Value = b.call("fetchfile", &[json!(cid), json!(into.to_str().unwrap())]);
        assert_eq!(searching["state"], "searching");
        std::fs::remove_dir(&into).unwrap();
        publish(&mut a, &later);
        let mut last = Value::Null;
        assert!(
            wait_until(TRANSFER, || {
                last = status(&mut b, &cid);
                last["state"] == "failed"
            }),
            "the fetch did not fail: {last}"
        );
        let error = last["error"].as_str().unwrap();
        assert!(error.contains(into.to_str().unwrap()), "{error}");
        // Fixed by the user, fetched again: it resumes and completes.
        std::fs::create_dir(&into).unwrap();
        b.call::<Value>("fetchfile", &[json!(cid)]);
        let done = wait_complete(&mut b, &cid);
        same_file(done["path"].as_str().unwrap(), &later_bytes);
        cid
    };

    // Nothing else was lost: A still serves the first file, and B can fetch it.
    assert!(a.is_running() && b.is_running());
    let list: Vec<Value> = a.call("listfiles", &[]);
    assert!(list.iter().any(|f| f["cid"] == kept_cid.as_str()));
    assert!(list.iter().any(|f| f["cid"] == manifest_cid.as_str()));
    // ... through `cairn fetch`, which waits and prints the path (no terminal: no progress bar).
    let fetch = |args: &[&str]| {
        let mut cmd = std::process::Command::new(crate::common::cairn_bin());
        cmd.args(["fetch", "--network", "regtest", "--datadir"]).arg(&b.datadir).args(args);
        let child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, path, err) = fetch(&[&kept_cid]);
    assert!(ok, "cairn fetch failed: {err}");
    same_file(&path, &kept_bytes);
    let (ok, _, err) = fetch(&["xyz"]);
    assert!(!ok && err.contains("64 hex digits"), "{err}");

    // removefile forgets the share and keeps the data.
    a.call::<Value>("removefile", &[json!(kept_cid)]);
    assert_eq!(a.call_err("getfetchstatus", &[json!(kept_cid)]).0, -5);
    assert!(kept.exists());
}

#[test]
fn a_share_link_alone_brings_the_file_from_a_node_never_met() {
    let [da, db, files] = tempdirs();
    // No `--peer` either way: B is on no ring with A, so only the link can lead it there.
    let mut a = TestNode::start(da.path(), &[]);
    let mut b = TestNode::start(db.path(), &[]);
    let (a_id, b_id) = (a.peer_id(), b.peer_id());
    let path = files.path().join("shared.bin");
    let original = random_file(&path, 3 * MIB + 777, 11);
    let published: Value = a.call("publishfile", &[json!(path.to_str().unwrap()), json!("holiday & beach é.bin")]);
    let cid = published["cid"].as_str().unwrap().to_string();
    let link = published["link"].as_str().unwrap().to_string();
    let parsed: ShareLink = link.parse().unwrap();
    assert_eq!(parsed.cid.to_string(), cid);
    assert_eq!(parsed.name.as_deref(), Some("holiday & beach é.bin"));
    assert_eq!(parsed.size, Some((3 * MIB + 777) as u64));
    assert!(
        !parsed.peers.is_empty() && parsed.peer_addrs().iter().all(|(p, _)| p.to_string() == a_id),
        "{link}"
    );
    assert_eq!(b.call::<usize>("getconnectioncount", &[]), 0, "B must not know A yet");

    let started: Value = b.call("fetchfile", &[json!(link)]);
    assert_eq!(started["cid"], cid.as_str());
    let done = wait_complete(&mut b, &cid);
    same_file(done["path"].as_str().unwrap(), &original);
    assert_eq!(done["eta"], Value::Null, "nothing left to wait for");
    // B serves it now, so its own link names B.
    let b_link: ShareLink = done["link"].as_str().unwrap().parse().unwrap();
    assert_eq!(b_link.cid.to_string(), cid);
    assert_eq!((&b_link.name, b_link.size), (&parsed.name, parsed.size));
    assert!(
        !b_link.peers.is_empty() && b_link.peer_addrs().iter().all(|(p, _)| p.to_string() == b_id),
        "{b_link}"
    );
    let listed: Vec<Value> = b.call("listfiles", &[]);
    assert_eq!(listed[0]["link"], done["link"]);

    // `cairn fetch` takes the link too (the file is here already: it prints where).
    let out = std::process::Command::new(crate::common::cairn_bin())
        .args(["fetch", "--network", "regtest", "--datadir"])
        .arg(&b.datadir)
        .arg(&link)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), done["path"].as_str().unwrap());

    // Malformed links are invalid parameters, with the reason.
    for (bad, reason) in [
        ("magnet:?dn=x.bin".to_string(), "no xt"),
        (format!("magnet:?xt=urn:cairn:{cid}&xl=many"), "xl"),
        (format!("magnet:?xt=urn:cairn:{cid}&x.pe=%2Fip4%2F127.0.0.1"), "x.pe"),
        (format!("magnet:?xt=urn:cairn:{cid}&dn=%zz"), "percent-encoding"),
    ] {
        let (code, msg) = b.call_err("fetchfile", &[json!(bad)]);
        assert_eq!(code, -8, "{bad}: {msg}");
        assert!(msg.contains(reason), "{bad}: {msg}");
    }
}

#[test]
fn a_paused_fetch_stays_paused_across_a_restart_and_resumes_without_fetching_again() {
    let [da, db, files] = tempdirs();
    let mut a = TestNode::start(da.path(), &["--max-upload-rate", "2048"]);
    let a_addr = a.p2p_addr();
    let mut b = TestNode::start(db.path(), &["--peer", &a_addr]);
    assert!(wait_until(Duration::from_secs(60), || b.call::<usize>("getconnectioncount", &[]) >= 1));
    let path = files.path().join("pause.bin");
    let original = random_file(&path, 32 * MIB, 9);
    let cid = publish(&mut a, &path);
    let dest = files.path().join("paused.bin");
    b.call::<Value>("fetchfile", &[json!(cid), json!(dest.to_str().unwrap())]);
    assert!(wait_until(TRANSFER, || status(&mut b, &cid)["pieces_have"].as_u64().unwrap() >= 30));

    let paused: Value = b.call("pausefile", &[json!(cid)]);
    assert_eq!(paused["state"], "paused", "{paused}");
    // Paused: nothing more arrives, and the seed no longer counts b in its swarm.
    std::thread::sleep(Duration::from_secs(2));
    let held = status(&mut b, &cid)["pieces_have"].as_u64().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let later = status(&mut b, &cid);
    assert_eq!(later["pieces_have"].as_u64().unwrap(), held, "pieces arrived while paused: {later}");
    assert_eq!(later["peers"], 0);
    assert!(wait_until(Duration::from_secs(30), || status(&mut a, &cid)["peers"] == 0));

    // A restart (a clean stop, SIGTERM) keeps it paused, with its pieces.
    assert!(b.signal_and_wait(libc::SIGTERM).success());
    let mut b = TestNode::start(db.path(), &["--peer", &a_addr]);
    let restored = status(&mut b, &cid);
    assert_eq!(restored["state"], "paused", "{restored}");
    assert_eq!(restored["pieces_have"].as_u64().unwrap(), held);
    let held_bytes = restored["bytes"].as_u64().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        status(&mut b, &cid)["pieces_have"].as_u64().unwrap(),
        held,
        "still paused after the restart"
    );

    let resumed: Value = b.call("resumefile", &[json!(cid)]);
    assert_ne!(resumed["state"], "paused", "{resumed}");
    let done = wait_complete(&mut b, &cid);
    same_file(dest.to_str().unwrap(), &original);
    let downloaded = done["downloaded"].as_u64().unwrap();
    let missing = (32 * MIB) as u64 - held_bytes;
    assert!(
        downloaded <= missing + 2 * MIB as u64,
        "downloaded {downloaded} bytes after resuming, but only {missing} were missing"
    );
    let unknown = "00".repeat(32);
    assert_eq!(b.call_err("pausefile", &[json!(unknown)]).0, -5);
    assert_eq!(b.call_err("resumefile", &[json!("xyz")]).0, -8);
}

#[test]
fn a_folder_of_three_files_is_published_and_one_file_of_it_fetched_alone() {
    let [da, db, dc, files] = tempdirs();
    let mut a = TestNode::start(da.path(), &[]);
    let a_addr = a.p2p_addr();
    let mut b = TestNode::start(db.path(), &["--peer", &a_addr]);
    let c = TestNode::start(dc.path(), &["--peer", &a_addr]);
    let root = files.path().join("holiday");
    std::fs::create_dir_all(root.join("photos")).unwrap();
    let beach = random_file(&root.join("photos/beach.jpg"), MIB + 5, 1);
    let notes = random_file(&root.join("notes.txt"), 1000, 2);
    let film = random_file(&root.join("film.mkv"), 2 * MIB + 3, 3);
    // A link is not shared: it could lead out of the folder.
    std::os::unix::fs::symlink("/etc/hostname", root.join("link")).unwrap();

    let published: Value = a.call("publishfile", &[json!(root.to_str().unwrap())]);
    assert_eq!(published["name"], "holiday");
    assert_eq!(published["size"], (MIB + 5 + 1000 + 2 * MIB + 3) as u64);
    // Each file starts on a piece boundary: 1 + 9 + 5 pieces of 256 KiB.
    assert_eq!(published["pieces"], 15);
    let cid = published["cid"].as_str().unwrap().to_string();
    let listed: Vec<Value> = a.call("listfiles", &[]);
    let paths: Vec<&str> = listed[0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["film.mkv", "notes.txt", "photos/beach.jpg"]);

    // B wants the notes only.
    let started: Value = b.call("fetchfile", &[json!(cid), Value::Null, json!(["notes.txt"])]);
    assert_eq!(started["cid"], cid.as_str());
    let done = wait_complete(&mut b, &cid);
    let dest = Path::new(done["path"].as_str().unwrap()).to_path_buf();
    assert!(dest.ends_with("downloads/holiday"), "{done}");
    same_file(dest.join("notes.txt").to_str().unwrap(), &notes);
    assert!(
        !dest.join("film.mkv").exists() && !dest.join("photos").exists(),
        "only the chosen file is written"
    );
    assert_eq!(done["wanted_size"], 1000);
    assert_eq!((done["bytes"].as_u64(), done["pieces_have"].as_u64()), (Some(1000), Some(1)));
    let chosen: Vec<(bool, u64)> = done["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["selected"].as_bool().unwrap(), f["bytes"].as_u64().unwrap()))
        .collect();
    assert_eq!(chosen, [(false, 0), (true, 1000), (false, 0)]);
    // Asking again with another choice is refused, with the reason; a name not in the folder too.
    let (code, msg) = b.call_err("fetchfile", &[json!(cid), Value::Null, json!(["film.mkv"])]);
    assert_eq!(code, -8, "{msg}");
    assert!(msg.contains("removefile"), "{msg}");
    let (code, msg) = b.call_err("fetchfile", &[json!(cid), Value::Null, json!(["../etc/passwd"])]);
    assert_eq!(code, -8, "{msg}");

    // C takes the photos sub-folder with `cairn fetch --file`, by link.
    let link = published["link"].as_str().unwrap();
    let out = std::process::Command::new(crate::common::cairn_bin())
        .args(["fetch", "--network", "regtest", "--datadir"])
        .arg(&c.datadir)
        .args([link, "--file", "photos"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stderr), c.log());
    let c_dest = Path::new(String::from_utf8_lossy(&out.stdout).trim()).to_path_buf();
    same_file(c_dest.join("photos/beach.jpg").to_str().unwrap(), &beach);
    assert!(!c_dest.join("notes.txt").exists());
    let _ = film;

    // A name that is not in the folder fails the fetch with the folder's list.
    let other = tempfile::tempdir().unwrap();
    let mut d = TestNode::start(other.path(), &["--peer", &a_addr]);
    d.call::<Value>("fetchfile", &[json!(cid), Value::Null, json!(["nope.txt"])]);
    let mut last = Value::Null;
    assert!(wait_until(TRANSFER, || {
        last = status(&mut d, &cid);
        last["state"] == "failed"
    }));
    let error = last["error"].as_str().unwrap();
    assert!(error.contains("nope.txt") && error.contains("film.mkv"), "{error}");
}
