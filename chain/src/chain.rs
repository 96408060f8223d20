//! The chain state: block index, most-work chain selection, reorgs, orphans.
//!
//! A block goes through [`Chainstate::process_block`]: context-free checks, then (if its parent
//! is known) the rules that depend on the parent, then it is stored with an index record carrying
//! the cumulative work of its chain. [`Chainstate::activate_best_chain`] then moves the tip to the
//! valid chain with the most work (ties: the first seen): it disconnects blocks back to the fork
//! point using their undo data and connects the other branch, each step one atomic RocksDB batch.
//! A block that fails while being connected is marked invalid (and so, lazily, is every
//! descendant), and selection continues with the next-best chain, which may be the one it came
//! from. Blocks whose parent is unknown wait in a bounded [`OrphanPool`]. Connected blocks change a
//! [`CoinsCache`] that is flushed to RocksDB after every block, or in larger steps during a bulk
//! download ([`Chainstate::set_bulk`]). What headers-first
//! sync asks of the index (locators, headers for a peer, checking a peer's headers before
//! fetching their blocks) is in [`crate::headers`].
//!
//! The state has one owner and no locks; callers wrap it as they need (the node runs it on a
//! blocking thread). Nothing here reads the clock: `now` is passed in.

mod anchors;
mod context;
mod manual;
mod stats;
mod tips;

pub use manual::{ManualError, VerifyFailure};
pub use stats::{BlockStats, StatsError};
pub use tips::{ChainTip, TipStatus};

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use tracing::{debug, info, warn};

use crate::block::Block;
use crate::coins::CoinsCache;
use crate::error::{BlockError, ChainError, StoreError};
use crate::hash::BlockHash;
use crate::orphan::OrphanPool;
use crate::params::{Network, Params};
use crate::pow::{U256, work_for_bits};
use crate::store::{IndexRecord, Store, StoreOptions, status};
use crate::transaction::OutPoint;
use crate::utxo::{BlockUndo, Coin, MemoryUtxoSet, UtxoStats};
use crate::validation::connect::ConnectError;
use crate::validation::{SigCache, Signatures, check_block, check_block_contextual, check_header_contextual, connect_block};

/// Most blocks held while their parent is unknown.
pub const MAX_ORPHAN_BLOCKS: usize = 100;

/// How much easier than our next block an orphan may be (a power of two): 16×, so an attacker
/// pays at least 1/16 of a real block's work for each of the [`MAX_ORPHAN_BLOCKS`] places.
pub const ORPHAN_SLACK: u32 = 16;

/// One step of the active chain, as it happened (Core's `BlockConnected`/`BlockDisconnected`).
#[derive(Debug, Clone)]
pub enum TipEvent {
    /// `block` became the tip at `height`.
    Connected {
        /// The block.
        block: Block,
        /// Its height.
        height: u32,
    },
    /// `block`, the tip at `height`, was taken off (its parent became the tip).
    Disconnected {
        /// The block.
        block: Block,
        /// Its height.
        height: u32,
    },
}

/// How the active chain moved: every step in the order it was taken. A reorg that fails
/// halfway reads as it happened — the old branch off, part of the new one on, that part off
/// again, the old branch back on — so whoever follows the chain (the wallet) ends where the
/// chain ended, never with blocks that are off it.
#[derive(Debug, Default)]
pub struct TipUpdate {
    /// The steps, oldest first.
    pub events: Vec<TipEvent>,
    /// Blocks found invalid while connecting.
    pub invalid: Vec<(BlockHash, BlockError)>,
}

impl TipUpdate {
    /// Whether the tip moved.
    pub fn tip_changed(&self) -> bool {
        !self.events.is_empty()
    }

    /// The blocks taken off, in the order they were.
    pub fn disconnected(&self) -> impl DoubleEndedIterator<Item = &Block> {
        self.events.iter().filter_map(|e| match e {
            TipEvent::Disconnected { block, .. } => Some(block),
            TipEvent::Connected { .. } => None,
        })
    }

