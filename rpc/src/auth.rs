//! RPC credentials: Bitcoin Core's cookie file, or a user and password from the config.
//!
//! At start the node draws 32 random bytes and writes `__cookie__:<64 hex>` to
//! `<datadir>/<network>/.cookie` with owner-only permissions; clients read the file and send it
//! as HTTP Basic credentials. The file is removed on a clean exit. A `rpcuser`/`rpcpassword`
//! pair from the config is accepted as well. Neither secret is ever logged or shown by `Debug`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore;

/// The user name of cookie credentials, as in Core.
pub const COOKIE_USER: &str = "__cookie__";

/// A user name and password. `Debug` shows the user only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    password: String,
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
        }
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
        let expected = format!("{}:{}", self.user, self.password);
        constant_time_eq(&decoded, expected.as_bytes())
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
        assert!(!format!("{creds:?}").contains("hunter2"));
    }
}
