//! IP address groups: IPv4 and IPv6 single addresses, CIDR blocks
//! (`10.0.0.0/8`, `2001:db8::/32`), netmasks (`10.0.0.0/255.0.0.0`) and
//! ranges (`10.0.0.1-10.0.0.9`), combined into lists by [`crate::group`].
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::error::reason;
use crate::group::GroupSet;
use crate::set::Ranges;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A set of IPv4 and IPv6 addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IpSet {
    v4: Ranges<u32>,
    v6: Ranges<u128>,
}

impl IpSet {
    pub fn is_any(&self) -> bool {
        self.v4.is_full() && self.v6.is_full()
    }

    /// The ranges of an IPv4-only set covering at most `limit` addresses,
    /// for indexing address-list rules by host; `None` when the set has
    /// IPv6 members or is larger.
    pub fn v4_ranges(&self, limit: u64) -> Option<&[(u32, u32)]> {
        if !self.v6.is_empty() || self.v4.is_empty() {
            return None;
        }
        let mut total = 0u64;
        for &(lo, hi) in self.v4.ranges() {
            total = total.saturating_add(u64::from(hi - lo) + 1);
            if total > limit {
                return None;
            }
        }
        Some(self.v4.ranges())
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.v4.contains(u32::from(a)),
            IpAddr::V6(a) => self.v6.contains(u128::from(a)),
        }
    }
}

impl GroupSet for IpSet {
    const WHAT: &'static str = "address";
    const REASON: &'static str = reason::BAD_ADDRESS;

    fn full() -> Self {
        IpSet {
            v4: Ranges::full(),
            v6: Ranges::full(),
        }
    }
    fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
    fn union(&self, o: &Self) -> Self {
        IpSet {
            v4: self.v4.union(&o.v4),
            v6: self.v6.union(&o.v6),
        }
    }
    fn minus(&self, o: &Self) -> Self {
        IpSet {
            v4: self.v4.minus(&o.v4),
            v6: self.v6.minus(&o.v6),
        }
    }
    fn parse_leaf(s: &str) -> Result<Self, String> {
        if s.contains(':') {
            Ok(IpSet {
                v4: Ranges::empty(),
                v6: parse_v6(s)?,
            })
        } else {
            Ok(IpSet {
                v4: parse_v4(s)?,
                v6: Ranges::empty(),
            })
        }
    }
}

macro_rules! family {
    ($fn:ident, $addr:ty, $n:ty, $bits:expr) => {
        fn $fn(s: &str) -> Result<Ranges<$n>, String> {
            let ip = |t: &str| {
                t.trim()
                    .parse::<$addr>()
                    .map(<$n>::from)
                    .map_err(|_| format!("'{}' is not an IP address", t.trim()))
            };
            if let Some((lo, hi)) = s.split_once('-') {
                return Ranges::range(ip(lo)?, ip(hi)?)
                    .ok_or_else(|| "range start is after its end".to_string());
            }
            let Some((addr, mask)) = s.split_once('/') else {
                let a = ip(s)?;
                return Ok(Ranges::range(a, a).unwrap_or_default());
            };
            let a = ip(addr)?;
            let prefix: u32 = match mask.trim().parse::<u32>() {
                Ok(p) if p <= $bits => p,
                Ok(_) => return Err(format!("prefix length above {}", $bits)),
                Err(_) => {
                    let m = ip(mask).map_err(|_| format!("bad netmask '{}'", mask))?;
                    if m.leading_ones() + m.trailing_zeros() != $bits {
                        return Err("netmask is not contiguous".to_string());
                    }
                    m.leading_ones()
                }
            };
            // Host bits are cleared, as a user writing 10.1.2.3/8 means 10.0.0.0/8.
            let host: $n = <$n>::MAX.checked_shr(prefix).unwrap_or(0);
            let lo = a & !host;
            Ok(Ranges::range(lo, lo | host).unwrap_or_default())
        }
    };
}
family!(parse_v4, Ipv4Addr, u32, 32);
family!(parse_v6, Ipv6Addr, u128, 128);

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(s: &str) -> IpSet {
        IpSet::parse_leaf(s).unwrap()
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v4_forms() {
        let c = leaf("10.1.2.3/8");
        assert!(c.contains(ip("10.0.0.0")) && c.contains(ip("10.255.255.255")));
        assert!(!c.contains(ip("11.0.0.0")) && !c.contains(ip("::1")));
        let m = leaf("192.168.1.0/255.255.255.0");
        assert!(m.contains(ip("192.168.1.77")) && !m.contains(ip("192.168.2.1")));
        let r = leaf("1.1.1.1-1.1.1.3");
        assert!(r.contains(ip("1.1.1.2")) && !r.contains(ip("1.1.1.4")));
        assert!(leaf("0.0.0.0/0").v4.is_full());
        assert!(leaf("1.2.3.4/32").contains(ip("1.2.3.4")));
        assert!(!leaf("1.2.3.4/32").contains(ip("1.2.3.5")));
    }

    #[test]
    fn v6_forms() {
        let c = leaf("2001:db8::/32");
        assert!(c.contains(ip("2001:db8:ffff::1")) && !c.contains(ip("2001:db9::")));
        assert!(!c.contains(ip("10.0.0.1")));
        assert!(leaf("::1").contains(ip("::1")));
        assert!(leaf("::/0").v6.is_full());
    }

    #[test]
    fn bad_leaves() {
        for s in [
            "1.2.3",
            "1.2.3.4/33",
            "1.2.3.4/255.0.255.0",
            "1.2.3.9-1.2.3.1",
            "::1/129",
            "foo",
            "1.2.3.4/x",
        ] {
            assert!(IpSet::parse_leaf(s).is_err(), "{s}");
        }
    }
}
