//! A multi-literal matcher for the prefilter's large pattern sets: finds
//! every occurrence of every pattern, ASCII case-insensitively (overlapping
//! matches included), like an overlapping Aho-Corasick search.
//!
//! Used where the pattern set is too large for an Aho-Corasick DFA (ET
//! Open's `http.uri` and similar groups), where the alternative is the
//! automaton's NFA: measured on ET Open's pattern sets and traffic of the
//! generated workload, this runs at about 150 MB/s against the NFA's 50.
//! As in Hyperscan's FDR idea, patterns of four bytes or more are found
//! through a 32 KiB bitmap over a hash of their first four (lowercased)
//! bytes: only positions whose bit is set look up the patterns with that
//! prefix and compare them. Patterns of one to three bytes are looked up
//! by byte and by byte pair.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use std::collections::HashMap;

/// A multiplicative hasher for the small integer keys of the lookup maps
/// (the default SipHash costs more than the rest of a lookup).
#[derive(Default)]
struct IntHasher(u64);

impl std::hash::Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u16(&mut self, v: u16) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(v)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(v)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type IntMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<IntHasher>>;

#[inline]
fn bit(bits: &[u64], i: usize) -> bool {
    bits.get(i >> 6).is_some_and(|w| w & (1 << (i & 63)) != 0)
}

#[inline]
fn set_bit(bits: &mut [u64], i: usize) {
    if let Some(w) = bits.get_mut(i >> 6) {
        *w |= 1 << (i & 63);
    }
}

/// Bits of the prefix-hash bitmap (2^18 bits = 32 KiB).
const BITS: u32 = 18;

/// `w` (four bytes, little-endian) with ASCII `A`-`Z` lowercased.
#[inline]
fn lower4(w: u32) -> u32 {
    let heptets = w & 0x7f7f_7f7f;
    // High bit of each byte: at least 'A', and at least '['.
    let ge_a = heptets.wrapping_add(0x3f3f_3f3f);
    let ge_bracket = heptets.wrapping_add(0x2525_2525);
    let upper = ge_a & !ge_bracket & !w & 0x8080_8080;
    w | (upper >> 2)
}

#[inline]
fn slot(lw: u32) -> u32 {
    lw.wrapping_mul(0x9e37_79b1) >> (32 - BITS)
}

/// Patterns by their lowercased first four bytes, in the `by_prefix` list.
#[derive(Debug)]
pub(crate) struct Literals {
    /// Lowercased patterns, by id (the caller's pattern index).
    pats: Vec<Box<[u8]>>,
    bits: Vec<u64>,
    /// Lowercased 4-byte prefix -> range of `by_prefix`.
    prefixes: IntMap<u32, (u32, u32)>,
    by_prefix: Vec<u32>,
    /// One-byte patterns by (lowercased) byte value, and which bytes have some.
    one: Vec<Vec<u32>>,
    one_bits: Vec<u64>,
    /// Two- and three-byte patterns by their lowercased first two bytes:
    /// a bitmap of the pairs present, then the ids.
    pair_bits: Vec<u64>,
    pairs: IntMap<u16, Vec<u32>>,
}

impl Literals {
    /// `None` when there are more than `u32::MAX` patterns.
    pub fn new(patterns: &[&[u8]]) -> Option<Literals> {
        let pats: Vec<Box<[u8]>> = patterns
            .iter()
            .map(|p| p.to_ascii_lowercase().into_boxed_slice())
            .collect();
        let mut groups: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut one: Vec<Vec<u32>> = vec![Vec::new(); 256];
        let mut pair_bits = vec![0u64; 1 << 10];
        let mut pairs: IntMap<u16, Vec<u32>> = IntMap::default();
        for (id, p) in pats.iter().enumerate() {
            let id = u32::try_from(id).ok()?;
            match &p[..] {
                [a, b, c, d, ..] => groups
                    .entry(u32::from_le_bytes([*a, *b, *c, *d]))
                    .or_default()
                    .push(id),
                [a, b, ..] => {
                    let k = u16::from_le_bytes([*a, *b]);
                    set_bit(&mut pair_bits, usize::from(k));
                    pairs.entry(k).or_default().push(id);
                }
                [a] => one.get_mut(usize::from(*a))?.push(id),
                [] => {}
            }
        }
        let mut bits = vec![0u64; 1 << (BITS - 6)];
        let mut prefixes: IntMap<u32, (u32, u32)> = IntMap::default();
        let mut by_prefix = Vec::new();
        for (prefix, ids) in groups {
            set_bit(&mut bits, slot(prefix) as usize);
            let start = u32::try_from(by_prefix.len()).ok()?;
            by_prefix.extend_from_slice(&ids);
            prefixes.insert(prefix, (start, u32::try_from(by_prefix.len()).ok()?));
        }
        let mut one_bits = vec![0u64; 4];
        for (b, ids) in one.iter().enumerate() {
            if !ids.is_empty() {
                set_bit(&mut one_bits, b);
            }
        }
        Some(Literals {
            pats,
            bits,
            prefixes,
            by_prefix,
            one,
            one_bits,
            pair_bits,
            pairs,
        })
    }

