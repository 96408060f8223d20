//! The session's vocabulary: its phases, why it fails, what goes in and out, and the status it
//! reports.

use libp2p::PeerId;

use super::super::bitfield::Bitfield;
use super::super::download::Download;
use super::super::id::PieceIndex;
use super::super::manifest::Manifest;
use super::super::peer_wire::PeerMessage;

/// Where a file is in its life.
#[derive(Debug)]
pub enum Phase {
    /// Looking up providers and asking them for the manifest.
    Searching,
    /// The manifest is known; the driver opens (or creates) the piece store.
    Opening,
    /// Fetching the pieces we lack.
    Downloading(Box<Download<PeerId>>),
    /// Every piece is written; the driver makes the file durable.
    Syncing,
    /// Every piece held and durable: serving only.
    Seeding,
    /// Paused by the user: out of the swarm, not announced; the pieces held stay on disk.
    Paused,
    /// Stopped for good (remove and fetch again to retry).
    Failed(Failure),
}

impl Phase {
    /// The phase's name as users see it.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Searching => "searching",
            Phase::Opening => "opening",
            Phase::Downloading(_) | Phase::Syncing => "downloading",
            Phase::Seeding => "complete",
            Phase::Paused => "paused",
            Phase::Failed(_) => "failed",
        }
    }
}

/// Why a file's session stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// No provider gave us the manifest in time.
    #[error("no provider found within {0} s (fetch it again to retry)")]
    NoProvider(u64),
    /// The piece store failed.
    #[error("{0}")]
    Disk(String),
}

/// A disk or lookup completion, a peer's message, or the clock.
#[derive(Debug)]
pub enum Input {
    /// A provider lookup answered (possibly with nobody).
    Found(Vec<PeerId>),
    /// A provider lookup failed.
    LookupFailed,
    /// Peers said to have the file by the user (a share link's peers): candidates at once,
    /// whatever lookup is under way.
    Hints(Vec<PeerId>),
    /// `from` answered our manifest request with these bytes (not checked yet).
    Manifest {
        /// Who answered.
        from: PeerId,
        /// The canonical manifest bytes it sent.
        bytes: Vec<u8>,
    },
    /// `from` did not give us the manifest (no answer, or "not found").
    ManifestFailed {
        /// Who was asked.
        from: PeerId,
    },
    /// The store is open, holding the pieces in `have` (verified on disk).
    Opened {
        /// The pieces held.
        have: Bitfield,
        /// Which files of a folder to download, one flag per file of the manifest (`None`: all).
        selected: Option<Vec<bool>>,
    },
    /// The store could not be opened.
    OpenFailed(String),
    /// A stream with `peer` is up and its `Hello` read (either side opened it).
    Connected {
        /// The peer.
        peer: PeerId,
        /// Its wire bitfield.
        bitfield: Vec<u8>,
    },
    /// A stream we asked for ([`Output::Connect`]) could not be opened or was refused.
    ConnectFailed(PeerId),
    /// A message from a member.
    Message(PeerId, PeerMessage),
    /// A member's stream closed.
    Disconnected(PeerId),
    /// The hash check of an [`Output::Check`] is done.
    Checked {
        /// The piece.
        piece: PieceIndex,
        /// Its data (handed back for writing).
        data: Vec<u8>,
        /// Whether it matched the manifest.
        good: bool,
    },
    /// An [`Output::Write`] is done.
    Written {
        /// The piece.
        piece: PieceIndex,
        /// The error, if it failed.
        result: Result<(), String>,
    },
    /// The [`Output::Sync`] is done.
    Synced(Result<(), String>),
    /// Time passed (at least every [`SEARCH_FIRST`]).
    Tick,
}

