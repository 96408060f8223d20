//! Starting and stopping a node.
//!
//! Order, as in Core: bind the RPC server first (calls get `-28` while warming up) and write the
//! cookie; open the chain state and the wallet on a blocking thread and replay the blocks the
//! wallet has not seen; start the chain service; start the peer-to-peer network (listen, dial
//! `--peer`s, route gossip, sync); end the warmup; start mining if asked. On SIGINT, SIGTERM,
//! SIGHUP, `stop`, or the end of the owner's lock (`--owner-lock`): stop the RPC server, stop
//! mining, close peer connections, let the chain service finish its queue and close RocksDB,
//! remove the cookie, exit 0.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use cairn_chain::{Chainstate, Mempool, Network, StoreOptions};
use cairn_p2p::{IndexConfig, IndexHandle, Limits, NetworkConfig, NetworkHandle};
use cairn_rpc::server::DEFAULT_MAX_BODY;
use cairn_rpc::{CookieFile, Credentials, RpcServer, RpcServerConfig, Warmup};
use cairn_wallet::{Address, Wallet};

use crate::clock::unix_now;
use crate::config::NodeConfig;
use crate::content::{ChordProviders, ContentConfig, ContentHandle};
use crate::miner::{Miner, MinerControl, MinerSettings};
use crate::rpc::RpcContext;
use crate::service;
use crate::settings::{DEFAULT_WALLET, Settings, valid_wallet_name};
use crate::shutdown::Shutdown;

/// Runs a node until shutdown.
///
/// # Errors
/// Startup failures (a busy port, an unreadable data directory, a corrupt wallet) and store
/// failures.
pub fn run(config: NodeConfig) -> Result<()> {
    // The process's log (one node per process here; nodes started with `launch` in a process
    // of their own share its log as it is).
    if let Some(logging) = crate::logging::get() {
        let net_dir = config.network_dir();
        std::fs::create_dir_all(&net_dir).with_context(|| format!("creating {}", net_dir.display()))?;
        let path = config.debug_log_file.then(|| net_dir.join("debug.log"));
        logging.configure(path.as_deref(), &config.debug, config.print_to_console)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("cairn-rt")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async { launch(config).await?.wait().await })
}

