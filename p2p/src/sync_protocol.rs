//! The chain-sync request-response protocol, `/cairn/<network>/sync/1.0.0`.
//!
//! Each request opens a stream, writes one length-prefixed message in Cairn's canonical encoding
//! (the same bytes as blocks and transactions: `cairn_chain::encode`), reads one length-prefixed
//! reply and closes it. Messages are bounded twice: the frame length is checked against a cap
//! before anything is read, and the decoder caps every list it meets. Anything malformed is an
//! I/O error on that stream; the event loop turns it into a misbehaviour report.
//!
//! | request                          | response                              |
//! |----------------------------------|---------------------------------------|
//! | `Status(ours)`                   | `Status(theirs)`                      |
//! | `GetHeaders { locator, stop }`   | `Headers(up to 2000 headers)`         |
//! | `GetBlock(hash)`                 | `Block(Some(block))` or `Block(None)` |
//! | `GetMempool`                     | `Mempool(up to 50,000 txids)`         |
//! | `GetTxs(up to 500 txids)`        | `Txs(the ones still in the pool)`     |

use std::io;

use cairn_chain::encode::{Decodable, Encodable, Reader, write_compact_size};
use cairn_chain::pow::U256;
use cairn_chain::{Block, BlockHash, DecodeError, Header, Transaction, Txid};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

/// Most hashes in a block locator (Core sends about 30; 101 is generous).
pub const MAX_LOCATOR: u64 = 101;
/// Most headers in one `Headers` reply (as in Bitcoin).
pub const MAX_HEADERS: usize = 2000;
/// Most txids in one `Mempool` reply.
pub const MAX_MEMPOOL_INV: usize = 50_000;
/// Most transactions asked for in one `GetTxs`.
pub const MAX_GET_TXS: usize = 500;
/// The largest request frame.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// The largest response frame: a maximal block, or a batch of transactions, with room to spare.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// The protocol name for a network.
pub fn protocol_name(network: cairn_chain::Network) -> StreamProtocol {
    match network {
        cairn_chain::Network::Regtest => StreamProtocol::new("/cairn/regtest/sync/1.0.0"),
        cairn_chain::Network::Testnet => StreamProtocol::new("/cairn/testnet/sync/1.0.0"),
    }
}

/// What a node says about its chain: sent on every new connection and every few seconds after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainStatus {
    /// The genesis block: peers on another chain are disconnected.
    pub genesis: BlockHash,
    /// Height of the active tip.
    pub height: u32,
    /// Hash of the active tip.
    pub tip: BlockHash,
    /// Cumulative work of the active chain.
    pub chain_work: U256,
    /// The sender's clock (Unix seconds) when it sent this: peers' clocks against ours, for a
    /// warning when ours looks wrong. 0: not given.
    pub time: u64,
}

/// A request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncRequest {
    /// Our status; the reply is theirs.
    Status(ChainStatus),
    /// Headers after the first locator hash the peer has on its active chain.
    GetHeaders {
        /// Block locator, newest first.
        locator: Vec<BlockHash>,
        /// Stop after this hash (`BlockHash::ZERO`: no stop).
        stop: BlockHash,
    },
    /// One block by hash.
    GetBlock(BlockHash),
    /// The txids in the peer's mempool.
    GetMempool,
    /// Transactions by txid.
    GetTxs(Vec<Txid>),
}

/// A response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncResponse {
    /// The responder's status.
    Status(ChainStatus),
    /// Headers, oldest first.
    Headers(Vec<Header>),
    /// The block, if the responder has it.
    Block(Option<Block>),
    /// Txids in the responder's mempool.
    Mempool(Vec<Txid>),
    /// The transactions the responder still had.
    Txs(Vec<Transaction>),
}

impl SyncRequest {
    /// The message tag; a response answers a request when their tags are equal.
    pub fn tag(&self) -> u8 {
        match self {
            SyncRequest::Status(_) => 0,
            SyncRequest::GetHeaders { .. } => 1,
            SyncRequest::GetBlock(_) => 2,
            SyncRequest::GetMempool => 3,
            SyncRequest::GetTxs(_) => 4,
        }
    }
}

impl SyncResponse {
    /// The message tag (see [`SyncRequest::tag`]): a `Headers` reply to a `GetBlock` is abuse.
    pub fn tag(&self) -> u8 {
        match self {
            SyncResponse::Status(_) => 0,
            SyncResponse::Headers(_) => 1,
            SyncResponse::Block(_) => 2,
            SyncResponse::Mempool(_) => 3,
            SyncResponse::Txs(_) => 4,
        }
    }
}

