//! Continuous mining (`--mine-threads N`, or `setgenerate true N` at run time as in Core up to
//! 0.12): a thread that asks the chain service for a template, searches nonces on N threads, and
//! submits what it finds. A search stops early when the tip moves (someone else's block, or
//! `generatetoaddress`), when the settings change, every few seconds so new mempool transactions
//! get in, and on shutdown. With 0 threads the thread waits for `setgenerate`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cairn_chain::miner::{create_template, mine};
use cairn_chain::{Lock, Network};

use crate::clock::unix_now;
use crate::service::ChainHandle;
use crate::shutdown::Shutdown;

/// Longest search on one template.
const TEMPLATE_REFRESH: Duration = Duration::from_secs(5);

/// How often an idle miner looks at the shutdown signal.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// Most mining threads `setgenerate` accepts.
pub const MAX_THREADS: usize = 256;

/// What the miner should do.
#[derive(Clone, Debug, Default)]
pub struct MinerSettings {
    /// Nonce-search threads; 0: not mining.
    pub threads: usize,
    /// Where coinbases pay; set before mining starts.
    pub payout: Option<Lock>,
}

/// Shared between the miner thread and the RPC server.
#[derive(Debug, Default)]
pub struct MinerControl {
    settings: Mutex<MinerSettings>,
    changed: Condvar,
    /// Bumped on every change, so a running search stops.
    version: AtomicU64,
    /// Hashes tried since start.
    hashes: AtomicU64,
    /// Hashes per second of the last search, as `f64` bits.
    rate: AtomicU64,
}

impl MinerControl {
    /// Control starting with `settings`.
    pub fn new(settings: MinerSettings) -> Arc<MinerControl> {
        Arc::new(MinerControl {
            settings: Mutex::new(settings),
            ..MinerControl::default()
        })
    }

    /// The current settings.
    pub fn settings(&self) -> MinerSettings {
        self.settings.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Changes the settings; a search in progress stops and the next one uses them.
    pub fn set(&self, settings: MinerSettings) {
        *self.settings.lock().unwrap_or_else(|e| e.into_inner()) = settings;
        self.version.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_all();
    }

    /// Hashes per second of the last search (0 when not mining).
    pub fn hashes_per_sec(&self) -> f64 {
        if self.settings().threads == 0 {
            return 0.0;
        }
        f64::from_bits(self.rate.load(Ordering::Relaxed))
    }

    /// Waits until mining is on (with its settings) or `timeout` passes.
    fn wait_enabled(&self, timeout: Duration) -> Option<MinerSettings> {
        let guard = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, timeout, |s| s.threads == 0 || s.payout.is_none())
            .unwrap_or_else(|e| e.into_inner());
        (guard.threads > 0 && guard.payout.is_some()).then(|| guard.clone())
    }
}

/// A running miner thread.
pub struct Miner {
    thread: JoinHandle<()>,
}

impl Miner {
    /// Starts the miner thread; it mines whenever `control` says so, until `shutdown`.
    ///
    /// # Errors
    /// The thread cannot be spawned.
    pub fn spawn(
        chain: ChainHandle,
        network: Network,
        regtest_block_time: Duration,
        control: Arc<MinerControl>,
        shutdown: Shutdown,
    ) -> std::io::Result<Miner> {
        let pace = (network == Network::Regtest && !regtest_block_time.is_zero()).then_some(regtest_block_time);
        let thread = std::thread::Builder::new().name("miner".into()).spawn(move || {
            shutdown
                .clone()
                .guard("the miner", || run(&chain, network, pace, &control, &shutdown))
        })?;
        Ok(Miner { thread })
    }

    /// Waits for the thread to end (after shutdown was triggered).
    pub fn join(self) {
        if self.thread.join().is_err() {
            tracing::error!("the miner thread panicked");
        }
    }
}

/// A random wait with mean `mean`, exponentially distributed (the time to a proof of work).
fn luck(mean: Duration, rng: &mut u64) -> Duration {
    // xorshift64*: plenty for pacing a regtest miner.
    *rng ^= *rng >> 12;
    *rng ^= *rng << 25;
    *rng ^= *rng >> 27;
    let x = rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
    let u = ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    mean.mul_f64((-u.ln()).min(20.0))
}

