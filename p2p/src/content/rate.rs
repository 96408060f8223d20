//! Upload and download rate limits (token buckets) and rate estimates.
//!
//! A [`TokenBucket`] holds up to a burst of bytes and refills at the configured rate; sending or
//! accepting a block takes its size, or says how long to wait. A [`RateMeter`] gives the recent
//! bytes per second (an exponential moving average over about [`RATE_WINDOW`]), what the choker
//! ranks peers by. Pure: the caller passes the time.

use std::time::{Duration, Instant};

/// The span a [`RateMeter`] averages over.
pub const RATE_WINDOW: Duration = Duration::from_secs(20);

/// A byte-rate limit.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Bytes per second; `None`: unlimited.
    rate: Option<u64>,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A bucket for `rate` bytes per second (`None` or 0: unlimited), starting full. The burst
    /// is a tenth of a second of traffic, and at least two 16 KiB blocks.
    pub fn new(rate: Option<u64>, now: Instant) -> TokenBucket {
        let rate = rate.filter(|r| *r > 0);
        let burst = rate.map_or(0.0, |r| (r as f64 / 10.0).max(2.0 * 16384.0));
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// The limit in bytes per second.
    pub fn rate(&self) -> Option<u64> {
        self.rate
    }

    fn refill(&mut self, now: Instant) {
        if let Some(r) = self.rate {
            let dt = now.saturating_duration_since(self.last).as_secs_f64();
            self.tokens = (self.tokens + dt * r as f64).min(self.burst);
        }
        self.last = now;
    }

    /// Takes `n` bytes if the limit allows now; otherwise returns how long until it will.
    ///
    /// # Errors
    /// The wait before `n` bytes may pass.
    pub fn take(&mut self, n: u64, now: Instant) -> Result<(), Duration> {
        let Some(r) = self.rate else { return Ok(()) };
        self.refill(now);
        // A single item larger than the burst passes once the bucket is full (it goes into debt).
        let need = (n as f64).min(self.burst);
        if self.tokens >= need {
            self.tokens -= n as f64;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((need - self.tokens) / r as f64))
        }
    }
}

/// Recent bytes per second.
#[derive(Debug, Clone)]
pub struct RateMeter {
    rate: f64,
    pending: u64,
    last: Instant,
    total: u64,
}

impl RateMeter {
    /// A meter at 0 B/s.
    pub fn new(now: Instant) -> RateMeter {
        RateMeter {
            rate: 0.0,
            pending: 0,
            last: now,
            total: 0,
        }
    }

    /// Counts `n` bytes.
    pub fn add(&mut self, n: u64) {
        self.pending += n;
        self.total += n;
    }

    /// Bytes counted since creation.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The average rate at `now`, folding in what was counted since the last call.
    pub fn rate(&mut self, now: Instant) -> f64 {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        if dt >= 0.1 {
            let alpha = 1.0 - (-dt / RATE_WINDOW.as_secs_f64()).exp();
            self.rate += alpha * (self.pending as f64 / dt - self.rate);
            self.pending = 0;
            self.last = now;
        }
        self.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_paces_to_its_rate() {
        let t0 = Instant::now();
        let rate = 1_000_000u64;
        let mut b = TokenBucket::new(Some(rate), t0);
        // Simulate sending 16 KiB blocks as fast as allowed for 10 s.
        let mut now = t0;
        let mut sent = 0u64;
        while now < t0 + Duration::from_secs(10) {
            match b.take(16384, now) {
                Ok(()) => sent += 16384,
                Err(wait) => now += wait.max(Duration::from_micros(1)),
            }
        }
        let expected = rate * 10;
        assert!(sent.abs_diff(expected) < expected / 50, "sent {sent} in 10 s at {rate} B/s");
        let mut free = TokenBucket::new(None, t0);
        assert!(free.take(u64::MAX, t0).is_ok());
        assert_eq!(TokenBucket::new(Some(0), t0).rate(), None);
    }

    #[test]
    fn a_meter_converges_on_a_steady_rate() {
        let t0 = Instant::now();
        let mut m = RateMeter::new(t0);
        for s in 1..=120 {
            m.add(50_000);
            m.rate(t0 + Duration::from_secs(s));
        }
        let r = m.rate(t0 + Duration::from_secs(120));
        assert!((r - 50_000.0).abs() < 1_000.0, "{r}");
        assert_eq!(m.total(), 120 * 50_000);
        // Silence decays it.
        let later = m.rate(t0 + Duration::from_secs(220));
        assert!(later < 1_000.0, "{later}");
    }
}
