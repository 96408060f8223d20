//! One shared file's whole life as a pure state machine: [`FileSession::handle`] takes an
//! [`Input`] (a peer's message, a disk or lookup completion, the clock) and returns [`Output`]s
//! for the caller to carry out. The node's driver only moves bytes: it opens streams, sends
//! frames, runs disk work and hashing on blocking threads, and feeds the results back. The clock
//! and the RNG are passed in, so the whole swarm is tested and simulated without sockets
//! (`tests.rs`, and the simulated swarm in `sim.rs`).
//!
//! The phases, one enum ([`Phase`]):
//! `Searching` (looking up providers, asking them for the manifest) → `Opening` (the driver
//! opens or creates the piece store) → `Downloading` (a [`Download`] picks and checks pieces)
//! → `Syncing` (every piece written; making it durable) → `Seeding`. Any of them may end in
//! `Failed`. A published file starts at `Opening`.
//!
//! Which pieces we hold has one source of truth, [`FileSession::have`]: a piece enters it once it
//! is verified *and written*, so everything announced (HAVE) can be served at once.
//!
//! The swarm (BEP 3 over one stream per peer, see [`super::peer_wire`]): members send each other
//! their bitfields in `Hello`, then `Have`, `Interested`, `Choke`/`Unchoke`, pipelined
//! `Request`s (as many as the peer's rate fills in [`super::download::QUEUE_TIME`]), `Piece`,
//! `Cancel` and `Reject`. Our uploads wait in an [`UploadQueue`] that the driver drains under its
//! upload limit ([`FileSession::next_upload`]); who may ask is the [`Choker`]'s decision. Members
//! tell each other the members they know (`Peers`, BEP 11's idea): a flash crowd finds itself
//! within a second instead of waiting for the index.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use libp2p::PeerId;
use rand::Rng;

use super::bitfield::Bitfield;
use super::choker::Choker;
use super::download::{Action, Download};
use super::id::{ContentId, PieceIndex};
use super::manifest::Manifest;
use super::peer_wire::PeerMessage;
use super::picker::BlockRequest;
use super::rate::{RateMeter, TokenBucket};
use super::upload::UploadQueue;

#[cfg(test)]
mod sim;
mod superseed;
#[cfg(test)]
mod tests;
mod types;
mod upkeep;

use superseed::SuperSeed;
pub use types::{Failure, Input, Output, Phase, SessionStatus, SwarmMember, SwarmView};

