//! The cloneable handle the rest of the node uses to talk to the network, the commands it sends
//! to the event loop, and the events the event loop sends back.
//!
//! Commands go through one bounded queue; a command that needs an answer carries a oneshot
//! sender. Events come out of another bounded queue, which the node drains with a router.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use libp2p::gossipsub::{MessageAcceptance, MessageId};
use libp2p::request_response::ResponseChannel;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};

use crate::chord::message::{IndexRequest, IndexResponse};
use crate::content::{ContentRequest, ContentResponse};
use crate::error::{NetworkError, RequestError};
use crate::peer::{BanEntry, PeerSummary};
use crate::subnet::Subnet;
use crate::sync_protocol::{SyncRequest, SyncResponse};
use crate::topic::Topic;

/// Capacity of the command queue.
pub const COMMAND_QUEUE: usize = 1024;
/// Capacity of the event queue.
pub const EVENT_QUEUE: usize = 4096;

/// The verdict on a gossip message, once the chain has decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Valid and new: forward it.
    Accept,
    /// Invalid: drop it and penalize the peer that sent it.
    Reject,
    /// Valid but not worth forwarding (a duplicate, an orphan): drop it.
    Ignore,
}

impl From<Verdict> for MessageAcceptance {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Accept => MessageAcceptance::Accept,
            Verdict::Reject => MessageAcceptance::Reject,
            Verdict::Ignore => MessageAcceptance::Ignore,
        }
    }
}

/// Most bytes of gossip waiting in the event queue for the node: beyond this, new messages are
/// dropped (and reported Ignore) until the node catches up. The count bound of the queue alone
/// would allow thousands of 1 MiB blocks.
pub const MAX_QUEUED_GOSSIP_BYTES: usize = 64 * 1024 * 1024;

/// The payload of a gossip message, counted against [`MAX_QUEUED_GOSSIP_BYTES`] until dropped.
pub struct GossipData {
    data: Vec<u8>,
    budget: Arc<AtomicUsize>,
}

impl GossipData {
    /// Takes `data` if the budget allows.
    pub(crate) fn reserve(data: Vec<u8>, budget: &Arc<AtomicUsize>) -> Option<GossipData> {
        let len = data.len();
        let mut current = budget.load(Ordering::Relaxed);
        loop {
            if current + len > MAX_QUEUED_GOSSIP_BYTES {
                return None;
            }
            match budget.compare_exchange_weak(current, current + len, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => {
                    return Some(GossipData {
                        data,
                        budget: budget.clone(),
                    });
                }
                Err(now) => current = now,
            }
        }
    }
}

impl std::ops::Deref for GossipData {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.data
    }
}

impl Drop for GossipData {
    fn drop(&mut self) {
        self.budget.fetch_sub(self.data.len(), Ordering::AcqRel);
    }
}

impl std::fmt::Debug for GossipData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GossipData({} bytes)", self.data.len())
    }
}

/// A pending answer to an inbound sync request.
#[derive(Debug)]
pub struct Responder(pub(crate) ResponseChannel<SyncResponse>);

/// A pending answer to an inbound content request.
#[derive(Debug)]
pub struct ContentResponder(pub(crate) ResponseChannel<ContentResponse>);

/// Capacity of the content event queue (block requests arrive by the thousand per second).
pub const CONTENT_EVENT_QUEUE: usize = 8192;

/// What the network tells the file-sharing service (on its own queue, so that file transfers
/// never delay blocks and transactions).
#[derive(Debug)]
pub enum ContentEvent {
    /// A content request to answer with [`NetworkHandle::respond_content`]. If the service's
    /// queue is full the request is dropped and fails on the asking side.
    Request {
        /// The asking peer.
        peer: PeerId,
        /// The request.
        request: ContentRequest,
        /// Where the answer goes.
        responder: ContentResponder,
    },
    /// A peer's last connection closed.
    PeerDisconnected {
        /// The peer.
        peer: PeerId,
    },
}

