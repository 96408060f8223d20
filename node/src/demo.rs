//! A guided regtest demo: everything the chain core does, on one node, in a minute.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use cairn_chain::miner::{generate_block, mine, template_on};
use cairn_chain::sighash::{lock_for_key, sign_input};
use cairn_chain::{Amount, Chainstate, Mempool, Network, OutPoint, StoreOptions, Transaction, TxIn, TxOut};
use secp256k1::{PublicKey, SecretKey};

use crate::mining::{mine_until_stopped, unix_now};

pub fn run(datadir: Option<PathBuf>, threads: usize, blocks: Option<u64>) -> Result<()> {
    let temp;
    let dir = match datadir {
        Some(d) => d.join("regtest").join("chainstate"),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().join("chainstate")
        }
    };
    std::fs::create_dir_all(&dir)?;
    let mut chain = Chainstate::open(&dir, Network::Regtest, StoreOptions::default()).context("opening the chain state")?;
    let mut mempool = Mempool::new(cairn_chain::mempool::DEFAULT_MAX_BYTES);
    let alice = SecretKey::new(&mut secp256k1::rand::rng());
    let bob = SecretKey::new(&mut secp256k1::rand::rng());
    let (alice_lock, bob_lock) = (
        lock_for_key(&PublicKey::from_secret_key(&alice)),
        lock_for_key(&PublicKey::from_secret_key(&bob)),
    );
    println!("== Cairn chain demo (regtest) in {}", dir.display());
    let start_height = chain.height();
    println!("-- mining 101 blocks to Alice so her first coinbase matures (100 confirmations)");
    for _ in 0..101 {
        let block = generate_block(&chain, &mempool, &alice_lock, unix_now());
        let r = chain.process_block(block, unix_now())?;
        mempool.update_for_tip(&r.update, &chain, unix_now())?;
    }
    println!("   height {}, tip {}", chain.height(), chain.tip_hash());

    println!("-- Alice pays Bob 10 coins from her first mature coinbase (fee 0.0001)");
    let cb_block = chain
        .get_block(&chain.block_hash_at(start_height + 1).context("block")?)?
        .context("stored block")?;
    let cb_out = OutPoint::new(cb_block.txdata[0].compute_txid(), 0);
    let spent = cb_block.txdata[0].outputs[0].clone();
    let pay = Amount::from_coins(10)?;
    let fee = Amount::from_units(10_000)?;
    let change = spent.value.checked_sub(pay)?.checked_sub(fee)?;
    let mut tx = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: cb_out,
            signature: vec![],
            pubkey: vec![],
        }],
        outputs: vec![
            TxOut {
                value: pay,
                lock: bob_lock.clone(),
            },
            TxOut {
                value: change,
                lock: alice_lock.clone(),
            },
        ],
        lock_time: 0,
    };
    sign_input(&mut tx, 0, &spent, &alice);
    let txid = mempool.accept(tx.clone(), &chain, unix_now())?;
    println!("   txid {txid} accepted to the mempool ({} tx)", mempool.len());
    let mut double = tx.clone();
    double.outputs[0].lock = alice_lock.clone();
    sign_input(&mut double, 0, &spent, &alice);
    match mempool.accept(double, &chain, unix_now()) {
        Err(e) => println!("   a conflicting spend of the same coin is refused: {e}"),
        Ok(_) => bail!("a double spend was accepted"),
    }

    let block = generate_block(&chain, &mempool, &alice_lock, unix_now());
    let r = chain.process_block(block, unix_now())?;
    mempool.update_for_tip(&r.update, &chain, unix_now())?;
    let bob_coin = chain.get_coin(&OutPoint::new(txid, 0))?.context("Bob's output")?;
    println!(
        "   mined at height {}: Bob owns {} coins, mempool now {} tx",
        bob_coin.height,
        bob_coin.output.value,
        mempool.len()
    );

    println!("-- a competing branch of two blocks without the payment: the chain with more work wins");
    let fork_parent = chain.block_hash_at(chain.height() - 1).context("parent")?;
    let mut parent = fork_parent;
    for salt in [b"fork-1", b"fork-2"] {
        let t = template_on(&chain, &parent, vec![], Amount::ZERO, &alice_lock, unix_now(), salt).context("template")?;
        let block = mine(&t, 1, &|| false, &Default::default()).context("mined")?;
        parent = block.block_hash();
        let r = chain.process_block(block, unix_now())?;
        if r.update.tip_changed() {
            println!(
                "   reorg: {} block(s) disconnected, {} connected",
                r.update.disconnected.len(),
                r.update.connected.len()
            );
        }
        mempool.update_for_tip(&r.update, &chain, unix_now())?;
    }
    println!(
        "   Bob's output confirmed now? {}; payment back in the mempool? {}",
        chain.get_coin(&OutPoint::new(txid, 0))?.is_some(),
        mempool.contains(&txid)
    );
    let block = generate_block(&chain, &mempool, &alice_lock, unix_now());
    let r = chain.process_block(block, unix_now())?;
    mempool.update_for_tip(&r.update, &chain, unix_now())?;
    println!(
        "   mined again at height {}: Bob's output confirmed? {}",
        chain.height(),
        chain.get_coin(&OutPoint::new(txid, 0))?.is_some()
    );

    let stats = chain.utxo_stats()?;
    let replay = chain.recompute_utxo_stats()?;
    println!(
        "-- UTXO set: {} outputs, {} coins, digest {}",
        stats.txouts,
        stats.total_amount,
        hex::encode(stats.digest)
    );
    println!("   replaying every stored block gives the same digest: {}", stats == replay);

    println!("-- mining continuously on {threads} thread(s); Ctrl-C to stop");
    mine_until_stopped(&mut chain, &mut mempool, &alice_lock, threads, blocks)?;
    println!("== stopped at height {}", chain.height());
    Ok(())
}