/// A fetch that has found no manifest looks up providers again after [`SEARCH_FIRST`], then
/// twice as long each time up to this (a flash crowd's first lookup may come before the seed's
/// record is stored; each second lost there is a second added to every download).
pub const SEARCH_AGAIN: Duration = Duration::from_secs(5);
/// See [`SEARCH_AGAIN`] (the driver's clock must tick at least this often).
pub const SEARCH_FIRST: Duration = Duration::from_millis(250);
/// A download short of peers looks for more after 1 s, then 2, 4, 8 s, then this often: the
/// other downloaders of a file announce themselves only once they have its manifest, so the
/// first lookups of a flash crowd find the seed alone.
pub const SEARCH_MORE: Duration = Duration::from_secs(15);
/// The first of those waits.
pub const SEARCH_MORE_FIRST: Duration = Duration::from_secs(1);
/// A fetch that finds no manifest for this long fails (fetch it again to retry).
pub const SEARCH_TIMEOUT: Duration = Duration::from_secs(120);
/// A download looks for more providers while it has fewer members than this.
pub const WANT_PEERS: usize = 8;
/// Most members of one file's swarm.
pub const MAX_SWARM: usize = 64;
/// A member that has sent nothing within this long of joining may lose its place to a newcomer
/// when the swarm is full (while seeding: one that does not want anything from us either), so a
/// crowd of members that never give cannot shut out the peers that would.
pub const MEMBER_GRACE: Duration = Duration::from_secs(30);
/// Most streams being opened at once for one file.
pub const MAX_CONNECTING: usize = 16;
/// Most candidate members remembered.
pub const MAX_CANDIDATES: usize = 128;
/// Candidates learned by peer exchange fill at most this many of [`MAX_CANDIDATES`], so made-up
/// ids from a hostile member never shut out providers found through the index.
pub const MAX_PEX_CANDIDATES: usize = MAX_CANDIDATES / 2;
/// Most peers remembered for the per-peer transfer totals.
pub const MAX_LEDGER: usize = 1024;
/// Rejected requests for pieces a member announced, before it is dropped from the swarm.
pub const MAX_REJECTS: u32 = 32;
/// Peer exchange: a new member is told the others this long after it joined (one message then
/// covers a flash crowd arriving together), then the ones it has not been told at most every
/// [`PEX_EVERY`] (BEP 11's once a minute).
pub const PEX_FIRST: Duration = Duration::from_secs(1);
/// See [`PEX_FIRST`].
pub const PEX_EVERY: Duration = Duration::from_secs(60);
/// A member's lists are taken at most this often (half of [`PEX_EVERY`], so an honest sender's
/// jitter never loses one).
pub const PEX_HEARD_EVERY: Duration = Duration::from_secs(30);
/// Most piece data held waiting for its hash check or its write; beyond it no block is asked
/// for until some is written (memory stays bounded when the disk is slower than the network).
pub const MAX_HELD_BYTES: u64 = 8 << 20;
/// A rechoke asked for by a newly interested peer waits at least this long after the last one.
pub const RECHOKE_SOON: Duration = Duration::from_secs(1);

/// A member of the swarm: a peer with an open stream.
#[derive(Debug)]
struct Member {
    connected_at: Instant,
    /// It wants pieces we have.
    interested: bool,
    /// What we send it.
    up: RateMeter,
    /// Requests it refused for pieces it announced.
    rejects: u32,
    /// Peer exchange: when we last sent it the members we know, and whom it was told.
    pex_sent: Option<Instant>,
    pex_told: HashSet<PeerId>,
    /// When it last sent its members (more often than [`PEX_HEARD_EVERY`] is ignored).
    pex_heard: Option<Instant>,
}

impl Member {
    fn new(now: Instant) -> Member {
        Member {
            connected_at: now,
            interested: false,
            up: RateMeter::new(now),
            rejects: 0,
            pex_sent: None,
            pex_told: HashSet::new(),
            pex_heard: None,
        }
    }
}

/// Provider lookups: one at a time, spaced out.
#[derive(Debug)]
struct Lookups {
    in_flight: bool,
    last: Option<Instant>,
    /// Wait before the next lookup for more peers while downloading (doubles up to
    /// [`SEARCH_MORE`]).
    backoff: Duration,
}

/// One file's session. See the module documentation.
#[derive(Debug)]
pub struct FileSession {
    cid: ContentId,
    me: PeerId,
    phase: Phase,
    manifest: Option<Manifest>,
    have: Bitfield,
    /// The files of a folder to download, one flag per file, and their pieces; `None`: all.
    selected: Option<Vec<bool>>,
    wanted: Option<Bitfield>,
    /// Wanted pieces not held yet (known once the store is open).
    left: u32,
    started: Instant,
    members: HashMap<PeerId, Member>,
    /// Streams asked for and not up yet.
    connecting: HashSet<PeerId>,
    /// Peers that may share the file: from the index, and (at most [`MAX_PEX_CANDIDATES`]) from
    /// peer exchange.
    candidates: Vec<PeerId>,
    from_pex: usize,
    /// Candidates tried since the last lookup (a failed one is tried again after the next).
    tried: HashSet<PeerId>,
    /// Manifest requests: who was asked since the last lookup, and whether one is in flight.
    asked: HashSet<PeerId>,
    asking: bool,
    lookups: Lookups,
    choker: Choker<PeerId>,
    last_rechoke: Instant,
    rechoke_soon: bool,
    uploads: UploadQueue<PeerId, ()>,
    /// Piece writes under way.
    writes: usize,
    /// Bytes of piece data being checked or written (see [`MAX_HELD_BYTES`]).
    held: u64,
    down: RateMeter,
    up: RateMeter,
    ledger: HashMap<PeerId, (u64, u64)>,
    /// BEP 16 super-seeding, when on (see [`FileSession::set_super_seeding`]).
    super_seed: Option<SuperSeed>,
}

