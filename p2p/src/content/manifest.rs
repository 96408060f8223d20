//! The manifest of a shared file and its canonical encoding.
//!
//! Bytes (all integers little-endian): the magic `CAIRNMF1`, the name as a u16 length and UTF-8,
//! the file size (u64), the piece size (u32), then the SHA-256 of every piece in order (their
//! number follows from the size and piece size). The [`ContentId`] is the SHA-256 of exactly these
//! bytes, so a manifest received from anyone is checked by hashing it. Decoding is strict: one
//! encoding per manifest, every length bounded before anything is allocated.

use std::io::Read;

use sha2::{Digest, Sha256};

use super::id::{ContentId, PieceIndex};

/// Size of a requested block (BEP 3's customary 16 KiB).
pub const BLOCK_SIZE: u32 = 16 * 1024;
/// Default piece size: 256 KiB.
pub const DEFAULT_PIECE_SIZE: u32 = 256 * 1024;
/// Smallest piece size (one block).
pub const MIN_PIECE_SIZE: u32 = BLOCK_SIZE;
/// Largest piece size.
pub const MAX_PIECE_SIZE: u32 = 16 * 1024 * 1024;
/// Most pieces in one file (8 MiB of piece hashes).
pub const MAX_PIECES: u64 = 1 << 18;
/// Longest name, in bytes.
pub const MAX_NAME_LEN: usize = 255;

const MAGIC: &[u8; 8] = b"CAIRNMF1";

/// Why a manifest cannot be made or decoded.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The name is empty, too long, or not a plain file name.
    #[error("invalid file name {0:?}: 1 to 255 bytes, no '/', '\\', control characters, '.' or '..'")]
    BadName(String),
    /// The piece size is not a power of two in range.
    #[error("invalid piece size {0}: a power of two from 16 KiB to 16 MiB")]
    BadPieceSize(u32),
    /// The file needs more pieces than a manifest may list.
    #[error("file too large: {size} bytes in pieces of {piece_size} need more than {MAX_PIECES} pieces")]
    TooLarge {
        /// File size.
        size: u64,
        /// Piece size.
        piece_size: u32,
    },
    /// The bytes are not a canonical manifest.
    #[error("malformed manifest: {0}")]
    Malformed(&'static str),
    /// Reading the file failed.
    #[error("reading the file: {0}")]
    Io(#[from] std::io::Error),
}

/// A file's description: name, size, piece size and piece hashes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Manifest {
    name: String,
    size: u64,
    piece_size: u32,
    hashes: Vec<[u8; 32]>,
}

/// Checks a file name: a single path component that is safe to create in a folder.
pub fn check_name(name: &str) -> Result<(), ManifestError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name != "."
        && name != ".."
        && !name.chars().any(|c| c == '/' || c == '\\' || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(ManifestError::BadName(name.chars().take(300).collect()))
    }
}

fn check_piece_size(piece_size: u32) -> Result<(), ManifestError> {
    if piece_size.is_power_of_two() && (MIN_PIECE_SIZE..=MAX_PIECE_SIZE).contains(&piece_size) {
        Ok(())
    } else {
        Err(ManifestError::BadPieceSize(piece_size))
    }
}

fn piece_count(size: u64, piece_size: u32) -> Result<u64, ManifestError> {
    let n = size.div_ceil(u64::from(piece_size));
    if n > MAX_PIECES {
        return Err(ManifestError::TooLarge { size, piece_size });
    }
    Ok(n)
}

impl Manifest {
    /// Builds the manifest of `size` bytes read from `reader`, hashing one piece at a time (memory
    /// stays at one piece whatever the file size). Blocking: run it off the async runtime.
    ///
    /// # Errors
    /// A bad name or piece size, a file too large, a read error, or fewer bytes than `size`.
    pub fn from_reader(name: &str, size: u64, piece_size: u32, mut reader: impl Read) -> Result<Manifest, ManifestError> {
        check_name(name)?;
        check_piece_size(piece_size)?;
        let count = piece_count(size, piece_size)?;
        let mut hashes = Vec::with_capacity(count as usize);
        let mut buf = vec![0u8; piece_size as usize];
        let mut left = size;
        while left > 0 {
            let len = left.min(u64::from(piece_size)) as usize;
            reader.read_exact(&mut buf[..len])?;
            hashes.push(Sha256::digest(&buf[..len]).into());
            left -= len as u64;
        }
        Ok(Manifest {
            name: name.to_string(),
            size,
            piece_size,
            hashes,
        })
    }

    /// The file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The piece size.
    pub fn piece_size(&self) -> u32 {
        self.piece_size
    }

    /// Number of pieces.
    pub fn pieces(&self) -> u32 {
        self.hashes.len() as u32
    }

    /// Length of piece `i` (the last one may be short); 0 for an index past the end.
    pub fn piece_len(&self, i: PieceIndex) -> u32 {
        let start = u64::from(i.0) * u64::from(self.piece_size);
        if i.0 >= self.pieces() {
            return 0;
        }
        (self.size - start).min(u64::from(self.piece_size)) as u32
    }

    /// Byte offset of piece `i` in the file.
    pub fn piece_offset(&self, i: PieceIndex) -> u64 {
        u64::from(i.0) * u64::from(self.piece_size)
    }

    /// Number of 16 KiB blocks in piece `i`.
    pub fn blocks_in(&self, i: PieceIndex) -> u32 {
        self.piece_len(i).div_ceil(BLOCK_SIZE)
    }

