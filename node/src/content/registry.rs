//! What this node shares, on disk, so that published files keep being served and fetches resume
//! after a restart.
//!
//! One folder per file, `<datadir>/<network>/content/<cid>/`, holding `share.json` (where the
//! data is, and whether the file was published here or fetched), `manifest` (its canonical bytes,
//! once known) and, for a fetch, `have` (one bit per verified piece, written by
//! [`PieceStore`]). Every function here is blocking I/O: the service calls them off the async
//! runtime.

use std::fs::File;
use std::io::{self, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use cairn_p2p::content::{ContentId, Manifest, PieceStore};
use serde::{Deserialize, Serialize};

use super::ContentError;

/// How a file came to be shared.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Published here: served from the user's file, never written.
    Publish,
    /// Fetched from peers.
    Fetch,
}

impl Origin {
    /// As shown by the RPC.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Publish => "publish",
            Origin::Fetch => "fetch",
        }
    }
}

/// `share.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Published or fetched.
    pub origin: Origin,
    /// The data file (a fetch without a chosen destination: decided when the name is known).
    pub path: Option<PathBuf>,
    /// A fetch: the folder the file goes into when `path` is not chosen yet.
    pub dest_dir: Option<PathBuf>,
    /// A published file: its size and modification time when it was hashed.
    pub size: Option<u64>,
    /// See `size` (seconds and nanoseconds since the epoch).
    pub mtime: Option<(i64, i64)>,
    /// A published file: the keywords given to `publishfile` (none: the words of its name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keywords: Option<Vec<String>>,
    /// Paused by the user (`pausefile`): kept paused across restarts until `resumefile`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    /// A folder fetch: the files (or sub-folders) chosen; `None`: all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
}

/// The folder of `cid`.
pub fn folder(dir: &Path, cid: &ContentId) -> PathBuf {
    dir.join(cid.to_string())
}

/// Writes `bytes` to `path` atomically (a crash leaves the old file or the new one).
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn io_error(what: &str, path: &Path) -> impl FnOnce(io::Error) -> ContentError {
    let text = format!("{what} {}", path.display());
    move |e| ContentError::Io(format!("{text}: {e}"))
}

/// Saves a share record.
///
/// # Errors
/// The folder or file cannot be written.
pub fn write_record(folder: &Path, record: &Record) -> Result<(), ContentError> {
    std::fs::create_dir_all(folder).map_err(io_error("creating", folder))?;
    let path = folder.join("share.json");
    let bytes = serde_json::to_vec_pretty(record).map_err(|e| ContentError::Io(e.to_string()))?;
    write_atomic(&path, &bytes).map_err(io_error("writing", &path))
}

fn write_manifest(folder: &Path, manifest: &Manifest) -> Result<(), ContentError> {
    let path = folder.join("manifest");
    write_atomic(&path, &manifest.encode()).map_err(io_error("writing", &path))
}

fn mtime(meta: &std::fs::Metadata) -> (i64, i64) {
    (meta.mtime(), meta.mtime_nsec())
}

/// A file published: its manifest and the store serving it.
#[derive(Debug)]
pub struct Published {
    /// The manifest.
    pub manifest: Manifest,
    /// Serves the file from where it is.
    pub store: PieceStore,
    /// Where it is.
    pub path: PathBuf,
    /// The keywords given, if any.
    pub keywords: Option<Vec<String>>,
}

/// Total size and latest modification time of the files at `paths`: what a publish remembers to
/// notice, at the next start, that the data changed since it was hashed.
fn fingerprint(paths: impl IntoIterator<Item = PathBuf>) -> io::Result<(u64, (i64, i64))> {
    let (mut size, mut latest) = (0u64, (i64::MIN, 0));
    for p in paths {
        let meta = std::fs::metadata(p)?;
        size = size.saturating_add(meta.len());
        latest = latest.max(mtime(&meta));
    }
    Ok((size, latest))
}

