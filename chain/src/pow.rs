//! Proof of work: 256-bit targets, Bitcoin's compact "bits" form, chain work, and the
//! difficulty rules.
//!
//! A header's hash, read as a little-endian 256-bit integer, must not exceed the target its
//! `bits` encode. The work of a block is `2^256 / (target + 1)`, as in Bitcoin Core; the best
//! chain is the one whose blocks sum to the most work.
//!
//! Difficulty rules:
//! - regtest: every block uses the network's limit (`0x207fffff`), no retargeting.
//! - testnet: ASERT (the "aserti3-2d" absolutely scheduled exponential rule of Bitcoin Cash),
//!   anchored at block 1. Each block's target is the anchor target scaled by
//!   `2^((time_since_anchor - spacing * blocks_since_anchor) / half_life)`. We chose it for a
//!   testnet of a few CPU miners because it looks at no window that one lucky or unlucky block can
//!   swing: a single block moves the difficulty by only `2^(deviation / half_life)` (about 1.2%
//!   for a 10 s deviation and a 600 s half-life), errors never accumulate (the schedule is
//!   absolute), and it has no oscillation modes like windowed averages do when miners join and
//!   leave. Anchoring at block 1 (not genesis) lets a fresh local testnet start at any date.
//!
//! The future-time limit and the half-life go together. ASERT reads the parent's timestamp, so a
//! miner who dates a block at the far end of the allowed window (`max_future_block_time` after
//! the receiver's clock) makes its child easier by `2^(limit / half_life)`. With Bitcoin's two
//! hours and our 600 s half-life that was 2^12 = 4,096×: a block at +2 h let the next blocks be
//! mined almost for free, and a branch of them flooded peers' disks. The factor is bounded by 2×
//! when the limit is at most one half-life, so testnet's limit is 600 s (10 minutes of clock
//! difference between honest nodes, and the node warns when its clock looks skewed against its
//! peers'). The other way out, a half-life of two hours or more, would leave a local testnet whose
//! hash rate changes mining at the wrong pace for hours. The effect does not compound: a chain
//! of blocks all dated at the limit still sits at most one window ahead of the schedule, so the
//! target is at most 2× easier than on time. Regtest's difficulty is fixed, so it keeps two hours.

use std::cmp::Ordering;
use std::fmt;

use crate::error::BlockError;
use crate::hash::BlockHash;

/// An unsigned 256-bit integer, enough for targets and chain work. Limbs are little-endian.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct U256([u64; 4]);

impl U256 {
    /// Zero.
    pub const ZERO: U256 = U256([0; 4]);
    /// One.
    pub const ONE: U256 = U256([1, 0, 0, 0]);
    /// The largest value.
    pub const MAX: U256 = U256([u64::MAX; 4]);

    /// From a small integer.
    pub const fn from_u64(v: u64) -> U256 {
        U256([v, 0, 0, 0])
    }

