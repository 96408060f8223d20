//! Pieces on disk: a published file served from where it is, or a download being written.
//!
//! A download lives in `<folder>/`: `manifest` (the canonical bytes), `have` (the bitfield, one
//! bit per verified piece) and the data file (by default `<folder>/data`, or a destination the
//! user chose). A piece is written only after it verified, with one positioned write, and its bit
//! is set in `have` afterwards with a one-byte positioned write: a process killed at any moment
//! never marks a piece whose data is not in the file, and a restart resumes from `have`. (The
//! writes are not fsynced one by one; after a power cut the pieces are checked again with
//! [`PieceStore::recheck`].)
//!
//! Blocking I/O throughout: callers run it off the async runtime.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::bitfield::Bitfield;
use super::id::PieceIndex;
use super::manifest::{BLOCK_SIZE, Manifest};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file could not be opened, read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A published file's size differs from its manifest (it changed since).
    #[error("{path} is {found} bytes, its manifest says {expected}: the file changed since it was published")]
    SizeChanged {
        /// The file.
        path: PathBuf,
        /// Size on disk.
        found: u64,
        /// Size in the manifest.
        expected: u64,
    },
    /// The stored manifest or bitfield is damaged.
    #[error("damaged download state in {0}")]
    Corrupt(PathBuf),
    /// A request for data this store does not hold, or outside the file.
    #[error("block {piece}+{offset} ({len} bytes) is not available")]
    NotAvailable {
        /// Piece.
        piece: PieceIndex,
        /// Offset in the piece.
        offset: u32,
        /// Length.
        len: u32,
    },
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// The pieces of one file.
#[derive(Debug)]
pub struct PieceStore {
    manifest: Manifest,
    data_path: PathBuf,
    data: File,
    /// The `have` file of a download; `None` when seeding a published file.
    have_file: Option<(PathBuf, File)>,
    have: Bitfield,
}

impl PieceStore {
    /// Serves a published file from `path` (read-only): every piece is held.
    ///
    /// # Errors
    /// The file cannot be opened, or its size is not the manifest's.
    pub fn seed(manifest: Manifest, path: &Path) -> Result<PieceStore, StoreError> {
        let data = File::open(path).map_err(io_err("opening", path))?;
        let found = data.metadata().map_err(io_err("reading the size of", path))?.len();
        if found != manifest.size() {
            return Err(StoreError::SizeChanged {
                path: path.to_path_buf(),
                found,
                expected: manifest.size(),
            });
        }
        Ok(PieceStore {
            have: Bitfield::full(manifest.pieces()),
            manifest,
            data_path: path.to_path_buf(),
            data,
            have_file: None,
        })
    }

