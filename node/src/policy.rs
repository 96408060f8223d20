//! The peer-fault policy: what a peer's block, transaction or headers tell us about the peer,
//! and how much of our time one peer may take.
//!
//! The router (gossip) and the sync driver (downloads) both hand the chain's outcome to
//! [`judge_block`], [`judge_tx`] or [`headers_punishable`] and act on the answer: take it,
//! leave it, or punish the sender. One place decides, so a block is judged the same whichever
//! way it came. The rule, as Core's: punish only what an honest peer could not have sent. A
//! block too far in the future may be our clock's fault; an orphan easier than our floor, or a
//! block of a branch with less work than ours, may come from an honest peer on another branch;
//! a transaction that lost a race (spent input, conflict, low fee, full pool, too long a chain)
//! is normal in a network where blocks and transactions race.
//!
//! [`PeerBudget`] bounds the work one peer can have in progress at once (Core serves peers
//! round-robin, one message each per turn): a peer flooding requests or gossip gets its excess
//! dropped at the door, and the others keep their share of the chain thread.

use std::collections::HashMap;

use cairn_chain::mempool::MempoolError;
use cairn_chain::{BlockError, BlockHash, BlockStatus, ChainError, ProcessedBlock, TxError};
use cairn_p2p::PeerId;

/// Whether a block failing with `e` proves its sender misbehaved.
pub fn block_error_is_punishable(e: &BlockError) -> bool {
    !matches!(e, BlockError::TimeTooNew { .. } | BlockError::OrphanTooEasy { .. })
}

/// Whether a transaction failing with `e` proves its sender misbehaved.
pub fn tx_error_is_punishable(e: &TxError) -> bool {
    !matches!(
        e,
        TxError::MissingOrSpent(_)
            | TxError::ImmatureCoinbase { .. }
            | TxError::NonFinal
            | TxError::AlreadyKnown
            | TxError::Conflict { .. }
            | TxError::MempoolFull { .. }
            | TxError::TooLongMempoolChain(_)
            | TxError::FeeTooLow { .. }
    )
}

/// Whether headers that failed with `e` prove their sender misbehaved (a broken chain, bad
/// proof of work, an invalid ancestor), or may be honest (unconnected after the peer's chain
/// moved, or not acceptable yet by our clock).
pub fn headers_punishable(e: &cairn_chain::HeadersError) -> bool {
    use cairn_chain::HeadersError;
    match e {
        HeadersError::Unconnected { .. } => false,
        HeadersError::Invalid { error, .. } => block_error_is_punishable(error),
        _ => true,
    }
}

/// What a block from a peer comes to.
#[derive(Debug, PartialEq, Eq)]
pub enum BlockJudgement {
    /// Stored and new: worth forwarding.
    Taken,
    /// Already stored (or held): nothing new.
    Known,
    /// Not taken, and not the sender's fault (a branch with less work, our clock, an easy orphan).
    /// `sync_headers`: the block hints at a chain we lack; ask the sender for headers.
    Left {
        /// Why, for the log.
        why: String,
        /// Whether to ask the sender where its chain is.
        sync_headers: bool,
    },
    /// Held until its parent comes (sync asks the sender for headers).
    Orphan,
    /// Proof that the sender misbehaved: the reason for its ban.
    Misbehaved(String),
    /// Our side failed (the store, the service stopping): nobody's fault.
    Failed(String),
}

/// Judges the chain's outcome for the block `hash` a peer sent.
pub fn judge_block(hash: BlockHash, outcome: &Result<ProcessedBlock, ChainError>) -> BlockJudgement {
    match outcome {
        Ok(processed) => {
            if let Some((_, e)) = processed.update.invalid.iter().find(|(h, _)| *h == hash) {
                return BlockJudgement::Misbehaved(format!("sent invalid block {hash}: {e}"));
            }
            match processed.status {
                BlockStatus::Accepted => BlockJudgement::Taken,
                BlockStatus::Orphan => BlockJudgement::Orphan,
                BlockStatus::Duplicate => BlockJudgement::Known,
                // Not stored and not forwarded: a branch with less work than ours is not worth
                // anyone's disk. Not punished either: an honest peer may be on such a branch.
                BlockStatus::LowWork => BlockJudgement::Left {
                    why: "on a branch with less work than ours".into(),
                    sync_headers: false,
                },
            }
        }
        Err(ChainError::Block(e @ BlockError::OrphanTooEasy { .. })) => BlockJudgement::Left {
            // If it extends a real branch, headers-first sync (which checks every header's bits
            // against its parent) fetches it with its ancestors.
            why: e.to_string(),
            sync_headers: true,
        },
        Err(ChainError::Block(e)) if block_error_is_punishable(e) => BlockJudgement::Misbehaved(format!("sent invalid block {hash}: {e}")),
        Err(ChainError::Block(e)) => BlockJudgement::Left {
            why: e.to_string(),
            sync_headers: false,
        },
        Err(e) => BlockJudgement::Failed(e.to_string()),
    }
}

/// What a transaction from a peer comes to.
#[derive(Debug, PartialEq, Eq)]
pub enum TxJudgement {
    /// In the mempool: worth forwarding.
    Taken,
    /// Not taken, not the sender's fault.
    Left(String),
    /// Proof that the sender misbehaved.
    Misbehaved(String),
}

