//! The names of shared content: [`ContentId`] (SHA-256 of a manifest) and [`PieceIndex`].

use std::fmt;
use std::str::FromStr;

/// A file's content id: the SHA-256 of its manifest's canonical encoding, shown as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentId([u8; 32]);

impl ContentId {
    /// The id with these bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> ContentId {
        ContentId(bytes)
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentId({self})")
    }
}

/// Why a text is not a content id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a content id is 64 hex digits, got {0:?}")]
pub struct ParseContentIdError(pub String);

impl FromStr for ContentId {
    type Err = ParseContentIdError;

    fn from_str(s: &str) -> Result<ContentId, ParseContentIdError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| ParseContentIdError(s.chars().take(80).collect()))?;
        Ok(ContentId(bytes))
    }
}

/// The position of a piece in a file.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct PieceIndex(pub u32);

impl fmt::Display for PieceIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ids_print_and_parse_as_hex() {
        let id = ContentId::from_bytes([0xab; 32]);
        let text = id.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text.parse::<ContentId>().unwrap(), id);
        assert!("abc".parse::<ContentId>().is_err());
        assert!("zz".repeat(32).parse::<ContentId>().is_err());
    }
}
