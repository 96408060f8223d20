//! The index protocol's messages (`/cairn/<network>/chord/1.3.0`): the Chord ring's requests and
//! answers between (virtual) nodes, and the Gnutella-style flooded search between direct
//! neighbours.
//!
//! Bytes: a tag, fixed-size fields little-endian, variable ones with a length prefix; decoding is
//! strict (no trailing bytes) and every length is bounded before allocating. A node on the wire is
//! its peer id, virtual-node index and a few listen addresses; its ring id is **recomputed** from
//! the peer id on decoding, so no node can claim a place on the ring it does not hash to.

use libp2p::{Multiaddr, PeerId};

use super::id::ChordId;
use super::records::{MAX_VALUE, Record};
use super::routing::{Entry, Step};
use super::state::{MAX_EXCLUDE, MAX_HANDOVER, Request, Response};
use crate::content::ContentId;

/// Largest encoded message either way.
pub const MAX_MESSAGE: usize = 8 * 1024 * 1024;
/// Most addresses carried for one node.
pub const MAX_ADDRS: usize = 4;
/// Longest encoded address.
const MAX_ADDR_LEN: usize = 256;
/// Most nodes in a successor list on the wire.
const MAX_LIST: usize = 64;
/// Longest flooded query text.
pub const MAX_QUERY: usize = 256;
/// Longest file name carried in a hit.
pub const MAX_NAME: usize = 1024;
/// Most hits in one answer.
pub const MAX_HITS: usize = 256;

/// How a ring node is reached: its peer, which of its virtual nodes, and where it listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerAddr {
    /// The libp2p peer.
    pub peer: PeerId,
    /// The virtual node index within that peer (0 for the first).
    pub vnode: u8,
    /// Listen addresses (at most [`MAX_ADDRS`]).
    pub addrs: Vec<Multiaddr>,
}

/// The ring id of virtual node `vnode` of `peer`: SHA-256 of the peer id's bytes for the first,
/// of the bytes followed by the index for the others.
pub fn node_id(peer: &PeerId, vnode: u8) -> ChordId {
    let mut bytes = peer.to_bytes();
    if vnode > 0 {
        bytes.push(vnode);
    }
    ChordId::hash(&bytes)
}

/// A ring node entry as carried by the protocol.
pub type NodeEntry = Entry<PeerAddr>;

/// Builds the entry of `peer`'s virtual node `vnode`.
pub fn node_entry(peer: PeerId, vnode: u8, addrs: Vec<Multiaddr>) -> NodeEntry {
    Entry {
        id: node_id(&peer, vnode),
        addr: PeerAddr { peer, vnode, addrs },
    }
}

/// A flooded search query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FloodQuery {
    /// Unique id: nodes that saw it already answer nothing.
    pub id: [u8; 16],
    /// Hops it may still travel (the receiver forwards with `ttl - 1` while above 1).
    pub ttl: u8,
    /// Hops travelled so far, counting the one that brought it here.
    pub hops: u8,
    /// Text to find in file names (case-insensitive substring).
    pub text: String,
}

/// A file found by a flooded search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FloodHit {
    /// The file.
    pub cid: ContentId,
    /// Its name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// The node that has it.
    pub peer: PeerId,
    /// How many hops from the asker.
    pub hops: u8,
}

/// A request of the index protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(clippy::large_enum_variant, reason = "a few hundred bytes, moved once per request")]
pub enum IndexRequest {
    /// A Chord message for virtual node `vnode` of the receiver.
    Chord {
        /// Which of the receiver's virtual nodes.
        vnode: u8,
        /// The message.
        request: Request<PeerAddr>,
    },
    /// A flooded search.
    Flood(FloodQuery),
    /// "I keep you as a flooding neighbour": the receiver keeps the sender too.
    Neighbor,
}

/// An answer of the index protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexResponse {
    /// The Chord answer.
    Chord(Response<PeerAddr>),
    /// Hits of a flooded search.
    Hits(Vec<FloodHit>),
    /// Noted.
    Ack,
    /// No such virtual node here, or this node takes no part in the ring.
    NotHere,
}

pub use crate::wire::MessageError;
use crate::wire::{Reader, put_bytes};