    /// Reads 32 little-endian bytes (how Bitcoin reads a hash as a number).
    pub fn from_le_bytes(b: [u8; 32]) -> U256 {
        let mut l = [0u64; 4];
        for (i, limb) in l.iter_mut().enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i * 8..i * 8 + 8]);
            *limb = u64::from_le_bytes(w);
        }
        U256(l)
    }

    /// 32 little-endian bytes.
    pub fn to_le_bytes(self) -> [u8; 32] {
        let mut b = [0u8; 32];
        for (i, limb) in self.0.iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&limb.to_le_bytes());
        }
        b
    }

    /// 32 big-endian bytes.
    pub fn to_be_bytes(self) -> [u8; 32] {
        let mut b = self.to_le_bytes();
        b.reverse();
        b
    }

    /// Reads 32 big-endian bytes.
    pub fn from_be_bytes(mut b: [u8; 32]) -> U256 {
        b.reverse();
        U256::from_le_bytes(b)
    }

    /// Whether zero.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 4]
    }

    /// Number of significant bits.
    pub fn bits(&self) -> u32 {
        for i in (0..4).rev() {
            if self.0[i] != 0 {
                return 64 * i as u32 + (64 - self.0[i].leading_zeros());
            }
        }
        0
    }

    /// The low 64 bits.
    pub fn low_u64(&self) -> u64 {
        self.0[0]
    }

    /// Sum, or `None` on overflow.
    pub fn checked_add(self, o: U256) -> Option<U256> {
        let mut r = [0u64; 4];
        let mut carry = false;
        for (i, limb) in r.iter_mut().enumerate() {
            let (s1, c1) = self.0[i].overflowing_add(o.0[i]);
            let (s2, c2) = s1.overflowing_add(u64::from(carry));
            *limb = s2;
            carry = c1 || c2;
        }
        (!carry).then_some(U256(r))
    }

    /// Difference, saturating at zero.
    pub fn saturating_sub(self, o: U256) -> U256 {
        if self < o {
            return U256::ZERO;
        }
        let mut r = [0u64; 4];
        let mut borrow = false;
        for (i, limb) in r.iter_mut().enumerate() {
            let (d1, b1) = self.0[i].overflowing_sub(o.0[i]);
            let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
            *limb = d2;
            borrow = b1 || b2;
        }
        U256(r)
    }

    /// Product with a u64, or `None` on overflow.
    pub fn checked_mul_u64(self, m: u64) -> Option<U256> {
        let mut r = [0u64; 4];
        let mut carry: u128 = 0;
        for (i, limb) in r.iter_mut().enumerate() {
            let p = u128::from(self.0[i]) * u128::from(m) + carry;
            *limb = p as u64;
            carry = p >> 64;
        }
        (carry == 0).then_some(U256(r))
    }

    /// Quotient of long division; `None` when dividing by zero.
    pub fn checked_div(self, d: U256) -> Option<U256> {
        if d.is_zero() {
            return None;
        }
        if self < d {
            return Some(U256::ZERO);
        }
        let shift = self.bits() - d.bits();
        let mut div = d << shift;
        let mut rem = self;
        let mut q = U256::ZERO;
        for i in (0..=shift).rev() {
            if rem >= div {
                rem = rem.saturating_sub(div);
                q.0[(i / 64) as usize] |= 1u64 << (i % 64);
            }
            div = div >> 1;
        }
        Some(q)
    }

    /// Decodes Bitcoin's compact form. Negative or overflowing encodings are errors.
    pub fn from_compact(bits: u32) -> Result<U256, BlockError> {
        let size = bits >> 24;
        let mantissa = bits & 0x007f_ffff;
        let negative = bits & 0x0080_0000 != 0 && mantissa != 0;
        let overflow = mantissa != 0 && (size > 34 || (mantissa > 0xff && size > 33) || (mantissa > 0xffff && size > 32));
        if negative || overflow {
            return Err(BlockError::BadTarget(bits));
        }
        Ok(if size <= 3 {
            U256::from_u64(u64::from(mantissa >> (8 * (3 - size))))
        } else {
            U256::from_u64(u64::from(mantissa)) << (8 * (size - 3))
        })
    }

    /// Encodes in Bitcoin's compact form (lossy: keeps the top 23 bits of precision).
    pub fn to_compact(self) -> u32 {
        let mut size = self.bits().div_ceil(8);
        let mut mantissa = if size <= 3 {
            (self.low_u64() << (8 * (3 - size))) as u32
        } else {
            (self >> (8 * (size - 3))).low_u64() as u32
        };
        if mantissa & 0x0080_0000 != 0 {
            mantissa >>= 8;
            size += 1;
        }
        mantissa | (size << 24)
    }
}

impl std::ops::Shl<u32> for U256 {
    type Output = U256;

