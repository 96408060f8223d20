//! The downloading side of one file's swarm, as a state machine: events in (a peer's pieces, its
//! choke state, a block, the clock), [`Action`]s out (requests, cancels, interest, pieces to write,
//! HAVE announcements, penalties and bans). The network code only moves bytes.
//!
//! Blocks are collected per piece in memory (at most the pieces being fetched, so memory does not
//! grow with the file). When a piece's last block arrives it is handed out to be hashed
//! ([`Action::Check`]: the caller hashes it off its event loop and reports back with
//! [`Download::checked`]); a good piece is then handed out to be written and announced (so it can
//! be served at once), a bad one is fetched again. Who gets the blame is libtorrent's "smart ban": if one peer sent the whole
//! piece, it gets a strike at once; if several did, the hash of every block and its sender are
//! kept, and when the piece later passes, the peers whose blocks differ from the good ones get a
//! strike (an honest peer that shared a piece with a liar is never blamed). A peer with
//! [`MAX_STRIKES`] strikes is banned. Requests outstanding longer than the timeout are cancelled
//! and asked elsewhere.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use rand::Rng;
use sha2::{Digest, Sha256};

use super::bitfield::{Bitfield, BitfieldError};
use super::id::PieceIndex;
use super::manifest::{BLOCK_SIZE, Manifest};
use super::picker::{BlockRequest, Picker};
use super::rate::RateMeter;

/// Fewest blocks in flight per peer (256 KiB), the queue of a peer whose rate is not known yet.
pub const MIN_IN_FLIGHT: usize = 16;
/// Most blocks in flight per peer (4 MiB).
pub const MAX_IN_FLIGHT: usize = 256;
/// A peer's request queue holds what it sends us in this long (libtorrent's
/// `request_queue_time` idea: the queue follows the bandwidth-delay product, so a fast peer is
/// never left idle waiting for our next request, and a slow one does not hold blocks that a
/// faster one could send).
pub const QUEUE_TIME: Duration = Duration::from_secs(1);
/// How long a request may stay unanswered.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Bad pieces a peer may contribute to before it is banned.
pub const MAX_STRIKES: u32 = 2;
/// Most block records kept per failed piece for the smart ban.
const MAX_SUSPECTS_PER_PIECE: usize = 256;

/// Something the network side must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<P> {
    /// Ask `peer` for a block.
    Request {
        /// Whom.
        peer: P,
        /// What.
        block: BlockRequest,
    },
    /// Tell `peer` a block is no longer wanted.
    Cancel {
        /// Whom.
        peer: P,
        /// What.
        block: BlockRequest,
    },
    /// Tell `peer` whether we want its pieces.
    Interested {
        /// Whom.
        peer: P,
        /// Interested or not.
        yes: bool,
    },
    /// A piece's blocks are all here: hash it (off the event loop) and report with
    /// [`Download::checked`].
    Check {
        /// The piece.
        piece: PieceIndex,
        /// Its data.
        data: Vec<u8>,
    },
    /// A piece verified: write it to the store, then announce it (HAVE) to every peer.
    Verified {
        /// The piece.
        piece: PieceIndex,
        /// Its data.
        data: Vec<u8>,
    },
    /// `peer` sent part of a piece that failed its hash check.
    Penalize {
        /// Whom.
        peer: P,
    },
    /// `peer` sent bad data again: disconnect and ban it.
    Ban {
        /// Whom.
        peer: P,
    },
    /// Every piece is held.
    Complete,
}

/// What [`Download::view`] shows.
#[derive(Clone, Debug, PartialEq)]
pub struct DownloadView<P> {
    /// Each piece's state.
    pub pieces: Vec<PieceState>,
    /// Per piece, how many members hold it.
    pub availability: Vec<u32>,
    /// The members.
    pub peers: Vec<MemberView<P>>,
}

