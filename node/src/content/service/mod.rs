//! The file-sharing task: a thin driver of one [`FileSession`] per shared file.
//!
//! Each session (in `cairn_p2p::content::session`) decides everything about its file: whom to
//! ask for the manifest, whom to connect to, which blocks to request, whom to choke, what to
//! announce. This task carries out its [`Output`]s and feeds back the results: it opens and
//! accepts the peer-wire streams ([`streams`]), runs disk work and piece hashing on blocking
//! threads, looks up providers on the index, and applies the node-wide rate limits (uploads are
//! served round-robin over files and peers under the upload limit; block requests are sent under
//! the download limit). Nothing here blocks: disk work comes back as a [`Done`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_p2p::content::{
    BlockRequest, ContentId, ContentRequest, ContentResponse, FileSession, Input, Manifest, Output, PeerMessage, PieceStore, SessionStatus,
    TokenBucket,
};
use cairn_p2p::{ContentEvent, ContentResponder, DEFAULT_BAN, NetworkHandle, PeerId};
use cairn_rpc::types::{FileStatus, FolderFile, PeerTransfer, PublishFileResult};
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::ContentError;

mod handle;
mod manifests;
mod pump;
mod streams;

use super::providers::Providers;
use super::registry::{self, Origin, Record};
use crate::shutdown::Shutdown;
use cairn_p2p::LocalFile;
use handle::Command;
pub use handle::ContentHandle;
use pump::BlockRead;
use streams::{Links, SendError, StreamEvent};

/// Settings of the file-sharing service.
#[derive(Clone, Debug)]
pub struct ContentConfig {
    /// `<netdir>/content`: one folder per shared file.
    pub dir: PathBuf,
    /// `<netdir>/downloads`: where fetched files go by default.
    pub downloads: PathBuf,
    /// Upload limit, bytes per second.
    pub max_upload_rate: Option<u64>,
    /// Download limit, bytes per second.
    pub max_download_rate: Option<u64>,
    /// Piece size of published files.
    pub piece_size: u32,
    /// Super-seed (BEP 16) the files published here.
    pub super_seed: bool,
}

/// Most RPC commands waiting.
const COMMAND_QUEUE: usize = 64;
/// Timeouts, searches and rechokes are checked this often (a fetch's first lookups are
/// retried after 250 ms: `session::SEARCH_FIRST`).
const TICK: Duration = cairn_p2p::content::session::SEARCH_FIRST;
/// Most block reads under way at once (each holds a 16 KiB buffer).
const MAX_READS: usize = 64;
/// Most connected peers asked for a manifest when the index knows no provider.
const MAX_NEIGHBOURS_ASKED: usize = 16;
/// Block reads done by one blocking job.
const READ_BATCH: usize = 16;
/// Most disk jobs and lookups under way; beyond this, new ones wait for the next turn.
const MAX_PENDING: usize = 4096;
/// Most block requests waiting for the download limit.
const MAX_TO_SEND: usize = 65_536;

/// Something under way that finished.
enum Done {
    /// A session's disk or lookup work: feed it back.
    Input {
        cid: ContentId,
        epoch: u64,
        input: Input,
    },
    /// The store of a fetch is open (or failed).
    Opened {
        cid: ContentId,
        epoch: u64,
        result: Result<(PieceStore, Record), ContentError>,
    },
    /// Blocks read for uploads, in one blocking job: each one's `Piece` frame.
    Reads(Vec<(BlockRead, Result<Vec<u8>, String>)>),
    /// A job of this many reads panicked (their requests time out on the peer's side).
    ReadsLost(usize),
    Published {
        reply: oneshot::Sender<Result<PublishFileResult, ContentError>>,
        result: Result<registry::Published, ContentError>,
    },
    Prepared {
        cid: ContentId,
        /// Peers named by a share link: asked at once, beside the index's providers.
        hints: Vec<PeerId>,
        reply: oneshot::Sender<Result<FileStatus, ContentError>>,
        result: Result<Record, ContentError>,
    },
    Removed {
        reply: oneshot::Sender<Result<(), ContentError>>,
    },
    Nothing,
}

/// Runs `f` on a blocking thread; a panic there becomes an error string.
async fn blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Result<R, String> {
    tokio::task::spawn_blocking(f).await.map_err(|e| format!("disk task failed: {e}"))
}

fn lock(store: &Mutex<PieceStore>) -> std::sync::MutexGuard<'_, PieceStore> {
    store.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One shared or fetched file: its session, and what the driver keeps beside it.
