//! Cairn's canonical binary encoding: the bytes that are hashed, signed, stored and sent.
//!
//! The format follows Bitcoin's consensus encoding: little-endian fixed-width integers, and
//! `CompactSize` length prefixes. Decoding reads from a byte slice and is total: any input yields a
//! value or a [`DecodeError`], never a panic. It is bounded: a length prefix is checked against the
//! bytes actually left (each element needs at least one byte) and against [`MAX_VEC_LEN`] before
//! anything is allocated, so a hostile prefix cannot make the decoder reserve more memory than the
//! input it was handed. Serde is never used for these bytes.

use crate::error::DecodeError;

/// The largest element count or byte length any length prefix may announce.
pub const MAX_VEC_LEN: u64 = 0x0200_0000;

/// A value with a canonical byte encoding.
pub trait Encodable {
    /// Appends the encoding of `self` to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);

    /// The encoding of `self` as a fresh vector.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_to(&mut out);
        out
    }
}

/// A value that can be read back from its canonical encoding.
pub trait Decodable: Sized {
    /// Reads one value from the reader.
    ///
    /// # Errors
    /// Returns [`DecodeError`] when the bytes are truncated, non-canonical or out of range.
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes a value that must use every byte of `bytes`.
    ///
    /// # Errors
    /// As [`Decodable::decode_from`], plus [`DecodeError::TrailingBytes`] if bytes are left over.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = Self::decode_from(&mut r)?;
        if r.remaining() != 0 {
            return Err(DecodeError::TrailingBytes(r.remaining()));
        }
        Ok(v)
    }
}

/// A cursor over a byte slice that never reads past its end.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::UnexpectedEnd);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    /// A little-endian u16.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// A little-endian u32.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A little-endian u64.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A `CompactSize` integer in its shortest form (a longer form is rejected, as in Bitcoin).
    pub fn compact_size(&mut self) -> Result<u64, DecodeError> {
        let first = self.u8()?;
        let (v, min) = match first {
            0xfd => (u64::from(self.u16()?), 0xfd),
            0xfe => (u64::from(self.u32()?), 0x1_0000),
            0xff => (self.u64()?, 0x1_0000_0000),
            b => return Ok(u64::from(b)),
        };
        if v < min {
            return Err(DecodeError::NonCanonicalSize);
        }
        Ok(v)
    }

    /// A length prefix for elements of at least `min_elem_size` bytes, checked against the bytes
    /// left and against `cap` before anything is allocated.
    pub fn length(&mut self, min_elem_size: usize, cap: u64) -> Result<usize, DecodeError> {
        let n = self.compact_size()?;
        let cap = cap.min(MAX_VEC_LEN);
        if n > cap {
            return Err(DecodeError::TooLarge { len: n, max: cap });
        }
        let n = n as usize;
        if n.saturating_mul(min_elem_size.max(1)) > self.remaining() {
            return Err(DecodeError::UnexpectedEnd);
        }
        Ok(n)
    }

    /// A length-prefixed byte string of at most `cap` bytes.
    pub fn var_bytes(&mut self, cap: u64) -> Result<Vec<u8>, DecodeError> {
        let n = self.length(1, cap)?;
        Ok(self.take(n)?.to_vec())
    }

    /// A length-prefixed list of at most `cap` elements, each at least `min_elem_size` bytes.
    pub fn var_list<T: Decodable>(&mut self, min_elem_size: usize, cap: u64) -> Result<Vec<T>, DecodeError> {
        let n = self.length(min_elem_size, cap)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(T::decode_from(self)?);
        }
        Ok(v)
    }
}

/// Appends a `CompactSize` integer in its shortest form.
pub fn write_compact_size(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=0xfc => out.push(n as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

/// Appends a length-prefixed byte string.
pub fn write_var_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_compact_size(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends a length-prefixed list.
pub fn write_var_list<T: Encodable>(out: &mut Vec<u8>, items: &[T]) {
    write_compact_size(out, items.len() as u64);
    for i in items {
        i.encode_to(out);
    }
}

/// The number of bytes `write_compact_size` uses for `n`.
pub fn compact_size_len(n: u64) -> usize {
    match n {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn compact_size_rejects_non_minimal_forms() {
        assert_eq!(Reader::new(&[0xfd, 0x10, 0x00]).compact_size(), Err(DecodeError::NonCanonicalSize));
        assert_eq!(Reader::new(&[0xfd, 0xfd, 0x00]).compact_size(), Ok(0xfd));
        assert_eq!(
            Reader::new(&[0xfe, 0xff, 0xff, 0x00, 0x00]).compact_size(),
            Err(DecodeError::NonCanonicalSize)
        );
        assert_eq!(Reader::new(&[0xfd, 0x01]).compact_size(), Err(DecodeError::UnexpectedEnd));
    }

    #[test]
    fn huge_length_prefix_does_not_allocate() {
        // Announces 2^32-1 bytes but carries three: rejected before any allocation.
        let bytes = [0xfe, 0xff, 0xff, 0xff, 0xff, 1, 2, 3];
        assert!(matches!(Reader::new(&bytes).var_bytes(u64::MAX), Err(DecodeError::TooLarge { .. })));
        let bytes = [0xfe, 0x00, 0x00, 0x01, 0x00, 1, 2, 3];
        assert_eq!(Reader::new(&bytes).var_bytes(u64::MAX), Err(DecodeError::UnexpectedEnd));
    }

    proptest! {
        #[test]
        fn compact_size_round_trips(n in any::<u64>()) {
            let mut out = Vec::new();
            write_compact_size(&mut out, n);
            prop_assert_eq!(out.len(), compact_size_len(n));
            let mut r = Reader::new(&out);
            prop_assert_eq!(r.compact_size().unwrap(), n);
            prop_assert_eq!(r.remaining(), 0);
        }
    }
}
