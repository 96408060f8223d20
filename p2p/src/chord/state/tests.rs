//! The state machine on a tiny in-memory network: joins, stores, failures, hand-overs.

use super::*;
use std::collections::{BTreeMap, VecDeque};

/// A tiny in-memory network: every message is delivered in order, instantly; nodes in
/// `dead` never answer. A node in `crash_on_store` fails right after it takes a replicated
/// store in: an answer it gives at once still reaches the asker, the copies it sends do not.
struct Net {
    nodes: BTreeMap<u32, Node<u32>>,
    dead: Vec<u32>,
    crash_on_store: Vec<u32>,
    done: Vec<(u32, OpId, Result<OpResult<u32>, OpError>)>,
    /// Answers held back: (node, its number) → (asker, the asker's request).
    held: BTreeMap<(u32, AnswerId), (u32, ReqId)>,
}

fn entry(n: u32) -> Entry<u32> {
    Entry {
        id: ChordId::hash(&n.to_le_bytes()),
        addr: n,
    }
}

impl Net {
    fn new() -> Net {
        Net {
            nodes: BTreeMap::new(),
            dead: Vec::new(),
            crash_on_store: Vec::new(),
            done: Vec::new(),
            held: BTreeMap::new(),
        }
    }

    /// Nodes `0..n` joining one by one through node 0, ticking `settle` rounds after each.
    fn ring(n: u32, settle: usize, now: &mut Millis) -> Net {
        let mut net = Net::new();
        net.nodes.insert(0, Node::new(entry(0), fast(), *now));
        for i in 1..n {
            let mut node = Node::new(entry(i), fast(), *now);
            node.join(entry(0), *now).unwrap();
            net.nodes.insert(i, node);
            net.run(*now);
            for _ in 0..settle {
                *now += 10;
                net.tick_all(*now);
            }
        }
        net
    }

    fn run(&mut self, now: Millis) {
        let mut queue: VecDeque<(u32, Output<u32>)> = VecDeque::new();
        for (a, n) in &mut self.nodes {
            for o in n.drain() {
                queue.push_back((*a, o));
            }
        }
        let mut steps = 0;
        while let Some((from, o)) = queue.pop_front() {
            steps += 1;
            assert!(steps < 1_000_000, "message storm");
            match o {
                Output::Send { id, to, request } => {
                    let crash = self.crash_on_store.contains(&to.addr) && matches!(request, Request::Store { replicate: true, .. });
                    let answer = if self.dead.contains(&to.addr) {
                        None
                    } else {
                        self.nodes.get_mut(&to.addr).map(|n| n.answer(request, now))
                    };
                    if let Some(n) = self.nodes.get_mut(&to.addr) {
                        let outputs = n.drain();
                        if crash {
                            self.dead.push(to.addr);
                        } else {
                            queue.extend(outputs.into_iter().map(|o| (to.addr, o)));
                        }
                    }
                    let sender = self.nodes.get_mut(&from).unwrap();
                    match answer {
                        Some(Answer::Now(r)) => sender.on_response(id, r, now),
                        Some(Answer::Later(h)) if !crash => {
                            self.held.insert((to.addr, h), (from, id));
                        }
                        // Never answered: the asker times out.
                        Some(Answer::Later(_)) | None => sender.on_failure(id, now),
                    }
                    for o in sender.drain() {
                        queue.push_back((from, o));
                    }
                }
                Output::Done { op, result } => self.done.push((from, op, result)),
                Output::Answer { id, response } => {
                    if let Some((asker, rid)) = self.held.remove(&(from, id))
                        && let Some(n) = self.nodes.get_mut(&asker)
                    {
                        n.on_response(rid, response, now);
                        queue.extend(n.drain().into_iter().map(|o| (asker, o)));
                    }
                }
            }
        }
    }

    fn tick_all(&mut self, now: Millis) {
        for (a, n) in &mut self.nodes {
            if !self.dead.contains(a) {
                n.tick(now);
            }
        }
        self.run(now);
    }
}

