//! Hostile nodes in the simulator, and the experiment that measures what Cairn's defences buy.
//!
//! A fraction `f` of the ring turns hostile once the ring has converged. Hostile nodes keep their
//! place — they answer stabilize, notify, pings and take-overs honestly, so they stay in every
//! table — but lie to the operations that matter:
//! - [`Adversary::Silent`] never answers a lookup step, a get or a store (the asker times out);
//! - [`Adversary::Lone`] lies on its own: it claims to own every key it is asked about
//!   (**misroutes**), **forges** every get (a record no publisher signed) and **drops** every
//!   store while acknowledging it;
//! - [`Adversary::Liar`] does the same in collusion with every other hostile node: asked a lookup
//!   step, it names the accomplice nearest after the key as the key's owner when that
//!   accomplice is close enough to the key to pass for it (as the liar estimates the hardened
//!   asker's bound), and otherwise steers the lookup to the accomplice nearest before the key
//!   that passes for one of its fingers or successors (so it passes the asker's checks),
//!   answering honestly only when it has neither. It knows every accomplice and the checks.
//!
//! With the defences on, nodes run hardened ([`Config::hardened`]) and askers refuse forged
//! records (as the index service does, by their signatures); off, neither. The askers measured
//! are honest nodes; the stored keys are put by honest nodes while the hostile ones are there.

use super::*;
use crate::chord::routing::Step;

/// Record kind a liar forges: no publisher signed it, so a checking reader refuses it.
pub(super) const FORGED: u8 = 0xff;

/// How hostile nodes treat lookups, gets and stores (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adversary {
    /// No answer: the asker times out.
    Silent,
    /// Each lies alone: claims to own every key it is asked about, forges gets, drops stores.
    Lone,
    /// Colluding: misroutes to accomplices, forges gets, drops stores.
    Liar,
}

/// The hostile part of a simulated ring.
#[derive(Clone, Debug, Default)]
pub(super) struct Hostile {
    /// Hostile nodes by address.
    nodes: BTreeSet<u32>,
    /// Their ids, sorted, with addresses.
    ring: Vec<(ChordId, u32)>,
    adversary: Option<Adversary>,
    /// Whether askers refuse forged records.
    verify: bool,
}

impl Hostile {
    pub(super) fn is(&self, addr: u32) -> bool {
        self.nodes.contains(&addr)
    }

    /// Whether an asker refuses `response` (it carries a forged record and askers check).
    pub(super) fn refuses(&self, response: &Response<u32>) -> bool {
        self.verify && matches!(response, Response::Records(r) if r.iter().any(|r| r.kind == FORGED))
    }

    /// The accomplice nearest after `key` (or on it), skipping `exclude`.
    fn after(&self, key: &ChordId, exclude: &[ChordId]) -> Option<(ChordId, u32)> {
        let start = self.ring.partition_point(|(id, _)| id < key);
        (0..self.ring.len())
            .map(|i| self.ring[(start + i) % self.ring.len()])
            .find(|(id, _)| !exclude.contains(id))
    }

    /// The accomplices between `me` and `key`, nearest the key first, skipping `exclude`.
    fn before<'a>(&'a self, me: &'a ChordId, key: &ChordId, exclude: &'a [ChordId]) -> impl Iterator<Item = (ChordId, u32)> + 'a {
        let end = self.ring.partition_point(|(id, _)| id < key);
        (1..=self.ring.len())
            .map(move |i| self.ring[(end + self.ring.len() - i) % self.ring.len()])
            .take_while(move |(id, _)| id != me)
            .filter(move |(id, _)| !exclude.contains(id))
    }
}

impl Sim {
    /// Turns a fraction `f` of the live nodes hostile, behaving as `adversary`; `defences` turns
    /// the nodes' hardening and the askers' check of forged records on or off. Returns how many
    /// nodes turned.
    pub fn turn_hostile(&mut self, f: f64, adversary: Adversary, defences: bool) -> usize {
        let live: Vec<u32> = self.ring().iter().map(|(_, a)| *a).collect();
        let count = ((f.clamp(0.0, 1.0) * live.len() as f64).round() as usize).min(live.len().saturating_sub(1));
        let picked = rand::seq::index::sample(&mut self.rng, live.len(), count);
        let nodes: BTreeSet<u32> = picked.iter().filter_map(|i| live.get(i).copied()).collect();
        let mut ring: Vec<(ChordId, u32)> = nodes.iter().map(|a| (self.entry(*a).id, *a)).collect();
        ring.sort_unstable();
        self.hostile = Hostile {
            nodes,
            ring,
            adversary: Some(adversary),
            verify: defences,
        };
        for slot in &mut self.slots {
            slot.node.config_mut().hardened = defences;
        }
        count
    }

    /// Hostile node `to` got `request` from `from`: if it lies to this kind of request, its
    /// answer (or its silence) is queued and true is returned; false lets it answer honestly.
    pub(super) fn lie(&mut self, from: u32, to: u32, id: ReqId, request: &Request<u32>, sent: Millis) -> bool {
        let Some(adversary) = self.hostile.adversary else { return false };
        let lied_to = matches!(request, Request::FindSuccessor { .. } | Request::Get { .. } | Request::Store { .. });
        if !lied_to {
            return false;
        }
        let response = match (adversary, request) {
            (Adversary::Silent, _) => {
                let at = sent.saturating_add(self.net.timeout).max(self.now);
                self.push(at, Kind::Fail { to: from, id });
                return true;
            }
            (Adversary::Lone, Request::FindSuccessor { .. }) => Response::Step(Step::Done(self.entry(to))),
            (Adversary::Liar, Request::FindSuccessor { key, exclude }) => match self.misroute(to, key, exclude) {
                Some(step) => Response::Step(step),
                None => return false,
            },
            (_, Request::Get { key, .. }) => Response::Records(vec![Record {
                key: *key,
                kind: FORGED,
                sub: [0xff; 32],
                value: b"forged".to_vec(),
                ttl: MAX_TTL,
            }]),
            _ => Response::Ack,
        };
        let at = self.now + self.latency();
        self.push(at, Kind::Answer { to: from, id, response });
        true
    }