    /// The blocks connected, in the order they were, with their heights.
    pub fn connected(&self) -> impl DoubleEndedIterator<Item = (&Block, u32)> {
        self.events.iter().filter_map(|e| match e {
            TipEvent::Connected { block, height } => Some((block, *height)),
            TipEvent::Disconnected { .. } => None,
        })
    }

    fn absorb(&mut self, other: TipUpdate) {
        self.events.extend(other.events);
        self.invalid.extend(other.invalid);
    }
}

/// What became of a processed block.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum BlockStatus {
    /// Stored (and connected, if its chain has the most work).
    Accepted,
    /// Already known.
    Duplicate,
    /// Parent unknown: held in the orphan pool.
    Orphan,
    /// Not asked for, and its chain would have less work than our tip: not stored (and so not
    /// to be relayed). Core's `AcceptBlock` drops such blocks the same way; if the branch ever
    /// overtakes ours, headers-first sync asks for its blocks.
    LowWork,
}

/// The outcome of [`Chainstate::process_block`].
#[derive(Debug)]
pub struct ProcessedBlock {
    /// What became of the block.
    pub status: BlockStatus,
    /// How the tip moved (also through orphans the block unlocked).
    pub update: TipUpdate,
}

type CandidateKey = (U256, Reverse<u64>, BlockHash);

fn candidate_key(r: &IndexRecord) -> CandidateKey {
    (r.chain_work, Reverse(r.sequence), r.hash())
}

/// The node's view of the block chain, backed by RocksDB.
pub struct Chainstate {
    params: &'static Params,
    store: Store,
    index: HashMap<BlockHash, IndexRecord>,
    active: Vec<BlockHash>,
    candidates: BTreeSet<CandidateKey>,
    orphans: OrphanPool,
    next_sequence: u64,
    /// Changes of connected blocks not yet written.
    coins: CoinsCache,
    /// Flush in large steps (bulk download) instead of after every block.
    bulk: bool,
    /// Coins asked for through [`Chainstate::get_coins`] since opening (what outside callers,
    /// such as the mempool, make the store look up).
    coin_lookups: std::sync::atomic::AtomicU64,
    /// Signature checks that passed (in the mempool or in a block), not verified again.
    sig_cache: SigCache,
}

impl Drop for Chainstate {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            warn!(error = %e, "could not write the coins cache at close; the blocks after the stored tip are connected again at the next start");
        }
    }
}

/// Coins for `ops` (in order): the cache's view first, the store for the rest in one batch.
fn lookup_coins(store: &Store, cache: &CoinsCache, ops: &[OutPoint]) -> Result<Vec<Option<Coin>>, StoreError> {
    let mut out: Vec<Option<Coin>> = Vec::with_capacity(ops.len());
    let mut missing = Vec::new();
    let mut missing_at = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        match cache.get(op) {
            Some(c) => out.push(c.cloned()),
            None => {
                out.push(None);
                missing.push(*op);
                missing_at.push(i);
            }
        }
    }
    if !missing.is_empty() {
        for (i, c) in missing_at.into_iter().zip(store.get_coins(&missing)?) {
            out[i] = c;
        }
    }
    Ok(out)
}

impl std::fmt::Debug for Chainstate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chainstate")
            .field("network", &self.params.network)
            .field("height", &self.height())
            .field("tip", &self.tip_hash())
            .finish()
    }
}

