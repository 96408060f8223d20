//! The memory pool: valid unconfirmed transactions waiting for a block.
//!
//! A transaction is admitted only if it is valid on top of the current tip, spending confirmed
//! coins or outputs of other pool transactions. A spend of an output that a pool transaction
//! already spends is rejected as a conflict (there is no replacement). The pool is ordered by fee
//! rate and bounded in bytes: when full, the lowest fee-rate transactions (with their
//! descendants) make room for a better one, or the newcomer is refused. When blocks connect,
//! their transactions and anything conflicting with them leave; when blocks disconnect in a
//! reorg, their transactions come back and the whole pool is re-validated against the new tip.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};

use crate::amount::Amount;
use crate::block::Block;
use crate::chain::{Chainstate, TipUpdate};
use crate::error::{StoreError, TxError};
use crate::hash::Txid;
use crate::transaction::{OutPoint, Transaction};
use crate::utxo::Coin;
use crate::validation::{check_transaction, check_tx_inputs, verify_all};

/// Default size bound: 300 MB of transactions, as Bitcoin Core's `-maxmempool`.
pub const DEFAULT_MAX_BYTES: usize = 300_000_000;
/// Minimum relay fee rate in base units per 1000 bytes (Core's 1 sat/vB).
pub const MIN_RELAY_FEE_PER_KB: u64 = 1_000;
/// Outputs of a transaction with a missing input looked up to tell whether it is confirmed
/// already (`AlreadyKnown` rather than `MissingOrSpent`; both are refusals).
const CONFIRMED_PROBE: usize = 8;
/// Most transactions in a pool transaction's set of in-pool ancestors, itself included
/// (Core's `-limitancestorcount`), and most bytes in that set (`-limitancestorsize`).
pub const MAX_ANCESTORS: usize = 25;
/// See [`MAX_ANCESTORS`].
pub const MAX_ANCESTOR_BYTES: usize = 101_000;
/// Most transactions in a pool transaction's set of in-pool descendants, itself included
/// (Core's `-limitdescendantcount`), and most bytes in that set (`-limitdescendantsize`).
/// With both limits every walk of the pool's graph below stays within 25 transactions.
pub const MAX_DESCENDANTS: usize = 25;
/// See [`MAX_DESCENDANTS`].
pub const MAX_DESCENDANT_BYTES: usize = 101_000;

/// Most transactions `prioritise` keeps a fee delta for.
pub const MAX_PRIORITISED: usize = 100_000;

/// A fee rate in base units per 1000 bytes.
pub fn fee_rate(fee: Amount, size: usize) -> u64 {
    (u128::from(fee.to_units()) * 1000 / size.max(1) as u128).min(u128::from(u64::MAX)) as u64
}

/// A pool transaction with what was learned validating it.
#[derive(Clone, Debug)]
pub struct MempoolEntry {
    /// The transaction.
    pub tx: Transaction,
    /// Its id.
    pub txid: Txid,
    /// Inputs minus outputs.
    pub fee: Amount,
    /// Encoded size.
    pub size: usize,
    /// Unix time it entered the pool.
    pub time: u64,
    /// Tip height when it entered.
    pub height: u32,
    sequence: u64,
    /// The fee rate it is ranked by (for mining and eviction): with `prioritise`'s delta.
    rank: u64,
}

impl MempoolEntry {
    /// Fee per 1000 bytes.
    pub fn fee_rate(&self) -> u64 {
        fee_rate(self.fee, self.size)
    }
}

/// A transaction that passed [`Mempool::check`]: what admitting it takes.
#[derive(Clone, Debug)]
pub struct Admission {
    /// The transaction.
    pub tx: Transaction,
    /// Its id.
    pub txid: Txid,
    /// Inputs minus outputs.
    pub fee: Amount,
    /// Encoded size.
    pub size: usize,
    /// The fee rate it is ranked by (with any `prioritise` delta).
    pub rate: u64,
    /// Pool transactions that would be evicted to make room.
    pub evict: Vec<Txid>,
}

