//! `cairn cli`: the RPC client, with bitcoin-cli's conventions.
//!
//! Which arguments are JSON follows bitcoin-cli's table (`cairn_rpc::spec`, the same table the
//! server checks parameters against): a parameter Core declares as a string is sent as the text
//! given (`getnewaddress 2024` labels an address "2024"), any other must parse as JSON (numbers,
//! `true`/`false`/`null`, objects, arrays; else "Error parsing JSON"). Arguments of methods the
//! table does not know are JSON when they parse as JSON, else strings. A string result is printed
//! raw, anything else as indented JSON (amounts keep their 8 decimals), a null result prints
//! nothing. A failed call prints `error code: N` and the message to stderr and exits with status
//! |N| (as bitcoin-cli; the shell keeps its low 8 bits); other failures exit with 1.
//!
//! The server is `--rpc-connect`, else the address the node wrote to `<datadir>/<network>/rpc.addr`,
//! else the config's `rpc-bind`, else the network's default port. Credentials are
//! `--rpc-user`/`--rpc-password`, else the config's `rpcuser`/`rpcpassword`, else the cookie file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use cairn_chain::Network;
use cairn_rpc::client::pretty_json;
use cairn_rpc::{ClientError, Credentials, RpcClient};
use clap::Parser;
use serde_json::Value;

use crate::config::{default_datadir, default_rpc_port, load_config, network_dir, parse_host_port, resolve_network};

/// Flags of `cairn cli`.
#[derive(Parser, Debug)]
pub struct CliArgs {
    /// Where the node is.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The method, e.g. getblockcount.
    pub method: String,
    /// The method's arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// How to reach a node's RPC server (shared by `cairn cli` and `cairn fetch`).
#[derive(clap::Args, Debug)]
pub struct ConnArgs {
    /// Data directory of the node (default: ~/.cairn): where the cookie and config are found.
    #[arg(long)]
    pub datadir: Option<PathBuf>,
    /// Network of the node (default: the config's, else regtest).
    #[arg(long)]
    pub network: Option<Network>,
    /// Config file (default: DATADIR/cairn.conf).
    #[arg(long)]
    pub conf: Option<PathBuf>,
    /// The node's RPC address, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub rpc_connect: Option<String>,
    /// RPC user (instead of the cookie).
    #[arg(long)]
    pub rpc_user: Option<String>,
    /// RPC password (instead of the cookie).
    #[arg(long)]
    pub rpc_password: Option<String>,
}

/// Parses argument `index` of `method` as bitcoin-cli would (see the module documentation).
///
/// # Errors
/// A parameter Core takes as JSON that does not parse.
pub fn parse_arg(method: &str, index: usize, text: &str) -> Result<Value> {
    if !cairn_rpc::spec::cli_is_json(method, index) {
        return Ok(Value::String(text.to_string()));
    }
    if cairn_rpc::spec::find(method).is_some_and(|m| index < m.params.len()) {
        return serde_json::from_str(text).map_err(|_| anyhow::anyhow!("Error parsing JSON: {text}"));
    }
    Ok(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string())))
}

/// bitcoin-cli's exit status for an RPC error: |code|, never 0.
fn exit_status(code: i64) -> ExitCode {
    match (code.unsigned_abs() & 0xff) as u8 {
        0 => ExitCode::FAILURE,
        n => ExitCode::from(n),
    }
}

