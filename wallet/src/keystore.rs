//! The wallet file, `<dir>/wallet.json`: keys, birth height and the transactions this wallet sent.
//!
//! ```json
//! {"format": 1, "network": "regtest", "birth_height": 0,
//!  "keys": [{"secret": "<64 hex>", "created": 1700000000, "label": ""}],
//!  "sent": [{"hex": "<raw transaction hex>", "time": 1700000000}]}
//! ```
//!
//! An encrypted wallet (`encryptwallet`, see [`crate::crypter`]) is format 2: an `encryption`
//! object (Argon2id costs, salt, the sealed master key) and, for each key, its public key and
//! its sealed secret instead of `secret`:
//!
//! ```json
//! {"format": 2, "network": "regtest", "birth_height": 0,
//!  "encryption": {"kdf": "argon2id", "m_cost_kib": 65536, "t_cost": 3, "p_cost": 1,
//!                 "salt": "<32 hex>", "master": "<hex>"},
//!  "keys": [{"pubkey": "<66 hex>", "sealed": "<hex>", "created": 1700000000, "label": ""}],
//!  "sent": []}
//! ```
//!
//! Every change rewrites the whole file atomically: the new content goes to `wallet.json.tmp`
//! in the same directory (created with mode 0600, since it holds secrets), is written and
//! `fsync`ed, renamed over `wallet.json`, and then the directory itself is `fsync`ed so the
//! rename survives a power cut. A crash therefore leaves either the old or the new file, never a
//! mixture; a `.tmp` left by a crash is ignored and removed on the next load. Loading checks
//! everything (JSON shape, format, network, hex, key validity, transaction encoding) and reports
//! [`WalletError::Corrupt`] instead of panicking.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use cairn_chain::encode::{Decodable, Encodable};
use cairn_chain::{Network, OutPoint, PubkeyHash, Transaction, Txid};
use secp256k1::PublicKey;
use serde::{Deserialize, Serialize};

use crate::crypter::{Encryption, KdfParams, MasterKey};
use crate::error::WalletError;
use crate::keys::KeyPair;

/// Name of the wallet file inside the wallet directory.
pub const WALLET_FILE: &str = "wallet.json";
/// Name of the temporary file the next version is written to before the rename.
pub const WALLET_TMP_FILE: &str = "wallet.json.tmp";
/// The file format of unencrypted wallets.
pub const FORMAT_VERSION: u32 = 1;
/// The file format of encrypted wallets.
pub const FORMAT_ENCRYPTED: u32 = 2;

/// A key's secret as the wallet keeps it.
#[derive(Clone)]
pub enum KeySecret {
    /// In the clear (an unencrypted wallet).
    Plain(KeyPair),
    /// Sealed under the master key (an encrypted wallet).
    Sealed(Vec<u8>),
}

impl fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySecret::Plain(k) => k.fmt(f),
            KeySecret::Sealed(_) => f.write_str("<sealed>"),
        }
    }
}

/// One key with its creation time and label.
#[derive(Clone, Debug)]
pub struct KeyRecord {
    /// The public key.
    pub public: PublicKey,
    /// Its hash (what addresses name).
    pub hash: PubkeyHash,
    /// The secret, in the clear or sealed.
    pub secret: KeySecret,
    /// Unix time the key was created.
    pub created: u64,
    /// The label given to its address ("" for none, and for change).
    pub label: String,
    /// Made for change (Core's internal keys): not a receiving address.
    pub change: bool,
}

/// A transaction this wallet created and committed, with the time it was committed.
#[derive(Clone, Debug)]
pub struct SentRecord {
    /// The signed transaction.
    pub tx: Transaction,
    /// Unix time of the commit.
    pub time: u64,
    /// Given up by `abandontransaction`: not offered to the mempool again.
    pub abandoned: bool,
}

