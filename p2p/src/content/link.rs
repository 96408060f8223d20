//! Share links: a file's content id, with optional name, size and peers to ask, as one magnet URI.
//!
//! `magnet:?xt=urn:cairn:<64 hex cid>&dn=<name>&xl=<size>&x.pe=<multiaddr>` — the shape BitTorrent
//! users know (BEP 9: `xt` the exact topic, `dn` the display name, `xl` the exact length, `x.pe` a
//! peer address, repeated per peer). A [`ShareLink`] prints that way and parses back; parsing is
//! strict where it matters and bounded: at most [`MAX_LINK_LEN`] bytes and [`MAX_PEERS`] peers,
//! exactly one `xt`, at most one `dn` and one `xl`. Unknown parameters are ignored, as magnet
//! clients do.
//!
//! Values are percent-encoded as RFC 3986 says: the unreserved characters (`A-Z a-z 0-9 - . _ ~`)
//! stay, every other byte of the UTF-8 becomes `%XX`. Decoding takes `+` literally (RFC 3986, not
//! HTML form encoding) and refuses a `%` not followed by two hex digits or bytes that are not UTF-8.
//!
//! Only the content id names the file: `dn` and `xl` are hints for people and progress bars, and
//! the peers are hints for finding it. The manifest, checked against the id, has the last word.

use std::fmt;
use std::str::FromStr;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

use super::id::ContentId;
use super::manifest::check_name;

/// Longest link accepted, in bytes.
pub const MAX_LINK_LEN: usize = 8 * 1024;
/// Most peer addresses (`x.pe`) in one link.
pub const MAX_PEERS: usize = 16;

const PREFIX: &str = "magnet:?";
const TOPIC: &str = "urn:cairn:";
/// How much of a bad value an error quotes.
const QUOTE: usize = 80;

/// A link to a shared file. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareLink {
    /// The file's content id (`xt`).
    pub cid: ContentId,
    /// Its name (`dn`), if given.
    pub name: Option<String>,
    /// Its size in bytes (`xl`), if given.
    pub size: Option<u64>,
    /// Where peers that have it listen (`x.pe`), each ending in `/p2p/<peer id>`.
    pub peers: Vec<Multiaddr>,
}

/// Why a text is not a share link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Longer than [`MAX_LINK_LEN`].
    #[error("share link too long: {len} bytes, at most {MAX_LINK_LEN}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// Does not start with `magnet:?`.
    #[error("a share link starts with \"magnet:?\"")]
    NotMagnet,
    /// No `xt`.
    #[error("share link has no xt=urn:cairn:<content id>")]
    MissingTopic,
    /// A parameter that may appear once appears again.
    #[error("share link has more than one {0}")]
    Repeated(&'static str),
    /// `xt` is not `urn:cairn:` and 64 hex digits.
    #[error("xt must be urn:cairn:<64 hex digits>, got {0:?}")]
    BadTopic(String),
    /// A `%` not followed by two hex digits, or bytes that are not UTF-8.
    #[error("bad percent-encoding in {param}: {value:?}")]
    BadEncoding {
        /// The parameter's name.
        param: String,
        /// The start of its raw value.
        value: String,
    },
    /// `dn` is not a usable file name.
    #[error("dn: {0}")]
    BadName(String),
    /// `xl` is not a decimal u64.
    #[error("xl must be a size in bytes, got {0:?}")]
    BadSize(String),
    /// More than [`MAX_PEERS`] `x.pe`.
    #[error("share link names more than {MAX_PEERS} peer addresses")]
    TooManyPeers,
    /// An `x.pe` that is not a multiaddr ending in `/p2p/<peer id>`.
    #[error("x.pe must be a multiaddr ending in /p2p/<peer id>, got {0:?}")]
    BadPeer(String),
}

fn quote(s: &str) -> String {
    s.chars().take(QUOTE).collect()
}

