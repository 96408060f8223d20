//! The chain service: the single owner of the chain state and the mempool, running on its own
//! thread (RocksDB and block verification never run on the async runtime). The wallet follows
//! it from its own thread ([`crate::wallet_service`]): after each job the service publishes,
//! in order, what the job did to the chain and the mempool.
//!
//! Everything else holds a cloneable [`ChainHandle`], whose interface is typed: the state
//! changes only through named operations ([`ChainHandle::submit_block`],
//! [`ChainHandle::accept_block`], [`ChainHandle::submit_tx`], [`ChainHandle::accept_txs`],
//! [`ChainHandle::set_bulk`], …), each of which applies the same bookkeeping (the mempool follows
//! the tip, events reach the wallet, a failed store stops the node, our own blocks and
//! transactions are announced). Queries run as read-only closures over a [`ChainView`] (Core
//! reads under `cs_main` the same way): they can look at anything and change nothing. Jobs go
//! through a bounded queue and run one at a time, so there are no locks on the state and every
//! change is seen by the mempool, and published to the wallet, before the next job runs. The tip
//! is also published on a watch channel so that cheap reads (`getblockcount`) and the miner's
//! "has the tip moved?" check never queue behind block processing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cairn_chain::encode::Encodable;
use cairn_chain::mempool::{MempoolError, MempoolEvent};
use cairn_chain::pow::U256;
use cairn_chain::utxo::UtxoStats;
use cairn_chain::{
    Block, BlockHash, BlockStatus, ChainError, Chainstate, ManualError, Mempool, ProcessedBlock, TipEvent, TipUpdate, Transaction, Txid,
};
use cairn_p2p::{NetworkHandle, Topic};
use tokio::sync::{mpsc, oneshot, watch};

use crate::clock::unix_now;
use crate::policy;
use crate::wallet_service::{WalletEvent, WalletHandle};

/// Most jobs waiting for the chain service.
const QUEUE: usize = 256;

/// What is known about the tip without asking the service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TipInfo {
    /// Height.
    pub height: u32,
    /// Hash.
    pub hash: BlockHash,
    /// Cumulative work of the active chain.
    pub chain_work: U256,
}

/// The state the chain service owns; only the service's thread touches it.
pub struct NodeState {
    chain: Chainstate,
    mempool: Mempool,
    /// Where the chain's and the mempool's events go, in order.
    wallet: WalletHandle,
    /// Block events of the running job, published with its mempool events when it ends.
    events: Vec<WalletEvent>,
    /// The tip moved during the running job; published after its events (see
    /// [`NodeState::publish_events`]).
    tip_moved: bool,
    tip: watch::Sender<TipInfo>,
    generation: Arc<AtomicU64>,
    stop: bool,
    /// Where this node's own blocks and transactions are announced, once the network is up.
    relay: Option<NetworkHandle>,
    /// Stopped with a fatal error when the store fails (see [`NodeState::accept_remote_block`]).
    shutdown: crate::shutdown::Shutdown,
    /// What fee rates confirmed how fast (`estimatesmartfee`).
    fees: crate::fees::FeeEstimator,
}

/// What a query sees: the chain and the mempool, read-only.
#[derive(Clone, Copy)]
pub struct ChainView<'a> {
    /// The chain.
    pub chain: &'a Chainstate,
    /// The mempool.
    pub mempool: &'a Mempool,
    /// The fee estimator.
    pub fees: &'a crate::fees::FeeEstimator,
}

impl ChainView<'_> {
    /// Whether a chain with `work` would be worth downloading: more work than our tip, and at
    /// least the network's minimum ([`cairn_chain::Params::min_chain_work`], Core's
    /// `nMinimumChainWork`).
    pub fn more_work_than_ours(&self, work: U256) -> bool {
        work > self.chain.tip_chain_work() && work >= self.chain.params().min_chain_work
    }
}

/// Where a block from a peer came from: gossip (unasked: a block that would not give us a chain
/// with at least our tip's work is not stored) or a download sync asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockSource {
    /// Announced by gossip.
    Gossip,
    /// Downloaded on request.
    Requested,
}

