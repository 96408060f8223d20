//! The router: network events in, chain decisions and answers out.
//!
//! Gossip is decoded, handed to the chain service, and only then given its verdict — Accept
//! (gossipsub forwards it), Ignore (a duplicate, an orphan, a transaction that does not fit our
//! mempool) or Reject (invalid: the sender is penalized by gossipsub and banned by us). Sync
//! requests are answered from the chain service. Peer arrivals and departures go to the sync
//! driver in order; everything else runs as tasks, at most [`MAX_CONCURRENT`] at once, so a
//! flood of gossip waits in the network's bounded queue instead of growing memory here, and at
//! most [`MAX_PER_PEER`] of one peer's, so one peer's flood is dropped rather than queued in
//! front of everyone else's. What a block or transaction says about its sender is decided by
//! [`crate::policy`].

use std::sync::Arc;

use cairn_chain::encode::Decodable;
use cairn_chain::{Block, Transaction};
use cairn_p2p::sync_protocol::{MAX_HEADERS, MAX_MEMPOOL_INV};
use cairn_p2p::{DEFAULT_BAN, NetworkEvent, NetworkHandle, PeerId, Responder, SyncRequest, SyncResponse, Topic, Verdict};
use tokio::sync::{Semaphore, mpsc};
use tracing::debug;

use crate::policy::{self, BlockJudgement, PeerBudget, TxJudgement};
use crate::service::{BlockSource, ChainHandle};
use crate::shutdown::Shutdown;
use crate::sync::{SyncInput, our_status};

/// Most transaction bytes in one `Txs` reply (under the protocol's 4 MiB frame).
const TXS_REPLY_BUDGET: usize = 3 * 1024 * 1024;

/// Most network events handled at once.
pub const MAX_CONCURRENT: usize = 128;
/// Most events of one peer handled at once ([`PeerBudget`]): what an honest peer may have in
/// flight (sync pipelines [`crate::sync::state::MAX_IN_FLIGHT_PER_PEER`] block requests, plus a
/// headers, status, mempool or transactions request and the gossip it relays), with room to
/// spare, and under a third of the router. What one peer sends beyond that is dropped at the
/// door (a request fails on its side at once, gossip is ignored) instead of waiting for the
/// chain thread in front of everyone else.
pub const MAX_PER_PEER: u32 = 40;

/// Routes network events until the network stops or the node shuts down.
pub async fn run(
    mut events: mpsc::Receiver<NetworkEvent>,
    chain: ChainHandle,
    net: NetworkHandle,
    sync: mpsc::Sender<SyncInput>,
    shutdown: Shutdown,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONCURRENT));
    let budget = Arc::new(std::sync::Mutex::new(PeerBudget::new(MAX_PER_PEER)));
    loop {
        let event = tokio::select! {
            _ = shutdown.wait() => break,
            e = events.recv() => match e {
                Some(e) => e,
                None => break,
            },
        };
        match event {
            NetworkEvent::PeerConnected { peer, .. } => {
                let _ = sync.send(SyncInput::Connected(peer)).await;
            }
            NetworkEvent::PeerDisconnected { peer } => {
                let _ = sync.send(SyncInput::Disconnected(peer)).await;
            }
            other => {
                let peer = match &other {
                    NetworkEvent::Gossip { source, .. } => *source,
                    NetworkEvent::Request { peer, .. } => *peer,
                    NetworkEvent::PeerConnected { peer, .. } | NetworkEvent::PeerDisconnected { peer } => *peer,
                };
                if !budget.lock().is_ok_and(|mut b| b.try_take(peer)) {
                    over_budget(other, &net).await;
                    continue;
                }
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break;
                };
                let (chain, net, sync, budget) = (chain.clone(), net.clone(), sync.clone(), budget.clone());
                tokio::spawn(async move {
                    handle(other, &chain, &net, &sync).await;
                    if let Ok(mut b) = budget.lock() {
                        b.give_back(&peer);
                    }
                    drop(permit);
                });
            }
        }
    }
}

/// An event of a peer that already has [`MAX_PER_PEER`] in progress: gossip is ignored (not
/// forwarded; other peers relay what is real), a request is dropped (it fails on the peer's
/// side at once).
async fn over_budget(event: NetworkEvent, net: &NetworkHandle) {
    match event {
        NetworkEvent::Gossip { id, source, topic, .. } => {
            debug!(peer = %source, "gossip over the peer's budget: ignored");
            net.report(id, source, topic, Verdict::Ignore).await;
        }
        NetworkEvent::Request { peer, responder, .. } => {
            debug!(%peer, "request over the peer's budget: dropped");
            drop(responder);
        }
        NetworkEvent::PeerConnected { .. } | NetworkEvent::PeerDisconnected { .. } => {}
    }
}

