//! Records from other nodes — a `Store` request's, a get's or a take-over's answer: they are
//! checked before the ring state machine sees them, the
//! signatures off the runtime (up to [`MAX_BATCH`] ed25519 checks, about 25 ms: a flood of
//! stores must not stall the index task).
//!
//! Expired records (clocks differ) are dropped quietly, and so are those of publishers below
//! the ring puzzle; lifetimes are cut to what each signature allows. One unsigned, badly signed,
//! misfiled or malformed record and the sender is forging (an honest node passes on only records
//! it checked): nothing is stored and it is banned. Bytes identical to a record stored here
//! were checked when they came first (the owner's and its predecessors' pushes repeat every
//! record every 10 s): only their expiry is read again, on the task.

use super::*;
use crate::chord::state::MAX_BATCH;

/// A `Store` whose records were checked.
pub(super) struct Checked {
    peer: PeerId,
    vnode: u8,
    /// The records kept, in the order they came; `None` if one was forged.
    records: Option<Vec<Record>>,
    replicate: bool,
    exclude: Vec<crate::chord::ChordId>,
    responder: IndexResponder,
}

impl Service {
    /// A `Store` from `peer` for virtual node `vnode`: its records are checked (see the module
    /// documentation), then handed to the state machine.
    #[expect(clippy::too_many_arguments, reason = "the fields of one request, moved once")]
    pub(super) fn on_store(
        &mut self,
        peer: PeerId,
        vnode: u8,
        mut records: Vec<Record>,
        replicate: bool,
        exclude: Vec<crate::chord::ChordId>,
        responder: IndexResponder,
        now: Millis,
    ) {
        records.truncate(MAX_BATCH);
        let bits = self.config.puzzle_bits;
        let held = self.vnodes.get(usize::from(vnode)).map(Node::records);
        let known: Vec<bool> = records.iter().map(|r| held.is_some_and(|h| h.holds(r))).collect();
        let mut checked = Checked {
            peer,
            vnode,
            records: None,
            replicate,
            exclude,
            responder,
        };
        if known.iter().all(|k| *k) {
            // Nothing new: no signature to check, so no trip off the runtime.
            checked.records = check(records, &known, bits);
            self.store_checked(checked, now);
            return;
        }
        self.inflight.push(Box::pin(async move {
            checked.records = tokio::task::spawn_blocking(move || check(records, &known, bits))
                .await
                .ok()
                .flatten();
            Reply::Stored(Box::new(checked))
        }));
    }

    /// The checked records of a `Store` go to the state machine (or its sender is banned).
    pub(super) fn store_checked(&mut self, checked: Checked, now: Millis) {
        let Checked {
            peer,
            vnode,
            records,
            replicate,
            exclude,
            responder,
        } = checked;
        let Some(records) = records else {
            warn!(%peer, "forged index records: banned");
            let net = self.network.clone();
            self.inflight.push(Box::pin(async move {
                net.ban(peer, SPOOF_BAN, "forged index records").await;
                Reply::Sent
            }));
            self.network.respond_index(responder, IndexResponse::NotHere);
            return;
        };
        let request = Request::Store {
            records,
            replicate,
            exclude,
        };
        self.answer_chord(vnode, request, responder, now);
    }
}

/// Checks `records` (`known[i]`: the same bytes are stored already, so only the expiry is read
/// again); `None` if one is forged.
fn check(records: Vec<Record>, known: &[bool], bits: u8) -> Option<Vec<Record>> {
    let now = payload::unix_ms();
    let mut kept = Vec::with_capacity(records.len());
    for (i, mut r) in records.into_iter().enumerate() {
        let keep = if known.get(i).copied().unwrap_or(false) {
            payload::refresh(&mut r, now)
        } else {
            match payload::admit(&mut r, now, bits) {
                Ok(()) => true,
                // No need to check the rest: the whole batch is refused.
                Err(payload::Refused::Forged) => return None,
                Err(payload::Refused::Expired | payload::Refused::Weak) => false,
            }
        };
        if keep {
            kept.push(r);
        }
    }
    Some(kept)
}

/// Checks the records `peer` answered to a get or a take-over, off the runtime, as a store's:
/// one forged record and the whole answer is refused (`None`: the asker tries the next replica)
/// and `peer` banned, since an honest node hands out only records it checked when it stored them.
pub(super) async fn check_answered(net: &NetworkHandle, peer: PeerId, records: Vec<Record>, bits: u8) -> Option<Vec<Record>> {
    let checked = tokio::task::spawn_blocking(move || check(records, &[], bits)).await.ok()?;
    if checked.is_none() {
        warn!(%peer, "forged index records answered: banned");
        net.ban(peer, SPOOF_BAN, "forged index records").await;
    }
    checked
}
