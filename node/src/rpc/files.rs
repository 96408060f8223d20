//! `FilesApi`: publish, fetch and follow files shared by content hash (see `crate::content`).
//!
//! Errors follow Core's codes: a malformed content id, a missing or unreadable file and an
//! unusable destination are `-8` (invalid parameter), a content id this node does not know is
//! `-5` (as an unknown transaction), a disk failure is `-1`.

use std::path::PathBuf;

use cairn_p2p::content::ContentId;
use cairn_rpc::api::FilesApiServer;
use cairn_rpc::error::code;
use cairn_rpc::types::{FileStatus, PublishFileResult};
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

impl RpcContext {
    fn content(&self) -> RpcResult<&ContentHandle> {
        self.content
            .get()
            .ok_or_else(|| RpcError::new(code::CLIENT_P2P_DISABLED, "Error: file sharing is not running"))
    }
}

#[async_trait]
impl FilesApiServer for RpcContext {
    async fn publishfile(&self, path: String, name: Option<String>) -> RpcResult<PublishFileResult> {
        if path.is_empty() {
            return Err(RpcError::invalid_parameter("path is empty"));
        }
        self.content()?.publish(PathBuf::from(path), name).await.map_err(rpc_error)
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
