//! Addresses: the text form of a pay-to-public-key-hash lock.
//!
//! Decision: addresses use Bitcoin's familiar P2PKH Base58Check encoding, because Cairn's
//! spendable locks *are* public key hashes ([`Lock::PubkeyHash`]). The payload is one version
//! byte followed by the 20-byte [`PubkeyHash`]; the checksum is the first 4 bytes of SHA-256d of
//! the payload, appended before Base58 encoding.
//!
//! - Each network has its own version byte, so pasting a testnet address into a regtest wallet
//!   (or the reverse) is caught instead of silently paying a key on the wrong chain: regtest uses
//!   `0x3c` (addresses start with `R`), testnet `0x41` (addresses start with `T`).
//! - The 32-bit checksum catches typos: a mistyped character is detected with probability
//!   1 - 2^-32.
//!
//! The checksum is computed here (with [`cairn_chain::hash::sha256d`]) rather than by the `bs58`
//! crate's optional `check` feature, so the encoding depends on nothing but our own hash.

use std::fmt;

use cairn_chain::hash::sha256d;
use cairn_chain::{Lock, Network, PubkeyHash};

use crate::error::AddressError;

/// Version byte of regtest addresses (Base58 strings starting with `R`).
pub const REGTEST_VERSION: u8 = 0x3c;
/// Version byte of testnet addresses (Base58 strings starting with `T`).
pub const TESTNET_VERSION: u8 = 0x41;

/// Decoded length: version byte, 20-byte hash, 4-byte checksum.
const DECODED_LEN: usize = 1 + 20 + 4;

/// A pay-to-public-key-hash destination on one network.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Address {
    network: Network,
    hash: PubkeyHash,
}

impl Address {
    /// An address paying the key with hash `hash` on `network`.
    pub const fn new(network: Network, hash: PubkeyHash) -> Address {
        Address { network, hash }
    }

    /// The network this address belongs to.
    pub const fn network(&self) -> Network {
        self.network
    }

    /// The hash of the public key this address pays.
    pub const fn pubkey_hash(&self) -> PubkeyHash {
        self.hash
    }

    /// The output lock that pays this address.
    pub fn lock(&self) -> Lock {
        Lock::PubkeyHash(self.hash)
    }

    /// The address a lock pays on `network`, or `None` for locks without one (data carriers).
    pub fn from_lock(lock: &Lock, network: Network) -> Option<Address> {
        match lock {
            Lock::PubkeyHash(hash) => Some(Address::new(network, *hash)),
            Lock::DataCarrier(_) => None,
        }
    }

    /// Parses a Base58Check address and requires it to belong to `network`.
    ///
    /// # Errors
    /// Any [`AddressError`]; [`AddressError::WrongNetwork`] for a valid address of another network.
    pub fn parse(s: &str, network: Network) -> Result<Address, AddressError> {
        let address = Address::parse_any(s)?;
        if address.network != network {
            return Err(AddressError::WrongNetwork {
                expected: network,
                found: address.network,
            });
        }
        Ok(address)
    }

    /// Parses a Base58Check address of any known network (taken from the version byte).
    ///
    /// # Errors
    /// [`AddressError::InvalidBase58`], [`AddressError::InvalidLength`],
    /// [`AddressError::InvalidChecksum`] or [`AddressError::UnknownVersion`].
    pub fn parse_any(s: &str) -> Result<Address, AddressError> {
        // A 25-byte payload never needs more than 35 characters; refuse long input before decoding.
        if s.len() > 64 {
            return Err(AddressError::InvalidLength { len: s.len() });
        }
        let bytes = bs58::decode(s).into_vec().map_err(|_| AddressError::InvalidBase58)?;
        if bytes.len() != DECODED_LEN {
            return Err(AddressError::InvalidLength { len: bytes.len() });
        }
        let (payload, checksum) = bytes.split_at(21);
        if sha256d(payload)[..4] != *checksum {
            return Err(AddressError::InvalidChecksum);
        }
        let network = network_of(payload[0]).ok_or(AddressError::UnknownVersion { version: payload[0] })?;
        let mut hash = [0u8; 20];
        hash.copy_from_slice(&payload[1..]);
        Ok(Address::new(network, PubkeyHash::from_byte_array(hash)))
    }
}

/// The version byte of `network`'s addresses.
pub const fn version_of(network: Network) -> u8 {
    match network {
        Network::Regtest => REGTEST_VERSION,
        Network::Testnet => TESTNET_VERSION,
    }
}

fn network_of(version: u8) -> Option<Network> {
    match version {
        REGTEST_VERSION => Some(Network::Regtest),
        TESTNET_VERSION => Some(Network::Testnet),
        _ => None,
    }
}

impl fmt::Display for Address {
    /// The Base58Check string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = Vec::with_capacity(DECODED_LEN);
        bytes.push(version_of(self.network));
        bytes.extend_from_slice(&self.hash.to_byte_array());
        let checksum = sha256d(&bytes);
        bytes.extend_from_slice(&checksum[..4]);
        f.write_str(&bs58::encode(bytes).into_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addr(network: Network, byte: u8) -> Address {
        Address::new(network, PubkeyHash::from_byte_array([byte; 20]))
    }

    #[test]
    fn prefixes_name_the_network() {
        for b in [0u8, 1, 0x7f, 0xff] {
            assert!(addr(Network::Regtest, b).to_string().starts_with('R'));
            assert!(addr(Network::Testnet, b).to_string().starts_with('T'));
        }
    }

    #[test]
    fn lock_round_trips() {
        let a = addr(Network::Regtest, 9);
        assert_eq!(Address::from_lock(&a.lock(), Network::Regtest), Some(a));
        assert_eq!(Address::from_lock(&Lock::DataCarrier(vec![1]), Network::Regtest), None);
    }

    #[test]
    fn unknown_version_is_reported() {
        let mut bytes = vec![0x00];
        bytes.extend_from_slice(&[7; 20]);
        let checksum = sha256d(&bytes);
        bytes.extend_from_slice(&checksum[..4]);
        let s = bs58::encode(bytes).into_string();
        assert_eq!(Address::parse_any(&s), Err(AddressError::UnknownVersion { version: 0 }));
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(hash in any::<[u8; 20]>(), testnet in any::<bool>()) {
            let network = if testnet { Network::Testnet } else { Network::Regtest };
            let a = Address::new(network, PubkeyHash::from_byte_array(hash));
            let s = a.to_string();
            prop_assert_eq!(Address::parse(&s, network), Ok(a));
            prop_assert_eq!(Address::parse_any(&s), Ok(a));
        }

        #[test]
        fn parsing_arbitrary_strings_never_panics(s in ".{0,80}") {
            let _ = Address::parse_any(&s);
        }
    }
}
