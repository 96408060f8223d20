//! What Core's wallet RPCs ask of a wallet beyond paying: locked coins (`lockunspent`),
//! abandoned transactions (`abandontransaction`), what each receiving address got
//! (`getreceivedbyaddress`, `listreceivedbyaddress`), what the wallet knows of an address
//! (`getaddressinfo`) and signed messages (`signmessage`).

use std::collections::BTreeMap;

use cairn_chain::{Amount, Lock, OutPoint, PubkeyHash, Txid};
use secp256k1::PublicKey;

use crate::address::Address;
use crate::error::WalletError;
use crate::wallet::{TxState, Wallet};

/// How [`Wallet::fund`] completes a transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Funding {
    /// Outputs the fee is taken from, equally (the first takes the remainder); none: on top.
    pub subtract_from: Vec<usize>,
    /// Where change goes (default: a new change key of this wallet).
    pub change_lock: Option<Lock>,
    /// The change output's position (default: random).
    pub change_position: Option<usize>,
}

/// What an outpoint is to this wallet (for `lockunspent`'s checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoinStatus {
    /// The transaction is not a wallet transaction.
    UnknownTx,
    /// The transaction has no such output.
    NoSuchOutput,
    /// The output is spent by a wallet transaction in a block or the mempool.
    Spent,
    /// Unspent.
    Unspent,
}

/// Why a transaction cannot be abandoned.
#[derive(Debug, thiserror::Error)]
pub enum AbandonError {
    /// Not a wallet transaction.
    #[error("Invalid or non-wallet transaction id")]
    Unknown,
    /// In a block or the mempool (or not one this wallet sent).
    #[error("Transaction not eligible for abandonment")]
    NotEligible,
    /// The wallet file could not be written.
    #[error(transparent)]
    Wallet(#[from] WalletError),
}

/// What a receiving address got (`listreceivedbyaddress`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The address.
    pub address: Address,
    /// Its label.
    pub label: String,
    /// The total received by transactions counted.
    pub amount: Amount,
    /// Confirmations of the least confirmed transaction counted (0 if none).
    pub confirmations: i64,
    /// The transactions counted.
    pub txids: Vec<Txid>,
}

/// What the wallet knows of one of its keys (`getaddressinfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The public key.
    pub public: PublicKey,
    /// Unix time it was made.
    pub created: u64,
    /// Its label.
    pub label: String,
    /// Made for change.
    pub change: bool,
}

impl Wallet {
    /// What `outpoint` is to this wallet.
    pub fn coin_status(&self, outpoint: &OutPoint) -> CoinStatus {
        let Some(w) = self.txs.get(&outpoint.txid) else {
            return CoinStatus::UnknownTx;
        };
        if usize::try_from(outpoint.vout).map_or(true, |v| v >= w.tx.outputs.len()) {
            return CoinStatus::NoSuchOutput;
        }
        if self.is_spent(outpoint) {
            CoinStatus::Spent
        } else {
            CoinStatus::Unspent
        }
    }

    /// Whether `outpoint` is locked.
    pub fn is_locked_coin(&self, outpoint: &OutPoint) -> bool {
        self.locked.contains_key(outpoint)
    }

    /// The locked coins, in outpoint order.
    pub fn locked_coins(&self) -> Vec<OutPoint> {
        let mut v: Vec<OutPoint> = self.locked.keys().copied().collect();
        v.sort();
        v
    }

    fn save_locks(&mut self) -> Result<(), WalletError> {
        let persistent: Vec<OutPoint> = self.locked_coins().into_iter().filter(|o| self.locked[o]).collect();
        if persistent.as_slice() != self.store.locked() {
            self.store.set_locked(persistent)?;
        }
        Ok(())
    }

    /// Locks `outpoints` out of coin selection; `persistent` locks are written to the file. All
    /// or nothing: on a write failure no lock is kept.
    ///
    /// # Errors
    /// [`WalletError::Io`].
    pub fn lock_coins(&mut self, outpoints: &[OutPoint], persistent: bool) -> Result<(), WalletError> {
        let before = self.locked.clone();
        for op in outpoints {
            self.locked.insert(*op, persistent);
        }
        self.save_locks().inspect_err(|_| self.locked = before)
    }

