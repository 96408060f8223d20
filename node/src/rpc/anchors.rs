//! File anchors over RPC (`anchorfile`, `publishfile … anchor`, `verifyanchor`): a wallet
//! payment whose data output commits to a content id ([`cairn_chain::anchor`]), and the lookup of
//! the earliest one in the active chain through the chain state's anchor index.

use cairn_chain::anchor::{anchor_lock, anchored_id};
use cairn_chain::{Amount, TxOut, Txid};
use cairn_p2p::content::ContentId;
use cairn_rpc::types::AnchorInfo;
use cairn_rpc::{RpcError, RpcResult};
use cairn_wallet::Funding;
use jsonrpsee::Extensions;

use super::RpcContext;
use super::convert::store_err;

impl RpcContext {
    /// Pays for and broadcasts an anchor of `cid` from the wallet the call names; its txid.
    pub(super) async fn anchor(&self, ext: &Extensions, cid: ContentId) -> RpcResult<Txid> {
        let output = TxOut {
            value: Amount::ZERO,
            lock: anchor_lock(cid.as_bytes()),
        };
        let (created, _) = self
            .pay(ext, None, move |w, rate, tip, now| {
                w.create_funded(vec![output], &Funding::default(), rate, tip, now)
            })
            .await?;
        tracing::info!(%cid, txid = %created.txid, "file anchored");
        Ok(created.txid)
    }

    /// The earliest anchor of `cid`: in the active chain, else in the mempool; `-5` otherwise.
    pub(super) async fn verify_anchor(&self, cid: ContentId) -> RpcResult<AnchorInfo> {
        self.with_state(move |s| {
            let id = cid.as_bytes();
            let hits = s.chain.anchors(id).map_err(store_err)?;
            if let Some(first) = hits.first() {
                return Ok(AnchorInfo {
                    cid: cid.to_string(),
                    txid: first.txid,
                    blockhash: Some(first.block_hash),
                    height: Some(first.height),
                    time: Some(first.time),
                    confirmations: s.chain.height() - first.height + 1,
                    anchors: hits.len(),
                });
            }
            let waiting = s
                .mempool
                .entries()
                .find(|e| e.tx.outputs.iter().any(|o| anchored_id(&o.lock).as_ref() == Some(id)));
            match waiting {
                Some(e) => Ok(AnchorInfo {
                    cid: cid.to_string(),
                    txid: e.tx.compute_txid(),
                    blockhash: None,
                    height: None,
                    time: None,
                    confirmations: 0,
                    anchors: 0,
                }),
                None => Err(RpcError::not_found(format!(
                    "not anchored: no transaction in the chain or the mempool anchors {cid}"
                ))),
            }
        })
        .await
    }
}