fn string(r: &mut Reader<'_>, max: usize) -> Result<String, MessageError> {
    let b = r.bytes(max)?;
    String::from_utf8(b.to_vec()).map_err(|_| MessageError::Malformed("text is not UTF-8"))
}

fn peer(r: &mut Reader<'_>) -> Result<PeerId, MessageError> {
    let b = r.bytes(64)?;
    PeerId::from_bytes(b).map_err(|_| MessageError::Malformed("bad peer id"))
}

fn entry(r: &mut Reader<'_>) -> Result<NodeEntry, MessageError> {
    let peer = peer(r)?;
    let vnode = r.u8()?;
    let n = r.u8()? as usize;
    if n > MAX_ADDRS {
        return Err(MessageError::Malformed("too many addresses"));
    }
    let mut addrs = Vec::with_capacity(n);
    for _ in 0..n {
        let b = r.bytes(MAX_ADDR_LEN)?;
        addrs.push(Multiaddr::try_from(b.to_vec()).map_err(|_| MessageError::Malformed("bad address"))?);
    }
    Ok(node_entry(peer, vnode, addrs))
}

fn opt_entry(r: &mut Reader<'_>) -> Result<Option<NodeEntry>, MessageError> {
    match r.u8()? {
        0 => Ok(None),
        1 => Ok(Some(entry(r)?)),
        _ => Err(MessageError::Malformed("bad option")),
    }
}

fn entries(r: &mut Reader<'_>) -> Result<Vec<NodeEntry>, MessageError> {
    let n = r.count(MAX_LIST)?;
    (0..n).map(|_| entry(r)).collect()
}

fn records(r: &mut Reader<'_>) -> Result<Vec<Record>, MessageError> {
    let n = r.count(MAX_HANDOVER)?;
    let mut out = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        out.push(Record {
            key: ChordId(r.array32()?),
            kind: r.u8()?,
            sub: r.array32()?,
            value: r.bytes(MAX_VALUE)?.to_vec(),
            ttl: r.u64()?,
        });
    }
    Ok(out)
}

/// A list of at most `MAX_EXCLUDE` ring ids (nodes an asker found dead).
fn put_ids(out: &mut Vec<u8>, ids: &[ChordId]) {
    let ids = &ids[..ids.len().min(MAX_EXCLUDE)];
    out.push(ids.len() as u8);
    for x in ids {
        out.extend_from_slice(&x.0);
    }
}

fn ids(r: &mut Reader<'_>) -> Result<Vec<ChordId>, MessageError> {
    let n = r.u8()? as usize;
    if n > MAX_EXCLUDE {
        return Err(MessageError::Malformed("too many excluded nodes"));
    }
    (0..n).map(|_| r.array32().map(ChordId)).collect()
}

fn put_entry(out: &mut Vec<u8>, e: &NodeEntry) {
    put_bytes(out, &e.addr.peer.to_bytes());
    out.push(e.addr.vnode);
    let addrs: Vec<&Multiaddr> = e.addr.addrs.iter().filter(|a| a.len() <= MAX_ADDR_LEN).take(MAX_ADDRS).collect();
    out.push(addrs.len() as u8);
    for a in addrs {
        put_bytes(out, &a.to_vec());
    }
}

fn put_opt_entry(out: &mut Vec<u8>, e: Option<&NodeEntry>) {
    match e {
        None => out.push(0),
        Some(e) => {
            out.push(1);
            put_entry(out, e);
        }
    }
}

fn put_entries(out: &mut Vec<u8>, list: &[NodeEntry]) {
    let list = &list[..list.len().min(MAX_LIST)];
    out.extend_from_slice(&(list.len() as u32).to_le_bytes());
    for e in list {
        put_entry(out, e);
    }
}

fn put_records(out: &mut Vec<u8>, records: &[Record]) {
    let records: Vec<&Record> = records.iter().filter(|r| r.value.len() <= MAX_VALUE).take(MAX_HANDOVER).collect();
    out.extend_from_slice(&(records.len() as u32).to_le_bytes());
    for r in records {
        out.extend_from_slice(&r.key.0);
        out.push(r.kind);
        out.extend_from_slice(&r.sub);
        put_bytes(out, &r.value);
        out.extend_from_slice(&r.ttl.to_le_bytes());
    }
}

