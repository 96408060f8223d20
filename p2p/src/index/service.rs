//! The index service: one task that owns this node's Chord virtual nodes, the catalog of files
//! it announces, and its flooding neighbours.
//!
//! Data moves one way through it: commands from [`IndexHandle`]s and events from the network
//! (requests, peers arriving and leaving) go into the pure [`Node`] state machines; their
//! outputs become requests over the Swarm (each wrapped in [`CHORD_TIMEOUT`], so a dead node is
//! skipped after it) or, between two virtual nodes of this node, direct calls; the answers come
//! back as replies on one `FuturesUnordered`. A replicated store from another node is answered
//! when its state machine says so (once the copies are made), its reply kept until then.
//! Nothing here blocks: the state machines are in-memory and bounded.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use libp2p::{Multiaddr, PeerId};
use rand::Rng;
use rand::seq::IteratorRandom;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

mod store;

use super::admission;
use super::flood::{self, Admit, FloodGate, Seen};
use super::payload::{self, cid_key, keyword_key};
use super::{CHORD_TIMEOUT, Command, IndexConfig, IndexHandle, LocalFile, MAX_VNODES, VnodeInfo};
use crate::NetworkHandle;
use crate::chord::message::{FloodHit, FloodQuery, IndexRequest, IndexResponse, MAX_ADDRS, NodeEntry, PeerAddr, node_entry};
use crate::chord::state::{Answer, AnswerId};
use crate::chord::{Millis, Node, OpError, OpId, OpResult, Output, Record, ReqId, Request, Response};
use crate::content::ContentId;
use crate::handle::{IndexEvent, IndexResponder};
use crate::identity::Keypair;

/// Most files announced.
pub const MAX_CATALOG: usize = 65_536;
/// Most flooding neighbours.
const MAX_NEIGHBORS: usize = 64;
/// Most of them that registered themselves (`Neighbor`) rather than being dialed by this node: a
/// crowd of strangers cannot take every place the node's own floods go to.
const MAX_INBOUND_NEIGHBORS: usize = MAX_NEIGHBORS / 2;
/// Most publishing operations in flight.
const MAX_PUBLISHING: usize = 32;
/// How long a peer that spoofs ring membership messages is banned.
const SPOOF_BAN: Duration = Duration::from_secs(24 * 3600);
/// How often the service ticks the state machines.
const TICK: Duration = Duration::from_millis(100);
/// How often a node probes the ring through a connected peer (to merge rings formed apart).
const PROBE_EVERY: Millis = 30_000;
/// The probe period in the service's first [`PROBE_YOUNG_FOR`] ms.
const PROBE_YOUNG: Millis = 3_000;
/// See [`PROBE_YOUNG`].
const PROBE_YOUNG_FOR: Millis = 60_000;
/// How long a join may take before another peer is tried.
const JOIN_RETRY: Millis = 5_000;
/// How long a graceful leave waits for its hand-over.
const LEAVE_WAIT: Duration = Duration::from_secs(3);

type PeerResult = OpResult<PeerAddr>;

enum Waiter {
    Reply(oneshot::Sender<Result<PeerResult, OpError>>),
    Publish,
    Join,
    Probe,
}

enum Reply {
    Chord {
        vnode: u8,
        id: ReqId,
        response: Option<crate::chord::Response<PeerAddr>>,
    },
    /// A query from this peer that was forwarded is answered.
    FloodDone(PeerId),
    /// The records of a `Store` from `peer` were checked (see `store.rs`).
    Stored(Box<store::Checked>),
    Sent,
}

/// Starts the index service on the current runtime. `events` is the receiving end of the
/// queue given to the network as `NetworkConfig::index`.
/// `key` is the node's identity key (the network's): it signs this node's records.
pub fn start(
    network: NetworkHandle,
    key: Keypair,
    events: mpsc::Receiver<IndexEvent>,
    config: IndexConfig,
) -> (IndexHandle, tokio::task::JoinHandle<()>) {
    let (tx, commands) = mpsc::channel(super::COMMAND_QUEUE);
    let handle = IndexHandle {
        commands: tx,
        network: network.clone(),
        puzzle_bits: config.puzzle_bits,
    };
    let task = tokio::spawn(async move {
        let addrs = own_addrs(&network).await;
        let mut service = Service::new(network, key, addrs, config, commands, events);
        service.run().await;
    });
    (handle, task)
}

