//! The `cairn` binary.
//!
//! For now (before the RPC, wallet and network land) it offers:
//! - `cairn demo`: a guided regtest run on a fresh data directory: mines, pays, reorganises and
//!   then keeps mining until Ctrl-C, logging one line per connected block.
//! - `cairn node`: opens (or creates) the chain state of a network in the data directory and,
//!   with `--mine-threads N`, mines continuously until Ctrl-C.

mod demo;
mod mining;
mod signals;

use std::path::PathBuf;

use anyhow::{Context, Result};
use cairn_chain::{Chainstate, Lock, Network, PubkeyHash, StoreOptions};
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "cairn", version, about = "Cairn: a Bitcoin-style full node and content-sharing peer")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a node: open the chain state and optionally mine.
    Node(NodeArgs),
    /// A guided regtest demo of the chain: mining, a payment, a reorg, then continuous mining.
    Demo(DemoArgs),
}

#[derive(Parser, Debug)]
struct NodeArgs {
    /// Network: regtest or testnet.
    #[arg(long, default_value = "regtest")]
    network: Network,
    /// Data directory (the chain state lives in DATADIR/NETWORK/chainstate).
    #[arg(long)]
    datadir: Option<PathBuf>,
    /// Mine continuously on this many threads (0: do not mine).
    #[arg(long, default_value_t = 0)]
    mine_threads: usize,
    /// Pay mined coins to this public key hash (40 hex digits). Without it, coins go to a
    /// data-carrier output and are unspendable.
    #[arg(long)]
    mine_to: Option<PubkeyHash>,
}

#[derive(Parser, Debug)]
struct DemoArgs {
    /// Data directory; by default a fresh temporary one, removed at exit.
    #[arg(long)]
    datadir: Option<PathBuf>,
    /// Threads for the continuous mining at the end.
    #[arg(long, default_value_t = 1)]
    mine_threads: usize,
    /// Stop after this many continuously mined blocks (default: until Ctrl-C).
    #[arg(long)]
    blocks: Option<u64>,
}

fn default_datadir() -> PathBuf {
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cairn"),
        None => PathBuf::from(".cairn"),
    }
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let cli = Cli::parse();
    signals::install();
    match cli.command {
        Command::Node(args) => run_node(args),
        Command::Demo(args) => demo::run(args.datadir, args.mine_threads, args.blocks),
    }
}

fn run_node(args: NodeArgs) -> Result<()> {
    let dir = args
        .datadir
        .unwrap_or_else(default_datadir)
        .join(args.network.as_str())
        .join("chainstate");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut chain = Chainstate::open(&dir, args.network, StoreOptions::default())
        .with_context(|| format!("opening chain state in {}", dir.display()))?;
    tracing::info!(network = %args.network, height = chain.height(), tip = %chain.tip_hash(), datadir = %dir.display(), "chain state open");
    if args.mine_threads > 0 {
        let lock = match args.mine_to {
            Some(h) => Lock::PubkeyHash(h),
            None => Lock::DataCarrier(b"cairn: mined without --mine-to".to_vec()),
        };
        let mut mempool = cairn_chain::Mempool::new(cairn_chain::mempool::DEFAULT_MAX_BYTES);
        mining::mine_until_stopped(&mut chain, &mut mempool, &lock, args.mine_threads, None)?;
    } else {
        while !signals::stopping() {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
    tracing::info!(height = chain.height(), "shut down cleanly");
    Ok(())
}
