//! Fuzz targets' bodies for what peers send the network layer: every message decoder (sync,
//! content, index), the file manifest and the piece bitfield, and the Chord state machine fed
//! any sequence of requests from anyone. The invariants: no panic; what decodes re-encodes to a
//! value that decodes to itself; the state machine keeps its bounds.
//!
//! `fuzz/` runs these under libFuzzer (`scripts/fuzz.sh`); the tests below run each over valid
//! seeds and seeded mutations as a smoke test ([`cairn_chain::fuzz::Mutator`]).

use cairn_chain::encode::{Decodable, Encodable};

use crate::chord::ChordId;
use crate::chord::message::{IndexRequest, IndexResponse, PeerAddr};
use crate::chord::routing::Entry;
use crate::chord::state::{Config, Node};
use crate::content::bitfield::Bitfield;
use crate::content::manifest::Manifest;
use crate::content::message::{ContentRequest, ContentResponse};
use crate::content::peer_wire::PeerMessage;
use crate::sync_protocol::{SyncRequest, SyncResponse};

/// A sync request or response (the chain-sync protocol's frames).
pub fn sync_message(data: &[u8]) {
    if let Ok(r) = SyncRequest::decode(data) {
        assert_eq!(SyncRequest::decode(&r.encode()).ok().as_ref(), Some(&r));
    }
    if let Ok(r) = SyncResponse::decode(data) {
        assert_eq!(SyncResponse::decode(&r.encode()).ok().as_ref(), Some(&r));
    }
}

/// A manifest request or response, or a peer-wire frame's body (the file-sharing protocols).
pub fn content_message(data: &[u8]) {
    if let Ok(m) = PeerMessage::decode(data) {
        assert_eq!(PeerMessage::decode(&m.encode()[4..]).ok().as_ref(), Some(&m));
    }
    if let Ok(r) = ContentRequest::decode(data) {
        assert_eq!(ContentRequest::decode(&r.encode()).ok().as_ref(), Some(&r));
    }
    if let Ok(r) = ContentResponse::decode(data) {
        assert_eq!(ContentResponse::decode(&r.encode()).ok().as_ref(), Some(&r));
    }
}

/// An index request or response (Chord and flooded search).
pub fn index_message(data: &[u8]) {
    if let Ok(r) = IndexRequest::decode(data) {
        assert_eq!(IndexRequest::decode(&r.encode()).ok().as_ref(), Some(&r));
    }
    if let Ok(r) = IndexResponse::decode(data) {
        assert_eq!(IndexResponse::decode(&r.encode()).ok().as_ref(), Some(&r));
    }
}

/// A file's manifest, and piece checks against it.
pub fn manifest(data: &[u8]) {
    let Ok(m) = Manifest::decode(data) else { return };
    assert_eq!(Manifest::decode(&m.encode()).ok().as_ref(), Some(&m));
    let pieces = m.pieces();
    for i in [0, pieces.saturating_sub(1), pieces] {
        let _ = m.verify(crate::content::id::PieceIndex(i), &data[..data.len().min(64)]);
    }
}

/// A peer's bitfield for a file of the piece count in the first 4 bytes.
pub fn bitfield(data: &[u8]) {
    let Some((len, bytes)) = data.split_first_chunk::<4>() else {
        return;
    };
    let pieces = u32::from_le_bytes(*len) % (1 << 20);
    let Ok(b) = Bitfield::from_bytes(bytes, pieces) else { return };
    assert_eq!(b.len(), pieces);
    assert_eq!(b.as_bytes(), bytes);
}

/// The Chord state machine fed whatever strangers send: the input is a list of
/// length-prefixed index requests, each handled as if it came from a peer; an empty one means
/// "250 ms pass" (a tick), so the fuzzer chooses how requests and timers interleave (and a
/// tick, which may fix fingers, is not paid for on every request). The node must answer every
/// one, and its successor list stays bounded.
pub fn chord_node(data: &[u8]) {
    let config = Config::default();
    let successors = config.successors;
    let me = Entry {
        id: ChordId::hash(b"fuzzed node"),
        addr: PeerAddr {
            peer: libp2p::PeerId::from_bytes(&[0, 4, 1, 2, 3, 4]).expect("an identity peer id"),
            vnode: 0,
            addrs: vec![],
        },
    };
    let mut node = Node::new(me, config, 0);
    let mut now = 0;
    let mut rest = data;
    while let Some((len, tail)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_le_bytes(*len)).min(tail.len());
        let (msg, tail) = tail.split_at(len);
        rest = tail;
        if msg.is_empty() {
            now += 250;
            node.tick(now);
        } else if let Ok(IndexRequest::Chord { request, .. }) = IndexRequest::decode(msg) {
            let _ = node.on_request(request, now);
        }
        let _ = node.drain();
        assert!(node.routing().successors().len() <= successors + 1);
    }
}

