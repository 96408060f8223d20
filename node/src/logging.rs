//! The node's log, as Core's: lines go to the console (stderr, colours only on a terminal) and to
//! `NETDIR/debug.log`; debug categories (`-debug=net`, the `logging` RPC) turn on the detail of
//! one area at run time.
//!
//! - **Categories**: Core's names, each mapped to the Cairn modules doing that work
//!   ([`CATEGORIES`]; `net` → the peer layer, `mempool`, `validation` → the chain, `rpc`,
//!   `walletdb` → the wallet, `estimatefee`, …) plus Cairn's own (`chord`, `content`, `sync`,
//!   `mining`). Core categories with no Cairn counterpart (`tor`, `zmq`, `qt`, …) are accepted and
//!   change nothing. `all`/`1` and `none`/`0` as in Core.
//! - **Filter**: `RUST_LOG` (default `info`) plus `target=debug` for every enabled category,
//!   rebuilt on each change; jsonrpsee never logs past `info` (its traces hold request bodies,
//!   passphrases included).
//! - **Console** (standard output) and **debug.log**: both by default, as Core; `-printtoconsole=0`
//!   keeps the console quiet, `-nodebuglogfile` writes no file. Rotation: when it passes [`ROTATE_BYTES`] it becomes `debug.log.1` (the one
//!   before is dropped) and a new file starts, so the log never takes more than twice that.
//!   Decision: Core reopens the file on SIGHUP for logrotate; a Cairn node stops on SIGHUP (as
//!   it always has, for launchers), so it rotates by size itself.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

/// Size at which `debug.log` is rotated.
pub const ROTATE_BYTES: u64 = 10 << 20;

/// Core's categories (and Cairn's own), with the targets each turns to `debug`.
pub const CATEGORIES: &[(&str, &[&str])] = &[
    ("addrman", &["cairn_p2p::discovery"]),
    ("bench", &[]),
    ("blockstorage", &["cairn_chain::store"]),
    ("chord", &["cairn_p2p::index", "cairn_node::rpc::chord"]),
    ("cmpctblock", &[]),
    ("coindb", &["cairn_chain::coins", "cairn_chain::store"]),
    ("content", &["cairn_node::content", "cairn_p2p::content"]),
    ("estimatefee", &["cairn_node::fees"]),
    ("http", &["cairn_rpc::compat", "cairn_rpc::server"]),
    ("i2p", &[]),
    ("ipc", &[]),
    ("leveldb", &[]),
    ("libevent", &[]),
    ("mempool", &["cairn_chain::mempool"]),
    ("mempoolrej", &["cairn_chain::mempool", "cairn_node::policy"]),
    (
        "mining",
        &["cairn_node::miner", "cairn_node::rpc::mining", "cairn_node::rpc::template"],
    ),
    ("net", &["cairn_p2p", "cairn_node::router"]),
    ("proxy", &[]),
    ("prune", &[]),
    ("qt", &[]),
    ("rand", &[]),
    ("reindex", &["cairn_chain::chain"]),
    ("rpc", &["cairn_rpc", "cairn_node::rpc"]),
    ("scan", &["cairn_node::wallet_load"]),
    ("selectcoins", &["cairn_wallet::coin_select"]),
    ("sync", &["cairn_node::sync"]),
    ("tor", &[]),
    ("txpackages", &[]),
    ("txreconciliation", &[]),
    ("util", &[]),
    ("validation", &["cairn_chain", "cairn_node::service"]),
    ("walletdb", &["cairn_wallet", "cairn_node::wallet_service"]),
    ("zmq", &[]),
];

/// An unknown category name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown logging category {0}")]
pub struct UnknownCategory(pub String);

/// The running log: its filter's base and the enabled categories.
pub struct Logging {
    base: String,
    enabled: Mutex<BTreeSet<&'static str>>,
    handle: reload::Handle<EnvFilter, Registry>,
    file: Arc<Mutex<Option<LogFile>>>,
}

static LOGGING: OnceLock<Logging> = OnceLock::new();

/// The names `name` stands for: one category, or all of them (`all`, `1`) or none (`none`, `0`,
/// `""`: nothing to add or remove).
fn expand(name: &str) -> Result<Vec<&'static str>, UnknownCategory> {
    match name {
        "all" | "1" => Ok(CATEGORIES.iter().map(|(n, _)| *n).collect()),
        "none" | "0" | "" => Ok(Vec::new()),
        other => CATEGORIES
            .iter()
            .find(|(n, _)| *n == other)
            .map(|(n, _)| vec![*n])
            .ok_or_else(|| UnknownCategory(other.to_string())),
    }
}

fn directives(base: &str, enabled: &BTreeSet<&'static str>) -> String {
    let mut d = base.to_string();
    for (name, targets) in CATEGORIES {
        if enabled.contains(name) {
            for t in *targets {
                d.push_str(&format!(",{t}=debug"));
            }
        }
    }
    d
}

/// `debug.log`, appended to, rotated by size.
struct LogFile {
    path: PathBuf,
    file: File,
    written: u64,
}

impl LogFile {
    fn open(path: &Path) -> std::io::Result<LogFile> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let written = file.metadata()?.len();
        Ok(LogFile {
            path: path.to_path_buf(),
            file,
            written,
        })
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.written + bytes.len() as u64 > ROTATE_BYTES {
            let old = self.path.with_extension("log.1");
            std::fs::rename(&self.path, &old)?;
            *self = LogFile::open(&self.path)?;
        }
        self.file.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }
}

