//! The content protocol's messages, BEP 3's peer wire protocol recast as request and response
//! pairs over libp2p request-response.
//!
//! | request                         | response                               |
//! |---------------------------------|----------------------------------------|
//! | `GetManifest { cid }`           | `Manifest(bytes)` or `NotFound`        |
//! | `Hello { cid, bitfield }`       | `Hello { bitfield }` or `NotFound`     |
//! | `Have { cid, piece }`           | `Ack`                                  |
//! | `Interested { cid, yes }`       | `Ack`                                  |
//! | `Choke { cid, choked }`         | `Ack` (from the uploader)              |
//! | `Request { cid, block }`        | `Block(data)`, `Choked`, `NotAvailable`|
//! | `Cancel { cid, block }`         | `Ack`                                  |
//! | `Peers { cid, peers }`          | `Ack`                                  |
//!
//! Bytes: a tag, then fixed-size fields little-endian, variable ones with a u32 length. Decoding
//! is strict (no trailing bytes) and every length is bounded before allocating.

use super::id::{ContentId, PieceIndex};
use super::manifest::{BLOCK_SIZE, MAX_PIECES};
use super::picker::BlockRequest;

/// Largest encoded request (a bitfield of the most pieces, plus headers).
pub const MAX_REQUEST: usize = (MAX_PIECES as usize / 8) + 1024;
/// Most peers in one [`ContentRequest::Peers`] (BEP 11's limit of added peers per message).
pub const MAX_PEX_PEERS: usize = 50;
/// Longest peer id accepted in a message (an identity-hashed Ed25519 key is 38 bytes).
const MAX_PEER_ID: usize = 64;

/// Largest encoded response (a manifest of the most pieces, plus headers).
pub const MAX_RESPONSE: usize = MAX_PIECES as usize * 32 + 1024;

/// A message to a peer about one file.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ContentRequest {
    /// Send me the manifest of `cid`.
    GetManifest {
        /// The file.
        cid: ContentId,
    },
    /// I take part in `cid`'s swarm and hold these pieces; which do you hold?
    Hello {
        /// The file.
        cid: ContentId,
        /// Wire bitfield of the sender.
        bitfield: Vec<u8>,
    },
    /// I now hold `piece`.
    Have {
        /// The file.
        cid: ContentId,
        /// The piece.
        piece: PieceIndex,
    },
    /// I want (or no longer want) pieces you have.
    Interested {
        /// The file.
        cid: ContentId,
        /// Interested or not.
        yes: bool,
    },
    /// You are choked (or unchoked) by me.
    Choke {
        /// The file.
        cid: ContentId,
        /// Choked or unchoked.
        choked: bool,
    },
    /// Send me this block.
    Request {
        /// The file.
        cid: ContentId,
        /// The block.
        block: BlockRequest,
    },
    /// Never mind this block.
    Cancel {
        /// The file.
        cid: ContentId,
        /// The block.
        block: BlockRequest,
    },
    /// Peer exchange (BEP 11's idea): other members of `cid`'s swarm I know, so that members
    /// find each other without waiting for the index. At most [`MAX_PEX_PEERS`].
    Peers {
        /// The file.
        cid: ContentId,
        /// Members, as peer ids (their addresses come from the network's own discovery).
        peers: Vec<libp2p::PeerId>,
    },
}

/// The answer to a [`ContentRequest`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ContentResponse {
    /// Canonical manifest bytes.
    Manifest(Vec<u8>),
    /// The answerer's wire bitfield.
    Hello {
        /// Its pieces.
        bitfield: Vec<u8>,
    },
    /// Noted.
    Ack,
    /// The requested block's data.
    Block(Vec<u8>),
    /// Not served: you are choked.
    Choked,
    /// This node does not share that file.
    NotFound,
    /// This node does not hold that block.
    NotAvailable,
}

pub use crate::wire::MessageError;
use crate::wire::{Reader, put_bytes};

fn cid(r: &mut Reader<'_>) -> Result<ContentId, MessageError> {
    Ok(ContentId::from_bytes(r.array32()?))
}

