//! State the engine keeps for stateful keywords: [`FlowVars`] (flowbits
//! and flowints, one per flow), [`XbitState`] (xbits on hosts and host
//! pairs) and [`ThresholdState`] (threshold / detection_filter counters);
//! the last two one per worker.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::keywords::state::{ThreshKind, Track, XTrack};
use crate::threshold_file::{RateFilter, SupTrack, Suppress};
use crate::{PacketCtx, RuleSet};
use std::collections::HashMap;
use std::net::IpAddr;

/// Per-flow variables (flowbits, flowints). `Default` allocates nothing;
/// the bit set and the integer slots grow once, to the rule set's number of
/// flowbits / flowints, on the first set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowVars {
    bits: Vec<u64>,
    ints: Vec<Option<u32>>,
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

    /// Flowint `id`, if set.
    pub fn int(&self, id: u32) -> Option<u32> {
        self.ints.get(id as usize).copied().flatten()
    }

    /// Set flowint `id`; `count` (the rule set's flowints) bounds the growth.
    pub(crate) fn set_int(&mut self, id: u32, v: u32, count: usize) {
        let k = id as usize;
        if k >= count {
            return;
        }
        if self.ints.len() < count {
            self.ints.resize(count, None);
        }
        if let Some(x) = self.ints.get_mut(k) {
            *x = Some(v);
        }
    }

    /// Clear every flowbit and flowint, keeping the allocation (flow slot reuse).
    pub fn clear(&mut self) {
        self.bits.fill(0);
        self.ints.fill(None);
    }

    /// True when no flowbit or flowint is set.
    pub fn is_clear(&self) -> bool {
        self.bits.iter().all(|&w| w == 0) && self.ints.iter().all(Option::is_none)
    }
}

/// Where an xbit is kept: one host, or an unordered host pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum XKey {
    Host(IpAddr),
    Pair(IpAddr, IpAddr),
}

/// Default bound on xbits held per worker.
pub const MAX_XBITS: usize = 1 << 16;

/// Xbits on hosts and host pairs (`xbits:...,track ip_src|ip_dst|ip_pair`),
/// each with its expiry time. Bounded: when full, expired bits are dropped;
/// if none expired, a new bit is not set and [`XbitState::dropped`] counts
/// it. One per worker: exact for hosts whose flows one worker sees.
#[derive(Debug)]
pub struct XbitState {
    map: HashMap<(u32, XKey), u64>,
    cap: usize,
    now: u64,
    dropped: u64,
}

impl Default for XbitState {
    fn default() -> Self {
        XbitState::new(MAX_XBITS)
    }
}

impl XbitState {
    /// An empty state holding at most `cap` bits.
    pub fn new(cap: usize) -> Self {
        XbitState {
            map: HashMap::new(),
            cap,
            now: 0,
            dropped: 0,
        }
    }

    /// Packet time in seconds, for expiry; call before matching.
    pub fn set_now(&mut self, secs: u64) {
        self.now = secs;
    }

