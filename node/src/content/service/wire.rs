//! The peer-facing half of the service: requests from peers (serving pieces, joining swarms),
//! answers to our requests (blocks, manifests, bitfields), choking decisions, and the pumps that
//! send blocks and requests as the rate limits allow.

use std::time::{Duration, Instant};

use cairn_p2p::content::{Bitfield, ContentId, ContentRequest, ContentResponse, Manifest, PeerView};
use cairn_p2p::{ContentResponder, PeerId, RequestError};
use tracing::{debug, info};

use super::{Done, MAX_NOT_AVAILABLE, MAX_READS, RECHOKE_SOON, Sent, Service, blocking, lock};
use cairn_p2p::content::choker::RECHOKE_INTERVAL;

impl Service {
    pub(super) fn on_request(&mut self, peer: PeerId, request: ContentRequest, responder: ContentResponder) {
        let now = Instant::now();
        let cid = request.cid();
        let Some(share) = self.shares.get_mut(&cid) else {
            self.net.respond_content(responder, ContentResponse::NotFound);
            return;
        };
        if let ContentRequest::GetManifest { .. } = request {
            let response = match (&share.manifest, share.serving()) {
                (Some(m), true) => ContentResponse::Manifest(m.encode()),
                _ => ContentResponse::NotFound,
            };
            self.net.respond_content(responder, response);
            return;
        }
        if !share.serving() {
            self.net.respond_content(responder, ContentResponse::NotFound);
            return;
        }
        let pieces = share.have.len();
        match request {
            ContentRequest::GetManifest { .. } => {}
            ContentRequest::Hello { bitfield, .. } => {
                if Bitfield::from_bytes(&bitfield, pieces).is_err() {
                    self.ban(peer, "sent a bitfield that does not fit the file");
                    return;
                }
                let ours = share.have.as_bytes().to_vec();
                if self.join(cid, peer, &bitfield, now) {
                    self.net.respond_content(responder, ContentResponse::Hello { bitfield: ours });
                } else {
                    self.net.respond_content(responder, ContentResponse::NotFound);
                }
            }
            ContentRequest::Have { piece, .. } => {
                if piece.0 >= pieces {
                    self.ban(peer, "announced a piece the file does not have");
                    return;
                }
                self.net.respond_content(responder, ContentResponse::Ack);
                if let Some(d) = share.download.as_mut() {
                    let actions = d.peer_have(peer, piece, now, &mut self.rng);
                    self.apply(cid, actions);
                }
            }
            ContentRequest::Interested { yes, .. } => {
                self.net.respond_content(responder, ContentResponse::Ack);
                if let Some(p) = share.peers.get_mut(&peer) {
                    p.interested = yes;
                    if yes && share.choker.unchoke_if_free(peer, share.download.is_none()) {
                        self.send(peer, ContentRequest::Choke { cid, choked: false }, Sent::Other);
                    } else {
                        share.rechoke_soon = true;
                    }
                }
            }
            ContentRequest::Choke { choked, .. } => {
                self.net.respond_content(responder, ContentResponse::Ack);
                if let Some(d) = share.download.as_mut() {
                    let actions = d.peer_choke(peer, choked, now, &mut self.rng);
                    self.apply(cid, actions);
                }
            }
            ContentRequest::Request { block, .. } => {
                if !share.peers.contains_key(&peer) || !share.choker.is_unchoked(&peer) {
                    self.net.respond_content(responder, ContentResponse::Choked);
                } else if !share.have.get(block.piece) {
                    self.net.respond_content(responder, ContentResponse::NotAvailable);
                } else if let Err(responder) = self.upload.push((peer, cid), block, responder) {
                    self.net.respond_content(responder, ContentResponse::NotAvailable);
                }
            }
            ContentRequest::Cancel { block, .. } => {
                if let Some(r) = self.upload.cancel((peer, cid), block) {
                    self.net.respond_content(r, ContentResponse::NotAvailable);
                }
                self.net.respond_content(responder, ContentResponse::Ack);
            }
            ContentRequest::Peers { peers, .. } => {
                // Taken: Ack; not a member, or too soon: NotAvailable (the sender tries again).
                let taken = self.heard_peers(cid, peer, peers, now);
                let answer = if taken {
                    ContentResponse::Ack
                } else {
                    ContentResponse::NotAvailable
                };
                self.net.respond_content(responder, answer);
            }
        }
    }

