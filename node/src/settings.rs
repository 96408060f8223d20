//! `NETDIR/settings.json`: what the node changes about itself at run time and keeps across
//! restarts, as Core's `settings.json`. Today one key, `wallet`: the wallets loaded at start
//! (`createwallet`/`loadwallet`/`unloadwallet` with `load_on_startup`).
//!
//! Decision: without a `wallet` key (a first start) the node loads, creating it if needed, the
//! wallet named [`DEFAULT_WALLET`] — Core stopped creating a default wallet in 0.21, but a Cairn
//! node mines to and pays from its wallet out of the box, and a user who unloads it with
//! `load_on_startup=false` gets a node that starts without one. Other keys are kept as found.
//! The file is rewritten atomically (temporary file, `fsync`, rename, directory `fsync`).

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// The file's name in the network directory.
pub const FILE: &str = "settings.json";
/// The wallet loaded (and created) at a first start.
pub const DEFAULT_WALLET: &str = "default";

/// Why the settings file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file system failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not what this version writes.
    #[error("{path} is invalid: {reason} (fix or remove it)")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The settings file of one network directory.
#[derive(Clone, Debug)]
pub struct Settings {
    path: PathBuf,
}

impl Settings {
    /// The settings of the network directory `net_dir`.
    pub fn new(net_dir: &Path) -> Self {
        Settings { path: net_dir.join(FILE) }
    }

    fn read(&self) -> Result<Map<String, Value>, SettingsError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Map::new()),
            Err(source) => {
                return Err(SettingsError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let invalid = |reason: String| SettingsError::Invalid {
            path: self.path.clone(),
            reason,
        };
        match serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))? {
            Value::Object(map) => Ok(map),
            _ => Err(invalid("not a JSON object".into())),
        }
    }

    /// The wallets to load at start, in order.
    ///
    /// # Errors
    /// The file cannot be read, is not JSON, or its `wallet` is not a list of names.
    pub fn wallets_on_startup(&self) -> Result<Vec<String>, SettingsError> {
        let map = self.read()?;
        let Some(list) = map.get("wallet") else {
            return Ok(vec![DEFAULT_WALLET.to_string()]);
        };
        let names = match list {
            // Core writes a lone name as a string.
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| SettingsError::Invalid {
                    path: self.path.clone(),
                    reason: "\"wallet\" holds something other than names".into(),
                })?,
            _ => {
                return Err(SettingsError::Invalid {
                    path: self.path.clone(),
                    reason: "\"wallet\" is not a list of names".into(),
                });
            }
        };
        Ok(names)
    }

    /// Adds `name` to the wallets loaded at start (`on`) or removes it.
    ///
    /// # Errors
    /// The file cannot be read or written.
    pub fn set_load_on_startup(&self, name: &str, on: bool) -> Result<(), SettingsError> {
        // One change at a time (read, change, write): two RPC calls cannot lose each other's.
        static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = WRITING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut names = self.wallets_on_startup()?;
        names.retain(|n| n != name);
        if on {
            names.push(name.to_string());
        }
        let mut map = self.read()?;
        map.insert("wallet".into(), Value::from(names));
        self.write(&map)
    }

    fn write(&self, map: &Map<String, Value>) -> Result<(), SettingsError> {
        let io = |source| SettingsError::Io {
            path: self.path.clone(),
            source,
        };
        let tmp = self.path.with_extension("json.tmp");
        let mut text = serde_json::to_string_pretty(map).map_err(|e| io(std::io::Error::other(e)))?;
        text.push('\n');
        // A temporary file left by a crash is replaced; this one is ours alone.
        let _ = fs::remove_file(&tmp);
        let mut file = fs::OpenOptions::new().write(true).create_new(true).open(&tmp).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        fs::rename(&tmp, &self.path).map_err(io)?;
        if let Some(dir) = self.path.parent() {
            fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        }
        Ok(())
    }
}

/// Whether `name` may name a wallet: 1 to 64 letters, digits, spaces, `-`, `_` and `.`, not
/// starting with a dot — one directory under `wallets/` (Core takes paths; Cairn keeps every
/// wallet in its data directory).
pub fn valid_wallet_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && !name.starts_with('.') && name.bytes().all(|b| b.is_ascii_alphanumeric() || b" -_.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_startup_list_defaults_to_the_default_wallet_and_keeps_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::new(dir.path());
        assert_eq!(s.wallets_on_startup().unwrap(), vec!["default"]);
        fs::write(dir.path().join(FILE), r#"{"other": 5, "wallet": "a"}"#).unwrap();
        assert_eq!(s.wallets_on_startup().unwrap(), vec!["a"]);
        s.set_load_on_startup("b", true).unwrap();
        s.set_load_on_startup("a", false).unwrap();
        assert_eq!(s.wallets_on_startup().unwrap(), vec!["b"]);
        let map = s.read().unwrap();
        assert_eq!(map["other"], 5);
        s.set_load_on_startup("b", false).unwrap();
        assert!(s.wallets_on_startup().unwrap().is_empty());
        assert!(!dir.path().join("settings.json.tmp").exists());
    }

    #[test]
    fn invalid_files_are_errors_not_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::new(dir.path());
        for bad in ["[1]", "{", r#"{"wallet": 5}"#, r#"{"wallet": [1]}"#] {
            fs::write(dir.path().join(FILE), bad).unwrap();
            assert!(matches!(s.wallets_on_startup(), Err(SettingsError::Invalid { .. })), "{bad}");
        }
    }

    #[test]
    fn wallet_names_are_one_plain_directory() {
        for good in ["default", "alice", "my wallet", "w-1_2.b"] {
            assert!(valid_wallet_name(good), "{good}");
        }
        for bad in ["", ".", "..", ".hidden", "a/b", "a\\b", "é", &"x".repeat(65)] {
            assert!(!valid_wallet_name(bad), "{bad}");
        }
    }
}
