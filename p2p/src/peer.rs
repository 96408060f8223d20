//! What the node knows about its peers: the connected ones (for `getpeerinfo`), the banned ones,
//! and the added ones it keeps redialing. Pure state: the clock is passed in.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::{Multiaddr, PeerId};

/// How long a misbehaving peer is banned unless told otherwise.
///
/// Bitcoin Core bans for 24 hours; Cairn's networks are test networks whose nodes restart often,
/// so an hour keeps a broken peer away without making a fixed one wait a day.
pub const DEFAULT_BAN: Duration = Duration::from_secs(60 * 60);

/// Most bans remembered: past this, the one expiring first is forgotten.
pub const MAX_BANS: usize = 10_000;

/// First redial delay for an added peer; doubled on every failure up to [`MAX_REDIAL_DELAY`].
pub const MIN_REDIAL_DELAY: Duration = Duration::from_secs(1);
/// Longest redial delay.
pub const MAX_REDIAL_DELAY: Duration = Duration::from_secs(60);
/// A connection that lasts this long resets an added peer's redial delay.
pub const STABLE_CONNECTION: Duration = Duration::from_secs(60);

/// One connected peer, as `getpeerinfo` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerSummary {
    /// A number for this peer's stay, unique while the node runs (Core's `id`).
    pub id: u64,
    /// The peer.
    pub peer: PeerId,
    /// The remote address of its first connection.
    pub address: Multiaddr,
    /// Whether it connected to us.
    pub inbound: bool,
    /// Seconds since the Unix epoch when it connected.
    pub connected_at: u64,
    /// Its agent string, once identify has run.
    pub agent: Option<String>,
    /// The latest ping round trip.
    pub ping: Option<Duration>,
    /// Bytes sent to it.
    pub bytes_sent: u64,
    /// Bytes received from it.
    pub bytes_received: u64,
    /// Its height when the connection started (from its first status).
    pub starting_height: Option<u32>,
    /// The height of its best block that we know of.
    pub best_height: Option<u32>,
    /// The last height both it and we have on our active chain.
    pub synced_height: Option<u32>,
    /// Number of open connections.
    pub connections: usize,
    /// Unix seconds of the last bytes sent to it (Core's `lastsend`; 0: none yet).
    pub last_sent: u64,
    /// Unix seconds of the last bytes received from it (Core's `lastrecv`; 0: none yet).
    pub last_received: u64,
    /// Unix seconds of the last block it relayed that we accepted (0: none yet).
    pub last_block: u64,
    /// Unix seconds of the last transaction it relayed that we accepted (0: none yet).
    pub last_transaction: u64,
    /// Addresses it told us it listens on (identify), counted over the connection.
    pub addresses_received: u64,
    /// The protocol version its identify announced.
    pub protocol_version: Option<String>,
}

/// Connected peers.
#[derive(Debug, Default)]
pub struct PeerTable {
    peers: HashMap<PeerId, PeerSummary>,
    next_id: u64,
}

impl PeerTable {
    /// Records a new connection; returns whether it is the peer's first.
    pub fn connected(&mut self, peer: PeerId, address: Multiaddr, inbound: bool, unix_now: u64) -> bool {
        match self.peers.get_mut(&peer) {
            Some(p) => {
                p.connections += 1;
                false
            }
            None => {
                let id = self.next_id;
                self.next_id += 1;
                self.peers.insert(
                    peer,
                    PeerSummary {
                        id,
                        peer,
                        address,
                        inbound,
                        connected_at: unix_now,
                        agent: None,
                        ping: None,
                        bytes_sent: 0,
                        bytes_received: 0,
                        starting_height: None,
                        best_height: None,
                        synced_height: None,
                        connections: 1,
                        last_sent: 0,
                        last_received: 0,
                        last_block: 0,
                        last_transaction: 0,
                        addresses_received: 0,
                        protocol_version: None,
                    },
                );
                true
            }
        }
    }

    /// Records a closed connection; returns whether it was the peer's last.
    pub fn disconnected(&mut self, peer: &PeerId) -> bool {
        match self.peers.get_mut(peer) {
            Some(p) if p.connections > 1 => {
                p.connections -= 1;
                false
            }
            Some(_) => {
                self.peers.remove(peer);
                true
            }
            None => false,
        }
    }

