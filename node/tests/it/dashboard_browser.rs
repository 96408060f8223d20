//! The node's own dashboard in a real browser (headless Chromium through Selenium:
//! `scripts/dashboard-browser.sh`), against a running regtest node with a peer: the page goes
//! live, shows each newly mined height, fills a file's piece map while the file is fetched,
//! draws a Chord lookup hop by hop, and fits a phone-width screen; a file name with markup in it
//! (sent by the publishing peer) is shown as text. Screenshots are saved under
//! `target/dashboard-browser/` for a person to look at.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{TestNode, run_script, tempdirs, wait_until};

/// The first run creates the Selenium venv; the page's steps take seconds.
const DEADLINE: Duration = Duration::from_secs(300);

#[test]
fn the_dashboard_shows_new_blocks_a_filling_piece_map_and_a_lookup_in_a_browser() {
    let [da, db, files] = tempdirs();
    // A serves slowly in small pieces, so the fetch's piece map passes through partial states.
    let mut a = TestNode::start(da.path(), &["--max-upload-rate", "512", "--piece-size", "16"]);
    let a_addr = a.p2p_addr();
    let mut b = TestNode::start(db.path(), &["--peer", &a_addr]);
    assert!(wait_until(Duration::from_secs(60), || b.call::<usize>("getconnectioncount", &[]) >= 1));
    let path = files.path().join("harbour-survey.bin");
    let bytes: Vec<u8> = (0..2 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &bytes).unwrap();
    // The name comes to B from A, a peer: markup in it must reach the page as text.
    let hostile_name = "harbour <b>survey <img src=x onerror=alert(1)>.bin";
    let published: Value = a.call("publishfile", &[json!(path.to_str().unwrap()), json!(hostile_name)]);
    let cid = published["cid"].as_str().unwrap().to_string();
    assert_eq!(published["pieces"], 128);

    let cookie = std::fs::read_to_string(db.path().join("regtest/.cookie")).unwrap();
    let rpc = format!("http://{}", b.rpc_addr);
    let out = format!("{}/../target/dashboard-browser", env!("CARGO_MANIFEST_DIR"));
    let (status, stdout, stderr) = run_script(
        "dashboard-browser.sh",
        &[
            "--rpc",
            &rpc,
            "--auth",
            cookie.trim(),
            "--cid",
            &cid,
            "--keyword",
            "harbour",
            "--out",
            &out,
        ],
        DEADLINE,
    );
    assert!(status.success(), "{stdout}\n{stderr}\nnode log:\n{}", b.log());
    assert!(stdout.contains("dashboard ok"), "{stdout}");
    println!("{stdout}");
    for shot in ["dashboard.png", "dashboard-phone.png"] {
        let png = std::fs::read(format!("{out}/{shot}")).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{shot}: {} bytes", png.len());
    }
}
