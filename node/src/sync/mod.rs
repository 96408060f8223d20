//! Chain sync: the driver that runs the [`state::SyncState`] plan against the network and the
//! chain service.
//!
//! Inputs come from the router (peers connecting and leaving, statuses they sent, orphans they
//! gossiped) and from the driver's own requests finishing. After each input the driver asks the
//! plan what to do next: request headers from the peer with the most work, or request queued
//! blocks. Every request runs as a task in a bounded `JoinSet` (the plan caps what is in flight)
//! and reports back. Downloaded blocks go straight to the chain service; the chain's orphan pool
//! absorbs out-of-order arrivals inside the download window.
//!
//! Headers are fetched in batches of up to 2,000 after our block locator. A batch is validated as
//! a header chain (`Chainstate::start_headers`) before any of its blocks is requested, and its
//! blocks are downloaded only if the branch has more work than our tip and at least the
//! network's minimum chain work. A full batch with less work is not downloaded: the branch is
//! counted first, batch after batch from a cursor, in constant memory (Core's headers presync;
//! see [`state::Branch`]); once it shows enough work its headers are asked for again from the
//! fork and its blocks downloaded while they match what was counted (the next batch is asked for
//! once the blocks of this one are stored; Core keeps the whole header tree in memory instead,
//! which this design trades for a bounded state).

pub mod state;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_chain::error::HeadersError;
use cairn_chain::{Block, BlockHash, Header, HeaderCursor, Transaction};
use cairn_p2p::sync_protocol::{MAX_GET_TXS, MAX_HEADERS};
use cairn_p2p::{ChainStatus, DEFAULT_BAN, NetworkHandle, PeerId, RequestError, SyncRequest, SyncResponse};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::clock::ClockOffsets;
use crate::policy::{self, BlockJudgement};
use crate::service::{BlockSource, ChainHandle, TxsAccepted};
use crate::shutdown::Shutdown;
use state::{Branch, SyncState};

/// How often every peer is asked for its status.
const STATUS_INTERVAL: Duration = Duration::from_secs(10);
/// Capacity of the input queue.
pub const INPUT_QUEUE: usize = 1024;

/// What the router tells the sync driver.
#[derive(Debug)]
pub enum SyncInput {
    /// A peer connected.
    Connected(PeerId),
    /// A peer left.
    Disconnected(PeerId),
    /// A peer told us its chain (in its own status request).
    Status(PeerId, ChainStatus),
    /// A peer gossiped a block whose parent we lack: ask it where its chain is.
    Orphan(PeerId),
}

enum Done {
    Status(PeerId, Result<SyncResponse, RequestError>),
    Headers(PeerId, Result<SyncResponse, RequestError>),
    Block(PeerId, BlockHash, BlockOutcome),
    Mempool,
}

enum BlockOutcome {
    /// Stored (connected, duplicate or held as an orphan).
    Stored,
    /// The peer does not have it, or the request failed.
    Missing(String),
    /// The peer sent something else, or an invalid block.
    Misbehaved(String),
    /// The chain service stopped or the store failed.
    Failed(String),
}

/// Our chain status, read from the chain service's published tip.
pub fn our_status(chain: &ChainHandle) -> ChainStatus {
    let tip = chain.tip();
    ChainStatus {
        genesis: chain.genesis(),
        height: tip.height,
        tip: tip.hash,
        chain_work: tip.chain_work,
        time: crate::clock::unix_now(),
    }
}

/// The sync driver.
pub struct SyncDriver {
    state: SyncState,
    chain: ChainHandle,
    net: NetworkHandle,
    inputs: mpsc::Receiver<SyncInput>,
    tasks: JoinSet<Done>,
    last_status_round: Instant,
    /// Peers with a status request in flight (one each: orphan floods cannot multiply them).
    status_pending: HashSet<PeerId>,
    /// Whether a bulk download is under way (per-block fsync off).
    bulk: bool,
    /// Where each branch being counted ends ([`Branch::Presync`]): one per connected peer at most.
    cursors: HashMap<PeerId, HeaderCursor>,
    /// Peers' clocks against ours (shared with RPC's `getnetworkinfo`).
    clock: Arc<Mutex<ClockOffsets>>,
    /// When and at which height the last progress line was logged.
    last_progress: (Instant, u32),
}

/// How often a download in progress logs where it is.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(10);

/// A header batch with at least this many new blocks starts a bulk download.
const BULK_DOWNLOAD: usize = 100;

