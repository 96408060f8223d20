//! Address encoding: round trips and every error, as users would hit them.

use cairn_chain::{Network, PubkeyHash};
use cairn_wallet::{Address, AddressError};
use proptest::prelude::*;

fn sample(network: Network) -> Address {
    Address::new(network, PubkeyHash::from_byte_array([0x42; 20]))
}

proptest! {
    #[test]
    fn round_trip(hash in any::<[u8; 20]>(), testnet in any::<bool>()) {
        let network = if testnet { Network::Testnet } else { Network::Regtest };
        let a = Address::new(network, PubkeyHash::from_byte_array(hash));
        let s = a.to_string();
        prop_assert_eq!(Address::parse(&s, network).unwrap(), a);
        prop_assert_eq!(Address::from_lock(&a.lock(), network), Some(a));
        let prefix = if testnet { 'T' } else { 'R' };
        prop_assert!(s.starts_with(prefix));
    }

    #[test]
    fn any_single_character_typo_is_caught(pos in 0usize..34, replacement in 0usize..58) {
        const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        let s = sample(Network::Regtest).to_string();
        let pos = pos % s.len();
        let mut bytes = s.clone().into_bytes();
        prop_assume!(bytes[pos] != ALPHABET[replacement]);
        bytes[pos] = ALPHABET[replacement];
        let typo = String::from_utf8(bytes).unwrap();
        prop_assert!(Address::parse(&typo, Network::Regtest).is_err());
    }
}

#[test]
fn single_character_typo_is_an_invalid_checksum() {
    let s = sample(Network::Regtest).to_string();
    let last = s.chars().last().unwrap();
    let typo = format!("{}{}", &s[..s.len() - 1], if last == 'a' { 'b' } else { 'a' });
    let err = Address::parse(&typo, Network::Regtest).unwrap_err();
    assert_eq!(err, AddressError::InvalidChecksum);
    assert_eq!(err.to_string(), "invalid checksum");
}

#[test]
fn wrong_network_is_named() {
    let s = sample(Network::Testnet).to_string();
    let err = Address::parse(&s, Network::Regtest).unwrap_err();
    assert_eq!(
        err,
        AddressError::WrongNetwork {
            expected: Network::Regtest,
            found: Network::Testnet
        }
    );
    assert_eq!(err.to_string(), "address is for network testnet, not regtest");
    assert_eq!(Address::parse_any(&s).unwrap().network(), Network::Testnet);
}

#[test]
fn malformed_strings() {
    // '0', 'O', 'I' and 'l' are not in the Base58 alphabet.
    assert_eq!(Address::parse("R0OIl", Network::Regtest), Err(AddressError::InvalidBase58));
    assert_eq!(Address::parse("", Network::Regtest), Err(AddressError::InvalidLength { len: 0 }));
    let short = bs58::encode([0x3c; 10]).into_string();
    assert_eq!(
        Address::parse(&short, Network::Regtest),
        Err(AddressError::InvalidLength { len: 10 })
    );
    let long = "R".repeat(500);
    assert!(matches!(
        Address::parse(&long, Network::Regtest),
        Err(AddressError::InvalidLength { .. })
    ));
}

#[test]
fn unknown_version() {
    let mut payload = vec![0x00];
    payload.extend_from_slice(&[1; 20]);
    let check = cairn_chain::hash::sha256d(&payload);
    payload.extend_from_slice(&check[..4]);
    let s = bs58::encode(payload).into_string();
    assert_eq!(
        Address::parse(&s, Network::Regtest),
        Err(AddressError::UnknownVersion { version: 0 })
    );
    assert_eq!(
        AddressError::UnknownVersion { version: 0 }.to_string(),
        "unknown address version byte 0x00"
    );
}
