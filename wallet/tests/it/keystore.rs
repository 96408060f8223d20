//! The wallet file: atomic writes that reload identically, corrupt files refused, crash
//! leftovers ignored, secrets never in `Debug`.

use std::fs;

use cairn_chain::encode::Encodable;
use cairn_chain::{Network, PubkeyHash};
use cairn_wallet::keystore::{WALLET_FILE, WALLET_TMP_FILE};
use cairn_wallet::{Address, KeyPair, Keystore, Wallet, WalletError};

use crate::common::{T0, coinbase, coins};

#[test]
fn write_then_reload_is_equal() {
    let dir = tempfile::tempdir().unwrap();
    let mut ks = Keystore::create(dir.path(), Network::Regtest, 12).unwrap();
    for (i, label) in ["", "savings", "ünïcödé \"quoted\""].iter().enumerate() {
        ks.add_key(KeyPair::generate(), label, false, T0 + i as u64).unwrap();
    }
    let lock = cairn_chain::Lock::PubkeyHash(ks.keys()[0].hash);
    ks.add_sent(coinbase(3, coins(1), &lock, 0), T0 + 9).unwrap();
    let back = Keystore::load(dir.path(), Network::Regtest).unwrap().unwrap();
    assert_eq!(back.birth_height(), 12);
    assert_eq!(back.network(), Network::Regtest);
    assert_eq!(back.keys().len(), 3);
    for (a, b) in back.keys().iter().zip(ks.keys()) {
        assert_eq!(a.public, b.public);
        assert_eq!(a.created, b.created);
        assert_eq!(a.label, b.label);
    }
    assert_eq!(back.sent().len(), 1);
    assert_eq!(back.sent()[0].tx.encode(), ks.sent()[0].tx.encode());
    assert_eq!(back.sent()[0].time, T0 + 9);
    assert!(!dir.path().join(WALLET_TMP_FILE).exists());
}

#[test]
fn missing_file_is_none() {
    let dir = tempfile::tempdir().unwrap();
    assert!(Keystore::load(dir.path(), Network::Regtest).unwrap().is_none());
}

fn corrupt_reason(dir: &std::path::Path) -> String {
    match Keystore::load(dir, Network::Regtest) {
        Err(WalletError::Corrupt { path, reason }) => {
            assert_eq!(path, dir.join(WALLET_FILE));
            reason
        }
        other => panic!("expected a corrupt-file error, got {other:?}"),
    }
}

#[test]
fn corrupt_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut ks = Keystore::create(dir.path(), Network::Regtest, 0).unwrap();
    ks.add_key(KeyPair::generate(), "", false, T0).unwrap();
    let lock = cairn_chain::Lock::PubkeyHash(PubkeyHash::from_byte_array([1; 20]));
    ks.add_sent(coinbase(1, coins(1), &lock, 0), T0).unwrap();
    let path = dir.path().join(WALLET_FILE);
    let good = fs::read_to_string(&path).unwrap();

    let cases: Vec<(String, &str)> = vec![
        (good[..good.len() / 2].to_owned(), "invalid json"),
        ("[]".to_owned(), "invalid json"),
        (good.replace("\"format\": 1", "\"format\": 9"), "unknown format 9"),
        (good.replace("\"regtest\"", "\"mainnet\""), "unknown network"),
        (good.replace("\"regtest\"", "\"testnet\""), "network testnet"),
        (replace_field(&good, "secret", "zz"), "key 0: secret is not 64 hex digits"),
        (replace_field(&good, "secret", &"00".repeat(32)), "key 0: invalid secret key"),
        (replace_field(&good, "hex", "abc"), "sent transaction 0: invalid hex"),
        (replace_field(&good, "hex", "00"), "sent transaction 0"),
        (good.replace("\"label\"", "\"labels\""), "invalid json"),
    ];
    for (content, expected) in cases {
        fs::write(&path, &content).unwrap();
        let reason = corrupt_reason(dir.path());
        assert!(reason.contains(expected), "{reason:?} should mention {expected:?}");
        // The wallet refuses to start on it too, rather than overwriting it.
        assert!(matches!(
            Wallet::create_or_open(dir.path(), Network::Regtest, 0, T0),
            Err(WalletError::Corrupt { .. })
        ));
        assert_eq!(fs::read_to_string(&path).unwrap(), content);
    }
}

/// Replaces the string value of the first `"field": "..."` in a JSON text.
fn replace_field(json: &str, field: &str, value: &str) -> String {
    let key = format!("\"{field}\": \"");
    let start = json.find(&key).unwrap() + key.len();
    let end = start + json[start..].find('"').unwrap();
    format!("{}{}{}", &json[..start], value, &json[end..])
}

#[test]
fn leftover_tmp_file_is_ignored_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Wallet::create_or_open(dir.path(), Network::Regtest, 5, T0).unwrap();
    let a = w.new_address("kept", T0).unwrap();
    drop(w);
    // A crash between writing the temporary file and the rename leaves garbage behind.
    fs::write(dir.path().join(WALLET_TMP_FILE), b"{\"format\": 1, half a wri").unwrap();
    let w = Wallet::create_or_open(dir.path(), Network::Regtest, 99, T0).unwrap();
    assert_eq!(w.birth_height(), 5);
    assert_eq!(w.label_of(&a), Some("kept"));
    assert!(!dir.path().join(WALLET_TMP_FILE).exists());
}

#[test]
fn debug_never_shows_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Wallet::create_or_open(dir.path(), Network::Regtest, 0, T0).unwrap();
    w.new_address("", T0).unwrap();
    let ks = Keystore::load(dir.path(), Network::Regtest).unwrap().unwrap();
    let file = fs::read_to_string(dir.path().join(WALLET_FILE)).unwrap();
    let record = &ks.keys()[0];
    let shown = format!("{ks:?} {ks:#?} {w:?} {record:?} {:?}", record.secret);
    // The secret is in the file (that is its job) but in no Debug output.
    let secret = file.split("\"secret\": \"").nth(1).unwrap().split('"').next().unwrap();
    assert_eq!(secret.len(), 64);
    assert!(!shown.contains(secret), "{shown}");
    assert!(shown.contains("redacted"));
    let address = Address::new(Network::Regtest, record.hash);
    assert_eq!(w.label_of(&address), Some(""));
}

#[test]
fn wallet_file_and_directory_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let wdir = dir.path().join("nested").join("wallet");
    Wallet::create_or_open(&wdir, Network::Regtest, 0, T0).unwrap();
    assert_eq!(fs::metadata(wdir.join(WALLET_FILE)).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(fs::metadata(&wdir).unwrap().permissions().mode() & 0o777, 0o700);
}
