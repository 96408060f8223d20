//! Key pairs: a secp256k1 secret key and its compressed public key.
//!
//! Keys are generated from the thread-local CSPRNG of `rand` (`rand::rng()`: ChaCha12 seeded
//! from the operating system and periodically reseeded), the generator secp256k1's own
//! documentation uses. The secret never leaves this module except through
//! [`KeyPair::secret_bytes`] (crate-private, for the keystore) and signing; `Debug` prints the
//! public key hash only.

use std::fmt;

use cairn_chain::PubkeyHash;
use secp256k1::{PublicKey, SecretKey};

/// A secret key with its public key (33-byte compressed form) and the key's hash.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPair {
    secret: SecretKey,
    public: PublicKey,
    hash: PubkeyHash,
}

impl KeyPair {
    /// A fresh key from the operating-system-seeded CSPRNG.
    pub fn generate() -> KeyPair {
        KeyPair::from_secret(SecretKey::new(&mut rand::rng()))
    }

    /// The key pair of a 32-byte secret, or `None` if the bytes are not a valid secret key
    /// (zero, or not below the curve order).
    pub fn from_secret_bytes(bytes: [u8; 32]) -> Option<KeyPair> {
        SecretKey::from_secret_bytes(bytes).ok().map(KeyPair::from_secret)
    }

    fn from_secret(secret: SecretKey) -> KeyPair {
        let public = PublicKey::from_secret_key(&secret);
        let hash = PubkeyHash::from_pubkey_bytes(&public.serialize());
        KeyPair { secret, public, hash }
    }

    /// The 32 secret bytes (for the keystore only).
    pub(crate) fn secret_bytes(&self) -> [u8; 32] {
        self.secret.to_secret_bytes()
    }

    /// The secret key (for signing only).
    pub(crate) fn secret_key(&self) -> &SecretKey {
        &self.secret
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// `Hash160` of the compressed public key: what a lock paying this key names.
    pub fn pubkey_hash(&self) -> PubkeyHash {
        self.hash
    }
}

impl fmt::Debug for KeyPair {
    /// Shows the public key hash; the secret is redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("pubkey_hash", &self.hash)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_does_not_show_the_secret() {
        let k = KeyPair::from_secret_bytes([0x5a; 32]).expect("valid secret");
        let shown = format!("{k:?} {k:#?}");
        assert!(!shown.contains(&hex::encode(k.secret_bytes())), "{shown}");
        assert!(!shown.contains("5a5a5a"), "{shown}");
        assert!(shown.contains(&k.pubkey_hash().to_string()));
    }

    #[test]
    fn invalid_secrets_are_refused() {
        assert!(KeyPair::from_secret_bytes([0; 32]).is_none());
        assert!(KeyPair::from_secret_bytes([0xff; 32]).is_none());
    }

    #[test]
    fn generated_keys_differ_and_round_trip() {
        let a = KeyPair::generate();
        let b = KeyPair::generate();
        assert_ne!(a.pubkey_hash(), b.pubkey_hash());
        let again = KeyPair::from_secret_bytes(a.secret_bytes()).expect("valid secret");
        assert_eq!(again, a);
        assert_eq!(a.public_key().serialize().len(), 33);
        assert_eq!(a.pubkey_hash(), PubkeyHash::from_pubkey_bytes(&a.public_key().serialize()));
    }
}