struct Entry {
    /// Changes when the entry is replaced, so late completions for the old one are dropped.
    epoch: u64,
    record: Record,
    session: FileSession,
    store: Option<Arc<Mutex<PieceStore>>>,
}

impl Entry {
    fn status(&mut self, cid: &ContentId, now: Instant) -> FileStatus {
        let s: SessionStatus = self.session.status(now);
        FileStatus {
            cid: cid.to_string(),
            name: s.name,
            size: s.size,
            origin: self.record.origin.as_str().to_string(),
            state: s.state.to_string(),
            pieces_have: s.pieces_have,
            pieces_total: s.pieces_total,
            bytes: s.bytes,
            peers: s.peers,
            download_rate: s.download_rate,
            upload_rate: s.upload_rate,
            downloaded: s.downloaded,
            uploaded: s.uploaded,
            path: self.record.path.as_ref().map(|p| p.display().to_string()),
            error: s.error,
            sources: s
                .sources
                .into_iter()
                .map(|(p, down, up)| PeerTransfer {
                    peer: p.to_string(),
                    downloaded: down,
                    uploaded: up,
                })
                .collect(),
            // Both are filled in by `rpc::files`, which knows this node's listen addresses.
            link: String::new(),
            eta: None,
            super_seeding: s.super_seeding,
            wanted_size: if s.files.is_empty() {
                s.size
            } else {
                Some(s.files.iter().filter(|f| f.2).map(|f| f.1).sum())
            },
            files: (!s.files.is_empty()).then(|| {
                s.files
                    .into_iter()
                    .enumerate()
                    .map(|(index, (path, size, selected, bytes))| FolderFile {
                        index,
                        path,
                        size,
                        selected,
                        bytes,
                    })
                    .collect()
            }),
        }
    }
}

struct Service {
    cfg: ContentConfig,
    net: NetworkHandle,
    me: PeerId,
    providers: Arc<dyn Providers>,
    entries: HashMap<ContentId, Entry>,
    /// Fetches whose destination is being prepared.
    preparing: HashSet<ContentId>,
    links: Links,
    up_bucket: TokenBucket,
    /// Manifest answers waiting for the upload budget.
    manifests: manifests::ManifestQueue<ContentResponder>,
    down_bucket: TokenBucket,
    /// Block requests waiting for the download limit.
    to_send: VecDeque<(ContentId, PeerId, BlockRequest)>,
    /// Files served round-robin by the upload pump.
    upload_turn: VecDeque<ContentId>,
    pending: FuturesUnordered<BoxFuture<'static, Done>>,
    reads: usize,
    rng: StdRng,
    last_epoch: u64,
    wake: Option<tokio::time::Instant>,
}

