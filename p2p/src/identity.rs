//! The node key: an ed25519 key kept in `<datadir>/<network>/p2p_key`, so the PeerId survives
//! restarts. Written atomically with owner-only permissions; never logged.

use std::io::Write;
use std::path::Path;

pub use libp2p::identity::Keypair;

use crate::error::StartError;

/// Loads the key in `path`, or creates and stores a new one.
///
/// # Errors
/// The file cannot be read or written, or holds something that is not a key.
pub fn load_or_create(path: &Path) -> Result<Keypair, StartError> {
    let io_err = |source| StartError::KeyFile {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::read(path) {
        Ok(bytes) => Keypair::from_protobuf_encoding(&bytes).map_err(|e| StartError::BadKey {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = Keypair::generate_ed25519();
            let bytes = key.to_protobuf_encoding().map_err(|e| StartError::BadKey {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
            let tmp = path.with_extension("tmp");
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&tmp).map_err(io_err)?;
            file.write_all(&bytes).map_err(io_err)?;
            file.sync_all().map_err(io_err)?;
            drop(file);
            std::fs::rename(&tmp, path).map_err(io_err)?;
            Ok(key)
        }
        Err(e) => Err(io_err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_stable_and_corruption_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p2p_key");
        let a = load_or_create(&path).unwrap();
        let b = load_or_create(&path).unwrap();
        assert_eq!(a.public().to_peer_id(), b.public().to_peer_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, b"garbage").unwrap();
        assert!(matches!(load_or_create(&path), Err(StartError::BadKey { .. })));
    }
}
