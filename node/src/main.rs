//! The `cairn` binary: `cairn node` runs a node, `cairn cli` talks to one over JSON-RPC,
//! `cairn fetch` downloads a shared file. Everything is in the `cairn_node` library.

use cairn_node::{cli, config, fetch, launch};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "cairn", version, about = "Cairn: a Bitcoin-style full node and content-sharing peer")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a node: chain, mempool, wallet, JSON-RPC server, and optionally a miner.
    Node(config::NodeArgs),
    /// Call a node's JSON-RPC method, bitcoin-cli style: `cairn cli getblockcount`.
    Cli(cli::CliArgs),
    /// Fetch a shared file by share link or content id and follow it with a progress bar: `cairn fetch LINK|CID`.
    Fetch(fetch::FetchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(cli::core_spellings(std::env::args_os().collect()));
    match cli.command {
        Command::Node(args) => {
            cairn_node::logging::init();
            match args.resolve().and_then(launch::run) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Cli(args) => cli::run(args),
        Command::Fetch(args) => fetch::run(args),
    }
}