fn block(r: &mut Reader<'_>) -> Result<BlockRequest, MessageError> {
    let block = BlockRequest {
        piece: PieceIndex(r.u32()?),
        offset: r.u32()?,
        len: r.u32()?,
    };
    if block.len == 0 || block.len > BLOCK_SIZE {
        return Err(MessageError::Malformed("block length out of bounds"));
    }
    Ok(block)
}

fn put_block(out: &mut Vec<u8>, b: &BlockRequest) {
    out.extend_from_slice(&b.piece.0.to_le_bytes());
    out.extend_from_slice(&b.offset.to_le_bytes());
    out.extend_from_slice(&b.len.to_le_bytes());
}

impl ContentRequest {
    /// The file the message is about.
    pub fn cid(&self) -> ContentId {
        match self {
            ContentRequest::GetManifest { cid }
            | ContentRequest::Hello { cid, .. }
            | ContentRequest::Have { cid, .. }
            | ContentRequest::Interested { cid, .. }
            | ContentRequest::Choke { cid, .. }
            | ContentRequest::Request { cid, .. }
            | ContentRequest::Cancel { cid, .. }
            | ContentRequest::Peers { cid, .. } => *cid,
        }
    }

    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        match self {
            ContentRequest::GetManifest { cid } => {
                out.push(0);
                out.extend_from_slice(cid.as_bytes());
            }
            ContentRequest::Hello { cid, bitfield } => {
                out.push(1);
                out.extend_from_slice(cid.as_bytes());
                put_bytes(&mut out, bitfield);
            }
            ContentRequest::Have { cid, piece } => {
                out.push(2);
                out.extend_from_slice(cid.as_bytes());
                out.extend_from_slice(&piece.0.to_le_bytes());
            }
            ContentRequest::Interested { cid, yes } => {
                out.push(3);
                out.extend_from_slice(cid.as_bytes());
                out.push(u8::from(*yes));
            }
            ContentRequest::Choke { cid, choked } => {
                out.push(4);
                out.extend_from_slice(cid.as_bytes());
                out.push(u8::from(*choked));
            }
            ContentRequest::Request { cid, block } => {
                out.push(5);
                out.extend_from_slice(cid.as_bytes());
                put_block(&mut out, block);
            }
            ContentRequest::Cancel { cid, block } => {
                out.push(6);
                out.extend_from_slice(cid.as_bytes());
                put_block(&mut out, block);
            }
            ContentRequest::Peers { cid, peers } => {
                out.push(7);
                out.extend_from_slice(cid.as_bytes());
                let peers = &peers[..peers.len().min(MAX_PEX_PEERS)];
                out.extend_from_slice(&(peers.len() as u32).to_le_bytes());
                for p in peers {
                    put_bytes(&mut out, &p.to_bytes());
                }
            }
        }
        out
    }

    /// Reads wire bytes.
    ///
    /// # Errors
    /// Anything but exactly one well-formed request.
    pub fn decode(bytes: &[u8]) -> Result<ContentRequest, MessageError> {
        if bytes.len() > MAX_REQUEST {
            return Err(MessageError::Malformed("request too large"));
        }
        let mut r = Reader(bytes);
        let tag = r.u8()?;
        let cid = cid(&mut r)?;
        let msg = match tag {
            0 => ContentRequest::GetManifest { cid },
            1 => ContentRequest::Hello {
                cid,
                bitfield: r.bytes(MAX_PIECES as usize / 8)?.to_vec(),
            },
            2 => ContentRequest::Have {
                cid,
                piece: PieceIndex(r.u32()?),
            },
            3 => ContentRequest::Interested { cid, yes: r.bool()? },
            4 => ContentRequest::Choke { cid, choked: r.bool()? },
            5 => ContentRequest::Request {
                cid,
                block: block(&mut r)?,
            },
            6 => ContentRequest::Cancel {
                cid,
                block: block(&mut r)?,
            },
            7 => {
                let n = r.count(MAX_PEX_PEERS)?;
                let mut peers = Vec::with_capacity(n);
                for _ in 0..n {
                    let id = r.bytes(MAX_PEER_ID)?;
                    peers.push(libp2p::PeerId::from_bytes(id).map_err(|_| MessageError::Malformed("not a peer id"))?);
                }
                ContentRequest::Peers { cid, peers }
            }
            t => return Err(MessageError::UnknownTag(t)),
        };
        r.end()?;
        Ok(msg)
    }
}