    /// Calls `f(pattern, start, end)` for every occurrence of every pattern
    /// in `hay` (in no particular order).
    #[inline]
    pub fn for_each_match(&self, hay: &[u8], mut f: impl FnMut(usize, usize, usize)) {
        let short = !self.pairs.is_empty() || self.one_bits.iter().any(|&w| w != 0);
        for i in 0..hay.len() {
            let Some(&b0) = hay.get(i) else { break };
            if short {
                self.short_at(hay, i, b0, &mut f);
            }
            let Some(w) = hay.get(i..i + 4) else { continue };
            let Ok(w4) = <[u8; 4]>::try_from(w) else { continue };
            let lw = lower4(u32::from_le_bytes(w4));
            if !bit(&self.bits, slot(lw) as usize) {
                continue;
            }
            let Some(&(a, b)) = self.prefixes.get(&lw) else {
                continue;
            };
            for &id in self.by_prefix.get(a as usize..b as usize).unwrap_or_default() {
                let Some(p) = self.pats.get(id as usize) else {
                    continue;
                };
                let end = i + p.len();
                if hay
                    .get(i + 4..end)
                    .is_some_and(|rest| rest.eq_ignore_ascii_case(p.get(4..).unwrap_or_default()))
                {
                    f(id as usize, i, end);
                }
            }
        }
    }

    /// The one- to three-byte patterns starting at `i` (whose byte is `b0`).
    #[inline]
    fn short_at(&self, hay: &[u8], i: usize, b0: u8, f: &mut impl FnMut(usize, usize, usize)) {
        let a = b0.to_ascii_lowercase();
        if bit(&self.one_bits, usize::from(a)) {
            for &id in self.one.get(usize::from(a)).map_or(&[][..], Vec::as_slice) {
                f(id as usize, i, i + 1);
            }
        }
        let Some(&b1) = hay.get(i + 1) else { return };
        let k = u16::from_le_bytes([a, b1.to_ascii_lowercase()]);
        if !bit(&self.pair_bits, usize::from(k)) {
            return;
        }
        for &id in self.pairs.get(&k).map_or(&[][..], Vec::as_slice) {
            let Some(p) = self.pats.get(id as usize) else {
                continue;
            };
            let end = i + p.len();
            if hay
                .get(i + 2..end)
                .is_some_and(|rest| rest.eq_ignore_ascii_case(p.get(2..).unwrap_or_default()))
            {
                f(id as usize, i, end);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(patterns: &[&[u8]], hay: &[u8]) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        for (id, p) in patterns.iter().enumerate() {
            if p.is_empty() {
                continue;
            }
            for i in 0..hay.len() {
                if hay.get(i..i + p.len()).is_some_and(|w| w.eq_ignore_ascii_case(p)) {
                    out.push((id, i, i + p.len()));
                }
            }
        }
        out.sort_unstable();
        out
    }

    fn found(patterns: &[&[u8]], hay: &[u8]) -> Vec<(usize, usize, usize)> {
        let l = Literals::new(patterns).unwrap();
        let mut out = Vec::new();
        l.for_each_match(hay, |id, s, e| out.push((id, s, e)));
        out.sort_unstable();
        out
    }

    #[test]
    fn lowercase_of_four_bytes() {
        for b in 0..=255u8 {
            let w = u32::from_le_bytes([b, b'Q', 0xC1, b'z']);
            let want = u32::from_le_bytes([b.to_ascii_lowercase(), b'q', 0xC1, b'z']);
            assert_eq!(lower4(w), want, "byte {b:#x}");
        }
    }

    #[test]
    fn finds_overlapping_and_case_insensitive() {
        let pats: Vec<&[u8]> = vec![b"User-Agent", b"agent", b"|", b"ab", b"abab", b"GET /", b"get"];
        let hay = b"GET /x HTTP/1.1\r\nuser-agent: ABABAB|";
        assert_eq!(found(&pats, hay), naive(&pats, hay));
        assert!(found(&pats, hay).contains(&(0, 17, 27)));
    }

    proptest! {
        #[test]
        fn equals_a_naive_search(
            pats in prop::collection::vec(prop::collection::vec(prop::sample::select(vec![b'a', b'B', b'b', 0u8, 0xC1, b'[', b'@']), 1..7), 1..20),
            hay in prop::collection::vec(prop::sample::select(vec![b'a', b'A', b'b', b'B', 0u8, 0xC1, 0xE1, b'[', b'{', b'@', b'`']), 0..80),
        ) {
            let refs: Vec<&[u8]> = pats.iter().map(Vec::as_slice).collect();
            prop_assert_eq!(found(&refs, &hay), naive(&refs, &hay));
        }
    }
}
