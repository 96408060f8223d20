//! What the content index stores on the ring, and under which keys.
//!
//! - A **provider record** lives under the CID itself (the 32 bytes are the ring key); within the
//!   key it is identified by the provider (SHA-256 of its peer id) and carries the peer id and a
//!   few listen addresses, so a fetcher can dial a provider it has never met.
//! - A **keyword posting** lives under SHA-256 of the normalized keyword; within the key it is
//!   identified by the file and its publisher, and carries the CID, keyword, name and size.
//!
//! Both are **signed by their publisher's libp2p key** (over the ring key, kind, place, payload
//! and an absolute expiry at most [`MAX_LIFE_MS`] ahead), checked by every node that stores them
//! and by every reader: a provider record must be signed by the provider it names, a posting sits
//! at a place derived from its publisher, so a stranger can neither forge nor overwrite another
//! node's records, nor make its own outlive theirs.
//!
//! Keywords are normalized the same way at publish and at search: lower case, split at every
//! character that is not a letter or digit, words of 2–64 bytes, at most [`MAX_KEYWORDS`] per file.

use libp2p::identity::{Keypair, PublicKey};
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

/// Longest a signed record may live, from now: the record TTL (30 minutes) and room for clocks
/// that disagree. A record asking for more is refused, so a forger cannot outlive the real ones.
pub const MAX_LIFE_MS: u64 = 40 * 60 * 1000;

const SIGNING_DOMAIN: &[u8] = b"cairn/index-record/1";

/// Milliseconds since the Unix epoch now (0 if the clock is before 1970).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What is signed: the domain, the record's place (key, kind, sub), its payload and its expiry.
fn signed_bytes(key: &ChordId, kind: u8, sub: &[u8; 32], payload: &[u8], expires: u64) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNING_DOMAIN.len() + 32 + 1 + 32 + 2 + payload.len() + 8);
    m.extend_from_slice(SIGNING_DOMAIN);
    m.extend_from_slice(&key.0);
    m.push(kind);
    m.extend_from_slice(sub);
    m.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    m.extend_from_slice(payload);
    m.extend_from_slice(&expires.to_le_bytes());
    m
}

/// A record signed by `key`'s owner: the value is the payload (u16 length first), the public
/// key (u8 length, protobuf), the expiry (Unix ms, u64) and the signature (u8 length).
fn seal(chord_key: ChordId, kind: u8, sub: [u8; 32], payload: &[u8], key: &Keypair, expires: u64, ttl: u64) -> Record {
    let public = key.public().encode_protobuf();
    // Ed25519 (the node's key type) cannot fail to sign.
    let signature = key
        .sign(&signed_bytes(&chord_key, kind, &sub, payload, expires))
        .unwrap_or_default();
    let mut value = Vec::with_capacity(2 + payload.len() + 1 + public.len() + 8 + 1 + signature.len());
    value.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    value.extend_from_slice(payload);
    value.push(public.len() as u8);
    value.extend_from_slice(&public);
    value.extend_from_slice(&expires.to_le_bytes());
    value.push(signature.len() as u8);
    value.extend_from_slice(&signature);
    Record {
        key: chord_key,
        kind,
        sub,
        value,
        ttl,
    }
}

/// A record whose signature checked: who signed it, what it says, and until when (Unix ms).
#[derive(Debug, PartialEq, Eq)]
pub struct Opened<'a> {
    /// The signer.
    pub publisher: PeerId,
    /// The payload.
    pub payload: &'a [u8],
    /// When it expires.
    pub expires: u64,
}

/// Why a record is not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Malformed or wrongly signed: whoever sent it knew.
    Forged,
    /// Expired, or asks to live longer than [`MAX_LIFE_MS`] (clocks may disagree: not a fault).
    Expired,
    /// Signed by a key below the ring puzzle ([`crate::identity::meets_puzzle`]): a publisher
    /// must pay for its identity as a ring node does, or one attacker could sign as thousands
    /// (to squat keywords). Not a fault of the sender: a node set up with fewer bits passes
    /// such records on.
    Weak,
}

/// Checks a record's signature, its publisher's puzzle at `bits` zero bits, and its lifetime at
/// `now` (Unix ms).
///
/// # Errors
/// See [`Refused`].
pub fn open(record: &Record, now: u64, bits: u8) -> Result<Opened<'_>, Refused> {
    unseal(record, now, bits, true)
}

