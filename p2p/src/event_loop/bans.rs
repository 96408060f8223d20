//! The event loop's bans: peer ids (misbehaviour, `setban <peer id>`), through libp2p's block
//! list, and IP subnets (`setban 192.0.2.0/24`), through [`crate::subnet::Behaviour`]; both
//! expire on the tick.

use std::time::{Duration, Instant};

use libp2p::PeerId;
use tracing::{info, warn};

use super::{EventLoop, unix_now};
use crate::subnet::{Subnet, ip_of};

impl EventLoop {
    /// Bans `peer` for `duration`: blocked, dropped from Kademlia, disconnected.
    pub(super) fn ban(&mut self, peer: PeerId, duration: Duration, reason: &str) {
        if peer == *self.swarm.local_peer_id() {
            return;
        }
        warn!(%peer, reason, secs = duration.as_secs(), "banning peer");
        if let Some(evicted) = self.bans.ban(peer, Instant::now(), unix_now(), duration) {
            self.swarm.behaviour_mut().blocked.unblock_peer(evicted);
        }
        let behaviour = self.swarm.behaviour_mut();
        behaviour.blocked.block_peer(peer);
        behaviour.kad.remove_peer(&peer);
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    /// Lifts the ban of `peer`, or (`None`) every ban, subnets included; whether one was lifted.
    pub(super) fn unban(&mut self, peer: Option<PeerId>) -> bool {
        match peer {
            Some(p) => {
                let was = self.bans.unban(&p);
                self.swarm.behaviour_mut().blocked.unblock_peer(p);
                was
            }
            None => {
                let all = self.bans.clear();
                for p in &all {
                    self.swarm.behaviour_mut().blocked.unblock_peer(*p);
                }
                let subnets = self.swarm.behaviour_mut().subnets.clear();
                !all.is_empty() || subnets
            }
        }
    }

    /// Bans `subnet` for `duration` and closes the connections of the peers connected from it.
    pub(super) fn ban_subnet(&mut self, subnet: Subnet, duration: Duration) {
        warn!(%subnet, secs = duration.as_secs(), "banning subnet");
        self.swarm.behaviour_mut().subnets.ban(subnet, Instant::now(), unix_now(), duration);
        let inside: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|p| ip_of(&p.address).is_some_and(|ip| subnet.contains(ip)))
            .map(|p| p.peer)
            .collect();
        for peer in inside {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    /// Lifts the bans that have run out.
    pub(super) fn expire_bans(&mut self, now: Instant) {
        for peer in self.bans.expire(now) {
            info!(%peer, "ban expired");
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
        }
        for subnet in self.swarm.behaviour_mut().subnets.expire(now) {
            info!(%subnet, "ban expired");
        }
    }
}
