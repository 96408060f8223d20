//! `cairn fetch LINK|CID [DEST] [--file PATH]...`: starts a fetch on the node (`fetchfile`, which takes a share
//! link or a content id) and follows it (`getfetchstatus` on the content id the node returns,
//! twice a second) until the file is complete or the fetch fails.
//!
//! On a terminal a progress bar is redrawn on stderr; otherwise a status line is printed every
//! 10 seconds. Sizes and rates are in binary units with one decimal (`1.5 MiB`, `320.0 KiB/s`),
//! as BitTorrent clients show them, with the time left (`ETA 1m05s`, `ETA -` when unknown). The file's path goes to stdout at the end. Exit status 0 when complete, 1 when the
//! fetch failed or the node cannot be reached. Ctrl-C stops following, not the fetch: the node
//! keeps downloading (follow it again with the same command).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde_json::{Value, json};

use crate::cli::ConnArgs;

/// Flags of `cairn fetch`.
#[derive(Parser, Debug)]
pub struct FetchArgs {
    /// Where the node is.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// A share link (`magnet:?xt=urn:cairn:…`, from `publishfile` or `getfetchstatus`) or a
    /// content id (64 hex digits).
    #[arg(value_name = "LINK|CID")]
    pub target: String,
    /// Destination: a new file (or folder, for a shared folder), or an existing folder to put it
    /// in (default: the node's downloads folder).
    pub dest: Option<String>,
    /// For a shared folder: fetch only this file or sub-folder (a path inside the folder; repeat
    /// the flag for several). Default: everything.
    #[arg(long = "file", value_name = "PATH")]
    pub files: Vec<String>,
}

