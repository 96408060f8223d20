//! Cairn's peer-to-peer layer: one libp2p Swarm, owned by one event loop.
//!
//! The node starts it with [`start`], which returns a cloneable [`NetworkHandle`] (commands in)
//! and a bounded queue of [`NetworkEvent`]s (gossip to validate, sync requests to answer, peers
//! coming and going). The Swarm speaks TCP + noise + yamux, identify, ping, Kademlia and gossipsub
//! under Cairn's names ([`topic`]), plus the chain-sync protocol ([`sync_protocol`]) and the
//! file-sharing protocol ([`content`]), whose inbound requests go to their own queue of
//! [`ContentEvent`]s, and the content index ([`chord`] ring and flooded search, run by the
//! [`index`] service on its own queue of [`IndexEvent`]s). Nothing
//! here validates blocks: the node decides, then reports a [`Verdict`] so gossip forwards only
//! what the chain accepted.

pub mod address;
pub mod behaviour;
pub mod chord;
pub mod content;
pub mod error;
pub mod event_loop;
#[doc(hidden)]
pub mod fuzz;
pub mod handle;
pub mod identity;
pub mod index;
pub mod peer;
pub mod subnet;
pub mod sync_protocol;
pub mod topic;
pub mod transport;
pub mod wire;

pub use address::peer_address;
pub use behaviour::Limits;
pub use error::{NetworkError, RequestError, StartError};
pub use event_loop::{NetworkConfig, start};
pub use handle::{
    AddNode, AddedNodeInfo, ContentEvent, ContentResponder, IndexEvent, IndexResponder, NetworkEvent, NetworkHandle, NetworkInfo,
    Responder, Verdict,
};
pub use index::{IndexConfig, IndexError, IndexHandle, LocalFile, SearchHit};
pub use libp2p::multiaddr::Protocol;
pub use libp2p::{Multiaddr, PeerId, Stream};
pub use peer::{BanEntry, DEFAULT_BAN, PeerSummary};
pub use subnet::{Subnet, SubnetError};
pub use sync_protocol::{ChainStatus, SyncRequest, SyncResponse};
pub use topic::Topic;
