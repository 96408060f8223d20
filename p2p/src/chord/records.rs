//! The records a Chord node holds for the keys it is responsible for (and, as a replica, for its
//! predecessors' keys): soft state that expires unless its owner republishes it.
//!
//! The ring does not interpret a record. A record is stored under its ring `key`, and within a key
//! it is identified by `(kind, sub)` — for a provider record the provider, for a keyword posting
//! the file — so a republished record replaces the old copy and refreshes its expiry. Every
//! count is bounded: records per key, records in all, value size.
//!
//! **First come, first kept**: a key that is full takes no new record until one expires (a
//! republish refreshes its place), and a read returns the records stored earliest first. So a
//! flood of fresh records cannot evict the ones already there, nor push them out of a read
//! (before, the soonest-expiring record gave way and reads returned the longest-lived first: a
//! forger asking for long lifetimes won both). What a record is — and whether it is signed — is
//! the application's to check before it stores (see `index::payload::admit`).

use std::collections::BTreeMap;

use super::id::ChordId;

/// Milliseconds on the caller's clock (the simulator's or the node's monotonic one).
pub type Millis = u64;

/// Largest value of one record.
pub const MAX_VALUE: usize = 2048;
/// Most records under one key (then new ones wait for one to expire).
pub const MAX_PER_KEY: usize = 1024;
/// Longest lifetime a record may ask for (a day).
pub const MAX_TTL: Millis = 24 * 3600 * 1000;

/// One record as stored and as carried on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The ring key it is stored under.
    pub key: ChordId,
    /// What kind of record (the application's tag).
    pub kind: u8,
    /// Which record within the key (a provider, a file).
    pub sub: [u8; 32],
    /// Opaque to the ring; at most [`MAX_VALUE`] bytes.
    pub value: Vec<u8>,
    /// Milliseconds it stays valid from when it is received.
    pub ttl: Millis,
}

#[derive(Clone, Debug)]
struct Stored {
    value: Vec<u8>,
    expires: Millis,
    /// When it was first stored here (reads return the earliest first).
    since: Millis,
}

/// A node's records.
#[derive(Clone, Debug)]
pub struct Records {
    by_key: BTreeMap<ChordId, BTreeMap<(u8, [u8; 32]), Stored>>,
    count: usize,
    max: usize,
}

impl Records {
    /// An empty store of at most `max` records.
    pub fn new(max: usize) -> Records {
        Records {
            by_key: BTreeMap::new(),
            count: 0,
            max,
        }
    }

    /// Stores or refreshes `record`, received at `now`. Returns false if it was refused (too
    /// big, or the store is full of other records).
    pub fn put(&mut self, record: &Record, now: Millis) -> bool {
        if record.value.len() > MAX_VALUE || record.ttl == 0 {
            return false;
        }
        let expires = now.saturating_add(record.ttl.min(MAX_TTL));
        let id = (record.kind, record.sub);
        let exists = self.by_key.get(&record.key).is_some_and(|m| m.contains_key(&id));
        if !exists && self.count >= self.max {
            self.expire(now);
            if self.count >= self.max {
                return false;
            }
        }
        let entries = self.by_key.entry(record.key).or_default();
        match entries.get_mut(&id) {
            Some(s) => {
                // A copy arriving by replication must not shorten a fresher one.
                if expires >= s.expires {
                    s.value = record.value.clone();
                    s.expires = expires;
                }
            }
            None => {
                if entries.len() >= MAX_PER_KEY {
                    let before = entries.len();
                    entries.retain(|_, s| s.expires > now);
                    self.count -= before - entries.len();
                    if entries.len() >= MAX_PER_KEY {
                        return false;
                    }
                }
                entries.insert(
                    id,
                    Stored {
                        value: record.value.clone(),
                        expires,
                        since: now,
                    },
                );
                self.count += 1;
            }
        }
        true
    }

    /// Whether `record` is stored here with exactly these bytes (a republish or a replica push
    /// of what is held already).
    pub fn holds(&self, record: &Record) -> bool {
        self.by_key
            .get(&record.key)
            .and_then(|m| m.get(&(record.kind, record.sub)))
            .is_some_and(|s| s.value == record.value)
    }

    /// The live records under `key`, at most `limit`, those stored earliest first.
    pub fn get(&self, key: &ChordId, now: Millis, limit: usize) -> Vec<Record> {
        let Some(entries) = self.by_key.get(key) else {
            return Vec::new();
        };
        let mut out: Vec<(Millis, Record)> = entries
            .iter()
            .filter(|(_, s)| s.expires > now)
            .map(|((kind, sub), s)| (s.since, to_record(*key, *kind, *sub, s, now)))
            .collect();
        out.sort_by_key(|r| r.0);
        out.into_iter().take(limit).map(|(_, r)| r).collect()
    }

    /// Live records whose key lies in the half-open arc `(from, to]`, at most `limit`.
    pub fn in_range(&self, from: &ChordId, to: &ChordId, now: Millis, limit: usize) -> Vec<Record> {
        self.select(|k| k.in_half_open(from, to), now, limit)
    }

