//! The wallet: keys, plus an in-memory view of the transactions that concern them, kept in step
//! with the chain by the node's notifications (see [`crate::sync`]).
//!
//! Persistence decision: the wallet file stores only keys, the birth height and the
//! transactions this wallet *sent* (see [`crate::keystore`]). Everything else is derived from the
//! chain: at start-up the node replays [`Wallet::block_connected`] for every active-chain block
//! from [`Wallet::birth_height`] to the tip (an automatic rescan, like Core's
//! `rescanblockchain`), then feeds it the mempool. Nothing derived is ever written, so the wallet
//! and the chain cannot disagree after a `kill -9`; sent transactions are kept because they may
//! be in no block and no peer's mempool, and must be re-broadcast
//! ([`Wallet::transactions_to_resubmit`]).
//!
//! Tracking model: a map from [`Txid`] to [`WalletTx`], whose [`TxState`] is `Confirmed`,
//! `InMempool`, `Inactive` (known, but neither in the active chain nor the mempool, e.g. after a
//! reorg) or `Conflicted` (an input is spent by another transaction in the active chain).
//! Balances, coins and history are computed from that map on demand ([`crate::history`]).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use cairn_chain::{Amount, BlockHash, Lock, Network, OutPoint, PubkeyHash, Transaction, TxOut, Txid};

use crate::address::Address;
use crate::crypter::{Encryption, MasterKey};
use crate::error::WalletError;
use crate::keys::KeyPair;
use crate::keystore::Keystore;
use crate::signer::sign_transaction;

/// Where a wallet transaction stands relative to the active chain and the mempool.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TxState {
    /// In an active-chain block.
    Confirmed {
        /// The block.
        block_hash: BlockHash,
        /// Its height.
        height: u32,
        /// The transaction's position in the block.
        index: u32,
        /// The block header's time.
        block_time: u32,
    },
    /// In this node's mempool.
    InMempool,
    /// Known, but neither in the active chain nor the mempool (for example after a reorg).
    Inactive,
    /// An input (or an ancestor's) is spent by another transaction in this active-chain block.
    Conflicted {
        /// The deepest block holding a conflicting spend.
        block_hash: BlockHash,
        /// Its height.
        height: u32,
    },
}

/// A transaction that pays or spends this wallet's coins, with its state.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WalletTx {
    /// The transaction.
    pub tx: Transaction,
    /// Its id.
    pub txid: Txid,
    /// Where it stands.
    pub state: TxState,
    /// Unix time the wallet first saw it (the block time for transactions first seen in a
    /// block, so that a rescan reproduces it).
    pub time_received: u64,
    /// Whether it spends this wallet's coins (or the wallet committed it).
    pub from_me: bool,
    pub(crate) seq: u64,
}

/// The result of [`Wallet::create_transaction`]: a signed transaction not yet committed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CreatedTx {
    /// The signed transaction.
    pub tx: Transaction,
    /// Its id.
    pub txid: Txid,
    /// The fee it pays.
    pub fee: Amount,
}

/// A wallet: keys on disk, and the transactions that concern them in memory.
pub struct Wallet {
    pub(crate) store: Keystore,
    /// Key hash → position in the keystore's key list.
    pub(crate) keys: HashMap<PubkeyHash, usize>,
    pub(crate) txs: HashMap<Txid, WalletTx>,
    /// Outpoint → wallet transactions spending it (more than one means a conflict).
    pub(crate) spends: HashMap<OutPoint, Vec<Txid>>,
    pub(crate) next_seq: u64,
    /// Coins kept out of coin selection (`lockunspent`), and whether the lock is written to the
    /// file (survives a restart).
    pub(crate) locked: HashMap<OutPoint, bool>,
    /// The fee rate `settxfee` set (units per 1000 bytes), until restart.
    pay_tx_fee: Option<u64>,
}

