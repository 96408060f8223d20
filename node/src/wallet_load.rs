//! Loading a wallet while the node runs (`createwallet`, `loadwallet`): the wallet is rescanned
//! from its birth height and joins the wallet service at the exact point of the event stream its
//! rescan reached, so it never misses nor sees twice a block or a mempool change.
//!
//! The rescan runs as a series of read jobs on the chain service, [`BATCH`] blocks each, so the
//! chain is never held for long. Between jobs the chain may move: each job first takes back the
//! blocks the rescan replayed that have left the active chain (a reorg), then replays forward.
//! The job that reaches the tip also gives the wallet the mempool's transactions (parents first)
//! and, still on the chain's thread, queues the wallet's arrival on the wallet service: every
//! event of the chain so far is queued before it, every later one after it. The wallet service
//! never waits for the chain, so queueing from the chain thread cannot deadlock (the chain
//! publishes its events the same way).

use cairn_chain::{BlockHash, StoreError};
use cairn_wallet::Wallet;
use tokio::sync::oneshot;

use crate::clock::unix_now;
use crate::service::{ChainHandle, ChainView, ServiceStopped};
use crate::wallet_service::{MAX_LOADED, WalletHandle};

/// Blocks replayed per chain job.
pub const BATCH: u32 = 200;
/// Chain jobs a rescan may take before giving up (a chain growing faster than the rescan).
pub const MAX_ROUNDS: usize = 100_000;

/// Why a wallet could not join the service.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// A wallet of that name was loaded while this one was rescanned.
    #[error("Wallet \"{0}\" is already loaded.")]
    AlreadyLoaded(String),
    /// [`MAX_LOADED`] wallets are loaded.
    #[error("at most {MAX_LOADED} wallets can be loaded at once; unload one first")]
    TooMany,
    /// The chain store failed during the rescan.
    #[error("rescanning the wallet: {0}")]
    Store(#[from] StoreError),
    /// A block of the active chain is missing from the store.
    #[error("rescanning the wallet: block {0} is missing from the store")]
    MissingBlock(BlockHash),
    /// The chain kept growing faster than the rescan.
    #[error("rescanning the wallet: the chain moved too fast to catch up")]
    TooSlow,
    /// The node is shutting down.
    #[error("the node is shutting down")]
    Stopped,
}

impl From<ServiceStopped> for AttachError {
    fn from(_: ServiceStopped) -> Self {
        AttachError::Stopped
    }
}

/// Where a rescan stands: the block it starts from, and the last block replayed.
#[derive(Clone, Copy, Debug)]
struct Position {
    from: u32,
    last: Option<(u32, BlockHash)>,
}

enum Step {
    More(Box<Wallet>, Position),
    Joined(oneshot::Receiver<Result<(), AttachError>>),
}

/// Rescans `wallet` and adds it to the service as `name`.
///
/// # Errors
/// See [`AttachError`].
pub async fn attach(chain: &ChainHandle, service: &WalletHandle, name: String, wallet: Wallet) -> Result<(), AttachError> {
    let mut wallet = Box::new(wallet);
    let mut position = None;
    for _ in 0..MAX_ROUNDS {
        let (service, name) = (service.clone(), name.clone());
        let step = chain.read(move |view| step(view, wallet, position, &service, name)).await??;
        match step {
            Step::More(w, p) => {
                wallet = w;
                position = Some(p);
            }
            Step::Joined(joined) => return joined.await.map_err(|_| AttachError::Stopped)?,
        }
    }
    Err(AttachError::TooSlow)
}

/// One chain job of the rescan: back off blocks that left the active chain, replay up to
/// [`BATCH`] blocks, and at the tip hand the wallet over.
fn step(
    view: ChainView<'_>,
    mut wallet: Box<Wallet>,
    position: Option<Position>,
    service: &WalletHandle,
    name: String,
) -> Result<Step, AttachError> {
    let chain = view.chain;
    let mut position = position.unwrap_or(Position {
        from: wallet.birth_height().min(chain.height()),
        last: None,
    });
    while let Some((height, hash)) = position.last {
        if chain.block_hash_at(height) == Some(hash) {
            break;
        }
        let block = chain.get_block(&hash)?.ok_or(AttachError::MissingBlock(hash))?;
        wallet.block_disconnected(&block, height);
        position.last = (height > position.from).then(|| (height - 1, block.header.prev_blockhash));
    }
    let next = position.last.map_or(position.from, |(h, _)| h + 1);
    let end = chain.height().min(next.saturating_add(BATCH - 1));
    for height in next..=end {
        let hash = chain.block_hash_at(height).ok_or(AttachError::MissingBlock(BlockHash::ZERO))?;
        let block = chain.get_block(&hash)?.ok_or(AttachError::MissingBlock(hash))?;
        wallet.block_connected(&block, height);
        position.last = Some((height, hash));
    }
    if end < chain.height() {
        return Ok(Step::More(wallet, position));
    }
    // At the tip: the mempool, parents before children (a child has more ancestors).
    let mut pool: Vec<_> = view.mempool.entries().collect();
    pool.sort_by_cached_key(|e| view.mempool.ancestors_of(&e.txid).len());
    let now = unix_now();
    for entry in pool {
        wallet.tx_accepted_to_mempool(&entry.tx, now);
    }
    let (tx, rx) = oneshot::channel();
    let queued = service.enqueue_blocking(move |state| {
        let result = if state.is_loaded(&name) {
            Err(AttachError::AlreadyLoaded(name))
        } else if state.wallets.len() >= MAX_LOADED {
            Err(AttachError::TooMany)
        } else {
            tracing::info!(wallet = %name, height = state.tip_height, "wallet loaded");
            state.wallets.push((name, *wallet));
            Ok(())
        };
        let _ = tx.send(result);
    });
    if !queued {
        return Err(AttachError::Stopped);
    }
    Ok(Step::Joined(rx))
}
