//! The node's implementation of the RPC traits in `cairn_rpc::api`, one file per area. Every
//! method that touches the chain, mempool or wallet runs as one job on the chain service, so it
//! sees a consistent state; `getblockcount` and `getbestblockhash` read the published tip.

mod anchors;
mod blockchain;
mod chord;
mod control;
pub mod convert;
pub mod dashboard;
mod encryption;
mod files;
mod mempool;
mod mining;
mod network;
mod rawtx;
mod template;
mod util;
mod wallet;
mod wallet_tools;
mod wallets;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use cairn_chain::Network;
use cairn_p2p::NetworkHandle;
use cairn_rpc::api::{
    BlockchainApiServer, ChordApiServer, ControlApiServer, FilesApiServer, MempoolApiServer, MiningApiServer, NetworkApiServer,
    RawTransactionApiServer, UtilApiServer, WalletApiServer,
};
use cairn_rpc::{RpcError, RpcResult};
use jsonrpsee::{Extensions, RpcModule};

use crate::service::{ChainHandle, ChainView};
use crate::shutdown::Shutdown;

/// The wallet named by the request's endpoint, if any.
fn endpoint_wallet(ext: &Extensions) -> Option<String> {
    ext.get::<cairn_rpc::WalletEndpoint>().and_then(|e| e.0.clone())
}

/// Core's errors for a wallet that cannot be chosen.
fn select_err(e: crate::wallet_service::SelectError) -> RpcError {
    use crate::wallet_service::SelectError;
    use cairn_rpc::error::code;
    match e {
        SelectError::NotLoaded => RpcError::new(code::WALLET_NOT_FOUND, "Requested wallet does not exist or is not loaded"),
        SelectError::NoneLoaded => RpcError::new(
            code::WALLET_NOT_FOUND,
            "No wallet is loaded. Load a wallet using loadwallet or create a new one with createwallet. (Note: A default wallet is no longer automatically created)",
        ),
        SelectError::NotSpecified => RpcError::new(
            code::WALLET_NOT_SPECIFIED,
            "Multiple wallets are loaded. Please select which wallet to use by requesting the RPC through the /wallet/<walletname> URI path.",
        ),
    }
}

/// What the RPC methods need.
#[derive(Clone, Debug)]
pub struct RpcContext {
    /// The miner's settings (`setgenerate`) and hash rate.
    pub miner: Arc<crate::miner::MinerControl>,
    /// The chain service.
    pub chain: ChainHandle,
    /// The network.
    pub network: Network,
    /// When the node started.
    pub started: Instant,
    /// The node's shutdown signal.
    pub shutdown: Shutdown,
    /// The RocksDB directory (for `size_on_disk`).
    pub chainstate_dir: PathBuf,
    /// The network, once started (the RPC server answers "warming up" before that).
    pub net: Arc<OnceLock<NetworkHandle>>,
    /// File sharing, once started.
    pub content: Arc<OnceLock<crate::content::ContentHandle>>,
    /// The content index (Chord ring, flooded search), once started.
    pub index: Arc<OnceLock<cairn_p2p::IndexHandle>>,
    /// Peers' clocks against ours.
    pub clock: Arc<std::sync::Mutex<crate::clock::ClockOffsets>>,
    /// The wallet service.
    pub wallet: crate::wallet_service::WalletHandle,
    /// The network's data directory (`wallets/`, `settings.json`).
    pub net_dir: std::path::PathBuf,
    /// Names of the wallets being created or loaded now (Core's "Wallet already loading.").
    pub loading: Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
    /// Set once initial block download is over (Core latches it: a node that caught up once does
    /// not go back to "initial" when its tip ages).
    pub ibd_over: Arc<std::sync::atomic::AtomicBool>,
    /// The RPC calls in progress (`getrpcinfo`), shared with the server.
    pub active: cairn_rpc::ActiveCommands,
    /// Held across the steps of a payment (build here, admit there, record here), so two
    /// payments never pick the same coins.
    pub send_lock: Arc<tokio::sync::Mutex<()>>,
}

impl RpcContext {
    /// Runs the query `f` on a read-only view of the chain and the mempool.
    async fn with_state<R, F>(&self, f: F) -> RpcResult<R>
    where
        F: FnOnce(ChainView<'_>) -> RpcResult<R> + Send + 'static,
        R: Send + 'static,
    {
        self.chain.read(f).await.map_err(convert::stopped)?
    }

    /// Runs `f` on the wallet service, after every chain event published before the call, with
    /// the wallet the request's endpoint names (`/wallet/<name>`), or without a name the only
    /// one loaded (Core's `GetWalletForJSONRPCRequest`: -18 when it is not loaded or none is,
    /// -19 when several are and none is named).
    async fn with_wallet<R, F>(&self, ext: &Extensions, f: F) -> RpcResult<R>
    where
        F: FnOnce(crate::wallet_service::Selected<'_>) -> RpcResult<R> + Send + 'static,
        R: Send + 'static,
    {
        let name = endpoint_wallet(ext);
        self.wallet
            .run(move |s| s.select(name.as_deref()).map_err(select_err).and_then(f))
            .await
            .map_err(convert::stopped)?
    }

    /// Runs `f` on the wallet named `name` (chosen earlier, by a call's endpoint), so the later
    /// steps of a call reach the same wallet whatever was loaded or unloaded in between.
    async fn on_named<R: Send + 'static>(
        &self,
        name: String,
        f: impl FnOnce(&mut cairn_wallet::Wallet) -> RpcResult<R> + Send + 'static,
    ) -> RpcResult<R> {
        self.wallet
            .run(move |s| s.select(Some(&name)).map_err(select_err).and_then(|w| f(w.wallet)))
            .await
            .map_err(convert::stopped)?
    }

    /// Every method, ready for the server.
    ///
    /// # Errors
    /// Two areas registering the same method name, or the methods registered differing from
    /// those `cairn_rpc::spec` describes (programming errors, caught by every test that starts
    /// a node: a method missing from the table would have no help and unchecked parameters).
    pub fn into_module(self) -> Result<RpcModule<()>, RpcError> {
        let mut module = RpcModule::new(());
        let merge =
            |m: &mut RpcModule<()>, other: jsonrpsee::server::Methods| m.merge(other).map_err(|e| RpcError::internal(e.to_string()));
        merge(&mut module, BlockchainApiServer::into_rpc(self.clone()).into())?;
        merge(&mut module, MempoolApiServer::into_rpc(self.clone()).into())?;
        merge(&mut module, RawTransactionApiServer::into_rpc(self.clone()).into())?;
        merge(&mut module, MiningApiServer::into_rpc(self.clone()).into())?;
        merge(&mut module, WalletApiServer::into_rpc(self.clone()).into())?;
        merge(&mut module, UtilApiServer::into_rpc(self.clone()).into())?;
        merge(&mut module, NetworkApiServer::into_rpc(self.clone()).into())?;
        merge(&mut module, FilesApiServer::into_rpc(self.clone()).into())?;
        merge(&mut module, ChordApiServer::into_rpc(self.clone()).into())?;
        merge(&mut module, ControlApiServer::into_rpc(self).into())?;
        let registered: std::collections::BTreeSet<&str> = module.method_names().collect();
        let described: std::collections::BTreeSet<&str> = cairn_rpc::spec::all().map(|m| m.name).collect();
        if registered != described {
            return Err(RpcError::internal(format!(
                "methods without a spec: {:?}; specs without a method: {:?}",
                registered.difference(&described).collect::<Vec<_>>(),
                described.difference(&registered).collect::<Vec<_>>()
            )));
        }
        Ok(module)
    }
}
