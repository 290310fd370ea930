//! Prefilter: one Aho-Corasick automaton per protocol group over the rules'
//! fast patterns, built once. At match time it picks the candidate rules;
//! rules without a positive content are always candidates.
//!
//! One automaton serves case-sensitive and `nocase` patterns alike: it
//! matches ASCII case-insensitively, and each case-sensitive pattern is
//! confirmed with a byte comparison at the match. That halves the scans
//! compared with a second automaton, and only matches (rare) pay for it.
//!
//! Groups: TCP, UDP, ICMP (v4 and v6) and other IP protocols. An `ip` rule
//! sits in every group; an app-layer rule in TCP and UDP.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::buffer::BufferId;
use crate::fdr::Fdr;
use crate::header::IpProto;
use crate::hostindex::HostIndex;
use crate::rule::Rule;
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use std::collections::HashMap;

pub(crate) const GROUPS: usize = 4;

/// Pattern bytes (≈ automaton states) up to which a DFA is built: at
/// states x byte classes x 4 bytes, a DFA past this no longer stays in
/// cache and [`Fdr`] outruns it.
const DFA_MAX_STATES: usize = 4_000;

/// Group of a packet's IP protocol.
pub(crate) fn group_of(ip_proto: u8) -> usize {
    match ip_proto {
        6 => 0,
        17 => 1,
        1 | 58 => 2,
        _ => 3,
    }
}

fn groups_of(rule: &Rule) -> &'static [usize] {
    match rule.header.proto.ip {
        IpProto::Any | IpProto::Ipv4 | IpProto::Ipv6 => &[0, 1, 2, 3],
        IpProto::Tcp => &[0],
        IpProto::Udp => &[1],
        IpProto::Icmp | IpProto::Icmp4 | IpProto::Icmp6 => &[2],
        IpProto::Sctp => &[3],
        IpProto::TcpUdp => &[0, 1],
    }
}

/// Groups too large for a small DFA use [`Fdr`], which outruns both the
/// automaton's NFA and a DFA that misses cache on ET Open's pattern sets.
/// Every group does in the crate's unit tests, so the
/// prefilter-equals-naive property covers it.
const FDR_FOR_ALL: bool = cfg!(test);

/// A group's pattern searcher.
#[derive(Debug)]
pub(crate) enum Matcher {
    Ac(AhoCorasick),
    Fdr(Fdr),
}

impl Matcher {
    /// Calls `f(pattern, start, end)` for occurrences of the patterns in
    /// `hay`, ASCII case-insensitively: every occurrence, except that a
    /// one-byte pattern may be reported only at its first occurrence per
    /// byte value ending after `min_end` (all the prefilter needs).
    #[inline]
    pub fn for_each_match(&self, hay: &[u8], min_end: usize, mut f: impl FnMut(usize, usize, usize)) {
        match self {
            Matcher::Ac(ac) => {
                for m in ac.find_overlapping_iter(hay) {
                    f(m.pattern().as_usize(), m.start(), m.end());
                }
            }
            Matcher::Fdr(m) => m.for_each_match(hay, min_end, f),
        }
    }
}

/// One spelling of an automaton pattern: `exact` bytes for case-sensitive
/// patterns, `None` for `nocase` ones.
#[derive(Debug)]
pub(crate) struct Variant {
    pub exact: Option<Box<[u8]>>,
    rules: (u32, u32),
}

/// One protocol group's automaton and pattern -> rules map.
#[derive(Debug, Default)]
pub(crate) struct Group {
    pub matcher: Option<Matcher>,
    /// Automaton pattern -> range of `variants`.
    keys: Vec<(u32, u32)>,
    pub variants: Vec<Variant>,
    rules: Vec<u32>,
    /// Rules that are always candidates, ascending.
    pub always: Vec<u32>,
    /// Rules without a fast pattern whose source (or, in `by_dst`,
    /// destination) is a small IPv4 set, by address: address-reputation
    /// rules are candidates only for packets from (to) their hosts.
    pub by_src: HostIndex,
    pub by_dst: HostIndex,
    /// Rules without a fast pattern whose source (destination) ports are
    /// a narrower part of all ports than either address set is of IPv4,
    /// by port: `$HOME_NET any -> any 445 (flags:S; ...)` is a candidate
    /// for packets to port 445 only, as in Suricata's port groups.
    pub by_sport: HostIndex,
    pub by_dport: HostIndex,
    /// Longest pattern, for the stream overlap.
    pub max_len: usize,
    /// Offset of this group's variants in the per-match stamps.
    pub variant_base: usize,
}

impl Group {
    /// Variant ids of automaton pattern `key`.
    pub fn variants_of(&self, key: usize) -> std::ops::Range<usize> {
        self.keys.get(key).map_or(0..0, |&(a, b)| a as usize..b as usize)
    }