/// What became of a block from a peer.
#[derive(Debug)]
pub struct BlockAccepted {
    /// The chain's answer; a gossiped block stored on a branch already known to be invalid is
    /// reported as [`BlockError::KnownInvalid`] (not worth forwarding).
    pub result: Result<ProcessedBlock, ChainError>,
    /// The block's height, if it is in the block index now.
    pub height: Option<u32>,
}

/// What became of a batch of transactions from a peer.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TxsAccepted {
    /// How many entered the mempool.
    pub accepted: usize,
    /// The first refusal that shows the peer misbehaved ([`policy::judge_tx`]); the rest of the
    /// batch was not looked at.
    pub misbehaved: Option<String>,
}

type Job = Box<dyn FnOnce(&mut NodeState) + Send>;

/// The chain service has stopped (the node is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the chain service has stopped")]
pub struct ServiceStopped;

/// A cloneable handle to the chain service.
#[derive(Clone, Debug)]
pub struct ChainHandle {
    jobs: mpsc::Sender<Job>,
    tip: watch::Receiver<TipInfo>,
    generation: Arc<AtomicU64>,
    genesis: BlockHash,
    /// Height of the highest header sync has validated on a branch with more work than our tip
    /// then had (Core's best header, for `getblockchaininfo`'s `headers`).
    best_header: Arc<std::sync::atomic::AtomicU32>,
}

impl NodeState {
    /// Validates and stores a block this node produced (mined, or submitted over RPC), moves the
    /// tip if it has the most work, brings the mempool and the wallet along, and announces the
    /// block to the network.
    ///
    /// # Errors
    /// The block is invalid, or the store failed.
    fn submit_block(&mut self, block: Block) -> Result<ProcessedBlock, ChainError> {
        let bytes = self.relay.is_some().then(|| block.encode());
        // Our own block is processed as if asked for (Core's `submitblock` forces processing
        // too): a block mined on a side branch on purpose is stored whatever its work.
        let processed = self.accept_block(block, true)?;
        if processed.status == BlockStatus::Accepted
            && let (Some(net), Some(bytes)) = (&self.relay, bytes)
        {
            net.publish(Topic::Blocks, bytes);
        }
        Ok(processed)
    }

    /// [`NodeState::submit_block`] for a block from a peer: not announced here, since gossip
    /// forwards it once the router accepts it.
    ///
    /// # Errors
    /// The block is invalid, or the store failed.
    ///
    /// A store failure (a full disk, an I/O error) stops the node, as Core's fatal-error path
    /// does: RocksDB applied none of the failed batch, so the disk holds the last good tip, but
    /// memory may be ahead of it (a tip the mempool and the miner would build on). Nothing more
    /// is written; the node shuts down and exits non-zero, and on restart reopens at the stored
    /// tip.
    fn accept_remote_block(&mut self, block: Block) -> Result<ProcessedBlock, ChainError> {
        self.accept_block(block, false)
    }

    /// [`NodeState::accept_remote_block`] for a block sync asked a peer for
    /// ([`Chainstate::process_requested_block`]).
    ///
    /// # Errors
    /// The block is invalid, or the store failed.
    fn accept_requested_block(&mut self, block: Block) -> Result<ProcessedBlock, ChainError> {
        self.accept_block(block, true)
    }

    /// `invalidateblock`/`reconsiderblock`: `f` moves the tip by hand; the mempool, the wallet
    /// and everyone watching the tip follow as for any reorg.
    fn by_hand(&mut self, f: impl FnOnce(&mut Chainstate) -> Result<TipUpdate, ManualError>) -> Result<u32, ManualError> {
        let update = match f(&mut self.chain) {
            Ok(u) => u,
            Err(e) => {
                // Only the store fails part-way (invalid blocks are reported in the update): the
                // chain state may have moved without the mempool and wallets, so the node stops.
                if let ManualError::Chain(ChainError::Store(s)) = &e {
                    self.store_failed(s);
                }
                return Err(e);
            }
        };
        let result = self.apply_update(&update);
        if let Err(ChainError::Store(e)) = &result {
            self.store_failed(e);
        }
        result?;
        Ok(self.chain.height())
    }