/// The regular files under `root`, as paths relative to it (`/` between components) and sizes.
/// Symbolic links and special files are skipped (a link could lead out of the folder, and a
/// device has no size).
fn walk(root: &Path) -> Result<Vec<(String, u64)>, ContentError> {
    let mut files = Vec::new();
    let mut folders = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = folders.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| ContentError::InvalidParameter(format!("cannot read {}: {e}", dir.display())))?;
        for entry in entries {
            let entry = entry.map_err(|e| ContentError::InvalidParameter(format!("cannot read {}: {e}", dir.display())))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(ContentError::InvalidParameter(format!(
                    "{}: the name is not UTF-8 (rename it to share the folder)",
                    entry.path().display()
                )));
            };
            let rel = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}/{name}")
            };
            let meta = entry
                .metadata()
                .map_err(|e| ContentError::InvalidParameter(format!("cannot read {}: {e}", entry.path().display())))?;
            if meta.is_dir() {
                folders.push((entry.path(), rel));
            } else if meta.is_file() {
                if files.len() == cairn_p2p::content::manifest::MAX_FILES {
                    return Err(ContentError::InvalidParameter(format!(
                        "{} holds more than {} files",
                        root.display(),
                        cairn_p2p::content::manifest::MAX_FILES
                    )));
                }
                files.push((rel, meta.len()));
            }
        }
    }
    if files.is_empty() {
        return Err(ContentError::InvalidParameter(format!("{} holds no file to share", root.display())));
    }
    Ok(files)
}

/// Hashes the file or folder at `path` into a manifest of `piece_size` pieces and records it in
/// `dir`. A folder's regular files are all shared, at their paths inside it (see [`walk`]).
///
/// # Errors
/// A relative path, a missing, unreadable or special file, a bad name, an empty folder, a file
/// that changed while it was hashed, or the record cannot be written.
pub fn publish(
    dir: &Path,
    path: &Path,
    name: Option<String>,
    keywords: Option<Vec<String>>,
    piece_size: u32,
) -> Result<Published, ContentError> {
    if !path.is_absolute() {
        return Err(ContentError::InvalidParameter(format!(
            "{}: publishfile needs an absolute path (the node's working directory is not the caller's)",
            path.display()
        )));
    }
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(ContentError::InvalidParameter(format!("file not found: {}", path.display())));
        }
        Err(e) => return Err(ContentError::InvalidParameter(format!("cannot read {}: {e}", path.display()))),
    };
    if !meta.is_file() && !meta.is_dir() {
        return Err(ContentError::InvalidParameter(format!(
            "{} is not a regular file or a folder",
            path.display()
        )));
    }
    let name = match name {
        Some(n) => n,
        None => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| ContentError::InvalidParameter(format!("{} has no file name", path.display())))?,
    };
    cairn_p2p::content::manifest::check_name(&name).map_err(|e| ContentError::InvalidParameter(e.to_string()))?;
    let bad = |e: cairn_p2p::content::ManifestError| ContentError::InvalidParameter(format!("{}: {e}", path.display()));
    let changed = || ContentError::InvalidParameter(format!("{} changed while it was being hashed", path.display()));
    let (manifest, before) = if meta.is_dir() {
        let files = walk(path)?;
        let before = fingerprint(files.iter().map(|(rel, _)| path.join(rel))).map_err(|_| changed())?;
        let manifest = Manifest::from_folder(&name, piece_size, files, |rel| {
            File::open(path.join(rel)).map(|f| BufReader::with_capacity(1 << 20, f))
        })
        .map_err(bad)?;
        (manifest, before)
    } else {
        let file = File::open(path).map_err(|e| ContentError::InvalidParameter(format!("cannot read {}: {e}", path.display())))?;
        let manifest = Manifest::from_reader(&name, meta.len(), piece_size, BufReader::with_capacity(1 << 20, file)).map_err(bad)?;
        (manifest, (meta.len(), mtime(&meta)))
    };
    let (size, latest) = fingerprint(manifest.paths_under(path)).map_err(|_| changed())?;
    if (size, latest) != before || size != manifest.size() {
        return Err(changed());
    }
    let store = PieceStore::seed(manifest.clone(), path).map_err(|e| ContentError::Io(e.to_string()))?;
    let folder = folder(dir, &manifest.content_id());
    if let Ok(bytes) = std::fs::read(folder.join("share.json"))
        && serde_json::from_slice::<Record>(&bytes).is_ok_and(|r| r.origin == Origin::Fetch)
    {
        return Err(ContentError::InvalidParameter(format!(
            "{} is being fetched: removefile it first to publish it from {}",
            manifest.content_id(),
            path.display()
        )));
    }
    std::fs::create_dir_all(&folder).map_err(io_error("creating", &folder))?;
    write_manifest(&folder, &manifest)?;
    write_record(
        &folder,
        &Record {
            origin: Origin::Publish,
            path: Some(path.to_path_buf()),
            dest_dir: None,
            size: Some(size),
            mtime: Some(latest),
            keywords: keywords.clone(),
            paused: false,
            files: None,
        },
    )?;
    Ok(Published {
        manifest,
        store,
        path: path.to_path_buf(),
        keywords,
    })
}

