//! Hostile peers, content side, against real `cairn node` processes: peers that spoof
//! membership messages, store forged records and flood with TTL 255, and a ring member that
//! claims every key, hides every record and drops every store. Search and fetch keep working,
//! the offenders are banned, and no honest record is lost.

use std::time::Duration;

use cairn_chain::Network;
use cairn_p2p::chord::message::{FloodQuery, IndexRequest, IndexResponse, NodeEntry, node_entry};
use cairn_p2p::chord::{Request, Response, Step};
use cairn_p2p::content::ContentId;
use cairn_p2p::handle::IndexEvent;
use cairn_p2p::index::payload;
use cairn_p2p::{Limits, Multiaddr, NetworkConfig, NetworkHandle, PeerId};
use serde_json::{Value, json};

use crate::common::{TestNode, random_file, tempdirs, wait_until};

/// A peer run by the test that only sends index requests (it answers none).
struct Attacker {
    runtime: tokio::runtime::Runtime,
    net: NetworkHandle,
    key: cairn_p2p::identity::Keypair,
}

impl Attacker {
    fn start() -> Attacker {
        Attacker::launch(false)
    }

    /// A ring member that lies: asked for a key's successor it names itself, asked for records it
    /// has none, asked to store it acknowledges and keeps nothing; it answers the rest as a node
    /// with no neighbours would, so it stays in the ring.
    fn misrouter() -> Attacker {
        Attacker::launch(true)
    }

    fn launch(misroutes: bool) -> Attacker {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        // It pays the ring puzzle as any node must: what it does next is what is tested.
        let key = cairn_p2p::identity::grind(cairn_node::config::REGTEST_PUZZLE_BITS);
        let net = runtime.block_on(async {
            let (tx, mut requests) = tokio::sync::mpsc::channel(cairn_p2p::handle::INDEX_EVENT_QUEUE);
            let (net, mut events, _task) = cairn_p2p::start(
                key.clone(),
                NetworkConfig {
                    network: Network::Regtest,
                    listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
                    peers: Vec::new(),
                    limits: Limits::default(),
                    target_outbound: 0,
                    agent: "hostile-ring".into(),
                    content: None,
                    index: misroutes.then_some(tx),
                },
            )
            .unwrap();
            tokio::spawn(async move { while events.recv().await.is_some() {} });
            let liar = net.clone();
            tokio::spawn(async move {
                let me = node_entry(liar.peer_id(), 0, Vec::new());
                while let Some(event) = requests.recv().await {
                    if let IndexEvent::Request { request, responder, .. } = event {
                        liar.respond_index(responder, lie(&me, request));
                    }
                }
            });
            net
        });
        Attacker { runtime, net, key }
    }

    fn send(&self, to: &str, request: IndexRequest) {
        let addr: Multiaddr = to.parse().unwrap();
        let peer = peer_of(to);
        let net = self.net.clone();
        let _ = self
            .runtime
            .block_on(async move { tokio::time::timeout(Duration::from_secs(10), net.index_request(peer, vec![addr], request)).await });
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        let net = self.net.clone();
        self.runtime.block_on(async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), net.shutdown()).await;
        });
    }
}

/// The misrouter's answer to `request`.
fn lie(me: &NodeEntry, request: IndexRequest) -> IndexResponse {
    let IndexRequest::Chord { request, .. } = request else {
        return IndexResponse::NotHere;
    };
    IndexResponse::Chord(match request {
        Request::FindSuccessor { .. } => Response::Step(Step::Done(me.clone())),
        Request::Get { .. } | Request::TakeOver { .. } => Response::Records(Vec::new()),
        Request::GetState => Response::State {
            predecessor: None,
            successors: Vec::new(),
        },
        Request::Store { .. } | Request::Notify { .. } | Request::Leaving { .. } => Response::Ack,
    })
}

fn peer_of(addr: &str) -> PeerId {
    addr.rsplit('/').next().unwrap().parse().unwrap()
}

fn banned(node: &mut TestNode) -> Vec<String> {
    let list: Vec<Value> = node.call("listbanned", &[]);
    list.iter().filter_map(|b| b["address"].as_str().map(str::to_string)).collect()
}

