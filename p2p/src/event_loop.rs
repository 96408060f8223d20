//! The one owner of the Swarm.
//!
//! [`start`] builds the Swarm, binds the listen addresses, dials the configured peers and spawns
//! [`EventLoop::run`], which `select!`s over swarm events, commands from [`NetworkHandle`]s and a
//! housekeeping tick. Swarm events the node must act on (gossip, sync requests, peers coming and
//! going) become [`NetworkEvent`]s on a bounded queue; if the node falls behind, gossip is
//! dropped (reported as Ignore) rather than the loop blocking, so the loop never deadlocks with
//! a node waiting on it. Outbound sync requests wait in a bounded map until their answer or
//! failure (the protocol's timeout guarantees one).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cairn_chain::Network;
use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, gossipsub, identify, kad, ping};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use crate::behaviour::{Behaviour, BehaviourEvent, Limits};
use crate::chord::message::IndexResponse;
use crate::content::ContentResponse;
use crate::error::{RequestError, StartError};
use crate::handle::{Command, ContentEvent, GossipData, IndexEvent, NetworkEvent, NetworkHandle, NetworkInfo, Responder, Verdict};
use crate::peer::{AddedPeers, BanList, DEFAULT_BAN, PeerTable};
use crate::sync_protocol::{SyncRequest, SyncResponse};
use crate::topic::{self, Topic};

mod bans;
mod content;
mod control;
mod index;
use crate::transport::{self, TrafficTable};

/// Most outbound sync requests awaiting an answer.
pub const MAX_PENDING_REQUESTS: usize = 1024;
/// Most outbound content requests awaiting an answer.
pub const MAX_PENDING_CONTENT: usize = 8192;
/// Most outbound index requests awaiting an answer.
pub const MAX_PENDING_INDEX: usize = 4096;
/// Most of our own dials tracked until they connect (to tell neighbours from ring contacts).
const MAX_NEIGHBOR_DIALS: usize = 1024;
/// Most dials of added addresses being tracked.
const MAX_PENDING_DIALS: usize = 256;
/// How often bans expire and added peers are redialed.
const TICK: Duration = Duration::from_millis(250);

/// How the network starts.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// Which chain.
    pub network: Network,
    /// Where to listen.
    pub listen: Vec<Multiaddr>,
    /// Peers to keep connected to (`--peer`), redialed with backoff.
    pub peers: Vec<Multiaddr>,
    /// Connection limits.
    pub limits: Limits,
    /// Peers found by Kademlia are dialed while fewer than this many outbound peers are connected.
    pub target_outbound: usize,
    /// identify's agent string.
    pub agent: String,
    /// Where inbound content requests go; `None`: this node shares no files (every content
    /// request is answered "not found").
    pub content: Option<mpsc::Sender<ContentEvent>>,
    /// Where inbound index requests and peer arrivals go; `None`: this node takes no part in
    /// the content index (every index request is answered "not here").
    pub index: Option<mpsc::Sender<IndexEvent>>,
}