/// A rejection: the transaction is invalid or unwanted, or the coin store failed.
#[derive(Debug, thiserror::Error)]
pub enum MempoolError {
    /// Rejected, with the reason.
    #[error(transparent)]
    Rejected(#[from] TxError),
    /// The chain store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

type RateKey = (u64, Reverse<u64>, Txid);

/// The memory pool.
#[derive(Debug)]
pub struct Mempool {
    entries: HashMap<Txid, MempoolEntry>,
    by_rate: BTreeSet<RateKey>,
    spent_by: HashMap<OutPoint, Txid>,
    total_bytes: usize,
    max_bytes: usize,
    next_sequence: u64,
    /// Transactions added plus transactions removed, ever (Core's `mempool_sequence`).
    changes: u64,
    /// Fee deltas of `prioritise` (Core's `prioritisetransaction`), also for transactions not
    /// (yet) in the pool; at most [`MAX_PRIORITISED`].
    deltas: HashMap<Txid, i64>,
    /// What entered and left, for [`Mempool::take_events`]; `None` when nobody listens.
    events: Option<Vec<MempoolEvent>>,
}

/// A change to the pool, for whoever follows it (the wallet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MempoolEvent {
    /// The transaction entered the pool.
    Added(Transaction),
    /// The transaction left the pool (confirmed, in conflict with a block, evicted, or invalid
    /// after a reorg).
    Removed(Txid),
}

impl Mempool {
    /// An empty pool holding at most `max_bytes` of transactions.
    pub fn new(max_bytes: usize) -> Self {
        Mempool {
            entries: HashMap::new(),
            by_rate: BTreeSet::new(),
            spent_by: HashMap::new(),
            total_bytes: 0,
            max_bytes,
            next_sequence: 0,
            changes: 0,
            deltas: HashMap::new(),
            events: None,
        }
    }

    /// Starts keeping a log of what enters and leaves the pool; the owner drains it with
    /// [`Mempool::take_events`] after each change (it holds at most one change's worth).
    pub fn record_events(&mut self) {
        self.events.get_or_insert_with(Vec::new);
    }

    /// What entered and left since the last call, in order. A reorg's rebuild of the pool is
    /// reported by its net effect (what left, what is new), not as every transaction leaving
    /// and coming back.
    pub fn take_events(&mut self) -> Vec<MempoolEvent> {
        self.events.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Total encoded bytes held.
    pub fn bytes(&self) -> usize {
        self.total_bytes
    }

    /// The size bound.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The lowest fee rate a transaction must beat to enter a full pool (0 if not full).
    pub fn min_fee_rate(&self) -> u64 {
        if self.total_bytes * 10 < self.max_bytes * 9 {
            MIN_RELAY_FEE_PER_KB
        } else {
            self.by_rate.first().map_or(MIN_RELAY_FEE_PER_KB, |k| k.0.max(MIN_RELAY_FEE_PER_KB))
        }
    }

    /// How many times a transaction entered or left the pool (Core's `mempool_sequence`).
    pub fn sequence(&self) -> u64 {
        self.changes
    }

    /// Whether the transaction is held.
    pub fn contains(&self, txid: &Txid) -> bool {
        self.entries.contains_key(txid)
    }

    /// A held transaction.
    pub fn get(&self, txid: &Txid) -> Option<&MempoolEntry> {
        self.entries.get(txid)
    }

    /// All entries, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = &MempoolEntry> {
        self.entries.values()
    }

    /// The pool transactions `txid` spends outputs of, and theirs, transitively (not `txid`).
    pub fn ancestors_of(&self, txid: &Txid) -> Vec<Txid> {
        let mut seen: HashSet<Txid> = HashSet::from([*txid]);
        let mut out = vec![*txid];
        let mut i = 0;
        while i < out.len() {
            if let Some(e) = self.entries.get(&out[i]) {
                for input in &e.tx.inputs {
                    let parent = input.prevout.txid;
                    if self.entries.contains_key(&parent) && seen.insert(parent) {
                        out.push(parent);
                    }
                }
            }
            i += 1;
        }
        out.remove(0);
        out
    }

    /// The pool transactions spending outputs of `txid`, and theirs, transitively (not `txid`).
    pub fn descendants_of(&self, txid: &Txid) -> Vec<Txid> {
        let mut out = self.descendants(txid);
        out.remove(0);
        out
    }

