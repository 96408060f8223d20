//! Which blocks to request from which peer (BEP 3 and libtorrent's piece picker).
//!
//! - **Strict priority**: blocks of pieces already started come first, so pieces complete (and
//!   can be verified and served) as soon as possible.
//! - **Random first pieces**: until a few pieces are complete, a new piece is chosen at random
//!   among those the peer has (the rarest pieces are slow to get, and a new peer needs something
//!   to trade quickly).
//! - **Rarest first**: after that, the piece the fewest connected peers have (ties at random).
//! - **Endgame**: once every missing block has been requested, the outstanding ones are also
//!   requested from other peers that have them; the first copy to arrive wins and the others are
//!   cancelled.
//!
//! Pure: the caller passes the peer's pieces and an RNG, and reports arrivals, verification
//! results and peers leaving. `P` is the caller's peer id.

use std::collections::BTreeMap;

use rand::Rng;

use super::bitfield::Bitfield;
use super::id::PieceIndex;
use super::manifest::{BLOCK_SIZE, Manifest};

/// Pieces picked at random before rarest first takes over (libtorrent's initial picks).
pub const RANDOM_FIRST: u32 = 4;

/// One block of a piece.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct BlockRequest {
    /// The piece.
    pub piece: PieceIndex,
    /// Byte offset in the piece (a multiple of 16 KiB).
    pub offset: u32,
    /// Length (16 KiB, or less for a piece's last block).
    pub len: u32,
}

#[derive(Clone, Debug)]
enum Block<P> {
    Missing,
    /// Requested from these peers (several only in endgame).
    Requested(Vec<P>),
    /// Arrived from this peer.
    Received(P),
}

#[derive(Clone, Debug)]
struct Active<P> {
    blocks: Vec<Block<P>>,
}

/// What became of an arriving block.
#[derive(Debug, PartialEq, Eq)]
pub struct Arrival<P> {
    /// The block was asked of this peer and is new: keep its data.
    pub accepted: bool,
    /// Other peers the same block was asked of (endgame): send them a cancel.
    pub cancels: Vec<P>,
    /// The piece has all its blocks: verify it, then call `verified` or `failed`.
    pub piece_complete: bool,
}

/// The download state of one file, for picking.
#[derive(Clone, Debug)]
pub struct Picker<P> {
    piece_size: u32,
    /// Each file's first piece and size (a folder's files start on piece boundaries).
    files: Vec<(u32, u64)>,
    have: Bitfield,
    /// The pieces to download (all, or those of the files selected in a folder).
    wanted: Bitfield,
    /// Wanted pieces not held yet.
    left: u32,
    availability: Vec<u32>,
    active: BTreeMap<PieceIndex, Active<P>>,
}

impl<P: Copy + Eq> Picker<P> {
    /// A picker for all of `manifest`, holding the pieces in `have` already.
    pub fn new(manifest: &Manifest, have: Bitfield) -> Picker<P> {
        Picker::with_wanted(manifest, have, Bitfield::full(manifest.pieces()))
    }

    /// A picker for the pieces of `manifest` in `wanted` (a folder's selected files), holding the
    /// pieces in `have` already. A `wanted` of the wrong length means everything.
    pub fn with_wanted(manifest: &Manifest, have: Bitfield, wanted: Bitfield) -> Picker<P> {
        let wanted = if wanted.len() == manifest.pieces() {
            wanted
        } else {
            Bitfield::full(manifest.pieces())
        };
        let left = wanted.iter_ones().filter(|i| !have.get(*i)).count() as u32;
        Picker {
            piece_size: manifest.piece_size(),
            files: manifest.files().iter().map(|f| (f.pieces().start, f.size())).collect(),
            availability: vec![0; manifest.pieces() as usize],
            have,
            wanted,
            left,
            active: BTreeMap::new(),
        }
    }

    fn piece_len(&self, i: PieceIndex) -> u32 {
        let Some(f) = self.files.partition_point(|(first, _)| *first <= i.0).checked_sub(1) else {
            return 0;
        };
        let (first, size) = self.files[f];
        let start = u64::from(i.0 - first) * u64::from(self.piece_size);
        (size.saturating_sub(start)).min(u64::from(self.piece_size)) as u32
    }

    fn block(&self, piece: PieceIndex, b: usize) -> BlockRequest {
        let offset = b as u32 * BLOCK_SIZE;
        BlockRequest {
            piece,
            offset,
            len: (self.piece_len(piece) - offset).min(BLOCK_SIZE),
        }
    }

