//! The headers-first download plan, as a pure state machine (no I/O, the clock passed in).
//!
//! Peers report their chain ([`ChainStatus`]). When one has more work than our tip and nothing is
//! being downloaded, [`SyncState::want_headers`] names it: the driver asks it for headers after
//! our block locator (or after the last header of its previous full batch), the chain validates
//! them, and the hashes worth downloading are [`SyncState::enqueue`]d by height.
//! [`SyncState::assign`] hands them out, lowest height first, to peers whose chain reaches that
//! height: at most [`MAX_IN_FLIGHT_PER_PEER`] per peer, [`WINDOW`] in all, and never more than
//! [`MAX_AHEAD`] above the lowest block still missing — so out-of-order arrivals stay within what
//! the chain's orphan pool holds. A failed request goes back in the queue for another peer; after
//! [`MAX_ATTEMPTS`] failures, or when no connected peer has the block, the plan is dropped and
//! made again from fresh headers. A peer whose headers request failed is left alone for
//! [`HEADERS_RETRY`].
//!
//! A peer's status is only a claim. A peer that claims more work than ours and, asked for
//! headers, lets the request time out, fails it, or answers with nothing that gets us more work
//! has not backed its claim: it is left alone for [`HEADERS_RETRY`] (so the next best peer is
//! asked at once) and after [`MAX_UNBACKED_CLAIMS`] such answers in a row the driver disconnects
//! it. Headers that move us forward clear the count.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use cairn_chain::BlockHash;
use cairn_chain::pow::U256;
use cairn_p2p::{ChainStatus, PeerId};

/// Most block requests in flight to one peer.
pub const MAX_IN_FLIGHT_PER_PEER: usize = 16;
/// Most block requests in flight in all.
pub const WINDOW: usize = 64;
/// How far above the lowest missing block downloads may run (the chain keeps 100 orphans).
pub const MAX_AHEAD: u32 = 90;
/// Failed requests for one block before the plan is dropped.
pub const MAX_ATTEMPTS: u32 = 4;
/// How long a headers request may stay unanswered before another peer is asked.
pub const HEADERS_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a peer whose headers request failed is not asked again.
pub const HEADERS_RETRY: Duration = Duration::from_secs(30);
/// Headers requests in a row that a peer claiming more work than ours may leave unbacked before
/// it is disconnected.
pub const MAX_UNBACKED_CLAIMS: u32 = 2;
/// Most header batches a peer's branch may take to show more work than ours (4 M headers; the
/// peer sent every one of them, and we keep one hash per batch).
pub const MAX_PRESYNC_BATCHES: usize = 2_000;

/// Where a peer's branch stands when a full batch of its headers had less work than our tip.
///
/// Headers-first sync downloads the blocks of a branch only once its headers show more work
/// than our tip (and at least the network's minimum chain work). A branch whose first batch
/// does not is *presynced*, as Core does since 24.0: its later batches are checked one after the
/// other from a cursor (nothing stored, nothing downloaded), and the last hash of every batch is
/// kept. If the branch reaches enough work it is *redownloaded*: headers are asked for again from
/// the fork, and each batch must match the kept hashes at their heights before its blocks are
/// downloaded; a peer that shows one branch and then serves another is banned. A branch that
/// ends with less work is an unbacked claim.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Branch {
    /// Nothing counted.
    #[default]
    None,
    /// Counting: the hashes kept so far, the last one the end of the branch checked.
    Presync(Vec<(u32, BlockHash)>),
    /// Counted and worth it: the hashes the headers asked for again must match.
    Redownload(Vec<(u32, BlockHash)>),
}

#[derive(Debug, Default)]
struct PeerSync {
    status: Option<ChainStatus>,
    in_flight: usize,
    /// The tip the peer had when its headers gave nothing to download: it is not asked again
    /// until its tip changes.
    exhausted_at: Option<BlockHash>,
    /// Not asked for headers before this (its last headers request failed).
    retry_at: Option<Instant>,
    /// The last header of its previous full batch: the next request continues from there.
    continue_from: Option<BlockHash>,
    /// Headers requests in a row it left unbacked while claiming more work than ours.
    unbacked: u32,
    /// Its branch's presync or redownload.
    branch: Branch,
}