    fn accept_block(&mut self, block: Block, requested: bool) -> Result<ProcessedBlock, ChainError> {
        let now = unix_now();
        let processed = if requested {
            self.chain.process_requested_block(block, now)
        } else {
            self.chain.process_block(block, now)
        };
        let result = processed.and_then(|processed| self.apply_update(&processed.update).map(|()| processed));
        if let Err(ChainError::Store(e)) = &result {
            self.store_failed(e);
        }
        result
    }

    /// The store failed: no further job runs, and the node stops with the error.
    fn store_failed(&mut self, e: &cairn_chain::StoreError) {
        self.stop = true;
        self.shutdown.fatal(format!("writing or reading the chain state failed: {e}"));
    }

    /// Admits a transaction of this node's (RPC, wallet) to the mempool, tells the wallet, and
    /// announces it.
    ///
    /// # Errors
    /// The transaction is rejected, or the store failed.
    fn submit_transaction(&mut self, tx: Transaction) -> Result<Txid, MempoolError> {
        let bytes = self.relay.is_some().then(|| tx.encode());
        let txid = self.accept_remote_tx(tx)?;
        if let (Some(net), Some(bytes)) = (&self.relay, bytes) {
            net.publish(Topic::Transactions, bytes);
        }
        Ok(txid)
    }

    /// Admits a transaction from a peer (not announced: gossip forwards it).
    ///
    /// # Errors
    /// The transaction is rejected, or the store failed.
    fn accept_remote_tx(&mut self, tx: Transaction) -> Result<Txid, MempoolError> {
        match self.mempool.accept(tx, &self.chain, unix_now()) {
            Ok(txid) => Ok(txid),
            Err(MempoolError::Store(e)) => {
                self.store_failed(&e);
                Err(MempoolError::Store(e))
            }
            Err(e) => Err(e),
        }
    }

    /// Height of the tip (for the shutdown message, once the service has stopped).
    pub fn height(&self) -> u32 {
        self.chain.height()
    }