fn put_hash(out: &mut Vec<u8>, bytes: &[u8; 32]) {
    out.extend_from_slice(bytes);
}

fn put_hashes<T>(out: &mut Vec<u8>, items: &[T], bytes: impl Fn(&T) -> [u8; 32]) {
    write_compact_size(out, items.len() as u64);
    for item in items {
        put_hash(out, &bytes(item));
    }
}

fn read_hashes<T>(r: &mut Reader<'_>, cap: u64, make: impl Fn([u8; 32]) -> T) -> Result<Vec<T>, DecodeError> {
    let n = r.length(32, cap)?;
    (0..n).map(|_| r.array().map(&make)).collect()
}

impl Encodable for ChainStatus {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_hash(out, self.genesis.as_bytes());
        out.extend_from_slice(&self.height.to_le_bytes());
        put_hash(out, self.tip.as_bytes());
        out.extend_from_slice(&self.chain_work.to_le_bytes());
        out.extend_from_slice(&self.time.to_le_bytes());
    }
}

impl Decodable for ChainStatus {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ChainStatus {
            genesis: BlockHash::from_byte_array(r.array()?),
            height: r.u32()?,
            tip: BlockHash::from_byte_array(r.array()?),
            chain_work: U256::from_le_bytes(r.array()?),
            time: r.u64()?,
        })
    }
}

impl Encodable for SyncRequest {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            SyncRequest::Status(s) => {
                out.push(self.tag());
                s.encode_to(out);
            }
            SyncRequest::GetHeaders { locator, stop } => {
                out.push(self.tag());
                put_hashes(out, locator, |h| h.to_byte_array());
                put_hash(out, stop.as_bytes());
            }
            SyncRequest::GetBlock(hash) => {
                out.push(2);
                put_hash(out, hash.as_bytes());
            }
            SyncRequest::GetMempool => out.push(3),
            SyncRequest::GetTxs(txids) => {
                out.push(4);
                put_hashes(out, txids, |t| t.to_byte_array());
            }
        }
    }
}

impl Decodable for SyncRequest {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8()? {
            0 => SyncRequest::Status(ChainStatus::decode_from(r)?),
            1 => SyncRequest::GetHeaders {
                locator: read_hashes(r, MAX_LOCATOR, BlockHash::from_byte_array)?,
                stop: BlockHash::from_byte_array(r.array()?),
            },
            2 => SyncRequest::GetBlock(BlockHash::from_byte_array(r.array()?)),
            3 => SyncRequest::GetMempool,
            4 => SyncRequest::GetTxs(read_hashes(r, MAX_GET_TXS as u64, Txid::from_byte_array)?),
            _ => return Err(DecodeError::Invalid("sync request tag")),
        })
    }
}

impl Encodable for SyncResponse {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            SyncResponse::Status(s) => {
                out.push(0);
                s.encode_to(out);
            }
            SyncResponse::Headers(headers) => {
                out.push(1);
                cairn_chain::encode::write_var_list(out, headers);
            }
            SyncResponse::Block(block) => {
                out.push(2);
                match block {
                    Some(b) => {
                        out.push(1);
                        b.encode_to(out);
                    }
                    None => out.push(0),
                }
            }
            SyncResponse::Mempool(txids) => {
                out.push(3);
                put_hashes(out, txids, |t| t.to_byte_array());
            }
            SyncResponse::Txs(txs) => {
                out.push(4);
                cairn_chain::encode::write_var_list(out, txs);
            }
        }
    }
}

impl Decodable for SyncResponse {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8()? {
            0 => SyncResponse::Status(ChainStatus::decode_from(r)?),
            1 => SyncResponse::Headers(r.var_list(cairn_chain::block::HEADER_SIZE, MAX_HEADERS as u64)?),
            2 => SyncResponse::Block(match r.u8()? {
                0 => None,
                1 => Some(Block::decode_from(r)?),
                _ => return Err(DecodeError::Invalid("block option tag")),
            }),
            3 => SyncResponse::Mempool(read_hashes(r, MAX_MEMPOOL_INV as u64, Txid::from_byte_array)?),
            // A transaction is at least 10 bytes; the frame cap bounds the rest.
            4 => SyncResponse::Txs(r.var_list(10, MAX_GET_TXS as u64)?),
            _ => return Err(DecodeError::Invalid("sync response tag")),
        })
    }
}

