//! The file-sharing task: every shared file's swarm, driven by peers' messages, RPC commands,
//! disk completions and a one-second tick.
//!
//! Per file ([`Share`]): the pieces held, the swarm's peers (who is interested in us, what we
//! sent them), a [`Choker`] for our uploads and, while fetching, a [`Download`] for the pieces we
//! lack. Node-wide: one [`UploadQueue`] served round-robin under the upload limit, one queue of
//! block requests sent under the download limit, and the futures of everything under way
//! (requests to peers, provider lookups, disk jobs) polled as one set. Nothing here blocks: disk
//! work goes to blocking threads and comes back as a [`Done`].
//!
//! The exchange with a peer, per file, in BEP 3's terms: `Hello` carries both bitfields (either
//! side may send it; the answer carries the other's), `Interested`, `Choke`/unchoke, `Request`
//! for 16 KiB blocks (at most 16 in flight per peer), `Cancel`, and `Have` after each piece is
//! verified *and written*, so a piece announced can be served at once.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_p2p::content::choker::RECHOKE_INTERVAL;
use cairn_p2p::content::{
    Action, Bitfield, BlockRequest, Choker, ContentId, ContentRequest, ContentResponse, Download, Manifest, PeerView, PieceIndex,
    PieceStore, RateMeter, TokenBucket, UploadQueue,
};
use cairn_p2p::{ContentEvent, ContentResponder, DEFAULT_BAN, NetworkHandle, PeerId, RequestError};
use cairn_rpc::types::{FileStatus, PeerTransfer, PublishFileResult};
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::ContentError;
use super::providers::Providers;
use super::registry::{self, Origin, Record};
use crate::shutdown::Shutdown;

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
}

/// Most RPC commands waiting.
const COMMAND_QUEUE: usize = 64;
/// Timeouts, searches and rechokes are checked this often.
const TICK: Duration = Duration::from_secs(1);
/// A fetch that has found no provider looks again this often.
const SEARCH_AGAIN: Duration = Duration::from_secs(5);
/// A download short of peers looks for more after 1 s, then 2, 4, 8 s, then this often: the
/// other downloaders of a file announce themselves only once they have its manifest, so the
/// first lookups of a flash crowd find the seed alone, and a swarm that waits long to find its
/// members wastes their upload capacity.
const SEARCH_MORE: Duration = Duration::from_secs(15);
/// The first of those waits.
const SEARCH_MORE_FIRST: Duration = Duration::from_secs(1);
/// A fetch that finds no provider for this long fails (`fetchfile` again to retry).
pub const SEARCH_TIMEOUT: Duration = Duration::from_secs(120);
/// A download looks for more providers while it has fewer peers than this.
const WANT_PEERS: usize = 8;
/// Most peers in one file's swarm.
const MAX_SWARM: usize = 64;
/// Most candidate providers remembered per file.
const MAX_CANDIDATES: usize = 128;
/// Most block reads under way at once (each holds a 16 KiB buffer).
const MAX_READS: usize = 64;
/// Most requests and disk jobs under way: beyond this, HAVE announcements are skipped.
const MAX_PENDING: usize = 32_768;
/// Most peers remembered per file for the transfer totals of `getfetchstatus`.
const MAX_LEDGER: usize = 1024;
/// "Not available" answers a peer may give for pieces it announced before it leaves the swarm.
const MAX_NOT_AVAILABLE: u32 = 32;
/// A rechoke asked for by a newly interested peer waits at least this long after the last one.
const RECHOKE_SOON: Duration = Duration::from_secs(1);

#[derive(Debug)]
enum Command {
    Publish {
        path: PathBuf,
        name: Option<String>,
        reply: oneshot::Sender<Result<PublishFileResult, ContentError>>,
    },
    Fetch {
        cid: ContentId,
        dest: Option<PathBuf>,
        reply: oneshot::Sender<Result<FileStatus, ContentError>>,
    },
    Status {
        cid: ContentId,
        reply: oneshot::Sender<Result<FileStatus, ContentError>>,
    },
    List {
        reply: oneshot::Sender<Vec<FileStatus>>,
    },
    Remove {
        cid: ContentId,
        reply: oneshot::Sender<Result<(), ContentError>>,
    },
}

/// A cloneable handle to the file-sharing service (what the RPC methods use).
#[derive(Clone, Debug)]
pub struct ContentHandle {
    commands: mpsc::Sender<Command>,
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
    pub async fn publish(&self, path: PathBuf, name: Option<String>) -> Result<PublishFileResult, ContentError> {
        self.ask(|reply| Command::Publish { path, name, reply }).await?
    }

    /// Starts fetching `cid` (or returns the status of the file if it is already here).
    ///
    /// # Errors
    /// An unusable destination.
    pub async fn fetch(&self, cid: ContentId, dest: Option<PathBuf>) -> Result<FileStatus, ContentError> {
        self.ask(|reply| Command::Fetch { cid, dest, reply }).await?
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

    /// Stops sharing or fetching `cid`.
    ///
    /// # Errors
    /// Not shared or fetched here.
    pub async fn remove(&self, cid: ContentId) -> Result<(), ContentError> {
        self.ask(|reply| Command::Remove { cid, reply }).await?
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Searching,
    Downloading,
    Complete,
    Failed(String),
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::Searching => "searching",
            State::Downloading => "downloading",
            State::Complete => "complete",
            State::Failed(_) => "failed",
        }
    }
}