/// The contents of the wallet file, and where it lives.
#[derive(Clone)]
pub struct Keystore {
    dir: PathBuf,
    network: Network,
    birth_height: u32,
    keys: Vec<KeyRecord>,
    sent: Vec<SentRecord>,
    encryption: Option<Encryption>,
    /// Coins kept out of coin selection across restarts (`lockunspent … persistent`).
    locked: Vec<OutPoint>,
    /// The master key while the wallet is unlocked, and the Unix time it locks again.
    unlocked: Option<(MasterKey, u64)>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJson {
    format: u32,
    network: String,
    birth_height: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encryption: Option<EncryptionJson>,
    keys: Vec<KeyJson>,
    sent: Vec<SentJson>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    locked: Vec<LockedJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockedJson {
    txid: String,
    vout: u32,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EncryptionJson {
    kdf: String,
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
    master: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pubkey: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<String>,
    created: u64,
    label: String,
    #[serde(default, skip_serializing_if = "is_false")]
    change: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SentJson {
    hex: String,
    time: u64,
    #[serde(default, skip_serializing_if = "is_false")]
    abandoned: bool,
}

impl Keystore {
    /// Creates `dir` (mode 0700) if needed and writes a new, empty wallet file there.
    ///
    /// # Errors
    /// [`WalletError::Io`] if the directory or file cannot be written.
    pub fn create(dir: &Path, network: Network, birth_height: u32) -> Result<Keystore, WalletError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| WalletError::io(dir, e))?;
        let store = Keystore {
            dir: dir.to_path_buf(),
            network,
            birth_height,
            keys: Vec::new(),
            sent: Vec::new(),
            encryption: None,
            locked: Vec::new(),
            unlocked: None,
        };
        store.save()?;
        Ok(store)
    }

    /// Loads the wallet file in `dir`, or `Ok(None)` if there is none. A leftover temporary
    /// file from an interrupted write is removed first.
    ///
    /// # Errors
    /// [`WalletError::Io`] if the file cannot be read, [`WalletError::Corrupt`] if any part of it
    /// is invalid or it belongs to another network.
    pub fn load(dir: &Path, network: Network) -> Result<Option<Keystore>, WalletError> {
        let tmp = dir.join(WALLET_TMP_FILE);
        match fs::remove_file(&tmp) {
            Ok(()) => tracing::warn!(path = %tmp.display(), "removed leftover temporary wallet file"),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            // Harmless: the next save truncates it.
            Err(e) => tracing::warn!(path = %tmp.display(), error = %e, "cannot remove leftover temporary wallet file"),
        }
        let path = dir.join(WALLET_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(WalletError::io(&path, e)),
        };
        let corrupt = |reason: String| WalletError::Corrupt {
            path: path.clone(),
            reason,
        };
        let file: FileJson = serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("invalid json: {e}")))?;
        let encryption = match (file.format, file.encryption) {
            (FORMAT_VERSION, None) => None,
            (FORMAT_ENCRYPTED, Some(e)) => Some(read_encryption(e).map_err(corrupt)?),
            (FORMAT_VERSION | FORMAT_ENCRYPTED, _) => return Err(corrupt("encryption does not match the format".into())),
            (other, _) => return Err(corrupt(format!("unknown format {other}"))),
        };
        let found: Network = file.network.parse().map_err(|e: String| corrupt(e))?;
        if found != network {
            return Err(corrupt(format!("wallet is for network {found}, not {network}")));
        }
        let mut keys = Vec::with_capacity(file.keys.len());
        for (i, k) in file.keys.into_iter().enumerate() {
            let record = read_key(k, encryption.is_some()).map_err(|reason| corrupt(format!("key {i}: {reason}")))?;
            keys.push(record);
        }
        let mut sent = Vec::with_capacity(file.sent.len());
        for (i, s) in file.sent.into_iter().enumerate() {
            let raw = hex::decode(&s.hex).map_err(|_| corrupt(format!("sent transaction {i}: invalid hex")))?;
            let tx = Transaction::decode(&raw).map_err(|e| corrupt(format!("sent transaction {i}: {e}")))?;
            sent.push(SentRecord {
                tx,
                time: s.time,
                abandoned: s.abandoned,
            });
        }
        let mut locked = Vec::with_capacity(file.locked.len());
        for (i, l) in file.locked.into_iter().enumerate() {
            let txid: Txid = l.txid.parse().map_err(|_| corrupt(format!("locked coin {i}: invalid txid")))?;
            locked.push(OutPoint::new(txid, l.vout));
        }
        Ok(Some(Keystore {
            dir: dir.to_path_buf(),
            network,
            birth_height: file.birth_height,
            keys,
            sent,
            encryption,
            locked,
            unlocked: None,
        }))
    }

