//! One node's view of the Chord ring and the pure rules that maintain it: the predecessor, a list
//! of `r` successors, and 256 fingers (finger `i` is the first node at or after `me + 2^i`).
//!
//! Lookups are iterative from the asking node: each node asked answers with one [`Step`] —
//! `Done(successor)` when the key falls between it and its successor, otherwise `Next(node)`, the
//! closest node preceding the key that it knows (fingers and successors). Stabilization follows
//! the paper: a node asks its successor for its predecessor and successor list, adopts a closer
//! successor, and notifies it; `notify` adopts a closer predecessor; `fix_fingers` refreshes one
//! finger per round by a lookup of its start; a failed node is dropped from every table, its
//! place taken by the next successor. Pure: messages are carried by the caller (the network or a
//! simulator); `A` is the caller's address type.

use super::id::ChordId;

/// A node: its ring id and how to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<A> {
    /// Ring id (SHA-256 of the peer id).
    pub id: ChordId,
    /// Address.
    pub addr: A,
}

/// One step of a lookup, as answered by the node asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step<A> {
    /// The key's successor (the node responsible for it).
    Done(Entry<A>),
    /// Ask this node next.
    Next(Entry<A>),
}

/// Number of fingers: one per bit of the id.
pub const FINGERS: usize = 256;

/// A node's routing state.
#[derive(Clone, Debug)]
pub struct Routing<A> {
    me: Entry<A>,
    predecessor: Option<Entry<A>>,
    successors: Vec<Entry<A>>,
    fingers: Vec<Option<Entry<A>>>,
    r: usize,
    next_finger: usize,
}

impl<A: Clone + PartialEq> Routing<A> {
    /// A ring of one (`r` successors kept once others join; at least 1).
    pub fn new(me: Entry<A>, r: usize) -> Routing<A> {
        Routing {
            me,
            predecessor: None,
            successors: Vec::new(),
            fingers: vec![None; FINGERS],
            r: r.max(1),
            next_finger: 0,
        }
    }

    /// This node.
    pub fn me(&self) -> &Entry<A> {
        &self.me
    }

    /// The predecessor, if known.
    pub fn predecessor(&self) -> Option<&Entry<A>> {
        self.predecessor.as_ref()
    }

    /// The successor list, nearest first (empty: alone on the ring).
    pub fn successors(&self) -> &[Entry<A>] {
        &self.successors
    }

    /// The immediate successor (this node when alone).
    pub fn successor(&self) -> &Entry<A> {
        self.successors.first().unwrap_or(&self.me)
    }

    /// Finger `i`, if set.
    pub fn finger(&self, i: usize) -> Option<&Entry<A>> {
        self.fingers.get(i).and_then(Option::as_ref)
    }

    /// Where finger `i` starts: `me + 2^i`.
    pub fn finger_start(&self, i: usize) -> ChordId {
        self.me.id.add_pow2(i as u32)
    }

    /// Whether this node is responsible for `key` (it lies in `(predecessor, me]`); with no
    /// predecessor known, only a lone node claims everything.
    pub fn owns(&self, key: &ChordId) -> bool {
        match &self.predecessor {
            Some(p) => key.in_half_open(&p.id, &self.me.id),
            None => self.successors.is_empty(),
        }
    }

    /// Answers one step of a lookup for `key`, skipping the nodes in `exclude` (found dead by the
    /// asker).
    pub fn step(&self, key: &ChordId, exclude: &[ChordId]) -> Step<A> {
        // With every successor excluded (found dead by the asker), the nearest live-looking
        // node clockwise stands in; this node claims the key only when it knows no other.
        let succ = self
            .successors
            .iter()
            .find(|e| !exclude.contains(&e.id))
            .or_else(|| self.nearest_clockwise(exclude))
            .unwrap_or(&self.me);
        if succ.id == self.me.id || key.in_half_open(&self.me.id, &succ.id) {
            return Step::Done(succ.clone());
        }
        match self.closest_preceding(key, exclude) {
            Some(n) => Step::Next(n.clone()),
            None => Step::Done(succ.clone()),
        }
    }

    /// The known node nearest clockwise from this one (fingers and predecessor), skipping
    /// `exclude`.
    fn nearest_clockwise(&self, exclude: &[ChordId]) -> Option<&Entry<A>> {
        let me = self.me.id;
        self.fingers
            .iter()
            .flatten()
            .chain(self.predecessor.iter())
            .filter(|e| e.id != me && !exclude.contains(&e.id))
            .min_by(|a, b| me.fraction_to(&a.id).total_cmp(&me.fraction_to(&b.id)))
    }

