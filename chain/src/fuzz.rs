//! Fuzz targets' bodies for what peers send the chain: a transaction's and a block's bytes, with
//! the invariants that must hold for any input (no panic; what decodes re-encodes to a value
//! that decodes to itself; the checks run to a verdict).
//!
//! `fuzz/` runs these under libFuzzer, coverage-guided (`scripts/fuzz.sh`); the tests below run
//! each over valid seeds and seeded random mutations of them, as a smoke test in every test run.
//! [`Mutator`] is that test's input generator, shared with the p2p crate's targets.

use crate::block::Block;
use crate::encode::{Decodable, Encodable};
use crate::params::Network;
use crate::transaction::Transaction;
use crate::validation::{check_block, check_transaction};

/// A transaction from a peer.
pub fn transaction(data: &[u8]) {
    let Ok(tx) = Transaction::decode(data) else { return };
    let bytes = tx.encode();
    assert_eq!(
        Transaction::decode(&bytes).ok().as_ref(),
        Some(&tx),
        "re-encoding decodes to the same transaction"
    );
    assert_eq!(bytes.len(), tx.size());
    let _ = tx.compute_txid();
    for network in [Network::Regtest, Network::Testnet] {
        let _ = check_transaction(&tx, network.params());
    }
}

/// A block from a peer (gossip or a download).
pub fn block(data: &[u8]) {
    let Ok(block) = Block::decode(data) else { return };
    let bytes = block.encode();
    assert_eq!(
        Block::decode(&bytes).ok().as_ref(),
        Some(&block),
        "re-encoding decodes to the same block"
    );
    let _ = block.block_hash();
    let _ = block.compute_merkle_root();
    for network in [Network::Regtest, Network::Testnet] {
        let _ = check_block(&block, network.params());
    }
}

/// Seeded mutations of seed inputs (bit flips, byte changes, truncation, insertion, splices of
/// two seeds), for the smoke runs. Deterministic: a failure names its iteration.
#[derive(Debug)]
pub struct Mutator {
    state: u64,
}

impl Mutator {
    /// A generator with `seed`.
    pub fn new(seed: u64) -> Mutator {
        Mutator { state: seed | 1 }
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }

    /// A mutation of one of `seeds` (up to 8 edits).
    pub fn mutate(&mut self, seeds: &[Vec<u8>]) -> Vec<u8> {
        let mut v = seeds[self.below(seeds.len())].clone();
        for _ in 0..=self.below(8) {
            match self.below(6) {
                0 if !v.is_empty() => {
                    let i = self.below(v.len());
                    v[i] ^= 1 << self.below(8);
                }
                1 if !v.is_empty() => {
                    let i = self.below(v.len());
                    v[i] = self.next() as u8;
                }
                2 => {
                    let n = self.below(v.len() + 1);
                    v.truncate(n);
                }
                3 => {
                    let i = self.below(v.len() + 1);
                    let b = [0u8, 0xff, 0xfd, 0xfe, 1, 0x80][self.below(6)];
                    v.insert(i, b);
                }
                4 => {
                    let other = &seeds[self.below(seeds.len())];
                    let (a, b) = (self.below(v.len() + 1), self.below(other.len() + 1));
                    v.truncate(a);
                    v.extend_from_slice(&other[b..]);
                }
                _ => {
                    // A length field pushed to its extremes.
                    if v.len() > 4 {
                        let i = self.below(v.len() - 4);
                        v[i..i + 4].copy_from_slice(&u32::MAX.to_le_bytes());
                    }
                }
            }
        }
        v
    }

    /// Runs `target` on every seed and then on `n` mutations of them.
    pub fn run(&mut self, seeds: &[Vec<u8>], n: usize, target: impl Fn(&[u8])) {
        for s in seeds {
            target(s);
        }
        for _ in 0..n {
            target(&self.mutate(seeds));
        }
    }
}

/// Valid encodings to start from: the genesis blocks and their coinbases, and a signed payment.
pub fn seeds() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut blocks = Vec::new();
    let mut txs = Vec::new();
    for network in [Network::Regtest, Network::Testnet] {
        let g = network.params().genesis_block();
        blocks.push(g.encode());
        txs.push(g.txdata[0].encode());
    }
    let payment = seed_payment();
    txs.push(payment.encode());
    let mut block = Network::Regtest.params().genesis_block().clone();
    block.txdata.push(payment);
    blocks.push(block.encode());
    (blocks, txs)
}

/// A two-input, two-output payment signed by a fixed key, with a data-carrier output.
fn seed_payment() -> Transaction {
    use crate::amount::Amount;
    use crate::hash::Txid;
    use crate::sighash::{lock_for_key, sign_input};
    use crate::transaction::{Lock, OutPoint, TxIn, TxOut};
    let key = secp256k1::SecretKey::from_secret_bytes([7; 32]).expect("a valid key");
    let lock = lock_for_key(&secp256k1::PublicKey::from_secret_key(&key));
    let spent = TxOut {
        value: Amount::from_units(5_000_000).expect("in range"),
        lock: lock.clone(),
    };
    let input = |vout| TxIn {
        prevout: OutPoint::new(Txid::from_byte_array([3; 32]), vout),
        signature: vec![],
        pubkey: vec![],
    };
    let mut tx = Transaction {
        version: 1,
        inputs: vec![input(0), input(1)],
        outputs: vec![
            TxOut {
                value: Amount::from_units(9_000_000).expect("in range"),
                lock,
            },
            TxOut {
                value: Amount::ZERO,
                lock: Lock::DataCarrier(b"cairn".to_vec()),
            },
        ],
        lock_time: 0,
    };
    for i in 0..2 {
        sign_input(&mut tx, i, &spent, &key);
    }
    tx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke_transaction_and_block_targets() {
        let (blocks, txs) = seeds();
        Mutator::new(1).run(&txs, 20_000, transaction);
        Mutator::new(2).run(&blocks, 5_000, block);
        // Transactions inside block bytes, and the other way round.
        Mutator::new(3).run(&blocks, 2_000, transaction);
        Mutator::new(4).run(&txs, 2_000, block);
    }
}
