//! The node's implementation of the RPC traits in `cairn_rpc::api`, one file per area. Every
//! method that touches the chain, mempool or wallet runs as one job on the chain service, so it
//! sees a consistent state; `getblockcount` and `getbestblockhash` read the published tip.

mod blockchain;
mod chord;
mod control;
pub mod convert;
mod files;
mod mempool;
mod mining;
mod network;
mod rawtx;
mod template;
mod util;
mod wallet;

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
use jsonrpsee::RpcModule;

use crate::service::{ChainHandle, ChainView};
use crate::shutdown::Shutdown;

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

    /// Runs `f` on the wallet service, after every chain event published before the call.
    async fn with_wallet<R, F>(&self, f: F) -> RpcResult<R>
    where
        F: FnOnce(&mut crate::wallet_service::WalletState) -> RpcResult<R> + Send + 'static,
        R: Send + 'static,
    {
        self.wallet.run(f).await.map_err(convert::stopped)?
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