    /// The known node that most closely precedes `key` (fingers and successors), if any,
    /// skipping `exclude`.
    pub fn closest_preceding(&self, key: &ChordId, exclude: &[ChordId]) -> Option<&Entry<A>> {
        let mut best: Option<&Entry<A>> = None;
        let candidates = self.fingers.iter().rev().flatten().chain(self.successors.iter());
        for n in candidates {
            if n.id.in_open(&self.me.id, key) && !exclude.contains(&n.id) && best.is_none_or(|b| n.id.in_open(&b.id, key)) {
                best = Some(n);
            }
        }
        best
    }

    /// Joining through any node: the lookup of our own id found `successor`.
    pub fn join(&mut self, successor: Entry<A>) {
        self.predecessor = None;
        if successor.id != self.me.id {
            self.successors = vec![successor];
        }
    }

    /// Stabilize: our successor said its predecessor is `pred` and its successors are `list`.
    /// Returns the node to notify (our successor, possibly a new one).
    ///
    /// The new list is the successor and its list. A successor on a ring with us always has a
    /// successor of its own (us, at least): one that names none but itself (a liar wanting to
    /// be our only successor, so that dropping it leaves us alone) does not make us drop the
    /// ones we know — they stay behind it, in ring order, until a request to them fails.
    pub fn on_successor_state(&mut self, pred: Option<Entry<A>>, list: &[Entry<A>]) -> Entry<A> {
        let succ = self.successor().clone();
        let mut head = succ.clone();
        if let Some(p) = pred
            && p.id != self.me.id
            && (succ.id == self.me.id || p.id.in_open(&self.me.id, &succ.id))
        {
            head = p;
        }
        let succ_id = succ.id;
        let mut next = vec![head.clone()];
        if head.id != succ.id {
            next.push(succ);
        }
        next.extend(list.iter().cloned());
        let me = self.me.id;
        if !list.iter().any(|e| e.id != succ_id && e.id != me) {
            next.extend(self.successors.iter().cloned());
            // Clockwise from here: the ids after ours, then those that wrap round.
            next.sort_by_key(|e| (e.id <= me, e.id));
        }
        self.set_successors(next);
        self.successor().clone()
    }

    fn set_successors(&mut self, list: Vec<Entry<A>>) {
        let mut out: Vec<Entry<A>> = Vec::with_capacity(self.r);
        for e in list {
            if e.id != self.me.id && !out.iter().any(|o| o.id == e.id) && out.len() < self.r {
                out.push(e);
            }
        }
        self.successors = out;
    }

    /// `candidate` thinks it may be our predecessor. Returns whether it became it.
    pub fn notify(&mut self, candidate: Entry<A>) -> bool {
        if candidate.id == self.me.id {
            return false;
        }
        let closer = self.predecessor.as_ref().is_none_or(|p| candidate.id.in_open(&p.id, &self.me.id));
        if closer {
            self.predecessor = Some(candidate.clone());
        }
        // A lone node learns its first successor this way too.
        if self.successors.is_empty() {
            self.successors = vec![candidate];
        }
        closer
    }

    /// The finger to refresh this round (round-robin), and its start.
    pub fn next_finger(&mut self) -> (usize, ChordId) {
        let i = self.next_finger;
        self.next_finger = (self.next_finger + 1) % FINGERS;
        (i, self.finger_start(i))
    }

    /// A lookup of finger `i`'s start found `node`. The following fingers whose starts also fall
    /// before `node` are the same node: they are set too, and the round-robin skips them (so a
    /// full refresh takes about log2 N lookups, not 256).
    pub fn set_finger(&mut self, i: usize, node: Entry<A>) {
        if i >= FINGERS {
            return;
        }
        if node.id == self.me.id {
            self.fingers[i] = None;
            return;
        }
        // The starts in (me, node] are a prefix of the table (they grow as powers of two).
        let end = (self.me.id.fingers_before(&node.id) as usize).min(FINGERS);
        let mut j = i + 1;
        while j < end {
            if self.fingers[j].as_ref() != Some(&node) {
                self.fingers[j] = Some(node.clone());
            }
            j += 1;
        }
        self.fingers[i] = Some(node);
        if self.next_finger == (i + 1) % FINGERS {
            self.next_finger = j % FINGERS;
        }
    }