fn fast() -> Config {
    Config {
        successors: 4,
        stabilize_every: 10,
        fix_fingers_every: 10,
        check_predecessor_every: 10,
        replicate_every: 50,
        ..Config::default()
    }
}

fn record(key: ChordId, v: u8) -> Record {
    Record {
        key,
        kind: 1,
        sub: [v; 32],
        value: vec![v],
        ttl: 1_000_000,
    }
}

#[test]
fn nodes_join_store_hand_over_and_survive_failures() {
    let mut now = 0;
    let mut net = Net::ring(12, 5, &mut now);
    for _ in 0..100 {
        now += 10;
        net.tick_all(now);
    }
    let mut ids: Vec<(ChordId, u32)> = net.nodes.keys().map(|n| (entry(*n).id, *n)).collect();
    ids.sort();
    for (i, (_, n)) in ids.iter().enumerate() {
        let rt = net.nodes[n].routing();
        assert_eq!(rt.successor().addr, ids[(i + 1) % ids.len()].1, "successor of {n}");
        assert_eq!(rt.predecessor().unwrap().addr, ids[(i + ids.len() - 1) % ids.len()].1);
    }
    // Eleven joins, and the first node's: alone until the second notified it, it joined through it.
    assert_eq!(net.done.len(), 12);
    assert!(net.done.iter().all(|(_, _, r)| matches!(r, Ok(OpResult::Joined { .. }))));
    net.done.clear();
    // Store 40 keys from node 3, read them back from node 7.
    let keys: Vec<ChordId> = (0..40u8).map(|k| ChordId::hash(&[b'k', k])).collect();
    for (i, k) in keys.iter().enumerate() {
        net.nodes.get_mut(&3).unwrap().put(*k, vec![record(*k, i as u8)], now).unwrap();
    }
    net.run(now);
    assert!(net.done.iter().all(|(_, _, r)| matches!(r, Ok(OpResult::Stored { .. }))));
    let owner = |key: &ChordId, ids: &[(ChordId, u32)]| ids.iter().find(|(i, _)| i >= key).unwrap_or(&ids[0]).1;
    for k in &keys {
        assert!(net.nodes[&owner(k, &ids)].records().has_key(k), "owner holds the key");
    }
    // Kill 3 nodes, including the owner of key 0; after stabilization every key is still
    // found, at its new owner.
    let victims = [owner(&keys[0], &ids), ids[0].1, ids[5].1];
    let victims: Vec<u32> = victims.into_iter().filter(|v| *v != 7).collect();
    net.dead.extend(&victims);
    for _ in 0..50 {
        now += 10;
        net.tick_all(now);
    }
    for v in &victims {
        net.nodes.remove(v);
    }
    ids.retain(|(_, n)| !victims.contains(n));
    for (i, (_, n)) in ids.iter().enumerate() {
        assert_eq!(net.nodes[n].routing().successor().addr, ids[(i + 1) % ids.len()].1);
    }
    net.done.clear();
    for k in &keys {
        net.nodes.get_mut(&7).unwrap().get(*k, now).unwrap();
    }
    net.run(now);
    assert_eq!(net.done.len(), keys.len());
    for (_, _, r) in &net.done {
        match r {
            Ok(OpResult::Got { records, .. }) => assert_eq!(records.len(), 1),
            other => panic!("get failed: {other:?}"),
        }
    }
    // A new node takes over its keys from its successor.
    let newcomer = (100..1000u32)
        .find(|n| {
            keys.iter().any(|k| {
                owner(k, &ids)
                    != owner(k, &{
                        let mut x = ids.clone();
                        x.push((entry(*n).id, *n));
                        x.sort();
                        x
                    })
            })
        })
        .unwrap();
    let mut node = Node::new(entry(newcomer), fast(), now);
    node.join(entry(7), now).unwrap();
    net.nodes.insert(newcomer, node);
    net.run(now);
    ids.push((entry(newcomer).id, newcomer));
    ids.sort();
    let mine: Vec<&ChordId> = keys.iter().filter(|k| owner(k, &ids) == newcomer).collect();
    assert!(!mine.is_empty());
    for k in mine {
        assert!(net.nodes[&newcomer].records().has_key(k), "taken over at join");
    }
    // A graceful leave hands everything to the successor.
    for _ in 0..20 {
        now += 10;
        net.tick_all(now);
    }
    let leaver = newcomer;
    let out = net.nodes.get_mut(&leaver).unwrap().leave(now);
    assert!(!out.is_empty());
    let succ = net.nodes[&leaver].routing().successor().addr;
    for o in out {
        if let Output::Send { to, request, .. } = o {
            let n = net.nodes.get_mut(&to.addr).unwrap();
            n.on_request(request, now);
        }
    }
    net.nodes.remove(&leaver);
    ids.retain(|(_, n)| *n != leaver);
    net.run(now);
    for k in &keys {
        if owner(k, &ids) == succ {
            assert!(net.nodes[&succ].records().has_key(k));
        }
    }
    let pred = ids[(ids.iter().position(|(_, n)| *n == succ).unwrap() + ids.len() - 1) % ids.len()].1;
    assert_eq!(net.nodes[&succ].routing().predecessor().unwrap().addr, pred);
}

