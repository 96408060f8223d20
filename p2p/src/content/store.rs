//! Pieces on disk: a published file served from where it is, or a download being written.
//!
//! A download lives in `<folder>/`: `manifest` (the canonical bytes), `have` (the bitfield, one
//! bit per verified piece) and the data: one file, or for a folder manifest a folder holding its
//! files at their relative paths (only the selected ones are created; the others are never
//! written). Every file of a folder starts on a piece boundary, so a piece lives in one file.
//!
//! A piece is written only after it verified, with one positioned write, and its bit is set in
//! `have` afterwards with a one-byte positioned write: a process killed at any moment never
//! marks a piece whose data is not in the file, and a restart resumes from `have`. A **power
//! cut** is different: the page cache may have written `have`'s page to disk and not the piece's.
//! The writes are not fsynced one by one (that would cost a disk flush per piece); instead the
//! folder holds a `clean` marker while, and only while, everything marked in `have` is known to
//! be on disk: [`PieceStore::sync`] makes data and `have` durable, then writes the marker; the
//! first write after it removes the marker (durably) before it writes. A download opened
//! without the marker — after a crash or a power cut — rechecks every piece `have` marks against
//! its hash ([`PieceStore::recheck`]) before it trusts them.
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

/// The pieces of one file or folder.
#[derive(Debug)]
pub struct PieceStore {
    manifest: Manifest,
    /// The file, or the folder holding a folder's files.
    data_path: PathBuf,
    /// Each file of the manifest: its path and, if it is served or downloaded, the open file.
    files: Vec<(PathBuf, Option<File>)>,
    /// The `have` file of a download; `None` when seeding a published file.
    have_file: Option<(PathBuf, File)>,
    /// A download's `clean` marker is on disk (see the module documentation).
    clean: bool,
    have: Bitfield,
}

impl PieceStore {
    /// Serves a published file from `path` (read-only), or a published folder's files from the
    /// folder `path`: every piece is held.
    ///
    /// # Errors
    /// A file cannot be opened, or its size is not the manifest's.
    pub fn seed(manifest: Manifest, path: &Path) -> Result<PieceStore, StoreError> {
        let mut files = Vec::with_capacity(manifest.files().len());
        for (file_path, entry) in manifest.paths_under(path).into_iter().zip(manifest.files()) {
            let data = File::open(&file_path).map_err(io_err("opening", &file_path))?;
            let found = data.metadata().map_err(io_err("reading the size of", &file_path))?.len();
            if found != entry.size() {
                return Err(StoreError::SizeChanged {
                    path: file_path,
                    found,
                    expected: entry.size(),
                });
            }
            files.push((file_path, Some(data)));
        }
        Ok(PieceStore {
            have: Bitfield::full(manifest.pieces()),
            manifest,
            data_path: path.to_path_buf(),
            files,
            have_file: None,
            clean: false,
        })
    }