impl ContentResponse {
    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            ContentResponse::Manifest(m) => {
                out.push(0);
                put_bytes(&mut out, m);
            }
            ContentResponse::Hello { bitfield } => {
                out.push(1);
                put_bytes(&mut out, bitfield);
            }
            ContentResponse::Ack => out.push(2),
            ContentResponse::Block(data) => {
                out.push(3);
                put_bytes(&mut out, data);
            }
            ContentResponse::Choked => out.push(4),
            ContentResponse::NotFound => out.push(5),
            ContentResponse::NotAvailable => out.push(6),
        }
        out
    }

    /// Reads wire bytes.
    ///
    /// # Errors
    /// Anything but exactly one well-formed response.
    pub fn decode(bytes: &[u8]) -> Result<ContentResponse, MessageError> {
        if bytes.len() > MAX_RESPONSE {
            return Err(MessageError::Malformed("response too large"));
        }
        let mut r = Reader(bytes);
        let msg = match r.u8()? {
            0 => ContentResponse::Manifest(r.bytes(MAX_RESPONSE)?.to_vec()),
            1 => ContentResponse::Hello {
                bitfield: r.bytes(MAX_PIECES as usize / 8)?.to_vec(),
            },
            2 => ContentResponse::Ack,
            3 => ContentResponse::Block(r.bytes(BLOCK_SIZE as usize)?.to_vec()),
            4 => ContentResponse::Choked,
            5 => ContentResponse::NotFound,
            6 => ContentResponse::NotAvailable,
            t => return Err(MessageError::UnknownTag(t)),
        };
        r.end()?;
        Ok(msg)
    }
}

/// The protocol name for a network, e.g. `/cairn/regtest/content/1.1.0`.
pub fn protocol_name(network: cairn_chain::Network) -> libp2p::StreamProtocol {
    match network {
        cairn_chain::Network::Regtest => libp2p::StreamProtocol::new("/cairn/regtest/content/1.1.0"),
        cairn_chain::Network::Testnet => libp2p::StreamProtocol::new("/cairn/testnet/content/1.1.0"),
    }
}

fn invalid(e: MessageError) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e)
}

/// The request-response codec: one length-prefixed message each way per stream, as the sync
/// protocol.
#[derive(Clone, Copy, Debug, Default)]
pub struct ContentCodec;

impl libp2p::request_response::Codec for ContentCodec {
    type Protocol = libp2p::StreamProtocol;
    type Request = ContentRequest;
    type Response = ContentResponse;