    /// A liar's answer to a lookup step for `key`, or `None` to answer honestly.
    fn misroute(&self, liar: u32, key: &ChordId, exclude: &[ChordId]) -> Option<Step<u32>> {
        let slot = self.slots.get(liar as usize)?;
        let me = slot.node.routing().me().id;
        let successors = slot.node.routing().successors();
        let gap = successors
            .last()
            .map_or(1.0, |last| me.fraction_to(&last.id) / successors.len().max(1) as f64);
        // Without defences any lie passes: name the accomplice after the key, from anywhere.
        let checked = self.hostile.verify;
        if let Some((id, addr)) = self.hostile.after(key, exclude)
            && (!checked || (key.fraction_to(&id) <= 24.0 * gap && me.fraction_to(&id) <= 12.0 * gap))
        {
            return Some(Step::Done(Entry { id, addr }));
        }
        // Steer to the accomplice nearest the key that the hardened asker would take for one
        // of this node's fingers or successors (it checks the distance from here).
        let passes = |id: &ChordId| {
            let d = me.fraction_to(id);
            d <= (successors.len() as f64 + 6.0) * gap || d - d.log2().floor().exp2() <= 6.0 * gap
        };
        let (id, addr) = self
            .hostile
            .before(&me, key, exclude)
            .find(|(id, _)| id.in_open(&me, key) && passes(id))?;
        Some(Step::Next(Entry { id, addr }))
    }
}

/// The hostile-nodes experiment's parameters.
#[derive(Clone, Debug)]
pub struct HostileSetup {
    /// Nodes in the ring.
    pub nodes: usize,
    /// Successor list length (replicas).
    pub successors: usize,
    /// Keys put (each one record, from a random honest node) once the hostile nodes are in.
    pub keys: usize,
    /// Lookups, and gets, measured from random honest nodes.
    pub ops: usize,
    /// Virtual time the ring runs between the puts and the measurements (replication rounds).
    pub settle_for: Millis,
}

/// One row: a fraction of hostile nodes, one adversary, defences on or off.
#[derive(Clone, Debug, PartialEq)]
pub struct HostileRow {
    /// How the hostile nodes behave.
    pub adversary: Adversary,
    /// Fraction of nodes hostile.
    pub fraction: f64,
    /// Whether the defences were on.
    pub defences: bool,
    /// Hostile nodes.
    pub hostile: usize,
    /// Puts that reported the record stored.
    pub puts_ok: f64,
    /// Lookups that ended at the key's true successor.
    pub lookups_ok: f64,
    /// Gets (of keys whose put reported success) that returned a genuine record.
    pub gets_ok: f64,
    /// Requests sent per put, per lookup and per get (all nodes' requests during the batch,
    /// maintenance paused, over the operations).
    pub msgs_per_put: f64,
    /// See `msgs_per_put`.
    pub msgs_per_lookup: f64,
    /// See `msgs_per_put`.
    pub msgs_per_get: f64,
}

/// For each adversary, fraction and defences off/on: builds the ring once (shared by every
/// row), turns the fraction hostile, has honest nodes put the keys, lets the ring run, then
/// measures lookups and gets from honest nodes.
///
/// # Errors
/// [`SimError::NotConverged`] if the ring does not converge before the hostile nodes turn.
pub fn hostile(setup: &HostileSetup, adversaries: &[Adversary], fractions: &[f64], seed: u64) -> Result<Vec<HostileRow>, SimError> {
    let mut base = Sim::new(seed, NetConfig::default(), sim_config(setup.successors));
    base.grow_to(setup.nodes)?;
    let mut out = Vec::new();
    for &adversary in adversaries {
        for &fraction in fractions {
            for defences in [false, true] {
                let mut sim = base.clone();
                let hostile = sim.turn_hostile(fraction, adversary, defences);
                // Maintenance pauses while a batch runs, so that the requests counted are the
                // operations' own.
                sim.set_maintenance(false);
                let sent = sim.sent;
                sim.store(setup.keys);
                let msgs_per_put = ratio_f(sim.sent - sent, setup.keys);
                let puts_ok = ratio(sim.keys.len(), setup.keys);
                sim.set_maintenance(true);
                sim.run_for(setup.settle_for);
                sim.set_maintenance(false);
                let sent = sim.sent;
                let lookups = sim.measure_lookups(setup.ops);
                let msgs_per_lookup = ratio_f(sim.sent - sent, setup.ops);
                let sent = sim.sent;
                let gets = sim.measure_gets(setup.ops);
                let msgs_per_get = ratio_f(sim.sent - sent, setup.ops);
                out.push(HostileRow {
                    adversary,
                    fraction,
                    defences,
                    hostile,
                    puts_ok,
                    lookups_ok: 1.0 - ratio(lookups.wrong + lookups.failed, lookups.lookups),
                    gets_ok: 1.0 - gets.missing_fraction(),
                    msgs_per_put,
                    msgs_per_lookup,
                    msgs_per_get,
                });
            }
        }
    }
    Ok(out)
}

fn ratio_f(part: u64, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}
