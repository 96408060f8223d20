//! JSON shapes of the file-sharing and Chord methods (`publishfile`, `fetchfile` and its
//! status, `searchfiles`, `getchordinfo`, `chordlookup`): Cairn's own, in Core's style.

use cairn_chain::{BlockHash, Txid};
use serde::{Deserialize, Serialize};

/// The result of `publishfile`.
#[derive(Serialize, Debug, Clone)]
pub struct PublishFileResult {
    /// Content id, hex.
    pub cid: String,
    pub name: String,
    pub size: u64,
    pub pieces: u32,
    pub piece_size: u32,
    /// Normalized keywords its postings are filed under.
    pub keywords: Vec<String>,
    /// Share link (`magnet:?xt=urn:cairn:…`) naming this node's listen addresses as peers.
    pub link: String,
    /// The anchoring transaction (`anchor` asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchor: Option<Txid>,
    /// Why the anchor asked for could not be made (the file is shared all the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchor_error: Option<String>,
}

/// `anchorfile`.
#[derive(Serialize, Debug, Clone)]
pub struct AnchorFileResult {
    pub cid: String,
    pub txid: Txid,
}

/// `verifyanchor`: the earliest anchor of a content id. A mined one has its block; one still in
/// the mempool has `confirmations` 0 and no block.
#[derive(Serialize, Debug, Clone)]
pub struct AnchorInfo {
    pub cid: String,
    pub txid: Txid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blockhash: Option<BlockHash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// The block's time: the content existed no later than this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<u32>,
    pub confirmations: u32,
    /// Anchors of this id in the active chain (anyone may anchor an id again; the earliest counts).
    pub anchors: usize,
}

/// Bytes exchanged with one peer for one file.
#[derive(Serialize, Debug, Clone)]
pub struct PeerTransfer {
    pub peer: String,
    /// Bytes of verified-or-not block data received from it.
    pub downloaded: u64,
    /// Bytes of block data sent to it.
    pub uploaded: u64,
}

/// One shared or fetched file: `getfetchstatus`, `fetchfile` and `listfiles` entries.
#[derive(Serialize, Debug, Clone)]
pub struct FileStatus {
    pub cid: String,
    /// Unknown (null) until the manifest has been found.
    pub name: Option<String>,
    pub size: Option<u64>,
    /// `publish` (this node published it) or `fetch`.
    pub origin: String,
    /// `searching`, `downloading`, `complete` or `failed`.
    pub state: String,
    pub pieces_have: u32,
    pub pieces_total: u32,
    /// Bytes held (verified and written).
    pub bytes: u64,
    /// Peers of this file's swarm connected now.
    pub peers: usize,
    /// Bytes per second, recent average.
    pub download_rate: f64,
    pub upload_rate: f64,
    /// Totals since the node started.
    pub downloaded: u64,
    pub uploaded: u64,
    /// Where the data is (null until decided).
    pub path: Option<String>,
    /// Why it failed (null otherwise).
    pub error: Option<String>,
    /// Per peer, bytes exchanged since the node started, most downloaded first.
    pub sources: Vec<PeerTransfer>,
    /// Share link: the content id, name and size once known, and this node's listen addresses
    /// as peers while it serves the file (`downloading` or `complete`).
    pub link: String,
    /// Seconds until complete at the current download rate (remaining bytes / rate, rounded
    /// up); null when unknown: not downloading, or nothing arriving.
    pub eta: Option<u64>,
    /// Super-seeding (BEP 16, `cairn node --super-seed`) is on for this published file.
    pub super_seeding: bool,
    /// Bytes to fetch: the size of the chosen files of a folder, else `size`.
    pub wanted_size: Option<u64>,
    /// A folder's files (absent for a single file, and until the manifest is known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<FolderFile>>,
}

/// One file of a shared folder.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct FolderFile {
    /// Its place in the folder's list (sorted by path).
    pub index: usize,
    /// Path inside the folder, `/` between components.
    pub path: String,
    pub size: u64,
    /// Chosen for download (`fetchfile`'s `files`; every file of a published folder).
    pub selected: bool,
    /// Bytes held (verified and written).
    pub bytes: u64,
}

/// Options of `searchfiles`.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct SearchOptions {
    /// Flood the query to neighbours (Gnutella) instead of asking the Chord ring.
    #[serde(default)]
    pub flood: bool,
    /// Hops a flooded query travels (1–7, default 4).
    pub ttl: Option<u8>,
}

/// One file found by `searchfiles`.
#[derive(Serialize, Debug, Clone)]
pub struct SearchFileResult {
    /// Content id, hex.
    pub cid: String,
    pub name: String,
    pub size: u64,
    /// Nodes that provide it: live provider records on the ring, or nodes that answered a flood.
    pub providers: usize,
    /// A flooded search: the peers that have it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peers: Option<Vec<String>>,
    /// A flooded search: hops to the nearest of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hops: Option<u8>,
}

/// A node on the Chord ring.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct ChordNode {
    /// Ring id, hex (SHA-256 of the peer id).
    pub id: String,
    /// Peer id.
    pub peer: String,
}

/// One row of the finger table (consecutive fingers pointing at the same node are one row).
#[derive(Serialize, Debug, Clone)]
pub struct ChordFinger {
    /// Finger index i: the first node at or after id + 2^i.
    pub index: usize,
    /// id + 2^index, hex.
    pub start: String,
    pub node: ChordNode,
}

/// A virtual node's place on the ring.
#[derive(Serialize, Debug, Clone)]
pub struct ChordVnode {
    pub id: String,
    pub predecessor: Option<ChordNode>,
    pub successors: Vec<ChordNode>,
    pub fingers: Vec<ChordFinger>,
    /// Distinct keys it holds records under (its own range and replicas).
    pub keys_stored: usize,
    /// Records held.
    pub records: usize,
}

/// `getchordinfo`: the node's first virtual node, then any others.
#[derive(Serialize, Debug, Clone)]
pub struct ChordInfo {
    pub id: String,
    pub peer: String,
    pub predecessor: Option<ChordNode>,
    pub successors: Vec<ChordNode>,
    pub fingers: Vec<ChordFinger>,
    pub keys_stored: usize,
    pub records: usize,
    /// Further virtual nodes (`--chord-vnodes` above 1).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vnodes: Vec<ChordVnode>,
}

/// `chordlookup`.
#[derive(Serialize, Debug, Clone)]
pub struct ChordLookupResult {
    /// The key looked up, hex.
    pub key: String,
    /// The node responsible for it.
    pub node: ChordNode,
    /// Requests the lookup took.
    pub hops: u32,
    /// The nodes asked, in order (each hop), ending at the one that named `node`.
    pub path: Vec<ChordNode>,
}
