//! `cairn fetch CID [DEST]`: starts a fetch on the node (`fetchfile`) and follows it
//! (`getfetchstatus` twice a second) until the file is complete or the fetch fails.
//!
//! On a terminal a progress bar is redrawn on stderr; otherwise a status line is printed every
//! 10 seconds. The file's path goes to stdout at the end. Exit status 0 when complete, 1 when the
//! fetch failed or the node cannot be reached. Ctrl-C stops following, not the fetch: the node
//! keeps downloading (follow it again with the same command).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::Parser;
use serde_json::{Value, json};

use crate::cli::ConnArgs;

/// Flags of `cairn fetch`.
#[derive(Parser, Debug)]
pub struct FetchArgs {
    /// Where the node is.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The content id (64 hex digits).
    pub cid: String,
    /// Destination: a new file, or an existing folder (default: the node's downloads folder).
    pub dest: Option<String>,
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

fn mib(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

/// One line describing a status: `[#####-----]  45.1%  14.4/32.0 MiB  3.1 MiB/s  2 peers`.
pub fn progress_line(s: &Value, width: usize) -> String {
    let total = s["size"].as_f64().unwrap_or(0.0);
    let have = s["bytes"].as_f64().unwrap_or(0.0);
    let fraction = if total > 0.0 { (have / total).clamp(0.0, 1.0) } else { 0.0 };
    let filled = (fraction * width as f64).round() as usize;
    let bar: String = "#".repeat(filled) + &"-".repeat(width - filled);
    let name = s["name"].as_str().unwrap_or("?");
    format!(
        "{name} [{bar}] {:5.1}%  {:.1}/{:.1} MiB  {:.1} MiB/s  {} peers  {}",
        fraction * 100.0,
        mib(have),
        mib(total),
        mib(s["download_rate"].as_f64().unwrap_or(0.0)),
        s["peers"].as_u64().unwrap_or(0),
        s["state"].as_str().unwrap_or("?"),
    )
}

fn follow(args: &FetchArgs) -> Result<String> {
    let mut client = args.conn.client()?;
    let mut params = vec![json!(args.cid)];
    if let Some(d) = &args.dest {
        params.push(json!(d));
    }
    let mut status: Value = client.call("fetchfile", &params)?;
    let cid = status["cid"].as_str().unwrap_or(&args.cid).to_string();
    let terminal = std::io::stderr().is_terminal();
    let mut last_line = Instant::now();
    loop {
        match status["state"].as_str() {
            Some("complete") => {
                if terminal {
                    eprintln!("\r{}", progress_line(&status, 30));
                }
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
    fn the_progress_line_shows_the_fraction() {
        let s = json!({"name": "f.bin", "size": 4_194_304, "bytes": 1_048_576, "download_rate": 2_097_152.0, "peers": 3, "state": "downloading"});
        let line = progress_line(&s, 8);
        assert!(
            line.starts_with("f.bin [##------]  25.0%  1.0/4.0 MiB  2.0 MiB/s  3 peers  downloading"),
            "{line}"
        );
        let searching = json!({"cid": "00", "name": null, "size": null, "bytes": 0, "state": "searching"});
        assert!(progress_line(&searching, 4).contains("[----]   0.0%"));
    }
}
