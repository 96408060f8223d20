//! One Chord node as a pure state machine: requests, responses, failures and the current time
//! go in; requests to send and finished operations come out. The network service and the
//! simulator drive the same code.
//!
//! - **Lookups** are iterative from the asking node: it asks the closest preceding node it knows,
//!   which answers with the next node to ask or the key's successor. A node that fails to answer
//!   (the driver reports the failure after its timeout) is forgotten, added to the lookup's
//!   `exclude` list — carried in later requests so others skip it too — and the lookup backs up
//!   one hop. Every answer is checked against what this node sees of the ring ([`Config::hardened`],
//!   `checks.rs`): a hop that misroutes or makes an implausible claim is dropped, a next hop that
//!   cannot be the namer's finger or successor is skipped, and an operation whose owner fails
//!   tries again by another path.
//! - **Operations** are lookups followed by one request to the node found: `put` (store records,
//!   which that node replicates to its successors; hardened, at [`Config::put_copies`]
//!   consecutive owners, each found by another path), `get` (read a key's records), `join` (find
//!   our successor through any node and take over our keys from it), fix_fingers.
//! - **A put is acknowledged once the copies are made**: the node responsible answers a
//!   replicated `Store` (through [`Node::answer`]) only when its successors have answered their
//!   copies, or [`Config::replica_wait`] has passed. Were it to answer first, its failure right
//!   after would lose records the putter believes stored (they would come back only when their
//!   owner republishes them); unanswered, the putter takes it for dead and stores at the next
//!   node instead.
//! - **Maintenance** runs from [`Node::tick`]: stabilize and notify, fix_fingers, check_predecessor,
//!   and replication of the records this node is responsible for to its `r` successors.
//! - **Records move with responsibility**: a node joining takes over its key range from its
//!   successor (`TakeOver`); a node that gains a closer predecessor hands it the range it no
//!   longer owns; a node leaving hands everything to its successor first.

use std::collections::HashMap;

use super::id::ChordId;
use super::records::{Millis, Record, Records};
use super::routing::{Entry, Routing, Step};

/// Most nodes one lookup may exclude.
pub const MAX_EXCLUDE: usize = 64;
/// Most records in one `Store` or `Records` message.
pub const MAX_BATCH: usize = 512;
/// Most records one node hands over or replicates per request or round.
pub const MAX_HANDOVER: usize = 2048;
/// Most records answered to a `Get`.
pub const MAX_GET: usize = 256;
/// Most requests awaiting an answer.
pub const MAX_PENDING: usize = 4096;
/// Most operations in progress.
pub const MAX_OPS: usize = 1024;
/// Most replicated stores whose answer waits for their copies (beyond, they are answered at once).
pub const MAX_HELD: usize = 1024;
/// Times an operation retries after the node it found failed (at least; as many as the
/// successor list is long, since the records are copied along it).
const MAX_ATTEMPTS: u32 = 3;
/// Times a get that found nothing asks the next replica (the owner's successors hold copies):
/// a key's owner that drops what it stores, or has just taken the range over, is not the end.
const EMPTY_GET_RETRIES: u32 = 2;
/// The same, hardened ([`Config::hardened`]): an owner in a liar's hand answers nothing, and so
/// may the next one a liar names; each retry takes another path (see `Node::exclude_path`).
const EMPTY_GET_RETRIES_HARDENED: u32 = 8;

#[derive(Clone, Debug)]
enum Purpose {
    Lookup,
    Put(Vec<Record>),
    Get,
    Join,
    Probe,
    Finger(usize),
}

#[derive(Clone, Debug)]
struct Op<A> {
    key: ChordId,
    purpose: Purpose,
    path: Vec<Entry<A>>,
    exclude: Vec<ChordId>,
    hops: u32,
    attempts: u32,
    /// The node found, once the lookup ended.
    target: Option<Entry<A>>,
    /// The node that named `target` (none when this node did).
    namer: Option<ChordId>,
    /// Owners a put has written so far, the first of them.
    stored: u32,
    first: Option<Entry<A>>,
}