/// Our listen addresses, waiting briefly for the listeners to come up.
async fn own_addrs(network: &NetworkHandle) -> Vec<Multiaddr> {
    for _ in 0..50 {
        match network.info().await {
            Ok(info) if !info.listen_addrs.is_empty() => return info.listen_addrs.into_iter().take(MAX_ADDRS).collect(),
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(_) => return Vec::new(),
        }
    }
    Vec::new()
}

struct Service {
    network: NetworkHandle,
    me: PeerId,
    /// Signs this node's provider records and postings.
    key: Keypair,
    config: IndexConfig,
    vnodes: Vec<Node<PeerAddr>>,
    joining: Vec<Option<Millis>>,
    started: Instant,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Receiver<IndexEvent>,
    inflight: FuturesUnordered<BoxFuture<'static, Reply>>,
    waiters: HashMap<(u8, OpId), Waiter>,
    /// Replies to requests a virtual node answers later (replicated stores).
    held: HashMap<(u8, AnswerId), IndexResponder>,
    catalog: HashMap<ContentId, LocalFile>,
    publish_queue: VecDeque<ContentId>,
    publishing: usize,
    next_republish: Millis,
    next_probe: Millis,
    connected: HashSet<PeerId>,
    neighbors: HashSet<PeerId>,
    /// Those of `neighbors` that registered themselves.
    inbound_neighbors: HashSet<PeerId>,
    seen: Seen,
    gate: FloodGate,
    addrs: Vec<Multiaddr>,
}

impl Service {
    fn new(
        network: NetworkHandle,
        key: Keypair,
        addrs: Vec<Multiaddr>,
        mut config: IndexConfig,
        commands: mpsc::Receiver<Command>,
        events: mpsc::Receiver<IndexEvent>,
    ) -> Service {
        let me = network.peer_id();
        let count = config.vnodes.clamp(1, MAX_VNODES);
        // A held-back acknowledgment must come well within the asker's timeout, or the asker
        // takes this node for dead.
        let most = CHORD_TIMEOUT.as_millis() as Millis / 3;
        config.chord.replica_wait = config.chord.replica_wait.min(most);
        let vnodes: Vec<Node<PeerAddr>> = (0..count)
            .map(|v| Node::new(node_entry(me, v, addrs.clone()), config.chord.clone(), 0))
            .collect();
        info!(id = %vnodes[0].routing().me().id, vnodes = count, "joining the content index");
        Service {
            network,
            me,
            key,
            joining: vec![None; vnodes.len()],
            vnodes,
            started: Instant::now(),
            commands,
            events,
            inflight: FuturesUnordered::new(),
            waiters: HashMap::new(),
            held: HashMap::new(),
            catalog: HashMap::new(),
            publish_queue: VecDeque::new(),
            publishing: 0,
            next_republish: config.republish_every.as_millis() as Millis,
            next_probe: PROBE_YOUNG,
            connected: HashSet::new(),
            neighbors: HashSet::new(),
            inbound_neighbors: HashSet::new(),
            seen: Seen::new(4096),
            gate: FloodGate::new(super::MAX_TTL),
            addrs,
            config,
        }
    }

    fn now(&self) -> Millis {
        self.started.elapsed().as_millis() as Millis
    }