    /// `id` did not answer: drop it from every table (the next successor takes its place; with
    /// no successor left, the nearest finger does, and stabilization walks back from there).
    pub fn forget(&mut self, id: &ChordId) {
        self.successors.retain(|e| e.id != *id);
        for f in &mut self.fingers {
            if f.as_ref().is_some_and(|e| e.id == *id) {
                *f = None;
            }
        }
        if self.predecessor.as_ref().is_some_and(|p| p.id == *id) {
            self.predecessor = None;
        }
        if self.successors.is_empty() {
            let me = self.me.id;
            let nearest = self
                .fingers
                .iter()
                .flatten()
                .chain(self.predecessor.iter())
                .min_by(|a, b| me.fraction_to(&a.id).total_cmp(&me.fraction_to(&b.id)))
                .cloned();
            if let Some(n) = nearest {
                self.successors.push(n);
            }
        }
    }

    /// Adopts `node` as successor if it lies between this node and its successor (a node heard
    /// of some other way, e.g. a new connection: this is how two rings that formed apart merge).
    pub fn consider(&mut self, node: Entry<A>) -> bool {
        let succ = self.successor().id;
        if node.id == self.me.id || self.successors.iter().any(|e| e.id == node.id) {
            return false;
        }
        if succ == self.me.id || node.id.in_open(&self.me.id, &succ) {
            let mut list = vec![node];
            list.extend(self.successors.iter().cloned());
            self.set_successors(list);
            return true;
        }
        false
    }

    /// `node` is leaving gracefully and named its own predecessor and successors: if it was our
    /// predecessor, its predecessor takes its place; if it was our successor, its successors do.
    pub fn on_leave(&mut self, node: &ChordId, predecessor: Option<Entry<A>>, successors: &[Entry<A>]) {
        if self.predecessor.as_ref().is_some_and(|p| p.id == *node) {
            self.predecessor = predecessor.filter(|p| p.id != self.me.id);
        }
        if self.successors.first().is_some_and(|s| s.id == *node) {
            let mut list: Vec<Entry<A>> = successors.to_vec();
            list.extend(self.successors.iter().skip(1).cloned());
            list.retain(|e| e.id != *node);
            self.set_successors(list);
        }
        let pred = self.predecessor.clone();
        self.forget(node);
        self.predecessor = pred;
    }

    /// check_predecessor: the predecessor did not answer.
    pub fn predecessor_failed(&mut self) {
        self.predecessor = None;
    }