/// [`open`], with the signature checked only if `verify` (records that were checked when they
/// reached this node need not be checked again).
fn unseal(record: &Record, now: u64, bits: u8, verify: bool) -> Result<Opened<'_>, Refused> {
    let v = record.value.as_slice();
    let n = usize::from(u16::from_le_bytes(
        v.get(..2).ok_or(Refused::Forged)?.try_into().map_err(|_| Refused::Forged)?,
    ));
    let payload = v.get(2..2 + n).ok_or(Refused::Forged)?;
    let rest = &v[2 + n..];
    let kn = usize::from(*rest.first().ok_or(Refused::Forged)?);
    let public = PublicKey::try_decode_protobuf(rest.get(1..1 + kn).ok_or(Refused::Forged)?).map_err(|_| Refused::Forged)?;
    let publisher = public.to_peer_id();
    if !crate::identity::meets_puzzle(&publisher, bits) {
        return Err(Refused::Weak);
    }
    let rest = &rest[1 + kn..];
    let expires = u64::from_le_bytes(rest.get(..8).ok_or(Refused::Forged)?.try_into().map_err(|_| Refused::Forged)?);
    let sn = usize::from(*rest.get(8).ok_or(Refused::Forged)?);
    let signature = rest.get(9..9 + sn).ok_or(Refused::Forged)?;
    if rest.len() != 9 + sn {
        return Err(Refused::Forged);
    }
    if verify && !public.verify(&signed_bytes(&record.key, record.kind, &record.sub, payload, expires), signature) {
        return Err(Refused::Forged);
    }
    if expires <= now || expires > now.saturating_add(MAX_LIFE_MS) {
        return Err(Refused::Expired);
    }
    Ok(Opened {
        publisher,
        payload,
        expires,
    })
}

/// Checks a record arriving to be stored at `now` (Unix ms), and bounds how long the ring keeps
/// it to what its signature allows.
///
/// # Errors
/// It is not a well-formed, well-signed, live provider record or posting.
pub fn admit(record: &mut Record, now: u64, bits: u8) -> Result<(), Refused> {
    let opened = open(record, now, bits)?;
    let valid = match record.kind {
        PROVIDER => provider_from(record, &opened).is_some(),
        POSTING => posting_from(record, &opened).is_some(),
        _ => false,
    };
    if !valid {
        return Err(Refused::Forged);
    }
    record.ttl = record.ttl.min(opened.expires - now);
    Ok(())
}

/// A record whose exact bytes are stored already (so were checked when they came): keeps it if
/// the expiry it carries is still ahead, cutting the ring's lifetime to it. The signature is not
/// checked again.
pub fn refresh(record: &mut Record, now: u64) -> bool {
    match carried_expiry(record) {
        Some(expires) if expires > now && expires <= now.saturating_add(MAX_LIFE_MS) => {
            record.ttl = record.ttl.min(expires - now);
            true
        }
        _ => false,
    }
}

/// The expiry a record's value carries, read without checking its signature.
fn carried_expiry(record: &Record) -> Option<u64> {
    let v = record.value.as_slice();
    let n = usize::from(u16::from_le_bytes(v.get(..2)?.try_into().ok()?));
    let kn = usize::from(*v.get(2 + n)?);
    let at = 2 + n + 1 + kn;
    Some(u64::from_le_bytes(v.get(at..at + 8)?.try_into().ok()?))
}

/// A provider of a file, as found on the ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    /// The peer.
    pub peer: PeerId,
    /// Where it listens.
    pub addrs: Vec<Multiaddr>,
}

/// The provider record of `key`'s owner for `cid`, signed, valid until `expires` (Unix ms).
pub fn provider_record(cid: &ContentId, key: &Keypair, addrs: &[Multiaddr], expires: u64, ttl: u64) -> Record {
    let id = key.public().to_peer_id().to_bytes();
    let mut payload = Vec::new();
    payload.push(id.len() as u8);
    payload.extend_from_slice(&id);
    let addrs: Vec<Vec<u8>> = addrs
        .iter()
        .map(|a| a.to_vec())
        .filter(|a| a.len() <= 255)
        .take(MAX_ADDRS)
        .collect();
    payload.push(addrs.len() as u8);
    for a in addrs {
        payload.push(a.len() as u8);
        payload.extend_from_slice(&a);
    }
    seal(cid_key(cid), PROVIDER, Sha256::digest(&id).into(), &payload, key, expires, ttl)
}

/// Reads a provider record at `now` (Unix ms); `None` if it is not one, is malformed, is not
/// signed by the provider it names, or has expired.
pub fn parse_provider(record: &Record, now: u64, bits: u8) -> Option<Provider> {
    if record.kind != PROVIDER {
        return None;
    }
    provider_from(record, &open(record, now, bits).ok()?)
}