/// A node started by [`launch`], running on the caller's tokio runtime.
#[derive(Debug)]
pub struct NodeHandle {
    rpc_addr: SocketAddr,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl NodeHandle {
    /// Where its RPC server listens (it answers `-28` until the node is ready).
    pub fn rpc_addr(&self) -> SocketAddr {
        self.rpc_addr
    }

    /// Asks the node to stop, as `stop` or SIGTERM would.
    pub fn stop(&self) {
        self.shutdown.trigger();
    }

    /// Waits until the node has stopped and shut down cleanly.
    ///
    /// # Errors
    /// The node stopped on a fatal error, or failed while starting.
    pub async fn wait(self) -> Result<()> {
        self.task.await.map_err(|e| anyhow!("the node's task failed: {e}"))?
    }
}

/// Starts a node on the current tokio runtime and returns once its RPC server is bound: the
/// rest (opening the chain, the network, mining) goes on in a task, and the handle stops it
/// and waits for it. `cairn node` is [`run`]; tests can run several nodes in one process.
///
/// # Errors
/// Failures before the RPC server is up (a busy port, an unwritable data directory).
pub async fn launch(config: NodeConfig) -> Result<NodeHandle> {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(lifecycle(config, ready_tx));
    match ready_rx.await {
        Ok((rpc_addr, shutdown)) => Ok(NodeHandle { rpc_addr, shutdown, task }),
        // The node failed before its RPC server was up: the task holds the error.
        Err(_) => Err(task
            .await
            .map_err(|e| anyhow!("the node's task failed: {e}"))?
            .err()
            .unwrap_or_else(|| anyhow!("the node stopped before it started"))),
    }
}

/// The node's whole life; `ready` gets the RPC address and the shutdown signal once the RPC
/// server is bound.
async fn lifecycle(config: NodeConfig, ready: tokio::sync::oneshot::Sender<(SocketAddr, Shutdown)>) -> Result<()> {
    let network = config.network;
    let net_dir = config.network_dir();
    std::fs::create_dir_all(&net_dir).with_context(|| format!("creating {}", net_dir.display()))?;
    let shutdown = Shutdown::default();
    shutdown.trigger_on_signals().context("installing signal handlers")?;
    if let Some(lock) = &config.owner_lock {
        shutdown
            .trigger_when_unlocked(lock)
            .with_context(|| format!("--owner-lock {}", lock.display()))?;
    }
    let payout_address = match &config.mine_to {
        Some(text) => Some(Address::parse(text, network).map_err(|e| anyhow!("--mine-to {text}: {e}"))?),
        None => None,
    };

    let (chain, pending) = service::channel(network);
    let (wallet, pending_wallet) = crate::wallet_service::channel();
    let chainstate_dir = net_dir.join("chainstate");
    let net_slot = Arc::new(OnceLock::new());
    let content_slot = Arc::new(OnceLock::new());
    let index_slot = Arc::new(OnceLock::new());
    let miner_control = MinerControl::new(MinerSettings::default());
    let clock = Arc::new(std::sync::Mutex::new(crate::clock::ClockOffsets::new(
        network.params().max_future_block_time,
    )));
    let active_calls = cairn_rpc::ActiveCommands::default();
    let context = RpcContext {
        miner: miner_control.clone(),
        chain: chain.clone(),
        network,
        started: Instant::now(),
        shutdown: shutdown.clone(),
        chainstate_dir: chainstate_dir.clone(),
        net_dir: net_dir.clone(),
        loading: Arc::default(),
        net: net_slot.clone(),
        content: content_slot.clone(),
        index: index_slot.clone(),
        clock: clock.clone(),
        wallet: wallet.clone(),
        send_lock: Arc::new(tokio::sync::Mutex::new(())),
        active: active_calls.clone(),
        ibd_over: Arc::new(std::sync::atomic::AtomicBool::new(false)),
    };
    let cookie = Credentials::random_cookie();
    let mut credentials = vec![cookie.clone()];
    if let Some((user, password)) = &config.rpc_user {
        credentials.push(Credentials::new(user.clone(), password.0.clone()));
    }
    credentials.extend(config.rpc_auth.iter().cloned());
    let warmup = Warmup::starting("Loading block index…");
    let dashboard: Arc<dyn cairn_rpc::pages::Pages> = Arc::new(crate::rpc::dashboard::Dashboard::new(context.clone()));
    let module = context.into_module().map_err(|e| anyhow!("registering RPC methods: {e}"))?;
    let server = RpcServer::start(
        RpcServerConfig {
            bind: config.rpc_bind,
            credentials,
            max_body: DEFAULT_MAX_BODY,
            warmup: warmup.clone(),
            active: active_calls,
            allow: config.rpc_allow.clone(),
            pages: Some(dashboard),
        },
        module,
    )
    .await
    .with_context(|| format!("binding the RPC server to {}", config.rpc_bind))?;
    let rpc_addr = server.local_addr();
    let cookie_file = CookieFile::write(&net_dir.join(".cookie"), &cookie).context("writing the RPC cookie")?;
    let addr_file = AddrFile::write(&net_dir.join("rpc.addr"), rpc_addr)?;
    tracing::info!(%rpc_addr, cookie = %cookie_file.path().display(), "RPC server listening");
    let _ = ready.send((rpc_addr, shutdown.clone()));

    let opened = {
        let (dir, warmup, mempool_bytes) = (net_dir.clone(), warmup.clone(), config.max_mempool_bytes);
        let (extra_wallets, reindex) = (config.wallets.clone(), config.reindex);
        tokio::task::spawn_blocking(move || open_state(&dir, network, mempool_bytes, &extra_wallets, reindex, &warmup)).await?
    };
    let result = match opened {
        Ok((chainstate, mempool, opened_wallets)) => {
            let wallet_tip = (chainstate.height(), chainstate.tip_hash());
            let thread = pending
                .start(chainstate, mempool, wallet.clone(), shutdown.clone())
                .context("starting the chain service")?;
            let mut wallet_thread = None;
            let started = match start_network(&config, &net_dir, &chain, &clock, &shutdown).await {
                Ok(p2p) => {
                    let _ = net_slot.set(p2p.handle.clone());
                    let _ = content_slot.set(p2p.content.clone());
                    let _ = index_slot.set(p2p.index.clone());
                    let relay = p2p.handle.clone();
                    let _ = chain.set_relay(relay).await;
                    // The wallet follows the chain from the tip it was rescanned to; it offers its
                    // unconfirmed transactions to the mempool first, now that they can be announced.
                    match pending_wallet.start(
                        opened_wallets,
                        wallet_tip,
                        chain.clone(),
                        tokio::runtime::Handle::current(),
                        shutdown.clone(),
                    ) {
                        Ok(t) => wallet_thread = Some(t),
                        Err(e) => return Err(anyhow!("starting the wallet service: {e}")),
                    }
                    // Unlocked wallets lock again on time (`walletpassphrase`'s timeout); the
                    // task ends with the wallet service.
                    let relock = wallet.clone();
                    tokio::spawn(async move {
                        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
                        loop {
                            tick.tick().await;
                            if relock.run(|s| s.relock_expired()).await.is_err() {
                                break;
                            }
                        }
                    });
                    warmup.finish();
                    let tip = chain.tip();
                    tracing::info!(network = %network, height = tip.height, tip = %tip.hash, "node ready");
                    start_miner(&config, &chain, &wallet, payout_address, miner_control, &shutdown)
                        .await
                        .map(|m| (p2p, m))
                }
                Err(e) => Err(e),
            };
            match started {
                Ok((p2p, miner)) => {
                    shutdown.wait().await;
                    shutdown.start_fatal_watchdog();
                    tracing::info!("shutting down");
                    stop_server(server).await;
                    let _ = tokio::task::spawn_blocking(move || miner.join()).await;
                    p2p.stop().await;
                }
                Err(e) => {
                    shutdown.trigger();
                    stop_server(server).await;
                    chain.shutdown().await;
                    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
                    return Err(e);
                }
            }
            chain.shutdown().await;
            let state = tokio::task::spawn_blocking(move || thread.join()).await?;
            // The wallet takes the chain's last events, then stops.
            wallet.shutdown().await;
            if let Some(t) = wallet_thread {
                let _ = tokio::task::spawn_blocking(move || t.join()).await;
            }
            match state {
                Ok(state) => {
                    let height = state.height();
                    tokio::task::spawn_blocking(move || drop(state)).await?;
                    match shutdown.fatal_reason() {
                        None => {
                            tracing::info!(height, "shut down cleanly");
                            Ok(())
                        }
                        Some(reason) => {
                            tracing::info!(height, "shut down after a fatal error");
                            Err(anyhow!("stopped on a fatal error: {reason}"))
                        }
                    }
                }
                Err(_) => Err(anyhow!(
                    "the chain service panicked: {}",
                    shutdown.fatal_reason().unwrap_or("no message")
                )),
            }
        }
        Err(e) => {
            shutdown.trigger();
            stop_server(server).await;
            Err(e)
        }
    };
    drop(addr_file);
    drop(cookie_file);
    result
}

/// How long the RPC server gets to finish its open requests at shutdown: a dashboard whose
/// browser stopped reading keeps its event stream pending, and must not keep the node alive.
const SERVER_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

async fn stop_server(server: cairn_rpc::RpcServer) {
    if tokio::time::timeout(SERVER_STOP_GRACE, server.stop()).await.is_err() {
        tracing::warn!("the RPC server did not stop within 10 s (a client holds a request open); going on");
    }
}

/// Opens the chain state and the wallets loaded at start ([`Settings::wallets_on_startup`], then
/// the config's `wallet=` names), and
/// replays to each the active-chain blocks from its birth height (an automatic
/// `rescanblockchain`): a wallet file holds keys and sent transactions, everything else is
/// derived from the chain, so they always agree. The default wallet is created when missing; a
/// listed wallet whose directory is gone is skipped with a warning (as Core), a corrupt one stops
/// the start.
fn open_state(
    net_dir: &Path,
    network: Network,
    mempool_bytes: usize,
    extra_wallets: &[String],
    reindex: bool,
    warmup: &Warmup,
) -> Result<(Chainstate, Mempool, crate::wallet_service::LoadedWallets)> {
    let chain_dir = net_dir.join("chainstate");
    std::fs::create_dir_all(&chain_dir).with_context(|| format!("creating {}", chain_dir.display()))?;
    let mut chain =
        Chainstate::open(&chain_dir, network, StoreOptions::default()).with_context(|| format!("opening {}", chain_dir.display()))?;
    if reindex {
        warmup.set("Reindexing…");
        let started = Instant::now();
        chain.reindex_chainstate().context("reindexing the chain state")?;
        tracing::info!(height = chain.height(), secs = started.elapsed().as_secs_f64(), "reindex done");
    }
    warmup.set("Loading wallet…");
    let mut wallets: crate::wallet_service::LoadedWallets = Vec::new();
    let mut names = Settings::new(net_dir).wallets_on_startup()?;
    names.extend(extra_wallets.iter().cloned());
    for name in names {
        if wallets.iter().any(|(n, _)| *n == name) {
            continue;
        }
        if !valid_wallet_name(&name) {
            tracing::warn!(wallet = %name, "skipping a wallet name in settings.json that is not valid");
            continue;
        }
        let dir = net_dir.join("wallets").join(&name);
        let opened = if name == DEFAULT_WALLET {
            Some(Wallet::create_or_open(&dir, network, chain.height(), unix_now()))
        } else {
            Wallet::open(&dir, network).transpose()
        };
        match opened {
            Some(w) => wallets.push((name, w.with_context(|| format!("opening the wallet in {}", dir.display()))?)),
            None => tracing::warn!(wallet = %name, dir = %dir.display(), "skipping a wallet to load at start: it does not exist"),
        }
    }
    warmup.set("Rescanning…");
    for (name, wallet) in &mut wallets {
        let started = Instant::now();
        let from = wallet.birth_height().min(chain.height());
        for height in from..=chain.height() {
            let hash = chain
                .block_hash_at(height)
                .ok_or_else(|| anyhow!("active chain has no block at height {height}"))?;
            let block = chain
                .get_block(&hash)?
                .ok_or_else(|| anyhow!("block {hash} at height {height} is missing from the store"))?;
            wallet.block_connected(&block, height);
        }
        tracing::info!(
            wallet = %name,
            from,
            to = chain.height(),
            ms = started.elapsed().as_millis() as u64,
            "wallet rescanned"
        );
    }
    Ok((chain, Mempool::new(mempool_bytes), wallets))
}

/// The running peer-to-peer layer: the network's event loop, the router, the sync driver and
/// the file-sharing service.
struct P2p {
    handle: NetworkHandle,
    content: ContentHandle,
    index: IndexHandle,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl P2p {
    /// Leaves the Chord ring (handing its records over), closes every connection and waits for
    /// the tasks (the router and the sync driver end on the shutdown signal).
    async fn stop(self) {
        self.index.leave().await;
        self.handle.shutdown().await;
        for t in self.tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), t).await;
        }
    }
}

