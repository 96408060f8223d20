//! `cairn-testnet`: a local Cairn network in one command.
//!
//! ```text
//! cairn-testnet run [--nodes 3]            start, print the nodes, show live status; the nodes stop
//!                                          when it stops (Ctrl-C, SIGTERM, SIGHUP, a closed output,
//!                                          even SIGKILL: they wait on its lock, DIR/owner.lock)
//! cairn-testnet up --nodes N --dir DIR     the same, detached; writes DIR/testnet.json
//! cairn-testnet status|down --dir DIR
//! cairn-testnet kill|restart NODE --dir DIR
//! cairn-testnet partition node1,node2 node3,node4 --dir DIR;  cairn-testnet heal --dir DIR
//! cairn-testnet mine NODE on|off [--threads N] --dir DIR;    cairn-testnet add --dir DIR
//! ```

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use cairn_testnet::process::OwnerLock;
use cairn_testnet::status::{block_interval, first_steps, node_table, render};
use cairn_testnet::testnet::{Miners, STOP_GRACE, find_cairn};
use cairn_testnet::{Testnet, UpOptions};
use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "cairn-testnet", about = "A local Cairn network: start, watch, and break it on purpose.")]
struct Cli {
    #[command(subcommand)]
    command: Verb,
}

#[derive(Args, Debug, Clone)]
struct DirArg {
    /// The testnet's folder (datadirs and testnet.json). Default: ~/.cairn-testnet
    #[arg(long, global = true)]
    dir: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
struct UpArgs {
    /// Number of nodes.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// testnet (real proof of work, 10 s blocks) or regtest (instant proof of work, paced miners).
    #[arg(long, default_value = "testnet")]
    network: String,
    /// Which nodes mine: all, none, a count (the first N), or names (node1,node3).
    #[arg(long, default_value = "all")]
    miners: Miners,
    /// Mining threads per mining node.
    #[arg(long, default_value_t = 1)]
    mine_threads: usize,
    /// Regtest: mean milliseconds between a miner's blocks.
    #[arg(long, default_value_t = 1000)]
    regtest_block_time: u64,
    /// The cairn binary (default: $CAIRN_BIN, else the one next to cairn-testnet).
    #[arg(long)]
    cairn: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Verb {
    /// Start a testnet, print its nodes, then show its status every few seconds. The nodes stop
    /// when this stops, however it stops (Ctrl-C, SIGTERM, SIGHUP, its output closing, SIGKILL).
    Run {
        #[command(flatten)]
        up: UpArgs,
        /// Seconds between status updates.
        #[arg(long, default_value_t = 5)]
        interval: u64,
        /// Port of the testnet view (a live page of every node side by side) on 127.0.0.1;
        /// 0: any free port (printed).
        #[arg(long, default_value_t = 0)]
        view_port: u16,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Start a testnet in the background and write DIR/testnet.json.
    Up {
        #[command(flatten)]
        up: UpArgs,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Show each node's height, tip, peers, mempool and mining.
    Status {
        #[command(flatten)]
        dir: DirArg,
    },
    /// Stop every node (SIGTERM, then SIGKILL after 30 s).
    Down {
        #[command(flatten)]
        dir: DirArg,
    },
    /// Kill a node with SIGKILL (a crash).
    Kill {
        /// Node name, e.g. node2.
        node: String,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Restart a node (stopping it first if it runs) with its datadir, ports and mining.
    Restart {
        /// Node name.
        node: String,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Split the nodes in two groups that refuse each other's connections (application level).
    Partition {
        /// First group, e.g. node1,node2.
        group_a: String,
        /// Second group, e.g. node3,node4.
        group_b: String,
        #[command(flatten)]
        dir: DirArg,
    },
    /// End the partition: lift its bans and reconnect the groups.
    Heal {
        #[command(flatten)]
        dir: DirArg,
    },
    /// Turn mining on or off on a node (kept across restarts).
    Mine {
        /// Node name.
        node: String,
        /// on or off.
        state: String,
        /// Threads when turning it on.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Add a node to a running testnet.
    Add {
        /// Mining threads of the new node (0: not mining).
        #[arg(long, default_value_t = 0)]
        mine_threads: usize,
        #[command(flatten)]
        dir: DirArg,
    },
}

fn dir_of(d: &DirArg) -> PathBuf {
    d.dir.clone().unwrap_or_else(|| match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".cairn-testnet"),
        None => PathBuf::from(".cairn-testnet"),
    })
}

fn up_options(up: &UpArgs, dir: &DirArg) -> Result<UpOptions> {
    Ok(UpOptions {
        nodes: up.nodes,
        dir: dir_of(dir),
        network: up.network.clone(),
        miners: up.miners.clone(),
        mine_threads: up.mine_threads,
        regtest_block_time_ms: up.regtest_block_time,
        cairn: find_cairn(up.cairn.as_deref())?,
        owner_lock: None,
    })
}

/// Set by SIGINT, SIGTERM and SIGHUP: `run` stops its nodes and exits.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// SIGINT (Ctrl-C), SIGTERM and SIGHUP (the terminal closed) all mean "stop the testnet".
/// SIGPIPE stays ignored (as Rust sets it), so a closed output shows up as a write error, which
/// `run` also takes as "stop".
fn install_signal_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
}

fn clock() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{:02}:{:02}:{:02}", (secs / 3600) % 24, (secs / 60) % 60, secs % 60)
}

/// Writes to stdout and flushes; an error means nobody reads our output any more (a closed pipe,
/// a closed terminal).
fn say(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Name of the lock file `run` holds in the testnet folder.
const OWNER_LOCK: &str = "owner.lock";

/// `run`: start, show, and on any way of stopping (signal, closed output, an error) stop every
/// node of the testnet, including nodes another invocation restarted or added meanwhile. Should
/// this process die without getting here (SIGKILL), the nodes see its lock go and stop by
/// themselves.
fn run_owned(up: &UpArgs, interval: u64, view_port: u16, dir: &DirArg) -> Result<()> {
    install_signal_handlers();
    let mut opts = up_options(up, dir)?;
    std::fs::create_dir_all(&opts.dir).with_context(|| format!("creating {}", opts.dir.display()))?;
    let lock = OwnerLock::acquire(&opts.dir.join(OWNER_LOCK))?;
    opts.owner_lock = Some(lock.path().to_path_buf());
    let _ = say(&format!(
        "starting {} nodes on {} in {} …\n",
        opts.nodes,
        opts.network,
        opts.dir.display()
    ));
    let mut net = Testnet::up(&opts)?;
    let view = cairn_testnet::view::View::start(&net.spec.dir, view_port)?;
    let shown = say(&format!(
        "{}\n{}\nTestnet view (every node side by side, live; the address carries its password):\n  {}\n\nStatus every {interval} s (UTC); Ctrl-C stops every node.\n\n",
        node_table(&net.spec),
        first_steps(&net.spec),
        view.url
    ));
    let every = Duration::from_secs(interval.max(1));
    let mut next = Instant::now();
    let mut output_ok = shown.is_ok();
    while output_ok && !STOP.load(Ordering::SeqCst) {
        if Instant::now() >= next {
            // Re-read the description: other invocations may have added or restarted nodes.
            if let Ok(now) = Testnet::open(&net.spec.dir) {
                net = now;
            }
            output_ok = say(&render(&net.status(), &clock(), block_interval(&net.spec))).is_ok();
            next = Instant::now() + every;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // From here on output may be gone: every write is best effort.
    let why = if output_ok { "" } else { " (our output was closed)" };
    let _ = say(&format!("\nstopping the nodes{why} …\n"));
    if let Ok(now) = Testnet::open(&net.spec.dir) {
        net = now;
    }
    let killed = net.down(STOP_GRACE)?;
    if !killed.is_empty() {
        let _ = say(&format!("had to kill: {}\n", killed.join(", ")));
    }
    net.spec.owner_lock = None;
    net.spec.save()?;
    let _ = say(&format!("stopped; datadirs kept in {}\n", net.spec.dir.display()));
    drop(lock);
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Verb::Run {
            up,
            interval,
            view_port,
            dir,
        } => run_owned(&up, interval, view_port, &dir)?,
        Verb::Up { up, dir } => {
            let opts = up_options(&up, &dir)?;
            let net = Testnet::up(&opts)?;
            println!("{}", node_table(&net.spec));
            println!("Written {}", cairn_testnet::TestnetSpec::path_in(&net.spec.dir).display());
        }
        Verb::Status { dir } => {
            let net = Testnet::open(&dir_of(&dir))?;
            print!("{}", render(&net.status(), &clock(), block_interval(&net.spec)));
        }
        Verb::Down { dir } => {
            let mut net = Testnet::open(&dir_of(&dir))?;
            let killed = net.down(STOP_GRACE)?;
            println!(
                "stopped {} nodes{}",
                net.spec.nodes.len(),
                if killed.is_empty() {
                    String::new()
                } else {
                    format!(" (killed: {})", killed.join(", "))
                }
            );
        }
        Verb::Kill { node, dir } => {
            Testnet::open(&dir_of(&dir))?.kill(&node)?;
            println!("{node} killed (SIGKILL)");
        }
        Verb::Restart { node, dir } => {
            Testnet::open(&dir_of(&dir))?.restart(&node)?;
            println!("{node} restarted");
        }
        Verb::Partition { group_a, group_b, dir } => {
            Testnet::open(&dir_of(&dir))?.partition(&group_a, &group_b)?;
            println!("partitioned: {group_a} | {group_b}");
        }
        Verb::Heal { dir } => {
            Testnet::open(&dir_of(&dir))?.heal()?;
            println!("healed");
        }
        Verb::Mine { node, state, threads, dir } => {
            let threads = match state.as_str() {
                "on" => threads.max(1),
                "off" => 0,
                _ => bail!("mine {node} {state:?}: on or off"),
            };
            Testnet::open(&dir_of(&dir))?.set_mining(&node, threads)?;
            println!("{node}: mining {state}");
        }
        Verb::Add { mine_threads, dir } => {
            let name = Testnet::open(&dir_of(&dir))?.add_node(mine_threads)?;
            println!("{name} added");
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