    /// The pieces held (verified).
    pub fn have(&self) -> &Bitfield {
        &self.have
    }

    /// Whether every wanted piece is held.
    pub fn is_complete(&self) -> bool {
        self.left == 0
    }

    /// Whether piece `i` is being downloaded (some of its blocks asked for or received).
    pub fn is_active(&self, i: PieceIndex) -> bool {
        self.active.contains_key(&i)
    }

    /// How many connected peers have piece `i`.
    pub fn availability(&self, i: PieceIndex) -> u32 {
        self.availability.get(i.0 as usize).copied().unwrap_or(0)
    }

    /// A peer with these pieces connected.
    pub fn peer_joined(&mut self, has: &Bitfield) {
        for i in has.iter_ones() {
            self.availability[i.0 as usize] += 1;
        }
    }

    /// A connected peer announced a new piece.
    pub fn peer_have(&mut self, i: PieceIndex) {
        if let Some(a) = self.availability.get_mut(i.0 as usize) {
            *a += 1;
        }
    }

    /// A peer with these pieces left (or choked us: pass an empty bitfield to only release its
    /// requests); its outstanding requests go back to the pool.
    pub fn peer_left(&mut self, peer: P, has: &Bitfield) {
        for i in has.iter_ones() {
            let a = &mut self.availability[i.0 as usize];
            *a = a.saturating_sub(1);
        }
        self.release(peer);
    }

    /// Forgets the requests outstanding at `peer` (it choked us, or they timed out).
    pub fn release(&mut self, peer: P) {
        for active in self.active.values_mut() {
            for b in &mut active.blocks {
                if let Block::Requested(peers) = b {
                    peers.retain(|p| *p != peer);
                    if peers.is_empty() {
                        *b = Block::Missing;
                    }
                }
            }
        }
    }

    /// Forgets one outstanding request of `peer` (it failed or timed out).
    pub fn release_block(&mut self, peer: P, req: BlockRequest) {
        if !req.offset.is_multiple_of(BLOCK_SIZE) {
            return;
        }
        if let Some(b) = self
            .active
            .get_mut(&req.piece)
            .and_then(|a| a.blocks.get_mut((req.offset / BLOCK_SIZE) as usize))
            && let Block::Requested(peers) = b
        {
            peers.retain(|p| *p != peer);
            if peers.is_empty() {
                *b = Block::Missing;
            }
        }
    }

    /// Whether `has` holds a piece we want and lack.
    pub fn is_interesting(&self, has: &Bitfield) -> bool {
        has.iter_ones().any(|i| self.wanted.get(i) && !self.have.get(i))
    }

    /// Whether every missing block has been requested (endgame).
    pub fn in_endgame(&self) -> bool {
        self.left as usize == self.active.len() && self.active.values().all(|a| a.blocks.iter().all(|b| !matches!(b, Block::Missing)))
    }

