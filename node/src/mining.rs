//! Continuous mining for a node without peers: build a template, search, connect, repeat.

use std::sync::atomic::AtomicU64;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use cairn_chain::miner::{create_template, mine};
use cairn_chain::{Chainstate, Lock, Mempool};

use crate::signals;

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Mines on `threads` threads until Ctrl-C (or `limit` blocks), logging each block.
pub fn mine_until_stopped(chain: &mut Chainstate, mempool: &mut Mempool, lock: &Lock, threads: usize, limit: Option<u64>) -> Result<u64> {
    let hashes = AtomicU64::new(0);
    let started = Instant::now();
    let mut mined = 0u64;
    while !signals::stopping() && limit.is_none_or(|l| mined < l) {
        let now = unix_now();
        // Never run the chain's clock ahead of the wall clock: a block's time must exceed the
        // median of the last 11, so on regtest (trivial work) wait for the second to turn.
        if u64::from(chain.median_time_past(&chain.tip_hash())) >= now {
            std::thread::sleep(std::time::Duration::from_millis(100));
            continue;
        }
        let template = create_template(chain, mempool, lock, now, b"/cairn/");
        let Some(block) = mine(&template, threads, &signals::stopping, &hashes) else {
            break;
        };
        let result = chain.process_block(block, unix_now())?;
        mempool.update_for_tip(&result.update, chain, unix_now())?;
        mined += 1;
        let rate = hashes.load(std::sync::atomic::Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64().max(1e-9);
        tracing::info!(height = chain.height(), hash = %chain.tip_hash(), mhash_per_s = format!("{:.2}", rate / 1e6), "mined block");
    }
    Ok(mined)
}
