//! State the engine keeps for stateful keywords: [`FlowVars`] (flowbits,
//! one per flow) and [`ThresholdState`] (threshold / detection_filter
//! counters, one per worker).

use crate::keywords::state::{ThreshKind, Track};
use crate::{PacketCtx, RuleSet};
use std::collections::HashMap;
use std::net::IpAddr;

/// Per-flow variables (flowbits). `Default` allocates nothing; the bit set
/// grows once, to the rule set's number of flowbits, on the first set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowVars {
    bits: Vec<u64>,
}

impl FlowVars {
    /// Is flowbit `id` set?
    pub fn get(&self, id: u32) -> bool {
        self.bits
            .get(id as usize / 64)
            .is_some_and(|w| w >> (id % 64) & 1 == 1)
    }

    /// Set or clear flowbit `id`; `words` bounds the growth.
    pub(crate) fn set(&mut self, id: u32, on: bool, words: usize) {
        let w = id as usize / 64;
        if w >= words {
            return;
        }
        if self.bits.len() < words && on {
            self.bits.resize(words, 0);
        }
        if let Some(x) = self.bits.get_mut(w) {
            if on {
                *x |= 1 << (id % 64);
            } else {
                *x &= !(1 << (id % 64));
            }
        }
    }

    /// Clear every flowbit, keeping the allocation (flow slot reuse).
    pub fn clear(&mut self) {
        self.bits.fill(0);
    }

    /// True when no flowbit is set.
    pub fn is_clear(&self) -> bool {
        self.bits.iter().all(|&w| w == 0)
    }
}

/// Most tracked (rule, address) entries; beyond it, expired entries are
/// dropped, and if none expired a new key is counted from scratch each time.
const MAX_ENTRIES: usize = 1 << 18;

#[derive(Clone, Copy, Debug)]
struct Entry {
    start: u64,
    count: u32,
    seconds: u32,
}

/// Threshold and detection_filter counters, keyed by rule and tracked
/// address(es). One per worker: counts are exact for traffic a worker sees
/// (each flow stays on one worker).
#[derive(Debug, Default)]
pub struct ThresholdState {
    map: HashMap<(u32, u8, Option<IpAddr>, Option<IpAddr>), Entry>,
}

impl ThresholdState {
    /// An empty state.
    pub fn new() -> Self {
        ThresholdState::default()
    }

    /// Tracked entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Keep in `hits` only the rules whose thresholds let this match alert;
    /// `now` is the packet time in seconds.
    pub fn filter(&mut self, set: &RuleSet, ctx: &PacketCtx<'_>, now: u64, hits: &mut Vec<u32>) {
        hits.retain(|&r| {
            set.thresholds_of(r)
                .iter()
                .enumerate()
                .all(|(k, t)| self.check(r, k as u8, t, ctx, now))
        });
    }

    fn check(
        &mut self,
        rule: u32,
        k: u8,
        t: &crate::keywords::state::Threshold,
        ctx: &PacketCtx<'_>,
        now: u64,
    ) -> bool {
        let (a, b) = match t.track {
            Track::BySrc => (Some(ctx.src_ip), None),
            Track::ByDst => (Some(ctx.dst_ip), None),
            Track::ByRule => (None, None),
            Track::ByBoth => (Some(ctx.src_ip), Some(ctx.dst_ip)),
        };
        let key = (rule, k, a, b);
        if self.map.len() >= MAX_ENTRIES && !self.map.contains_key(&key) {
            self.map
                .retain(|_, e| now.saturating_sub(e.start) < u64::from(e.seconds));
        }
        let fresh = Entry {
            start: now,
            count: 1,
            seconds: t.seconds,
        };
        let e = match self.map.get_mut(&key) {
            Some(e) if now.saturating_sub(e.start) < u64::from(t.seconds) => {
                e.count = e.count.saturating_add(1);
                e
            }
            Some(e) => {
                *e = fresh;
                e
            }
            None => {
                if self.map.len() >= MAX_ENTRIES {
                    return first_alert(t.kind, t.count);
                }
                self.map.entry(key).or_insert(fresh)
            }
        };
        match t.kind {
            ThreshKind::Limit => e.count <= t.count,
            ThreshKind::Threshold => {
                if e.count >= t.count {
                    e.count = 0;
                    true
                } else {
                    false
                }
            }
            ThreshKind::Both => e.count == t.count,
            ThreshKind::DetectionFilter => e.count > t.count,
        }
    }
}

/// Whether a first match alerts.
fn first_alert(kind: ThreshKind, count: u32) -> bool {
    match kind {
        ThreshKind::Limit => count >= 1,
        ThreshKind::Threshold | ThreshKind::Both => count <= 1,
        ThreshKind::DetectionFilter => count == 0,
    }
}
