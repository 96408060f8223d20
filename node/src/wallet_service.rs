//! The wallet service: the wallet on its own thread, following the chain's events in order.
//!
//! The chain service publishes what happens to the chain and the mempool as an ordered stream
//! of [`WalletEvent`]s (Core's validation interface: `BlockConnected`, `BlockDisconnected`,
//! `TransactionAddedToMempool`, `TransactionRemovedFromMempool`). The wallet is a subscriber:
//! its thread applies the events one at a time, in the order the chain took the steps, so a
//! reorg that fails halfway leaves the wallet where the chain is. RPC wallet calls run on the
//! same queue as the events ([`WalletHandle::run`]): a call made after a block was processed
//! sees that block, and wallet work (sorting a long history, building and signing a payment)
//! never holds up the chain.
//!
//! The wallet never waits for the chain, so the two threads cannot deadlock: what needs both
//! (a payment: build and sign here, admit to the mempool there, record here) is orchestrated by
//! the caller, one step on each queue. The queue is bounded ([`QUEUE`]); when it is full the
//! chain service waits for the wallet to catch up rather than dropping an event.

use cairn_chain::{Block, BlockHash, Transaction, Txid};
use cairn_wallet::Wallet;
use tokio::sync::{mpsc, oneshot};

use crate::clock::unix_now;
use crate::service::{ChainHandle, ServiceStopped};

/// Most messages (event batches and jobs) waiting for the wallet.
pub const QUEUE: usize = 1024;

/// What the chain and the mempool did, in order.
#[derive(Debug, Clone)]
pub enum WalletEvent {
    /// A block joined the active chain at `height`.
    BlockConnected {
        /// The block.
        block: Block,
        /// Its height.
        height: u32,
    },
    /// A block, the tip at `height`, left the active chain.
    BlockDisconnected {
        /// The block.
        block: Block,
        /// Its height.
        height: u32,
    },
    /// A transaction entered the mempool.
    TxAdded(Transaction),
    /// A transaction left the mempool (confirmed, replaced, evicted or invalid after a reorg).
    TxRemoved(Txid),
}

/// The loaded wallets, by name, in the order they were loaded.
pub type LoadedWallets = Vec<(String, Wallet)>;

/// Most wallets loaded at once (`createwallet`/`loadwallet` refuse more).
pub const MAX_LOADED: usize = 64;

/// The loaded wallets and the last block they processed (Core's `m_last_block_processed`):
/// balances and confirmations are counted against it. Every loaded wallet has processed the same
/// events: a wallet joins at the point of the event stream its rescan reached (see
/// [`crate::wallet_load`]).
pub struct WalletState {
    /// The loaded wallets, by name, in the order they were loaded (`listwallets`).
    pub wallets: LoadedWallets,
    /// Height of the last block processed.
    pub tip_height: u32,
    /// Hash of the last block processed.
    pub tip_hash: BlockHash,
}

/// One wallet chosen for a call, with the tip it has processed.
pub struct Selected<'a> {
    /// Its name.
    pub name: &'a str,
    /// The wallet.
    pub wallet: &'a mut Wallet,
    /// Height of the last block processed.
    pub tip_height: u32,
    /// Hash of the last block processed.
    pub tip_hash: BlockHash,
}

/// Why no wallet could be chosen for a call (Core's `GetWalletForJSONRPCRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectError {
    /// The name asked for is not loaded.
    NotLoaded,
    /// No name was given and no wallet is loaded.
    NoneLoaded,
    /// No name was given and more than one wallet is loaded.
    NotSpecified,
}

impl WalletState {
    /// Applies one event to every loaded wallet.
    pub fn apply(&mut self, event: &WalletEvent) {
        for (_, wallet) in &mut self.wallets {
            match event {
                WalletEvent::BlockConnected { block, height } => wallet.block_connected(block, *height),
                WalletEvent::BlockDisconnected { block, height } => wallet.block_disconnected(block, *height),
                WalletEvent::TxAdded(tx) => wallet.tx_accepted_to_mempool(tx, unix_now()),
                WalletEvent::TxRemoved(txid) => wallet.tx_left_mempool(txid),
            }
        }
        match event {
            WalletEvent::BlockConnected { block, height } => {
                self.tip_height = *height;
                self.tip_hash = block.block_hash();
            }
            WalletEvent::BlockDisconnected { block, height } => {
                self.tip_height = height.saturating_sub(1);
                self.tip_hash = block.header.prev_blockhash;
            }
            WalletEvent::TxAdded(_) | WalletEvent::TxRemoved(_) => {}
        }
    }

    /// The wallet named `name`, or without a name the only one loaded.
    ///
    /// # Errors
    /// See [`SelectError`].
    pub fn select(&mut self, name: Option<&str>) -> Result<Selected<'_>, SelectError> {
        let (tip_height, tip_hash) = (self.tip_height, self.tip_hash);
        let index = match name {
            Some(name) => self.wallets.iter().position(|(n, _)| n == name).ok_or(SelectError::NotLoaded)?,
            None => match self.wallets.len() {
                0 => return Err(SelectError::NoneLoaded),
                1 => 0,
                _ => return Err(SelectError::NotSpecified),
            },
        };
        let (name, wallet) = &mut self.wallets[index];
        wallet.relock_if_expired(unix_now());
        Ok(Selected {
            name,
            wallet,
            tip_height,
            tip_hash,
        })
    }

    /// Locks the wallets whose unlock time is up (run every second: an unlocked master key
    /// stays in memory no longer than asked).
    pub fn relock_expired(&mut self) {
        let now = unix_now();
        for (_, w) in &mut self.wallets {
            w.relock_if_expired(now);
        }
    }

    /// Whether a wallet named `name` is loaded.
    pub fn is_loaded(&self, name: &str) -> bool {
        self.wallets.iter().any(|(n, _)| n == name)
    }
}

