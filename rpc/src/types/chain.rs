//! Shapes of the blockchain and mempool methods added for Core's monitoring tools:
//! mempool entries with their ancestor and descendant packages, `getchaintxstats`.

use cairn_chain::{BlockHash, Txid};
use serde::Serialize;

use super::CoinAmount;

/// The fees of a mempool entry. `modified` includes `prioritisetransaction`'s delta.
#[derive(Serialize, Debug, Clone)]
pub struct MempoolFees {
    pub base: CoinAmount,
    pub modified: CoinAmount,
    /// Modified fees of the entry and its in-pool ancestors.
    pub ancestor: CoinAmount,
    /// Modified fees of the entry and its in-pool descendants.
    pub descendant: CoinAmount,
}

/// A mempool entry (`getmempoolentry`, verbose `getrawmempool` and the verbose ancestor and
/// descendant lists). Cairn has no witness data: `vsize` is the size, `weight` 4 × the size, and
/// `wtxid` the txid. Nothing can be replaced (a conflicting spend is refused), so
/// `bip125-replaceable` is always false.
#[derive(Serialize, Debug, Clone)]
pub struct MempoolEntryInfo {
    pub vsize: usize,
    pub weight: usize,
    pub time: u64,
    pub height: u32,
    /// The entry and its in-pool descendants.
    pub descendantcount: usize,
    pub descendantsize: usize,
    /// The entry and its in-pool ancestors.
    pub ancestorcount: usize,
    pub ancestorsize: usize,
    pub wtxid: Txid,
    pub fees: MempoolFees,
    /// In-pool parents.
    pub depends: Vec<Txid>,
    /// In-pool children.
    pub spentby: Vec<Txid>,
    #[serde(rename = "bip125-replaceable")]
    pub bip125_replaceable: bool,
    /// Whether the node has yet to see it relayed back (Cairn gossips at once: false).
    pub unbroadcast: bool,
}

/// `getrawmempool`, `getmempoolancestors` and `getmempooldescendants`: txids, or an entry per
/// txid when verbose.
#[derive(Serialize, Debug, Clone)]
#[serde(untagged)]
pub enum RawMempool {
    Ids(Vec<Txid>),
    Verbose(std::collections::BTreeMap<String, MempoolEntryInfo>),
    /// `getrawmempool false true`.
    WithSequence {
        txids: Vec<Txid>,
        mempool_sequence: u64,
    },
}

/// `getchaintxstats`.
#[derive(Serialize, Debug, Clone)]
pub struct ChainTxStats {
    /// Time of the window's last block.
    pub time: u32,
    /// Transactions in the chain up to that block.
    pub txcount: u64,
    pub window_final_block_hash: BlockHash,
    pub window_final_block_height: u32,
    pub window_block_count: u32,
    /// Transactions in the window (present when the window has blocks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_tx_count: Option<u64>,
    /// Seconds the window spans (present when the window has blocks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_interval: Option<i64>,
    /// Transactions per second in the window (present when the interval is positive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub txrate: Option<f64>,
}

/// `estimatesmartfee`.
#[derive(Serialize, Debug, Clone)]
pub struct FeeEstimate {
    /// Coins per 1000 bytes (absent without an estimate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feerate: Option<CoinAmount>,
    /// Why there is no estimate.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// The target the estimate was found for.
    pub blocks: u32,
}

/// `getrpcinfo`.
#[derive(Serialize, Debug, Clone)]
pub struct RpcInfo {
    pub active_commands: Vec<ActiveCommand>,
    /// The log file's path ("" while the node logs to its standard error only).
    pub logpath: String,
}

/// A call being served.
#[derive(Serialize, Debug, Clone)]
pub struct ActiveCommand {
    pub method: String,
    /// Microseconds it has run.
    pub duration: u64,
}