    /// The wallet directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The network the wallet belongs to.
    pub fn network(&self) -> Network {
        self.network
    }

    /// The chain height at creation: blocks below it cannot pay this wallet's keys.
    pub fn birth_height(&self) -> u32 {
        self.birth_height
    }

    /// The keys, oldest first.
    pub fn keys(&self) -> &[KeyRecord] {
        &self.keys
    }

    /// The committed transactions, in commit order.
    pub fn sent(&self) -> &[SentRecord] {
        &self.sent
    }

    /// The path of the wallet file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(WALLET_FILE)
    }

    /// Adds a key and persists the file; on failure the key is not kept.
    ///
    /// # Errors
    /// [`WalletError::Io`] if the file cannot be written.
    pub fn add_key(&mut self, key: KeyPair, label: &str, change: bool, now: u64) -> Result<(), WalletError> {
        let public = key.public_key();
        let secret = match &self.encryption {
            None => KeySecret::Plain(key),
            Some(_) => {
                let master = self.master(now).ok_or(WalletError::Locked)?;
                KeySecret::Sealed(master.seal_secret(&key.secret_bytes(), &public.serialize()))
            }
        };
        self.keys.push(KeyRecord {
            public,
            hash: PubkeyHash::from_pubkey_bytes(&public.serialize()),
            secret,
            created: now,
            label: label.to_owned(),
            change,
        });
        self.save().inspect_err(|_| {
            self.keys.pop();
        })
    }

    /// Whether the secret keys are encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.encryption.is_some()
    }

    /// How the master key is kept, for unlocking off the wallet's thread.
    pub fn encryption(&self) -> Option<&Encryption> {
        self.encryption.as_ref()
    }

    /// The master key, if the wallet is unlocked at `now`.
    fn master(&self, now: u64) -> Option<&MasterKey> {
        self.unlocked.as_ref().filter(|(_, until)| now < *until).map(|(m, _)| m)
    }

    /// Whether signing needs `walletpassphrase` first at `now`.
    pub fn is_locked(&self, now: u64) -> bool {
        self.encryption.is_some() && self.master(now).is_none()
    }

    /// For an encrypted wallet, the Unix time it locks again (0: locked now); `None` otherwise.
    pub fn unlocked_until(&self, now: u64) -> Option<u64> {
        self.encryption.as_ref()?;
        Some(
            self.unlocked
                .as_ref()
                .filter(|(_, until)| now < *until)
                .map_or(0, |(_, until)| *until),
        )
    }

    /// The key pair of key `index`, opening its sealed secret if the wallet is encrypted.
    ///
    /// # Errors
    /// [`WalletError::Locked`] when locked at `now`; [`WalletError::Corrupt`] if the sealed
    /// secret does not open to the key's public key.
    pub fn key_pair(&self, index: usize, now: u64) -> Result<Option<KeyPair>, WalletError> {
        let Some(record) = self.keys.get(index) else { return Ok(None) };
        match &record.secret {
            KeySecret::Plain(k) => Ok(Some(k.clone())),
            KeySecret::Sealed(sealed) => {
                let master = self.master(now).ok_or(WalletError::Locked)?;
                open_key(master, sealed, &record.public)
                    .map(Some)
                    .ok_or_else(|| WalletError::Corrupt {
                        path: self.path(),
                        reason: format!("key {index}: its sealed secret does not open"),
                    })
            }
        }
    }

    /// Encrypts every secret key under `master` (sealed in `encryption`) and writes the file;
    /// the wallet is locked afterwards. On a write failure nothing changes.
    ///
    /// # Errors
    /// [`WalletError::WrongEncState`] if already encrypted; [`WalletError::Io`].
    pub fn encrypt(&mut self, encryption: Encryption, master: &MasterKey) -> Result<(), WalletError> {
        if self.encryption.is_some() {
            return Err(WalletError::WrongEncState("the wallet is already encrypted"));
        }
        let plain = self.keys.clone();
        for record in &mut self.keys {
            if let KeySecret::Plain(k) = &record.secret {
                record.secret = KeySecret::Sealed(master.seal_secret(&k.secret_bytes(), &record.public.serialize()));
            }
        }
        self.encryption = Some(encryption);
        self.unlocked = None;
        self.save().inspect_err(|_| {
            self.keys = plain;
            self.encryption = None;
        })
    }

    /// Unlocks until `until` (Unix time) with `master`, checked against every sealed secret.
    ///
    /// # Errors
    /// [`WalletError::WrongEncState`] if not encrypted; [`WalletError::PassphraseIncorrect`] if
    /// `master` opens no key, [`WalletError::Corrupt`] if it opens some but not all.
    pub fn unlock(&mut self, master: MasterKey, until: u64) -> Result<(), WalletError> {
        if self.encryption.is_none() {
            return Err(WalletError::WrongEncState("the wallet is not encrypted"));
        }
        let mut opened = 0;
        for record in &self.keys {
            if let KeySecret::Sealed(sealed) = &record.secret
                && open_key(&master, sealed, &record.public).is_some()
            {
                opened += 1;
            }
        }
        if opened < self.keys.len() {
            return Err(if opened == 0 {
                WalletError::PassphraseIncorrect
            } else {
                WalletError::Corrupt {
                    path: self.path(),
                    reason: format!("{} of {} sealed keys do not open", self.keys.len() - opened, self.keys.len()),
                }
            });
        }
        self.unlocked = Some((master, until));
        Ok(())
    }

    /// Marks sent transaction `txid` abandoned (or not) and writes the file; false if it is
    /// not a sent transaction or already so.
    ///
    /// # Errors
    /// [`WalletError::Io`] (then unchanged).
    pub fn set_abandoned(&mut self, txid: &Txid, abandoned: bool) -> Result<bool, WalletError> {
        let Some(i) = self
            .sent
            .iter()
            .position(|s| s.tx.compute_txid() == *txid && s.abandoned != abandoned)
        else {
            return Ok(false);
        };
        self.sent[i].abandoned = abandoned;
        self.save().inspect_err(|_| self.sent[i].abandoned = !abandoned)?;
        Ok(true)
    }

    /// The coins locked across restarts.
    pub fn locked(&self) -> &[OutPoint] {
        &self.locked
    }

    /// Replaces the coins locked across restarts and writes the file.
    ///
    /// # Errors
    /// [`WalletError::Io`] (then unchanged).
    pub fn set_locked(&mut self, locked: Vec<OutPoint>) -> Result<(), WalletError> {
        let old = std::mem::replace(&mut self.locked, locked);
        self.save().inspect_err(|_| self.locked = old)
    }

    /// Replaces how the master key is sealed (`walletpassphrasechange`) and writes the file.
    ///
    /// # Errors
    /// [`WalletError::WrongEncState`] if not encrypted; [`WalletError::Io`] (then unchanged).
    pub fn replace_encryption(&mut self, encryption: Encryption) -> Result<(), WalletError> {
        let Some(old) = self.encryption.replace(encryption) else {
            self.encryption = None;
            return Err(WalletError::WrongEncState("the wallet is not encrypted"));
        };
        self.save().inspect_err(|_| self.encryption = Some(old))
    }

    /// Forgets the master key (`walletlock`).
    ///
    /// # Errors
    /// [`WalletError::WrongEncState`] if not encrypted.
    pub fn lock(&mut self) -> Result<(), WalletError> {
        if self.encryption.is_none() {
            return Err(WalletError::WrongEncState("the wallet is not encrypted"));
        }
        self.unlocked = None;
        Ok(())
    }

    /// Forgets the master key if its time is up at `now`.
    pub fn relock_if_expired(&mut self, now: u64) {
        if self.unlocked.as_ref().is_some_and(|(_, until)| now >= *until) {
            self.unlocked = None;
        }
    }

    /// Appends a sent transaction and persists the file; on failure it is not kept.
    ///
    /// # Errors
    /// [`WalletError::Io`] if the file cannot be written.
    pub fn add_sent(&mut self, tx: Transaction, time: u64) -> Result<(), WalletError> {
        self.sent.push(SentRecord {
            tx,
            time,
            abandoned: false,
        });
        self.save().inspect_err(|_| {
            self.sent.pop();
        })
    }

    /// Writes the whole file atomically (temporary file, `fsync`, rename, directory `fsync`).
    ///
    /// # Errors
    /// [`WalletError::Io`] naming the step's path.
    pub fn save(&self) -> Result<(), WalletError> {
        let file = FileJson {
            format: if self.encryption.is_some() {
                FORMAT_ENCRYPTED
            } else {
                FORMAT_VERSION
            },
            network: self.network.as_str().to_owned(),
            birth_height: self.birth_height,
            encryption: self.encryption.as_ref().map(|e| EncryptionJson {
                kdf: "argon2id".into(),
                m_cost_kib: e.kdf.m_cost_kib,
                t_cost: e.kdf.t_cost,
                p_cost: e.kdf.p_cost,
                salt: hex::encode(e.kdf.salt),
                master: hex::encode(&e.sealed_master),
            }),
            keys: self
                .keys
                .iter()
                .map(|k| match &k.secret {
                    KeySecret::Plain(pair) => KeyJson {
                        secret: Some(hex::encode(pair.secret_bytes())),
                        pubkey: None,
                        sealed: None,
                        created: k.created,
                        label: k.label.clone(),
                        change: k.change,
                    },
                    KeySecret::Sealed(sealed) => KeyJson {
                        secret: None,
                        pubkey: Some(hex::encode(k.public.serialize())),
                        sealed: Some(hex::encode(sealed)),
                        created: k.created,
                        label: k.label.clone(),
                        change: k.change,
                    },
                })
                .collect(),
            sent: self
                .sent
                .iter()
                .map(|s| SentJson {
                    hex: hex::encode(s.tx.encode()),
                    time: s.time,
                    abandoned: s.abandoned,
                })
                .collect(),
            locked: self
                .locked
                .iter()
                .map(|o| LockedJson {
                    txid: o.txid.to_string(),
                    vout: o.vout,
                })
                .collect(),
        };
        let tmp = self.dir.join(WALLET_TMP_FILE);
        let path = self.path();
        // Serializing plain strings and integers cannot fail; the error is mapped all the same.
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| WalletError::io(&tmp, e.into()))?;
        let mut out = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| WalletError::io(&tmp, e))?;
        out.write_all(&bytes).map_err(|e| WalletError::io(&tmp, e))?;
        out.sync_all().map_err(|e| WalletError::io(&tmp, e))?;
        drop(out);
        fs::rename(&tmp, &path).map_err(|e| WalletError::io(&path, e))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| WalletError::io(&self.dir, e))?;
        Ok(())
    }
}