    pub(super) fn on_response(
        &mut self,
        cid: ContentId,
        peer: PeerId,
        sent: Sent,
        result: Result<ContentResponse, RequestError>,
        now: Instant,
    ) {
        let Some(share) = self.shares.get_mut(&cid) else { return };
        match (sent, result) {
            (Sent::Manifest, Ok(ContentResponse::Manifest(bytes))) => {
                share.manifest_pending = false;
                match Manifest::decode(&bytes) {
                    Ok(m) if m.content_id() == cid => {
                        if share.manifest.is_none() {
                            info!(%cid, name = m.name(), size = m.size(), %peer, "manifest found");
                            share.manifest = Some(m);
                            self.resume(cid, now);
                        }
                    }
                    _ => {
                        self.ban(peer, "sent a manifest that is not the file's");
                        self.ask_manifest(cid);
                    }
                }
            }
            (Sent::Manifest, _) => {
                share.manifest_pending = false;
                self.ask_manifest(cid);
            }
            (Sent::Hello, Ok(ContentResponse::Hello { bitfield })) => {
                if Bitfield::from_bytes(&bitfield, share.have.len()).is_err() {
                    self.ban(peer, "sent a bitfield that does not fit the file");
                } else if share.serving() {
                    self.join(cid, peer, &bitfield, now);
                }
            }
            (Sent::Hello, _) => {}
            (Sent::Block(block), Ok(ContentResponse::Block(data))) => {
                let len = data.len() as u64;
                let Some(d) = share.download.as_mut() else { return };
                if !d.is_requested(&peer, &block) {
                    return;
                }
                share.down.add(len);
                share.note(peer, len, 0);
                let d = share.download.as_mut().expect("checked");
                let actions = d.block_arrived(peer, block, data, now, &mut self.rng);
                self.apply(cid, actions);
            }
            (Sent::Block(block), Ok(ContentResponse::Choked)) => {
                if let Some(d) = share.download.as_mut()
                    && d.is_requested(&peer, &block)
                {
                    let actions = d.peer_choke(peer, true, now, &mut self.rng);
                    self.apply(cid, actions);
                }
            }
            (Sent::Block(block), Ok(ContentResponse::NotAvailable)) => {
                let Some(d) = share.download.as_mut() else { return };
                if !d.is_requested(&peer, &block) {
                    return;
                }
                let actions = d.request_failed(peer, block, now, &mut self.rng);
                let strikes = share.peers.get_mut(&peer).map_or(0, |p| {
                    p.not_available += 1;
                    p.not_available
                });
                self.apply(cid, actions);
                if strikes > MAX_NOT_AVAILABLE {
                    self.peer_gone(cid, peer);
                }
            }
            (Sent::Block(_), Ok(ContentResponse::NotFound)) => self.peer_gone(cid, peer),
            (Sent::Block(_), Ok(_)) => self.ban(peer, "answered a block request with the wrong kind of response"),
            (Sent::Block(block), Err(e)) => {
                if share.download.as_ref().is_some_and(|d| d.is_requested(&peer, &block)) {
                    debug!(%cid, %peer, error = %e, "block request failed: peer leaves the swarm");
                    self.peer_gone(cid, peer);
                }
            }
            (Sent::Peers(peers), Ok(ContentResponse::Ack)) => self.peers_told(cid, peer, peers),
            (Sent::Peers(_), Ok(ContentResponse::NotFound)) => self.peer_gone(cid, peer),
            (Sent::Peers(_), _) => {}
            (Sent::Other, Ok(ContentResponse::NotFound)) => self.peer_gone(cid, peer),
            (Sent::Other, _) => {}
        }
    }