    /// Left shift; bits shifted out are lost.
    fn shl(self, n: u32) -> U256 {
        if n >= 256 {
            return U256::ZERO;
        }
        let (limbs, bits) = ((n / 64) as usize, n % 64);
        let mut r = [0u64; 4];
        for i in (limbs..4).rev() {
            r[i] = self.0[i - limbs] << bits;
            if bits > 0 && i > limbs {
                r[i] |= self.0[i - limbs - 1] >> (64 - bits);
            }
        }
        U256(r)
    }
}

impl std::ops::Shr<u32> for U256 {
    type Output = U256;

    fn shr(self, n: u32) -> U256 {
        if n >= 256 {
            return U256::ZERO;
        }
        let (limbs, bits) = ((n / 64) as usize, n % 64);
        let mut r = [0u64; 4];
        for (i, limb) in r.iter_mut().enumerate().take(4 - limbs) {
            *limb = self.0[i + limbs] >> bits;
            if bits > 0 && i + limbs + 1 < 4 {
                *limb |= self.0[i + limbs + 1] << (64 - bits);
            }
        }
        U256(r)
    }
}

impl std::ops::Not for U256 {
    type Output = U256;

    fn not(self) -> U256 {
        U256([!self.0[0], !self.0[1], !self.0[2], !self.0[3]])
    }
}

