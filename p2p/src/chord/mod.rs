//! The Chord ring (Stoica et al., SIGCOMM 2001): the structured overlay that maps content ids and
//! keywords to the nodes holding their provider records and search postings. Pure state machines
//! here ([`id`], [`routing`]); the protocol over the Swarm and the records build on them.

pub mod id;
pub mod message;
pub mod records;
pub mod routing;
pub mod sim;
pub mod state;

pub use id::ChordId;
pub use records::{Millis, Record, Records};
pub use routing::{Entry, Routing, Step};
pub use state::{Config, Node, OpError, OpId, OpResult, Output, ReqId, Request, Response};