impl SyncDriver {
    /// A driver reading `inputs`.
    pub fn new(chain: ChainHandle, net: NetworkHandle, inputs: mpsc::Receiver<SyncInput>, clock: Arc<Mutex<ClockOffsets>>) -> Self {
        SyncDriver {
            state: SyncState::default(),
            chain,
            net,
            inputs,
            tasks: JoinSet::new(),
            last_status_round: Instant::now(),
            status_pending: HashSet::new(),
            bulk: false,
            cursors: HashMap::new(),
            clock,
            last_progress: (Instant::now(), 0),
        }
    }

    /// Runs until shutdown or until the router goes away.
    pub async fn run(mut self, shutdown: Shutdown) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.wait() => break,
                input = self.inputs.recv() => match input {
                    Some(i) => self.on_input(i).await,
                    None => break,
                },
                Some(done) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    if let Ok(done) = done {
                        self.on_done(done).await;
                    }
                }
                _ = tick.tick() => self.on_tick(),
            }
            if self.bulk && !self.state.is_downloading() {
                self.set_bulk(false).await;
            }
            self.pump().await;
        }
        if self.bulk {
            self.set_bulk(false).await;
        }
        self.tasks.abort_all();
    }

    /// Bulk download on or off ([`cairn_chain::Chainstate::set_bulk`]): while many blocks come
    /// in, the chain state writes its coins cache every 1,000 blocks instead of after each one,
    /// without a per-write fsync (Core's initial download behaves the same way); at the end it
    /// flushes and syncs once. A killed process reopens at the last written tip and connects the
    /// stored blocks after it again; only a power cut can cost the last blocks, which are then
    /// downloaded again.
    async fn set_bulk(&mut self, on: bool) {
        self.bulk = on;
        match self.chain.set_bulk(on).await {
            Ok(Ok(())) => debug!(on, "bulk download"),
            Ok(Err(e)) => warn!(error = %e, "could not switch bulk-download mode"),
            Err(_) => {}
        }
    }

    fn ask_status(&mut self, peer: PeerId) {
        if !self.status_pending.insert(peer) {
            return;
        }
        let net = self.net.clone();
        let ours = our_status(&self.chain);
        self.tasks
            .spawn(async move { Done::Status(peer, net.request(peer, SyncRequest::Status(ours)).await) });
    }

    async fn on_input(&mut self, input: SyncInput) {
        match input {
            SyncInput::Connected(peer) => {
                self.state.add_peer(peer);
                self.ask_status(peer);
                self.fetch_mempool(peer);
            }
            SyncInput::Disconnected(peer) => {
                self.state.remove_peer(&peer);
                self.cursors.remove(&peer);
                if let Ok(mut c) = self.clock.lock() {
                    c.remove(&peer);
                }
                self.status_pending.remove(&peer);
            }
            SyncInput::Status(peer, status) => self.on_status(peer, status).await,
            SyncInput::Orphan(peer) => self.ask_status(peer),
        }
    }

    async fn on_status(&mut self, peer: PeerId, status: ChainStatus) {
        let ours = our_status(&self.chain);
        if status.genesis != ours.genesis {
            self.net
                .ban(peer, DEFAULT_BAN, "is on another chain (different genesis block)")
                .await;
            self.state.remove_peer(&peer);
            return;
        }
        let warning = self
            .clock
            .lock()
            .ok()
            .and_then(|mut c| c.record(peer, status.time, crate::clock::unix_now()));
        if let Some(w) = warning {
            warn!("{w}");
        }
        self.state.set_status(peer, status);
        self.net.note_chain(peer, status.height, Some(status.height.min(ours.height)));
    }

    fn on_tick(&mut self) {
        self.log_progress();
        if self.last_status_round.elapsed() >= STATUS_INTERVAL {
            self.last_status_round = Instant::now();
            let peers: Vec<PeerId> = self.state.peers().collect();
            for peer in peers {
                self.ask_status(peer);
            }
        }
    }

    /// While blocks are being downloaded, one line every [`PROGRESS_INTERVAL`]: height, best
    /// header, share done and speed (Core logs `UpdateTip … progress=…` as blocks connect).
    fn log_progress(&mut self) {
        let (at, from) = self.last_progress;
        if !self.state.is_downloading() {
            // Counted from where a download starts.
            self.last_progress = (Instant::now(), self.chain.tip().height);
            return;
        }
        if at.elapsed() < PROGRESS_INTERVAL {
            return;
        }
        let height = self.chain.tip().height;
        let headers = self.chain.best_header().max(height);
        let rate = f64::from(height.saturating_sub(from)) / at.elapsed().as_secs_f64();
        let progress = f64::from(height + 1) / f64::from(headers + 1);
        info!(
            height,
            headers,
            progress = format!("{:.4}", progress),
            blocks_per_s = format!("{rate:.1}"),
            "sync progress"
        );
        self.last_progress = (Instant::now(), height);
    }

    /// A peer left its claim of more work unbacked ([`SyncState::claim_unbacked`]); `drop`:
    /// it has done so too often, and is disconnected.
    async fn unbacked(&mut self, peer: PeerId, drop: bool) {
        if drop {
            warn!(%peer, "claims more work than ours but never sends the headers: disconnecting");
            self.state.remove_peer(&peer);
            let _ = self.net.disconnect(peer).await;
        } else {
            debug!(%peer, "claimed more work than ours without headers to show for it: asking others first");
        }
    }

    /// Starts whatever the plan says is due.
    async fn pump(&mut self) {
        let ours = our_status(&self.chain);
        if let Some((peer, drop)) = self.state.expire_headers_request(ours.chain_work, Instant::now()) {
            self.unbacked(peer, drop).await;
        }
        if let Some(peer) = self.state.want_headers(ours.chain_work, Instant::now()) {
            let net = self.net.clone();
            let chain = self.chain.clone();
            let continuation = self.state.continuation(&peer);
            self.tasks.spawn(async move {
                // After a full batch, continue from its last header (Core's pindexBestHeader):
                // the active chain may still be behind it.
                let mut locator: Vec<BlockHash> = continuation.into_iter().collect();
                locator.extend(chain.read(|s| s.chain.locator()).await.unwrap_or_default());
                locator.truncate(cairn_p2p::sync_protocol::MAX_LOCATOR as usize);
                let request = SyncRequest::GetHeaders {
                    locator,
                    stop: BlockHash::ZERO,
                };
                Done::Headers(peer, net.request(peer, request).await)
            });
        }
        for (peer, hash) in self.state.assign() {
            let net = self.net.clone();
            let chain = self.chain.clone();
            self.tasks
                .spawn(async move { Done::Block(peer, hash, download_block(&net, &chain, peer, hash).await) });
        }
    }

    async fn on_done(&mut self, done: Done) {
        match done {
            Done::Status(peer, result) => {
                self.status_pending.remove(&peer);
                match result {
                    Ok(SyncResponse::Status(status)) => self.on_status(peer, status).await,
                    other => debug!(%peer, ?other, "status request failed"),
                }
            }
            Done::Headers(peer, result) => match result {
                Ok(SyncResponse::Headers(headers)) => {
                    self.state.headers_done(&peer);
                    self.on_headers(peer, headers).await;
                }
                other => {
                    debug!(%peer, ?other, "headers request failed");
                    let ours = our_status(&self.chain).chain_work;
                    let drop = self.state.claim_unbacked(&peer, ours, Instant::now());
                    self.unbacked(peer, drop).await;
                }
            },
            Done::Block(peer, hash, outcome) => match outcome {
                BlockOutcome::Stored => self.state.block_arrived(&hash, &peer),
                BlockOutcome::Missing(why) => {
                    debug!(%peer, %hash, why, "block not delivered; asking again");
                    if self.state.request_failed(&hash, &peer) {
                        warn!(%hash, "no peer delivered this block: dropping the download plan");
                    }
                }
                BlockOutcome::Misbehaved(why) => {
                    self.state.request_failed(&hash, &peer);
                    self.state.remove_peer(&peer);
                    self.net.ban(peer, DEFAULT_BAN, why).await;
                }
                BlockOutcome::Failed(why) => {
                    warn!(%hash, why, "could not store a downloaded block");
                    self.state.block_arrived(&hash, &peer);
                    self.state.clear_queue();
                }
            },
            Done::Mempool => {}
        }
    }

    async fn on_headers(&mut self, peer: PeerId, headers: Vec<Header>) {
        if headers.is_empty() {
            let ours = our_status(&self.chain).chain_work;
            let drop = self.state.claim_unbacked(&peer, ours, Instant::now());
            self.unbacked(peer, drop).await;
            return;
        }
        let full = headers.len() >= MAX_HEADERS;
        let hashes: Vec<BlockHash> = headers.iter().map(|h| h.block_hash()).collect();
        let last = hashes[hashes.len() - 1];
        // A batch that continues a branch being counted (presync) is checked from its cursor.
        let counting = matches!(self.state.branch(&peer), Branch::Presync(_));
        if let Some(cursor) = self
            .cursors
            .remove(&peer)
            .filter(|c| counting && c.summary().last_hash == headers[0].prev_blockhash)
        {
            self.on_presync_headers(peer, cursor, headers, full).await;
            return;
        }
        let checked = self
            .chain
            .read(move |s| {
                let cursor = s.chain.start_headers(&headers, crate::clock::unix_now())?;
                let summary = cursor.summary();
                let first_height = summary.last_height + 1 - headers.len() as u32;
                let wanted: Vec<(BlockHash, u32)> = hashes
                    .iter()
                    .enumerate()
                    .filter(|(_, h)| !s.chain.contains_block(h))
                    .map(|(i, h)| (*h, first_height + i as u32))
                    .collect();
                let enough = s.more_work_than_ours(summary.chain_work);
                Ok::<_, HeadersError>((enough, wanted, cursor, first_height, hashes))
            })
            .await;
        let (more_work, wanted, cursor, first_height, hashes) = match checked {
            Ok(Ok(checked)) => checked,
            Ok(Err(e)) => return self.headers_failed(peer, e).await,
            Err(_) => return,
        };
        if more_work {
            self.chain.note_header(cursor.summary().last_height);
        }
        // Headers asked for again after their branch was counted must be the ones counted.
        let vouched = match self.state.redownload_matches(&peer, first_height, &hashes) {
            Some(false) => {
                self.state.remove_peer(&peer);
                self.net
                    .ban(peer, DEFAULT_BAN, "sent other headers than those it showed more work with")
                    .await;
                return;
            }
            Some(true) => true,
            None => false,
        };
        if more_work {
            self.state.branch_done(&peer);
        }
        if !more_work && !vouched {
            if full {
                // Less work than ours so far, more to come: count the branch before downloading
                // any of it (presync).
                let end = (cursor.summary().last_height, last);
                self.state.branch_done(&peer);
                if self.state.presync_step(&peer, end) {
                    debug!(%peer, height = end.0, "counting the work of a branch before downloading it");
                    self.cursors.insert(peer, cursor);
                } else {
                    self.presync_too_long(peer).await;
                }
                return;
            }
            // Nothing new, or a branch with less work: ask this peer again only when its chain
            // changes. Headers to a branch with less work than ours from a peer that claims
            // more: an unbacked claim.
            let ours = our_status(&self.chain).chain_work;
            let drop = self.state.claim_unbacked(&peer, ours, Instant::now());
            self.unbacked(peer, drop).await;
            return;
        }
        if vouched && !more_work && !full {
            // The counted branch stopped short of the work it showed (its chain moved, or it lied).
            let ours = our_status(&self.chain).chain_work;
            let drop = self.state.claim_unbacked(&peer, ours, Instant::now());
            self.unbacked(peer, drop).await;
            return;
        }
        // A full batch: more headers follow; the next request continues after this one, unless
        // the peer sent the very same batch again.
        let continues = full && self.state.continue_after(&peer, last);
        if !continues && wanted.is_empty() {
            self.state.headers_exhausted(&peer);
            return;
        }
        self.state.claim_backed(&peer);
        if !wanted.is_empty() {
            info!(%peer, blocks = wanted.len(), "downloading blocks");
            if wanted.len() >= BULK_DOWNLOAD && !self.bulk {
                self.set_bulk(true).await;
            }
            self.state.enqueue(wanted);
        }
    }

    /// A batch continuing a branch being counted ([`Branch::Presync`]).
    async fn on_presync_headers(&mut self, peer: PeerId, cursor: HeaderCursor, headers: Vec<Header>, full: bool) {
        let checked = self
            .chain
            .read(move |s| {
                let cursor = s.chain.continue_headers(&cursor, &headers, crate::clock::unix_now())?;
                let enough = s.more_work_than_ours(cursor.summary().chain_work);
                Ok::<_, HeadersError>((cursor, enough))
            })
            .await;
        let (cursor, enough) = match checked {
            Ok(Ok(checked)) => checked,
            Ok(Err(e)) => return self.headers_failed(peer, e).await,
            Err(_) => return,
        };
        let end = (cursor.summary().last_height, cursor.summary().last_hash);
        if enough {
            self.chain.note_header(end.0);
            info!(%peer, height = end.0, "its headers show a branch with more work than ours: downloading it from the fork");
            self.state.presync_done(&peer, end);
        } else if full {
            if self.state.presync_step(&peer, end) {
                self.cursors.insert(peer, cursor);
            } else {
                self.presync_too_long(peer).await;
            }
        } else {
            let ours = our_status(&self.chain).chain_work;
            let drop = self.state.claim_unbacked(&peer, ours, Instant::now());
            self.unbacked(peer, drop).await;
        }
    }

    /// A branch took [`state::MAX_PRESYNC_BATCHES`] batches without showing more work than ours.
    async fn presync_too_long(&mut self, peer: PeerId) {
        warn!(%peer, "sent a branch of millions of headers with less work than ours: disconnecting");
        self.state.remove_peer(&peer);
        self.cursors.remove(&peer);
        let _ = self.net.disconnect(peer).await;
    }

    /// Headers that could not be checked: unconnected (the peer's chain moved), not acceptable
    /// yet, or invalid (banned).
    async fn headers_failed(&mut self, peer: PeerId, error: HeadersError) {
        self.cursors.remove(&peer);
        match error {
            e if !policy::headers_punishable(&e) => {
                // The peer answered from a chain that moved (its next status will tell), or with
                // headers our clock does not accept yet.
                debug!(%peer, error = %e, "headers not accepted yet");
                self.state.headers_exhausted(&peer);
            }
            e => {
                self.state.remove_peer(&peer);
                self.net.ban(peer, DEFAULT_BAN, format!("sent invalid headers: {e}")).await;
            }
        }
    }

    fn fetch_mempool(&mut self, peer: PeerId) {
        let net = self.net.clone();
        let chain = self.chain.clone();
        self.tasks.spawn(async move {
            fetch_mempool(&net, &chain, peer).await;
            Done::Mempool
        });
    }
}

