//! Bans by IP address or subnet (Core's `setban 192.0.2.0/24 add`), beside the bans by peer id.
//!
//! A [`Subnet`] is written as Core writes it: an address, `address/prefix` or
//! `address/netmask`, normalized to `network/prefix` (`192.0.2.7` is `192.0.2.7/32`). The
//! [`Behaviour`] refuses inbound connections from a banned address before their handshake
//! (cheap for us, whatever the other side spends) and outbound ones to it; the event loop closes
//! the connections that were open when a ban began.

use std::convert::Infallible;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use libp2p::PeerId;
use libp2p::core::transport::PortUse;
use libp2p::core::{Endpoint, Multiaddr};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm, dummy,
};

use crate::peer::{BanEntry, BanList};

/// An IP network: the address with every bit past `prefix` cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subnet {
    network: IpAddr,
    prefix: u8,
}

/// Why a text is not a subnet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubnetError {
    #[error("not an IP address")]
    Address,
    #[error("invalid prefix length or netmask")]
    Mask,
}

fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

fn mask(prefix: u8, width: u8) -> u128 {
    let all = if width == 32 { u128::from(u32::MAX) } else { u128::MAX };
    if prefix == 0 { 0 } else { all & (all << (width - prefix)) }
}

impl Subnet {
    /// Parses `address`, `address/prefix` or `address/netmask` (a netmask must be contiguous).
    ///
    /// # Errors
    /// [`SubnetError`] for anything else.
    pub fn parse(text: &str) -> Result<Subnet, SubnetError> {
        let (address, suffix) = match text.split_once('/') {
            Some((a, s)) => (a, Some(s)),
            None => (text, None),
        };
        let ip: IpAddr = address.trim().parse().map_err(|_| SubnetError::Address)?;
        let (value, width) = bits(ip);
        let prefix = match suffix {
            None => width,
            Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse::<u8>().ok().filter(|p| *p <= width).ok_or(SubnetError::Mask)?
            }
            Some(s) => {
                let netmask: IpAddr = s.parse().map_err(|_| SubnetError::Mask)?;
                let (m, w) = bits(netmask);
                if w != width {
                    return Err(SubnetError::Mask);
                }
                let ones = m.count_ones() as u8;
                if mask(ones, width) != m {
                    return Err(SubnetError::Mask);
                }
                ones
            }
        };
        let network = value & mask(prefix, width);
        let network = match ip {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(network as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(network)),
        };
        // An IPv4-mapped IPv6 subnet (`::ffff:192.0.2.0/120`) is the IPv4 subnet it names, as
        // addresses are compared ([`Subnet::contains`]).
        if let IpAddr::V6(v6) = network
            && prefix >= 96
            && let Some(v4) = v6.to_ipv4_mapped()
        {
            return Ok(Subnet {
                network: IpAddr::V4(v4),
                prefix: prefix - 96,
            });
        }
        Ok(Subnet { network, prefix })
    }

    /// Whether `ip` is in this subnet (an IPv4 address inside IPv6, `::ffff:a.b.c.d`, is
    /// compared as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let (value, width) = bits(ip);
        let (network, own_width) = bits(self.network);
        width == own_width && value & mask(self.prefix, width) == network
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The IP address of a multiaddr, if it has one.
pub fn ip_of(address: &Multiaddr) -> Option<IpAddr> {
    address.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    })
}

/// The connection was refused: its address is in a banned subnet.
#[derive(Debug, thiserror::Error)]
#[error("address {0} is banned")]
pub struct Banned(IpAddr);

/// Refuses connections from and to banned subnets.
#[derive(Default)]
pub struct Behaviour {
    bans: BanList<Subnet>,
}

impl Behaviour {
    /// Bans `subnet` for `duration` (at most [`crate::peer::MAX_BAN`]).
    pub fn ban(&mut self, subnet: Subnet, now: Instant, unix_now: u64, duration: Duration) {
        self.bans.ban(subnet, now, unix_now, duration);
    }

    /// Lifts a ban; returns whether there was one.
    pub fn unban(&mut self, subnet: &Subnet) -> bool {
        self.bans.unban(subnet)
    }