/// One member of a download, as [`Download::view`] shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberView<P> {
    /// The peer.
    pub peer: P,
    /// It chokes us.
    pub choking_us: bool,
    /// Pieces it holds.
    pub pieces: u32,
    /// Bytes per second it sends us.
    pub rate: f64,
}

/// A piece as [`Download::view`] shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PieceState {
    /// Not held, nothing asked for.
    Missing,
    /// Blocks asked for or arriving.
    Downloading,
    /// Verified and written.
    Have,
}

#[derive(Debug)]
struct PeerState {
    has: Bitfield,
    choking_us: bool,
    interested: bool,
    in_flight: HashMap<BlockRequest, Instant>,
    meter: RateMeter,
    last_block: Option<Instant>,
}

/// One file being downloaded.
#[derive(Debug)]
pub struct Download<P: Copy + Eq + Hash> {
    manifest: Manifest,
    picker: Picker<P>,
    peers: HashMap<P, PeerState>,
    buffers: HashMap<PieceIndex, Vec<u8>>,
    strikes: HashMap<P, u32>,
    /// Blocks of failed pieces that several peers contributed to: (block index, sender, hash).
    suspects: HashMap<PieceIndex, Vec<(usize, P, [u8; 32])>>,
    complete_sent: bool,
    /// No new requests (the caller holds too many pieces waiting for their check or write).
    held: bool,
}

impl<P: Copy + Eq + Hash + Ord> Download<P> {
    /// A download of all of `manifest`, already holding `have`.
    pub fn new(manifest: Manifest, have: Bitfield) -> Download<P> {
        let wanted = Bitfield::full(manifest.pieces());
        Download::with_wanted(manifest, have, wanted)
    }

    /// A download of the pieces of `manifest` in `wanted` (a folder's selected files), already
    /// holding `have`.
    pub fn with_wanted(manifest: Manifest, have: Bitfield, wanted: Bitfield) -> Download<P> {
        Download {
            picker: Picker::with_wanted(&manifest, have, wanted),
            manifest,
            peers: HashMap::new(),
            buffers: HashMap::new(),
            strikes: HashMap::new(),
            suspects: HashMap::new(),
            complete_sent: false,
            held: false,
        }
    }

    /// The pieces held.
    pub fn have(&self) -> &Bitfield {
        self.picker.have()
    }

    /// Whether every wanted piece is held.
    pub fn is_complete(&self) -> bool {
        self.picker.is_complete()
    }

    /// Connected peers of this swarm.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Bytes per second `peer` sends us, and when it last sent a block (for the choker).
    pub fn peer_rate(&mut self, peer: &P, now: Instant) -> Option<(f64, Option<Instant>)> {
        self.peers.get_mut(peer).map(|s| (s.meter.rate(now), s.last_block))
    }

    /// The swarm as a dashboard draws it: per piece its state and how many members hold it, and
    /// per member whether it chokes us, how many pieces it holds and its rate to us.
    pub fn view(&mut self, now: Instant) -> DownloadView<P> {
        let pieces = self.manifest.pieces();
        let states = (0..pieces)
            .map(|i| {
                let i = PieceIndex(i);
                if self.picker.have().get(i) {
                    PieceState::Have
                } else if self.picker.is_active(i) || self.buffers.contains_key(&i) {
                    PieceState::Downloading
                } else {
                    PieceState::Missing
                }
            })
            .collect();
        let availability = (0..pieces).map(|i| self.picker.availability(PieceIndex(i))).collect();
        let peers = self
            .peers
            .iter_mut()
            .map(|(p, s)| MemberView {
                peer: *p,
                choking_us: s.choking_us,
                pieces: s.has.count(),
                rate: s.meter.rate(now),
            })
            .collect();
        DownloadView {
            pieces: states,
            availability,
            peers,
        }
    }

    /// Whether `block` is asked of `peer` and not answered yet.
    pub fn is_requested(&self, peer: &P, block: &BlockRequest) -> bool {
        self.peers.get(peer).is_some_and(|s| s.in_flight.contains_key(block))
    }

