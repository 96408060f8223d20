//! The benchmark fixture: a regtest chain with 2,000 spendable outputs and a valid block of 2,000
//! one-input transactions spending them.

#[path = "../../tests/it/common.rs"]
#[allow(dead_code)]
mod common;

use cairn_chain::sighash::signature_hash;
use cairn_chain::*;
pub use common::Harness;
use common::{key, lock_of, units};
use secp256k1::{Message, PublicKey, ecdsa::Signature};

/// Inputs (and signatures) in the block.
pub const INPUTS: usize = 2_000;

/// The chain and the block to connect on its tip.
pub struct Setup {
    pub h: Harness,
    pub block: Block,
}

pub fn setup() -> Setup {
    let mut h = Harness::regtest();
    h.mine(101);
    // Split a mature coinbase into 2,000 outputs, and confirm that.
    let (op, out) = h.coinbase_of(1);
    let each = (out.value.to_units() - 100_000) / INPUTS as u64;
    let split = h.spend(
        &[(op, out)],
        (0..INPUTS)
            .map(|_| TxOut {
                value: units(each),
                lock: h.lock.clone(),
            })
            .collect(),
    );
    let split_id = split.compute_txid();
    let split_outputs = split.outputs.clone();
    h.mempool.accept(split, &h.chain, h.now).unwrap();
    h.mine(1);
    let txs: Vec<Transaction> = split_outputs
        .iter()
        .enumerate()
        .map(|(i, o)| {
            h.spend(
                &[(OutPoint::new(split_id, i as u32), o.clone())],
                vec![TxOut {
                    value: units(each - 1_000),
                    lock: lock_of(&key(2)),
                }],
            )
        })
        .collect();
    let fees = units(1_000 * INPUTS as u64);
    let block = h.build_on(h.chain.tip_hash(), txs, fees, 0);
    Setup { h, block }
}

impl Setup {
    /// The block's 2,000 (digest, signature, key) triples, parsed, for raw verification.
    pub fn raw_checks(&self) -> Vec<(Message, Signature, PublicKey)> {
        self.block.txdata[1..]
            .iter()
            .map(|tx| {
                let coin = self.h.chain.get_coin(&tx.inputs[0].prevout).unwrap().unwrap();
                (
                    Message::from_digest(signature_hash(tx, 0, &coin.output)),
                    Signature::from_compact(&tx.inputs[0].signature).unwrap(),
                    PublicKey::from_slice(&tx.inputs[0].pubkey).unwrap(),
                )
            })
            .collect()
    }
}