/// Sleeps up to `wait` in short steps; false if `interrupted` became true first.
fn pace_wait(wait: Duration, interrupted: &dyn Fn() -> bool) -> bool {
    let until = Instant::now() + wait;
    loop {
        if interrupted() {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(20)));
    }
}

fn run(chain: &ChainHandle, network: Network, pace: Option<Duration>, control: &MinerControl, shutdown: &Shutdown) {
    let mut rng = u64::from(std::process::id()) << 32 ^ unix_now() ^ 0x9e37_79b9_7f4a_7c15;
    let mut mining = false;
    while !shutdown.is_triggered() {
        let version = control.version.load(Ordering::SeqCst);
        let Some(settings) = control.wait_enabled(IDLE_POLL) else {
            if mining {
                tracing::info!("mining stopped");
                mining = false;
            }
            continue;
        };
        if !mining {
            tracing::info!(threads = settings.threads, "mining started");
            mining = true;
        }
        let Some(payout) = settings.payout else { continue };
        let Ok((template, mtp)) = chain.read_blocking(move |s| {
            let mtp = s.chain.median_time_past(&s.chain.tip_hash());
            (create_template(s.chain, s.mempool, &payout, unix_now(), b"/cairn/"), mtp)
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
        if let Some(mean) = pace {
            let interrupted =
                || shutdown.is_triggered() || chain.generation() != generation || control.version.load(Ordering::SeqCst) != version;
            // Memoryless: a wait cut short by a new tip simply starts over on the new template.
            if !pace_wait(luck(mean, &mut rng), &interrupted) {
                continue;
            }
        }
        let started = Instant::now();
        let before = control.hashes.load(Ordering::Relaxed);
        let stop = || {
            shutdown.is_triggered()
                || chain.generation() != generation
                || control.version.load(Ordering::SeqCst) != version
                || started.elapsed() > TEMPLATE_REFRESH
        };
        let found = mine(&template, settings.threads, &stop, &control.hashes);
        let secs = started.elapsed().as_secs_f64();
        if secs > 0.05 {
            let rate = (control.hashes.load(Ordering::Relaxed) - before) as f64 / secs;
            control.rate.store(rate.to_bits(), Ordering::Relaxed);
        }
        let Some(block) = found else { continue };
        let hash = block.block_hash();
        match chain.submit_block_blocking(block) {
            Ok(Ok(_)) => tracing::debug!(%hash, "mined a block"),
            Ok(Err(e)) => tracing::warn!(%hash, error = %e, "mined block rejected"),
            Err(_) => break,
        }
    }
    if mining {
        tracing::info!("mining stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regtest_luck_has_the_asked_mean() {
        let mut rng = 42u64;
        let mean = Duration::from_millis(1000);
        let n = 20_000;
        let total: f64 = (0..n).map(|_| luck(mean, &mut rng).as_secs_f64()).sum();
        let avg = total / f64::from(n);
        assert!((0.95..1.05).contains(&avg), "mean {avg}");
    }

    #[test]
    fn waiting_returns_settings_only_when_enabled_with_a_payout() {
        let c = MinerControl::new(MinerSettings::default());
        assert!(c.wait_enabled(Duration::from_millis(1)).is_none());
        c.set(MinerSettings { threads: 2, payout: None });
        assert!(c.wait_enabled(Duration::from_millis(1)).is_none(), "no payout yet");
        let lock = Lock::PubkeyHash(cairn_chain::PubkeyHash::from_byte_array([1; 20]));
        c.set(MinerSettings {
            threads: 2,
            payout: Some(lock),
        });
        assert_eq!(c.wait_enabled(Duration::from_millis(1)).map(|s| s.threads), Some(2));
        assert_eq!(c.hashes_per_sec(), 0.0, "no search yet");
    }

    #[test]
    fn a_waiting_miner_wakes_on_set() {
        let c = MinerControl::new(MinerSettings::default());
        let c2 = c.clone();
        let waiter = std::thread::spawn(move || c2.wait_enabled(Duration::from_secs(30)).map(|s| s.threads));
        std::thread::sleep(Duration::from_millis(50));
        c.set(MinerSettings {
            threads: 3,
            payout: Some(Lock::PubkeyHash(cairn_chain::PubkeyHash::from_byte_array([2; 20]))),
        });
        assert_eq!(waiter.join().unwrap(), Some(3));
    }
}
