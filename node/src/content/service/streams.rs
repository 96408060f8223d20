//! The peer-wire streams: at most one per (file, peer), each run by a reader task and a writer
//! task that only move frames.
//!
//! Opening: for an [`Output::Connect`](cairn_p2p::content::Output::Connect) the service opens a
//! stream, writes our `Hello` and reads the peer's (within [`HANDSHAKE_TIMEOUT`]); a stream the
//! peer opens is handed over once its `Hello` is read (at most [`MAX_HANDSHAKES`] at once; more
//! are dropped). If both sides open a stream at the same moment, both keep the one opened by the
//! smaller peer id, so they agree without another message.
//!
//! Running: the reader decodes frames (each kind within its own size cap) and queues them to the
//! service on a bounded channel, waiting when it is full, so a peer that sends faster than we
//! process is slowed by TCP, not buffered. The writer takes encoded frames from a bounded queue;
//! the service never waits on it: control messages that do not fit mean the peer is not reading,
//! and the stream is closed. Block data is further bounded by bytes ([`MAX_QUEUED_BYTES`] per
//! stream): the service hands out an upload only while the stream has room, and the writer wakes
//! the service when room comes back.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cairn_p2p::content::ContentId;
use cairn_p2p::content::peer_wire::{self, PeerMessage};
use cairn_p2p::{NetworkHandle, PeerId};
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use tokio::sync::{Notify, Semaphore, mpsc};
use tracing::debug;

/// How long opening a stream and exchanging `Hello`s may take.
pub(super) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most inbound streams whose `Hello` is awaited at once.
pub(super) const MAX_HANDSHAKES: usize = 64;
/// Frames waiting for one stream's writer.
const WRITE_QUEUE: usize = 1024;
/// Block data queued or being read for one stream: enough to keep a fast link busy between two
/// turns of the service, little enough that 64 slow peers cannot hold much memory.
pub(super) const MAX_QUEUED_BYTES: usize = 512 * 1024;
/// Capacity of the queue from stream tasks to the service.
pub(super) const EVENT_QUEUE: usize = 256;

/// What the stream tasks tell the service.
#[derive(Debug)]
pub(super) enum StreamEvent {
    /// Our stream is open and the peer's `Hello` read (or it failed).
    Opened {
        cid: ContentId,
        peer: PeerId,
        id: u64,
        result: Result<(cairn_p2p::Stream, Vec<u8>), String>,
    },
    /// A peer opened a stream and sent its `Hello`.
    Inbound {
        cid: ContentId,
        peer: PeerId,
        bitfield: Vec<u8>,
        stream: cairn_p2p::Stream,
    },
    /// A frame from a member.
    Message {
        cid: ContentId,
        peer: PeerId,
        id: u64,
        msg: PeerMessage,
    },
    /// The stream ended (closed by the peer, failed, or a malformed frame).
    Closed {
        cid: ContentId,
        peer: PeerId,
        id: u64,
        error: Option<String>,
    },
}

/// A stream's sending side, as the service holds it.
#[derive(Debug)]
struct Up {
    /// Encoded frames, each with the block bytes it releases once written.
    tx: mpsc::Sender<(Vec<u8>, usize)>,
    queued: Arc<AtomicUsize>,
    reader: tokio::task::AbortHandle,
}

#[derive(Debug)]
enum State {
    Opening,
    Up(Up),
}

#[derive(Debug)]
struct Link {
    id: u64,
    outbound: bool,
    state: State,
}

/// Why a message could not be queued.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum SendError {
    /// No open stream.
    NoStream,
    /// The writer's queue is full: the peer is not reading.
    Full,
}

/// Every peer-wire stream of the node.
pub(super) struct Links {
    net: NetworkHandle,
    me: PeerId,
    links: HashMap<(ContentId, PeerId), Link>,
    next_id: u64,
    events: mpsc::Sender<StreamEvent>,
    /// Woken when a stream's queued block data falls below [`MAX_QUEUED_BYTES`].
    pub(super) room: Arc<Notify>,
}