    /// Starts a download in `folder` (created if needed), writing the data to `dest` (a file, or
    /// for a folder manifest the folder its files go into), or resumes the one already there.
    /// `selected` (one flag per file of a folder; `None`: all) says which files are created.
    ///
    /// # Errors
    /// I/O failures, or a folder holding another file's download.
    pub fn download(manifest: Manifest, folder: &Path, dest: &Path, selected: Option<&[bool]>) -> Result<PieceStore, StoreError> {
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
        let mut have = Bitfield::from_bytes(&bytes, manifest.pieces()).map_err(|_| StoreError::Corrupt(have_path.clone()))?;
        if manifest.is_folder() {
            // The folder itself, not its parents: a destination whose folder is gone is an error.
            match std::fs::create_dir(dest) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(io_err("creating", dest)(e)),
                _ => {}
            }
        }
        let mut files = Vec::with_capacity(manifest.files().len());
        for (i, (path, entry)) in manifest.paths_under(dest).into_iter().zip(manifest.files()).enumerate() {
            if !selected.is_none_or(|s| s.get(i).copied().unwrap_or(true)) {
                // Not selected: never created, and nothing of it counts as held.
                for p in entry.pieces() {
                    have.clear(PieceIndex(p));
                }
                files.push((path, None));
                continue;
            }
            if let Some(parent) = path.parent().filter(|_| manifest.is_folder()) {
                std::fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
            }
            let data = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io_err("opening", &path))?;
            data.set_len(entry.size()).map_err(io_err("sizing", &path))?;
            files.push((path, Some(data)));
        }
        let clean = folder.join(CLEAN).exists();
        let mut store = PieceStore {
            manifest,
            data_path: dest.to_path_buf(),
            files,
            have_file: Some((have_path, have_file)),
            have,
            clean,
        };
        if !clean && store.have.count() > 0 {
            // Not stopped cleanly: what `have` marks may not all be on disk.
            let dropped = store.recheck()?;
            if dropped > 0 {
                tracing::warn!(folder = %folder.display(), dropped, "pieces lost in an unclean stop: fetched again");
            }
        }
        Ok(store)
    }

    /// Removes the `clean` marker, durably, before anything is written after it.
    fn dirty(&mut self) -> Result<(), StoreError> {
        if !self.clean {
            return Ok(());
        }
        if let Some((have_path, _)) = &self.have_file {
            let folder = have_path.parent().unwrap_or(Path::new("."));
            let marker = folder.join(CLEAN);
            match std::fs::remove_file(&marker) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err("removing", &marker)(e)),
                _ => {}
            }
            sync_dir(folder)?;
        }
        self.clean = false;
        Ok(())
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The pieces held.
    pub fn have(&self) -> &Bitfield {
        &self.have
    }

    /// Where the data is: the file, or the folder of a folder's files.
    pub fn data_path(&self) -> &Path {
        &self.data_path
    }

    /// The open file holding piece `i`, its path, and the piece's offset in it.
    fn file_of(&self, piece: PieceIndex) -> Option<(&File, &Path, u64)> {
        let (f, at) = self.manifest.locate(piece)?;
        let (path, file) = &self.files[f];
        Some((file.as_ref()?, path, at))
    }

    /// Reads a block of a held piece (the tests' way; the node reads into a frame with
    /// [`PieceStore::read_block_into`]).
    ///
    /// # Errors
    /// As [`PieceStore::read_block_into`].
    #[cfg(test)]
    pub fn read_block(&self, piece: PieceIndex, offset: u32, len: u32) -> Result<Vec<u8>, StoreError> {
        let mut buf = vec![0u8; len as usize];
        self.read_block_into(piece, offset, &mut buf)?;
        Ok(buf)
    }

    /// Reads a block of a held piece into `out` (as long as the block).
    ///
    /// # Errors
    /// The piece is not held, the range is not a block of it, or the read failed.
    pub fn read_block_into(&self, piece: PieceIndex, offset: u32, out: &mut [u8]) -> Result<(), StoreError> {
        let len = u32::try_from(out.len()).unwrap_or(u32::MAX);
        let piece_len = self.manifest.piece_len(piece);
        let valid = self.have.get(piece) && len > 0 && len <= BLOCK_SIZE && offset.checked_add(len).is_some_and(|end| end <= piece_len);
        let Some((file, path, at)) = self.file_of(piece).filter(|_| valid) else {
            return Err(StoreError::NotAvailable { piece, offset, len });
        };
        file.read_exact_at(out, at + u64::from(offset)).map_err(io_err("reading", path))
    }

    /// Stores a piece whose hash the caller checked against the manifest ([`Manifest::verify`],
    /// which a download does before it asks for the write, off the event loop), then marks it
    /// held. It is not hashed again here: that would double the CPU a download spends hashing.
    ///
    /// # Errors
    /// The data is not the piece's length, the store is read-only, the piece's file is not
    /// selected, or a write failed (then the piece is not marked).
    pub fn write_piece(&mut self, piece: PieceIndex, data: &[u8]) -> Result<(), StoreError> {
        let not_available = StoreError::NotAvailable {
            piece,
            offset: 0,
            len: data.len() as u32,
        };
        if data.len() != self.manifest.piece_len(piece) as usize || data.is_empty() || self.have_file.is_none() {
            return Err(not_available);
        }
        debug_assert!(self.manifest.verify(piece, data), "write_piece is given verified pieces only");
        if self.file_of(piece).is_none() {
            return Err(not_available);
        }
        self.dirty()?;
        let Some((file, path, at)) = self.file_of(piece) else {
            return Err(not_available);
        };
        file.write_all_at(data, at).map_err(io_err("writing", path))?;
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
            let ok = self
                .file_of(piece)
                .is_some_and(|(file, _, at)| file.read_exact_at(&mut buf[..len], at).is_ok())
                && self.manifest.verify(piece, &buf[..len]);
            if !ok {
                self.dirty()?;
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
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if self.have_file.is_none() {
            return Ok(());
        }
        for (path, file) in &self.files {
            if let Some(file) = file {
                file.sync_data().map_err(io_err("syncing", path))?;
            }
        }
        if let Some((path, file)) = &self.have_file {
            file.sync_data().map_err(io_err("syncing", path))?;
            if !self.clean {
                let folder = path.parent().unwrap_or(Path::new("."));
                let marker = folder.join(CLEAN);
                File::create(&marker)
                    .and_then(|f| f.sync_all())
                    .map_err(io_err("writing", &marker))?;
                sync_dir(folder)?;
                self.clean = true;
            }
        }
        Ok(())
    }
}

/// The marker of a download whose `have` is all on disk.
const CLEAN: &str = "clean";