    /// Whether `peer` is in this swarm.
    pub fn has_peer(&self, peer: &P) -> bool {
        self.peers.contains_key(peer)
    }

    /// Stops asking for blocks while `held` (the caller has too much data waiting to be checked
    /// or written: memory stays bounded when the disk or the hashing is slower than the
    /// network); on release, asks again.
    pub fn hold(&mut self, held: bool, now: Instant, rng: &mut impl Rng) -> Vec<Action<P>> {
        let mut out = Vec::new();
        if self.held != held {
            self.held = held;
            if !held {
                self.fill_all(now, rng, &mut out);
            }
        }
        out
    }

    /// A peer joined with its wire bitfield.
    ///
    /// # Errors
    /// The bitfield does not fit the file (the caller should treat it as protocol abuse).
    pub fn peer_joined(&mut self, peer: P, bitfield: &[u8], now: Instant) -> Result<Vec<Action<P>>, BitfieldError> {
        let has = Bitfield::from_bytes(bitfield, self.manifest.pieces())?;
        if let Some(old) = self.peers.remove(&peer) {
            self.picker.peer_left(peer, &old.has);
        }
        self.picker.peer_joined(&has);
        self.peers.insert(
            peer,
            PeerState {
                has,
                choking_us: true,
                interested: false,
                in_flight: HashMap::new(),
                meter: RateMeter::new(now),
                last_block: None,
            },
        );
        let mut out = Vec::new();
        self.update_interest(peer, &mut out);
        Ok(out)
    }

    /// A peer announced a piece.
    pub fn peer_have(&mut self, peer: P, piece: PieceIndex, now: Instant, rng: &mut impl Rng) -> Vec<Action<P>> {
        let mut out = Vec::new();
        let Some(s) = self.peers.get_mut(&peer) else { return out };
        if s.has.set(piece) {
            self.picker.peer_have(piece);
            self.update_interest(peer, &mut out);
            self.fill(peer, now, rng, &mut out);
        }
        out
    }

    /// A peer choked or unchoked us.
    pub fn peer_choke(&mut self, peer: P, choked: bool, now: Instant, rng: &mut impl Rng) -> Vec<Action<P>> {
        let mut out = Vec::new();
        let Some(s) = self.peers.get_mut(&peer) else { return out };
        s.choking_us = choked;
        if choked {
            // Requests to a choking peer are dropped on its side (BEP 3).
            s.in_flight.clear();
            self.picker.release(peer);
            self.fill_all(now, rng, &mut out);
        } else {
            self.fill(peer, now, rng, &mut out);
        }
        out
    }

    /// A peer left the swarm (disconnected, or banned).
    pub fn peer_left(&mut self, peer: P, now: Instant, rng: &mut impl Rng) -> Vec<Action<P>> {
        let mut out = Vec::new();
        if let Some(s) = self.peers.remove(&peer) {
            self.picker.peer_left(peer, &s.has);
            self.fill_all(now, rng, &mut out);
        }
        out
    }

    /// A request failed without data (refused, or the peer said it is choked or lacks it).
    pub fn request_failed(&mut self, peer: P, block: BlockRequest, now: Instant, rng: &mut impl Rng) -> Vec<Action<P>> {
        let mut out = Vec::new();
        if let Some(s) = self.peers.get_mut(&peer)
            && s.in_flight.remove(&block).is_some()
        {
            self.picker.release_block(peer, block);
            self.fill_all(now, rng, &mut out);
        }
        out
    }