impl Links {
    pub(super) fn new(net: NetworkHandle, events: mpsc::Sender<StreamEvent>) -> Links {
        Links {
            me: net.peer_id(),
            net,
            links: HashMap::new(),
            next_id: 0,
            events,
            room: Arc::new(Notify::new()),
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Opens a stream to `peer` for `cid`, sending `hello`. Returns false if one exists or is
    /// being opened already (it will report).
    pub(super) fn connect(&mut self, cid: ContentId, peer: PeerId, hello: PeerMessage) -> bool {
        if self.links.contains_key(&(cid, peer)) {
            return false;
        }
        let id = self.id();
        self.links.insert(
            (cid, peer),
            Link {
                id,
                outbound: true,
                state: State::Opening,
            },
        );
        let (net, events) = (self.net.clone(), self.events.clone());
        tokio::spawn(async move {
            let result = tokio::time::timeout(HANDSHAKE_TIMEOUT, open(&net, cid, peer, hello))
                .await
                .unwrap_or_else(|_| Err("no hello in time".to_string()));
            let _ = events.send(StreamEvent::Opened { cid, peer, id, result }).await;
        });
        true
    }

    /// Whether the stream `id` that just opened to `peer` is still wanted.
    pub(super) fn opened(&self, cid: ContentId, peer: PeerId, id: u64) -> bool {
        self.links
            .get(&(cid, peer))
            .is_some_and(|l| l.id == id && matches!(l.state, State::Opening))
    }

    /// Forgets a link that failed to open.
    pub(super) fn failed(&mut self, cid: ContentId, peer: PeerId, id: u64) -> bool {
        if self.links.get(&(cid, peer)).is_some_and(|l| l.id == id) {
            self.links.remove(&(cid, peer));
            return true;
        }
        false
    }

    /// Decides whether to take a stream `peer` opened for `cid`, by the rule in the module
    /// documentation. `Some(replaced)`: take it (`replaced`: an open stream of ours was dropped
    /// for it, so the session must hear that the old one closed).
    pub(super) fn admit_inbound(&mut self, cid: ContentId, peer: PeerId) -> Option<bool> {
        match self.links.get(&(cid, peer)) {
            None => Some(false),
            Some(l) if l.outbound && peer < self.me => {
                let replaced = matches!(l.state, State::Up(_));
                self.close(cid, peer);
                Some(replaced)
            }
            Some(_) => None,
        }
    }

    /// Starts the reader and writer of an open stream; `hello` is written first (the answer to
    /// an inbound stream), if any.
    pub(super) fn run(&mut self, cid: ContentId, peer: PeerId, outbound: bool, stream: cairn_p2p::Stream, hello: Option<PeerMessage>) {
        let id = match self.links.get(&(cid, peer)) {
            Some(l) if outbound => l.id,
            _ => self.id(),
        };
        let (read, write) = stream.split();
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        let queued = Arc::new(AtomicUsize::new(0));
        let first = hello.map(|h| h.encode());
        tokio::spawn(write_frames(write, rx, first, queued.clone(), self.room.clone()));
        let events = self.events.clone();
        let reader = tokio::spawn(read_frames(read, cid, peer, id, events)).abort_handle();
        self.links.insert(
            (cid, peer),
            Link {
                id,
                outbound,
                state: State::Up(Up { tx, queued, reader }),
            },
        );
    }

    /// Whether `id` is the current stream with `peer` for `cid`.
    pub(super) fn is_current(&self, cid: ContentId, peer: PeerId, id: u64) -> bool {
        self.links.get(&(cid, peer)).is_some_and(|l| l.id == id)
    }

    /// Queues a message.
    ///
    /// # Errors
    /// No open stream, or its queue is full.
    pub(super) fn send(&self, cid: ContentId, peer: PeerId, msg: &PeerMessage) -> Result<(), SendError> {
        let Some(Link { state: State::Up(up), .. }) = self.links.get(&(cid, peer)) else {
            return Err(SendError::NoStream);
        };
        up.tx.try_send((msg.encode(), 0)).map_err(|_| SendError::Full)
    }

    /// Whether the stream has room for another block (see [`MAX_QUEUED_BYTES`]).
    pub(super) fn has_room(&self, cid: ContentId, peer: &PeerId) -> bool {
        match self.links.get(&(cid, *peer)) {
            Some(Link { state: State::Up(up), .. }) => up.queued.load(Ordering::Relaxed) < MAX_QUEUED_BYTES,
            _ => true,
        }
    }

    /// Counts `len` bytes of block data as queued for the stream (the block is being read).
    pub(super) fn reserve(&self, cid: ContentId, peer: PeerId, len: usize) -> Option<Arc<AtomicUsize>> {
        match self.links.get(&(cid, peer)) {
            Some(Link { state: State::Up(up), .. }) => {
                up.queued.fetch_add(len, Ordering::Relaxed);
                Some(up.queued.clone())
            }
            _ => None,
        }
    }

    /// Sends the `Piece` frame of a block read for `peer` (its `len` bytes of data were
    /// reserved); false if the stream is gone or full.
    pub(super) fn send_block(&self, cid: ContentId, peer: PeerId, frame: Vec<u8>, len: usize) -> bool {
        let Some(Link { state: State::Up(up), .. }) = self.links.get(&(cid, peer)) else {
            return false;
        };
        up.tx.try_send((frame, len)).is_ok()
    }

    /// Closes the stream with `peer` for `cid` (or stops waiting for it to open).
    pub(super) fn close(&mut self, cid: ContentId, peer: PeerId) {
        if let Some(Link { state: State::Up(up), .. }) = self.links.remove(&(cid, peer)) {
            up.reader.abort();
        }
    }

    /// Closes every stream of `cid`.
    pub(super) fn close_file(&mut self, cid: ContentId) {
        let peers: Vec<PeerId> = self.links.keys().filter(|(c, _)| *c == cid).map(|(_, p)| *p).collect();
        for p in peers {
            self.close(cid, p);
        }
    }
}

/// Opens a stream, sends `hello`, reads the peer's.
async fn open(net: &NetworkHandle, cid: ContentId, peer: PeerId, hello: PeerMessage) -> Result<(cairn_p2p::Stream, Vec<u8>), String> {
    let mut stream = net.open_stream(peer).await.map_err(|e| e.to_string())?;
    stream.write_all(&hello.encode()).await.map_err(|e| e.to_string())?;
    stream.flush().await.map_err(|e| e.to_string())?;
    match peer_wire::read_frame(&mut stream, &mut Vec::new()).await {
        Ok(Some(PeerMessage::Hello { cid: theirs, bitfield })) if theirs == cid => Ok((stream, bitfield)),
        Ok(Some(_)) => Err("the peer answered with something else than its hello".into()),
        Ok(None) => Err("the peer does not share the file".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Takes the streams peers open, reads their `Hello` and hands them to the service.
pub(super) async fn accept(net: NetworkHandle, events: mpsc::Sender<StreamEvent>) {
    let mut incoming = match net.accept_streams() {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "cannot accept file-sharing streams");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    while let Some((peer, mut stream)) = incoming.next().await {
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            debug!(%peer, "too many streams opening: dropped");
            continue;
        };
        let events = events.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let first = tokio::time::timeout(HANDSHAKE_TIMEOUT, peer_wire::read_frame(&mut stream, &mut Vec::new())).await;
            match first {
                Ok(Ok(Some(PeerMessage::Hello { cid, bitfield }))) => {
                    let _ = events
                        .send(StreamEvent::Inbound {
                            cid,
                            peer,
                            bitfield,
                            stream,
                        })
                        .await;
                }
                Ok(Ok(other)) => debug!(%peer, first = ?other.map(|m| m.kind()), "a stream that did not start with hello"),
                Ok(Err(e)) => debug!(%peer, error = %e, "a stream failed before its hello"),
                Err(_) => debug!(%peer, "no hello in time"),
            }
        });
    }
}

async fn read_frames(
    read: futures::io::ReadHalf<cairn_p2p::Stream>,
    cid: ContentId,
    peer: PeerId,
    id: u64,
    events: mpsc::Sender<StreamEvent>,
) {
    // A frame is read in three parts (length, kind, body): buffered, they are one trip to the
    // muxer (and its lock) for several frames rather than three per frame.
    let mut read = futures::io::BufReader::with_capacity(WRITE_BUFFER, read);
    let mut buf = Vec::new();
    let error = loop {
        match peer_wire::read_frame(&mut read, &mut buf).await {
            Ok(Some(msg)) => {
                if events.send(StreamEvent::Message { cid, peer, id, msg }).await.is_err() {
                    return;
                }
            }
            Ok(None) => break None,
            Err(e) => break Some(e.to_string()),
        }
    };
    let _ = events.send(StreamEvent::Closed { cid, peer, id, error }).await;
}

/// Bytes the writer gathers before it hands them to the muxer. yamux cuts what it is given into
/// frames of at most 16 KiB: written one by one, each 16 KiB block and its 17-byte header would
/// be two yamux frames (and two trips through noise); gathered, blocks are about one each.
const WRITE_BUFFER: usize = 64 * 1024;

async fn write_frames(
    write: futures::io::WriteHalf<cairn_p2p::Stream>,
    mut rx: mpsc::Receiver<(Vec<u8>, usize)>,
    first: Option<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    room: Arc<Notify>,
) {
    let mut write = futures::io::BufWriter::with_capacity(WRITE_BUFFER, write);
    if let Some(first) = first
        && (write.write_all(&first).await.is_err() || write.flush().await.is_err())
    {
        return;
    }
    while let Some(frame) = rx.recv().await {
        let mut batch = vec![frame];
        while batch.len() < 64 {
            match rx.try_recv() {
                Ok(f) => batch.push(f),
                Err(_) => break,
            }
        }
        for (frame, data) in batch {
            if write.write_all(&frame).await.is_err() {
                return;
            }
            if data > 0 {
                let before = queued.fetch_sub(data, Ordering::Relaxed);
                if before >= MAX_QUEUED_BYTES && before - data < MAX_QUEUED_BYTES {
                    room.notify_one();
                }
            }
        }
        if write.flush().await.is_err() {
            return;
        }
    }
    let _ = write.close().await;
}