    async fn read_request<T>(&mut self, _: &libp2p::StreamProtocol, io: &mut T) -> std::io::Result<ContentRequest>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let bytes = crate::sync_protocol::read_frame(io, MAX_REQUEST).await?;
        ContentRequest::decode(&bytes).map_err(invalid)
    }

    async fn read_response<T>(&mut self, _: &libp2p::StreamProtocol, io: &mut T) -> std::io::Result<ContentResponse>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let bytes = crate::sync_protocol::read_frame(io, MAX_RESPONSE).await?;
        ContentResponse::decode(&bytes).map_err(invalid)
    }

    async fn write_request<T>(&mut self, _: &libp2p::StreamProtocol, io: &mut T, req: ContentRequest) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        crate::sync_protocol::write_frame(io, &req.encode(), MAX_REQUEST).await
    }

    async fn write_response<T>(&mut self, _: &libp2p::StreamProtocol, io: &mut T, res: ContentResponse) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        crate::sync_protocol::write_frame(io, &res.encode(), MAX_RESPONSE).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid() -> ContentId {
        ContentId::from_bytes([9; 32])
    }

    fn block() -> BlockRequest {
        BlockRequest {
            piece: PieceIndex(3),
            offset: 16384,
            len: 16384,
        }
    }

    #[test]
    fn every_message_round_trips() {
        let requests = [
            ContentRequest::GetManifest { cid: cid() },
            ContentRequest::Hello {
                cid: cid(),
                bitfield: vec![0xf0, 0x80],
            },
            ContentRequest::Have {
                cid: cid(),
                piece: PieceIndex(7),
            },
            ContentRequest::Interested { cid: cid(), yes: true },
            ContentRequest::Choke { cid: cid(), choked: false },
            ContentRequest::Request {
                cid: cid(),
                block: block(),
            },
            ContentRequest::Cancel {
                cid: cid(),
                block: block(),
            },
            ContentRequest::Peers {
                cid: cid(),
                peers: (0..3).map(|_| libp2p::PeerId::random()).collect(),
            },
        ];
        for r in requests {
            assert_eq!(ContentRequest::decode(&r.encode()).unwrap(), r);
            assert_eq!(r.cid(), cid());
        }
        let responses = [
            ContentResponse::Manifest(vec![1, 2, 3]),
            ContentResponse::Hello { bitfield: vec![0xff] },
            ContentResponse::Ack,
            ContentResponse::Block(vec![7; 16384]),
            ContentResponse::Choked,
            ContentResponse::NotFound,
            ContentResponse::NotAvailable,
        ];
        for r in responses {
            assert_eq!(ContentResponse::decode(&r.encode()).unwrap(), r);
        }
    }

    #[test]
    fn peer_lists_are_bounded_and_checked() {
        let many = ContentRequest::Peers {
            cid: cid(),
            peers: (0..MAX_PEX_PEERS + 10).map(|_| libp2p::PeerId::random()).collect(),
        };
        match ContentRequest::decode(&many.encode()).unwrap() {
            ContentRequest::Peers { peers, .. } => assert_eq!(peers.len(), MAX_PEX_PEERS, "the encoder sends the first 50"),
            other => panic!("{other:?}"),
        }
        let mut too_many = vec![7];
        too_many.extend_from_slice(cid().as_bytes());
        too_many.extend_from_slice(&(MAX_PEX_PEERS as u32 + 1).to_le_bytes());
        assert!(
            ContentRequest::decode(&too_many).is_err(),
            "a count over the limit is refused before reading"
        );
        let mut garbage = vec![7];
        garbage.extend_from_slice(cid().as_bytes());
        garbage.extend_from_slice(&1u32.to_le_bytes());
        put_bytes(&mut garbage, &[0xff; 10]);
        assert!(ContentRequest::decode(&garbage).is_err(), "not a peer id");
    }

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        let good = ContentRequest::Request {
            cid: cid(),
            block: block(),
        }
        .encode();
        assert!(ContentRequest::decode(&good[..good.len() - 1]).is_err());
        let mut extra = good.clone();
        extra.push(0);
        assert!(ContentRequest::decode(&extra).is_err());
        let mut tag = good.clone();
        tag[0] = 99;
        assert_eq!(ContentRequest::decode(&tag), Err(MessageError::UnknownTag(99)));
        let too_big = ContentRequest::Request {
            cid: cid(),
            block: BlockRequest {
                len: BLOCK_SIZE + 1,
                ..block()
            },
        }
        .encode();
        assert!(ContentRequest::decode(&too_big).is_err());
        // A length prefix far beyond the data is refused before allocating.
        let mut lying = vec![3u8];
        lying.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(ContentResponse::decode(&lying).is_err());
        assert!(ContentResponse::decode(&[]).is_err());
        let mut bad_bool = ContentRequest::Interested { cid: cid(), yes: true }.encode();
        *bad_bool.last_mut().unwrap() = 2;
        assert!(ContentRequest::decode(&bad_bool).is_err());
        // Every prefix of every message fails cleanly.
        for n in 0..good.len() {
            assert!(ContentRequest::decode(&good[..n]).is_err());
        }
    }
}