    /// A block arrived from `peer`.
    pub fn block_arrived(&mut self, peer: P, block: BlockRequest, data: Vec<u8>, now: Instant, rng: &mut impl Rng) -> Vec<Action<P>> {
        let mut out = Vec::new();
        let Some(s) = self.peers.get_mut(&peer) else { return out };
        if s.in_flight.remove(&block).is_none() {
            // Unrequested (or already cancelled): ignored.
            return out;
        }
        if data.len() != block.len as usize {
            // The wrong size: the request is freed and asked again (elsewhere, if possible).
            self.picker.release_block(peer, block);
            self.fill_all(now, rng, &mut out);
            return out;
        }
        s.meter.add(data.len() as u64);
        s.last_block = Some(now);
        let arrival = self.picker.received(peer, block);
        for other in arrival.cancels {
            if let Some(o) = self.peers.get_mut(&other) {
                o.in_flight.remove(&block);
            }
            out.push(Action::Cancel { peer: other, block });
        }
        if arrival.accepted {
            let piece_len = self.manifest.piece_len(block.piece) as usize;
            let buf = self.buffers.entry(block.piece).or_insert_with(|| vec![0; piece_len]);
            buf[block.offset as usize..block.offset as usize + data.len()].copy_from_slice(&data);
            if arrival.piece_complete {
                let data = self.buffers.remove(&block.piece).unwrap_or_default();
                out.push(Action::Check { piece: block.piece, data });
            }
        }
        self.fill_all(now, rng, &mut out);
        out
    }

    /// The hash check of a piece handed out by [`Action::Check`] is done: `good` says whether
    /// `data` matched the manifest.
    pub fn checked(&mut self, piece: PieceIndex, data: Vec<u8>, good: bool, now: Instant, rng: &mut impl Rng) -> Vec<Action<P>> {
        let mut out = Vec::new();
        self.piece_done(piece, data, good, &mut out);
        self.fill_all(now, rng, &mut out);
        out
    }

    fn piece_done(&mut self, piece: PieceIndex, data: Vec<u8>, good: bool, out: &mut Vec<Action<P>>) {
        if good {
            self.picker.verified(piece);
            if let Some(records) = self.suspects.remove(&piece) {
                // Smart ban: the good piece shows whose blocks were bad.
                let mut liars: Vec<P> = Vec::new();
                for (b, peer, hash) in records {
                    if block_hash(&data, b) != hash && !liars.contains(&peer) {
                        liars.push(peer);
                    }
                }
                for peer in liars {
                    self.strike(peer, out);
                }
            }
            out.push(Action::Verified { piece, data });
            if self.picker.is_complete() && !self.complete_sent {
                self.complete_sent = true;
                for (p, s) in &mut self.peers {
                    if s.interested {
                        s.interested = false;
                        out.push(Action::Interested { peer: *p, yes: false });
                    }
                }
                out.push(Action::Complete);
            } else {
                let peers: Vec<P> = self.peers.keys().copied().collect();
                for p in peers {
                    self.update_interest(p, out);
                }
            }
            return;
        }
        let senders = self.picker.failed(piece);
        let first = senders.first().map(|(_, p)| *p);
        if let Some(only) = first.filter(|f| senders.iter().all(|(_, p)| p == f)) {
            // One sender: certainly its fault.
            self.strike(only, out);
            return;
        }
        let records = self.suspects.entry(piece).or_default();
        for (b, peer) in senders {
            if records.len() < MAX_SUSPECTS_PER_PIECE {
                records.push((b, peer, block_hash(&data, b)));
            }
        }
    }

    fn strike(&mut self, peer: P, out: &mut Vec<Action<P>>) {
        let strikes = self.strikes.entry(peer).or_insert(0);
        *strikes += 1;
        if *strikes >= MAX_STRIKES {
            out.push(Action::Ban { peer });
            if let Some(s) = self.peers.remove(&peer) {
                self.picker.peer_left(peer, &s.has);
            }
        } else {
            out.push(Action::Penalize { peer });
        }
    }

