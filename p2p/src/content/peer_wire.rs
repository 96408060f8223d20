//! The peer wire: BEP 3's messages on one long-lived stream per (peer, file).
//!
//! The side that opens the stream sends `Hello { cid, bitfield }` first; the other answers with
//! its own `Hello` (same cid) or closes the stream (it does not share that file, or its swarm is
//! full). After that both sides send any of the other messages, in any order, pipelined: requests
//! do not wait for the answers to earlier ones, and a `Piece` answers a `Request` (a `Reject`
//! refuses it, as BEP 6's "reject request": not held, or choked).
//!
//! A frame is a u32 little-endian body length, then the body: a tag, then fixed-size fields
//! little-endian, variable ones with a u32 length. Each tag has its own largest body
//! ([`max_body`]), checked as soon as the tag is read and before the rest is, so a peer cannot
//! make us buffer an 8 MiB frame to carry a 13-byte request. Decoding is strict: no trailing
//! bytes, every length bounded before allocating.

use futures::{AsyncRead, AsyncReadExt};

use super::id::{ContentId, PieceIndex};
use super::manifest::{BLOCK_SIZE, MAX_PIECES};
use super::picker::BlockRequest;
pub use crate::wire::MessageError;
use crate::wire::{Reader, put_bytes};

/// Most peers in one [`PeerMessage::Peers`] (BEP 11's limit of added peers per message).
pub const MAX_PEX_PEERS: usize = 50;
/// Longest peer id accepted in a message (an identity-hashed Ed25519 key is 38 bytes).
const MAX_PEER_ID: usize = 64;
/// Largest bitfield: one bit per piece of the largest file.
const MAX_BITFIELD: usize = MAX_PIECES as usize / 8;

const HELLO: u8 = 0;
const HAVE: u8 = 1;
const INTERESTED: u8 = 2;
const NOT_INTERESTED: u8 = 3;
const CHOKE: u8 = 4;
const UNCHOKE: u8 = 5;
const REQUEST: u8 = 6;
const PIECE: u8 = 7;
const CANCEL: u8 = 8;
const REJECT: u8 = 9;
const PEERS: u8 = 10;

/// One message of the peer wire, about the stream's file.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum PeerMessage {
    /// The first message each way: the file, and the pieces the sender holds (wire bitfield).
    Hello {
        /// The file.
        cid: ContentId,
        /// Wire bitfield of the sender.
        bitfield: Vec<u8>,
    },
    /// I now hold this piece.
    Have(PieceIndex),
    /// I want pieces you have.
    Interested,
    /// I no longer want pieces you have.
    NotInterested,
    /// My requests from you are refused until I unchoke you.
    Choke,
    /// You may request from me.
    Unchoke,
    /// Send me this block.
    Request(BlockRequest),
    /// A block's data (answers a request).
    Piece {
        /// The piece.
        piece: PieceIndex,
        /// Offset in the piece.
        offset: u32,
        /// The data, at most [`BLOCK_SIZE`] bytes.
        data: Vec<u8>,
    },
    /// Never mind this block.
    Cancel(BlockRequest),
    /// Your request is refused (not held here, or you are choked).
    Reject(BlockRequest),
    /// Peer exchange (BEP 11's idea): other members of this file's swarm I know, at most
    /// [`MAX_PEX_PEERS`], as peer ids (addresses come from the network's own discovery).
    Peers(Vec<libp2p::PeerId>),
}

/// Largest body a frame with `tag` may have (`None`: unknown tag).
#[must_use]
pub fn max_body(tag: u8) -> Option<usize> {
    Some(match tag {
        HELLO => 1 + 32 + 4 + MAX_BITFIELD,
        HAVE => 1 + 4,
        INTERESTED | NOT_INTERESTED | CHOKE | UNCHOKE => 1,
        REQUEST | CANCEL | REJECT => 1 + 12,
        PIECE => 1 + 8 + 4 + BLOCK_SIZE as usize,
        PEERS => 1 + 4 + MAX_PEX_PEERS * (4 + MAX_PEER_ID),
        _ => return None,
    })
}

/// The largest body of any tag.
pub const MAX_FRAME: usize = 1 + 32 + 4 + MAX_BITFIELD;

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

