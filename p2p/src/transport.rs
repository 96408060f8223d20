//! The transport: TCP, noise, yamux, with a byte count per peer.
//!
//! Core's `getpeerinfo` reports `bytessent` and `bytesrecv`. libp2p has no per-peer counter, so
//! the muxer of every authenticated connection is wrapped: each substream counts what the
//! application reads and writes through it (payload bytes above noise and yamux framing, as
//! Core counts message bytes) into the [`Traffic`] of the connection's peer.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};

use futures::{AsyncRead, AsyncWrite};
use libp2p::core::muxing::{StreamMuxer, StreamMuxerBox, StreamMuxerEvent, SubstreamBox};
use libp2p::core::transport::Boxed;
use libp2p::core::upgrade::Version;
use libp2p::identity::Keypair;
use libp2p::{PeerId, Transport, noise, tcp, yamux};

/// Bytes exchanged with one peer, over all its connections.
#[derive(Debug, Default)]
pub struct Traffic {
    sent: AtomicU64,
    received: AtomicU64,
    /// Unix seconds of the last bytes sent (0: none yet).
    last_sent: AtomicU64,
    /// Unix seconds of the last bytes received (0: none yet).
    last_received: AtomicU64,
}

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Traffic {
    /// Unix seconds when bytes were last sent to the peer (Core's `lastsend`; 0 if never).
    pub fn last_sent(&self) -> u64 {
        self.last_sent.load(Ordering::Relaxed)
    }

    /// Unix seconds when bytes were last received from the peer (Core's `lastrecv`; 0 if never).
    pub fn last_received(&self) -> u64 {
        self.last_received.load(Ordering::Relaxed)
    }

    /// Bytes sent to the peer.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Bytes received from the peer.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

/// The counters of every peer with a live connection, and the node's totals since it started
/// (Core's `getnettotals`). The table holds weak references: the connections own the counters,
/// so a connection that the limits or the ban list refuse after its upgrade leaves nothing
/// behind once [`TrafficTable::prune`] runs.
#[derive(Clone, Debug, Default)]
pub struct TrafficTable(Arc<Mutex<HashMap<PeerId, Weak<Traffic>>>>, Arc<Traffic>);

impl TrafficTable {
    /// Bytes exchanged with every peer since the node started.
    pub fn totals(&self) -> Arc<Traffic> {
        self.1.clone()
    }

    fn entry(&self, peer: PeerId) -> Arc<Traffic> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = map.get(&peer).and_then(Weak::upgrade) {
            return t;
        }
        let t = Arc::new(Traffic::default());
        map.insert(peer, Arc::downgrade(&t));
        t
    }

    /// The counters of `peer`, if it has a live connection.
    pub fn get(&self, peer: &PeerId) -> Option<Arc<Traffic>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(peer).and_then(Weak::upgrade)
    }

    /// Forgets peers without a live connection.
    pub fn prune(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, t| t.strong_count() > 0);
    }

    /// Forgets a peer that has no connection left.
    pub fn remove(&self, peer: &PeerId) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(peer);
    }
}

/// Builds the TCP + noise + yamux transport, counting bytes into `traffic`.
///
/// # Errors
/// The noise configuration cannot be built from the key.
pub fn build(key: &Keypair, traffic: TrafficTable) -> Result<Boxed<(PeerId, StreamMuxerBox)>, noise::Error> {
    let tcp = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true));
    Ok(tcp
        .upgrade(Version::V1Lazy)
        .authenticate(noise::Config::new(key)?)
        .multiplex(yamux::Config::default())
        .map(move |(peer, muxer), _| {
            let counted = CountingMuxer {
                inner: StreamMuxerBox::new(muxer),
                traffic: traffic.entry(peer),
                totals: traffic.totals(),
            };
            (peer, StreamMuxerBox::new(counted))
        })
        .boxed())
}

struct CountingMuxer {
    inner: StreamMuxerBox,
    traffic: Arc<Traffic>,
    totals: Arc<Traffic>,
}

impl StreamMuxer for CountingMuxer {
    type Substream = SubstreamBox;
    type Error = io::Error;

    fn poll_inbound(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<SubstreamBox, io::Error>> {
        let (traffic, totals) = (self.traffic.clone(), self.totals.clone());
        Pin::new(&mut self.inner)
            .poll_inbound(cx)
            .map_ok(|s| SubstreamBox::new(CountingStream { inner: s, traffic, totals }))
    }

    fn poll_outbound(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<SubstreamBox, io::Error>> {
        let (traffic, totals) = (self.traffic.clone(), self.totals.clone());
        Pin::new(&mut self.inner)
            .poll_outbound(cx)
            .map_ok(|s| SubstreamBox::new(CountingStream { inner: s, traffic, totals }))
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<StreamMuxerEvent, io::Error>> {
        Pin::new(&mut self.inner).poll(cx)
    }
}

struct CountingStream {
    inner: SubstreamBox,
    traffic: Arc<Traffic>,
    totals: Arc<Traffic>,
}

impl AsyncRead for CountingStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled
            && *n > 0
        {
            self.traffic.last_received.store(unix_secs(), Ordering::Relaxed);
            self.traffic.received.fetch_add(*n as u64, Ordering::Relaxed);
            self.totals.received.fetch_add(*n as u64, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for CountingStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled
            && *n > 0
        {
            self.traffic.last_sent.store(unix_secs(), Ordering::Relaxed);
            self.traffic.sent.fetch_add(*n as u64, Ordering::Relaxed);
            self.totals.sent.fetch_add(*n as u64, Ordering::Relaxed);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}
