//! The manifest exchange: `GetManifest { cid }` answered with `Manifest(bytes)` or `NotFound`,
//! over libp2p request-response. Everything else about a file travels on the peer wire
//! ([`super::peer_wire`]), one stream per (peer, file).
//!
//! Bytes: a tag, then fixed-size fields little-endian, variable ones with a u32 length. Decoding
//! is strict (no trailing bytes) and every length is bounded before allocating.

use super::id::ContentId;
use super::manifest::{MAX_FILE_LIST, MAX_FILES, MAX_PIECES};

/// Largest encoded request.
pub const MAX_REQUEST: usize = 1 + 32;

/// Largest encoded response: a manifest of the most pieces and, for a folder, the longest file
/// list (each file: its path, a 2-byte length and an 8-byte size), plus headers.
pub const MAX_RESPONSE: usize = MAX_PIECES as usize * 32 + MAX_FILE_LIST + MAX_FILES * 10 + 1024;

pub use super::peer_wire::MAX_PEX_PEERS;

/// A request about one file.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ContentRequest {
    /// Send me the manifest of `cid`.
    GetManifest {
        /// The file.
        cid: ContentId,
    },
}

/// The answer to a [`ContentRequest`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ContentResponse {
    /// Canonical manifest bytes.
    Manifest(Vec<u8>),
    /// This node does not share that file.
    NotFound,
}

pub use crate::wire::MessageError;
use crate::wire::{Reader, put_bytes};

impl ContentRequest {
    /// The file the request is about.
    pub fn cid(&self) -> ContentId {
        match self {
            ContentRequest::GetManifest { cid } => *cid,
        }
    }

    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_REQUEST);
        match self {
            ContentRequest::GetManifest { cid } => {
                out.push(0);
                out.extend_from_slice(cid.as_bytes());
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
        let msg = match r.u8()? {
            0 => ContentRequest::GetManifest {
                cid: ContentId::from_bytes(r.array32()?),
            },
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
            ContentResponse::NotFound => out.push(1),
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
            1 => ContentResponse::NotFound,
            t => return Err(MessageError::UnknownTag(t)),
        };
        r.end()?;
        Ok(msg)
    }
}

/// The protocol name for a network, e.g. `/cairn/regtest/content/2.0.0` (2.0: the peer wire
/// moved to its own streams).
pub fn protocol_name(network: cairn_chain::Network) -> libp2p::StreamProtocol {
    match network {
        cairn_chain::Network::Regtest => libp2p::StreamProtocol::new("/cairn/regtest/content/2.0.0"),
        cairn_chain::Network::Testnet => libp2p::StreamProtocol::new("/cairn/testnet/content/2.0.0"),
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

    #[test]
    fn every_message_round_trips() {
        let r = ContentRequest::GetManifest { cid: cid() };
        assert_eq!(ContentRequest::decode(&r.encode()).unwrap(), r);
        assert_eq!(r.cid(), cid());
        for r in [ContentResponse::Manifest(vec![1, 2, 3]), ContentResponse::NotFound] {
            assert_eq!(ContentResponse::decode(&r.encode()).unwrap(), r);
        }
    }

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        let good = ContentRequest::GetManifest { cid: cid() }.encode();
        assert!(ContentRequest::decode(&good[..good.len() - 1]).is_err());
        let mut extra = good.clone();
        extra.push(0);
        assert!(ContentRequest::decode(&extra).is_err());
        let mut tag = good.clone();
        tag[0] = 99;
        assert_eq!(ContentRequest::decode(&tag), Err(MessageError::UnknownTag(99)));
        // A length prefix far beyond the data is refused before allocating.
        let mut lying = vec![0u8];
        lying.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(ContentResponse::decode(&lying).is_err());
        assert!(ContentResponse::decode(&[]).is_err());
        for n in 0..good.len() {
            assert!(ContentRequest::decode(&good[..n]).is_err());
        }
    }
}