    pub fn rules_of(&self, v: &Variant) -> &[u32] {
        self.rules
            .get(v.rules.0 as usize..v.rules.1 as usize)
            .unwrap_or(&[])
    }
}

/// Spellings of one lowercased pattern while building: exact bytes (or
/// `None` for nocase) and their rules.
type Spellings = Vec<(Option<Vec<u8>>, Vec<u32>)>;

/// Per-group pattern lists while building.
#[derive(Default)]
struct Collect {
    /// Lowercased pattern -> its spellings.
    keys: Vec<(Vec<u8>, Spellings)>,
    index: HashMap<Vec<u8>, usize>,
    always: Vec<u32>,
    /// (first, last, rule) address ranges.
    by_src: Vec<(u32, u32, u32)>,
    by_dst: Vec<(u32, u32, u32)>,
    by_sport: Vec<(u32, u32, u32)>,
    by_dport: Vec<(u32, u32, u32)>,
}

/// Largest address set (a 64th of IPv4) a rule without fast pattern is
/// indexed by; `$EXTERNAL_NET` and the like are far larger. A port set is
/// indexed up to the same share of all ports (1,024 ports).
const HOST_INDEX_LIMIT: u64 = 1 << 26;

/// Inclusive ranges of addresses or ports.
type Ranges32 = Vec<(u32, u32)>;

/// Which header field a rule without fast pattern is indexed by.
#[derive(Clone, Copy)]
enum Key {
    Src,
    Dst,
    Sport,
    Dport,
}

impl Collect {
    fn add(&mut self, bytes: &[u8], nocase: bool, rule: u32) {
        let lower = bytes.to_ascii_lowercase();
        let keys = &mut self.keys;
        let k = *self.index.entry(lower.clone()).or_insert_with(|| {
            keys.push((lower, Vec::new()));
            keys.len() - 1
        });
        let Some((_, variants)) = self.keys.get_mut(k) else {
            return;
        };
        let exact = (!nocase).then(|| bytes.to_vec());
        match variants.iter_mut().find(|(e, _)| *e == exact) {
            Some((_, rules)) => rules.push(rule),
            None => variants.push((exact, vec![rule])),
        }
    }

    /// A rule with no fast pattern: indexed by the narrowest of its source
    /// and destination address sets (IPv4 only) and port sets, each taken
    /// as a share of all addresses or all ports, when that share is at
    /// most [`HOST_INDEX_LIMIT`] of IPv4's; else always a candidate. So a
    /// reputation list is indexed by its hosts, and `$HOME_NET any -> any
    /// 445` by its port rather than by `$HOME_NET`, where most traffic is.
    fn add_unpatterned(&mut self, rule: &Rule, id: u32) {
        let h = &rule.header;
        if !h.bidir {
            // Sizes scaled to IPv4: an address counts 1, a port 2^16.
            // (size, ranges, field) of the narrowest so far.
            let mut best: Option<(u64, Ranges32, Key)> = None;
            for (set, key) in [(&h.src, Key::Src), (&h.dst, Key::Dst)] {
                if let Some(ranges) = set.v4_ranges(HOST_INDEX_LIMIT) {
                    let n = ranges.iter().map(|&(lo, hi)| u64::from(hi - lo) + 1).sum();
                    if best.as_ref().is_none_or(|b| n < b.0) {
                        best = Some((n, ranges.to_vec(), key));
                    }
                }
            }
            for (set, key) in [(&h.sport, Key::Sport), (&h.dport, Key::Dport)] {
                let n = set.count() << 16;
                if !set.is_any() && n <= HOST_INDEX_LIMIT && best.as_ref().is_none_or(|b| n < b.0) {
                    let ranges = set
                        .ranges()
                        .iter()
                        .map(|&(lo, hi)| (u32::from(lo), u32::from(hi)));
                    best = Some((n, ranges.collect(), key));
                }
            }
            if let Some((_, ranges, key)) = best {
                let index = match key {
                    Key::Src => &mut self.by_src,
                    Key::Dst => &mut self.by_dst,
                    Key::Sport => &mut self.by_sport,
                    Key::Dport => &mut self.by_dport,
                };
                index.extend(ranges.iter().map(|&(lo, hi)| (lo, hi, id)));
                return;
            }
        }
        self.always.push(id);
    }

    fn build(mut self) -> Group {
        let index = |ranges: Vec<(u32, u32, u32)>, always: &mut Vec<u32>| {
            HostIndex::build(&ranges).unwrap_or_else(|| {
                // Too many entries: those rules are evaluated everywhere.
                always.extend(ranges.iter().map(|r| r.2));
                HostIndex::default()
            })
        };
        let by_src = index(std::mem::take(&mut self.by_src), &mut self.always);
        let by_dst = index(std::mem::take(&mut self.by_dst), &mut self.always);
        let by_sport = index(std::mem::take(&mut self.by_sport), &mut self.always);
        let by_dport = index(std::mem::take(&mut self.by_dport), &mut self.always);
        self.always.sort_unstable();
        self.always.dedup();
        let mut g = self.build_patterns();
        g.by_src = by_src;
        g.by_dst = by_dst;
        g.by_sport = by_sport;
        g.by_dport = by_dport;
        g
    }