    /// Bits held (some may have expired).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no bit is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bits not set because the state was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn key(track: XTrack, ctx: &PacketCtx<'_>) -> XKey {
        match track {
            XTrack::Src => XKey::Host(ctx.src_ip),
            XTrack::Dst => XKey::Host(ctx.dst_ip),
            XTrack::Pair => XKey::Pair(ctx.src_ip.min(ctx.dst_ip), ctx.src_ip.max(ctx.dst_ip)),
        }
    }

    /// Is xbit `id` set (and not expired) for the packet's host(s)?
    pub(crate) fn get(&self, id: u32, track: XTrack, ctx: &PacketCtx<'_>) -> bool {
        self.map
            .get(&(id, Self::key(track, ctx)))
            .is_some_and(|&exp| exp > self.now)
    }

    /// Set (`on`) with a lifetime of `expire` seconds, or clear.
    pub(crate) fn set(&mut self, id: u32, track: XTrack, ctx: &PacketCtx<'_>, on: bool, expire: u32) {
        let key = (id, Self::key(track, ctx));
        if !on {
            self.map.remove(&key);
            return;
        }
        if self.map.len() >= self.cap && !self.map.contains_key(&key) {
            let now = self.now;
            self.map.retain(|_, &mut exp| exp > now);
            if self.map.len() >= self.cap {
                self.dropped += 1;
                return;
            }
        }
        self.map.insert(key, self.now.saturating_add(u64::from(expire)));
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
    /// Threshold-file suppressions and rate filters apply here too; a
    /// rate filter whose `new_action pass` holds passes the packet, as
    /// Suricata does: that alert and those after it (in rule order) are
    /// dropped.
    pub fn filter(&mut self, set: &RuleSet, ctx: &PacketCtx<'_>, now: u64, hits: &mut Vec<u32>) {
        let mut passed = false;
        hits.retain(|&r| {
            if passed {
                return false;
            }
            let (suppress, rates) = set.filters_of(r);
            if suppress.iter().any(|s| suppressed(s, ctx)) {
                return false;
            }
            let thresholds_ok = set
                .thresholds_of(r)
                .iter()
                .enumerate()
                .all(|(k, t)| self.check(r, k as u8, t, ctx, now));
            // Every rate filter counts the match; a `pass` one that holds
            // drops the alert.
            let mut pass = false;
            for (k, rf) in rates.iter().enumerate() {
                let key = (r, RATE_SLOT.saturating_add(k as u8), ctx);
                if self.rate(key, rf, now) && rf.pass {
                    pass = true;
                }
            }
            passed = pass;
            thresholds_ok && !pass
        });
    }

    /// Count a match against a rate filter; true while its new action holds.
    fn rate(&mut self, (rule, k, ctx): (u32, u8, &PacketCtx<'_>), rf: &RateFilter, now: u64) -> bool {
        let (a, b) = track_key(rf.track, ctx);
        let key = (rule, k, a, b);
        if self.map.len() >= MAX_ENTRIES && !self.map.contains_key(&key) {
            self.map
                .retain(|_, e| now.saturating_sub(e.start) < u64::from(e.seconds));
            if self.map.len() >= MAX_ENTRIES {
                return false;
            }
        }
        // `count` holds matches in the window, or u32::MAX while the new
        // action holds (then `start` is when it began, `seconds` the timeout).
        let e = self.map.entry(key).or_insert(Entry {
            start: now,
            count: 0,
            seconds: rf.seconds,
        });
        if e.count == u32::MAX {
            if now.saturating_sub(e.start) < u64::from(rf.timeout) {
                return true;
            }
            *e = Entry {
                start: now,
                count: 0,
                seconds: rf.seconds,
            };
        }
        if now.saturating_sub(e.start) >= u64::from(rf.seconds) {
            *e = Entry {
                start: now,
                count: 0,
                seconds: rf.seconds,
            };
        }
        e.count = e.count.saturating_add(1);
        if e.count > rf.count {
            *e = Entry {
                start: now,
                count: u32::MAX,
                seconds: rf.timeout.max(1),
            };
            return true;
        }
        false
    }

    fn check(
        &mut self,
        rule: u32,
        k: u8,
        t: &crate::keywords::state::Threshold,
        ctx: &PacketCtx<'_>,
        now: u64,
    ) -> bool {
        let (a, b) = track_key(t.track, ctx);
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

/// Threshold slots from here on are rate filters (the rule's own
/// thresholds use slots from 0).
const RATE_SLOT: u8 = 128;

/// The addresses a track keys on.
fn track_key(track: Track, ctx: &PacketCtx<'_>) -> (Option<IpAddr>, Option<IpAddr>) {
    match track {
        Track::BySrc => (Some(ctx.src_ip), None),
        Track::ByDst => (Some(ctx.dst_ip), None),
        Track::ByRule => (None, None),
        Track::ByBoth => (Some(ctx.src_ip), Some(ctx.dst_ip)),
    }
}

/// Does a threshold-file `suppress` silence this alert?
fn suppressed(s: &Suppress, ctx: &PacketCtx<'_>) -> bool {
    match &s.by {
        None => true,
        Some((SupTrack::Src, set)) => set.contains(ctx.src_ip),
        Some((SupTrack::Dst, set)) => set.contains(ctx.dst_ip),
        Some((SupTrack::Either, set)) => set.contains(ctx.src_ip) || set.contains(ctx.dst_ip),
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