/// Loads the shares kept on disk and starts the service on the current runtime.
///
/// # Errors
/// The content folder cannot be created.
pub async fn start(
    cfg: ContentConfig,
    net: NetworkHandle,
    events: mpsc::Receiver<ContentEvent>,
    providers: Arc<dyn Providers>,
    shutdown: Shutdown,
) -> anyhow::Result<(ContentHandle, tokio::task::JoinHandle<()>)> {
    let dir = cfg.dir.clone();
    let stored = tokio::task::spawn_blocking(move || std::fs::create_dir_all(&dir).map(|()| registry::load(&dir)).map_err(|e| (dir, e)))
        .await?
        .map_err(|(dir, e)| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
    let now = Instant::now();
    let (stream_tx, stream_rx) = mpsc::channel(streams::EVENT_QUEUE);
    let accept = tokio::spawn(streams::accept(net.clone(), stream_tx.clone()));
    let mut service = Service {
        up_bucket: TokenBucket::new(cfg.max_upload_rate, now),
        manifests: manifests::ManifestQueue::new(),
        down_bucket: TokenBucket::new(cfg.max_download_rate, now),
        cfg,
        me: net.peer_id(),
        links: Links::new(net.clone(), stream_tx),
        net,
        providers,
        entries: HashMap::new(),
        preparing: HashSet::new(),
        to_send: VecDeque::new(),
        upload_turn: VecDeque::new(),
        pending: FuturesUnordered::new(),
        reads: 0,
        rng: StdRng::from_os_rng(),
        last_epoch: 0,
        wake: None,
    };
    for s in stored {
        service.restore(s, now);
    }
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    let task = tokio::spawn(async move {
        service.run(rx, events, stream_rx, shutdown).await;
        accept.abort();
    });
    Ok((ContentHandle { commands: tx }, task))
}

impl Service {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut events: mpsc::Receiver<ContentEvent>,
        mut streams: mpsc::Receiver<StreamEvent>,
        shutdown: Shutdown,
    ) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let room = self.links.room.clone();
        loop {
            let wake = self.wake;
            tokio::select! {
                () = shutdown.wait() => break,
                Some(c) = commands.recv() => self.on_command(c),
                Some(e) = events.recv() => self.on_event(e),
                Some(e) = streams.recv() => self.on_stream(e),
                Some(done) = self.pending.next(), if !self.pending.is_empty() => self.on_done(done),
                _ = tick.tick() => self.on_tick(),
                () = room.notified() => {}
                () = tokio::time::sleep_until(wake.unwrap_or_else(tokio::time::Instant::now)), if wake.is_some() => self.wake = None,
            }
            self.pump();
        }
        // Make what was written durable before the node exits.
        let stores: Vec<Arc<Mutex<PieceStore>>> = self.entries.values().filter_map(|e| e.store.clone()).collect();
        let _ = blocking(move || {
            for s in stores {
                let _ = lock(&s).sync();
            }
        })
        .await;
        debug!("file-sharing service stopped");
    }

    fn next_epoch(&mut self) -> u64 {
        self.last_epoch += 1;
        self.last_epoch
    }

    fn spawn(&mut self, f: impl Future<Output = Done> + Send + 'static) {
        self.pending.push(Box::pin(f));
    }

    /// Feeds `input` to the session of `cid` and carries out what it decides.
    fn feed(&mut self, cid: ContentId, input: Input) {
        let now = Instant::now();
        let Some(entry) = self.entries.get_mut(&cid) else { return };
        let out = entry.session.handle(input, now, &mut self.rng);
        self.carry_out(cid, out);
    }

    fn carry_out(&mut self, cid: ContentId, outputs: Vec<Output>) {
        for o in outputs {
            self.carry_out_one(cid, o);
        }
    }

    fn carry_out_one(&mut self, cid: ContentId, output: Output) {
        let Some(entry) = self.entries.get_mut(&cid) else { return };
        let epoch = entry.epoch;
        match output {
            Output::FindProviders => {
                let find = self.providers.find(cid);
                // Without a manifest yet, an empty answer falls back to the peers we are connected
                // to: a record published a moment ago may not have reached its place on the ring
                // (or this node's view of the ring may be stale), and on a local testnet every
                // node is a neighbour. They are only asked for the manifest, one at a time.
                let neighbours = entry.session.manifest().is_none().then(|| self.net.clone());
                self.spawn(async move {
                    let input = match find.await {
                        Ok(found) if !found.is_empty() => Input::Found(found),
                        result => {
                            if let Err(e) = &result {
                                debug!(%cid, error = %e, "provider lookup failed");
                            }
                            match neighbours {
                                Some(net) => {
                                    let peers = net.peers().await.unwrap_or_default();
                                    Input::Found(peers.into_iter().take(MAX_NEIGHBOURS_ASKED).map(|p| p.peer).collect())
                                }
                                None if result.is_err() => Input::LookupFailed,
                                None => Input::Found(Vec::new()),
                            }
                        }
                    };
                    Done::Input { cid, epoch, input }
                });
            }
            Output::AskManifest(peer) => {
                let net = self.net.clone();
                self.spawn(async move {
                    let input = match net.content_request(peer, ContentRequest::GetManifest { cid }).await {
                        Ok(ContentResponse::Manifest(bytes)) => Input::Manifest { from: peer, bytes },
                        Ok(ContentResponse::NotFound) | Err(_) => Input::ManifestFailed { from: peer },
                    };
                    Done::Input { cid, epoch, input }
                });
            }
            Output::Open(manifest) => self.open(cid, manifest),
            Output::Connect(peer) => match entry.session.hello(Instant::now()) {
                Some(hello) => {
                    self.links.connect(cid, peer, hello);
                }
                None => self.feed(cid, Input::ConnectFailed(peer)),
            },
            Output::Send(peer, msg) => self.send(cid, peer, msg),
            Output::Close(peer) => {
                self.links.close(cid, peer);
                self.to_send.retain(|(c, p, _)| !(*c == cid && *p == peer));
            }
            Output::Ban(peer, reason) => {
                warn!(%cid, %peer, reason, "file-sharing peer banned");
                self.links.close(cid, peer);
                let net = self.net.clone();
                self.spawn(async move {
                    net.ban(peer, DEFAULT_BAN, reason).await;
                    Done::Nothing
                });
            }
            Output::Check { piece, data } => {
                // The piece's hash only: a manifest may hold 8 MiB of them.
                let Some(check) = entry.session.manifest().and_then(|m| m.check_of(piece)) else {
                    return;
                };
                self.spawn(async move {
                    let input = match blocking(move || {
                        let good = check.matches(&data);
                        (data, good)
                    })
                    .await
                    {
                        Ok((data, good)) => Input::Checked { piece, data, good },
                        Err(e) => Input::Written { piece, result: Err(e) },
                    };
                    Done::Input { cid, epoch, input }
                });
            }
            Output::Write { piece, data } => {
                let Some(store) = entry.store.clone() else { return };
                self.spawn(async move {
                    let result = blocking(move || lock(&store).write_piece(piece, &data).map_err(|e| e.to_string()))
                        .await
                        .and_then(|r| r);
                    Done::Input {
                        cid,
                        epoch,
                        input: Input::Written { piece, result },
                    }
                });
            }
            Output::Sync => {
                let Some(store) = entry.store.clone() else { return };
                self.spawn(async move {
                    let result = blocking(move || lock(&store).sync().map_err(|e| e.to_string()))
                        .await
                        .and_then(|r| r);
                    Done::Input {
                        cid,
                        epoch,
                        input: Input::Synced(result),
                    }
                });
            }
            Output::Announce => self.announce(cid),
            Output::Withdraw => self.providers.withdraw(cid),
            Output::Completed => info!(%cid, path = ?entry.record.path, "download complete"),
            Output::Failed(f) => {
                warn!(%cid, error = %f, "file transfer failed");
                self.links.close_file(cid);
                self.to_send.retain(|(c, _, _)| *c != cid);
            }
        }
    }

    fn send(&mut self, cid: ContentId, peer: PeerId, msg: PeerMessage) {
        match msg {
            // Requests wait for the download limit (and are dropped once no longer wanted).
            PeerMessage::Request(block) => {
                if self.to_send.len() < MAX_TO_SEND {
                    self.to_send.push_back((cid, peer, block));
                }
            }
            PeerMessage::Cancel(block) => {
                if let Some(at) = self.to_send.iter().position(|(c, p, b)| *c == cid && *p == peer && *b == block) {
                    self.to_send.remove(at);
                } else {
                    self.send_now(cid, peer, &PeerMessage::Cancel(block));
                }
            }
            other => self.send_now(cid, peer, &other),
        }
    }

    fn send_now(&mut self, cid: ContentId, peer: PeerId, msg: &PeerMessage) {
        if self.links.send(cid, peer, msg) == Err(SendError::Full) {
            debug!(%cid, %peer, "peer does not read its stream: closed");
            self.links.close(cid, peer);
            self.feed(cid, Input::Disconnected(peer));
        }
    }

    /// Opens the store of `cid` for its session: a published file's is open already.
    fn open(&mut self, cid: ContentId, manifest: Manifest) {
        let Some(entry) = self.entries.get_mut(&cid) else { return };
        if entry.record.origin == Origin::Publish && self.cfg.super_seed {
            entry.session.set_super_seeding(true);
        }
        if let Some(store) = &entry.store {
            let have = lock(store).have().clone();
            let input = match registry::selection(&entry.record, &manifest) {
                Ok(selected) => Input::Opened { have, selected },
                Err(e) => Input::OpenFailed(e.to_string()),
            };
            self.feed(cid, input);
            return;
        }
        let epoch = entry.epoch;
        let mut record = entry.record.clone();
        let dir = self.cfg.dir.clone();
        self.spawn(async move {
            let result = blocking(move || registry::open_fetch(&dir, &cid, &mut record, &manifest).map(|s| (s, record)))
                .await
                .unwrap_or_else(|e| Err(ContentError::Io(e)));
            Done::Opened { cid, epoch, result }
        });
    }

    /// Announces `cid` on the index: a published file under its keywords (or its name's words),
    /// a fetched one under its name's words, so it stays findable while anyone shares it.
    pub(super) fn announce(&self, cid: ContentId) {
        let Some(entry) = self.entries.get(&cid) else { return };
        let Some(manifest) = entry.session.manifest() else { return };
        let keywords = entry
            .record
            .keywords
            .clone()
            .unwrap_or_else(|| cairn_p2p::index::keywords(manifest.name()));
        self.providers.announce(LocalFile {
            cid,
            name: manifest.name().to_string(),
            size: manifest.size(),
            keywords,
        });
    }

    /// Puts a share found on disk back to work (or back to pause).
    fn restore(&mut self, stored: registry::Stored, now: Instant) {
        let epoch = self.next_epoch();
        let cid = stored.cid;
        let (session, out, store) = match (stored.store, stored.manifest) {
            (Ok(store), manifest) if stored.record.paused => {
                let manifest = store.as_ref().map(|s| s.manifest().clone()).or(manifest);
                let have = store.as_ref().map(|s| s.have().clone());
                (FileSession::paused(cid, manifest, have, self.me, now), Vec::new(), store)
            }
            (Ok(Some(store)), _) => {
                let (session, out) = FileSession::open(store.manifest().clone(), self.me, now);
                (session, out, Some(store))
            }
            (Ok(None), Some(m)) => {
                let (session, out) = FileSession::open(m, self.me, now);
                (session, out, None)
            }
            (Ok(None), None) => {
                let (session, out) = FileSession::fetch(cid, self.me, now);
                (session, out, None)
            }
            (Err(e), manifest) => {
                warn!(%cid, error = %e, "a shared file cannot be served");
                let session = FileSession::failed(cid, manifest, self.me, cairn_p2p::content::Failure::Disk(e), now);
                (session, Vec::new(), None)
            }
        };
        self.entries.insert(
            cid,
            Entry {
                epoch,
                record: stored.record,
                session,
                store: store.map(|s| Arc::new(Mutex::new(s))),
            },
        );
        self.carry_out(cid, out);
    }

    fn on_event(&mut self, event: ContentEvent) {
        match event {
            ContentEvent::Request { peer, request, responder } => self.on_request(peer, request, responder),
            ContentEvent::PeerDisconnected { peer } => {
                let cids: Vec<ContentId> = self.entries.keys().copied().collect();
                for cid in cids {
                    if self.entries.get(&cid).is_some_and(|e| e.session.is_member(&peer)) {
                        self.links.close(cid, peer);
                        self.feed(cid, Input::Disconnected(peer));
                    }
                }
            }
        }
    }

    /// A manifest request: answered while we serve the file.
    /// A manifest request: answered once the upload budget allows (see `manifests.rs`).
    fn on_request(&mut self, peer: PeerId, request: ContentRequest, responder: ContentResponder) {
        let cid = request.cid();
        let known = self
            .entries
            .get(&cid)
            .is_some_and(|e| e.session.serving() && e.session.manifest().is_some());
        if !known {
            self.net.respond_content(responder, ContentResponse::NotFound);
            return;
        }
        if let Err(responder) = self.manifests.push(peer, cid, responder, Instant::now()) {
            self.net.respond_content(responder, ContentResponse::NotFound);
        }
    }

    /// Sends the manifest answers the upload budget allows now.
    fn answer_manifests(&mut self, now: Instant) {
        while let Some(cid) = self.manifests.front() {
            let bytes = self
                .entries
                .get(&cid)
                .filter(|e| e.session.serving())
                .and_then(|e| e.session.manifest())
                .map(Manifest::encode);
            if let Some(bytes) = &bytes
                && let Err(wait) = self.up_bucket.take(bytes.len() as u64, now)
            {
                self.wake_in(wait);
                return;
            }
            let Some((_, _, responder)) = self.manifests.pop() else { return };
            let response = bytes.map_or(ContentResponse::NotFound, ContentResponse::Manifest);
            self.net.respond_content(responder, response);
        }
    }

    fn on_stream(&mut self, event: StreamEvent) {
        match event {
            StreamEvent::Opened { cid, peer, id, result } => match result {
                Ok((stream, bitfield)) => {
                    if !self.links.opened(cid, peer, id) || !self.entries.contains_key(&cid) {
                        return;
                    }
                    self.links.run(cid, peer, true, stream, None);
                    self.feed(cid, Input::Connected { peer, bitfield });
                }
                Err(e) => {
                    if self.links.failed(cid, peer, id) {
                        debug!(%cid, %peer, error = %e, "stream not opened");
                        self.feed(cid, Input::ConnectFailed(peer));
                    }
                }
            },
            StreamEvent::Inbound {
                cid,
                peer,
                bitfield,
                stream,
            } => {
                let Some(hello) = self.entries.get(&cid).and_then(|e| e.session.hello(Instant::now())) else {
                    return;
                };
                let Some(replaced) = self.links.admit_inbound(cid, peer) else {
                    return;
                };
                if replaced {
                    self.feed(cid, Input::Disconnected(peer));
                }
                self.links.run(cid, peer, false, stream, Some(hello));
                self.feed(cid, Input::Connected { peer, bitfield });
            }
            StreamEvent::Message { cid, peer, id, msg } => {
                if self.links.is_current(cid, peer, id) {
                    self.feed(cid, Input::Message(peer, msg));
                }
            }
            StreamEvent::Closed { cid, peer, id, error } => {
                if self.links.is_current(cid, peer, id) {
                    if let Some(e) = &error {
                        debug!(%cid, %peer, error = %e, "stream closed");
                    }
                    self.links.close(cid, peer);
                    self.to_send.retain(|(c, p, _)| !(*c == cid && *p == peer));
                    self.feed(cid, Input::Disconnected(peer));
                }
                if error.as_deref().is_some_and(|e| e.starts_with("malformed")) {
                    let net = self.net.clone();
                    self.spawn(async move {
                        net.ban(peer, DEFAULT_BAN, "sent a malformed peer-wire frame").await;
                        Done::Nothing
                    });
                }
            }
        }
    }

    fn on_done(&mut self, done: Done) {
        let now = Instant::now();
        match done {
            Done::Nothing => {}
            Done::Input { cid, epoch, input } => {
                if self.entries.get(&cid).is_some_and(|e| e.epoch == epoch) {
                    self.feed(cid, input);
                }
            }
            Done::Opened { cid, epoch, result } => {
                let Some(entry) = self.entries.get_mut(&cid).filter(|e| e.epoch == epoch) else {
                    return;
                };
                match result {
                    Ok((store, record)) => {
                        let have = store.have().clone();
                        // `open_fetch` checked the selection already.
                        let selected = registry::selection(&record, store.manifest()).ok().flatten();
                        entry.record = record;
                        entry.store = Some(Arc::new(Mutex::new(store)));
                        info!(%cid, have = have.count(), pieces = have.len(), "fetch opened");
                        self.feed(cid, Input::Opened { have, selected });
                    }
                    Err(e) => self.feed(cid, Input::OpenFailed(e.to_string())),
                }
            }
            Done::ReadsLost(n) => self.reads -= n,
            Done::Reads(reads) => {
                self.reads -= reads.len();
                for (r, result) in reads {
                    let len = r.block.len as usize;
                    match result {
                        Ok(frame) => {
                            if !self.links.send_block(r.cid, r.peer, frame, len) {
                                r.queued.fetch_sub(len, Ordering::Relaxed);
                            }
                        }
                        Err(e) => {
                            r.queued.fetch_sub(len, Ordering::Relaxed);
                            debug!(cid = %r.cid, error = %e, "block read failed");
                            self.send_now(r.cid, r.peer, &PeerMessage::Reject(r.block));
                        }
                    }
                }
            }
            Done::Published { reply, result } => {
                let result = result.map(|p| self.published(p, now));
                let _ = reply.send(result);
            }
            Done::Prepared { cid, hints, reply, result } => {
                self.preparing.remove(&cid);
                match result {
                    Ok(record) => {
                        let epoch = self.next_epoch();
                        let (session, out) = FileSession::fetch(cid, self.me, now);
                        let mut entry = Entry {
                            epoch,
                            record,
                            session,
                            store: None,
                        };
                        info!(%cid, "fetch started");
                        let _ = reply.send(Ok(entry.status(&cid, now)));
                        self.entries.insert(cid, entry);
                        self.carry_out(cid, out);
                        // The index lookup runs too: the hints only save waiting for it.
                        if !hints.is_empty() {
                            self.feed(cid, Input::Hints(hints));
                        }
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Done::Removed { reply } => {
                let _ = reply.send(Ok(()));
            }
        }
    }

    fn on_tick(&mut self) {
        let cids: Vec<ContentId> = self.entries.keys().copied().collect();
        for cid in cids {
            self.feed(cid, Input::Tick);
        }
    }

    /// Forgets `cid`: its streams close and it is no longer announced.
    fn drop_entry(&mut self, cid: ContentId) {
        if let Some(mut entry) = self.entries.remove(&cid) {
            let out = entry.session.stop();
            for o in out {
                if o == Output::Withdraw {
                    self.providers.withdraw(cid);
                }
            }
        }
        self.links.close_file(cid);
        self.to_send.retain(|(c, _, _)| *c != cid);
    }
}

fn unknown(cid: &ContentId) -> ContentError {
    ContentError::NotFound(format!("unknown content id {cid}: not published or fetched by this node"))
}
