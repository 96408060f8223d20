//! The content index: where files are found. One task ([`service`]) runs this node's Chord
//! virtual nodes over the Swarm and answers flooded searches; others hold an [`IndexHandle`].
//!
//! - `provide` adds a file to the local catalog; the service stores its provider record and
//!   keyword postings on the ring at once and republishes them periodically (they expire
//!   otherwise). `withdraw` stops that.
//! - `find_providers`, `search` and `lookup` are Chord lookups followed by one read at the node
//!   responsible; they run in the caller's task, the ring work in the service.
//! - `flood` is Gnutella's search: a query with a unique id to the direct neighbours, forwarded
//!   while its TTL lasts, answered along the reverse path.

mod admission;
pub mod flood;
pub mod payload;
mod service;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures::future::join_all;
use libp2p::PeerId;
use tokio::sync::{mpsc, oneshot};

use crate::chord::message::{FloodHit, NodeEntry};
use crate::chord::{ChordId, Config as ChordConfig, OpError, OpResult, Record};
use crate::content::ContentId;
pub use payload::{Provider, keywords};
pub use service::start;

/// How long a Chord request may go unanswered before the node is taken for dead.
pub const CHORD_TIMEOUT: Duration = Duration::from_secs(3);
/// Highest TTL of a flooded search.
pub const MAX_TTL: u8 = 7;
/// TTL of a flooded search when none is given (Gnutella's customary 7 is for millions of
/// nodes; 4 reaches thousands).
pub const DEFAULT_TTL: u8 = 4;
/// Most results of a keyword search.
pub const MAX_RESULTS: usize = 50;
/// Most virtual nodes per node.
pub const MAX_VNODES: u8 = 32;

/// How the index runs.
#[derive(Clone, Debug)]
pub struct IndexConfig {
    /// Virtual nodes on the ring (1 = none but the node itself).
    pub vnodes: u8,
    /// Zero bits of the ring puzzle ([`crate::identity::meets_puzzle`]): peers whose ids do not
    /// meet it are refused, and so are records they signed.
    pub puzzle_bits: u8,
    /// The Chord state machine's settings (successor list length, timers).
    pub chord: ChordConfig,
    /// Lifetime of provider records and postings.
    pub record_ttl: Duration,
    /// How often this node republishes its records.
    pub republish_every: Duration,
    /// Most neighbours a flooded query is forwarded to.
    pub flood_fanout: usize,
    /// How long each remaining hop of a flooded query may take.
    pub flood_hop_time: Duration,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            vnodes: 1,
            puzzle_bits: 0,
            chord: ChordConfig::default(),
            record_ttl: Duration::from_secs(30 * 60),
            republish_every: Duration::from_secs(10 * 60),
            flood_fanout: 8,
            flood_hop_time: Duration::from_secs(2),
        }
    }
}

/// A file this node can serve, as announced on the ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalFile {
    /// The file.
    pub cid: ContentId,
    /// Its name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Normalized keywords its postings go under (empty: only a provider record).
    pub keywords: Vec<String>,
}

/// A file found by keyword search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchHit {
    /// The file.
    pub cid: ContentId,
    /// Its name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Providers with live records.
    pub providers: usize,
    /// How many of the name's own words the query matched.
    pub matched_words: usize,
}

/// A lookup's answer.
#[derive(Clone, Debug)]
pub struct LookupResult {
    /// The key looked up.
    pub key: ChordId,
    /// The node responsible.
    pub node: NodeEntry,
    /// Requests the lookup took.
    pub hops: u32,
    /// The nodes asked, in order.
    pub path: Vec<NodeEntry>,
}

/// One virtual node's view of the ring.
#[derive(Clone, Debug)]
pub struct VnodeInfo {
    /// Its ring id.
    pub id: ChordId,
    /// Its predecessor.
    pub predecessor: Option<NodeEntry>,
    /// Its successor list.
    pub successors: Vec<NodeEntry>,
    /// Its fingers, one row per distinct node: (finger index, start, node).
    pub fingers: Vec<(usize, ChordId, NodeEntry)>,
    /// Distinct keys it stores records under.
    pub keys_stored: usize,
    /// Records it stores.
    pub records: usize,
}

/// Why an index operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IndexError {
    /// The index service has stopped.
    #[error("the content index is not running")]
    Stopped,
    /// A ring operation failed.
    #[error("chord: {0}")]
    Chord(#[from] OpError),
    /// The search has no usable word.
    #[error("no search word of 2 to 64 characters")]
    NoWords,
}

#[derive(Debug)]
pub(crate) enum Command {
    Provide(LocalFile),
    Withdraw(ContentId),
    Lookup {
        key: ChordId,
        reply: oneshot::Sender<Result<OpResult<crate::chord::message::PeerAddr>, OpError>>,
    },
    Get {
        key: ChordId,
        reply: oneshot::Sender<Result<OpResult<crate::chord::message::PeerAddr>, OpError>>,
    },
    Flood {
        text: String,
        ttl: u8,
        reply: oneshot::Sender<Vec<FloodHit>>,
    },
    Info {
        reply: oneshot::Sender<Vec<VnodeInfo>>,
    },
    Leave {
        reply: oneshot::Sender<()>,
    },
}

/// Capacity of the command queue.
const COMMAND_QUEUE: usize = 4096;

/// A cloneable handle to the index service.
#[derive(Clone, Debug)]
pub struct IndexHandle {
    commands: mpsc::Sender<Command>,
    network: crate::NetworkHandle,
    /// The ring puzzle's zero bits: records of publishers below it are not read.
    puzzle_bits: u8,
}

