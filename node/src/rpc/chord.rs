//! `ChordApi`: the node's place on the Chord ring that indexes shared files, and lookups on it
//! (see `cairn_p2p::index`).

use cairn_p2p::IndexHandle;
use cairn_p2p::chord::ChordId;
use cairn_p2p::chord::message::NodeEntry;
use cairn_p2p::index::{IndexError, VnodeInfo, payload};
use cairn_rpc::api::ChordApiServer;
use cairn_rpc::error::code;
use cairn_rpc::types::{ChordFinger, ChordInfo, ChordLookupResult, ChordNode, ChordVnode};
use cairn_rpc::{RpcError, RpcResult};
use jsonrpsee::core::async_trait;

use super::RpcContext;

/// How an index failure reaches an RPC caller.
pub(super) fn index_error(e: IndexError) -> RpcError {
    match e {
        IndexError::Stopped => RpcError::new(code::CLIENT_P2P_DISABLED, "Error: the content index is not running"),
        IndexError::NoWords => RpcError::invalid_parameter(e.to_string()),
        IndexError::Chord(e) => RpcError::misc(format!("chord lookup failed: {e}")),
    }
}

fn node(e: &NodeEntry) -> ChordNode {
    ChordNode {
        id: e.id.to_string(),
        peer: e.addr.peer.to_string(),
    }
}

fn vnode(v: &VnodeInfo) -> ChordVnode {
    ChordVnode {
        id: v.id.to_string(),
        predecessor: v.predecessor.as_ref().map(node),
        successors: v.successors.iter().map(node).collect(),
        fingers: v
            .fingers
            .iter()
            .map(|(index, start, n)| ChordFinger {
                index: *index,
                start: start.to_string(),
                node: node(n),
            })
            .collect(),
        keys_stored: v.keys_stored,
        records: v.records,
    }
}

/// A `chordlookup` key: 64 hex digits are a ring id as they are; anything else must be one
/// keyword, hashed as its postings are.
pub fn parse_key(text: &str) -> RpcResult<ChordId> {
    let t = text.trim();
    if t.len() == 64
        && let Ok(bytes) = hex::decode(t)
    {
        let mut id = [0u8; 32];
        id.copy_from_slice(&bytes);
        return Ok(ChordId(id));
    }
    match cairn_p2p::index::keywords(t).as_slice() {
        [one] => Ok(payload::keyword_key(one)),
        _ => Err(RpcError::invalid_parameter(format!(
            "key must be 64 hex digits or one keyword of 2 to 64 letters or digits, got {text:?}"
        ))),
    }
}

impl RpcContext {
    pub(super) fn index(&self) -> RpcResult<&IndexHandle> {
        self.index
            .get()
            .ok_or_else(|| RpcError::new(code::CLIENT_P2P_DISABLED, "Error: the content index is not running"))
    }
}

#[async_trait]
impl ChordApiServer for RpcContext {
    async fn getchordinfo(&self) -> RpcResult<ChordInfo> {
        let index = self.index()?;
        let vnodes = index.info().await.map_err(index_error)?;
        let first = vnodes.first().ok_or_else(|| RpcError::internal("no virtual node"))?;
        let peer = self.net.get().map(|n| n.peer_id().to_string()).unwrap_or_default();
        let v = vnode(first);
        Ok(ChordInfo {
            id: v.id,
            peer,
            predecessor: v.predecessor,
            successors: v.successors,
            fingers: v.fingers,
            keys_stored: v.keys_stored,
            records: v.records,
            vnodes: vnodes.iter().skip(1).map(vnode).collect(),
        })
    }

    async fn chordlookup(&self, key: String) -> RpcResult<ChordLookupResult> {
        let key = parse_key(&key)?;
        let found = self.index()?.lookup(key).await.map_err(index_error)?;
        Ok(ChordLookupResult {
            key: found.key.to_string(),
            node: node(&found.node),
            hops: found.hops,
            path: found.path.iter().map(node).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_ids_or_one_keyword() {
        let hex = "ab".repeat(32);
        assert_eq!(parse_key(&hex).unwrap().0, [0xab; 32]);
        assert_eq!(parse_key(" Holiday ").unwrap(), payload::keyword_key("holiday"));
        assert!(parse_key("two words").is_err());
        assert!(parse_key("x").is_err());
        assert!(parse_key("").is_err());
    }
}
