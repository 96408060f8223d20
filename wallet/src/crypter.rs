//! Encryption of the wallet's secret keys at rest (`encryptwallet`), as Core's wallet does it in
//! outline: a random 32-byte master key encrypts every secret key; the passphrase, stretched by
//! a memory-hard KDF, encrypts the master key. Changing what unlocks the wallet never touches the
//! keys, and a wrong passphrase is told apart from a corrupt file by the master key's tag.
//!
//! - KDF: Argon2id (RFC 9106) with [`KdfParams::DEFAULT`] — 64 MiB, 3 passes, 1 lane (RFC 9106's
//!   second recommended option) — over a random 16-byte salt; the parameters are stored with the
//!   wallet so later versions can raise them. Core uses SHA-512 iterations, which GPUs run cheaply.
//! - Cipher: ChaCha20-Poly1305 with a random 96-bit nonce per message (a wallet seals a few
//!   thousand messages at most under one key, far below the birthday bound). A secret key is
//!   sealed with its public key as associated data, so a sealed secret moved to another key's
//!   record fails to open instead of signing with the wrong key.
//!
//! Derived and master keys live in [`Zeroizing`] buffers, wiped when dropped; `Debug` prints
//! nothing of them.

use std::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use zeroize::Zeroizing;

/// Bytes of a nonce.
const NONCE: usize = 12;

/// Argon2id's cost settings and salt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes over the memory.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
    /// Random salt.
    pub salt: [u8; 16],
}

impl KdfParams {
    /// The costs new wallets are encrypted with (the salt is drawn per wallet).
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
        salt: [0; 16],
    };
    /// Most memory a wallet file may ask for (a forged file must not make us allocate more).
    pub const MAX_M_COST_KIB: u32 = 1024 * 1024;
    /// Most passes a wallet file may ask for.
    pub const MAX_T_COST: u32 = 64;
    /// Most lanes a wallet file may ask for.
    pub const MAX_P_COST: u32 = 16;

    /// Whether the costs are within what this version accepts.
    pub fn in_range(&self) -> bool {
        (8..=Self::MAX_M_COST_KIB).contains(&self.m_cost_kib)
            && (1..=Self::MAX_T_COST).contains(&self.t_cost)
            && (1..=Self::MAX_P_COST).contains(&self.p_cost)
            && self.m_cost_kib >= 8 * self.p_cost
    }

    fn derive(&self, passphrase: &str) -> Option<Zeroizing<[u8; 32]>> {
        if !self.in_range() {
            return None;
        }
        let params = Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32)).ok()?;
        let mut out = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.as_bytes(), &self.salt, out.as_mut())
            .ok()?;
        Some(out)
    }
}

/// How a wallet's master key is kept: the KDF settings and the master key sealed under the
/// passphrase's key.
#[derive(Clone, PartialEq, Eq)]
pub struct Encryption {
    /// The KDF's settings.
    pub kdf: KdfParams,
    /// Nonce ‖ ciphertext ‖ tag of the master key.
    pub sealed_master: Vec<u8>,
}

impl fmt::Debug for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encryption").field("kdf", &self.kdf).finish_non_exhaustive()
    }
}

/// The key that seals the wallet's secret keys; wiped when dropped.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

fn seal(key: &[u8; 32], msg: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE];
    rand::rng().fill_bytes(&mut nonce);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    // Encryption with a valid key and nonce cannot fail for messages this small.
    let ct = cipher.encrypt(Nonce::from_slice(&nonce), Payload { msg, aad }).unwrap_or_default();
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    out
}

fn open(key: &[u8; 32], sealed: &[u8], aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE {
        return None;
    }
    let (nonce, ct) = sealed.split_at(NONCE);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .ok()
        .map(Zeroizing::new)
}

/// Associated data of the master key's seal.
const MASTER_AAD: &[u8] = b"cairn wallet master key";

impl Encryption {
    /// A new random master key sealed under `passphrase` with `kdf`'s costs and a fresh salt.
    /// Slow on purpose (the KDF): run it off the async runtime.
    ///
    /// # Errors
    /// `None` if `kdf`'s costs are out of range.
    pub fn create(passphrase: &str, kdf: KdfParams) -> Option<(Encryption, MasterKey)> {
        let mut kdf = kdf;
        rand::rng().fill_bytes(&mut kdf.salt);
        let mut master = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(master.as_mut());
        let key = kdf.derive(passphrase)?;
        let sealed_master = seal(&key, master.as_ref(), MASTER_AAD);
        Some((Encryption { kdf, sealed_master }, MasterKey(master)))
    }