    /// The peer, if connected.
    pub fn get_mut(&mut self, peer: &PeerId) -> Option<&mut PeerSummary> {
        self.peers.get_mut(peer)
    }

    /// Whether the peer is connected.
    pub fn contains(&self, peer: &PeerId) -> bool {
        self.peers.contains_key(peer)
    }

    /// Records what was learned of a peer's chain: from a status (with `synced_height`; its best
    /// height is then taken as is, even if lower after a reorg) or from a block it relayed
    /// (without: the best height only grows).
    pub fn note_chain(&mut self, peer: &PeerId, best_height: u32, synced_height: Option<u32>) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.starting_height.get_or_insert(best_height);
            match synced_height {
                Some(synced) => {
                    p.best_height = Some(best_height);
                    p.synced_height = Some(synced);
                }
                None => p.best_height = Some(p.best_height.map_or(best_height, |b| b.max(best_height))),
            }
        }
    }

    /// Every connected peer.
    pub fn iter(&self) -> impl Iterator<Item = &PeerSummary> {
        self.peers.values()
    }

    /// Number of connected peers.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether no peer is connected.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}

/// One ban, as `listbanned` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BanEntry<K = PeerId> {
    /// The banned peer (or subnet, [`crate::subnet::Subnet`]).
    pub target: K,
    /// Unix time the ban started.
    pub created: u64,
    /// How long it lasts.
    pub duration: Duration,
    /// What it remains.
    pub remaining: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Ban {
    until: Instant,
    created_unix: u64,
    duration: Duration,
}

/// Longest ban (100 years): longer requests are shortened to it, so `now + duration` can never
/// overflow, whoever asked (the `setban` RPC refuses longer ones with -8 before they get here).
pub const MAX_BAN: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Banned peers (or subnets) and until when.
#[derive(Debug)]
pub struct BanList<K = PeerId> {
    until: HashMap<K, Ban>,
}

impl<K> Default for BanList<K> {
    fn default() -> Self {
        BanList { until: HashMap::new() }
    }
}

impl<K: Copy + Eq + std::hash::Hash + Ord> BanList<K> {
    /// Bans `peer` until `now + duration` (or longer, if already banned longer); `unix_now` is
    /// recorded for `listbanned`. Returns the peer whose ban was forgotten to stay within
    /// [`MAX_BANS`], if any (the caller lifts its block).
    pub fn ban(&mut self, peer: K, now: Instant, unix_now: u64, duration: Duration) -> Option<K> {
        let duration = duration.min(MAX_BAN);
        // MAX_BAN fits the monotonic clocks we run on; should one not, the default ban.
        let until = now.checked_add(duration).or_else(|| now.checked_add(DEFAULT_BAN)).unwrap_or(now);
        let ban = Ban {
            until,
            created_unix: unix_now,
            duration,
        };
        let entry = self.until.entry(peer).or_insert(ban);
        if until > entry.until {
            *entry = ban;
        }
        if self.until.len() > MAX_BANS
            && let Some(first) = self.until.iter().min_by_key(|(_, b)| b.until).map(|(p, _)| *p)
        {
            self.until.remove(&first);
            return Some(first);
        }
        None
    }

    /// Whether `peer` is banned at `now`.
    pub fn is_banned(&self, peer: &K, now: Instant) -> bool {
        self.until.get(peer).is_some_and(|b| b.until > now)
    }

    /// Lifts a ban; returns whether there was one.
    pub fn unban(&mut self, peer: &K) -> bool {
        self.until.remove(peer).is_some()
    }

    /// Lifts every ban; returns the peers that were banned.
    pub fn clear(&mut self) -> Vec<K> {
        self.until.drain().map(|(p, _)| p).collect()
    }

    /// Removes and returns the bans that have run out.
    pub fn expire(&mut self, now: Instant) -> Vec<K> {
        let done: Vec<K> = self.until.iter().filter(|(_, b)| b.until <= now).map(|(p, _)| *p).collect();
        for p in &done {
            self.until.remove(p);
        }
        done
    }

