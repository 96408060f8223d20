//! Encrypted wallets: no secret in the clear on disk, locked after encryption and after a
//! restart, usable only with the right passphrase and only until the unlock time, and a file
//! tampered with refused.

use cairn_chain::Network;
use cairn_wallet::crypter::{Encryption, KdfParams};
use cairn_wallet::{Address, Wallet, WalletError};

use crate::common::{Chain, T0, coins};

/// Cheap costs: the tests check the logic, not the KDF's price.
const KDF: KdfParams = KdfParams {
    m_cost_kib: 64,
    t_cost: 1,
    p_cost: 1,
    salt: [0; 16],
};
const RATE: u64 = 10_000;

#[test]
fn an_encrypted_wallet_keeps_no_secret_in_the_clear_and_signs_only_while_unlocked() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Wallet::create(dir.path(), Network::Regtest, 0, T0).unwrap();
    let mine = w.new_address("", T0).unwrap();
    let mut chain = Chain::default();
    for i in 0..101 {
        let (b, h) = chain.extend(&mine.lock(), vec![], i as u8);
        w.block_connected(&b, h);
    }
    let plain = std::fs::read_to_string(dir.path().join("wallet.json")).unwrap();
    let secret: serde_json::Value = serde_json::from_str(&plain).unwrap();
    let secret = secret["keys"][0]["secret"].as_str().unwrap().to_string();
    assert_eq!(w.unlocked_until(T0), None);

    let (enc, master) = Encryption::create("correct horse", KDF).unwrap();
    w.encrypt(enc, &master).unwrap();
    let text = std::fs::read_to_string(dir.path().join("wallet.json")).unwrap();
    assert!(!text.contains(&secret), "the secret is gone from the file");
    assert!(text.contains("\"format\": 2") && text.contains("argon2id"), "{text}");
    assert_eq!(w.unlocked_until(T0), Some(0), "locked after encryption");
    let to = Address::new(Network::Regtest, cairn_chain::PubkeyHash::from_byte_array([9; 20]));
    assert!(matches!(
        w.create_transaction(&to, coins(1), RATE, false, 101, T0),
        Err(WalletError::Locked)
    ));
    assert!(matches!(w.new_address("", T0), Err(WalletError::Locked)));
    assert!(matches!(
        w.encrypt(Encryption::create("again", KDF).unwrap().0, &master),
        Err(WalletError::WrongEncState(_))
    ));

    // A wrong passphrase opens nothing; the right one unlocks until the time given.
    let stored = w.encryption().unwrap().clone();
    assert!(stored.unlock("correct horsf").is_none());
    let key = stored.unlock("correct horse").unwrap();
    w.unlock(key, T0 + 60).unwrap();
    assert_eq!(w.unlocked_until(T0), Some(T0 + 60));
    let created = w.create_transaction(&to, coins(1), RATE, false, 101, T0 + 1).unwrap();
    crate::signing::verify_signed(&created.tx, &w_spent(&chain, &created.tx));
    let fresh = w.new_address("while unlocked", T0 + 2).unwrap();
    assert!(w.is_mine(&fresh.lock()));
    // Past the time, locked again: lazily, and by relock_if_expired.
    assert!(matches!(
        w.create_transaction(&to, coins(1), RATE, false, 101, T0 + 60),
        Err(WalletError::Locked)
    ));
    w.relock_if_expired(T0 + 61);
    assert_eq!(w.unlocked_until(T0), Some(0));
    w.unlock(stored.unlock("correct horse").unwrap(), T0 + 600).unwrap();
    w.lock().unwrap();
    assert_eq!(w.unlocked_until(T0), Some(0));

    // Reopened: encrypted and locked, keys (also the one made while unlocked) known.
    drop(w);
    let mut w = Wallet::open(dir.path(), Network::Regtest).unwrap().unwrap();
    assert!(w.is_encrypted());
    assert_eq!(w.unlocked_until(T0), Some(0));
    assert!(w.is_mine(&fresh.lock()) && w.is_mine(&mine.lock()));
    let other = Encryption::create("correct horse", KDF).unwrap().1;
    assert!(
        matches!(w.unlock(other, T0 + 60), Err(WalletError::PassphraseIncorrect)),
        "another master key"
    );
    let key = w.encryption().unwrap().unlock("correct horse").unwrap();
    w.unlock(key, T0 + 60).unwrap();
    for (i, _) in (0..101).enumerate() {
        let (b, h) = (chain.blocks[i].clone(), i as u32 + 1);
        w.block_connected(&b, h);
    }
    w.create_transaction(&to, coins(1), RATE, false, 101, T0 + 1).unwrap();
}

/// The outputs a transaction of the test chain spends (coinbases only).
fn w_spent(chain: &Chain, tx: &cairn_chain::Transaction) -> Vec<cairn_chain::TxOut> {
    tx.inputs
        .iter()
        .map(|i| {
            let b = chain.blocks.iter().find(|b| b.txdata[0].compute_txid() == i.prevout.txid).unwrap();
            b.txdata[0].outputs[i.prevout.vout as usize].clone()
        })
        .collect()
}

#[test]
fn a_tampered_encrypted_file_is_refused_or_fails_to_unlock() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Wallet::create(dir.path(), Network::Regtest, 0, T0).unwrap();
    w.new_address("", T0).unwrap();
    w.new_address("", T0).unwrap();
    let (enc, master) = Encryption::create("p", KDF).unwrap();
    w.encrypt(enc, &master).unwrap();
    drop(w);
    let path = dir.path().join("wallet.json");
    let good = std::fs::read_to_string(&path).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&good).unwrap();

    // Two keys' sealed secrets swapped: bound to their public keys, they no longer open.
    let (a, b) = (json["keys"][0]["sealed"].clone(), json["keys"][1]["sealed"].clone());
    json["keys"][0]["sealed"] = b;
    json["keys"][1]["sealed"] = a;
    std::fs::write(&path, serde_json::to_string(&json).unwrap()).unwrap();
    let mut w = Wallet::open(dir.path(), Network::Regtest).unwrap().unwrap();
    let key = w.encryption().unwrap().unlock("p").unwrap();
    assert!(w.unlock(key, T0 + 60).is_err());
    assert_eq!(w.unlocked_until(T0), Some(0));

    // Costs beyond the limits, a plain secret in an encrypted file, an encryption in format 1.
    for edit in [r#""m_cost_kib": 4294967295"#, r#""secret": "00""#, r#""format": 1"#] {
        let mut json: serde_json::Value = serde_json::from_str(&good).unwrap();
        let (k, v) = edit.split_once(": ").unwrap();
        let (k, v) = (k.trim_matches('"'), serde_json::from_str::<serde_json::Value>(v).unwrap());
        match k {
            "m_cost_kib" => json["encryption"][k] = v,
            "secret" => json["keys"][0][k] = v,
            _ => json[k] = v,
        }
        std::fs::write(&path, serde_json::to_string(&json).unwrap()).unwrap();
        assert!(
            matches!(Wallet::open(dir.path(), Network::Regtest), Err(WalletError::Corrupt { .. })),
            "{edit}"
        );
    }
}
