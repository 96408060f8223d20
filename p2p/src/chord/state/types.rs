//! The state machine's vocabulary: its configuration, the messages nodes exchange, the
//! operations it runs for its owner and what it hands its driver. Split from `state.rs`, which
//! keeps the machine itself.

use crate::chord::id::ChordId;
use crate::chord::records::{Millis, Record};
use crate::chord::routing::{Entry, Step};

/// Timers and sizes.
#[derive(Clone, Debug)]
pub struct Config {
    /// Length of the successor list (`r`).
    pub successors: usize,
    /// How often stabilize runs.
    pub stabilize_every: Millis,
    /// How often one finger is refreshed.
    pub fix_fingers_every: Millis,
    /// How often the predecessor is checked.
    pub check_predecessor_every: Millis,
    /// How often owned records are pushed to the successors.
    pub replicate_every: Millis,
    /// Longest a replicated `Store` waits for its copies before it is acknowledged anyway; it
    /// must stay well below the putter's request timeout, or the putter takes this node for dead.
    pub replica_wait: Millis,
    /// Most hops (requests) one lookup may take.
    pub max_hops: u32,
    /// Most records stored.
    pub max_records: usize,
    /// The checks against nodes that lie (see [`Node`](super::Node)): a lookup step must make
    /// progress, and a claimed owner must lie within a plausible distance of the node that names
    /// it; a get or put whose owner fails, answers nothing or is refused also excludes the node
    /// that named it; a put writes [`Config::put_copies`] owners. Off only in the simulator, to
    /// measure what they buy.
    pub hardened: bool,
    /// Consecutive owners a put writes (each replicating to its successors) when hardened: a
    /// key's owner that drops what it is given does not lose the record.
    pub put_copies: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            successors: 8,
            stabilize_every: 1000,
            fix_fingers_every: 500,
            check_predecessor_every: 2000,
            replicate_every: 10_000,
            replica_wait: 1000,
            max_hops: 128,
            max_records: 200_000,
            hardened: true,
            put_copies: 4,
        }
    }
}

/// A message to a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request<A> {
    /// One step of a lookup of `key`, skipping `exclude`.
    FindSuccessor {
        /// The key.
        key: ChordId,
        /// Nodes the asker found dead.
        exclude: Vec<ChordId>,
    },
    /// Your predecessor and successor list (stabilize; also check_predecessor's ping).
    GetState,
    /// `node` may be your predecessor.
    Notify {
        /// The notifying node.
        node: Entry<A>,
    },
    /// Store these records; if `replicate`, also copy them to your successors.
    Store {
        /// The records.
        records: Vec<Record>,
        /// Whether the receiver is the responsible node (and replicates).
        replicate: bool,
        /// With `replicate`: nodes the asker found dead, never named back to it as the owner
        /// (see `Node::misplaced`). At most `MAX_EXCLUDE`.
        exclude: Vec<ChordId>,
    },
    /// The records under `key`.
    Get {
        /// The key.
        key: ChordId,
        /// Nodes the asker found dead (as in `Store`).
        exclude: Vec<ChordId>,
    },
    /// `node` joined just before you: send it the records of its range.
    TakeOver {
        /// The joining node.
        node: Entry<A>,
    },
    /// `node` leaves; its neighbours splice it out.
    Leaving {
        /// The leaving node.
        node: Entry<A>,
        /// Its predecessor.
        predecessor: Option<Entry<A>>,
        /// Its successor list.
        successors: Vec<Entry<A>>,
    },
}

/// The answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response<A> {
    /// A lookup step.
    Step(Step<A>),
    /// Predecessor and successor list.
    State {
        /// The predecessor.
        predecessor: Option<Entry<A>>,
        /// The successor list.
        successors: Vec<Entry<A>>,
    },
    /// Done.
    Ack,
    /// Records.
    Records(Vec<Record>),
}

/// How [`Node::answer`] answers a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer<A> {
    /// At once.
    Now(Response<A>),
    /// Later, by an [`Output::Answer`] under this number: the driver keeps the asker's reply.
    Later(AnswerId),
}

/// A request whose answer the node holds back, as numbered by the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AnswerId(pub u64);

/// A request awaiting its answer, as numbered by the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReqId(pub u64);

/// An operation started by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub u64);

/// How an operation ended well.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpResult<A> {
    /// A lookup: the key's successor.
    Found {
        /// The node responsible.
        node: Entry<A>,
        /// Requests the lookup took.
        hops: u32,
        /// The nodes asked, in order (the hops).
        path: Vec<Entry<A>>,
    },
    /// Records stored at the responsible node.
    Stored {
        /// The node responsible.
        node: Entry<A>,
        /// Lookup hops.
        hops: u32,
    },
    /// Records read from the responsible node.
    Got {
        /// The node responsible.
        node: Entry<A>,
        /// Lookup hops.
        hops: u32,
        /// The records.
        records: Vec<Record>,
    },
    /// Joined the ring; our successor sent the records of our range.
    Joined {
        /// Our successor.
        successor: Entry<A>,
        /// Records taken over.
        records: usize,
    },
}

/// Why an operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    /// The lookup took more than the hop limit (the ring is changing, or a node misleads).
    #[error("lookup exceeded {0} hops")]
    TooManyHops(u32),
    /// Every node tried failed to answer.
    #[error("no live node answered")]
    Unreachable,
    /// Too many operations or requests in progress.
    #[error("too many chord operations in progress")]
    Busy,
    /// A node answered with the wrong kind of message.
    #[error("unexpected chord answer")]
    Protocol,
}

/// What the node asks its driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output<A> {
    /// Send `request` to `to`; report the answer with [`Node::on_response`] or the failure with
    /// [`Node::on_failure`].
    Send {
        /// The number to report it under.
        id: ReqId,
        /// The node.
        to: Entry<A>,
        /// The request.
        request: Request<A>,
    },
    /// An operation ended.
    Done {
        /// The operation.
        op: OpId,
        /// How.
        result: Result<OpResult<A>, OpError>,
    },
    /// The answer to the request [`Node::answer`] held back as `id`.
    Answer {
        /// The number it was held under.
        id: AnswerId,
        /// The answer.
        response: Response<A>,
    },
}