    fn build_patterns(mut self) -> Group {
        if self.keys.is_empty() {
            return Group {
                always: self.always,
                ..Group::default()
            };
        }
        let pats: Vec<&[u8]> = self.keys.iter().map(|(k, _)| k.as_slice()).collect();
        let states: usize = pats.iter().map(|p| p.len()).sum();
        let matcher = if FDR_FOR_ALL || states > DFA_MAX_STATES {
            Fdr::new(&pats).map(Matcher::Fdr)
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(true)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&pats)
                .ok()
                .map(Matcher::Ac)
        };
        let Some(matcher) = matcher else {
            // Too large to build: every rule of the group is verified instead.
            let mut all: Vec<u32> = self
                .keys
                .iter()
                .flat_map(|(_, v)| v.iter().flat_map(|(_, r)| r.clone()))
                .collect();
            all.append(&mut self.always);
            all.sort_unstable();
            all.dedup();
            return Group {
                always: all,
                ..Group::default()
            };
        };
        let max_len = pats.iter().map(|p| p.len()).max().unwrap_or(0);
        let mut g = Group {
            matcher: Some(matcher),
            always: self.always,
            max_len,
            ..Group::default()
        };
        let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        for (_, variants) in self.keys {
            let first = g.variants.len();
            for (exact, rules) in variants {
                let start = g.rules.len();
                g.rules.extend_from_slice(&rules);
                g.variants.push(Variant {
                    exact: exact.map(Vec::into_boxed_slice),
                    rules: (n(start), n(g.rules.len())),
                });
            }
            g.keys.push((n(first), n(g.variants.len())));
        }
        g
    }
}

/// All groups: one per (protocol group, buffer).
#[derive(Debug, Default)]
pub(crate) struct Prefilter {
    groups: Vec<Group>,
    total_variants: usize,
}

/// Packet directions: rules with `flow:to_server` or `to_client` are only
/// in their direction's groups, as Suricata splits its signature groups,
/// so a response body is not searched for patterns of request rules.
const DIRS: usize = 2;

fn slot(g: usize, to_server: bool, buf: BufferId) -> usize {
    (g * DIRS + usize::from(!to_server)) * BufferId::COUNT + buf.prefilter_slot().index()
}

/// The directions a rule can match in.
fn dirs_of(rule: &Rule) -> &'static [bool] {
    match rule.flow.and_then(|f| f.to_server) {
        Some(true) => &[true],
        Some(false) => &[false],
        None => &[true, false],
    }
}

impl Prefilter {
    pub fn build(rules: &[Rule]) -> Prefilter {
        let mut collect: Vec<Collect> = (0..GROUPS * DIRS * BufferId::COUNT)
            .map(|_| Collect::default())
            .collect();
        for (i, rule) in rules.iter().enumerate() {
            let Ok(id) = u32::try_from(i) else { break };
            for &g in groups_of(rule) {
                for &dir in dirs_of(rule) {
                    let slot = |buf| slot(g, dir, buf);
                    match &rule.fast {
                        Some(fp) => {
                            if let Some(c) = collect.get_mut(slot(fp.buf)) {
                                c.add(&fp.bytes, fp.nocase, id);
                            }
                        }
                        None => match rule.bufs.iter().find(|b| b.id != BufferId::Payload) {
                            // It can only match where that buffer is inspected.
                            Some(b) => {
                                if let Some(c) = collect.get_mut(slot(b.id)) {
                                    c.always.push(id);
                                }
                            }
                            None => {
                                if let Some(c) = collect.get_mut(slot(BufferId::Payload)) {
                                    c.add_unpatterned(rule, id);
                                }
                            }
                        },
                    }
                }
            }
        }
        let mut groups: Vec<Group> = collect.into_iter().map(Collect::build).collect();
        let mut base = 0;
        for g in &mut groups {
            g.variant_base = base;
            base += g.variants.len();
        }
        Prefilter {
            groups,
            total_variants: base,
        }
    }

    /// The group for protocol group `g`, the packet's direction and buffer
    /// `buf`.
    pub fn group(&self, g: usize, to_server: bool, buf: BufferId) -> Option<&Group> {
        self.groups.get(slot(g, to_server, buf))
    }

    /// Variants of all groups (sizes the per-worker stamps).
    pub fn total_variants(&self) -> usize {
        self.total_variants
    }
}