    /// The bans in force at `now`.
    pub fn list(&self, now: Instant) -> Vec<BanEntry<K>> {
        let mut list: Vec<BanEntry<K>> = self
            .until
            .iter()
            .filter(|(_, b)| b.until > now)
            .map(|(p, b)| BanEntry {
                target: *p,
                created: b.created_unix,
                duration: b.duration,
                remaining: b.until - now,
            })
            .collect();
        list.sort_by_key(|e| (e.created, e.target));
        list
    }

    /// Number of bans held.
    pub fn len(&self) -> usize {
        self.until.len()
    }

    /// Whether no ban is held.
    pub fn is_empty(&self) -> bool {
        self.until.is_empty()
    }
}

/// The redial state of one added address.
#[derive(Debug, Clone)]
struct Added {
    /// The peer connected through it, and since when, while connected.
    connected: Option<PeerId>,
    connected_at: Option<Instant>,
    /// When to dial next, if not connected and no dial is pending.
    next_dial: Option<Instant>,
    delay: Duration,
}

/// Addresses added with `--peer` or `addnode add`: dialed at once and redialed with exponential
/// backoff whenever the connection drops or a dial fails.
#[derive(Debug, Default)]
pub struct AddedPeers {
    added: HashMap<Multiaddr, Added>,
}

impl AddedPeers {
    /// Adds an address; returns false if it was already added. The caller dials it now.
    pub fn add(&mut self, addr: Multiaddr) -> bool {
        if self.added.contains_key(&addr) {
            return false;
        }
        self.added.insert(
            addr,
            Added {
                connected: None,
                connected_at: None,
                next_dial: None,
                delay: MIN_REDIAL_DELAY,
            },
        );
        true
    }

    /// Removes an address; returns the peer connected through it, if any, and whether it was
    /// added at all.
    pub fn remove(&mut self, addr: &Multiaddr) -> Option<Option<PeerId>> {
        self.added.remove(addr).map(|a| a.connected)
    }

    /// Whether the address was added.
    pub fn contains(&self, addr: &Multiaddr) -> bool {
        self.added.contains_key(addr)
    }

    /// Every added address.
    pub fn addresses(&self) -> impl Iterator<Item = &Multiaddr> {
        self.added.keys()
    }

    /// Every added address with the peer connected through it, in address order.
    pub fn list(&self) -> Vec<crate::handle::AddedNodeInfo> {
        let mut out: Vec<_> = self
            .added
            .iter()
            .map(|(addr, a)| crate::handle::AddedNodeInfo {
                addr: addr.clone(),
                connected: a.connected,
            })
            .collect();
        out.sort_by_key(|a| a.addr.to_string());
        out
    }

    /// A connection through `addr` was established at `now`.
    pub fn on_connected(&mut self, addr: &Multiaddr, peer: PeerId, now: Instant) {
        if let Some(a) = self.added.get_mut(addr) {
            a.connected = Some(peer);
            a.connected_at = Some(now);
            a.next_dial = None;
        }
    }

    /// `peer` has no connection left: schedule redials of the addresses it was reached through.
    /// The delay starts over only after a connection that lasted [`STABLE_CONNECTION`]; a peer
    /// that keeps dropping us right away is redialed ever more slowly.
    pub fn on_peer_gone(&mut self, peer: &PeerId, now: Instant) {
        for a in self.added.values_mut() {
            if a.connected == Some(*peer) {
                if a.connected_at.is_some_and(|t| now.duration_since(t) >= STABLE_CONNECTION) {
                    a.delay = MIN_REDIAL_DELAY;
                }
                a.connected = None;
                a.connected_at = None;
                a.next_dial = Some(now + a.delay);
                a.delay = (a.delay * 2).min(MAX_REDIAL_DELAY);
            }
        }
    }

    /// A dial of `addr` failed: try again after the current delay, and double it.
    pub fn on_dial_failed(&mut self, addr: &Multiaddr, now: Instant) {
        if let Some(a) = self.added.get_mut(addr)
            && a.connected.is_none()
        {
            a.next_dial = Some(now + a.delay);
            a.delay = (a.delay * 2).min(MAX_REDIAL_DELAY);
        }
    }

