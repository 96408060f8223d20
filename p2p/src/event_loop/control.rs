//! The event loop's say over whom it connects to: added peers (`addnode`) and the switch for all
//! network activity (Core's `setnetworkactive`).

use std::time::Instant;

use libp2p::Multiaddr;
use tracing::{debug, info};

use super::EventLoop;
use crate::error::NetworkError;
use crate::handle::AddNode;

impl EventLoop {
    /// Turns network activity off (every peer disconnected, nothing dialed, connections closed
    /// as they open) or back on (added peers dialed at once, discovery resumes).
    pub(super) fn set_active(&mut self, active: bool) {
        if self.active == active {
            return;
        }
        self.active = active;
        info!(active, "network activity switched");
        if active {
            let now = Instant::now();
            let added: Vec<_> = self.added.addresses().cloned().collect();
            for addr in added {
                if let Err(e) = self.dial(addr.clone()) {
                    self.added.on_dial_failed(&addr, now);
                    debug!(%addr, error = %e, "dial of added node failed");
                }
            }
            self.bootstrapped = false;
            self.last_discovery = None;
        } else {
            let peers: Vec<_> = self.swarm.connected_peers().copied().collect();
            for peer in peers {
                let _ = self.swarm.disconnect_peer_id(peer);
            }
        }
    }

    pub(super) fn add_node(&mut self, addr: Multiaddr, how: AddNode) -> Result<(), NetworkError> {
        let dial_error = |addr: &Multiaddr, e: libp2p::swarm::DialError| NetworkError::Dial {
            addr: addr.to_string(),
            reason: e.to_string(),
        };
        match how {
            AddNode::Add if !self.active => {
                // Remembered; dialed once activity is back on (Core's added nodes wait too).
                if self.added.add(addr) {
                    Ok(())
                } else {
                    Err(NetworkError::AlreadyAdded)
                }
            }
            // Core's `onetry` does nothing while network activity is off.
            AddNode::OneTry if !self.active => Ok(()),
            AddNode::Add => {
                if !self.added.add(addr.clone()) {
                    return Err(NetworkError::AlreadyAdded);
                }
                if let Err(e) = self.dial(addr.clone()) {
                    // Kept: it is redialed with backoff, as Core keeps retrying added nodes.
                    self.added.on_dial_failed(&addr, Instant::now());
                    debug!(%addr, error = %e, "first dial of added node failed");
                }
                Ok(())
            }
            AddNode::Remove => self.added.remove(&addr).map(|_| ()).ok_or(NetworkError::NotAdded),
            AddNode::OneTry => match self.dial(addr.clone()) {
                // Already connected, or a dial is under way: nothing more to try.
                Ok(()) | Err(libp2p::swarm::DialError::DialPeerConditionFalse(_)) => Ok(()),
                Err(e) => Err(dial_error(&addr, e)),
            },
        }
    }
}
