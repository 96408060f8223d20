//! The content index over real Swarms: in-process nodes on 127.0.0.1 form a Chord ring, store
//! and find records, and flood queries along their neighbour links.

use std::time::Duration;

use cairn_chain::Network;
use cairn_p2p::chord::ChordId;
use cairn_p2p::content::ContentId;
use cairn_p2p::identity::Keypair;
use cairn_p2p::index::{self, IndexConfig, IndexHandle, LocalFile};
use cairn_p2p::{Limits, Multiaddr, NetworkConfig, NetworkHandle};
use tokio::sync::mpsc;
use tokio::time::timeout;

struct Member {
    net: NetworkHandle,
    index: IndexHandle,
    addr: Multiaddr,
    key: Keypair,
}

async fn member(peers: Vec<Multiaddr>, discover: bool) -> Member {
    member_with(peers, discover, Keypair::generate_ed25519(), 0).await
}

/// A member with its own `key`, refusing peers below the ring puzzle at `bits`.
async fn member_with(peers: Vec<Multiaddr>, discover: bool, key: Keypair, bits: u8) -> Member {
    let (tx, rx) = mpsc::channel(cairn_p2p::handle::INDEX_EVENT_QUEUE);
    let (net, mut events, _task) = cairn_p2p::start(
        key.clone(),
        NetworkConfig {
            network: Network::Regtest,
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            peers,
            limits: Limits::default(),
            target_outbound: if discover { 8 } else { 0 },
            agent: "test".into(),
            content: None,
            index: Some(tx),
        },
    )
    .unwrap();
    // Nobody validates gossip here: drain the node's queue.
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let mut config = IndexConfig {
        puzzle_bits: bits,
        ..IndexConfig::default()
    };
    config.chord.successors = 4;
    let (index, _task) = index::start(net.clone(), key.clone(), rx, config);
    let addr = super::listen_addr(&net).await;
    Member { net, index, addr, key }
}

