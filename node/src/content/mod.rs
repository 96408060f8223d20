//! File sharing: the node side of the content swarm.
//!
//! The swarm logic lives in `cairn_p2p::content`: one pure `FileSession` per file (phases,
//! picker, choker, download, upload queue, peer exchange). This module drives the sessions. One
//! task, the [`service`], owns every shared file and talks to peers through the node's one Swarm
//! (manifests over request-response, the peer wire over one stream per peer and file); disk work
//! (hashing a published file, hashing pieces, reading blocks, writing verified pieces, opening
//! and removing shares) runs on blocking threads and comes back to the task as completions. Providers are found through the [`providers::Providers`]
//! interface (the Chord ring of `cairn_p2p::index`). What is shared is kept on disk by
//! [`registry`], so published files stay published and fetches resume after a restart.

pub mod providers;
mod registry;
mod service;

pub use providers::ChordProviders;
pub use service::{ContentConfig, ContentHandle, start};

/// Why a file-sharing call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ContentError {
    /// A bad argument: a malformed id, a missing or unreadable file, an unusable destination.
    #[error("{0}")]
    InvalidParameter(String),
    /// No such file is shared or fetched here.
    #[error("{0}")]
    NotFound(String),
    /// A disk failure.
    #[error("{0}")]
    Io(String),
    /// The file-sharing service has stopped (the node is shutting down).
    #[error("the file-sharing service has stopped")]
    Stopped,
}