impl Chainstate {
    /// Opens the chain state in `path`, creating it at genesis if new, and finishes any
    /// connection a crash interrupted.
    ///
    /// # Errors
    /// Store failures, a database of another network, or an index that does not reach genesis.
    pub fn open(path: &Path, network: Network, options: StoreOptions) -> Result<Chainstate, ChainError> {
        let params = network.params();
        let store = Store::open(path, params, options)?;
        let mut index = HashMap::new();
        let mut next_sequence = 1;
        let mut records = store.load_index()?;
        stats::fill_tx_counts(&store, &mut records)?;
        for r in records {
            next_sequence = next_sequence.max(r.sequence + 1);
            index.insert(r.hash(), r);
        }
        let tip = store.tip()?;
        let mut active = Vec::new();
        let mut cursor = tip;
        loop {
            let r = index.get(&cursor).ok_or(StoreError::Missing {
                what: "index record",
                hash: cursor,
            })?;
            active.push(cursor);
            if r.height == 0 {
                break;
            }
            cursor = r.header.prev_blockhash;
        }
        active.reverse();
        if active[0] != params.genesis_hash() {
            return Err(StoreError::Missing {
                what: "genesis",
                hash: params.genesis_hash(),
            }
            .into());
        }
        let mut cs = Chainstate {
            params,
            store,
            index,
            active,
            candidates: BTreeSet::new(),
            orphans: OrphanPool::new(MAX_ORPHAN_BLOCKS),
            next_sequence,
            coins: CoinsCache::default(),
            bulk: false,
            coin_lookups: std::sync::atomic::AtomicU64::new(0),
            sig_cache: SigCache::default(),
        };
        cs.build_anchor_index()?;
        cs.rebuild_candidates();
        let update = cs.activate_best_chain()?;
        if update.tip_changed() {
            info!(height = cs.height(), "resumed connecting stored blocks after restart");
        }
        Ok(cs)
    }

    fn rebuild_candidates(&mut self) {
        let tip_work = self.tip().chain_work;
        self.candidates = self
            .index
            .values()
            .filter(|r| !r.is_failed() && r.status & status::HAVE_DATA != 0 && r.chain_work >= tip_work)
            .map(candidate_key)
            .collect();
    }

