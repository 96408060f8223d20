//! Super-seeding (BEP 16), for a seed whose upload is the bottleneck: it pretends to hold
//! nothing and announces one piece at a time to each peer — a piece no member holds yet, the
//! least offered — and offers that peer another only once the piece it got is seen at another
//! peer, i.e. once the peer has passed it on. Once every piece is held somewhere in the swarm,
//! the seed offers nothing more: the members spread the rest among themselves. So the seed sends
//! about one copy (more only when a member holding the only copy of a piece leaves).
//!
//! One exception to "seen at another peer": when every other member already holds the offered
//! piece, there is nobody to pass it on to, and the peer gets its next piece at once.

use std::collections::HashMap;

use libp2p::PeerId;

use crate::content::bitfield::Bitfield;
use crate::content::id::PieceIndex;

#[derive(Debug)]
struct Held {
    has: Bitfield,
    offered: Option<PieceIndex>,
}

/// What a super-seed knows of its swarm.
#[derive(Debug)]
pub(super) struct SuperSeed {
    /// Members holding each piece.
    avail: Vec<u32>,
    /// Times each piece was offered.
    offers: Vec<u32>,
    peers: HashMap<PeerId, Held>,
}

impl SuperSeed {
    pub(super) fn new(pieces: u32) -> SuperSeed {
        SuperSeed {
            avail: vec![0; pieces as usize],
            offers: vec![0; pieces as usize],
            peers: HashMap::new(),
        }
    }

    /// A member joined holding `has` (already checked to fit): the piece to announce to it.
    pub(super) fn joined(&mut self, peer: PeerId, has: Bitfield) -> Option<PieceIndex> {
        self.left(peer);
        for p in has.iter_ones() {
            self.avail[p.0 as usize] += 1;
        }
        self.peers.insert(peer, Held { has, offered: None });
        self.offer(peer)
    }

    /// A member left.
    pub(super) fn left(&mut self, peer: PeerId) {
        if let Some(h) = self.peers.remove(&peer) {
            for p in h.has.iter_ones() {
                self.avail[p.0 as usize] -= 1;
            }
        }
    }

    /// `peer` announced `piece` (in range): the new offers to make, as (member, piece).
    pub(super) fn have(&mut self, peer: PeerId, piece: PieceIndex) -> Vec<(PeerId, PieceIndex)> {
        let mut out = Vec::new();
        let Some(h) = self.peers.get_mut(&peer) else { return out };
        if !h.has.set(piece) {
            return out;
        }
        self.avail[piece.0 as usize] += 1;
        // Whoever was offered this piece has passed it on: it gets the next one.
        let passed: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(p, h)| **p != peer && h.offered == Some(piece) && h.has.get(piece))
            .map(|(p, _)| *p)
            .collect();
        for p in passed {
            out.extend(self.offer(p).map(|piece| (p, piece)));
        }
        // The peer got its offered piece: if nobody else lacks it, it gets the next one now.
        let nobody_lacks = self.peers.iter().all(|(p, h)| *p == peer || h.has.get(piece));
        if self.peers.get(&peer).is_some_and(|h| h.offered == Some(piece)) && nobody_lacks {
            out.extend(self.offer(peer).map(|piece| (peer, piece)));
        }
        out
    }

    /// Picks the next piece for `peer`: one no member holds yet, offered the fewest times (then
    /// the lowest index); none once the swarm holds every piece.
    fn offer(&mut self, peer: PeerId) -> Option<PieceIndex> {
        let h = self.peers.get_mut(&peer)?;
        h.offered = None;
        // Only pieces no member holds: once the swarm holds a piece, its members spread it.
        let best = (0..self.avail.len())
            .filter(|&i| self.avail[i] == 0 && !h.has.get(PieceIndex(i as u32)))
            .min_by_key(|&i| (self.offers[i], i))?;
        self.offers[best] += 1;
        let piece = PieceIndex(best as u32);
        h.offered = Some(piece);
        Some(piece)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::session::sim::peer;

    #[test]
    fn each_peer_is_offered_a_different_rare_piece_and_the_next_once_it_passed_it_on() {
        let mut s = SuperSeed::new(4);
        let a = s.joined(peer(1), Bitfield::new(4));
        let b = s.joined(peer(2), Bitfield::new(4));
        let c = s.joined(peer(3), Bitfield::new(4));
        assert_eq!((a, b, c), (Some(PieceIndex(0)), Some(PieceIndex(1)), Some(PieceIndex(2))));
        // Peer 1 got piece 0: others lack it, so no new offer yet.
        assert!(s.have(peer(1), PieceIndex(0)).is_empty());
        // Peer 2 now has piece 0 too (from peer 1): peer 1 passed it on and gets the next
        // piece: the one nobody holds and least offered (3).
        assert_eq!(s.have(peer(2), PieceIndex(0)), vec![(peer(1), PieceIndex(3))]);
        // A piece nobody else lacks: the next offer comes at once.
        let mut s = SuperSeed::new(2);
        s.joined(peer(1), Bitfield::new(2));
        assert_eq!(s.have(peer(1), PieceIndex(0)), vec![(peer(1), PieceIndex(1))]);
        assert!(s.have(peer(1), PieceIndex(1)).is_empty(), "it holds everything");
    }

    #[test]
    fn departures_and_repeats_keep_the_counts_right() {
        let mut s = SuperSeed::new(3);
        s.joined(peer(1), Bitfield::full(3));
        assert_eq!(s.avail, vec![1, 1, 1]);
        s.joined(peer(1), Bitfield::new(3));
        assert_eq!(s.avail, vec![0, 0, 0], "a new stream replaces the old view");
        s.have(peer(1), PieceIndex(2));
        s.have(peer(1), PieceIndex(2));
        assert_eq!(s.avail, vec![0, 0, 1]);
        s.left(peer(1));
        assert_eq!(s.avail, vec![0, 0, 0]);
        assert!(s.have(peer(9), PieceIndex(0)).is_empty(), "not a member");
    }
}
