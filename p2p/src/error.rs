//! Errors of the peer-to-peer layer.

use std::path::PathBuf;

/// Starting the network failed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The node key file could not be read or written.
    #[error("node key {path}: {source}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The node key file does not hold a key.
    #[error("node key {path} is corrupt: {reason}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The transport could not be built.
    #[error("transport: {0}")]
    Transport(String),
    /// The behaviour could not be built.
    #[error(transparent)]
    Behaviour(#[from] crate::behaviour::BehaviourError),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: libp2p::Multiaddr,
        /// Why.
        reason: String,
    },
}

/// A command to the network failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    /// The network has stopped.
    #[error("the network has stopped")]
    Stopped,
    /// The address was already added (`addnode add`).
    #[error("node already added")]
    AlreadyAdded,
    /// The address was never added (`addnode remove`).
    #[error("node has not been added")]
    NotAdded,
    /// The address could not be dialed.
    #[error("cannot dial {addr}: {reason}")]
    Dial {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
}

/// A sync request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The network has stopped.
    #[error("the network has stopped")]
    Stopped,
    /// Too many requests are in flight.
    #[error("too many requests in flight")]
    Busy,
    /// The peer did not answer in time, the connection failed, or it sent garbage.
    #[error("request failed: {0}")]
    Failed(String),
    /// The peer answered with a response of the wrong kind.
    #[error("the peer answered with the wrong kind of response")]
    WrongResponse,
}
