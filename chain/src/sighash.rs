//! The signature hash: what an input's signature commits to.
//!
//! The digest is SHA-256d over a domain tag, the whole transaction with every input's signature
//! field left out (a signature cannot sign itself), the index of the input being signed and the
//! output it spends (value and lock). So a signature covers every input, every output, the lock
//! time, and the amount being spent, like Bitcoin's `SIGHASH_ALL` with BIP 143's commitment to the
//! spent amount.

use secp256k1::{Message, PublicKey, SecretKey, ecdsa};

use crate::encode::{Encodable, write_compact_size, write_var_bytes};
use crate::hash::{PubkeyHash, sha256d};
use crate::transaction::{Lock, Transaction, TxOut};

const TAG: &[u8] = b"cairn/sighash/v1";

/// The 32-byte digest signed by input `index` of `tx`, which spends `spent`.
pub fn signature_hash(tx: &Transaction, index: usize, spent: &TxOut) -> [u8; 32] {
    let mut buf = Vec::with_capacity(64 + tx.inputs.len() * 72 + tx.outputs.len() * 32);
    write_var_bytes(&mut buf, TAG);
    buf.extend_from_slice(&tx.version.to_le_bytes());
    write_compact_size(&mut buf, tx.inputs.len() as u64);
    for input in &tx.inputs {
        input.prevout.encode_to(&mut buf);
        write_var_bytes(&mut buf, &input.pubkey);
    }
    write_compact_size(&mut buf, tx.outputs.len() as u64);
    for output in &tx.outputs {
        output.encode_to(&mut buf);
    }
    buf.extend_from_slice(&tx.lock_time.to_le_bytes());
    buf.extend_from_slice(&(index as u32).to_le_bytes());
    spent.encode_to(&mut buf);
    sha256d(&buf)
}

/// Fills in input `index` of `tx`: sets its public key to `key`'s and signs (low-S, 64-byte
/// compact form) the output `spent`.
///
/// The digest covers every input's public key, so in a transaction with several inputs set all
/// the public keys first and sign afterwards (as `cairn_wallet::signer` does); signing input by
/// input with this function alone invalidates the signatures made before.
pub fn sign_input(tx: &mut Transaction, index: usize, spent: &TxOut, key: &SecretKey) {
    let pubkey = PublicKey::from_secret_key(key).serialize().to_vec();
    tx.inputs[index].pubkey = pubkey;
    let digest = signature_hash(tx, index, spent);
    // libsecp256k1 always produces low-S signatures.
    let sig = ecdsa::sign(Message::from_digest(digest), key);
    tx.inputs[index].signature = sig.serialize_compact().to_vec();
}

/// The lock that pays to `key`.
pub fn lock_for_key(key: &PublicKey) -> Lock {
    Lock::PubkeyHash(PubkeyHash::from_pubkey_bytes(&key.serialize()))
}
