//! The hardened checks ([`Config::hardened`]) a lookup makes of what other nodes tell it. A
//! node's answers are judged against what this node sees of the ring around itself: the mean
//! gap between nodes, measured from its predecessor along its successor list.
//!
//! - **A next hop must be a finger or a successor of the node naming it.** An honest node
//!   names the known node closest before the key: one of its successors (a few gaps away) or a
//!   finger, the first node at or after `node + 2^j`, so a few gaps past a power of two. A node
//!   named anywhere else is a node the namer chose: a liar steering the lookup to an
//!   accomplice. (Chord's fingers are *constrained*, as Castro et al. put it — 2002, "Secure
//!   routing for structured peer-to-peer overlay networks" — and that is what makes them
//!   checkable.)
//! - **A claimed owner must lie near the key** ([`PLAUSIBLE_GAPS`]) **and near the node that
//!   names it** ([`DONE_SLACK`]): a node says "the key is my successor's" only when it is the
//!   key's predecessor, and "mine" only when it is alone.
//! - **An owner that fails** (no answer, nothing, or refused records) makes the next try skip
//!   the node that named it and the hops that led there.

use super::*;

/// How far past a key its claimed owner may lie, in mean gaps between nodes (as this node sees
/// them around itself). The distance from a key to its true successor is about exponential with
/// the mean gap; with the noise of an estimate from 9 gaps, an honest owner lies beyond 24 of
/// them about once in 10^6 lookups. This catches a liar naming itself, or any node far from the
/// key; accomplices just past the key it cannot tell from the owner (the simulator's figure
/// shows what that leaves).
const PLAUSIBLE_GAPS: f64 = 24.0;
/// Fewest gaps [`PLAUSIBLE_GAPS`] is measured over (fewer: a node just started, or one whose
/// successors just failed; it then takes any claim that makes progress).
const MIN_GAPS: usize = 4;
/// How far past a finger start (or past the successor list) a next hop may lie, in mean gaps:
/// the first node after a point is about an exponential gap away, beyond 6 gaps about once in
/// 400 hops — then an honest hop is dropped and the lookup backs up, a detour. A liar steering
/// to an accomplice finds one in that window only about two times in three at f = 0.2.
const FINGER_SLACK: f64 = 6.0;
/// How far from the node naming it a claimed owner may lie, in mean gaps (per node in the arc:
/// one, plus each the operation skips): an honest claim comes from the key's predecessor and
/// spans the one gap the key falls in, beyond 12 mean gaps about once in 10^4 claims — then the
/// lookup backs up and the node before names the same owner, with one more node skipped.
const DONE_SLACK: f64 = 12.0;

impl<A: Clone + PartialEq + std::fmt::Debug> Node<A> {
    /// The mean gap between nodes, as a fraction of the ring, as this node sees it: the gaps
    /// from its predecessor along its successor list, and for each finger past that list the
    /// distance from the finger's start to the node it points at (the first node after a point
    /// is a gap away on average). `None` with fewer than [`MIN_GAPS`] local gaps (a node just
    /// started, or whose successors just failed) or in a ring so small that the list wraps round
    /// to the predecessor (every node is near every key): nothing can be judged.
    pub(super) fn mean_gap(&self) -> Option<f64> {
        let rt = &self.routing;
        let successors = rt.successors();
        let last = successors.last()?;
        let (from, gaps) = match rt.predecessor() {
            Some(p) if successors.iter().any(|s| s.id == p.id) => return None,
            Some(p) => (p.id, successors.len() + 1),
            None => (rt.me().id, successors.len()),
        };
        if gaps < MIN_GAPS {
            return None;
        }
        let me = rt.me().id;
        let reach = me.fraction_to(&last.id);
        let (mut span, mut samples) = (from.fraction_to(&last.id), gaps);
        let mut previous: Option<ChordId> = None;
        for i in (0..crate::chord::routing::FINGERS).rev() {
            let Some(f) = rt.finger(i) else { continue };
            let start = rt.finger_start(i);
            if me.fraction_to(&start) <= reach {
                break;
            }
            if previous == Some(f.id) || !f.id.in_half_open(&start, &me) {
                continue;
            }
            previous = Some(f.id);
            span += start.fraction_to(&f.id);
            samples += 1;
        }
        Some(span / samples as f64)
    }