    /// Live records whose key lies outside `(from, to]`, at most `limit`.
    pub fn outside(&self, from: &ChordId, to: &ChordId, now: Millis, limit: usize) -> Vec<Record> {
        self.select(|k| !k.in_half_open(from, to), now, limit)
    }

    fn select(&self, pick: impl Fn(&ChordId) -> bool, now: Millis, limit: usize) -> Vec<Record> {
        let mut out = Vec::new();
        for (key, entries) in &self.by_key {
            if !pick(key) {
                continue;
            }
            for ((kind, sub), s) in entries {
                if out.len() >= limit {
                    return out;
                }
                if s.expires > now {
                    out.push(to_record(*key, *kind, *sub, s, now));
                }
            }
        }
        out
    }

    /// Drops every expired record.
    pub fn expire(&mut self, now: Millis) {
        let mut removed = 0;
        self.by_key.retain(|_, entries| {
            let before = entries.len();
            entries.retain(|_, s| s.expires > now);
            removed += before - entries.len();
            !entries.is_empty()
        });
        self.count -= removed;
    }

    /// Records held (live or not yet swept).
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Distinct keys held.
    pub fn keys(&self) -> usize {
        self.by_key.len()
    }

    /// Whether any record is held under `key`.
    pub fn has_key(&self, key: &ChordId) -> bool {
        self.by_key.contains_key(key)
    }
}

fn to_record(key: ChordId, kind: u8, sub: [u8; 32], s: &Stored, now: Millis) -> Record {
    Record {
        key,
        kind,
        sub,
        value: s.value.clone(),
        ttl: s.expires.saturating_sub(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: u8, sub: u8, ttl: Millis) -> Record {
        Record {
            key: ChordId::hash(&[key]),
            kind: 1,
            sub: [sub; 32],
            value: vec![sub],
            ttl,
        }
    }

    #[test]
    fn records_refresh_expire_and_stay_bounded() {
        let mut r = Records::new(3);
        assert!(r.put(&rec(1, 1, 100), 0));
        assert!(r.holds(&rec(1, 1, 7)) && !r.holds(&rec(1, 2, 7)));
        assert!(r.put(&rec(1, 1, 500), 10), "a republish refreshes");
        assert_eq!(r.len(), 1);
        assert_eq!(r.get(&ChordId::hash(&[1]), 400, 10).len(), 1);
        assert!(r.put(&rec(1, 2, 100), 0));
        assert!(r.put(&rec(2, 1, 100), 0));
        assert!(!r.put(&rec(3, 1, 100), 50), "full of live records");
        assert!(r.put(&rec(3, 1, 100), 200), "expired records make room");
        assert_eq!(r.len(), 2);
        assert!(r.get(&ChordId::hash(&[2]), 200, 10).is_empty());
        let mut big = rec(4, 1, 100);
        big.value = vec![0; MAX_VALUE + 1];
        assert!(!r.put(&big, 200));
        // A replica with less time left does not shorten the record.
        assert!(r.put(&rec(1, 1, 10), 200));
        assert_eq!(r.get(&ChordId::hash(&[1]), 200, 10)[0].ttl, 310);
    }

    #[test]
    fn ranges_select_by_key_arc() {
        let mut r = Records::new(100);
        for k in 0..20u8 {
            r.put(&rec(k, 0, 1000), 0);
        }
        let (a, b) = (ChordId::hash(&[3]), ChordId::hash(&[9]));
        let inside = r.in_range(&a, &b, 0, 100);
        let outside = r.outside(&a, &b, 0, 100);
        assert_eq!(inside.len() + outside.len(), 20);
        assert!(inside.iter().all(|x| x.key.in_half_open(&a, &b)));
        assert!(inside.iter().any(|x| x.key == b));
        assert_eq!(r.in_range(&a, &b, 0, 1).len(), 1);
    }

    #[test]
    fn a_flood_of_new_records_neither_evicts_nor_hides_the_ones_already_there() {
        let key = ChordId::hash(&[9]);
        let mut r = Records::new(1 << 20);
        let record = |sub: u32, ttl: Millis| Record {
            key,
            kind: 1,
            sub: {
                let mut s = [0u8; 32];
                s[..4].copy_from_slice(&sub.to_le_bytes());
                s
            },
            value: vec![1],
            ttl,
        };
        // The honest record, with the usual lifetime; then a flood asking for a day each.
        assert!(r.put(&record(0, 30 * 60 * 1000), 0));
        let mut refused = 0;
        for sub in 1..2 * MAX_PER_KEY as u32 {
            if !r.put(&record(sub, MAX_TTL), 1) {
                refused += 1;
            }
        }
        assert_eq!(refused, MAX_PER_KEY, "a full key takes no new record");
        let first = r.get(&key, 2, 10);
        assert_eq!(first[0].sub, record(0, 0).sub, "the earliest record is read first");
        // Its owner's republish still refreshes it.
        assert!(r.put(&record(0, 30 * 60 * 1000), 1000));
        // Once the flood expires, new records are taken again.
        assert!(r.put(&record(99_999, 1000), MAX_TTL + 10));
    }
}
