//! The composed libp2p behaviour: every protocol the node speaks, in one `NetworkBehaviour`.
//!
//! Only standard libp2p protocols are used for discovery and gossip (identify, ping, Kademlia,
//! gossipsub), under Cairn's own protocol and topic names, so any libp2p implementation configured
//! with those names can join. Chain sync, manifests and the content index (the Chord ring that
//! holds provider records and keyword postings, and flooded search) are request-response
//! protocols of our own; the file swarm's peer wire runs on plain streams (`libp2p-stream`).

use std::time::Duration;

use cairn_chain::Network;
use libp2p::identity::Keypair;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{allow_block_list, connection_limits, gossipsub, identify, kad, ping, request_response};
use sha2::{Digest, Sha256};

use crate::chord::message::{self as index_message, IndexCodec};
use crate::content::message::{self as content_message, ContentCodec};
use crate::sync_protocol::{self, SyncCodec};
use crate::topic::{self, Topic};

/// Limits on connections.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most established connections in all.
    pub max_connections: u32,
    /// Most connections with one peer.
    pub max_per_peer: u32,
    /// Most connections being set up at once, each way.
    pub max_pending: u32,
    /// Peer ids one IP address may have before gossipsub's score penalises all of them (the
    /// penalty grows with the square of the excess).
    pub gossip_ids_per_ip: u32,
    /// Whether loopback addresses are exempt from that penalty: a local testnet runs every node
    /// on 127.0.0.1, and a process on our own machine can hurt us in other ways anyway.
    pub exempt_loopback: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 125,
            max_per_peer: 2,
            max_pending: 32,
            gossip_ids_per_ip: 8,
            exempt_loopback: true,
        }
    }
}

/// Score thresholds: below `gossip_threshold` a peer gets no gossip from us, below
/// `graylist_threshold` everything it sends is dropped before anyone looks at it.
pub const GRAYLIST_THRESHOLD: f64 = -80.0;

/// Gossipsub's peer scoring (v1.1), tuned for a chain's two topics.
///
/// - Invalid messages (P4): a block or transaction the chain rejected scores `-10 × n²` per
///   topic, so the third one graylists the sender; it fades over an hour and outlives a
///   reconnect (scores are kept for an hour). The node also bans such a sender, one id at a
///   time; the score is what throttles the next ones.
/// - IP colocation (P6): more than [`Limits::gossip_ids_per_ip`] peer ids on one address score
///   `-20 × excess²` each, so a flood from many fresh ids behind one address is graylisted as a
///   whole (with the default 8: ten ids on one address are at -80). Loopback is exempt unless
///   [`Limits::exempt_loopback`] is off.
/// - First deliveries (P2) earn a little (capped), so peers that bring new blocks first stay
///   in the mesh. Mesh delivery-rate penalties (P3, P3b) are off: blocks come every 10 s on
///   testnet and every few minutes on regtest, and a quiet topic must not punish honest peers.
pub fn score_params(network: Network, limits: &Limits) -> (gossipsub::PeerScoreParams, gossipsub::PeerScoreThresholds) {
    let decay = gossipsub::score_parameter_decay(Duration::from_secs(3600));
    let topic = gossipsub::TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.0,
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_decay: gossipsub::score_parameter_decay(Duration::from_secs(600)),
        first_message_deliveries_cap: 10.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -10.0,
        invalid_message_deliveries_decay: decay,
        ..Default::default()
    };
    let mut params = gossipsub::PeerScoreParams {
        topics: Topic::ALL.iter().map(|t| (t.ident(network).hash(), topic.clone())).collect(),
        topic_score_cap: 20.0,
        app_specific_weight: 0.0,
        ip_colocation_factor_weight: -20.0,
        ip_colocation_factor_threshold: f64::from(limits.gossip_ids_per_ip.max(1)),
        behaviour_penalty_weight: -10.0,
        behaviour_penalty_decay: gossipsub::score_parameter_decay(Duration::from_secs(600)),
        retain_score: Duration::from_secs(3600),
        ..Default::default()
    };
    if limits.exempt_loopback {
        params.ip_colocation_factor_whitelist = [std::net::Ipv4Addr::LOCALHOST.into(), std::net::Ipv6Addr::LOCALHOST.into()]
            .into_iter()
            .collect();
    }
    let thresholds = gossipsub::PeerScoreThresholds {
        gossip_threshold: -10.0,
        publish_threshold: -50.0,
        graylist_threshold: GRAYLIST_THRESHOLD,
        accept_px_threshold: 10.0,
        opportunistic_graft_threshold: 5.0,
    };
    (params, thresholds)
}

/// Every protocol of a Cairn node.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Bans: refuses and closes connections of banned peers.
    pub blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    /// Bans by IP subnet: refuses connections from and to banned addresses.
    pub subnets: crate::subnet::Behaviour,
    /// Connection limits.
    pub limits: connection_limits::Behaviour,
    /// Exchange of listen addresses and protocols.
    pub identify: identify::Behaviour,
    /// Liveness and round-trip time.
    pub ping: ping::Behaviour,
    /// Peer discovery.
    pub kad: kad::Behaviour<kad::store::MemoryStore>,
    /// Blocks and transactions.
    pub gossipsub: gossipsub::Behaviour,
    /// Headers-first chain sync.
    pub sync: request_response::Behaviour<SyncCodec>,
    /// File sharing: manifests, asked and answered.
    pub content: request_response::Behaviour<ContentCodec>,
    /// File sharing: one long-lived stream per (peer, file) carrying BEP 3's peer wire
    /// ([`crate::content::peer_wire`]); the content service opens and accepts them through a
    /// [`libp2p_stream::Control`].
    pub stream: libp2p_stream::Behaviour,
    /// The content index: the Chord ring and flooded search.
    pub index: request_response::Behaviour<IndexCodec>,
}