/// What the driver must do.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    /// Look up providers of the file (answer with [`Input::Found`] or [`Input::LookupFailed`]).
    FindProviders,
    /// Ask `peer` for the manifest (answer with [`Input::Manifest`] or [`Input::ManifestFailed`]).
    AskManifest(PeerId),
    /// Open or create the store for this manifest (answer with [`Input::Opened`] or
    /// [`Input::OpenFailed`]).
    Open(Manifest),
    /// Open a stream to `peer`, send our [`FileSession::hello`], read its `Hello` (answer with
    /// [`Input::Connected`] or [`Input::ConnectFailed`]).
    Connect(PeerId),
    /// Send a message to a member.
    Send(PeerId, PeerMessage),
    /// Close the stream with `peer` (it left the swarm; no [`Input::Disconnected`] follows).
    Close(PeerId),
    /// Ban `peer` from the node, for this reason (it also left the swarm).
    Ban(PeerId, &'static str),
    /// Hash a piece off the event loop (answer with [`Input::Checked`]).
    Check {
        /// The piece.
        piece: PieceIndex,
        /// Its data.
        data: Vec<u8>,
    },
    /// Write a verified piece (answer with [`Input::Written`]).
    Write {
        /// The piece.
        piece: PieceIndex,
        /// Its data.
        data: Vec<u8>,
    },
    /// Make the written pieces durable (answer with [`Input::Synced`]).
    Sync,
    /// Announce on the index that we provide the file.
    Announce,
    /// Stop announcing it.
    Withdraw,
    /// The download finished: every piece is held and durable.
    Completed,
    /// The session failed (see [`FileSession::phase`]).
    Failed(Failure),
}

/// A file's swarm as the dashboard draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct SwarmView {
    /// One character per piece: `h` held, `d` downloading, `m` missing (empty until the
    /// manifest is known).
    pub pieces: String,
    /// Per piece, how many members hold it (known while downloading; empty while seeding,
    /// where members' pieces are not tracked).
    pub availability: Vec<u32>,
    /// The members.
    pub peers: Vec<SwarmMember>,
}

/// One member of a swarm.
#[derive(Debug, Clone, PartialEq)]
pub struct SwarmMember {
    /// Its peer id.
    pub peer: PeerId,
    /// Bytes per second it sends us (0 while seeding).
    pub download_rate: f64,
    /// Bytes per second we send it.
    pub upload_rate: f64,
    /// We let it ask for pieces (unchoked by our choker).
    pub unchoked: bool,
    /// It lets us ask (known while downloading).
    pub unchokes_us: Option<bool>,
    /// It wants pieces we have.
    pub interested: bool,
    /// Pieces it holds (known while downloading).
    pub pieces: Option<u32>,
}

/// A file's state as the status calls report it (the RPC layer turns it into JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionStatus {
    /// The phase's name ([`Phase::name`]).
    pub state: &'static str,
    /// The manifest, once known.
    pub name: Option<String>,
    /// The file's size, once known.
    pub size: Option<u64>,
    /// Pieces held, and in all (0 until the manifest is known).
    pub pieces_have: u32,
    /// See `pieces_have`.
    pub pieces_total: u32,
    /// Pieces held and in all among those wanted (a folder's selected files; else as above).
    pub wanted_have: u32,
    /// See `wanted_have`.
    pub wanted_total: u32,
    /// A folder's files: path, size, whether selected, and bytes held (empty for a single file).
    pub files: Vec<(String, u64, bool, u64)>,
    /// Bytes held (verified and written).
    pub bytes: u64,
    /// Members of the swarm now.
    pub peers: usize,
    /// Bytes per second, recent averages.
    pub download_rate: f64,
    /// See `download_rate`.
    pub upload_rate: f64,
    /// Totals since the session started.
    pub downloaded: u64,
    /// See `downloaded`.
    pub uploaded: u64,
    /// Why it failed.
    pub error: Option<String>,
    /// Super-seeding (BEP 16) is on: it applies while the whole file is held.
    pub super_seeding: bool,
    /// Per peer (down, up) bytes, most downloaded first.
    pub sources: Vec<(PeerId, u64, u64)>,
}
