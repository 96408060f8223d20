//! Signatures already verified (Bitcoin Core's signature cache).
//!
//! A transaction's signatures are verified when it enters the mempool; without a cache they are
//! verified again when its block connects, and again if a reorg puts it back in the mempool and
//! then in another block. The cache remembers each check that passed, keyed by a salted
//! SHA-256 of everything the check depends on: the signature hash (which commits to the spending
//! transaction, the input and the spent output), the public key and the signature. A hit skips
//! the key and signature parsing and the ECDSA verification; the cheap checks (sizes, the key
//! hash) still run.
//!
//! Only checks that passed are stored, so a peer cannot make the cache say yes to anything
//! that was not verified; the salt is random per process, so nobody can aim entries at a slot.
//! The cache is bounded ([`DEFAULT_SIG_CACHE_ENTRIES`] entries of 32 bytes, about 4 MB with the
//! set's overhead); when full the oldest entry makes room (Core's cuckoo cache evicts old
//! entries too). A flood of valid transactions can push entries out, which costs verifications
//! later, never correctness.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

/// Entries kept by default: 2^17, a few blocks' worth of inputs.
pub const DEFAULT_SIG_CACHE_ENTRIES: usize = 1 << 17;

/// A bounded set of signature checks that passed. Shared by the verification threads.
pub struct SigCache {
    salt: [u8; 32],
    capacity: usize,
    inner: RwLock<Entries>,
    hits: AtomicU64,
}

#[derive(Default)]
struct Entries {
    set: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

impl std::fmt::Debug for SigCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// A random salt from the standard library's per-process hash seeds.
fn random_salt() -> [u8; 32] {
    let mut salt = [0u8; 32];
    for chunk in salt.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    salt
}

impl SigCache {
    /// An empty cache of at most `capacity` entries (0: nothing is ever stored).
    pub fn new(capacity: usize) -> SigCache {
        SigCache {
            salt: random_salt(),
            capacity,
            inner: RwLock::new(Entries::default()),
            hits: AtomicU64::new(0),
        }
    }

    /// The key of one check.
    pub fn key(&self, digest: &[u8; 32], pubkey: &[u8], signature: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(digest);
        h.update([pubkey.len() as u8]);
        h.update(pubkey);
        h.update(signature);
        h.finalize().into()
    }

    /// Whether this check passed before (counted as a hit if so).
    pub fn contains(&self, key: &[u8; 32]) -> bool {
        let found = self.inner.read().is_ok_and(|e| e.set.contains(key));
        if found {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// Remembers a check that passed.
    pub fn insert(&self, key: [u8; 32]) {
        if self.capacity == 0 {
            return;
        }
        let Ok(mut e) = self.inner.write() else { return };
        if !e.set.insert(key) {
            return;
        }
        e.order.push_back(key);
        while e.order.len() > self.capacity {
            if let Some(old) = e.order.pop_front() {
                e.set.remove(&old);
            }
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.inner.read().map_or(0, |e| e.order.len())
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks answered from the cache since it was made.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
}

impl Default for SigCache {
    fn default() -> Self {
        SigCache::new(DEFAULT_SIG_CACHE_ENTRIES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_at_most_its_capacity_oldest_out_first() {
        let c = SigCache::new(3);
        let keys: Vec<[u8; 32]> = (0..5u8).map(|i| c.key(&[i; 32], &[2; 33], &[1; 64])).collect();
        for k in &keys {
            c.insert(*k);
        }
        assert_eq!(c.len(), 3);
        assert!(!c.contains(&keys[0]) && !c.contains(&keys[1]));
        assert!(keys[2..].iter().all(|k| c.contains(k)));
        assert_eq!(c.hits(), 3);
        c.insert(keys[4]);
        assert_eq!(c.len(), 3, "a repeated insert takes no second place");
    }

    #[test]
    fn keys_cover_every_input_and_are_salted_per_cache() {
        let c = SigCache::new(10);
        let base = c.key(&[1; 32], &[2; 33], &[3; 64]);
        assert_ne!(base, c.key(&[9; 32], &[2; 33], &[3; 64]));
        assert_ne!(base, c.key(&[1; 32], &[9; 33], &[3; 64]));
        assert_ne!(base, c.key(&[1; 32], &[2; 33], &[9; 64]));
        assert_ne!(base, SigCache::new(10).key(&[1; 32], &[2; 33], &[3; 64]));
        let none = SigCache::new(0);
        none.insert(base);
        assert!(none.is_empty());
    }
}
