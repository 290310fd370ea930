//! Rules indexed by the IPv4 ranges their header names, for rules with no
//! fast pattern (address-reputation lists such as ET's DROP, dshield or
//! CnC groups): a packet considers only the rules naming its address.
//!
//! The ranges of all indexed rules cut the address space into elementary
//! intervals; each interval keeps the rules covering it, and a lookup is
//! one binary search.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use std::collections::{BTreeSet, HashMap};

/// Most (interval, rule) entries an index may hold; a larger one is not
/// built and its rules are evaluated for every packet instead.
const MAX_ENTRIES: usize = 4_000_000;

/// IPv4 interval -> rules.
#[derive(Debug, Default)]
pub(crate) struct HostIndex {
    /// First address of each interval, ascending; interval `i` ends where
    /// `i + 1` starts (the last at `u32::MAX`).
    starts: Vec<u32>,
    /// Rules of interval `i`: `rules[offs[i]..offs[i + 1]]`.
    offs: Vec<u32>,
    rules: Vec<u32>,
    /// For large indexes, by the address's top [`TOP_BITS`] bits: the first
    /// interval starting at or after that block, so a lookup searches only
    /// the intervals starting inside its block (ET's DROP and CnC lists
    /// give tens of thousands of intervals).
    top: Vec<u32>,
}

const TOP_BITS: u32 = 14;

impl HostIndex {
    /// Index `(first, last, rule)` ranges (inclusive). `None` when the
    /// index would exceed its entry budget.
    pub fn build(ranges: &[(u32, u32, u32)]) -> Option<HostIndex> {
        if ranges.is_empty() {
            return Some(HostIndex::default());
        }
        // Boundary events: a rule enters at `first` and leaves after `last`.
        let mut events: Vec<(u32, bool, u32)> = Vec::with_capacity(ranges.len() * 2);
        for &(lo, hi, rule) in ranges {
            events.push((lo, true, rule));
            if let Some(end) = hi.checked_add(1) {
                events.push((end, false, rule));
            }
        }
        events.sort_unstable();
        let mut idx = HostIndex {
            starts: vec![0],
            offs: vec![0, 0],
            rules: Vec::new(),
            top: Vec::new(),
        };
        // Several ranges of one rule may touch: count entries per rule.
        let mut active: BTreeSet<u32> = BTreeSet::new();
        let mut count: HashMap<u32, u32> = HashMap::new();
        let mut i = 0;
        while let Some(&(at, _, _)) = events.get(i) {
            while let Some(&(a, enter, rule)) = events.get(i) {
                if a != at {
                    break;
                }
                let c = count.entry(rule).or_insert(0);
                if enter {
                    *c += 1;
                    active.insert(rule);
                } else {
                    *c = c.saturating_sub(1);
                    if *c == 0 {
                        active.remove(&rule);
                    }
                }
                i += 1;
            }
            if idx.starts.last() == Some(&at) {
                // The interval starting here replaces the empty one at 0.
                idx.offs.pop();
                if let Some(&o) = idx.offs.last() {
                    idx.rules.truncate(o as usize);
                }
            } else {
                idx.starts.push(at);
            }
            idx.rules.extend(active.iter().copied());
            if idx.rules.len() > MAX_ENTRIES {
                return None;
            }
            idx.offs.push(u32::try_from(idx.rules.len()).ok()?);
        }
        if idx.starts.len() > 64 {
            idx.top = (0..=(1u64 << TOP_BITS))
                .map(|h| {
                    let block = h << (32 - TOP_BITS);
                    let i = idx.starts.partition_point(|&s| u64::from(s) < block);
                    u32::try_from(i).unwrap_or(u32::MAX)
                })
                .collect();
        }
        Some(idx)
    }

    /// Rules whose ranges contain `addr`, ascending.
    pub fn lookup(&self, addr: u32) -> &[u32] {
        let h = (addr >> (32 - TOP_BITS)) as usize;
        let i = match (self.top.get(h), self.top.get(h + 1)) {
            // Intervals before the block start below `addr`; those after
            // it, above.
            (Some(&a), Some(&b)) => {
                let block = self.starts.get(a as usize..b as usize).unwrap_or_default();
                a as usize + block.partition_point(|&s| s <= addr)
            }
            _ => self.starts.partition_point(|&s| s <= addr),
        };
        let Some(i) = i.checked_sub(1) else { return &[] };
        match (self.offs.get(i), self.offs.get(i + 1)) {
            (Some(&a), Some(&b)) => self.rules.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lookups() {
        let idx =
            HostIndex::build(&[(10, 20, 1), (15, 30, 2), (0, 0, 3), (u32::MAX - 1, u32::MAX, 4)]).unwrap();
        assert_eq!(idx.lookup(0), &[3]);
        assert_eq!(idx.lookup(1), &[] as &[u32]);
        assert_eq!(idx.lookup(10), &[1]);
        assert_eq!(idx.lookup(15), &[1, 2]);
        assert_eq!(idx.lookup(20), &[1, 2]);
        assert_eq!(idx.lookup(21), &[2]);
        assert_eq!(idx.lookup(31), &[] as &[u32]);
        assert_eq!(idx.lookup(u32::MAX), &[4]);
        assert!(HostIndex::build(&[]).unwrap().lookup(5).is_empty());
    }

    #[test]
    fn large_indexes_agree_with_a_scan() {
        // Enough intervals for the block table, spread over the space,
        // with blocks that hold none, one or many starts.
        let mut ranges = Vec::new();
        for i in 0..3000u32 {
            let lo = i.wrapping_mul(2_654_435_761);
            ranges.push((lo, lo.saturating_add(i % 5000), i % 7));
        }
        ranges.push((0x0A00_0000, 0x0AFF_FFFF, 9));
        ranges.push((u32::MAX - 3, u32::MAX, 8));
        let idx = HostIndex::build(&ranges).unwrap();
        assert!(!idx.top.is_empty());
        let mut probes: Vec<u32> = ranges
            .iter()
            .flat_map(|&(lo, hi, _)| [lo, hi, lo.wrapping_sub(1), hi.wrapping_add(1)])
            .collect();
        probes.extend([0, 1, u32::MAX, 0x0A12_3456, 1 << 18, (1 << 18) - 1]);
        for a in probes {
            let mut want: Vec<u32> = ranges
                .iter()
                .filter(|&&(lo, hi, _)| lo <= a && a <= hi)
                .map(|r| r.2)
                .collect();
            want.sort_unstable();
            want.dedup();
            assert_eq!(idx.lookup(a), &want[..], "address {a:#x}");
        }
    }

    proptest! {
        #[test]
        fn lookup_is_a_scan(
            ranges in proptest::collection::vec((0u32..200, 0u32..40, 0u32..6), 0..12),
            probes in proptest::collection::vec(0u32..260, 1..40),
        ) {
            let ranges: Vec<(u32, u32, u32)> = ranges.into_iter().map(|(lo, len, r)| (lo, lo + len, r)).collect();
            let idx = HostIndex::build(&ranges).unwrap();
            for a in probes {
                let mut want: Vec<u32> = ranges.iter().filter(|&&(lo, hi, _)| lo <= a && a <= hi).map(|r| r.2).collect();
                want.sort_unstable();
                want.dedup();
                prop_assert_eq!(idx.lookup(a), &want[..]);
            }
        }
    }
}
