//! The network layer on its own: two or three in-process Swarms on 127.0.0.1 talking through the
//! real transport, driven through their handles and event queues.

use std::time::Duration;

use cairn_chain::{BlockHash, Network};
use cairn_p2p::identity::Keypair;
use cairn_p2p::{
    AddNode, ChainStatus, Limits, Multiaddr, NetworkConfig, NetworkError, NetworkEvent, NetworkHandle, PeerId, Subnet, SyncRequest,
    SyncResponse, Topic, Verdict,
};
use tokio::sync::mpsc;
use tokio::time::timeout;

mod index;
mod scoring;

const WAIT: Duration = Duration::from_secs(20);

struct Peer {
    net: NetworkHandle,
    events: mpsc::Receiver<NetworkEvent>,
    addr: Multiaddr,
}

async fn peer(peers: Vec<Multiaddr>) -> Peer {
    peer_with(peers, Limits::default()).await
}

async fn peer_with(peers: Vec<Multiaddr>, limits: Limits) -> Peer {
    let (net, events, _task) = cairn_p2p::start(
        Keypair::generate_ed25519(),
        NetworkConfig {
            network: Network::Regtest,
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            peers,
            limits,
            target_outbound: 8,
            agent: "test".into(),
            content: None,
            index: None,
        },
    )
    .unwrap();
    let addr = listen_addr(&net).await;
    Peer { net, events, addr }
}

