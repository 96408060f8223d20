//! Persistent chain state in RocksDB.
//!
//! Column families ([`Column`]): `index` (block hash → [`IndexRecord`]), `blocks` (hash → block),
//! `undo` (hash → [`BlockUndo`](crate::utxo::BlockUndo)), `utxo` (outpoint key → coin), `meta`
//! (network, schema version, tip), `anchors` (content id ‖ block hash ‖ txid, the file anchors of the
//! active chain). Connecting or disconnecting a block is one atomic
//! `WriteBatch` that moves the tip together with the UTXO changes and undo data, so a process
//! killed at any instant reopens to a tip and UTXO set that agree. Block data is written before
//! it is connected, so the blocks of the active chain are always present.
//!
//! Reads return `Ok(None)` for "not stored" and `Err` only when the store itself failed or holds
//! bytes that do not decode.

mod rocks;

pub use rocks::{Store, StoreOptions};

use crate::block::Header;
use crate::encode::{Decodable, Encodable, Reader};
use crate::error::DecodeError;
use crate::hash::BlockHash;
use crate::pow::U256;

/// The column families.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Column {
    /// Block index records.
    Index,
    /// Full blocks.
    Blocks,
    /// Undo data of connected blocks.
    Undo,
    /// The UTXO set.
    Utxo,
    /// Tip, network and schema version.
    Meta,
    /// File anchors of the active chain: content id ‖ block hash ‖ txid → nothing
    /// ([`crate::anchor`]).
    Anchors,
}

impl Column {
    /// Every column family.
    pub const ALL: [Column; 6] = [
        Column::Index,
        Column::Blocks,
        Column::Undo,
        Column::Utxo,
        Column::Meta,
        Column::Anchors,
    ];

    /// Its name in RocksDB.
    pub const fn name(self) -> &'static str {
        match self {
            Column::Index => "index",
            Column::Blocks => "blocks",
            Column::Undo => "undo",
            Column::Utxo => "utxo",
            Column::Meta => "meta",
            Column::Anchors => "anchors",
        }
    }
}

/// Validation status flags of a block in the index.
pub mod status {
    /// The full block is stored.
    pub const HAVE_DATA: u8 = 1;
    /// The block was connected at least once (all its rules passed).
    pub const VALID: u8 = 2;
    /// The block broke a rule.
    pub const FAILED: u8 = 4;
    /// An ancestor broke a rule.
    pub const FAILED_CHILD: u8 = 8;
    /// Either failure flag.
    pub const FAILED_MASK: u8 = FAILED | FAILED_CHILD;
}

/// One block index entry as stored.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct IndexRecord {
    /// The header.
    pub header: Header,
    /// Height (genesis is 0).
    pub height: u32,
    /// Total work of the chain ending here.
    pub chain_work: U256,
    /// [`status`] flags.
    pub status: u8,
    /// Arrival order: among chains of equal work, the first seen wins (as in Core).
    pub sequence: u64,
    /// Transactions in the block (Core's `nTx`); 0 while only the header is known. Records
    /// written before this field existed decode with 0 and are filled in when the chain state
    /// opens ([`crate::chain::Chainstate::open`]).
    pub tx_count: u32,
}

impl IndexRecord {
    /// The block hash.
    pub fn hash(&self) -> BlockHash {
        self.header.block_hash()
    }

    /// Whether this block or an ancestor broke a rule.
    pub fn is_failed(&self) -> bool {
        self.status & status::FAILED_MASK != 0
    }
}

impl Encodable for IndexRecord {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header.encode_to(out);
        out.extend_from_slice(&self.height.to_le_bytes());
        out.extend_from_slice(&self.chain_work.to_be_bytes());
        out.push(self.status);
        out.extend_from_slice(&self.sequence.to_le_bytes());
        out.extend_from_slice(&self.tx_count.to_le_bytes());
    }
}

impl Decodable for IndexRecord {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(IndexRecord {
            header: Header::decode_from(r)?,
            height: r.u32()?,
            chain_work: U256::from_be_bytes(r.array()?),
            status: r.u8()?,
            sequence: r.u64()?,
            // Absent from records of earlier versions.
            tx_count: if r.remaining() == 0 { 0 } else { r.u32()? },
        })
    }
}