/// Which files of `manifest` a fetch recorded as `record` downloads: one flag per file, or
/// `None` for all. A chosen name selects that file, or every file under it when it names a
/// sub-folder.
///
/// # Errors
/// Files chosen from a single file, or a name that matches nothing in the folder.
pub fn selection(record: &Record, manifest: &Manifest) -> Result<Option<Vec<bool>>, ContentError> {
    let Some(chosen) = &record.files else { return Ok(None) };
    if !manifest.is_folder() {
        return Err(ContentError::InvalidParameter(format!(
            "files were chosen, but {} is a single file, not a folder",
            manifest.name()
        )));
    }
    let mut selected = vec![false; manifest.files().len()];
    for want in chosen {
        let want = want.trim_end_matches('/');
        let mut found = false;
        for (i, f) in manifest.files().iter().enumerate() {
            let p = f.path();
            if p == want || p.strip_prefix(want).is_some_and(|rest| rest.starts_with('/')) {
                selected[i] = true;
                found = true;
            }
        }
        if !found {
            let some: Vec<&str> = manifest.files().iter().take(10).map(|f| f.path()).collect();
            let more = manifest.files().len().saturating_sub(some.len());
            return Err(ContentError::InvalidParameter(format!(
                "{want:?} is not in the folder {}; it holds {}{}",
                manifest.name(),
                some.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            )));
        }
    }
    Ok(Some(selected))
}

/// Checks a fetch's destination and records the fetch: `dest` is a new file (reserved now, so a
/// failing write shows at once) or an existing folder; `None` is `downloads`. Relative paths are
/// taken from `downloads`.
///
/// # Errors
/// The destination exists as a file, its folder is missing or not writable, or the record cannot
/// be written.
pub fn prepare_fetch(
    dir: &Path,
    downloads: &Path,
    cid: &ContentId,
    dest: Option<PathBuf>,
    files: Option<Vec<String>>,
) -> Result<Record, ContentError> {
    if let Some(files) = &files {
        if files.is_empty() {
            return Err(ContentError::InvalidParameter("files: name at least one file of the folder".into()));
        }
        if let Some(bad) = files
            .iter()
            .find(|f| cairn_p2p::content::manifest::check_path(f.trim_end_matches('/')).is_err())
        {
            return Err(ContentError::InvalidParameter(format!(
                "files: {bad:?} is not a path inside a folder (names joined by '/')"
            )));
        }
    }
    let mut record = match dest {
        None => {
            std::fs::create_dir_all(downloads).map_err(io_error("creating", downloads))?;
            check_writable_dir(downloads)?;
            Record {
                origin: Origin::Fetch,
                path: None,
                dest_dir: Some(downloads.to_path_buf()),
                size: None,
                mtime: None,
                keywords: None,
                paused: false,
                files: None,
            }
        }
        Some(dest) => {
            let dest = if dest.is_absolute() { dest } else { downloads.join(dest) };
            if dest.is_dir() {
                check_writable_dir(&dest)?;
                Record {
                    origin: Origin::Fetch,
                    path: None,
                    dest_dir: Some(dest),
                    size: None,
                    mtime: None,
                    keywords: None,
                    paused: false,
                    files: None,
                }
            } else {
                let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("/"));
                if !parent.is_dir() {
                    return Err(ContentError::InvalidParameter(format!(
                        "cannot write {}: folder {} does not exist",
                        dest.display(),
                        parent.display()
                    )));
                }
                match std::fs::OpenOptions::new().write(true).create_new(true).open(&dest) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        return Err(ContentError::InvalidParameter(format!(
                            "{} already exists (refusing to overwrite it)",
                            dest.display()
                        )));
                    }
                    Err(e) => return Err(ContentError::InvalidParameter(format!("cannot write {}: {e}", dest.display()))),
                }
                Record {
                    origin: Origin::Fetch,
                    path: Some(dest),
                    dest_dir: None,
                    size: None,
                    mtime: None,
                    keywords: None,
                    paused: false,
                    files: None,
                }
            }
        }
    };
    record.files = files;
    write_record(&folder(dir, cid), &record)?;
    Ok(record)
}

