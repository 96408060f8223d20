//! What headers-first sync needs from the chain state.
//!
//! A node that is behind sends a peer a block locator ([`Chainstate::locator`]); the peer finds
//! the last block the two chains share ([`Chainstate::find_fork`]) and answers with the headers
//! of its active chain after it ([`Chainstate::headers_after`], read from the in-memory index).
//! The node checks the headers as a chain before it downloads any block
//! ([`Chainstate::check_headers`]): each links to the one before, meets its own target, and
//! passes the header rules for its position. The position's context (height, median time past,
//! required bits) comes from a rolling context window seeded once from the index and then fed
//! each header in turn, so a message of 2,000 headers costs 2,000 steps plus a dozen index
//! lookups. Checked headers are not stored: the returned [`HeaderChainSummary`] (the branch's
//! last block and cumulative work) tells sync whether the branch is worth downloading, and its
//! blocks then go through [`Chainstate::process_block`] like any other.

use std::collections::VecDeque;

use crate::block::Header;
use crate::chain::Chainstate;
use crate::error::{BlockError, HeadersError};
use crate::hash::BlockHash;
use crate::params::Params;
use crate::pow::{U256, check_proof_of_work, work_for_bits};
use crate::validation::{HeaderContext, check_header_contextual};

/// Blocks whose times make up the median time past.
const MTP_SPAN: usize = 11;

/// Locator entries after which the step back starts doubling (as in Core).
const LOCATOR_DENSE: usize = 10;

/// What [`Chainstate::check_headers`] learned about a valid list of headers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct HeaderChainSummary {
    /// Hash of the last header.
    pub last_hash: BlockHash,
    /// Height of the last header.
    pub last_height: u32,
    /// Cumulative work of the branch up to and including the last header.
    pub chain_work: U256,
    /// How many of the headers were not in the block index.
    pub new_headers: usize,
}

/// The end of a checked chain of headers: its summary, and the context its next header is
/// checked in (a dozen timestamps), so a branch can be checked batch after batch without
/// storing it.
#[derive(Clone, Debug)]
pub struct HeaderCursor {
    summary: HeaderChainSummary,
    window: ContextWindow,
}

impl HeaderCursor {
    /// What the checked headers add up to, through the last batch.
    pub fn summary(&self) -> HeaderChainSummary {
        self.summary
    }
}

/// The chain just below a block position: the parent's height and time, the times of the
/// parent and up to ten predecessors, and the time of block 1 on that branch (the ASERT
/// anchor). Built once from the index, then advanced one header at a time.
#[derive(Clone, Debug)]
pub(crate) struct ContextWindow {
    parent_height: u32,
    parent_time: u32,
    /// Oldest first.
    times: VecDeque<u32>,
    anchor_time: Option<u32>,
}

impl ContextWindow {
    /// The window below a child of `parent`; `None` if `parent` is not in the index.
    ///
    /// Costs up to 11 index lookups, plus the walk from `parent` back to the active chain to
    /// find block 1 of its branch (none when `parent` is on the active chain).
    pub(crate) fn at(chain: &Chainstate, parent: &BlockHash) -> Option<ContextWindow> {
        let p = chain.index_record(parent)?;
        let anchor_time = if p.height >= 1 {
            chain
                .ancestor(parent, 1)
                .and_then(|a| chain.index_record(&a))
                .map(|a| a.header.time)
        } else {
            None
        };
        Some(ContextWindow {
            parent_height: p.height,
            parent_time: p.header.time,
            times: recent_times(chain, parent),
            anchor_time,
        })
    }

    /// The median of the window's times (Bitcoin's median time past of the parent).
    pub(crate) fn median_time_past(&self) -> u32 {
        median(&self.times)
    }

    /// The context a child of the window's last block is checked in.
    pub(crate) fn context(&self, params: &Params, now: u64) -> HeaderContext {
        HeaderContext {
            height: self.parent_height + 1,
            median_time_past: self.median_time_past(),
            expected_bits: params.next_bits(self.parent_height, self.parent_time, self.anchor_time),
            now,
        }
    }

    /// Moves the window up by one block: `header` becomes the parent.
    pub(crate) fn push(&mut self, header: &Header) {
        self.parent_height += 1;
        self.parent_time = header.time;
        if self.times.len() == MTP_SPAN {
            self.times.pop_front();
        }
        self.times.push_back(header.time);
        if self.parent_height == 1 {
            self.anchor_time = Some(header.time);
        }
    }
}

/// The times of `hash` and its up to 10 predecessors, oldest first (empty if `hash` is unknown).
pub(crate) fn recent_times(chain: &Chainstate, hash: &BlockHash) -> VecDeque<u32> {
    let mut times = VecDeque::with_capacity(MTP_SPAN);
    let mut cursor = chain.index_record(hash);
    while let Some(r) = cursor {
        times.push_front(r.header.time);
        if times.len() == MTP_SPAN || r.height == 0 {
            break;
        }
        cursor = chain.index_record(&r.header.prev_blockhash);
    }
    times
}

