//! One shared or fetched file as the service sees it: its state, its pieces, its swarm.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_p2p::PeerId;
use cairn_p2p::content::{Bitfield, Choker, ContentId, Download, Manifest, PieceStore, RateMeter};
use cairn_rpc::types::{FileStatus, PeerTransfer};

use super::{MAX_LEDGER, SEARCH_MORE_FIRST, WANT_PEERS};
use crate::content::registry::Record;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum State {
    Searching,
    Downloading,
    Complete,
    Failed(String),
}

impl State {
    pub(super) fn name(&self) -> &'static str {
        match self {
            State::Searching => "searching",
            State::Downloading => "downloading",
            State::Complete => "complete",
            State::Failed(_) => "failed",
        }
    }
}

#[derive(Debug)]
pub(super) struct SharePeer {
    pub(super) connected_at: Instant,
    /// It wants pieces we have.
    pub(super) interested: bool,
    /// What we send it.
    pub(super) up: RateMeter,
    pub(super) not_available: u32,
    /// Peer exchange: when we last sent it the members we know, and which ones it was told.
    pub(super) pex_sent: Option<Instant>,
    pub(super) pex_told: HashSet<PeerId>,
    /// When it last sent us its members (more often than [`super::PEX_EVERY`] is ignored).
    pub(super) pex_heard: Option<Instant>,
}

impl SharePeer {
    pub(super) fn new(now: Instant) -> SharePeer {
        SharePeer {
            connected_at: now,
            interested: false,
            up: RateMeter::new(now),
            not_available: 0,
            pex_sent: None,
            pex_told: HashSet::new(),
            pex_heard: None,
        }
    }
}

/// One shared or fetched file.
#[derive(Debug)]
pub(super) struct Share {
    pub(super) epoch: u64,
    pub(super) record: Record,
    pub(super) manifest: Option<Manifest>,
    pub(super) store: Option<Arc<Mutex<PieceStore>>>,
    /// Pieces verified and written (what we announce and serve).
    pub(super) have: Bitfield,
    pub(super) download: Option<Download<PeerId>>,
    pub(super) state: State,
    pub(super) peers: HashMap<PeerId, SharePeer>,
    pub(super) choker: Choker<PeerId>,
    pub(super) candidates: Vec<PeerId>,
    pub(super) asked_manifest: HashSet<PeerId>,
    pub(super) greeted: HashSet<PeerId>,
    pub(super) manifest_pending: bool,
    pub(super) opening: bool,
    pub(super) searching: bool,
    pub(super) last_search: Option<Instant>,
    /// Wait before the next lookup for more peers (doubles up to [`SEARCH_MORE`]).
    pub(super) search_backoff: Duration,
    pub(super) started: Instant,
    pub(super) last_rechoke: Instant,
    pub(super) rechoke_soon: bool,
    pub(super) writes: usize,
    pub(super) finishing: bool,
    pub(super) down: RateMeter,
    pub(super) up: RateMeter,
    pub(super) ledger: HashMap<PeerId, (u64, u64)>,
}

impl Share {
    pub(super) fn new(epoch: u64, record: Record, now: Instant) -> Share {
        Share {
            epoch,
            record,
            manifest: None,
            store: None,
            have: Bitfield::new(0),
            download: None,
            state: State::Searching,
            peers: HashMap::new(),
            choker: Choker::default(),
            candidates: Vec::new(),
            asked_manifest: HashSet::new(),
            greeted: HashSet::new(),
            manifest_pending: false,
            opening: false,
            searching: false,
            last_search: None,
            search_backoff: SEARCH_MORE_FIRST,
            started: now,
            last_rechoke: now,
            rechoke_soon: false,
            writes: 0,
            finishing: false,
            down: RateMeter::new(now),
            up: RateMeter::new(now),
            ledger: HashMap::new(),
        }
    }

    pub(super) fn serving(&self) -> bool {
        self.store.is_some() && !matches!(self.state, State::Failed(_))
    }

    pub(super) fn note(&mut self, peer: PeerId, down: u64, up: u64) {
        if self.ledger.len() >= MAX_LEDGER && !self.ledger.contains_key(&peer) {
            return;
        }
        let e = self.ledger.entry(peer).or_insert((0, 0));
        e.0 += down;
        e.1 += up;
    }

    pub(super) fn bytes_held(&self) -> u64 {
        let Some(m) = &self.manifest else { return 0 };
        self.have.iter_ones().map(|p| u64::from(m.piece_len(p))).sum()
    }

    pub(super) fn status(&mut self, cid: &ContentId, now: Instant) -> FileStatus {
        let mut sources: Vec<PeerTransfer> = self
            .ledger
            .iter()
            .map(|(p, (down, up))| PeerTransfer {
                peer: p.to_string(),
                downloaded: *down,
                uploaded: *up,
            })
            .collect();
        sources.sort_by(|a, b| b.downloaded.cmp(&a.downloaded).then(b.uploaded.cmp(&a.uploaded)));
        FileStatus {
            cid: cid.to_string(),
            name: self.manifest.as_ref().map(|m| m.name().to_string()),
            size: self.manifest.as_ref().map(Manifest::size),
            origin: self.record.origin.as_str().to_string(),
            state: self.state.name().to_string(),
            pieces_have: self.have.count(),
            pieces_total: self.manifest.as_ref().map_or(0, Manifest::pieces),
            bytes: self.bytes_held(),
            peers: self.peers.len(),
            download_rate: self.down.rate(now),
            upload_rate: self.up.rate(now),
            downloaded: self.down.total(),
            uploaded: self.up.total(),
            path: self.record.path.as_ref().map(|p| p.display().to_string()),
            error: match &self.state {
                State::Failed(e) => Some(e.clone()),
                _ => None,
            },
            sources,
        }
    }

    /// Whether a download should look for more providers now.
    pub(super) fn needs_search(&self, now: Instant) -> bool {
        self.download.is_some()
            && self.peers.len() < WANT_PEERS
            && self.last_search.is_none_or(|t| now.duration_since(t) >= self.search_backoff)
    }
}
