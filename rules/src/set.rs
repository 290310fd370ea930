//! Sets of integers as sorted, disjoint, non-adjacent inclusive ranges.
//!
//! Address groups (IPv4 as `u32`, IPv6 as `u128`) and port groups (`u16`)
//! are all such sets; negation and lists are union, complement and
//! difference on them. Membership is a binary search.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

/// An integer type a [`Ranges`] can hold.
pub(crate) trait Point: Copy + Ord + std::fmt::Debug {
    const MIN: Self;
    const MAX: Self;
    fn inc(self) -> Option<Self>;
    fn dec(self) -> Option<Self>;
}

macro_rules! point {
    ($t:ty) => {
        impl Point for $t {
            const MIN: Self = <$t>::MIN;
            const MAX: Self = <$t>::MAX;
            fn inc(self) -> Option<Self> {
                self.checked_add(1)
            }
            fn dec(self) -> Option<Self> {
                self.checked_sub(1)
            }
        }
    };
}
point!(u16);
point!(u32);
point!(u128);

/// Invariant: sorted by start, `start <= end`, and any two ranges are
/// separated by at least one value not in the set.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Ranges<T: Point>(Vec<(T, T)>);

impl<T: Point> Ranges<T> {
    pub fn empty() -> Self {
        Ranges(Vec::new())
    }

    pub fn full() -> Self {
        Ranges(vec![(T::MIN, T::MAX)])
    }

    /// One range; `None` when `lo > hi`.
    pub fn range(lo: T, hi: T) -> Option<Self> {
        (lo <= hi).then(|| Ranges(vec![(lo, hi)]))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.0.len() == 1 && self.0.first() == Some(&(T::MIN, T::MAX))
    }

    pub fn ranges(&self) -> &[(T, T)] {
        &self.0
    }

    fn normalize(mut v: Vec<(T, T)>) -> Self {
        v.sort_unstable();
        let mut out: Vec<(T, T)> = Vec::with_capacity(v.len());
        for (lo, hi) in v {
            match out.last_mut() {
                // Overlapping or adjacent: extend.
                Some(last) if last.1 >= lo || last.1.inc() == Some(lo) => {
                    if hi > last.1 {
                        last.1 = hi;
                    }
                }
                _ => out.push((lo, hi)),
            }
        }
        Ranges(out)
    }

    pub fn union(&self, other: &Self) -> Self {
        let mut v = self.0.clone();
        v.extend_from_slice(&other.0);
        Self::normalize(v)
    }

    pub fn complement(&self) -> Self {
        let mut out = Vec::with_capacity(self.0.len() + 1);
        let mut next = Some(T::MIN);
        for &(lo, hi) in &self.0 {
            if let Some(n) = next {
                if lo > n {
                    if let Some(end) = lo.dec() {
                        out.push((n, end));
                    }
                }
            }
            next = hi.inc();
        }
        if let Some(n) = next {
            out.push((n, T::MAX));
        }
        Ranges(out)
    }

    pub fn minus(&self, other: &Self) -> Self {
        // a \ b = complement(complement(a) ∪ b)
        self.complement().union(other).complement()
    }

    pub fn contains(&self, x: T) -> bool {
        let i = self.0.partition_point(|r| r.1 < x);
        matches!(self.0.get(i), Some(&(lo, _)) if lo <= x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(v: &[(u16, u16)]) -> Ranges<u16> {
        Ranges::normalize(v.to_vec())
    }

    #[test]
    fn normalize_merges_adjacent_and_overlapping() {
        assert_eq!(
            set(&[(5, 9), (1, 4), (8, 12), (20, 20)]).ranges(),
            &[(1, 12), (20, 20)]
        );
    }

    #[test]
    fn complement_edges() {
        assert_eq!(Ranges::<u16>::full().complement(), Ranges::empty());
        assert_eq!(Ranges::<u16>::empty().complement(), Ranges::full());
        assert_eq!(
            set(&[(0, 0), (65535, 65535)]).complement().ranges(),
            &[(1, 65534)]
        );
    }

    #[test]
    fn minus_and_contains() {
        let s = set(&[(1, 100)]).minus(&set(&[(10, 20)]));
        assert_eq!(s.ranges(), &[(1, 9), (21, 100)]);
        assert!(s.contains(9) && !s.contains(10) && !s.contains(20) && s.contains(21));
        assert!(!s.contains(0) && !s.contains(101));
    }

    proptest! {
        #[test]
        fn ops_agree_with_bitmap(a in prop::collection::vec((0u16..64, 0u16..8), 0..6),
                                 b in prop::collection::vec((0u16..64, 0u16..8), 0..6),
                                 probe in 0u16..80) {
            let mk = |v: &Vec<(u16, u16)>| set(&v.iter().map(|&(s, l)| (s, s + l)).collect::<Vec<_>>());
            let inb = |v: &Vec<(u16, u16)>, x: u16| v.iter().any(|&(s, l)| x >= s && x <= s + l);
            let (sa, sb) = (mk(&a), mk(&b));
            prop_assert_eq!(sa.contains(probe), inb(&a, probe));
            prop_assert_eq!(sa.union(&sb).contains(probe), inb(&a, probe) || inb(&b, probe));
            prop_assert_eq!(sa.minus(&sb).contains(probe), inb(&a, probe) && !inb(&b, probe));
            prop_assert_eq!(sa.complement().contains(probe), !inb(&a, probe));
        }
    }
}