    async fn run(&mut self) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::Leave { reply }) => {
                        self.leave().await;
                        let _ = reply.send(());
                        break;
                    }
                    Some(c) => self.on_command(c),
                    None => break,
                },
                event = self.events.recv() => match event {
                    Some(e) => self.on_event(e),
                    None => break,
                },
                Some(reply) = self.inflight.next(), if !self.inflight.is_empty() => self.on_reply(reply),
                _ = tick.tick() => self.on_tick(),
            }
            self.flush();
        }
        debug!("index service stopped");
    }

    fn on_command(&mut self, command: Command) {
        let now = self.now();
        match command {
            Command::Provide(file) => {
                if self.catalog.len() >= MAX_CATALOG && !self.catalog.contains_key(&file.cid) {
                    warn!(cid = %file.cid, "catalog full: file not announced on the ring");
                    return;
                }
                let cid = file.cid;
                self.catalog.insert(cid, file);
                self.publish_queue.push_back(cid);
            }
            Command::Withdraw(cid) => {
                self.catalog.remove(&cid);
            }
            Command::Lookup { key, reply } => match self.vnodes[0].lookup(key, now) {
                Ok(op) => {
                    self.waiters.insert((0, op), Waiter::Reply(reply));
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Command::Get { key, reply } => match self.vnodes[0].get(key, now) {
                Ok(op) => {
                    self.waiters.insert((0, op), Waiter::Reply(reply));
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Command::Flood { text, ttl, reply } => {
                let id: [u8; 16] = rand::rng().random();
                self.seen.insert(id, Instant::now());
                let query = FloodQuery { id, ttl, hops: 1, text };
                let targets: Vec<PeerId> = self.neighbors.iter().copied().take(self.config.flood_fanout).collect();
                let wait = self.config.flood_hop_time * u32::from(ttl);
                let net = self.network.clone();
                self.inflight.push(Box::pin(async move {
                    let hits = forward(&net, targets, query, wait).await;
                    let _ = reply.send(hits);
                    Reply::Sent
                }));
            }
            Command::Info { reply } => {
                let _ = reply.send(self.vnodes.iter().map(vnode_info).collect());
            }
            Command::Leave { reply } => {
                let _ = reply.send(());
            }
        }
    }

    fn on_event(&mut self, event: IndexEvent) {
        let now = self.now();
        match event {
            IndexEvent::Connected { peer, .. } if !admission::peer_admitted(&peer, self.config.puzzle_bits) => {
                // Below the ring puzzle: neither a way into the ring nor a flooding neighbour.
                debug!(%peer, "connected peer below the ring puzzle: left out of the index");
            }
            IndexEvent::Connected { peer, neighbor } => {
                self.connected.insert(peer);
                if neighbor && self.neighbors.len() < MAX_NEIGHBORS && self.neighbors.insert(peer) {
                    let net = self.network.clone();
                    self.inflight.push(Box::pin(async move {
                        let _ = net.index_request(peer, Vec::new(), IndexRequest::Neighbor).await;
                        Reply::Sent
                    }));
                }
                // A node already on a ring checks whether a peer it dialed on purpose is on
                // another one (nodes reached for the ring are on ours by definition).
                if neighbor && !self.vnodes[0].routing().successors().is_empty() {
                    self.probe(peer, now);
                }
            }
            IndexEvent::Disconnected { peer } => {
                self.connected.remove(&peer);
                self.neighbors.remove(&peer);
                self.inbound_neighbors.remove(&peer);
                self.gate.forget(&peer);
            }
            IndexEvent::Request { peer, request, responder } => self.on_request(peer, request, responder, now),
        }
    }

    fn on_request(&mut self, peer: PeerId, mut request: IndexRequest, responder: IndexResponder, now: Millis) {
        let bits = self.config.puzzle_bits;
        if !admission::peer_admitted(&peer, bits) {
            // Below the ring puzzle: not a place on the ring, nor a flooding neighbour.
            debug!(%peer, bits, "index request from a peer below the ring puzzle: refused");
            self.network.respond_index(responder, IndexResponse::NotHere);
            return;
        }
        if let IndexRequest::Chord { request, .. } = &mut request
            && !admission::sift_request(request, bits)
        {
            self.network.respond_index(responder, IndexResponse::NotHere);
            return;
        }
        let response = match request {
            IndexRequest::Chord { request, .. } if !names_sender(&request, peer) => {
                // A `Notify`, `Leaving` or `TakeOver` speaks for the node it names: from anyone
                // else it is an attempt to rewire this node's ring (an eclipse).
                warn!(%peer, "a ring message naming another node: banned");
                let net = self.network.clone();
                self.inflight.push(Box::pin(async move {
                    net.ban(peer, SPOOF_BAN, "ring message naming another node").await;
                    Reply::Sent
                }));
                IndexResponse::NotHere
            }
            IndexRequest::Chord {
                vnode,
                request:
                    Request::Store {
                        records,
                        replicate,
                        exclude,
                    },
            } => {
                self.on_store(peer, vnode, records, replicate, exclude, responder, now);
                return;
            }
            IndexRequest::Chord { vnode, request } => {
                self.answer_chord(vnode, request, responder, now);
                return;
            }
            IndexRequest::Neighbor => {
                if !self.neighbors.contains(&peer)
                    && self.neighbors.len() < MAX_NEIGHBORS
                    && self.inbound_neighbors.len() < MAX_INBOUND_NEIGHBORS
                {
                    self.neighbors.insert(peer);
                    self.inbound_neighbors.insert(peer);
                }
                IndexResponse::Ack
            }
            IndexRequest::Flood(query) => {
                let admit = self.gate.admit(peer, query.ttl, Instant::now());
                if admit == Admit::Refuse || !self.seen.insert(query.id, Instant::now()) {
                    if matches!(admit, Admit::Forward { .. }) {
                        self.gate.done(peer);
                    }
                    IndexResponse::Hits(Vec::new())
                } else {
                    let local = flood::matches(self.catalog.values(), &query.text, self.me, query.hops);
                    let targets: Vec<PeerId> = self
                        .neighbors
                        .iter()
                        .copied()
                        .filter(|p| *p != peer)
                        .take(self.config.flood_fanout)
                        .collect();
                    match admit {
                        Admit::Forward { ttl } if !targets.is_empty() => {
                            let onward = FloodQuery {
                                ttl,
                                hops: query.hops.saturating_add(1),
                                ..query
                            };
                            let wait = self.config.flood_hop_time * u32::from(onward.ttl);
                            let net = self.network.clone();
                            self.inflight.push(Box::pin(async move {
                                let mut hits = local;
                                flood::merge(&mut hits, forward(&net, targets, onward, wait).await);
                                net.respond_index(responder, IndexResponse::Hits(hits));
                                Reply::FloodDone(peer)
                            }));
                            return;
                        }
                        Admit::Forward { .. } => {
                            self.gate.done(peer);
                            IndexResponse::Hits(local)
                        }
                        _ => IndexResponse::Hits(local),
                    }
                }
            }
        };
        self.network.respond_index(responder, response);
    }

    /// Virtual node `vnode` answers `request`, at once or (a replicated store) once its copies
    /// are made.
    fn answer_chord(&mut self, vnode: u8, request: Request<PeerAddr>, responder: IndexResponder, now: Millis) {
        let response = match self.vnodes.get_mut(usize::from(vnode)) {
            Some(node) => match node.answer(request, now) {
                Answer::Now(r) => IndexResponse::Chord(r),
                Answer::Later(id) => {
                    self.held.insert((vnode, id), responder);
                    return;
                }
            },
            None => IndexResponse::NotHere,
        };
        self.network.respond_index(responder, response);
    }

    fn on_reply(&mut self, reply: Reply) {
        let now = self.now();
        match reply {
            Reply::Chord { vnode, id, response } => {
                if let Some(node) = self.vnodes.get_mut(usize::from(vnode)) {
                    match response.and_then(|r| admission::sift_response(r, self.config.puzzle_bits)) {
                        Some(r) => node.on_response(id, r, now),
                        None => node.on_failure(id, now),
                    }
                }
            }
            Reply::FloodDone(peer) => self.gate.done(peer),
            Reply::Stored(checked) => self.store_checked(*checked, now),
            Reply::Sent => {}
        }
    }

    fn on_tick(&mut self) {
        let now = self.now();
        for node in &mut self.vnodes {
            node.tick(now);
        }
        // Alone on a ring of one: join through a connected peer (virtual nodes other than the
        // first join through it, once it is on the ring).
        for v in 0..self.vnodes.len() {
            let alone = self.vnodes[v].routing().successors().is_empty();
            let stale = self.joining[v].is_none_or(|t| now >= t + JOIN_RETRY);
            if !alone || !stale {
                continue;
            }
            let bits = self.config.puzzle_bits;
            let via = if v == 0 {
                match self
                    .connected
                    .iter()
                    .filter(|p| admission::peer_admitted(p, bits))
                    .choose(&mut rand::rng())
                {
                    Some(p) => node_entry(*p, 0, Vec::new()),
                    None => continue,
                }
            } else if !self.vnodes[0].routing().successors().is_empty() {
                self.vnodes[0].routing().me().clone()
            } else {
                continue;
            };
            if let Ok(op) = self.vnodes[v].join(via, now) {
                self.joining[v] = Some(now);
                self.waiters.insert((v as u8, op), Waiter::Join);
            }
        }
        if now >= self.next_probe {
            // Young rings split most (nodes joining through each other at once form separate
            // loops that stabilization alone never merges): probe often in the first minute.
            self.next_probe = now + if now < PROBE_YOUNG_FOR { PROBE_YOUNG } else { PROBE_EVERY };
            let bits = self.config.puzzle_bits;
            if let Some(p) = self
                .connected
                .iter()
                .filter(|p| admission::peer_admitted(p, bits))
                .choose(&mut rand::rng())
                .copied()
                && !self.vnodes[0].routing().successors().is_empty()
            {
                self.probe(p, now);
            }
        }
        if now >= self.next_republish {
            self.next_republish = now + self.config.republish_every.as_millis() as Millis;
            self.republish_all();
        }
        self.pump_publish(now);
    }

    fn probe(&mut self, peer: PeerId, now: Millis) {
        if let Ok(op) = self.vnodes[0].probe(node_entry(peer, 0, Vec::new()), now) {
            self.waiters.insert((0, op), Waiter::Probe);
        }
    }

    fn republish_all(&mut self) {
        self.publish_queue.clear();
        self.publish_queue.extend(self.catalog.keys().copied());
    }

    /// Stores provider records and postings of queued files, a bounded number at a time.
    fn pump_publish(&mut self, now: Millis) {
        let ttl = self.config.record_ttl.as_millis() as u64;
        while self.publishing < MAX_PUBLISHING {
            let Some(cid) = self.publish_queue.pop_front() else { return };
            let Some(file) = self.catalog.get(&cid) else { continue };
            let expires = payload::unix_ms().saturating_add(ttl);
            let mut puts = vec![(cid_key(&cid), payload::provider_record(&cid, &self.key, &self.addrs, expires, ttl))];
            for k in &file.keywords {
                let posting = payload::posting_record(k, &cid, &file.name, file.size, &self.key, expires, ttl);
                puts.push((keyword_key(k), posting));
            }
            for (key, record) in puts {
                match self.vnodes[0].put(key, vec![record], now) {
                    Ok(op) => {
                        self.publishing += 1;
                        self.waiters.insert((0, op), Waiter::Publish);
                    }
                    Err(e) => {
                        debug!(%cid, error = %e, "cannot publish a record now");
                        self.publish_queue.push_back(cid);
                        return;
                    }
                }
            }
        }
    }

    /// Carries out what the state machines asked for, until they are quiet.
    fn flush(&mut self) {
        let now = self.now();
        let mut local: VecDeque<(u8, ReqId, u8, Request<PeerAddr>)> = VecDeque::new();
        for _ in 0..10_000 {
            let mut quiet = true;
            for v in 0..self.vnodes.len() {
                for output in self.vnodes[v].drain() {
                    quiet = false;
                    match output {
                        Output::Send { id, to, request } => {
                            if to.addr.peer == self.me {
                                local.push_back((v as u8, id, to.addr.vnode, request));
                            } else {
                                self.send(v as u8, id, to, request);
                            }
                        }
                        Output::Done { op, result } => self.done(v as u8, op, result, now),
                        Output::Answer { id, response } => {
                            if let Some(responder) = self.held.remove(&(v as u8, id)) {
                                self.network.respond_index(responder, IndexResponse::Chord(response));
                            }
                        }
                    }
                }
            }
            // Between virtual nodes of this node, answers come at once: a failure takes both.
            while let Some((from, id, to, request)) = local.pop_front() {
                quiet = false;
                let response = self.vnodes.get_mut(usize::from(to)).map(|n| n.on_request(request, now));
                let node = &mut self.vnodes[usize::from(from)];
                match response {
                    Some(r) => node.on_response(id, r, now),
                    None => node.on_failure(id, now),
                }
            }
            if quiet {
                return;
            }
        }
        warn!("index service: state machines did not settle");
    }

    fn send(&mut self, vnode: u8, id: ReqId, to: NodeEntry, request: Request<PeerAddr>) {
        let net = self.network.clone();
        let PeerAddr {
            peer,
            vnode: target,
            addrs,
        } = to.addr;
        let bits = self.config.puzzle_bits;
        let answers_records = matches!(request, Request::Get { .. } | Request::TakeOver { .. });
        self.inflight.push(Box::pin(async move {
            let ask = net.index_request(peer, addrs, IndexRequest::Chord { vnode: target, request });
            let mut response = match tokio::time::timeout(CHORD_TIMEOUT, ask).await {
                Ok(Ok(IndexResponse::Chord(r))) => Some(r),
                _ => None,
            };
            // (A get may also be answered with a redirect to the owner: that passes as it is.)
            if answers_records && let Some(Response::Records(records)) = response {
                response = store::check_answered(&net, peer, records, bits).await.map(Response::Records);
            }
            Reply::Chord { vnode, id, response }
        }));
    }

    fn done(&mut self, vnode: u8, op: OpId, result: Result<PeerResult, OpError>, now: Millis) {
        match self.waiters.remove(&(vnode, op)) {
            Some(Waiter::Reply(reply)) => {
                let _ = reply.send(result);
            }
            Some(Waiter::Publish) => {
                self.publishing = self.publishing.saturating_sub(1);
                if let Err(e) = result {
                    debug!(error = %e, "publishing a record failed");
                }
            }
            Some(Waiter::Join) => {
                // A failed join is retried JOIN_RETRY after it started.
                if result.is_ok() {
                    self.joining[usize::from(vnode)] = None;
                }
                match result {
                    Ok(OpResult::Joined { successor, records }) => {
                        info!(vnode, successor = %successor.addr.peer, records, "joined the ring");
                        // What was stored while alone belongs elsewhere now.
                        if vnode == 0 {
                            self.republish_all();
                            self.pump_publish(now);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => debug!(vnode, error = %e, "join failed; will retry"),
                }
            }
            Some(Waiter::Probe) | None => {}
        }
    }

    /// Hands every record to the successors and tells the neighbours, waiting briefly.
    async fn leave(&mut self) {
        let now = self.now();
        let mut sends = Vec::new();
        for v in 0..self.vnodes.len() {
            for output in self.vnodes[v].leave(now) {
                if let Output::Send { to, request, .. } = output
                    && to.addr.peer != self.me
                {
                    let net = self.network.clone();
                    let PeerAddr { peer, vnode, addrs } = to.addr;
                    sends.push(async move {
                        let _ = net.index_request(peer, addrs, IndexRequest::Chord { vnode, request }).await;
                    });
                }
            }
        }
        let count = sends.len();
        if tokio::time::timeout(LEAVE_WAIT, futures::future::join_all(sends)).await.is_err() {
            warn!(count, "left the ring before every hand-over was confirmed");
        } else {
            info!(count, "left the ring");
        }
    }
}

/// Sends `query` to each of `targets` and gathers their hits, waiting at most `wait`.
async fn forward(net: &NetworkHandle, targets: Vec<PeerId>, query: FloodQuery, wait: Duration) -> Vec<FloodHit> {
    let asks = targets.into_iter().map(|p| {
        let net = net.clone();
        let q = query.clone();
        async move {
            match tokio::time::timeout(wait, net.index_request(p, Vec::new(), IndexRequest::Flood(q))).await {
                Ok(Ok(IndexResponse::Hits(h))) => h,
                _ => Vec::new(),
            }
        }
    });
    let mut hits = Vec::new();
    for h in futures::future::join_all(asks).await {
        flood::merge(&mut hits, h);
    }
    hits
}

/// Whether a ring request from `sender` may say what it says: `Notify`, `Leaving` and `TakeOver`
/// speak for the node they name, so only that node may send them. (Answers about third parties —
/// a leaving node's successors, a `GetState` — are still taken from the node that gives them.)
fn names_sender(request: &Request<PeerAddr>, sender: PeerId) -> bool {
    match request {
        Request::Notify { node } | Request::Leaving { node, .. } | Request::TakeOver { node } => node.addr.peer == sender,
        Request::FindSuccessor { .. } | Request::GetState | Request::Store { .. } | Request::Get { .. } => true,
    }
}

fn vnode_info(node: &Node<PeerAddr>) -> VnodeInfo {
    let rt = node.routing();
    let mut fingers: Vec<(usize, crate::chord::ChordId, NodeEntry)> = Vec::new();
    for i in 0..crate::chord::routing::FINGERS {
        if let Some(n) = rt.finger(i)
            && fingers.last().is_none_or(|(_, _, last)| last.id != n.id)
        {
            fingers.push((i, rt.finger_start(i), n.clone()));
        }
    }
    VnodeInfo {
        id: rt.me().id,
        predecessor: rt.predecessor().cloned(),
        successors: rt.successors().to_vec(),
        fingers,
        keys_stored: node.records().keys(),
        records: node.records().len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_node_a_membership_message_names_may_send_it() {
        let (me, other) = (PeerId::random(), PeerId::random());
        let node = node_entry(other, 1, Vec::new());
        let speaks_for_other = [
            Request::Notify { node: node.clone() },
            Request::TakeOver { node: node.clone() },
            Request::Leaving {
                node: node.clone(),
                predecessor: None,
                successors: Vec::new(),
            },
        ];
        for r in &speaks_for_other {
            assert!(!names_sender(r, me), "{r:?}");
            assert!(names_sender(r, other), "{r:?}");
        }
        assert!(names_sender(&Request::GetState, me));
        assert!(names_sender(
            &Request::FindSuccessor {
                key: crate::chord::ChordId([1; 32]),
                exclude: Vec::new()
            },
            me
        ));
    }
}
