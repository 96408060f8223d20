//! Peer addresses as people type them: a libp2p multiaddr, or Core's `host:port`.

use std::net::{IpAddr, SocketAddr};

use libp2p::Multiaddr;

/// A peer's address: a multiaddr (`/ip4/127.0.0.1/tcp/19444/p2p/12D3KooW…`), or `host:port` as
/// Core's `addnode` and `-addnode` take it (`127.0.0.1:19444`, `[::1]:19444`,
/// `node.example:19444`; the network's `default_port` when the port is left out). A bare host
/// name becomes a `/dns/` address.
///
/// # Errors
/// A text that is neither, with what was expected.
pub fn peer_address(text: &str, default_port: u16) -> Result<Multiaddr, String> {
    let text = text.trim();
    if text.starts_with('/') {
        return text.parse::<Multiaddr>().map_err(|e| {
            format!("'{text}' is not a libp2p address ({e}); expected e.g. /ip4/127.0.0.1/tcp/{default_port} or 127.0.0.1:{default_port}")
        });
    }
    let bad = || format!("'{text}' is not an address: expected host:port (e.g. 127.0.0.1:{default_port}) or a libp2p address");
    if let Ok(sock) = text.parse::<SocketAddr>() {
        return Ok(ip_addr(sock.ip(), sock.port()));
    }
    if let Ok(ip) = text.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        return Ok(ip_addr(ip, default_port));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
        None => (text, default_port),
    };
    let valid = !host.is_empty()
        && host.len() <= 253
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if !valid || port == 0 {
        return Err(bad());
    }
    format!("/dns/{host}/tcp/{port}").parse().map_err(|_| bad())
}

fn ip_addr(ip: IpAddr, port: u16) -> Multiaddr {
    let proto = match ip {
        IpAddr::V4(_) => "ip4",
        IpAddr::V6(_) => "ip6",
    };
    format!("/{proto}/{ip}/tcp/{port}")
        .parse()
        .expect("an IP and a port make a multiaddr")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_spellings_and_multiaddrs_are_taken() {
        let a = |t: &str| peer_address(t, 18444).map(|m| m.to_string());
        assert_eq!(a("127.0.0.1:19444").unwrap(), "/ip4/127.0.0.1/tcp/19444");
        assert_eq!(a("127.0.0.1").unwrap(), "/ip4/127.0.0.1/tcp/18444");
        assert_eq!(a("[::1]:19444").unwrap(), "/ip6/::1/tcp/19444");
        assert_eq!(a("[::1]").unwrap(), "/ip6/::1/tcp/18444");
        assert_eq!(a("seed.example.org:8333").unwrap(), "/dns/seed.example.org/tcp/8333");
        assert_eq!(a("localhost").unwrap(), "/dns/localhost/tcp/18444");
        assert_eq!(a("/ip4/10.0.0.1/tcp/1").unwrap(), "/ip4/10.0.0.1/tcp/1");
        for bad in ["", "host:port", "a b:1", "x:0", "1.2.3.4:99999", "/nonsense", "host:"] {
            assert!(a(bad).is_err(), "{bad:?} accepted");
        }
    }
}
