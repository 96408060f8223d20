//! What the content index stores on the ring, and under which keys.
//!
//! - A **provider record** lives under the CID itself (the 32 bytes are the ring key); within the
//!   key it is identified by the provider (SHA-256 of its peer id) and carries the peer id and a
//!   few listen addresses, so a fetcher can dial a provider it has never met.
//! - A **keyword posting** lives under SHA-256 of the normalized keyword; within the key it is
//!   identified by the file (its CID) and carries the keyword, the CID, name and size.
//!
//! Keywords are normalized the same way at publish and at search: lower case, split at every
//! character that is not a letter or digit, words of 2–64 bytes, at most [`MAX_KEYWORDS`] per file.

use libp2p::{Multiaddr, PeerId};
use sha2::{Digest, Sha256};

use crate::chord::message::{MAX_ADDRS, MAX_NAME, truncate};
use crate::chord::{ChordId, Record};
use crate::content::ContentId;

/// Record kind of a provider record.
pub const PROVIDER: u8 = 1;
/// Record kind of a keyword posting.
pub const POSTING: u8 = 2;
/// Most keywords of one file (and words of one search).
pub const MAX_KEYWORDS: usize = 16;
/// Longest keyword, in bytes.
pub const MAX_KEYWORD: usize = 64;

/// The ring key of a file's provider records.
pub fn cid_key(cid: &ContentId) -> ChordId {
    ChordId(*cid.as_bytes())
}

/// The ring key of a (normalized) keyword's postings.
pub fn keyword_key(keyword: &str) -> ChordId {
    ChordId::hash(keyword.as_bytes())
}

/// Normalized keywords of `text`, in order of first appearance, without repeats.
pub fn keywords(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let w = word.to_lowercase();
        if w.len() < 2 || w.len() > MAX_KEYWORD || out.contains(&w) {
            continue;
        }
        out.push(w);
        if out.len() == MAX_KEYWORDS {
            break;
        }
    }
    out
}

/// A provider of a file, as found on the ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    /// The peer.
    pub peer: PeerId,
    /// Where it listens.
    pub addrs: Vec<Multiaddr>,
}

/// The provider record of `peer` for `cid`.
pub fn provider_record(cid: &ContentId, peer: &PeerId, addrs: &[Multiaddr], ttl: u64) -> Record {
    let mut value = Vec::new();
    let id = peer.to_bytes();
    value.push(id.len() as u8);
    value.extend_from_slice(&id);
    let addrs: Vec<Vec<u8>> = addrs
        .iter()
        .map(|a| a.to_vec())
        .filter(|a| a.len() <= 255)
        .take(MAX_ADDRS)
        .collect();
    value.push(addrs.len() as u8);
    for a in addrs {
        value.push(a.len() as u8);
        value.extend_from_slice(&a);
    }
    Record {
        key: cid_key(cid),
        kind: PROVIDER,
        sub: Sha256::digest(&id).into(),
        value,
        ttl,
    }
}

/// Reads a provider record; `None` if it is not one or is malformed.
pub fn parse_provider(record: &Record) -> Option<Provider> {
    if record.kind != PROVIDER {
        return None;
    }
    let mut v = record.value.as_slice();
    let mut take = |n: usize| -> Option<&[u8]> {
        if v.len() < n {
            return None;
        }
        let (a, b) = v.split_at(n);
        v = b;
        Some(a)
    };
    let n = take(1)?[0] as usize;
    let peer = PeerId::from_bytes(take(n)?).ok()?;
    if <[u8; 32]>::from(Sha256::digest(peer.to_bytes())) != record.sub {
        return None;
    }
    let count = (take(1)?[0] as usize).min(MAX_ADDRS);
    let mut addrs = Vec::with_capacity(count);
    for _ in 0..count {
        let n = take(1)?[0] as usize;
        if let Ok(a) = Multiaddr::try_from(take(n)?.to_vec()) {
            addrs.push(a);
        }
    }
    Some(Provider { peer, addrs })
}

/// A file as posted under a keyword.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posting {
    /// The keyword.
    pub keyword: String,
    /// The file.
    pub cid: ContentId,
    /// Its name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The posting of `cid` under `keyword`.
pub fn posting_record(keyword: &str, cid: &ContentId, name: &str, size: u64, ttl: u64) -> Record {
    let keyword = truncate(keyword, MAX_KEYWORD);
    let name = truncate(name, MAX_NAME);
    let mut value = Vec::with_capacity(keyword.len() + name.len() + 12);
    value.push(keyword.len() as u8);
    value.extend_from_slice(keyword.as_bytes());
    value.extend_from_slice(&(name.len() as u16).to_le_bytes());
    value.extend_from_slice(name.as_bytes());
    value.extend_from_slice(&size.to_le_bytes());
    Record {
        key: keyword_key(keyword),
        kind: POSTING,
        sub: *cid.as_bytes(),
        value,
        ttl,
    }
}

/// Reads a posting; `None` if it is not one, is malformed, or is filed under the wrong key.
pub fn parse_posting(record: &Record) -> Option<Posting> {
    if record.kind != POSTING {
        return None;
    }
    let v = record.value.as_slice();
    let kn = *v.first()? as usize;
    let keyword = std::str::from_utf8(v.get(1..1 + kn)?).ok()?.to_string();
    let rest = v.get(1 + kn..)?;
    let nn = u16::from_le_bytes(rest.get(..2)?.try_into().ok()?) as usize;
    let name = std::str::from_utf8(rest.get(2..2 + nn)?).ok()?.to_string();
    let size_bytes = rest.get(2 + nn..)?;
    if size_bytes.len() != 8 || keyword_key(&keyword) != record.key {
        return None;
    }
    let size = u64::from_le_bytes(size_bytes.try_into().ok()?);
    Some(Posting {
        keyword,
        cid: ContentId::from_bytes(record.sub),
        name,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_normalized_words() {
        assert_eq!(
            keywords("Holiday-Photos_2024 (final).TAR.gz"),
            ["holiday", "photos", "2024", "final", "tar", "gz"]
        );
        assert_eq!(keywords("a b  Ünïcode ünïcode"), ["ünïcode"]);
        assert!(keywords("").is_empty());
        let many: String = (0..40).map(|i| format!("w{i} ")).collect();
        assert_eq!(keywords(&many).len(), MAX_KEYWORDS);
    }

    #[test]
    fn records_round_trip_and_reject_forgeries() {
        let cid = ContentId::from_bytes([4; 32]);
        let peer = PeerId::random();
        let addrs: Vec<Multiaddr> = vec!["/ip4/127.0.0.1/tcp/1".parse().unwrap()];
        let r = provider_record(&cid, &peer, &addrs, 1000);
        assert_eq!(r.key, cid_key(&cid));
        assert_eq!(parse_provider(&r), Some(Provider { peer, addrs }));
        let mut forged = r.clone();
        forged.sub = [0; 32];
        assert_eq!(parse_provider(&forged), None, "a record must be filed under its provider");
        let p = posting_record("holiday", &cid, "Holiday.jpg", 77, 1000);
        assert_eq!(p.key, keyword_key("holiday"));
        assert_eq!(
            parse_posting(&p),
            Some(Posting {
                keyword: "holiday".into(),
                cid,
                name: "Holiday.jpg".into(),
                size: 77
            })
        );
        let mut moved = p.clone();
        moved.key = keyword_key("other");
        assert_eq!(parse_posting(&moved), None);
        for n in 0..p.value.len() {
            let mut cut = p.clone();
            cut.value.truncate(n);
            assert_eq!(parse_posting(&cut), None);
        }
        assert_eq!(parse_provider(&p), None);
    }
}
