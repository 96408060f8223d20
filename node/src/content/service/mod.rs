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

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_p2p::content::{
    Action, BlockRequest, Choker, ContentId, ContentRequest, ContentResponse, Download, PieceIndex, PieceStore, TokenBucket, UploadQueue,
};
use cairn_p2p::{ContentEvent, ContentResponder, DEFAULT_BAN, NetworkHandle, PeerId, RequestError};
use cairn_rpc::types::{FileStatus, PublishFileResult};
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::ContentError;

mod handle;
mod share;
mod wire;

use super::providers::Providers;
use super::registry::{self, Record};
use crate::shutdown::Shutdown;
use cairn_p2p::LocalFile;
use handle::Command;
pub use handle::ContentHandle;
use share::{Share, SharePeer, State};

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
/// Peer exchange (BEP 11's idea): a new swarm member is told the others this long after it
/// joined (so one message covers a flash crowd arriving together), then the ones it has not
/// been told at most this often. A member sending its list more often is not listened to.
const PEX_FIRST: Duration = Duration::from_secs(1);
/// See [`PEX_FIRST`]: BEP 11's once a minute.
const PEX_EVERY: Duration = Duration::from_secs(60);
/// A member's lists are taken at most this often (half of [`PEX_EVERY`], so an honest sender's
/// jitter never loses one); a list refused for coming too soon is re-sent next round.
const PEX_HEARD_EVERY: Duration = Duration::from_secs(30);
/// Peers learned by exchange fill at most this many of a file's [`MAX_CANDIDATES`], so made-up
/// ids from a hostile member never shut out providers found through the index.
const MAX_PEX_CANDIDATES: usize = MAX_CANDIDATES / 2;
/// A rechoke asked for by a newly interested peer waits at least this long after the last one.
const RECHOKE_SOON: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
enum Sent {
    Manifest,
    Hello,
    Block(BlockRequest),
    /// A peer list: its members count as told once the peer acknowledges it.
    Peers(Vec<PeerId>),
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
        let downloading = share.download.is_some();
        self.announce(cid);
        if downloading {
            self.greet(cid);
            if self.shares.get(&cid).is_some_and(|s| s.needs_search(now)) {
                self.search(cid, now);
            }
        }
    }

    /// Announces `cid` on the index: a published file under its keywords (or its name's words),
    /// a fetched one under its name's words, so it stays findable while anyone shares it.
    pub(super) fn announce(&self, cid: ContentId) {
        let Some(share) = self.shares.get(&cid) else { return };
        let Some(manifest) = &share.manifest else { return };
        let keywords = share
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
        for p in share.peers.values_mut() {
            p.pex_told.remove(&peer);
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
                    if self.shares.get(&cid).is_some_and(|s| s.needs_search(now)) {
                        self.search(cid, now);
                    }
                }
                State::Complete | State::Failed(_) => {}
            }
            self.maybe_rechoke(cid, now);
            self.exchange_peers(cid, now);
        }
    }

    /// Tells each swarm member of `cid` the members it has not been told, when due (see
    /// [`PEX_FIRST`]).
    fn exchange_peers(&mut self, cid: ContentId, now: Instant) {
        let Some(share) = self.shares.get_mut(&cid) else { return };
        if !share.serving() {
            return;
        }
        let members: Vec<PeerId> = share.peers.keys().copied().collect();
        let mut messages = Vec::new();
        for (peer, p) in share.peers.iter_mut() {
            let due = match p.pex_sent {
                None => now.duration_since(p.connected_at) >= PEX_FIRST,
                Some(t) => now.duration_since(t) >= PEX_EVERY,
            };
            if !due {
                continue;
            }
            p.pex_sent = Some(now);
            let news: Vec<PeerId> = members
                .iter()
                .filter(|m| *m != peer && !p.pex_told.contains(m))
                .take(cairn_p2p::content::MAX_PEX_PEERS)
                .copied()
                .collect();
            if !news.is_empty() {
                messages.push((*peer, news));
            }
        }
        for (peer, peers) in messages {
            self.send(peer, ContentRequest::Peers { cid, peers: peers.clone() }, Sent::Peers(peers));
        }
    }

    /// `peer` took our list: its members count as told (a list refused or lost is sent again
    /// next round).
    pub(super) fn peers_told(&mut self, cid: ContentId, peer: PeerId, peers: Vec<PeerId>) {
        let Some(share) = self.shares.get_mut(&cid) else { return };
        let present: Vec<PeerId> = peers.into_iter().filter(|p| share.peers.contains_key(p)).collect();
        if let Some(p) = share.peers.get_mut(&peer) {
            p.pex_told.extend(present);
        }
    }

    /// A member of `cid`'s swarm told us the members it knows: the new ones become candidates,
    /// greeted at once.
    /// Returns whether the list was taken (the sender is a member and did not send too soon).
    pub(super) fn heard_peers(&mut self, cid: ContentId, from: PeerId, peers: Vec<PeerId>, now: Instant) -> bool {
        let me = self.me;
        let Some(share) = self.shares.get_mut(&cid) else { return false };
        let Some(member) = share.peers.get_mut(&from) else { return false };
        if member.pex_heard.is_some_and(|t| now.duration_since(t) < PEX_HEARD_EVERY) {
            debug!(%cid, peer = %from, "peer list sent too often: not taken");
            return false;
        }
        member.pex_heard = Some(now);
        let mut added = 0;
        for p in peers {
            if p != me && !share.peers.contains_key(&p) && !share.candidates.contains(&p) && share.candidates.len() < MAX_PEX_CANDIDATES {
                share.candidates.push(p);
                added += 1;
            }
        }
        if added > 0 {
            debug!(%cid, peer = %from, added, "swarm members learned by peer exchange");
            self.greet(cid);
        }
        true
    }
}

fn unknown(cid: &ContentId) -> ContentError {
    ContentError::NotFound(format!("unknown content id {cid}: not published or fetched by this node"))
}