/// Builds the Swarm, listens, dials the configured peers and spawns the event loop on the
/// current tokio runtime.
///
/// # Errors
/// The transport or behaviour cannot be built, or a listen address cannot be bound.
pub fn start(
    key: libp2p::identity::Keypair,
    config: NetworkConfig,
) -> Result<(NetworkHandle, mpsc::Receiver<NetworkEvent>, tokio::task::JoinHandle<()>), StartError> {
    let traffic = TrafficTable::default();
    let totals = traffic.totals();
    let network = config.network;
    let transport = transport::build(&key, traffic.clone()).map_err(|e| StartError::Transport(e.to_string()))?;
    let behaviour = Behaviour::new(&key, network, config.limits, config.agent.clone())?;
    let streams = crate::handle::Streams {
        control: behaviour.stream.new_control(),
        protocol: crate::content::peer_wire::protocol_name(network),
    };
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_other_transport(|_| transport)
        .map_err(|e| StartError::Transport(e.to_string()))?
        .with_behaviour(|_| behaviour)
        .map_err(|e| StartError::Transport(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    for addr in &config.listen {
        swarm.listen_on(addr.clone()).map_err(|e| StartError::Listen {
            addr: addr.clone(),
            reason: e.to_string(),
        })?;
    }
    let peer_id = *swarm.local_peer_id();
    let (commands_tx, commands) = mpsc::channel(crate::handle::COMMAND_QUEUE);
    let (events, events_rx) = mpsc::channel(crate::handle::EVENT_QUEUE);
    let mut event_loop = EventLoop {
        swarm,
        network,
        commands,
        events,
        traffic,
        peers: PeerTable::default(),
        bans: BanList::default(),
        added: AddedPeers::default(),
        pending_dials: HashMap::new(),
        pending_requests: HashMap::new(),
        listen_addrs: Vec::new(),
        target_outbound: config.target_outbound,
        bootstrapped: false,
        last_discovery: None,
        gossip_budget: Arc::new(AtomicUsize::new(0)),
        held_events: VecDeque::new(),
        disconnected: HashMap::new(),
        content_events: config.content.clone(),
        pending_content: HashMap::new(),
        index_events: config.index.clone(),
        pending_index: HashMap::new(),
        neighbor_dials: HashSet::new(),
        active: true,
    };
    for addr in config.peers {
        if event_loop.added.add(addr.clone())
            && let Err(e) = event_loop.dial(addr.clone())
        {
            warn!(%addr, error = %e, "cannot dial peer");
            event_loop.added.on_dial_failed(&addr, Instant::now());
        }
    }
    let task = tokio::spawn(async move { event_loop.run().await });
    Ok((
        NetworkHandle {
            commands: commands_tx,
            peer_id,
            streams,
            totals,
        },
        events_rx,
        task,
    ))
}

/// The event loop's state.
pub struct EventLoop {
    swarm: Swarm<Behaviour>,
    network: Network,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetworkEvent>,
    traffic: TrafficTable,
    peers: PeerTable,
    bans: BanList,
    added: AddedPeers,
    pending_dials: HashMap<ConnectionId, Multiaddr>,
    pending_requests: HashMap<OutboundRequestId, (u8, oneshot::Sender<Result<SyncResponse, RequestError>>)>,
    listen_addrs: Vec<Multiaddr>,
    target_outbound: usize,
    bootstrapped: bool,
    last_discovery: Option<Instant>,
    gossip_budget: Arc<AtomicUsize>,
    held_events: VecDeque<NetworkEvent>,
    /// Peers disconnected on request (`disconnectnode`), with when discovery may dial them again.
    disconnected: HashMap<PeerId, Instant>,
    content_events: Option<mpsc::Sender<ContentEvent>>,
    pending_content: HashMap<OutboundRequestId, oneshot::Sender<Result<ContentResponse, RequestError>>>,
    index_events: Option<mpsc::Sender<IndexEvent>>,
    pending_index: HashMap<OutboundRequestId, oneshot::Sender<Result<IndexResponse, RequestError>>>,
    /// Connections we dialed on purpose (added peers, discovery), until they open or fail.
    neighbor_dials: HashSet<ConnectionId>,
    /// False after `setnetworkactive false`: no peers, no dials, connections closed as they open.
    active: bool,
}

/// Most listen addresses taken from one identify message.
const MAX_ADDRS_PER_PEER: usize = 8;

/// Most peer events held back while the node's queue is full.
const MAX_HELD_EVENTS: usize = 4096;

/// How long discovery leaves a peer alone after `disconnectnode` (an added peer is still redialed).
const DISCONNECT_QUIET: Duration = Duration::from_secs(60);

/// Most peers remembered as disconnected on request.
const MAX_DISCONNECTED: usize = 1024;

/// How often a node short of outbound peers asks Kademlia for more.
const DISCOVERY_INTERVAL: Duration = Duration::from_secs(30);

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Whether a request failed because the peer's response could not be decoded (misbehaviour).
fn undecodable_response(e: &request_response::OutboundFailure) -> bool {
    matches!(e, request_response::OutboundFailure::Io(e) if e.kind() == std::io::ErrorKind::InvalidData)
}

/// Whether an inbound request could not be decoded (misbehaviour).
fn undecodable_request(e: &request_response::InboundFailure) -> bool {
    matches!(e, request_response::InboundFailure::Io(e) if e.kind() == std::io::ErrorKind::InvalidData)
}

fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}

impl EventLoop {
    /// Runs until shutdown, or until every handle is dropped.
    pub async fn run(mut self) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    Some(c) => {
                        if self.on_command(c) {
                            break;
                        }
                    }
                    None => {
                        self.close();
                        break;
                    }
                },
                _ = tick.tick() => self.on_tick(),
            }
        }
        debug!("network event loop stopped");
    }

    fn close(&mut self) {
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for p in peers {
            let _ = self.swarm.disconnect_peer_id(p);
        }
        for (_, (_, reply)) in self.pending_requests.drain() {
            let _ = reply.send(Err(RequestError::Stopped));
        }
        for (_, reply) in self.pending_content.drain() {
            let _ = reply.send(Err(RequestError::Stopped));
        }
        for (_, reply) in self.pending_index.drain() {
            let _ = reply.send(Err(RequestError::Stopped));
        }
    }

    /// Dials an address, tracking the attempt if the address was added.
    fn dial(&mut self, addr: Multiaddr) -> Result<(), libp2p::swarm::DialError> {
        let opts = match peer_of(&addr) {
            Some(peer) => DialOpts::peer_id(peer)
                .addresses(vec![addr.clone()])
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build(),
            None => DialOpts::unknown_peer_id().address(addr.clone()).build(),
        };
        let id = opts.connection_id();
        self.swarm.dial(opts)?;
        self.note_neighbor_dial(id);
        if self.added.contains(&addr) && self.pending_dials.len() < MAX_PENDING_DIALS {
            self.pending_dials.insert(id, addr);
        }
        Ok(())
    }

    /// Hands an event to the node. Gossip and requests are dropped when the node is behind
    /// (gossip reported Ignore; a dropped request fails on the asking side); peer arrivals and
    /// departures are kept in order in a side queue, flushed as room appears, so sync never
    /// loses track of who is connected.
    fn emit(&mut self, event: NetworkEvent) {
        let peer_event = matches!(event, NetworkEvent::PeerConnected { .. } | NetworkEvent::PeerDisconnected { .. });
        if peer_event && !self.held_events.is_empty() {
            self.hold(event);
            return;
        }
        match self.events.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(NetworkEvent::Gossip { id, source, .. })) => {
                warn!("node is behind: gossip message dropped");
                self.ignore(&id, &source);
            }
            Err(mpsc::error::TrySendError::Full(e)) if peer_event => self.hold(e),
            Err(e) => warn!(error = %e, "node is behind: network event dropped"),
        }
    }

    fn hold(&mut self, event: NetworkEvent) {
        if self.held_events.len() >= MAX_HELD_EVENTS {
            warn!("node is far behind: peer event dropped");
            return;
        }
        self.held_events.push_back(event);
    }

    fn flush_held(&mut self) {
        while let Some(e) = self.held_events.pop_front() {
            match self.events.try_send(e) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(e)) => {
                    self.held_events.push_front(e);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
    }

    fn ignore(&mut self, id: &gossipsub::MessageId, source: &PeerId) {
        let _ = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(id, source, Verdict::Ignore.into());
    }

    fn on_tick(&mut self) {
        let now = Instant::now();
        self.flush_held();
        self.traffic.prune();
        self.expire_bans(now);
        if !self.active {
            return;
        }
        let due = self.last_discovery.is_none_or(|t| now.duration_since(t) >= DISCOVERY_INTERVAL);
        if due && !self.peers.is_empty() && self.outbound_count() < self.target_outbound {
            self.discover(now);
        }
        for addr in self.added.due(now) {
            debug!(%addr, "redialing added peer");
            if let Err(e) = self.dial(addr.clone()) {
                debug!(%addr, error = %e, "redial failed");
                self.added.on_dial_failed(&addr, now);
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                let full = address.with_p2p(*self.swarm.local_peer_id()).unwrap_or_else(|a| a);
                info!(address = %full, "listening for peers");
                if !self.listen_addrs.contains(&full) {
                    self.listen_addrs.push(full);
                }
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                let full = address.with_p2p(*self.swarm.local_peer_id()).unwrap_or_else(|a| a);
                self.listen_addrs.retain(|a| *a != full);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => self.on_connected(peer_id, connection_id, &endpoint),
            SwarmEvent::ConnectionClosed {
                peer_id, num_established, ..
            } => {
                let known = self.peers.contains(&peer_id);
                let last = self.peers.disconnected(&peer_id);
                if known && (last || num_established == 0) {
                    debug!(peer = %peer_id, "peer disconnected");
                    self.traffic.remove(&peer_id);
                    self.added.on_peer_gone(&peer_id, Instant::now());
                    self.emit(NetworkEvent::PeerDisconnected { peer: peer_id });
                    if let Some(tx) = &self.content_events
                        && tx.try_send(ContentEvent::PeerDisconnected { peer: peer_id }).is_err()
                    {
                        // The service also drops a peer whose requests fail.
                        debug!(peer = %peer_id, "content service is behind: departure not queued");
                    }
                    self.tell_index(IndexEvent::Disconnected { peer: peer_id });
                }
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                error,
                peer_id,
                ..
            } => {
                debug!(peer = ?peer_id, error = %error, "dial failed");
                self.neighbor_dials.remove(&connection_id);
                if let Some(addr) = self.pending_dials.remove(&connection_id) {
                    self.added.on_dial_failed(&addr, Instant::now());
                }
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            _ => {}
        }
    }

    fn on_connected(&mut self, peer: PeerId, connection_id: ConnectionId, endpoint: &ConnectedPoint) {
        if !self.active {
            // Network activity is off: nobody is let in (or out).
            self.pending_dials.remove(&connection_id);
            self.neighbor_dials.remove(&connection_id);
            let _ = self.swarm.disconnect_peer_id(peer);
            return;
        }
        if let Some(addr) = self.pending_dials.remove(&connection_id) {
            self.added.on_connected(&addr, peer, Instant::now());
        } else if let ConnectedPoint::Dialer { address, .. } = endpoint {
            self.added.on_connected(address, peer, Instant::now());
        }
        let inbound = endpoint.is_listener();
        let remote = endpoint.get_remote_address().clone();
        let neighbor = self.neighbor_dials.remove(&connection_id);
        let first = self.peers.connected(peer, remote.clone(), inbound, unix_now());
        if first || neighbor {
            self.tell_index(IndexEvent::Connected { peer, neighbor });
        }
        if first {
            info!(%peer, address = %remote, inbound, "peer connected");
            if !inbound {
                // Its dial address is a listen address: good for Kademlia.
                self.swarm.behaviour_mut().kad.add_address(&peer, remote);
            }
            self.emit(NetworkEvent::PeerConnected { peer, inbound });
        }
        if !self.bootstrapped {
            self.bootstrapped = self.swarm.behaviour_mut().kad.bootstrap().is_ok();
            // Look for more peers soon, once identify has filled the routing table.
            self.last_discovery = Instant::now().checked_sub(DISCOVERY_INTERVAL - Duration::from_secs(2));
        }
    }

    /// Asks Kademlia for the peers closest to our own id; the answer is dialed (see
    /// [`EventLoop::dial_found`]).
    fn discover(&mut self, now: Instant) {
        self.last_discovery = Some(now);
        let me = *self.swarm.local_peer_id();
        self.swarm.behaviour_mut().kad.get_closest_peers(me);
    }

    /// Dials peers that Kademlia found while we have fewer outbound peers than the target.
    fn dial_found(&mut self, found: Vec<kad::PeerInfo>) {
        if !self.active {
            return;
        }
        let now = Instant::now();
        let me = *self.swarm.local_peer_id();
        for info in found {
            if self.outbound_count() >= self.target_outbound {
                break;
            }
            if info.peer_id == me
                || self.peers.contains(&info.peer_id)
                || self.bans.is_banned(&info.peer_id, now)
                || self.disconnected.get(&info.peer_id).is_some_and(|until| *until > now)
                || info.addrs.is_empty()
            {
                continue;
            }
            debug!(peer = %info.peer_id, "dialing a peer found by Kademlia");
            let opts = DialOpts::peer_id(info.peer_id)
                .addresses(info.addrs)
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            let id = opts.connection_id();
            if self.swarm.dial(opts).is_ok() {
                self.note_neighbor_dial(id);
            }
        }
    }

    fn note_neighbor_dial(&mut self, id: ConnectionId) {
        if self.neighbor_dials.len() < MAX_NEIGHBOR_DIALS {
            self.neighbor_dials.insert(id);
        }
    }

    fn outbound_count(&self) -> usize {
        self.peers.iter().filter(|p| !p.inbound).count()
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                let speaks_kad = info.protocols.iter().any(|p| *p == topic::kad_protocol(self.network));
                let announced = info.listen_addrs.len() as u64;
                if speaks_kad {
                    // A few addresses per peer: identify pushes must not grow Kademlia's entries.
                    for addr in info.listen_addrs.into_iter().take(MAX_ADDRS_PER_PEER) {
                        self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                    }
                }
                if let Some(p) = self.peers.get_mut(&peer_id) {
                    p.agent = Some(info.agent_version);
                    p.protocol_version = Some(info.protocol_version);
                    p.addresses_received = p.addresses_received.saturating_add(announced);
                }
            }
            BehaviourEvent::Ping(ping::Event { peer, result: Ok(rtt), .. }) => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.ping = Some(rtt);
                }
            }
            BehaviourEvent::Kad(kad::Event::RoutingUpdated { peer, addresses, .. }) => {
                let now = Instant::now();
                if !self.peers.contains(&peer)
                    && !self.bans.is_banned(&peer, now)
                    && peer != *self.swarm.local_peer_id()
                    && self.outbound_count() < self.target_outbound
                {
                    debug!(%peer, "dialing a peer found by Kademlia");
                    let opts = DialOpts::peer_id(peer)
                        .addresses(addresses.into_vec())
                        .condition(PeerCondition::DisconnectedAndNotDialing)
                        .build();
                    let id = opts.connection_id();
                    if self.swarm.dial(opts).is_ok() {
                        self.note_neighbor_dial(id);
                    }
                }
            }
            BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
                result: kad::QueryResult::GetClosestPeers(result),
                ..
            }) => {
                let found = match result {
                    Ok(ok) => ok.peers,
                    Err(kad::GetClosestPeersError::Timeout { peers, .. }) => peers,
                };
                self.dial_found(found);
            }
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => match Topic::from_hash(&message.topic, self.network) {
                Some(topic) => match GossipData::reserve(message.data, &self.gossip_budget) {
                    Some(data) => self.emit(NetworkEvent::Gossip {
                        topic,
                        id: message_id,
                        source: propagation_source,
                        data,
                    }),
                    None => {
                        warn!("node is behind: gossip message dropped (byte budget)");
                        self.ignore(&message_id, &propagation_source);
                    }
                },
                None => {
                    let _ = self.swarm.behaviour_mut().gossipsub.report_message_validation_result(
                        &message_id,
                        &propagation_source,
                        Verdict::Ignore.into(),
                    );
                }
            },
            BehaviourEvent::Sync(event) => self.on_sync_event(event),
            BehaviourEvent::Content(event) => self.on_content_event(event),
            BehaviourEvent::Index(event) => self.on_index_event(event),
            _ => {}
        }
    }

    fn on_sync_event(&mut self, event: request_response::Event<SyncRequest, SyncResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request { request, channel, .. } => {
                    if !self.bans.is_banned(&peer, Instant::now()) {
                        self.emit(NetworkEvent::Request {
                            peer,
                            request,
                            responder: Responder(channel),
                        });
                    }
                }
                request_response::Message::Response { request_id, response } => {
                    if let Some((tag, reply)) = self.pending_requests.remove(&request_id) {
                        if response.tag() == tag {
                            let _ = reply.send(Ok(response));
                        } else {
                            let _ = reply.send(Err(RequestError::WrongResponse));
                            self.ban(peer, DEFAULT_BAN, "answered a sync request with the wrong kind of response");
                        }
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer, request_id, error, ..
            } => {
                if let Some((_, reply)) = self.pending_requests.remove(&request_id) {
                    let _ = reply.send(Err(RequestError::Failed(error.to_string())));
                }
                if undecodable_response(&error) {
                    self.ban(peer, DEFAULT_BAN, "sent an undecodable sync response");
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                if undecodable_request(&error) {
                    self.ban(peer, DEFAULT_BAN, "sent an undecodable sync request");
                }
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// Carries out a command; returns true when the loop must stop.
    fn on_command(&mut self, command: Command) -> bool {
        match command {
            Command::Publish { topic, data } => {
                let result = self.swarm.behaviour_mut().gossipsub.publish(topic.ident(self.network), data);
                match result {
                    Ok(_) | Err(gossipsub::PublishError::Duplicate) => {}
                    Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => debug!(?topic, "no peer to publish to"),
                    Err(e) => warn!(?topic, error = %e, "publish failed"),
                }
            }
            Command::Report {
                id,
                source,
                topic,
                verdict,
            } => {
                if matches!(verdict, Verdict::Accept)
                    && let Some(p) = self.peers.get_mut(&source)
                {
                    match topic {
                        Topic::Blocks => p.last_block = unix_now(),
                        Topic::Transactions => p.last_transaction = unix_now(),
                    }
                }
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&id, &source, verdict.into());
            }
            Command::Request { peer, request, reply } => {
                if self.pending_requests.len() >= MAX_PENDING_REQUESTS {
                    let _ = reply.send(Err(RequestError::Busy));
                    return false;
                }
                let tag = request.tag();
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                self.pending_requests.insert(id, (tag, reply));
            }
            Command::ContentRequest { peer, request, reply } => {
                if self.pending_content.len() >= MAX_PENDING_CONTENT {
                    let _ = reply.send(Err(RequestError::Busy));
                    return false;
                }
                let id = self.swarm.behaviour_mut().content.send_request(&peer, request);
                self.pending_content.insert(id, reply);
            }
            Command::ContentRespond { responder, response } => {
                // Fails only if the connection is gone, or the asker gave up.
                let _ = self.swarm.behaviour_mut().content.send_response(responder.0, response);
            }
            Command::IndexRequest {
                peer,
                addrs,
                request,
                reply,
            } => {
                if self.pending_index.len() >= MAX_PENDING_INDEX {
                    let _ = reply.send(Err(RequestError::Busy));
                    return false;
                }
                let addrs = addrs.into_iter().take(MAX_ADDRS_PER_PEER).collect();
                let id = self.swarm.behaviour_mut().index.send_request_with_addresses(&peer, request, addrs);
                self.pending_index.insert(id, reply);
            }
            Command::IndexRespond { responder, response } => {
                let _ = self.swarm.behaviour_mut().index.send_response(responder.0, response);
            }
            Command::AddAddresses { peer, addrs } => {
                if peer != *self.swarm.local_peer_id() && !self.bans.is_banned(&peer, Instant::now()) {
                    for addr in addrs.into_iter().take(MAX_ADDRS_PER_PEER) {
                        self.swarm.add_peer_address(peer, addr);
                    }
                }
            }
            Command::Respond { responder, response } => {
                // Fails only if the connection is gone: nothing to do then.
                let _ = self.swarm.behaviour_mut().sync.send_response(responder.0, response);
            }
            Command::AddNode { addr, how, reply } => {
                let _ = reply.send(self.add_node(addr, how));
            }
            Command::Ban { peer, duration, reason } => self.ban(peer, duration, &reason),
            Command::NoteChain {
                peer,
                best_height,
                synced_height,
            } => self.peers.note_chain(&peer, best_height, synced_height),
            Command::Peers { reply } => {
                let list = self
                    .peers
                    .iter()
                    .map(|p| {
                        let mut p = p.clone();
                        if let Some(t) = self.traffic.get(&p.peer) {
                            p.bytes_sent = t.sent();
                            p.bytes_received = t.received();
                            p.last_sent = t.last_sent();
                            p.last_received = t.last_received();
                        }
                        p
                    })
                    .collect();
                let _ = reply.send(list);
            }
            Command::Info { reply } => {
                let outbound = self.outbound_count();
                let _ = reply.send(NetworkInfo {
                    peer_id: *self.swarm.local_peer_id(),
                    listen_addrs: self.listen_addrs.clone(),
                    inbound: self.peers.len() - outbound,
                    outbound,
                    banned: self.bans.len(),
                    active: self.active,
                });
            }
            Command::Unban { peer, reply } => {
                let _ = reply.send(self.unban(peer));
            }
            Command::BanSubnet { subnet, duration, reply } => {
                self.ban_subnet(subnet, duration);
                let _ = reply.send(());
            }
            Command::UnbanSubnet { subnet, reply } => {
                let _ = reply.send(self.swarm.behaviour_mut().subnets.unban(&subnet));
            }
            Command::BannedSubnets { reply } => {
                let _ = reply.send(self.swarm.behaviour().subnets.list(Instant::now()));
            }
            Command::Disconnect { peer, reply } => {
                let now = Instant::now();
                self.disconnected.retain(|_, until| *until > now);
                if self.disconnected.len() < MAX_DISCONNECTED {
                    self.disconnected.insert(peer, now + DISCONNECT_QUIET);
                }
                let _ = reply.send(self.swarm.disconnect_peer_id(peer).is_ok());
            }
            Command::Banned { reply } => {
                let _ = reply.send(self.bans.list(Instant::now()));
            }
            Command::SetActive { active, reply } => {
                self.set_active(active);
                let _ = reply.send(());
            }
            Command::AddedNodes { reply } => {
                let _ = reply.send(self.added.list());
            }
            Command::Shutdown { reply } => {
                self.close();
                let _ = reply.send(());
                return true;
            }
        }
        false
    }
}
