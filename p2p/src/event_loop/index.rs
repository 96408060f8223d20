//! The event loop's content-index part: Chord and flooded-search requests in and out, and the
//! peer arrivals and departures the index service needs.

use std::time::Instant;

use libp2p::request_response;
use tracing::debug;

use super::{EventLoop, undecodable_request, undecodable_response};
use crate::chord::message::{IndexRequest, IndexResponse};
use crate::error::RequestError;
use crate::handle::{IndexEvent, IndexResponder};
use crate::peer::DEFAULT_BAN;

impl EventLoop {
    /// Queues an event for the index service, if there is one; a full queue drops it (the
    /// service also learns of departures from failing requests).
    pub(super) fn tell_index(&mut self, event: IndexEvent) {
        if let Some(tx) = &self.index_events
            && tx.try_send(event).is_err()
        {
            debug!("index service is behind: event dropped");
        }
    }

    pub(super) fn on_index_event(&mut self, event: request_response::Event<IndexRequest, IndexResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request { request, channel, .. } => {
                    if self.bans.is_banned(&peer, Instant::now()) {
                        return;
                    }
                    let Some(tx) = &self.index_events else {
                        let _ = self.swarm.behaviour_mut().index.send_response(channel, IndexResponse::NotHere);
                        return;
                    };
                    let event = IndexEvent::Request {
                        peer,
                        request,
                        responder: IndexResponder(channel),
                    };
                    if tx.try_send(event).is_err() {
                        debug!(%peer, "index service is behind: request dropped");
                    }
                }
                request_response::Message::Response { request_id, response } => {
                    if let Some(reply) = self.pending_index.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer, request_id, error, ..
            } => {
                if let Some(reply) = self.pending_index.remove(&request_id) {
                    let _ = reply.send(Err(RequestError::Failed(error.to_string())));
                }
                if undecodable_response(&error) {
                    self.ban(peer, DEFAULT_BAN, "sent an undecodable index response");
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                if undecodable_request(&error) {
                    self.ban(peer, DEFAULT_BAN, "sent an undecodable index request");
                }
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }
}