/// Whether lines go to the console (`-printtoconsole`, on by default).
static CONSOLE: AtomicBool = AtomicBool::new(true);

/// The console (standard output) while `-printtoconsole` is on.
#[derive(Clone, Copy)]
struct ConsoleWriter;

impl Write for ConsoleWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if CONSOLE.load(Ordering::Relaxed) {
            std::io::stdout().write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for ConsoleWriter {
    type Writer = ConsoleWriter;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

/// A writer to `debug.log` while it is open (before the node knows its data directory, or with
/// `-nodebuglogfile`, lines go nowhere).
#[derive(Clone)]
struct FileWriter(Arc<Mutex<Option<LogFile>>>);

impl Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut g) = self.0.lock()
            && let Some(f) = g.as_mut()
        {
            // A full disk must not stop the node from logging to the console: the error is
            // dropped here, and the console line was written already.
            let _ = f.write(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for FileWriter {
    type Writer = FileWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs the node's logging (console on; file and categories come with [`Logging::configure`]).
pub fn init() {
    let base = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let filter = EnvFilter::try_new(&base).unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    // jsonrpsee traces request bodies (passphrases of `walletpassphrase`, keys): never past
    // `info` for it, whatever RUST_LOG asks.
    let no_request_bodies = tracing_subscriber::filter::Targets::new()
        .with_default(tracing::Level::TRACE)
        .with_target("jsonrpsee", tracing::Level::INFO);
    let file = Arc::new(Mutex::new(None));
    let console = tracing_subscriber::fmt::layer()
        .with_writer(ConsoleWriter)
        // Colours only on a terminal: a log file (the testnet's node.log) stays plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let to_file = tracing_subscriber::fmt::layer()
        .with_writer(FileWriter(file.clone()))
        .with_ansi(false);
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(no_request_bodies)
        .with(console)
        .with(to_file)
        .try_init();
    let _ = LOGGING.set(Logging {
        base,
        enabled: Mutex::new(BTreeSet::new()),
        handle,
        file,
    });
}

/// The node's logging, once [`init`] ran.
pub fn get() -> Option<&'static Logging> {
    LOGGING.get()
}

impl Logging {
    /// Opens `debug.log` at `path` (unless `None`), enables the `categories` (`-debug=`) and
    /// turns the console on or off (`-printtoconsole`).
    ///
    /// # Errors
    /// An unknown category, or the file cannot be opened.
    pub fn configure(&self, path: Option<&Path>, categories: &[String], console: bool) -> anyhow::Result<()> {
        self.change(categories, &[])?;
        CONSOLE.store(console, Ordering::Relaxed);
        if let Some(path) = path {
            let f = LogFile::open(path).map_err(|e| anyhow::anyhow!("opening {}: {e}", path.display()))?;
            if let Ok(mut g) = self.file.lock() {
                *g = Some(f);
            }
        }
        Ok(())
    }

    /// Enables `include` then disables `exclude` (Core's `logging`); returns every category's
    /// state.
    ///
    /// # Errors
    /// An unknown category (nothing changes then).
    pub fn change(&self, include: &[String], exclude: &[String]) -> Result<Vec<(&'static str, bool)>, UnknownCategory> {
        let mut add = Vec::new();
        for n in include {
            add.extend(expand(n)?);
        }
        let mut remove = Vec::new();
        for n in exclude {
            remove.extend(expand(n)?);
        }
        let mut enabled = self.enabled.lock().map_err(|_| UnknownCategory("<lock>".into()))?;
        enabled.extend(add);
        for r in remove {
            enabled.remove(r);
        }
        if let Ok(filter) = EnvFilter::try_new(directives(&self.base, &enabled)) {
            let _ = self.handle.reload(filter);
        }
        Ok(CATEGORIES.iter().map(|(n, _)| (*n, enabled.contains(n))).collect())
    }

    /// The log file's path, if one is open.
    pub fn file_path(&self) -> Option<PathBuf> {
        self.file.lock().ok().and_then(|g| g.as_ref().map(|f| f.path.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_expand_and_make_directives() {
        assert_eq!(expand("net").unwrap(), ["net"]);
        assert_eq!(expand("all").unwrap().len(), CATEGORIES.len());
        assert!(expand("none").unwrap().is_empty());
        assert_eq!(expand("nosuch"), Err(UnknownCategory("nosuch".into())));
        let enabled: BTreeSet<&'static str> = ["mempool", "tor"].into_iter().collect();
        assert_eq!(directives("info", &enabled), "info,cairn_chain::mempool=debug");
        for (name, _) in CATEGORIES {
            assert!(
                EnvFilter::try_new(directives("info", &[*name].into_iter().collect())).is_ok(),
                "{name}"
            );
        }
    }

    #[test]
    fn the_file_rotates_past_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("debug.log");
        let mut f = LogFile::open(&path).unwrap();
        let line = vec![b'x'; 1 << 20];
        for _ in 0..11 {
            f.write(&line).unwrap();
        }
        assert!(dir.path().join("debug.log.1").exists());
        assert!(std::fs::metadata(&path).unwrap().len() <= ROTATE_BYTES);
        assert_eq!(std::fs::metadata(dir.path().join("debug.log.1")).unwrap().len(), 10 << 20);
    }
}
