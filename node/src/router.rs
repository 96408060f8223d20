//! The router: network events in, chain decisions and answers out.
//!
//! Gossip is decoded, handed to the chain service, and only then given its verdict — Accept
//! (gossipsub forwards it), Ignore (a duplicate, an orphan, a transaction that does not fit our
//! mempool) or Reject (invalid: the sender is penalized by gossipsub and banned by us). Sync
//! requests are answered from the chain service. Peer arrivals and departures go to the sync
//! driver in order; everything else runs as tasks, at most [`MAX_CONCURRENT`] at once, so a
//! flood of gossip waits in the network's bounded queue instead of growing memory here.

use std::sync::Arc;

use cairn_chain::encode::Decodable;
use cairn_chain::mempool::MempoolError;
use cairn_chain::{Block, BlockError, BlockStatus, ChainError, Transaction, TxError};
use cairn_p2p::sync_protocol::{MAX_HEADERS, MAX_MEMPOOL_INV};
use cairn_p2p::{DEFAULT_BAN, NetworkEvent, NetworkHandle, PeerId, Responder, SyncRequest, SyncResponse, Topic, Verdict};
use tokio::sync::{Semaphore, mpsc};
use tracing::debug;

use crate::service::ChainHandle;
use crate::shutdown::Shutdown;
use crate::sync::{SyncInput, our_status};

/// Most transaction bytes in one `Txs` reply (under the protocol's 4 MiB frame).
const TXS_REPLY_BUDGET: usize = 3 * 1024 * 1024;

/// Most network events handled at once.
pub const MAX_CONCURRENT: usize = 64;

/// Whether a block failing with `e` proves its sender misbehaved. A block too far in the future
/// may be our clock's fault, as Core also judges; an orphan easier than our floor may be the tip
/// of an honest branch mined apart at a lower difficulty (it is synced by headers instead).
pub fn block_error_is_punishable(e: &BlockError) -> bool {
    !matches!(e, BlockError::TimeTooNew { .. } | BlockError::OrphanTooEasy { .. })
}

/// Whether a transaction failing with `e` proves its sender misbehaved: consensus failures do;
/// a missing or spent input, a conflict, a low fee or a full pool are normal in a network where
/// blocks and transactions race.
pub fn tx_error_is_punishable(e: &TxError) -> bool {
    !matches!(
        e,
        TxError::MissingOrSpent(_)
            | TxError::ImmatureCoinbase { .. }
            | TxError::NonFinal
            | TxError::AlreadyKnown
            | TxError::Conflict { .. }
            | TxError::MempoolFull { .. }
            | TxError::TooLongMempoolChain(_)
            | TxError::FeeTooLow { .. }
    )
}

/// Routes network events until the network stops or the node shuts down.
pub async fn run(
    mut events: mpsc::Receiver<NetworkEvent>,
    chain: ChainHandle,
    net: NetworkHandle,
    sync: mpsc::Sender<SyncInput>,
    shutdown: Shutdown,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONCURRENT));
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
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break;
                };
                let (chain, net, sync) = (chain.clone(), net.clone(), sync.clone());
                tokio::spawn(async move {
                    handle(other, &chain, &net, &sync).await;
                    drop(permit);
                });
            }
        }
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
            net.report(id, source, verdict).await;
        }
        NetworkEvent::Gossip {
            topic: Topic::Transactions,
            id,
            source,
            data,
        } => {
            let verdict = gossip_tx(&data, source, chain, net).await;
            net.report(id, source, verdict).await;
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
    let outcome = chain
        .run(move |s| {
            let processed = s.accept_remote_block(block);
            let height = s.chain.index_record(&hash).map(|r| r.height);
            // Stored on a branch already known to be invalid: not worth forwarding.
            let processed = match processed {
                Ok(p) if p.status == BlockStatus::Accepted && s.chain.is_known_invalid(&hash) => {
                    Err(ChainError::Block(BlockError::KnownInvalid(hash)))
                }
                other => other,
            };
            (processed, height)
        })
        .await;
    let outcome = outcome.map(|(processed, height)| {
        if let Some(height) = height {
            // The sender has this block: it is at least this high (Core learns heights from
            // announcements the same way).
            net.note_chain(source, height, None);
        }
        processed
    });
    match outcome {
        Ok(Ok(processed)) => {
            if let Some((_, e)) = processed.update.invalid.iter().find(|(h, _)| *h == hash) {
                net.ban(source, DEFAULT_BAN, format!("gossiped invalid block {hash}: {e}")).await;
                return Verdict::Reject;
            }
            match processed.status {
                BlockStatus::Accepted => Verdict::Accept,
                BlockStatus::Duplicate => Verdict::Ignore,
                // Not stored and not forwarded: a branch with less work than ours is not worth
                // anyone's disk. Not punished either: an honest peer may be on such a branch.
                BlockStatus::LowWork => Verdict::Ignore,
                BlockStatus::Orphan => {
                    debug!(%hash, peer = %source, "gossiped block has an unknown parent: syncing headers");
                    let _ = sync.try_send(SyncInput::Orphan(source));
                    Verdict::Ignore
                }
            }
        }
        Ok(Err(ChainError::Block(e @ BlockError::OrphanTooEasy { .. }))) => {
            // Not held and not forwarded; if it extends a real branch, headers-first sync (which
            // checks every header's bits against its parent) fetches it with its ancestors.
            debug!(%hash, peer = %source, error = %e, "gossiped orphan too easy to hold: syncing headers");
            let _ = sync.try_send(SyncInput::Orphan(source));
            Verdict::Ignore
        }
        Ok(Err(ChainError::Block(e))) if block_error_is_punishable(&e) => {
            net.ban(source, DEFAULT_BAN, format!("gossiped invalid block {hash}: {e}")).await;
            Verdict::Reject
        }
        Ok(Err(e)) => {
            debug!(%hash, error = %e, "gossiped block not accepted");
            Verdict::Ignore
        }
        Err(_) => Verdict::Ignore,
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
    match chain.run(move |s| s.accept_remote_tx(tx)).await {
        Ok(Ok(_)) => Verdict::Accept,
        Ok(Err(MempoolError::Rejected(e))) if tx_error_is_punishable(&e) => {
            net.ban(source, DEFAULT_BAN, format!("gossiped an invalid transaction: {e}")).await;
            Verdict::Reject
        }
        Ok(Err(e)) => {
            debug!(error = %e, "gossiped transaction not accepted");
            Verdict::Ignore
        }
        Err(_) => Verdict::Ignore,
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
                .run(move |s| SyncResponse::Headers(s.chain.headers_after(&locator, stop, MAX_HEADERS)))
                .await
                .ok()
        }
        SyncRequest::GetBlock(hash) => chain
            .run(move |s| SyncResponse::Block(s.chain.get_block(&hash).ok().flatten()))
            .await
            .ok(),
        SyncRequest::GetMempool => chain
            .run(|s| SyncResponse::Mempool(s.mempool.entries().take(MAX_MEMPOOL_INV).map(|e| e.txid).collect()))
            .await
            .ok(),
        SyncRequest::GetTxs(txids) => chain
            .run(move |s| {
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
