//! The manifest of a shared file or folder, and its canonical encoding.
//!
//! A **file** (all integers little-endian): the magic `CAIRNMF1`, the name as a u16 length and
//! UTF-8, the file size (u64), the piece size (u32), then the SHA-256 of every piece in order
//! (their number follows from the size and piece size).
//!
//! A **folder**: the magic `CAIRNMD1`, the folder's name (u16 length and UTF-8), the piece size
//! (u32), the number of files (u32), then each file's relative path (u16 length and UTF-8, `/`
//! between components) and size (u64), then the piece hashes. Paths are listed in strictly
//! increasing byte order (one encoding per folder, no duplicates), and no file's path is a folder
//! of another's. **Every file starts on a piece boundary** (as in BitTorrent v2, BEP 52): a piece
//! belongs to exactly one file, so one file of a folder is fetched, verified and served alone,
//! without the neighbouring files' bytes that BitTorrent v1's boundary pieces drag in. A file of
//! `s` bytes takes `ceil(s / piece size)` pieces; its last piece may be short.
//!
//! The [`ContentId`] is the SHA-256 of exactly these bytes, so a manifest received from anyone is
//! checked by hashing it. Decoding is strict: one encoding per manifest, every length bounded
//! before anything is allocated.

use std::collections::HashSet;
use std::io::Read;
use std::ops::Range;

use sha2::{Digest, Sha256};

use super::bitfield::Bitfield;
use super::id::{ContentId, PieceIndex};

/// Size of a requested block (BEP 3's customary 16 KiB).
pub const BLOCK_SIZE: u32 = 16 * 1024;
/// Default piece size: 256 KiB.
pub const DEFAULT_PIECE_SIZE: u32 = 256 * 1024;
/// Smallest piece size (one block).
pub const MIN_PIECE_SIZE: u32 = BLOCK_SIZE;
/// Largest piece size.
pub const MAX_PIECE_SIZE: u32 = 16 * 1024 * 1024;
/// Most pieces in one file or folder (8 MiB of piece hashes).
pub const MAX_PIECES: u64 = 1 << 18;
/// Longest name (of a file, a folder, or one component of a path), in bytes.
pub const MAX_NAME_LEN: usize = 255;
/// Most files in a folder.
pub const MAX_FILES: usize = 10_000;
/// Longest relative path of a file in a folder, in bytes.
pub const MAX_PATH_LEN: usize = 4096;
/// Most bytes of paths in one folder's file list.
pub const MAX_FILE_LIST: usize = 1 << 20;

const MAGIC_FILE: &[u8; 8] = b"CAIRNMF1";
const MAGIC_FOLDER: &[u8; 8] = b"CAIRNMD1";

/// Why a manifest cannot be made or decoded.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The name is empty, too long, or not a plain file name.
    #[error("invalid file name {0:?}: 1 to 255 bytes, no '/', '\\', control characters, '.' or '..'")]
    BadName(String),
    /// A path in a folder is not a relative path of plain names.
    #[error("invalid path {0:?} in a folder: names of 1 to 255 bytes joined by '/', at most 4096 bytes")]
    BadPath(String),
    /// A folder lists no file, too many, the same path twice, or a file inside another.
    #[error("invalid file list: {0}")]
    BadFileList(String),
    /// The piece size is not a power of two in range.
    #[error("invalid piece size {0}: a power of two from 16 KiB to 16 MiB")]
    BadPieceSize(u32),
    /// The file needs more pieces than a manifest may list.
    #[error("too large: {size} bytes in pieces of {piece_size} need more than {MAX_PIECES} pieces")]
    TooLarge {
        /// Size in bytes.
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

/// One file of a manifest.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FileEntry {
    path: String,
    size: u64,
    first_piece: u32,
    pieces: u32,
}

impl FileEntry {
    /// The path relative to the folder (`/` between components); a single file's name.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The pieces that hold this file (empty for an empty file).
    pub fn pieces(&self) -> Range<u32> {
        self.first_piece..self.first_piece + self.pieces
    }
}

/// A piece's length and SHA-256 (see [`Manifest::check_of`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PieceCheck {
    len: u32,
    hash: [u8; 32],
}

