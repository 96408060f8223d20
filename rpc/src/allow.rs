//! Core's `rpcallowip`: which client addresses may use the RPC server. Loopback clients are
//! always allowed; others only inside a listed address or subnet (`1.2.3.4`, `10.0.0.0/8`,
//! `10.0.0.0/255.0.0.0`, `fd00::/8`). Others get HTTP 403, as from Core.

use std::net::{IpAddr, SocketAddr};

/// The client's address, put in each request's extensions by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

/// One allowed address or subnet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllowIp {
    net: IpAddr,
    prefix: u8,
}

fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

impl AllowIp {
    /// Parses `IP`, `IP/PREFIX` or `IP/NETMASK`.
    ///
    /// # Errors
    /// Anything else (Core: "Invalid -rpcallowip subnet specification").
    pub fn parse(text: &str) -> Result<AllowIp, String> {
        let bad = || format!("rpcallowip {text:?}: not an address or subnet (1.2.3.4, 10.0.0.0/8, 10.0.0.0/255.0.0.0, fd00::/8)");
        let (ip, mask) = match text.split_once('/') {
            Some((ip, mask)) => (ip, Some(mask)),
            None => (text, None),
        };
        let net: IpAddr = ip.trim().parse().map_err(|_| bad())?;
        let (_, width) = bits(net);
        let prefix = match mask {
            None => width,
            Some(m) => match m.parse::<u8>() {
                Ok(p) if p <= width => p,
                Ok(_) => return Err(bad()),
                Err(_) => {
                    let mask: IpAddr = m.parse().map_err(|_| bad())?;
                    let (value, mask_width) = bits(mask);
                    if mask_width != width {
                        return Err(bad());
                    }
                    let ones = value.count_ones() as u8;
                    // A netmask is contiguous ones from the top.
                    let expected = if ones == 0 {
                        0
                    } else {
                        (!0u128 << (width - ones)) & (!0u128 >> (128 - width))
                    };
                    if value != expected {
                        return Err(bad());
                    }
                    ones
                }
            },
        };
        Ok(AllowIp { net, prefix })
    }

    /// Whether `ip` is inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.net, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            _ => ip,
        };
        let ((a, wa), (b, wb)) = (bits(self.net), bits(ip));
        if wa != wb {
            return false;
        }
        let shift = u32::from(wa - self.prefix);
        shift >= 128 || (a >> shift) == (b >> shift)
    }
}

/// Whether a client at `ip` may call: loopback always, else inside one of `allow`.
pub fn allowed(allow: &[AllowIp], ip: IpAddr) -> bool {
    ip.is_loopback() || ip.to_canonical().is_loopback() || allow.iter().any(|a| a.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_prefixes_and_netmasks() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let a = AllowIp::parse("10.0.0.0/8").unwrap();
        assert!(a.contains(ip("10.1.2.3")) && !a.contains(ip("11.0.0.1")));
        assert_eq!(AllowIp::parse("10.0.0.0/255.0.0.0").unwrap(), a);
        let one = AllowIp::parse("192.168.1.7").unwrap();
        assert!(one.contains(ip("192.168.1.7")) && !one.contains(ip("192.168.1.8")));
        assert!(one.contains(ip("::ffff:192.168.1.7")), "v4-mapped v6 clients match v4 rules");
        let v6 = AllowIp::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")) && !v6.contains(ip("10.0.0.1")));
        assert!(AllowIp::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["", "10.0.0.0/33", "10.0.0.0/255.0.255.0", "host", "10.0.0.0/ffff::", "::/129"] {
            assert!(AllowIp::parse(bad).is_err(), "{bad}");
        }
        assert!(allowed(&[], ip("127.0.0.1")) && allowed(&[], ip("::1")) && !allowed(&[], ip("10.0.0.1")));
        assert!(allowed(&[a], ip("10.0.0.1")));
    }
}