    /// Cancels requests older than [`REQUEST_TIMEOUT`] and asks again.
    pub fn tick(&mut self, now: Instant, rng: &mut impl Rng) -> Vec<Action<P>> {
        let mut out = Vec::new();
        let peers: Vec<P> = self.peers.keys().copied().collect();
        for peer in peers {
            let s = self.peers.get_mut(&peer).expect("listed");
            let late: Vec<BlockRequest> = s
                .in_flight
                .iter()
                .filter(|(_, t)| now.duration_since(**t) >= REQUEST_TIMEOUT)
                .map(|(b, _)| *b)
                .collect();
            if late.is_empty() {
                continue;
            }
            for b in late {
                s.in_flight.remove(&b);
                self.picker.release_block(peer, b);
                out.push(Action::Cancel { peer, block: b });
            }
        }
        self.fill_all(now, rng, &mut out);
        out
    }

    fn update_interest(&mut self, peer: P, out: &mut Vec<Action<P>>) {
        let Some(s) = self.peers.get_mut(&peer) else { return };
        let want = self.picker.is_interesting(&s.has);
        if want != s.interested {
            s.interested = want;
            out.push(Action::Interested { peer, yes: want });
        }
    }

    fn fill_all(&mut self, now: Instant, rng: &mut impl Rng, out: &mut Vec<Action<P>>) {
        let mut peers: Vec<P> = self.peers.keys().copied().collect();
        peers.sort();
        for p in peers {
            self.fill(p, now, rng, out);
        }
    }

    /// Requests more blocks from `peer` if it unchoked us and has room (see [`QUEUE_TIME`]).
    fn fill(&mut self, peer: P, now: Instant, rng: &mut impl Rng, out: &mut Vec<Action<P>>) {
        let Some(s) = self.peers.get_mut(&peer) else { return };
        if s.choking_us || !s.interested || self.held {
            return;
        }
        let queue = queue_len(s.meter.rate(now));
        if s.in_flight.len() >= queue {
            return;
        }
        let room = queue - s.in_flight.len();
        // Borrow the peer's pieces, not a copy: this runs on every block that arrives.
        let has = &self.peers.get(&peer).expect("present").has;
        let picked = self.picker.pick(peer, has, room, rng);
        let s = self.peers.get_mut(&peer).expect("present");
        for block in picked {
            s.in_flight.insert(block, now);
            out.push(Action::Request { peer, block });
        }
    }
}

/// How many blocks to keep asked of a peer that sends `rate` bytes per second.
fn queue_len(rate: f64) -> usize {
    let blocks = rate * QUEUE_TIME.as_secs_f64() / f64::from(BLOCK_SIZE);
    (blocks.ceil() as usize).clamp(MIN_IN_FLIGHT, MAX_IN_FLIGHT)
}