    /// Lifts every ban; returns whether there was any.
    pub fn clear(&mut self) -> bool {
        !self.bans.clear().is_empty()
    }

    /// Forgets the bans that have run out; returns them.
    pub fn expire(&mut self, now: Instant) -> Vec<Subnet> {
        self.bans.expire(now)
    }

    /// The bans in force at `now`.
    pub fn list(&self, now: Instant) -> Vec<BanEntry<Subnet>> {
        self.bans.list(now)
    }

    /// Whether `address` is in a banned subnet.
    pub fn is_banned(&self, address: &Multiaddr) -> bool {
        ip_of(address).is_some_and(|ip| self.banned_ip(ip))
    }

    fn banned_ip(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        self.bans.list(now).iter().any(|b| b.target.contains(ip))
    }

    fn check(&self, address: &Multiaddr) -> Result<(), ConnectionDenied> {
        match ip_of(address) {
            Some(ip) if self.banned_ip(ip) => Err(ConnectionDenied::new(Banned(ip))),
            _ => Ok(()),
        }
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        _: ConnectionId,
        _local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.check(remote)
    }

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(remote)?;
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        address: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(address)?;
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, _: FromSwarm) {}

    fn on_connection_handler_event(&mut self, _: PeerId, _: ConnectionId, event: THandlerOutEvent<Self>) {
        libp2p::core::util::unreachable(event)
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse_as_core_writes_them() {
        let s = |t: &str| Subnet::parse(t).map(|s| s.to_string());
        assert_eq!(s("192.0.2.7").unwrap(), "192.0.2.7/32");
        assert_eq!(s("192.0.2.7/24").unwrap(), "192.0.2.0/24");
        assert_eq!(s("192.0.2.7/255.255.255.0").unwrap(), "192.0.2.0/24");
        assert_eq!(s("10.0.0.0/0").unwrap(), "0.0.0.0/0");
        assert_eq!(s("2001:db8::1").unwrap(), "2001:db8::1/128");
        assert_eq!(s("2001:db8::1/32").unwrap(), "2001:db8::/32");
        assert_eq!(s("::ffff:192.0.2.7").unwrap(), "192.0.2.7/32", "IPv4-mapped: the IPv4 address");
        assert_eq!(s("::ffff:192.0.2.7/120").unwrap(), "192.0.2.0/24");
        assert_eq!(s("192.0.2.7/33"), Err(SubnetError::Mask));
        assert_eq!(s("192.0.2.7/255.0.255.0"), Err(SubnetError::Mask), "not contiguous");
        assert_eq!(s("192.0.2.7/ffff::"), Err(SubnetError::Mask), "families differ");
        assert_eq!(s("192.0.2.7/"), Err(SubnetError::Mask));
        assert_eq!(s("192.0.2.7/-1"), Err(SubnetError::Mask));
        assert_eq!(s("12D3KooWfoo"), Err(SubnetError::Address));
        assert_eq!(s(""), Err(SubnetError::Address));
    }

    #[test]
    fn membership() {
        let net = Subnet::parse("192.0.2.0/24").unwrap();
        assert!(net.contains("192.0.2.200".parse().unwrap()));
        assert!(!net.contains("192.0.3.1".parse().unwrap()));
        assert!(net.contains("::ffff:192.0.2.9".parse().unwrap()), "IPv4-mapped");
        assert!(!net.contains("2001:db8::1".parse().unwrap()));
        let all = Subnet::parse("0.0.0.0/0").unwrap();
        assert!(all.contains("203.0.113.5".parse().unwrap()));
        let v6 = Subnet::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
    }

    #[test]
    fn banned_addresses_are_refused() {
        let mut b = Behaviour::default();
        let now = Instant::now();
        b.ban(Subnet::parse("127.0.0.0/8").unwrap(), now, 0, Duration::from_secs(60));
        let local: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        let other: Multiaddr = "/ip4/192.0.2.1/tcp/1".parse().unwrap();
        assert!(b.is_banned(&local) && !b.is_banned(&other));
        assert!(b.check(&local).is_err() && b.check(&other).is_ok());
        assert!(
            b.unban(&Subnet::parse("127.1.2.3/8").unwrap()),
            "the same subnet, written otherwise"
        );
        assert!(!b.is_banned(&local));
    }
}