#[derive(Clone, Debug)]
enum Pending {
    /// A lookup step asked of a node.
    Step(OpId, ChordId),
    /// The operation's request to the node found.
    Final(OpId, ChordId),
    /// Stabilize's question to the successor.
    Stabilize(ChordId),
    /// check_predecessor's ping.
    CheckPredecessor(ChordId),
    /// A notify, a hand-over or a replica: on failure the node is forgotten.
    Fire(ChordId),
    /// A replica whose answer a held-back answer waits for (and, on failure, forgets the node).
    Replica(ChordId, AnswerId),
}

/// A replicated store's answer, held back until its copies are made.
#[derive(Clone, Debug)]
struct Held {
    /// Replicas not answered yet.
    waiting: usize,
    /// When it is answered anyway.
    until: Millis,
}

/// One Chord node.
#[derive(Clone, Debug)]
pub struct Node<A> {
    routing: Routing<A>,
    records: Records,
    config: Config,
    ops: HashMap<OpId, Op<A>>,
    pending: HashMap<ReqId, Pending>,
    next_id: u64,
    finger_op: Option<OpId>,
    next_stabilize: Millis,
    next_fix: Millis,
    next_check: Millis,
    next_replicate: Millis,
    held: HashMap<AnswerId, Held>,
    out: Vec<Output<A>>,
}

impl<A: Clone + PartialEq + std::fmt::Debug> Node<A> {
    /// A ring of one, alone until it joins or is joined.
    pub fn new(me: Entry<A>, config: Config, now: Millis) -> Node<A> {
        Node {
            routing: Routing::new(me, config.successors),
            records: Records::new(config.max_records),
            ops: HashMap::new(),
            pending: HashMap::new(),
            next_id: 0,
            finger_op: None,
            next_stabilize: now,
            next_fix: now,
            next_check: now + config.check_predecessor_every,
            next_replicate: now + config.replicate_every,
            held: HashMap::new(),
            config,
            out: Vec::new(),
        }
    }

    /// The routing state.
    pub fn routing(&self) -> &Routing<A> {
        &self.routing
    }

    /// The settings, for the simulator (to turn the hardening off on a ring already built).
    pub(crate) fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// The routing state, for a driver that learned of a node another way.
    pub fn routing_mut(&mut self) -> &mut Routing<A> {
        &mut self.routing
    }

    /// The records held.
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// The outputs produced so far, oldest first.
    pub fn drain(&mut self) -> Vec<Output<A>> {
        std::mem::take(&mut self.out)
    }