async fn start_network(
    config: &NodeConfig,
    net_dir: &Path,
    chain: &service::ChainHandle,
    clock: &Arc<std::sync::Mutex<crate::clock::ClockOffsets>>,
    shutdown: &Shutdown,
) -> Result<P2p> {
    let key_path = net_dir.join("p2p_key");
    let bits = config.chord_puzzle_bits;
    let key = tokio::task::spawn_blocking(move || cairn_p2p::identity::load_or_create(&key_path, bits)).await??;
    let (content_tx, content_rx) = tokio::sync::mpsc::channel(cairn_p2p::handle::CONTENT_EVENT_QUEUE);
    let (index_tx, index_rx) = tokio::sync::mpsc::channel(cairn_p2p::handle::INDEX_EVENT_QUEUE);
    let index_key = key.clone();
    let (handle, events, event_loop) = cairn_p2p::start(
        key,
        NetworkConfig {
            network: config.network,
            listen: config.listen.clone(),
            peers: config.peers.clone(),
            limits: Limits::default(),
            target_outbound: if config.connect_only { 0 } else { TARGET_OUTBOUND },
            agent: format!("/Cairn:{}/", env!("CARGO_PKG_VERSION")),
            content: Some(content_tx),
            index: Some(index_tx),
        },
    )
    .context("starting the peer-to-peer network")?;
    tracing::info!(peer_id = %handle.peer_id(), "peer-to-peer network started");
    let (sync_tx, sync_rx) = tokio::sync::mpsc::channel(crate::sync::INPUT_QUEUE);
    let router = shutdown.spawn_supervised(
        "the router",
        crate::router::run(events, chain.clone(), handle.clone(), sync_tx, shutdown.clone()),
    );
    let sync = shutdown.spawn_supervised(
        "the sync driver",
        crate::sync::SyncDriver::new(chain.clone(), handle.clone(), sync_rx, clock.clone()).run(shutdown.clone()),
    );
    let mut index_config = IndexConfig {
        vnodes: config.chord_vnodes,
        puzzle_bits: config.chord_puzzle_bits,
        ..IndexConfig::default()
    };
    index_config.chord.successors = config.chord_successors;
    let (index, index_task) = cairn_p2p::index::start(handle.clone(), index_key, index_rx, index_config);
    let (content, content_task) = crate::content::start(
        ContentConfig {
            dir: net_dir.join("content"),
            downloads: net_dir.join("downloads"),
            max_upload_rate: config.max_upload_rate,
            max_download_rate: config.max_download_rate,
            piece_size: config.piece_size,
            super_seed: config.super_seed,
        },
        handle.clone(),
        content_rx,
        Arc::new(ChordProviders(index.clone())),
        shutdown.clone(),
    )
    .await
    .context("starting file sharing")?;
    Ok(P2p {
        handle,
        content,
        index,
        tasks: vec![
            shutdown.supervise("the network event loop", event_loop),
            router,
            sync,
            shutdown.supervise("the file-sharing service", content_task),
            shutdown.supervise("the content index", index_task),
        ],
    })
}

