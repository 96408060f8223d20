//! Wall-clock time for the node (the chain crate takes `now` as a parameter).

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Peers' clocks against ours, from the time each one puts in its chain status (Core's
/// `timeoffset`, taken from the version message).
///
/// The offset is only ever reported (`getnetworkinfo`'s `timeoffset` and `warnings`, and a log
/// line), never applied: consensus reads our own clock, as Core's since version 27. A block
/// dated more than the network's future limit after our clock is refused, so a clock that is
/// behind the network's by that much stalls the node; the warning names the cause before it
/// does. The median resists a few lying peers; one offset per peer, at most
/// [`MAX_CLOCK_SAMPLES`] peers.
#[derive(Debug)]
pub struct ClockOffsets {
    offsets: std::collections::HashMap<cairn_p2p::PeerId, i64>,
    /// Warn when the median is this far off (seconds).
    warn_after: i64,
}

/// Peers whose offsets are kept.
pub const MAX_CLOCK_SAMPLES: usize = 200;
/// Peers needed before the median means anything.
pub const MIN_CLOCK_SAMPLES: usize = 5;

impl ClockOffsets {
    /// Warns past 10 minutes, as Core does, or past half the network's future-time limit if
    /// that is less (testnet's limit is 10 minutes: a clock 5 minutes off already eats half).
    pub fn new(max_future_block_time: u32) -> ClockOffsets {
        ClockOffsets {
            offsets: std::collections::HashMap::new(),
            warn_after: i64::from(max_future_block_time / 2).clamp(60, 600),
        }
    }

    /// `peer` said its clock reads `peer_time` when ours read `now`. Returns the warning if this
    /// sample made the median cross the limit (the caller logs it once).
    pub fn record(&mut self, peer: cairn_p2p::PeerId, peer_time: u64, now: u64) -> Option<String> {
        if peer_time == 0 {
            return None;
        }
        let before = self.warning();
        let offset = (i128::from(peer_time) - i128::from(now)).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        if self.offsets.len() < MAX_CLOCK_SAMPLES || self.offsets.contains_key(&peer) {
            self.offsets.insert(peer, offset);
        }
        let after = self.warning();
        if before.is_none() { after } else { None }
    }

    /// The offset `peer` gave at its last status (its clock minus ours, seconds).
    pub fn offset(&self, peer: &cairn_p2p::PeerId) -> Option<i64> {
        self.offsets.get(peer).copied()
    }

    /// A peer left: its offset goes.
    pub fn remove(&mut self, peer: &cairn_p2p::PeerId) {
        self.offsets.remove(peer);
    }

    /// The median offset (peers' clocks minus ours, seconds), 0 with fewer than
    /// [`MIN_CLOCK_SAMPLES`] peers.
    pub fn median(&self) -> i64 {
        if self.offsets.len() < MIN_CLOCK_SAMPLES {
            return 0;
        }
        let mut v: Vec<i64> = self.offsets.values().copied().collect();
        v.sort_unstable();
        v[v.len() / 2]
    }

    /// The warning for the user, when the median is past the limit.
    pub fn warning(&self) -> Option<String> {
        let m = self.median();
        if m.unsigned_abs() <= self.warn_after.unsigned_abs() {
            return None;
        }
        let (dir, by) = if m > 0 { ("behind", m) } else { ("ahead of", -m) };
        Some(format!(
            "Your computer's clock appears to be {} {dir} its peers' (median of {} peers); please check that its date and time are correct, or blocks will be refused",
            duration_words(by),
            self.offsets.len()
        ))
    }
}

fn duration_words(secs: i64) -> String {
    if secs >= 3_600 {
        format!("{:.1} hours", secs as f64 / 3_600.0)
    } else {
        format!("{} minutes", secs / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_enough_peers_warns_once_and_liars_do_not_move_it() {
        let mut c = ClockOffsets::new(600);
        let now = 1_000_000;
        let peers: Vec<cairn_p2p::PeerId> = (0..7).map(|_| cairn_p2p::PeerId::random()).collect();
        // Four peers agree with us, two lie wildly: no warning.
        for p in &peers[..4] {
            assert_eq!(c.record(*p, now + 3, now), None);
        }
        assert_eq!(c.record(peers[4], now + 100_000, now), None);
        assert_eq!(c.record(peers[5], 1, now), None);
        assert_eq!(c.median(), 3);
        assert!(c.warning().is_none());
        // Our clock is 20 minutes slow against everyone: one warning, when the median crosses.
        let mut c = ClockOffsets::new(600);
        let mut warnings = Vec::new();
        for p in &peers {
            warnings.extend(c.record(*p, now + 1_200, now));
        }
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("20 minutes behind"), "{}", warnings[0]);
        assert_eq!(c.median(), 1_200);
        // Too few peers: no opinion.
        let mut c = ClockOffsets::new(600);
        for p in &peers[..4] {
            c.record(*p, now - 5_000, now);
        }
        assert_eq!(c.median(), 0);
        for p in &peers[..4] {
            c.remove(p);
        }
        assert!(c.offsets.is_empty());
    }
}