    /// `fee` with the delta `prioritise` gave `txid` (never below zero).
    fn modified(&self, txid: &Txid, fee: Amount) -> Amount {
        let delta = self.deltas.get(txid).copied().unwrap_or(0);
        let units = i128::from(fee.to_units()) + i128::from(delta);
        Amount::from_units(units.clamp(0, i128::from(Amount::MAX_MONEY.to_units())) as u64).unwrap_or(Amount::MAX_MONEY)
    }

    /// A pool entry's fee with its `prioritise` delta (Core's modified fee).
    pub fn modified_fee(&self, e: &MempoolEntry) -> Amount {
        self.modified(&e.txid, e.fee)
    }

    /// Adds `delta` base units to the fee `txid` is ranked by for mining and eviction (Core's
    /// `prioritisetransaction`); it need not be in the pool yet. The fee it pays is unchanged.
    /// Returns false, changing nothing, when [`MAX_PRIORITISED`] other transactions have a
    /// delta already.
    pub fn prioritise(&mut self, txid: Txid, delta: i64) -> bool {
        if !self.deltas.contains_key(&txid) && self.deltas.len() >= MAX_PRIORITISED {
            return false;
        }
        let total = self.deltas.get(&txid).copied().unwrap_or(0).saturating_add(delta);
        if total == 0 {
            self.deltas.remove(&txid);
        } else {
            self.deltas.insert(txid, total);
        }
        if let Some(e) = self.entries.get(&txid) {
            let old = (e.rank, Reverse(e.sequence), txid);
            let rank = fee_rate(self.modified(&txid, e.fee), e.size);
            self.by_rate.remove(&old);
            self.by_rate.insert((rank, old.1, txid));
            if let Some(e) = self.entries.get_mut(&txid) {
                e.rank = rank;
            }
        }
        true
    }

    /// The pool transaction spending `op`, if any.
    pub fn spender(&self, op: &OutPoint) -> Option<Txid> {
        self.spent_by.get(op).copied()
    }

    /// An output of a pool transaction, as a coin of the next block's height.
    fn pool_coin(&self, op: &OutPoint, height: u32) -> Option<Coin> {
        let e = self.entries.get(&op.txid)?;
        let out = e.tx.outputs.get(op.vout as usize)?;
        (!out.lock.is_unspendable()).then(|| Coin {
            output: out.clone(),
            height,
            is_coinbase: false,
        })
    }

    /// Validates `tx` on top of the chain's tip and this pool and admits it.
    ///
    /// # Errors
    /// [`MempoolError::Rejected`] with the reason, or [`MempoolError::Store`].
    pub fn accept(&mut self, tx: Transaction, chain: &Chainstate, now: u64) -> Result<Txid, MempoolError> {
        let admission = match self.check(tx, chain, now) {
            Ok(a) => a,
            Err(e) => {
                tracing::debug!(error = %e, "transaction not accepted to the mempool");
                return Err(e);
            }
        };
        let (fee, size) = (admission.fee, admission.size);
        let txid = self.admit(admission, chain, now);
        // Core's `mempool` category line: what entered, and how big the pool is now.
        tracing::debug!(%txid, %fee, size, txs = self.len(), bytes = self.bytes(), "accepted to the mempool");
        Ok(txid)
    }

