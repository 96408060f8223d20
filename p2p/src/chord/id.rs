//! Identifiers on the Chord ring: 256-bit numbers modulo 2^256 (Stoica et al., SIGCOMM 2001), the
//! SHA-256 of a peer id for nodes and of a key (a content id, a normalized keyword) for records.

use std::fmt;

use sha2::{Digest, Sha256};

/// A point on the ring, a big-endian 256-bit number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChordId(pub [u8; 32]);

impl ChordId {
    /// SHA-256 of `bytes` (a peer id's bytes, or a key).
    pub fn hash(bytes: &[u8]) -> ChordId {
        ChordId(Sha256::digest(bytes).into())
    }

    /// `self + 2^i` modulo 2^256 (`i` < 256): the start of finger `i`.
    pub fn add_pow2(&self, i: u32) -> ChordId {
        assert!(i < 256, "finger index out of range");
        let mut out = self.0;
        let byte = 31 - (i / 8) as usize;
        let mut carry = 1u16 << (i % 8);
        for b in (0..=byte).rev() {
            let sum = u16::from(out[b]) + carry;
            out[b] = sum as u8;
            carry = sum >> 8;
            if carry == 0 {
                break;
            }
        }
        ChordId(out)
    }

    /// Whether `self` lies in the open arc `(a, b)` going clockwise from `a`. When `a == b` the arc
    /// is the whole ring but `a`.
    pub fn in_open(&self, a: &ChordId, b: &ChordId) -> bool {
        if a < b { a < self && self < b } else { self > a || self < b }
    }

    /// Whether `self` lies in the half-open arc `(a, b]`. When `a == b` this is the whole ring.
    pub fn in_half_open(&self, a: &ChordId, b: &ChordId) -> bool {
        self == b || self.in_open(a, b)
    }

    /// How many finger starts of `self` lie in `(self, other]`: the bit length of the clockwise
    /// distance `other - self` (finger `j` starts at `self + 2^j`, inside the arc exactly when
    /// `2^j <= other - self`). 0 when `other == self`.
    pub fn fingers_before(&self, other: &ChordId) -> u32 {
        let diff = self.distance_to(other);
        match diff.iter().position(|b| *b != 0) {
            Some(i) => (31 - i as u32) * 8 + (8 - diff[i].leading_zeros()),
            None => 0,
        }
    }

    /// The distance clockwise from `self` to `other`, as a float fraction of the ring (for
    /// statistics only).
    pub fn fraction_to(&self, other: &ChordId) -> f64 {
        let diff = self.distance_to(other);
        diff.iter().take(8).fold(0.0, |acc, b| acc * 256.0 + f64::from(*b)) / 2f64.powi(64)
    }

    /// `other - self` modulo 2^256, big-endian: the distance clockwise.
    fn distance_to(&self, other: &ChordId) -> [u8; 32] {
        let mut diff = [0u8; 32];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let d = i16::from(other.0[i]) - i16::from(self.0[i]) - borrow;
            borrow = i16::from(d < 0);
            diff[i] = d.rem_euclid(256) as u8;
        }
        diff
    }
}

impl fmt::Display for ChordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ChordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChordId({}…)", &hex::encode(&self.0[..4]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingers_before_counts_the_finger_starts_in_the_arc() {
        let ids: Vec<ChordId> = (0u8..40)
            .map(|i| ChordId::hash(&[i]))
            .chain([small(0), small(1), small(2), small(255)])
            .collect();
        for a in &ids {
            for b in &ids {
                let counted = (0..256).filter(|j| a.add_pow2(*j).in_half_open(a, b) && a != b).count() as u32;
                assert_eq!(a.fingers_before(b), counted, "{a} -> {b}");
            }
        }
        assert_eq!(small(0).fingers_before(&small(1)), 1);
        assert_eq!(small(0).fingers_before(&small(2)), 2);
        assert_eq!(small(1).fingers_before(&small(0)), 256, "all the way round");
    }

    fn small(n: u8) -> ChordId {
        let mut b = [0u8; 32];
        b[31] = n;
        ChordId(b)
    }

    #[test]
    fn powers_of_two_wrap_around_the_ring() {
        assert_eq!(small(1).add_pow2(0), small(2));
        assert_eq!(small(255).add_pow2(0).0[30..], [1, 0]);
        let top = ChordId([0xff; 32]);
        assert_eq!(top.add_pow2(0), ChordId([0; 32]), "2^256 - 1 + 1 wraps to 0");
        let mut half = [0u8; 32];
        half[0] = 0x80;
        assert_eq!(ChordId([0; 32]).add_pow2(255), ChordId(half));
        assert_eq!(ChordId(half).add_pow2(255), ChordId([0; 32]));
    }

    #[test]
    fn arcs_wrap_around_zero() {
        let (a, b, c) = (small(10), small(20), small(30));
        assert!(b.in_open(&a, &c) && !a.in_open(&a, &c) && !c.in_open(&a, &c));
        assert!(c.in_half_open(&a, &c));
        // (30, 10) wraps: 40 and 5 are inside, 20 is not.
        assert!(small(40).in_open(&c, &a) && small(5).in_open(&c, &a) && !b.in_open(&c, &a));
        // A single node's arc is the whole ring.
        assert!(b.in_open(&a, &a) && !a.in_open(&a, &a) && a.in_half_open(&a, &a));
        assert!(
            (small(0).fraction_to(&ChordId({
                let mut h = [0u8; 32];
                h[0] = 0x40;
                h
            })) - 0.25)
                .abs()
                < 1e-12
        );
    }
}