impl PeerMessage {
    /// The frame: body length, then body.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0u8; 4];
        match self {
            PeerMessage::Hello { cid, bitfield } => {
                out.push(HELLO);
                out.extend_from_slice(cid.as_bytes());
                put_bytes(&mut out, bitfield);
            }
            PeerMessage::Have(piece) => {
                out.push(HAVE);
                out.extend_from_slice(&piece.0.to_le_bytes());
            }
            PeerMessage::Interested => out.push(INTERESTED),
            PeerMessage::NotInterested => out.push(NOT_INTERESTED),
            PeerMessage::Choke => out.push(CHOKE),
            PeerMessage::Unchoke => out.push(UNCHOKE),
            PeerMessage::Request(b) => {
                out.push(REQUEST);
                put_block(&mut out, b);
            }
            PeerMessage::Piece { piece, offset, data } => {
                out.push(PIECE);
                out.extend_from_slice(&piece.0.to_le_bytes());
                out.extend_from_slice(&offset.to_le_bytes());
                put_bytes(&mut out, data);
            }
            PeerMessage::Cancel(b) => {
                out.push(CANCEL);
                put_block(&mut out, b);
            }
            PeerMessage::Reject(b) => {
                out.push(REJECT);
                put_block(&mut out, b);
            }
            PeerMessage::Peers(peers) => {
                out.push(PEERS);
                let peers = &peers[..peers.len().min(MAX_PEX_PEERS)];
                out.extend_from_slice(&(peers.len() as u32).to_le_bytes());
                for p in peers {
                    put_bytes(&mut out, &p.to_bytes());
                }
            }
        }
        let body = (out.len() - 4) as u32;
        out[..4].copy_from_slice(&body.to_le_bytes());
        out
    }

    /// The frame of a `Piece` message carrying `len` bytes of block data, which `fill` writes in
    /// place: a block read from disk goes straight into its frame, not through a copy. The
    /// same bytes as `PeerMessage::Piece { .. }.encode()`.
    ///
    /// # Errors
    /// `fill`'s.
    pub fn piece_frame<E>(piece: PieceIndex, offset: u32, len: u32, fill: impl FnOnce(&mut [u8]) -> Result<(), E>) -> Result<Vec<u8>, E> {
        // Length, tag, piece, offset, data length.
        const HEADER: usize = 4 + 1 + 4 + 4 + 4;
        let mut out = vec![0u8; HEADER + len as usize];
        out[..4].copy_from_slice(&((HEADER - 4) as u32 + len).to_le_bytes());
        out[4] = PIECE;
        out[5..9].copy_from_slice(&piece.0.to_le_bytes());
        out[9..13].copy_from_slice(&offset.to_le_bytes());
        out[13..HEADER].copy_from_slice(&len.to_le_bytes());
        fill(&mut out[HEADER..])?;
        Ok(out)
    }

    /// Reads one frame's body (without its length prefix).
    ///
    /// # Errors
    /// Anything but exactly one well-formed message within its tag's size.
    pub fn decode(body: &[u8]) -> Result<PeerMessage, MessageError> {
        let mut r = Reader(body);
        let tag = r.u8()?;
        let max = max_body(tag).ok_or(MessageError::UnknownTag(tag))?;
        if body.len() > max {
            return Err(MessageError::Malformed("frame too large for its kind"));
        }
        let msg = match tag {
            HELLO => PeerMessage::Hello {
                cid: ContentId::from_bytes(r.array32()?),
                bitfield: r.bytes(MAX_BITFIELD)?.to_vec(),
            },
            HAVE => PeerMessage::Have(PieceIndex(r.u32()?)),
            INTERESTED => PeerMessage::Interested,
            NOT_INTERESTED => PeerMessage::NotInterested,
            CHOKE => PeerMessage::Choke,
            UNCHOKE => PeerMessage::Unchoke,
            REQUEST => PeerMessage::Request(block(&mut r)?),
            PIECE => {
                let piece = PieceIndex(r.u32()?);
                let offset = r.u32()?;
                let data = r.bytes(BLOCK_SIZE as usize)?;
                if data.is_empty() {
                    return Err(MessageError::Malformed("empty block"));
                }
                PeerMessage::Piece {
                    piece,
                    offset,
                    data: data.to_vec(),
                }
            }
            CANCEL => PeerMessage::Cancel(block(&mut r)?),
            REJECT => PeerMessage::Reject(block(&mut r)?),
            PEERS => {
                let n = r.count(MAX_PEX_PEERS)?;
                let mut peers = Vec::with_capacity(n);
                for _ in 0..n {
                    let id = r.bytes(MAX_PEER_ID)?;
                    peers.push(libp2p::PeerId::from_bytes(id).map_err(|_| MessageError::Malformed("not a peer id"))?);
                }
                PeerMessage::Peers(peers)
            }
            t => return Err(MessageError::UnknownTag(t)),
        };
        r.end()?;
        Ok(msg)
    }

    /// A short name for logs.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            PeerMessage::Hello { .. } => "hello",
            PeerMessage::Have(_) => "have",
            PeerMessage::Interested => "interested",
            PeerMessage::NotInterested => "not interested",
            PeerMessage::Choke => "choke",
            PeerMessage::Unchoke => "unchoke",
            PeerMessage::Request(_) => "request",
            PeerMessage::Piece { .. } => "piece",
            PeerMessage::Cancel(_) => "cancel",
            PeerMessage::Reject(_) => "reject",
            PeerMessage::Peers(_) => "peers",
        }
    }
}

