//! `FilesApi`: publish, fetch and follow files shared by content hash (see `crate::content`).
//!
//! Errors follow Core's codes: a malformed content id or share link, a missing or unreadable file
//! and an unusable destination are `-8` (invalid parameter), a content id this node does not know
//! is `-5` (as an unknown transaction), a disk failure is `-1`.
//!
//! Share links ([`ShareLink`], `magnet:?xt=urn:cairn:…`) are made here, because this is where the
//! node's listen addresses are known: `publishfile` names them as the link's peers, and every
//! status does while this node serves the file (downloading or complete). `fetchfile` takes a link
//! as well as a content id: the link's peers are told to the network and handed to the fetch as
//! its first candidates, beside the providers the index finds. A link's `dn` and `xl` may
//! disagree with the manifest found later: that is no error, the content id is what names the
//! file, and the status shows the manifest's name and size.

use std::path::PathBuf;

use cairn_p2p::content::{ContentId, ShareLink};
use cairn_p2p::{Multiaddr, PeerId};
use cairn_rpc::api::FilesApiServer;
use cairn_rpc::error::code;
use cairn_rpc::types::{AnchorFileResult, AnchorInfo, FileStatus, PublishFileResult, SearchFileResult, SearchOptions};
use cairn_rpc::{RpcError, RpcResult};
use jsonrpsee::Extensions;
use jsonrpsee::core::async_trait;

use super::RpcContext;
use crate::content::{ContentError, ContentHandle};

fn rpc_error(e: ContentError) -> RpcError {
    match e {
        ContentError::InvalidParameter(m) => RpcError::invalid_parameter(m),
        ContentError::NotFound(m) => RpcError::not_found(m),
        ContentError::Io(m) => RpcError::misc(m),
        ContentError::Stopped => RpcError::new(code::IN_WARMUP, "the file-sharing service is not running"),
    }
}

fn parse_cid(text: &str) -> RpcResult<ContentId> {
    text.trim()
        .parse()
        .map_err(|_| RpcError::invalid_parameter(format!("cid must be 64 hex digits (the content id), got {text:?}")))
}

/// What `fetchfile` was given: a content id, or a share link (which names the id).
fn parse_target(text: &str) -> RpcResult<ShareLink> {
    let text = text.trim();
    if text.starts_with("magnet:") {
        return text
            .parse()
            .map_err(|e: cairn_p2p::content::link::LinkError| RpcError::invalid_parameter(e.to_string()));
    }
    let cid = text.parse().map_err(|_| {
        RpcError::invalid_parameter(format!(
            "expected a content id (64 hex digits) or a share link (magnet:?xt=urn:cairn:...), got {text:?}"
        ))
    })?;
    Ok(ShareLink::new(cid, None, None, []))
}

/// Seconds left at `rate` bytes per second, while downloading; `None` when that cannot be told
/// (another state, size unknown, nothing arriving). Never panics, whatever the rate.
fn eta(state: &str, size: Option<u64>, bytes: u64, rate: f64) -> Option<u64> {
    let size = size.filter(|_| state == "downloading")?;
    if !(rate.is_finite() && rate > 0.0) {
        return None;
    }
    // `as` saturates: a crawl gives u64::MAX seconds, not a panic.
    Some((size.saturating_sub(bytes) as f64 / rate).ceil() as u64)
}

/// Fills in a status's `link` (naming `ours` while this node serves the file) and `eta`.
fn complete_status(status: &mut FileStatus, ours: &[Multiaddr]) {
    status.eta = eta(&status.state, status.wanted_size, status.bytes, status.download_rate);
    let serving = matches!(status.state.as_str(), "downloading" | "complete");
    // The service made `cid` from a `ContentId`, so it parses.
    if let Ok(cid) = status.cid.parse::<ContentId>() {
        let peers = if serving { ours.to_vec() } else { Vec::new() };
        status.link = ShareLink::new(cid, status.name.clone(), status.size, peers).to_string();
    }
}