    /// The network parameters.
    pub fn params(&self) -> &'static Params {
        self.params
    }

    /// The tip's index record.
    pub fn tip(&self) -> &IndexRecord {
        &self.index[self.active.last().expect("the active chain holds at least genesis")]
    }

    /// The tip's hash.
    pub fn tip_hash(&self) -> BlockHash {
        *self.active.last().expect("the active chain holds at least genesis")
    }

    /// The tip's height.
    pub fn height(&self) -> u32 {
        (self.active.len() - 1) as u32
    }

    /// The hash of the active chain's block at `height`.
    pub fn block_hash_at(&self, height: u32) -> Option<BlockHash> {
        self.active.get(height as usize).copied()
    }

    /// The index record of any known block.
    pub fn index_record(&self, hash: &BlockHash) -> Option<&IndexRecord> {
        self.index.get(hash)
    }

    /// The cumulative work of the active chain.
    pub fn tip_chain_work(&self) -> U256 {
        self.tip().chain_work
    }

    /// Whether the block is stored with its data (so there is no need to download it).
    pub fn contains_block(&self, hash: &BlockHash) -> bool {
        self.index.get(hash).is_some_and(|r| r.status & status::HAVE_DATA != 0)
    }

    /// Whether the block is known to break a rule, itself or through an ancestor. Descendants of
    /// an invalid block are flagged lazily, so this walks the block's branch back to the active
    /// chain (whose blocks are valid).
    pub fn is_known_invalid(&self, hash: &BlockHash) -> bool {
        let mut cursor = *hash;
        while let Some(r) = self.index.get(&cursor) {
            if r.is_failed() {
                return true;
            }
            if r.height == 0 || self.block_hash_at(r.height) == Some(cursor) {
                return false;
            }
            cursor = r.header.prev_blockhash;
        }
        false
    }

    /// Blocks waiting for their parent.
    pub fn orphan_count(&self) -> usize {
        self.orphans.len()
    }

    /// A stored block.
    ///
    /// # Errors
    /// Store failures.
    pub fn get_block(&self, hash: &BlockHash) -> Result<Option<Block>, StoreError> {
        self.store.get_block(hash)
    }

    /// The underlying store (read access for RPC views). Its UTXO set and tip lag behind the
    /// chain state by the blocks not yet flushed; read coins and undo data through
    /// [`Chainstate::get_coins`] and [`Chainstate::get_undo`].
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// An unspent output of the active chain.
    ///
    /// # Errors
    /// Store failures.
    pub fn get_coin(&self, op: &OutPoint) -> Result<Option<Coin>, StoreError> {
        match self.coins.get(op) {
            Some(c) => Ok(c.cloned()),
            None => self.store.get_coin(op),
        }
    }

    /// Several unspent outputs of the active chain.
    ///
    /// # Errors
    /// Store failures.
    pub fn get_coins(&self, ops: &[OutPoint]) -> Result<Vec<Option<Coin>>, StoreError> {
        self.coin_lookups.fetch_add(ops.len() as u64, std::sync::atomic::Ordering::Relaxed);
        lookup_coins(&self.store, &self.coins, ops)
    }

    /// The signature checks that passed so far, shared with the mempool.
    pub fn sig_cache(&self) -> &SigCache {
        &self.sig_cache
    }

    /// How many coins [`Chainstate::get_coins`] has been asked for since the chain state opened.
    pub fn coin_lookups(&self) -> u64 {
        self.coin_lookups.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The undo data of a connected block (the coins it spent).
    ///
    /// # Errors
    /// Store failures.
    pub fn get_undo(&self, hash: &BlockHash) -> Result<Option<BlockUndo>, StoreError> {
        match self.coins.undo(hash) {
            Some(u) => Ok(Some(u.clone())),
            None => self.store.get_undo(hash),
        }
    }

    /// Writes the connected blocks not yet stored (UTXO changes, undo data, tip) in one atomic
    /// batch. On failure the cache is kept, so the state in memory stays whole and a later flush
    /// can retry.
    ///
    /// # Errors
    /// Store failures.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        if self.coins.is_empty() {
            return Ok(());
        }
        self.store.flush(&self.coins)?;
        debug!(
            blocks = self.coins.pending_blocks().len(),
            bytes = self.coins.bytes(),
            "flushed coins cache"
        );
        self.coins.clear();
        Ok(())
    }

    /// Bulk-download mode (the node turns it on while it fetches many blocks, as Core behaves
    /// during initial block download): the coins cache is flushed every
    /// [`coins::FLUSH_BLOCKS`](crate::coins::FLUSH_BLOCKS) blocks or
    /// [`coins::FLUSH_BYTES`](crate::coins::FLUSH_BYTES) instead of after each block, and writes
    /// are not fsynced one by one. Turning it off flushes and syncs. A process killed meanwhile
    /// loses nothing it cannot redo: it reopens at the last flushed tip and connects the stored
    /// blocks after it again.
    ///
    /// # Errors
    /// Store failures while flushing or syncing.
    pub fn set_bulk(&mut self, on: bool) -> Result<(), StoreError> {
        if !on {
            self.flush()?;
        }
        self.bulk = on;
        self.store.set_sync_writes(!on)
    }

    /// Validates a block and, if it (with its chain) has the most work, connects it, and any
    /// orphans it unlocks. `now` is the local Unix time, for the future-time rule.
    ///
    /// A block found invalid while connecting is remembered as invalid and reported in
    /// `update.invalid`; an error is returned when the block itself fails a rule checked before
    /// storing it.
    ///
    /// # Errors
    /// [`ChainError::Block`] for an invalid block, [`ChainError::Store`] if storage failed.
    pub fn process_block(&mut self, block: Block, now: u64) -> Result<ProcessedBlock, ChainError> {
        self.process(block, now, false)
    }

    /// [`Chainstate::process_block`] for a block we asked a peer for (headers-first sync, whose
    /// headers were already checked against their parents): an orphan is held whatever bits it
    /// has, and is not pushed out of the pool by blocks nobody asked for.
    ///
    /// # Errors
    /// As [`Chainstate::process_block`].
    pub fn process_requested_block(&mut self, block: Block, now: u64) -> Result<ProcessedBlock, ChainError> {
        self.process(block, now, true)
    }

    fn process(&mut self, block: Block, now: u64, requested: bool) -> Result<ProcessedBlock, ChainError> {
        let hash = block.block_hash();
        if let Some(r) = self.index.get(&hash) {
            if r.is_failed() {
                return Err(BlockError::KnownInvalid(hash).into());
            }
            return Ok(ProcessedBlock {
                status: BlockStatus::Duplicate,
                update: TipUpdate::default(),
            });
        }
        if self.orphans.contains(&hash) {
            return Ok(ProcessedBlock {
                status: BlockStatus::Duplicate,
                update: TipUpdate::default(),
            });
        }
        let parent_work = self.index.get(&block.header.prev_blockhash).map(|p| p.chain_work);
        if !requested && parent_work.is_some_and(|w| !self.has_enough_work(w, block.header.bits)) {
            debug!(%hash, "unrequested block on a branch with less work than our tip: not stored");
            return Ok(ProcessedBlock {
                status: BlockStatus::LowWork,
                update: TipUpdate::default(),
            });
        }
        let orphan = parent_work.is_none();
        if orphan && !requested {
            // An orphan's bits cannot be checked against its parent: hold only orphans as hard as
            // the chain's floor. Judged from the header alone, before the body costs anything.
            let floor = self.orphan_floor(now);
            let target = U256::from_compact(block.header.bits)?;
            if target > floor {
                return Err(BlockError::OrphanTooEasy {
                    bits: block.header.bits,
                    floor: floor.to_compact(),
                }
                .into());
            }
        }
        check_block(&block, self.params)?;
        if orphan {
            debug!(%hash, parent = %block.header.prev_blockhash, "orphan block");
            self.orphans.insert(block, requested);
            return Ok(ProcessedBlock {
                status: BlockStatus::Orphan,
                update: TipUpdate::default(),
            });
        }
        self.accept_block(&block, now)?;
        let mut update = self.activate_best_chain()?;
        // Blocks that were waiting for this one (and for those, recursively).
        let mut queue = vec![hash];
        while let Some(parent) = queue.pop() {
            for (orphan, requested) in self.orphans.take_children(&parent) {
                let h = orphan.block_hash();
                let parent_work = self.index[&parent].chain_work;
                if !requested && !self.has_enough_work(parent_work, orphan.header.bits) {
                    debug!(hash = %h, "unrequested orphan on a branch with less work than our tip: dropped");
                    continue;
                }
                match self.accept_block(&orphan, now) {
                    Ok(()) => queue.push(h),
                    Err(ChainError::Block(e)) => update.invalid.push((h, e)),
                    Err(e) => return Err(e),
                }
            }
            update.absorb(self.activate_best_chain()?);
        }
        Ok(ProcessedBlock {
            status: BlockStatus::Accepted,
            update,
        })
    }

    /// Whether a block with `bits` on a parent whose chain has `parent_work` would give a chain
    /// with at least as much work as our tip: the condition for storing a block nobody asked
    /// for. The bits are the block's claim; they are held to it (its hash must meet them, and
    /// they must be what its parent requires) before it is stored, so claiming more work than
    /// was done gets a block refused, not stored. Every block stored on a side branch therefore
    /// cost its miner as much work as our tip's block did: side-branch data grows no faster
    /// than an attacker's hash rate allows, the bound Core relies on as well.
    fn has_enough_work(&self, parent_work: U256, bits: u32) -> bool {
        parent_work.checked_add(work_for_bits(bits)).unwrap_or(U256::MAX) >= self.tip().chain_work
    }

    /// The easiest target an orphan may claim: [`ORPHAN_SLACK`] times easier than what the next
    /// block on our tip needs (at most the proof-of-work limit). A real block of a competing
    /// branch that could overtake ours is about as hard as ours; one much easier is cheap junk,
    /// and if it really extends a branch, headers-first sync fetches it with its ancestors.
    fn orphan_floor(&self, now: u64) -> U256 {
        let next = self.next_block_context(now).expected_bits;
        let target = U256::from_compact(next).unwrap_or(self.params.pow_limit);
        let eased = target << ORPHAN_SLACK.trailing_zeros();
        // The shift loses the top bits of a target near 2^256: then the limit is the floor.
        if eased >> ORPHAN_SLACK.trailing_zeros() != target || eased > self.params.pow_limit {
            self.params.pow_limit
        } else {
            eased
        }
    }

    /// Checks a block against its parent and stores it with its index record.
    fn accept_block(&mut self, block: &Block, now: u64) -> Result<(), ChainError> {
        let parent = *self.index.get(&block.header.prev_blockhash).ok_or(StoreError::Missing {
            what: "parent",
            hash: block.header.prev_blockhash,
        })?;
        if parent.is_failed() {
            return Err(BlockError::InvalidParent(parent.hash()).into());
        }
        let ctx = self.header_context(&parent.hash(), now).expect("parent is in the index");
        check_header_contextual(&block.header, &ctx, self.params)?;
        check_block_contextual(block, &ctx)?;
        let record = IndexRecord {
            header: block.header,
            height: ctx.height,
            chain_work: parent.chain_work.checked_add(work_for_bits(block.header.bits)).unwrap_or(U256::MAX),
            status: status::HAVE_DATA,
            sequence: self.next_sequence,
            tx_count: u32::try_from(block.txdata.len()).unwrap_or(u32::MAX),
        };
        self.next_sequence += 1;
        self.store.put_block(block, &record)?;
        self.index.insert(record.hash(), record);
        self.candidates.insert(candidate_key(&record));
        Ok(())
    }

    /// Whether `hash` or an ancestor off the active chain is marked invalid; marks the
    /// descendants it finds as such.
    fn chain_failed(&mut self, hash: &BlockHash) -> bool {
        let mut path = Vec::new();
        let mut cursor = *hash;
        let mut failed = false;
        while let Some(r) = self.index.get(&cursor) {
            if r.is_failed() {
                failed = true;
                break;
            }
            if self.block_hash_at(r.height) == Some(cursor) {
                break;
            }
            path.push(cursor);
            cursor = r.header.prev_blockhash;
        }
        if failed {
            let mut records = Vec::new();
            for h in path {
                if let Some(r) = self.index.get_mut(&h) {
                    r.status |= status::FAILED_CHILD;
                    records.push(*r);
                }
            }
            if let Err(e) = self.store.put_index(&records) {
                // The flag is also kept in memory; it is recomputed after a restart.
                warn!(error = %e, "could not persist invalid-descendant flags");
            }
        }
        failed
    }

    fn best_candidate(&mut self) -> Option<BlockHash> {
        while let Some(&key) = self.candidates.last() {
            if self.chain_failed(&key.2) {
                self.candidates.remove(&key);
                continue;
            }
            return Some(key.2);
        }
        None
    }

    /// Moves the tip to the most-work valid chain.
    ///
    /// # Errors
    /// Store failures; invalid blocks are reported in the update instead.
    pub fn activate_best_chain(&mut self) -> Result<TipUpdate, ChainError> {
        let mut update = TipUpdate::default();
        while let Some(best) = self.best_candidate() {
            let tip = self.tip_hash();
            if best == tip {
                break;
            }
            let best_rec = self.index[&best];
            if candidate_key(&best_rec) <= candidate_key(self.tip()) {
                break;
            }
            let fork = self.fork_point(&best);
            while self.tip_hash() != fork {
                let height = self.height();
                let block = self.disconnect_tip()?;
                update.events.push(TipEvent::Disconnected { block, height });
            }
            let mut path = Vec::new();
            let mut cursor = best;
            while cursor != fork {
                path.push(cursor);
                cursor = self.index[&cursor].header.prev_blockhash;
            }
            for h in path.into_iter().rev() {
                match self.connect(&h) {
                    Ok(block) => update.events.push(TipEvent::Connected {
                        block,
                        height: self.height(),
                    }),
                    Err(ConnectError::Invalid(e)) => {
                        warn!(hash = %h, error = %e, "block failed validation");
                        self.mark_failed(&h)?;
                        update.invalid.push((h, e));
                        break;
                    }
                    Err(ConnectError::Store(e)) => return Err(e.into()),
                }
            }
        }
        let tip_work = self.tip().chain_work;
        self.candidates.retain(|k| k.0 >= tip_work);
        Ok(update)
    }

    fn fork_point(&self, hash: &BlockHash) -> BlockHash {
        let mut cursor = *hash;
        loop {
            let r = &self.index[&cursor];
            if self.block_hash_at(r.height) == Some(cursor) {
                return cursor;
            }
            cursor = r.header.prev_blockhash;
        }
    }

    fn mark_failed(&mut self, hash: &BlockHash) -> Result<(), StoreError> {
        if let Some(r) = self.index.get_mut(hash) {
            r.status |= status::FAILED;
            let r = *r;
            self.candidates.remove(&candidate_key(&r));
            self.store.put_index(&[r])?;
        }
        Ok(())
    }

    fn connect(&mut self, hash: &BlockHash) -> Result<Block, ConnectError> {
        let mut record = self.index[hash];
        let block = self
            .store
            .get_block(hash)
            .map_err(ConnectError::Store)?
            .ok_or(ConnectError::Store(StoreError::Missing {
                what: "block",
                hash: *hash,
            }))?;
        let (store, coins) = (&self.store, &self.coins);
        let signatures = Signatures::Cached(&self.sig_cache);
        let changes = connect_block(&block, record.height, self.params, signatures, |ops| {
            lookup_coins(store, coins, ops)
        })?;
        record.status |= status::VALID;
        self.coins.apply(record, changes);
        self.index.insert(*hash, record);
        self.active.push(*hash);
        if !self.bulk || self.coins.is_full() {
            self.flush().map_err(ConnectError::Store)?;
        }
        info!(height = record.height, hash = %hash, txs = block.txdata.len(), "connected block");
        Ok(block)
    }

    fn disconnect_tip(&mut self) -> Result<Block, ChainError> {
        self.flush()?;
        let hash = self.tip_hash();
        let record = self.index[&hash];
        let block = self.store.get_block(&hash)?.ok_or(StoreError::Missing { what: "block", hash })?;
        let undo = self.store.get_undo(&hash)?.ok_or(StoreError::Missing { what: "undo data", hash })?;
        self.store.disconnect_block(&block, record.height, &undo)?;
        self.active.pop();
        self.candidates.insert(candidate_key(&record));
        info!(height = record.height, %hash, "disconnected block");
        Ok(block)
    }

    /// Digest and totals of the UTXO set.
    ///
    /// # Errors
    /// Store failures.
    pub fn utxo_stats(&mut self) -> Result<UtxoStats, StoreError> {
        self.flush()?;
        self.store.utxo_stats()
    }

    /// Recomputes the UTXO set by replaying the active chain's stored blocks in memory and returns
    /// its summary, to compare with [`Chainstate::utxo_stats`].
    ///
    /// # Errors
    /// Store failures or a missing block.
    pub fn recompute_utxo_stats(&self) -> Result<UtxoStats, StoreError> {
        let mut set = MemoryUtxoSet::default();
        for (height, hash) in self.active.iter().enumerate().skip(1) {
            let block = self.store.get_block(hash)?.ok_or(StoreError::Missing {
                what: "block",
                hash: *hash,
            })?;
            set.apply_block(&block, height as u32);
        }
        Ok(set.stats())
    }

    /// Rebuilds the UTXO set from the stored blocks: empties it, goes back to genesis, and
    /// connects the most-work chain again (every rule checked anew).
    ///
    /// # Errors
    /// Store failures.
    pub fn reindex_chainstate(&mut self) -> Result<TipUpdate, ChainError> {
        let genesis = self.params.genesis_hash();
        self.store.reset_chainstate(&genesis)?;
        self.coins.clear();
        self.active.truncate(1);
        self.rebuild_candidates();
        info!("reindexing chain state from stored blocks");
        self.activate_best_chain()
    }
}