impl FileSession {
    /// A fetch of `cid`: starts by looking up providers.
    #[must_use]
    pub fn fetch(cid: ContentId, me: PeerId, now: Instant) -> (FileSession, Vec<Output>) {
        let mut s = FileSession::new(cid, me, Phase::Searching, now);
        let mut out = Vec::new();
        s.lookup(now, &mut out);
        (s, out)
    }

    /// A file whose manifest is known (published here, or fetched before): opens its store.
    #[must_use]
    pub fn open(manifest: Manifest, me: PeerId, now: Instant) -> (FileSession, Vec<Output>) {
        let mut s = FileSession::new(manifest.content_id(), me, Phase::Opening, now);
        s.have = Bitfield::new(manifest.pieces());
        s.manifest = Some(manifest.clone());
        (s, vec![Output::Open(manifest)])
    }

    /// A session that failed before it could start (kept so that status calls show why).
    #[must_use]
    pub fn failed(cid: ContentId, manifest: Option<Manifest>, me: PeerId, failure: Failure, now: Instant) -> FileSession {
        let mut s = FileSession::new(cid, me, Phase::Failed(failure), now);
        if let Some(m) = manifest {
            s.have = Bitfield::new(m.pieces());
            s.manifest = Some(m);
        }
        s
    }

    fn new(cid: ContentId, me: PeerId, phase: Phase, now: Instant) -> FileSession {
        FileSession {
            cid,
            me,
            phase,
            manifest: None,
            have: Bitfield::new(0),
            selected: None,
            wanted: None,
            left: 0,
            started: now,
            members: HashMap::new(),
            connecting: HashSet::new(),
            candidates: Vec::new(),
            from_pex: 0,
            tried: HashSet::new(),
            asked: HashSet::new(),
            asking: false,
            lookups: Lookups {
                in_flight: false,
                last: None,
                backoff: SEARCH_FIRST,
            },
            choker: Choker::default(),
            last_rechoke: now,
            rechoke_soon: false,
            uploads: UploadQueue::default(),
            writes: 0,
            held: 0,
            down: RateMeter::new(now),
            up: RateMeter::new(now),
            ledger: HashMap::new(),
            super_seed: None,
        }
    }

    /// Turns super-seeding (BEP 16, see `superseed.rs`) on or off. It applies while this node
    /// holds the whole file, to members that join from now on: they see an empty bitfield and
    /// are offered one piece at a time.
    pub fn set_super_seeding(&mut self, on: bool) {
        self.super_seed = match (on, &self.manifest) {
            (true, Some(m)) => Some(SuperSeed::new(m.pieces())),
            _ => None,
        };
    }

    fn super_seeding_now(&self) -> bool {
        self.super_seed.is_some() && matches!(self.phase, Phase::Seeding) && self.have.is_complete()
    }

    /// The file.
    #[must_use]
    pub fn cid(&self) -> ContentId {
        self.cid
    }

    /// Where it is in its life.
    #[must_use]
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// Its manifest, once known.
    #[must_use]
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    /// The pieces held: verified and written.
    #[must_use]
    pub fn have(&self) -> &Bitfield {
        &self.have
    }

    /// Whether the swarm is served: pieces can be asked of us.
    #[must_use]
    pub fn serving(&self) -> bool {
        matches!(self.phase, Phase::Downloading(_) | Phase::Syncing | Phase::Seeding)
    }

