//! File sharing by content hash, modelled on BitTorrent (BEP 3).
//!
//! A file is cut into pieces of a power-of-two size; its [`manifest::Manifest`] lists the name, the
//! size, the piece size and the SHA-256 of every piece, and its [`id::ContentId`] is the SHA-256 of
//! the manifest's canonical bytes. Peers exchange which pieces they hold as a [`bitfield::Bitfield`]
//! and fetch 16 KiB blocks; the [`picker::Picker`] decides which blocks to ask for (random first
//! pieces, then rarest first, strict priority for started pieces, endgame at the end), and the
//! [`choker::Choker`] decides who may download from us (tit-for-tat with an optimistic unchoke).
//! A file's whole life (searching, opening, downloading, seeding) is one [`session::FileSession`],
//! a pure state machine the node drives; peers talk BEP 3 on the [`peer_wire`].
//!
//! Everything here is pure or plain blocking I/O: no clock, RNG or runtime hidden inside, so the
//! swarm logic is tested (and simulated) without a network. Nothing here depends on the chain.

pub mod bitfield;
pub mod choker;
pub mod download;
pub mod id;
pub mod link;
pub mod manifest;
pub mod message;
pub mod peer_wire;
pub mod picker;
pub mod rate;
pub mod session;
pub mod store;
pub mod upload;

pub use bitfield::Bitfield;
pub use choker::{Choker, Decision, PeerView};
pub use download::{Action, Download};
pub use id::{ContentId, PieceIndex};
pub use link::ShareLink;
pub use manifest::{BLOCK_SIZE, DEFAULT_PIECE_SIZE, FileEntry, Manifest, ManifestError, PieceCheck};
pub use message::{ContentCodec, ContentRequest, ContentResponse, MAX_PEX_PEERS};
pub use peer_wire::PeerMessage;
pub use picker::{BlockRequest, Picker};
pub use rate::{RateMeter, TokenBucket};
pub use session::{Failure, FileSession, Input, Output, Phase, SessionStatus};
pub use store::{PieceStore, StoreError};
pub use upload::UploadQueue;
