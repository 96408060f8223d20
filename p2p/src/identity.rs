//! The node key: an ed25519 key kept in `<datadir>/<network>/p2p_key`, so the PeerId survives
//! restarts. Written atomically with owner-only permissions; never logged.
//!
//! **A place on the ring costs work** (S/Kademlia's static puzzle, Baumgart & Mies 2007): a node's
//! ring ids are hashes of its peer id, and ed25519 keys are free, so without a cost an attacker
//! would try keys until one lands just before any key it wants to own. A peer id is admitted to
//! the ring only if `SHA-256("cairn/ring-puzzle" ‖ peer id)` starts with `bits` zero bits, so each
//! try at a place costs a key generation and `2^bits` of them are needed on average; an honest
//! node pays that once, when its key is made ([`load_or_create`]).

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use libp2p::PeerId;
pub use libp2p::identity::Keypair;
use sha2::{Digest, Sha256};

use crate::error::StartError;

/// The most zero bits a network may ask for (2^28 key generations is hours of work).
pub const MAX_PUZZLE_BITS: u8 = 28;

/// The leading zero bits of `SHA-256("cairn/ring-puzzle" ‖ peer id bytes)`: how much work the
/// peer id stands for.
pub fn puzzle_bits(peer: &PeerId) -> u32 {
    let mut h = Sha256::new();
    h.update(b"cairn/ring-puzzle");
    h.update(peer.to_bytes());
    let digest: [u8; 32] = h.finalize().into();
    let mut bits = 0;
    for b in digest {
        bits += b.leading_zeros();
        if b != 0 {
            break;
        }
    }
    bits
}

/// Whether `peer` solved the ring puzzle at `bits` zero bits.
pub fn meets_puzzle(peer: &PeerId, bits: u8) -> bool {
    bits == 0 || puzzle_bits(peer) >= u32::from(bits)
}

/// A new ed25519 key whose peer id meets the puzzle at `bits` (at most [`MAX_PUZZLE_BITS`]),
/// found by trying keys on every core. Blocking: `2^bits` key generations on average.
pub fn grind(bits: u8) -> Keypair {
    let bits = bits.min(MAX_PUZZLE_BITS);
    if bits == 0 {
        return Keypair::generate_ed25519();
    }
    let found = AtomicBool::new(false);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    while !found.load(Ordering::Relaxed) {
                        let key = Keypair::generate_ed25519();
                        if meets_puzzle(&key.public().to_peer_id(), bits) {
                            found.store(true, Ordering::Relaxed);
                            return Some(key);
                        }
                    }
                    None
                })
            })
            .collect();
        let mut keys = workers.into_iter().filter_map(|w| w.join().ok().flatten());
        // Every worker runs until one finds a key: there is at least one.
        keys.next().unwrap_or_else(|| grind_here(bits))
    })
}

/// [`grind`] on this thread alone (when no worker thread could run).
fn grind_here(bits: u8) -> Keypair {
    loop {
        let key = Keypair::generate_ed25519();
        if meets_puzzle(&key.public().to_peer_id(), bits) {
            return key;
        }
    }
}

/// Loads the key in `path`, or creates and stores a new one that meets the ring puzzle at
/// `bits`. A stored key below the puzzle (made before the network asked for it, or for a lower
/// setting) is kept as `p2p_key.weak-<peer id>` and replaced by a new one: the node's peer id
/// changes, since the ring would refuse the old one.
///
/// # Errors
/// The file cannot be read or written, or holds something that is not a key.
pub fn load_or_create(path: &Path, bits: u8) -> Result<Keypair, StartError> {
    let io_err = |source| StartError::KeyFile {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            let key = Keypair::from_protobuf_encoding(&bytes).map_err(|e| StartError::BadKey {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
            let peer = key.public().to_peer_id();
            if meets_puzzle(&peer, bits) {
                return Ok(key);
            }
            let kept = path.with_file_name(format!("p2p_key.weak-{peer}"));
            tracing::warn!(
                %peer,
                bits,
                kept = %kept.display(),
                "the node key does not meet the ring puzzle: making a new one (the peer id changes)"
            );
            std::fs::rename(path, &kept).map_err(io_err)?;
            create(path, bits)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path, bits),
        Err(e) => Err(io_err(e)),
    }
}

/// Grinds a key at `bits` and stores it in `path` (atomically, owner-only).
fn create(path: &Path, bits: u8) -> Result<Keypair, StartError> {
    let io_err = |source| StartError::KeyFile {
        path: path.to_path_buf(),
        source,
    };
    if bits >= 12 {
        tracing::info!(
            bits,
            "making a node key that meets the ring puzzle (about 2^{bits} tries, on every core)"
        );
    }
    let key = grind(bits);
    let bytes = key.to_protobuf_encoding().map_err(|e| StartError::BadKey {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io_err)?;
    file.write_all(&bytes).map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io_err)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_stable_and_corruption_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p2p_key");
        let a = load_or_create(&path, 0).unwrap();
        let b = load_or_create(&path, 0).unwrap();
        assert_eq!(a.public().to_peer_id(), b.public().to_peer_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, b"garbage").unwrap();
        assert!(matches!(load_or_create(&path, 0), Err(StartError::BadKey { .. })));
    }

    #[test]
    fn a_key_below_the_puzzle_is_kept_aside_and_replaced_by_one_that_meets_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p2p_key");
        // A key that fails 6 bits (most do: 63 in 64).
        let weak = loop {
            let k = load_or_create(&path, 0).unwrap();
            if !meets_puzzle(&k.public().to_peer_id(), 6) {
                break k;
            }
            std::fs::remove_file(&path).unwrap();
        };
        let weak_peer = weak.public().to_peer_id();
        let strong = load_or_create(&path, 6).unwrap();
        let peer = strong.public().to_peer_id();
        assert_ne!(peer, weak_peer);
        assert!(puzzle_bits(&peer) >= 6, "{}", puzzle_bits(&peer));
        let kept = dir.path().join(format!("p2p_key.weak-{weak_peer}"));
        let old = Keypair::from_protobuf_encoding(&std::fs::read(kept).unwrap()).unwrap();
        assert_eq!(old.public().to_peer_id(), weak_peer, "the old key is kept, not lost");
        assert_eq!(
            load_or_create(&path, 6).unwrap().public().to_peer_id(),
            peer,
            "and the new one stays"
        );
    }

    #[test]
    fn the_puzzle_counts_leading_zero_bits() {
        let keys: Vec<PeerId> = (0..2000).map(|_| Keypair::generate_ed25519().public().to_peer_id()).collect();
        let at = |b: u8| keys.iter().filter(|p| meets_puzzle(p, b)).count();
        assert_eq!(at(0), 2000);
        // Each bit halves the share: about 1000, 500, 250 (far outside these bounds by chance:
        // below 10^-9).
        assert!((800..1200).contains(&at(1)), "{}", at(1));
        assert!((350..650).contains(&at(2)), "{}", at(2));
        assert!((150..350).contains(&at(3)), "{}", at(3));
        for p in &keys {
            assert_eq!(meets_puzzle(p, 4), puzzle_bits(p) >= 4);
        }
        assert!(puzzle_bits(&grind(10).public().to_peer_id()) >= 10);
    }
}
