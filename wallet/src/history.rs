//! Read-only views derived from the wallet's transaction map: balances, unspent coins, and
//! transaction history in the shapes of Bitcoin Core's `getbalances`, `listunspent`,
//! `gettransaction` and `listtransactions`.
//!
//! A coin is an output paying one of our keys, of a confirmed or in-mempool transaction, not
//! spent by a confirmed or in-mempool wallet transaction. Coinbase outputs mature at
//! `coinbase_maturity + 1` confirmations (Core's wallet rule, one more than consensus needs).
//! Trusted coins (mature confirmed ones, and change of our own in-mempool transactions) are the
//! only ones the wallet spends. Queries walk the whole map: O(wallet size), which is fine.

use cairn_chain::encode::Encodable;
use cairn_chain::{Amount, BlockHash, OutPoint, TxOut, Txid};

use crate::address::Address;
use crate::wallet::{TxState, Wallet, WalletTx};

/// The wallet's money by trust (Core's `getbalances().mine`).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct Balances {
    /// Spendable now: mature confirmed coins and change of our own unconfirmed transactions.
    pub trusted: Amount,
    /// Unconfirmed coins from transactions others sent.
    pub untrusted_pending: Amount,
    /// Coinbase outputs not yet mature.
    pub immature: Amount,
}

/// An unspent output of the wallet (Core's `listunspent` entry).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WalletCoin {
    /// Where it is.
    pub outpoint: OutPoint,
    /// The address it pays.
    pub address: Address,
    /// Its value.
    pub amount: Amount,
    /// Confirmations (0 for unconfirmed).
    pub confirmations: u32,
    /// Whether a coinbase created it.
    pub coinbase: bool,
    /// Whether [`Wallet::create_transaction`] would spend it (it is trusted).
    pub spendable: bool,
    /// The label of its address.
    pub label: String,
}

/// The kind of a history entry (Core's `category`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Category {
    /// Money sent to someone else.
    Send,
    /// Money received from a transaction others sent.
    Receive,
    /// A mature coinbase output.
    Generate,
    /// A coinbase output not yet mature.
    Immature,
    /// A coinbase output whose block left the active chain.
    Orphan,
}

impl Category {
    /// Core's name for the category.
    pub fn as_str(&self) -> &'static str {
        match self {
            Category::Send => "send",
            Category::Receive => "receive",
            Category::Generate => "generate",
            Category::Immature => "immature",
            Category::Orphan => "orphan",
        }
    }
}

/// Block hash, height, position in the block and block time of a confirmed transaction.
pub type BlockInfo = (BlockHash, u32, u32, u32);

/// One output's line in the history (Core's `listtransactions` entry).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TxEntry {
    /// The address paid, if the output has one.
    pub address: Option<Address>,
    /// What kind of entry.
    pub category: Category,
    /// Units: negative for sends.
    pub amount: i64,
    /// The output's position.
    pub vout: u32,
    /// The transaction fee as a negative number of units (sends only, when known).
    pub fee: Option<i64>,
    /// The label of the address if it is ours, else empty.
    pub label: String,
    /// Confirmations; negative for a conflicted transaction.
    pub confirmations: i64,
    /// Where the transaction is confirmed.
    pub block: Option<BlockInfo>,
    /// The transaction.
    pub txid: Txid,
    /// Unix time of the transaction (as received).
    pub time: u64,
    /// Unix time the wallet first saw it.
    pub time_received: u64,
    /// Whether it is a coinbase.
    pub generated: bool,
    /// Whether its money counts as trusted.
    pub trusted: bool,
    /// Always false: abandoning transactions is not supported.
    pub abandoned: bool,
}