#[test]
fn a_probe_does_not_adopt_a_node_that_has_not_joined() {
    let mut net = Net::new();
    let mut now = 0;
    // Two nodes in a ring, and a third just started (alone).
    net.nodes.insert(0, Node::new(entry(0), fast(), now));
    let mut b = Node::new(entry(1), fast(), now);
    b.join(entry(0), now).unwrap();
    net.nodes.insert(1, b);
    net.run(now);
    for _ in 0..20 {
        now += 10;
        net.tick_all(now);
    }
    assert_eq!(net.nodes[&0].routing().successor().addr, 1);
    // Find a newcomer that lies between 0 and its successor, as seen from 0.
    let (id0, id1) = (entry(0).id, entry(1).id);
    let n = (2..1000u32).find(|n| entry(*n).id.in_open(&id0, &id1)).unwrap();
    net.nodes.insert(n, Node::new(entry(n), fast(), now));
    net.nodes.get_mut(&0).unwrap().probe(entry(n), now).unwrap();
    net.run(now);
    assert_eq!(net.nodes[&0].routing().successor().addr, 1, "an unjoined node is not adopted");
    // Once it has joined, stabilization brings it in.
    net.nodes.get_mut(&n).unwrap().join(entry(1), now).unwrap();
    net.run(now);
    for _ in 0..20 {
        now += 10;
        net.tick_all(now);
    }
    assert_eq!(net.nodes[&0].routing().successor().addr, n);
}

#[test]
fn a_restarted_node_rejoins_and_gets_its_records_back() {
    let mut now = 0;
    let mut net = Net::ring(6, 10, &mut now);
    let keys: Vec<ChordId> = (0..30u8).map(|k| ChordId::hash(&[b'r', k])).collect();
    for (i, k) in keys.iter().enumerate() {
        net.nodes.get_mut(&0).unwrap().put(*k, vec![record(*k, i as u8)], now).unwrap();
    }
    net.run(now);
    let mut ids: Vec<(ChordId, u32)> = net.nodes.keys().map(|n| (entry(*n).id, *n)).collect();
    ids.sort();
    let owner = |k: &ChordId| ids.iter().find(|(i, _)| i >= k).unwrap_or(&ids[0]).1;
    // The keys a node is responsible for (it also holds replicas of its predecessors').
    let held = |net: &Net, n: u32| keys.iter().filter(|k| owner(k) == n && net.nodes[&n].records().has_key(k)).count();
    let victim = (1..6u32).max_by_key(|n| held(&net, *n)).unwrap();
    let before = held(&net, victim);
    assert!(before > 0);
    // It restarts with the same id, empty, before anyone noticed it was gone, and joins
    // through a node that still lists it.
    net.nodes.insert(victim, Node::new(entry(victim), fast(), now));
    let via = if victim == 1 { 2 } else { 1 };
    net.nodes.get_mut(&victim).unwrap().join(entry(via), now).unwrap();
    net.run(now);
    assert!(
        net.done
            .iter()
            .any(|(n, _, r)| *n == victim && matches!(r, Ok(OpResult::Joined { .. }))),
        "{:?}",
        net.done
    );
    assert!(held(&net, victim) >= before, "its range came back from its successor");
}

