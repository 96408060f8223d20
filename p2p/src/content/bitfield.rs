//! Which pieces a peer holds: one bit per piece, sent on the wire as in BEP 3 (piece 0 is the
//! high bit of the first byte; spare bits at the end are zero).

use super::id::PieceIndex;

/// A set of pieces of a file with a fixed number of pieces.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Bitfield {
    bits: Vec<u8>,
    len: u32,
    ones: u32,
}

/// Why bytes are not a bitfield for a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BitfieldError {
    /// Wrong number of bytes for the piece count.
    #[error("bitfield of {got} bytes for {pieces} pieces (expected {expected})")]
    Length {
        /// Bytes received.
        got: usize,
        /// Bytes expected.
        expected: usize,
        /// Piece count.
        pieces: u32,
    },
    /// A bit past the last piece is set.
    #[error("bitfield sets bits past the last piece")]
    SpareBits,
}

impl Bitfield {
    /// No pieces of `len`.
    pub fn new(len: u32) -> Bitfield {
        Bitfield {
            bits: vec![0; len.div_ceil(8) as usize],
            len,
            ones: 0,
        }
    }

    /// Every piece of `len`.
    pub fn full(len: u32) -> Bitfield {
        let mut b = Bitfield::new(len);
        for i in 0..len {
            b.set(PieceIndex(i));
        }
        b
    }

    /// Number of pieces of the file.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the file has no pieces.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of pieces held.
    pub fn count(&self) -> u32 {
        self.ones
    }

    /// Whether every piece is held.
    pub fn is_complete(&self) -> bool {
        self.ones == self.len
    }

    /// Whether piece `i` is held (false past the end).
    pub fn get(&self, i: PieceIndex) -> bool {
        i.0 < self.len && self.bits[(i.0 / 8) as usize] & (0x80 >> (i.0 % 8)) != 0
    }

    /// Marks piece `i` held; returns whether it was new (false past the end).
    pub fn set(&mut self, i: PieceIndex) -> bool {
        if i.0 >= self.len || self.get(i) {
            return false;
        }
        self.bits[(i.0 / 8) as usize] |= 0x80 >> (i.0 % 8);
        self.ones += 1;
        true
    }

    /// Marks piece `i` not held; returns whether it was held.
    pub fn clear(&mut self, i: PieceIndex) -> bool {
        if !self.get(i) {
            return false;
        }
        self.bits[(i.0 / 8) as usize] &= !(0x80 >> (i.0 % 8));
        self.ones -= 1;
        true
    }

    /// The pieces held, in order.
    pub fn iter_ones(&self) -> impl Iterator<Item = PieceIndex> + '_ {
        (0..self.len).map(PieceIndex).filter(|i| self.get(*i))
    }

    /// The wire bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bits
    }

    /// Reads wire bytes for a file of `len` pieces.
    ///
    /// # Errors
    /// A wrong length or spare bits set.
    pub fn from_bytes(bytes: &[u8], len: u32) -> Result<Bitfield, BitfieldError> {
        let expected = len.div_ceil(8) as usize;
        if bytes.len() != expected {
            return Err(BitfieldError::Length {
                got: bytes.len(),
                expected,
                pieces: len,
            });
        }
        if !len.is_multiple_of(8) && bytes[expected - 1] & (0xff >> (len % 8)) != 0 {
            return Err(BitfieldError::SpareBits);
        }
        let ones = bytes.iter().map(|b| b.count_ones()).sum();
        Ok(Bitfield {
            bits: bytes.to_vec(),
            len,
            ones,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_follow_bep3_order_and_count() {
        let mut b = Bitfield::new(10);
        assert!(b.set(PieceIndex(0)) && b.set(PieceIndex(9)));
        assert!(!b.set(PieceIndex(9)) && !b.set(PieceIndex(10)));
        assert_eq!(b.as_bytes(), &[0x80, 0x40]);
        assert_eq!(b.count(), 2);
        assert_eq!(b.iter_ones().collect::<Vec<_>>(), vec![PieceIndex(0), PieceIndex(9)]);
        assert!(b.clear(PieceIndex(0)) && !b.clear(PieceIndex(0)));
        assert_eq!(b.count(), 1);
        assert!(Bitfield::full(10).is_complete());
    }

    #[test]
    fn wire_bytes_are_checked() {
        let b = Bitfield::from_bytes(&[0xff, 0xc0], 10).unwrap();
        assert!(b.is_complete());
        assert!(matches!(Bitfield::from_bytes(&[0xff], 10), Err(BitfieldError::Length { .. })));
        assert_eq!(Bitfield::from_bytes(&[0xff, 0xe0], 10), Err(BitfieldError::SpareBits));
        assert!(Bitfield::from_bytes(&[], 0).unwrap().is_complete());
    }
}