/// Peers found through Kademlia are dialed while fewer than this many outbound peers are
/// connected (Core keeps 8 outbound full-relay connections).
const TARGET_OUTBOUND: usize = 8;

async fn start_miner(
    config: &NodeConfig,
    chain: &service::ChainHandle,
    wallet: &crate::wallet_service::WalletHandle,
    payout: Option<Address>,
    control: Arc<MinerControl>,
    shutdown: &Shutdown,
) -> Result<Miner> {
    if config.mine_threads > 0 {
        let address = match payout {
            Some(a) => a,
            None => wallet
                .run(|s| match s.wallets.first_mut() {
                    Some((_, w)) => w
                        .new_address("mining", unix_now())
                        .map_err(|e| anyhow!("creating a mining address: {e}")),
                    None => Err(anyhow!("no wallet is loaded to mine to: give --mine-to ADDRESS")),
                })
                .await
                .map_err(|e| anyhow!("{e}"))??,
        };
        tracing::info!(%address, threads = config.mine_threads, "mining to");
        control.set(MinerSettings {
            threads: config.mine_threads,
            payout: Some(address.lock()),
        });
    } else if let Some(address) = payout {
        // `setgenerate true` mines to --mine-to when given.
        control.set(MinerSettings {
            threads: 0,
            payout: Some(address.lock()),
        });
    }
    Miner::spawn(chain.clone(), config.network, config.regtest_block_time, control, shutdown.clone()).context("starting the miner")
}

/// `<netdir>/rpc.addr`: where the RPC server listens, for `cairn cli` and launchers (useful with
/// port 0). Removed on a clean exit.
struct AddrFile(PathBuf);

impl AddrFile {
    fn write(path: &Path, addr: SocketAddr) -> Result<AddrFile> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, format!("{addr}\n")).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        Ok(AddrFile(path.to_path_buf()))
    }
}

impl Drop for AddrFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