/// Makes a folder's entries (a file created or removed in it) durable.
fn sync_dir(folder: &Path) -> Result<(), StoreError> {
    File::open(folder).and_then(|d| d.sync_all()).map_err(io_err("syncing", folder))
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
            let mut s = PieceStore::download(m.clone(), &folder, &dest, None).unwrap();
            assert_eq!(s.have().count(), 0);
            s.write_piece(PieceIndex(2), &bytes[32768..49152]).unwrap();
            s.write_piece(PieceIndex(6), &bytes[6 * 16384..]).unwrap();
            assert!(
                s.write_piece(PieceIndex(0), &bytes[16384..32000]).is_err(),
                "a wrong length is refused"
            );
            assert!(s.read_block(PieceIndex(0), 0, 10).is_err(), "not held yet");
        }
        let mut s = PieceStore::download(m.clone(), &folder, &dest, None).unwrap();
        assert_eq!(s.have().iter_ones().collect::<Vec<_>>(), vec![PieceIndex(2), PieceIndex(6)]);
        assert_eq!(s.read_block(PieceIndex(2), 100, 50).unwrap(), bytes[32768 + 100..32768 + 150]);
        assert_eq!(s.recheck().unwrap(), 0);
        // Damage piece 6 on disk: a recheck unmarks it, for good.
        let f = OpenOptions::new().write(true).open(&dest).unwrap();
        f.write_all_at(b"xx", 6 * 16384).unwrap();
        assert_eq!(s.recheck().unwrap(), 1);
        drop(s);
        let s = PieceStore::download(m, &folder, &dest, None).unwrap();
        assert_eq!(s.have().count(), 1);
        // Another file's manifest in the same folder is refused.
        let other = manifest_of(&file(10));
        assert!(matches!(
            PieceStore::download(other, &folder, &dest, None),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn a_folder_is_served_and_one_file_of_it_downloaded_alone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("album");
        std::fs::create_dir_all(root.join("disc")).unwrap();
        let contents = [("a.txt", file(100)), ("disc/b.bin", file(40_000)), ("z.bin", file(20_000))];
        for (p, d) in &contents {
            std::fs::write(root.join(p), d).unwrap();
        }
        let list = contents.iter().map(|(p, d)| (p.to_string(), d.len() as u64)).collect();
        let m = Manifest::from_folder("album", 16384, list, |p| File::open(root.join(p))).unwrap();
        let seed = PieceStore::seed(m.clone(), &root).unwrap();
        // disc/b.bin is pieces 1..4; its last piece is short.
        assert_eq!(
            seed.read_block(PieceIndex(3), 0, 40_000 - 2 * 16384).unwrap(),
            contents[1].1[2 * 16384..]
        );
        assert_eq!(seed.read_block(PieceIndex(4), 0, 16384).unwrap(), contents[2].1[..16384]);

        let folder = dir.path().join("dl");
        let dest = dir.path().join("out");
        let only_b = [false, true, false];
        let mut s = PieceStore::download(m.clone(), &folder, &dest, Some(&only_b)).unwrap();
        for p in 1..4 {
            let (at, len) = ((p - 1) * 16384, m.piece_len(PieceIndex(p)) as usize);
            s.write_piece(PieceIndex(p), &contents[1].1[at as usize..at as usize + len])
                .unwrap();
        }
        assert!(s.write_piece(PieceIndex(0), &contents[0].1).is_err(), "a.txt is not selected");
        s.sync().unwrap();
        assert_eq!(std::fs::read(dest.join("disc/b.bin")).unwrap(), contents[1].1);
        assert!(
            !dest.join("a.txt").exists() && !dest.join("z.bin").exists(),
            "unselected files are not created"
        );
        assert_eq!(s.recheck().unwrap(), 0);
        drop(s);
        // Resumed with everything selected: b.bin's pieces are still held, the rest is created.
        let s = PieceStore::download(m, &folder, &dest, None).unwrap();
        assert_eq!(s.have().count(), 3);
        assert_eq!(std::fs::metadata(dest.join("z.bin")).unwrap().len(), 20_000);
    }

    #[test]
    fn a_download_not_stopped_cleanly_rechecks_what_it_marked() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = file(5 * 16384);
        let m = manifest_of(&bytes);
        let (folder, dest) = (dir.path().join("dl"), dir.path().join("out.bin"));
        let piece = |i: usize| &bytes[i * 16384..(i + 1) * 16384];
        {
            let mut s = PieceStore::download(m.clone(), &folder, &dest, None).unwrap();
            for i in 0..3 {
                s.write_piece(PieceIndex(i as u32), piece(i)).unwrap();
            }
            s.sync().unwrap();
            assert!(folder.join(CLEAN).exists(), "clean once synced");
            s.write_piece(PieceIndex(3), piece(3)).unwrap();
            assert!(!folder.join(CLEAN).exists(), "a write after the sync removes the marker first");
        }
        // The power cut: piece 3's bit reached the disk, its data did not.
        OpenOptions::new()
            .write(true)
            .open(&dest)
            .unwrap()
            .write_all_at(&[0u8; 16384], 3 * 16384)
            .unwrap();
        let mut s = PieceStore::download(m.clone(), &folder, &dest, None).unwrap();
        assert_eq!(
            s.have().iter_ones().collect::<Vec<_>>(),
            [PieceIndex(0), PieceIndex(1), PieceIndex(2)],
            "the lost piece is not trusted"
        );
        // Stopped cleanly this time: reopened as it was, marker kept until the next write.
        s.sync().unwrap();
        drop(s);
        let s = PieceStore::download(m, &folder, &dest, None).unwrap();
        assert_eq!(s.have().count(), 3);
        assert!(folder.join(CLEAN).exists());
    }
}
