//! Continuous mining (`--mine-threads N`): a thread that asks the chain service for a template,
//! searches nonces on N threads, and submits what it finds. A search stops early when the tip
//! moves (someone else's block, or `generatetoaddress`), every few seconds so new mempool
//! transactions get in, and on shutdown.

use std::sync::atomic::AtomicU64;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cairn_chain::miner::{create_template, mine};
use cairn_chain::{Lock, Network};

use crate::clock::unix_now;
use crate::service::ChainHandle;
use crate::shutdown::Shutdown;

/// Longest search on one template.
const TEMPLATE_REFRESH: Duration = Duration::from_secs(5);

/// A running miner.
pub struct Miner {
    thread: JoinHandle<()>,
}

impl Miner {
    /// Starts mining to `payout` on `threads` threads until `shutdown`.
    ///
    /// # Errors
    /// The thread cannot be spawned.
    pub fn spawn(chain: ChainHandle, network: Network, payout: Lock, threads: usize, shutdown: Shutdown) -> std::io::Result<Miner> {
        let thread = std::thread::Builder::new()
            .name("miner".into())
            .spawn(move || run(&chain, network, &payout, threads, &shutdown, &AtomicU64::new(0)))?;
        Ok(Miner { thread })
    }

    /// Waits for the thread to end (after shutdown was triggered).
    pub fn join(self) {
        if self.thread.join().is_err() {
            tracing::error!("the miner thread panicked");
        }
    }
}

fn run(chain: &ChainHandle, network: Network, payout: &Lock, threads: usize, shutdown: &Shutdown, hashes: &AtomicU64) {
    tracing::info!(threads, "mining started");
    while !shutdown.is_triggered() {
        let payout = payout.clone();
        let Ok((template, mtp)) = chain.run_blocking(move |s| {
            let mtp = s.chain.median_time_past(&s.chain.tip_hash());
            (create_template(&s.chain, &s.mempool, &payout, unix_now(), b"/cairn/"), mtp)
        }) else {
            break;
        };
        // On regtest blocks are instant: never run the chain's clock ahead of the wall clock (a
        // block's time must exceed the median of the last 11).
        if network == Network::Regtest && u64::from(mtp) >= unix_now() {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        let generation = chain.generation();
        let started = Instant::now();
        let stop = || shutdown.is_triggered() || chain.generation() != generation || started.elapsed() > TEMPLATE_REFRESH;
        let Some(block) = mine(&template, threads, &stop, hashes) else {
            continue;
        };
        let hash = block.block_hash();
        match chain.run_blocking(move |s| s.submit_block(block)) {
            Ok(Ok(_)) => tracing::debug!(%hash, "mined a block"),
            Ok(Err(e)) => tracing::warn!(%hash, error = %e, "mined block rejected"),
            Err(_) => break,
        }
    }
    tracing::info!("mining stopped");
}
