//! Overlap policies: which bytes win when two TCP segments carry different
//! data for the same sequence numbers.
//!
//! Each end host resolves such overlaps its own way, and an attacker who
//! knows the difference can show the IDS one stream and the target another
//! (Ptacek & Newsham, 1998; Novak & Sturges, "Target-Based TCP Stream
//! Reassembly", 2007). The names are the ones Suricata users configure in
//! `host-os-policy`/`stream` settings.
//!
//! A decision compares the new segment with the segment that first supplied
//! the overlapped bytes (its original bounds, even if some of its bytes were
//! later replaced):
//!
//! | policy    | the new segment's bytes win when                         |
//! |-----------|----------------------------------------------------------|
//! | `first`   | never                                                    |
//! | `last`    | always                                                   |
//! | `bsd`     | it starts before the old segment (the default)           |
//! | `windows` | it starts before the old segment                         |
//! | `linux`   | it starts before or at the start of the old segment      |
//! | `solaris` | it ends at or after the end of the old segment           |
//!
//! Data already handed to detection is never rewritten: overlaps with it are
//! counted (and compared), the stream keeps what was inspected.

use std::fmt;
use std::str::FromStr;

/// How overlapping segments with different bytes are resolved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OverlapPolicy {
    /// Old data always wins.
    First,
    /// New data always wins.
    Last,
    /// New data wins when it starts before the old segment.
    #[default]
    Bsd,
    /// New data wins when it starts at or before the old segment's start.
    Linux,
    /// New data wins when it starts before the old segment.
    Windows,
    /// New data wins when it ends at or after the old segment's end.
    Solaris,
}

impl OverlapPolicy {
    /// Every policy, for tests and help text.
    pub const ALL: [OverlapPolicy; 6] = [
        OverlapPolicy::First,
        OverlapPolicy::Last,
        OverlapPolicy::Bsd,
        OverlapPolicy::Linux,
        OverlapPolicy::Windows,
        OverlapPolicy::Solaris,
    ];

    /// Whether the new segment `[new_start, new_end)` replaces the bytes of
    /// the old segment `[old_start, old_end)` where they overlap. Offsets are
    /// absolute stream offsets (no wrap-around).
    pub fn new_wins(self, new_start: u64, new_end: u64, old_start: u64, old_end: u64) -> bool {
        match self {
            OverlapPolicy::First => false,
            OverlapPolicy::Last => true,
            OverlapPolicy::Bsd | OverlapPolicy::Windows => new_start < old_start,
            OverlapPolicy::Linux => new_start <= old_start,
            OverlapPolicy::Solaris => new_end >= old_end,
        }
    }

    /// The configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            OverlapPolicy::First => "first",
            OverlapPolicy::Last => "last",
            OverlapPolicy::Bsd => "bsd",
            OverlapPolicy::Linux => "linux",
            OverlapPolicy::Windows => "windows",
            OverlapPolicy::Solaris => "solaris",
        }
    }
}

impl fmt::Display for OverlapPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An overlap policy name that tapwatch does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown overlap policy '{0}' (first, last, bsd, linux, windows, solaris)")]
pub struct UnknownPolicy(pub String);

impl FromStr for OverlapPolicy {
    type Err = UnknownPolicy;

    /// Accepts the policy names and the host-OS aliases Suricata maps onto them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "first" | "vista" => OverlapPolicy::First,
            "last" => OverlapPolicy::Last,
            "bsd" | "hpux10" | "irix" | "macos" => OverlapPolicy::Bsd,
            "linux" | "old-linux" => OverlapPolicy::Linux,
            "windows" | "windows2k3" => OverlapPolicy::Windows,
            "solaris" | "hpux11" => OverlapPolicy::Solaris,
            other => return Err(UnknownPolicy(other.to_string())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in OverlapPolicy::ALL {
            assert_eq!(p.as_str().parse::<OverlapPolicy>(), Ok(p));
        }
        assert!("plan9".parse::<OverlapPolicy>().is_err());
        assert_eq!(OverlapPolicy::default(), OverlapPolicy::Bsd);
    }

    #[test]
    fn decisions() {
        use OverlapPolicy::*;
        // new [5,15) over old [10,20): starts before, ends before.
        assert!(!First.new_wins(5, 15, 10, 20));
        assert!(Last.new_wins(5, 15, 10, 20));
        assert!(Bsd.new_wins(5, 15, 10, 20));
        assert!(Linux.new_wins(5, 15, 10, 20));
        assert!(!Solaris.new_wins(5, 15, 10, 20));
        // Same start, longer.
        assert!(!Bsd.new_wins(10, 25, 10, 20));
        assert!(Linux.new_wins(10, 25, 10, 20));
        assert!(Solaris.new_wins(10, 25, 10, 20));
        // Starts after, same end.
        assert!(!Windows.new_wins(12, 20, 10, 20));
        assert!(Solaris.new_wins(12, 20, 10, 20));
    }
}