    /// The addresses due for a redial at `now` (each is returned once per scheduled redial).
    pub fn due(&mut self, now: Instant) -> Vec<Multiaddr> {
        let mut due = Vec::new();
        for (addr, a) in &mut self.added {
            if a.connected.is_none() && a.next_dial.is_some_and(|t| t <= now) {
                a.next_dial = None;
                due.push(addr.clone());
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_counts_connections() {
        let mut t = PeerTable::default();
        let p = PeerId::random();
        let a: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        assert!(t.connected(p, a.clone(), false, 10));
        assert!(!t.connected(p, a, true, 11));
        t.note_chain(&p, 5, None);
        t.note_chain(&p, 3, None);
        assert_eq!(
            t.iter().next().unwrap().best_height,
            Some(5),
            "a block never lowers the best height"
        );
        t.note_chain(&p, 9, Some(9));
        let s = t.iter().next().unwrap();
        assert_eq!(
            (s.starting_height, s.best_height, s.synced_height, s.inbound),
            (Some(5), Some(9), Some(9), false)
        );
        assert!(!t.disconnected(&p));
        assert!(t.disconnected(&p));
        assert!(t.is_empty());
        assert!(!t.disconnected(&p));
    }

    #[test]
    fn a_ban_of_any_length_is_kept_within_the_longest_ban() {
        let mut bans = BanList::default();
        let peer = PeerId::random();
        let now = Instant::now();
        bans.ban(peer, now, 1_000, Duration::MAX);
        assert!(bans.is_banned(&peer, now + Duration::from_secs(365 * 24 * 3600)));
        let listed = bans.list(now);
        assert_eq!(listed[0].duration, MAX_BAN);
        // What listbanned computes from it does not overflow.
        assert!(listed[0].created.checked_add(listed[0].duration.as_secs()).is_some());
    }

    #[test]
    fn bans_expire_and_are_bounded() {
        let mut b = BanList::default();
        let now = Instant::now();
        let p = PeerId::random();
        assert_eq!(b.ban(p, now, 1000, Duration::from_secs(10)), None);
        assert_eq!(b.list(now + Duration::from_secs(4))[0].remaining, Duration::from_secs(6));
        assert!(b.is_banned(&p, now + Duration::from_secs(9)));
        assert!(!b.is_banned(&p, now + Duration::from_secs(10)));
        assert_eq!(b.expire(now + Duration::from_secs(5)), vec![]);
        assert_eq!(b.expire(now + Duration::from_secs(11)), vec![p]);
        let _ = b.ban(p, now, 1000, Duration::from_secs(10));
        assert!(b.unban(&p));
        assert!(!b.unban(&p));
        assert!(!b.is_banned(&p, now));
        let mut evicted = 0;
        for i in 0..MAX_BANS + 5 {
            evicted += usize::from(b.ban(PeerId::random(), now, 1000, Duration::from_secs(i as u64 + 1)).is_some());
        }
        assert_eq!(evicted, 5);
        assert_eq!(b.len(), MAX_BANS);
    }

    #[test]
    fn added_peers_back_off() {
        let mut a = AddedPeers::default();
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        let now = Instant::now();
        assert!(a.add(addr.clone()));
        assert!(!a.add(addr.clone()));
        a.on_dial_failed(&addr, now);
        assert!(a.due(now).is_empty());
        assert_eq!(a.due(now + MIN_REDIAL_DELAY), vec![addr.clone()]);
        assert!(a.due(now + MIN_REDIAL_DELAY).is_empty(), "returned once");
        a.on_dial_failed(&addr, now);
        assert!(a.due(now + MIN_REDIAL_DELAY).is_empty(), "delay doubled");
        assert_eq!(a.due(now + 2 * MIN_REDIAL_DELAY).len(), 1);
        let p = PeerId::random();
        a.on_connected(&addr, p, now);
        a.on_peer_gone(&p, now + STABLE_CONNECTION);
        assert_eq!(
            a.due(now + STABLE_CONNECTION + MIN_REDIAL_DELAY),
            vec![addr.clone()],
            "delay reset after a lasting connection"
        );
        a.on_connected(&addr, p, now);
        a.on_peer_gone(&p, now);
        assert!(a.due(now + MIN_REDIAL_DELAY).is_empty(), "dropped at once: backing off");
        assert_eq!(a.remove(&addr), Some(None));
        assert_eq!(a.remove(&addr), None);
    }
}
