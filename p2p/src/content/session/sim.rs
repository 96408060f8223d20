//! A simulated swarm: real [`FileSession`]s, simulated time, no sockets. Each node's uploads
//! go through its own token bucket (its upload capacity), messages take a fixed latency, disk
//! work is instant, and the index returns whoever announced the file. Deterministic: one seeded
//! RNG, one event queue ordered by time and then by the order events were made.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::time::{Duration, Instant};

use libp2p::PeerId;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::{FileSession, Input, Output, Phase};
use crate::content::bitfield::Bitfield;
use crate::content::manifest::Manifest;
use crate::content::peer_wire::PeerMessage;
use crate::content::rate::TokenBucket;

/// One-way latency of every message.
const LATENCY: Duration = Duration::from_millis(5);

pub(super) fn peer(i: usize) -> PeerId {
    PeerId::from_bytes(&[0, 4, 0, 0, (i >> 8) as u8, i as u8]).expect("an identity peer id")
}

/// Pseudo-random file bytes.
pub(super) fn file(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[derive(Debug)]
enum Event {
    /// Node `i` starts fetching.
    Start(usize),
    Input(usize, Input),
    Tick(usize),
    Pump(usize),
}

/// How a simulated swarm is set up.
#[derive(Clone, Debug)]
pub(super) struct Setup {
    pub leechers: usize,
    pub file_len: usize,
    pub piece_size: u32,
    /// Upload capacities, bytes per second.
    pub seed_up: u64,
    pub leecher_up: u64,
    /// Whether the index lists leechers that announced (false: only the seed, so leechers can
    /// find each other only by peer exchange).
    pub index_lists_leechers: bool,
    /// Whether the seed super-seeds (BEP 16).
    pub super_seed: bool,
    pub seed: u64,
}

/// What a run measured.
#[derive(Debug)]
pub(super) struct Outcome {
    /// When each leecher completed (simulated time since the start).
    pub done: Vec<Option<Duration>>,
    /// Bytes the seed uploaded, in copies of the file.
    pub seed_copies: f64,
    /// The fluid bound on the distribution time (Kumar and Ross).
    pub bound: Duration,
    /// Whether every leecher's written pieces equal the file.
    pub intact: bool,
    /// Members each leecher had besides the seed, at its end.
    pub other_members: Vec<usize>,
}

struct Node {
    session: Option<FileSession>,
    bucket: TokenBucket,
    data: Vec<u8>,
    pump_at: Option<Duration>,
}

struct Sim {
    t0: Instant,
    now: Duration,
    seq: u64,
    queue: BinaryHeap<Reverse<(Duration, u64)>>,
    events: HashMap<u64, Event>,
    nodes: Vec<Node>,
    file: Vec<u8>,
    manifest: Manifest,
    announced: HashSet<usize>,
    links: HashSet<(usize, usize)>,
    banned: HashSet<(usize, usize)>,
    done: Vec<Option<Duration>>,
    rng: StdRng,
    index_lists_leechers: bool,
}

fn link(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

impl Sim {
    fn at(&mut self, delay: Duration, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse((self.now + delay, self.seq)));
        self.events.insert(self.seq, event);
    }

    fn node_of(&self, p: &PeerId) -> Option<usize> {
        (0..self.nodes.len()).find(|&n| peer(n) == *p)
    }

    fn feed(&mut self, i: usize, input: Input) {
        let now = self.t0 + self.now;
        let Some(s) = self.nodes[i].session.as_mut() else { return };
        let out = s.handle(input, now, &mut self.rng);
        self.carry_out(i, out);
        self.pump(i);
    }

    fn carry_out(&mut self, i: usize, outputs: Vec<Output>) {
        for o in outputs {
            match o {
                Output::FindProviders => {
                    let found: Vec<PeerId> = self
                        .announced
                        .iter()
                        .filter(|&&n| n != i && (n == 0 || self.index_lists_leechers))
                        .map(|&n| peer(n))
                        .collect();
                    self.at(LATENCY * 4, Event::Input(i, Input::Found(found)));
                }
                Output::AskManifest(p) => {
                    let n = self.node_of(&p).expect("a simulated peer");
                    let has = self.nodes[n].session.as_ref().is_some_and(|s| s.serving());
                    let input = if has {
                        Input::Manifest {
                            from: p,
                            bytes: self.manifest.encode(),
                        }
                    } else {
                        Input::ManifestFailed { from: p }
                    };
                    self.at(LATENCY * 2, Event::Input(i, input));
                }
                Output::Open(m) => {
                    let have = if i == 0 {
                        Bitfield::full(m.pieces())
                    } else {
                        Bitfield::new(m.pieces())
                    };
                    self.at(Duration::from_millis(1), Event::Input(i, Input::Opened { have, selected: None }));
                }
                Output::Connect(p) => {
                    let n = self.node_of(&p).expect("a simulated peer");
                    let l = link(i, n);
                    if self.links.contains(&l) || self.banned.contains(&l) {
                        self.at(LATENCY * 2, Event::Input(i, Input::ConnectFailed(p)));
                        continue;
                    }
                    let theirs = self.nodes[n].session.as_ref().and_then(|s| s.hello(self.t0 + self.now));
                    let ours = self.nodes[i].session.as_ref().and_then(|s| s.hello(self.t0 + self.now));
                    match (theirs, ours) {
                        (Some(PeerMessage::Hello { bitfield: b_n, .. }), Some(PeerMessage::Hello { bitfield: b_i, .. })) => {
                            self.links.insert(l);
                            let me = peer(i);
                            self.at(LATENCY, Event::Input(n, Input::Connected { peer: me, bitfield: b_i }));
                            self.at(LATENCY * 2, Event::Input(i, Input::Connected { peer: p, bitfield: b_n }));
                        }
                        _ => self.at(LATENCY * 2, Event::Input(i, Input::ConnectFailed(p))),
                    }
                }
                Output::Send(p, msg) => {
                    let n = self.node_of(&p).expect("a simulated peer");
                    if self.links.contains(&link(i, n)) {
                        self.at(LATENCY, Event::Input(n, Input::Message(peer(i), msg)));
                    }
                }
                Output::Close(p) | Output::Ban(p, _) => {
                    let n = self.node_of(&p).expect("a simulated peer");
                    if matches!(o, Output::Ban(..)) {
                        self.banned.insert(link(i, n));
                    }
                    if self.links.remove(&link(i, n)) {
                        self.at(LATENCY, Event::Input(n, Input::Disconnected(peer(i))));
                    }
                }
                Output::Check { piece, data } => {
                    let good = self.manifest.verify(piece, &data);
                    self.at(Duration::ZERO, Event::Input(i, Input::Checked { piece, data, good }));
                }
                Output::Write { piece, data } => {
                    let at = self.manifest.piece_offset(piece) as usize;
                    self.nodes[i].data[at..at + data.len()].copy_from_slice(&data);
                    self.at(Duration::from_millis(1), Event::Input(i, Input::Written { piece, result: Ok(()) }));
                }
                Output::Sync => self.at(Duration::from_millis(1), Event::Input(i, Input::Synced(Ok(())))),
                Output::Announce => {
                    self.announced.insert(i);
                }
                Output::Withdraw => {
                    self.announced.remove(&i);
                }
                Output::Completed => self.done[i] = Some(self.now),
                Output::Failed(f) => panic!("node {i} failed: {f}"),
            }
        }
    }

    /// Serves node `i`'s queued requests as its upload capacity allows.
    fn pump(&mut self, i: usize) {
        let now = self.t0 + self.now;
        loop {
            let node = &mut self.nodes[i];
            let Some(s) = node.session.as_mut() else { return };
            match s.next_upload(&mut node.bucket, now, |_| true) {
                Ok((p, block)) => {
                    let at = (self.manifest.piece_offset(block.piece) + u64::from(block.offset)) as usize;
                    let data = self.file[at..at + block.len as usize].to_vec();
                    let msg = PeerMessage::Piece {
                        piece: block.piece,
                        offset: block.offset,
                        data,
                    };
                    self.carry_out(i, vec![Output::Send(p, msg)]);
                }
                Err(Some(wait)) => {
                    // The driver's floor too: a bucket short of a few bytes would otherwise
                    // ask for waits of nanoseconds.
                    let wait = wait.max(Duration::from_millis(1));
                    let at = self.now + wait;
                    if self.nodes[i].pump_at.is_none_or(|t| t > at || t < self.now) {
                        self.nodes[i].pump_at = Some(at);
                        self.at(wait, Event::Pump(i));
                    }
                    return;
                }
                Err(None) => return,
            }
        }
    }
}

/// Runs a flash crowd: node 0 seeds, the others fetch at the same moment.
pub(super) fn run(setup: &Setup, limit: Duration) -> Outcome {
    let file = file(setup.file_len, setup.seed);
    let manifest = Manifest::from_reader("sim", file.len() as u64, setup.piece_size, &file[..]).expect("a manifest");
    let t0 = Instant::now();
    let n = setup.leechers + 1;
    let mut sim = Sim {
        t0,
        now: Duration::ZERO,
        seq: 0,
        queue: BinaryHeap::new(),
        events: HashMap::new(),
        nodes: Vec::new(),
        file: file.clone(),
        manifest: manifest.clone(),
        announced: HashSet::new(),
        links: HashSet::new(),
        banned: HashSet::new(),
        done: vec![None; n],
        rng: StdRng::seed_from_u64(setup.seed),
        index_lists_leechers: setup.index_lists_leechers,
    };
    for i in 0..n {
        let rate = if i == 0 { setup.seed_up } else { setup.leecher_up };
        sim.nodes.push(Node {
            session: None,
            bucket: TokenBucket::new(Some(rate), t0),
            data: if i == 0 { file.clone() } else { vec![0; file.len()] },
            pump_at: None,
        });
    }
    let (mut seed, out) = FileSession::open(manifest.clone(), peer(0), t0);
    seed.set_super_seeding(setup.super_seed);
    sim.nodes[0].session = Some(seed);
    sim.carry_out(0, out);
    // The leechers ask once the seed has announced the file (as in the swarm bench, where the
    // file is published before anyone fetches it).
    for i in 1..n {
        sim.at(Duration::from_millis(10), Event::Start(i));
    }
    for i in 0..n {
        // Ticks spread over the first tick, as real nodes' clocks are.
        sim.at(Duration::from_millis((i as u64 * 97) % 250), Event::Tick(i));
    }
    let trace = std::env::var("CAIRN_SIM_TRACE").is_ok();
    let mut next_trace = Duration::from_secs(1);
    let mut last_up = vec![0u64; n];
    let mut steps = 0u64;
    while let Some(Reverse((t, seq))) = sim.queue.pop() {
        if trace && t >= next_trace {
            let now = t0 + t;
            let mut line = format!("t={:5.1}", next_trace.as_secs_f64());
            for (i, last) in last_up.iter_mut().enumerate() {
                let Some(session) = sim.nodes[i].session.as_mut() else { continue };
                let st = session.status(now);
                line.push_str(&format!(
                    " {}:{:4.1}/{:3.0}%/{}",
                    i,
                    (st.uploaded - *last) as f64 / f64::from(1 << 20),
                    st.bytes as f64 / file.len() as f64 * 100.0,
                    st.peers
                ));
                *last = st.uploaded;
            }
            eprintln!("{line}");
            next_trace += Duration::from_secs(1);
        }
        steps += 1;
        assert!(steps < 20_000_000, "the simulation does not end");
        if t > limit || sim.done[1..].iter().all(Option::is_some) {
            break;
        }
        sim.now = t;
        match sim.events.remove(&seq).expect("an event for each entry") {
            Event::Start(i) => {
                let (s, out) = FileSession::fetch(sim.manifest.content_id(), peer(i), t0 + t);
                sim.nodes[i].session = Some(s);
                sim.carry_out(i, out);
            }
            Event::Input(i, input) => sim.feed(i, input),
            Event::Tick(i) => {
                sim.feed(i, Input::Tick);
                sim.at(super::SEARCH_FIRST, Event::Tick(i));
            }
            Event::Pump(i) => {
                sim.nodes[i].pump_at = None;
                sim.pump(i);
            }
        }
    }
    let f = file.len() as f64;
    let total_up = setup.seed_up as f64 + setup.leecher_up as f64 * setup.leechers as f64;
    let bound = (f / setup.seed_up as f64).max(setup.leechers as f64 * f / total_up);
    let seed_status = sim.nodes[0].session.as_mut().expect("the seed").status(t0 + sim.now);
    let other_members = (1..n)
        .map(|i| {
            let s = sim.nodes[i].session.as_ref().expect("a leecher");
            (1..n).filter(|&j| j != i && s.is_member(&peer(j))).count()
        })
        .collect();
    let intact =
        (1..n).all(|i| sim.nodes[i].data == file && matches!(sim.nodes[i].session.as_ref().map(FileSession::phase), Some(Phase::Seeding)));
    Outcome {
        done: sim.done[1..].to_vec(),
        seed_copies: seed_status.uploaded as f64 / f,
        bound: Duration::from_secs_f64(bound),
        intact,
        other_members,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flash_crowd(index_lists_leechers: bool, seed: u64) -> Setup {
        Setup {
            leechers: 8,
            file_len: 64 << 20,
            piece_size: 256 << 10,
            seed_up: 8 << 20,
            leecher_up: 2 << 20,
            index_lists_leechers,
            super_seed: false,
            seed,
        }
    }

    fn report(o: &Outcome) -> (f64, f64) {
        let last = o.done.iter().map(|d| d.expect("every leecher completed")).max().expect("leechers");
        (o.bound.as_secs_f64() / last.as_secs_f64(), o.seed_copies)
    }

    #[test]
    fn a_flash_crowd_gets_the_whole_file_near_the_fluid_bound() {
        for seed in [1, 2, 3] {
            let o = run(&flash_crowd(true, seed), Duration::from_secs(300));
            assert!(o.done.iter().all(Option::is_some), "seed {seed}: {:?}", o.done);
            assert!(o.intact, "seed {seed}: every leecher holds the file");
            let (ratio, copies) = report(&o);
            eprintln!("seed {seed}: ratio {ratio:.3}, seed copies {copies:.2}, done {:?}", o.done);
            assert!(
                ratio >= 0.7,
                "seed {seed}: ratio {ratio:.3} (bound {:?}, done {:?})",
                o.bound,
                o.done
            );
            assert!(copies <= 3.1, "seed {seed}: the seed uploaded {copies:.2} copies");
        }
    }

    #[test]
    fn a_super_seed_uploads_little_more_than_one_copy() {
        for seed in [5, 6] {
            let setup = Setup {
                super_seed: true,
                ..flash_crowd(true, seed)
            };
            let o = run(&setup, Duration::from_secs(600));
            assert!(o.intact, "seed {seed}: every leecher holds the file: {:?}", o.done);
            let (ratio, copies) = report(&o);
            eprintln!("super-seeding, seed {seed}: ratio {ratio:.3}, seed copies {copies:.2}");
            assert!(copies <= 1.05, "seed {seed}: the super-seed uploaded {copies:.2} copies");
        }
    }

    #[test]
    fn leechers_find_each_other_by_peer_exchange_when_the_index_lists_only_the_seed() {
        let o = run(&flash_crowd(false, 4), Duration::from_secs(300));
        assert!(o.intact, "{:?}", o.done);
        assert!(
            o.other_members.iter().all(|&m| m >= 4),
            "every leecher met other leechers through the seed's lists: {:?}",
            o.other_members
        );
        let (ratio, _) = report(&o);
        assert!(ratio >= 0.85, "ratio {ratio:.3}");
    }
}