impl PieceCheck {
    /// Whether `data` is the piece.
    pub fn matches(&self, data: &[u8]) -> bool {
        data.len() == self.len as usize && Sha256::digest(data).as_slice() == self.hash
    }
}

/// A file's or folder's description: name, files and sizes, piece size and piece hashes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Manifest {
    name: String,
    folder: bool,
    files: Vec<FileEntry>,
    size: u64,
    piece_size: u32,
    hashes: Vec<[u8; 32]>,
}

/// Checks a file name: a single path component that is safe to create in a folder.
pub fn check_name(name: &str) -> Result<(), ManifestError> {
    if name_ok(name) {
        Ok(())
    } else {
        Err(ManifestError::BadName(name.chars().take(300).collect()))
    }
}

fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name != "."
        && name != ".."
        && !name.chars().any(|c| c == '/' || c == '\\' || c.is_control())
}

/// Checks a path inside a folder: plain names joined by `/` (never absolute, never `..`).
pub fn check_path(path: &str) -> Result<(), ManifestError> {
    if path.len() <= MAX_PATH_LEN && path.split('/').all(name_ok) {
        Ok(())
    } else {
        Err(ManifestError::BadPath(path.chars().take(300).collect()))
    }
}

fn check_piece_size(piece_size: u32) -> Result<(), ManifestError> {
    if piece_size.is_power_of_two() && (MIN_PIECE_SIZE..=MAX_PIECE_SIZE).contains(&piece_size) {
        Ok(())
    } else {
        Err(ManifestError::BadPieceSize(piece_size))
    }
}

/// Lays files out on piece boundaries: each gets its first piece and piece count.
fn lay_out(entries: Vec<(String, u64)>, piece_size: u32) -> Result<(Vec<FileEntry>, u64), ManifestError> {
    let mut files = Vec::with_capacity(entries.len());
    let (mut next, mut total) = (0u64, 0u64);
    for (path, size) in entries {
        let pieces = size.div_ceil(u64::from(piece_size));
        total = total.checked_add(size).ok_or(ManifestError::TooLarge { size, piece_size })?;
        if next + pieces > MAX_PIECES {
            return Err(ManifestError::TooLarge { size: total, piece_size });
        }
        files.push(FileEntry {
            path,
            size,
            first_piece: next as u32,
            pieces: pieces as u32,
        });
        next += pieces;
    }
    Ok((files, total))
}

/// Checks a folder's file list: 1 to [`MAX_FILES`] valid paths in strictly increasing byte order,
/// at most [`MAX_FILE_LIST`] bytes of them, and no file inside another file's path.
fn check_file_list(paths: &[&str]) -> Result<(), ManifestError> {
    if paths.is_empty() || paths.len() > MAX_FILES {
        return Err(ManifestError::BadFileList(format!("{} files (1 to {MAX_FILES})", paths.len())));
    }
    if paths.iter().map(|p| p.len()).sum::<usize>() > MAX_FILE_LIST {
        return Err(ManifestError::BadFileList(format!("more than {MAX_FILE_LIST} bytes of paths")));
    }
    for p in paths {
        check_path(p)?;
    }
    if let Some(w) = paths.windows(2).find(|w| w[0] >= w[1]) {
        return Err(ManifestError::BadFileList(format!(
            "{:?} is listed after {:?} (sorted, no repeats)",
            w[1], w[0]
        )));
    }
    let set: HashSet<&str> = paths.iter().copied().collect();
    for p in paths {
        if let Some(parent) = p.match_indices('/').map(|(i, _)| &p[..i]).find(|d| set.contains(d)) {
            return Err(ManifestError::BadFileList(format!("{p:?} is inside the file {parent:?}")));
        }
    }
    Ok(())
}

fn hash_pieces(size: u64, piece_size: u32, reader: &mut impl Read, buf: &mut [u8], hashes: &mut Vec<[u8; 32]>) -> std::io::Result<()> {
    let mut left = size;
    while left > 0 {
        let len = left.min(u64::from(piece_size)) as usize;
        reader.read_exact(&mut buf[..len])?;
        hashes.push(Sha256::digest(&buf[..len]).into());
        left -= len as u64;
    }
    Ok(())
}

