//! Port groups: `80`, `1024:65535`, `1024:`, `:1023`, combined into lists
//! and negations by [`crate::group`].
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::error::reason;
use crate::group::GroupSet;
use crate::set::Ranges;

/// A set of TCP/UDP ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PortSet(Ranges<u16>);

impl PortSet {
    pub fn is_any(&self) -> bool {
        self.0.is_full()
    }

    pub fn contains(&self, port: u16) -> bool {
        self.0.contains(port)
    }

    /// The ports, as sorted inclusive ranges.
    pub fn ranges(&self) -> &[(u16, u16)] {
        self.0.ranges()
    }

    /// How many ports the set holds.
    pub fn count(&self) -> u64 {
        self.ranges().iter().map(|&(lo, hi)| u64::from(hi - lo) + 1).sum()
    }
}

fn port_num(s: &str) -> Result<u16, String> {
    let t = s.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{t}' is not a port number"));
    }
    t.parse::<u16>().map_err(|_| format!("port {t} is above 65535"))
}

impl GroupSet for PortSet {
    const WHAT: &'static str = "port";
    const REASON: &'static str = reason::BAD_PORT;

    fn full() -> Self {
        PortSet(Ranges::full())
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn union(&self, o: &Self) -> Self {
        PortSet(self.0.union(&o.0))
    }
    fn minus(&self, o: &Self) -> Self {
        PortSet(self.0.minus(&o.0))
    }
    fn parse_leaf(s: &str) -> Result<Self, String> {
        let (lo, hi) = match s.split_once(':') {
            None => {
                let p = port_num(s)?;
                (p, p)
            }
            Some((a, b)) => {
                if a.trim().is_empty() && b.trim().is_empty() {
                    return Err("empty port range".into());
                }
                let lo = if a.trim().is_empty() { 0 } else { port_num(a)? };
                let hi = if b.trim().is_empty() {
                    u16::MAX
                } else {
                    port_num(b)?
                };
                (lo, hi)
            }
        };
        Ranges::range(lo, hi)
            .map(PortSet)
            .ok_or_else(|| "range start is after its end".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_forms() {
        let p = |s: &str| PortSet::parse_leaf(s).unwrap();
        assert!(p("80").contains(80) && !p("80").contains(81));
        assert!(p("1024:").contains(65535) && !p("1024:").contains(1023));
        assert!(p(":1023").contains(0) && !p(":1023").contains(1024));
        assert!(p("10:20").contains(15) && !p("10:20").contains(21));
        assert!(p("0:65535").is_any());
        for bad in ["65536", "20:10", ":", "a", "-1", "1:2:3"] {
            assert!(PortSet::parse_leaf(bad).is_err(), "{bad}");
        }
    }
}
