//! A lookup's steps: asking the next hop (each answer must make progress toward the key),
//! backing up past a hop that fails or misroutes, and what is done once the key's successor is
//! found (a put, a get — asking the replicas if the owner has nothing — a join, a probe).

use super::*;

impl<A: Clone + PartialEq + std::fmt::Debug> Node<A> {
    pub(super) fn local_step(&mut self, op: OpId, now: Millis) {
        let Some(o) = self.ops.get(&op) else { return };
        let step = self.routing.step(&o.key, &o.exclude);
        match step {
            Step::Done(n) => self.found(op, n, None, now),
            Step::Next(n) => self.ask(op, n),
        }
    }

    /// Counts one more hop for `op`; false (and the operation failed) past `max_hops` or if
    /// `op` is gone.
    pub(super) fn count_hop(&mut self, op: OpId) -> bool {
        let Some(o) = self.ops.get_mut(&op) else { return false };
        o.hops += 1;
        if o.hops > self.config.max_hops {
            let hops = o.hops;
            self.finish(op, Err(OpError::TooManyHops(hops)));
            return false;
        }
        true
    }

    pub(super) fn ask(&mut self, op: OpId, n: Entry<A>) {
        if !self.count_hop(op) {
            return;
        }
        let Some(o) = self.ops.get_mut(&op) else { return };
        o.path.push(n.clone());
        let request = Request::FindSuccessor {
            key: o.key,
            exclude: o.exclude.clone(),
        };
        let id = n.id;
        if !self.send(n, request, Pending::Step(op, id)) {
            self.finish(op, Err(OpError::Busy));
        }
    }

    pub(super) fn finish(&mut self, op: OpId, result: Result<OpResult<A>, OpError>) {
        let Some(o) = self.ops.remove(&op) else { return };
        if self.finger_op == Some(op) {
            self.finger_op = None;
        }
        // A put that wrote some of its copies before it failed stored the records.
        let result = match (result, o.first) {
            (Err(_), Some(node)) if matches!(o.purpose, Purpose::Put(_)) => Ok(OpResult::Stored { node, hops: o.hops }),
            (result, _) => result,
        };
        match o.purpose {
            Purpose::Finger(i) => {
                if let Ok(OpResult::Found { node, .. }) = result {
                    self.routing.set_finger(i, node);
                }
            }
            _ => self.out.push(Output::Done { op, result }),
        }
    }

    /// The lookup of `op` found the key's successor `n`, as named by `namer` (`None`: by this
    /// node).
    pub(super) fn found(&mut self, op: OpId, n: Entry<A>, namer: Option<ChordId>, now: Millis) {
        let Some(o) = self.ops.get_mut(&op) else { return };
        o.target = Some(n.clone());
        o.namer = namer;
        let o = &*o;
        let hops = o.hops;
        let path = o.path.clone();
        let me = self.routing.me().clone();
        let local = n.id == me.id;
        let request = match &o.purpose {
            Purpose::Lookup | Purpose::Finger(_) => {
                self.finish(op, Ok(OpResult::Found { node: n, hops, path }));
                return;
            }
            Purpose::Probe => {
                self.routing.consider(n.clone());
                self.finish(op, Ok(OpResult::Found { node: n, hops, path }));
                return;
            }
            Purpose::Put(records) if local => {
                let records = records.clone();
                for r in &records {
                    self.records.put(r, now);
                }
                self.replicate_to_successors(&records, None);
                self.finish(op, Ok(OpResult::Stored { node: n, hops }));
                return;
            }
            Purpose::Get if local => {
                let records = self.records.get(&o.key, now, MAX_GET);
                self.finish(op, Ok(OpResult::Got { node: n, hops, records }));
                return;
            }
            Purpose::Join if local => {
                self.finish(op, Err(OpError::Unreachable));
                return;
            }
            Purpose::Put(records) => Request::Store {
                records: records.clone(),
                replicate: true,
                exclude: o.exclude.clone(),
            },
            Purpose::Get => Request::Get {
                key: o.key,
                exclude: o.exclude.clone(),
            },
            Purpose::Join => {
                self.routing.join(n.clone());
                Request::TakeOver { node: me }
            }
        };
        let id = n.id;
        if !self.send(n, request, Pending::Final(op, id)) {
            self.finish(op, Err(OpError::Busy));
        }
    }

    /// Hop `node` of `op` did not answer: it is forgotten, and the lookup goes on without it.
    pub(super) fn fail_step(&mut self, op: OpId, node: ChordId, now: Millis) {
        self.routing.forget(&node);
        self.drop_hop(op, node, now);
    }

    /// Hop `node` of `op` is not asked again in this operation; the lookup backs up to the hop
    /// before it.
    pub(super) fn drop_hop(&mut self, op: OpId, node: ChordId, now: Millis) {
        let Some(o) = self.ops.get_mut(&op) else { return };
        if o.exclude.len() >= MAX_EXCLUDE {
            self.finish(op, Err(OpError::Unreachable));
            return;
        }
        o.exclude.push(node);
        o.path.retain(|e| e.id != node);
        match o.path.pop() {
            Some(prev) => self.ask(op, prev),
            None if matches!(o.purpose, Purpose::Join | Purpose::Probe) => self.finish(op, Err(OpError::Unreachable)),
            None => self.local_step(op, now),
        }
    }
}