async fn handle(event: NetworkEvent, chain: &ChainHandle, net: &NetworkHandle, sync: &mpsc::Sender<SyncInput>) {
    match event {
        NetworkEvent::Gossip {
            topic: Topic::Blocks,
            id,
            source,
            data,
        } => {
            let verdict = gossip_block(&data, source, chain, net, sync).await;
            net.report(id, source, Topic::Blocks, verdict).await;
        }
        NetworkEvent::Gossip {
            topic: Topic::Transactions,
            id,
            source,
            data,
        } => {
            let verdict = gossip_tx(&data, source, chain, net).await;
            net.report(id, source, Topic::Transactions, verdict).await;
        }
        NetworkEvent::Request { peer, request, responder } => answer(peer, request, responder, chain, net, sync).await,
        NetworkEvent::PeerConnected { .. } | NetworkEvent::PeerDisconnected { .. } => {}
    }
}

async fn gossip_block(data: &[u8], source: PeerId, chain: &ChainHandle, net: &NetworkHandle, sync: &mpsc::Sender<SyncInput>) -> Verdict {
    let block = match Block::decode(data) {
        Ok(b) => b,
        Err(e) => {
            net.ban(source, DEFAULT_BAN, format!("gossiped an undecodable block: {e}")).await;
            return Verdict::Reject;
        }
    };
    let hash = block.block_hash();
    let outcome = chain.accept_block(block, BlockSource::Gossip).await.map(|accepted| {
        if let Some(height) = accepted.height {
            // The sender has this block: it is at least this high (Core learns heights from
            // announcements the same way).
            net.note_chain(source, height, None);
        }
        accepted.result
    });
    let Ok(outcome) = outcome else { return Verdict::Ignore };
    match policy::judge_block(hash, &outcome) {
        BlockJudgement::Taken => Verdict::Accept,
        BlockJudgement::Known => Verdict::Ignore,
        BlockJudgement::Orphan => {
            debug!(%hash, peer = %source, "gossiped block has an unknown parent: syncing headers");
            let _ = sync.try_send(SyncInput::Orphan(source));
            Verdict::Ignore
        }
        BlockJudgement::Left { why, sync_headers } => {
            debug!(%hash, peer = %source, why, "gossiped block not taken");
            if sync_headers {
                let _ = sync.try_send(SyncInput::Orphan(source));
            }
            Verdict::Ignore
        }
        BlockJudgement::Misbehaved(why) => {
            net.ban(source, DEFAULT_BAN, format!("gossiped a block and {why}")).await;
            Verdict::Reject
        }
        BlockJudgement::Failed(why) => {
            debug!(%hash, why, "gossiped block not processed");
            Verdict::Ignore
        }
    }
}

async fn gossip_tx(data: &[u8], source: PeerId, chain: &ChainHandle, net: &NetworkHandle) -> Verdict {
    let tx = match Transaction::decode(data) {
        Ok(t) => t,
        Err(e) => {
            net.ban(source, DEFAULT_BAN, format!("gossiped an undecodable transaction: {e}"))
                .await;
            return Verdict::Reject;
        }
    };
    let Ok(outcome) = chain.accept_tx(tx).await else {
        return Verdict::Ignore;
    };
    match policy::judge_tx(&outcome) {
        TxJudgement::Taken => Verdict::Accept,
        TxJudgement::Left(why) => {
            debug!(why, "gossiped transaction not accepted");
            Verdict::Ignore
        }
        TxJudgement::Misbehaved(why) => {
            net.ban(source, DEFAULT_BAN, format!("gossiped a transaction and {why}")).await;
            Verdict::Reject
        }
    }
}

async fn answer(
    peer: PeerId,
    request: SyncRequest,
    responder: Responder,
    chain: &ChainHandle,
    net: &NetworkHandle,
    sync: &mpsc::Sender<SyncInput>,
) {
    let response = match request {
        SyncRequest::Status(theirs) => {
            let _ = sync.try_send(SyncInput::Status(peer, theirs));
            Some(SyncResponse::Status(our_status(chain)))
        }
        SyncRequest::GetHeaders { locator, stop } => {
            let stop = (stop != cairn_chain::BlockHash::ZERO).then_some(stop);
            chain
                .read(move |s| SyncResponse::Headers(s.chain.headers_after(&locator, stop, MAX_HEADERS)))
                .await
                .ok()
        }
        SyncRequest::GetBlock(hash) => chain
            .read(move |s| SyncResponse::Block(s.chain.get_block(&hash).ok().flatten()))
            .await
            .ok(),
        SyncRequest::GetMempool => chain
            .read(|s| SyncResponse::Mempool(s.mempool.entries().take(MAX_MEMPOOL_INV).map(|e| e.txid).collect()))
            .await
            .ok(),
        SyncRequest::GetTxs(txids) => chain
            .read(move |s| {
                // Stop before the reply outgrows a frame; the asker fetches the rest later.
                let mut bytes = 0usize;
                let txs = txids
                    .iter()
                    .filter_map(|t| s.mempool.get(t))
                    .take_while(|e| {
                        bytes += e.size;
                        bytes <= TXS_REPLY_BUDGET
                    })
                    .map(|e| e.tx.clone())
                    .collect();
                SyncResponse::Txs(txs)
            })
            .await
            .ok(),
    };
    if let Some(response) = response {
        net.respond(responder, response);
    }
}
