//! The three experiments of the paper, each a function of its parameters and a seed.

use super::*;

/// Path lengths of lookups in a converged ring (the paper's Fig. 10).
#[derive(Clone, Debug, PartialEq)]
pub struct PathLengths {
    /// Nodes in the ring.
    pub n: usize,
    /// Lookups made.
    pub lookups: usize,
    /// Mean hops (`FindSuccessor` requests sent; a lookup the asker answers itself takes 0).
    pub mean: f64,
    /// 1st percentile of hops.
    pub p1: u32,
    /// 99th percentile of hops.
    pub p99: u32,
    /// Lookups that ended at a node other than the key's successor.
    pub wrong: usize,
    /// Lookups that failed.
    pub failed: usize,
}

/// What a batch of `get`s from random live nodes for stored keys saw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GetStats {
    /// Gets made.
    pub gets: usize,
    /// Gets whose lookup failed or ended at a node other than the key's live successor.
    pub failed_lookups: usize,
    /// Gets that returned no record.
    pub missing: usize,
    /// Mean lookup hops of the gets that succeeded.
    pub mean_hops: f64,
    /// Mean virtual time a get took, in milliseconds (timeouts included).
    pub mean_ms: f64,
}

impl GetStats {
    /// Fraction of gets whose lookup failed.
    pub fn failed_fraction(&self) -> f64 {
        ratio(self.failed_lookups, self.gets)
    }

    /// Fraction of gets that returned no record.
    pub fn missing_fraction(&self) -> f64 {
        ratio(self.missing, self.gets)
    }
}

/// The failure experiment's parameters.
#[derive(Clone, Debug)]
pub struct FailureSetup {
    /// Nodes in the ring.
    pub nodes: usize,
    /// Successor list length `r` (records are replicated to the `r` successors).
    pub successors: usize,
    /// Keys stored per node, each under one record.
    pub keys_per_node: usize,
    /// Gets measured before, and again after, stabilization.
    pub gets: usize,
    /// Virtual time the ring stabilizes between the two measurements.
    pub stabilize_for: Millis,
}

/// One row of the failure experiment (the paper's Figs. 13–14).
#[derive(Clone, Debug, PartialEq)]
pub struct FailureRow {
    /// Fraction of nodes failed.
    pub fraction: f64,
    /// Nodes failed.
    pub failed_nodes: usize,
    /// Keys stored.
    pub keys: usize,
    /// Gets right after the failure, maintenance paused.
    pub before: GetStats,
    /// Gets after stabilizing.
    pub after: GetStats,
    /// Fraction of keys whose responsible node failed: what is lost without replication.
    pub lost_unreplicated: f64,
    /// Fraction of keys with no live copy left, with the node's replication.
    pub lost_replicated: f64,
    /// How far the tables were from the truth after stabilizing.
    pub divergence_after: Divergence,
}

/// Keys per real node under consistent hashing (the paper's Figs. 8–9).
#[derive(Clone, Debug, PartialEq)]
pub struct LoadBalance {
    /// Real nodes.
    pub nodes: usize,
    /// Keys placed.
    pub keys: usize,
    /// Virtual nodes per real node.
    pub virtual_nodes: usize,
    /// Mean keys per real node.
    pub mean: f64,
    /// 1st percentile of keys per real node.
    pub p1: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Most keys on one real node.
    pub max: u64,
}

impl LoadBalance {
    /// The 1st percentile over the mean.
    pub fn p1_ratio(&self) -> f64 {
        self.p1 as f64 / self.mean.max(f64::MIN_POSITIVE)
    }

    /// The 99th percentile over the mean.
    pub fn p99_ratio(&self) -> f64 {
        self.p99 as f64 / self.mean.max(f64::MIN_POSITIVE)
    }
}

/// Builds a ring by the protocol, growing it through `sizes` (ascending), and at each size
/// measures `lookups` lookups of random keys from random nodes.
///
/// # Errors
/// [`SimError::NotConverged`] if the ring's tables do not converge.
pub fn path_lengths(sizes: &[usize], successors: usize, lookups: usize, seed: u64) -> Result<Vec<PathLengths>, SimError> {
    let mut sizes = sizes.to_vec();
    sizes.sort_unstable();
    let mut sim = Sim::new(seed, NetConfig::default(), sim_config(successors));
    let mut out = Vec::with_capacity(sizes.len());
    for n in sizes {
        sim.grow_to(n)?;
        sim.set_maintenance(false);
        out.push(sim.measure_lookups(lookups));
        sim.set_maintenance(true);
    }
    Ok(out)
}

/// For each fraction `p`: builds the ring, stores the keys, fails a fraction `p` of the nodes at
/// once, then measures gets before and after stabilization. Every row starts from the same ring.
///
/// # Errors
/// [`SimError::NotConverged`] if the ring does not converge before the failure.
pub fn failures(setup: &FailureSetup, fractions: &[f64], seed: u64) -> Result<Vec<FailureRow>, SimError> {
    let mut out = Vec::with_capacity(fractions.len());
    for &p in fractions {
        let mut sim = Sim::new(seed, NetConfig::default(), sim_config(setup.successors));
        sim.grow_to(setup.nodes)?;
        sim.set_maintenance(false);
        sim.store(setup.keys_per_node.saturating_mul(setup.nodes));
        let ring = sim.ring();
        let failed_nodes = sim.fail(p);
        let keys = sim.keys.clone();
        let lost_unreplicated = keys
            .iter()
            .filter(|k| successor_in(&ring, k).is_some_and(|(_, a)| !sim.is_alive(a)))
            .count();
        let held = sim.live_keys();
        let lost_replicated = keys.iter().filter(|k| !held.contains(k)).count();
        let before = sim.measure_gets(setup.gets);
        sim.set_maintenance(true);
        sim.run_for(setup.stabilize_for);
        let divergence_after = sim.divergence(true);
        let after = sim.measure_gets(setup.gets);
        out.push(FailureRow {
            fraction: p,
            failed_nodes,
            keys: keys.len(),
            before,
            after,
            lost_unreplicated: ratio(lost_unreplicated, keys.len()),
            lost_replicated: ratio(lost_replicated, keys.len()),
            divergence_after,
        });
    }
    Ok(out)
}

/// Places `keys` random keys on `nodes` real nodes, each with `v` virtual nodes for each `v` in
/// `virtual_nodes`, and counts keys per real node. The placement function alone: no messages.
pub fn load_balance(nodes: usize, keys: usize, virtual_nodes: &[usize], seed: u64) -> Vec<LoadBalance> {
    let key_ids: Vec<ChordId> = (0..keys as u64).map(|k| derive(b"key", seed, k, 0)).collect();
    let mut out = Vec::with_capacity(virtual_nodes.len());
    for &v in virtual_nodes {
        let v = v.max(1);
        let mut ring: Vec<(ChordId, u32)> = (0..nodes as u32)
            .flat_map(|n| (0..v as u32).map(move |i| (derive(b"vnode", seed, u64::from(n), i), n)))
            .collect();
        ring.sort_unstable();
        let mut counts = vec![0u64; nodes];
        for k in &key_ids {
            if let Some(c) = successor_in(&ring, k).and_then(|(_, n)| counts.get_mut(n as usize)) {
                *c += 1;
            }
        }
        counts.sort_unstable();
        out.push(LoadBalance {
            nodes,
            keys,
            virtual_nodes: v,
            mean: keys as f64 / nodes.max(1) as f64,
            p1: percentile(&counts, 0.01),
            p99: percentile(&counts, 0.99),
            max: counts.last().copied().unwrap_or(0),
        });
    }
    out
}