/// Runs the command; the exit status follows bitcoin-cli.
pub fn run(args: CliArgs) -> ExitCode {
    match call(args) {
        Ok(out) => {
            if !out.is_empty() {
                println!("{out}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => match e.downcast_ref::<ClientError>() {
            Some(ClientError::Rpc { code, .. }) => {
                eprintln!("{e}");
                exit_status(*code)
            }
            _ => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn call(args: CliArgs) -> Result<String> {
    let params = args
        .args
        .iter()
        .enumerate()
        .map(|(i, a)| parse_arg(&args.method, i, a))
        .collect::<Result<Vec<Value>>>()?;
    let mut client = args.conn.client()?;
    let raw = client.call_raw(&args.method, &params)?;
    let text = raw.get();
    Ok(if text == "null" {
        String::new()
    } else if text.starts_with('"') {
        serde_json::from_str::<String>(text).unwrap_or_else(|_| text.to_string())
    } else {
        pretty_json(text)
    })
}

impl ConnArgs {
    /// An RPC client for the node these flags name.
    ///
    /// # Errors
    /// A bad config file, or no credentials.
    pub fn client(&self) -> Result<RpcClient> {
        let args = self;
        let datadir = args.datadir.clone().unwrap_or_else(default_datadir);
        let file = load_config(args.conf.as_deref(), &datadir)?;
        let network = resolve_network(args.network, &file)?;
        let net_dir = network_dir(&datadir, network);
        let addr = match &args.rpc_connect {
            Some(a) => a.clone(),
            None => match std::fs::read_to_string(net_dir.join("rpc.addr")) {
                Ok(text) => text.trim().to_string(),
                Err(_) => match file.get("rpc-bind") {
                    Some(b) => parse_host_port(b, default_rpc_port(network))?.to_string(),
                    None => format!("127.0.0.1:{}", default_rpc_port(network)),
                },
            },
        };
        let credentials = match (
            args.rpc_user.as_deref().or(file.get("rpcuser")),
            args.rpc_password.as_deref().or(file.get("rpcpassword")),
        ) {
            (Some(u), Some(p)) => Credentials::new(u, p),
            _ => {
                let cookie = net_dir.join(".cookie");
                Credentials::read_cookie(&cookie).with_context(|| {
                    format!(
                        "reading the RPC cookie {} (is the node running with this --datadir and --network?)",
                        cookie.display()
                    )
                })?
            }
        };
        Ok(RpcClient::new(addr, &credentials))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_follow_bitcoin_clis_table() {
        let arg = |m: &str, i: usize, t: &str| parse_arg(m, i, t).unwrap();
        assert_eq!(arg("generatetoaddress", 0, "101"), Value::from(101));
        assert_eq!(arg("generatetoaddress", 1, "R9xabc"), Value::String("R9xabc".into()));
        assert_eq!(arg("sendtoaddress", 1, "0.5"), serde_json::json!(0.5));
        assert_eq!(arg("getblockheader", 1, "true"), Value::Bool(true));
        assert_eq!(arg("listunspent", 2, "[\"a\"]"), serde_json::json!(["a"]));
        assert_eq!(arg("getblockhash", 0, "-1"), Value::from(-1));
        // Strings stay strings, however they look.
        assert_eq!(arg("getnewaddress", 0, "2024"), Value::String("2024".into()));
        assert_eq!(arg("decoderawtransaction", 0, "0100ab"), Value::String("0100ab".into()));
        assert_eq!(arg("getblock", 0, "00"), Value::String("00".into()));
        // JSON where Core wants JSON.
        let e = parse_arg("getblockhash", 0, "tip").unwrap_err();
        assert_eq!(e.to_string(), "Error parsing JSON: tip");
        // Unknown methods, and arguments beyond the table: JSON if it is JSON.
        assert_eq!(arg("nosuchmethod", 0, "{\"a\":1}"), serde_json::json!({"a": 1}));
        assert_eq!(arg("nosuchmethod", 1, "word"), Value::String("word".into()));
        assert_eq!(arg("getblockcount", 3, "7"), Value::from(7));
    }

    #[test]
    fn exit_status_is_the_error_code_as_bitcoin_cli() {
        assert_eq!(exit_status(-8), ExitCode::from(8));
        assert_eq!(exit_status(-32601), ExitCode::from(89));
        assert_eq!(exit_status(-256), ExitCode::FAILURE);
    }
}