/// Valid inputs to start each target from (the fuzz corpus seeds and the smoke test's).
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    match target {
        "sync_message" => {
            let genesis = cairn_chain::Network::Regtest.params().genesis_block().clone();
            let hash = genesis.block_hash();
            vec![
                SyncRequest::GetHeaders {
                    locator: vec![hash, hash],
                    stop: hash,
                }
                .encode(),
                SyncRequest::GetBlock(hash).encode(),
                SyncRequest::GetMempool.encode(),
                SyncResponse::Headers(vec![genesis.header; 3]).encode(),
                SyncResponse::Block(Some(genesis.clone())).encode(),
                SyncResponse::Txs(genesis.txdata.clone()).encode(),
            ]
        }
        "content_message" => {
            let cid = crate::content::id::ContentId::from_bytes([5; 32]);
            vec![
                ContentRequest::GetManifest { cid }.encode(),
                ContentResponse::Manifest(vec![1, 2, 3]).encode(),
                ContentResponse::NotFound.encode(),
                PeerMessage::Hello { cid, bitfield: vec![0xf0] }.encode()[4..].to_vec(),
                PeerMessage::Request(crate::content::BlockRequest {
                    piece: crate::content::PieceIndex(3),
                    offset: 16_384,
                    len: 16_384,
                })
                .encode()[4..]
                    .to_vec(),
                PeerMessage::Piece {
                    piece: crate::content::PieceIndex(3),
                    offset: 0,
                    data: vec![7; 64],
                }
                .encode()[4..]
                    .to_vec(),
            ]
        }
        "manifest" => {
            let data = vec![3u8; 100_000];
            let m = Manifest::from_reader("seed.bin", data.len() as u64, 16_384, data.as_slice()).expect("a valid manifest");
            vec![m.encode()]
        }
        "bitfield" => {
            let mut bits = 21u32.to_le_bytes().to_vec();
            bits.extend_from_slice(&[0xff, 0xff, 0x10]);
            vec![bits]
        }
        "index_message" => index_seeds(),
        "chord_node" => {
            let framed: Vec<u8> = index_seeds()
                .iter()
                .flat_map(|m| {
                    let mut f = (m.len() as u16).to_le_bytes().to_vec();
                    f.extend_from_slice(m);
                    f.extend_from_slice(&[0, 0]); // a tick
                    f
                })
                .collect();
            vec![framed]
        }
        _ => Vec::new(),
    }
}

fn index_seeds() -> Vec<Vec<u8>> {
    use crate::chord::state::Request;
    let peer = PeerAddr {
        peer: libp2p::PeerId::from_bytes(&[0, 4, 9, 9, 9, 9]).expect("an identity peer id"),
        vnode: 1,
        addrs: vec!["/ip4/127.0.0.1/tcp/4000".parse().expect("a multiaddr")],
    };
    let entry = Entry {
        id: ChordId::hash(b"other"),
        addr: peer,
    };
    let chord = |request| IndexRequest::Chord { vnode: 0, request }.encode();
    vec![
        IndexRequest::Neighbor.encode(),
        chord(Request::FindSuccessor {
            key: ChordId::hash(b"k"),
            exclude: vec![ChordId::hash(b"x")],
        }),
        chord(Request::GetState),
        chord(Request::Notify { node: entry.clone() }),
        chord(Request::Get {
            key: ChordId::hash(b"k"),
            exclude: vec![ChordId::hash(b"x")],
        }),
        chord(Request::TakeOver { node: entry }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_chain::fuzz::Mutator;

    #[test]
    fn smoke_every_decoder_and_the_chord_state_machine() {
        Mutator::new(11).run(&seeds("sync_message"), 10_000, sync_message);
        Mutator::new(12).run(&seeds("content_message"), 10_000, content_message);
        Mutator::new(13).run(&seeds("manifest"), 10_000, manifest);
        Mutator::new(14).run(&seeds("bitfield"), 10_000, bitfield);
        Mutator::new(15).run(&seeds("index_message"), 10_000, index_message);
        Mutator::new(16).run(&seeds("chord_node"), 2_000, chord_node);
    }
}