impl Ord for U256 {
    fn cmp(&self, o: &Self) -> Ordering {
        for i in (0..4).rev() {
            match self.0[i].cmp(&o.0[i]) {
                Ordering::Equal => continue,
                ord => return ord,
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for U256 {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl fmt::Display for U256 {
    /// 64 hex digits, most significant first (as Core shows `chainwork`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.to_be_bytes()))
    }
}

impl fmt::Debug for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "U256({self})")
    }
}

/// The work a block with target `target` represents: `2^256 / (target + 1)`.
pub fn work_for_target(target: U256) -> U256 {
    // 2^256 does not fit, so compute (~target / (target + 1)) + 1, as Core's GetBlockProof does.
    match target.checked_add(U256::ONE) {
        Some(t1) => (!target)
            .checked_div(t1)
            .unwrap_or(U256::ZERO)
            .checked_add(U256::ONE)
            .unwrap_or(U256::MAX),
        None => U256::ONE,
    }
}

/// The work of a block with compact target `bits` (zero for an invalid encoding).
pub fn work_for_bits(bits: u32) -> U256 {
    U256::from_compact(bits).map(work_for_target).unwrap_or(U256::ZERO)
}

/// Checks that `hash` meets the target encoded by `bits`, and that the target is positive and
/// not above `pow_limit`.
///
/// # Errors
/// [`BlockError::BadTarget`] for an invalid or too easy target, [`BlockError::HighHash`] when the
/// hash is above it.
pub fn check_proof_of_work(hash: &BlockHash, bits: u32, pow_limit: U256) -> Result<(), BlockError> {
    let target = U256::from_compact(bits)?;
    if target.is_zero() || target > pow_limit {
        return Err(BlockError::BadTarget(bits));
    }
    if U256::from_le_bytes(hash.to_byte_array()) > target {
        return Err(BlockError::HighHash);
    }
    Ok(())
}

/// The ASERT target for a block whose parent is `height_diff` blocks after the anchor and has a
/// time `time_diff` seconds after the anchor's (aserti3-2d with a cubic approximation of `2^x`,
/// integer-only so every node computes the same bits).
pub fn asert_target(anchor_target: U256, spacing: i64, half_life: i64, time_diff: i64, height_diff: i64, pow_limit: U256) -> U256 {
    // 16.16 fixed-point exponent; i128 so a hostile timestamp cannot overflow the arithmetic.
    let exponent: i128 = (i128::from(time_diff) - i128::from(spacing) * i128::from(height_diff)) * 65536 / i128::from(half_life.max(1));
    let shifts = exponent >> 16; // floor
    let frac = (exponent & 0xffff) as u128;
    let factor: u128 =
        65536 + ((195_766_423_245_049u128 * frac + 971_821_376u128 * frac * frac + 5127u128 * frac * frac * frac + (1u128 << 47)) >> 48);
    let Some(mut next) = anchor_target.checked_mul_u64(factor as u64) else {
        return pow_limit;
    };
    let shifts = shifts - 16;
    if shifts <= 0 {
        next = next >> ((-shifts).min(256) as u32);
    } else {
        if shifts >= 256 || next.bits() + shifts as u32 > 255 {
            return pow_limit;
        }
        next = next << shifts as u32;
    }
    if next.is_zero() {
        next = U256::ONE;
    }
    next.min(pow_limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_round_trips_known_values() {
        for bits in [0x1d00ffffu32, 0x207fffff, 0x1e008000, 0x1b0404cb, 0x03123456] {
            assert_eq!(U256::from_compact(bits).unwrap().to_compact(), bits, "{bits:#x}");
        }
        assert_eq!(U256::from_compact(0x1e008000).unwrap(), U256::ONE << 231);
        assert!(U256::from_compact(0x04923456).is_err(), "negative");
        assert!(U256::from_compact(0xff123456).is_err(), "overflow");
    }

    #[test]
    fn work_of_bitcoin_genesis_target() {
        // Bitcoin's genesis (0x1d00ffff) has work 0x100010001.
        assert_eq!(work_for_bits(0x1d00ffff), U256::from_u64(0x1_0001_0001));
        assert_eq!(work_for_bits(0x207fffff), U256::from_u64(2));
    }

    #[test]
    fn division_and_shifts() {
        let a = U256::from_u64(1000) << 200;
        assert_eq!(a.checked_div(U256::from_u64(1000)).unwrap(), U256::ONE << 200);
        assert_eq!(a >> 200, U256::from_u64(1000));
        assert!(a.checked_div(U256::ZERO).is_none());
        assert_eq!(U256::MAX.checked_add(U256::ONE), None);
    }

    #[test]
    fn proof_of_work_is_checked() {
        let limit = U256::from_compact(0x207fffff).unwrap();
        let easy = BlockHash::from_byte_array([0; 32]);
        let mut high = [0xffu8; 32];
        high[31] = 0x7f;
        let high = BlockHash::from_byte_array(high);
        assert!(check_proof_of_work(&easy, 0x207fffff, limit).is_ok());
        assert_eq!(check_proof_of_work(&high, 0x1e008000, limit), Err(BlockError::HighHash));
        // A target above the network limit is rejected even if the hash meets it.
        assert_eq!(
            check_proof_of_work(&easy, 0x2100ffff, limit),
            Err(BlockError::BadTarget(0x2100ffff))
        );
    }

    #[test]
    fn asert_halves_and_doubles_with_half_life() {
        let limit = U256::ONE << 255;
        let anchor = U256::ONE << 231;
        // On schedule: unchanged.
        assert_eq!(asert_target(anchor, 10, 600, 1000, 100, limit), anchor);
        // One half-life behind schedule: target doubles (easier).
        assert_eq!(asert_target(anchor, 10, 600, 1600, 100, limit), anchor << 1);
        // One half-life ahead: halves.
        assert_eq!(asert_target(anchor, 10, 600, 400, 100, limit), anchor >> 1);
        // Far behind: clamped at the limit; far ahead: at least one.
        assert_eq!(asert_target(anchor, 10, 600, i64::MAX / 2, 0, limit), limit);
        assert_eq!(asert_target(anchor, 10, 600, i64::MIN / 2, 0, limit), U256::ONE);
        // A 10 s slow block moves the target by about 1.2%.
        let t = asert_target(anchor, 10, 600, 1010, 100, limit);
        assert!(t > anchor && t < anchor.checked_mul_u64(102).unwrap().checked_div(U256::from_u64(100)).unwrap());
    }
}