    /// Whether `owner` may plausibly be the successor of `key` for an operation skipping
    /// `exclude`: the arc between them (which the naming node claims holds no other node) is
    /// at most [`PLAUSIBLE_GAPS`] mean gaps per node it should hold — one, plus each excluded
    /// node inside it, up to two. (The arc from the *naming* node would catch more liars, but
    /// an honest claim that fails it fails again from every node before, each naming the same
    /// owner from farther away: one false alarm would end the lookup.)
    pub(super) fn plausible_owner(&self, key: &ChordId, owner: &ChordId, exclude: &[ChordId]) -> bool {
        let Some(gap) = self.mean_gap() else { return true };
        // A put's further copies go to the owner's successors: up to two skipped nodes widen
        // the bound (more would let a liar widen it with every accomplice it burns).
        let skipped = exclude.iter().filter(|x| x.in_half_open(key, owner) && *x != owner).count().min(2);
        key.fraction_to(owner) <= PLAUSIBLE_GAPS * (1 + skipped) as f64 * gap
    }

    /// Whether `from` may plausibly name `owner` as the successor of a key: `from` claims that
    /// no node lies between them but the ones this operation skips (`exclude`), so the arc may
    /// span at most [`DONE_SLACK`] mean gaps per node it holds (one, plus each skipped node
    /// inside it). A liar far from the key cannot name an accomplice past it.
    pub(super) fn plausible_claim(&self, from: &ChordId, owner: &ChordId, exclude: &[ChordId]) -> bool {
        let Some(gap) = self.mean_gap() else { return true };
        let skipped = exclude.iter().filter(|x| x.in_open(from, owner)).count();
        from.fraction_to(owner) <= DONE_SLACK * (1 + skipped) as f64 * gap
    }

    /// Whether a node may answer that it owns the key itself (`Done` naming the answering
    /// node): an honest node does so only when it knows no other node, alone on a ring of its
    /// own — not on this node's ring, once this node has successors. A probe or a join asks
    /// exactly that; otherwise it is a claim to every key, the plainest lie.
    pub(super) fn alone_is_plausible(&self, purpose: &Purpose) -> bool {
        matches!(purpose, Purpose::Probe | Purpose::Join) || self.routing.successors().is_empty()
    }

    /// Whether `next` may plausibly be what `from` knows closest before a key: among its
    /// successors (within twice the successor list's length plus [`FINGER_SLACK`] gaps of it:
    /// the list's span varies), or a
    /// finger (at most [`FINGER_SLACK`] gaps past `from + 2^j` for the largest `2^j` below the
    /// distance).
    pub(super) fn plausible_hop(&self, from: &ChordId, next: &ChordId) -> bool {
        let Some(gap) = self.mean_gap() else { return true };
        let d = from.fraction_to(next);
        if d <= (2.0 * self.config.successors as f64 + FINGER_SLACK) * gap {
            return true;
        }
        let past = d - d.log2().floor().exp2();
        past <= FINGER_SLACK * gap
    }

    /// Hardened: hop `from` of `op` named `next`, which cannot be one of its fingers or
    /// successors: `next` is skipped for the rest of the operation and `from` asked again. An
    /// honest hop (whose answer failed the check by bad luck) names its next best node; a liar
    /// must find another accomplice that passes, and runs out.
    pub(super) fn skip_named(&mut self, op: OpId, from: ChordId, next: ChordId) {
        let Some(o) = self.ops.get_mut(&op) else { return };
        if o.exclude.len() >= MAX_EXCLUDE {
            self.finish(op, Err(OpError::Unreachable));
            return;
        }
        o.exclude.push(next);
        match o.path.pop() {
            Some(hop) if hop.id == from => self.ask(op, hop),
            Some(hop) => {
                o.path.push(hop);
            }
            None => {}
        }
    }

    /// Hardened: the owner `op` found failed it (no answer, nothing, or refused records), so
    /// the node that named it and every hop of the path that led there are not asked again in
    /// this operation: one of them may be the liar that made the owner up, or steered the path
    /// to one that did. The next try takes another path. (Honest hops cost a detour: others
    /// know the same.) Nodes just past the key are spared — a node that redirected the request
    /// to its predecessor, say: they hold the key's replicas.
    pub(super) fn exclude_path(&mut self, op: OpId) {
        let me = self.routing.me().id;
        let Some(o) = self.ops.get(&op) else { return };
        let key = o.key;
        let suspects: Vec<ChordId> = o
            .namer
            .iter()
            .copied()
            .chain(o.path.iter().map(|e| e.id))
            .filter(|id| *id != me && !self.plausible_owner(&key, id, &[]))
            .collect();
        let Some(o) = self.ops.get_mut(&op) else { return };
        o.namer = None;
        for id in suspects {
            if o.exclude.len() >= MAX_EXCLUDE {
                break;
            }
            if !o.exclude.contains(&id) {
                o.exclude.push(id);
            }
        }
    }
}
