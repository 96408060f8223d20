//! Who may download from us: tit-for-tat choking with an optimistic unchoke (Cohen, "Incentives
//! Build Robustness in BitTorrent", and libtorrent's rate-based choker).
//!
//! Every [`RECHOKE_INTERVAL`] the caller asks for a decision: the [`UPLOAD_SLOTS`] interested peers
//! that send us the most are unchoked (a seed, which downloads nothing, ranks by what it sends
//! them and has [`SEED_SLOTS`]: with nothing to trade for, its only job is to spread pieces, and a
//! seed that feeds only four of eight leechers leaves the other four behind); one more slot, the optimistic unchoke, goes to a random other interested peer and
//! rotates every [`OPTIMISTIC_INTERVAL`], new peers three times as likely (they have nothing to
//! trade yet). A peer that has sent us nothing for [`SNUB_TIMEOUT`] while we download is snubbed:
//! it can only get the optimistic slot.
//!
//! Pure: rates, the clock and the RNG come from the caller.

use std::collections::HashSet;
use std::hash::Hash;
use std::time::{Duration, Instant};

use rand::Rng;

/// Regular unchoke slots.
pub const UPLOAD_SLOTS: usize = 4;
/// Regular unchoke slots of a seed (libtorrent's default unchoke slot limit).
pub const SEED_SLOTS: usize = 8;
/// How often the choker decides.
pub const RECHOKE_INTERVAL: Duration = Duration::from_secs(10);
/// How often the optimistic unchoke moves.
pub const OPTIMISTIC_INTERVAL: Duration = Duration::from_secs(30);
/// Silence after which a peer counts as snubbing us.
pub const SNUB_TIMEOUT: Duration = Duration::from_secs(60);
/// A peer connected this recently counts as new (weight 3 for the optimistic slot).
pub const NEW_PEER: Duration = Duration::from_secs(60);

/// What the choker knows of a peer.
#[derive(Clone, Copy, Debug)]
pub struct PeerView {
    /// It wants pieces we have.
    pub interested: bool,
    /// Bytes per second it sends us (recent average).
    pub download_rate: f64,
    /// Bytes per second we send it (recent average).
    pub upload_rate: f64,
    /// When it connected.
    pub connected_at: Instant,
    /// When it last sent us a block.
    pub last_block: Option<Instant>,
}

/// A choking decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<P> {
    /// Peers to send "unchoke" (they were choked).
    pub unchoke: Vec<P>,
    /// Peers to send "choke" (they were unchoked).
    pub choke: Vec<P>,
}

/// The choker's memory between decisions.
#[derive(Debug, Clone)]
pub struct Choker<P> {
    unchoked: HashSet<P>,
    optimistic: Option<P>,
    optimistic_since: Option<Instant>,
}

impl<P: Copy + Eq + Hash + Ord> Default for Choker<P> {
    fn default() -> Self {
        Choker {
            unchoked: HashSet::new(),
            optimistic: None,
            optimistic_since: None,
        }
    }
}

impl<P: Copy + Eq + Hash + Ord> Choker<P> {
    /// Whether `peer` is unchoked now.
    pub fn is_unchoked(&self, peer: &P) -> bool {
        self.unchoked.contains(peer)
    }

    /// The optimistic unchoke, if any.
    pub fn optimistic(&self) -> Option<P> {
        self.optimistic
    }

    /// Unchokes `peer` at once if a regular slot is free (a newly interested peer need not wait
    /// for the next decision, as in libtorrent). Returns whether it was unchoked now.
    pub fn unchoke_if_free(&mut self, peer: P, seeding: bool) -> bool {
        let slots = if seeding { SEED_SLOTS } else { UPLOAD_SLOTS };
        let regular = self.unchoked.len() - usize::from(self.optimistic.is_some_and(|o| self.unchoked.contains(&o)));
        if self.unchoked.contains(&peer) || regular >= slots {
            return false;
        }
        self.unchoked.insert(peer);
        true
    }

    /// A peer left: forget it (no message is needed).
    pub fn remove(&mut self, peer: &P) {
        self.unchoked.remove(peer);
        if self.optimistic.as_ref() == Some(peer) {
            self.optimistic = None;
        }
    }

    /// Decides who is unchoked from now on. `seeding`: we download nothing (rank by upload rate,
    /// no snubbing).
    pub fn rechoke(&mut self, peers: &[(P, PeerView)], seeding: bool, now: Instant, rng: &mut impl Rng) -> Decision<P> {
        let snubbed = |v: &PeerView| !seeding && now.duration_since(v.last_block.unwrap_or(v.connected_at)) >= SNUB_TIMEOUT;
        let mut ranked: Vec<&(P, PeerView)> = peers.iter().filter(|(_, v)| v.interested && !snubbed(v)).collect();
        let rate = |v: &PeerView| if seeding { v.upload_rate } else { v.download_rate };
        // Highest rate first; equal rates by peer id so decisions are reproducible.
        ranked.sort_by(|a, b| rate(&b.1).total_cmp(&rate(&a.1)).then(a.0.cmp(&b.0)));
        let slots = if seeding { SEED_SLOTS } else { UPLOAD_SLOTS };
        let regular: HashSet<P> = ranked.iter().take(slots).map(|(p, _)| *p).collect();

        // The optimistic slot: kept for its interval while its peer is still a candidate; when it
        // rotates, it goes to another peer if there is one.
        let current = self
            .optimistic
            .filter(|o| !regular.contains(o) && peers.iter().any(|(p, v)| p == o && v.interested));
        let due = self.optimistic_since.is_none_or(|t| now.duration_since(t) >= OPTIMISTIC_INTERVAL);
        if current.is_none() || due {
            let candidates: Vec<(P, u32)> = peers
                .iter()
                .filter(|(p, v)| v.interested && !regular.contains(p) && Some(*p) != current)
                .map(|(p, v)| (*p, if now.duration_since(v.connected_at) < NEW_PEER { 3 } else { 1 }))
                .collect();
            self.optimistic = pick_weighted(&candidates, rng).or(current);
            self.optimistic_since = Some(now);
        }

        let mut next = regular;
        if let Some(o) = self.optimistic {
            next.insert(o);
        }
        let mut unchoke: Vec<P> = next.difference(&self.unchoked).copied().collect();
        let mut choke: Vec<P> = self.unchoked.difference(&next).copied().collect();
        unchoke.sort();
        choke.sort();
        self.unchoked = next;
        Decision { unchoke, choke }
    }
}