    /// Starts a download in `folder` (created if needed), writing the data to `dest`, or resumes
    /// the one already there.
    ///
    /// # Errors
    /// I/O failures, or a folder holding another file's download.
    pub fn download(manifest: Manifest, folder: &Path, dest: &Path) -> Result<PieceStore, StoreError> {
        std::fs::create_dir_all(folder).map_err(io_err("creating", folder))?;
        let manifest_path = folder.join("manifest");
        match std::fs::read(&manifest_path) {
            Ok(bytes) if bytes != manifest.encode() => return Err(StoreError::Corrupt(manifest_path)),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let tmp = folder.join("manifest.tmp");
                std::fs::write(&tmp, manifest.encode()).map_err(io_err("writing", &tmp))?;
                std::fs::rename(&tmp, &manifest_path).map_err(io_err("writing", &manifest_path))?;
            }
            Err(e) => return Err(io_err("reading", &manifest_path)(e)),
        }
        let have_path = folder.join("have");
        let have_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&have_path)
            .map_err(io_err("opening", &have_path))?;
        let want = manifest.pieces().div_ceil(8) as u64;
        let len = have_file.metadata().map_err(io_err("reading", &have_path))?.len();
        if len != want {
            if len != 0 {
                return Err(StoreError::Corrupt(have_path));
            }
            have_file.set_len(want).map_err(io_err("sizing", &have_path))?;
        }
        let mut bytes = vec![0u8; want as usize];
        have_file.read_exact_at(&mut bytes, 0).map_err(io_err("reading", &have_path))?;
        let have = Bitfield::from_bytes(&bytes, manifest.pieces()).map_err(|_| StoreError::Corrupt(have_path.clone()))?;
        let data = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dest)
            .map_err(io_err("opening", dest))?;
        data.set_len(manifest.size()).map_err(io_err("sizing", dest))?;
        Ok(PieceStore {
            manifest,
            data_path: dest.to_path_buf(),
            data,
            have_file: Some((have_path, have_file)),
            have,
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The pieces held.
    pub fn have(&self) -> &Bitfield {
        &self.have
    }

    /// Where the data is.
    pub fn data_path(&self) -> &Path {
        &self.data_path
    }

    /// Reads a block of a held piece.
    ///
    /// # Errors
    /// The piece is not held, the range is not a block of it, or the read failed.
    pub fn read_block(&self, piece: PieceIndex, offset: u32, len: u32) -> Result<Vec<u8>, StoreError> {
        let piece_len = self.manifest.piece_len(piece);
        let valid = self.have.get(piece) && len > 0 && len <= BLOCK_SIZE && offset.checked_add(len).is_some_and(|end| end <= piece_len);
        if !valid {
            return Err(StoreError::NotAvailable { piece, offset, len });
        }
        let mut buf = vec![0u8; len as usize];
        self.data
            .read_exact_at(&mut buf, self.manifest.piece_offset(piece) + u64::from(offset))
            .map_err(io_err("reading", &self.data_path))?;
        Ok(buf)
    }

    /// Stores a piece that verified, then marks it held.
    ///
    /// # Errors
    /// The data is not the piece, the store is read-only, or a write failed (then the piece is
    /// not marked).
    pub fn write_piece(&mut self, piece: PieceIndex, data: &[u8]) -> Result<(), StoreError> {
        if !self.manifest.verify(piece, data) || self.have_file.is_none() {
            return Err(StoreError::NotAvailable {
                piece,
                offset: 0,
                len: data.len() as u32,
            });
        }
        self.data
            .write_all_at(data, self.manifest.piece_offset(piece))
            .map_err(io_err("writing", &self.data_path))?;
        self.have.set(piece);
        let byte = (piece.0 / 8) as usize;
        if let Some((path, file)) = &self.have_file {
            file.write_all_at(&self.have.as_bytes()[byte..=byte], byte as u64)
                .map_err(io_err("writing", path))?;
        }
        Ok(())
    }

    /// Checks every piece marked held against its hash and unmarks the ones that fail (after a
    /// power cut, or on request). Returns how many were unmarked.
    ///
    /// # Errors
    /// Read or write failures.
    pub fn recheck(&mut self) -> Result<u32, StoreError> {
        let mut buf = vec![0u8; self.manifest.piece_size() as usize];
        let mut dropped = 0;
        let held: Vec<PieceIndex> = self.have.iter_ones().collect();
        for piece in held {
            let len = self.manifest.piece_len(piece) as usize;
            let ok = self.data.read_exact_at(&mut buf[..len], self.manifest.piece_offset(piece)).is_ok()
                && self.manifest.verify(piece, &buf[..len]);
            if !ok {
                self.have.clear(piece);
                dropped += 1;
                let byte = (piece.0 / 8) as usize;
                if let Some((path, file)) = &self.have_file {
                    file.write_all_at(&self.have.as_bytes()[byte..=byte], byte as u64)
                        .map_err(io_err("writing", path))?;
                }
            }
        }
        Ok(dropped)
    }

    /// Makes everything written so far durable (at the end of a download, or when stopping).
    ///
    /// # Errors
    /// The sync failed.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.data.sync_data().map_err(io_err("syncing", &self.data_path))?;
        if let Some((path, file)) = &self.have_file {
            file.sync_data().map_err(io_err("syncing", path))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8 ^ (i / 65536) as u8).collect()
    }

    fn manifest_of(bytes: &[u8]) -> Manifest {
        Manifest::from_reader("f.bin", bytes.len() as u64, 16384, bytes).unwrap()
    }

    #[test]
    fn a_seed_serves_blocks_of_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = file(50_000);
        let path = dir.path().join("f.bin");
        std::fs::write(&path, &bytes).unwrap();
        let s = PieceStore::seed(manifest_of(&bytes), &path).unwrap();
        assert!(s.have().is_complete());
        assert_eq!(s.read_block(PieceIndex(1), 0, 16384).unwrap(), bytes[16384..32768]);
        assert_eq!(s.read_block(PieceIndex(3), 0, 50_000 - 3 * 16384).unwrap(), bytes[3 * 16384..]);
        assert!(s.read_block(PieceIndex(3), 0, 16384).is_err(), "past the end");
        assert!(s.read_block(PieceIndex(9), 0, 10).is_err());
        // The file changed size since: refused.
        std::fs::write(&path, &bytes[..100]).unwrap();
        assert!(matches!(
            PieceStore::seed(manifest_of(&bytes), &path),
            Err(StoreError::SizeChanged { .. })
        ));
    }

    #[test]
    fn a_download_resumes_from_its_verified_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = file(100_000);
        let m = manifest_of(&bytes);
        let folder = dir.path().join("dl");
        let dest = dir.path().join("out.bin");
        {
            let mut s = PieceStore::download(m.clone(), &folder, &dest).unwrap();
            assert_eq!(s.have().count(), 0);
            s.write_piece(PieceIndex(2), &bytes[32768..49152]).unwrap();
            s.write_piece(PieceIndex(6), &bytes[6 * 16384..]).unwrap();
            assert!(s.write_piece(PieceIndex(0), &bytes[16384..32768]).is_err(), "wrong data is refused");
            assert!(s.read_block(PieceIndex(0), 0, 10).is_err(), "not held yet");
        }
        let mut s = PieceStore::download(m.clone(), &folder, &dest).unwrap();
        assert_eq!(s.have().iter_ones().collect::<Vec<_>>(), vec![PieceIndex(2), PieceIndex(6)]);
        assert_eq!(s.read_block(PieceIndex(2), 100, 50).unwrap(), bytes[32768 + 100..32768 + 150]);
        assert_eq!(s.recheck().unwrap(), 0);
        // Damage piece 6 on disk: a recheck unmarks it, for good.
        let f = OpenOptions::new().write(true).open(&dest).unwrap();
        f.write_all_at(b"xx", 6 * 16384).unwrap();
        assert_eq!(s.recheck().unwrap(), 1);
        drop(s);
        let s = PieceStore::download(m, &folder, &dest).unwrap();
        assert_eq!(s.have().count(), 1);
        // Another file's manifest in the same folder is refused.
        let other = manifest_of(&file(10));
        assert!(matches!(PieceStore::download(other, &folder, &dest), Err(StoreError::Corrupt(_))));
    }
}