    /// Unlocks `outpoints`, or every locked coin when `None`.
    ///
    /// # Errors
    /// [`WalletError::Io`] (then unchanged).
    pub fn unlock_coins(&mut self, outpoints: Option<&[OutPoint]>) -> Result<(), WalletError> {
        let before = self.locked.clone();
        match outpoints {
            None => self.locked.clear(),
            Some(ops) => {
                for op in ops {
                    self.locked.remove(op);
                }
            }
        }
        self.save_locks().inspect_err(|_| self.locked = before)
    }

    /// Whether `txid` was abandoned and is still in no block, mempool or conflict (once mined or
    /// back in the mempool it is no longer abandoned, as in Core).
    pub fn is_abandoned(&self, txid: &Txid) -> bool {
        self.txs.get(txid).is_some_and(|w| w.state == TxState::Inactive)
            && self.store.sent().iter().any(|s| s.abandoned && s.tx.compute_txid() == *txid)
    }

    /// Gives up a wallet transaction spending this wallet's coins that is in no block and not in
    /// the mempool (Core's rule): it is not offered to the mempool again, and its inputs are free
    /// for new payments. The mark is written to the file (with the transaction, if the wallet
    /// did not send it itself, e.g. a signed raw transaction).
    ///
    /// # Errors
    /// See [`AbandonError`].
    pub fn abandon(&mut self, txid: &Txid) -> Result<(), AbandonError> {
        let w = self.txs.get(txid).ok_or(AbandonError::Unknown)?;
        if w.state != TxState::Inactive || !(w.from_me || self.spends_ours(&w.tx)) {
            return Err(AbandonError::NotEligible);
        }
        if !self.store.sent().iter().any(|s| s.tx.compute_txid() == *txid) {
            let (tx, time) = (w.tx.clone(), w.time_received);
            self.store.add_sent(tx, time)?;
        }
        self.store.set_abandoned(txid, true)?;
        Ok(())
    }

    /// What each receiving address (not change) got from transactions with at least `min_conf`
    /// confirmations, immature coinbases left out unless `include_immature`; addresses that got
    /// nothing are listed too (with `amount` zero), in key order.
    pub fn received_by_address(&self, tip_height: u32, min_conf: i64, include_immature: bool) -> Vec<Received> {
        let mut by_hash: BTreeMap<PubkeyHash, Received> = BTreeMap::new();
        let mut order = Vec::new();
        for k in self.store.keys().iter().filter(|k| !k.change) {
            order.push(k.hash);
            by_hash.insert(
                k.hash,
                Received {
                    address: Address::new(self.network(), k.hash),
                    label: k.label.clone(),
                    amount: Amount::ZERO,
                    confirmations: 0,
                    txids: Vec::new(),
                },
            );
        }
        for w in self.txs.values() {
            if w.tx.is_coinbase() && !include_immature && !self.is_mature(w, tip_height) {
                continue;
            }
            let depth = Self::confirmations(w, tip_height);
            if depth < min_conf {
                continue;
            }
            for out in &w.tx.outputs {
                let Lock::PubkeyHash(h) = &out.lock else { continue };
                let Some(r) = by_hash.get_mut(h) else { continue };
                r.amount = r.amount.checked_add(out.value).unwrap_or(Amount::MAX_MONEY);
                r.confirmations = if r.txids.is_empty() { depth } else { r.confirmations.min(depth) };
                if !r.txids.contains(&w.txid) {
                    r.txids.push(w.txid);
                }
            }
        }
        order.iter().filter_map(|h| by_hash.remove(h)).collect()
    }