#[test]
fn a_restarted_node_brought_back_by_a_notify_takes_its_range_over() {
    let mut now = 0;
    let mut net = Net::ring(6, 10, &mut now);
    let keys: Vec<ChordId> = (0..30u8).map(|k| ChordId::hash(&[b'n', k])).collect();
    for (i, k) in keys.iter().enumerate() {
        net.nodes.get_mut(&0).unwrap().put(*k, vec![record(*k, i as u8)], now).unwrap();
    }
    net.run(now);
    let mut ids: Vec<(ChordId, u32)> = net.nodes.keys().map(|n| (entry(*n).id, *n)).collect();
    ids.sort();
    let owner = |k: &ChordId| ids.iter().find(|(i, _)| i >= k).unwrap_or(&ids[0]).1;
    let held = |net: &Net, n: u32| keys.iter().filter(|k| owner(k) == n && net.nodes[&n].records().has_key(k)).count();
    let victim = (1..6u32).max_by_key(|n| held(&net, *n)).unwrap();
    let before = held(&net, victim);
    assert!(before > 0);
    // It restarts empty and does not join: its predecessor's stabilize finds it and notifies it.
    net.nodes.insert(victim, Node::new(entry(victim), fast(), now));
    for _ in 0..20 {
        now += 10;
        net.tick_all(now);
    }
    assert!(!net.nodes[&victim].routing().successors().is_empty());
    assert!(held(&net, victim) >= before, "its range came back from its successor");
}

/// The owner of a key fails right after taking a store in, before the copies it sends arrive:
/// had it acknowledged at once, the putter would believe stored a record no live node holds
/// (until its owner republishes it). It acknowledges only once its successors hold copies, so
/// the putter, unanswered, stores at the next node instead, and the record is found.
#[test]
fn a_put_survives_its_owner_failing_right_after_the_store() {
    let mut now = 0;
    let mut net = Net::ring(8, 5, &mut now);
    for _ in 0..100 {
        now += 10;
        net.tick_all(now);
    }
    let mut ids: Vec<(ChordId, u32)> = net.nodes.keys().map(|n| (entry(*n).id, *n)).collect();
    ids.sort();
    let owner = |k: &ChordId| ids.iter().find(|(i, _)| i >= k).unwrap_or(&ids[0]).1;
    // A key that neither the putter (1) nor the reader (2) is responsible for.
    let key = (0..=255u8)
        .map(|k| ChordId::hash(&[b'o', k]))
        .find(|k| ![1, 2].contains(&owner(k)))
        .unwrap();
    let victim = owner(&key);
    net.crash_on_store.push(victim);
    net.done.clear();
    net.nodes.get_mut(&1).unwrap().put(key, vec![record(key, 9)], now).unwrap();
    net.run(now);
    assert!(net.dead.contains(&victim), "the owner took the store in");
    match &net.done[..] {
        [(1, _, Ok(OpResult::Stored { node, .. }))] => assert_ne!(node.addr, victim, "acknowledged by a live node"),
        other => panic!("put: {other:?}"),
    }
    for _ in 0..50 {
        now += 10;
        net.tick_all(now);
    }
    net.done.clear();
    net.nodes.get_mut(&2).unwrap().get(key, now).unwrap();
    net.run(now);
    match &net.done[..] {
        [(2, _, Ok(OpResult::Got { records, .. }))] => assert_eq!(records.len(), 1, "the record survived"),
        other => panic!("get: {other:?}"),
    }
}