/// The protocol name for a network, e.g. `/cairn/regtest/pieces/1.0.0`.
#[must_use]
pub fn protocol_name(network: cairn_chain::Network) -> libp2p::StreamProtocol {
    match network {
        cairn_chain::Network::Regtest => libp2p::StreamProtocol::new("/cairn/regtest/pieces/1.0.0"),
        cairn_chain::Network::Testnet => libp2p::StreamProtocol::new("/cairn/testnet/pieces/1.0.0"),
    }
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The stream failed or ended inside a frame.
    #[error("stream: {0}")]
    Io(#[from] std::io::Error),
    /// The peer sent something that is not a message.
    #[error(transparent)]
    Malformed(#[from] MessageError),
}

/// Reads the next frame from `r`; `Ok(None)` when the stream ended cleanly between frames.
/// `buf` is reused between calls (it grows to at most the largest frame of a kind read).
///
/// # Errors
/// The stream failed, or the peer sent a frame that is too large for its kind, of an unknown
/// kind, or malformed.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R, buf: &mut Vec<u8>) -> Result<Option<PeerMessage>, FrameError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r.read(&mut len[got..]).await?;
        if n == 0 {
            if got == 0 {
                return Ok(None);
            }
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
        got += n;
    }
    let len = u32::from_le_bytes(len) as usize;
    if len == 0 || len > MAX_FRAME {
        return Err(MessageError::Malformed("frame length out of bounds").into());
    }
    let mut tag = [0u8; 1];
    r.read_exact(&mut tag).await?;
    let max = max_body(tag[0]).ok_or(MessageError::UnknownTag(tag[0]))?;
    if len > max {
        return Err(MessageError::Malformed("frame too large for its kind").into());
    }
    // Grown once to the largest frame of a kind read, never zeroed again (read_exact overwrites).
    if buf.len() < len {
        buf.resize(len, 0);
    }
    let body = &mut buf[..len];
    body[0] = tag[0];
    r.read_exact(&mut body[1..]).await?;
    Ok(Some(PeerMessage::decode(body)?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_piece_frame_filled_in_place_is_the_encoded_message() {
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let frame = PeerMessage::piece_frame(PieceIndex(7), 16384, 1000, |out| {
            out.copy_from_slice(&data);
            Ok::<(), ()>(())
        })
        .unwrap();
        let msg = PeerMessage::Piece {
            piece: PieceIndex(7),
            offset: 16384,
            data,
        };
        assert_eq!(frame, msg.encode());
        assert_eq!(PeerMessage::decode(&frame[4..]).unwrap(), msg);
        assert_eq!(PeerMessage::piece_frame(PieceIndex(0), 0, 5, |_| Err("no")), Err("no"));
    }

    use super::*;

    fn all() -> Vec<PeerMessage> {
        let b = BlockRequest {
            piece: PieceIndex(7),
            offset: 16384,
            len: 16384,
        };
        vec![
            PeerMessage::Hello {
                cid: ContentId::from_bytes([3; 32]),
                bitfield: vec![0xf0, 0x01],
            },
            PeerMessage::Have(PieceIndex(9)),
            PeerMessage::Interested,
            PeerMessage::NotInterested,
            PeerMessage::Choke,
            PeerMessage::Unchoke,
            PeerMessage::Request(b),
            PeerMessage::Piece {
                piece: PieceIndex(7),
                offset: 16384,
                data: vec![5; 16384],
            },
            PeerMessage::Cancel(b),
            PeerMessage::Reject(b),
            PeerMessage::Peers(vec![
                libp2p::PeerId::from_bytes(&[0, 4, 1, 2, 3, 4]).unwrap(),
                libp2p::PeerId::from_bytes(&[0, 4, 9, 9, 9, 9]).unwrap(),
            ]),
        ]
    }

    #[test]
    fn every_message_round_trips_through_a_stream() {
        let mut bytes = Vec::new();
        for m in all() {
            bytes.extend(m.encode());
        }
        let mut r = futures::io::Cursor::new(bytes);
        let mut buf = Vec::new();
        let mut read = Vec::new();
        futures::executor::block_on(async {
            while let Some(m) = read_frame(&mut r, &mut buf).await.unwrap() {
                read.push(m);
            }
        });
        assert_eq!(read, all());
    }

    fn read_one(bytes: Vec<u8>) -> Result<Option<PeerMessage>, FrameError> {
        let mut r = futures::io::Cursor::new(bytes);
        futures::executor::block_on(read_frame(&mut r, &mut Vec::new()))
    }

    #[test]
    fn a_frame_larger_than_its_kind_allows_is_refused_before_it_is_read() {
        // A request that claims 8 MiB: refused on its length and tag alone (only 5 bytes sent).
        let mut frame = (8u32 << 20).to_le_bytes().to_vec();
        frame.push(REQUEST);
        assert!(matches!(read_one(frame), Err(FrameError::Malformed(_))));
        // A request padded to 14 bytes: one more than a request's size.
        let mut frame = 14u32.to_le_bytes().to_vec();
        frame.push(REQUEST);
        frame.extend([0u8; 13]);
        assert!(matches!(read_one(frame), Err(FrameError::Malformed(_))));
        // A piece with 16 KiB + 1 bytes of data.
        let over = PeerMessage::Piece {
            piece: PieceIndex(0),
            offset: 0,
            data: vec![0; BLOCK_SIZE as usize + 1],
        };
        assert!(matches!(read_one(over.encode()), Err(FrameError::Malformed(_))));
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        assert!(matches!(read_one(vec![0, 0, 0, 0]), Err(FrameError::Malformed(_))));
        assert!(matches!(
            read_one(vec![1, 0, 0, 0, 99]),
            Err(FrameError::Malformed(MessageError::UnknownTag(99)))
        ));
        // Truncated inside a frame: an I/O error, not a clean end.
        let mut cut = PeerMessage::Have(PieceIndex(1)).encode();
        cut.pop();
        assert!(matches!(read_one(cut), Err(FrameError::Io(_))));
        assert!(matches!(read_one(vec![5, 0]), Err(FrameError::Io(_))));
        // Zero-length block requests and empty pieces.
        let zero = BlockRequest {
            piece: PieceIndex(0),
            offset: 0,
            len: 0,
        };
        assert!(read_one(PeerMessage::Request(zero).encode()).is_err());
        let empty = PeerMessage::Piece {
            piece: PieceIndex(0),
            offset: 0,
            data: Vec::new(),
        };
        assert!(read_one(empty.encode()).is_err());
        // A clean end between frames.
        assert!(matches!(read_one(Vec::new()), Ok(None)));
    }

    #[test]
    fn decoding_arbitrary_bodies_never_panics() {
        let mut x: u64 = 1;
        for len in 0..200usize {
            let body: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 12) as u8
                })
                .collect();
            if let Ok(m) = PeerMessage::decode(&body) {
                assert_eq!(PeerMessage::decode(&m.encode()[4..]).unwrap(), m);
            }
        }
    }
}