    /// What the wallet knows of the key `address` names, if it is one of its own.
    pub fn key_info(&self, address: &Address) -> Option<KeyInfo> {
        let Lock::PubkeyHash(h) = address.lock() else { return None };
        let k = self.store.keys().get(*self.keys.get(&h)?)?;
        Some(KeyInfo {
            public: k.public,
            created: k.created,
            label: k.label.clone(),
            change: k.change,
        })
    }

    /// Pays several addresses in one transaction (`sendmany`): `payments` in order, the fee
    /// shared equally by the outputs at `subtract_from` (the first of them takes the remainder,
    /// as Core), or paid on top when none is named. Signed, not committed.
    ///
    /// # Errors
    /// As [`Wallet::create_transaction`]; an address twice is the caller's to refuse.
    pub fn create_payments(
        &mut self,
        payments: &[(Address, Amount)],
        subtract_from: &[usize],
        fee_rate_per_kb: u64,
        tip_height: u32,
        now: u64,
    ) -> Result<crate::wallet::CreatedTx, WalletError> {
        if let Some((a, _)) = payments.iter().find(|(a, _)| a.network() != self.network()) {
            return Err(crate::error::AddressError::WrongNetwork {
                expected: self.network(),
                found: a.network(),
            }
            .into());
        }
        let outputs = payments
            .iter()
            .map(|(a, v)| cairn_chain::TxOut { value: *v, lock: a.lock() })
            .collect();
        let funding = Funding {
            subtract_from: subtract_from.to_vec(),
            ..Funding::default()
        };
        self.create_funded(outputs, &funding, fee_rate_per_kb, tip_height, now)
    }

    /// A signed transaction paying `outputs` (any locks: a file anchor's data output too) from
    /// this wallet's coins, with change. Not committed.
    ///
    /// # Errors
    /// As [`Wallet::fund`]; [`WalletError::Locked`].
    pub fn create_funded(
        &mut self,
        outputs: Vec<cairn_chain::TxOut>,
        funding: &Funding,
        fee_rate_per_kb: u64,
        tip_height: u32,
        now: u64,
    ) -> Result<crate::wallet::CreatedTx, WalletError> {
        let count = outputs.len();
        let mut unsigned = self.fund(outputs, funding, fee_rate_per_kb, tip_height, now)?;
        self.sign_all(&mut unsigned.tx, &unsigned.spent, now)?;
        let txid = unsigned.tx.compute_txid();
        tracing::info!(%txid, fee = %unsigned.fee, outputs = count, "created transaction");
        Ok(crate::wallet::CreatedTx {
            tx: unsigned.tx,
            txid,
            fee: unsigned.fee,
        })
    }