    /// Up to `max` blocks to request from `peer`, which has `has`.
    pub fn pick(&mut self, peer: P, has: &Bitfield, max: usize, rng: &mut impl Rng) -> Vec<BlockRequest> {
        let mut out = Vec::new();
        // Strict priority: finish started pieces.
        self.take_missing(peer, has, max, &mut out);
        // Then start new pieces: random at first, then rarest first.
        while out.len() < max {
            let Some(piece) = self.choose_new(has, rng) else { break };
            let blocks = self.piece_len(piece).div_ceil(BLOCK_SIZE) as usize;
            self.active.insert(
                piece,
                Active {
                    blocks: vec![Block::Missing; blocks],
                },
            );
            self.take_missing_in(piece, peer, max, &mut out);
        }
        // Endgame: everything is requested; ask this peer too for blocks others owe.
        if out.len() < max && self.in_endgame() {
            let pieces: Vec<PieceIndex> = self.active.keys().copied().filter(|p| has.get(*p)).collect();
            'pieces: for piece in pieces {
                let n = self.active[&piece].blocks.len();
                for b in 0..n {
                    if out.len() >= max {
                        break 'pieces;
                    }
                    let req = self.block(piece, b);
                    if let Some(Block::Requested(peers)) = self.active.get_mut(&piece).map(|a| &mut a.blocks[b])
                        && !peers.contains(&peer)
                    {
                        peers.push(peer);
                        out.push(req);
                    }
                }
            }
        }
        out
    }

    fn take_missing(&mut self, peer: P, has: &Bitfield, max: usize, out: &mut Vec<BlockRequest>) {
        let pieces: Vec<PieceIndex> = self.active.keys().copied().filter(|p| has.get(*p)).collect();
        for piece in pieces {
            if out.len() >= max {
                return;
            }
            self.take_missing_in(piece, peer, max, out);
        }
    }

    fn take_missing_in(&mut self, piece: PieceIndex, peer: P, max: usize, out: &mut Vec<BlockRequest>) {
        let n = self.active.get(&piece).map_or(0, |a| a.blocks.len());
        for b in 0..n {
            if out.len() >= max {
                return;
            }
            let req = self.block(piece, b);
            let slot = &mut self.active.get_mut(&piece).expect("active piece").blocks[b];
            if matches!(slot, Block::Missing) {
                *slot = Block::Requested(vec![peer]);
                out.push(req);
            }
        }
    }

    fn choose_new(&self, has: &Bitfield, rng: &mut impl Rng) -> Option<PieceIndex> {
        let candidates = has
            .iter_ones()
            .filter(|i| self.wanted.get(*i) && !self.have.get(*i) && !self.active.contains_key(i));
        if self.have.count() < RANDOM_FIRST {
            // Uniform choice by reservoir sampling.
            let mut chosen = None;
            for (seen, i) in candidates.enumerate() {
                if rng.random_range(0..=seen) == 0 {
                    chosen = Some(i);
                }
            }
            return chosen;
        }
        // Rarest first, uniformly among the rarest: one random draw per pick, not one per tie
        // (this runs every time a piece is started).
        let mut rarest: Vec<PieceIndex> = Vec::new();
        let mut min = u32::MAX;
        for i in candidates {
            let a = self.availability(i);
            if a < min {
                min = a;
                rarest.clear();
            }
            if a == min {
                rarest.push(i);
            }
        }
        (!rarest.is_empty()).then(|| rarest[rng.random_range(0..rarest.len())])
    }

    /// A block arrived from `peer`.
    pub fn received(&mut self, peer: P, req: BlockRequest) -> Arrival<P> {
        let refused = Arrival {
            accepted: false,
            cancels: Vec::new(),
            piece_complete: false,
        };
        if !req.offset.is_multiple_of(BLOCK_SIZE) {
            return refused;
        }
        let b = (req.offset / BLOCK_SIZE) as usize;
        let expected = self.active.contains_key(&req.piece) && b < self.active[&req.piece].blocks.len() && self.block(req.piece, b) == req;
        if !expected {
            return refused;
        }
        let active = self.active.get_mut(&req.piece).expect("checked");
        let cancels = match &active.blocks[b] {
            Block::Requested(peers) if peers.contains(&peer) => peers.iter().copied().filter(|p| *p != peer).collect(),
            _ => return refused,
        };
        active.blocks[b] = Block::Received(peer);
        let piece_complete = active.blocks.iter().all(|x| matches!(x, Block::Received(_)));
        Arrival {
            accepted: true,
            cancels,
            piece_complete,
        }
    }

    /// Piece `i` passed its hash check: it is held now.
    pub fn verified(&mut self, i: PieceIndex) {
        self.active.remove(&i);
        if self.wanted.get(i) && !self.have.get(i) {
            self.left -= 1;
        }
        self.have.set(i);
    }

    /// Piece `i` failed its hash check: it starts over. Returns who sent each block (block index,
    /// peer), to find the culprit.
    pub fn failed(&mut self, i: PieceIndex) -> Vec<(usize, P)> {
        let mut senders = Vec::new();
        if let Some(active) = self.active.remove(&i) {
            for (b, block) in active.blocks.into_iter().enumerate() {
                if let Block::Received(p) = block {
                    senders.push((b, p));
                }
            }
        }
        senders
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use std::io::Read;

    /// A manifest of `pieces` pieces of 32 KiB (2 blocks each).
    fn manifest(pieces: u32) -> Manifest {
        let size = u64::from(pieces) * 32768;
        Manifest::from_reader("f", size, 32768, std::io::repeat(1).take(size)).unwrap()
    }

    fn rng() -> StdRng {
        StdRng::seed_from_u64(7)
    }

    #[test]
    fn started_pieces_are_finished_first() {
        let m = manifest(8);
        let mut p: Picker<u8> = Picker::new(&m, Bitfield::new(8));
        let all = Bitfield::full(8);
        p.peer_joined(&all);
        let first = p.pick(1, &all, 1, &mut rng());
        assert_eq!(first.len(), 1);
        // The next request, from anyone, is the other block of that piece.
        let second = p.pick(2, &all, 1, &mut rng());
        assert_eq!(second[0].piece, first[0].piece);
        assert_eq!(second[0].offset, BLOCK_SIZE);
    }

    #[test]
    fn after_the_first_pieces_the_rarest_comes_first() {
        let m = manifest(10);
        let mut have = Bitfield::new(10);
        for i in 0..RANDOM_FIRST {
            have.set(PieceIndex(i));
        }
        let mut p: Picker<u8> = Picker::new(&m, have);
        let all = Bitfield::full(10);
        p.peer_joined(&all);
        p.peer_joined(&all);
        // A third peer lacks piece 7: it is the rarest.
        let mut rare = Bitfield::full(10);
        rare.clear(PieceIndex(7));
        p.peer_joined(&rare);
        assert_eq!(p.availability(PieceIndex(7)), 2);
        let got = p.pick(9, &all, 2, &mut rng());
        assert!(got.iter().all(|r| r.piece == PieceIndex(7)), "{got:?}");
    }

    #[test]
    fn endgame_duplicates_then_cancels() {
        let m = manifest(1);
        let mut p: Picker<u8> = Picker::new(&m, Bitfield::new(1));
        let all = Bitfield::full(1);
        p.peer_joined(&all);
        p.peer_joined(&all);
        let a = p.pick(1, &all, 10, &mut rng());
        assert_eq!(a.len(), 2);
        assert!(p.in_endgame());
        let b = p.pick(2, &all, 10, &mut rng());
        assert_eq!(a, b, "the same blocks asked of the second peer");
        assert!(p.pick(2, &all, 10, &mut rng()).is_empty(), "never twice from one peer");
        let got = p.received(2, a[0]);
        assert!(got.accepted && !got.piece_complete);
        assert_eq!(got.cancels, vec![1]);
        // The late copy from peer 1 is refused.
        assert!(!p.received(1, a[0]).accepted);
        let last = p.received(1, a[1]);
        assert!(last.accepted && last.piece_complete);
        assert_eq!(last.cancels, vec![2]);
        p.verified(PieceIndex(0));
        assert!(p.is_complete());
    }

    #[test]
    fn a_failed_piece_names_its_senders_and_is_fetched_again() {
        let m = manifest(2);
        let mut p: Picker<u8> = Picker::new(&m, Bitfield::new(2));
        let mut only0 = Bitfield::new(2);
        only0.set(PieceIndex(0));
        p.peer_joined(&only0);
        let r1 = p.pick(1, &only0, 1, &mut rng());
        let r2 = p.pick(2, &only0, 1, &mut rng());
        assert!(p.received(1, r1[0]).accepted);
        assert!(p.received(2, r2[0]).piece_complete);
        let mut senders = p.failed(PieceIndex(0));
        senders.sort();
        assert_eq!(senders, vec![(0, 1), (1, 2)]);
        assert_eq!(p.pick(3, &only0, 5, &mut rng()).len(), 2, "both blocks again");
    }

    #[test]
    fn released_requests_go_to_others_and_strays_are_refused() {
        let m = manifest(1);
        let mut p: Picker<u8> = Picker::new(&m, Bitfield::new(1));
        let all = Bitfield::full(1);
        p.peer_joined(&all);
        let r = p.pick(1, &all, 2, &mut rng());
        p.peer_left(1, &all);
        assert_eq!(p.availability(PieceIndex(0)), 0);
        assert!(!p.received(1, r[0]).accepted, "asked of nobody now");
        assert_eq!(p.pick(2, &all, 2, &mut rng()), r);
        let stray = BlockRequest {
            piece: PieceIndex(0),
            offset: 100,
            len: 10,
        };
        assert!(!p.received(2, stray).accepted);
        assert!(
            !p.received(
                2,
                BlockRequest {
                    piece: PieceIndex(5),
                    ..r[0]
                }
            )
            .accepted
        );
        assert!(p.is_interesting(&all));
        assert!(!p.is_interesting(&Bitfield::new(1)));
    }
}