    /// Whether `peer` is a member.
    #[must_use]
    pub fn is_member(&self, peer: &PeerId) -> bool {
        self.members.contains_key(peer)
    }

    /// Members now.
    #[must_use]
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Whether `block` is asked of `peer` and not answered yet (the driver drops a request it
    /// has not sent yet once it is not).
    #[must_use]
    pub fn is_requested(&self, peer: &PeerId, block: &BlockRequest) -> bool {
        match &self.phase {
            Phase::Downloading(d) => d.is_requested(peer, block),
            _ => false,
        }
    }

    /// The `Hello` to open a stream with (or to answer one), if a new member would be taken now
    /// (there is room, or a member that gave nothing past [`MEMBER_GRACE`] to make room with).
    #[must_use]
    pub fn hello(&self, now: Instant) -> Option<PeerMessage> {
        let bitfield = if self.super_seeding_now() {
            Bitfield::new(self.have.len())
        } else {
            self.have.clone()
        };
        let room = self.members.len() < MAX_SWARM || self.least_useful(now).is_some();
        (self.serving() && room).then(|| PeerMessage::Hello {
            cid: self.cid,
            bitfield: bitfield.as_bytes().to_vec(),
        })
    }

    /// The next block to upload, round-robin over the members waiting, if `bucket` allows it
    /// now and `ready(peer)` (the driver's send queue to it has room); otherwise how long to wait
    /// (`Err(None)`: nothing to serve, or no member ready).
    ///
    /// # Errors
    /// Nothing to serve now (see above).
    pub fn next_upload(
        &mut self,
        bucket: &mut TokenBucket,
        now: Instant,
        ready: impl Fn(&PeerId) -> bool,
    ) -> Result<(PeerId, BlockRequest), Option<Duration>> {
        let (peer, block, ()) = self.uploads.next_ready(bucket, now, ready)?;
        let len = u64::from(block.len);
        self.up.add(len);
        self.note(peer, 0, len);
        if let Some(m) = self.members.get_mut(&peer) {
            m.up.add(len);
        }
        Ok((peer, block))
    }

    /// A session restored paused (see [`FileSession::pause`]): `have` is what the store holds,
    /// if it is open.
    #[must_use]
    pub fn paused(cid: ContentId, manifest: Option<Manifest>, have: Option<Bitfield>, me: PeerId, now: Instant) -> FileSession {
        let mut s = FileSession::new(cid, me, Phase::Paused, now);
        if let Some(m) = manifest {
            s.have = have.filter(|h| h.len() == m.pieces()).unwrap_or_else(|| Bitfield::new(m.pieces()));
            s.manifest = Some(m);
        }
        s
    }

    /// Pauses: leaves the swarm and stops announcing; what was written is made durable and kept
    /// (nothing is fetched again on [`FileSession::resume`]). Nothing to do if paused or failed.
    pub fn pause(&mut self) -> Vec<Output> {
        if matches!(self.phase, Phase::Paused | Phase::Failed(_)) {
            return Vec::new();
        }
        let mut out = self.stop();
        self.choker = Choker::default();
        self.uploads = UploadQueue::default();
        self.lookups.in_flight = false;
        self.asking = false;
        self.writes = 0;
        self.held = 0;
        self.phase = Phase::Paused;
        out.push(Output::Sync);
        out
    }

    /// Resumes a paused session: opens the store again (the driver reports the pieces it
    /// holds) or, without a manifest yet, looks for providers.
    pub fn resume(&mut self, now: Instant) -> Vec<Output> {
        if !matches!(self.phase, Phase::Paused) {
            return Vec::new();
        }
        self.started = now;
        self.lookups = Lookups {
            in_flight: false,
            last: None,
            backoff: SEARCH_FIRST,
        };
        self.tried.clear();
        self.asked.clear();
        let mut out = Vec::new();
        match self.manifest.clone() {
            Some(m) => {
                self.phase = Phase::Opening;
                out.push(Output::Open(m));
            }
            None => {
                self.phase = Phase::Searching;
                self.lookup(now, &mut out);
            }
        }
        out
    }

    /// Leaves the swarm for good (the file is removed): closes every stream and stops
    /// announcing.
    pub fn stop(&mut self) -> Vec<Output> {
        let mut out: Vec<Output> = self.members.keys().map(|p| Output::Close(*p)).collect();
        self.members.clear();
        self.connecting.clear();
        out.push(Output::Withdraw);
        out
    }

    /// Takes one input.
    pub fn handle(&mut self, input: Input, now: Instant, rng: &mut impl Rng) -> Vec<Output> {
        let mut out = Vec::new();
        match input {
            Input::Found(found) => {
                self.lookups.in_flight = false;
                self.found(found, &mut out);
            }
            Input::Hints(peers) => self.found(peers, &mut out),
            Input::LookupFailed => self.lookups.in_flight = false,
            Input::Manifest { from, bytes } => self.manifest_arrived(from, &bytes, now, rng, &mut out),
            Input::ManifestFailed { from } => {
                let _ = from;
                self.asking = false;
                self.ask_manifest(&mut out);
            }
            Input::Opened { have, selected } => self.opened(have, selected, now, &mut out),
            Input::OpenFailed(e) => self.fail(Failure::Disk(e), &mut out),
            Input::Connected { peer, bitfield } => self.join(peer, &bitfield, now, rng, &mut out),
            Input::ConnectFailed(peer) => {
                self.connecting.remove(&peer);
                self.connect_more(&mut out);
            }
            Input::Message(peer, msg) => self.message(peer, msg, now, rng, &mut out),
            Input::Disconnected(peer) => {
                self.leave(peer, now, rng, &mut out);
                self.connect_more(&mut out);
            }
            Input::Checked { piece, data, good } => {
                if !good {
                    self.release(data.len(), now, rng, &mut out);
                }
                if let Phase::Downloading(d) = &mut self.phase {
                    let actions = d.checked(piece, data, good, now, rng);
                    self.apply(actions, now, rng, &mut out);
                }
            }
            Input::Written { piece, result } => {
                let len = self.manifest.as_ref().map_or(0, |m| m.piece_len(piece) as usize);
                self.release(len, now, rng, &mut out);
                self.written(piece, result, &mut out);
            }
            Input::Synced(result) => match result {
                Ok(()) if matches!(self.phase, Phase::Syncing) => {
                    self.phase = Phase::Seeding;
                    // Seeding from now on: rank peers by what we send them.
                    self.rechoke_soon = true;
                    out.push(Output::Completed);
                }
                Ok(()) => {}
                Err(e) => self.fail(Failure::Disk(format!("saving the file: {e}")), &mut out),
            },
            Input::Tick => self.tick(now, rng, &mut out),
        }
        out
    }

    fn lookup(&mut self, now: Instant, out: &mut Vec<Output>) {
        if self.lookups.in_flight {
            return;
        }
        if self.lookups.last.is_some() {
            let cap = if matches!(self.phase, Phase::Searching) {
                SEARCH_AGAIN
            } else {
                SEARCH_MORE
            };
            self.lookups.backoff = (self.lookups.backoff * 2).min(cap);
        }
        self.lookups.in_flight = true;
        self.lookups.last = Some(now);
        out.push(Output::FindProviders);
    }

    fn found(&mut self, found: Vec<PeerId>, out: &mut Vec<Output>) {
        for p in found {
            if p != self.me && !self.candidates.contains(&p) && self.candidates.len() < MAX_CANDIDATES {
                self.candidates.push(p);
            }
        }
        // Peers that failed before may answer now.
        self.asked.clear();
        self.tried.clear();
        self.ask_manifest(out);
        self.connect_more(out);
    }

    fn ask_manifest(&mut self, out: &mut Vec<Output>) {
        if !matches!(self.phase, Phase::Searching) || self.asking {
            return;
        }
        let Some(peer) = self.candidates.iter().find(|p| !self.asked.contains(p)).copied() else {
            return;
        };
        self.asked.insert(peer);
        self.asking = true;
        out.push(Output::AskManifest(peer));
    }

    fn manifest_arrived(&mut self, from: PeerId, bytes: &[u8], now: Instant, rng: &mut impl Rng, out: &mut Vec<Output>) {
        self.asking = false;
        if !matches!(self.phase, Phase::Searching) {
            return;
        }
        match Manifest::decode(bytes) {
            Ok(m) if m.content_id() == self.cid => {
                self.have = Bitfield::new(m.pieces());
                self.manifest = Some(m.clone());
                self.phase = Phase::Opening;
                out.push(Output::Open(m));
            }
            _ => {
                self.ban(from, "sent a manifest that is not the file's", now, rng, out);
                self.ask_manifest(out);
            }
        }
    }

    fn opened(&mut self, have: Bitfield, selected: Option<Vec<bool>>, now: Instant, out: &mut Vec<Output>) {
        let Some(manifest) = self.manifest.clone() else { return };
        if !matches!(self.phase, Phase::Opening) || have.len() != manifest.pieces() {
            return;
        }
        let selected = selected.filter(|s| s.len() == manifest.files().len() && s.contains(&false));
        let wanted = selected.as_ref().map(|s| manifest.pieces_of(|f| s[f]));
        self.selected = selected;
        self.left = match &wanted {
            Some(w) => w.iter_ones().filter(|i| !have.get(*i)).count() as u32,
            None => have.len() - have.count(),
        };
        self.have = have.clone();
        self.wanted = wanted.clone();
        self.lookups.backoff = SEARCH_MORE_FIRST;
        if self.left == 0 {
            self.phase = Phase::Seeding;
        } else {
            let wanted = wanted.unwrap_or_else(|| Bitfield::full(manifest.pieces()));
            self.phase = Phase::Downloading(Box::new(Download::with_wanted(manifest, have, wanted)));
        }
        out.push(Output::Announce);
        if matches!(self.phase, Phase::Downloading(_)) {
            self.connect_more(out);
            if self.needs_lookup(now) {
                self.lookup(now, out);
            }
        }
    }

    fn join(&mut self, peer: PeerId, bitfield: &[u8], now: Instant, rng: &mut impl Rng, out: &mut Vec<Output>) {
        self.connecting.remove(&peer);
        if !self.serving() || peer == self.me {
            out.push(Output::Close(peer));
            return;
        }
        if Bitfield::from_bytes(bitfield, self.have.len()).is_err() {
            self.ban(peer, "sent a bitfield that does not fit the file", now, rng, out);
            return;
        }
        if self.members.contains_key(&peer) {
            // A new stream replaced the old one: start over with it.
            self.leave(peer, now, rng, out);
        }
        if !self.make_room(now, rng, out) {
            out.push(Output::Close(peer));
            return;
        }
        self.members.insert(peer, Member::new(now));
        if self.super_seeding_now()
            && let (Some(ss), Ok(has)) = (self.super_seed.as_mut(), Bitfield::from_bytes(bitfield, self.have.len()))
            && let Some(piece) = ss.joined(peer, has)
        {
            out.push(Output::Send(peer, PeerMessage::Have(piece)));
        }
        if let Phase::Downloading(d) = &mut self.phase {
            match d.peer_joined(peer, bitfield, now) {
                Ok(actions) => self.apply(actions, now, rng, out),
                Err(_) => self.ban(peer, "sent a bitfield that does not fit the file", now, rng, out),
            }
        }
    }

    fn message(&mut self, peer: PeerId, msg: PeerMessage, now: Instant, rng: &mut impl Rng, out: &mut Vec<Output>) {
        if !self.members.contains_key(&peer) {
            return;
        }
        let pieces = self.have.len();
        match msg {
            PeerMessage::Hello { .. } => self.ban(peer, "sent a second hello", now, rng, out),
            PeerMessage::Have(piece) => {
                if piece.0 >= pieces {
                    self.ban(peer, "announced a piece the file does not have", now, rng, out);
                } else if let Phase::Downloading(d) = &mut self.phase {
                    let actions = d.peer_have(peer, piece, now, rng);
                    self.apply(actions, now, rng, out);
                } else if self.super_seeding_now()
                    && let Some(ss) = self.super_seed.as_mut()
                {
                    for (p, offer) in ss.have(peer, piece) {
                        out.push(Output::Send(p, PeerMessage::Have(offer)));
                    }
                }
            }
            PeerMessage::Interested | PeerMessage::NotInterested => {
                let yes = msg == PeerMessage::Interested;
                let seeding = matches!(self.phase, Phase::Seeding);
                let Some(m) = self.members.get_mut(&peer) else { return };
                m.interested = yes;
                if yes && self.choker.unchoke_if_free(peer, seeding) {
                    out.push(Output::Send(peer, PeerMessage::Unchoke));
                } else {
                    self.rechoke_soon = true;
                }
            }
            PeerMessage::Choke | PeerMessage::Unchoke => {
                if let Phase::Downloading(d) = &mut self.phase {
                    let actions = d.peer_choke(peer, msg == PeerMessage::Choke, now, rng);
                    self.apply(actions, now, rng, out);
                }
            }
            PeerMessage::Request(block) => {
                let fits = block.piece.0 < pieces
                    && self
                        .manifest
                        .as_ref()
                        .is_some_and(|m| u64::from(block.offset) + u64::from(block.len) <= u64::from(m.piece_len(block.piece)));
                if !self.choker.is_unchoked(&peer) || !fits || !self.have.get(block.piece) || self.uploads.push(peer, block, ()).is_err() {
                    out.push(Output::Send(peer, PeerMessage::Reject(block)));
                }
            }
            PeerMessage::Piece { piece, offset, data } => {
                let block = BlockRequest {
                    piece,
                    offset,
                    len: data.len() as u32,
                };
                let Phase::Downloading(d) = &mut self.phase else { return };
                if !d.is_requested(&peer, &block) {
                    // Unrequested, cancelled, or sent after a choke: dropped.
                    return;
                }
                let len = data.len() as u64;
                self.down.add(len);
                let actions = d.block_arrived(peer, block, data, now, rng);
                self.note(peer, len, 0);
                self.apply(actions, now, rng, out);
            }
            PeerMessage::Cancel(block) => {
                let _ = self.uploads.cancel(peer, block);
            }
            PeerMessage::Reject(block) => {
                let Phase::Downloading(d) = &mut self.phase else { return };
                if !d.is_requested(&peer, &block) {
                    return;
                }
                let actions = d.request_failed(peer, block, now, rng);
                self.apply(actions, now, rng, out);
                let rejects = self.members.get_mut(&peer).map_or(0, |m| {
                    m.rejects += 1;
                    m.rejects
                });
                if rejects > MAX_REJECTS {
                    out.push(Output::Close(peer));
                    self.leave(peer, now, rng, out);
                }
            }
            PeerMessage::Peers(peers) => self.heard_peers(peer, peers, now, out),
        }
    }

    /// `peer` left the swarm: everything it was asked or asked of us is released.
    fn leave(&mut self, peer: PeerId, now: Instant, rng: &mut impl Rng, out: &mut Vec<Output>) {
        self.connecting.remove(&peer);
        if self.members.remove(&peer).is_none() {
            return;
        }
        for m in self.members.values_mut() {
            m.pex_told.remove(&peer);
        }
        self.choker.remove(&peer);
        self.uploads.drain_peer(peer);
        if let Some(ss) = self.super_seed.as_mut() {
            ss.left(peer);
        }
        if let Phase::Downloading(d) = &mut self.phase {
            let actions = d.peer_left(peer, now, rng);
            self.apply(actions, now, rng, out);
        }
    }

    fn ban(&mut self, peer: PeerId, reason: &'static str, now: Instant, rng: &mut impl Rng, out: &mut Vec<Output>) {
        out.push(Output::Ban(peer, reason));
        self.candidates.retain(|p| *p != peer);
        self.leave(peer, now, rng, out);
    }

    /// Carries out what the download decided.
    fn apply(&mut self, actions: Vec<Action<PeerId>>, now: Instant, rng: &mut impl Rng, out: &mut Vec<Output>) {
        for action in actions {
            match action {
                Action::Request { peer, block } => out.push(Output::Send(peer, PeerMessage::Request(block))),
                Action::Cancel { peer, block } => out.push(Output::Send(peer, PeerMessage::Cancel(block))),
                Action::Interested { peer, yes } => {
                    let msg = if yes { PeerMessage::Interested } else { PeerMessage::NotInterested };
                    out.push(Output::Send(peer, msg));
                }
                Action::Check { piece, data } => {
                    self.held += data.len() as u64;
                    if self.held >= MAX_HELD_BYTES
                        && let Phase::Downloading(d) = &mut self.phase
                    {
                        let more = d.hold(true, now, rng);
                        debug_assert!(more.is_empty());
                    }
                    out.push(Output::Check { piece, data });
                }
                Action::Verified { piece, data } => {
                    self.writes += 1;
                    out.push(Output::Write { piece, data });
                }
                Action::Penalize { .. } => {}
                Action::Ban { peer } => self.ban(peer, "sent file pieces that failed their hash check", now, rng, out),
                Action::Complete => self.maybe_finish(out),
            }
        }
    }

    /// `len` bytes of piece data are no longer held: ask for blocks again if we had stopped.
    fn release(&mut self, len: usize, now: Instant, rng: &mut impl Rng, out: &mut Vec<Output>) {
        self.held = self.held.saturating_sub(len as u64);
        if self.held < MAX_HELD_BYTES
            && let Phase::Downloading(d) = &mut self.phase
        {
            let actions = d.hold(false, now, rng);
            self.apply(actions, now, rng, out);
        }
    }

    fn written(&mut self, piece: PieceIndex, result: Result<(), String>, out: &mut Vec<Output>) {
        if !self.serving() {
            return;
        }
        self.writes = self.writes.saturating_sub(1);
        match result {
            Ok(()) => {
                if piece.0 < self.have.len() && self.have.set(piece) {
                    if self.wanted.as_ref().is_none_or(|w| w.get(piece)) {
                        self.left = self.left.saturating_sub(1);
                    }
                    for p in self.members.keys() {
                        out.push(Output::Send(*p, PeerMessage::Have(piece)));
                    }
                }
                self.maybe_finish(out);
            }
            Err(e) => self.fail(Failure::Disk(format!("writing piece {piece}: {e}")), out),
        }
    }

    /// Once the last piece is written: make the file durable, then call it complete.
    fn maybe_finish(&mut self, out: &mut Vec<Output>) {
        if matches!(self.phase, Phase::Downloading(_)) && self.writes == 0 && self.left == 0 {
            self.phase = Phase::Syncing;
            out.push(Output::Sync);
        }
    }

    fn fail(&mut self, failure: Failure, out: &mut Vec<Output>) {
        out.extend(self.stop());
        self.phase = Phase::Failed(failure.clone());
        out.push(Output::Failed(failure));
    }

    fn needs_lookup(&self, now: Instant) -> bool {
        matches!(self.phase, Phase::Downloading(_))
            && self.members.len() < WANT_PEERS
            && self.lookups.last.is_none_or(|t| now.duration_since(t) >= self.lookups.backoff)
    }
}