    /// Every check [`Mempool::accept`] makes, signatures included, without changing the pool
    /// (Core's `testmempoolaccept`): what admitting it would take.
    ///
    /// # Errors
    /// As [`Mempool::accept`].
    pub fn check(&self, tx: Transaction, chain: &Chainstate, now: u64) -> Result<Admission, MempoolError> {
        let params = chain.params();
        let txid = tx.compute_txid();
        if self.entries.contains_key(&txid) {
            return Err(TxError::AlreadyKnown.into());
        }
        check_transaction(&tx, params)?;
        if tx.is_coinbase() {
            return Err(TxError::UnexpectedCoinbase.into());
        }
        let ctx = chain.next_block_context(now);
        if !tx.is_final(ctx.height, ctx.median_time_past) {
            return Err(TxError::NonFinal.into());
        }
        for input in &tx.inputs {
            if let Some(by) = self.spent_by.get(&input.prevout) {
                return Err(TxError::Conflict {
                    outpoint: input.prevout,
                    by: *by,
                }
                .into());
            }
        }
        // Inputs first: what a sender must have paid for. Only a transaction with a missing input
        // can be one that is confirmed already (a confirmed one spent its inputs); then a few of
        // its own outputs tell, never one look-up per output of a free transaction.
        let prevouts: Vec<OutPoint> = tx.inputs.iter().map(|i| i.prevout).collect();
        let from_chain = chain.get_coins(&prevouts)?;
        let coins: Vec<Option<Coin>> = prevouts
            .iter()
            .zip(from_chain)
            .map(|(op, c)| c.or_else(|| self.pool_coin(op, ctx.height)))
            .collect();
        if coins.iter().any(Option::is_none) {
            let probe = tx.outputs.len().min(CONFIRMED_PROBE) as u32;
            let own: Vec<OutPoint> = (0..probe).map(|v| OutPoint::new(txid, v)).collect();
            if chain.get_coins(&own)?.iter().any(Option::is_some) {
                return Err(TxError::AlreadyKnown.into());
            }
        }
        let checked = check_tx_inputs(&tx, &coins, ctx.height, params)?;
        let fee = checked.fee;
        let size = tx.size();
        let min_fee = Amount::from_units((size as u64 * MIN_RELAY_FEE_PER_KB).div_ceil(1000)).unwrap_or(Amount::MAX_MONEY);
        if fee < min_fee {
            return Err(TxError::FeeTooLow { fee, min: min_fee }.into());
        }
        // Package limits before the signatures: they cost a few map look-ups, signatures cost
        // far more.
        self.check_package_limits(&tx, size)?;
        let checks: Vec<_> = checked.sig_checks.into_iter().map(|c| (0usize, c)).collect();
        verify_all(&checks, Some(chain.sig_cache())).map_err(|(_, e)| MempoolError::Rejected(e))?;
        let rate = fee_rate(self.modified(&txid, fee), size);
        let evict = self.plan_room(size, rate, &tx)?;
        Ok(Admission {
            tx,
            txid,
            fee,
            size,
            rate,
            evict,
        })
    }

    /// Admits a checked transaction, evicting what the check planned to.
    fn admit(&mut self, admission: Admission, chain: &Chainstate, now: u64) -> Txid {
        let Admission {
            tx,
            txid,
            fee,
            size,
            rate,
            evict,
        } = admission;
        for t in evict {
            self.remove_one(&t);
        }
        let entry = MempoolEntry {
            tx,
            txid,
            fee,
            size,
            time: now,
            height: chain.height(),
            sequence: self.next_sequence,
            rank: rate,
        };
        self.next_sequence += 1;
        self.changes += 1;
        self.insert(entry);
        txid
    }

    /// The in-pool ancestors of a transaction spending `inputs`; `None` once there are more than
    /// `limit` (the walk stops there).
    fn ancestors(&self, tx: &Transaction, limit: usize) -> Option<Vec<Txid>> {
        let mut out: Vec<Txid> = Vec::new();
        let mut stack: Vec<Txid> = tx.inputs.iter().map(|i| i.prevout.txid).collect();
        while let Some(t) = stack.pop() {
            let Some(e) = self.entries.get(&t) else { continue };
            if out.contains(&t) {
                continue;
            }
            out.push(t);
            if out.len() > limit {
                return None;
            }
            stack.extend(e.tx.inputs.iter().map(|i| i.prevout.txid));
        }
        Some(out)
    }

    /// Refuses `tx` (of `size` bytes) if it would have too many in-pool ancestors, or make an
    /// ancestor's descendants too many (Core's limits, [`MAX_ANCESTORS`], [`MAX_DESCENDANTS`]).
    fn check_package_limits(&self, tx: &Transaction, size: usize) -> Result<(), TxError> {
        let too_long = |what: String| TxError::TooLongMempoolChain(what);
        let ancestors = self
            .ancestors(tx, MAX_ANCESTORS - 1)
            .ok_or_else(|| too_long(format!("too many unconfirmed ancestors [limit: {MAX_ANCESTORS}]")))?;
        let bytes: usize = size + ancestors.iter().map(|a| self.entries[a].size).sum::<usize>();
        if bytes > MAX_ANCESTOR_BYTES {
            return Err(too_long(format!("exceeds ancestor size limit [limit: {MAX_ANCESTOR_BYTES}]")));
        }
        for a in &ancestors {
            let below = self.descendants(a);
            let bytes: usize = size + below.iter().map(|d| self.entries[d].size).sum::<usize>();
            if below.len() + 1 > MAX_DESCENDANTS {
                return Err(too_long(format!("too many descendants for tx {a} [limit: {MAX_DESCENDANTS}]")));
            }
            if bytes > MAX_DESCENDANT_BYTES {
                return Err(too_long(format!(
                    "exceeds descendant size limit for tx {a} [limit: {MAX_DESCENDANT_BYTES}]"
                )));
            }
        }
        Ok(())
    }

