//! What a session does as time passes: provider lookups, request timeouts, rechoking, and peer
//! exchange (sending our members, taking theirs), and the transfer totals and status it
//! reports.

use std::time::Instant;

use libp2p::PeerId;
use rand::Rng;

use super::super::choker::{PeerView, RECHOKE_INTERVAL};
use super::super::id::PieceIndex;
use super::super::manifest::Manifest;
use super::super::message::MAX_PEX_PEERS;
use super::super::peer_wire::PeerMessage;
use super::{
    Failure, FileSession, MAX_CANDIDATES, MAX_CONNECTING, MAX_LEDGER, MAX_PEX_CANDIDATES, MAX_SWARM, MEMBER_GRACE, Output, PEX_EVERY,
    PEX_FIRST, PEX_HEARD_EVERY, Phase, RECHOKE_SOON, SEARCH_TIMEOUT, SessionStatus,
};
use super::{SwarmMember, SwarmView};

impl FileSession {
    /// The member to drop for a newcomer: past [`MEMBER_GRACE`], it sent us nothing, and (while
    /// we seed) it is not interested either; the longest-connected of them.
    pub(super) fn least_useful(&self, now: Instant) -> Option<PeerId> {
        let seeding = !matches!(self.phase, Phase::Downloading(_));
        self.members
            .iter()
            .filter(|(p, m)| {
                let gave = self.ledger.get(*p).is_some_and(|(down, _)| *down > 0);
                now.duration_since(m.connected_at) >= MEMBER_GRACE && !gave && !(seeding && m.interested)
            })
            .min_by_key(|(p, m)| (m.connected_at, **p))
            .map(|(p, _)| *p)
    }

    /// Whether a newcomer can be taken: there is room, or a member that gave nothing is dropped
    /// to make some.
    pub(super) fn make_room(&mut self, now: Instant, rng: &mut impl Rng, out: &mut Vec<Output>) -> bool {
        if self.members.len() < MAX_SWARM {
            return true;
        }
        let Some(idle) = self.least_useful(now) else { return false };
        self.leave(idle, now, rng, out);
        out.push(Output::Close(idle));
        true
    }

    /// Opens streams to candidates while downloading and short of members.
    pub(super) fn connect_more(&mut self, out: &mut Vec<Output>) {
        if !matches!(self.phase, Phase::Downloading(_)) {
            return;
        }
        for p in &self.candidates {
            if self.members.len() + self.connecting.len() >= MAX_SWARM || self.connecting.len() >= MAX_CONNECTING {
                break;
            }
            if self.members.contains_key(p) || self.connecting.contains(p) || self.tried.contains(p) {
                continue;
            }
            self.tried.insert(*p);
            self.connecting.insert(*p);
            out.push(Output::Connect(*p));
        }
    }

    /// A member told us the members it knows: new ones become candidates.
    pub(super) fn heard_peers(&mut self, from: PeerId, peers: Vec<PeerId>, now: Instant, out: &mut Vec<Output>) {
        let Some(member) = self.members.get_mut(&from) else { return };
        if member.pex_heard.is_some_and(|t| now.duration_since(t) < PEX_HEARD_EVERY) {
            return;
        }
        member.pex_heard = Some(now);
        for p in peers.into_iter().take(MAX_PEX_PEERS) {
            if self.from_pex >= MAX_PEX_CANDIDATES || self.candidates.len() >= MAX_CANDIDATES {
                break;
            }
            if p != self.me && !self.members.contains_key(&p) && !self.candidates.contains(&p) {
                self.candidates.push(p);
                self.from_pex += 1;
            }
        }
        self.connect_more(out);
    }

    pub(super) fn tick(&mut self, now: Instant, rng: &mut impl Rng, out: &mut Vec<Output>) {
        match &mut self.phase {
            Phase::Searching => {
                if now.duration_since(self.started) >= SEARCH_TIMEOUT {
                    self.fail(Failure::NoProvider(SEARCH_TIMEOUT.as_secs()), out);
                    return;
                }
                if self.lookups.last.is_none_or(|t| now.duration_since(t) >= self.lookups.backoff) {
                    self.lookup(now, out);
                }
            }
            Phase::Downloading(d) => {
                let actions = d.tick(now, rng);
                self.apply(actions, now, rng, out);
                if self.needs_lookup(now) {
                    self.lookup(now, out);
                }
                // A full swarm of members that give nothing: one makes way for a candidate not
                // tried yet (one per tick).
                let untried = self
                    .candidates
                    .iter()
                    .any(|p| !self.members.contains_key(p) && !self.connecting.contains(p) && !self.tried.contains(p));
                if untried
                    && self.members.len() + self.connecting.len() >= MAX_SWARM
                    && self.connecting.is_empty()
                    && let Some(idle) = self.least_useful(now)
                {
                    self.leave(idle, now, rng, out);
                    out.push(Output::Close(idle));
                    self.connect_more(out);
                }
            }
            Phase::Opening | Phase::Syncing | Phase::Seeding | Phase::Paused | Phase::Failed(_) => {}
        }
        self.maybe_rechoke(now, rng, out);
        self.exchange_peers(now, out);
    }