    /// Adds this wallet's coins (and change) to pay `outputs` plus the fee at `fee_rate_per_kb`
    /// (`fundrawtransaction`, and the payments above): unsigned, the outputs in the order given,
    /// the change where `funding` asks or at a random position.
    ///
    /// # Errors
    /// An output below dust (data outputs aside), too little money, a transaction too large,
    /// or the change key cannot be saved.
    pub fn fund(
        &mut self,
        mut outputs: Vec<cairn_chain::TxOut>,
        funding: &Funding,
        fee_rate_per_kb: u64,
        tip_height: u32,
        now: u64,
    ) -> Result<crate::builder::UnsignedTx, WalletError> {
        use crate::builder::{build_outputs, signed_size, size_model_many};
        use crate::coin_select::{Candidate, dust, select_coins};
        if outputs.is_empty() || outputs.iter().any(|o| !o.lock.is_unspendable() && o.value < dust()) {
            return Err(WalletError::AmountTooSmall);
        }
        let coins: std::collections::HashMap<OutPoint, cairn_chain::TxOut> = self
            .coins(tip_height)
            .into_iter()
            .filter(|c| c.kind == crate::history::CoinKind::Trusted && !self.locked.contains_key(&c.outpoint))
            .map(|c| (c.outpoint, c.output))
            .collect();
        let candidates: Vec<Candidate> = coins
            .iter()
            .map(|(outpoint, o)| Candidate {
                outpoint: *outpoint,
                value: o.value,
            })
            .collect();
        let locks: Vec<Lock> = outputs.iter().map(|o| o.lock.clone()).collect();
        // Every key-hash lock encodes to the same size: the placeholder models the change.
        let placeholder = Lock::PubkeyHash(PubkeyHash::from_byte_array([0; 20]));
        let sizes = size_model_many(&locks, &placeholder);
        let total = Amount::checked_sum(outputs.iter().map(|o| o.value))?;
        let subtract_from = &funding.subtract_from;
        let selection = select_coins(&candidates, total, fee_rate_per_kb, &sizes, !subtract_from.is_empty())?;
        if let Some(&first) = subtract_from.first() {
            // Without change, what the coins hold beyond the payments (less than dust) goes to
            // the first output the fee is taken from, not to the miner.
            let spent = Amount::checked_sum(selection.inputs.iter().map(|c| c.value))?;
            let leftover = spent.checked_sub(total)?.checked_sub(selection.change)?;
            if let Some(out) = outputs.get_mut(first) {
                out.value = out.value.checked_add(leftover)?;
            }
            let fee = selection.fee.to_units();
            let share = fee / subtract_from.len() as u64;
            let remainder = fee % subtract_from.len() as u64;
            for (n, &i) in subtract_from.iter().enumerate() {
                let cut = share + if n == 0 { remainder } else { 0 };
                let out = outputs.get_mut(i).ok_or(WalletError::AmountTooSmall)?;
                out.value = out
                    .value
                    .checked_sub(Amount::from_units(cut)?)
                    .map_err(|_| WalletError::AmountTooSmall)?;
            }
        }
        let inputs: Vec<(OutPoint, cairn_chain::TxOut)> = selection
            .inputs
            .iter()
            .filter_map(|c| coins.get(&c.outpoint).map(|o| (c.outpoint, o.clone())))
            .collect();
        let change = (selection.change > Amount::ZERO).then(|| cairn_chain::TxOut {
            value: selection.change,
            lock: placeholder.clone(),
        });
        let mut unsigned = build_outputs(outputs, inputs, selection.fee, change, &mut rand::rng())?;
        let size = signed_size(&unsigned.tx);
        let max = self.network().params().max_tx_size;
        if size > max {
            return Err(WalletError::TxTooLarge { size, max });
        }
        if let Some(at) = unsigned.change_index {
            let lock = match &funding.change_lock {
                Some(l) => l.clone(),
                None => self.new_change_address(now)?.lock(),
            };
            let mut out = unsigned.tx.outputs.remove(at);
            out.lock = lock;
            let to = funding.change_position.unwrap_or(at).min(unsigned.tx.outputs.len());
            unsigned.tx.outputs.insert(to, out);
            unsigned.change_index = Some(to);
        }
        Ok(unsigned)
    }

    /// A receive entry per output our own payments pay back to us (change), for
    /// `listsinceblock … include_change`.
    pub fn change_entries(&self, tip_height: u32) -> Vec<crate::history::TxEntry> {
        self.txs
            .values()
            .filter(|w| w.from_me)
            .flat_map(|w| {
                self.entries_with_change(w, tip_height, true).into_iter().filter(|e| {
                    e.category == crate::history::Category::Receive
                        && w.tx.outputs.get(e.vout as usize).is_some_and(|o| self.is_change(&o.lock))
                })
            })
            .collect()
    }

    /// Signs `message` with the key of `address` (`signmessage`).
    ///
    /// # Errors
    /// [`WalletError::Locked`]; [`WalletError::MissingKey`]-like refusal as `Ok(None)` when the
    /// key is not this wallet's.
    pub fn sign_message(&self, address: &Address, message: &str, now: u64) -> Result<Option<String>, WalletError> {
        let Lock::PubkeyHash(h) = address.lock() else { return Ok(None) };
        let Some(&i) = self.keys.get(&h) else { return Ok(None) };
        if self.store.is_locked(now) {
            return Err(WalletError::Locked);
        }
        Ok(self.store.key_pair(i, now)?.map(|k| crate::message::sign_message(&k, message)))
    }
}