#[derive(Debug)]
struct SharePeer {
    connected_at: Instant,
    /// It wants pieces we have.
    interested: bool,
    /// What we send it.
    up: RateMeter,
    not_available: u32,
}

impl SharePeer {
    fn new(now: Instant) -> SharePeer {
        SharePeer {
            connected_at: now,
            interested: false,
            up: RateMeter::new(now),
            not_available: 0,
        }
    }
}

/// One shared or fetched file.
#[derive(Debug)]
struct Share {
    epoch: u64,
    record: Record,
    manifest: Option<Manifest>,
    store: Option<Arc<Mutex<PieceStore>>>,
    /// Pieces verified and written (what we announce and serve).
    have: Bitfield,
    download: Option<Download<PeerId>>,
    state: State,
    peers: HashMap<PeerId, SharePeer>,
    choker: Choker<PeerId>,
    candidates: Vec<PeerId>,
    asked_manifest: HashSet<PeerId>,
    greeted: HashSet<PeerId>,
    manifest_pending: bool,
    opening: bool,
    searching: bool,
    last_search: Option<Instant>,
    /// Wait before the next lookup for more peers (doubles up to [`SEARCH_MORE`]).
    search_backoff: Duration,
    started: Instant,
    last_rechoke: Instant,
    rechoke_soon: bool,
    writes: usize,
    finishing: bool,
    down: RateMeter,
    up: RateMeter,
    ledger: HashMap<PeerId, (u64, u64)>,
}

impl Share {
    fn new(epoch: u64, record: Record, now: Instant) -> Share {
        Share {
            epoch,
            record,
            manifest: None,
            store: None,
            have: Bitfield::new(0),
            download: None,
            state: State::Searching,
            peers: HashMap::new(),
            choker: Choker::default(),
            candidates: Vec::new(),
            asked_manifest: HashSet::new(),
            greeted: HashSet::new(),
            manifest_pending: false,
            opening: false,
            searching: false,
            last_search: None,
            search_backoff: SEARCH_MORE_FIRST,
            started: now,
            last_rechoke: now,
            rechoke_soon: false,
            writes: 0,
            finishing: false,
            down: RateMeter::new(now),
            up: RateMeter::new(now),
            ledger: HashMap::new(),
        }
    }

    fn serving(&self) -> bool {
        self.store.is_some() && !matches!(self.state, State::Failed(_))
    }

    fn note(&mut self, peer: PeerId, down: u64, up: u64) {
        if self.ledger.len() >= MAX_LEDGER && !self.ledger.contains_key(&peer) {
            return;
        }
        let e = self.ledger.entry(peer).or_insert((0, 0));
        e.0 += down;
        e.1 += up;
    }

    fn bytes_held(&self) -> u64 {
        let Some(m) = &self.manifest else { return 0 };
        self.have.iter_ones().map(|p| u64::from(m.piece_len(p))).sum()
    }