fn read_encryption(e: EncryptionJson) -> Result<Encryption, String> {
    if e.kdf != "argon2id" {
        return Err(format!("unknown kdf {:?}", e.kdf));
    }
    let mut salt = [0u8; 16];
    hex::decode_to_slice(&e.salt, &mut salt).map_err(|_| "encryption salt is not 32 hex digits".to_string())?;
    let kdf = KdfParams {
        m_cost_kib: e.m_cost_kib,
        t_cost: e.t_cost,
        p_cost: e.p_cost,
        salt,
    };
    if !kdf.in_range() {
        return Err("encryption costs out of range".into());
    }
    let sealed_master = hex::decode(&e.master).map_err(|_| "sealed master key is not hex".to_string())?;
    Ok(Encryption { kdf, sealed_master })
}

fn read_key(k: KeyJson, encrypted: bool) -> Result<KeyRecord, String> {
    let (public, secret) = match (encrypted, k.secret, k.pubkey, k.sealed) {
        (false, Some(secret), None, None) => {
            let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(&secret, bytes.as_mut()).map_err(|_| "secret is not 64 hex digits".to_string())?;
            let pair = KeyPair::from_secret_bytes(*bytes).ok_or("invalid secret key")?;
            (pair.public_key(), KeySecret::Plain(pair))
        }
        (true, None, Some(pubkey), Some(sealed)) => {
            let bytes = hex::decode(&pubkey).map_err(|_| "pubkey is not hex".to_string())?;
            let public = PublicKey::from_slice(&bytes).map_err(|_| "invalid public key".to_string())?;
            let sealed = hex::decode(&sealed).map_err(|_| "sealed secret is not hex".to_string())?;
            (public, KeySecret::Sealed(sealed))
        }
        (false, ..) => return Err("an unencrypted wallet's key needs exactly a secret".into()),
        (true, ..) => return Err("an encrypted wallet's key needs exactly a pubkey and a sealed secret".into()),
    };
    Ok(KeyRecord {
        public,
        hash: PubkeyHash::from_pubkey_bytes(&public.serialize()),
        secret,
        created: k.created,
        label: k.label,
        change: k.change,
    })
}