    /// Whether `data` is piece `i`.
    pub fn verify(&self, i: PieceIndex, data: &[u8]) -> bool {
        self.hashes
            .get(i.0 as usize)
            .is_some_and(|h| data.len() == self.piece_len(i) as usize && Sha256::digest(data).as_slice() == h)
    }

    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 2 + self.name.len() + 12 + 32 * self.hashes.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.name.len() as u16).to_le_bytes());
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.piece_size.to_le_bytes());
        for h in &self.hashes {
            out.extend_from_slice(h);
        }
        out
    }

    /// The content id: SHA-256 of the canonical bytes.
    pub fn content_id(&self) -> ContentId {
        ContentId::from_bytes(Sha256::digest(self.encode()).into())
    }

    /// Decodes canonical bytes.
    ///
    /// # Errors
    /// Anything but exactly one well-formed manifest.
    pub fn decode(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or(ManifestError::Malformed("bad magic"))?;
        let (len, rest) = split::<2>(rest)?;
        let len = u16::from_le_bytes(len) as usize;
        if rest.len() < len {
            return Err(ManifestError::Malformed("truncated name"));
        }
        let (name, rest) = rest.split_at(len);
        let name = std::str::from_utf8(name).map_err(|_| ManifestError::Malformed("name is not UTF-8"))?;
        check_name(name)?;
        let (size, rest) = split::<8>(rest)?;
        let (piece_size, rest) = split::<4>(rest)?;
        let (size, piece_size) = (u64::from_le_bytes(size), u32::from_le_bytes(piece_size));
        check_piece_size(piece_size)?;
        let count = piece_count(size, piece_size)? as usize;
        if rest.len() != count * 32 {
            return Err(ManifestError::Malformed("piece hash count does not match the size"));
        }
        let hashes = rest.chunks_exact(32).map(|c| c.try_into().expect("chunks of 32")).collect();
        Ok(Manifest {
            name: name.to_string(),
            size,
            piece_size,
            hashes,
        })
    }
}

fn split<const N: usize>(b: &[u8]) -> Result<([u8; N], &[u8]), ManifestError> {
    if b.len() < N {
        return Err(ManifestError::Malformed("truncated"));
    }
    let (head, rest) = b.split_at(N);
    Ok((head.try_into().expect("length checked"), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn pieces_cover_the_file_and_verify() {
        let bytes = data(3 * 16384 + 100);
        let m = Manifest::from_reader("a.bin", bytes.len() as u64, 16384, bytes.as_slice()).unwrap();
        assert_eq!(m.pieces(), 4);
        assert_eq!(m.piece_len(PieceIndex(3)), 100);
        assert_eq!(m.piece_len(PieceIndex(4)), 0);
        assert_eq!(m.blocks_in(PieceIndex(0)), 1);
        assert!(m.verify(PieceIndex(1), &bytes[16384..32768]));
        assert!(!m.verify(PieceIndex(1), &bytes[0..16384]));
        assert!(m.verify(PieceIndex(3), &bytes[3 * 16384..]));
        assert!(!m.verify(PieceIndex(9), &bytes[..100]));
    }

    #[test]
    fn encoding_round_trips_and_is_strict() {
        let bytes = data(600_000);
        let m = Manifest::from_reader("film.mkv", bytes.len() as u64, DEFAULT_PIECE_SIZE, bytes.as_slice()).unwrap();
        let enc = m.encode();
        assert_eq!(Manifest::decode(&enc).unwrap(), m);
        assert_eq!(Manifest::decode(&enc).unwrap().content_id(), m.content_id());
        // Any change is another id; truncation, extension and bad fields are refused.
        let mut other = enc.clone();
        *other.last_mut().unwrap() ^= 1;
        assert_ne!(Manifest::decode(&other).unwrap().content_id(), m.content_id());
        assert!(Manifest::decode(&enc[..enc.len() - 1]).is_err());
        let mut longer = enc.clone();
        longer.push(0);
        assert!(Manifest::decode(&longer).is_err());
        let mut bad_piece = enc.clone();
        let at = 8 + 2 + "film.mkv".len() + 8;
        bad_piece[at..at + 4].copy_from_slice(&3000u32.to_le_bytes());
        assert!(matches!(Manifest::decode(&bad_piece), Err(ManifestError::BadPieceSize(3000))));
        assert!(Manifest::decode(b"").is_err());
    }

    #[test]
    fn names_and_sizes_are_checked() {
        for bad in ["", ".", "..", "a/b", "a\\b", "a\nb", &"x".repeat(256)] {
            assert!(Manifest::from_reader(bad, 0, DEFAULT_PIECE_SIZE, &b""[..]).is_err(), "{bad:?}");
        }
        assert!(Manifest::from_reader("ok", 0, 1000, &b""[..]).is_err());
        assert!(matches!(
            Manifest::from_reader("big", u64::MAX, MIN_PIECE_SIZE, &b""[..]),
            Err(ManifestError::TooLarge { .. })
        ));
        // A reader shorter than the size given is an error, not a short manifest.
        assert!(matches!(
            Manifest::from_reader("short", 10, MIN_PIECE_SIZE, &b"12345"[..]),
            Err(ManifestError::Io(_))
        ));
        let empty = Manifest::from_reader("empty", 0, MIN_PIECE_SIZE, &b""[..]).unwrap();
        assert_eq!(empty.pieces(), 0);
        assert_eq!(Manifest::decode(&empty.encode()).unwrap(), empty);
    }
}
