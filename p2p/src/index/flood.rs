//! Gnutella-style flooded search, the unstructured alternative to the ring: a query carries a
//! unique id and a TTL; each node answers once per id with the files whose names contain the
//! text, forwards it to its other neighbours while the TTL lasts, and sends the hits it gathers
//! back to whoever asked it — so hits travel the reverse path. What is here is the bookkeeping;
//! the service moves the messages.

use std::collections::{HashSet, VecDeque};
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
}