#[derive(Debug, Clone, Copy)]
struct InFlight {
    peer: PeerId,
    height: u32,
}

/// The download plan.
#[derive(Debug, Default)]
pub struct SyncState {
    peers: HashMap<PeerId, PeerSync>,
    headers_request: Option<(PeerId, Instant)>,
    queue: BTreeSet<(u32, BlockHash)>,
    /// The peer that last failed to deliver a queued block: asked again only if no other can.
    avoid: HashMap<BlockHash, PeerId>,
    attempts: HashMap<BlockHash, u32>,
    in_flight: HashMap<BlockHash, InFlight>,
}

impl SyncState {
    /// A peer connected.
    pub fn add_peer(&mut self, peer: PeerId) {
        self.peers.entry(peer).or_default();
    }

    /// A peer left: its requests go back in the queue.
    pub fn remove_peer(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
        if self.headers_request.is_some_and(|(p, _)| p == *peer) {
            self.headers_request = None;
        }
        let lost: Vec<(BlockHash, InFlight)> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.peer == *peer)
            .map(|(h, f)| (*h, *f))
            .collect();
        for (hash, f) in lost {
            self.in_flight.remove(&hash);
            self.queue.insert((f.height, hash));
        }
    }

    /// Records the chain of a connected peer (statuses of peers that already left are ignored).
    pub fn set_status(&mut self, peer: PeerId, status: ChainStatus) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.status = Some(status);
        }
    }

    /// The peers known.
    pub fn peers(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.peers.keys().copied()
    }

    /// The peer's headers gave nothing worth downloading: leave it alone until its tip moves.
    pub fn headers_exhausted(&mut self, peer: &PeerId) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.exhausted_at = p.status.map(|s| s.tip);
            p.continue_from = None;
            p.branch = Branch::None;
        }
    }

    /// The peer's branch (see [`Branch`]).
    pub fn branch(&self, peer: &PeerId) -> &Branch {
        self.peers.get(peer).map_or(&Branch::None, |p| &p.branch)
    }

    /// A full batch of `peer`'s headers, ending at `end`, still leaves its branch with less work
    /// than ours: keep counting (the next request continues after `end`). Returns false when the
    /// branch has taken [`MAX_PRESYNC_BATCHES`] batches: the count is dropped, an unbacked claim.
    pub fn presync_step(&mut self, peer: &PeerId, end: (u32, BlockHash)) -> bool {
        let Some(p) = self.peers.get_mut(peer) else { return false };
        let mut samples = match std::mem::take(&mut p.branch) {
            Branch::Presync(samples) => samples,
            Branch::None | Branch::Redownload(_) => Vec::new(),
        };
        if samples.len() >= MAX_PRESYNC_BATCHES {
            p.continue_from = None;
            return false;
        }
        samples.push(end);
        p.branch = Branch::Presync(samples);
        p.continue_from = Some(end.1);
        true
    }

    /// `peer`'s branch, counted up to `end`, has enough work: ask for its headers again from the
    /// fork (our locator) and download them while they match what was counted.
    pub fn presync_done(&mut self, peer: &PeerId, end: (u32, BlockHash)) {
        if let Some(p) = self.peers.get_mut(peer) {
            let mut samples = match std::mem::take(&mut p.branch) {
                Branch::Presync(samples) => samples,
                Branch::None | Branch::Redownload(_) => Vec::new(),
            };
            samples.push(end);
            p.branch = Branch::Redownload(samples);
            p.continue_from = None;
            p.unbacked = 0;
        }
    }

    /// Checks a batch of `peer`'s headers (`hashes` from height `first_height` up) against its
    /// counted branch: `None` if it is not redownloading one, otherwise whether every kept hash
    /// at a height in the batch matches.
    pub fn redownload_matches(&self, peer: &PeerId, first_height: u32, hashes: &[BlockHash]) -> Option<bool> {
        let Branch::Redownload(samples) = self.branch(peer) else {
            return None;
        };
        Some(samples.iter().all(
            |(height, hash)| match height.checked_sub(first_height).map(|i| hashes.get(i as usize)) {
                Some(Some(h)) => h == hash,
                _ => true,
            },
        ))
    }

    /// The peer's branch is done with (downloaded to more work than ours, or abandoned).
    pub fn branch_done(&mut self, peer: &PeerId) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.branch = Branch::None;
        }
    }

    /// The peer sent a full batch ending at `last`: the next request continues after it. Returns
    /// false if the batch ended where the previous one did (the peer is not moving forward).
    pub fn continue_after(&mut self, peer: &PeerId, last: BlockHash) -> bool {
        match self.peers.get_mut(peer) {
            Some(p) if p.continue_from != Some(last) => {
                p.continue_from = Some(last);
                true
            }
            _ => false,
        }
    }

    /// Where the next headers request to `peer` continues from, if its last batch was full.
    pub fn continuation(&self, peer: &PeerId) -> Option<BlockHash> {
        self.peers.get(peer).and_then(|p| p.continue_from)
    }

    /// Whether blocks are queued or being downloaded.
    pub fn is_downloading(&self) -> bool {
        !self.queue.is_empty() || !self.in_flight.is_empty()
    }

    /// The peer asked for headers, if its request has been pending longer than
    /// [`HEADERS_TIMEOUT`]: the request is dropped and counted against the peer's claim (see
    /// [`SyncState::claim_unbacked`]); the peer is returned with whether to disconnect it.
    pub fn expire_headers_request(&mut self, our_work: U256, now: Instant) -> Option<(PeerId, bool)> {
        let (peer, at) = self.headers_request?;
        if now.duration_since(at) < HEADERS_TIMEOUT {
            return None;
        }
        self.headers_request = None;
        Some((peer, self.claim_unbacked(&peer, our_work, now)))
    }

    /// Asked for headers, `peer` answered nothing that gets us more work (or did not answer).
    /// If it claims more work than `our_work`, that is an unbacked claim: it is left alone for
    /// [`HEADERS_RETRY`], so another peer is asked next; returns true once it has done so
    /// [`MAX_UNBACKED_CLAIMS`] times in a row (the driver disconnects it). Otherwise it is left
    /// alone until its tip changes, as [`SyncState::headers_exhausted`].
    pub fn claim_unbacked(&mut self, peer: &PeerId, our_work: U256, now: Instant) -> bool {
        self.headers_done(peer);
        let Some(p) = self.peers.get_mut(peer) else { return false };
        p.continue_from = None;
        p.branch = Branch::None;
        if p.status.is_none_or(|st| st.chain_work <= our_work) {
            p.exhausted_at = p.status.map(|s| s.tip);
            return false;
        }
        p.retry_at = Some(now + HEADERS_RETRY);
        p.unbacked += 1;
        p.unbacked >= MAX_UNBACKED_CLAIMS
    }

    /// `peer`'s headers moved us forward: its claims are backed so far.
    pub fn claim_backed(&mut self, peer: &PeerId) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.unbacked = 0;
        }
    }

    /// The peer to ask for headers now, if any: nothing is being downloaded, no headers request
    /// is pending, and the peer has more work than `our_work` (the most work of all, so the best
    /// chain is found first). A timed-out request must have been expired first
    /// ([`SyncState::expire_headers_request`]).
    pub fn want_headers(&mut self, our_work: U256, now: Instant) -> Option<PeerId> {
        if self.headers_request.is_some() {
            return None;
        }
        if self.is_downloading() {
            return None;
        }
        let best = self
            .peers
            .iter()
            .filter(|(_, s)| s.retry_at.is_none_or(|t| t <= now))
            .filter_map(|(p, s)| s.status.filter(|st| s.exhausted_at != Some(st.tip)).map(|st| (st.chain_work, *p)))
            .filter(|(work, _)| *work > our_work)
            .max_by_key(|(work, p)| (*work, *p))?;
        self.headers_request = Some((best.1, now));
        Some(best.1)
    }

    /// The headers request to `peer` has been answered.
    pub fn headers_done(&mut self, peer: &PeerId) {
        if self.headers_request.is_some_and(|(p, _)| p == *peer) {
            self.headers_request = None;
        }
    }

    /// Queues blocks to download (already queued or in-flight ones are skipped).
    pub fn enqueue(&mut self, blocks: impl IntoIterator<Item = (BlockHash, u32)>) {
        for (hash, height) in blocks {
            if !self.in_flight.contains_key(&hash) {
                self.queue.insert((height, hash));
            }
        }
    }

    /// Hands out queued blocks to peers with spare capacity, lowest height first.
    pub fn assign(&mut self) -> Vec<(PeerId, BlockHash)> {
        let mut out = Vec::new();
        let lowest_in_flight = self.in_flight.values().map(|f| f.height).min();
        let lowest_queued = self.queue.first().map(|(h, _)| *h);
        let Some(floor) = lowest_in_flight.into_iter().chain(lowest_queued).min() else {
            return out;
        };
        let queued: Vec<(u32, BlockHash)> = self.queue.iter().copied().collect();
        for (height, hash) in queued {
            if self.in_flight.len() >= WINDOW || height >= floor.saturating_add(MAX_AHEAD) {
                break;
            }
            let avoid = self.avoid.get(&hash).copied();
            let pick = |prefer_other: bool, need_capacity: bool| {
                self.peers
                    .iter()
                    .filter(|(p, s)| {
                        (!need_capacity || s.in_flight < MAX_IN_FLIGHT_PER_PEER)
                            && s.status.is_some_and(|st| st.height >= height)
                            && !(prefer_other && Some(**p) == avoid)
                    })
                    .min_by_key(|(p, s)| (s.in_flight, **p))
                    .map(|(p, _)| *p)
            };
            let Some(peer) = pick(true, true).or_else(|| pick(false, true)) else {
                if pick(false, false).is_none() {
                    // No connected peer has this block at all: the plan is stale.
                    self.clear_queue();
                }
                // Otherwise everyone who has it is busy; later blocks would only widen the gap.
                break;
            };
            self.queue.remove(&(height, hash));
            if let Some(s) = self.peers.get_mut(&peer) {
                s.in_flight += 1;
            }
            self.in_flight.insert(hash, InFlight { peer, height });
            out.push((peer, hash));
        }
        out
    }

    /// Takes `hash` out of the in-flight map if `peer` is the one it was asked of.
    fn release(&mut self, hash: &BlockHash, peer: &PeerId) -> Option<InFlight> {
        if self.in_flight.get(hash).is_none_or(|f| f.peer != *peer) {
            return None;
        }
        let f = self.in_flight.remove(hash)?;
        if let Some(s) = self.peers.get_mut(&f.peer) {
            s.in_flight = s.in_flight.saturating_sub(1);
        }
        Some(f)
    }

    /// A block requested of `peer` arrived and was stored.
    pub fn block_arrived(&mut self, hash: &BlockHash, peer: &PeerId) {
        self.release(hash, peer);
        self.queue.retain(|(_, h)| h != hash);
        self.avoid.remove(hash);
        self.attempts.remove(hash);
    }

    /// A block request to `peer` failed (timeout, the peer lacked it, a broken connection): queue
    /// it again, for another peer if possible. After [`MAX_ATTEMPTS`] the whole plan is dropped
    /// (returns true), to be made again from fresh headers.
    pub fn request_failed(&mut self, hash: &BlockHash, peer: &PeerId) -> bool {
        let Some(f) = self.release(hash, peer) else {
            return false;
        };
        let attempts = self.attempts.entry(*hash).or_insert(0);
        *attempts += 1;
        if *attempts >= MAX_ATTEMPTS {
            self.clear_queue();
            return true;
        }
        self.avoid.insert(*hash, f.peer);
        self.queue.insert((f.height, *hash));
        false
    }

    /// Drops every queued block (the requests in flight finish on their own).
    pub fn clear_queue(&mut self) {
        self.queue.clear();
        self.avoid.clear();
        self.attempts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(height: u32, work: u64) -> ChainStatus {
        let mut w = [0u8; 32];
        w[..8].copy_from_slice(&work.to_le_bytes());
        ChainStatus {
            genesis: BlockHash::ZERO,
            height,
            tip: BlockHash::ZERO,
            chain_work: U256::from_le_bytes(w),
            time: 0,
        }
    }

    fn hash(i: u32) -> BlockHash {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&i.to_le_bytes());
        BlockHash::from_byte_array(b)
    }

    fn height_of(h: &BlockHash) -> u32 {
        u32::from_le_bytes(h.as_bytes()[..4].try_into().unwrap())
    }

    fn work(w: u64) -> U256 {
        status(0, w).chain_work
    }

    fn with_peers(statuses: &[ChainStatus]) -> (SyncState, Vec<PeerId>) {
        let mut s = SyncState::default();
        let peers: Vec<PeerId> = statuses.iter().map(|_| PeerId::random()).collect();
        for (p, st) in peers.iter().zip(statuses) {
            s.add_peer(*p);
            s.set_status(*p, *st);
        }
        (s, peers)
    }

    #[test]
    fn asks_the_peer_with_most_work_once() {
        let mut s = SyncState::default();
        let (a, b) = (PeerId::random(), PeerId::random());
        let now = Instant::now();
        s.add_peer(a);
        s.add_peer(b);
        assert_eq!(s.want_headers(work(5), now), None, "no status yet");
        s.set_status(a, status(10, 10));
        s.set_status(b, status(20, 20));
        assert_eq!(s.want_headers(work(25), now), None, "nobody has more work");
        assert_eq!(s.want_headers(work(5), now), Some(b));
        assert_eq!(s.want_headers(work(5), now), None, "one request at a time");
        assert_eq!(s.expire_headers_request(work(5), now + HEADERS_TIMEOUT / 2), None);
        // b let it time out: the next best peer is asked at once, b only after HEADERS_RETRY.
        assert_eq!(s.expire_headers_request(work(5), now + HEADERS_TIMEOUT), Some((b, false)));
        assert_eq!(s.want_headers(work(5), now + HEADERS_TIMEOUT), Some(a), "the next best peer");
        s.headers_done(&a);
        assert_eq!(s.want_headers(work(5), now + HEADERS_TIMEOUT + HEADERS_RETRY), Some(b));
        s.headers_done(&b);
        s.headers_exhausted(&b);
        assert_eq!(s.want_headers(work(15), now), None, "b gave nothing; a has too little work");
        assert_eq!(s.want_headers(work(5), now), Some(a));
        assert!(!s.claim_unbacked(&a, work(5), now));
        assert_eq!(s.want_headers(work(5), now), None, "a failed: not asked again at once");
        assert_eq!(s.want_headers(work(5), now + HEADERS_RETRY), Some(a));
        s.headers_done(&a);
        s.set_status(
            b,
            ChainStatus {
                tip: hash(99),
                ..status(21, 21)
            },
        );
        let later = now + HEADERS_TIMEOUT + HEADERS_RETRY;
        assert_eq!(s.want_headers(work(5), later), Some(b), "b's tip moved");
        s.headers_done(&b);
        s.enqueue([(hash(1), 1)]);
        assert_eq!(s.want_headers(work(5), now), None, "not while downloading");
    }

    #[test]
    fn a_peer_that_claims_work_it_never_shows_is_passed_over_then_disconnected() {
        // The liar claims far more work than the honest peer; both claim more than ours.
        let (mut s, peers) = with_peers(&[status(1_000_000, 1_000_000), status(50, 50)]);
        let (liar, honest) = (peers[0], peers[1]);
        let ours = work(10);
        let mut now = Instant::now();
        assert_eq!(s.want_headers(ours, now), Some(liar));
        // It answers nothing (or nothing useful): the honest peer is asked next, at once.
        assert!(!s.claim_unbacked(&liar, ours, now));
        assert_eq!(s.want_headers(ours, now), Some(honest));
        s.headers_done(&honest);
        s.claim_backed(&honest);
        // Its claim stands; once it may be asked again it is, and it stalls again: disconnect.
        now += HEADERS_RETRY;
        assert_eq!(s.want_headers(ours, now), Some(liar));
        now += HEADERS_TIMEOUT;
        assert_eq!(s.expire_headers_request(ours, now), Some((liar, true)));
        s.remove_peer(&liar);
        assert_eq!(s.want_headers(ours, now), Some(honest));

        // A peer whose claim is no more than ours is not held to it.
        let (mut s, peers) = with_peers(&[status(10, 10)]);
        for _ in 0..5 {
            assert!(!s.claim_unbacked(&peers[0], work(10), now));
        }
        // Headers that move us forward clear the count.
        let (mut s, peers) = with_peers(&[status(100, 100)]);
        assert!(!s.claim_unbacked(&peers[0], work(10), now));
        s.claim_backed(&peers[0]);
        assert!(!s.claim_unbacked(&peers[0], work(10), now));
    }

    #[test]
    fn statuses_of_departed_peers_are_ignored() {
        let mut s = SyncState::default();
        let p = PeerId::random();
        s.set_status(p, status(10, 10));
        assert_eq!(s.peers().count(), 0);
        assert_eq!(s.want_headers(work(1), Instant::now()), None);
    }

    #[test]
    fn continuation_moves_forward_only() {
        let (mut s, peers) = with_peers(&[status(5000, 10)]);
        assert_eq!(s.continuation(&peers[0]), None);
        assert!(s.continue_after(&peers[0], hash(2000)));
        assert_eq!(s.continuation(&peers[0]), Some(hash(2000)));
        assert!(!s.continue_after(&peers[0], hash(2000)), "the same batch again");
        s.headers_exhausted(&peers[0]);
        assert_eq!(s.continuation(&peers[0]), None);
    }

    #[test]
    fn assigns_in_height_order_within_limits() {
        let (mut s, peers) = with_peers(&[status(1000, 1), status(1000, 1)]);
        s.enqueue((1..=200).map(|i| (hash(i), i)));
        let first = s.assign();
        assert_eq!(first.len(), 2 * MAX_IN_FLIGHT_PER_PEER);
        let heights: Vec<u32> = first.iter().map(|(_, h)| height_of(h)).collect();
        assert_eq!(heights, (1..=32).collect::<Vec<_>>());
        assert_eq!(first.iter().filter(|(p, _)| *p == peers[0]).count(), MAX_IN_FLIGHT_PER_PEER);
        assert!(s.assign().is_empty(), "peers are full");
        let (p, h) = first[0];
        s.block_arrived(&h, &p);
        assert_eq!(s.assign().len(), 1);
    }

    #[test]
    fn window_and_distance_bound_what_is_in_flight() {
        let statuses: Vec<ChainStatus> = (0..10).map(|_| status(1000, 1)).collect();
        let (mut s, _) = with_peers(&statuses);
        s.enqueue((1..=500).map(|i| (hash(i), i)));
        let got = s.assign();
        assert_eq!(got.len(), WINDOW);
        // Everything but block 1 arrives: no more than MAX_AHEAD above the missing block 1.
        for (p, h) in got.iter().skip(1) {
            s.block_arrived(h, p);
        }
        let next = s.assign();
        assert!(next.iter().all(|(_, h)| height_of(h) < 1 + MAX_AHEAD), "{}", next.len());
        assert_eq!(next.len(), (MAX_AHEAD as usize - 1) - (WINDOW - 1));
    }

    #[test]
    fn only_peers_that_have_the_block_are_asked() {
        let (mut s, peers) = with_peers(&[status(5, 1), status(10, 1)]);
        let (short, long) = (peers[0], peers[1]);
        s.enqueue((1..=10).map(|i| (hash(i), i)));
        let got = s.assign();
        assert_eq!(got.len(), 10);
        assert!(got.iter().filter(|(_, h)| height_of(h) > 5).all(|(p, _)| *p == long));
        assert!(got.iter().any(|(p, _)| *p == short));
    }

    #[test]
    fn failures_go_to_another_peer_then_give_up() {
        let (mut s, peers) = with_peers(&[status(10, 1)]);
        let (a, b) = (peers[0], PeerId::random());
        s.enqueue([(hash(1), 1)]);
        assert_eq!(s.assign(), vec![(a, hash(1))]);
        s.add_peer(b);
        s.set_status(b, status(10, 1));
        assert!(!s.request_failed(&hash(1), &a));
        assert_eq!(s.assign(), vec![(b, hash(1))], "the failing peer is avoided");
        // A stale report from a, about a block now asked of b, changes nothing.
        assert!(!s.request_failed(&hash(1), &a));
        s.remove_peer(&b);
        assert!(s.is_downloading());
        assert_eq!(s.assign(), vec![(a, hash(1))], "back to the only peer left");
        assert!(!s.request_failed(&hash(1), &a));
        assert_eq!(s.assign(), vec![(a, hash(1))]);
        assert!(!s.request_failed(&hash(1), &a));
        assert_eq!(s.assign(), vec![(a, hash(1))]);
        assert!(s.request_failed(&hash(1), &a), "fourth failure: the plan is dropped");
        assert!(!s.is_downloading());
    }

    #[test]
    fn a_plan_no_peer_can_serve_is_dropped() {
        let (mut s, peers) = with_peers(&[status(10, 1)]);
        s.enqueue((1..=10).map(|i| (hash(i), i)));
        s.remove_peer(&peers[0]);
        assert!(s.assign().is_empty());
        assert!(!s.is_downloading(), "nobody left who has the blocks");
    }

    #[test]
    fn a_branch_is_counted_then_redownloaded_against_what_was_counted() {
        let (mut s, peers) = with_peers(&[status(5_000, 5_000)]);
        let p = peers[0];
        assert_eq!(s.branch(&p), &Branch::None);
        assert!(s.presync_step(&p, (2_000, hash(2_000))));
        assert_eq!(s.continuation(&p), Some(hash(2_000)));
        assert!(s.presync_step(&p, (4_000, hash(4_000))));
        s.presync_done(&p, (4_500, hash(4_500)));
        // Asked again from the fork: our locator, not a continuation.
        assert_eq!(s.continuation(&p), None);
        assert_eq!(
            s.branch(&p),
            &Branch::Redownload(vec![(2_000, hash(2_000)), (4_000, hash(4_000)), (4_500, hash(4_500))])
        );
        // A batch of heights 1..=2000 must carry hash(2000) at 2000; others are not checked.
        let batch: Vec<BlockHash> = (1..=2_000).map(hash).collect();
        assert_eq!(s.redownload_matches(&p, 1, &batch), Some(true));
        let mut forged = batch.clone();
        forged[1_999] = hash(9_999_999);
        assert_eq!(s.redownload_matches(&p, 1, &forged), Some(false));
        let later: Vec<BlockHash> = (4_001..=4_500).map(hash).collect();
        assert_eq!(s.redownload_matches(&p, 4_001, &later), Some(true));
        // Another peer is not redownloading anything.
        assert_eq!(s.redownload_matches(&PeerId::random(), 1, &batch), None);
        s.branch_done(&p);
        assert_eq!(s.redownload_matches(&p, 1, &batch), None);
    }

    #[test]
    fn counting_a_branch_is_bounded_and_ends_with_an_unbacked_claim() {
        let (mut s, peers) = with_peers(&[status(10, 1_000)]);
        let p = peers[0];
        for i in 0..MAX_PRESYNC_BATCHES as u32 {
            assert!(s.presync_step(&p, (i, hash(i))));
        }
        assert!(!s.presync_step(&p, (1, hash(1))), "one batch too many");
        assert_eq!(s.continuation(&p), None);
        // A count that ends short of our work is dropped with the claim.
        let (mut s, peers) = with_peers(&[status(10, 1_000)]);
        assert!(s.presync_step(&peers[0], (2_000, hash(2_000))));
        s.claim_unbacked(&peers[0], work(500), Instant::now());
        assert_eq!(s.branch(&peers[0]), &Branch::None);
    }
}
