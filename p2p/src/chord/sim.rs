//! A deterministic discrete-event simulator of a Chord ring, driving the real [`Node`] state
//! machine, and the three experiments that reproduce the figures of Stoica et al. (SIGCOMM 2001).
//!
//! One virtual clock (milliseconds) and one seeded RNG drive everything. A node's `Send` output
//! becomes a delivery event after a random one-way latency; the receiver answers (at once, or a
//! replicated store once its copies are made) and the answer travels back the same way; a
//! request to a failed node, or one it held unanswered when it failed, becomes `on_failure` at
//! the sender when its timeout expires. Each live node is ticked whenever its `next_tick` falls due;
//! maintenance can be paused, to measure a ring just after a failure. Events are ordered by
//! (time, sequence number), so a seed fixes every number.
//!
//! Rings are built by the protocol itself: nodes join through random members in batches that
//! double the ring, and the simulator runs until every successor list, predecessor and finger
//! equals the one computed from the sorted ids. The experiments: [`path_lengths`] (the paper's
//! Fig. 10), [`failures`] (Figs. 13–14: lookups and data after simultaneous failures, before and
//! after stabilization) and [`load_balance`] (Figs. 8–9, computed from the placement alone).

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::fmt;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::id::ChordId;
use super::records::{MAX_TTL, Millis, Record};
use super::routing::{Entry, FINGERS};
use super::state::{Answer, AnswerId, Config, Node, OpError, OpId, OpResult, Output, ReqId, Request, Response};

/// How often a converging ring is compared with the truth (virtual time).
const CHECK_EVERY: Millis = 1000;
/// Longest a ring may take to converge after one batch of joins (virtual time).
const CONVERGE_LIMIT: Millis = 600_000;
/// Longest a batch of operations may take (virtual time).
const OPS_LIMIT: Millis = 300_000;

mod experiments;
mod hostile;
pub use experiments::{FailureRow, FailureSetup, GetStats, LoadBalance, PathLengths, failures, load_balance, path_lengths};
pub use hostile::{Adversary, HostileRow, HostileSetup, hostile};

/// The simulated network.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// Shortest one-way delay.
    pub latency_min: Millis,
    /// Longest one-way delay.
    pub latency_max: Millis,
    /// How long after sending a request to a failed node the sender is told it failed.
    pub timeout: Millis,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            latency_min: 10,
            latency_max: 60,
            timeout: 500,
        }
    }
}

/// Chord timers for simulation, short so that rings converge within seconds of virtual time.
pub fn sim_config(successors: usize) -> Config {
    Config {
        successors,
        stabilize_every: 500,
        fix_fingers_every: 100,
        check_predecessor_every: 1000,
        replicate_every: 10_000,
        ..Config::default()
    }
}

/// Why an experiment could not run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// The ring's tables did not all reach the true ones in time.
    #[error("ring of {nodes} nodes did not converge in {after} ms: {divergence}")]
    NotConverged {
        /// Live nodes.
        nodes: usize,
        /// Virtual time waited.
        after: Millis,
        /// What was still wrong.
        divergence: Divergence,
    },
    /// The ring has no live node.
    #[error("no live node")]
    Empty,
}

/// How far a ring's tables are from the true ones (counts of wrong entries; all zero when
/// converged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Divergence {
    /// Nodes whose successor list is not the next `r` live nodes.
    pub successors: usize,
    /// Nodes whose predecessor is not the previous live node.
    pub predecessors: usize,
    /// Fingers (over all nodes) that are not the successor of their start.
    pub fingers: usize,
}

impl Divergence {
    /// Whether nothing is wrong.
    pub fn is_zero(&self) -> bool {
        *self == Divergence::default()
    }
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} successor lists, {} predecessors, {} fingers wrong",
            self.successors, self.predecessors, self.fingers
        )
    }
}