    /// Requests awaiting an answer.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn send(&mut self, to: Entry<A>, request: Request<A>, pending: Pending) -> bool {
        if self.pending.len() >= MAX_PENDING {
            return false;
        }
        let id = ReqId(self.next());
        self.pending.insert(id, pending);
        self.out.push(Output::Send { id, to, request });
        true
    }

    /// Registers a new operation on `key` (skipping `exclude`).
    fn new_op(&mut self, key: ChordId, purpose: Purpose, exclude: Vec<ChordId>) -> Result<OpId, OpError> {
        if self.ops.len() >= MAX_OPS {
            return Err(OpError::Busy);
        }
        let op = OpId(self.next());
        self.ops.insert(
            op,
            Op {
                key,
                purpose,
                path: Vec::new(),
                exclude,
                hops: 0,
                attempts: 0,
                target: None,
                namer: None,
                stored: 0,
                first: None,
            },
        );
        Ok(op)
    }

    fn start(&mut self, key: ChordId, purpose: Purpose, now: Millis) -> Result<OpId, OpError> {
        let op = self.new_op(key, purpose, Vec::new())?;
        self.local_step(op, now);
        Ok(op)
    }

    /// Looks up the node responsible for `key`.
    ///
    /// # Errors
    /// [`OpError::Busy`] when too many operations are in progress.
    pub fn lookup(&mut self, key: ChordId, now: Millis) -> Result<OpId, OpError> {
        self.start(key, Purpose::Lookup, now)
    }

    /// Stores `records` (all under `key`) at the node responsible for `key`.
    ///
    /// # Errors
    /// [`OpError::Busy`] when too many operations are in progress.
    pub fn put(&mut self, key: ChordId, mut records: Vec<Record>, now: Millis) -> Result<OpId, OpError> {
        records.retain(|r| r.key == key);
        records.truncate(MAX_BATCH);
        self.start(key, Purpose::Put(records), now)
    }

    /// Reads the records under `key` from the node responsible for it.
    ///
    /// # Errors
    /// [`OpError::Busy`] when too many operations are in progress.
    pub fn get(&mut self, key: ChordId, now: Millis) -> Result<OpId, OpError> {
        self.start(key, Purpose::Get, now)
    }

    /// Joins the ring through `via`, any node in it: looks up this node's successor (skipping
    /// this node, which others may still list from before a restart) and takes over the records
    /// of its range from it.
    ///
    /// # Errors
    /// [`OpError::Busy`] when too many operations are in progress.
    pub fn join(&mut self, via: Entry<A>, _now: Millis) -> Result<OpId, OpError> {
        self.start_at(via, Purpose::Join)
    }

    /// Looks up our own id through `via`, a node that may be on another ring (two groups of
    /// nodes that formed rings apart, then connected): a node found between us and our
    /// successor becomes our successor, and stabilization merges the rings from there.
    ///
    /// # Errors
    /// [`OpError::Busy`] when too many operations are in progress.
    pub fn probe(&mut self, via: Entry<A>, _now: Millis) -> Result<OpId, OpError> {
        self.start_at(via, Purpose::Probe)
    }

    fn start_at(&mut self, via: Entry<A>, purpose: Purpose) -> Result<OpId, OpError> {
        let key = self.routing.me().id;
        // Others may still list this node (it restarted before they noticed it was gone):
        // excluding it makes them name its true successor, not itself.
        let op = self.new_op(key, purpose, vec![key])?;
        self.ask(op, via);
        Ok(op)
    }

    /// Leaves gracefully: hands every record to the successor and tells both neighbours. The
    /// driver sends the returned requests (and may wait for them) before stopping.
    pub fn leave(&mut self, now: Millis) -> Vec<Output<A>> {
        let me = self.routing.me().clone();
        let succ = self.routing.successor().clone();
        if succ.id != me.id {
            let all = self.records.outside(&me.id, &me.id, now, MAX_HANDOVER);
            for chunk in all.chunks(MAX_BATCH) {
                self.send(
                    succ.clone(),
                    // Not a primary store: the successor takes the range over once it hears
                    // `Leaving`, and replicates it on its next round.
                    Request::Store {
                        records: chunk.to_vec(),
                        replicate: false,
                        exclude: Vec::new(),
                    },
                    Pending::Fire(succ.id),
                );
            }
        }
        let pred = self.routing.predecessor().cloned();
        let leaving = Request::Leaving {
            node: me.clone(),
            predecessor: pred.clone(),
            successors: self.routing.successors().to_vec(),
        };
        let mut told = Vec::new();
        for n in [Some(succ), pred].into_iter().flatten() {
            if n.id != me.id && !told.contains(&n.id) {
                told.push(n.id);
                self.send(n.clone(), leaving.clone(), Pending::Fire(n.id));
            }
        }
        self.drain()
    }

    /// Copies `records` to every successor; with `held`, the answer held back under it waits
    /// for them. Returns how many requests were sent.
    fn replicate_to_successors(&mut self, records: &[Record], held: Option<AnswerId>) -> usize {
        let succs: Vec<Entry<A>> = self.routing.successors().to_vec();
        let mut sent = 0;
        for s in succs {
            for chunk in records.chunks(MAX_BATCH) {
                let request = Request::Store {
                    records: chunk.to_vec(),
                    replicate: false,
                    exclude: Vec::new(),
                };
                let pending = match held {
                    Some(id) => Pending::Replica(s.id, id),
                    None => Pending::Fire(s.id),
                };
                if self.send(s.clone(), request, pending) {
                    sent += 1;
                }
            }
        }
        sent
    }

    /// Answers a request from another node, like [`Node::on_request`], except that a replicated
    /// `Store` is answered only once the successors have answered their copies, or after
    /// [`Config::replica_wait`]: the acknowledgment then means the records survive this node's
    /// failure. A driver that can hold a reply uses this; [`Node::on_request`] answers at once.
    pub fn answer(&mut self, request: Request<A>, now: Millis) -> Answer<A> {
        if let Some(redirect) = self.misplaced(&request) {
            return Answer::Now(redirect);
        }
        match request {
            Request::Store {
                mut records,
                replicate: true,
                ..
            } if self.held.len() < MAX_HELD => {
                records.truncate(MAX_BATCH);
                for r in &records {
                    self.records.put(r, now);
                }
                let id = AnswerId(self.next());
                let waiting = self.replicate_to_successors(&records, Some(id));
                if waiting == 0 {
                    return Answer::Now(Response::Ack);
                }
                let until = now.saturating_add(self.config.replica_wait);
                self.held.insert(id, Held { waiting, until });
                Answer::Later(id)
            }
            request => Answer::Now(self.on_request(request, now)),
        }
    }

    /// A primary store or a read of a key this node does not own (its predecessor is between
    /// the key and it): the asker's routing is behind, typically while nodes join at once. The
    /// answer names the predecessor and the asker's operation goes on from there, so a record is
    /// never stranded where later lookups, made with a settled ring, will not look.
    fn misplaced(&self, request: &Request<A>) -> Option<Response<A>> {
        let (key, exclude) = match request {
            Request::Store {
                records,
                replicate: true,
                exclude,
            } => (records.first()?.key, exclude),
            Request::Get { key, exclude } => (*key, exclude),
            _ => return None,
        };
        self.nearer_owner(&key, exclude).map(|pred| Response::Step(Step::Done(pred)))
    }

    /// This node's predecessor, if `key` lies before it (so this node does not own `key`) and
    /// the asker did not find it dead (`exclude`): this node then answers as the owner, as it
    /// will be once it finds out too.
    fn nearer_owner(&self, key: &ChordId, exclude: &[ChordId]) -> Option<Entry<A>> {
        let me = self.routing.me();
        let pred = self.routing.predecessor()?;
        if pred.id == me.id || key.in_half_open(&pred.id, &me.id) || exclude.contains(&pred.id) {
            return None;
        }
        Some(pred.clone())
    }

    /// One replica of the held-back answer `id` answered or failed.
    fn replica_done(&mut self, id: AnswerId) {
        let Some(h) = self.held.get_mut(&id) else { return };
        h.waiting = h.waiting.saturating_sub(1);
        if h.waiting == 0 {
            self.held.remove(&id);
            self.out.push(Output::Answer {
                id,
                response: Response::Ack,
            });
        }
    }

    /// Answers held-back requests whose wait is over.
    fn release_held(&mut self, now: Millis) {
        let mut due: Vec<AnswerId> = self.held.iter().filter(|(_, h)| h.until <= now).map(|(id, _)| *id).collect();
        due.sort_unstable();
        for id in due {
            self.held.remove(&id);
            self.out.push(Output::Answer {
                id,
                response: Response::Ack,
            });
        }
    }

    /// Answers a request from another node, at once (a replicated `Store` too: see
    /// [`Node::answer`]).
    pub fn on_request(&mut self, request: Request<A>, now: Millis) -> Response<A> {
        if let Some(redirect) = self.misplaced(&request) {
            return redirect;
        }
        match request {
            Request::FindSuccessor { key, mut exclude } => {
                exclude.truncate(MAX_EXCLUDE);
                Response::Step(self.routing.step(&key, &exclude))
            }
            Request::GetState => Response::State {
                predecessor: self.routing.predecessor().cloned(),
                successors: self.routing.successors().to_vec(),
            },
            Request::Notify { node } => {
                let old = self.routing.predecessor().map(|p| p.id);
                let was_alone = self.routing.successors().is_empty();
                let adopted = self.routing.notify(node.clone());
                let joining = self.ops.values().any(|o| matches!(o.purpose, Purpose::Join));
                if was_alone && !joining && node.id != self.routing.me().id {
                    // Brought into a ring without joining (others still list this node from
                    // before a restart): the notifier is not necessarily our successor, so join
                    // through it — find the true successor and take our range over from it.
                    let _ = self.start_at(node.clone(), Purpose::Join);
                }
                if adopted {
                    let me = self.routing.me().id;
                    let moving = match old {
                        Some(old) => self.records.in_range(&old, &node.id, now, MAX_HANDOVER),
                        None => self.records.outside(&node.id, &me, now, MAX_HANDOVER),
                    };
                    for chunk in moving.chunks(MAX_BATCH) {
                        let request = Request::Store {
                            records: chunk.to_vec(),
                            replicate: false,
                            exclude: Vec::new(),
                        };
                        self.send(node.clone(), request, Pending::Fire(node.id));
                    }
                }
                Response::Ack
            }
            Request::Store {
                mut records, replicate, ..
            } => {
                records.truncate(MAX_BATCH);
                for r in &records {
                    self.records.put(r, now);
                }
                if replicate {
                    self.replicate_to_successors(&records, None);
                }
                Response::Ack
            }
            Request::Get { key, .. } => Response::Records(self.records.get(&key, now, MAX_GET)),
            Request::TakeOver { node } => {
                let me = self.routing.me().id;
                let records = match self.routing.predecessor() {
                    Some(p) if node.id.in_open(&p.id, &me) => self.records.in_range(&p.id, &node.id, now, MAX_HANDOVER),
                    _ => self.records.outside(&node.id, &me, now, MAX_HANDOVER),
                };
                Response::Records(records)
            }
            Request::Leaving {
                node,
                predecessor,
                successors,
            } => {
                self.routing.on_leave(&node.id, predecessor, &successors);
                Response::Ack
            }
        }
    }

    /// The answer to request `id`.
    pub fn on_response(&mut self, id: ReqId, response: Response<A>, now: Millis) {
        let Some(pending) = self.pending.remove(&id) else { return };
        match (pending, response) {
            (Pending::Step(op, from), Response::Step(step)) => {
                let me = self.routing.me().id;
                // Every hop must make progress: a next hop strictly closer to the key than the
                // node that named it, or a successor that the key lies just before. An answer
                // that does neither misroutes (to an accomplice, or in circles): the hop is
                // dropped and the lookup goes on from the previous one, without it.
                // (Once the lookup excludes nodes, an honest hop whose successors are all
                // excluded names the nearest node it knows instead: such a `Done` is let through.)
                // Hardened, a claimed owner must also be near the key: a liar anywhere on the
                // path could otherwise name any accomplice past the key.
                // Hardened, a next hop must also pass for one of the namer's fingers or
                // successors: if not, it is skipped and the namer asked again.
                let hardened = self.config.hardened;
                if let Step::Next(n) = &step
                    && hardened
                    && n.id != me
                    && !self.plausible_hop(&from, &n.id)
                {
                    self.skip_named(op, from, n.id);
                    return;
                }
                let progress = !hardened
                    || self.ops.get(&op).is_some_and(|o| match &step {
                        Step::Next(n) => n.id == me || n.id.in_half_open(&from, &o.key),
                        Step::Done(n) => o.key.in_half_open(&from, &n.id) || !o.exclude.is_empty(),
                    });
                if !progress {
                    // No honest node answers so: it is forgotten, and the lookup goes on without it.
                    self.fail_step(op, from, now);
                    return;
                }
                // A claim to the key for itself, or one that is implausible, drops the hop from
                // this lookup but not from the tables: an implausible claim may be honest (rarely),
                // and a node that claims every key may still be the only link this node has to
                // the ring (its successor, say) until stabilization finds others.
                let plausible = !hardened
                    || self.ops.get(&op).is_none_or(|o| match &step {
                        Step::Next(_) => true,
                        Step::Done(n) => {
                            (n.id != from || self.alone_is_plausible(&o.purpose))
                                && self.plausible_owner(&o.key, &n.id, &o.exclude)
                                && self.plausible_claim(&from, &n.id, &o.exclude)
                        }
                    });
                if !plausible {
                    self.drop_hop(op, from, now);
                    return;
                }
                match step {
                    // A node that names itself as the key's successor is alone on its own ring
                    // (a node just started, before it joins): right for a join through it, but
                    // a probe must not adopt it — it holds none of the keys it would be given.
                    Step::Done(n) if n.id == from && self.ops.get(&op).is_some_and(|o| matches!(o.purpose, Purpose::Probe)) => {
                        let (hops, path) = self.ops.get(&op).map_or((0, Vec::new()), |o| (o.hops, o.path.clone()));
                        self.finish(op, Ok(OpResult::Found { node: n, hops, path }));
                    }
                    Step::Done(n) => self.found(op, n, Some(from), now),
                    Step::Next(n) if n.id == me => self.local_step(op, now),
                    Step::Next(n) if n.id == from => {
                        // A node that names itself as the next hop answers nothing new.
                        let _ = n;
                        self.fail_step(op, from, now);
                    }
                    Step::Next(n) => self.ask(op, n),
                }
            }
            (Pending::Final(op, _), Response::Step(Step::Done(n)))
                if self
                    .ops
                    .get(&op)
                    .is_some_and(|o| matches!(o.purpose, Purpose::Put(_) | Purpose::Get)) =>
            {
                // Not the owner (see `Node::misplaced`): try the node it names; if that is this
                // node, the same check applies here first.
                let me = self.routing.me().id;
                if !self.count_hop(op) {
                    return;
                }
                let Some(o) = self.ops.get(&op) else { return };
                let (key, exclude) = (o.key, o.exclude.clone());
                let namer = o.target.as_ref().map(|t| t.id);
                let n = match self.nearer_owner(&key, &exclude) {
                    Some(pred) if n.id == me => pred,
                    _ => n,
                };
                self.found(op, n, namer, now);
            }
            (Pending::Final(op, _), response) => {
                let Some(o) = self.ops.get(&op) else { return };
                let hops = o.hops;
                let Some(found) = o.target.clone() else { return };
                let hardened = self.config.hardened;
                let retries = if hardened { EMPTY_GET_RETRIES_HARDENED } else { EMPTY_GET_RETRIES };
                let result = match (&o.purpose, response) {
                    (Purpose::Put(_), Response::Ack)
                        if hardened && o.stored + 1 < self.config.put_copies && o.exclude.len() < MAX_EXCLUDE =>
                    {
                        // Written: write the next owner too, by another path (the owner may
                        // drop what it acked, and a liar on the path may have named an
                        // accomplice as the owner).
                        let Some(o) = self.ops.get_mut(&op) else { return };
                        o.stored += 1;
                        o.attempts = 0;
                        o.first.get_or_insert(found.clone());
                        o.exclude.push(found.id);
                        self.exclude_path(op);
                        if let Some(o) = self.ops.get_mut(&op) {
                            o.path.clear();
                        }
                        self.local_step(op, now);
                        return;
                    }
                    (Purpose::Put(_), Response::Ack) => Ok(()),
                    (Purpose::Get, Response::Records(records))
                        if records.is_empty() && o.attempts < retries && o.exclude.len() < MAX_EXCLUDE =>
                    {
                        // The owner has nothing: it may have just taken the range over, or it
                        // drops what it is given. Its successors hold replicas: ask the next
                        // one (without forgetting the owner, which answered).
                        let Some(o) = self.ops.get_mut(&op) else { return };
                        o.attempts += 1;
                        o.exclude.push(found.id);
                        if hardened {
                            self.exclude_path(op);
                        }
                        if let Some(o) = self.ops.get_mut(&op) {
                            o.path.clear();
                        }
                        self.local_step(op, now);
                        return;
                    }
                    (Purpose::Get, Response::Records(records)) => Err(Ok(records)),
                    (Purpose::Join, Response::Records(records)) => {
                        let n = records.len().min(MAX_HANDOVER);
                        for r in records.iter().take(MAX_HANDOVER) {
                            self.records.put(r, now);
                        }
                        let successor = self.routing.successor().clone();
                        self.finish(op, Ok(OpResult::Joined { successor, records: n }));
                        return;
                    }
                    _ => Err(Err(())),
                };
                match result {
                    Ok(()) => {
                        let node = self.ops.get_mut(&op).and_then(|o| o.first.take()).unwrap_or(found);
                        self.finish(op, Ok(OpResult::Stored { node, hops }));
                    }
                    Err(Ok(records)) => self.finish(
                        op,
                        Ok(OpResult::Got {
                            node: found,
                            hops,
                            records: records.into_iter().take(MAX_GET).collect(),
                        }),
                    ),
                    Err(Err(())) => self.finish(op, Err(OpError::Protocol)),
                }
            }
            (Pending::Stabilize(succ), Response::State { predecessor, successors }) => {
                if self.routing.successor().id != succ {
                    return;
                }
                let mut successors = successors;
                successors.truncate(self.config.successors);
                let target = self.routing.on_successor_state(predecessor, &successors);
                let me = self.routing.me().clone();
                if target.id != me.id {
                    self.send(target.clone(), Request::Notify { node: me }, Pending::Fire(target.id));
                }
            }
            (Pending::CheckPredecessor(_), _) | (Pending::Fire(_), _) => {}
            (Pending::Replica(_, held), _) => self.replica_done(held),
            (Pending::Step(op, _), _) => self.finish(op, Err(OpError::Protocol)),
            (Pending::Stabilize(_), _) => {}
        }
    }

    /// Request `id` failed (timed out, or the node could not be reached).
    pub fn on_failure(&mut self, id: ReqId, now: Millis) {
        let Some(pending) = self.pending.remove(&id) else { return };
        match pending {
            Pending::Step(op, node) => self.fail_step(op, node, now),
            Pending::Final(op, node) => {
                self.routing.forget(&node);
                let Some(o) = self.ops.get_mut(&op) else { return };
                o.attempts += 1;
                // The records live on the r successors too: try as far as they reach.
                if o.attempts > MAX_ATTEMPTS.max(self.config.successors as u32) || o.exclude.len() >= MAX_EXCLUDE {
                    self.finish(op, Err(OpError::Unreachable));
                    return;
                }
                o.exclude.push(node);
                if self.config.hardened && !matches!(o.purpose, Purpose::Join) {
                    self.exclude_path(op);
                }
                let Some(o) = self.ops.get_mut(&op) else { return };
                o.path.clear();
                if matches!(o.purpose, Purpose::Join) {
                    // Our successor-to-be died: there is no one left to ask.
                    self.finish(op, Err(OpError::Unreachable));
                } else {
                    self.local_step(op, now);
                }
            }
            Pending::Stabilize(node) | Pending::Fire(node) => self.routing.forget(&node),
            Pending::Replica(node, held) => {
                self.routing.forget(&node);
                self.replica_done(held);
            }
            Pending::CheckPredecessor(node) => {
                if self.routing.predecessor().is_some_and(|p| p.id == node) {
                    self.routing.predecessor_failed();
                }
            }
        }
    }

    /// Runs what is due: held-back answers whose wait is over, stabilize, fix_fingers,
    /// check_predecessor, replication, expiry.
    pub fn tick(&mut self, now: Millis) {
        let me = self.routing.me().clone();
        self.release_held(now);
        if now >= self.next_stabilize {
            self.next_stabilize = now + self.config.stabilize_every;
            let succ = self.routing.successor().clone();
            let asking = self.pending.values().any(|p| matches!(p, Pending::Stabilize(_)));
            if succ.id != me.id && !asking {
                self.send(succ.clone(), Request::GetState, Pending::Stabilize(succ.id));
            }
        }
        if now >= self.next_fix {
            self.next_fix = now + self.config.fix_fingers_every;
            if self.finger_op.is_none() && !self.routing.successors().is_empty() {
                let (i, start) = self.routing.next_finger();
                if let Ok(op) = self.start(start, Purpose::Finger(i), now)
                    && self.ops.contains_key(&op)
                {
                    self.finger_op = Some(op);
                }
            }
        }
        if now >= self.next_check {
            self.next_check = now + self.config.check_predecessor_every;
            if let Some(p) = self.routing.predecessor().cloned() {
                self.send(p.clone(), Request::GetState, Pending::CheckPredecessor(p.id));
            }
        }
        if now >= self.next_replicate {
            self.next_replicate = now + self.config.replicate_every;
            self.records.expire(now);
            if let Some(p) = self.routing.predecessor().cloned() {
                let owned = self.records.in_range(&p.id, &me.id, now, MAX_HANDOVER);
                if !owned.is_empty() {
                    self.replicate_to_successors(&owned, None);
                }
            }
        }
    }

    /// When [`Node::tick`] next has something to do.
    pub fn next_tick(&self) -> Millis {
        let held = self.held.values().map(|h| h.until).min().unwrap_or(Millis::MAX);
        self.next_stabilize
            .min(self.next_fix)
            .min(self.next_check)
            .min(self.next_replicate)
            .min(held)
    }
}

mod checks;
mod lookup;
mod types;

pub use types::{Answer, AnswerId, Config, OpError, OpId, OpResult, Output, ReqId, Request, Response};

#[cfg(test)]
mod tests;