impl IndexHandle {
    async fn ask<R>(&self, make: impl FnOnce(oneshot::Sender<R>) -> Command) -> Result<R, IndexError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.map_err(|_| IndexError::Stopped)?;
        rx.await.map_err(|_| IndexError::Stopped)
    }

    fn send_lossy(&self, command: Command) {
        if let Err(e) = self.commands.try_send(command) {
            tracing::warn!(error = %e, "index command queue full or closed: command dropped");
        }
    }

    /// Announces `file` on the ring (and keeps announcing it).
    pub fn provide(&self, file: LocalFile) {
        self.send_lossy(Command::Provide(file));
    }

    /// Stops announcing `cid` (its records expire on the ring).
    pub fn withdraw(&self, cid: ContentId) {
        self.send_lossy(Command::Withdraw(cid));
    }

    /// The node responsible for `key`.
    ///
    /// # Errors
    /// The lookup failed, or the service stopped.
    pub async fn lookup(&self, key: ChordId) -> Result<LookupResult, IndexError> {
        match self.ask(|reply| Command::Lookup { key, reply }).await?? {
            OpResult::Found { node, hops, path } => Ok(LookupResult { key, node, hops, path }),
            _ => Err(IndexError::Chord(OpError::Protocol)),
        }
    }

    async fn get(&self, key: ChordId) -> Result<Vec<Record>, IndexError> {
        match self.ask(|reply| Command::Get { key, reply }).await?? {
            OpResult::Got { records, .. } => Ok(records),
            _ => Err(IndexError::Chord(OpError::Protocol)),
        }
    }

    /// The providers of `cid` recorded on the ring, other than this node; their addresses are
    /// handed to the Swarm so they can be dialed.
    ///
    /// # Errors
    /// The lookup failed, or the service stopped.
    pub async fn find_providers(&self, cid: ContentId) -> Result<Vec<PeerId>, IndexError> {
        let records = self.get(payload::cid_key(&cid)).await?;
        let me = self.network.peer_id();
        let now = payload::unix_ms();
        let mut out = Vec::new();
        for p in records.iter().filter_map(|r| payload::read_provider(r, now, self.puzzle_bits)) {
            if p.peer != me && !out.contains(&p.peer) {
                self.network.add_addresses(p.peer, p.addrs);
                out.push(p.peer);
            }
        }
        Ok(out)
    }

    /// Files whose postings match every word of `text`, best first: most providers, then the
    /// larger share of the name's own words matched, then by name.
    ///
    /// # Errors
    /// No usable word, a lookup failed, or the service stopped.
    pub async fn search(&self, text: &str) -> Result<Vec<SearchHit>, IndexError> {
        let words = keywords(text);
        if words.is_empty() {
            return Err(IndexError::NoWords);
        }
        let answers = join_all(words.iter().map(|w| self.get(payload::keyword_key(w)))).await;
        let now = payload::unix_ms();
        let mut common: Option<BTreeMap<ContentId, payload::Posting>> = None;
        for (word, answer) in words.iter().zip(answers) {
            let found: BTreeMap<ContentId, payload::Posting> = answer?
                .iter()
                .filter_map(|r| payload::read_posting(r, now, self.puzzle_bits))
                .filter(|p| p.keyword == *word)
                .map(|p| (p.cid, p))
                .collect();
            common = Some(match common {
                None => found,
                Some(mut c) => {
                    c.retain(|cid, _| found.contains_key(cid));
                    c
                }
            });
        }
        let mut candidates: Vec<payload::Posting> = common.unwrap_or_default().into_values().collect();
        // Keep the best-matching names if there are too many to count providers for.
        let coverage = |p: &payload::Posting| keywords(&p.name).iter().filter(|w| words.contains(w)).count();
        candidates.sort_by_key(|p| std::cmp::Reverse(coverage(p)));
        candidates.truncate(MAX_RESULTS);
        let counts = join_all(candidates.iter().map(|p| self.get(payload::cid_key(&p.cid)))).await;
        let mut hits: Vec<SearchHit> = candidates
            .into_iter()
            .zip(counts)
            .map(|(p, records)| {
                let mut peers: HashMap<PeerId, ()> = HashMap::new();
                for r in records
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|r| payload::read_provider(r, now, self.puzzle_bits))
                {
                    peers.insert(r.peer, ());
                }
                SearchHit {
                    matched_words: coverage(&p),
                    cid: p.cid,
                    name: p.name,
                    size: p.size,
                    providers: peers.len(),
                }
            })
            .collect();
        hits.sort_by(|a, b| {
            b.providers
                .cmp(&a.providers)
                .then(b.matched_words.cmp(&a.matched_words))
                .then(a.name.cmp(&b.name))
        });
        Ok(hits)
    }

    /// Gnutella-style search of file names containing `text` among the nodes within `ttl` hops.
    ///
    /// # Errors
    /// The service stopped.
    pub async fn flood(&self, text: String, ttl: u8) -> Result<Vec<FloodHit>, IndexError> {
        let ttl = ttl.clamp(1, MAX_TTL);
        self.ask(|reply| Command::Flood { text, ttl, reply }).await
    }

    /// Each virtual node's view of the ring.
    ///
    /// # Errors
    /// The service stopped.
    pub async fn info(&self) -> Result<Vec<VnodeInfo>, IndexError> {
        self.ask(|reply| Command::Info { reply }).await
    }

    /// Leaves the ring gracefully (hands records to the successors), then stops the service.
    pub async fn leave(&self) {
        let _ = self.ask(|reply| Command::Leave { reply }).await;
    }
}
