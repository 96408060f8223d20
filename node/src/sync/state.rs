//! The headers-first download plan, as a pure state machine (no I/O, the clock passed in).
//!
//! Peers report their chain ([`ChainStatus`]). When one has more work than our tip and nothing is
//! being downloaded, [`SyncState::want_headers`] names it: the driver asks it for headers after
//! our block locator, the chain validates them (proof of work, links, difficulty, times,
//! cumulative work), and the hashes worth downloading are [`SyncState::enqueue`]d by height.
//! [`SyncState::assign`] hands them out, lowest height first, to peers whose chain reaches that
//! height, at most [`MAX_IN_FLIGHT_PER_PEER`] per peer and [`WINDOW`] in all — the window keeps
//! out-of-order arrivals within what the chain's orphan pool holds. A failed or timed-out request
//! goes back in the queue and is given to another peer if there is one.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use cairn_chain::BlockHash;
use cairn_chain::pow::U256;
use cairn_p2p::{ChainStatus, PeerId};

/// Most block requests in flight to one peer.
pub const MAX_IN_FLIGHT_PER_PEER: usize = 16;
/// Most block requests in flight in all (below the chain's 100-block orphan pool).
pub const WINDOW: usize = 64;
/// How long a headers request may stay unanswered before another peer is asked.
pub const HEADERS_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct PeerSync {
    status: Option<ChainStatus>,
    in_flight: usize,
    /// The tip the peer had when its headers gave nothing to download: it is not asked again
    /// until its tip changes.
    exhausted_at: Option<BlockHash>,
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

    /// Records a peer's chain.
    pub fn set_status(&mut self, peer: PeerId, status: ChainStatus) {
        self.peers.entry(peer).or_default().status = Some(status);
    }

    /// The peers known.
    pub fn peers(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.peers.keys().copied()
    }

    /// The peer's headers gave nothing worth downloading: leave it alone until its tip moves.
    pub fn headers_exhausted(&mut self, peer: &PeerId) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.exhausted_at = p.status.map(|s| s.tip);
        }
    }

    /// Whether blocks are queued or being downloaded.
    pub fn is_downloading(&self) -> bool {
        !self.queue.is_empty() || !self.in_flight.is_empty()
    }

    /// The peer to ask for headers now, if any: nothing is being downloaded, no headers request
    /// is pending (or it timed out), and the peer has more work than `our_work` (the most work
    /// of all, so the best chain is found first).
    pub fn want_headers(&mut self, our_work: U256, now: Instant) -> Option<PeerId> {
        if let Some((_, at)) = self.headers_request {
            if now.duration_since(at) < HEADERS_TIMEOUT {
                return None;
            }
            self.headers_request = None;
        }
        if self.is_downloading() {
            return None;
        }
        let best = self
            .peers
            .iter()
            .filter(|(_, s)| s.status.is_some_and(|st| s.exhausted_at != Some(st.tip)))
            .filter_map(|(p, s)| s.status.map(|st| (st.chain_work, *p)))
            .filter(|(work, _)| *work > our_work)
            .max_by_key(|(work, p)| (*work, *p))?;
        self.headers_request = Some((best.1, now));
        Some(best.1)
    }

    /// The headers request to `peer` has been answered (or failed).
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
        let queued: Vec<(u32, BlockHash)> = self.queue.iter().copied().collect();
        for (height, hash) in queued {
            if self.in_flight.len() >= WINDOW {
                break;
            }
            let avoid = self.avoid.get(&hash).copied();
            let pick = |prefer_other: bool| {
                self.peers
                    .iter()
                    .filter(|(p, s)| {
                        s.in_flight < MAX_IN_FLIGHT_PER_PEER
                            && s.status.is_some_and(|st| st.height >= height)
                            && !(prefer_other && Some(**p) == avoid)
                    })
                    .min_by_key(|(p, s)| (s.in_flight, **p))
                    .map(|(p, _)| *p)
            };
            let Some(peer) = pick(true).or_else(|| pick(false)) else {
                // Nobody can take the lowest block now; later ones would only widen the gap.
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

    fn release(&mut self, hash: &BlockHash) -> Option<InFlight> {
        let f = self.in_flight.remove(hash)?;
        if let Some(s) = self.peers.get_mut(&f.peer) {
            s.in_flight = s.in_flight.saturating_sub(1);
        }
        Some(f)
    }

    /// A requested block arrived.
    pub fn block_arrived(&mut self, hash: &BlockHash) {
        self.release(hash);
        self.avoid.remove(hash);
    }

    /// A block request failed (timeout, the peer lacked it, a broken connection): queue it
    /// again, for another peer if possible.
    pub fn request_failed(&mut self, hash: &BlockHash) {
        if let Some(f) = self.release(hash) {
            self.avoid.insert(*hash, f.peer);
            self.queue.insert((f.height, *hash));
        }
    }

    /// Drops every queued block (the chain moved on, or a branch turned out invalid).
    pub fn clear_queue(&mut self) {
        self.queue.clear();
        self.avoid.clear();
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
        }
    }

    fn hash(i: u32) -> BlockHash {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&i.to_le_bytes());
        BlockHash::from_byte_array(b)
    }

    fn work(w: u64) -> U256 {
        status(0, w).chain_work
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
        assert_eq!(
            s.want_headers(work(5), now + HEADERS_TIMEOUT),
            Some(b),
            "asked again after the timeout"
        );
        s.headers_done(&b);
        s.headers_exhausted(&b);
        assert_eq!(s.want_headers(work(15), now), None, "b gave nothing; a has too little work");
        assert_eq!(s.want_headers(work(5), now), Some(a));
        s.headers_done(&a);
        s.set_status(
            b,
            ChainStatus {
                tip: hash(99),
                ..status(21, 21)
            },
        );
        assert_eq!(s.want_headers(work(5), now), Some(b), "b's tip moved");
        s.headers_done(&b);
        s.enqueue([(hash(1), 1)]);
        assert_eq!(s.want_headers(work(5), now), None, "not while downloading");
    }

    #[test]
    fn assigns_in_height_order_within_limits() {
        let mut s = SyncState::default();
        let (a, b) = (PeerId::random(), PeerId::random());
        s.set_status(a, status(1000, 1));
        s.set_status(b, status(1000, 1));
        s.enqueue((1..=200).map(|i| (hash(i), i)));
        let first = s.assign();
        assert_eq!(first.len(), 2 * MAX_IN_FLIGHT_PER_PEER);
        let heights: Vec<u32> = first
            .iter()
            .map(|(_, h)| u32::from_le_bytes(h.as_bytes()[..4].try_into().unwrap()))
            .collect();
        assert_eq!(heights, (1..=32).collect::<Vec<_>>());
        assert_eq!(first.iter().filter(|(p, _)| *p == a).count(), MAX_IN_FLIGHT_PER_PEER);
        assert!(s.assign().is_empty(), "peers are full");
        s.block_arrived(&hash(1));
        assert_eq!(s.assign().len(), 1);
    }

    #[test]
    fn window_bounds_the_total() {
        let mut s = SyncState::default();
        for _ in 0..10 {
            s.set_status(PeerId::random(), status(1000, 1));
        }
        s.enqueue((1..=500).map(|i| (hash(i), i)));
        assert_eq!(s.assign().len(), WINDOW);
    }

    #[test]
    fn only_peers_that_have_the_block_are_asked() {
        let mut s = SyncState::default();
        let (short, long) = (PeerId::random(), PeerId::random());
        s.set_status(short, status(5, 1));
        s.enqueue((1..=10).map(|i| (hash(i), i)));
        let got = s.assign();
        assert_eq!(got.len(), 5);
        assert!(got.iter().all(|(p, _)| *p == short));
        s.set_status(long, status(10, 1));
        let got = s.assign();
        assert_eq!(got.len(), 5);
        assert!(got.iter().all(|(p, _)| *p == long));
    }

    #[test]
    fn failures_go_to_another_peer_and_departures_requeue() {
        let mut s = SyncState::default();
        let (a, b) = (PeerId::random(), PeerId::random());
        s.set_status(a, status(10, 1));
        s.enqueue([(hash(1), 1)]);
        assert_eq!(s.assign(), vec![(a, hash(1))]);
        s.set_status(b, status(10, 1));
        s.request_failed(&hash(1));
        assert_eq!(s.assign(), vec![(b, hash(1))], "the failing peer is avoided");
        s.remove_peer(&b);
        assert!(s.is_downloading());
        assert_eq!(s.assign(), vec![(a, hash(1))], "back to the only peer left");
        s.block_arrived(&hash(1));
        assert!(!s.is_downloading());
    }
}