/// A pending answer to an inbound index request.
#[derive(Debug)]
pub struct IndexResponder(pub(crate) ResponseChannel<IndexResponse>);

/// Capacity of the index event queue.
pub const INDEX_EVENT_QUEUE: usize = 4096;

/// What the network tells the content index (on its own queue).
#[derive(Debug)]
#[expect(clippy::large_enum_variant, reason = "a few hundred bytes, moved once per request")]
pub enum IndexEvent {
    /// An index request to answer with [`NetworkHandle::respond_index`]; dropped (failing on
    /// the asking side) if the queue is full.
    Request {
        /// The asking peer.
        peer: PeerId,
        /// The request.
        request: IndexRequest,
        /// Where the answer goes.
        responder: IndexResponder,
    },
    /// A peer's first connection opened.
    Connected {
        /// The peer.
        peer: PeerId,
        /// Whether we dialed it on purpose (an added peer, or one discovery chose), rather than
        /// to reach it on the ring or for a file: such peers are flooding neighbours.
        neighbor: bool,
    },
    /// A peer's last connection closed.
    Disconnected {
        /// The peer.
        peer: PeerId,
    },
}

/// What the network tells the node.
#[derive(Debug)]
pub enum NetworkEvent {
    /// A peer's first connection opened.
    PeerConnected {
        /// The peer.
        peer: PeerId,
        /// Whether it dialed us.
        inbound: bool,
    },
    /// A peer's last connection closed.
    PeerDisconnected {
        /// The peer.
        peer: PeerId,
    },
    /// A gossip message that awaits a [`Verdict`].
    Gossip {
        /// Its topic.
        topic: Topic,
        /// Its id, for the verdict.
        id: MessageId,
        /// The peer that forwarded it to us.
        source: PeerId,
        /// The payload.
        data: GossipData,
    },
    /// A sync request to answer with [`NetworkHandle::respond`].
    Request {
        /// The asking peer.
        peer: PeerId,
        /// The request.
        request: SyncRequest,
        /// Where the answer goes.
        responder: Responder,
    },
}

/// The node's own network facts, for `getnetworkinfo`.
#[derive(Clone, Debug)]
pub struct NetworkInfo {
    /// Our peer id.
    pub peer_id: PeerId,
    /// Where we listen, each ending in `/p2p/<peer id>`.
    pub listen_addrs: Vec<Multiaddr>,
    /// Inbound connections (peers).
    pub inbound: usize,
    /// Outbound connections (peers).
    pub outbound: usize,
    /// Peers currently banned.
    pub banned: usize,
    /// Whether network activity is on (`setnetworkactive`).
    pub active: bool,
}

/// An address added with `addnode add`, and the peer connected through it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddedNodeInfo {
    /// The address as added.
    pub addr: Multiaddr,
    /// The peer connected through it, if any.
    pub connected: Option<PeerId>,
}

/// How `addnode` treats an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddNode {
    /// Keep connected, redialing with backoff.
    Add,
    /// Stop redialing.
    Remove,
    /// Dial once.
    OneTry,
}

