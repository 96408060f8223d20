//! The wallet file, `<dir>/wallet.json`: keys, birth height and the transactions this wallet sent.
//!
//! ```json
//! {"format": 1, "network": "regtest", "birth_height": 0,
//!  "keys": [{"secret": "<64 hex>", "created": 1700000000, "label": ""}],
//!  "sent": [{"hex": "<raw transaction hex>", "time": 1700000000}]}
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
use cairn_chain::{Network, Transaction};
use serde::{Deserialize, Serialize};

use crate::error::WalletError;
use crate::keys::KeyPair;

/// Name of the wallet file inside the wallet directory.
pub const WALLET_FILE: &str = "wallet.json";
/// Name of the temporary file the next version is written to before the rename.
pub const WALLET_TMP_FILE: &str = "wallet.json.tmp";
/// The only file format this version reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// One key with its creation time and label.
#[derive(Clone, Debug)]
pub struct KeyRecord {
    /// The key pair (its `Debug` redacts the secret).
    pub key: KeyPair,
    /// Unix time the key was created.
    pub created: u64,
    /// The label given to its address ("" for none, and for change).
    pub label: String,
}

/// A transaction this wallet created and committed, with the time it was committed.
#[derive(Clone, Debug)]
pub struct SentRecord {
    /// The signed transaction.
    pub tx: Transaction,
    /// Unix time of the commit.
    pub time: u64,
}

/// The contents of the wallet file, and where it lives.
#[derive(Clone)]
pub struct Keystore {
    dir: PathBuf,
    network: Network,
    birth_height: u32,
    keys: Vec<KeyRecord>,
    sent: Vec<SentRecord>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJson {
    format: u32,
    network: String,
    birth_height: u32,
    keys: Vec<KeyJson>,
    sent: Vec<SentJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyJson {
    secret: String,
    created: u64,
    label: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SentJson {
    hex: String,
    time: u64,
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
        if file.format != FORMAT_VERSION {
            return Err(corrupt(format!("unknown format {}", file.format)));
        }
        let found: Network = file.network.parse().map_err(|e: String| corrupt(e))?;
        if found != network {
            return Err(corrupt(format!("wallet is for network {found}, not {network}")));
        }
        let mut keys = Vec::with_capacity(file.keys.len());
        for (i, k) in file.keys.into_iter().enumerate() {
            let mut secret = [0u8; 32];
            hex::decode_to_slice(&k.secret, &mut secret).map_err(|_| corrupt(format!("key {i}: secret is not 64 hex digits")))?;
            let key = KeyPair::from_secret_bytes(secret).ok_or_else(|| corrupt(format!("key {i}: invalid secret key")))?;
            keys.push(KeyRecord {
                key,
                created: k.created,
                label: k.label,
            });
        }
        let mut sent = Vec::with_capacity(file.sent.len());
        for (i, s) in file.sent.into_iter().enumerate() {
            let raw = hex::decode(&s.hex).map_err(|_| corrupt(format!("sent transaction {i}: invalid hex")))?;
            let tx = Transaction::decode(&raw).map_err(|e| corrupt(format!("sent transaction {i}: {e}")))?;
            sent.push(SentRecord { tx, time: s.time });
        }
        Ok(Some(Keystore {
            dir: dir.to_path_buf(),
            network,
            birth_height: file.birth_height,
            keys,
            sent,
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
    pub fn add_key(&mut self, key: KeyPair, label: &str, now: u64) -> Result<(), WalletError> {
        self.keys.push(KeyRecord {
            key,
            created: now,
            label: label.to_owned(),
        });
        self.save().inspect_err(|_| {
            self.keys.pop();
        })
    }

    /// Appends a sent transaction and persists the file; on failure it is not kept.
    ///
    /// # Errors
    /// [`WalletError::Io`] if the file cannot be written.
    pub fn add_sent(&mut self, tx: Transaction, time: u64) -> Result<(), WalletError> {
        self.sent.push(SentRecord { tx, time });
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
            format: FORMAT_VERSION,
            network: self.network.as_str().to_owned(),
            birth_height: self.birth_height,
            keys: self
                .keys
                .iter()
                .map(|k| KeyJson {
                    secret: hex::encode(k.key.secret_bytes()),
                    created: k.created,
                    label: k.label.clone(),
                })
                .collect(),
            sent: self
                .sent
                .iter()
                .map(|s| SentJson {
                    hex: hex::encode(s.tx.encode()),
                    time: s.time,
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

impl fmt::Debug for Keystore {
    /// Shows where the file is and how much it holds; key `Debug` redacts secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keystore")
            .field("dir", &self.dir)
            .field("network", &self.network)
            .field("birth_height", &self.birth_height)
            .field("keys", &self.keys)
            .field("sent", &self.sent.len())
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
        ks.add_key(KeyPair::generate(), "a", 5).unwrap();
        let mode = fs::metadata(ks.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!wdir.join(WALLET_TMP_FILE).exists());
        let back = Keystore::load(&wdir, Network::Regtest).unwrap().unwrap();
        assert_eq!(back.birth_height(), 7);
        assert_eq!(back.keys()[0].key, ks.keys()[0].key);
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
        let text = fs::read_to_string(&path).unwrap().replace("\"format\": 1", "\"format\": 2");
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
        ks.add_key(key, "", 1).unwrap();
        assert!(!format!("{ks:?}").contains(&secret));
        assert!(fs::read_to_string(ks.path()).unwrap().contains(&secret));
    }
}
