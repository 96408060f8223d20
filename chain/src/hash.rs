//! SHA-256 based hash newtypes.
//!
//! Every 32-byte hash in Cairn has its own type so that a block hash can never be passed where a
//! transaction id is expected. Hashes are stored in internal byte order (the order SHA-256 produced
//! them) and shown as hex in reversed order, exactly as Bitcoin shows txids and block hashes.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::error::ParseHashError;

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// SHA-256 applied twice (Bitcoin's `Hash256`).
pub fn sha256d(data: &[u8]) -> [u8; 32] {
    sha256(&sha256(data))
}

/// RIPEMD-160 of SHA-256 (Bitcoin's `Hash160`), used for public key hashes.
pub fn hash160(data: &[u8]) -> [u8; 20] {
    use ripemd::Ripemd160;
    Ripemd160::digest(sha256(data)).into()
}

macro_rules! hash_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name([u8; 32]);

        impl $name {
            /// The all-zero hash.
            pub const ZERO: Self = Self([0u8; 32]);

            /// Wraps bytes given in internal (hashing) order.
            pub const fn from_byte_array(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// The bytes in internal (hashing) order.
            pub const fn to_byte_array(self) -> [u8; 32] {
                self.0
            }

            /// The bytes in internal (hashing) order.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut rev = self.0;
                rev.reverse();
                f.write_str(&hex::encode(rev))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }

        impl FromStr for $name {
            type Err = ParseHashError;

            /// Parses 64 hex digits in display (reversed) order.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                if s.len() != 64 {
                    return Err(ParseHashError::Length(s.len()));
                }
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(s, &mut bytes).map_err(|_| ParseHashError::Hex)?;
                bytes.reverse();
                Ok(Self(bytes))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hash_newtype!(
    /// Identifies a block: SHA-256d of its 80-byte header.
    BlockHash
);
hash_newtype!(
    /// Identifies a transaction: SHA-256d of its canonical encoding.
    Txid
);
hash_newtype!(
    /// A merkle tree node (the root is committed to in the block header).
    MerkleRoot
);

/// The 20-byte `Hash160` of a compressed public key, named by pay-to-public-key-hash locks.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PubkeyHash([u8; 20]);

impl PubkeyHash {
    /// Wraps 20 bytes.
    pub const fn from_byte_array(bytes: [u8; 20]) -> Self {
        Self(bytes)
    }

    /// Hashes a serialized (compressed) public key.
    pub fn from_pubkey_bytes(pubkey: &[u8]) -> Self {
        Self(hash160(pubkey))
    }

    /// The hash bytes.
    pub const fn to_byte_array(self) -> [u8; 20] {
        self.0
    }
}

impl fmt::Display for PubkeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for PubkeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PubkeyHash({self})")
    }
}

impl FromStr for PubkeyHash {
    type Err = ParseHashError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 40 {
            return Err(ParseHashError::Length(s.len()));
        }
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| ParseHashError::Hex)?;
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_reversed_hex_and_round_trips() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0xab;
        bytes[31] = 0x01;
        let h = Txid::from_byte_array(bytes);
        let s = h.to_string();
        assert!(s.starts_with("01"));
        assert!(s.ends_with("ab"));
        assert_eq!(s.parse::<Txid>().unwrap(), h);
        assert!("zz".parse::<Txid>().is_err());
        assert!("g".repeat(64).parse::<BlockHash>().is_err());
    }

    #[test]
    fn sha256d_matches_known_vector() {
        // SHA-256d("hello") as published widely.
        assert_eq!(
            hex::encode(sha256d(b"hello")),
            "9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50"
        );
    }

    #[test]
    fn hash160_matches_known_vector() {
        // HASH160 of the secp256k1 generator point (compressed), as used in Bitcoin test vectors.
        let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798").unwrap();
        assert_eq!(hex::encode(hash160(&g)), "751e76e8199196d454941c45d1b3a323f1433bd6");
    }
}