fn check_writable_dir(dir: &Path) -> Result<(), ContentError> {
    let probe = dir.join(format!(".cairn-probe-{}", std::process::id()));
    match std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(ContentError::InvalidParameter(format!("cannot write into {}: {e}", dir.display()))),
    }
}

/// Opens (or resumes) the store of a fetch whose manifest is known, choosing the data file (or a
/// folder's folder) if the record has none yet (`<dest_dir>/<name>`, or
/// `<dest_dir>/<cid prefix>-<name>` if taken). Only the chosen files of a folder are created.
///
/// # Errors
/// Every candidate name is taken, a chosen file is not in the folder, or a file cannot be created
/// or written.
pub fn open_fetch(dir: &Path, cid: &ContentId, record: &mut Record, manifest: &Manifest) -> Result<PieceStore, ContentError> {
    let folder = folder(dir, cid);
    if record.path.is_none() {
        let base = record.dest_dir.clone().unwrap_or_else(|| folder.clone());
        let hex = cid.to_string();
        let candidates = [base.join(manifest.name()), base.join(format!("{}-{}", &hex[..8], manifest.name()))];
        let free = candidates.into_iter().find(|p| !p.exists()).ok_or_else(|| {
            ContentError::InvalidParameter(format!(
                "{} already exists in {} (refusing to overwrite it)",
                manifest.name(),
                base.display()
            ))
        })?;
        record.path = Some(free);
        // The record names the file before the file exists: a crash in between leaves no orphan.
        write_record(&folder, record)?;
    }
    let path = record.path.clone().expect("chosen above");
    if manifest.is_folder() && std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() == 0) {
        // `dest` named a new path, reserved as an empty file: a folder's files go into a folder
        // of that name.
        std::fs::remove_file(&path).map_err(io_error("replacing", &path))?;
        std::fs::create_dir(&path).map_err(io_error("creating", &path))?;
    }
    let selected = selection(record, manifest)?;
    PieceStore::download(manifest.clone(), &folder, &path, selected.as_deref()).map_err(|e| ContentError::Io(e.to_string()))
}

/// A share found on disk at startup.
pub struct Stored {
    /// Its id.
    pub cid: ContentId,
    /// Its record.
    pub record: Record,
    /// Its manifest, if known.
    pub manifest: Option<Manifest>,
    /// The store, opened (a fetch without a manifest has none), or why it cannot be.
    pub store: Result<Option<PieceStore>, String>,
}

/// Reads every share in `dir` (a damaged one is reported, not fatal).
pub fn load(dir: &Path) -> Vec<Stored> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(cid) = entry.file_name().to_str().and_then(|n| n.parse::<ContentId>().ok()) else {
            continue;
        };
        let folder = entry.path();
        let record: Record = match std::fs::read(folder.join("share.json")).map(|b| serde_json::from_slice(&b)) {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                tracing::warn!(%cid, error = %e, "damaged share record: skipped");
                continue;
            }
            // A folder without a record: a fetch removed half-way, or never recorded.
            Err(_) => continue,
        };
        let manifest = match std::fs::read(folder.join("manifest")) {
            Ok(bytes) => match Manifest::decode(&bytes) {
                Ok(m) if m.content_id() == cid => Some(m),
                _ => {
                    out.push(Stored {
                        cid,
                        record,
                        manifest: None,
                        store: Err(format!("damaged manifest in {}", folder.display())),
                    });
                    continue;
                }
            },
            Err(_) => None,
        };
        let store = open_stored(dir, &cid, &record, manifest.as_ref());
        out.push(Stored {
            cid,
            record,
            manifest,
            store,
        });
    }
    out
}

