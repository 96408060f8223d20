//! Signed messages, as Core's `signmessage`/`verifymessage`: the message is hashed as
//! `SHA256d(varstr("Bitcoin Signed Message:\n") ‖ varstr(message))` and signed with a
//! recoverable ECDSA signature, given as base64 of 65 bytes (header `27 + recovery id + 4` for a
//! compressed key, then r ‖ s). Core's magic string is kept, so the signature is byte for byte
//! what Core makes for the same key; only the address encoding is Cairn's. Verifying recovers the
//! public key and compares its hash with the address's.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cairn_chain::hash::sha256d;
use cairn_chain::{Lock, PubkeyHash};
use secp256k1::Message;
use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};

use crate::address::Address;
use crate::keys::KeyPair;

/// Core's message prefix.
pub const MESSAGE_MAGIC: &str = "Bitcoin Signed Message:\n";

/// Why a signature could not be checked at all (a wrong signature is `Ok(false)`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Not base64 (Core: "Malformed base64 encoding").
    #[error("Malformed base64 encoding")]
    Malformed,
    /// The address does not name a key.
    #[error("Address does not refer to key")]
    NotAKey,
}

fn write_varstr(out: &mut Vec<u8>, s: &[u8]) {
    match s.len() {
        n if n < 0xfd => out.push(n as u8),
        n if n <= 0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        n if n <= 0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        n => {
            out.push(0xff);
            out.extend_from_slice(&(n as u64).to_le_bytes());
        }
    }
    out.extend_from_slice(s);
}

/// The hash a message signature signs.
pub fn message_hash(message: &str) -> [u8; 32] {
    let mut data = Vec::with_capacity(MESSAGE_MAGIC.len() + message.len() + 10);
    write_varstr(&mut data, MESSAGE_MAGIC.as_bytes());
    write_varstr(&mut data, message.as_bytes());
    sha256d(&data)
}

/// Signs `message` with `key`: base64 of the 65-byte compact recoverable signature.
pub fn sign_message(key: &KeyPair, message: &str) -> String {
    let sig = RecoverableSignature::sign_ecdsa_recoverable(Message::from_digest(message_hash(message)), key.secret_key());
    let (id, rs) = sig.serialize_compact();
    let mut bytes = [0u8; 65];
    bytes[0] = 27 + id.to_u8() + 4;
    bytes[1..].copy_from_slice(&rs);
    STANDARD.encode(bytes)
}

/// Whether `signature` (base64) signs `message` with the key `address` names.
///
/// # Errors
/// See [`MessageError`].
pub fn verify_message(address: &Address, signature: &str, message: &str) -> Result<bool, MessageError> {
    let Lock::PubkeyHash(expected) = address.lock() else {
        return Err(MessageError::NotAKey);
    };
    let bytes = STANDARD.decode(signature.trim()).map_err(|_| MessageError::Malformed)?;
    let Ok(bytes) = <[u8; 65]>::try_from(bytes.as_slice()) else {
        return Ok(false);
    };
    let header = bytes[0];
    if !(27..=34).contains(&header) {
        return Ok(false);
    }
    let compressed = header >= 31;
    let id = RecoveryId::from_u8_masked((header - 27) & 3);
    let Ok(sig) = RecoverableSignature::from_compact(&bytes[1..], id) else {
        return Ok(false);
    };
    let Ok(public) = sig.recover_ecdsa(Message::from_digest(message_hash(message))) else {
        return Ok(false);
    };
    let serialized = if compressed {
        public.serialize().to_vec()
    } else {
        public.serialize_uncompressed().to_vec()
    };
    Ok(PubkeyHash::from_pubkey_bytes(&serialized) == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_chain::Network;

    #[test]
    fn a_signature_verifies_for_its_address_and_message_only() {
        let key = KeyPair::generate();
        let address = Address::new(Network::Regtest, key.pubkey_hash());
        let sig = sign_message(&key, "hello");
        assert_eq!(verify_message(&address, &sig, "hello"), Ok(true));
        assert_eq!(verify_message(&address, &sig, "hello!"), Ok(false));
        let other = Address::new(Network::Regtest, KeyPair::generate().pubkey_hash());
        assert_eq!(verify_message(&other, &sig, "hello"), Ok(false));
        assert_eq!(verify_message(&address, "not base64!", "hello"), Err(MessageError::Malformed));
        assert_eq!(verify_message(&address, "AAAA", "hello"), Ok(false));
        let mut raw = STANDARD.decode(&sig).unwrap();
        raw[0] = 99;
        assert_eq!(verify_message(&address, &STANDARD.encode(raw), "hello"), Ok(false));
    }

    #[test]
    fn the_hash_is_cores() {
        // Core's framing: varstr(magic) ‖ varstr(message), SHA256d; a 300-byte message takes a
        // three-byte length.
        let long = "x".repeat(300);
        let mut data = vec![24u8];
        data.extend_from_slice(MESSAGE_MAGIC.as_bytes());
        data.extend_from_slice(&[0xfd, 0x2c, 0x01]);
        data.extend_from_slice(long.as_bytes());
        assert_eq!(message_hash(&long), sha256d(&data));
    }
}
