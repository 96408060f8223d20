//! Gnutella-style flooded search, the unstructured alternative to the ring: a query carries a
//! unique id and a TTL; each node answers once per id with the files whose names contain the
//! text, forwards it to its other neighbours while the TTL lasts, and sends the hits it gathers
//! back to whoever asked it — so hits travel the reverse path. What is here is the bookkeeping;
//! the service moves the messages.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use libp2p::PeerId;

use super::LocalFile;
use crate::chord::message::{FloodHit, MAX_HITS, MAX_NAME, truncate};

/// How long a query id is remembered.
pub const SEEN_FOR: Duration = Duration::from_secs(300);

/// The query ids seen recently, bounded in count and age.
#[derive(Debug)]
pub struct Seen {
    ids: HashSet<[u8; 16]>,
    order: VecDeque<([u8; 16], Instant)>,
    max: usize,
}

impl Seen {
    /// Remembers at most `max` ids.
    pub fn new(max: usize) -> Seen {
        Seen {
            ids: HashSet::new(),
            order: VecDeque::new(),
            max: max.max(1),
        }
    }

    /// Records `id`; false if it was seen already (the query is a duplicate).
    pub fn insert(&mut self, id: [u8; 16], now: Instant) -> bool {
        while let Some((old, at)) = self.order.front() {
            if self.order.len() >= self.max || now.duration_since(*at) > SEEN_FOR {
                self.ids.remove(old);
                self.order.pop_front();
            } else {
                break;
            }
        }
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back((id, now));
        true
    }
}

/// Queries one peer may send per second, on average (a burst of [`QUERY_BURST`]). A neighbour
/// relays the queries of everyone behind it, so this is generous; what stops a flooder holding
/// every forwarding slot is [`MAX_FORWARDED_PER_PEER`].
pub const QUERY_RATE: f64 = 10.0;
/// Queries one peer may send at once after a quiet spell.
pub const QUERY_BURST: f64 = 20.0;
/// Queries sent by one peer that may be forwarded at once.
pub const MAX_FORWARDED_PER_PEER: usize = 4;
/// Queries forwarded at once, from everyone.
pub const MAX_FORWARDED: usize = 64;
/// Peers whose query budget is tracked (peers beyond it are refused until one is forgotten).
pub const MAX_TRACKED: usize = 1024;

/// What to do with a query that arrived.
#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    /// Answer with local hits and forward it with this TTL (already lowered by one hop).
    Forward {
        /// The TTL to forward with.
        ttl: u8,
    },
    /// Answer with local hits only (its TTL is spent, or forwarding slots are taken).
    Answer,
    /// Answer with nothing: the sender is over its query rate.
    Refuse,
}

#[derive(Debug)]
struct Budget {
    tokens: f64,
    at: Instant,
    forwarded: usize,
}

/// Who may make this node search and forward (defences against a flood of floods): each peer has
/// a query rate ([`QUERY_RATE`], burst [`QUERY_BURST`]) and at most [`MAX_FORWARDED_PER_PEER`]
/// queries being forwarded, so ~2 queries a second from one peer can no longer hold every
/// forwarding slot; a TTL is clamped to `max_ttl` at every hop, not only where the query began.
#[derive(Debug)]
pub struct FloodGate {
    peers: HashMap<PeerId, Budget>,
    forwarded: usize,
    max_ttl: u8,
}

impl FloodGate {
    /// A gate that clamps TTLs to `max_ttl`.
    pub fn new(max_ttl: u8) -> FloodGate {
        FloodGate {
            peers: HashMap::new(),
            forwarded: 0,
            max_ttl,
        }
    }

    /// A query with `ttl` arrived from `from`.
    pub fn admit(&mut self, from: PeerId, ttl: u8, now: Instant) -> Admit {
        if !self.peers.contains_key(&from) && self.peers.len() >= MAX_TRACKED {
            return Admit::Refuse;
        }
        let b = self.peers.entry(from).or_insert(Budget {
            tokens: QUERY_BURST,
            at: now,
            forwarded: 0,
        });
        b.tokens = (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * QUERY_RATE).min(QUERY_BURST);
        b.at = now;
        if b.tokens < 1.0 {
            return Admit::Refuse;
        }
        b.tokens -= 1.0;
        let ttl = ttl.min(self.max_ttl);
        if ttl <= 1 || b.forwarded >= MAX_FORWARDED_PER_PEER || self.forwarded >= MAX_FORWARDED {
            return Admit::Answer;
        }
        b.forwarded += 1;
        self.forwarded += 1;
        Admit::Forward { ttl: ttl - 1 }
    }

    /// A query from `from` admitted with [`Admit::Forward`] is answered.
    pub fn done(&mut self, from: PeerId) {
        self.forwarded = self.forwarded.saturating_sub(1);
        if let Some(b) = self.peers.get_mut(&from) {
            b.forwarded = b.forwarded.saturating_sub(1);
        }
    }

    /// `peer` disconnected: its budget is forgotten (once its forwarded queries are answered).
    pub fn forget(&mut self, peer: &PeerId) {
        if self.peers.get(peer).is_some_and(|b| b.forwarded == 0) {
            self.peers.remove(peer);
        }
    }