/// Opens a sealed secret and checks it is the secret of `public`.
fn open_key(master: &MasterKey, sealed: &[u8], public: &PublicKey) -> Option<KeyPair> {
    let secret = master.open_secret(sealed, &public.serialize())?;
    KeyPair::from_secret_bytes(*secret).filter(|k| k.public_key() == *public)
}

impl fmt::Debug for Keystore {
    /// Shows where the file is and how much it holds; key `Debug` redacts secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keystore")
            .field("dir", &self.dir)
            .field("network", &self.network)
            .field("birth_height", &self.birth_height)
            .field("keys", &self.keys)
            .field("sent", &self.sent.len())
            .field("encryption", &self.encryption)
            .field("unlocked", &self.unlocked.as_ref().map(|(_, until)| until))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn file_is_private_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let wdir = dir.path().join("w");
        let mut ks = Keystore::create(&wdir, Network::Regtest, 7).unwrap();
        ks.add_key(KeyPair::generate(), "a", false, 5).unwrap();
        let mode = fs::metadata(ks.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!wdir.join(WALLET_TMP_FILE).exists());
        let back = Keystore::load(&wdir, Network::Regtest).unwrap().unwrap();
        assert_eq!(back.birth_height(), 7);
        assert_eq!(back.keys()[0].public, ks.keys()[0].public);
        assert_eq!(back.keys()[0].label, "a");
    }

    #[test]
    fn wrong_network_and_unknown_format_are_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        Keystore::create(dir.path(), Network::Regtest, 0).unwrap();
        let err = Keystore::load(dir.path(), Network::Testnet).unwrap_err();
        assert!(
            matches!(&err, WalletError::Corrupt { reason, .. } if reason.contains("network")),
            "{err}"
        );
        let path = dir.path().join(WALLET_FILE);
        let text = fs::read_to_string(&path).unwrap().replace("\"format\": 1", "\"format\": 3");
        fs::write(&path, text).unwrap();
        let err = Keystore::load(dir.path(), Network::Regtest).unwrap_err();
        assert!(
            matches!(&err, WalletError::Corrupt { reason, .. } if reason.contains("format")),
            "{err}"
        );
    }

    #[test]
    fn debug_redacts_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let mut ks = Keystore::create(dir.path(), Network::Regtest, 0).unwrap();
        let key = KeyPair::generate();
        let secret = hex::encode(key.secret_bytes());
        ks.add_key(key, "", false, 1).unwrap();
        assert!(!format!("{ks:?}").contains(&secret));
        assert!(fs::read_to_string(ks.path()).unwrap().contains(&secret));
    }
}
