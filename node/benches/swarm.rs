//! File distribution over the content swarm, with real `cairn node` processes on 127.0.0.1.
//!
//! **Flash crowd** (default): one seed and N leechers (default 8), every node with an upload cap
//! (seed 8 MiB/s, leechers 2 MiB/s, downloads uncapped), a 64 MiB file published by the seed and
//! asked for by every leecher at the same moment. Reported: the distribution time T (until the
//! last leecher holds the whole file, verified and written), the fluid lower bound
//! `max(F/u_s, F/d_min, N·F/(u_s + Σu_i))` (Kumar and Ross) with d_min = ∞, their ratio
//! bound/T (1.0 would be perfect; libtorrent 2.0.8 reaches 0.78–0.82 in this set-up over TCP,
//! `scripts/bench-libtorrent.sh`), and how many
//! copies of the file the seed uploaded.
//!
//! Note the bound assumes the seed uploads at its full rate until the end: N·F/(u_s+Σu_i) is
//! reached only if the seed sends u_s·T = 2.67 copies (N = 8). Any schedule in which the seed
//! sends at most 1.5 copies needs T ≥ (N − 1.5)·F/Σu_i, i.e. a ratio of at most 0.82 here.
//!
//! **Uncapped** (`-- --uncapped`): one seed, one leecher, no caps, a 1 GiB file: MB/s and the
//! peak resident memory (VmHWM) of both processes.
//!
//! Run: `cargo bench --workspace --bench swarm` (options: `-- --leechers 8 --mib 64
//! --seed-kib 8192 --leecher-kib 2048`, or `-- --uncapped --mib 1024`; `--runs N` repeats it and
//! prints the min, median and max; `--trace` shows the swarm forming, per leecher;
//! `--super-seed` makes the seed super-seed, BEP 16).

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{BenchNode, arg, cores};

const MIB: u64 = 1 << 20;

/// Writes `len` pseudo-random bytes to `path`, a MiB at a time.
fn random_file(path: &Path, len: u64) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut chunk = vec![0u8; MIB as usize];
    let mut left = len;
    while left > 0 {
        for word in chunk.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(MIB) as usize;
        f.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    f.flush().unwrap();
}

/// Peak resident set of a process, MiB (VmHWM).
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn status(node: &mut BenchNode, cid: &str) -> Value {
    node.call("getfetchstatus", &[json!(cid)])
}