    /// Every distinct node this node knows (successors, fingers, predecessor).
    pub fn known(&self) -> Vec<Entry<A>> {
        let mut out: Vec<Entry<A>> = Vec::new();
        let all = self
            .successors
            .iter()
            .chain(self.fingers.iter().flatten())
            .chain(self.predecessor.iter());
        for e in all {
            if !out.iter().any(|o| o.id == e.id) {
                out.push(e.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn entry(seed: u32) -> Entry<u32> {
        Entry {
            id: ChordId::hash(&seed.to_le_bytes()),
            addr: seed,
        }
    }

    /// Routing tables of a converged ring of `n` nodes, computed from the sorted ids.
    fn converged(n: u32, r: usize) -> BTreeMap<ChordId, Routing<u32>> {
        let mut ring: Vec<Entry<u32>> = (0..n).map(entry).collect();
        ring.sort_by_key(|e| e.id);
        let successor_of = |key: &ChordId| -> Entry<u32> { ring.iter().find(|e| e.id >= *key).unwrap_or(&ring[0]).clone() };
        let mut out = BTreeMap::new();
        for (i, e) in ring.iter().enumerate() {
            let mut rt = Routing::new(e.clone(), r);
            let succs: Vec<Entry<u32>> = (1..=r).map(|k| ring[(i + k) % ring.len()].clone()).collect();
            rt.set_successors(succs);
            rt.predecessor = Some(ring[(i + ring.len() - 1) % ring.len()].clone());
            for f in 0..FINGERS {
                let start = rt.finger_start(f);
                rt.set_finger(f, successor_of(&start));
            }
            out.insert(e.id, rt);
        }
        out
    }

    /// An iterative lookup from `from`: the responsible node and the hops taken.
    fn lookup(tables: &BTreeMap<ChordId, Routing<u32>>, from: ChordId, key: &ChordId) -> (ChordId, u32) {
        let mut at = from;
        let mut hops = 0;
        loop {
            match tables[&at].step(key, &[]) {
                Step::Done(n) => return (n.id, hops),
                Step::Next(n) => {
                    at = n.id;
                    hops += 1;
                    assert!(hops < 300, "lookup loops");
                }
            }
        }
    }

    #[test]
    fn lookups_find_the_responsible_node_in_about_half_log_n_hops() {
        let tables = converged(1024, 8);
        let ids: Vec<ChordId> = tables.keys().copied().collect();
        let mut total = 0u64;
        let keys = 2000u32;
        for k in 0..keys {
            let key = ChordId::hash(format!("key{k}").as_bytes());
            let from = ids[(k as usize * 7) % ids.len()];
            let (node, hops) = lookup(&tables, from, &key);
            let owner = ids.iter().copied().find(|i| *i >= key).unwrap_or(ids[0]);
            assert_eq!(node, owner, "wrong node for key {k}");
            assert!(tables[&node].owns(&key));
            total += u64::from(hops);
        }
        let mean = total as f64 / f64::from(keys);
        // The paper: about ½·log2 N = 5 for N = 1024.
        assert!((4.0..6.0).contains(&mean), "mean path length {mean}");
    }

    #[test]
    fn stabilization_joins_nodes_into_one_ring() {
        // Nodes join one at a time through node 0, then everyone stabilizes a few rounds.
        let n = 20u32;
        let mut tables: BTreeMap<ChordId, Routing<u32>> = BTreeMap::new();
        let first = entry(0);
        tables.insert(first.id, Routing::new(first.clone(), 4));
        for s in 1..n {
            let e = entry(s);
            let mut rt = Routing::new(e.clone(), 4);
            let (succ, _) = lookup(&tables, first.id, &e.id);
            rt.join(tables[&succ].me().clone());
            tables.insert(e.id, rt);
            for _ in 0..3 {
                stabilize_all(&mut tables);
            }
        }
        for _ in 0..10 {
            stabilize_all(&mut tables);
        }
        let ids: Vec<ChordId> = tables.keys().copied().collect();
        for (i, id) in ids.iter().enumerate() {
            let rt = &tables[id];
            assert_eq!(rt.successor().id, ids[(i + 1) % ids.len()], "successor of node {i}");
            assert_eq!(rt.predecessor().unwrap().id, ids[(i + ids.len() - 1) % ids.len()]);
            assert_eq!(rt.successors().len(), 4);
        }
        // A failed successor is replaced from the list.
        let victim = ids[1];
        tables.remove(&victim);
        let rt = tables.get_mut(&ids[0]).unwrap();
        rt.forget(&victim);
        assert_eq!(rt.successor().id, ids[2]);
    }

    #[test]
    fn a_successor_that_names_no_successor_does_not_empty_the_list() {
        let tables = converged(20, 4);
        let (id, rt) = tables.iter().next().unwrap();
        let mut rt = rt.clone();
        let known: Vec<ChordId> = rt.successors().iter().map(|e| e.id).collect();
        assert_eq!(known.len(), 4);
        // The successor says it has no successor but itself: the rest of the list stays, in order.
        let succ = rt.successor().clone();
        rt.on_successor_state(Some(rt.me().clone()), std::slice::from_ref(&succ));
        assert_eq!(rt.successors().iter().map(|e| e.id).collect::<Vec<_>>(), known, "{id:?}");
        rt.on_successor_state(None, &[]);
        assert_eq!(rt.successors().iter().map(|e| e.id).collect::<Vec<_>>(), known);
        // Dropping the liar leaves the next one in front.
        rt.forget(&succ.id);
        assert_eq!(rt.successor().id, known[1]);
        // An honest full list is taken as it is (a node it leaves out is gone).
        let list: Vec<Entry<u32>> = tables[&known[1]].successors().to_vec();
        rt.on_successor_state(None, &list[..2]);
        assert_eq!(rt.successors().len(), 3);
    }

    fn stabilize_all(tables: &mut BTreeMap<ChordId, Routing<u32>>) {
        let ids: Vec<ChordId> = tables.keys().copied().collect();
        for id in &ids {
            let succ = tables[id].successor().id;
            let (pred, list) = match tables.get(&succ) {
                Some(s) => (s.predecessor().cloned(), s.successors().to_vec()),
                None => continue,
            };
            let me = tables[id].me().clone();
            let notify = tables.get_mut(id).unwrap().on_successor_state(pred, &list);
            if let Some(s) = tables.get_mut(&notify.id) {
                s.notify(me);
            }
            // fix_fingers, a few per round.
            for _ in 0..8 {
                let (i, start) = tables.get_mut(id).unwrap().next_finger();
                let (node, _) = lookup(tables, *id, &start);
                let e = tables[&node].me().clone();
                tables.get_mut(id).unwrap().set_finger(i, e);
            }
        }
    }
}