/// The first listen address of `net`, once it listens.
async fn listen_addr(net: &NetworkHandle) -> Multiaddr {
    timeout(WAIT, async {
        loop {
            if let Some(a) = net.info().await.unwrap().listen_addrs.first() {
                return a.clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("listening")
}

/// The next event matching `f`, answering sync requests with a status on the way.
async fn next_matching<T>(p: &mut Peer, mut f: impl FnMut(&NetworkEvent) -> Option<T>) -> T {
    timeout(WAIT, async {
        loop {
            let e = p.events.recv().await.expect("event loop alive");
            if let Some(t) = f(&e) {
                return t;
            }
        }
    })
    .await
    .expect("event in time")
}

/// The next sync request and its responder.
async fn next_request(p: &mut Peer) -> (SyncRequest, cairn_p2p::Responder) {
    timeout(WAIT, async {
        loop {
            if let Some(NetworkEvent::Request { request, responder, .. }) = p.events.recv().await {
                return (request, responder);
            }
        }
    })
    .await
    .expect("a request in time")
}

fn status(height: u32) -> ChainStatus {
    ChainStatus {
        genesis: Network::Regtest.params().genesis_hash(),
        height,
        tip: BlockHash::ZERO,
        chain_work: Default::default(),
        time: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_gossip_request_and_ban() {
    let mut a = peer(vec![]).await;
    let mut b = peer(vec![a.addr.clone()]).await;
    let b_id = b.net.peer_id();
    let a_id = a.net.peer_id();
    let inbound = next_matching(&mut a, |e| match e {
        NetworkEvent::PeerConnected { peer, inbound } if *peer == b_id => Some(*inbound),
        _ => None,
    })
    .await;
    assert!(inbound);

    // Sync request and response.
    let asker = b.net.clone();
    let answered = tokio::spawn(async move { asker.request(a_id, SyncRequest::Status(status(2))).await });
    let (got, responder) = next_request(&mut a).await;
    assert_eq!(got, SyncRequest::Status(status(2)));
    a.net.respond(responder, SyncResponse::Status(status(7)));
    assert_eq!(answered.await.unwrap().unwrap(), SyncResponse::Status(status(7)));
    // A request whose responder is dropped fails on the asking side instead of hanging.
    let asker = b.net.clone();
    let dropped = tokio::spawn(async move { asker.request(a_id, SyncRequest::GetMempool).await });
    let (got, responder) = next_request(&mut a).await;
    assert_eq!(got, SyncRequest::GetMempool);
    drop(responder);
    assert!(timeout(WAIT, dropped).await.unwrap().unwrap().is_err());
    // A reply of the wrong kind is refused (and the peer banned): B answers A's block request with a status.
    let asker = a.net.clone();
    let wrong = tokio::spawn(async move { asker.request(b_id, SyncRequest::GetBlock(BlockHash::ZERO)).await });
    let (_, responder) = next_request(&mut b).await;
    b.net.respond(responder, SyncResponse::Status(status(1)));
    assert_eq!(wrong.await.unwrap(), Err(cairn_p2p::RequestError::WrongResponse));
    next_matching(&mut a, |e| {
        matches!(e, NetworkEvent::PeerDisconnected { peer } if *peer == b_id).then_some(())
    })
    .await;
    assert_eq!(a.net.banned().await.unwrap().len(), 1);
    // Start over with a fresh B for the rest.
    drop(b);
    let b = peer(vec![a.addr.clone()]).await;
    let b_id = b.net.peer_id();
    next_matching(&mut a, |e| {
        matches!(e, NetworkEvent::PeerConnected { peer, .. } if *peer == b_id).then_some(())
    })
    .await;

    // Gossip: B publishes a block payload; A gets it, with B as the source, and accepts it.
    let payload = vec![42u8; 300];
    let got = timeout(WAIT, async {
        loop {
            b.net.publish(Topic::Blocks, payload.clone());
            let deadline = tokio::time::sleep(Duration::from_millis(500));
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    _ = &mut deadline => break,
                    e = a.events.recv() => {
                        if let Some(NetworkEvent::Gossip { topic: Topic::Blocks, id, source, data }) = e {
                            a.net.report(id, source, Topic::Blocks, Verdict::Accept).await;
                            return (source, data.to_vec());
                        }
                    }
                }
            }
        }
    })
    .await
    .expect("gossip delivered");
    assert_eq!(got, (b_id, payload));

    // Traffic was counted both ways, and dated; the accepted block dates B's last block (the
    // report reaches the event loop after this queue's earlier commands: a few tries at most).
    let peers = timeout(WAIT, async {
        loop {
            let peers = a.net.peers().await.unwrap();
            if peers.iter().any(|p| p.last_block > 0) {
                return peers;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("last_block recorded");
    assert_eq!(peers.len(), 1);
    assert!(peers[0].bytes_sent > 0 && peers[0].bytes_received > 300, "{peers:?}");
    assert!(peers[0].last_sent > 0 && peers[0].last_received > 0, "{peers:?}");
    assert_eq!(peers[0].last_transaction, 0, "no transaction was relayed");
    assert!(peers[0].protocol_version.is_some() && peers[0].addresses_received > 0, "{peers:?}");
    assert!(peers[0].inbound);

    // A bans B: B is disconnected, listed, and its redials are refused.
    a.net.ban(b_id, Duration::from_secs(600), "test").await;
    next_matching(&mut a, |e| {
        matches!(e, NetworkEvent::PeerDisconnected { peer } if *peer == b_id).then_some(())
    })
    .await;
    let banned = a.net.banned().await.unwrap();
    assert_eq!(banned.len(), 2);
    assert!(banned.iter().any(|e| e.target == b_id));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(a.net.peers().await.unwrap().is_empty(), "the banned peer came back");
    drop(b);
}

/// `setban 127.0.0.0/8 add`: the connected peer is dropped, it cannot come back, we do not dial
/// it; once lifted, it connects again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_subnet_is_disconnected_and_refused_both_ways() {
    let mut a = peer(vec![]).await;
    let b = peer(vec![a.addr.clone()]).await;
    let b_id = b.net.peer_id();
    let connected = |e: &NetworkEvent| matches!(e, NetworkEvent::PeerConnected { peer, .. } if *peer == b_id).then_some(());
    next_matching(&mut a, connected).await;
    let subnet = Subnet::parse("127.0.0.1/8").unwrap();
    a.net.ban_subnet(subnet, Duration::from_secs(600)).await.unwrap();
    next_matching(&mut a, |e| {
        matches!(e, NetworkEvent::PeerDisconnected { peer } if *peer == b_id).then_some(())
    })
    .await;
    let listed = a.net.banned_subnets().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].target.to_string(), "127.0.0.0/8");
    assert!(a.net.banned().await.unwrap().is_empty(), "no peer id was banned");
    // B dials A, A dials B: both refused.
    let _ = b.net.add_node(a.addr.clone(), AddNode::OneTry).await;
    let _ = a.net.add_node(b.addr.clone(), AddNode::OneTry).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(a.net.peers().await.unwrap().is_empty(), "a banned address connected");
    // Lifted (named another way that means the same subnet): B connects again.
    assert!(a.net.unban_subnet(Subnet::parse("127.0.0.0/255.0.0.0").unwrap()).await.unwrap());
    assert!(!a.net.unban_subnet(subnet).await.unwrap(), "already lifted");
    let _ = b.net.add_node(a.addr.clone(), AddNode::OneTry).await;
    next_matching(&mut a, connected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addnode_add_remove_onetry() {
    let a = peer(vec![]).await;
    let mut b = peer(vec![]).await;
    assert_eq!(a.net.add_node(b.addr.clone(), AddNode::Add).await, Ok(()));
    assert_eq!(a.net.add_node(b.addr.clone(), AddNode::Add).await, Err(NetworkError::AlreadyAdded));
    let a_id = a.net.peer_id();
    next_matching(&mut b, |e| {
        matches!(e, NetworkEvent::PeerConnected { peer, .. } if *peer == a_id).then_some(())
    })
    .await;
    assert_eq!(a.net.add_node(b.addr.clone(), AddNode::Remove).await, Ok(()));
    assert_eq!(a.net.add_node(b.addr.clone(), AddNode::Remove).await, Err(NetworkError::NotAdded));
    // An address nobody listens on: onetry fails or is dialed in the background, never panics.
    let dead: Multiaddr = format!("/ip4/127.0.0.1/tcp/1/p2p/{}", PeerId::random()).parse().unwrap();
    let _ = a.net.add_node(dead, AddNode::OneTry).await;
    assert!(a.net.info().await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kademlia_introduces_peers() {
    // C knows only B, B knows only A: through Kademlia C learns of A and dials it.
    let a = peer(vec![]).await;
    let b = peer(vec![a.addr.clone()]).await;
    let mut c = peer(vec![b.addr.clone()]).await;
    let a_id = a.net.peer_id();
    let found = timeout(Duration::from_secs(60), async {
        loop {
            if let Some(NetworkEvent::PeerConnected { peer, .. }) = c.events.recv().await
                && peer == a_id
            {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "C never connected to A");
    drop((a, b));
}
