//! Prefilter: one Aho-Corasick automaton per protocol group over each
//! rule's fast pattern (a second, ASCII case-insensitive one for `nocase`
//! patterns), built once. At match time the automata pick the candidate
//! rules; rules without a positive content are always candidates.
//!
//! Groups: TCP, UDP, ICMP (v4 and v6) and other IP protocols. An `ip` rule
//! sits in every group; an app-layer rule in TCP and UDP.

use crate::header::IpProto;
use crate::rule::Rule;
use aho_corasick::{AhoCorasick, MatchKind};
use std::collections::HashMap;

pub(crate) const GROUPS: usize = 4;

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
        IpProto::Any => &[0, 1, 2, 3],
        IpProto::Tcp => &[0],
        IpProto::Udp => &[1],
        IpProto::Icmp | IpProto::Icmp4 | IpProto::Icmp6 => &[2],
        IpProto::Sctp => &[3],
        IpProto::TcpUdp => &[0, 1],
    }
}

/// One protocol group's automata.
#[derive(Debug, Default)]
pub(crate) struct Group {
    /// Case-sensitive patterns: ids `0..ci_base`.
    pub cs: Option<AhoCorasick>,
    /// Case-insensitive patterns: ids `ci_base..`.
    pub ci: Option<AhoCorasick>,
    pub ci_base: usize,
    /// Rules of pattern `p`: `rules[offsets[p]..offsets[p + 1]]`.
    offsets: Vec<u32>,
    rules: Vec<u32>,
    /// Rules that are always candidates, ascending.
    pub always: Vec<u32>,
    /// Longest pattern, for the stream overlap.
    pub max_len: usize,
}

impl Group {
    pub fn pattern_count(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn rules_of(&self, pattern: usize) -> &[u32] {
        let (Some(&a), Some(&b)) = (self.offsets.get(pattern), self.offsets.get(pattern + 1)) else {
            return &[];
        };
        self.rules.get(a as usize..b as usize).unwrap_or(&[])
    }
}

/// Per-group pattern lists while building.
#[derive(Default)]
struct Collect {
    cs: Vec<Vec<u8>>,
    ci: Vec<Vec<u8>>,
    cs_rules: Vec<Vec<u32>>,
    ci_rules: Vec<Vec<u32>>,
    index: HashMap<(Vec<u8>, bool), usize>,
    always: Vec<u32>,
}

impl Collect {
    fn add(&mut self, bytes: &[u8], nocase: bool, rule: u32) {
        let key = (bytes.to_vec(), nocase);
        let (pats, rules) = if nocase {
            (&mut self.ci, &mut self.ci_rules)
        } else {
            (&mut self.cs, &mut self.cs_rules)
        };
        let id = *self.index.entry(key).or_insert_with(|| {
            pats.push(bytes.to_vec());
            rules.push(Vec::new());
            pats.len() - 1
        });
        if let Some(r) = rules.get_mut(id) {
            r.push(rule);
        }
    }

    fn build(mut self) -> Group {
        let automaton = |pats: &[Vec<u8>], nocase: bool| {
            if pats.is_empty() {
                return Ok(None);
            }
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(nocase)
                .build(pats)
                .map(Some)
        };
        let (cs, ci) = match (automaton(&self.cs, false), automaton(&self.ci, true)) {
            (Ok(cs), Ok(ci)) => (cs, ci),
            // Too large to build: every rule of the group is verified instead.
            _ => {
                let mut all: Vec<u32> = self
                    .cs_rules
                    .iter()
                    .chain(&self.ci_rules)
                    .flatten()
                    .copied()
                    .collect();
                all.append(&mut self.always);
                all.sort_unstable();
                all.dedup();
                return Group {
                    always: all,
                    offsets: vec![0],
                    ..Group::default()
                };
            }
        };
        let max_len = self.cs.iter().chain(&self.ci).map(Vec::len).max().unwrap_or(0);
        let mut offsets = vec![0u32];
        let mut rules = Vec::new();
        for r in self.cs_rules.iter().chain(&self.ci_rules) {
            rules.extend_from_slice(r);
            offsets.push(u32::try_from(rules.len()).unwrap_or(u32::MAX));
        }
        self.always.sort_unstable();
        Group {
            cs,
            ci,
            ci_base: self.cs.len(),
            offsets,
            rules,
            always: self.always,
            max_len,
        }
    }
}

/// All groups.
#[derive(Debug, Default)]
pub(crate) struct Prefilter {
    pub groups: [Group; GROUPS],
}

impl Prefilter {
    pub fn build(rules: &[Rule]) -> Prefilter {
        let mut collect: [Collect; GROUPS] = Default::default();
        for (i, rule) in rules.iter().enumerate() {
            let Ok(id) = u32::try_from(i) else { break };
            for &g in groups_of(rule) {
                let Some(c) = collect.get_mut(g) else { continue };
                match &rule.fast {
                    Some(fp) => c.add(&fp.bytes, fp.nocase, id),
                    None => c.always.push(id),
                }
            }
        }
        Prefilter {
            groups: collect.map(Collect::build),
        }
    }

    pub fn max_patterns(&self) -> usize {
        self.groups.iter().map(Group::pattern_count).max().unwrap_or(0)
    }
}
