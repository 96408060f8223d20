//! The leaves of the block tree (Core's `getchaintips`): every stored block that no stored block
//! builds on, and the active tip, with how far each branch runs from the active chain and what
//! is known of it.

use std::collections::HashSet;

use super::Chainstate;
use crate::hash::BlockHash;
use crate::store::status;

/// What is known of a tip's branch, in Core's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TipStatus {
    /// The tip of the active chain.
    Active,
    /// Not active, but every block of it was connected once (all rules passed).
    ValidFork,
    /// Its blocks are stored but were never connected (a branch with less work).
    ValidHeaders,
    /// Only the header is known.
    HeadersOnly,
    /// It, or a block it builds on, broke a rule.
    Invalid,
}

impl TipStatus {
    /// Core's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            TipStatus::Active => "active",
            TipStatus::ValidFork => "valid-fork",
            TipStatus::ValidHeaders => "valid-headers",
            TipStatus::HeadersOnly => "headers-only",
            TipStatus::Invalid => "invalid",
        }
    }
}

/// One chain tip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainTip {
    /// Height of the tip.
    pub height: u32,
    /// Its hash.
    pub hash: BlockHash,
    /// Blocks from the active chain to the tip (0 for the active tip).
    pub branchlen: u32,
    /// What is known of the branch.
    pub status: TipStatus,
}

impl Chainstate {
    /// Every tip of the block tree, highest first (ties by hash); the active tip always among them.
    pub fn chain_tips(&self) -> Vec<ChainTip> {
        let built_on: HashSet<BlockHash> = self.index.values().map(|r| r.header.prev_blockhash).collect();
        let active = self.tip_hash();
        let mut tips: Vec<ChainTip> = self
            .index
            .iter()
            .filter(|(hash, _)| **hash == active || !built_on.contains(*hash))
            .map(|(hash, r)| {
                let fork = self.fork_point(hash);
                let fork_height = self.index.get(&fork).map_or(0, |f| f.height);
                let status = if *hash == active {
                    TipStatus::Active
                } else if r.is_failed() {
                    TipStatus::Invalid
                } else if r.status & status::VALID != 0 {
                    TipStatus::ValidFork
                } else if r.status & status::HAVE_DATA != 0 {
                    TipStatus::ValidHeaders
                } else {
                    TipStatus::HeadersOnly
                };
                ChainTip {
                    height: r.height,
                    hash: *hash,
                    branchlen: r.height.saturating_sub(fork_height),
                    status,
                }
            })
            .collect();
        tips.sort_by(|a, b| b.height.cmp(&a.height).then(a.hash.cmp(&b.hash)));
        tips
    }
}