#[derive(Debug)]
#[expect(clippy::large_enum_variant, reason = "a few hundred bytes, moved once per command")]
pub(crate) enum Command {
    Publish {
        topic: Topic,
        data: Vec<u8>,
    },
    Report {
        id: MessageId,
        source: PeerId,
        topic: Topic,
        verdict: Verdict,
    },
    Request {
        peer: PeerId,
        request: SyncRequest,
        reply: oneshot::Sender<Result<SyncResponse, RequestError>>,
    },
    Respond {
        responder: Responder,
        response: SyncResponse,
    },
    ContentRequest {
        peer: PeerId,
        request: ContentRequest,
        reply: oneshot::Sender<Result<ContentResponse, RequestError>>,
    },
    ContentRespond {
        responder: ContentResponder,
        response: ContentResponse,
    },
    IndexRequest {
        peer: PeerId,
        addrs: Vec<Multiaddr>,
        request: IndexRequest,
        reply: oneshot::Sender<Result<IndexResponse, RequestError>>,
    },
    IndexRespond {
        responder: IndexResponder,
        response: IndexResponse,
    },
    AddAddresses {
        peer: PeerId,
        addrs: Vec<Multiaddr>,
    },
    AddNode {
        addr: Multiaddr,
        how: AddNode,
        reply: oneshot::Sender<Result<(), NetworkError>>,
    },
    Ban {
        peer: PeerId,
        duration: Duration,
        reason: String,
    },
    NoteChain {
        peer: PeerId,
        best_height: u32,
        synced_height: Option<u32>,
    },
    Peers {
        reply: oneshot::Sender<Vec<PeerSummary>>,
    },
    Info {
        reply: oneshot::Sender<NetworkInfo>,
    },
    Banned {
        reply: oneshot::Sender<Vec<BanEntry>>,
    },
    Unban {
        peer: Option<PeerId>,
        reply: oneshot::Sender<bool>,
    },
    BanSubnet {
        subnet: Subnet,
        duration: Duration,
        reply: oneshot::Sender<()>,
    },
    UnbanSubnet {
        subnet: Subnet,
        reply: oneshot::Sender<bool>,
    },
    BannedSubnets {
        reply: oneshot::Sender<Vec<BanEntry<Subnet>>>,
    },
    Disconnect {
        peer: PeerId,
        reply: oneshot::Sender<bool>,
    },
    SetActive {
        active: bool,
        reply: oneshot::Sender<()>,
    },
    AddedNodes {
        reply: oneshot::Sender<Vec<AddedNodeInfo>>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// A cloneable handle to the network's event loop.
#[derive(Clone, Debug)]
pub struct NetworkHandle {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) peer_id: PeerId,
    pub(crate) streams: Streams,
    /// Bytes exchanged with all peers since the start.
    pub(crate) totals: std::sync::Arc<crate::transport::Traffic>,
}

/// Opens and accepts the file swarm's peer-wire streams (`libp2p-stream`'s control, and the
/// protocol name).
#[derive(Clone)]
pub(crate) struct Streams {
    pub(crate) control: libp2p_stream::Control,
    pub(crate) protocol: libp2p::StreamProtocol,
}

impl std::fmt::Debug for Streams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streams").field("protocol", &self.protocol).finish_non_exhaustive()
    }
}

/// Why a peer-wire stream could not be opened or accepted.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The peer does not speak the protocol, or could not be reached.
    #[error("{0}")]
    Open(String),
    /// Inbound streams are already being accepted elsewhere.
    #[error("peer-wire streams are already accepted elsewhere")]
    AlreadyAccepted,
}

impl NetworkHandle {
    /// Our peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Bytes (sent, received) with all peers since the network started: the payload of every
    /// substream, above noise and yamux framing, as `getpeerinfo` counts per peer.
    pub fn traffic_totals(&self) -> (u64, u64) {
        (self.totals.sent(), self.totals.received())
    }

    /// Opens a peer-wire stream to `peer` (dialing it first if needed).
    ///
    /// # Errors
    /// The peer cannot be reached or does not speak the protocol.
    pub async fn open_stream(&self, peer: PeerId) -> Result<libp2p::Stream, StreamError> {
        let mut control = self.streams.control.clone();
        control
            .open_stream(peer, self.streams.protocol.clone())
            .await
            .map_err(|e| StreamError::Open(e.to_string()))
    }

    /// The peer-wire streams other peers open to us (one taker per node).
    ///
    /// # Errors
    /// They are already taken.
    pub fn accept_streams(&self) -> Result<libp2p_stream::IncomingStreams, StreamError> {
        let mut control = self.streams.control.clone();
        control
            .accept(self.streams.protocol.clone())
            .map_err(|_| StreamError::AlreadyAccepted)
    }

