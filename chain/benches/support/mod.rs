//! The benchmark fixture: a regtest chain with 2,000 spendable outputs and a valid block of 2,000
//! one-input transactions spending them.

#[path = "../../tests/it/common.rs"]
#[allow(dead_code)]
mod common;

use cairn_chain::sighash::signature_hash;
use cairn_chain::*;
pub use common::Harness;
use common::units;
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
    let (outs, _) = h.split_coinbase(INPUTS);
    let txs = h.spend_each(&outs);
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