fn open_stored(dir: &Path, cid: &ContentId, record: &Record, manifest: Option<&Manifest>) -> Result<Option<PieceStore>, String> {
    let Some(manifest) = manifest else {
        return match record.origin {
            Origin::Publish => Err("the manifest is missing".to_string()),
            Origin::Fetch => Ok(None),
        };
    };
    match record.origin {
        Origin::Publish => {
            let path = record.path.as_deref().ok_or("the record names no file")?;
            let mut store = PieceStore::seed(manifest.clone(), path).map_err(|e| e.to_string())?;
            let (size, latest) = fingerprint(manifest.paths_under(path)).map_err(|e| format!("{}: {e}", path.display()))?;
            if record.size != Some(size) || record.mtime != Some(latest) {
                // Touched since it was published: serve it only if every piece still matches.
                let bad = store.recheck().map_err(|e| e.to_string())?;
                if bad > 0 {
                    return Err(format!(
                        "{} changed since it was published ({bad} pieces differ): publish it again",
                        path.display()
                    ));
                }
            }
            Ok(Some(store))
        }
        Origin::Fetch => {
            let mut record = record.clone();
            open_fetch(dir, cid, &mut record, manifest).map(Some).map_err(|e| e.to_string())
        }
    }
}

/// Forgets a share (its data file stays where it is).
pub fn remove(dir: &Path, cid: &ContentId) {
    let folder = folder(dir, cid);
    if let Err(e) = std::fs::remove_dir_all(&folder)
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(folder = %folder.display(), error = %e, "cannot remove a share's folder");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_and_fetched_files_come_back_after_a_restart() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("content");
        let downloads = tmp.path().join("downloads");
        let file = tmp.path().join("song.ogg");
        std::fs::write(&file, vec![7u8; 100_000]).unwrap();
        let published = publish(&dir, &file, None, Some(vec!["kw".into()]), 16384).unwrap();
        assert_eq!(published.manifest.name(), "song.ogg");
        let cid = published.manifest.content_id();

        let other = ContentId::from_bytes([3; 32]);
        let mut record = prepare_fetch(&dir, &downloads, &other, None, None).unwrap();
        assert_eq!(record.dest_dir.as_deref(), Some(downloads.as_path()));
        let fetched_manifest = Manifest::from_reader("song.ogg", 5, 16384, &b"hello"[..]).unwrap();
        // The fetch's id must be its manifest's for the folder to load: use the real one.
        let real = fetched_manifest.content_id();
        let mut record2 = prepare_fetch(&dir, &downloads, &real, None, None).unwrap();
        let store = open_fetch(&dir, &real, &mut record2, &fetched_manifest).unwrap();
        assert_eq!(store.data_path(), downloads.join("song.ogg"));
        drop(store);
        // The name is taken now: a second fetch into the same folder gets a prefixed name.
        let store = open_fetch(&dir, &other, &mut record, &fetched_manifest).unwrap();
        assert!(store.data_path().file_name().unwrap().to_string_lossy().ends_with("-song.ogg"));
        drop(store);
        remove(&dir, &other);
        prepare_fetch(&dir, &downloads, &other, None, None).unwrap();

        let loaded = load(&dir);
        let find = |c: &ContentId| loaded.iter().find(|s| s.cid == *c).unwrap();
        assert!(matches!(find(&cid).store, Ok(Some(_))));
        assert_eq!(find(&cid).record.origin, Origin::Publish);
        assert_eq!(
            find(&cid).record.keywords,
            Some(vec!["kw".to_string()]),
            "keywords survive a restart"
        );
        assert_eq!(find(&real).record.keywords, None);
        assert!(matches!(find(&real).store, Ok(Some(_))));
        // `other` has no manifest file: it searches again.
        assert!(matches!(find(&other).store, Ok(None)));

        // A published file that changed is refused, with the reason.
        std::fs::write(&file, vec![8u8; 100_000]).unwrap();
        let loaded = load(&dir);
        let err = loaded.iter().find(|s| s.cid == cid).unwrap().store.as_ref().err().unwrap().clone();
        assert!(err.contains("changed since it was published"), "{err}");
        remove(&dir, &cid);
        assert!(load(&dir).iter().all(|s| s.cid != cid));
        assert!(file.exists(), "removing a share never deletes the user's file");
    }

    #[test]
    fn bad_paths_are_clear_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("content");
        let e = publish(&dir, Path::new("relative.txt"), None, None, 16384).unwrap_err().to_string();
        assert!(e.contains("absolute path"), "{e}");
        let e = publish(&dir, &tmp.path().join("missing"), None, None, 16384)
            .unwrap_err()
            .to_string();
        assert!(e.contains("file not found"), "{e}");
        let empty = tmp.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let e = publish(&dir, &empty, None, None, 16384).unwrap_err().to_string();
        assert!(e.contains("holds no file"), "{e}");
        let e = publish(&dir, Path::new("/dev/null"), None, None, 16384).unwrap_err().to_string();
        assert!(e.contains("not a regular file or a folder"), "{e}");
        let cid = ContentId::from_bytes([1; 32]);
        let existing = tmp.path().join("taken");
        std::fs::write(&existing, b"mine").unwrap();
        let e = prepare_fetch(&dir, tmp.path(), &cid, Some(existing.clone()), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("already exists"), "{e}");
        assert_eq!(std::fs::read(&existing).unwrap(), b"mine", "never overwritten");
        let e = prepare_fetch(&dir, tmp.path(), &cid, Some(tmp.path().join("no/such/dir/f")), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
    }

    #[test]
    fn a_published_folder_comes_back_and_a_changed_file_in_it_is_noticed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("content");
        let root = tmp.path().join("album");
        std::fs::create_dir_all(root.join("cd2")).unwrap();
        std::fs::write(root.join("one.ogg"), vec![1u8; 40_000]).unwrap();
        std::fs::write(root.join("cd2/two.ogg"), vec![2u8; 20_000]).unwrap();
        std::os::unix::fs::symlink(root.join("one.ogg"), root.join("alias.ogg")).unwrap();
        let published = publish(&dir, &root, None, None, 16384).unwrap();
        let m = &published.manifest;
        assert!(m.is_folder());
        let paths: Vec<&str> = m.files().iter().map(|f| f.path()).collect();
        assert_eq!(paths, ["cd2/two.ogg", "one.ogg"], "links are skipped");
        let cid = m.content_id();
        drop(published);
        assert!(matches!(load(&dir).iter().find(|s| s.cid == cid).unwrap().store, Ok(Some(_))));

        // Selections: a file, a sub-folder, a name not there.
        let mut record = prepare_fetch(&dir, tmp.path(), &ContentId::from_bytes([5; 32]), None, Some(vec!["cd2/".into()])).unwrap();
        let m = Manifest::decode(&std::fs::read(folder(&dir, &cid).join("manifest")).unwrap()).unwrap();
        assert_eq!(selection(&record, &m).unwrap(), Some(vec![true, false]));
        record.files = Some(vec!["one.ogg".into()]);
        assert_eq!(selection(&record, &m).unwrap(), Some(vec![false, true]));
        record.files = Some(vec!["cd".into()]);
        let e = selection(&record, &m).unwrap_err().to_string();
        assert!(e.contains("\"cd\" is not in the folder album") && e.contains("cd2/two.ogg"), "{e}");
        let e = prepare_fetch(&dir, tmp.path(), &ContentId::from_bytes([6; 32]), None, Some(vec!["../x".into()]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a path inside a folder"), "{e}");

        // One file of the folder changes: refused at the next start, with the reason.
        std::fs::write(root.join("cd2/two.ogg"), vec![3u8; 20_000]).unwrap();
        let loaded = load(&dir);
        let err = loaded.iter().find(|s| s.cid == cid).unwrap().store.as_ref().err().unwrap().clone();
        assert!(err.contains("changed since it was published"), "{err}");
    }
}