impl Manifest {
    /// Builds the manifest of a file of `size` bytes read from `reader`, hashing one piece at a
    /// time (memory stays at one piece whatever the file size). Blocking: run it off the async
    /// runtime.
    ///
    /// # Errors
    /// A bad name or piece size, a file too large, a read error, or fewer bytes than `size`.
    pub fn from_reader(name: &str, size: u64, piece_size: u32, mut reader: impl Read) -> Result<Manifest, ManifestError> {
        check_name(name)?;
        check_piece_size(piece_size)?;
        let (files, size) = lay_out(vec![(name.to_string(), size)], piece_size)?;
        let mut hashes = Vec::with_capacity(files[0].pieces as usize);
        let mut buf = vec![0u8; piece_size as usize];
        hash_pieces(size, piece_size, &mut reader, &mut buf, &mut hashes)?;
        Ok(Manifest {
            name: name.to_string(),
            folder: false,
            files,
            size,
            piece_size,
            hashes,
        })
    }

    /// Builds the manifest of a folder named `name` holding `files` (relative paths and sizes, in
    /// any order), reading each with `open(path)`. Blocking: run it off the async runtime.
    ///
    /// # Errors
    /// A bad name, path, file list or piece size, too many pieces, a read error, or a file shorter
    /// than its size.
    pub fn from_folder<R: Read>(
        name: &str,
        piece_size: u32,
        mut files: Vec<(String, u64)>,
        mut open: impl FnMut(&str) -> std::io::Result<R>,
    ) -> Result<Manifest, ManifestError> {
        check_name(name)?;
        check_piece_size(piece_size)?;
        files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        check_file_list(&files.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>())?;
        let (files, size) = lay_out(files, piece_size)?;
        let mut hashes = Vec::with_capacity(files.iter().map(|f| f.pieces as usize).sum());
        let mut buf = vec![0u8; piece_size as usize];
        for f in &files {
            let mut reader = open(&f.path)?;
            hash_pieces(f.size, piece_size, &mut reader, &mut buf, &mut hashes)?;
        }
        Ok(Manifest {
            name: name.to_string(),
            folder: true,
            files,
            size,
            piece_size,
            hashes,
        })
    }

    /// The file's or folder's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is a folder (else a single file).
    pub fn is_folder(&self) -> bool {
        self.folder
    }

    /// The files: one for a single file (named as the manifest), sorted by path for a folder.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// Where each file is when the data is at `root`: `root` itself for a single file, the
    /// files' paths under the folder `root` for a folder.
    pub fn paths_under(&self, root: &std::path::Path) -> Vec<std::path::PathBuf> {
        if self.folder {
            self.files.iter().map(|f| root.join(&f.path)).collect()
        } else {
            vec![root.to_path_buf()]
        }
    }

    /// The size in bytes (of all files, for a folder).
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

    /// Which file piece `i` belongs to and the byte offset of the piece in it; `None` past the end.
    pub fn locate(&self, i: PieceIndex) -> Option<(usize, u64)> {
        if i.0 >= self.pieces() {
            return None;
        }
        // The last file starting at or before `i`: an empty file shares its first piece with the
        // next file, which comes after it in the list.
        let f = self.files.partition_point(|f| f.first_piece <= i.0).checked_sub(1)?;
        Some((f, u64::from(i.0 - self.files[f].first_piece) * u64::from(self.piece_size)))
    }

    /// Length of piece `i` (a file's last piece may be short); 0 for an index past the end.
    pub fn piece_len(&self, i: PieceIndex) -> u32 {
        match self.locate(i) {
            Some((f, at)) => (self.files[f].size - at).min(u64::from(self.piece_size)) as u32,
            None => 0,
        }
    }

    /// Piece `i`'s place when the pieces are laid end to end (`i` × piece size): for a single file,
    /// its byte offset in the file.
    pub fn piece_offset(&self, i: PieceIndex) -> u64 {
        u64::from(i.0) * u64::from(self.piece_size)
    }

    /// Number of 16 KiB blocks in piece `i`.
    pub fn blocks_in(&self, i: PieceIndex) -> u32 {
        self.piece_len(i).div_ceil(BLOCK_SIZE)
    }

    /// The pieces of the files marked in `selected` (by index in [`Manifest::files`]).
    pub fn pieces_of(&self, selected: impl Fn(usize) -> bool) -> Bitfield {
        let mut wanted = Bitfield::new(self.pieces());
        for (_, f) in self.files.iter().enumerate().filter(|(i, _)| selected(*i)) {
            for p in f.pieces() {
                wanted.set(PieceIndex(p));
            }
        }
        wanted
    }

