//! The prefilter's multi-literal matcher against a naive search: many
//! patterns (so every bucket fills) over a small alphabet, any haystack.
//! Every report must be a real occurrence, and every occurrence of a
//! pattern of two bytes or more ending after `min_end` must be reported;
//! one-byte patterns once per byte value at their first occurrence.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeSet;

/// Letters in both cases, a few bytes around them, so case folding,
/// overlaps and repeats all happen.
const ALPHABET: &[u8] = b"aAbBzZ@[`{\x00\xc1";

#[derive(Arbitrary, Debug)]
struct Input {
    patterns: Vec<Vec<u8>>,
    hay: Vec<u8>,
    min_end: u8,
}

fn map(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()])
        .collect()
}

fuzz_target!(|input: Input| {
    let patterns: Vec<Vec<u8>> = input
        .patterns
        .iter()
        .take(600)
        .map(|p| map(&p[..p.len().min(24)]))
        .collect();
    let hay = map(&input.hay[..input.hay.len().min(4096)]);
    let min_end = usize::from(input.min_end);
    let refs: Vec<&[u8]> = patterns.iter().map(Vec::as_slice).collect();
    let Some(found) = tapwatch_rules::fuzzing::multi_literal_matches(&refs, &hay, min_end) else {
        return;
    };
    for &(id, s, e) in &found {
        assert!(
            hay[s..e].eq_ignore_ascii_case(refs[id]),
            "false report {id} at {s}..{e}"
        );
    }
    let found: BTreeSet<(usize, usize, usize)> = found.into_iter().collect();
    let mut want = BTreeSet::new();
    for (id, p) in refs.iter().enumerate() {
        if p.is_empty() {
            continue;
        }
        let mut first = BTreeSet::new();
        for i in 0..hay.len() {
            if !hay.get(i..i + p.len()).is_some_and(|w| w.eq_ignore_ascii_case(p)) {
                continue;
            }
            if p.len() > 1 {
                if i + p.len() > min_end {
                    want.insert((id, i, i + p.len()));
                }
            } else if i >= min_end && first.insert(hay[i]) {
                want.insert((id, i, i + 1));
            }
        }
    }
    assert_eq!(found, want);
});