/// Runs the command.
pub fn run(args: FetchArgs) -> ExitCode {
    match follow(&args) {
        Ok(path) => {
            println!("{path}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];

/// A size in binary units: `0 B`, `1023 B`, `1.0 KiB`, `1.5 MiB`, … up to TiB (one decimal).
pub fn human_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    // Up a unit while the value would print as 1024.0 or more (1 048 575 B is 1.0 MiB, not
    // 1024.0 KiB).
    while unit + 1 < UNITS.len() && (value * 10.0).round() >= 1024.0 * 10.0 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A rate in bytes per second, as [`human_bytes`] with `/s`. A negative or NaN rate (never sent
/// by a sane node) shows as `0 B/s`.
pub fn human_rate(bytes_per_sec: f64) -> String {
    // `as` saturates: NaN and negatives give 0, infinity u64::MAX.
    format!("{}/s", human_bytes(bytes_per_sec.round() as u64))
}

/// A duration as clients show an ETA: `45s`, `1m05s`, `2h03m`, `3d04h`; `>99d` beyond.
pub fn human_duration(secs: u64) -> String {
    let (m, h, d) = (60, 3600, 86_400);
    match secs {
        s if s < m => format!("{s}s"),
        s if s < h => format!("{}m{:02}s", s / m, s % m),
        s if s < d => format!("{}h{:02}m", s / h, s % h / m),
        s if s < 100 * d => format!("{}d{:02}h", s / d, s % d / h),
        _ => ">99d".to_string(),
    }
}

/// One line describing a status:
/// `song.ogg [#####-----]  45.1%  14.4 MiB/32.0 MiB  3.1 MiB/s  ETA 6s  2 peers  downloading`.
pub fn progress_line(s: &Value, width: usize) -> String {
    // The chosen files of a folder, else the whole file.
    let total = s["wanted_size"].as_u64().or_else(|| s["size"].as_u64());
    let have = s["bytes"].as_u64().unwrap_or(0);
    let fraction = match total {
        Some(t) if t > 0 => (have as f64 / t as f64).clamp(0.0, 1.0),
        _ => 0.0,
    };
    let filled = (fraction * width as f64).round() as usize;
    let bar: String = "#".repeat(filled) + &"-".repeat(width - filled);
    let name = s["name"].as_str().unwrap_or("?");
    format!(
        "{name} [{bar}] {:5.1}%  {}/{}  {}  ETA {}  {} peers  {}",
        fraction * 100.0,
        human_bytes(have),
        total.map_or_else(|| "?".to_string(), human_bytes),
        human_rate(s["download_rate"].as_f64().unwrap_or(0.0)),
        s["eta"].as_u64().map_or_else(|| "-".to_string(), human_duration),
        s["peers"].as_u64().unwrap_or(0),
        s["state"].as_str().unwrap_or("?"),
    )
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC` (proleptic Gregorian; days to a civil date by
/// Howard Hinnant's algorithm).
fn utc(secs: i64) -> String {
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

/// What `verifyanchor` says of the downloaded content, in one line for the user.
fn anchor_line(answer: Result<Value, cairn_rpc::ClientError>) -> String {
    match answer {
        Ok(a) if a["blockhash"].is_string() => {
            let time = a["time"].as_i64().map_or_else(|| "?".to_string(), utc);
            format!(
                "anchored: existed no later than {time} (block {} at height {}, {} confirmations, txid {})",
                a["blockhash"].as_str().unwrap_or("?"),
                a["height"],
                a["confirmations"],
                a["txid"].as_str().unwrap_or("?"),
            )
        }
        Ok(a) => format!(
            "anchor: waiting in the mempool, not yet mined (txid {})",
            a["txid"].as_str().unwrap_or("?")
        ),
        Err(cairn_rpc::ClientError::Rpc { code: -5, .. }) => "not anchored".to_string(),
        Err(e) => format!("anchor: unknown ({})", e.to_string().replace('\n', " ")),
    }
}

fn follow(args: &FetchArgs) -> Result<String> {
    let mut client = args.conn.client()?;
    let mut params = vec![json!(args.target), json!(args.dest)];
    if !args.files.is_empty() {
        params.push(json!(args.files));
    }
    let mut status: Value = client.call("fetchfile", &params)?;
    // Given a link, the node's answer names the content id to follow.
    let cid = status["cid"].as_str().context("fetchfile answered without a cid")?.to_string();
    let terminal = std::io::stderr().is_terminal();
    let mut last_line = Instant::now();
    loop {
        match status["state"].as_str() {
            Some("complete") => {
                if terminal {
                    eprintln!("\r{}", progress_line(&status, 30));
                }
                eprintln!("{}", anchor_line(client.call("verifyanchor", &[json!(cid)])));
                return Ok(status["path"].as_str().unwrap_or_default().to_string());
            }
            Some("failed") => bail!("fetch of {cid} failed: {}", status["error"].as_str().unwrap_or("unknown error")),
            _ => {}
        }
        if terminal {
            eprint!("\r{}\x1b[K", progress_line(&status, 30));
            let _ = std::io::stderr().flush();
        } else if last_line.elapsed() >= Duration::from_secs(10) {
            eprintln!("{}", progress_line(&status, 20));
            last_line = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(500));
        status = client.call("getfetchstatus", &[json!(cid)])?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anchor_line_tells_mined_waiting_absent_and_unknown() {
        let mined =
            json!({"cid": "ab", "txid": "t1", "blockhash": "b1", "height": 7, "time": 1_700_000_000, "confirmations": 3, "anchors": 1});
        assert_eq!(
            anchor_line(Ok(mined)),
            "anchored: existed no later than 2023-11-14 22:13:20 UTC (block b1 at height 7, 3 confirmations, txid t1)"
        );
        let waiting = json!({"cid": "ab", "txid": "t2", "confirmations": 0, "anchors": 0});
        assert_eq!(anchor_line(Ok(waiting)), "anchor: waiting in the mempool, not yet mined (txid t2)");
        let absent = cairn_rpc::ClientError::Rpc {
            code: -5,
            message: "not anchored".into(),
        };
        assert_eq!(anchor_line(Err(absent)), "not anchored");
        let old = cairn_rpc::ClientError::Rpc {
            code: -32601,
            message: "Method not found".into(),
        };
        assert!(anchor_line(Err(old)).starts_with("anchor: unknown (error code: -32601"));
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(4_102_444_799), "2099-12-31 23:59:59 UTC");
    }

    #[test]
    fn the_progress_line_shows_the_fraction_sizes_rate_and_eta() {
        let s = json!({"name": "f.bin", "size": 4_194_304, "bytes": 1_048_576, "download_rate": 2_097_152.0, "eta": 65, "peers": 3, "state": "downloading"});
        let line = progress_line(&s, 8);
        assert_eq!(
            line,
            "f.bin [##------]  25.0%  1.0 MiB/4.0 MiB  2.0 MiB/s  ETA 1m05s  3 peers  downloading"
        );
        let searching =
            json!({"cid": "00", "name": null, "size": null, "bytes": 0, "download_rate": 0.0, "eta": null, "state": "searching"});
        assert_eq!(
            progress_line(&searching, 4),
            "? [----]   0.0%  0 B/?  0 B/s  ETA -  0 peers  searching"
        );
    }

    #[test]
    fn sizes_are_in_binary_units_with_one_decimal() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 19), "1.5 MiB");
        assert_eq!(human_bytes((1 << 20) - 1), "1.0 MiB", "not 1024.0 KiB");
        assert_eq!(human_bytes(5 << 30), "5.0 GiB");
        assert_eq!(human_bytes(1 << 40), "1.0 TiB");
        assert_eq!(human_bytes(1 << 50), "1024.0 TiB", "TiB is the largest unit");
        assert_eq!(human_bytes(u64::MAX), "16777216.0 TiB");
    }

    #[test]
    fn rates_never_panic() {
        assert_eq!(human_rate(0.0), "0 B/s");
        assert_eq!(human_rate(1023.4), "1023 B/s");
        assert_eq!(human_rate(1_572_864.0), "1.5 MiB/s");
        assert_eq!(human_rate(-5.0), "0 B/s");
        assert_eq!(human_rate(f64::NAN), "0 B/s");
        assert_eq!(human_rate(f64::NEG_INFINITY), "0 B/s");
        assert_eq!(human_rate(f64::INFINITY), "16777216.0 TiB/s");
        assert_eq!(human_rate(1e300), "16777216.0 TiB/s");
    }

    #[test]
    fn durations_read_as_eta() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(59), "59s");
        assert_eq!(human_duration(60), "1m00s");
        assert_eq!(human_duration(65), "1m05s");
        assert_eq!(human_duration(3599), "59m59s");
        assert_eq!(human_duration(2 * 3600 + 3 * 60 + 59), "2h03m");
        assert_eq!(human_duration(86_400 + 4 * 3600), "1d04h");
        assert_eq!(human_duration(100 * 86_400 - 1), "99d23h");
        assert_eq!(human_duration(100 * 86_400), ">99d");
        assert_eq!(human_duration(u64::MAX), ">99d");
    }
}