    /// Queues a command that needs no answer; drops it (with a warning) if the queue is full,
    /// so callers on any thread never wait on the network.
    fn send_lossy(&self, command: Command) {
        if let Err(e) = self.commands.try_send(command) {
            tracing::warn!(error = %e, "network command queue full or closed: command dropped");
        }
    }

    async fn ask<R>(&self, make: impl FnOnce(oneshot::Sender<R>) -> Command) -> Option<R> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.ok()?;
        rx.await.ok()
    }

    /// Publishes a block or transaction on its topic.
    pub fn publish(&self, topic: Topic, data: Vec<u8>) {
        self.send_lossy(Command::Publish { topic, data });
    }

    /// Reports the verdict on a gossip message (exactly once per message). Waits for room in
    /// the command queue rather than lose it (the event loop never waits on the node, so this
    /// cannot deadlock).
    /// An accepted message dates the peer's `last_block` / `last_transaction`.
    pub async fn report(&self, id: MessageId, source: PeerId, topic: Topic, verdict: Verdict) {
        let _ = self
            .commands
            .send(Command::Report {
                id,
                source,
                topic,
                verdict,
            })
            .await;
    }

    /// Sends a sync request and waits for the answer (bounded by the protocol's timeout).
    ///
    /// # Errors
    /// The network stopped, too many requests are in flight, or the request failed.
    pub async fn request(&self, peer: PeerId, request: SyncRequest) -> Result<SyncResponse, RequestError> {
        self.ask(|reply| Command::Request { peer, request, reply })
            .await
            .unwrap_or(Err(RequestError::Stopped))
    }

    /// Answers an inbound sync request.
    pub fn respond(&self, responder: Responder, response: SyncResponse) {
        self.send_lossy(Command::Respond { responder, response });
    }

    /// Sends a content request and waits for the answer (bounded by the protocol's timeout).
    ///
    /// # Errors
    /// The network stopped, too many requests are in flight, or the request failed.
    pub async fn content_request(&self, peer: PeerId, request: ContentRequest) -> Result<ContentResponse, RequestError> {
        self.ask(|reply| Command::ContentRequest { peer, request, reply })
            .await
            .unwrap_or(Err(RequestError::Stopped))
    }

    /// Answers an inbound content request.
    pub fn respond_content(&self, responder: ContentResponder, response: ContentResponse) {
        self.send_lossy(Command::ContentRespond { responder, response });
    }

    /// Sends an index request to `peer` (dialing `addrs` if not connected).
    ///
    /// # Errors
    /// The request failed or timed out, too many are pending, or the network stopped.
    pub async fn index_request(&self, peer: PeerId, addrs: Vec<Multiaddr>, request: IndexRequest) -> Result<IndexResponse, RequestError> {
        self.ask(|reply| Command::IndexRequest {
            peer,
            addrs,
            request,
            reply,
        })
        .await
        .unwrap_or(Err(RequestError::Stopped))
    }

    /// Answers an inbound index request.
    pub fn respond_index(&self, responder: IndexResponder, response: IndexResponse) {
        self.send_lossy(Command::IndexRespond { responder, response });
    }

    /// Tells the Swarm where `peer` listens (for a provider found on the ring, before its
    /// content is requested).
    pub fn add_addresses(&self, peer: PeerId, addrs: Vec<Multiaddr>) {
        if !addrs.is_empty() {
            self.send_lossy(Command::AddAddresses { peer, addrs });
        }
    }

    /// `addnode`: adds, removes or tries an address.
    ///
    /// # Errors
    /// Already added, never added, an address that cannot be dialed, or the network stopped.
    pub async fn add_node(&self, addr: Multiaddr, how: AddNode) -> Result<(), NetworkError> {
        self.ask(|reply| Command::AddNode { addr, how, reply })
            .await
            .unwrap_or(Err(NetworkError::Stopped))
    }

    /// Disconnects and bans a misbehaving peer (waits for room in the command queue).
    pub async fn ban(&self, peer: PeerId, duration: Duration, reason: impl Into<String>) {
        let command = Command::Ban {
            peer,
            duration,
            reason: reason.into(),
        };
        let _ = self.commands.send(command).await;
    }

    /// Records what sync learned about a peer's chain (shown by `getpeerinfo`).
    pub fn note_chain(&self, peer: PeerId, best_height: u32, synced_height: Option<u32>) {
        self.send_lossy(Command::NoteChain {
            peer,
            best_height,
            synced_height,
        });
    }

    /// The connected peers.
    ///
    /// # Errors
    /// The network stopped.
    pub async fn peers(&self) -> Result<Vec<PeerSummary>, NetworkError> {
        self.ask(|reply| Command::Peers { reply }).await.ok_or(NetworkError::Stopped)
    }

    /// Our network facts.
    ///
    /// # Errors
    /// The network stopped.
    pub async fn info(&self) -> Result<NetworkInfo, NetworkError> {
        self.ask(|reply| Command::Info { reply }).await.ok_or(NetworkError::Stopped)
    }

    /// The bans in force.
    ///
    /// # Errors
    /// The network stopped.
    pub async fn banned(&self) -> Result<Vec<BanEntry>, NetworkError> {
        self.ask(|reply| Command::Banned { reply }).await.ok_or(NetworkError::Stopped)
    }

    /// Lifts the ban of `peer` (`None`: every ban). Returns whether a ban was lifted.
    ///
    /// # Errors
    /// The network stopped.
    pub async fn unban(&self, peer: Option<PeerId>) -> Result<bool, NetworkError> {
        self.ask(|reply| Command::Unban { peer, reply }).await.ok_or(NetworkError::Stopped)
    }

    /// Bans an IP subnet for `duration`: its connections are closed and refused.
    ///
    /// # Errors
    /// The network stopped.
    pub async fn ban_subnet(&self, subnet: Subnet, duration: Duration) -> Result<(), NetworkError> {
        self.ask(|reply| Command::BanSubnet { subnet, duration, reply })
            .await
            .ok_or(NetworkError::Stopped)
    }

    /// Lifts the ban of `subnet` (written as it was banned, or any way that normalizes to it).
    /// Returns whether there was one.
    ///
    /// # Errors
    /// The network stopped.
    pub async fn unban_subnet(&self, subnet: Subnet) -> Result<bool, NetworkError> {
        self.ask(|reply| Command::UnbanSubnet { subnet, reply })
            .await
            .ok_or(NetworkError::Stopped)
    }

    /// The subnet bans in force (`unban(None)` lifts these too).
    ///
    /// # Errors
    /// The network stopped.
    pub async fn banned_subnets(&self) -> Result<Vec<BanEntry<Subnet>>, NetworkError> {
        self.ask(|reply| Command::BannedSubnets { reply })
            .await
            .ok_or(NetworkError::Stopped)
    }

    /// Closes every connection with `peer` (it may reconnect). Returns whether it was connected.
    ///
    /// # Errors
    /// The network stopped.
    pub async fn disconnect(&self, peer: PeerId) -> Result<bool, NetworkError> {
        self.ask(|reply| Command::Disconnect { peer, reply })
            .await
            .ok_or(NetworkError::Stopped)
    }

    /// Stops the event loop (connections close) and waits until it has.
    /// Turns all network activity off or on (`setnetworkactive`).
    ///
    /// # Errors
    /// The network has stopped.
    pub async fn set_active(&self, active: bool) -> Result<(), NetworkError> {
        self.ask(|reply| Command::SetActive { active, reply })
            .await
            .ok_or(NetworkError::Stopped)
    }

    /// The addresses added with `addnode add` (`getaddednodeinfo`).
    ///
    /// # Errors
    /// The network has stopped.
    pub async fn added_nodes(&self) -> Result<Vec<AddedNodeInfo>, NetworkError> {
        self.ask(|reply| Command::AddedNodes { reply }).await.ok_or(NetworkError::Stopped)
    }

    pub async fn shutdown(&self) {
        let _ = self.ask(|reply| Command::Shutdown { reply }).await;
    }
}
