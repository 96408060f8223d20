//! The serving side: block requests from peers wait in a bounded queue per peer and are served
//! round-robin as the upload limit allows.
//!
//! Each queued request carries the caller's reply handle `R` (a libp2p response channel in the
//! node), so every request gets exactly one answer: the block, `Choked` when the peer is choked
//! while waiting, or dropped on `Cancel`. Pure: the caller passes the token bucket and the time.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant};

use super::picker::BlockRequest;
use super::rate::TokenBucket;

/// Most requests queued per peer: twice the most a downloader of ours keeps in flight
/// ([`super::download::MAX_IN_FLIGHT`]; libtorrent allows 2,000). Each is a few bytes.
pub const MAX_QUEUED_PER_PEER: usize = 2 * super::download::MAX_IN_FLIGHT;

/// Waiting block requests of all peers of one node.
#[derive(Debug)]
pub struct UploadQueue<P, R> {
    queues: HashMap<P, VecDeque<(BlockRequest, R)>>,
    /// Round-robin order.
    order: VecDeque<P>,
}

impl<P, R> Default for UploadQueue<P, R> {
    fn default() -> Self {
        UploadQueue {
            queues: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<P: Copy + Eq + Hash, R> UploadQueue<P, R> {
    /// Requests waiting in all.
    pub fn len(&self) -> usize {
        self.queues.values().map(VecDeque::len).sum()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queues.values().all(VecDeque::is_empty)
    }

    /// Queues a request; a full queue hands the reply handle back (answer it "not available").
    ///
    /// # Errors
    /// The peer already has [`MAX_QUEUED_PER_PEER`] requests waiting.
    pub fn push(&mut self, peer: P, block: BlockRequest, reply: R) -> Result<(), R> {
        let q = self.queues.entry(peer).or_default();
        if q.len() >= MAX_QUEUED_PER_PEER {
            return Err(reply);
        }
        if q.is_empty() && !self.order.contains(&peer) {
            self.order.push_back(peer);
        }
        q.push_back((block, reply));
        Ok(())
    }

    /// Removes a queued request (the peer cancelled it); returns its reply handle.
    pub fn cancel(&mut self, peer: P, block: BlockRequest) -> Option<R> {
        let q = self.queues.get_mut(&peer)?;
        let at = q.iter().position(|(b, _)| *b == block)?;
        q.remove(at).map(|(_, r)| r)
    }

    /// Removes everything a peer has waiting (it was choked or left); the handles are returned
    /// to be answered "choked" (or dropped).
    pub fn drain_peer(&mut self, peer: P) -> Vec<(BlockRequest, R)> {
        self.order.retain(|p| *p != peer);
        self.queues.remove(&peer).map(Vec::from).unwrap_or_default()
    }

    /// The next request to serve, round-robin over peers, if `bucket` allows its bytes now;
    /// otherwise how long to wait (`Err(None)`: nothing waits).
    ///
    /// # Errors
    /// Nothing to serve now, and when to try again if something waits.
    pub fn next(&mut self, bucket: &mut TokenBucket, now: Instant) -> Result<(P, BlockRequest, R), Option<Duration>> {
        self.next_ready(bucket, now, |_| true)
    }

    /// Like [`UploadQueue::next`], skipping peers for which `ready` is false (their send
    /// queue is full): they keep their turn for the next call.
    ///
    /// # Errors
    /// Nothing to serve now, and when to try again if a ready peer waits.
    pub fn next_ready(
        &mut self,
        bucket: &mut TokenBucket,
        now: Instant,
        ready: impl Fn(&P) -> bool,
    ) -> Result<(P, BlockRequest, R), Option<Duration>> {
        let mut skipped = 0;
        while let Some(&peer) = self.order.front() {
            if skipped >= self.order.len() {
                return Err(None);
            }
            if !ready(&peer) {
                self.order.rotate_left(1);
                skipped += 1;
                continue;
            }
            let Some(q) = self.queues.get_mut(&peer).filter(|q| !q.is_empty()) else {
                self.order.pop_front();
                self.queues.remove(&peer);
                continue;
            };
            let len = q.front().map_or(0, |(b, _)| u64::from(b.len));
            bucket.take(len, now).map_err(Some)?;
            let (block, reply) = q.pop_front().expect("non-empty");
            self.order.pop_front();
            if !q.is_empty() {
                self.order.push_back(peer);
            }
            return Ok((peer, block, reply));
        }
        Err(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::PieceIndex;

    fn block(i: u32) -> BlockRequest {
        BlockRequest {
            piece: PieceIndex(i),
            offset: 0,
            len: 16384,
        }
    }

    #[test]
    fn peers_are_served_in_turn_within_the_limit() {
        let t0 = Instant::now();
        let mut q: UploadQueue<u8, u32> = UploadQueue::default();
        for i in 0..3 {
            q.push(1, block(i), i).unwrap();
        }
        q.push(2, block(9), 9).unwrap();
        let mut free = TokenBucket::new(None, t0);
        let order: Vec<(u8, u32)> = std::iter::from_fn(|| q.next(&mut free, t0).ok().map(|(p, _, r)| (p, r))).collect();
        assert_eq!(order, vec![(1, 0), (2, 9), (1, 1), (1, 2)]);
        assert_eq!(q.next(&mut free, t0).err(), Some(None));
        // A limit of 32 KiB/s: two blocks of burst, then a wait.
        let mut slow = TokenBucket::new(Some(32768), t0);
        for i in 0..4 {
            q.push(3, block(i), i).unwrap();
        }
        assert!(q.next(&mut slow, t0).is_ok());
        assert!(q.next(&mut slow, t0).is_ok());
        let wait = q.next(&mut slow, t0).err().flatten().unwrap();
        assert!(wait > Duration::from_millis(400), "{wait:?}");
        assert!(q.next(&mut slow, t0 + wait).is_ok());
    }

    #[test]
    fn a_peer_that_is_not_ready_keeps_its_turn() {
        let t0 = Instant::now();
        let mut q: UploadQueue<u8, u32> = UploadQueue::default();
        q.push(1, block(0), 10).unwrap();
        q.push(2, block(0), 20).unwrap();
        q.push(2, block(1), 21).unwrap();
        let mut free = TokenBucket::new(None, t0);
        let got = q.next_ready(&mut free, t0, |p| *p == 2).ok().map(|(p, _, r)| (p, r));
        assert_eq!(got, Some((2, 20)));
        assert_eq!(q.next_ready(&mut free, t0, |p| *p == 2).ok().map(|(p, _, r)| (p, r)), Some((2, 21)));
        assert_eq!(
            q.next_ready(&mut free, t0, |p| *p == 2).err(),
            Some(None),
            "only peer 1 waits, and it is not ready"
        );
        assert_eq!(q.next(&mut free, t0).ok().map(|(p, _, r)| (p, r)), Some((1, 10)));
    }

    #[test]
    fn queues_are_bounded_and_cancels_and_chokes_return_handles() {
        let mut q: UploadQueue<u8, u32> = UploadQueue::default();
        for i in 0..MAX_QUEUED_PER_PEER as u32 {
            q.push(1, block(i), i).unwrap();
        }
        assert_eq!(q.push(1, block(999), 999), Err(999));
        assert_eq!(q.cancel(1, block(5)), Some(5));
        assert_eq!(q.cancel(1, block(5)), None);
        assert_eq!(q.len(), MAX_QUEUED_PER_PEER - 1);
        let drained = q.drain_peer(1);
        assert_eq!(drained.len(), MAX_QUEUED_PER_PEER - 1);
        assert!(q.is_empty());
        let mut free = TokenBucket::new(None, Instant::now());
        assert_eq!(q.next(&mut free, Instant::now()).err(), Some(None));
    }
}
