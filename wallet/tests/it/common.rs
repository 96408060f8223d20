//! Hand-built blocks for driving a wallet without proof of work or a chain state: a chain is a
//! list of blocks whose coinbases (height as u32 LE at the start of the coinbase data, as the
//! chain tests build them) pay chosen locks.

use cairn_chain::block::merkle_root;
use cairn_chain::{Amount, Block, BlockHash, Header, Lock, OutPoint, Transaction, TxIn, TxOut, Txid};

pub const T0: u64 = 1_800_000_000;

pub fn units(u: u64) -> Amount {
    Amount::from_units(u).unwrap()
}

pub fn coins(c: u64) -> Amount {
    Amount::from_coins(c).unwrap()
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

/// A block at `height` on `parent` whose coinbase pays 50 coins to `lock`, followed by `txs`.
pub fn block(parent: BlockHash, height: u32, lock: &Lock, txs: Vec<Transaction>, salt: u8) -> Block {
    let mut txdata = vec![coinbase(height, coins(50), lock, salt)];
    txdata.extend(txs);
    let ids: Vec<Txid> = txdata.iter().map(Transaction::compute_txid).collect();
    Block {
        header: Header {
            version: 1,
            prev_blockhash: parent,
            merkle_root: merkle_root(&ids).0,
            time: (T0 + u64::from(height) * 600) as u32,
            bits: 0x207f_ffff,
            nonce: 0,
        },
        txdata,
    }
}

/// An active chain: blocks by height (index 0 is height 1).
#[derive(Default)]
pub struct Chain {
    pub blocks: Vec<Block>,
}

impl Chain {
    pub fn tip(&self) -> u32 {
        self.blocks.len() as u32
    }

    pub fn tip_hash(&self) -> BlockHash {
        self.blocks.last().map_or(BlockHash::ZERO, Block::block_hash)
    }

    /// Appends a block paying `lock` with `txs` and returns it with its height.
    pub fn extend(&mut self, lock: &Lock, txs: Vec<Transaction>, salt: u8) -> (Block, u32) {
        let height = self.tip() + 1;
        let b = block(self.tip_hash(), height, lock, txs, salt);
        self.blocks.push(b.clone());
        (b, height)
    }

    /// Removes the tip and returns it with its height.
    pub fn pop(&mut self) -> (Block, u32) {
        let height = self.tip();
        (self.blocks.pop().unwrap(), height)
    }
}