impl ShareLink {
    /// A link to `cid` naming the peers at `addrs`: those that do not end in `/p2p/<peer id>`
    /// are left out, and only the first [`MAX_PEERS`] are kept, so the link always parses.
    #[must_use]
    pub fn new(cid: ContentId, name: Option<String>, size: Option<u64>, addrs: impl IntoIterator<Item = Multiaddr>) -> ShareLink {
        let peers = addrs.into_iter().filter(|a| peer_of(a).is_some()).take(MAX_PEERS).collect();
        ShareLink { cid, name, size, peers }
    }

    /// The peers grouped by peer id, in order of first appearance, each with its addresses
    /// (as given, `/p2p/<peer id>` included): what `NetworkHandle::add_addresses` takes.
    #[must_use]
    pub fn peer_addrs(&self) -> Vec<(PeerId, Vec<Multiaddr>)> {
        let mut out: Vec<(PeerId, Vec<Multiaddr>)> = Vec::new();
        for addr in &self.peers {
            let Some(peer) = peer_of(addr) else { continue };
            match out.iter_mut().find(|(p, _)| *p == peer) {
                Some((_, addrs)) => addrs.push(addr.clone()),
                None => out.push((peer, vec![addr.clone()])),
            }
        }
        out
    }
}

/// The peer id a multiaddr ends in.
fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    match addr.iter().last() {
        Some(Protocol::P2p(peer)) => Some(peer),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Writes `text` percent-encoded (RFC 3986: unreserved bytes as they are, the rest `%XX`).
fn encode(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    for &b in text.as_bytes() {
        if is_unreserved(b) {
            write!(f, "{}", b as char)?;
        } else {
            write!(f, "%{b:02X}")?;
        }
    }
    Ok(())
}

/// Decodes `%XX` escapes; `None` if one is malformed or the result is not UTF-8.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hi = (hex[0] as char).to_digit(16)?;
            let lo = (hex[1] as char).to_digit(16)?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl fmt::Display for ShareLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}xt={TOPIC}{}", self.cid)?;
        if let Some(name) = &self.name {
            f.write_str("&dn=")?;
            encode(f, name)?;
        }
        if let Some(size) = self.size {
            write!(f, "&xl={size}")?;
        }
        for peer in &self.peers {
            f.write_str("&x.pe=")?;
            encode(f, &peer.to_string())?;
        }
        Ok(())
    }
}

impl FromStr for ShareLink {
    type Err = LinkError;