/// Keywords given to `publishfile`, normalized as searches are (each may hold several words).
fn normalize_keywords(given: &[String]) -> RpcResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for k in given {
        let words = cairn_p2p::index::keywords(k);
        if words.is_empty() {
            return Err(RpcError::invalid_parameter(format!(
                "keyword {k:?} has no word of 2 to 64 letters or digits"
            )));
        }
        for w in words {
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
    if out.len() > cairn_p2p::index::payload::MAX_KEYWORDS {
        return Err(RpcError::invalid_parameter(format!(
            "at most {} keywords",
            cairn_p2p::index::payload::MAX_KEYWORDS
        )));
    }
    Ok(out)
}

/// Flood hits, one row per file: every peer that has it, the nearest first; files held by more
/// peers first, then nearer ones, then by name.
fn group_flood_hits(hits: Vec<cairn_p2p::chord::message::FloodHit>) -> Vec<SearchFileResult> {
    /// Name, size, and (hops, peer) of every peer that has the file.
    type Found = (String, u64, Vec<(u8, String)>);
    let mut by_cid: std::collections::BTreeMap<ContentId, Found> = Default::default();
    for h in hits {
        let entry = by_cid.entry(h.cid).or_insert_with(|| (h.name.clone(), h.size, Vec::new()));
        entry.2.push((h.hops, h.peer.to_string()));
    }
    let mut out: Vec<SearchFileResult> = by_cid
        .into_iter()
        .map(|(cid, (name, size, mut peers))| {
            peers.sort();
            SearchFileResult {
                cid: cid.to_string(),
                name,
                size,
                providers: peers.len(),
                hops: peers.first().map(|p| p.0),
                peers: Some(peers.into_iter().map(|p| p.1).collect()),
            }
        })
        .collect();
    out.sort_by(|a, b| b.providers.cmp(&a.providers).then(a.hops.cmp(&b.hops)).then(a.name.cmp(&b.name)));
    out
}

impl RpcContext {
    pub(super) fn content(&self) -> RpcResult<&ContentHandle> {
        self.content
            .get()
            .ok_or_else(|| RpcError::new(code::CLIENT_P2P_DISABLED, "Error: file sharing is not running"))
    }

    /// Where this node listens, each address ending in `/p2p/<our id>` (none if the network is
    /// not up: links are then made without peers).
    async fn own_addrs(&self) -> Vec<Multiaddr> {
        match self.net.get() {
            Some(net) => net.info().await.map(|i| i.listen_addrs).unwrap_or_default(),
            None => Vec::new(),
        }
    }

    async fn completed(&self, mut status: FileStatus) -> FileStatus {
        complete_status(&mut status, &self.own_addrs().await);
        status
    }
}

#[async_trait]
impl FilesApiServer for RpcContext {
    async fn publishfile(
        &self,
        ext: &Extensions,
        path: String,
        name: Option<String>,
        keywords: Option<Vec<String>>,
        anchor: Option<bool>,
    ) -> RpcResult<PublishFileResult> {
        if path.is_empty() {
            return Err(RpcError::invalid_parameter("path is empty"));
        }
        let keywords = keywords.map(|k| normalize_keywords(&k)).transpose()?;
        let mut result = self
            .content()?
            .publish(PathBuf::from(path), name.filter(|n| !n.is_empty()), keywords)
            .await
            .map_err(rpc_error)?;
        if let Ok(cid) = result.cid.parse::<ContentId>() {
            let link = ShareLink::new(cid, Some(result.name.clone()), Some(result.size), self.own_addrs().await);
            result.link = link.to_string();
            // The file is shared by now: an anchor that cannot be paid for is reported beside
            // the result, not as the call's failure (anchorfile can be run again later).
            if anchor.unwrap_or(false) {
                match self.anchor(ext, cid).await {
                    Ok(txid) => result.anchor = Some(txid),
                    Err(e) => result.anchor_error = Some(e.message),
                }
            }
        }
        Ok(result)
    }

    async fn anchorfile(&self, ext: &Extensions, cid: String) -> RpcResult<AnchorFileResult> {
        let cid = parse_cid(&cid)?;
        let txid = self.anchor(ext, cid).await?;
        Ok(AnchorFileResult {
            cid: cid.to_string(),
            txid,
        })
    }

    async fn verifyanchor(&self, cid: String) -> RpcResult<AnchorInfo> {
        self.verify_anchor(parse_cid(&cid)?).await
    }

    async fn searchfiles(&self, query: serde_json::Value, options: Option<SearchOptions>) -> RpcResult<Vec<SearchFileResult>> {
        // `cairn cli searchfiles 2024` sends a number: take it as the text it was.
        let text = match query {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            other => return Err(RpcError::invalid_parameter(format!("query must be a string, got {other}"))),
        };
        let options = options.unwrap_or_default();
        let index = self.index()?;
        if options.flood {
            let ttl = options.ttl.unwrap_or(cairn_p2p::index::DEFAULT_TTL);
            if !(1..=cairn_p2p::index::MAX_TTL).contains(&ttl) {
                return Err(RpcError::invalid_parameter(format!(
                    "ttl must be 1 to {}, got {ttl}",
                    cairn_p2p::index::MAX_TTL
                )));
            }
            if text.trim().is_empty() || text.len() > cairn_p2p::chord::message::MAX_QUERY {
                return Err(RpcError::invalid_parameter("flooded search text must be 1 to 256 bytes"));
            }
            let hits = index.flood(text.trim().to_string(), ttl).await.map_err(super::chord::index_error)?;
            return Ok(group_flood_hits(hits));
        }
        if options.ttl.is_some() {
            return Err(RpcError::invalid_parameter(
                "ttl applies to flooded searches only ({\"flood\": true})",
            ));
        }
        let hits = index.search(&text).await.map_err(super::chord::index_error)?;
        Ok(hits
            .into_iter()
            .map(|h| SearchFileResult {
                cid: h.cid.to_string(),
                name: h.name,
                size: h.size,
                providers: h.providers,
                peers: None,
                hops: None,
            })
            .collect())
    }

    async fn listfiles(&self) -> RpcResult<Vec<FileStatus>> {
        let mut list = self.content()?.list().await.map_err(rpc_error)?;
        let ours = self.own_addrs().await;
        for status in &mut list {
            complete_status(status, &ours);
        }
        Ok(list)
    }

    async fn fetchfile(&self, cid: String, dest: Option<String>, files: Option<Vec<String>>) -> RpcResult<FileStatus> {
        let link = parse_target(&cid)?;
        let dest = dest.filter(|d| !d.is_empty()).map(PathBuf::from);
        let content = self.content()?;
        let mut hints: Vec<PeerId> = Vec::new();
        if let Some(net) = self.net.get() {
            for (peer, addrs) in link.peer_addrs() {
                if peer != net.peer_id() {
                    net.add_addresses(peer, addrs);
                    hints.push(peer);
                }
            }
        }
        let status = content.fetch(link.cid, dest, files, hints).await.map_err(rpc_error)?;
        Ok(self.completed(status).await)
    }

    async fn getfetchstatus(&self, cid: String) -> RpcResult<FileStatus> {
        let cid = parse_cid(&cid)?;
        let status = self.content()?.status(cid).await.map_err(rpc_error)?;
        Ok(self.completed(status).await)
    }

    async fn removefile(&self, cid: String) -> RpcResult<()> {
        let cid = parse_cid(&cid)?;
        self.content()?.remove(cid).await.map_err(rpc_error)
    }

    async fn pausefile(&self, cid: String) -> RpcResult<FileStatus> {
        let cid = parse_cid(&cid)?;
        let status = self.content()?.pause(cid, true).await.map_err(rpc_error)?;
        Ok(self.completed(status).await)
    }

    async fn resumefile(&self, cid: String) -> RpcResult<FileStatus> {
        let cid = parse_cid(&cid)?;
        let status = self.content()?.pause(cid, false).await.map_err(rpc_error)?;
        Ok(self.completed(status).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: &str, size: Option<u64>, bytes: u64, rate: f64) -> FileStatus {
        FileStatus {
            cid: ContentId::from_bytes([7; 32]).to_string(),
            name: size.map(|_| "f.bin".to_string()),
            size,
            origin: "fetch".to_string(),
            state: state.to_string(),
            pieces_have: 0,
            pieces_total: 0,
            bytes,
            peers: 0,
            download_rate: rate,
            upload_rate: 0.0,
            downloaded: 0,
            uploaded: 0,
            path: None,
            error: None,
            sources: Vec::new(),
            link: String::new(),
            eta: None,
            super_seeding: false,
            wanted_size: size,
            files: None,
        }
    }

    #[test]
    fn the_eta_is_what_remains_over_the_rate_while_downloading() {
        assert_eq!(eta("downloading", Some(1000), 400, 100.0), Some(6));
        assert_eq!(eta("downloading", Some(1000), 401, 100.0), Some(6), "rounded up");
        assert_eq!(eta("downloading", Some(1000), 1000, 100.0), Some(0));
        assert_eq!(eta("downloading", Some(10), 20, 1.0), Some(0), "never negative");
        assert_eq!(eta("downloading", Some(u64::MAX), 0, 1e-300), Some(u64::MAX));
        for rate in [0.0, -5.0, f64::NAN, f64::INFINITY] {
            assert_eq!(eta("downloading", Some(1000), 0, rate), None, "{rate}");
        }
        assert_eq!(eta("downloading", None, 0, 100.0), None);
        for state in ["searching", "opening", "complete", "failed"] {
            assert_eq!(eta(state, Some(1000), 0, 100.0), None, "{state}");
        }
    }

    #[test]
    fn a_status_link_names_this_node_only_while_it_serves_the_file() {
        let me = PeerId::random();
        let ours: Vec<Multiaddr> = vec![format!("/ip4/127.0.0.1/tcp/9/p2p/{me}").parse().unwrap()];
        let mut s = status("downloading", Some(1000), 500, 250.0);
        complete_status(&mut s, &ours);
        let link: ShareLink = s.link.parse().unwrap();
        assert_eq!(
            (link.cid.to_string(), link.name.as_deref(), link.size),
            (s.cid.clone(), Some("f.bin"), Some(1000))
        );
        assert_eq!(link.peers, ours);
        assert_eq!(s.eta, Some(2));

        let mut s = status("searching", None, 0, 0.0);
        complete_status(&mut s, &ours);
        let link: ShareLink = s.link.parse().unwrap();
        assert_eq!((link.name, link.size, link.peers.len()), (None, None, 0));
        assert_eq!(s.eta, None);
    }

    #[test]
    fn fetchfile_takes_a_content_id_or_a_link() {
        let cid = ContentId::from_bytes([9; 32]);
        assert_eq!(parse_target(&format!(" {cid}\n")).unwrap().cid, cid);
        let link = ShareLink::new(cid, Some("a b.txt".to_string()), Some(3), []);
        assert_eq!(parse_target(&link.to_string()).unwrap(), link);
        let e = parse_target("magnet:?dn=x").unwrap_err();
        assert_eq!(e.code, code::INVALID_PARAMETER);
        assert!(e.message.contains("no xt"), "{}", e.message);
        let e = parse_target("xyz").unwrap_err();
        assert!(e.message.contains("64 hex digits"), "{}", e.message);
    }
}
