//! Crash safety: a child process connects blocks (with spends and reorgs) and is killed with
//! SIGKILL at random moments; after every kill the chain state must reopen with a tip and UTXO
//! set that agree with a recomputation from the stored blocks. Every other round the child runs
//! in bulk-download mode, so it is killed with connected blocks still in its coins cache.
//!
//! The child is this same test binary, re-run with `--ignored --exact crash::crash_child` and
//! `CAIRN_CRASH_DIR` set.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cairn_chain::sighash::sign_input;
use cairn_chain::*;
use rand::Rng;

use crate::common::*;

const MIN_ROUNDS: usize = 20;
const MAX_ROUNDS: usize = 60;
const TARGET_HEIGHT: u32 = 160;

#[test]
fn chainstate_survives_sigkill_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rng();
    let mut heights = Vec::new();
    let started = Instant::now();
    for round in 0..MAX_ROUNDS {
        let mut child = Command::new(&exe)
            .args(["--ignored", "--exact", "crash::crash_child", "--nocapture", "--test-threads=1"])
            .env("CAIRN_CRASH_DIR", dir.path())
            .env("CAIRN_CRASH_BULK", if round % 2 == 1 { "1" } else { "0" })
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(30..400)));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();

        let mut chain = Chainstate::open(dir.path(), Network::Regtest, StoreOptions { sync_writes: false })
            .unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        assert_eq!(
            chain.store().tip().unwrap(),
            chain.tip_hash(),
            "round {round}: stored tip and active chain disagree"
        );
        let stored = chain.utxo_stats().unwrap();
        let recomputed = chain.recompute_utxo_stats().unwrap();
        assert_eq!(
            stored,
            recomputed,
            "round {round}: UTXO set differs from a replay of the stored blocks at height {}",
            chain.height()
        );
        heights.push(chain.height());
        eprintln!("round {round}: killed at height {}, UTXO digest matches the replay", chain.height());
        drop(chain);
        if round + 1 >= MIN_ROUNDS && heights.last().copied().unwrap_or(0) >= TARGET_HEIGHT {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "crash test took too long; heights {heights:?}"
        );
    }
    assert!(heights.len() >= MIN_ROUNDS);
    assert!(
        *heights.last().unwrap() >= TARGET_HEIGHT,
        "the child never got far enough to spend coins: {heights:?}"
    );
}

/// The child: mines forever, spending mature coinbases and earlier outputs, with a one-block
/// reorg every few blocks.
#[test]
#[ignore = "helper process for chainstate_survives_sigkill_at_random_moments"]
fn crash_child() {
    let Some(dir) = std::env::var_os("CAIRN_CRASH_DIR") else { return };
    run_child(Path::new(&dir));
}

fn run_child(dir: &Path) {
    let mut chain = Chainstate::open(dir, Network::Regtest, StoreOptions { sync_writes: false }).unwrap();
    if std::env::var("CAIRN_CRASH_BULK").as_deref() == Ok("1") {
        chain.set_bulk(true).unwrap();
    }
    let k = key(1);
    let lock = lock_of(&k);
    let now = u64::from(Network::Regtest.params().genesis_block().header.time) + 1_000_000;
    let mut salt = 0u8;
    loop {
        let height = chain.height();
        let mut txs = Vec::new();
        if height >= 101 {
            // Split the coinbase that just matured.
            let cb_block = chain.get_block(&chain.block_hash_at(height - 99).unwrap()).unwrap().unwrap();
            let op = OutPoint::new(cb_block.txdata[0].compute_txid(), 0);
            if let Some(coin) = chain.get_coin(&op).unwrap() {
                let half = Amount::from_units(coin.output.value.to_units() / 2).unwrap();
                let mut tx = Transaction {
                    version: 1,
                    inputs: vec![TxIn {
                        prevout: op,
                        signature: vec![],
                        pubkey: vec![],
                    }],
                    outputs: vec![
                        TxOut {
                            value: half,
                            lock: lock.clone(),
                        },
                        TxOut {
                            value: half,
                            lock: lock.clone(),
                        },
                    ],
                    lock_time: 0,
                };
                sign_input(&mut tx, 0, &coin.output, &k);
                txs.push(tx);
            }
            // Spend an output made by the previous block's transaction.
            let prev = chain.get_block(&chain.tip_hash()).unwrap().unwrap();
            if let Some(t) = prev.txdata.get(1) {
                let op = OutPoint::new(t.compute_txid(), 1);
                if let Some(coin) = chain.get_coin(&op).unwrap() {
                    let mut tx = Transaction {
                        version: 1,
                        inputs: vec![TxIn {
                            prevout: op,
                            signature: vec![],
                            pubkey: vec![],
                        }],
                        outputs: vec![TxOut {
                            value: coin.output.value,
                            lock: lock_of(&key(2)),
                        }],
                        lock_time: 0,
                    };
                    sign_input(&mut tx, 0, &coin.output, &k);
                    txs.push(tx);
                }
            }
        }
        salt = salt.wrapping_add(1);
        if height > 2 && height.is_multiple_of(5) {
            // A competing branch of two blocks from the tip's parent: a one-block reorg. The
            // spend of the current tip's output would be missing there, so it is left out.
            txs.truncate(1);
            let parent = chain.block_hash_at(height - 1).unwrap();
            let b1 = child_block(&chain, parent, vec![], &lock, salt);
            chain.process_block(b1.clone(), now).unwrap();
            let b2 = make_block(b1.block_hash(), height + 1, b1.header.time + 1, txs, &lock, salt);
            chain.process_block(b2, now).unwrap();
        } else {
            let b = child_block(&chain, chain.tip_hash(), txs, &lock, salt);
            chain.process_block(b, now).unwrap();
        }
    }
}

fn child_block(chain: &Chainstate, parent: BlockHash, txs: Vec<Transaction>, lock: &Lock, salt: u8) -> Block {
    let rec = chain.index_record(&parent).unwrap();
    let mtp = chain.median_time_past(&parent);
    make_block(parent, rec.height + 1, rec.header.time.max(mtp) + 1, txs, lock, salt)
}

fn make_block(parent: BlockHash, height: u32, time: u32, txs: Vec<Transaction>, lock: &Lock, salt: u8) -> Block {
    let value = Network::Regtest.params().block_subsidy(height);
    let mut txdata = vec![coinbase(height, value, lock, salt)];
    txdata.extend(txs);
    let mut block = Block {
        header: Header {
            version: 1,
            prev_blockhash: parent,
            merkle_root: Default::default(),
            time,
            bits: 0x207fffff,
            nonce: 0,
        },
        txdata,
    };
    fix_merkle(&mut block);
    solve(&mut block);
    block
}