impl Wallet {
    /// Opens the wallet in `dir`, or creates `dir` and an empty wallet born at `tip_height`.
    /// The caller then replays blocks from [`Wallet::birth_height`] to the tip.
    ///
    /// # Errors
    /// [`WalletError::Io`] on file system failure, [`WalletError::Corrupt`] for an invalid wallet
    /// file or one of another network.
    pub fn create_or_open(dir: &Path, network: Network, tip_height: u32, now: u64) -> Result<Wallet, WalletError> {
        match Wallet::open(dir, network)? {
            Some(wallet) => Ok(wallet),
            None => Wallet::create(dir, network, tip_height, now),
        }
    }

    /// Creates `dir` and an empty wallet there, born at `tip_height`.
    ///
    /// # Errors
    /// [`WalletError::AlreadyExists`] if `dir` holds a wallet file already; [`WalletError::Io`] on
    /// file system failure.
    pub fn create(dir: &Path, network: Network, tip_height: u32, now: u64) -> Result<Wallet, WalletError> {
        if dir.join(crate::keystore::WALLET_FILE).exists() {
            return Err(WalletError::AlreadyExists { path: dir.to_path_buf() });
        }
        tracing::info!(dir = %dir.display(), %network, birth_height = tip_height, now, "creating wallet");
        Ok(Wallet::from_store(Keystore::create(dir, network, tip_height)?))
    }

    /// Opens the wallet in `dir`, or `Ok(None)` if there is none. The caller then replays blocks
    /// from [`Wallet::birth_height`] to the tip.
    ///
    /// # Errors
    /// [`WalletError::Io`] on file system failure, [`WalletError::Corrupt`] for an invalid wallet
    /// file or one of another network.
    pub fn open(dir: &Path, network: Network) -> Result<Option<Wallet>, WalletError> {
        Ok(Keystore::load(dir, network)?.map(Wallet::from_store))
    }

    fn from_store(store: Keystore) -> Wallet {
        let mut wallet = Wallet {
            keys: HashMap::new(),
            txs: HashMap::new(),
            spends: HashMap::new(),
            next_seq: 0,
            locked: HashMap::new(),
            pay_tx_fee: None,
            store,
        };
        for op in wallet.store.locked() {
            wallet.locked.insert(*op, true);
        }
        for (i, k) in wallet.store.keys().iter().enumerate() {
            wallet.keys.insert(k.hash, i);
        }
        let sent: Vec<(Transaction, u64)> = wallet.store.sent().iter().map(|s| (s.tx.clone(), s.time)).collect();
        for (tx, time) in sent {
            let txid = tx.compute_txid();
            if !wallet.txs.contains_key(&txid) {
                wallet.insert_tx(tx, txid, TxState::Inactive, time, true);
            }
        }
        tracing::info!(
            keys = wallet.keys.len(),
            sent = wallet.txs.len(),
            birth_height = wallet.birth_height(),
            "opened wallet"
        );
        wallet
    }

    /// The network of this wallet's addresses.
    pub fn network(&self) -> Network {
        self.store.network()
    }

    /// The tip height when the wallet was created: replaying from here finds all its coins.
    pub fn birth_height(&self) -> u32 {
        self.store.birth_height()
    }

    /// How many transactions concern this wallet (Core's `txcount`).
    pub fn tx_count(&self) -> usize {
        self.txs.len()
    }

    /// Creation time of the oldest key, if the wallet has any (Core's `birthtime`).
    pub fn birth_time(&self) -> Option<u64> {
        self.store.keys().iter().map(|k| k.created).min()
    }

    /// The fee rate `settxfee` set (units per 1000 bytes), if any.
    pub fn pay_tx_fee(&self) -> Option<u64> {
        self.pay_tx_fee
    }

    /// Sets (or with `None` clears) the wallet's fee rate.
    pub fn set_pay_tx_fee(&mut self, per_kb: Option<u64>) {
        self.pay_tx_fee = per_kb;
    }