    /// Queries being forwarded now.
    #[cfg(test)]
    fn forwarded(&self) -> usize {
        self.forwarded
    }
}

/// The files among `files` whose names contain `text`, ignoring case, as hits from `me` at
/// `hops` hops.
pub fn matches<'a>(files: impl Iterator<Item = &'a LocalFile>, text: &str, me: PeerId, hops: u8) -> Vec<FloodHit> {
    let needle = text.to_lowercase();
    if needle.is_empty() {
        return Vec::new();
    }
    files
        .filter(|f| f.name.to_lowercase().contains(&needle))
        .take(MAX_HITS)
        .map(|f| FloodHit {
            cid: f.cid,
            name: truncate(&f.name, MAX_NAME).to_string(),
            size: f.size,
            peer: me,
            hops,
        })
        .collect()
}

/// Adds `more` to `hits`: one hit per (file, peer), the nearest kept, at most [`MAX_HITS`].
pub fn merge(hits: &mut Vec<FloodHit>, more: Vec<FloodHit>) {
    for h in more {
        if let Some(x) = hits.iter_mut().find(|x| x.cid == h.cid && x.peer == h.peer) {
            x.hops = x.hops.min(h.hops);
        } else if hits.len() < MAX_HITS {
            hits.push(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::ContentId;

    #[test]
    fn duplicates_are_dropped_and_memory_is_bounded() {
        let mut seen = Seen::new(2);
        let now = Instant::now();
        assert!(seen.insert([1; 16], now));
        assert!(!seen.insert([1; 16], now));
        assert!(seen.insert([2; 16], now));
        assert!(seen.insert([3; 16], now), "the oldest id gives way");
        assert!(seen.insert([1; 16], now));
        assert!(seen.order.len() <= 2 && seen.ids.len() <= 2);
        let later = now + SEEN_FOR + Duration::from_secs(1);
        assert!(seen.insert([3; 16], later), "old ids are forgotten");
    }

    #[test]
    fn names_match_by_substring_and_hits_merge() {
        let me = PeerId::random();
        let file = |n: u8, name: &str| LocalFile {
            cid: ContentId::from_bytes([n; 32]),
            name: name.into(),
            size: 10,
            keywords: vec![],
        };
        let files = [file(1, "Holiday-Photos.tar"), file(2, "notes.txt")];
        let hits = matches(files.iter(), "dAy-pho", me, 2);
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].cid, hits[0].hops), (ContentId::from_bytes([1; 32]), 2));
        assert!(matches(files.iter(), "", me, 1).is_empty());
        let mut all = hits.clone();
        let mut nearer = hits.clone();
        nearer[0].hops = 1;
        merge(&mut all, nearer);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].hops, 1);
        merge(&mut all, matches(files.iter(), "notes", me, 3));
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn a_peer_cannot_take_every_forwarding_slot_nor_raise_the_ttl() {
        let mut gate = FloodGate::new(7);
        let t0 = Instant::now();
        let flooder = PeerId::random();
        // TTL 255 is clamped to 7 at this hop: forwarded with 6.
        assert_eq!(gate.admit(flooder, 255, t0), Admit::Forward { ttl: 6 });
        // At most 4 of its queries forwarded at once; the rest of its burst is answered locally.
        for _ in 0..3 {
            assert_eq!(gate.admit(flooder, 7, t0), Admit::Forward { ttl: 6 });
        }
        for _ in 4..QUERY_BURST as usize {
            assert_eq!(gate.admit(flooder, 7, t0), Admit::Answer);
        }
        assert_eq!(gate.admit(flooder, 7, t0), Admit::Refuse, "over its rate");
        assert_eq!(gate.forwarded(), 4);
        // Another peer is not held up by the first.
        let honest = PeerId::random();
        assert_eq!(gate.admit(honest, 4, t0), Admit::Forward { ttl: 3 });
        assert_eq!(gate.admit(honest, 1, t0), Admit::Answer, "a spent TTL is answered, not forwarded");
        // Once one of its queries is answered, and its rate allows, the flooder is forwarded again.
        gate.done(flooder);
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(gate.admit(flooder, 3, t1), Admit::Forward { ttl: 2 });
    }

    #[test]
    fn the_forwarding_slots_and_the_tracked_peers_are_bounded() {
        let mut gate = FloodGate::new(7);
        let t0 = Instant::now();
        let peers: Vec<PeerId> = (0..MAX_TRACKED).map(|_| PeerId::random()).collect();
        let mut forwarded = 0;
        for p in &peers {
            if matches!(gate.admit(*p, 7, t0), Admit::Forward { .. }) {
                forwarded += 1;
            }
        }
        assert_eq!(forwarded, MAX_FORWARDED);
        assert_eq!(gate.admit(PeerId::random(), 7, t0), Admit::Refuse, "no room to track another peer");
        // A peer that left with nothing in flight is forgotten; one with queries in flight is not.
        let idle = peers[MAX_FORWARDED + 1];
        gate.forget(&idle);
        gate.forget(&peers[0]);
        assert!(matches!(gate.admit(PeerId::random(), 7, t0), Admit::Answer));
        assert_eq!(gate.admit(PeerId::random(), 7, t0), Admit::Refuse);
    }
}