/// A replicated store is answered when every copy is answered (made or failed), or after
/// `replica_wait` if some never is; other requests are answered at once.
#[test]
fn a_replicated_store_is_answered_once_its_copies_are_made_or_after_the_wait() {
    let mut now = 0;
    let mut net = Net::ring(4, 10, &mut now);
    for _ in 0..50 {
        now += 10;
        net.tick_all(now);
    }
    let wait = fast().replica_wait;
    let node = net.nodes.get_mut(&0).unwrap();
    assert_eq!(node.routing().successors().len(), 3);
    let key = ChordId::hash(b"held");
    let store = || Request::Store {
        records: vec![record(key, 1)],
        replicate: true,
        exclude: vec![],
    };
    assert!(matches!(node.answer(Request::GetState, now), Answer::Now(Response::State { .. })));
    assert!(matches!(
        node.answer(
            Request::Store {
                records: vec![record(key, 1)],
                replicate: false,
                exclude: vec![],
            },
            now
        ),
        Answer::Now(Response::Ack)
    ));
    // Every copy answered: the answer follows the last one.
    let Answer::Later(first) = node.answer(store(), now) else {
        panic!("held")
    };
    assert!(node.records().has_key(&key));
    let copies: Vec<ReqId> = node
        .drain()
        .into_iter()
        .map(|o| match o {
            Output::Send {
                id,
                request: Request::Store { replicate: false, .. },
                ..
            } => id,
            other => panic!("a copy: {other:?}"),
        })
        .collect();
    assert_eq!(copies.len(), 3);
    node.on_response(copies[0], Response::Ack, now);
    node.on_failure(copies[1], now);
    assert!(node.drain().is_empty(), "one copy still unanswered");
    node.on_response(copies[2], Response::Ack, now);
    assert_eq!(
        node.drain(),
        vec![Output::Answer {
            id: first,
            response: Response::Ack
        }]
    );
    // A copy never answered: the answer comes with the first tick after the wait.
    let Answer::Later(second) = node.answer(store(), now) else {
        panic!("held")
    };
    let _ = node.drain();
    assert!(node.next_tick() <= now + wait);
    node.tick(now + wait - 1);
    assert!(!node.drain().iter().any(|o| matches!(o, Output::Answer { .. })));
    node.tick(now + wait);
    assert!(node.drain().contains(&Output::Answer {
        id: second,
        response: Response::Ack
    }));
}

/// A put whose asker's routing is behind (it skips the key's owner, as during simultaneous
/// joins) reaches the owner's successor, which sends it back to the owner: the record ends where
/// every settled lookup looks. (It used to be stored at the successor and not found until the
/// publisher's next round, a minute later.)
#[test]
fn a_put_that_overshoots_the_owner_is_sent_back_to_it() {
    let mut now = 0;
    let mut net = Net::ring(8, 5, &mut now);
    for _ in 0..100 {
        now += 10;
        net.tick_all(now);
    }
    let mut ids: Vec<(ChordId, u32)> = net.nodes.keys().map(|n| (entry(*n).id, *n)).collect();
    ids.sort();
    let (owner, pred, next) = (ids[3].1, ids[2].1, ids[4].1);
    let key = entry(owner).id; // owned by `owner` exactly
    // The node before the owner forgets it: its successor is now the owner's successor.
    net.nodes.get_mut(&pred).unwrap().routing_mut().forget(&key);
    assert_eq!(net.nodes[&pred].routing().successor().addr, next);
    net.done.clear();
    net.nodes.get_mut(&pred).unwrap().put(key, vec![record(key, 1)], now).unwrap();
    net.run(now);
    assert!(
        matches!(&net.done[..], [(_, _, Ok(OpResult::Stored { node, .. }))] if node.addr == owner),
        "{:?}",
        net.done
    );
    assert!(net.nodes[&owner].records().has_key(&key), "the owner holds it");
    // A read from the same behind node is sent back the same way.
    net.done.clear();
    net.nodes.get_mut(&pred).unwrap().get(key, now).unwrap();
    net.run(now);
    assert!(
        matches!(&net.done[..], [(_, _, Ok(OpResult::Got { node, records, .. }))] if node.addr == owner && records.len() == 1),
        "{:?}",
        net.done
    );
}