/// Judges the mempool's outcome for a transaction a peer sent.
pub fn judge_tx<T>(outcome: &Result<T, MempoolError>) -> TxJudgement {
    match outcome {
        Ok(_) => TxJudgement::Taken,
        Err(MempoolError::Rejected(e)) if tx_error_is_punishable(e) => TxJudgement::Misbehaved(format!("sent an invalid transaction: {e}")),
        Err(e) => TxJudgement::Left(e.to_string()),
    }
}

/// Work in progress per peer, bounded: each peer may have at most `per_peer` events (requests
/// to answer, gossip to validate) being handled at once. The map holds only peers with work in
/// progress, so it is bounded by the router's overall limit.
#[derive(Debug)]
pub struct PeerBudget {
    per_peer: u32,
    busy: HashMap<PeerId, u32>,
}

impl PeerBudget {
    /// A budget of `per_peer` events in progress for each peer.
    pub fn new(per_peer: u32) -> PeerBudget {
        PeerBudget {
            per_peer,
            busy: HashMap::new(),
        }
    }

    /// Takes one unit for `peer`; false if it already has `per_peer` in progress (the event is
    /// to be dropped).
    pub fn try_take(&mut self, peer: PeerId) -> bool {
        let n = self.busy.entry(peer).or_insert(0);
        if *n >= self.per_peer {
            return false;
        }
        *n += 1;
        true
    }

    /// Gives back the unit of an event of `peer` that finished.
    pub fn give_back(&mut self, peer: &PeerId) {
        if let Some(n) = self.busy.get_mut(peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.busy.remove(peer);
            }
        }
    }

    /// Peers with work in progress.
    #[cfg(test)]
    fn busy_peers(&self) -> usize {
        self.busy.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_chain::TipUpdate;

    #[test]
    fn one_peer_cannot_take_more_than_its_share() {
        let mut b = PeerBudget::new(2);
        let (greedy, other) = (PeerId::random(), PeerId::random());
        assert!(b.try_take(greedy));
        assert!(b.try_take(greedy));
        assert!(!b.try_take(greedy), "a third event of the same peer is dropped");
        assert!(b.try_take(other), "others keep their share");
        b.give_back(&greedy);
        assert!(b.try_take(greedy));
        for p in [greedy, greedy, other] {
            b.give_back(&p);
        }
        assert_eq!(b.busy_peers(), 0, "idle peers leave the map");
        b.give_back(&other);
        assert_eq!(b.busy_peers(), 0);
    }

    #[test]
    fn blocks_are_judged_the_same_whichever_way_they_came() {
        let hash = BlockHash::from_byte_array([1; 32]);
        let ok = |status| -> Result<ProcessedBlock, ChainError> {
            Ok(ProcessedBlock {
                status,
                update: TipUpdate::default(),
            })
        };
        assert_eq!(judge_block(hash, &ok(BlockStatus::Accepted)), BlockJudgement::Taken);
        assert_eq!(judge_block(hash, &ok(BlockStatus::Orphan)), BlockJudgement::Orphan);
        assert_eq!(judge_block(hash, &ok(BlockStatus::Duplicate)), BlockJudgement::Known);
        assert!(matches!(
            judge_block(hash, &ok(BlockStatus::LowWork)),
            BlockJudgement::Left { sync_headers: false, .. }
        ));
        let too_easy = Err(ChainError::Block(BlockError::OrphanTooEasy { bits: 1, floor: 2 }));
        assert!(matches!(
            judge_block(hash, &too_easy),
            BlockJudgement::Left { sync_headers: true, .. }
        ));
        let future = Err(ChainError::Block(BlockError::TimeTooNew { time: 2, max: 1 }));
        assert!(matches!(judge_block(hash, &future), BlockJudgement::Left { .. }));
        let bad = Err(ChainError::Block(BlockError::BadMerkleRoot));
        assert!(matches!(judge_block(hash, &bad), BlockJudgement::Misbehaved(_)));
        // Found invalid while connecting (the block itself, not another one).
        let mut update = TipUpdate::default();
        update.invalid.push((hash, BlockError::BadMerkleRoot));
        let connected_bad: Result<ProcessedBlock, ChainError> = Ok(ProcessedBlock {
            status: BlockStatus::Accepted,
            update,
        });
        assert!(matches!(judge_block(hash, &connected_bad), BlockJudgement::Misbehaved(_)));
        assert!(matches!(
            judge_block(BlockHash::from_byte_array([2; 32]), &connected_bad),
            BlockJudgement::Taken
        ));
    }

    #[test]
    fn transactions_that_lost_a_race_are_not_punished() {
        let outpoint = cairn_chain::OutPoint::new(cairn_chain::Txid::ZERO, 0);
        let raced: Result<(), MempoolError> = Err(MempoolError::Rejected(TxError::MissingOrSpent(outpoint)));
        assert!(matches!(judge_tx(&raced), TxJudgement::Left(_)));
        let bad: Result<(), MempoolError> = Err(MempoolError::Rejected(TxError::BadSignature { index: 0 }));
        assert!(matches!(judge_tx(&bad), TxJudgement::Misbehaved(_)));
        assert_eq!(judge_tx::<()>(&Ok(())), TxJudgement::Taken);
    }
}