impl IndexRequest {
    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        match self {
            IndexRequest::Chord { vnode, request } => {
                out.push(0);
                out.push(*vnode);
                match request {
                    Request::FindSuccessor { key, exclude } => {
                        out.push(0);
                        out.extend_from_slice(&key.0);
                        put_ids(&mut out, exclude);
                    }
                    Request::GetState => out.push(1),
                    Request::Notify { node } => {
                        out.push(2);
                        put_entry(&mut out, node);
                    }
                    Request::Store {
                        records,
                        replicate,
                        exclude,
                    } => {
                        out.push(3);
                        out.push(u8::from(*replicate));
                        put_records(&mut out, records);
                        put_ids(&mut out, exclude);
                    }
                    Request::Get { key, exclude } => {
                        out.push(4);
                        out.extend_from_slice(&key.0);
                        put_ids(&mut out, exclude);
                    }
                    Request::TakeOver { node } => {
                        out.push(5);
                        put_entry(&mut out, node);
                    }
                    Request::Leaving {
                        node,
                        predecessor,
                        successors,
                    } => {
                        out.push(6);
                        put_entry(&mut out, node);
                        put_opt_entry(&mut out, predecessor.as_ref());
                        put_entries(&mut out, successors);
                    }
                }
            }
            IndexRequest::Flood(q) => {
                out.push(1);
                out.extend_from_slice(&q.id);
                out.push(q.ttl);
                out.push(q.hops);
                put_bytes(&mut out, q.text.as_bytes());
            }
            IndexRequest::Neighbor => out.push(2),
        }
        out
    }

    /// Reads wire bytes.
    ///
    /// # Errors
    /// Anything but exactly one well-formed request.
    pub fn decode(bytes: &[u8]) -> Result<IndexRequest, MessageError> {
        if bytes.len() > MAX_MESSAGE {
            return Err(MessageError::Malformed("message too large"));
        }
        let mut r = Reader(bytes);
        let msg = match r.u8()? {
            0 => {
                let vnode = r.u8()?;
                let request = match r.u8()? {
                    0 => Request::FindSuccessor {
                        key: ChordId(r.array32()?),
                        exclude: ids(&mut r)?,
                    },
                    1 => Request::GetState,
                    2 => Request::Notify { node: entry(&mut r)? },
                    3 => {
                        let replicate = r.bool()?;
                        Request::Store {
                            replicate,
                            records: records(&mut r)?,
                            exclude: ids(&mut r)?,
                        }
                    }
                    4 => Request::Get {
                        key: ChordId(r.array32()?),
                        exclude: ids(&mut r)?,
                    },
                    5 => Request::TakeOver { node: entry(&mut r)? },
                    6 => Request::Leaving {
                        node: entry(&mut r)?,
                        predecessor: opt_entry(&mut r)?,
                        successors: entries(&mut r)?,
                    },
                    t => return Err(MessageError::UnknownTag(t)),
                };
                IndexRequest::Chord { vnode, request }
            }
            1 => {
                let id: [u8; 16] = r.take(16)?.try_into().expect("16 bytes");
                let ttl = r.u8()?;
                let hops = r.u8()?;
                let text = string(&mut r, MAX_QUERY)?;
                IndexRequest::Flood(FloodQuery { id, ttl, hops, text })
            }
            2 => IndexRequest::Neighbor,
            t => return Err(MessageError::UnknownTag(t)),
        };
        r.end()?;
        Ok(msg)
    }
}