    fn status(&mut self, cid: &ContentId, now: Instant) -> FileStatus {
        let mut sources: Vec<PeerTransfer> = self
            .ledger
            .iter()
            .map(|(p, (down, up))| PeerTransfer {
                peer: p.to_string(),
                downloaded: *down,
                uploaded: *up,
            })
            .collect();
        sources.sort_by(|a, b| b.downloaded.cmp(&a.downloaded).then(b.uploaded.cmp(&a.uploaded)));
        FileStatus {
            cid: cid.to_string(),
            name: self.manifest.as_ref().map(|m| m.name().to_string()),
            size: self.manifest.as_ref().map(Manifest::size),
            origin: self.record.origin.as_str().to_string(),
            state: self.state.name().to_string(),
            pieces_have: self.have.count(),
            pieces_total: self.manifest.as_ref().map_or(0, Manifest::pieces),
            bytes: self.bytes_held(),
            peers: self.peers.len(),
            download_rate: self.down.rate(now),
            upload_rate: self.up.rate(now),
            downloaded: self.down.total(),
            uploaded: self.up.total(),
            path: self.record.path.as_ref().map(|p| p.display().to_string()),
            error: match &self.state {
                State::Failed(e) => Some(e.clone()),
                _ => None,
            },
            sources,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Sent {
    Manifest,
    Hello,
    Block(BlockRequest),
    Other,
}

/// Something under way that finished.
enum Done {
    Response {
        cid: ContentId,
        peer: PeerId,
        sent: Sent,
        result: Result<ContentResponse, RequestError>,
    },
    Providers {
        cid: ContentId,
        epoch: u64,
        found: Result<Vec<PeerId>, String>,
    },
    Read {
        responder: ContentResponder,
        result: Result<Vec<u8>, String>,
    },
    Written {
        cid: ContentId,
        epoch: u64,
        piece: PieceIndex,
        result: Result<(), String>,
    },
    Published {
        reply: oneshot::Sender<Result<PublishFileResult, ContentError>>,
        result: Result<registry::Published, ContentError>,
    },
    Prepared {
        cid: ContentId,
        epoch: u64,
        reply: oneshot::Sender<Result<FileStatus, ContentError>>,
        result: Result<Record, ContentError>,
    },
    Opened {
        cid: ContentId,
        epoch: u64,
        result: Result<(PieceStore, Record), ContentError>,
    },
    Synced {
        cid: ContentId,
        epoch: u64,
        result: Result<(), String>,
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

struct Service {
    cfg: ContentConfig,
    net: NetworkHandle,
    me: PeerId,
    providers: Arc<dyn Providers>,
    shares: HashMap<ContentId, Share>,
    upload: UploadQueue<(PeerId, ContentId), ContentResponder>,
    up_bucket: TokenBucket,
    down_bucket: TokenBucket,
    to_send: VecDeque<(ContentId, PeerId, BlockRequest)>,
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
    let mut service = Service {
        up_bucket: TokenBucket::new(cfg.max_upload_rate, now),
        down_bucket: TokenBucket::new(cfg.max_download_rate, now),
        cfg,
        me: net.peer_id(),
        net,
        providers,
        shares: HashMap::new(),
        upload: UploadQueue::default(),
        to_send: VecDeque::new(),
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
    let task = tokio::spawn(service.run(rx, events, shutdown));
    Ok((ContentHandle { commands: tx }, task))
}

impl Service {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>, mut events: mpsc::Receiver<ContentEvent>, shutdown: Shutdown) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let wake = self.wake;
            tokio::select! {
                () = shutdown.wait() => break,
                Some(c) = commands.recv() => self.on_command(c),
                Some(e) = events.recv() => self.on_event(e),
                Some(done) = self.pending.next(), if !self.pending.is_empty() => self.on_done(done),
                _ = tick.tick() => self.on_tick(),
                () = tokio::time::sleep_until(wake.unwrap_or_else(tokio::time::Instant::now)), if wake.is_some() => self.wake = None,
            }
            self.pump();
        }
        // Make what was written durable before the node exits.
        let stores: Vec<Arc<Mutex<PieceStore>>> = self.shares.values().filter_map(|s| s.store.clone()).collect();
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

    fn send(&mut self, peer: PeerId, request: ContentRequest, sent: Sent) {
        let net = self.net.clone();
        let cid = request.cid();
        self.spawn(async move {
            let result = net.content_request(peer, request).await;
            Done::Response { cid, peer, sent, result }
        });
    }

    fn respond(&self, responder: ContentResponder, response: ContentResponse) {
        self.net.respond_content(responder, response);
    }

    fn ban(&mut self, peer: PeerId, reason: &'static str) {
        let net = self.net.clone();
        self.spawn(async move {
            net.ban(peer, DEFAULT_BAN, reason).await;
            Done::Nothing
        });
        let cids: Vec<ContentId> = self.shares.keys().copied().collect();
        for cid in cids {
            self.peer_gone(cid, peer);
        }
    }

    /// Puts a share found on disk back to work.
    fn restore(&mut self, stored: registry::Stored, now: Instant) {
        let epoch = self.next_epoch();
        let mut share = Share::new(epoch, stored.record, now);
        share.manifest = stored.manifest;
        let cid = stored.cid;
        match stored.store {
            Ok(Some(store)) => {
                self.shares.insert(cid, share);
                self.opened(cid, store, now);
            }
            Ok(None) => {
                self.shares.insert(cid, share);
                self.search(cid, now);
            }
            Err(e) => {
                warn!(%cid, error = %e, "a shared file cannot be served");
                share.state = State::Failed(e);
                self.shares.insert(cid, share);
            }
        }
    }

    /// A share's store is open: seed it, or download what is missing.
    fn opened(&mut self, cid: ContentId, store: PieceStore, now: Instant) {
        let Some(share) = self.shares.get_mut(&cid) else { return };
        share.opening = false;
        share.have = store.have().clone();
        let manifest = store.manifest().clone();
        share.manifest = Some(manifest.clone());
        if share.have.is_complete() {
            share.state = State::Complete;
            share.download = None;
        } else {
            share.state = State::Downloading;
            share.download = Some(Download::new(manifest, share.have.clone()));
            info!(%cid, have = share.have.count(), pieces = share.have.len(), "downloading");
        }
        share.store = Some(Arc::new(Mutex::new(store)));
        self.providers.announce(cid);
        if share.download.is_some() {
            self.greet(cid);
            if share_needs_search(self.shares.get(&cid), now) {
                self.search(cid, now);
            }
        }
    }

    fn search(&mut self, cid: ContentId, now: Instant) {
        let Some(share) = self.shares.get_mut(&cid) else { return };
        if share.searching {
            return;
        }
        share.searching = true;
        if share.last_search.is_some() && share.download.is_some() {
            share.search_backoff = (share.search_backoff * 2).min(SEARCH_MORE);
        }
        share.last_search = Some(now);
        let epoch = share.epoch;
        let find = self.providers.find(cid);
        self.spawn(async move {
            let found = find.await;
            Done::Providers { cid, epoch, found }
        });
    }

    /// Says hello to every candidate not in the swarm yet.
    fn greet(&mut self, cid: ContentId) {
        let Some(share) = self.shares.get_mut(&cid) else { return };
        if !share.serving() || share.peers.len() >= MAX_SWARM {
            return;
        }
        let bitfield = share.have.as_bytes().to_vec();
        let new: Vec<PeerId> = share
            .candidates
            .iter()
            .filter(|p| !share.peers.contains_key(p) && !share.greeted.contains(p))
            .copied()
            .collect();
        for peer in new {
            if let Some(share) = self.shares.get_mut(&cid) {
                share.greeted.insert(peer);
            }
            let bitfield = bitfield.clone();
            self.send(peer, ContentRequest::Hello { cid, bitfield }, Sent::Hello);
        }
    }

    /// Asks the next candidate for the manifest.
    fn ask_manifest(&mut self, cid: ContentId) {
        let Some(share) = self.shares.get_mut(&cid) else { return };
        if share.manifest.is_some() || share.manifest_pending || share.opening {
            return;
        }
        let Some(peer) = share.candidates.iter().find(|p| !share.asked_manifest.contains(p)).copied() else {
            return;
        };
        share.asked_manifest.insert(peer);
        share.manifest_pending = true;
        self.send(peer, ContentRequest::GetManifest { cid }, Sent::Manifest);
    }

    /// Adds `peer` to the swarm of `cid` with its bitfield (already checked to fit).
    fn join(&mut self, cid: ContentId, peer: PeerId, bitfield: &[u8], now: Instant) -> bool {
        let Some(share) = self.shares.get_mut(&cid) else { return false };
        if !share.peers.contains_key(&peer) && share.peers.len() >= MAX_SWARM {
            return false;
        }
        share.peers.entry(peer).or_insert_with(|| SharePeer::new(now));
        if let Some(d) = share.download.as_mut()
            && !d.has_peer(&peer)
        {
            match d.peer_joined(peer, bitfield, now) {
                Ok(actions) => self.apply(cid, actions),
                Err(_) => {
                    self.ban(peer, "sent a bitfield that does not fit the file");
                    return false;
                }
            }
        }
        true
    }

    /// `peer` left the swarm of `cid` (disconnected, banned, or no longer sharing it).
    fn peer_gone(&mut self, cid: ContentId, peer: PeerId) {
        let Some(share) = self.shares.get_mut(&cid) else { return };
        share.greeted.remove(&peer);
        if share.peers.remove(&peer).is_none() {
            return;
        }
        share.choker.remove(&peer);
        let actions = match share.download.as_mut() {
            Some(d) => d.peer_left(peer, Instant::now(), &mut self.rng),
            None => Vec::new(),
        };
        for (_, responder) in self.upload.drain_peer((peer, cid)) {
            self.respond(responder, ContentResponse::Choked);
        }
        self.to_send.retain(|(c, p, _)| !(*c == cid && *p == peer));
        self.apply(cid, actions);
    }

    fn fail(&mut self, cid: ContentId, error: String) {
        warn!(%cid, %error, "file transfer failed");
        self.stop(cid, State::Failed(error));
    }

    /// Leaves the swarm of `cid`: no more downloading, serving or announcing.
    fn stop(&mut self, cid: ContentId, state: State) {
        let Some(share) = self.shares.get_mut(&cid) else { return };
        share.state = state;
        share.download = None;
        let peers: Vec<PeerId> = share.peers.drain().map(|(p, _)| p).collect();
        share.choker = Choker::default();
        for peer in peers {
            for (_, responder) in self.upload.drain_peer((peer, cid)) {
                self.respond(responder, ContentResponse::NotFound);
            }
        }
        self.to_send.retain(|(c, _, _)| *c != cid);
        self.providers.withdraw(cid);
    }

    /// Carries out what a download decided.
    fn apply(&mut self, cid: ContentId, actions: Vec<Action<PeerId>>) {
        for action in actions {
            match action {
                Action::Request { peer, block } => self.to_send.push_back((cid, peer, block)),
                Action::Cancel { peer, block } => match self.to_send.iter().position(|(c, p, b)| *c == cid && *p == peer && *b == block) {
                    Some(at) => {
                        self.to_send.remove(at);
                    }
                    None => self.send(peer, ContentRequest::Cancel { cid, block }, Sent::Other),
                },
                Action::Interested { peer, yes } => self.send(peer, ContentRequest::Interested { cid, yes }, Sent::Other),
                Action::Verified { piece, data } => {
                    let Some(share) = self.shares.get_mut(&cid) else { continue };
                    let Some(store) = share.store.clone() else { continue };
                    share.writes += 1;
                    let epoch = share.epoch;
                    self.spawn(async move {
                        let result = blocking(move || lock(&store).write_piece(piece, &data).map_err(|e| e.to_string()))
                            .await
                            .and_then(|r| r);
                        Done::Written { cid, epoch, piece, result }
                    });
                }
                Action::Penalize { peer } => debug!(%cid, %peer, "peer sent part of a piece that failed its hash check"),
                Action::Ban { peer } => {
                    warn!(%cid, %peer, "peer keeps sending bad pieces: banned");
                    self.ban(peer, "sent file pieces that failed their hash check");
                }
                Action::Complete => {
                    if let Some(share) = self.shares.get_mut(&cid) {
                        share.finishing = true;
                    }
                    self.maybe_finish(cid);
                }
            }
        }
    }

    /// Once the last piece is written: make the file durable, then call it complete.
    fn maybe_finish(&mut self, cid: ContentId) {
        let Some(share) = self.shares.get_mut(&cid) else { return };
        if !share.finishing || share.writes > 0 || !share.have.is_complete() {
            return;
        }
        share.finishing = false;
        let Some(store) = share.store.clone() else { return };
        let epoch = share.epoch;
        self.spawn(async move {
            let result = blocking(move || lock(&store).sync().map_err(|e| e.to_string()))
                .await
                .and_then(|r| r);
            Done::Synced { cid, epoch, result }
        });
    }

    fn on_command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Publish { path, name, reply } => {
                let (dir, piece_size) = (self.cfg.dir.clone(), self.cfg.piece_size);
                self.spawn(async move {
                    let result = blocking(move || registry::publish(&dir, &path, name, piece_size))
                        .await
                        .unwrap_or_else(|e| Err(ContentError::Io(e)));
                    Done::Published { reply, result }
                });
            }
            Command::Fetch { cid, dest, reply } => self.fetch(cid, dest, reply, now),
            Command::Status { cid, reply } => {
                let result = match self.shares.get_mut(&cid) {
                    Some(share) => Ok(share.status(&cid, now)),
                    None => Err(unknown(&cid)),
                };
                let _ = reply.send(result);
            }
            Command::List { reply } => {
                let mut list: Vec<FileStatus> = self.shares.iter_mut().map(|(cid, s)| s.status(cid, now)).collect();
                list.sort_by(|a, b| a.name.cmp(&b.name).then(a.cid.cmp(&b.cid)));
                let _ = reply.send(list);
            }
            Command::Remove { cid, reply } => {
                if !self.shares.contains_key(&cid) {
                    let _ = reply.send(Err(unknown(&cid)));
                    return;
                }
                self.stop(cid, State::Failed("removed".into()));
                self.shares.remove(&cid);
                info!(%cid, "file removed");
                let dir = self.cfg.dir.clone();
                self.spawn(async move {
                    let _ = blocking(move || registry::remove(&dir, &cid)).await;
                    Done::Removed { reply }
                });
            }
        }
    }

    fn fetch(&mut self, cid: ContentId, dest: Option<PathBuf>, reply: oneshot::Sender<Result<FileStatus, ContentError>>, now: Instant) {
        if let Some(share) = self.shares.get_mut(&cid) {
            if let (Some(want), Some(have)) = (&dest, &share.record.path)
                && want != have
            {
                let _ = reply.send(Err(ContentError::InvalidParameter(format!(
                    "{cid} is already fetched or shared here, at {}",
                    have.display()
                ))));
                return;
            }
            if matches!(share.state, State::Failed(_)) && share.record.origin == Origin::Fetch && !share.opening {
                // Try again from where it stopped.
                let epoch = self.next_epoch();
                let share = self.shares.get_mut(&cid).expect("present");
                let mut fresh = Share::new(epoch, share.record.clone(), now);
                fresh.manifest = share.manifest.clone();
                *share = fresh;
                self.resume(cid, now);
            }
            let status = self.shares.get_mut(&cid).map(|s| s.status(&cid, now));
            let _ = reply.send(status.ok_or_else(|| unknown(&cid)));
            return;
        }
        let epoch = self.next_epoch();
        let record = Record {
            origin: Origin::Fetch,
            path: None,
            dest_dir: None,
            size: None,
            mtime: None,
        };
        let mut share = Share::new(epoch, record, now);
        share.opening = true;
        self.shares.insert(cid, share);
        let (dir, downloads) = (self.cfg.dir.clone(), self.cfg.downloads.clone());
        self.spawn(async move {
            let result = blocking(move || registry::prepare_fetch(&dir, &downloads, &cid, dest))
                .await
                .unwrap_or_else(|e| Err(ContentError::Io(e)));
            Done::Prepared { cid, epoch, reply, result }
        });
    }

    /// Opens the store of a fetch whose manifest is known, or searches for the manifest.
    fn resume(&mut self, cid: ContentId, now: Instant) {
        let Some(share) = self.shares.get_mut(&cid) else { return };
        let Some(manifest) = share.manifest.clone() else {
            self.search(cid, now);
            return;
        };
        share.opening = true;
        let epoch = share.epoch;
        let mut record = share.record.clone();
        let dir = self.cfg.dir.clone();
        self.spawn(async move {
            let result = blocking(move || registry::open_fetch(&dir, &cid, &mut record, &manifest).map(|s| (s, record)))
                .await
                .unwrap_or_else(|e| Err(ContentError::Io(e)));
            Done::Opened { cid, epoch, result }
        });
    }

    fn on_event(&mut self, event: ContentEvent) {
        match event {
            ContentEvent::Request { peer, request, responder } => self.on_request(peer, request, responder),
            ContentEvent::PeerDisconnected { peer } => {
                let cids: Vec<ContentId> = self.shares.keys().copied().collect();
                for cid in cids {
                    self.peer_gone(cid, peer);
                }
            }
        }
    }

    fn on_request(&mut self, peer: PeerId, request: ContentRequest, responder: ContentResponder) {
        let now = Instant::now();
        let cid = request.cid();
        let Some(share) = self.shares.get_mut(&cid) else {
            self.net.respond_content(responder, ContentResponse::NotFound);
            return;
        };
        if let ContentRequest::GetManifest { .. } = request {
            let response = match (&share.manifest, share.serving()) {
                (Some(m), true) => ContentResponse::Manifest(m.encode()),
                _ => ContentResponse::NotFound,
            };
            self.net.respond_content(responder, response);
            return;
        }
        if !share.serving() {
            self.net.respond_content(responder, ContentResponse::NotFound);
            return;
        }
        let pieces = share.have.len();
        match request {
            ContentRequest::GetManifest { .. } => {}
            ContentRequest::Hello { bitfield, .. } => {
                if Bitfield::from_bytes(&bitfield, pieces).is_err() {
                    self.ban(peer, "sent a bitfield that does not fit the file");
                    return;
                }
                let ours = share.have.as_bytes().to_vec();
                if self.join(cid, peer, &bitfield, now) {
                    self.net.respond_content(responder, ContentResponse::Hello { bitfield: ours });
                } else {
                    self.net.respond_content(responder, ContentResponse::NotFound);
                }
            }
            ContentRequest::Have { piece, .. } => {
                if piece.0 >= pieces {
                    self.ban(peer, "announced a piece the file does not have");
                    return;
                }
                self.net.respond_content(responder, ContentResponse::Ack);
                if let Some(d) = share.download.as_mut() {
                    let actions = d.peer_have(peer, piece, now, &mut self.rng);
                    self.apply(cid, actions);
                }
            }
            ContentRequest::Interested { yes, .. } => {
                self.net.respond_content(responder, ContentResponse::Ack);
                if let Some(p) = share.peers.get_mut(&peer) {
                    p.interested = yes;
                    if yes && share.choker.unchoke_if_free(peer, share.download.is_none()) {
                        self.send(peer, ContentRequest::Choke { cid, choked: false }, Sent::Other);
                    } else {
                        share.rechoke_soon = true;
                    }
                }
            }
            ContentRequest::Choke { choked, .. } => {
                self.net.respond_content(responder, ContentResponse::Ack);
                if let Some(d) = share.download.as_mut() {
                    let actions = d.peer_choke(peer, choked, now, &mut self.rng);
                    self.apply(cid, actions);
                }
            }
            ContentRequest::Request { block, .. } => {
                if !share.peers.contains_key(&peer) || !share.choker.is_unchoked(&peer) {
                    self.net.respond_content(responder, ContentResponse::Choked);
                } else if !share.have.get(block.piece) {
                    self.net.respond_content(responder, ContentResponse::NotAvailable);
                } else if let Err(responder) = self.upload.push((peer, cid), block, responder) {
                    self.net.respond_content(responder, ContentResponse::NotAvailable);
                }
            }
            ContentRequest::Cancel { block, .. } => {
                if let Some(r) = self.upload.cancel((peer, cid), block) {
                    self.net.respond_content(r, ContentResponse::NotAvailable);
                }
                self.net.respond_content(responder, ContentResponse::Ack);
            }
        }
    }

    fn on_done(&mut self, done: Done) {
        let now = Instant::now();
        match done {
            Done::Nothing => {}
            Done::Response { cid, peer, sent, result } => self.on_response(cid, peer, sent, result, now),
            Done::Providers { cid, epoch, found } => {
                let me = self.me;
                let Some(share) = self.shares.get_mut(&cid).filter(|s| s.epoch == epoch) else {
                    return;
                };
                share.searching = false;
                match found {
                    Ok(found) => {
                        debug!(%cid, providers = found.len(), "providers found");
                        for p in found {
                            if p != me && !share.candidates.contains(&p) && share.candidates.len() < MAX_CANDIDATES {
                                share.candidates.push(p);
                            }
                        }
                        // Peers that failed before may answer now.
                        share.asked_manifest.clear();
                        share.greeted.retain(|p| share.peers.contains_key(p));
                    }
                    Err(e) => debug!(%cid, error = %e, "provider lookup failed"),
                }
                self.ask_manifest(cid);
                self.greet(cid);
            }
            Done::Read { responder, result } => {
                self.reads -= 1;
                match result {
                    Ok(data) => self.respond(responder, ContentResponse::Block(data)),
                    Err(e) => {
                        debug!(error = %e, "block read failed");
                        self.respond(responder, ContentResponse::NotAvailable);
                    }
                }
            }
            Done::Written { cid, epoch, piece, result } => {
                let Some(share) = self.shares.get_mut(&cid).filter(|s| s.epoch == epoch) else {
                    return;
                };
                share.writes -= 1;
                match result {
                    Ok(()) => {
                        share.have.set(piece);
                        let peers: Vec<PeerId> = share.peers.keys().copied().collect();
                        if self.pending.len() < MAX_PENDING {
                            for peer in peers {
                                self.send(peer, ContentRequest::Have { cid, piece }, Sent::Other);
                            }
                        }
                        self.maybe_finish(cid);
                    }
                    Err(e) => self.fail(cid, format!("writing piece {piece}: {e}")),
                }
            }
            Done::Published { reply, result } => {
                let result = result.map(|p| self.published(p, now));
                let _ = reply.send(result);
            }
            Done::Prepared { cid, epoch, reply, result } => {
                let Some(share) = self.shares.get_mut(&cid).filter(|s| s.epoch == epoch) else {
                    let _ = reply.send(Err(ContentError::NotFound(format!("{cid} was removed meanwhile"))));
                    return;
                };
                share.opening = false;
                match result {
                    Ok(record) => {
                        share.record = record;
                        info!(%cid, "fetch started");
                        let status = share.status(&cid, now);
                        let _ = reply.send(Ok(status));
                        self.search(cid, now);
                    }
                    Err(e) => {
                        self.shares.remove(&cid);
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Done::Opened { cid, epoch, result } => {
                let Some(share) = self.shares.get_mut(&cid).filter(|s| s.epoch == epoch) else {
                    return;
                };
                match result {
                    Ok((store, record)) => {
                        share.record = record;
                        self.opened(cid, store, now);
                    }
                    Err(e) => {
                        share.opening = false;
                        self.fail(cid, e.to_string());
                    }
                }
            }
            Done::Synced { cid, epoch, result } => {
                let Some(share) = self.shares.get_mut(&cid).filter(|s| s.epoch == epoch) else {
                    return;
                };
                match result {
                    Ok(()) => {
                        share.state = State::Complete;
                        share.download = None;
                        info!(%cid, path = ?share.record.path, "download complete");
                        // Seeding from now on: rank peers by what we send them.
                        share.rechoke_soon = true;
                    }
                    Err(e) => self.fail(cid, format!("saving the file: {e}")),
                }
            }
            Done::Removed { reply } => {
                let _ = reply.send(Ok(()));
            }
        }
    }

    fn published(&mut self, p: registry::Published, now: Instant) -> PublishFileResult {
        let cid = p.manifest.content_id();
        let result = PublishFileResult {
            cid: cid.to_string(),
            name: p.manifest.name().to_string(),
            size: p.manifest.size(),
            pieces: p.manifest.pieces(),
            piece_size: p.manifest.piece_size(),
        };
        info!(%cid, name = p.manifest.name(), size = p.manifest.size(), path = %p.path.display(), "file published");
        let record = Record {
            origin: Origin::Publish,
            path: Some(p.path),
            dest_dir: None,
            size: Some(p.manifest.size()),
            mtime: None,
        };
        match self.shares.get_mut(&cid) {
            // Published again (perhaps from another path): serve from the new one.
            Some(share) if share.record.origin == Origin::Publish => {
                share.record = record;
                share.state = State::Complete;
                share.have = p.store.have().clone();
                share.manifest = Some(p.manifest);
                share.store = Some(Arc::new(Mutex::new(p.store)));
                self.providers.announce(cid);
            }
            _ => {
                let epoch = self.next_epoch();
                self.shares.insert(cid, Share::new(epoch, record, now));
                self.opened(cid, p.store, now);
            }
        }
        result
    }

    fn on_response(&mut self, cid: ContentId, peer: PeerId, sent: Sent, result: Result<ContentResponse, RequestError>, now: Instant) {
        let Some(share) = self.shares.get_mut(&cid) else { return };
        match (sent, result) {
            (Sent::Manifest, Ok(ContentResponse::Manifest(bytes))) => {
                share.manifest_pending = false;
                match Manifest::decode(&bytes) {
                    Ok(m) if m.content_id() == cid => {
                        if share.manifest.is_none() {
                            info!(%cid, name = m.name(), size = m.size(), %peer, "manifest found");
                            share.manifest = Some(m);
                            self.resume(cid, now);
                        }
                    }
                    _ => {
                        self.ban(peer, "sent a manifest that is not the file's");
                        self.ask_manifest(cid);
                    }
                }
            }
            (Sent::Manifest, _) => {
                share.manifest_pending = false;
                self.ask_manifest(cid);
            }
            (Sent::Hello, Ok(ContentResponse::Hello { bitfield })) => {
                if Bitfield::from_bytes(&bitfield, share.have.len()).is_err() {
                    self.ban(peer, "sent a bitfield that does not fit the file");
                } else if share.serving() {
                    self.join(cid, peer, &bitfield, now);
                }
            }
            (Sent::Hello, _) => {}
            (Sent::Block(block), Ok(ContentResponse::Block(data))) => {
                let len = data.len() as u64;
                let Some(d) = share.download.as_mut() else { return };
                if !d.is_requested(&peer, &block) {
                    return;
                }
                share.down.add(len);
                share.note(peer, len, 0);
                let d = share.download.as_mut().expect("checked");
                let actions = d.block_arrived(peer, block, data, now, &mut self.rng);
                self.apply(cid, actions);
            }
            (Sent::Block(block), Ok(ContentResponse::Choked)) => {
                if let Some(d) = share.download.as_mut()
                    && d.is_requested(&peer, &block)
                {
                    let actions = d.peer_choke(peer, true, now, &mut self.rng);
                    self.apply(cid, actions);
                }
            }
            (Sent::Block(block), Ok(ContentResponse::NotAvailable)) => {
                let Some(d) = share.download.as_mut() else { return };
                if !d.is_requested(&peer, &block) {
                    return;
                }
                let actions = d.request_failed(peer, block, now, &mut self.rng);
                let strikes = share.peers.get_mut(&peer).map_or(0, |p| {
                    p.not_available += 1;
                    p.not_available
                });
                self.apply(cid, actions);
                if strikes > MAX_NOT_AVAILABLE {
                    self.peer_gone(cid, peer);
                }
            }
            (Sent::Block(_), Ok(ContentResponse::NotFound)) => self.peer_gone(cid, peer),
            (Sent::Block(_), Ok(_)) => self.ban(peer, "answered a block request with the wrong kind of response"),
            (Sent::Block(block), Err(e)) => {
                if share.download.as_ref().is_some_and(|d| d.is_requested(&peer, &block)) {
                    debug!(%cid, %peer, error = %e, "block request failed: peer leaves the swarm");
                    self.peer_gone(cid, peer);
                }
            }
            (Sent::Other, Ok(ContentResponse::NotFound)) => self.peer_gone(cid, peer),
            (Sent::Other, _) => {}
        }
    }

    fn on_tick(&mut self) {
        let now = Instant::now();
        let cids: Vec<ContentId> = self.shares.keys().copied().collect();
        for cid in cids {
            let Some(share) = self.shares.get_mut(&cid) else { continue };
            match share.state {
                State::Searching => {
                    if share.manifest.is_none() && !share.opening && now.duration_since(share.started) >= SEARCH_TIMEOUT {
                        let secs = SEARCH_TIMEOUT.as_secs();
                        self.fail(cid, format!("no provider found within {secs} s (fetchfile it again to retry)"));
                        continue;
                    }
                    if share.last_search.is_none_or(|t| now.duration_since(t) >= SEARCH_AGAIN) {
                        self.search(cid, now);
                    }
                }
                State::Downloading => {
                    let actions = match share.download.as_mut() {
                        Some(d) => d.tick(now, &mut self.rng),
                        None => Vec::new(),
                    };
                    self.apply(cid, actions);
                    if share_needs_search(self.shares.get(&cid), now) {
                        self.search(cid, now);
                    }
                }
                State::Complete | State::Failed(_) => {}
            }
            self.maybe_rechoke(cid, now);
        }
    }

    fn maybe_rechoke(&mut self, cid: ContentId, now: Instant) {
        let Some(share) = self.shares.get_mut(&cid) else { return };
        let since = now.duration_since(share.last_rechoke);
        let regular = since >= RECHOKE_INTERVAL;
        if !share.serving() || !(regular || (share.rechoke_soon && since >= RECHOKE_SOON)) {
            return;
        }
        share.last_rechoke = now;
        share.rechoke_soon = false;
        let seeding = share.download.is_none();
        let mut views = Vec::with_capacity(share.peers.len());
        for (peer, p) in &mut share.peers {
            let (download_rate, last_block) = share.download.as_mut().and_then(|d| d.peer_rate(peer, now)).unwrap_or((0.0, None));
            views.push((
                *peer,
                PeerView {
                    interested: p.interested,
                    download_rate,
                    upload_rate: p.up.rate(now),
                    connected_at: p.connected_at,
                    last_block,
                },
            ));
        }
        let decision = share.choker.rechoke(&views, seeding, now, &mut self.rng);
        // Unchokes are repeated every round: messages on separate streams may arrive out of
        // order, and a peer that wrongly thinks itself choked would otherwise wait forever.
        let refresh: Vec<PeerId> = if regular {
            share
                .peers
                .keys()
                .filter(|p| share.choker.is_unchoked(p) && !decision.unchoke.contains(p))
                .copied()
                .collect()
        } else {
            Vec::new()
        };
        for peer in decision.unchoke.into_iter().chain(refresh) {
            self.send(peer, ContentRequest::Choke { cid, choked: false }, Sent::Other);
        }
        for peer in decision.choke {
            self.send(peer, ContentRequest::Choke { cid, choked: true }, Sent::Other);
            for (_, responder) in self.upload.drain_peer((peer, cid)) {
                self.respond(responder, ContentResponse::Choked);
            }
        }
    }

    /// Serves queued block requests under the upload limit, and sends block requests under the
    /// download limit; sets the wake-up for when the limits allow more.
    fn pump(&mut self) {
        let now = Instant::now();
        while self.reads < MAX_READS {
            match self.upload.next(&mut self.up_bucket, now) {
                Ok(((peer, cid), block, responder)) => {
                    let Some(share) = self.shares.get_mut(&cid) else {
                        self.respond(responder, ContentResponse::NotFound);
                        continue;
                    };
                    let Some(store) = share.store.clone() else {
                        self.respond(responder, ContentResponse::NotFound);
                        continue;
                    };
                    let len = u64::from(block.len);
                    share.up.add(len);
                    share.note(peer, 0, len);
                    if let Some(p) = share.peers.get_mut(&peer) {
                        p.up.add(len);
                    }
                    self.reads += 1;
                    self.spawn(async move {
                        let result = blocking(move || {
                            lock(&store)
                                .read_block(block.piece, block.offset, block.len)
                                .map_err(|e| e.to_string())
                        })
                        .await
                        .and_then(|r| r);
                        Done::Read { responder, result }
                    });
                }
                Err(Some(wait)) => {
                    self.wake_in(wait);
                    break;
                }
                Err(None) => break,
            }
        }
        while let Some(&(cid, peer, block)) = self.to_send.front() {
            let live = self
                .shares
                .get(&cid)
                .and_then(|s| s.download.as_ref())
                .is_some_and(|d| d.is_requested(&peer, &block));
            if !live {
                self.to_send.pop_front();
                continue;
            }
            match self.down_bucket.take(u64::from(block.len), now) {
                Ok(()) => {
                    self.to_send.pop_front();
                    self.send(peer, ContentRequest::Request { cid, block }, Sent::Block(block));
                }
                Err(wait) => {
                    self.wake_in(wait);
                    break;
                }
            }
        }
    }

    fn wake_in(&mut self, wait: Duration) {
        let at = tokio::time::Instant::now() + wait.max(Duration::from_millis(1));
        self.wake = Some(self.wake.map_or(at, |w| w.min(at)));
    }
}

/// Whether a download should look for more providers now.
fn share_needs_search(share: Option<&Share>, now: Instant) -> bool {
    share.is_some_and(|s| {
        s.download.is_some() && s.peers.len() < WANT_PEERS && s.last_search.is_none_or(|t| now.duration_since(t) >= s.search_backoff)
    })
}

fn unknown(cid: &ContentId) -> ContentError {
    ContentError::NotFound(format!("unknown content id {cid}: not published or fetched by this node"))
}