/// Starts `count` nodes, each `--peer` to all before it.
fn start_nodes(root: &Path, caps_kib: &[u64]) -> Vec<BenchNode> {
    let mut nodes: Vec<BenchNode> = Vec::new();
    let mut addrs: Vec<String> = Vec::new();
    for (i, cap) in caps_kib.iter().enumerate() {
        let mut args: Vec<String> = Vec::new();
        if *cap > 0 {
            args.extend(["--max-upload-rate".to_string(), cap.to_string()]);
        }
        if i == 0 && std::env::args().any(|a| a == "--super-seed") {
            args.push("--super-seed".to_string());
        }
        for a in &addrs {
            args.extend(["--peer".to_string(), a.clone()]);
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        // CAIRN_BENCH_LOG sets the nodes' RUST_LOG; CAIRN_BENCH_KEEP=DIR keeps their logs there.
        let level = std::env::var("CAIRN_BENCH_LOG").unwrap_or_else(|_| "warn".into());
        let mut node = BenchNode::start(&root.join(format!("node{i}")), &refs, &level);
        addrs.push(node.p2p_addr());
        nodes.push(node);
    }
    let want = nodes.len() - 1;
    let deadline = Instant::now() + Duration::from_secs(60);
    for n in &mut nodes {
        while n.call::<usize>("getconnectioncount", &[]) < want {
            assert!(Instant::now() < deadline, "nodes did not connect");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    nodes
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("swarm: benchmark");
        return;
    }
    let uncapped = std::env::args().any(|a| a == "--uncapped");
    let runs = arg("--runs", 1).max(1);
    let mut results = Vec::new();
    for r in 0..runs {
        if runs > 1 {
            println!("== run {} of {runs}", r + 1);
        }
        results.push(one_run(uncapped));
    }
    if runs > 1 {
        let spread = |pick: fn(&(f64, f64)) -> f64| {
            let mut v: Vec<f64> = results.iter().map(pick).collect();
            v.sort_by(f64::total_cmp);
            (v[0], support::quantile(&v, 0.5), v[v.len() - 1])
        };
        let (lo, mid, hi) = spread(|r| r.0);
        if uncapped {
            println!("{runs} runs: MB/s min {lo:.1}, median {mid:.1}, max {hi:.1}");
        } else {
            println!("{runs} runs: ratio bound/T min {lo:.2}, median {mid:.2}, max {hi:.2}");
            let (lo, mid, hi) = spread(|r| r.1);
            println!("{runs} runs: seed copies min {lo:.2}, median {mid:.2}, max {hi:.2}");
        }
    }
}

/// One distribution: (ratio bound/T, seed copies) for the flash crowd, (MB/s, 0) uncapped.
fn one_run(uncapped: bool) -> (f64, f64) {
    let root = tempfile::tempdir().expect("temp dir");
    let mib = arg("--mib", if uncapped { 1024 } else { 64 });
    let size = mib * MIB;
    let file = root.path().join("payload.bin");
    random_file(&file, size);

    let (leechers, seed_kib, leecher_kib) = if uncapped {
        (1, 0, 0)
    } else {
        (arg("--leechers", 8) as usize, arg("--seed-kib", 8192), arg("--leecher-kib", 2048))
    };
    let mut caps = vec![seed_kib];
    caps.extend(std::iter::repeat_n(leecher_kib, leechers));
    let mut nodes = start_nodes(root.path(), &caps);
    let published: Value = nodes[0].call("publishfile", &[json!(file.to_str().unwrap())]);
    let cid = published["cid"].as_str().unwrap().to_string();
    // Let the provider record reach the other nodes' Kademlia stores.
    std::thread::sleep(Duration::from_secs(1));

    // Names for the trace: S for the seed, L0.. for the leechers.
    let names: std::collections::HashMap<String, String> = nodes
        .iter_mut()
        .enumerate()
        .map(|(i, n)| {
            let id = n.p2p_addr().rsplit('/').next().unwrap_or("").to_string();
            (id, if i == 0 { "S".to_string() } else { format!("L{}", i - 1) })
        })
        .collect();
    let t0 = Instant::now();
    for n in nodes.iter_mut().skip(1) {
        n.call::<Value>("fetchfile", &[json!(cid)]);
    }
    let mut done: Vec<Option<f64>> = vec![None; leechers];
    let deadline = t0 + Duration::from_secs(3600);
    // `--trace`: every second, the bytes uploaded in that second by the seed and by all leechers,
    // and the leechers' least and mean progress.
    let trace = std::env::args().any(|a| a == "--trace");
    let mut last_trace = (Instant::now(), 0.0, 0.0);
    while done.iter().any(Option::is_none) {
        assert!(Instant::now() < deadline, "distribution did not finish");
        let mut leech_up = 0.0;
        let mut progress = Vec::new();
        let mut detail = Vec::new();
        for (i, n) in nodes.iter_mut().skip(1).enumerate() {
            let s = status(n, &cid);
            // `--trace`: per leecher, its swarm size and the MiB it got from each member so far.
            let from: Vec<String> = s["sources"]
                .as_array()
                .map(|a| a.as_slice())
                .unwrap_or_default()
                .iter()
                .filter(|p| p["downloaded"].as_u64().unwrap_or(0) >= MIB)
                .map(|p| {
                    let name = names.get(p["peer"].as_str().unwrap_or("")).cloned().unwrap_or_else(|| "?".into());
                    format!("{name}:{}", p["downloaded"].as_u64().unwrap_or(0) / MIB)
                })
                .collect();
            detail.push(format!(
                "L{i} {:3.0}% peers {} from {}",
                s["bytes"].as_f64().unwrap_or(0.0) / size as f64 * 100.0,
                s["peers"],
                from.join(" ")
            ));
            leech_up += s["uploaded"].as_f64().unwrap_or(0.0);
            progress.push(s["bytes"].as_f64().unwrap_or(0.0) / size as f64);
            if done[i].is_none() {
                assert_ne!(s["state"], "failed", "leecher {i} failed: {s}");
                if s["state"] == "complete" {
                    done[i] = Some(t0.elapsed().as_secs_f64());
                }
            }
        }
        if trace && last_trace.0.elapsed() >= Duration::from_secs(1) {
            let seed_up = status(&mut nodes[0], &cid)["uploaded"].as_f64().unwrap_or(0.0);
            let dt = last_trace.0.elapsed().as_secs_f64();
            let min = progress.iter().copied().fold(1.0, f64::min);
            let mean = progress.iter().sum::<f64>() / progress.len() as f64;
            println!(
                "t={:5.1}s seed {:5.2} MiB/s, leechers {:5.2} MiB/s, progress min {:3.0}% mean {:3.0}%",
                t0.elapsed().as_secs_f64(),
                (seed_up - last_trace.1) / dt / MIB as f64,
                (leech_up - last_trace.2) / dt / MIB as f64,
                min * 100.0,
                mean * 100.0
            );
            if last_trace.0.duration_since(t0).as_secs() % 3 == 0 {
                for d in &detail {
                    println!("    {d}");
                }
            }
            last_trace = (Instant::now(), seed_up, leech_up);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if let Ok(keep) = std::env::var("CAIRN_BENCH_KEEP") {
        for (i, n) in nodes.iter().enumerate() {
            let _ = std::fs::create_dir_all(&keep);
            let _ = std::fs::write(Path::new(&keep).join(format!("node{i}.log")), n.log());
        }
    }
    let t = done.iter().map(|d| d.unwrap_or(0.0)).fold(0.0, f64::max);
    let seed_status = status(&mut nodes[0], &cid);
    let seed_uploaded = seed_status["uploaded"].as_u64().unwrap_or(0) as f64;
    let f = size as f64;
    println!("machine: {} cores shared by {} nodes", cores(), nodes.len());
    if uncapped {
        println!(
            "uncapped, {mib} MiB, one seed to one leecher: {t:.1} s, {:.1} MB/s ({:.1} MiB/s)",
            f / t / 1e6,
            f / t / MIB as f64
        );
        println!(
            "peak memory (VmHWM): seed {:.0} MiB, leecher {:.0} MiB",
            peak_rss_mib(nodes[0].pid()),
            peak_rss_mib(nodes[1].pid())
        );
        println!(
            "CPU seconds: seed {:.1}, leecher {:.1}",
            nodes[0].cpu_seconds(),
            nodes[1].cpu_seconds()
        );
        return (f / t / 1e6, 0.0);
    }
    let u_s = (seed_kib * 1024) as f64;
    let sum_u = (leecher_kib * 1024) as f64 * leechers as f64;
    let bound = (f / u_s).max(leechers as f64 * f / (u_s + sum_u));
    let mut sorted: Vec<f64> = done.iter().map(|d| d.unwrap_or(0.0)).collect();
    sorted.sort_by(f64::total_cmp);
    println!("flash crowd: {mib} MiB, 1 seed at {seed_kib} KiB/s, {leechers} leechers at {leecher_kib} KiB/s each (downloads uncapped)");
    println!(
        "leechers complete at (s): {}",
        sorted.iter().map(|t| format!("{t:.1}")).collect::<Vec<_>>().join(" ")
    );
    println!(
        "distribution time T = {t:.1} s; fluid bound = {bound:.1} s; ratio bound/T = {:.2}",
        bound / t
    );
    println!(
        "seed uploaded {:.2} copies ({:.0} MiB)",
        seed_uploaded / f,
        seed_uploaded / MIB as f64
    );
    let uploaded: Vec<String> = nodes
        .iter_mut()
        .skip(1)
        .map(|n| format!("{:.0}", status(n, &cid)["uploaded"].as_f64().unwrap_or(0.0) / MIB as f64))
        .collect();
    println!("leechers uploaded (MiB): {}", uploaded.join(" "));
    let cpu: Vec<String> = nodes.iter().map(|n| format!("{:.1}", n.cpu_seconds())).collect();
    println!("CPU seconds (seed first): {}", cpu.join(" "));
    (bound / t, seed_uploaded / f)
}
