//! The event loop's switch for all network activity (Core's `setnetworkactive`).

use tracing::info;

use super::EventLoop;

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
            let now = std::time::Instant::now();
            let added: Vec<_> = self.added.addresses().cloned().collect();
            for addr in added {
                if let Err(e) = self.dial(addr.clone()) {
                    self.added.on_dial_failed(&addr, now);
                    tracing::debug!(%addr, error = %e, "dial of added node failed");
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
}