/// The median of at most [`MTP_SPAN`] times (the upper one of an even count; 0 for none).
pub(crate) fn median(times: &VecDeque<u32>) -> u32 {
    let mut sorted = [0u32; MTP_SPAN];
    let n = times.len().min(MTP_SPAN);
    for (slot, t) in sorted.iter_mut().zip(times) {
        *slot = *t;
    }
    let sorted = &mut sorted[..n];
    sorted.sort_unstable();
    sorted.get(n / 2).copied().unwrap_or(0)
}

/// The heights of a block locator for a chain whose tip is at `tip`: the tip and the 11 blocks
/// below it, then steps back of 2, 4, 8 and so on, always ending at genesis (Bitcoin Core's
/// `LocatorEntries`: the step doubles once [`LOCATOR_DENSE`] entries are taken).
fn locator_heights(tip: u32) -> Vec<u32> {
    let mut heights = Vec::with_capacity(LOCATOR_DENSE + 34);
    let mut height = tip;
    let mut step = 1u32;
    loop {
        heights.push(height);
        if height == 0 {
            return heights;
        }
        height = height.saturating_sub(step);
        if heights.len() > LOCATOR_DENSE {
            step = step.saturating_mul(2);
        }
    }
}

impl Chainstate {
    /// Returns Bitcoin Core's block locator of the active chain: the hashes of the tip and the 11
    /// blocks below it, then of blocks 2, 4, 8, … further back at each step, ending with genesis.
    /// Its length grows with the logarithm of the height.
    pub fn locator(&self) -> Vec<BlockHash> {
        locator_heights(self.height())
            .into_iter()
            .filter_map(|h| self.block_hash_at(h))
            .collect()
    }

    /// Returns the first hash of `locator` that is on the active chain, or genesis if none is
    /// (Core's `FindForkInGlobalIndex`).
    pub fn find_fork(&self, locator: &[BlockHash]) -> BlockHash {
        locator
            .iter()
            .find(|h| self.active_height(h).is_some())
            .copied()
            .unwrap_or_else(|| self.params().genesis_hash())
    }

    /// Returns the headers of the active chain after [`Chainstate::find_fork`]`(locator)`,
    /// oldest first: at most `max`, and none after `stop` if it is among them (Core's answer to
    /// `getheaders`). Reads only the in-memory index.
    pub fn headers_after(&self, locator: &[BlockHash], stop: Option<BlockHash>, max: usize) -> Vec<Header> {
        let fork_height = self.active_height(&self.find_fork(locator)).unwrap_or(0);
        let available = (self.height() - fork_height) as usize;
        let mut headers = Vec::with_capacity(max.min(available));
        for height in fork_height + 1..=self.height() {
            if headers.len() >= max {
                break;
            }
            let Some((hash, record)) = self.block_hash_at(height).and_then(|h| self.index_record(&h).map(|r| (h, r))) else {
                break;
            };
            headers.push(record.header);
            if stop == Some(hash) {
                break;
            }
        }
        headers
    }

    /// Checks a list of consecutive headers without their blocks, as headers-first sync does
    /// before downloading them: the first must build on a block in the index (on any branch)
    /// that is not known to be invalid, each next one on the one before it, and each must meet
    /// its own target and the header rules for its position (bits, time above the median time
    /// past, time at most two hours after `now`).
    ///
    /// Headers already in the index are not checked again (their rules passed when they were
    /// stored) unless they are known to be invalid. Nothing is stored. Costs one step per header
    /// plus about a dozen index lookups, and a walk back to the active chain when the first
    /// parent is on another branch.
    ///
    /// # Errors
    /// [`HeadersError::Empty`] for no headers, [`HeadersError::Unconnected`] when the first
    /// parent is unknown, [`HeadersError::NotContinuous`] for a broken link,
    /// [`HeadersError::KnownInvalid`] for a header of a block found invalid before, and
    /// [`HeadersError::Invalid`] for a header that breaks a rule or builds on an invalid block.
    pub fn check_headers(&self, headers: &[Header], now: u64) -> Result<HeaderChainSummary, HeadersError> {
        self.start_headers(headers, now).map(|c| c.summary)
    }

    /// [`Chainstate::check_headers`], returning where the checked chain ends as a
    /// [`HeaderCursor`], from which [`Chainstate::continue_headers`] checks the headers that
    /// follow without any of them being stored.
    ///
    /// # Errors
    /// As [`Chainstate::check_headers`].
    pub fn start_headers(&self, headers: &[Header], now: u64) -> Result<HeaderCursor, HeadersError> {
        let first = headers.first().ok_or(HeadersError::Empty)?;
        let parent = first.prev_blockhash;
        let parent_record = self.index_record(&parent).ok_or(HeadersError::Unconnected { parent })?;
        if self.is_known_invalid(&parent) {
            return Err(HeadersError::Invalid {
                index: 0,
                hash: first.block_hash(),
                error: Box::new(BlockError::InvalidParent(parent)),
            });
        }
        let window = ContextWindow::at(self, &parent).ok_or(HeadersError::Unconnected { parent })?;
        let cursor = HeaderCursor {
            summary: HeaderChainSummary {
                last_hash: parent,
                last_height: parent_record.height,
                chain_work: parent_record.chain_work,
                new_headers: 0,
            },
            window,
        };
        self.continue_headers(&cursor, headers, now)
    }