/// SHA-256 of block `b` of a piece's data.
fn block_hash(piece: &[u8], b: usize) -> [u8; 32] {
    let start = (b * BLOCK_SIZE as usize).min(piece.len());
    let end = (start + BLOCK_SIZE as usize).min(piece.len());
    Sha256::digest(&piece[start..end]).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use std::collections::VecDeque;

    fn file(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + i / 977) as u8).collect()
    }

    fn manifest(bytes: &[u8]) -> Manifest {
        Manifest::from_reader("f", bytes.len() as u64, 32768, bytes).unwrap()
    }

    /// Carries out the hash checks among `actions` at once (the caller would do them off its
    /// event loop) and returns the rest, with what the checks led to.
    fn checked(d: &mut Download<u8>, m: &Manifest, actions: Vec<Action<u8>>, now: Instant, rng: &mut StdRng) -> Vec<Action<u8>> {
        let mut out = Vec::new();
        for a in actions {
            match a {
                Action::Check { piece, data } => {
                    let good = m.verify(piece, &data);
                    let next = d.checked(piece, data, good, now, rng);
                    out.extend(checked(d, m, next, now, rng));
                }
                other => out.push(other),
            }
        }
        out
    }

    /// Runs a download against simulated peers until nothing is left to do; `corrupt(peer)` says
    /// whether a peer flips a byte of every block it sends. Returns the written file and the
    /// actions seen.
    fn simulate(bytes: &[u8], peers: &[u8], corrupt: impl Fn(u8) -> bool) -> (Vec<u8>, Vec<Action<u8>>) {
        let m = manifest(bytes);
        let mut d: Download<u8> = Download::new(m.clone(), Bitfield::new(m.pieces()));
        let mut rng = StdRng::seed_from_u64(5);
        let now = Instant::now();
        let mut seen = Vec::new();
        let mut queue: VecDeque<(u8, BlockRequest)> = VecDeque::new();
        let mut out = vec![0u8; bytes.len()];
        let full = Bitfield::full(m.pieces());
        let mut pending: Vec<Action<u8>> = Vec::new();
        for &p in peers {
            pending.extend(d.peer_joined(p, full.as_bytes(), now).unwrap());
            pending.extend(d.peer_choke(p, false, now, &mut rng));
        }
        let mut steps = 0;
        loop {
            for a in pending.drain(..) {
                match &a {
                    Action::Request { peer, block } => queue.push_back((*peer, *block)),
                    Action::Cancel { peer, block } => queue.retain(|(p, b)| !(p == peer && b == block)),
                    Action::Ban { peer } => queue.retain(|(p, _)| p != peer),
                    Action::Verified { piece, data } => {
                        let at = m.piece_offset(*piece) as usize;
                        out[at..at + data.len()].copy_from_slice(data);
                    }
                    _ => {}
                }
                seen.push(a);
            }
            let Some((peer, block)) = queue.pop_front() else { break };
            let at = (m.piece_offset(block.piece) + u64::from(block.offset)) as usize;
            let mut data = bytes[at..at + block.len as usize].to_vec();
            if corrupt(peer) {
                data[0] ^= 0xff;
            }
            let arrived = d.block_arrived(peer, block, data, now, &mut rng);
            pending = checked(&mut d, &m, arrived, now, &mut rng);
            steps += 1;
            assert!(steps < 100_000, "the download does not end");
        }
        (out, seen)
    }

    #[test]
    fn a_file_arrives_whole_from_several_peers() {
        let bytes = file(10 * 32768 + 5000);
        let (out, seen) = simulate(&bytes, &[1, 2, 3], |_| false);
        assert_eq!(out, bytes);
        assert!(seen.contains(&Action::Complete));
        assert!(seen.contains(&Action::Interested { peer: 1, yes: true }));
        assert!(
            seen.contains(&Action::Interested { peer: 1, yes: false }),
            "not interested once complete"
        );
        let from: std::collections::HashSet<u8> = seen
            .iter()
            .filter_map(|a| if let Action::Request { peer, .. } = a { Some(*peer) } else { None })
            .collect();
        assert_eq!(from.len(), 3, "every peer was asked");
    }

    #[test]
    fn a_corrupting_peer_is_banned_and_the_download_completes_from_honest_ones() {
        let bytes = file(12 * 32768);
        let (out, seen) = simulate(&bytes, &[1, 2], |p| p == 2);
        assert_eq!(out, bytes);
        assert!(seen.contains(&Action::Penalize { peer: 2 }));
        assert!(seen.contains(&Action::Ban { peer: 2 }));
        assert!(!seen.iter().any(|a| matches!(a, Action::Ban { peer: 1 })));
        assert!(seen.contains(&Action::Complete));
    }

    #[test]
    fn smart_ban_blames_only_the_sender_of_bad_blocks() {
        // Blocks of one piece come from several peers; only the liar may ever be blamed.
        let bytes = file(16 * 32768);
        let (out, seen) = simulate(&bytes, &[3, 1, 2], |p| p == 3);
        assert_eq!(out, bytes);
        let blamed: Vec<&Action<u8>> = seen
            .iter()
            .filter(|a| matches!(a, Action::Penalize { .. } | Action::Ban { .. }))
            .collect();
        assert!(seen.contains(&Action::Ban { peer: 3 }), "{blamed:?}");
        for honest in [1, 2] {
            assert!(
                !seen
                    .iter()
                    .any(|a| matches!(a, Action::Penalize { peer } | Action::Ban { peer } if *peer == honest)),
                "honest peer {honest} blamed"
            );
        }
        assert!(seen.contains(&Action::Complete));
    }

    #[test]
    fn a_piece_shared_by_an_honest_peer_and_a_liar_blames_the_liar_once_it_passes() {
        let bytes = file(32768);
        let m = manifest(&bytes);
        let mut d: Download<u8> = Download::new(m.clone(), Bitfield::new(1));
        let mut rng = StdRng::seed_from_u64(7);
        let now = Instant::now();
        let full = Bitfield::full(1);
        let block = |i: u32| BlockRequest {
            piece: PieceIndex(0),
            offset: i * BLOCK_SIZE,
            len: BLOCK_SIZE,
        };
        let data = |i: usize| bytes[i * 16384..(i + 1) * 16384].to_vec();
        d.peer_joined(1, full.as_bytes(), now).unwrap();
        d.peer_choke(1, false, now, &mut rng);
        d.peer_joined(2, full.as_bytes(), now).unwrap();
        let dup = d.peer_choke(2, false, now, &mut rng);
        assert_eq!(dup.len(), 2, "endgame: both blocks asked of peer 2 too");
        d.block_arrived(1, block(0), data(0), now, &mut rng);
        let mut bad = data(1);
        bad[5] ^= 1;
        let arrived = d.block_arrived(2, block(1), bad, now, &mut rng);
        let failed = checked(&mut d, &m, arrived, now, &mut rng);
        assert!(
            !failed.iter().any(|a| matches!(a, Action::Penalize { .. } | Action::Ban { .. })),
            "two senders: nobody is blamed yet: {failed:?}"
        );
        // Fetched again, whole, from peer 1: the piece passes and peer 2's block is shown bad.
        let mut actions = Vec::new();
        actions.extend(d.block_arrived(1, block(0), data(0), now, &mut rng));
        let arrived = d.block_arrived(1, block(1), data(1), now, &mut rng);
        actions.extend(checked(&mut d, &m, arrived, now, &mut rng));
        assert!(actions.contains(&Action::Penalize { peer: 2 }), "{actions:?}");
        assert!(!actions.contains(&Action::Penalize { peer: 1 }));
        assert!(actions.contains(&Action::Complete));
    }

    #[test]
    fn late_requests_are_cancelled_and_endgame_duplicates_stand() {
        let bytes = file(2 * 32768);
        let m = manifest(&bytes);
        let mut d: Download<u8> = Download::new(m.clone(), Bitfield::new(2));
        let mut rng = StdRng::seed_from_u64(6);
        let t0 = Instant::now();
        let full = Bitfield::full(2);
        d.peer_joined(1, full.as_bytes(), t0).unwrap();
        let first = d.peer_choke(1, false, t0, &mut rng);
        assert_eq!(first.len(), 4, "all four blocks asked of the only peer");
        // Peer 2 comes 10 s later: everything is requested already, so it gets the same blocks
        // (endgame).
        let t1 = t0 + Duration::from_secs(10);
        d.peer_joined(2, full.as_bytes(), t1).unwrap();
        let dup = d.peer_choke(2, false, t1, &mut rng);
        assert_eq!(dup.iter().filter(|a| matches!(a, Action::Request { peer: 2, .. })).count(), 4);
        // At 20 s peer 1's requests are late: cancelled; peer 2's stand.
        let later = d.tick(t0 + REQUEST_TIMEOUT, &mut rng);
        let cancels_1 = later.iter().filter(|a| matches!(a, Action::Cancel { peer: 1, .. })).count();
        let cancels_2 = later.iter().filter(|a| matches!(a, Action::Cancel { peer: 2, .. })).count();
        assert_eq!((cancels_1, cancels_2), (4, 0), "{later:?}");
        assert!(d.peer_joined(3, &[0xff, 0xff], t0).is_err(), "a bitfield of the wrong length");
    }
}