    /// Parses a link. See the module documentation for what is checked.
    ///
    /// # Errors
    /// Each [`LinkError`] says what is wrong.
    fn from_str(s: &str) -> Result<ShareLink, LinkError> {
        if s.len() > MAX_LINK_LEN {
            return Err(LinkError::TooLong { len: s.len() });
        }
        let query = s.strip_prefix(PREFIX).ok_or(LinkError::NotMagnet)?;
        let (mut cid, mut name, mut size, mut peers) = (None, None, None, Vec::new());
        for part in query.split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = part.split_once('=').unwrap_or((part, ""));
            let value = || {
                decode(raw).ok_or_else(|| LinkError::BadEncoding {
                    param: quote(key),
                    value: quote(raw),
                })
            };
            match key {
                "xt" => {
                    let v = value()?;
                    let id = v
                        .strip_prefix(TOPIC)
                        .and_then(|hex| hex.parse::<ContentId>().ok())
                        .ok_or_else(|| LinkError::BadTopic(quote(&v)))?;
                    if cid.replace(id).is_some() {
                        return Err(LinkError::Repeated("xt"));
                    }
                }
                "dn" => {
                    let v = value()?;
                    check_name(&v).map_err(|e| LinkError::BadName(e.to_string()))?;
                    if name.replace(v).is_some() {
                        return Err(LinkError::Repeated("dn"));
                    }
                }
                "xl" => {
                    let v = value()?;
                    // Digits only: `u64::from_str` would also take a leading '+'.
                    let n = Some(&v)
                        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                        .and_then(|v| v.parse::<u64>().ok())
                        .ok_or_else(|| LinkError::BadSize(quote(&v)))?;
                    if size.replace(n).is_some() {
                        return Err(LinkError::Repeated("xl"));
                    }
                }
                "x.pe" => {
                    if peers.len() == MAX_PEERS {
                        return Err(LinkError::TooManyPeers);
                    }
                    let v = value()?;
                    let addr = v
                        .parse::<Multiaddr>()
                        .ok()
                        .filter(|a| peer_of(a).is_some())
                        .ok_or_else(|| LinkError::BadPeer(quote(&v)))?;
                    peers.push(addr);
                }
                _ => {}
            }
        }
        Ok(ShareLink {
            cid: cid.ok_or(LinkError::MissingTopic)?,
            name,
            size,
            peers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid() -> ContentId {
        ContentId::from_bytes([0x5c; 32])
    }

    fn addr(port: u16) -> Multiaddr {
        let peer = PeerId::random();
        format!("/ip4/127.0.0.1/tcp/{port}/p2p/{peer}").parse().unwrap()
    }

    fn link_with(params: &str) -> String {
        format!("magnet:?xt=urn:cairn:{}{params}", cid())
    }

    #[test]
    fn links_print_as_magnet_uris_and_parse_back() {
        for name in ["song.ogg", "my holiday photo.jpg", "Ünïcødé 🎵 ☃.txt", "a&b=c%d+e.bin", "100%"] {
            let link = ShareLink {
                cid: cid(),
                name: Some(name.to_string()),
                size: Some(1_572_864),
                peers: vec![addr(1), addr(2)],
            };
            let text = link.to_string();
            assert!(text.starts_with(&format!("magnet:?xt=urn:cairn:{}&dn=", cid())), "{text}");
            assert!(text.contains("&xl=1572864&x.pe=%2Fip4%2F127.0.0.1%2Ftcp%2F1%2Fp2p%2F"), "{text}");
            assert!(!text.contains(' '), "{text}");
            assert_eq!(text.parse::<ShareLink>().unwrap(), link, "{text}");
        }
        let bare = ShareLink::new(cid(), None, None, []);
        assert_eq!(bare.to_string(), format!("magnet:?xt=urn:cairn:{}", cid()));
        assert_eq!(bare.to_string().parse::<ShareLink>().unwrap(), bare);
    }

    #[test]
    fn names_are_percent_encoded_as_rfc_3986_says() {
        let link = ShareLink::new(cid(), Some("a b&c=d%e~f-g_h.i/é".to_string()), None, []);
        assert!(link.to_string().ends_with("&dn=a%20b%26c%3Dd%25e~f-g_h.i%2F%C3%A9"), "{link}");
    }

    #[test]
    fn unknown_parameters_and_unencoded_reserved_characters_are_accepted() {
        let peer = addr(9);
        let text = link_with(&format!("&tr=udp%3A%2F%2Ftracker&x.pe={peer}&&flag&dn=plain.txt"));
        let link: ShareLink = text.parse().unwrap();
        assert_eq!(link.peers, vec![peer]);
        assert_eq!(link.name.as_deref(), Some("plain.txt"));
        // '+' is a plus sign, not a space.
        let link: ShareLink = link_with("&dn=a+b").parse().unwrap();
        assert_eq!(link.name.as_deref(), Some("a+b"));
        // Hex digits of an escape in either case.
        let link: ShareLink = link_with("&dn=%c3%a9").parse().unwrap();
        assert_eq!(link.name.as_deref(), Some("é"));
    }

    #[test]
    fn every_malformed_link_is_refused_with_its_reason() {
        let err = |text: &str| text.parse::<ShareLink>().unwrap_err();
        assert_eq!(err(&"a".repeat(MAX_LINK_LEN + 1)), LinkError::TooLong { len: MAX_LINK_LEN + 1 });
        assert_eq!(err(&cid().to_string()), LinkError::NotMagnet);
        assert_eq!(err("magnet:xt=urn:cairn:00"), LinkError::NotMagnet);
        assert_eq!(err("magnet:?dn=a.txt"), LinkError::MissingTopic);
        assert_eq!(err("magnet:?"), LinkError::MissingTopic);
        assert_eq!(err(&link_with(&format!("&xt=urn:cairn:{}", cid()))), LinkError::Repeated("xt"));
        assert_eq!(err(&link_with("&dn=a&dn=b")), LinkError::Repeated("dn"));
        assert_eq!(err(&link_with("&xl=1&xl=2")), LinkError::Repeated("xl"));
        assert!(matches!(err(&format!("magnet:?xt=urn:btih:{}", cid())), LinkError::BadTopic(_)));
        assert!(matches!(err("magnet:?xt=urn:cairn:abcd"), LinkError::BadTopic(_)));
        assert!(matches!(err("magnet:?xt"), LinkError::BadTopic(_)));
        for bad in ["%", "%4", "%zz", "%C3", "a%2"] {
            assert!(
                matches!(err(&link_with(&format!("&dn={bad}"))), LinkError::BadEncoding { .. }),
                "{bad}"
            );
        }
        assert!(matches!(err("magnet:?xt=%ZZ"), LinkError::BadEncoding { .. }));
        for bad in ["", ".", "..", "a%2Fb", "a%5Cb", "x%0Ay", &"n".repeat(256)] {
            assert!(matches!(err(&link_with(&format!("&dn={bad}"))), LinkError::BadName(_)), "{bad}");
        }
        for bad in ["", "-1", "+1", "1.5", "0x10", "18446744073709551616", "ten"] {
            assert!(matches!(err(&link_with(&format!("&xl={bad}"))), LinkError::BadSize(_)), "{bad}");
        }
        for bad in ["", "not-an-addr", "%2Fip4%2F127.0.0.1%2Ftcp%2F1", "/ip4/127.0.0.1/tcp/1"] {
            assert!(matches!(err(&link_with(&format!("&x.pe={bad}"))), LinkError::BadPeer(_)), "{bad}");
        }
        // The messages are lower case and say what is expected.
        assert_eq!(LinkError::MissingTopic.to_string(), "share link has no xt=urn:cairn:<content id>");
    }

    #[test]
    fn a_link_with_too_many_peers_is_refused() {
        let peers: String = (0..=MAX_PEERS).map(|i| format!("&x.pe={}", addr(i as u16 + 1))).collect();
        assert_eq!(link_with(&peers).parse::<ShareLink>().unwrap_err(), LinkError::TooManyPeers);
        let enough: String = (0..MAX_PEERS).map(|i| format!("&x.pe={}", addr(i as u16 + 1))).collect();
        assert_eq!(link_with(&enough).parse::<ShareLink>().unwrap().peers.len(), MAX_PEERS);
        // A link made here never says more than a parser accepts.
        let many = ShareLink::new(cid(), None, None, (0..40).map(|i| addr(i + 1)));
        assert_eq!(many.peers.len(), MAX_PEERS);
        assert_eq!(many.to_string().parse::<ShareLink>().unwrap(), many);
    }

    #[test]
    fn peers_are_grouped_by_peer_id_in_order() {
        let (a1, b1) = (addr(1), addr(2));
        let a = peer_of(&a1).unwrap();
        let a2: Multiaddr = format!("/ip4/10.0.0.1/tcp/7/p2p/{a}").parse().unwrap();
        let unnamed: Multiaddr = "/ip4/10.0.0.2/tcp/7".parse().unwrap();
        let link = ShareLink::new(cid(), None, None, [a1.clone(), b1.clone(), unnamed, a2.clone()]);
        assert_eq!(link.peers.len(), 3, "an address without a peer id is left out");
        assert_eq!(link.peer_addrs(), vec![(a, vec![a1, a2]), (peer_of(&b1).unwrap(), vec![b1])]);
    }
}
