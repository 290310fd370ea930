//! A compiled rule: header, packet checks, content chain and the pattern
//! the prefilter looks for; plus [`RuleMeta`], what outputs report.

use crate::header::{Action, Header};
use crate::inspect::Chain;
use crate::keywords::content::find_nocase;
use crate::keywords::flow::FlowMatch;
use crate::keywords::tcp::FlagsMatch;
use crate::keywords::uint::UintMatch;
use crate::parse::Parsed;
use crate::PacketCtx;

/// What the engine and outputs need to know about a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleMeta {
    /// The header's action.
    pub action: Action,
    /// Generator id; 1 unless the rule says otherwise.
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// 0 when the rule has no rev.
    pub rev: u32,
    /// `msg`, unescaped; empty when the rule has none.
    pub msg: String,
    /// `classtype` short name (lowercase).
    pub classtype: Option<String>,
    /// The classtype's description (EVE `alert.category`).
    pub category: Option<String>,
    /// `priority` keyword, else the classtype's, else 3 (EVE `alert.severity`).
    pub priority: u8,
    /// `metadata` key/value pairs in rule order.
    pub metadata: Vec<(String, String)>,
    /// `reference` (system, id) pairs in rule order.
    pub references: Vec<(String, String)>,
    /// Source name the rule came from.
    pub source: String,
    /// 1-based line of the rule's first line.
    pub line: usize,
    /// The rule text (continuation lines joined).
    pub text: String,
}

/// The prefilter pattern of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FastPattern {
    /// Lowercase when `nocase`.
    pub bytes: Vec<u8>,
    pub nocase: bool,
}

/// A rule ready to verify against a packet.
#[derive(Clone, Debug)]
pub(crate) struct Rule {
    pub header: Header,
    pub flow: Option<FlowMatch>,
    pub dsize: Option<UintMatch>,
    pub ttl: Option<UintMatch>,
    pub itype: Option<UintMatch>,
    pub icode: Option<UintMatch>,
    pub flags: Option<FlagsMatch>,
    pub sameip: bool,
    pub chain: Chain,
    pub fast: Option<FastPattern>,
}

impl Rule {
    /// Compile a parsed rule; returns the rule and its metadata.
    pub fn compile(p: Parsed, source: &str, line: usize, text: &str) -> (Rule, RuleMeta) {
        let d = p.draft;
        let chain = Chain::new(d.contents);
        let fast = pick_fast_pattern(&chain);
        let priority = d
            .priority
            .or(d.classtype.as_ref().map(|c| c.priority))
            .unwrap_or(3);
        let meta = RuleMeta {
            action: p.header.action,
            gid: d.gid.unwrap_or(1),
            sid: d.sid.map_or(0, |s| s.0),
            rev: d.rev.unwrap_or(0),
            msg: d.msg.unwrap_or_default(),
            classtype: d.classtype.as_ref().map(|c| c.name.clone()),
            category: d.classtype.map(|c| c.description),
            priority,
            metadata: d.metadata,
            references: d.references,
            source: source.to_string(),
            line,
            text: text.trim().to_string(),
        };
        let rule = Rule {
            header: p.header,
            flow: d.flow,
            dsize: d.dsize,
            ttl: d.ttl,
            itype: d.itype,
            icode: d.icode,
            flags: d.flags,
            sameip: d.sameip,
            chain,
            fast,
        };
        (rule, meta)
    }

    /// Full verification, assuming the prefilter has seen the rule's fast
    /// pattern (see [`Rule::fast_pattern_is_new`] for the stream condition
    /// the prefilter stands for). `new_from` is already clamped to the buffer.
    pub fn verify(&self, ctx: &PacketCtx<'_>, new_from: usize) -> bool {
        let h = &self.header;
        h.proto.matches(ctx)
            && self.flow.is_none_or(|f| f.matches(ctx))
            && self.flags.is_none_or(|f| f.matches(ctx.tcp_flags))
            && self
                .dsize
                .is_none_or(|m| m.matches(u32::try_from(ctx.dsize).unwrap_or(u32::MAX)))
            && self.ttl.is_none_or(|m| m.matches(u32::from(ctx.ttl)))
            && self
                .itype
                .is_none_or(|m| ctx.icmp_type_code.is_some_and(|(t, _)| m.matches(u32::from(t))))
            && self
                .icode
                .is_none_or(|m| ctx.icmp_type_code.is_some_and(|(_, c)| m.matches(u32::from(c))))
            && (!self.sameip || ctx.src_ip == ctx.dst_ip)
            && h.matches_endpoints(ctx)
            && self.chain.matches(ctx.buffer, new_from)
    }

    /// The stream condition the prefilter enforces: with `new_from > 0`, a
    /// rule with a fast pattern is only a candidate when that pattern
    /// occurs ending after `new_from`.
    pub fn fast_pattern_is_new(&self, buf: &[u8], new_from: usize) -> bool {
        let Some(fp) = &self.fast else { return true };
        if new_from == 0 {
            return true;
        }
        let start = new_from.saturating_sub(fp.bytes.len().saturating_sub(1));
        let Some(hay) = buf.get(start..) else { return false };
        if fp.nocase {
            find_nocase(hay, &fp.bytes).is_some()
        } else {
            memchr::memmem::find(hay, &fp.bytes).is_some()
        }
    }
}

/// The content marked `fast_pattern` (if positive), else the longest
/// positive content; of equal lengths the last, since later contents of a
/// relative chain are the ones that complete a match in new stream data.
fn pick_fast_pattern(chain: &Chain) -> Option<FastPattern> {
    let positive = || chain.items.iter().filter(|c| !c.negated);
    let chosen = positive().find(|c| c.fast_pattern.is_some()).or_else(|| {
        positive().fold(None, |best: Option<&_>, c| match best {
            Some(b) if b.pattern.len() > c.pattern.len() => Some(b),
            _ => Some(c),
        })
    })?;
    Some(FastPattern {
        bytes: chosen.fast_bytes().to_vec(),
        nocase: chosen.nocase,
    })
}