    /// Copies the wallet file to `destination` (a file, or a directory to put `<name>.json` in):
    /// written to a temporary file beside it with mode 0600, synced, then renamed. Returns the
    /// path written.
    ///
    /// # Errors
    /// [`WalletError::Io`].
    pub fn backup(&self, destination: &Path, name: &str) -> Result<std::path::PathBuf, WalletError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let target = if destination.is_dir() {
            destination.join(format!("{name}.json"))
        } else {
            destination.to_path_buf()
        };
        let source = self.store.path();
        let bytes = std::fs::read(&source).map_err(|e| WalletError::io(&source, e))?;
        // A fresh temporary name, created exclusively (never through a symlink or into a file
        // someone else made with looser permissions), then renamed over the target.
        let mut suffix = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut suffix);
        let mut tmp_name = target.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(format!(".{}.tmp", hex::encode(suffix)));
        let tmp = target.with_file_name(tmp_name);
        let write = || -> std::io::Result<()> {
            let mut out = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
            out.write_all(&bytes)?;
            out.sync_all()?;
            std::fs::rename(&tmp, &target)?;
            let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            std::fs::File::open(dir)?.sync_all()
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            WalletError::io(&target, e)
        })?;
        Ok(target)
    }

    /// The directory holding the wallet file.
    pub fn dir(&self) -> &Path {
        self.store.dir()
    }

    /// A fresh address with `label`, written to disk (and `fsync`ed) before it is returned.
    ///
    /// # Errors
    /// [`WalletError::Io`] if the wallet file cannot be written; no address is then handed out.
    pub fn new_address(&mut self, label: &str, now: u64) -> Result<Address, WalletError> {
        self.add_key(label, false, now)
    }

    /// A fresh change address (Core's internal keys: not listed as a receiving address).
    ///
    /// # Errors
    /// As [`Wallet::new_address`].
    pub fn new_change_address(&mut self, now: u64) -> Result<Address, WalletError> {
        self.add_key("", true, now)
    }

    fn add_key(&mut self, label: &str, change: bool, now: u64) -> Result<Address, WalletError> {
        let key = KeyPair::generate();
        let hash = key.pubkey_hash();
        self.store.add_key(key, label, change, now)?;
        self.keys.insert(hash, self.store.keys().len() - 1);
        Ok(Address::new(self.network(), hash))
    }

    /// Whether one of this wallet's keys can spend an output with `lock`.
    pub fn is_mine(&self, lock: &Lock) -> bool {
        matches!(lock, Lock::PubkeyHash(h) if self.keys.contains_key(h))
    }

    /// Whether `lock` pays one of this wallet's change keys (Core's internal keys).
    pub(crate) fn is_change(&self, lock: &Lock) -> bool {
        let Lock::PubkeyHash(h) = lock else { return false };
        self.keys.get(h).and_then(|&i| self.store.keys().get(i)).is_some_and(|k| k.change)
    }

    /// The label of one of this wallet's addresses, or `None` if the address is not ours.
    pub fn label_of(&self, address: &Address) -> Option<&str> {
        if address.network() != self.network() {
            return None;
        }
        let i = *self.keys.get(&address.pubkey_hash())?;
        self.store.keys().get(i).map(|k| k.label.as_str())
    }

    /// The state of a wallet transaction, if the wallet knows it.
    pub fn tx_state(&self, txid: &Txid) -> Option<TxState> {
        self.txs.get(txid).map(|w| w.state)
    }

    /// Builds and signs a payment of `amount` to `to` at `fee_rate_per_kb` units per 1000 bytes,
    /// spending only trusted coins ([`crate::Balances::trusted`]). Change goes to a fresh
    /// address, persisted first. Nothing is marked spent: see [`Wallet::commit_transaction`].
    ///
    /// # Errors
    /// [`WalletError::Address`] for an address of another network,
    /// [`WalletError::AmountTooSmall`] for a dust payment (after subtracting the fee when
    /// `subtract_fee`), [`WalletError::InsufficientFunds`], [`WalletError::TxTooLarge`], or
    /// [`WalletError::Io`] if the change key cannot be saved.
    pub fn create_transaction(
        &mut self,
        to: &Address,
        amount: Amount,
        fee_rate_per_kb: u64,
        subtract_fee: bool,
        tip_height: u32,
        now: u64,
    ) -> Result<CreatedTx, WalletError> {
        let subtract_from: &[usize] = if subtract_fee { &[0] } else { &[] };
        self.create_payments(&[(*to, amount)], subtract_from, fee_rate_per_kb, tip_height, now)
    }

    /// Records a transaction this wallet created: appends it to the file's sent list (`fsync`ed)
    /// and tracks it as in the mempool. Committing the same transaction again is harmless.
    ///
    /// # Errors
    /// [`WalletError::Io`] if the wallet file cannot be written; nothing is recorded then.
    pub fn commit_transaction(&mut self, tx: &Transaction, now: u64) -> Result<(), WalletError> {
        let txid = tx.compute_txid();
        if !self.store.sent().iter().any(|s| s.tx.compute_txid() == txid) {
            self.store.add_sent(tx.clone(), now)?;
        }
        match self.txs.get_mut(&txid) {
            Some(w) => {
                w.from_me = true;
                if !matches!(w.state, TxState::Confirmed { .. }) {
                    w.state = TxState::InMempool;
                }
            }
            None => self.insert_tx(tx.clone(), txid, TxState::InMempool, now, true),
        }
        tracing::info!(%txid, "committed transaction");
        Ok(())
    }

    /// Signs every input of `tx` (spending `spent`, one output per input) with this wallet's
    /// keys, for `signrawtransactionwithwallet`.
    ///
    /// # Errors
    /// A spent output whose key this wallet does not hold (then `tx` is unchanged).
    pub fn sign(&self, tx: &mut Transaction, spent: &[TxOut], now: u64) -> Result<(), WalletError> {
        self.sign_all(tx, spent, now)
    }

    pub(crate) fn sign_all(&self, tx: &mut Transaction, spent: &[TxOut], now: u64) -> Result<(), WalletError> {
        if self.store.is_locked(now) {
            return Err(WalletError::Locked);
        }
        let (store, index) = (&self.store, &self.keys);
        sign_transaction(tx, spent, |h| index.get(h).and_then(|&i| store.key_pair(i, now).ok().flatten()))
    }

    /// Whether the keys are encrypted (`encryptwallet`).
    pub fn is_encrypted(&self) -> bool {
        self.store.is_encrypted()
    }

    /// For an encrypted wallet, the Unix time it locks again (0: locked); `None` otherwise.
    pub fn unlocked_until(&self, now: u64) -> Option<u64> {
        self.store.unlocked_until(now)
    }

    /// How the master key is kept: unlock with it off the wallet's thread (the KDF is slow), then
    /// hand the master key to [`Wallet::unlock`].
    pub fn encryption(&self) -> Option<&Encryption> {
        self.store.encryption()
    }

    /// Encrypts the secret keys under `master` (see [`crate::crypter`]); the wallet is locked
    /// afterwards.
    ///
    /// # Errors
    /// Already encrypted, or the file cannot be written (then nothing changed).
    pub fn encrypt(&mut self, encryption: Encryption, master: &MasterKey) -> Result<(), WalletError> {
        self.store.encrypt(encryption, master)?;
        tracing::info!(dir = %self.dir().display(), "wallet encrypted");
        Ok(())
    }

    /// Unlocks the keys until `until` (Unix time).
    ///
    /// # Errors
    /// Not encrypted, or `master` is not this wallet's.
    pub fn unlock(&mut self, master: MasterKey, until: u64) -> Result<(), WalletError> {
        self.store.unlock(master, until)
    }

    /// Seals the master key under a new passphrase (`walletpassphrasechange`).
    ///
    /// # Errors
    /// Not encrypted, or the file cannot be written (then nothing changed).
    pub fn replace_encryption(&mut self, encryption: Encryption) -> Result<(), WalletError> {
        self.store.replace_encryption(encryption)
    }

    /// Locks the keys.
    ///
    /// # Errors
    /// Not encrypted.
    pub fn lock(&mut self) -> Result<(), WalletError> {
        self.store.lock()
    }

    /// Locks the keys if their unlock time is up.
    pub fn relock_if_expired(&mut self, now: u64) {
        self.store.relock_if_expired(now);
    }

    /// Transactions this wallet sent that are neither confirmed, in the mempool, nor conflicted,
    /// in the order they were committed (parents before children): the node re-submits them.
    pub fn transactions_to_resubmit(&self) -> Vec<Transaction> {
        let mut seen = std::collections::HashSet::new();
        self.store
            .sent()
            .iter()
            .filter_map(|s| {
                let txid = s.tx.compute_txid();
                let w = self.txs.get(&txid)?;
                (w.state == TxState::Inactive && !s.abandoned && seen.insert(txid)).then(|| w.tx.clone())
            })
            .collect()
    }

    /// Wallet transactions that are neither confirmed nor conflicted (in the mempool or
    /// inactive), oldest first, coinbases excepted (they never enter a mempool): the node checks
    /// each against its mempool and reports
    /// [`Wallet::tx_accepted_to_mempool`] or [`Wallet::tx_left_mempool`].
    pub fn unconfirmed_txids(&self) -> Vec<Txid> {
        let mut unconfirmed: Vec<&WalletTx> = self
            .txs
            .values()
            .filter(|w| matches!(w.state, TxState::InMempool | TxState::Inactive) && !w.tx.is_coinbase())
            .collect();
        unconfirmed.sort_by_key(|w| (w.time_received, w.seq));
        unconfirmed.into_iter().map(|w| w.txid).collect()
    }

    /// Adds a transaction to the map and the spend index.
    pub(crate) fn insert_tx(&mut self, tx: Transaction, txid: Txid, state: TxState, time_received: u64, from_me: bool) {
        if !tx.is_coinbase() {
            for input in &tx.inputs {
                let spenders = self.spends.entry(input.prevout).or_default();
                if !spenders.contains(&txid) {
                    spenders.push(txid);
                }
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.txs.insert(
            txid,
            WalletTx {
                tx,
                txid,
                state,
                time_received,
                from_me,
                seq,
            },
        );
    }

    /// The output `outpoint` names, if it is in a wallet transaction and pays one of our keys.
    pub(crate) fn our_output(&self, outpoint: &OutPoint) -> Option<&TxOut> {
        let w = self.txs.get(&outpoint.txid)?;
        let out = w.tx.outputs.get(usize::try_from(outpoint.vout).ok()?)?;
        self.is_mine(&out.lock).then_some(out)
    }

    /// Whether any input of `tx` spends one of our outputs.
    pub(crate) fn spends_ours(&self, tx: &Transaction) -> bool {
        !tx.is_coinbase() && tx.inputs.iter().any(|i| self.our_output(&i.prevout).is_some())
    }

    /// The label of the key a lock pays, if it is ours.
    pub(crate) fn label_of_lock(&self, lock: &Lock) -> Option<&str> {
        let Lock::PubkeyHash(h) = lock else { return None };
        let i = *self.keys.get(h)?;
        self.store.keys().get(i).map(|k| k.label.as_str())
    }
}

impl fmt::Debug for Wallet {
    /// Summarizes the wallet; secrets are never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wallet")
            .field("network", &self.network())
            .field("birth_height", &self.birth_height())
            .field("keys", &self.keys.len())
            .field("transactions", &self.txs.len())
            .finish()
    }
}