#[test]
fn a_hop_that_misroutes_is_dropped_and_the_lookup_goes_on_without_it() {
    let now = 0;
    let mut me = Node::new(entry(0), fast(), now);
    for i in 1..8 {
        me.routing_mut().consider(entry(i));
    }
    me.drain();
    // A key whose lookup starts at a remote hop.
    let (key, id, hop) = (0u32..1000)
        .find_map(|k| {
            let key = ChordId::hash(&(10_000 + k).to_le_bytes());
            let op = me.lookup(key, now).ok()?;
            let send = me.drain().into_iter().find_map(|o| match o {
                Output::Send {
                    id,
                    to,
                    request: Request::FindSuccessor { .. },
                } => Some((id, to)),
                _ => None,
            });
            match send {
                Some((id, to)) => Some((key, id, to)),
                None => {
                    let _ = op;
                    None
                }
            }
        })
        .expect("a lookup that asks a remote hop");
    // The hop names as next a node that is not between it and the key: an accomplice.
    let accomplice = (100u32..10_000).map(entry).find(|e| !e.id.in_half_open(&hop.id, &key)).unwrap();
    me.on_response(id, Response::Step(Step::Next(accomplice.clone())), now);
    let out = me.drain();
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::Send { to, .. } if to.addr == accomplice.addr)),
        "the accomplice is never asked: {out:?}"
    );
    let goes_on = out.iter().any(|o| match o {
        Output::Send {
            request: Request::FindSuccessor { exclude, .. },
            to,
            ..
        } => exclude.contains(&hop.id) && to.addr != hop.addr,
        Output::Done { .. } => true,
        _ => false,
    });
    assert!(goes_on, "the lookup goes on without the hop: {out:?}");
    assert!(!me.routing().successors().iter().any(|s| s.addr == hop.addr) || hop.addr == 0);
}

#[test]
fn a_get_that_finds_nothing_at_the_owner_asks_its_replicas() {
    let mut now = 0;
    let mut net = Net::ring(6, 10, &mut now);
    let key = ChordId::hash(b"replicated");
    net.nodes.get_mut(&0).unwrap().put(key, vec![record(key, 7)], now).unwrap();
    net.run(now);
    let mut ids: Vec<(ChordId, u32)> = net.nodes.keys().map(|n| (entry(*n).id, *n)).collect();
    ids.sort();
    let owner = ids.iter().find(|(i, _)| *i >= key).unwrap_or(&ids[0]).1;
    assert!(net.nodes[&owner].records().has_key(&key));
    // The owner loses everything it held (or drops what it is given) and answers gets empty.
    net.nodes.insert(owner, Node::new(entry(owner), fast(), now));
    let asker = (0..6u32).find(|n| *n != owner).unwrap();
    let op = net.nodes.get_mut(&asker).unwrap().get(key, now).unwrap();
    net.run(now);
    let got = net
        .done
        .iter()
        .find_map(|(n, o, r)| (*n == asker && *o == op).then_some(r))
        .expect("the get finished");
    match got {
        Ok(OpResult::Got { records, node, .. }) => {
            assert_eq!(records.len(), 1, "found at a replica");
            assert_ne!(node.addr, owner);
        }
        other => panic!("{other:?}"),
    }
}
