//! `FilesApi`: publish, fetch and follow files shared by content hash (see `crate::content`).
//!
//! Errors follow Core's codes: a malformed content id, a missing or unreadable file and an
//! unusable destination are `-8` (invalid parameter), a content id this node does not know is
//! `-5` (as an unknown transaction), a disk failure is `-1`.

use std::path::PathBuf;

use cairn_p2p::content::ContentId;
use cairn_rpc::api::FilesApiServer;
use cairn_rpc::error::code;
use cairn_rpc::types::{FileStatus, PublishFileResult, SearchFileResult, SearchOptions};
use cairn_rpc::{RpcError, RpcResult};
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
    fn content(&self) -> RpcResult<&ContentHandle> {
        self.content
            .get()
            .ok_or_else(|| RpcError::new(code::CLIENT_P2P_DISABLED, "Error: file sharing is not running"))
    }
}

#[async_trait]
impl FilesApiServer for RpcContext {
    async fn publishfile(&self, path: String, name: Option<String>, keywords: Option<Vec<String>>) -> RpcResult<PublishFileResult> {
        if path.is_empty() {
            return Err(RpcError::invalid_parameter("path is empty"));
        }
        let keywords = keywords.map(|k| normalize_keywords(&k)).transpose()?;
        self.content()?
            .publish(PathBuf::from(path), name.filter(|n| !n.is_empty()), keywords)
            .await
            .map_err(rpc_error)
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
        self.content()?.list().await.map_err(rpc_error)
    }

    async fn fetchfile(&self, cid: String, dest: Option<String>) -> RpcResult<FileStatus> {
        let cid = parse_cid(&cid)?;
        let dest = dest.filter(|d| !d.is_empty()).map(PathBuf::from);
        self.content()?.fetch(cid, dest).await.map_err(rpc_error)
    }

    async fn getfetchstatus(&self, cid: String) -> RpcResult<FileStatus> {
        let cid = parse_cid(&cid)?;
        self.content()?.status(cid).await.map_err(rpc_error)
    }

    async fn removefile(&self, cid: String) -> RpcResult<()> {
        let cid = parse_cid(&cid)?;
        self.content()?.remove(cid).await.map_err(rpc_error)
    }
}