    fn insert(&mut self, entry: MempoolEntry) {
        for input in &entry.tx.inputs {
            self.spent_by.insert(input.prevout, entry.txid);
        }
        self.by_rate.insert((entry.rank, Reverse(entry.sequence), entry.txid));
        self.total_bytes += entry.size;
        if let Some(events) = &mut self.events {
            events.push(MempoolEvent::Added(entry.tx.clone()));
        }
        self.entries.insert(entry.txid, entry);
    }

    /// The lowest fee-rate transactions (with descendants) to evict so that `size` more bytes
    /// fit, as long as what is evicted pays a lower rate than `rate`.
    fn plan_room(&self, size: usize, rate: u64, tx: &Transaction) -> Result<Vec<Txid>, TxError> {
        if size > self.max_bytes {
            return Err(TxError::MempoolFull {
                feerate: rate,
                min: u64::MAX,
            });
        }
        let parents: HashSet<Txid> = tx
            .inputs
            .iter()
            .map(|i| i.prevout.txid)
            .filter(|t| self.entries.contains_key(t))
            .collect();
        // Plan first, so a refusal leaves the pool untouched.
        let mut evict: Vec<Txid> = Vec::new();
        let mut freed = 0usize;
        let mut planned: HashSet<Txid> = HashSet::new();
        for key in self.by_rate.iter() {
            if self.total_bytes - freed + size <= self.max_bytes {
                break;
            }
            if key.0 >= rate {
                return Err(TxError::MempoolFull { feerate: rate, min: key.0 });
            }
            for t in self.descendants(&key.2) {
                if parents.contains(&t) {
                    // Evicting our own parent would orphan the newcomer.
                    return Err(TxError::MempoolFull { feerate: rate, min: key.0 });
                }
                if planned.insert(t) {
                    freed += self.entries[&t].size;
                    evict.push(t);
                }
            }
        }
        if self.total_bytes - freed + size > self.max_bytes {
            return Err(TxError::MempoolFull { feerate: rate, min: rate });
        }
        Ok(evict)
    }

    /// `txid` and every pool transaction that spends its outputs, transitively.
    fn descendants(&self, txid: &Txid) -> Vec<Txid> {
        let mut out = vec![*txid];
        let mut i = 0;
        while i < out.len() {
            let t = out[i];
            if let Some(e) = self.entries.get(&t) {
                for v in 0..e.tx.outputs.len() as u32 {
                    if let Some(child) = self.spent_by.get(&OutPoint::new(t, v))
                        && !out.contains(child)
                    {
                        out.push(*child);
                    }
                }
            }
            i += 1;
        }
        out
    }

    fn remove_one(&mut self, txid: &Txid) -> Option<MempoolEntry> {
        let e = self.entries.remove(txid)?;
        self.changes += 1;
        for input in &e.tx.inputs {
            if self.spent_by.get(&input.prevout) == Some(txid) {
                self.spent_by.remove(&input.prevout);
            }
        }
        self.by_rate.remove(&(e.rank, Reverse(e.sequence), e.txid));
        self.total_bytes -= e.size;
        if let Some(events) = &mut self.events {
            events.push(MempoolEvent::Removed(e.txid));
        }
        Some(e)
    }

    /// Removes a transaction and its descendants; returns how many left.
    pub fn remove_with_descendants(&mut self, txid: &Txid) -> usize {
        self.descendants(txid).iter().filter(|t| self.remove_one(t).is_some()).count()
    }