    fn view(&self) -> ChainView<'_> {
        ChainView {
            chain: &self.chain,
            mempool: &self.mempool,
            fees: &self.fees,
        }
    }

    /// Starts announcing this node's blocks and transactions on the network.
    fn set_relay(&mut self, net: NetworkHandle) {
        self.relay = Some(net);
    }

    /// Applies a tip change to the mempool, queues the steps for the wallet, then publishes the
    /// new tip.
    fn apply_update(&mut self, update: &TipUpdate) -> Result<(), ChainError> {
        if !update.tip_changed() {
            return Ok(());
        }
        // In the order the chain took the steps (see `TipUpdate`).
        self.events.extend(update.events.iter().map(|event| match event {
            TipEvent::Connected { block, height } => WalletEvent::BlockConnected {
                block: block.clone(),
                height: *height,
            },
            TipEvent::Disconnected { block, height } => WalletEvent::BlockDisconnected {
                block: block.clone(),
                height: *height,
            },
        }));
        let dropped = self.mempool.update_for_tip(update, &self.chain, unix_now())?;
        for (txid, reason) in dropped {
            tracing::debug!(%txid, %reason, "transaction left the mempool after a reorg");
        }
        self.tip_moved = true;
        Ok(())
    }

    /// Publishes what the job just run did: to the wallet the chain's steps, then the mempool's
    /// changes (which follow from them); then the new tip to everyone else. Runs before the job's
    /// caller gets its answer, and the tip is published last, so whoever has seen a block (as a
    /// result, in `getblockcount`, or from the miner) and then asks the wallet finds it there:
    /// Core's wallet RPCs wait for the same (`BlockUntilSyncedToCurrentChain`).
    fn publish_events(&mut self) {
        let mut events = std::mem::take(&mut self.events);
        let pool_events = self.mempool.take_events();
        self.learn_fees(&events, &pool_events);
        events.extend(pool_events.into_iter().map(|e| match e {
            MempoolEvent::Added(tx) => WalletEvent::TxAdded(tx),
            MempoolEvent::Removed(txid) => WalletEvent::TxRemoved(txid),
        }));
        if !self.wallet.publish_blocking(events) {
            tracing::debug!("the wallet service has stopped; events not delivered");
        }
        if std::mem::take(&mut self.tip_moved) {
            self.publish_tip();
        }
    }

    /// Feeds the fee estimator: blocks connected confirm what it watches; transactions entering
    /// the pool are watched from the tip they entered at; those leaving otherwise are forgotten.
    fn learn_fees(&mut self, blocks: &[WalletEvent], pool: &[MempoolEvent]) {
        for e in blocks {
            if let WalletEvent::BlockConnected { block, height } = e {
                self.fees.connected(block, *height);
            }
        }
        for e in pool {
            match e {
                MempoolEvent::Added(tx) => {
                    let txid = tx.compute_txid();
                    if let Some(entry) = self.mempool.get(&txid) {
                        self.fees.entered(txid, entry.fee_rate(), entry.height);
                    }
                }
                MempoolEvent::Removed(txid) => self.fees.left(txid),
            }
        }
    }

    fn publish_tip(&mut self) {
        let info = TipInfo {
            height: self.chain.height(),
            hash: self.chain.tip_hash(),
            chain_work: self.chain.tip_chain_work(),
        };
        self.tip.send_if_modified(|cur| {
            if *cur == info {
                false
            } else {
                *cur = info;
                true
            }
        });
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

/// The service's side of the queue, before the state exists: the node starts the RPC server
/// (answering "warming up") while the chain opens, then [`PendingService::start`]s the thread.
pub struct PendingService {
    jobs: mpsc::Receiver<Job>,
    tip: watch::Sender<TipInfo>,
    generation: Arc<AtomicU64>,
}

/// Creates the queue: a handle for everyone else, and the pending service.
pub fn channel(network: cairn_chain::Network) -> (ChainHandle, PendingService) {
    let (jobs, rx) = mpsc::channel::<Job>(QUEUE);
    let genesis = network.params().genesis_hash();
    let tip = watch::Sender::new(TipInfo {
        height: 0,
        hash: genesis,
        chain_work: U256::default(),
    });
    let generation = Arc::new(AtomicU64::new(0));
    let handle = ChainHandle {
        jobs,
        tip: tip.subscribe(),
        generation: generation.clone(),
        genesis,
        best_header: Arc::new(std::sync::atomic::AtomicU32::new(0)),
    };
    (handle, PendingService { jobs: rx, tip, generation })
}

impl PendingService {
    /// Starts the service thread over the opened parts (the wallet already caught up with the
    /// chain). It runs until [`ChainHandle::shutdown`] and then returns the state, so the caller
    /// decides when RocksDB closes.
    ///
    /// # Errors
    /// The thread cannot be spawned.
    pub fn start(
        self,
        chain: Chainstate,
        mut mempool: Mempool,
        wallet: WalletHandle,
        shutdown: crate::shutdown::Shutdown,
    ) -> std::io::Result<std::thread::JoinHandle<NodeState>> {
        mempool.record_events();
        let mut state = NodeState {
            chain,
            mempool,
            wallet,
            events: Vec::new(),
            tip_moved: false,
            tip: self.tip,
            generation: self.generation,
            stop: false,
            relay: None,
            shutdown: shutdown.clone(),
            fees: crate::fees::FeeEstimator::default(),
        };
        state.publish_tip();
        let mut rx = self.jobs;
        std::thread::Builder::new().name("chain".into()).spawn(move || {
            shutdown.guard("the chain service", move || {
                while let Some(job) = rx.blocking_recv() {
                    // The job publishes its events before it answers (see `ChainHandle::run`).
                    job(&mut state);
                    if state.stop {
                        break;
                    }
                }
                state
            })
        })
    }
}

impl ChainHandle {
    /// Sync validated headers up to `height` on a branch worth downloading.
    pub fn note_header(&self, height: u32) {
        self.best_header.fetch_max(height, Ordering::Relaxed);
    }

    /// Treats `hash` as invalid (`invalidateblock`); the best header falls back to the new tip,
    /// as Core's does.
    ///
    /// # Errors
    /// The service has stopped.
    pub async fn invalidate_block(&self, hash: BlockHash) -> Result<Result<(), ManualError>, ServiceStopped> {
        let result = self.run(move |s| s.by_hand(|c| c.invalidate_block(&hash))).await?;
        Ok(result.map(|height| self.best_header.store(height, Ordering::Relaxed)))
    }

    /// Clears invalid marks around `hash` (`reconsiderblock`).
    ///
    /// # Errors
    /// The service has stopped.
    pub async fn reconsider_block(&self, hash: BlockHash) -> Result<Result<(), ManualError>, ServiceStopped> {
        let result = self.run(move |s| s.by_hand(|c| c.reconsider_block(&hash))).await?;
        Ok(result.map(|height| {
            self.best_header.fetch_max(height, Ordering::Relaxed);
        }))
    }

    /// The highest header sync has validated on a branch worth downloading (0 if none).
    pub fn best_header(&self) -> u32 {
        self.best_header.load(Ordering::Relaxed)
    }

    /// Runs `f` on the service thread; its events are published before it answers.
    async fn run<R, F>(&self, f: F) -> Result<R, ServiceStopped>
    where
        F: FnOnce(&mut NodeState) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |s| {
                let result = f(s);
                s.publish_events();
                let _ = tx.send(result);
            }))
            .await
            .map_err(|_| ServiceStopped)?;
        rx.await.map_err(|_| ServiceStopped)
    }

    /// [`ChainHandle::run`] for threads outside the runtime (the miner).
    fn run_blocking<R, F>(&self, f: F) -> Result<R, ServiceStopped>
    where
        F: FnOnce(&mut NodeState) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .blocking_send(Box::new(move |s| {
                let result = f(s);
                s.publish_events();
                let _ = tx.send(result);
            }))
            .map_err(|_| ServiceStopped)?;
        rx.blocking_recv().map_err(|_| ServiceStopped)
    }

    /// Runs the query `f` on a read-only view of the chain and the mempool.
    ///
    /// # Errors
    /// The service has stopped.
    pub async fn read<R, F>(&self, f: F) -> Result<R, ServiceStopped>
    where
        F: FnOnce(ChainView<'_>) -> R + Send + 'static,
        R: Send + 'static,
    {
        self.run(move |s| f(s.view())).await
    }

    /// [`ChainHandle::read`] for threads outside the runtime (the miner).
    ///
    /// # Errors
    /// The service has stopped.
    pub fn read_blocking<R, F>(&self, f: F) -> Result<R, ServiceStopped>
    where
        F: FnOnce(ChainView<'_>) -> R + Send + 'static,
        R: Send + 'static,
    {
        self.run_blocking(move |s| f(s.view()))
    }

    /// Validates and stores a block this node produced (mined, or submitted over RPC) whatever
    /// its work (Core's `submitblock` forces processing too), moves the tip if it has the most
    /// work, and announces the block.
    ///
    /// # Errors
    /// The service has stopped.
    pub async fn submit_block(&self, block: Block) -> Result<Result<ProcessedBlock, ChainError>, ServiceStopped> {
        self.run(move |s| s.submit_block(block)).await
    }

    /// Adds a fee delta to a transaction's rank in the pool (`prioritisetransaction`); false if
    /// the pool's table of deltas is full.
    ///
    /// # Errors
    /// The service has stopped.
    pub async fn prioritise(&self, txid: Txid, delta: i64) -> Result<bool, ServiceStopped> {
        self.run(move |s| s.mempool.prioritise(txid, delta)).await
    }

    /// [`ChainHandle::submit_block`] for threads outside the runtime (the miner).
    ///
    /// # Errors
    /// The service has stopped.
    pub fn submit_block_blocking(&self, block: Block) -> Result<Result<ProcessedBlock, ChainError>, ServiceStopped> {
        self.run_blocking(move |s| s.submit_block(block))
    }

    /// Takes a block from a peer (not announced here: gossip forwards what the router accepts).
    ///
    /// # Errors
    /// The service has stopped.
    pub async fn accept_block(&self, block: Block, source: BlockSource) -> Result<BlockAccepted, ServiceStopped> {
        self.run(move |s| {
            let hash = block.block_hash();
            let result = match source {
                BlockSource::Gossip => match s.accept_remote_block(block) {
                    Ok(p) if p.status == BlockStatus::Accepted && s.chain.is_known_invalid(&hash) => {
                        Err(ChainError::Block(cairn_chain::BlockError::KnownInvalid(hash)))
                    }
                    other => other,
                },
                BlockSource::Requested => s.accept_requested_block(block),
            };
            let height = s.chain.index_record(&hash).map(|r| r.height);
            BlockAccepted { result, height }
        })
        .await
    }

    /// Admits a transaction of this node's (RPC, wallet) to the mempool and announces it.
    ///
    /// # Errors
    /// The service has stopped.
    pub async fn submit_tx(&self, tx: Transaction) -> Result<Result<Txid, MempoolError>, ServiceStopped> {
        self.run(move |s| s.submit_transaction(tx)).await
    }

    /// [`ChainHandle::submit_tx`] after `check` has looked at the transaction against the chain
    /// and the mempool in the same job (nothing changes between the two): `check` answers
    /// `Ok(None)` to go on, `Ok(Some(txid))` to answer without admitting, or an error; a refusal
    /// by the mempool is turned into the caller's error by `refused`.
    ///
    /// # Errors
    /// The service has stopped.
    pub async fn submit_tx_checked<E, C, M>(&self, tx: Transaction, check: C, refused: M) -> Result<Result<Txid, E>, ServiceStopped>
    where
        C: FnOnce(ChainView<'_>, &Transaction) -> Result<Option<Txid>, E> + Send + 'static,
        M: FnOnce(MempoolError) -> E + Send + 'static,
        E: Send + 'static,
    {
        self.run(move |s| match check(s.view(), &tx)? {
            Some(txid) => Ok(txid),
            None => s.submit_transaction(tx).map_err(refused),
        })
        .await
    }

    /// Takes transactions from a peer, in order, until one shows the peer misbehaved (not
    /// announced here: gossip forwards what the router accepts).
    ///
    /// # Errors
    /// The service has stopped.
    pub async fn accept_txs(&self, txs: Vec<Transaction>) -> Result<TxsAccepted, ServiceStopped> {
        self.run(move |s| {
            let mut outcome = TxsAccepted::default();
            for tx in txs {
                if s.stop {
                    break;
                }
                match s.accept_remote_tx(tx) {
                    Ok(_) => outcome.accepted += 1,
                    Err(e) => {
                        if let policy::TxJudgement::Misbehaved(why) = policy::judge_tx::<()>(&Err(e)) {
                            outcome.misbehaved = Some(why);
                            break;
                        }
                    }
                }
            }
            outcome
        })
        .await
    }

    /// Takes one transaction from a peer: [`ChainHandle::accept_txs`] with the refusal itself.
    ///
    /// # Errors
    /// The service has stopped.
    pub async fn accept_tx(&self, tx: Transaction) -> Result<Result<Txid, MempoolError>, ServiceStopped> {
        self.run(move |s| s.accept_remote_tx(tx)).await
    }

    /// Switches the store's bulk-download mode (see [`Chainstate::set_bulk`]); a failed write
    /// stops the node.
    ///
    /// # Errors
    /// The service has stopped.
    pub async fn set_bulk(&self, on: bool) -> Result<Result<(), cairn_chain::StoreError>, ServiceStopped> {
        self.run(move |s| {
            let result = s.chain.set_bulk(on);
            if let Err(e) = &result {
                // Leaving bulk mode writes the coins cache out: a failure is a store failure.
                s.store_failed(e);
            }
            result
        })
        .await
    }

    /// The UTXO set's digest and totals at the tip (height, hash), after writing the coins
    /// cache out (as Core's `gettxoutsetinfo` flushes). A failed write stops the node.
    ///
    /// # Errors
    /// The service has stopped.
    pub async fn utxo_stats(&self) -> Result<Result<(UtxoStats, u32, BlockHash), cairn_chain::StoreError>, ServiceStopped> {
        self.run(|s| match s.chain.utxo_stats() {
            Ok(stats) => Ok((stats, s.chain.height(), s.chain.tip_hash())),
            Err(e) => {
                s.store_failed(&e);
                Err(e)
            }
        })
        .await
    }

    /// Starts announcing this node's blocks and transactions on the network.
    ///
    /// # Errors
    /// The service has stopped.
    pub async fn set_relay(&self, net: NetworkHandle) -> Result<(), ServiceStopped> {
        self.run(move |s| s.set_relay(net)).await
    }

    /// The current tip, without queueing.
    pub fn tip(&self) -> TipInfo {
        self.tip.borrow().clone()
    }

    /// The genesis block of the chain.
    pub fn genesis(&self) -> BlockHash {
        self.genesis
    }

    /// A counter that moves whenever the tip does.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Asks the service to finish the jobs already queued and stop; jobs sent later fail with
    /// [`ServiceStopped`].
    pub async fn shutdown(&self) {
        let _ = self.run(|s| s.stop = true).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    use cairn_chain::StoreOptions;
    use cairn_chain::miner::{create_template, mine};
    use cairn_chain::{Lock, Network, PubkeyHash};

    use super::*;

    /// The answer to a job that moved the tip comes only after the job's events are in the
    /// wallet's queue: with the queue full, the caller waits until the wallet has room (so a
    /// wallet call made after the answer sees the block). Fails if the answer is sent first.
    #[test]
    fn a_job_answers_only_after_its_events_are_queued_for_the_wallet() {
        let dir = tempfile::tempdir().unwrap();
        let chain = Chainstate::open(dir.path(), Network::Regtest, StoreOptions::default()).unwrap();
        let (handle, pending) = channel(Network::Regtest);
        let (wallet, mut wallet_queue) = crate::wallet_service::channel();
        for _ in 0..crate::wallet_service::QUEUE {
            assert!(wallet.publish_blocking(vec![WalletEvent::TxRemoved(Txid::from_byte_array([7; 32]))]));
        }
        let thread = pending
            .start(chain, Mempool::new(1 << 20), wallet, crate::shutdown::Shutdown::default())
            .unwrap();
        let (answered, answer) = std::sync::mpsc::channel();
        let (job_done, job_ended) = std::sync::mpsc::channel();
        let caller = {
            let handle = handle.clone();
            std::thread::spawn(move || {
                let result = handle.run_blocking(move |s| {
                    let payout = Lock::PubkeyHash(PubkeyHash::from_byte_array([1; 20]));
                    let template = create_template(&s.chain, &s.mempool, &payout, unix_now(), b"");
                    let block = mine(&template, 1, &|| false, &AtomicU64::new(0)).unwrap();
                    let status = s.submit_block(block).map(|p| p.status);
                    let _ = job_done.send(());
                    status
                });
                let _ = answered.send(handle.tip().height);
                result
            })
        };
        // The job itself has finished; its answer must still wait for the wallet's room.
        job_ended.recv_timeout(Duration::from_secs(30)).unwrap();
        assert!(
            answer.recv_timeout(Duration::from_millis(300)).is_err(),
            "answered while the block's events were not yet queued"
        );
        assert_eq!(handle.tip().height, 0, "the tip is published after the events");
        let mut events = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !events.iter().any(|e| matches!(e, WalletEvent::BlockConnected { height: 1, .. })) {
            assert!(std::time::Instant::now() < deadline, "the block's events never came");
            events.extend(wallet_queue.drain_events());
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            answer.recv_timeout(Duration::from_secs(30)).unwrap(),
            1,
            "the tip is published with the answer"
        );
        assert!(caller.join().unwrap().is_ok());
        drop(wallet_queue);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(handle.shutdown());
        thread.join().unwrap();
    }
}