/// Downloads one block from `peer` and hands it to the chain.
async fn download_block(net: &NetworkHandle, chain: &ChainHandle, peer: PeerId, hash: BlockHash) -> BlockOutcome {
    let block = match net.request(peer, SyncRequest::GetBlock(hash)).await {
        Ok(SyncResponse::Block(Some(block))) => block,
        Ok(SyncResponse::Block(None)) => return BlockOutcome::Missing("peer does not have it".into()),
        Ok(_) => return BlockOutcome::Misbehaved("answered a block request with something else".into()),
        Err(e) => return BlockOutcome::Missing(e.to_string()),
    };
    if block.block_hash() != hash {
        return BlockOutcome::Misbehaved(format!("sent block {} when asked for {hash}", block.block_hash()));
    }
    store_block(chain, block).await
}

async fn store_block(chain: &ChainHandle, block: Block) -> BlockOutcome {
    let hash = block.block_hash();
    let outcome = match chain.accept_block(block, BlockSource::Requested).await.map(|a| a.result) {
        Ok(outcome) => outcome,
        Err(e) => return BlockOutcome::Failed(e.to_string()),
    };
    match policy::judge_block(hash, &outcome) {
        BlockJudgement::Taken | BlockJudgement::Known => BlockOutcome::Stored,
        BlockJudgement::Orphan => {
            debug!(%hash, "downloaded block waits for its parent");
            BlockOutcome::Stored
        }
        BlockJudgement::Left { why, .. } => BlockOutcome::Missing(format!("block {hash} not accepted: {why}")),
        BlockJudgement::Misbehaved(why) => BlockOutcome::Misbehaved(why),
        BlockJudgement::Failed(why) => BlockOutcome::Failed(why),
    }
}

/// Asks a new peer for its mempool and takes the transactions we lack.
async fn fetch_mempool(net: &NetworkHandle, chain: &ChainHandle, peer: PeerId) {
    let txids = match net.request(peer, SyncRequest::GetMempool).await {
        Ok(SyncResponse::Mempool(txids)) => txids,
        _ => return,
    };
    let Ok(missing) = chain
        .read(move |s| txids.into_iter().filter(|t| !s.mempool.contains(t)).collect::<Vec<_>>())
        .await
    else {
        return;
    };
    for chunk in missing.chunks(MAX_GET_TXS) {
        let txs: Vec<Transaction> = match net.request(peer, SyncRequest::GetTxs(chunk.to_vec())).await {
            Ok(SyncResponse::Txs(txs)) => txs,
            _ => return,
        };
        match chain.accept_txs(txs).await {
            Ok(TxsAccepted { misbehaved: Some(why), .. }) => {
                net.ban(peer, DEFAULT_BAN, format!("offered a transaction from its mempool and {why}"))
                    .await;
                return;
            }
            Ok(TxsAccepted { accepted, .. }) if accepted > 0 => debug!(%peer, accepted, "took transactions from a peer's mempool"),
            _ => {}
        }
    }
}