/// The simulated ring: nodes, the network between them, and the clock.
#[derive(Clone)]
pub struct Sim {
    now: Millis,
    seed: u64,
    rng: StdRng,
    net: NetConfig,
    chord: Config,
    slots: Vec<Slot>,
    queue: BinaryHeap<Reverse<Event>>,
    seq: u64,
    events: u64,
    maintenance: bool,
    /// Operations whose results the running experiment waits for.
    awaiting: BTreeSet<(u32, OpId)>,
    /// Their results, with the time each ended.
    results: BTreeMap<(u32, OpId), Outcome>,
    /// Keys stored by [`Sim::store`].
    keys: Vec<ChordId>,
    /// Answers a node holds back: whom to answer, under which request number.
    held: BTreeMap<(u32, AnswerId), (u32, ReqId)>,
    /// Requests sent by all nodes so far.
    sent: u64,
    /// The hostile nodes, if any (see [`hostile`]).
    hostile: hostile::Hostile,
}

/// How an operation ended, and when.
type Outcome = (Millis, Result<OpResult<u32>, OpError>);

#[derive(Clone)]
struct Slot {
    node: Node<u32>,
    alive: bool,
    /// Bumped to cancel the tick events already queued.
    epoch: u64,
}

#[derive(Clone)]
struct Event {
    at: Millis,
    seq: u64,
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Deliver {
        from: u32,
        to: u32,
        id: ReqId,
        request: Request<u32>,
        sent: Millis,
    },
    Answer {
        to: u32,
        id: ReqId,
        response: Response<u32>,
    },
    Fail {
        to: u32,
        id: ReqId,
    },
    Tick {
        node: u32,
        epoch: u64,
    },
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Event {}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Event {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl Sim {
    /// An empty ring whose nodes run `chord`.
    pub fn new(seed: u64, net: NetConfig, chord: Config) -> Sim {
        Sim {
            now: 0,
            seed,
            rng: StdRng::seed_from_u64(seed),
            net,
            chord,
            slots: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            events: 0,
            maintenance: true,
            awaiting: BTreeSet::new(),
            results: BTreeMap::new(),
            keys: Vec::new(),
            held: BTreeMap::new(),
            sent: 0,
            hostile: hostile::Hostile::default(),
        }
    }

    /// The virtual time.
    pub fn now(&self) -> Millis {
        self.now
    }

    /// Events processed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Node `addr`, alive or failed.
    pub fn node(&self, addr: u32) -> Option<&Node<u32>> {
        self.slots.get(addr as usize).map(|s| &s.node)
    }

    /// Live nodes.
    pub fn live(&self) -> usize {
        self.slots.iter().filter(|s| s.alive).count()
    }

    fn is_alive(&self, addr: u32) -> bool {
        self.slots.get(addr as usize).is_some_and(|s| s.alive)
    }

    /// The live nodes as (id, address), sorted by id: the true ring.
    pub fn ring(&self) -> Vec<(ChordId, u32)> {
        let mut ring: Vec<(ChordId, u32)> = self
            .slots
            .iter()
            .filter(|s| s.alive)
            .map(|s| (s.node.routing().me().id, s.node.routing().me().addr))
            .collect();
        ring.sort_unstable();
        ring
    }

    /// Adds nodes that join through random members, in batches that at most double the ring,
    /// until `n` are live; after each batch, runs until the ring's tables are the true ones.
    ///
    /// # Errors
    /// [`SimError::NotConverged`] if a batch does not converge.
    pub fn grow_to(&mut self, n: usize) -> Result<(), SimError> {
        if self.live() == 0 {
            self.add_node();
        }
        loop {
            let members: Vec<u32> = self.ring().iter().map(|(_, a)| *a).collect();
            if members.len() >= n {
                break;
            }
            let batch = members.len().min(n - members.len());
            let mut joining = Vec::with_capacity(batch);
            for _ in 0..batch {
                let addr = self.add_node();
                joining.push(addr);
            }
            // A join whose lookup fails (it should not, in a ring without failures) is retried.
            for _ in 0..3 {
                let mut ops = Vec::with_capacity(joining.len());
                for &addr in &joining {
                    let via = members[self.rng.random_range(0..members.len())];
                    let entry = self.entry(via);
                    let now = self.now;
                    if let Some(Ok(op)) = self.slots.get_mut(addr as usize).map(|s| s.node.join(entry, now)) {
                        self.awaiting.insert((addr, op));
                        ops.push((addr, op));
                    }
                    self.dispatch(addr);
                }
                self.run_until_answered(OPS_LIMIT);
                let results = std::mem::take(&mut self.results);
                joining.retain(|addr| {
                    !ops.iter()
                        .any(|k| k.0 == *addr && matches!(results.get(k), Some((_, Ok(OpResult::Joined { .. })))))
                });
                if joining.is_empty() {
                    break;
                }
            }
            self.converge(false)?;
        }
        self.converge(true).map(|_| ())
    }

    /// Runs until the tables are the true ones (fingers too, if `fingers`); returns the virtual
    /// time it took.
    ///
    /// # Errors
    /// [`SimError::NotConverged`] after [`CONVERGE_LIMIT`].
    pub fn converge(&mut self, fingers: bool) -> Result<Millis, SimError> {
        let start = self.now;
        loop {
            let divergence = self.divergence(fingers);
            if divergence.is_zero() {
                return Ok(self.now - start);
            }
            if self.now - start >= CONVERGE_LIMIT {
                return Err(SimError::NotConverged {
                    nodes: self.live(),
                    after: self.now - start,
                    divergence,
                });
            }
            self.run_for(CHECK_EVERY);
        }
    }

    /// Compares every live node's successor list and predecessor (and fingers, if `fingers`)
    /// with the ones computed from the sorted live ids.
    pub fn divergence(&self, fingers: bool) -> Divergence {
        let ring = self.ring();
        let n = ring.len();
        let r = self.chord.successors.max(1).min(n.saturating_sub(1));
        let mut d = Divergence::default();
        for (i, (_, addr)) in ring.iter().enumerate() {
            let Some(slot) = self.slots.get(*addr as usize) else { continue };
            let rt = slot.node.routing();
            let want = (1..=r).map(|k| ring[(i + k) % n].1);
            if !rt.successors().iter().map(|e| e.addr).eq(want) {
                d.successors += 1;
            }
            let pred = (n > 1).then(|| ring[(i + n - 1) % n].1);
            if rt.predecessor().map(|p| p.addr) != pred {
                d.predecessors += 1;
            }
            if fingers && d.successors == 0 && d.predecessors == 0 {
                for f in 0..FINGERS {
                    let want = successor_in(&ring, &rt.finger_start(f)).map(|(_, a)| a).filter(|a| a != addr);
                    if rt.finger(f).map(|e| e.addr) != want {
                        d.fingers += 1;
                    }
                }
            }
        }
        d
    }

    /// Pauses (`false`) or resumes node maintenance ([`Node::tick`]). Messages in flight are
    /// still delivered.
    pub fn set_maintenance(&mut self, on: bool) {
        if on && !self.maintenance {
            for addr in 0..self.slots.len() as u32 {
                let Some(slot) = self.slots.get_mut(addr as usize) else { continue };
                if slot.alive {
                    slot.epoch += 1;
                    let (epoch, at) = (slot.epoch, slot.node.next_tick().max(self.now));
                    self.push(at, Kind::Tick { node: addr, epoch });
                }
            }
        }
        self.maintenance = on;
    }

    /// Runs `d` milliseconds of virtual time.
    pub fn run_for(&mut self, d: Millis) {
        let end = self.now.saturating_add(d);
        while self.queue.peek().is_some_and(|Reverse(e)| e.at <= end) {
            self.step();
        }
        self.now = end;
    }

    /// Fails a fraction `p` of the live nodes at once (at least one node stays); returns how
    /// many failed. They stop answering and ticking.
    pub fn fail(&mut self, p: f64) -> usize {
        let live: Vec<u32> = self.ring().iter().map(|(_, a)| *a).collect();
        let count = ((p.clamp(0.0, 1.0) * live.len() as f64).round() as usize).min(live.len().saturating_sub(1));
        let picked = rand::seq::index::sample(&mut self.rng, live.len(), count);
        for i in picked.iter() {
            if let Some(slot) = live.get(i).and_then(|a| self.slots.get_mut(*a as usize)) {
                slot.alive = false;
                slot.epoch += 1;
            }
        }
        // An answer a failed node held back never comes: its askers time out.
        let orphaned: Vec<(u32, AnswerId)> = self.held.keys().filter(|(n, _)| !self.is_alive(*n)).copied().collect();
        for key in orphaned {
            if let Some((to, id)) = self.held.remove(&key) {
                let at = self.now + self.net.timeout;
                self.push(at, Kind::Fail { to, id });
            }
        }
        count
    }

    /// Stores `count` keys, one record each, each put from a random live node, and waits until
    /// they and their replicas are delivered. Keys whose put failed are not kept.
    pub fn store(&mut self, count: usize) {
        let ring = self.ring();
        if ring.is_empty() {
            return;
        }
        let mut issued = Vec::with_capacity(count);
        for k in 0..count as u64 {
            let key = derive(b"key", self.seed, k, 0);
            let Some(from) = self.random_member(&ring) else { break };
            let record = Record {
                key,
                kind: 1,
                sub: [0; 32],
                value: k.to_le_bytes().to_vec(),
                ttl: MAX_TTL,
            };
            let now = self.now;
            if let Some(Ok(op)) = self.slots.get_mut(from as usize).map(|s| s.node.put(key, vec![record], now)) {
                self.awaiting.insert((from, op));
                issued.push((from, op, key));
            }
            self.dispatch(from);
        }
        self.run_until_answered(OPS_LIMIT);
        if !self.maintenance {
            // Let the replicas land too.
            self.run_for(OPS_LIMIT.min(10 * self.net.timeout.max(self.net.latency_max)));
        }
        for (from, op, key) in issued {
            if let Some((_, Ok(OpResult::Stored { .. }))) = self.results.remove(&(from, op)) {
                self.keys.push(key);
            }
        }
        self.results.clear();
    }

    /// Every key some live node holds a record for.
    fn live_keys(&self) -> BTreeSet<ChordId> {
        let mut held = BTreeSet::new();
        for slot in self.slots.iter().filter(|s| s.alive) {
            let me = slot.node.routing().me().id;
            for r in slot.node.records().in_range(&me, &me, self.now, usize::MAX) {
                held.insert(r.key);
            }
        }
        held
    }

    /// Looks up `count` random keys from random live nodes (all at once) and waits for them.
    pub fn measure_lookups(&mut self, count: usize) -> PathLengths {
        let ring = self.ring();
        let mut issued = Vec::with_capacity(count);
        let mut failed = 0;
        for _ in 0..count {
            let Some(from) = self.random_member(&ring) else { break };
            let mut bytes = [0u8; 32];
            self.rng.fill(&mut bytes);
            let key = ChordId(bytes);
            let now = self.now;
            match self.slots.get_mut(from as usize).map(|s| s.node.lookup(key, now)) {
                Some(Ok(op)) => {
                    self.awaiting.insert((from, op));
                    issued.push((from, op, key));
                }
                _ => failed += 1,
            }
            self.dispatch(from);
        }
        self.run_until_answered(OPS_LIMIT);
        let mut hops = Vec::with_capacity(issued.len());
        let mut wrong = 0;
        for (from, op, key) in issued {
            match self.results.remove(&(from, op)) {
                Some((_, Ok(OpResult::Found { node, hops: h, .. }))) => {
                    if successor_in(&ring, &key).map(|(_, a)| a) != Some(node.addr) {
                        wrong += 1;
                    }
                    hops.push(h);
                }
                _ => failed += 1,
            }
        }
        self.results.clear();
        hops.sort_unstable();
        PathLengths {
            n: ring.len(),
            lookups: count,
            mean: mean(hops.iter().map(|h| f64::from(*h))),
            p1: percentile(&hops, 0.01),
            p99: percentile(&hops, 0.99),
            wrong,
            failed,
        }
    }

    /// Gets `count` random stored keys from random live nodes (all at once) and waits for them.
    pub fn measure_gets(&mut self, count: usize) -> GetStats {
        let ring = self.ring();
        let mut stats = GetStats {
            gets: count,
            ..GetStats::default()
        };
        if self.keys.is_empty() {
            return stats;
        }
        let start = self.now;
        let mut issued = Vec::with_capacity(count);
        for _ in 0..count {
            let Some(from) = self.random_member(&ring) else { break };
            let key = self.keys[self.rng.random_range(0..self.keys.len())];
            let now = self.now;
            if let Some(Ok(op)) = self.slots.get_mut(from as usize).map(|s| s.node.get(key, now)) {
                self.awaiting.insert((from, op));
                issued.push((from, op, key));
            }
            self.dispatch(from);
        }
        self.run_until_answered(OPS_LIMIT);
        let (mut hops, mut times) = (Vec::new(), Vec::new());
        stats.failed_lookups = count - issued.len();
        stats.missing = count - issued.len();
        for (from, op, key) in issued {
            match self.results.remove(&(from, op)) {
                Some((at, Ok(OpResult::Got { node, hops: h, records }))) => {
                    if successor_in(&ring, &key).map(|(_, a)| a) == Some(node.addr) {
                        hops.push(f64::from(h));
                    } else {
                        stats.failed_lookups += 1;
                    }
                    if !records.iter().any(|r| r.kind != hostile::FORGED) {
                        stats.missing += 1;
                    }
                    times.push((at - start) as f64);
                }
                Some((at, _)) => {
                    stats.failed_lookups += 1;
                    stats.missing += 1;
                    times.push((at - start) as f64);
                }
                None => {
                    stats.failed_lookups += 1;
                    stats.missing += 1;
                }
            }
        }
        self.results.clear();
        stats.mean_hops = mean(hops.into_iter());
        stats.mean_ms = mean(times.into_iter());
        stats
    }

    /// A random live node of `ring` that is not hostile (the askers whose luck is measured).
    fn random_member(&mut self, ring: &[(ChordId, u32)]) -> Option<u32> {
        let honest: Vec<u32> = ring.iter().map(|(_, a)| *a).filter(|a| !self.hostile.is(*a)).collect();
        if honest.is_empty() {
            return None;
        }
        Some(honest[self.rng.random_range(0..honest.len())])
    }

    fn entry(&self, addr: u32) -> Entry<u32> {
        Entry {
            id: derive(b"node", self.seed, u64::from(addr), 0),
            addr,
        }
    }

    fn add_node(&mut self) -> u32 {
        let addr = self.slots.len() as u32;
        let node = Node::new(self.entry(addr), self.chord.clone(), self.now);
        self.slots.push(Slot {
            node,
            alive: true,
            epoch: 0,
        });
        // Spread the nodes' timers so they do not all fire on the same millisecond.
        let jitter = self.rng.random_range(0..self.chord.stabilize_every.max(1));
        self.push(self.now + jitter, Kind::Tick { node: addr, epoch: 0 });
        addr
    }

    fn push(&mut self, at: Millis, kind: Kind) {
        self.seq += 1;
        self.queue.push(Reverse(Event { at, seq: self.seq, kind }));
    }

    fn latency(&mut self) -> Millis {
        let lo = self.net.latency_min;
        self.rng.random_range(lo..=self.net.latency_max.max(lo))
    }

    /// Moves node `addr`'s outputs into the network.
    fn dispatch(&mut self, addr: u32) {
        let Some(slot) = self.slots.get_mut(addr as usize) else { return };
        for output in slot.node.drain() {
            match output {
                Output::Send { id, to, request } => {
                    self.sent += 1;
                    let at = self.now + self.latency();
                    let sent = self.now;
                    self.push(
                        at,
                        Kind::Deliver {
                            from: addr,
                            to: to.addr,
                            id,
                            request,
                            sent,
                        },
                    );
                }
                Output::Done { op, result } => {
                    if self.awaiting.remove(&(addr, op)) {
                        self.results.insert((addr, op), (self.now, result));
                    }
                }
                Output::Answer { id, response } => {
                    if let Some((to, id)) = self.held.remove(&(addr, id)) {
                        let at = self.now + self.latency();
                        self.push(at, Kind::Answer { to, id, response });
                    }
                }
            }
        }
    }

    /// Processes the next event, if any.
    fn step(&mut self) -> bool {
        let Some(Reverse(event)) = self.queue.pop() else { return false };
        self.events += 1;
        self.now = self.now.max(event.at);
        let now = self.now;
        match event.kind {
            Kind::Deliver {
                from,
                to,
                id,
                request,
                sent,
            } if self.hostile.is(to) && self.is_alive(to) && self.lie(from, to, id, &request, sent) => {}
            Kind::Deliver {
                from,
                to,
                id,
                request,
                sent,
            } => match self.slots.get_mut(to as usize).filter(|s| s.alive) {
                Some(slot) => match slot.node.answer(request, now) {
                    Answer::Now(response) => {
                        self.dispatch(to);
                        let at = now + self.latency();
                        self.push(at, Kind::Answer { to: from, id, response });
                    }
                    Answer::Later(held) => {
                        self.held.insert((to, held), (from, id));
                        self.dispatch(to);
                    }
                },
                None => {
                    let at = sent.saturating_add(self.net.timeout).max(now);
                    self.push(at, Kind::Fail { to: from, id });
                }
            },
            Kind::Answer { to, id, response } => {
                let refused = self.hostile.refuses(&response);
                if let Some(slot) = self.slots.get_mut(to as usize).filter(|s| s.alive) {
                    if refused {
                        // Forged records fail their signature check: the answer is refused, as
                        // the index service refuses it (`check_answered`).
                        slot.node.on_failure(id, now);
                        self.dispatch(to);
                        return true;
                    }
                    slot.node.on_response(id, response, now);
                    self.dispatch(to);
                }
            }
            Kind::Fail { to, id } => {
                if let Some(slot) = self.slots.get_mut(to as usize).filter(|s| s.alive) {
                    slot.node.on_failure(id, now);
                    self.dispatch(to);
                }
            }
            Kind::Tick { node, epoch } => {
                let maintenance = self.maintenance;
                let Some(slot) = self.slots.get_mut(node as usize) else {
                    return true;
                };
                if slot.alive && slot.epoch == epoch && maintenance {
                    slot.node.tick(now);
                    let at = slot.node.next_tick().max(now + 1);
                    self.dispatch(node);
                    self.push(at, Kind::Tick { node, epoch });
                }
            }
        }
        true
    }

    /// Runs until every awaited operation has ended, or `limit` of virtual time has passed;
    /// operations still running are then given up on.
    fn run_until_answered(&mut self, limit: Millis) {
        let end = self.now.saturating_add(limit);
        while !self.awaiting.is_empty() && self.queue.peek().is_some_and(|Reverse(e)| e.at <= end) {
            self.step();
        }
        self.awaiting.clear();
    }
}

/// A ring id derived from the experiment's seed: `SHA-256(tag ‖ seed ‖ a ‖ b)`.
fn derive(tag: &[u8], seed: u64, a: u64, b: u32) -> ChordId {
    let mut bytes = Vec::with_capacity(tag.len() + 20);
    bytes.extend_from_slice(tag);
    bytes.extend_from_slice(&seed.to_le_bytes());
    bytes.extend_from_slice(&a.to_le_bytes());
    bytes.extend_from_slice(&b.to_le_bytes());
    ChordId::hash(&bytes)
}

/// The first entry of the sorted `ring` at or after `key`, wrapping around.
fn successor_in(ring: &[(ChordId, u32)], key: &ChordId) -> Option<(ChordId, u32)> {
    let i = ring.partition_point(|(id, _)| id < key);
    ring.get(i).or_else(|| ring.first()).copied()
}

/// The nearest-rank `q`-quantile of `sorted` (the default when empty).
fn percentile<T: Copy + Default>(sorted: &[T], q: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.saturating_sub(1).min(sorted.len() - 1)]
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

#[cfg(test)]
mod tests;
