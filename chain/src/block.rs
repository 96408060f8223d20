//! Block headers and blocks.
//!
//! The header is Bitcoin's 80 bytes: `version:u32 | prev:32 | merkle_root:32 | time:u32 |
//! bits:u32 | nonce:u32`. A block is its header followed by a `CompactSize`-prefixed list of
//! transactions. The merkle root is Bitcoin's, including detection of the duplicate-subtree
//! mutation (CVE-2012-2459) so that a mutated block is rejected rather than marked invalid.

use crate::encode::{Decodable, Encodable, Reader, write_var_list};
use crate::error::DecodeError;
use crate::hash::{BlockHash, MerkleRoot, Txid, sha256d};
use crate::transaction::Transaction;

/// Encoded header size.
pub const HEADER_SIZE: usize = 80;
/// Most transactions a decoded block may list (a 1 MB block cannot hold more).
pub const MAX_BLOCK_TXS: u64 = 100_000;

/// A block header.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Header {
    /// Block format version.
    pub version: u32,
    /// Hash of the previous block's header.
    pub prev_blockhash: BlockHash,
    /// Merkle root of the transactions' ids.
    pub merkle_root: MerkleRoot,
    /// Unix time claimed by the miner.
    pub time: u32,
    /// The target in compact form.
    pub bits: u32,
    /// Varied by the miner to find a hash below the target.
    pub nonce: u32,
}

impl Header {
    /// The 80 encoded bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_SIZE] {
        let mut b = [0u8; HEADER_SIZE];
        b[0..4].copy_from_slice(&self.version.to_le_bytes());
        b[4..36].copy_from_slice(self.prev_blockhash.as_bytes());
        b[36..68].copy_from_slice(self.merkle_root.as_bytes());
        b[68..72].copy_from_slice(&self.time.to_le_bytes());
        b[72..76].copy_from_slice(&self.bits.to_le_bytes());
        b[76..80].copy_from_slice(&self.nonce.to_le_bytes());
        b
    }

    /// SHA-256d of the header: the block hash.
    pub fn block_hash(&self) -> BlockHash {
        BlockHash::from_byte_array(sha256d(&self.to_bytes()))
    }
}

impl Encodable for Header {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }
}

impl Decodable for Header {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Header {
            version: r.u32()?,
            prev_blockhash: BlockHash::from_byte_array(r.array()?),
            merkle_root: MerkleRoot::from_byte_array(r.array()?),
            time: r.u32()?,
            bits: r.u32()?,
            nonce: r.u32()?,
        })
    }
}

/// A block: a header and its transactions, the coinbase first.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The transactions.
    pub txdata: Vec<Transaction>,
}

impl Block {
    /// The block hash.
    pub fn block_hash(&self) -> BlockHash {
        self.header.block_hash()
    }

    /// Encoded size in bytes.
    pub fn size(&self) -> usize {
        HEADER_SIZE + crate::encode::compact_size_len(self.txdata.len() as u64) + self.txdata.iter().map(Transaction::size).sum::<usize>()
    }

    /// The merkle root of the transactions and whether the list is mutated (see [`merkle_root`]).
    pub fn compute_merkle_root(&self) -> (MerkleRoot, bool) {
        let ids: Vec<Txid> = self.txdata.iter().map(Transaction::compute_txid).collect();
        merkle_root(&ids)
    }
}

impl Encodable for Block {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header.encode_to(out);
        write_var_list(out, &self.txdata);
    }
}

impl Decodable for Block {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Block {
            header: Header::decode_from(r)?,
            // Smallest transaction: version + two empty lists + lock time.
            txdata: r.var_list(10, MAX_BLOCK_TXS)?,
        })
    }
}

/// Bitcoin's merkle root over transaction ids, plus whether the tree is mutated: whether two
/// equal adjacent hashes were paired at any level, which lets a different (duplicated)
/// transaction list produce the same root (CVE-2012-2459). An empty list has the zero root.
pub fn merkle_root(txids: &[Txid]) -> (MerkleRoot, bool) {
    if txids.is_empty() {
        return (MerkleRoot::ZERO, false);
    }
    let mut level: Vec<[u8; 32]> = txids.iter().map(|t| t.to_byte_array()).collect();
    let mut mutated = false;
    let mut buf = [0u8; 64];
    while level.len() > 1 {
        // Pairs of equal hashes are checked before the odd one is duplicated, as in Core.
        for pair in level.chunks_exact(2) {
            if pair[0] == pair[1] {
                mutated = true;
            }
        }
        if level.len() % 2 == 1 {
            let last = level[level.len() - 1];
            level.push(last);
        }
        level = level
            .chunks_exact(2)
            .map(|p| {
                buf[..32].copy_from_slice(&p[0]);
                buf[32..].copy_from_slice(&p[1]);
                sha256d(&buf)
            })
            .collect();
    }
    (MerkleRoot::from_byte_array(level[0]), mutated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::tests::arb_tx;
    use proptest::prelude::*;

    fn txid(n: u8) -> Txid {
        Txid::from_byte_array([n; 32])
    }

    #[test]
    fn merkle_of_one_is_the_txid() {
        assert_eq!(merkle_root(&[txid(7)]).0.to_byte_array(), [7; 32]);
    }

    #[test]
    fn duplicated_tail_gives_same_root_and_is_flagged() {
        // [a, b, c] and [a, b, c, c] share a root: the second is the CVE-2012-2459 mutation.
        let (r3, m3) = merkle_root(&[txid(1), txid(2), txid(3)]);
        let (r4, m4) = merkle_root(&[txid(1), txid(2), txid(3), txid(3)]);
        assert_eq!(r3, r4);
        assert!(!m3);
        assert!(m4);
        // Different order, different root.
        assert_ne!(merkle_root(&[txid(2), txid(1)]).0, merkle_root(&[txid(1), txid(2)]).0);
    }

    proptest! {
        #[test]
        fn block_round_trips(txs in proptest::collection::vec(arb_tx(), 0..4), time in any::<u32>(), nonce in any::<u32>()) {
            let block = Block {
                header: Header { version: 1, prev_blockhash: BlockHash::ZERO, merkle_root: MerkleRoot::ZERO, time, bits: 0x207fffff, nonce },
                txdata: txs,
            };
            let bytes = block.encode();
            prop_assert_eq!(bytes.len(), block.size());
            prop_assert_eq!(Block::decode(&bytes).unwrap(), block);
        }

        #[test]
        fn block_decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let _ = Block::decode(&bytes);
            let _ = Header::decode(&bytes);
        }
    }
}