async fn wait_until<F, Fut>(what: &str, limit: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let ok = timeout(limit, async {
        loop {
            if f().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(ok.is_ok(), "timed out waiting for {what}");
}

/// Whether the members' successor pointers form one ring in id order.
async fn one_ring(members: &[Member]) -> bool {
    let mut ids = Vec::new();
    let mut succ = std::collections::HashMap::new();
    for m in members {
        let info = &m.index.info().await.unwrap()[0];
        ids.push(info.id);
        succ.insert(info.id, info.successors.first().map(|s| s.id));
    }
    ids.sort();
    ids.iter().enumerate().all(|(i, id)| succ[id] == Some(ids[(i + 1) % ids.len()]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ring_stores_and_finds_records() {
    let first = member(vec![], true).await;
    let mut members = vec![first];
    for _ in 0..5 {
        let m = member(vec![members[0].addr.clone()], true).await;
        members.push(m);
    }
    wait_until("one ring", Duration::from_secs(30), || one_ring(&members)).await;

    let cid = ContentId::from_bytes([7; 32]);
    members[1].index.provide(LocalFile {
        cid,
        name: "Holiday Photos 2024.tar".into(),
        size: 1234,
        keywords: index::keywords("Holiday Photos 2024.tar"),
    });
    let searcher = members[4].index.clone();
    wait_until("search finds the file", Duration::from_secs(15), || {
        let s = searcher.clone();
        async move {
            s.search("photos HOLIDAY")
                .await
                .is_ok_and(|h| h.len() == 1 && h[0].cid == cid && h[0].providers == 1)
        }
    })
    .await;
    assert!(searcher.search("photos winter").await.unwrap().is_empty(), "every word must match");
    let providers = members[5].index.find_providers(cid).await.unwrap();
    assert_eq!(providers, vec![members[1].net.peer_id()]);
    let found = members[2].index.lookup(ChordId(*cid.as_bytes())).await.unwrap();
    let owner = members.iter().position(|m| m.net.peer_id() == found.node.addr.peer).unwrap();
    let info = &members[owner].index.info().await.unwrap()[0];
    assert!(info.keys_stored >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_reaches_ttl_hops_and_no_further() {
    // A line: 0 - 1 - 2 - 3 - 4 - 5, each node dialing only the next (no discovery). Ring
    // connections come and go, but only the line's links are flooding neighbours.
    let mut members: Vec<Member> = Vec::new();
    members.push(member(vec![], false).await);
    for i in 1..6 {
        let prev = members[i - 1].addr.clone();
        let m = member(vec![prev], false).await;
        members.push(m);
    }
    let file = |n: u8, name: &str| LocalFile {
        cid: ContentId::from_bytes([n; 32]),
        name: name.into(),
        size: 10,
        keywords: vec![],
    };
    members[4].index.provide(file(4, "far-away-Album.flac"));
    members[5].index.provide(file(5, "too-far-album.flac"));
    wait_until("the line is connected", Duration::from_secs(20), || {
        let nets: Vec<NetworkHandle> = members.iter().map(|m| m.net.clone()).collect();
        async move {
            for n in &nets[1..] {
                if n.info().await.unwrap().outbound + n.info().await.unwrap().inbound == 0 {
                    return false;
                }
            }
            true
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let hits = members[0].index.flood("ALBUM".into(), 4).await.unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].peer, members[4].net.peer_id());
    assert_eq!(hits[0].hops, 4);
    assert!(members[0].index.flood("album".into(), 3).await.unwrap().is_empty());
    let all = members[0].index.flood("album".into(), 5).await.unwrap();
    assert_eq!(all.len(), 2);
}

/// A stranger's `Leaving` that names the victim's successor, with the stranger as "its"
/// successor: believed, it would make the stranger the victim's successor (an eclipse). It is
/// refused, the victim's ring is unchanged, and the stranger is banned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoofed_leaving_does_not_rewire_the_ring_and_its_sender_is_banned() {
    use cairn_p2p::chord::Request;
    use cairn_p2p::chord::message::{IndexRequest, IndexResponse, node_entry};

    let first = member(vec![], true).await;
    let mut members = vec![first];
    for _ in 0..2 {
        let m = member(vec![members[0].addr.clone()], true).await;
        members.push(m);
    }
    wait_until("one ring", Duration::from_secs(30), || one_ring(&members)).await;
    let victim = &members[0];
    let before = victim.index.info().await.unwrap()[0].clone();
    let successor = before.successors[0].clone();

    // The attacker: a node with no index of its own.
    let attacker = member(vec![], false).await;
    let me = node_entry(attacker.net.peer_id(), 0, vec![attacker.addr.clone()]);
    let spoof = IndexRequest::Chord {
        vnode: 0,
        request: Request::Leaving {
            node: successor.clone(),
            predecessor: Some(me.clone()),
            successors: vec![me.clone()],
        },
    };
    let answer = attacker
        .net
        .index_request(victim.net.peer_id(), vec![victim.addr.clone()], spoof)
        .await;
    assert!(matches!(answer, Ok(IndexResponse::NotHere) | Err(_)), "{answer:?}");
    let victim_net = victim.net.clone();
    let attacker_id = attacker.net.peer_id();
    wait_until("the attacker is banned", Duration::from_secs(10), || {
        let n = victim_net.clone();
        async move { n.banned().await.unwrap().iter().any(|b| b.target == attacker_id) }
    })
    .await;
    let after = victim.index.info().await.unwrap()[0].clone();
    assert_eq!(after.successors[0].id, successor.id, "the successor was not replaced");
    assert!(after.successors.iter().all(|s| s.addr.peer != attacker_id));
    assert!(one_ring(&members).await);
}

/// A stranger stores provider records naming another peer (signed with its own key) and a flood
/// of its own, each asking for a day: the forgery is refused and its sender banned, and the
/// honest provider is still found first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_records_are_refused_and_honest_providers_stay_found() {
    use cairn_p2p::chord::message::{IndexRequest, IndexResponse};
    use cairn_p2p::chord::{ChordId, Request};
    use cairn_p2p::index::payload;

    let first = member(vec![], true).await;
    let mut members = vec![first];
    for _ in 0..2 {
        let m = member(vec![members[0].addr.clone()], true).await;
        members.push(m);
    }
    wait_until("one ring", Duration::from_secs(30), || one_ring(&members)).await;
    let cid = ContentId::from_bytes([42; 32]);
    members[1].index.provide(LocalFile {
        cid,
        name: "real.bin".into(),
        size: 1,
        keywords: vec![],
    });
    let honest = members[1].net.peer_id();
    let finder = members[2].index.clone();
    wait_until("the provider is found", Duration::from_secs(15), || {
        let f = finder.clone();
        async move { f.find_providers(cid).await.is_ok_and(|p| p == vec![honest]) }
    })
    .await;
    let owner = members[0].index.lookup(ChordId(*cid.as_bytes())).await.unwrap().node.addr.peer;
    let target = members.iter().find(|m| m.net.peer_id() == owner).unwrap();

    // Mallory: a record that names the honest provider but is signed by Mallory.
    let mallory_key = cairn_p2p::identity::Keypair::generate_ed25519();
    let mallory = member(vec![], false).await;
    let now = payload::unix_ms();
    let mut lie = payload::provider_record(&cid, &mallory_key, &[], now + 60_000, 60_000);
    lie.sub = payload::provider_record(&cid, &members[1].key, &[], now + 60_000, 60_000).sub;
    let store = |records| IndexRequest::Chord {
        vnode: 0,
        request: Request::Store {
            records,
            replicate: false,
            exclude: Vec::new(),
        },
    };
    let answer = mallory.net.index_request(owner, vec![target.addr.clone()], store(vec![lie])).await;
    assert!(matches!(answer, Ok(IndexResponse::NotHere) | Err(_)), "{answer:?}");
    let (target_net, mallory_id) = (target.net.clone(), mallory.net.peer_id());
    wait_until("the forger is banned", Duration::from_secs(10), || {
        let n = target_net.clone();
        async move { n.banned().await.unwrap().iter().any(|b| b.target == mallory_id) }
    })
    .await;

    // A flood of validly signed records from many fresh keys, each asking for a day, comes
    // after the honest one: the honest provider is still read first.
    let flooder = member(vec![], false).await;
    let flood: Vec<_> = (0..32)
        .map(|_| {
            let k = cairn_p2p::identity::Keypair::generate_ed25519();
            payload::provider_record(&cid, &k, &[], now + 24 * 3600 * 1000, 24 * 3600 * 1000)
        })
        .collect();
    // Asking for a day is more than a signature may claim: those are dropped, not stored.
    let _ = flooder.net.index_request(owner, vec![target.addr.clone()], store(flood)).await;
    let found = finder.find_providers(cid).await.unwrap();
    assert_eq!(found, vec![honest], "{found:?}");
}

/// A peer whose id does not meet the ring puzzle connects to a ring that asks for it: it never
/// gets a place (no member lists it, its own ring stays empty), and what it stores, signed with
/// its own key, is refused; a member that meets the puzzle is found as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_below_the_ring_puzzle_gets_no_place_and_its_records_are_refused() {
    use cairn_p2p::chord::Request;
    use cairn_p2p::chord::message::{IndexRequest, IndexResponse};
    use cairn_p2p::identity::{grind, meets_puzzle};
    use cairn_p2p::index::payload;

    const BITS: u8 = 6;
    let first = member_with(vec![], true, grind(BITS), BITS).await;
    let mut members = vec![first];
    for _ in 0..2 {
        let m = member_with(vec![members[0].addr.clone()], true, grind(BITS), BITS).await;
        members.push(m);
    }
    wait_until("one ring", Duration::from_secs(30), || one_ring(&members)).await;

    let weak_key = loop {
        let k = Keypair::generate_ed25519();
        if !meets_puzzle(&k.public().to_peer_id(), BITS) {
            break k;
        }
    };
    // The weak peer dials every member and would join through them (it asks no puzzle itself).
    let addrs: Vec<Multiaddr> = members.iter().map(|m| m.addr.clone()).collect();
    let weak = member_with(addrs, true, weak_key.clone(), 0).await;
    let weak_id = weak.net.peer_id();
    // Its joins are refused (NotHere) for as long as it keeps trying: after several join
    // retries it is still alone, and no member lists it.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(
        weak.index.info().await.unwrap()[0].successors.is_empty(),
        "the weak peer got a place"
    );
    for m in &members {
        let info = &m.index.info().await.unwrap()[0];
        let named = info
            .successors
            .iter()
            .chain(info.predecessor.iter())
            .any(|e| e.addr.peer == weak_id);
        assert!(!named, "a member adopted the weak peer");
    }
    assert!(one_ring(&members).await);

    // A provider record it signs and stores at the owner directly is refused.
    let cid = ContentId::from_bytes([43; 32]);
    let owner = members[0].index.lookup(ChordId(*cid.as_bytes())).await.unwrap().node.addr.peer;
    let target = members.iter().find(|m| m.net.peer_id() == owner).unwrap();
    let now = payload::unix_ms();
    let record = payload::provider_record(&cid, &weak_key, &[], now + 60_000, 60_000);
    let store = IndexRequest::Chord {
        vnode: 0,
        request: Request::Store {
            records: vec![record],
            replicate: true,
            exclude: Vec::new(),
        },
    };
    let answer = weak.net.index_request(owner, vec![target.addr.clone()], store).await;
    assert!(matches!(answer, Ok(IndexResponse::NotHere)), "{answer:?}");
    assert_eq!(members[2].index.find_providers(cid).await.unwrap(), Vec::new());

    // A member that meets the puzzle publishes the same file and is found.
    members[1].index.provide(LocalFile {
        cid,
        name: "paid.bin".into(),
        size: 1,
        keywords: vec![],
    });
    let honest = members[1].net.peer_id();
    let finder = members[2].index.clone();
    wait_until("the paid-up provider is found", Duration::from_secs(15), || {
        let f = finder.clone();
        async move { f.find_providers(cid).await.is_ok_and(|p| p == vec![honest]) }
    })
    .await;
}