    /// Whether `data` is piece `i`.
    pub fn verify(&self, i: PieceIndex, data: &[u8]) -> bool {
        self.check_of(i).is_some_and(|c| c.matches(data))
    }

    /// What piece `i` must be (its length and hash), to check it elsewhere (on another thread)
    /// without a copy of the whole manifest; `None` past the end.
    pub fn check_of(&self, i: PieceIndex) -> Option<PieceCheck> {
        let hash = *self.hashes.get(i.0 as usize)?;
        Some(PieceCheck {
            len: self.piece_len(i),
            hash,
        })
    }

    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let list: usize = self.files.iter().map(|f| 10 + f.path.len()).sum();
        let mut out = Vec::with_capacity(8 + 2 + self.name.len() + 16 + list + 32 * self.hashes.len());
        out.extend_from_slice(if self.folder { MAGIC_FOLDER } else { MAGIC_FILE });
        out.extend_from_slice(&(self.name.len() as u16).to_le_bytes());
        out.extend_from_slice(self.name.as_bytes());
        if self.folder {
            out.extend_from_slice(&self.piece_size.to_le_bytes());
            out.extend_from_slice(&(self.files.len() as u32).to_le_bytes());
            for f in &self.files {
                out.extend_from_slice(&(f.path.len() as u16).to_le_bytes());
                out.extend_from_slice(f.path.as_bytes());
                out.extend_from_slice(&f.size.to_le_bytes());
            }
        } else {
            out.extend_from_slice(&self.size.to_le_bytes());
            out.extend_from_slice(&self.piece_size.to_le_bytes());
        }
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
        let (folder, rest) = if let Some(rest) = bytes.strip_prefix(MAGIC_FILE.as_slice()) {
            (false, rest)
        } else if let Some(rest) = bytes.strip_prefix(MAGIC_FOLDER.as_slice()) {
            (true, rest)
        } else {
            return Err(ManifestError::Malformed("bad magic"));
        };
        let (name, mut rest) = string(rest)?;
        check_name(name)?;
        let mut entries = Vec::new();
        let piece_size;
        if folder {
            let (ps, r) = split::<4>(rest)?;
            let (count, r) = split::<4>(r)?;
            piece_size = u32::from_le_bytes(ps);
            let count = u32::from_le_bytes(count) as usize;
            if count == 0 || count > MAX_FILES {
                return Err(ManifestError::BadFileList(format!("{count} files (1 to {MAX_FILES})")));
            }
            rest = r;
            let mut list_bytes = 0usize;
            for _ in 0..count {
                let (path, r) = string(rest)?;
                let (size, r) = split::<8>(r)?;
                list_bytes += path.len();
                if list_bytes > MAX_FILE_LIST {
                    return Err(ManifestError::BadFileList(format!("more than {MAX_FILE_LIST} bytes of paths")));
                }
                entries.push((path.to_string(), u64::from_le_bytes(size)));
                rest = r;
            }
            check_file_list(&entries.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>())?;
        } else {
            let (size, r) = split::<8>(rest)?;
            let (ps, r) = split::<4>(r)?;
            piece_size = u32::from_le_bytes(ps);
            entries.push((name.to_string(), u64::from_le_bytes(size)));
            rest = r;
        }
        check_piece_size(piece_size)?;
        let (files, size) = lay_out(entries, piece_size)?;
        let count: usize = files.iter().map(|f| f.pieces as usize).sum();
        if rest.len() != count * 32 {
            return Err(ManifestError::Malformed("piece hash count does not match the size"));
        }
        let hashes = rest.chunks_exact(32).map(|c| c.try_into().expect("chunks of 32")).collect();
        Ok(Manifest {
            name: name.to_string(),
            folder,
            files,
            size,
            piece_size,
            hashes,
        })
    }
}