    /// Checks headers that continue the chain `cursor` ends (the first must build on its last
    /// header) with the same rules as [`Chainstate::check_headers`], and returns the new end.
    /// Needs nothing from the index but the invalid marks: this is how sync counts the work of
    /// a branch whose blocks it has not decided to download (Core's headers presync), one batch
    /// at a time in constant memory. `new_headers` counts this batch only.
    ///
    /// # Errors
    /// As [`Chainstate::check_headers`]; a first header that does not build on the cursor is
    /// [`HeadersError::NotContinuous`] at index 0.
    pub fn continue_headers(&self, cursor: &HeaderCursor, headers: &[Header], now: u64) -> Result<HeaderCursor, HeadersError> {
        if headers.is_empty() {
            return Err(HeadersError::Empty);
        }
        let params = self.params();
        let mut window = cursor.window.clone();
        let HeaderChainSummary {
            last_hash: mut prev_hash,
            last_height: mut height,
            mut chain_work,
            ..
        } = cursor.summary;
        let mut new_headers = 0;
        for (index, header) in headers.iter().enumerate() {
            if header.prev_blockhash != prev_hash {
                return Err(HeadersError::NotContinuous { index });
            }
            let hash = header.block_hash();
            match self.index_record(&hash) {
                Some(r) if r.is_failed() => return Err(HeadersError::KnownInvalid { index, hash }),
                Some(r) => chain_work = r.chain_work,
                None => {
                    let invalid = |error| HeadersError::Invalid {
                        index,
                        hash,
                        error: Box::new(error),
                    };
                    check_proof_of_work(&hash, header.bits, params.pow_limit).map_err(invalid)?;
                    check_header_contextual(header, &window.context(params, now), params).map_err(invalid)?;
                    chain_work = chain_work.checked_add(work_for_bits(header.bits)).unwrap_or(U256::MAX);
                    new_headers += 1;
                }
            }
            window.push(header);
            height += 1;
            prev_hash = hash;
        }
        Ok(HeaderCursor {
            summary: HeaderChainSummary {
                last_hash: prev_hash,
                last_height: height,
                chain_work,
                new_headers,
            },
            window,
        })
    }

    /// The height of `hash` if it is on the active chain.
    fn active_height(&self, hash: &BlockHash) -> Option<u32> {
        let r = self.index_record(hash)?;
        (self.block_hash_at(r.height) == Some(*hash)).then_some(r.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Network;

    #[test]
    fn locator_heights_follow_core() {
        assert_eq!(locator_heights(0), vec![0]);
        assert_eq!(locator_heights(5), vec![5, 4, 3, 2, 1, 0]);
        assert_eq!(locator_heights(11), (0..=11).rev().collect::<Vec<_>>());
        assert_eq!(locator_heights(12), (0..=12).rev().collect::<Vec<_>>());
        assert_eq!(locator_heights(13), vec![13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 0]);
        assert_eq!(
            locator_heights(50),
            vec![50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 37, 33, 25, 9, 0]
        );
        let long = locator_heights(u32::MAX);
        assert_eq!(long.last(), Some(&0));
        assert!(long.len() < 50);
        assert!(long.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn median_of_a_partial_or_full_window() {
        assert_eq!(median(&VecDeque::new()), 0);
        assert_eq!(median(&VecDeque::from([7])), 7);
        assert_eq!(median(&VecDeque::from([5, 1])), 5);
        assert_eq!(median(&(1..=11).rev().collect()), 6);
    }

    #[test]
    fn window_slides_and_takes_the_anchor_from_block_one() {
        let params = Network::Testnet.params();
        let header = |time| Header {
            time,
            ..params.genesis_block().header
        };
        let mut w = ContextWindow {
            parent_height: 0,
            parent_time: 100,
            times: VecDeque::from([100]),
            anchor_time: None,
        };
        assert_eq!(w.context(params, 0).expected_bits, params.next_bits(0, 100, None));
        w.push(&header(1_000));
        assert_eq!(w.anchor_time, Some(1_000));
        for t in 1..=20 {
            w.push(&header(1_000 + t * 7));
        }
        let ctx = w.context(params, 0);
        assert_eq!(ctx.height, 22);
        assert_eq!(w.times.len(), MTP_SPAN);
        // The last 11 times are 1_000 + 7 * (10..=20): the median is the 16th.
        assert_eq!(ctx.median_time_past, 1_000 + 7 * 15);
        assert_eq!(ctx.expected_bits, params.next_bits(21, 1_140, Some(1_000)));
    }
}