    pub(super) fn maybe_rechoke(&mut self, cid: ContentId, now: Instant) {
        let Some(share) = self.shares.get_mut(&cid) else { return };
        let since = now.duration_since(share.last_rechoke);
        let regular = since >= RECHOKE_INTERVAL;
        if !share.serving() || !(regular || (share.rechoke_soon && since >= RECHOKE_SOON)) {
            return;
        }
        share.last_rechoke = now;
        share.rechoke_soon = false;
        let seeding = share.download.is_none();
        let mut views = Vec::with_capacity(share.peers.len());
        for (peer, p) in &mut share.peers {
            let (download_rate, last_block) = share.download.as_mut().and_then(|d| d.peer_rate(peer, now)).unwrap_or((0.0, None));
            views.push((
                *peer,
                PeerView {
                    interested: p.interested,
                    download_rate,
                    upload_rate: p.up.rate(now),
                    connected_at: p.connected_at,
                    last_block,
                },
            ));
        }
        let decision = share.choker.rechoke(&views, seeding, now, &mut self.rng);
        // Unchokes are repeated every round: messages on separate streams may arrive out of
        // order, and a peer that wrongly thinks itself choked would otherwise wait forever.
        let refresh: Vec<PeerId> = if regular {
            share
                .peers
                .keys()
                .filter(|p| share.choker.is_unchoked(p) && !decision.unchoke.contains(p))
                .copied()
                .collect()
        } else {
            Vec::new()
        };
        for peer in decision.unchoke.into_iter().chain(refresh) {
            self.send(peer, ContentRequest::Choke { cid, choked: false }, Sent::Other);
        }
        for peer in decision.choke {
            self.send(peer, ContentRequest::Choke { cid, choked: true }, Sent::Other);
            for (_, responder) in self.upload.drain_peer((peer, cid)) {
                self.respond(responder, ContentResponse::Choked);
            }
        }
    }

    /// Serves queued block requests under the upload limit, and sends block requests under the
    /// download limit; sets the wake-up for when the limits allow more.
    pub(super) fn pump(&mut self) {
        let now = Instant::now();
        while self.reads < MAX_READS {
            match self.upload.next(&mut self.up_bucket, now) {
                Ok(((peer, cid), block, responder)) => {
                    let Some(share) = self.shares.get_mut(&cid) else {
                        self.respond(responder, ContentResponse::NotFound);
                        continue;
                    };
                    let Some(store) = share.store.clone() else {
                        self.respond(responder, ContentResponse::NotFound);
                        continue;
                    };
                    let len = u64::from(block.len);
                    share.up.add(len);
                    share.note(peer, 0, len);
                    if let Some(p) = share.peers.get_mut(&peer) {
                        p.up.add(len);
                    }
                    self.reads += 1;
                    self.spawn(async move {
                        let result = blocking(move || {
                            lock(&store)
                                .read_block(block.piece, block.offset, block.len)
                                .map_err(|e| e.to_string())
                        })
                        .await
                        .and_then(|r| r);
                        Done::Read { responder, result }
                    });
                }
                Err(Some(wait)) => {
                    self.wake_in(wait);
                    break;
                }
                Err(None) => break,
            }
        }
        while let Some(&(cid, peer, block)) = self.to_send.front() {
            let live = self
                .shares
                .get(&cid)
                .and_then(|s| s.download.as_ref())
                .is_some_and(|d| d.is_requested(&peer, &block));
            if !live {
                self.to_send.pop_front();
                continue;
            }
            match self.down_bucket.take(u64::from(block.len), now) {
                Ok(()) => {
                    self.to_send.pop_front();
                    self.send(peer, ContentRequest::Request { cid, block }, Sent::Block(block));
                }
                Err(wait) => {
                    self.wake_in(wait);
                    break;
                }
            }
        }
    }

    pub(super) fn wake_in(&mut self, wait: Duration) {
        let at = tokio::time::Instant::now() + wait.max(Duration::from_millis(1));
        self.wake = Some(self.wake.map_or(at, |w| w.min(at)));
    }
}