fn pick_weighted<P: Copy>(items: &[(P, u32)], rng: &mut impl Rng) -> Option<P> {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    if total == 0 {
        return None;
    }
    let mut x = rng.random_range(0..total);
    for (p, w) in items {
        if x < *w {
            return Some(*p);
        }
        x -= w;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_slots_unchoke_at_once() {
        let mut c: Choker<u8> = Choker::default();
        for p in 0..UPLOAD_SLOTS as u8 {
            assert!(c.unchoke_if_free(p, false));
        }
        assert!(!c.unchoke_if_free(0, false), "already unchoked");
        assert!(!c.unchoke_if_free(99, false), "slots full");
        assert!(c.is_unchoked(&3) && !c.is_unchoked(&99));
        assert!(c.unchoke_if_free(99, true), "a seed has more slots");
        assert!(c.is_unchoked(&99));
    }
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn view(t0: Instant, rate: f64) -> PeerView {
        PeerView {
            interested: true,
            download_rate: rate,
            upload_rate: 0.0,
            connected_at: t0,
            last_block: Some(t0),
        }
    }

    #[test]
    fn the_four_best_uploaders_and_one_optimistic_are_unchoked() {
        let t0 = Instant::now();
        let peers: Vec<(u32, PeerView)> = (0..8).map(|i| (i, view(t0, f64::from(i) * 100.0))).collect();
        let mut c = Choker::default();
        let mut rng = StdRng::seed_from_u64(1);
        let d = c.rechoke(&peers, false, t0, &mut rng);
        assert_eq!(d.unchoke.len(), 5);
        for best in 4..8 {
            assert!(c.is_unchoked(&best));
        }
        let opt = c.optimistic().unwrap();
        assert!(opt < 4);
        // Ten seconds later the same rates give the same set: no messages.
        let d = c.rechoke(&peers, false, t0 + RECHOKE_INTERVAL, &mut rng);
        assert!(d.unchoke.is_empty() && d.choke.is_empty());
        // After 30 s the optimistic slot moves to another peer.
        let d = c.rechoke(&peers, false, t0 + OPTIMISTIC_INTERVAL, &mut rng);
        assert_ne!(c.optimistic(), Some(opt));
        assert_eq!(d.choke, vec![opt]);
    }

    #[test]
    fn a_snubbing_peer_loses_its_regular_slot() {
        let t0 = Instant::now();
        let now = t0 + SNUB_TIMEOUT + Duration::from_secs(1);
        let mut peers: Vec<(u32, PeerView)> = (0..5).map(|i| (i, view(now, 100.0))).collect();
        // Peer 9 reports the best rate but sent nothing for over a minute.
        peers.push((
            9,
            PeerView {
                last_block: Some(t0),
                connected_at: t0,
                ..view(t0, 1e9)
            },
        ));
        let mut c = Choker::default();
        let mut rng = StdRng::seed_from_u64(2);
        c.rechoke(&peers, false, now, &mut rng);
        let regular: Vec<u32> = (0..5).filter(|p| c.is_unchoked(p) && c.optimistic() != Some(*p)).collect();
        assert_eq!(regular.len(), 4);
        assert!(!regular.contains(&9));
        // A seed does not care about snubbing: it ranks by what it uploads.
        let mut seed = Choker::default();
        let mut up: Vec<(u32, PeerView)> = peers.clone();
        for (p, v) in &mut up {
            v.upload_rate = f64::from(*p);
        }
        seed.rechoke(&up, true, now, &mut rng);
        assert!(seed.is_unchoked(&9));
    }

    #[test]
    fn new_peers_are_favoured_for_the_optimistic_slot() {
        let t0 = Instant::now();
        let now = t0 + Duration::from_secs(600);
        let mut new_wins = 0;
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..2000 {
            // 4 fast regulars, one old and one new candidate.
            let mut peers: Vec<(u32, PeerView)> = (0..4).map(|i| (i, view(now, 1000.0))).collect();
            peers.push((10, view(t0, 0.0)));
            peers.push((
                11,
                PeerView {
                    connected_at: now,
                    ..view(now, 0.0)
                },
            ));
            let mut c = Choker::default();
            c.rechoke(&peers, false, now, &mut rng);
            if c.optimistic() == Some(11) {
                new_wins += 1;
            }
        }
        // Expected 3/4 of 2000.
        assert!((1350..1650).contains(&new_wins), "{new_wins}");
    }

    #[test]
    fn uninterested_peers_stay_choked_and_leavers_are_forgotten() {
        let t0 = Instant::now();
        let mut peers: Vec<(u32, PeerView)> = (0..3).map(|i| (i, view(t0, 10.0))).collect();
        peers[0].1.interested = false;
        let mut c = Choker::default();
        let mut rng = StdRng::seed_from_u64(4);
        c.rechoke(&peers, false, t0, &mut rng);
        assert!(!c.is_unchoked(&0));
        assert!(c.is_unchoked(&1) && c.is_unchoked(&2));
        c.remove(&1);
        assert!(!c.is_unchoked(&1));
    }
}
