//! The rate-limited pumps: uploads served round-robin over files and peers under the upload
//! limit (their blocks read in batches on the blocking pool), and block requests sent under the
//! download limit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_p2p::PeerId;
use cairn_p2p::content::{BlockRequest, ContentId, PeerMessage, PieceStore};
use tracing::warn;

use super::{Done, MAX_PENDING, MAX_READS, READ_BATCH, Service, blocking, lock};

/// A block to read for an upload: where from, for whom, and the stream's queued-bytes counter
/// its bytes were reserved on.
pub(super) struct BlockRead {
    pub(super) cid: ContentId,
    pub(super) peer: PeerId,
    pub(super) block: BlockRequest,
    pub(super) store: Arc<Mutex<PieceStore>>,
    pub(super) queued: Arc<AtomicUsize>,
}

impl Service {
    /// Serves waiting uploads under the upload limit (round-robin over files, each session
    /// round-robin over its peers), and sends block requests under the download limit; sets the
    /// wake-up for when the limits allow more.
    pub(super) fn pump(&mut self) {
        let now = Instant::now();
        // Manifests first: one answer unblocks a whole fetch.
        self.answer_manifests(now);
        if self.upload_turn.len() != self.entries.len() {
            self.upload_turn = self.entries.keys().copied().collect();
        }
        let mut idle = 0;
        let mut batch: Vec<BlockRead> = Vec::new();
        while self.reads + batch.len() < MAX_READS && self.pending.len() < MAX_PENDING && idle < self.upload_turn.len() {
            let Some(cid) = self.upload_turn.front().copied() else { break };
            self.upload_turn.rotate_left(1);
            let Some(entry) = self.entries.get_mut(&cid) else {
                idle += 1;
                continue;
            };
            let links = &self.links;
            match entry.session.next_upload(&mut self.up_bucket, now, |p| links.has_room(cid, p)) {
                Ok((peer, block)) => {
                    idle = 0;
                    let Some(store) = entry.store.clone() else { continue };
                    let Some(queued) = self.links.reserve(cid, peer, block.len as usize) else {
                        continue;
                    };
                    batch.push(BlockRead {
                        cid,
                        peer,
                        block,
                        store,
                        queued,
                    });
                    if batch.len() >= READ_BATCH {
                        self.read_blocks(std::mem::take(&mut batch));
                    }
                }
                Err(Some(wait)) => {
                    self.wake_in(wait);
                    break;
                }
                Err(None) => idle += 1,
            }
        }
        if !batch.is_empty() {
            self.read_blocks(batch);
        }
        while let Some(&(cid, peer, block)) = self.to_send.front() {
            let live = self.entries.get(&cid).is_some_and(|e| e.session.is_requested(&peer, &block));
            if !live {
                self.to_send.pop_front();
                continue;
            }
            match self.down_bucket.take(u64::from(block.len), now) {
                Ok(()) => {
                    self.to_send.pop_front();
                    self.send_now(cid, peer, &PeerMessage::Request(block));
                }
                Err(wait) => {
                    self.wake_in(wait);
                    break;
                }
            }
        }
    }

    /// Reads `batch` on one blocking thread (one thread hop per batch, not per 16 KiB block).
    fn read_blocks(&mut self, batch: Vec<BlockRead>) {
        self.reads += batch.len();
        let reserved: Vec<(Arc<AtomicUsize>, usize)> = batch.iter().map(|r| (r.queued.clone(), r.block.len as usize)).collect();
        self.spawn(async move {
            let n = batch.len();
            let done = blocking(move || {
                batch
                    .into_iter()
                    .map(|r| {
                        let b = r.block;
                        let store = lock(&r.store);
                        let frame = PeerMessage::piece_frame(b.piece, b.offset, b.len, |out| store.read_block_into(b.piece, b.offset, out))
                            .map_err(|e| e.to_string());
                        drop(store);
                        (r, frame)
                    })
                    .collect::<Vec<_>>()
            })
            .await;
            match done {
                Ok(reads) => Done::Reads(reads),
                // The blocking task panicked: the reads are lost with it (the peers' requests
                // time out and are asked again); release what they held.
                Err(e) => {
                    warn!(error = %e, reads = n, "block reads failed");
                    for (queued, len) in reserved {
                        queued.fetch_sub(len, Ordering::Relaxed);
                    }
                    Done::ReadsLost(n)
                }
            }
        });
    }

    pub(super) fn wake_in(&mut self, wait: Duration) {
        let at = tokio::time::Instant::now() + wait.max(Duration::from_millis(1));
        self.wake = Some(self.wake.map_or(at, |w| w.min(at)));
    }
}