impl IndexResponse {
    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        match self {
            IndexResponse::Chord(response) => {
                out.push(0);
                match response {
                    Response::Step(Step::Done(e)) => {
                        out.push(0);
                        put_entry(&mut out, e);
                    }
                    Response::Step(Step::Next(e)) => {
                        out.push(1);
                        put_entry(&mut out, e);
                    }
                    Response::State { predecessor, successors } => {
                        out.push(2);
                        put_opt_entry(&mut out, predecessor.as_ref());
                        put_entries(&mut out, successors);
                    }
                    Response::Ack => out.push(3),
                    Response::Records(records) => {
                        out.push(4);
                        put_records(&mut out, records);
                    }
                }
            }
            IndexResponse::Hits(hits) => {
                out.push(1);
                let hits = &hits[..hits.len().min(MAX_HITS)];
                out.extend_from_slice(&(hits.len() as u32).to_le_bytes());
                for h in hits {
                    out.extend_from_slice(h.cid.as_bytes());
                    let name = truncate(&h.name, MAX_NAME);
                    put_bytes(&mut out, name.as_bytes());
                    out.extend_from_slice(&h.size.to_le_bytes());
                    put_bytes(&mut out, &h.peer.to_bytes());
                    out.push(h.hops);
                }
            }
            IndexResponse::Ack => out.push(2),
            IndexResponse::NotHere => out.push(3),
        }
        out
    }

    /// Reads wire bytes.
    ///
    /// # Errors
    /// Anything but exactly one well-formed answer.
    pub fn decode(bytes: &[u8]) -> Result<IndexResponse, MessageError> {
        if bytes.len() > MAX_MESSAGE {
            return Err(MessageError::Malformed("message too large"));
        }
        let mut r = Reader(bytes);
        let msg = match r.u8()? {
            0 => IndexResponse::Chord(match r.u8()? {
                0 => Response::Step(Step::Done(entry(&mut r)?)),
                1 => Response::Step(Step::Next(entry(&mut r)?)),
                2 => Response::State {
                    predecessor: opt_entry(&mut r)?,
                    successors: entries(&mut r)?,
                },
                3 => Response::Ack,
                4 => Response::Records(records(&mut r)?),
                t => return Err(MessageError::UnknownTag(t)),
            }),
            1 => {
                let n = r.count(MAX_HITS)?;
                let mut hits = Vec::with_capacity(n);
                for _ in 0..n {
                    hits.push(FloodHit {
                        cid: ContentId::from_bytes(r.array32()?),
                        name: string(&mut r, MAX_NAME)?,
                        size: r.u64()?,
                        peer: peer(&mut r)?,
                        hops: r.u8()?,
                    });
                }
                IndexResponse::Hits(hits)
            }
            2 => IndexResponse::Ack,
            3 => IndexResponse::NotHere,
            t => return Err(MessageError::UnknownTag(t)),
        };
        r.end()?;
        Ok(msg)
    }
}

/// `s` cut to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The protocol name for a network, e.g. `/cairn/regtest/chord/1.3.0`.
pub fn protocol_name(network: cairn_chain::Network) -> libp2p::StreamProtocol {
    match network {
        cairn_chain::Network::Regtest => libp2p::StreamProtocol::new("/cairn/regtest/chord/1.3.0"),
        cairn_chain::Network::Testnet => libp2p::StreamProtocol::new("/cairn/testnet/chord/1.3.0"),
    }
}

fn invalid(e: MessageError) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e)
}

/// The request-response codec: one length-prefixed message each way per stream.
#[derive(Clone, Copy, Debug, Default)]
pub struct IndexCodec;

impl libp2p::request_response::Codec for IndexCodec {
    type Protocol = libp2p::StreamProtocol;
    type Request = IndexRequest;
    type Response = IndexResponse;