/// Everything about one wallet transaction (Core's `gettransaction`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TxDetails {
    /// The transaction.
    pub txid: Txid,
    /// Net effect on the wallet in units, excluding the fee of a send (received minus sent).
    pub amount: i64,
    /// The fee as a negative number of units, when we sent it and all its inputs are ours.
    pub fee: Option<i64>,
    /// Confirmations; negative for a conflicted transaction.
    pub confirmations: i64,
    /// Where it is confirmed.
    pub block: Option<BlockInfo>,
    /// Unix time of the transaction (as received).
    pub time: u64,
    /// Unix time the wallet first saw it.
    pub time_received: u64,
    /// Whether it is a coinbase.
    pub generated: bool,
    /// Whether its money counts as trusted.
    pub trusted: bool,
    /// Other wallet transactions spending any of the same outputs.
    pub wallet_conflicts: Vec<Txid>,
    /// One entry per output that concerns us.
    pub details: Vec<TxEntry>,
    /// The encoded transaction.
    pub hex: Vec<u8>,
}

/// How much a coin can be trusted.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum CoinKind {
    Trusted,
    Pending,
    Immature,
}

/// A wallet coin with what the queries need.
#[derive(Clone, Debug)]
pub(crate) struct OwnedCoin {
    pub outpoint: OutPoint,
    pub output: TxOut,
    pub confirmations: u32,
    pub coinbase: bool,
    pub kind: CoinKind,
}

fn units(a: Amount) -> i64 {
    // At most MAX_MONEY (2.1e15) units: always fits.
    i64::try_from(a.to_units()).unwrap_or(i64::MAX)
}

impl Wallet {
    /// Confirmations of a wallet transaction at `tip_height` (negative when conflicted).
    pub(crate) fn confirmations(w: &WalletTx, tip_height: u32) -> i64 {
        let depth = |height: u32| i64::from(tip_height) - i64::from(height) + 1;
        match w.state {
            TxState::Confirmed { height, .. } => depth(height).max(1),
            TxState::InMempool | TxState::Inactive => 0,
            TxState::Conflicted { height, .. } => -depth(height).max(1),
        }
    }

    fn is_trusted(w: &WalletTx) -> bool {
        match w.state {
            TxState::Confirmed { .. } => true,
            TxState::InMempool => w.from_me,
            TxState::Inactive | TxState::Conflicted { .. } => false,
        }
    }

    pub(crate) fn is_mature(&self, w: &WalletTx, tip_height: u32) -> bool {
        let maturity = i64::from(self.network().params().coinbase_maturity);
        !w.tx.is_coinbase() || Self::confirmations(w, tip_height) > maturity
    }

    pub(crate) fn is_spent(&self, outpoint: &OutPoint) -> bool {
        self.spends.get(outpoint).is_some_and(|spenders| {
            spenders.iter().any(|t| {
                self.txs
                    .get(t)
                    .is_some_and(|w| matches!(w.state, TxState::Confirmed { .. } | TxState::InMempool))
            })
        })
    }

    /// Every wallet coin at `tip_height`, ordered by confirmations (most first), then outpoint.
    pub(crate) fn coins(&self, tip_height: u32) -> Vec<OwnedCoin> {
        let mut coins = Vec::new();
        for w in self.txs.values() {
            if !matches!(w.state, TxState::Confirmed { .. } | TxState::InMempool) {
                continue;
            }
            let confirmations = u32::try_from(Self::confirmations(w, tip_height)).unwrap_or(0);
            let kind = if !self.is_mature(w, tip_height) {
                CoinKind::Immature
            } else if Self::is_trusted(w) {
                CoinKind::Trusted
            } else {
                CoinKind::Pending
            };
            for (vout, output) in w.tx.outputs.iter().enumerate() {
                let outpoint = OutPoint::new(w.txid, u32::try_from(vout).unwrap_or(u32::MAX));
                if self.is_mine(&output.lock) && !self.is_spent(&outpoint) {
                    coins.push(OwnedCoin {
                        outpoint,
                        output: output.clone(),
                        confirmations,
                        coinbase: w.tx.is_coinbase(),
                        kind,
                    });
                }
            }
        }
        coins.sort_by(|a, b| b.confirmations.cmp(&a.confirmations).then(a.outpoint.cmp(&b.outpoint)));
        coins
    }

