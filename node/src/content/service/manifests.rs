//! Manifest answers under the upload limit: a 37-byte `GetManifest` can ask for up to 8 MiB, so
//! answers wait for the node's upload budget like blocks do, at most [`MAX_WAITING_PER_PEER`]
//! per peer and [`MAX_WAITING`] in all, and a peer that was sent the same manifest in the last
//! [`ASK_EVERY`] is told `NotFound` (an honest fetch asks once, then talks on the peer wire).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use cairn_p2p::PeerId;
use cairn_p2p::content::ContentId;

/// Manifest answers waiting for the upload budget.
pub(super) const MAX_WAITING: usize = 32;
/// Of which for one peer.
pub(super) const MAX_WAITING_PER_PEER: usize = 4;
/// How often one peer may be sent the same manifest.
pub(super) const ASK_EVERY: Duration = Duration::from_secs(10);
/// Peers whose last answer is remembered (older entries are forgotten first).
const MAX_REMEMBERED: usize = 4096;

/// The manifest answers waiting, and when each peer was last answered. `R` is the responder.
#[derive(Debug)]
pub(super) struct ManifestQueue<R> {
    waiting: VecDeque<(PeerId, ContentId, R)>,
    last: HashMap<(PeerId, ContentId), Instant>,
}

impl<R> ManifestQueue<R> {
    pub(super) fn new() -> ManifestQueue<R> {
        ManifestQueue {
            waiting: VecDeque::new(),
            last: HashMap::new(),
        }
    }

    /// Queues `peer`'s request for `cid`; gives the responder back if it is refused (asked
    /// too soon, too many waiting, or no room).
    pub(super) fn push(&mut self, peer: PeerId, cid: ContentId, responder: R, now: Instant) -> Result<(), R> {
        let recent = self
            .last
            .get(&(peer, cid))
            .is_some_and(|t| now.saturating_duration_since(*t) < ASK_EVERY);
        let theirs = self.waiting.iter().filter(|(p, _, _)| *p == peer).count();
        if recent || self.waiting.len() >= MAX_WAITING || theirs >= MAX_WAITING_PER_PEER {
            return Err(responder);
        }
        if self.last.len() >= MAX_REMEMBERED {
            self.last.retain(|_, t| now.saturating_duration_since(*t) < ASK_EVERY);
            if self.last.len() >= MAX_REMEMBERED {
                return Err(responder);
            }
        }
        self.last.insert((peer, cid), now);
        self.waiting.push_back((peer, cid, responder));
        Ok(())
    }

    /// The file of the next answer due.
    pub(super) fn front(&self) -> Option<ContentId> {
        self.waiting.front().map(|(_, cid, _)| *cid)
    }

    /// Takes the next answer due.
    pub(super) fn pop(&mut self) -> Option<(PeerId, ContentId, R)> {
        self.waiting.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_is_not_sent_the_same_manifest_again_soon_nor_too_many_at_once() {
        let mut q = ManifestQueue::new();
        let t0 = Instant::now();
        let (a, b) = (PeerId::random(), PeerId::random());
        let cid = ContentId::from_bytes([1; 32]);
        assert!(q.push(a, cid, 1, t0).is_ok());
        assert_eq!(q.push(a, cid, 2, t0), Err(2), "asked again at once");
        assert!(q.push(b, cid, 3, t0).is_ok());
        assert_eq!(q.pop().map(|x| x.2), Some(1));
        assert_eq!(q.push(a, cid, 4, t0 + ASK_EVERY / 2), Err(4), "answered, but asking again too soon");
        assert!(q.push(a, cid, 5, t0 + ASK_EVERY).is_ok());
        assert_eq!(q.front(), Some(cid));
        // Other files from the same peer, at once: up to the per-peer bound.
        for i in 0..MAX_WAITING_PER_PEER - 1 {
            assert!(q.push(a, ContentId::from_bytes([10 + i as u8; 32]), 10 + i, t0 + ASK_EVERY).is_ok());
        }
        assert_eq!(q.push(a, ContentId::from_bytes([99; 32]), 99, t0 + ASK_EVERY), Err(99));
    }

    #[test]
    fn the_queue_is_bounded() {
        let mut q = ManifestQueue::new();
        let t0 = Instant::now();
        let cid = ContentId::from_bytes([1; 32]);
        for i in 0..MAX_WAITING {
            assert!(q.push(PeerId::random(), cid, i, t0).is_ok());
        }
        assert_eq!(q.push(PeerId::random(), cid, 99, t0), Err(99));
    }
}