    async fn read_request<T>(&mut self, _: &libp2p::StreamProtocol, io: &mut T) -> std::io::Result<IndexRequest>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let bytes = crate::sync_protocol::read_frame(io, MAX_MESSAGE).await?;
        IndexRequest::decode(&bytes).map_err(invalid)
    }

    async fn read_response<T>(&mut self, _: &libp2p::StreamProtocol, io: &mut T) -> std::io::Result<IndexResponse>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let bytes = crate::sync_protocol::read_frame(io, MAX_MESSAGE).await?;
        IndexResponse::decode(&bytes).map_err(invalid)
    }

    async fn write_request<T>(&mut self, _: &libp2p::StreamProtocol, io: &mut T, req: IndexRequest) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        crate::sync_protocol::write_frame(io, &req.encode(), MAX_MESSAGE).await
    }

    async fn write_response<T>(&mut self, _: &libp2p::StreamProtocol, io: &mut T, res: IndexResponse) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        crate::sync_protocol::write_frame(io, &res.encode(), MAX_MESSAGE).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u8) -> NodeEntry {
        let peer = libp2p::identity::Keypair::ed25519_from_bytes([n; 32])
            .unwrap()
            .public()
            .to_peer_id();
        node_entry(peer, n % 3, vec!["/ip4/127.0.0.1/tcp/4001".parse().unwrap()])
    }

    fn record() -> Record {
        Record {
            key: ChordId::hash(b"k"),
            kind: 2,
            sub: [5; 32],
            value: vec![1, 2, 3],
            ttl: 60_000,
        }
    }

    #[test]
    fn every_message_round_trips() {
        let chord = |request| IndexRequest::Chord { vnode: 1, request };
        let requests = [
            chord(Request::FindSuccessor {
                key: ChordId::hash(b"x"),
                exclude: vec![ChordId::hash(b"y")],
            }),
            chord(Request::GetState),
            chord(Request::Notify { node: entry(1) }),
            chord(Request::Store {
                records: vec![record(), record()],
                replicate: true,
                exclude: vec![ChordId::hash(b"d")],
            }),
            chord(Request::Get {
                key: ChordId::hash(b"z"),
                exclude: vec![],
            }),
            chord(Request::TakeOver { node: entry(2) }),
            chord(Request::Leaving {
                node: entry(3),
                predecessor: Some(entry(4)),
                successors: vec![entry(5), entry(6)],
            }),
            IndexRequest::Flood(FloodQuery {
                id: [7; 16],
                ttl: 4,
                hops: 1,
                text: "hölidäy".into(),
            }),
            IndexRequest::Neighbor,
        ];
        for r in requests {
            assert_eq!(IndexRequest::decode(&r.encode()).unwrap(), r);
        }
        let hit = FloodHit {
            cid: ContentId::from_bytes([3; 32]),
            name: "a.txt".into(),
            size: 99,
            peer: entry(9).addr.peer,
            hops: 2,
        };
        let responses = [
            IndexResponse::Chord(Response::Step(Step::Done(entry(1)))),
            IndexResponse::Chord(Response::Step(Step::Next(entry(2)))),
            IndexResponse::Chord(Response::State {
                predecessor: None,
                successors: vec![entry(3)],
            }),
            IndexResponse::Chord(Response::Ack),
            IndexResponse::Chord(Response::Records(vec![record()])),
            IndexResponse::Hits(vec![hit]),
            IndexResponse::Ack,
            IndexResponse::NotHere,
        ];
        for r in responses {
            assert_eq!(IndexResponse::decode(&r.encode()).unwrap(), r);
        }
    }

    #[test]
    fn ids_are_recomputed_and_bad_bytes_refused() {
        // A node claiming another ring id is given the one its peer id hashes to.
        let mut forged = entry(1);
        forged.id = ChordId([0; 32]);
        let bytes = IndexRequest::Chord {
            vnode: 0,
            request: Request::Notify { node: forged },
        }
        .encode();
        match IndexRequest::decode(&bytes).unwrap() {
            IndexRequest::Chord {
                request: Request::Notify { node },
                ..
            } => assert_eq!(node.id, node_id(&node.addr.peer, node.addr.vnode)),
            other => panic!("{other:?}"),
        }
        for n in 0..bytes.len() {
            assert!(IndexRequest::decode(&bytes[..n]).is_err());
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(IndexRequest::decode(&extra).is_err());
        // A record count far beyond the data is refused before allocating.
        let mut lying = vec![0u8, 0, 3, 1];
        lying.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(IndexRequest::decode(&lying).is_err());
        assert_eq!(IndexResponse::decode(&[9]), Err(MessageError::UnknownTag(9)));
        let mut bad_text = IndexRequest::Flood(FloodQuery {
            id: [0; 16],
            ttl: 1,
            hops: 1,
            text: "ab".into(),
        })
        .encode();
        let n = bad_text.len();
        bad_text[n - 1] = 0xff;
        assert!(IndexRequest::decode(&bad_text).is_err());
        assert_eq!(truncate("héllo", 2), "h");
    }
}
