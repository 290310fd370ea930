#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]
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
//! later replaced). For TCP ([`OverlapPolicy::segment_wins`]) the rules are
//! Suricata's per-OS rules:
//!
//! | policy      | the new segment's bytes win when                               |
//! |-------------|----------------------------------------------------------------|
//! | `first`     | never (also `vista`)                                           |
//! | `last`      | always                                                         |
//! | `bsd`       | it starts before the old segment (the default; also `windows`, `macos`, `hpux10`, `irix`, `windows2k3`) |
//! | `linux`     | it starts before, or at the same place and ends after          |
//! | `old-linux` | it starts before, or at the same place and ends at or after    |
//! | `solaris`   | it starts at or before and ends at or after, or starts after and ends after (also `hpux11`) |
//!
//! IP fragments ([`OverlapPolicy::new_wins`]) keep tapwatch's simpler rules:
//! `bsd`/`windows` as above, `linux`/`old-linux` when the new fragment
//! starts at or before the old one, `solaris` when it ends at or after it.
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
    /// New data wins when it starts before the old segment, or at its
    /// start and ends after it.
    Linux,
    /// As `linux`, and a segment at the same start that ends where the old
    /// one ends wins too (Linux before 2.4).
    OldLinux,
    /// New data wins when it starts before the old segment.
    Windows,
    /// New data wins when it covers the old segment's end: starting at or
    /// before it and ending at or after its end, or starting after it and
    /// ending after its end.
    Solaris,
}

impl OverlapPolicy {
    /// Every policy, for tests and help text.
    pub const ALL: [OverlapPolicy; 7] = [
        OverlapPolicy::First,
        OverlapPolicy::Last,
        OverlapPolicy::Bsd,
        OverlapPolicy::Linux,
        OverlapPolicy::OldLinux,
        OverlapPolicy::Windows,
        OverlapPolicy::Solaris,
    ];

    /// TCP: whether the new segment `[new_start, new_end)` replaces the
    /// bytes of the old segment `[old_start, old_end)` where they overlap,
    /// by Suricata's per-OS rules. Offsets are absolute stream offsets (no
    /// wrap-around).
    pub fn segment_wins(self, new_start: u64, new_end: u64, old_start: u64, old_end: u64) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let start = new_start.cmp(&old_start);
        let end = new_end.cmp(&old_end);
        match self {
            OverlapPolicy::First => false,
            OverlapPolicy::Last => true,
            OverlapPolicy::Bsd | OverlapPolicy::Windows => start == Less,
            OverlapPolicy::Linux => start == Less || (start == Equal && end == Greater),
            OverlapPolicy::OldLinux => start == Less || (start == Equal && end != Less),
            OverlapPolicy::Solaris => match start {
                Less | Equal => end != Less,
                Greater => end == Greater,
            },
        }
    }

    /// IP fragments: whether the new fragment `[new_start, new_end)`
    /// replaces the bytes of the old one `[old_start, old_end)`.
    pub fn new_wins(self, new_start: u64, new_end: u64, old_start: u64, old_end: u64) -> bool {
        match self {
            OverlapPolicy::First => false,
            OverlapPolicy::Last => true,
            OverlapPolicy::Bsd | OverlapPolicy::Windows => new_start < old_start,
            OverlapPolicy::Linux | OverlapPolicy::OldLinux => new_start <= old_start,
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
            OverlapPolicy::OldLinux => "old-linux",
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
#[error("unknown overlap policy '{0}' (first, last, bsd, linux, old-linux, windows, solaris)")]
pub struct UnknownPolicy(pub String);

impl FromStr for OverlapPolicy {
    type Err = UnknownPolicy;

    /// Accepts the policy names and the host-OS aliases Suricata maps onto them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "first" | "vista" => OverlapPolicy::First,
            "last" => OverlapPolicy::Last,
            "bsd" | "hpux10" | "irix" | "macos" => OverlapPolicy::Bsd,
            "linux" => OverlapPolicy::Linux,
            "old-linux" | "old_linux" => OverlapPolicy::OldLinux,
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

    /// Suricata's TCP rules, case by case: (new start vs old start, new end
    /// vs old end) → does the new segment win, per policy. Each row is one
    /// of the cases its overlap handling distinguishes.
    #[test]
    fn segment_decisions_follow_suricata_per_os_rules() {
        use OverlapPolicy::*;
        // Old segment [10, 20). (new start, new end, expected for
        // [first, last, bsd, linux, old-linux, windows, solaris]).
        let f = false;
        let t = true;
        let cases: &[(u64, u64, [bool; 7])] = &[
            // Same start, ends before.
            (10, 15, [f, t, f, f, f, f, f]),
            // Same start, same end (full overlap).
            (10, 20, [f, t, f, f, t, f, t]),
            // Same start, ends after.
            (10, 25, [f, t, f, t, t, f, t]),
            // Starts before, ends inside.
            (5, 15, [f, t, t, t, t, t, f]),
            // Starts before, same end.
            (5, 20, [f, t, t, t, t, t, t]),
            // Starts before, ends after.
            (5, 25, [f, t, t, t, t, t, t]),
            // Starts after, ends before.
            (12, 18, [f, t, f, f, f, f, f]),
            // Starts after, same end.
            (12, 20, [f, t, f, f, f, f, f]),
            // Starts after, ends after.
            (12, 25, [f, t, f, f, f, f, t]),
        ];
        let policies = [First, Last, Bsd, Linux, OldLinux, Windows, Solaris];
        for &(s, e, want) in cases {
            for (p, w) in policies.iter().zip(want) {
                assert_eq!(p.segment_wins(s, e, 10, 20), w, "{p} new [{s},{e}) over [10,20)");
            }
        }
        // Host-OS aliases as Suricata groups them.
        for (alias, p) in [
            ("vista", First),
            ("macos", Bsd),
            ("hpux10", Bsd),
            ("irix", Bsd),
            ("windows2k3", Windows),
            ("hpux11", Solaris),
            ("old-linux", OldLinux),
        ] {
            assert_eq!(alias.parse::<OverlapPolicy>(), Ok(p), "{alias}");
        }
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
