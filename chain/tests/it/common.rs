//! A chain state in a temporary directory, a key that owns its coins, and helpers to build,
//! mine and submit blocks (valid ones, or deliberately broken ones).

use std::sync::atomic::AtomicU64;

use cairn_chain::block::merkle_root;
use cairn_chain::chain::ProcessedBlock;
use cairn_chain::miner::{BlockTemplate, create_template, mine};
use cairn_chain::pow::{U256, check_proof_of_work};
use cairn_chain::sighash::{lock_for_key, sign_input};
use cairn_chain::utxo::UtxoStats;
use cairn_chain::*;
use secp256k1::{PublicKey, SecretKey};
use tempfile::TempDir;

pub struct Harness {
    pub dir: TempDir,
    pub chain: Chainstate,
    pub mempool: Mempool,
    pub key: SecretKey,
    pub lock: Lock,
    pub now: u64,
    pub network: Network,
}

pub fn key(n: u8) -> SecretKey {
    SecretKey::from_secret_bytes([n; 32]).unwrap()
}

pub fn lock_of(k: &SecretKey) -> Lock {
    lock_for_key(&PublicKey::from_secret_key(k))
}

/// Tries nonces until the header meets its own target (instant on regtest).
pub fn solve(block: &mut Block) {
    let limit = U256::from_compact(0x207fffff).unwrap();
    while check_proof_of_work(&block.block_hash(), block.header.bits, limit).is_err() {
        block.header.nonce += 1;
    }
}

/// Mines a block whose target needs real work (testnet) on two threads.
pub fn mine_hard(block: Block) -> Block {
    let target = U256::from_compact(block.header.bits).unwrap();
    let template = BlockTemplate {
        block,
        height: 0,
        fees: Amount::ZERO,
        target,
    };
    mine(&template, 2, &|| false, &AtomicU64::new(0)).unwrap()
}

/// Recomputes the merkle root after the transactions changed.
pub fn fix_merkle(block: &mut Block) {
    let ids: Vec<Txid> = block.txdata.iter().map(|t| t.compute_txid()).collect();
    block.header.merkle_root = merkle_root(&ids).0;
}

pub fn coinbase(height: u32, value: Amount, lock: &Lock, salt: u8) -> Transaction {
    let mut data = height.to_le_bytes().to_vec();
    data.extend_from_slice(&[salt; 8]);
    Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint::NULL,
            signature: data,
            pubkey: vec![],
        }],
        outputs: vec![TxOut { value, lock: lock.clone() }],
        lock_time: 0,
    }
}