/// Why the behaviour could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BehaviourError {
    /// gossipsub rejected its configuration.
    #[error("gossipsub: {0}")]
    Gossipsub(String),
}

/// How long a sync request may take before it fails (and the block is asked of another peer).
pub const SYNC_REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a content request may take before it fails. Longer than the downloader's own
/// request timeout, so that a block waiting in a rate-limited upload queue is cancelled by the
/// downloader (and asked elsewhere) rather than lost to a stream timeout.
pub const CONTENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an index request may take: a flooded search waits for its answers from up to
/// [`crate::index::MAX_TTL`] hops. Chord's own requests time out much sooner (the index service
/// wraps them in [`crate::index::CHORD_TIMEOUT`]).
pub const INDEX_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Gossipsub's message id: SHA-256 of the payload, so the same block or transaction has one id
/// whoever publishes it.
pub fn message_id(data: &[u8]) -> gossipsub::MessageId {
    gossipsub::MessageId::new(&Sha256::digest(data))
}

impl Behaviour {
    /// Builds the behaviour for `network`.
    ///
    /// # Errors
    /// An invalid gossipsub configuration.
    pub fn new(key: &Keypair, network: Network, limits: Limits, agent: String) -> Result<Behaviour, BehaviourError> {
        let peer_id = key.public().to_peer_id();
        let params = network.params();

        // Strict signing, content-addressed ids, and validation before forwarding: a message is
        // passed on only once the chain has accepted it.
        let gossip_config = gossipsub::ConfigBuilder::default()
            .validation_mode(gossipsub::ValidationMode::Strict)
            .message_id_fn(|m: &gossipsub::Message| message_id(&m.data))
            .max_transmit_size(params.max_block_size + 64 * 1024)
            .validate_messages()
            .heartbeat_interval(Duration::from_millis(700))
            // Messages wait in the cache for the chain's verdict: keep them ~20 s (the default
            // 5 heartbeats would lose a late Accept under load, and the block would not spread).
            .history_length(30)
            .build()
            .map_err(|e| BehaviourError::Gossipsub(e.to_string()))?;
        let mut gossipsub = gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Signed(key.clone()), gossip_config)
            .map_err(|e| BehaviourError::Gossipsub(e.to_string()))?;
        for t in Topic::ALL {
            gossipsub
                .subscribe(&t.ident(network))
                .map_err(|e| BehaviourError::Gossipsub(e.to_string()))?;
        }
        let (score, thresholds) = score_params(network, &limits);
        gossipsub.with_peer_score(score, thresholds).map_err(BehaviourError::Gossipsub)?;

        let mut kad_config = kad::Config::new(topic::kad_protocol(network));
        kad_config.set_query_timeout(Duration::from_secs(30));
        kad_config.set_periodic_bootstrap_interval(Some(Duration::from_secs(120)));
        let store = kad::store::MemoryStore::new(peer_id);
        let mut kad = kad::Behaviour::with_config(peer_id, store, kad_config);
        // Server mode from the start: local testnets listen on loopback, which autonat-style
        // confirmation would never vouch for.
        kad.set_mode(Some(kad::Mode::Server));

        let identify = identify::Behaviour::new(
            identify::Config::new(topic::identify_protocol(network), key.public())
                .with_agent_version(agent)
                .with_push_listen_addr_updates(true),
        );

        let sync = request_response::Behaviour::with_codec(
            SyncCodec,
            [(sync_protocol::protocol_name(network), request_response::ProtocolSupport::Full)],
            request_response::Config::default()
                .with_request_timeout(SYNC_REQUEST_TIMEOUT)
                .with_max_concurrent_streams(256),
        );

        // Block requests are many and small: a downloader keeps 16 in flight per file, and
        // HAVE/choke messages come on top.
        let content = request_response::Behaviour::with_codec(
            ContentCodec,
            [(content_message::protocol_name(network), request_response::ProtocolSupport::Full)],
            request_response::Config::default()
                .with_request_timeout(CONTENT_REQUEST_TIMEOUT)
                .with_max_concurrent_streams(1024),
        );

        let index = request_response::Behaviour::with_codec(
            IndexCodec,
            [(index_message::protocol_name(network), request_response::ProtocolSupport::Full)],
            request_response::Config::default()
                .with_request_timeout(INDEX_REQUEST_TIMEOUT)
                .with_max_concurrent_streams(512),
        );

        let limits = connection_limits::Behaviour::new(
            connection_limits::ConnectionLimits::default()
                .with_max_established(Some(limits.max_connections))
                .with_max_established_per_peer(Some(limits.max_per_peer))
                .with_max_pending_incoming(Some(limits.max_pending))
                .with_max_pending_outgoing(Some(limits.max_pending)),
        );

        Ok(Behaviour {
            blocked: allow_block_list::Behaviour::default(),
            subnets: crate::subnet::Behaviour::default(),
            limits,
            identify,
            ping: ping::Behaviour::new(ping::Config::new().with_interval(Duration::from_secs(10))),
            kad,
            gossipsub,
            sync,
            content,
            stream: libp2p_stream::Behaviour::new(),
            index,
        })
    }
}
