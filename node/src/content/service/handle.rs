//! The RPC side of the service: the command queue, the cloneable handle the RPC methods use, and
//! what each command does.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cairn_p2p::content::ContentId;
use cairn_rpc::types::{FileStatus, PublishFileResult};
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use cairn_p2p::PeerId;
use cairn_p2p::content::{FileSession, Input, Phase, ShareLink};

use super::{Done, Entry, Service, blocking, unknown};
use crate::content::ContentError;
use crate::content::registry::{self, Origin, Record};

#[derive(Debug)]
pub(super) enum Command {
    Publish {
        path: PathBuf,
        name: Option<String>,
        keywords: Option<Vec<String>>,
        reply: oneshot::Sender<Result<PublishFileResult, ContentError>>,
    },
    Fetch {
        cid: ContentId,
        dest: Option<PathBuf>,
        files: Option<Vec<String>>,
        hints: Vec<PeerId>,
        reply: oneshot::Sender<Result<FileStatus, ContentError>>,
    },
    Status {
        cid: ContentId,
        reply: oneshot::Sender<Result<FileStatus, ContentError>>,
    },
    List {
        reply: oneshot::Sender<Vec<FileStatus>>,
    },
    Swarms {
        reply: oneshot::Sender<Vec<(ContentId, cairn_p2p::content::session::SwarmView)>>,
    },
    Remove {
        cid: ContentId,
        reply: oneshot::Sender<Result<(), ContentError>>,
    },
    /// Pause (`true`) or resume (`false`).
    Pause {
        cid: ContentId,
        pause: bool,
        reply: oneshot::Sender<Result<FileStatus, ContentError>>,
    },
}

/// A cloneable handle to the file-sharing service (what the RPC methods use).
#[derive(Clone, Debug)]
pub struct ContentHandle {
    pub(super) commands: mpsc::Sender<Command>,
}

impl ContentHandle {
    async fn ask<R>(&self, make: impl FnOnce(oneshot::Sender<R>) -> Command) -> Result<R, ContentError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.map_err(|_| ContentError::Stopped)?;
        rx.await.map_err(|_| ContentError::Stopped)
    }

    /// Publishes the file at `path` (hashing it first).
    ///
    /// # Errors
    /// See [`registry::publish`].
    pub async fn publish(
        &self,
        path: PathBuf,
        name: Option<String>,
        keywords: Option<Vec<String>>,
    ) -> Result<PublishFileResult, ContentError> {
        self.ask(|reply| Command::Publish {
            path,
            name,
            keywords,
            reply,
        })
        .await?
    }

    /// Starts fetching `cid` (or returns the status of the file if it is already here).
    ///
    /// `files` chooses files (or sub-folders) of a folder; `None` fetches everything. `hints`
    /// are peers said to have it (a share link's): they are asked for the manifest and connected
    /// to at once, while the index is asked for providers as always. The caller has told the
    /// network where they listen.
    ///
    /// # Errors
    /// An unusable destination, a bad file name, or a fetch under way with another choice of files.
    pub async fn fetch(
        &self,
        cid: ContentId,
        dest: Option<PathBuf>,
        files: Option<Vec<String>>,
        hints: Vec<PeerId>,
    ) -> Result<FileStatus, ContentError> {
        self.ask(|reply| Command::Fetch {
            cid,
            dest,
            files,
            hints,
            reply,
        })
        .await?
    }

    /// The status of `cid`.
    ///
    /// # Errors
    /// Not shared or fetched here.
    pub async fn status(&self, cid: ContentId) -> Result<FileStatus, ContentError> {
        self.ask(|reply| Command::Status { cid, reply }).await?
    }

    /// Every file.
    ///
    /// # Errors
    /// The service stopped.
    pub async fn list(&self) -> Result<Vec<FileStatus>, ContentError> {
        self.ask(|reply| Command::List { reply }).await
    }

    /// Every file's swarm as the dashboard draws it (piece map, availability, members).
    ///
    /// # Errors
    /// The service stopped.
    pub async fn swarms(&self) -> Result<Vec<(ContentId, cairn_p2p::content::session::SwarmView)>, ContentError> {
        self.ask(|reply| Command::Swarms { reply }).await
    }

    /// Stops sharing or fetching `cid`.
    ///
    /// # Errors
    /// Not shared or fetched here.
    pub async fn remove(&self, cid: ContentId) -> Result<(), ContentError> {
        self.ask(|reply| Command::Remove { cid, reply }).await?
    }

    /// Pauses `cid` (`pause`: true) or resumes it: a paused file is out of its swarm and not
    /// announced, and its verified pieces stay, also across restarts.
    ///
    /// # Errors
    /// Not shared or fetched here.
    pub async fn pause(&self, cid: ContentId, pause: bool) -> Result<FileStatus, ContentError> {
        self.ask(|reply| Command::Pause { cid, pause, reply }).await?
    }
}

