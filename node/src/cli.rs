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

mod info;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use cairn_chain::Network;
use cairn_rpc::client::pretty_json;
use cairn_rpc::{ClientError, Credentials, RpcClient};
use clap::Parser;
use serde_json::Value;

use crate::config::{default_datadir, default_rpc_port, load_config, network_dir, parse_host_port, resolve_network};

/// Flags of `cairn cli`. bitcoin-cli's single-dash spellings (`-regtest`, `-datadir=D`,
/// `-rpcport=N`, `-named`, …) are accepted before the method ([`core_spellings`]).
#[derive(Parser, Debug)]
pub struct CliArgs {
    /// Where the node is.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Pass named arguments (name=value) instead of positional ones.
    #[arg(long)]
    pub named: bool,
    /// Wait for the server to start (retry while it refuses connections or warms up).
    #[arg(long)]
    pub rpcwait: bool,
    /// With --rpcwait: give up after this many seconds (0: never, the default).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub rpcwaittimeout: u64,
    /// Seconds a call may take (0: no limit; default 900).
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    pub rpcclienttimeout: u64,
    /// Send the call to this wallet's endpoint (`/wallet/<name>`), for nodes with several
    /// wallets loaded.
    #[arg(long, value_name = "NAME")]
    pub rpcwallet: Option<String>,
    /// Read extra arguments from standard input, one per line, after those given.
    #[arg(long)]
    pub stdin: bool,
    /// Read the RPC password from the first line of standard input.
    #[arg(long)]
    pub stdinrpcpass: bool,
    /// bitcoin-cli's `-getinfo`: chain, network, wallet and balance in one screen (no method).
    #[arg(long)]
    pub getinfo: bool,
    /// bitcoin-cli's `-netinfo [LEVEL]`: connections by direction and network; from level 1 one
    /// line per peer (the level is given where the method would be).
    #[arg(long)]
    pub netinfo: bool,
    /// The method, e.g. getblockcount.
    #[arg(required_unless_present_any = ["getinfo", "netinfo"], default_value = "")]
    pub method: String,
    /// The method's arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// bitcoin-cli's and bitcoind's single-dash options (`-regtest`, `-datadir=D`, `-rpcport=18443`,
/// `-named`, `-debug=net`) as `cairn cli` and `cairn node` take them: each option before the method gets its second dash (Core's names
/// are `cairn cli`'s long options or their aliases; `-regtest`/`-testnet`/`-chain=X` choose the
/// network). Everything from the method on is left as given (`getblockhash -1`).
pub fn core_spellings(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    // `cairn cli …` up to the method, and every option of `cairn node …` (`-debug=net`,
    // `-printtoconsole=0`, `-regtest`).
    let Some(cli) = args.iter().position(|a| a == "cli" || a == "node") else {
        return args;
    };
    let is_node = args[cli] == "node";
    /// `cairn cli`'s options that take a value in the next argument (`--datadir D`).
    const WITH_VALUE: &[&str] = &[
        "--datadir",
        "--network",
        "--conf",
        "--rpc-connect",
        "--rpcconnect",
        "--rpc-port",
        "--rpcport",
        "--rpc-user",
        "--rpcuser",
        "--rpc-password",
        "--rpcpassword",
        "--rpc-cookie-file",
        "--rpccookiefile",
        "--rpcwaittimeout",
        "--rpcclienttimeout",
        "--rpcwallet",
    ];
    let mut out: Vec<std::ffi::OsString> = args[..=cli].to_vec();
    let mut rest = args[cli + 1..].iter();
    let mut value_next = false;
    for a in rest.by_ref() {
        let Some(text) = a.to_str() else {
            out.push(a.clone());
            break;
        };
        if std::mem::take(&mut value_next) {
            out.push(a.clone());
            continue;
        }
        value_next = WITH_VALUE.contains(&text);
        let single = text.len() > 2 && text.starts_with('-') && !text.starts_with("--") && text.as_bytes()[1].is_ascii_alphabetic();
        if !single {
            out.push(a.clone());
            if !is_node && !text.starts_with('-') {
                break;
            }
            continue;
        }
        out.push(match &text[1..] {
            "regtest" => "--network=regtest".into(),
            "testnet" => "--network=testnet".into(),
            other => match other.strip_prefix("chain=") {
                Some(chain) => format!("--network={chain}").into(),
                None => format!("-{text}").into(),
            },
        });
    }
    out.extend(rest.cloned());
    out
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
    /// The node's RPC address, HOST:PORT or HOST (with --rpcport or the network's port).
    #[arg(long, alias = "rpcconnect", value_name = "HOST:PORT")]
    pub rpc_connect: Option<String>,
    /// The node's RPC port (with --rpc-connect HOST, or on 127.0.0.1).
    #[arg(long, alias = "rpcport", value_name = "PORT")]
    pub rpc_port: Option<u16>,
    /// RPC user (instead of the cookie).
    #[arg(long, alias = "rpcuser")]
    pub rpc_user: Option<String>,
    /// RPC password (instead of the cookie).
    #[arg(long, alias = "rpcpassword")]
    pub rpc_password: Option<String>,
    /// The cookie file (default: DATADIR/NETWORK/.cookie).
    #[arg(long, alias = "rpccookiefile", value_name = "FILE")]
    pub rpc_cookie_file: Option<PathBuf>,
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

/// `-named` arguments: `name=value` (JSON or string by the method's table), and arguments without
/// `=` by position, as bitcoin-cli ≥ 24 takes them before or among the named ones.
///
/// # Errors
/// A positional argument beyond the method's parameters, a name given twice, or a JSON
/// parameter that does not parse.
pub fn named_params(method: &str, args: &[String]) -> Result<serde_json::Map<String, Value>> {
    let mut out = serde_json::Map::new();
    let mut position = 0;
    for a in args {
        let (name, text) = match a.split_once('=') {
            Some((n, t)) if !n.is_empty() => (n.to_string(), t),
            _ => {
                let i = position;
                position += 1;
                let name = cairn_rpc::spec::find(method)
                    .and_then(|m| m.params.get(i))
                    .map(|p| p.names().next().unwrap_or(p.name).to_string())
                    .ok_or_else(|| anyhow::anyhow!("No '=' in named argument '{a}', and no parameter at position {}", i + 1))?;
                (name, a.as_str())
            }
        };
        let value = if cairn_rpc::spec::cli_named_is_json(method, &name) {
            serde_json::from_str(text).map_err(|_| anyhow::anyhow!("Error parsing JSON: {text}"))?
        } else {
            Value::String(text.to_string())
        };
        if out.insert(name.clone(), value).is_some() {
            anyhow::bail!("Parameter {name} specified multiple times");
        }
    }
    Ok(out)
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

fn call(mut args: CliArgs) -> Result<String> {
    let stdin = std::io::stdin();
    if args.stdinrpcpass {
        // One line: the password (bitcoin-cli reads it before any -stdin arguments).
        let mut line = String::new();
        stdin.read_line(&mut line)?;
        args.conn.rpc_password = Some(line.trim_end_matches(['\r', '\n']).to_string());
    }
    if args.stdin {
        args.args.extend(std::io::read_to_string(stdin)?.lines().map(str::to_string));
    }
    let params = if args.named {
        Value::Object(named_params(&args.method, &args.args)?)
    } else {
        Value::Array(
            args.args
                .iter()
                .enumerate()
                .map(|(i, a)| parse_arg(&args.method, i, a))
                .collect::<Result<Vec<Value>>>()?,
        )
    };
    let timeout = match args.rpcclienttimeout {
        0 => std::time::Duration::from_secs(365 * 24 * 3600),
        n => std::time::Duration::from_secs(n),
    };
    if args.getinfo || args.netinfo {
        let mut root = args.conn.client()?.with_timeout(timeout);
        if args.netinfo {
            let level = match args.method.as_str() {
                "" => 0,
                l => l
                    .parse::<u8>()
                    .ok()
                    .filter(|l| *l <= 4)
                    .ok_or_else(|| anyhow::anyhow!("-netinfo level {l:?}: 0 to 4"))?,
            };
            return info::netinfo(&mut root, level);
        }
        if !args.method.is_empty() {
            anyhow::bail!("-getinfo takes no method or arguments");
        }
        let conn = &args.conn;
        let wallet_client = |name: &str| -> Result<RpcClient> { Ok(conn.client()?.with_timeout(timeout).with_wallet(name)) };
        return info::getinfo(&mut root, &wallet_client, args.rpcwallet.as_deref());
    }
    let mut client = args.conn.client()?.with_timeout(timeout);
    if let Some(name) = &args.rpcwallet {
        client = client.with_wallet(name);
    }
    let started = std::time::Instant::now();
    let raw = loop {
        match client.call_params(&args.method, &params) {
            // -rpcwait: the server is not up yet, or still warming up.
            Err(ClientError::Connect { .. } | ClientError::Rpc { code: -28, .. })
                if args.rpcwait && (args.rpcwaittimeout == 0 || started.elapsed().as_secs() < args.rpcwaittimeout) =>
            {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
            other => break other?,
        }
    };
    let text = raw.get();
    Ok(if text == "null" {
        String::new()
    } else if text.starts_with('"') {
        serde_json::from_str::<String>(text).unwrap_or_else(|_| text.to_string())
    } else {
        pretty_json(text)
    })
}

/// `host` as HOST:PORT: kept if it names its port, else with `port` (IPv6 in brackets).
fn with_port(host: &str, port: u16) -> String {
    if host.parse::<std::net::SocketAddr>().is_ok() {
        return host.to_string();
    }
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        return format!("[{host}]:{port}");
    }
    if host.starts_with('[') && host.ends_with(']') {
        return format!("{host}:{port}");
    }
    match host.rsplit_once(':') {
        Some((_, p)) if p.parse::<u16>().is_ok() => host.to_string(),
        _ => format!("{host}:{port}"),
    }
}

impl ConnArgs {
    /// An RPC client for the node these flags name.
    ///
    /// # Errors
    /// A bad config file, or no credentials.
    pub fn client(&self) -> Result<RpcClient> {
        let args = self;
        let datadir = args.datadir.clone().unwrap_or_else(default_datadir);
        let raw = load_config(args.conf.as_deref(), &datadir)?;
        let network = resolve_network(args.network, &raw)?;
        let file = raw.for_network(network);
        let port = match file.get("rpcport") {
            Some(v) => v
                .parse()
                .map_err(|_| anyhow::anyhow!("config rpcport: {v:?} is not a port number"))?,
            None => default_rpc_port(network),
        };
        let net_dir = network_dir(&datadir, network);
        let addr = match (&args.rpc_connect, args.rpc_port) {
            (Some(host), explicit) => with_port(host, explicit.unwrap_or(port)),
            (None, Some(port)) => format!("127.0.0.1:{port}"),
            (None, None) => match std::fs::read_to_string(net_dir.join("rpc.addr")) {
                Ok(text) => text.trim().to_string(),
                Err(_) => match file.get("rpc-bind").or(file.get("rpcbind")) {
                    Some(b) => parse_host_port(b, port)?.to_string(),
                    None => format!("127.0.0.1:{port}"),
                },
            },
        };
        let credentials = match (
            args.rpc_user.as_deref().or(file.get("rpcuser")),
            args.rpc_password.as_deref().or(file.get("rpcpassword")),
        ) {
            (Some(u), Some(p)) => Credentials::new(u, p),
            _ => {
                let cookie = args.rpc_cookie_file.clone().unwrap_or_else(|| net_dir.join(".cookie"));
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
    fn named_arguments_and_core_spellings() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let named = named_params("sendtoaddress", &args(&["address=R1", "amount=0.5", "fee_rate=25", "comment=2024"])).unwrap();
        assert_eq!(
            Value::Object(named),
            serde_json::json!({"address": "R1", "amount": 0.5, "fee_rate": 25, "comment": "2024"})
        );
        let mixed = named_params("getblock", &args(&["00ab", "verbosity=2"])).unwrap();
        assert_eq!(Value::Object(mixed), serde_json::json!({"blockhash": "00ab", "verbosity": 2}));
        let after = named_params("getblock", &args(&["verbosity=2", "00ab"])).unwrap();
        assert_eq!(Value::Object(after), serde_json::json!({"verbosity": 2, "blockhash": "00ab"}));
        assert!(named_params("getblockcount", &args(&["x"])).is_err());
        assert!(named_params("getblock", &args(&["blockhash=a", "blockhash=b"])).is_err());
        let os = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(
            core_spellings(os(&[
                "cairn",
                "cli",
                "-regtest",
                "-datadir=/d",
                "-rpcport=1",
                "-named",
                "getblockhash",
                "-1"
            ])),
            os(&[
                "cairn",
                "cli",
                "--network=regtest",
                "--datadir=/d",
                "--rpcport=1",
                "--named",
                "getblockhash",
                "-1"
            ])
        );
        assert_eq!(
            core_spellings(os(&["cairn", "cli", "-chain=testnet", "--rpc-user", "u", "getblockcount"])),
            os(&["cairn", "cli", "--network=testnet", "--rpc-user", "u", "getblockcount"])
        );
        assert_eq!(with_port("10.0.0.1", 5), "10.0.0.1:5");
        assert_eq!(with_port("10.0.0.1:7", 5), "10.0.0.1:7");
        assert_eq!(with_port("::1", 5), "[::1]:5");
        assert_eq!(with_port("localhost", 5), "localhost:5");
    }

    #[test]
    fn exit_status_is_the_error_code_as_bitcoin_cli() {
        assert_eq!(exit_status(-8), ExitCode::from(8));
        assert_eq!(exit_status(-32601), ExitCode::from(89));
        assert_eq!(exit_status(-256), ExitCode::FAILURE);
    }
}