/// Reads one frame: a 4-byte little-endian length, then that many bytes (at most `max`).
pub(crate) async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T, max: usize) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_le_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds {max}"),
        ));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

pub(crate) async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, bytes: &[u8], max: usize) -> io::Result<()> {
    if bytes.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("frame of {} bytes exceeds {max}", bytes.len()),
        ));
    }
    io.write_all(&(bytes.len() as u32).to_le_bytes()).await?;
    io.write_all(bytes).await?;
    io.close().await
}

fn decode<T: Decodable>(bytes: &[u8]) -> io::Result<T> {
    T::decode(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The request-response codec.
#[derive(Clone, Copy, Debug, Default)]
pub struct SyncCodec;

impl libp2p::request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = SyncRequest;
    type Response = SyncResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        decode(&read_frame(io, MAX_REQUEST_BYTES).await?)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        decode(&read_frame(io, MAX_RESPONSE_BYTES).await?)
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, req: SyncRequest) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &req.encode(), MAX_REQUEST_BYTES).await
    }

    async fn write_response<T>(&mut self, _: &StreamProtocol, io: &mut T, res: SyncResponse) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res.encode(), MAX_RESPONSE_BYTES).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_chain::Network;

    fn status() -> ChainStatus {
        ChainStatus {
            genesis: Network::Regtest.params().genesis_hash(),
            height: 7,
            tip: BlockHash::from_byte_array([7; 32]),
            chain_work: U256::from_le_bytes([1; 32]),
            time: 1_800_000_000,
        }
    }

    #[test]
    fn messages_round_trip() {
        let genesis = Network::Regtest.params().genesis_block().clone();
        let requests = vec![
            SyncRequest::Status(status()),
            SyncRequest::GetHeaders {
                locator: vec![BlockHash::from_byte_array([1; 32]), BlockHash::ZERO],
                stop: BlockHash::ZERO,
            },
            SyncRequest::GetBlock(BlockHash::from_byte_array([2; 32])),
            SyncRequest::GetMempool,
            SyncRequest::GetTxs(vec![Txid::from_byte_array([3; 32])]),
        ];
        for r in requests {
            assert_eq!(SyncRequest::decode(&r.encode()).unwrap(), r);
        }
        let responses = vec![
            SyncResponse::Status(status()),
            SyncResponse::Headers(vec![genesis.header, genesis.header]),
            SyncResponse::Block(Some(genesis.clone())),
            SyncResponse::Block(None),
            SyncResponse::Mempool(vec![Txid::from_byte_array([4; 32])]),
            SyncResponse::Txs(genesis.txdata.clone()),
        ];
        for r in responses {
            assert_eq!(SyncResponse::decode(&r.encode()).unwrap(), r);
        }
    }

    #[test]
    fn hostile_input_is_an_error() {
        assert!(SyncRequest::decode(&[9]).is_err());
        assert!(SyncRequest::decode(&[]).is_err());
        // A locator longer than allowed.
        let mut big = vec![1u8];
        write_compact_size(&mut big, MAX_LOCATOR + 1);
        big.extend(std::iter::repeat_n(0u8, 32 * (MAX_LOCATOR as usize + 1) + 32));
        assert!(SyncRequest::decode(&big).is_err());
        // A length prefix promising more headers than bytes.
        let mut lying = vec![1u8];
        write_compact_size(&mut lying, 1000);
        assert!(SyncResponse::decode(&lying).is_err());
        assert!(SyncResponse::decode(&[2, 5]).is_err());
        // Trailing bytes.
        let mut extra = SyncRequest::GetMempool.encode();
        extra.push(0);
        assert!(SyncRequest::decode(&extra).is_err());
    }

    #[test]
    fn frames_are_capped() {
        futures::executor::block_on(async {
            let mut buf = Vec::new();
            let mut cursor = futures::io::Cursor::new(&mut buf);
            write_frame(&mut cursor, &[1, 2, 3], 10).await.unwrap();
            let mut reader = futures::io::Cursor::new(buf.clone());
            assert_eq!(read_frame(&mut reader, 10).await.unwrap(), vec![1, 2, 3]);
            let mut reader = futures::io::Cursor::new(buf);
            assert!(read_frame(&mut reader, 2).await.is_err());
            let mut cursor = futures::io::Cursor::new(Vec::new());
            assert!(write_frame(&mut cursor, &[0; 11], 10).await.is_err());
        });
    }
}