impl Harness {
    pub fn new(network: Network) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let chain = Chainstate::open(dir.path(), network, StoreOptions { sync_writes: false }).unwrap();
        let k = key(1);
        let now = u64::from(network.params().genesis_block().header.time) + 1_000_000;
        Harness {
            dir,
            chain,
            mempool: Mempool::new(cairn_chain::mempool::DEFAULT_MAX_BYTES),
            lock: lock_of(&k),
            key: k,
            now,
            network,
        }
    }

    pub fn regtest() -> Harness {
        Harness::new(Network::Regtest)
    }

    /// Closes and reopens the chain state from disk (the mempool is kept, as a restart with a
    /// persisted pool would).
    pub fn reopen(self) -> Harness {
        self.reopen_after(|_| {})
    }

    /// [`Harness::reopen`], running `between` on the closed store's directory first.
    pub fn reopen_after(self, between: impl FnOnce(&std::path::Path)) -> Harness {
        let Harness {
            dir,
            chain,
            mempool,
            key,
            lock,
            now,
            network,
        } = self;
        drop(chain);
        between(dir.path());
        let chain = Chainstate::open(dir.path(), network, StoreOptions { sync_writes: false }).unwrap();
        Harness {
            dir,
            chain,
            mempool,
            key,
            lock,
            now,
            network,
        }
    }

    /// Mines `n` blocks with the pool's transactions on the tip, advancing the clock.
    pub fn mine(&mut self, n: usize) -> Vec<BlockHash> {
        (0..n)
            .map(|_| {
                self.now += 600;
                let t = create_template(&self.chain, &self.mempool, &self.lock, self.now, b"test");
                let block = mine(&t, 1, &|| false, &AtomicU64::new(0)).unwrap();
                let hash = block.block_hash();
                let r = self.submit(block).unwrap();
                assert_eq!(r.status, BlockStatus::Accepted);
                hash
            })
            .collect()
    }

    /// Processes a block and updates the mempool as a node would.
    pub fn submit(&mut self, block: Block) -> Result<ProcessedBlock, ChainError> {
        let r = self.chain.process_block(block, self.now)?;
        self.mempool.update_for_tip(&r.update, &self.chain, self.now).unwrap();
        Ok(r)
    }

    /// [`Harness::submit`] for a block sync asked for (headers-first download of a branch whose
    /// work it has seen): stored even while its branch has less work than the tip.
    pub fn submit_requested(&mut self, block: Block) -> Result<ProcessedBlock, ChainError> {
        let r = self.chain.process_requested_block(block, self.now)?;
        self.mempool.update_for_tip(&r.update, &self.chain, self.now).unwrap();
        Ok(r)
    }

    /// A solved block on `parent` paying the full subsidy plus `fees` to our key.
    pub fn build_on(&self, parent: BlockHash, txs: Vec<Transaction>, fees: Amount, salt: u8) -> Block {
        let mut block = self.build_unsolved(parent, txs, fees, salt);
        solve(&mut block);
        block
    }

    /// Like [`Harness::build_on`], nonce not searched (for targets that need real mining).
    pub fn build_unsolved(&self, parent: BlockHash, txs: Vec<Transaction>, fees: Amount, salt: u8) -> Block {
        let rec = *self.chain.index_record(&parent).expect("parent known");
        let height = rec.height + 1;
        let ctx = self.chain.header_context(&parent, self.now).unwrap();
        let value = self.chain.params().block_subsidy(height).checked_add(fees).unwrap();
        let mut txdata = vec![coinbase(height, value, &self.lock, salt)];
        txdata.extend(txs);
        let time = rec.header.time.max(ctx.median_time_past) + 1;
        let mut block = Block {
            header: Header {
                version: 1,
                prev_blockhash: parent,
                merkle_root: Default::default(),
                time,
                bits: ctx.expected_bits,
                nonce: 0,
            },
            txdata,
        };
        fix_merkle(&mut block);
        block
    }

    /// The coinbase output of the active block at `height`.
    pub fn coinbase_of(&self, height: u32) -> (OutPoint, TxOut) {
        let block = self.chain.get_block(&self.chain.block_hash_at(height).unwrap()).unwrap().unwrap();
        (OutPoint::new(block.txdata[0].compute_txid(), 0), block.txdata[0].outputs[0].clone())
    }

    /// A transaction spending `inputs` (owned by our key) to `outputs`.
    pub fn spend(&self, inputs: &[(OutPoint, TxOut)], outputs: Vec<TxOut>) -> Transaction {
        let mut tx = Transaction {
            version: 1,
            inputs: inputs
                .iter()
                .map(|(op, _)| TxIn {
                    prevout: *op,
                    signature: vec![],
                    pubkey: vec![],
                })
                .collect(),
            outputs,
            lock_time: 0,
        };
        for (i, (_, spent)) in inputs.iter().enumerate() {
            sign_input(&mut tx, i, spent, &self.key);
        }
        tx
    }

    /// Splits the coinbase of block 1 into `n` equal outputs to our key and mines them (the chain
    /// must be at height 101 or more); returns the confirmed outputs and each one's value.
    pub fn split_coinbase(&mut self, n: usize) -> (Vec<(OutPoint, TxOut)>, u64) {
        let (op, out) = self.coinbase_of(1);
        let each = (out.value.to_units() - 100_000) / n as u64;
        let outputs = (0..n)
            .map(|_| TxOut {
                value: units(each),
                lock: self.lock.clone(),
            })
            .collect();
        let split = self.spend(&[(op, out)], outputs);
        let txid = split.compute_txid();
        let outs = split
            .outputs
            .iter()
            .enumerate()
            .map(|(i, o)| (OutPoint::new(txid, i as u32), o.clone()))
            .collect();
        self.mempool.accept(split, &self.chain, self.now).unwrap();
        self.mine(1);
        (outs, each)
    }

    /// One transaction per output, each paying it to key 2 less a fee of 1,000 units.
    pub fn spend_each(&self, outs: &[(OutPoint, TxOut)]) -> Vec<Transaction> {
        let to = lock_of(&key(2));
        outs.iter()
            .map(|o| {
                self.spend(
                    std::slice::from_ref(o),
                    vec![TxOut {
                        value: units(o.1.value.to_units() - 1_000),
                        lock: to.clone(),
                    }],
                )
            })
            .collect()
    }

    /// Pays `value` to `to` from the coinbase at `height`, the rest minus `fee` back to us.
    pub fn pay_from_coinbase(&self, height: u32, to: &Lock, value: u64, fee: u64) -> Transaction {
        let (op, out) = self.coinbase_of(height);
        let change = out.value.to_units() - value - fee;
        self.spend(
            &[(op, out)],
            vec![
                TxOut {
                    value: Amount::from_units(value).unwrap(),
                    lock: to.clone(),
                },
                TxOut {
                    value: Amount::from_units(change).unwrap(),
                    lock: self.lock.clone(),
                },
            ],
        )
    }

    pub fn stats(&mut self) -> UtxoStats {
        self.chain.utxo_stats().unwrap()
    }
}

pub fn units(u: u64) -> Amount {
    Amount::from_units(u).unwrap()
}