/// [`parse_provider`] for a record the index service has checked already — every record an
/// index get returns (answers are checked as they arrive, stored records as they were stored):
/// the signature is not verified again.
pub fn read_provider(record: &Record, now: u64, bits: u8) -> Option<Provider> {
    provider_from(record, &unseal(record, now, bits, false).ok()?)
}

/// The provider in an opened record's payload, if it names its signer and sits at its place.
fn provider_from(record: &Record, opened: &Opened<'_>) -> Option<Provider> {
    if record.kind != PROVIDER {
        return None;
    }
    let mut v = opened.payload;
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
    if peer != opened.publisher || <[u8; 32]>::from(Sha256::digest(peer.to_bytes())) != record.sub {
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
    /// Who posted it (each publisher of a file has its own posting, under its own `sub`, so
    /// nobody can overwrite another's).
    pub publisher: PeerId,
}

fn posting_sub(cid: &ContentId, publisher: &PeerId) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(cid.as_bytes());
    h.update(publisher.to_bytes());
    h.finalize().into()
}

/// The posting of `cid` under `keyword` by `key`'s owner, signed, valid until `expires`.
pub fn posting_record(keyword: &str, cid: &ContentId, name: &str, size: u64, key: &Keypair, expires: u64, ttl: u64) -> Record {
    let keyword = truncate(keyword, MAX_KEYWORD);
    let name = truncate(name, MAX_NAME);
    let mut payload = Vec::with_capacity(32 + keyword.len() + name.len() + 12);
    payload.extend_from_slice(cid.as_bytes());
    payload.push(keyword.len() as u8);
    payload.extend_from_slice(keyword.as_bytes());
    payload.extend_from_slice(&(name.len() as u16).to_le_bytes());
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(&size.to_le_bytes());
    let sub = posting_sub(cid, &key.public().to_peer_id());
    seal(keyword_key(keyword), POSTING, sub, &payload, key, expires, ttl)
}

/// Reads a posting at `now` (Unix ms); `None` if it is not one, is malformed, is filed under the
/// wrong key or another publisher's place, is not signed, or has expired.
pub fn parse_posting(record: &Record, now: u64, bits: u8) -> Option<Posting> {
    if record.kind != POSTING {
        return None;
    }
    posting_from(record, &open(record, now, bits).ok()?)
}

/// [`parse_posting`] for a record the index service has checked already (see
/// [`read_provider`]).
pub fn read_posting(record: &Record, now: u64, bits: u8) -> Option<Posting> {
    posting_from(record, &unseal(record, now, bits, false).ok()?)
}