    /// The wallet's balances at `tip_height`.
    pub fn balances(&self, tip_height: u32) -> Balances {
        let mut b = Balances::default();
        for c in self.coins(tip_height) {
            let slot = match c.kind {
                CoinKind::Trusted => &mut b.trusted,
                CoinKind::Pending => &mut b.untrusted_pending,
                CoinKind::Immature => &mut b.immature,
            };
            // Wallet totals are sums of real outputs: within MAX_MONEY on a valid chain.
            *slot = slot.checked_add(c.output.value).unwrap_or(Amount::MAX_MONEY);
        }
        b
    }

    /// Mature unspent coins with `min_conf..=max_conf` confirmations (immature coinbase outputs
    /// are left out, as Core does).
    pub fn list_unspent(&self, tip_height: u32, min_conf: u32, max_conf: u32) -> Vec<WalletCoin> {
        self.coins(tip_height)
            .into_iter()
            .filter(|c| c.kind != CoinKind::Immature && (min_conf..=max_conf).contains(&c.confirmations))
            // Locked coins are left out, as Core's listunspent does (they stay in the balance).
            .filter(|c| !self.locked.contains_key(&c.outpoint))
            .filter_map(|c| {
                let address = Address::from_lock(&c.output.lock, self.network())?;
                Some(WalletCoin {
                    outpoint: c.outpoint,
                    label: self.label_of_lock(&c.output.lock).unwrap_or_default().to_owned(),
                    address,
                    amount: c.output.value,
                    confirmations: c.confirmations,
                    coinbase: c.coinbase,
                    spendable: c.kind == CoinKind::Trusted,
                })
            })
            .collect()
    }

    /// Details of a wallet transaction, or `None` if the wallet does not know it.
    pub fn get_transaction(&self, txid: &Txid, tip_height: u32) -> Option<TxDetails> {
        let w = self.txs.get(txid)?;
        let (credit, debit, fee) = self.amounts(w);
        let amount = credit - debit + fee.unwrap_or(0);
        let mut wallet_conflicts: Vec<Txid> = if w.tx.is_coinbase() {
            Vec::new()
        } else {
            w.tx.inputs
                .iter()
                .filter_map(|i| self.spends.get(&i.prevout))
                .flatten()
                .filter(|t| *t != txid)
                .copied()
                .collect()
        };
        wallet_conflicts.sort();
        wallet_conflicts.dedup();
        Some(TxDetails {
            txid: *txid,
            amount,
            fee: fee.map(|f| -f),
            confirmations: Self::confirmations(w, tip_height),
            block: block_info(w),
            time: w.time_received,
            time_received: w.time_received,
            generated: w.tx.is_coinbase(),
            trusted: Self::is_trusted(w),
            wallet_conflicts,
            details: self.entries(w, tip_height),
            hex: w.tx.encode(),
        })
    }

    /// History entries in Core's order: oldest first, the last `count` after skipping the
    /// `skip` newest.
    ///
    /// Core lists in the order the wallet learned of transactions. Here: confirmed ones in chain
    /// order, then the others by the time they were seen — the same order in practice (a
    /// payment confirms after it was made), and one a rescan reproduces exactly. Sorting by
    /// time alone would not do: regtest block times run ahead of the clock when blocks are
    /// mined quickly, so a payment made after them would sort before them.
    pub fn list_transactions(&self, tip_height: u32, count: usize, skip: usize) -> Vec<TxEntry> {
        let mut txs: Vec<&WalletTx> = self.txs.values().collect();
        txs.sort_by_key(|w| match w.state {
            TxState::Confirmed { height, index, .. } => (0, u64::from(height), u64::from(index), w.seq),
            _ => (1, w.time_received, 0, w.seq),
        });
        let all: Vec<TxEntry> = txs.into_iter().flat_map(|w| self.entries(w, tip_height)).collect();
        let end = all.len().saturating_sub(skip);
        let start = end.saturating_sub(count);
        all.into_iter().skip(start).take(end - start).collect()
    }