    fn maybe_rechoke(&mut self, now: Instant, rng: &mut impl Rng, out: &mut Vec<Output>) {
        let since = now.duration_since(self.last_rechoke);
        if !self.serving() || !(since >= RECHOKE_INTERVAL || (self.rechoke_soon && since >= RECHOKE_SOON)) {
            return;
        }
        self.last_rechoke = now;
        self.rechoke_soon = false;
        let mut views = Vec::with_capacity(self.members.len());
        for (peer, m) in &mut self.members {
            let (download_rate, last_block) = match &mut self.phase {
                Phase::Downloading(d) => d.peer_rate(peer, now).unwrap_or((0.0, None)),
                _ => (0.0, None),
            };
            views.push((
                *peer,
                PeerView {
                    interested: m.interested,
                    download_rate,
                    upload_rate: m.up.rate(now),
                    connected_at: m.connected_at,
                    last_block,
                },
            ));
        }
        views.sort_by_key(|(p, _)| *p);
        let seeding = !matches!(self.phase, Phase::Downloading(_));
        let decision = self.choker.rechoke(&views, seeding, now, rng);
        for peer in decision.unchoke {
            out.push(Output::Send(peer, PeerMessage::Unchoke));
        }
        for peer in decision.choke {
            // BEP 3: a choke drops the requests waiting.
            self.uploads.drain_peer(peer);
            out.push(Output::Send(peer, PeerMessage::Choke));
        }
    }

    /// Tells each member the members it has not been told, when due (see [`PEX_FIRST`]).
    fn exchange_peers(&mut self, now: Instant, out: &mut Vec<Output>) {
        if !self.serving() {
            return;
        }
        let mut all: Vec<PeerId> = self.members.keys().copied().collect();
        all.sort();
        for (peer, m) in &mut self.members {
            let due = match m.pex_sent {
                None => now.duration_since(m.connected_at) >= PEX_FIRST,
                Some(t) => now.duration_since(t) >= PEX_EVERY,
            };
            if !due {
                continue;
            }
            m.pex_sent = Some(now);
            let news: Vec<PeerId> = all
                .iter()
                .filter(|p| *p != peer && !m.pex_told.contains(p))
                .take(MAX_PEX_PEERS)
                .copied()
                .collect();
            if !news.is_empty() {
                m.pex_told.extend(news.iter().copied());
                out.push(Output::Send(*peer, PeerMessage::Peers(news)));
            }
        }
    }

    pub(super) fn note(&mut self, peer: PeerId, down: u64, up: u64) {
        if self.ledger.len() >= MAX_LEDGER && !self.ledger.contains_key(&peer) {
            return;
        }
        let e = self.ledger.entry(peer).or_insert((0, 0));
        e.0 += down;
        e.1 += up;
    }

    /// The swarm as the dashboard draws it.
    pub fn swarm(&mut self, now: Instant) -> SwarmView {
        use crate::content::download::PieceState;
        let (pieces, availability, from) = match &mut self.phase {
            Phase::Downloading(d) => {
                let view = d.view(now);
                let pieces = view
                    .pieces
                    .iter()
                    .map(|s| match s {
                        PieceState::Have => 'h',
                        PieceState::Downloading => 'd',
                        PieceState::Missing => 'm',
                    })
                    .collect();
                (pieces, view.availability, view.peers)
            }
            _ => {
                let pieces = (0..self.have.len())
                    .map(|i| if self.have.get(PieceIndex(i)) { 'h' } else { 'm' })
                    .collect();
                (pieces, Vec::new(), Vec::new())
            }
        };
        let mut peers: Vec<SwarmMember> = self
            .members
            .iter_mut()
            .map(|(p, m)| {
                let seen = from.iter().find(|v| v.peer == *p);
                SwarmMember {
                    peer: *p,
                    download_rate: seen.map_or(0.0, |s| s.rate),
                    upload_rate: m.up.rate(now),
                    unchoked: self.choker.is_unchoked(p),
                    unchokes_us: seen.map(|s| !s.choking_us),
                    interested: m.interested,
                    pieces: seen.map(|s| s.pieces),
                }
            })
            .collect();
        peers.sort_by_key(|m| m.peer);
        SwarmView {
            pieces,
            availability,
            peers,
        }
    }

    /// The state as status calls report it.
    pub fn status(&mut self, now: Instant) -> SessionStatus {
        let mut sources: Vec<(PeerId, u64, u64)> = self.ledger.iter().map(|(p, (d, u))| (*p, *d, *u)).collect();
        sources.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
        let bytes = self
            .manifest
            .as_ref()
            .map_or(0, |m| self.have.iter_ones().map(|p| u64::from(m.piece_len(p))).sum());
        let (wanted_have, wanted_total) = match &self.wanted {
            Some(w) => {
                let total = w.count();
                (total - self.left.min(total), total)
            }
            None => (self.have.count(), self.have.len()),
        };
        let files = match &self.manifest {
            Some(m) if m.is_folder() => m
                .files()
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let selected = self.selected.as_ref().is_none_or(|s| s.get(i).copied().unwrap_or(true));
                    let held = f
                        .pieces()
                        .filter(|p| self.have.get(PieceIndex(*p)))
                        .map(|p| u64::from(m.piece_len(PieceIndex(p))))
                        .sum();
                    (f.path().to_string(), f.size(), selected, held)
                })
                .collect(),
            _ => Vec::new(),
        };
        SessionStatus {
            state: self.phase.name(),
            wanted_have,
            wanted_total,
            files,
            name: self.manifest.as_ref().map(|m| m.name().to_string()),
            size: self.manifest.as_ref().map(Manifest::size),
            pieces_have: self.have.count(),
            pieces_total: self.manifest.as_ref().map_or(0, Manifest::pieces),
            bytes,
            peers: self.members.len(),
            download_rate: self.down.rate(now),
            upload_rate: self.up.rate(now),
            downloaded: self.down.total(),
            uploaded: self.up.total(),
            super_seeding: self.super_seed.is_some(),
            error: match &self.phase {
                Phase::Failed(f) => Some(f.to_string()),
                _ => None,
            },
            sources,
        }
    }
}