impl Service {
    pub(super) fn on_command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Publish {
                path,
                name,
                keywords,
                reply,
            } => {
                let (dir, piece_size) = (self.cfg.dir.clone(), self.cfg.piece_size);
                self.spawn(async move {
                    let result = blocking(move || registry::publish(&dir, &path, name, keywords, piece_size))
                        .await
                        .unwrap_or_else(|e| Err(ContentError::Io(e)));
                    Done::Published { reply, result }
                });
            }
            Command::Fetch {
                cid,
                dest,
                files,
                hints,
                reply,
            } => self.fetch(cid, dest, files, hints, reply, now),
            Command::Status { cid, reply } => {
                let result = match self.entries.get_mut(&cid) {
                    Some(e) => Ok(e.status(&cid, now)),
                    None => Err(unknown(&cid)),
                };
                let _ = reply.send(result);
            }
            Command::Swarms { reply } => {
                let mut all: Vec<_> = self.entries.iter_mut().map(|(cid, e)| (*cid, e.session.swarm(now))).collect();
                all.sort_by_key(|(cid, _)| *cid);
                let _ = reply.send(all);
            }
            Command::List { reply } => {
                let mut list: Vec<FileStatus> = self.entries.iter_mut().map(|(cid, e)| e.status(cid, now)).collect();
                list.sort_by(|a, b| a.name.cmp(&b.name).then(a.cid.cmp(&b.cid)));
                let _ = reply.send(list);
            }
            Command::Pause { cid, pause, reply } => {
                let Some(entry) = self.entries.get_mut(&cid) else {
                    let _ = reply.send(Err(unknown(&cid)));
                    return;
                };
                let failed_fetch = matches!(entry.session.phase(), Phase::Failed(_)) && entry.record.origin == Origin::Fetch;
                let out = if pause {
                    entry.session.pause()
                } else if failed_fetch {
                    // Resuming a failed fetch tries it again, as `fetchfile` does.
                    let (session, out) = match entry.session.manifest().cloned() {
                        Some(m) => FileSession::open(m, self.me, now),
                        None => FileSession::fetch(cid, self.me, now),
                    };
                    entry.session = session;
                    entry.store = None;
                    out
                } else {
                    entry.session.resume(now)
                };
                if entry.record.paused != pause {
                    entry.record.paused = pause;
                    let (dir, record) = (registry::folder(&self.cfg.dir, &cid), entry.record.clone());
                    self.spawn(async move {
                        if let Err(e) = blocking(move || registry::write_record(&dir, &record))
                            .await
                            .and_then(|r| r.map_err(|e| e.to_string()))
                        {
                            warn!(%cid, error = %e, "pause state not saved");
                        }
                        Done::Nothing
                    });
                }
                info!(%cid, paused = pause, "file paused or resumed");
                self.carry_out(cid, out);
                let status = self.entries.get_mut(&cid).map(|e| e.status(&cid, now));
                let _ = reply.send(status.ok_or_else(|| unknown(&cid)));
            }
            Command::Remove { cid, reply } => {
                if !self.entries.contains_key(&cid) {
                    let _ = reply.send(Err(unknown(&cid)));
                    return;
                }
                self.drop_entry(cid);
                info!(%cid, "file removed");
                let dir = self.cfg.dir.clone();
                self.spawn(async move {
                    let _ = blocking(move || registry::remove(&dir, &cid)).await;
                    Done::Removed { reply }
                });
            }
        }
    }

    pub(super) fn fetch(
        &mut self,
        cid: ContentId,
        dest: Option<PathBuf>,
        files: Option<Vec<String>>,
        hints: Vec<PeerId>,
        reply: oneshot::Sender<Result<FileStatus, ContentError>>,
        now: Instant,
    ) {
        let epoch = self.next_epoch();
        if let Some(entry) = self.entries.get_mut(&cid) {
            if files.is_some() && files != entry.record.files {
                let _ = reply.send(Err(ContentError::InvalidParameter(format!(
                    "{cid} is already fetched or shared here with {}: removefile it to choose other files",
                    match &entry.record.files {
                        Some(f) => format!("the files {}", f.join(", ")),
                        None => "all its files".to_string(),
                    }
                ))));
                return;
            }
            if let (Some(want), Some(have)) = (&dest, &entry.record.path)
                && want != have
            {
                let _ = reply.send(Err(ContentError::InvalidParameter(format!(
                    "{cid} is already fetched or shared here, at {}",
                    have.display()
                ))));
                return;
            }
            if matches!(entry.session.phase(), Phase::Failed(_)) && entry.record.origin == Origin::Fetch {
                // Try again from where it stopped (the verified pieces on disk are kept).
                let (session, out) = match entry.session.manifest().cloned() {
                    Some(m) => FileSession::open(m, self.me, now),
                    None => FileSession::fetch(cid, self.me, now),
                };
                entry.epoch = epoch;
                entry.session = session;
                entry.store = None;
                self.carry_out(cid, out);
            }
            if !hints.is_empty() && self.entries.get(&cid).is_some_and(|e| e.record.origin == Origin::Fetch) {
                self.feed(cid, Input::Hints(hints));
            }
            let status = self.entries.get_mut(&cid).map(|e| e.status(&cid, now));
            let _ = reply.send(status.ok_or_else(|| unknown(&cid)));
            return;
        }
        if !self.preparing.insert(cid) {
            let _ = reply.send(Err(ContentError::InvalidParameter(format!(
                "{cid} is being set up by another fetchfile call"
            ))));
            return;
        }
        let (dir, downloads) = (self.cfg.dir.clone(), self.cfg.downloads.clone());
        self.spawn(async move {
            let result = blocking(move || registry::prepare_fetch(&dir, &downloads, &cid, dest, files))
                .await
                .unwrap_or_else(|e| Err(ContentError::Io(e)));
            Done::Prepared { cid, hints, reply, result }
        });
    }

    pub(super) fn published(&mut self, p: registry::Published, now: Instant) -> PublishFileResult {
        let cid = p.manifest.content_id();
        let result = PublishFileResult {
            cid: cid.to_string(),
            name: p.manifest.name().to_string(),
            size: p.manifest.size(),
            pieces: p.manifest.pieces(),
            piece_size: p.manifest.piece_size(),
            keywords: p.keywords.clone().unwrap_or_else(|| cairn_p2p::index::keywords(p.manifest.name())),
            // Without peers: `rpc::files` adds this node's listen addresses.
            link: ShareLink::new(cid, Some(p.manifest.name().to_string()), Some(p.manifest.size()), []).to_string(),
            anchor: None,
            anchor_error: None,
        };
        info!(%cid, name = p.manifest.name(), size = p.manifest.size(), path = %p.path.display(), "file published");
        let record = Record {
            origin: Origin::Publish,
            path: Some(p.path),
            dest_dir: None,
            size: Some(p.manifest.size()),
            mtime: None,
            keywords: p.keywords.clone(),
            paused: false,
            files: None,
        };
        let store = Arc::new(Mutex::new(p.store));
        match self.entries.get_mut(&cid) {
            // Published again (perhaps from another path): serve from the new one.
            Some(entry) if entry.record.origin == Origin::Publish && matches!(entry.session.phase(), Phase::Seeding) => {
                entry.record = record;
                entry.store = Some(store);
                self.announce(cid);
            }
            _ => {
                self.drop_entry(cid);
                let epoch = self.next_epoch();
                let (session, out) = FileSession::open(p.manifest, self.me, now);
                self.entries.insert(
                    cid,
                    Entry {
                        epoch,
                        record,
                        session,
                        store: Some(store),
                    },
                );
                self.carry_out(cid, out);
            }
        }
        result
    }
}