    /// Credit (our outputs), debit (our outputs it spends) and, when it is ours to know, the fee.
    fn amounts(&self, w: &WalletTx) -> (i64, i64, Option<i64>) {
        let credit: i64 = w.tx.outputs.iter().filter(|o| self.is_mine(&o.lock)).map(|o| units(o.value)).sum();
        if w.tx.is_coinbase() {
            return (credit, 0, None);
        }
        let spent: Vec<Option<&TxOut>> = w.tx.inputs.iter().map(|i| self.our_output(&i.prevout)).collect();
        let debit: i64 = spent.iter().flatten().map(|o| units(o.value)).sum();
        let fee = (w.from_me && spent.iter().all(Option::is_some)).then(|| {
            let out: i64 = w.tx.outputs.iter().map(|o| units(o.value)).sum();
            debit - out
        });
        (credit, debit, fee)
    }

    /// Core's entries for one transaction: a send per output to others (if we sent it), then a
    /// receive (or generate, immature, orphan) per output to us (except change of our sends).
    fn entries(&self, w: &WalletTx, tip_height: u32) -> Vec<TxEntry> {
        self.entries_with_change(w, tip_height, false)
    }

    /// [`Wallet::entries`], with (`change`) a receive entry per change output of our own sends.
    pub(crate) fn entries_with_change(&self, w: &WalletTx, tip_height: u32, change: bool) -> Vec<TxEntry> {
        let (_, debit, fee) = self.amounts(w);
        let from_me = w.from_me || debit > 0;
        let confirmations = Self::confirmations(w, tip_height);
        let entry = |vout: usize, output: &TxOut, category: Category, amount: i64, fee: Option<i64>| TxEntry {
            address: Address::from_lock(&output.lock, self.network()),
            category,
            amount,
            vout: u32::try_from(vout).unwrap_or(u32::MAX),
            fee,
            label: self.label_of_lock(&output.lock).unwrap_or_default().to_owned(),
            confirmations,
            block: block_info(w),
            txid: w.txid,
            time: w.time_received,
            time_received: w.time_received,
            generated: w.tx.is_coinbase(),
            trusted: Self::is_trusted(w),
            abandoned: self.is_abandoned(&w.txid),
        };
        let mut entries = Vec::new();
        if from_me {
            // Core's rule (CachedTxGetAmounts): change is not reported; any other output is a
            // send, and also a receive when it pays one of our receiving addresses.
            let mut received = Vec::new();
            for (vout, output) in w.tx.outputs.iter().enumerate() {
                if self.is_change(&output.lock) {
                    if change {
                        received.push(entry(vout, output, Category::Receive, units(output.value), None));
                    }
                    continue;
                }
                entries.push(entry(vout, output, Category::Send, -units(output.value), fee.map(|f| -f)));
                if self.is_mine(&output.lock) {
                    received.push(entry(vout, output, Category::Receive, units(output.value), None));
                }
            }
            entries.extend(received);
            return entries;
        }
        let category = if !w.tx.is_coinbase() {
            Category::Receive
        } else if !matches!(w.state, TxState::Confirmed { .. }) {
            Category::Orphan
        } else if self.is_mature(w, tip_height) {
            Category::Generate
        } else {
            Category::Immature
        };
        for (vout, output) in w.tx.outputs.iter().enumerate() {
            if self.is_mine(&output.lock) {
                entries.push(entry(vout, output, category, units(output.value), None));
            }
        }
        entries
    }
}

fn block_info(w: &WalletTx) -> Option<BlockInfo> {
    match w.state {
        TxState::Confirmed {
            block_hash,
            height,
            index,
            block_time,
        } => Some((block_hash, height, index, block_time)),
        _ => None,
    }
}
