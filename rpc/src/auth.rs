//! RPC credentials: Bitcoin Core's cookie file, or a user and password from the config.
//!
//! At start the node draws 32 random bytes and writes `__cookie__:<64 hex>` to
//! `<datadir>/<network>/.cookie` with owner-only permissions; clients read the file and send it
//! as HTTP Basic credentials. The file is removed on a clean exit. A `rpcuser`/`rpcpassword`
//! pair from the config is accepted as well, and Core's `rpcauth=USER:SALT$HASH` lines (made by
//! Core's `share/rpcauth/rpcauth.py`: HASH = hex HMAC-SHA256 keyed by the SALT text over the
//! password), which keep no password in the config file. No secret is ever logged or shown by
//! `Debug`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore;

/// The user name of cookie credentials, as in Core.
pub const COOKIE_USER: &str = "__cookie__";

/// A user name and password (or, from `rpcauth`, a salted hash of it). `Debug` shows the user
/// only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    password: String,
    /// `rpcauth`: the salt, with `password` holding the expected HMAC in hex.
    salt: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// Credentials from a user and a password.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            user: user.into(),
            password: password.into(),
            salt: None,
        }
    }

    /// Credentials from a Core `rpcauth` value, `USER:SALT$HASH` (HASH: 64 hex digits).
    ///
    /// # Errors
    /// Not in that form.
    pub fn from_rpcauth(value: &str) -> Result<Self, String> {
        let bad = || format!("rpcauth {value:?}: expected USER:SALT$HASH (as Core's rpcauth.py prints)");
        let (user, rest) = value.split_once(':').ok_or_else(bad)?;
        let (salt, hash) = rest.split_once('$').ok_or_else(bad)?;
        if user.is_empty() || salt.is_empty() || hash.len() != 64 || hex::decode(hash).is_err() {
            return Err(bad());
        }
        Ok(Credentials {
            user: user.to_string(),
            password: hash.to_ascii_lowercase(),
            salt: Some(salt.to_string()),
        })
    }

    /// Fresh cookie credentials: `__cookie__` and 32 random bytes in hex.
    pub fn random_cookie() -> Self {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        Credentials::new(COOKIE_USER, hex::encode(secret))
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The `Authorization` header value: `Basic base64(user:password)`.
    pub fn header_value(&self) -> String {
        format!("Basic {}", BASE64.encode(format!("{}:{}", self.user, self.password)))
    }

    /// Whether an `Authorization` header value carries these credentials. The comparison takes
    /// the same time wherever the first difference is.
    pub fn matches_header(&self, header: &[u8]) -> bool {
        let Some(encoded) = header.strip_prefix(b"Basic ") else {
            return false;
        };
        let Ok(decoded) = BASE64.decode(encoded.trim_ascii()) else {
            return false;
        };
        match &self.salt {
            None => {
                let expected = format!("{}:{}", self.user, self.password);
                constant_time_eq(&decoded, expected.as_bytes())
            }
            Some(salt) => {
                let Some(colon) = decoded.iter().position(|b| *b == b':') else {
                    return false;
                };
                let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
                let mac = hex::encode(hmac_sha256(salt.as_bytes(), password));
                // Both compared whatever the first gives, so timing tells nothing of either.
                let user_ok = constant_time_eq(user, self.user.as_bytes());
                let mac_ok = constant_time_eq(mac.as_bytes(), self.password.as_bytes());
                user_ok & mac_ok
            }
        }
    }

    /// Parses the `user:password` text of a cookie file.
    pub fn from_cookie_text(text: &str) -> Option<Self> {
        let (user, password) = text.trim_end_matches(['\n', '\r']).split_once(':')?;
        Some(Credentials::new(user, password))
    }

    /// Reads a cookie file.
    ///
    /// # Errors
    /// The file cannot be read or has no `user:password` line.
    pub fn read_cookie(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        Credentials::from_cookie_text(&text)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{} is not a cookie file", path.display())))
    }
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use cairn_chain::hash::sha256;
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&sha256(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let mut inner = pad(0x36);
    inner.extend_from_slice(message);
    let mut outer = pad(0x5c);
    outer.extend_from_slice(&sha256(&inner));
    sha256(&outer)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0xff);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// A cookie file on disk, removed when dropped (on a clean exit).
#[derive(Debug)]
pub struct CookieFile {
    path: PathBuf,
}

impl CookieFile {
    /// Writes `credentials` to `path` (mode 0600), replacing any stale file atomically.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write(path: &Path, credentials: &Credentials) -> std::io::Result<CookieFile> {
        let tmp = path.with_extension("tmp");
        let _ = std::fs::remove_file(&tmp);
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        file.write_all(format!("{}:{}", credentials.user, credentials.password).as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(CookieFile { path: path.to_path_buf() })
    }

    /// Where the cookie is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CookieFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "could not remove the RPC cookie file");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_round_trip_and_header_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".cookie");
        let creds = Credentials::random_cookie();
        let file = CookieFile::write(&path, &creds).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
        let read = Credentials::read_cookie(&path).unwrap();
        assert_eq!(read, creds);
        assert!(creds.matches_header(read.header_value().as_bytes()));
        assert!(!creds.matches_header(Credentials::new(COOKIE_USER, "00").header_value().as_bytes()));
        assert!(!creds.matches_header(b"Bearer abc"));
        assert!(!creds.matches_header(b"Basic !!!"));
        drop(file);
        assert!(!path.exists());
    }

    #[test]
    fn debug_hides_the_password() {
        let creds = Credentials::new("alice", "hunter2");
        // Core's rpcauth: HMAC-SHA256 keyed by the salt text (RFC 4231 test case 2 checks the MAC).
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let salt = "cb77f0957de88ff388cf817ddbc7273";
        let line = format!("bob:{salt}${}", hex::encode(hmac_sha256(salt.as_bytes(), b"pw")));
        let auth = Credentials::from_rpcauth(&line).unwrap();
        assert!(auth.matches_header(Credentials::new("bob", "pw").header_value().as_bytes()));
        assert!(!auth.matches_header(Credentials::new("bob", "pw2").header_value().as_bytes()));
        assert!(!auth.matches_header(Credentials::new("eve", "pw").header_value().as_bytes()));
        assert!(!format!("{auth:?}").contains(salt));
        for bad in [
            "bob",
            "bob:salt",
            "bob:salt$12",
            ":s$00",
            "bob:$0000000000000000000000000000000000000000000000000000000000000000",
        ] {
            assert!(Credentials::from_rpcauth(bad).is_err(), "{bad}");
        }
        assert!(!format!("{creds:?}").contains("hunter2"));
    }
}