type Job = Box<dyn FnOnce(&mut WalletState) + Send>;

enum Msg {
    Events(Vec<WalletEvent>),
    Job(Job),
    Stop,
}

/// A cloneable handle to the wallet service.
#[derive(Clone, Debug)]
pub struct WalletHandle {
    queue: mpsc::Sender<Msg>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Events(e) => write!(f, "Events({})", e.len()),
            Msg::Job(_) => f.write_str("Job"),
            Msg::Stop => f.write_str("Stop"),
        }
    }
}

impl WalletHandle {
    /// Runs `f` on the wallet thread, after every event published before the call.
    ///
    /// # Errors
    /// The service has stopped.
    pub async fn run<R, F>(&self, f: F) -> Result<R, ServiceStopped>
    where
        F: FnOnce(&mut WalletState) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.queue
            .send(Msg::Job(Box::new(move |s| {
                let _ = tx.send(f(s));
            })))
            .await
            .map_err(|_| ServiceStopped)?;
        rx.await.map_err(|_| ServiceStopped)
    }

    /// Queues `f` to run on the wallet thread after every event queued so far, from a thread
    /// outside the runtime (the chain service's, so that `f` runs at an exact point of the event
    /// stream); waits while the queue is full. Returns false if the service has stopped.
    pub fn enqueue_blocking(&self, f: impl FnOnce(&mut WalletState) + Send + 'static) -> bool {
        self.queue.blocking_send(Msg::Job(Box::new(f))).is_ok()
    }

    /// Publishes events to the wallet, from the chain service's thread; waits while the queue is
    /// full. Returns false if the wallet service has stopped.
    pub fn publish_blocking(&self, events: Vec<WalletEvent>) -> bool {
        events.is_empty() || self.queue.blocking_send(Msg::Events(events)).is_ok()
    }

    /// Asks the service to finish what is queued and stop.
    pub async fn shutdown(&self) {
        let _ = self.queue.send(Msg::Stop).await;
    }
}

/// The service's side of the queue, before the wallet is open.
pub struct PendingWallet {
    queue: mpsc::Receiver<Msg>,
}

/// Creates the queue: a handle for the chain service and RPC, and the pending service.
pub fn channel() -> (WalletHandle, PendingWallet) {
    let (tx, rx) = mpsc::channel(QUEUE);
    (WalletHandle { queue: tx }, PendingWallet { queue: rx })
}

impl PendingWallet {
    /// Takes the events queued so far, without a wallet (tests of the publishing order).
    #[cfg(test)]
    pub(crate) fn drain_events(&mut self) -> Vec<WalletEvent> {
        let mut out = Vec::new();
        while let Ok(msg) = self.queue.try_recv() {
            if let Msg::Events(events) = msg {
                out.extend(events);
            }
        }
        out
    }

    /// Starts the wallet thread over wallets caught up with the chain at `tip`. After every
    /// batch of events that moved the tip it offers the chain service the wallet's own
    /// transactions that are neither confirmed nor in the mempool (after a reorg, or at start):
    /// through `chain`, on `runtime`, without waiting for the answer. Returns the wallets when
    /// stopped.
    ///
    /// # Errors
    /// The thread cannot be spawned.
    pub fn start(
        self,
        wallets: LoadedWallets,
        tip: (u32, BlockHash),
        chain: ChainHandle,
        runtime: tokio::runtime::Handle,
        shutdown: crate::shutdown::Shutdown,
    ) -> std::io::Result<std::thread::JoinHandle<LoadedWallets>> {
        let mut state = WalletState {
            wallets,
            tip_height: tip.0,
            tip_hash: tip.1,
        };
        let mut rx = self.queue;
        std::thread::Builder::new().name("wallet".into()).spawn(move || {
            shutdown.guard("the wallet service", move || {
                resubmit(&state, &chain, &runtime);
                while let Some(msg) = rx.blocking_recv() {
                    match msg {
                        Msg::Events(events) => {
                            let moved = events
                                .iter()
                                .any(|e| matches!(e, WalletEvent::BlockConnected { .. } | WalletEvent::BlockDisconnected { .. }));
                            for e in &events {
                                state.apply(e);
                            }
                            if moved {
                                resubmit(&state, &chain, &runtime);
                            }
                        }
                        Msg::Job(job) => job(&mut state),
                        Msg::Stop => break,
                    }
                }
                state.wallets
            })
        })
    }
}

/// Offers the chain service the wallets' transactions that are neither confirmed, in the
/// mempool nor conflicted (parents first), to be admitted and announced again. What is
/// admitted comes back as [`WalletEvent::TxAdded`].
pub(crate) fn resubmit(state: &WalletState, chain: &ChainHandle, runtime: &tokio::runtime::Handle) {
    let txs: Vec<Transaction> = state.wallets.iter().flat_map(|(_, w)| w.transactions_to_resubmit()).collect();
    if txs.is_empty() {
        return;
    }
    let chain = chain.clone();
    runtime.spawn(async move {
        for tx in txs {
            let txid = tx.compute_txid();
            match chain.submit_tx(tx).await {
                Ok(Ok(_)) => tracing::info!(%txid, "wallet transaction back in the mempool"),
                Ok(Err(e)) => tracing::debug!(%txid, error = %e, "wallet transaction not resubmitted"),
                Err(_) => return,
            }
        }
    });
}