    /// `master` sealed under a new `passphrase` with `kdf`'s costs and a fresh salt
    /// (`walletpassphrasechange`: the keys stay as they are). Slow on purpose (the KDF).
    ///
    /// # Errors
    /// `None` if `kdf`'s costs are out of range.
    pub fn reseal(master: &MasterKey, passphrase: &str, kdf: KdfParams) -> Option<Encryption> {
        let mut kdf = kdf;
        rand::rng().fill_bytes(&mut kdf.salt);
        let key = kdf.derive(passphrase)?;
        let sealed_master = seal(&key, master.0.as_ref(), MASTER_AAD);
        Some(Encryption { kdf, sealed_master })
    }

    /// The master key, if `passphrase` is the right one. Slow on purpose (the KDF).
    pub fn unlock(&self, passphrase: &str) -> Option<MasterKey> {
        let key = self.kdf.derive(passphrase)?;
        let bytes = open(&key, &self.sealed_master, MASTER_AAD)?;
        let master: [u8; 32] = bytes.as_slice().try_into().ok()?;
        Some(MasterKey(Zeroizing::new(master)))
    }
}

impl MasterKey {
    /// Seals a secret key, bound to its public key `pubkey`.
    pub fn seal_secret(&self, secret: &[u8; 32], pubkey: &[u8]) -> Vec<u8> {
        seal(&self.0, secret, pubkey)
    }

    /// Opens a sealed secret key of public key `pubkey`.
    pub fn open_secret(&self, sealed: &[u8], pubkey: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
        let bytes = open(&self.0, sealed, pubkey)?;
        let secret: [u8; 32] = bytes.as_slice().try_into().ok()?;
        Some(Zeroizing::new(secret))
    }
}

#[cfg(test)]
pub(crate) const TEST_KDF: KdfParams = KdfParams {
    m_cost_kib: 64,
    t_cost: 1,
    p_cost: 1,
    salt: [0; 16],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_passphrase_opens_the_master_key_and_a_wrong_one_does_not() {
        let (enc, master) = Encryption::create("correct horse", TEST_KDF).unwrap();
        assert_ne!(enc.kdf.salt, [0; 16], "a fresh salt");
        let again = enc.unlock("correct horse").expect("right passphrase");
        assert_eq!(*again.0, *master.0);
        assert!(enc.unlock("correct horsf").is_none());
        assert!(enc.unlock("").is_none());
        let moved = Encryption::reseal(&master, "battery staple", TEST_KDF).unwrap();
        assert!(moved.unlock("correct horse").is_none());
        assert_eq!(*moved.unlock("battery staple").unwrap().0, *master.0, "the same master key");
        let sealed = master.seal_secret(&[7; 32], b"pub");
        assert_eq!(*again.open_secret(&sealed, b"pub").unwrap(), [7; 32]);
        assert!(again.open_secret(&sealed, b"other pub").is_none(), "bound to its public key");
        let mut tampered = sealed.clone();
        tampered[20] ^= 1;
        assert!(again.open_secret(&tampered, b"pub").is_none());
        assert!(again.open_secret(&sealed[..5], b"pub").is_none());
    }

    #[test]
    fn costs_a_file_names_are_bounded() {
        let mut enc = Encryption::create("p", TEST_KDF).unwrap().0;
        enc.kdf.m_cost_kib = u32::MAX;
        assert!(enc.unlock("p").is_none(), "refused before allocating");
        enc.kdf = KdfParams { t_cost: 0, ..TEST_KDF };
        assert!(enc.unlock("p").is_none());
        assert!(KdfParams::DEFAULT.in_range());
    }

    #[test]
    fn debug_shows_no_key_material() {
        let (enc, master) = Encryption::create("p", TEST_KDF).unwrap();
        let shown = format!("{enc:?} {master:?}");
        assert!(!shown.contains(&format!("{:?}", &master.0[..4])), "{shown}");
        assert!(!shown.contains("sealed"), "{shown}");
    }
}