/// A u16-length-prefixed UTF-8 string.
fn string(b: &[u8]) -> Result<(&str, &[u8]), ManifestError> {
    let (len, rest) = split::<2>(b)?;
    let len = u16::from_le_bytes(len) as usize;
    if rest.len() < len {
        return Err(ManifestError::Malformed("truncated name"));
    }
    let (s, rest) = rest.split_at(len);
    let s = std::str::from_utf8(s).map_err(|_| ManifestError::Malformed("name is not UTF-8"))?;
    Ok((s, rest))
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

    fn folder(files: &[(&str, Vec<u8>)], piece_size: u32) -> Result<Manifest, ManifestError> {
        let list = files.iter().map(|(p, d)| (p.to_string(), d.len() as u64)).collect();
        Manifest::from_folder("album", piece_size, list, |path| {
            Ok(files.iter().find(|(p, _)| *p == path).expect("a listed file").1.as_slice())
        })
    }

    #[test]
    fn a_folder_lays_each_file_on_piece_boundaries() {
        let files = [
            ("b/two.bin", data(16384 + 10)),
            ("a.txt", data(5)),
            ("empty", Vec::new()),
            ("b/three.bin", data(3 * 16384)),
        ];
        let m = folder(&files, 16384).unwrap();
        assert!(m.is_folder());
        let paths: Vec<&str> = m.files().iter().map(FileEntry::path).collect();
        assert_eq!(paths, ["a.txt", "b/three.bin", "b/two.bin", "empty"], "sorted by path");
        assert_eq!(m.size(), 5 + 3 * 16384 + 16384 + 10);
        assert_eq!(m.pieces(), 1 + 3 + 2);
        assert_eq!(m.files()[1].pieces(), 1..4);
        assert_eq!(m.files()[3].pieces(), 6..6);
        assert_eq!(m.locate(PieceIndex(0)), Some((0, 0)));
        assert_eq!(m.locate(PieceIndex(3)), Some((1, 2 * 16384)));
        assert_eq!(m.locate(PieceIndex(5)), Some((2, 16384)));
        assert_eq!(m.locate(PieceIndex(6)), None);
        assert_eq!(m.piece_len(PieceIndex(0)), 5);
        assert_eq!(m.piece_len(PieceIndex(5)), 10);
        assert!(m.verify(PieceIndex(0), &files[1].1));
        assert!(m.verify(PieceIndex(5), &files[0].1[16384..]));
        assert!(m.verify(PieceIndex(2), &files[3].1[16384..32768]));
        let wanted = m.pieces_of(|f| f == 2);
        assert_eq!(wanted.iter_ones().collect::<Vec<_>>(), [PieceIndex(4), PieceIndex(5)]);
        let enc = m.encode();
        assert_eq!(Manifest::decode(&enc).unwrap(), m);
        // A folder is not the file of the same bytes, and an empty file still counts.
        let single = Manifest::from_reader("album", 5, 16384, files[1].1.as_slice()).unwrap();
        assert_ne!(single.content_id(), m.content_id());
        assert!(!single.is_folder());
        assert_eq!(single.files().len(), 1);
        assert_eq!(single.files()[0].path(), "album");
    }

    #[test]
    fn folder_lists_are_strict() {
        for bad in [
            vec![("a", data(1)), ("a", data(2))],
            vec![("a", data(1)), ("a/b", data(2))],
            vec![("../x", data(1))],
            vec![("/abs", data(1))],
            vec![("a//b", data(1))],
            vec![("a/./b", data(1))],
        ] {
            assert!(folder(&bad, 16384).is_err(), "{:?}", bad.iter().map(|f| f.0).collect::<Vec<_>>());
        }
        assert!(folder(&[], 16384).is_err());
        let m = folder(&[("x", data(10)), ("y", data(20))], 16384).unwrap();
        let enc = m.encode();
        // The same list out of order is refused (one encoding per folder).
        let mut swapped = enc.clone();
        let at = 8 + 2 + "album".len() + 8;
        assert_eq!(&swapped[at..at + 3], &[1, 0, b'x']);
        swapped[at + 2] = b'y';
        swapped[at + 2 + 1 + 8 + 2] = b'x';
        assert!(matches!(Manifest::decode(&swapped), Err(ManifestError::BadFileList(_))));
        // A file count beyond the limit is refused before anything is read for it.
        let mut many = enc[..at - 4].to_vec();
        many.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(Manifest::decode(&many), Err(ManifestError::BadFileList(_))));
        for cut in 0..enc.len() {
            assert!(Manifest::decode(&enc[..cut]).is_err());
        }
    }
}