/// The posting in an opened record's payload, if it is filed under its keyword and its signer's
/// place.
fn posting_from(record: &Record, opened: &Opened<'_>) -> Option<Posting> {
    if record.kind != POSTING {
        return None;
    }
    let v = opened.payload;
    let cid = ContentId::from_bytes(v.get(..32)?.try_into().ok()?);
    let v = &v[32..];
    let kn = *v.first()? as usize;
    let keyword = std::str::from_utf8(v.get(1..1 + kn)?).ok()?.to_string();
    let rest = v.get(1 + kn..)?;
    let nn = u16::from_le_bytes(rest.get(..2)?.try_into().ok()?) as usize;
    let name = std::str::from_utf8(rest.get(2..2 + nn)?).ok()?.to_string();
    let size_bytes = rest.get(2 + nn..)?;
    if size_bytes.len() != 8 || keyword_key(&keyword) != record.key || posting_sub(&cid, &opened.publisher) != record.sub {
        return None;
    }
    let size = u64::from_le_bytes(size_bytes.try_into().ok()?);
    Some(Posting {
        keyword,
        cid,
        name,
        size,
        publisher: opened.publisher,
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
        let now = 1_800_000_000_000;
        let expires = now + 30 * 60 * 1000;
        let cid = ContentId::from_bytes([4; 32]);
        let key = Keypair::generate_ed25519();
        let peer = key.public().to_peer_id();
        let addrs: Vec<Multiaddr> = vec!["/ip4/127.0.0.1/tcp/1".parse().unwrap()];
        let r = provider_record(&cid, &key, &addrs, expires, 1000);
        assert_eq!(r.key, cid_key(&cid));
        assert_eq!(
            parse_provider(&r, now, 0),
            Some(Provider {
                peer,
                addrs: addrs.clone()
            })
        );
        let mut forged = r.clone();
        forged.sub = [0; 32];
        assert_eq!(parse_provider(&forged, now, 0), None, "a record must be filed under its provider");
        assert_eq!(parse_provider(&r, expires, 0), None, "expired");
        // Someone else's key cannot speak for the provider, nor change a byte of its record.
        let mallory = Keypair::generate_ed25519();
        let mut stolen = provider_record(&cid, &mallory, &addrs, expires, 1000);
        stolen.sub = r.sub;
        assert_eq!(parse_provider(&stolen, now, 0), None);
        for at in [2, 10, r.value.len() - 70, r.value.len() - 1] {
            let mut flipped = r.clone();
            flipped.value[at] ^= 1;
            assert!(open(&flipped, now, 0).is_err(), "byte {at}");
        }
        for n in 0..r.value.len() {
            let mut cut = r.clone();
            cut.value.truncate(n);
            assert_eq!(parse_provider(&cut, now, 0), None);
        }
        // A lifetime beyond the limit is refused.
        let long = provider_record(&cid, &key, &addrs, now + MAX_LIFE_MS + 1, 1000);
        assert_eq!(open(&long, now, 0).err(), Some(Refused::Expired));

        let p = posting_record("holiday", &cid, "Holiday.jpg", 77, &key, expires, 1000);
        assert_eq!(p.key, keyword_key("holiday"));
        assert_eq!(
            parse_posting(&p, now, 0),
            Some(Posting {
                keyword: "holiday".into(),
                cid,
                name: "Holiday.jpg".into(),
                size: 77,
                publisher: peer,
            })
        );
        // Another publisher of the same file has its own place: it cannot overwrite this posting.
        let other = posting_record("holiday", &cid, "spam", 1, &mallory, expires, 1000);
        assert_ne!(other.sub, p.sub);
        let mut squat = other.clone();
        squat.sub = p.sub;
        assert_eq!(parse_posting(&squat, now, 0), None);
        let mut moved = p.clone();
        moved.key = keyword_key("other");
        assert_eq!(parse_posting(&moved, now, 0), None);
        assert_eq!(parse_provider(&p, now, 0), None);
        // Admission clamps the ring's lifetime to the signed one.
        let mut admitted = provider_record(&cid, &key, &addrs, now + 5000, 24 * 3600 * 1000);
        assert_eq!(admit(&mut admitted, now, 0), Ok(()));
        assert_eq!(admitted.ttl, 5000);
        assert_eq!(admit(&mut stolen, now, 0), Err(Refused::Forged));
        // A refresh of bytes already checked reads the carried expiry only.
        let mut again = provider_record(&cid, &key, &addrs, now + 7000, 24 * 3600 * 1000);
        assert!(refresh(&mut again, now));
        assert_eq!(again.ttl, 7000);
        assert!(!refresh(&mut again.clone(), now + 7000), "expired");
    }

    #[test]
    fn records_checked_already_are_read_without_their_signature() {
        let now = 1_800_000_000_000;
        let cid = ContentId::from_bytes([6; 32]);
        let key = Keypair::generate_ed25519();
        let r = provider_record(&cid, &key, &[], now + 60_000, 1000);
        let p = posting_record("read", &cid, "read.txt", 3, &key, now + 60_000, 1000);
        assert_eq!(read_provider(&r, now, 0), parse_provider(&r, now, 0));
        assert_eq!(read_posting(&p, now, 0), parse_posting(&p, now, 0));
        let mut bad = r.clone();
        *bad.value.last_mut().unwrap() ^= 1;
        assert_eq!(parse_provider(&bad, now, 0), None);
        assert!(read_provider(&bad, now, 0).is_some(), "the signature is not checked again");
        assert_eq!(read_provider(&r, now + 60_000, 0), None, "expiry still is");
        assert_eq!(read_posting(&r, now, 0), None, "and the kind");
    }

    #[test]
    fn records_of_a_publisher_below_the_puzzle_are_refused() {
        let now = 1_800_000_000_000;
        let expires = now + 30 * 60 * 1000;
        let cid = ContentId::from_bytes([5; 32]);
        let strong = crate::identity::grind(6);
        let weak = loop {
            let k = Keypair::generate_ed25519();
            if !crate::identity::meets_puzzle(&k.public().to_peer_id(), 6) {
                break k;
            }
        };
        for (key, ok) in [(&strong, true), (&weak, false)] {
            let mut r = provider_record(&cid, key, &[], expires, 1000);
            let p = posting_record("squat", &cid, "squat.txt", 1, key, expires, 1000);
            assert_eq!(parse_provider(&r, now, 6).is_some(), ok);
            assert_eq!(parse_posting(&p, now, 6).is_some(), ok);
            assert_eq!(admit(&mut r, now, 6), if ok { Ok(()) } else { Err(Refused::Weak) });
            assert!(parse_provider(&r, now, 0).is_some(), "no puzzle asked: any key");
        }
    }
}
