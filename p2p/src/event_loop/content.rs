//! The event loop's file-sharing part: content requests in and out.

use std::time::Instant;

use libp2p::request_response;
use tracing::debug;

use super::{EventLoop, undecodable_request, undecodable_response};
use crate::content::{ContentRequest, ContentResponse};
use crate::error::RequestError;
use crate::handle::{ContentEvent, ContentResponder};
use crate::peer::DEFAULT_BAN;

impl EventLoop {
    pub(super) fn on_content_event(&mut self, event: request_response::Event<ContentRequest, ContentResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request { request, channel, .. } => {
                    if self.bans.is_banned(&peer, Instant::now()) {
                        return;
                    }
                    let Some(tx) = &self.content_events else {
                        let _ = self.swarm.behaviour_mut().content.send_response(channel, ContentResponse::NotFound);
                        return;
                    };
                    let event = ContentEvent::Request {
                        peer,
                        request,
                        responder: ContentResponder(channel),
                    };
                    if tx.try_send(event).is_err() {
                        // Dropping the channel fails the request on the asking side, which asks
                        // again or elsewhere.
                        debug!(%peer, "content service is behind: request dropped");
                    }
                }
                request_response::Message::Response { request_id, response } => {
                    if let Some(reply) = self.pending_content.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer, request_id, error, ..
            } => {
                if let Some(reply) = self.pending_content.remove(&request_id) {
                    let _ = reply.send(Err(RequestError::Failed(error.to_string())));
                }
                if undecodable_response(&error) {
                    self.ban(peer, DEFAULT_BAN, "sent an undecodable content response");
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                if undecodable_request(&error) {
                    self.ban(peer, DEFAULT_BAN, "sent an undecodable content request");
                }
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }
}