#[test]
fn a_hostile_ring_member_is_banned_and_search_and_fetch_keep_working() {
    let [da, db, dc, files] = tempdirs();
    let mut a = TestNode::start(da.path(), &[]);
    let a_addr = a.p2p_addr();
    let mut b = TestNode::start(db.path(), &["--peer", &a_addr]);
    let mut c = TestNode::start(dc.path(), &["--peer", &a_addr]);
    let path = files.path().join("holiday beach.bin");
    let original = random_file(&path, 600_000, 5);
    let published: Value = a.call("publishfile", &[json!(path.to_str().unwrap())]);
    let cid = published["cid"].as_str().unwrap().to_string();
    let findable = |c: &mut TestNode| -> bool {
        let hits: Vec<Value> = c.call("searchfiles", &[json!("holiday beach")]);
        hits.first().is_some_and(|h| h["cid"] == cid.as_str() && h["providers"] == 1)
    };
    assert!(wait_until(Duration::from_secs(60), || findable(&mut c)), "not findable at first");
    let b_id: PeerId = b.peer_id().parse().unwrap();
    let mut before = Value::Null;
    assert!(
        wait_until(Duration::from_secs(30), || {
            before = a.call("getchordinfo", &[]);
            before["successors"].as_array().is_some_and(|s| !s.is_empty())
        }),
        "A never found a successor: {before}"
    );

    // 1. A flood with TTL 255, then a forged provider record naming B, signed by the attacker.
    let forger = Attacker::start();
    forger.send(
        &a_addr,
        IndexRequest::Flood(FloodQuery {
            id: [7; 16],
            ttl: 255,
            hops: 0,
            text: "holiday".into(),
        }),
    );
    let now = payload::unix_ms();
    let cid_bytes: [u8; 32] = hex::decode(&cid).unwrap().try_into().unwrap();
    let content = ContentId::from_bytes(cid_bytes);
    let mut lie = payload::provider_record(&content, &forger.key, &[], now + 60_000, 60_000);
    // Filed where B's own record goes: it would claim B as a provider.
    lie.sub = sha2_of(&b_id.to_bytes());
    forger.send(
        &a_addr,
        IndexRequest::Chord {
            vnode: 0,
            request: Request::Store {
                records: vec![lie],
                replicate: false,
                exclude: Vec::new(),
            },
        },
    );
    // 2. Another one spoofs a Leaving for A's successor, offering itself instead.
    let spoofer = Attacker::start();
    let successor = &before["successors"][0];
    let successor_peer: PeerId = successor["peer"].as_str().unwrap().parse().unwrap();
    let me = node_entry(spoofer.net.peer_id(), 0, Vec::new());
    spoofer.send(
        &a_addr,
        IndexRequest::Chord {
            vnode: 0,
            request: Request::Leaving {
                node: node_entry(successor_peer, 0, Vec::new()),
                predecessor: Some(me.clone()),
                successors: vec![me],
            },
        },
    );

    let (forger_id, spoofer_id) = (forger.net.peer_id().to_string(), spoofer.net.peer_id().to_string());
    assert!(
        wait_until(Duration::from_secs(20), || {
            let list = banned(&mut a);
            list.contains(&forger_id) && list.contains(&spoofer_id)
        }),
        "not banned: {:?}\nlog:\n{}",
        banned(&mut a),
        a.log()
    );
    let honest = b.peer_id();
    assert!(!banned(&mut a).contains(&honest), "an honest node was banned");
    let after: Value = a.call("getchordinfo", &[]);
    assert_eq!(after["successors"][0]["peer"], successor["peer"], "the ring was not rewired");

    // 3. A third one takes a place on the ring (it notifies every node; one adopts it as
    // predecessor, and stabilization brings it into the successor lists), then claims every key
    // it is asked about, hides every record and drops every store.
    let misrouter = Attacker::misrouter();
    let notify = IndexRequest::Chord {
        vnode: 0,
        request: Request::Notify {
            node: node_entry(misrouter.net.peer_id(), 0, Vec::new()),
        },
    };
    let addrs = [a_addr.clone(), b.p2p_addr(), c.p2p_addr()];
    let misrouter_id = misrouter.net.peer_id().to_string();
    let in_ring = |n: &mut TestNode| {
        let info: Value = n.call("getchordinfo", &[]);
        info["predecessor"]["peer"] == misrouter_id.as_str()
            || info["successors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["peer"] == misrouter_id.as_str())
    };
    assert!(
        wait_until(Duration::from_secs(30), || {
            for addr in &addrs {
                misrouter.send(addr, notify.clone());
            }
            in_ring(&mut a) || in_ring(&mut b) || in_ring(&mut c)
        }),
        "the misrouter never got a place on the ring"
    );
    // A file published now under a dozen keywords (so that some land in the misrouter's range
    // of the ring, a quarter of it), while it is there, is stored past it and found by each;
    // so is the first file.
    let path2 = files.path().join("sunset harbour.bin");
    random_file(&path2, 50_000, 6);
    let words: Vec<String> = (0..12).map(|i| format!("harbour{i}")).collect();
    let second: Value = b.call(
        "publishfile",
        &[json!(path2.to_str().unwrap()), json!("sunset harbour.bin"), json!(words)],
    );
    let second_cid = second["cid"].as_str().unwrap().to_string();
    for word in &words {
        assert!(
            wait_until(Duration::from_secs(60), || {
                let hits: Vec<Value> = c.call("searchfiles", &[json!(word)]);
                hits.first().is_some_and(|h| h["cid"] == second_cid.as_str() && h["providers"] == 1)
            }),
            "a file published beside the misrouter is not found by {word}"
        );
    }
    for _ in 0..5 {
        assert!(findable(&mut b), "the file is no longer findable from B beside the misrouter");
        assert!(findable(&mut c), "the file is no longer findable from C beside the misrouter");
    }
    // Misrouting cannot be told from a stale or lonely node with certainty, so it costs the
    // liar its part in each lookup, not a ban; forging can: once it forges, it is banned too.
    let mut forged = payload::provider_record(&content, &misrouter.key, &[], now + 60_000, 60_000);
    forged.sub = sha2_of(&b_id.to_bytes());
    for addr in &addrs {
        misrouter.send(
            addr,
            IndexRequest::Chord {
                vnode: 0,
                request: Request::Store {
                    records: vec![forged.clone()],
                    replicate: false,
                    exclude: Vec::new(),
                },
            },
        );
    }
    assert!(
        wait_until(Duration::from_secs(20), || banned(&mut a).contains(&misrouter_id)),
        "the misrouter is not banned"
    );

    // Search and fetch still work, and the only provider is the honest one.
    assert!(findable(&mut c), "the file is no longer findable");
    c.call::<Value>("fetchfile", &[json!(cid)]);
    let mut last = Value::Null;
    assert!(
        wait_until(Duration::from_secs(120), || {
            last = c.call("getfetchstatus", &[json!(cid)]);
            last["state"] == "complete"
        }),
        "fetch did not complete: {last}"
    );
    assert_eq!(std::fs::read(last["path"].as_str().unwrap()).unwrap(), original);
}

fn sha2_of(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}