    /// Removes the block's transactions and every pool transaction that conflicts with them
    /// (with descendants).
    pub fn remove_for_block(&mut self, block: &Block) {
        for tx in &block.txdata {
            let txid = tx.compute_txid();
            self.remove_one(&txid);
            // Mined: its priority has served (Core clears it too).
            self.deltas.remove(&txid);
            if tx.is_coinbase() {
                continue;
            }
            for input in &tx.inputs {
                if let Some(other) = self.spent_by.get(&input.prevout).copied() {
                    self.remove_with_descendants(&other);
                }
            }
        }
    }

    /// Brings the pool in line with a moved tip. Without disconnected blocks the connected
    /// blocks' transactions and their conflicts leave. After a reorg, the disconnected blocks'
    /// transactions (oldest block first) and the old pool are re-validated against the new tip:
    /// what is still valid stays or comes back; what was confirmed or conflicts is dropped.
    /// Returns the ids of the transactions that were dropped as invalid after a reorg.
    ///
    /// # Errors
    /// Store failures.
    pub fn update_for_tip(&mut self, update: &TipUpdate, chain: &Chainstate, now: u64) -> Result<Vec<(Txid, TxError)>, StoreError> {
        if update.disconnected().next().is_none() {
            for (block, _) in update.connected() {
                self.remove_for_block(block);
            }
            return Ok(Vec::new());
        }
        // The rebuild is reported by its net effect (see `take_events`).
        let mut logged = self.events.take();
        let before: HashSet<Txid> = self.entries.keys().copied().collect();
        let mut old: Vec<MempoolEntry> = self.entries.drain().map(|(_, e)| e).collect();
        self.changes += old.len() as u64;
        old.sort_by_key(|e| e.sequence);
        self.by_rate.clear();
        self.spent_by.clear();
        self.total_bytes = 0;
        let mut candidates: Vec<Transaction> = Vec::new();
        // Blocks come off newest first; re-add oldest first so parents precede children.
        for block in update.disconnected().rev() {
            candidates.extend(block.txdata.iter().filter(|t| !t.is_coinbase()).cloned());
        }
        candidates.extend(old.into_iter().map(|e| e.tx));
        let mut dropped = Vec::new();
        let mut failed = None;
        for tx in candidates {
            let txid = tx.compute_txid();
            match self.accept(tx, chain, now) {
                Ok(_) => {}
                Err(MempoolError::Rejected(e)) => dropped.push((txid, e)),
                Err(MempoolError::Store(e)) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(events) = &mut logged {
            events.extend(
                before
                    .iter()
                    .filter(|t| !self.entries.contains_key(t))
                    .map(|t| MempoolEvent::Removed(*t)),
            );
            let mut added: Vec<&MempoolEntry> = self.entries.values().filter(|e| !before.contains(&e.txid)).collect();
            added.sort_by_key(|e| e.sequence);
            events.extend(added.into_iter().map(|e| MempoolEvent::Added(e.tx.clone())));
        }
        self.events = logged;
        match failed {
            Some(e) => Err(e),
            None => Ok(dropped),
        }
    }

    /// Transactions for a block of at most `max_bytes`: highest fee rate first, a transaction only
    /// after the pool transactions it spends.
    pub fn select_for_block(&self, max_bytes: usize) -> Vec<&MempoolEntry> {
        let mut chosen: Vec<&MempoolEntry> = Vec::new();
        let mut included: HashSet<Txid> = HashSet::new();
        let mut used = 0usize;
        let mut pending: Vec<&MempoolEntry> = self.by_rate.iter().rev().map(|k| &self.entries[&k.2]).collect();
        loop {
            let mut progressed = false;
            let mut waiting = Vec::new();
            for e in pending {
                if used + e.size > max_bytes {
                    continue;
                }
                let ready =
                    e.tx.inputs
                        .iter()
                        .all(|i| !self.entries.contains_key(&i.prevout.txid) || included.contains(&i.prevout.txid));
                if ready {
                    used += e.size;
                    included.insert(e.txid);
                    chosen.push(e);
                    progressed = true;
                } else {
                    waiting.push(e);
                }
            }
            if !progressed || waiting.is_empty() {
                break;
            }
            pending = waiting;
        }
        chosen
    }
}
