//! A compiled rule: header, packet checks, one inspection chain per buffer
//! and the pattern the prefilter looks for; plus [`RuleMeta`], what
//! outputs report.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::buffer::BufferId;
use crate::header::{Action, Header};
use crate::inspect::Chain;
use crate::keywords::content::find_nocase;
use crate::keywords::event::EventSet;
use crate::keywords::flow::FlowMatch;
use crate::keywords::packet::PacketDraft;
use crate::keywords::state::{BitCmd, IntOp, IntVal, Threshold, XTrack};
use crate::keywords::tcp::FlagsMatch;
use crate::keywords::transform::Transform;
use crate::keywords::uint::UintMatch;
use crate::keywords::BufList;
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
    /// The rule never alerts (`noalert`, `flowbits:noalert`); it still
    /// sets flowbits when it matches.
    pub noalert: bool,
}

/// The prefilter pattern of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FastPattern {
    /// Lowercase when `nocase`.
    pub bytes: Vec<u8>,
    pub nocase: bool,
    /// The buffer the pattern is searched in.
    pub buf: BufferId,
}

/// One buffer's chain (other than the untransformed payload).
#[derive(Clone, Debug)]
pub(crate) struct BufChain {
    pub id: BufferId,
    pub transforms: Vec<Transform>,
    pub sizes: Vec<UintMatch>,
    pub chain: Chain,
}

/// Reusable buffers for transforms.
#[derive(Clone, Debug, Default)]
pub(crate) struct TransformBufs {
    a: Vec<u8>,
    b: Vec<u8>,
}

fn sizes_ok(sizes: &[UintMatch], len: usize) -> bool {
    sizes
        .iter()
        .all(|m| m.matches(u32::try_from(len).unwrap_or(u32::MAX)))
}

impl BufChain {
    fn matches_data(&self, data: &[u8], tmp: &mut TransformBufs) -> bool {
        let data = if self.transforms.is_empty() {
            data
        } else {
            let TransformBufs { a, b } = tmp;
            let mut first = true;
            for t in &self.transforms {
                if first {
                    t.apply(data, a);
                    first = false;
                } else {
                    std::mem::swap(a, b);
                    t.apply(b, a);
                }
            }
            a.as_slice()
        };
        sizes_ok(&self.sizes, data.len()) && self.chain.matches(data, 0)
    }

    /// Does any instance of the buffer in `ctx` match?
    fn matches(&self, ctx: &PacketCtx<'_>, tmp: &mut TransformBufs) -> bool {
        if self.id == BufferId::Payload {
            return self.matches_data(ctx.buffer, tmp);
        }
        ctx.app_buffers
            .iter()
            .any(|&(id, data)| id == self.id && self.matches_data(data, tmp))
    }
}

/// A compiled flowbits operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FlowbitOp {
    pub cmd: BitCmd,
    pub ids: Vec<u32>,
    pub all: bool,
}

/// A compiled xbits operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct XbitOp {
    pub cmd: BitCmd,
    pub id: u32,
    pub track: XTrack,
    pub expire: u32,
}

/// A compiled flowint operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FlowintOp {
    pub id: u32,
    pub op: IntOp,
    pub value: Option<IntVal<u32>>,
}

/// Numbers for flowbit, flowint and xbit names, shared by a rule set.
#[derive(Debug, Default)]
pub(crate) struct VarIds {
    pub bits: std::collections::HashMap<String, u32>,
    pub ints: std::collections::HashMap<String, u32>,
    pub xbits: std::collections::HashMap<String, u32>,
}

fn name_id(map: &mut std::collections::HashMap<String, u32>, name: &str) -> u32 {
    let n = u32::try_from(map.len()).unwrap_or(u32::MAX);
    *map.entry(name.to_string()).or_insert(n)
}

/// Names in id order.
pub(crate) fn names_by_id(map: std::collections::HashMap<String, u32>) -> Vec<String> {
    let mut v: Vec<(String, u32)> = map.into_iter().collect();
    v.sort_by_key(|x| x.1);
    v.into_iter().map(|x| x.0).collect()
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
    pub packet: Option<Box<PacketDraft>>,
    /// Events the packet must carry (decode-event, stream-event, ...).
    pub events: EventSet,
    /// The untransformed payload chain.
    pub chain: Chain,
    pub payload_sizes: Vec<UintMatch>,
    /// Every other buffer's chain.
    pub bufs: Vec<BufChain>,
    pub fast: Option<FastPattern>,
    pub flowbits: Vec<FlowbitOp>,
    pub xbits: Vec<XbitOp>,
    pub flowints: Vec<FlowintOp>,
    pub thresholds: Vec<Threshold>,
    /// From the threshold file.
    pub suppress: Vec<crate::threshold_file::Suppress>,
    pub rates: Vec<crate::threshold_file::RateFilter>,
}

impl Rule {
    /// Compile a parsed rule; `ids` numbers flowbit, flowint and xbit names.
    pub fn compile(p: Parsed, source: &str, line: usize, text: &str, ids: &mut VarIds) -> (Rule, RuleMeta) {
        let d = p.draft;
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
            noalert: d.noalert,
        };
        let mut chain = Chain::default();
        let mut payload_sizes = Vec::new();
        let mut bufs = Vec::new();
        // base64_data keywords become the chain of the base64_decode item.
        let mut b64_items = Vec::new();
        let mut lists = d.lists;
        lists.retain_mut(|l| {
            if l.id == BufferId::Base64Data {
                b64_items.append(&mut l.items);
                false
            } else {
                true
            }
        });
        if !b64_items.is_empty() {
            let then = Chain::new(b64_items);
            if let Some(b) = lists
                .iter_mut()
                .flat_map(|l| l.items.iter_mut())
                .find_map(|i| match i {
                    crate::inspect::Item::Base64Decode(b) => Some(b),
                    _ => None,
                })
            {
                b.then = then;
            }
        }
        for BufList {
            id,
            transforms,
            items,
            sizes,
        } in lists
        {
            if id == BufferId::Payload && transforms.is_empty() {
                chain = Chain::new(items);
                payload_sizes = sizes;
            } else {
                bufs.push(BufChain {
                    id,
                    transforms,
                    sizes,
                    chain: Chain::new(items),
                });
            }
        }
        let fast = pick_fast_pattern(&chain, &bufs);
        let flowbits = d
            .flowbits
            .into_iter()
            .map(|f| FlowbitOp {
                cmd: f.cmd,
                ids: f.names.iter().map(|n| name_id(&mut ids.bits, n)).collect(),
                all: f.all,
            })
            .collect();
        let xbits = d
            .xbits
            .into_iter()
            .map(|x| XbitOp {
                cmd: x.cmd,
                id: name_id(&mut ids.xbits, &x.name),
                track: x.track,
                expire: x.expire,
            })
            .collect();
        let flowints = d
            .flowints
            .into_iter()
            .map(|f| FlowintOp {
                id: name_id(&mut ids.ints, &f.name),
                op: f.op,
                value: f.value.map(|v| match v {
                    IntVal::Lit(n) => IntVal::Lit(n),
                    IntVal::Var(n) => IntVal::Var(name_id(&mut ids.ints, &n)),
                }),
            })
            .collect();
        let rule = Rule {
            header: p.header,
            flow: d.flow,
            dsize: d.dsize,
            ttl: d.ttl,
            itype: d.itype,
            icode: d.icode,
            flags: d.flags,
            sameip: d.sameip,
            packet: (!d.packet.is_empty()).then(|| Box::new(d.packet)),
            events: d.events,
            chain,
            payload_sizes,
            bufs,
            fast,
            flowbits,
            xbits,
            flowints,
            thresholds: d.thresholds,
            suppress: Vec::new(),
            rates: Vec::new(),
        };
        (rule, meta)
    }

    /// Full verification (without flowbits), assuming the prefilter has
    /// seen the rule's fast pattern (see [`Rule::fast_pattern_is_new`] for
    /// the stream condition the prefilter stands for). `new_from` is
    /// already clamped to the buffer.
    pub fn verify(&self, ctx: &PacketCtx<'_>, new_from: usize, tmp: &mut TransformBufs) -> bool {
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
            && self
                .packet
                .as_ref()
                .is_none_or(|p| p.matches(ctx.ip_proto, &ctx.fields))
            && ctx.fields.events.contains_all(self.events)
            && h.matches_endpoints(ctx)
            && sizes_ok(&self.payload_sizes, ctx.buffer.len())
            && self.chain.matches(ctx.buffer, new_from)
            && self.bufs.iter().all(|b| b.matches(ctx, tmp))
    }

    /// Does the rule inspect an app-layer buffer (not only the payload)?
    pub fn inspects_app_buffer(&self) -> bool {
        self.bufs.iter().any(|b| b.id != BufferId::Payload)
    }

    /// Does any pcre of the rule run on PCRE2?
    pub fn uses_backtracking(&self) -> bool {
        std::iter::once(&self.chain)
            .chain(self.bufs.iter().map(|b| &b.chain))
            .flat_map(|c| &c.items)
            .any(|i| matches!(i, crate::inspect::Item::Pcre(p) if p.backtracking()))
    }

    /// The stream condition the prefilter enforces: with `new_from > 0`, a
    /// rule with a payload fast pattern is only a candidate when that
    /// pattern occurs ending after `new_from`.
    pub fn fast_pattern_is_new(&self, buf: &[u8], new_from: usize) -> bool {
        let Some(fp) = &self.fast else { return true };
        if new_from == 0 || fp.buf != BufferId::Payload {
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

/// Longest prefilter pattern; longer contents are searched by their end.
const MAX_FAST_PATTERN: usize = 255;

/// A content the prefilter could use: its buffer, whether it is marked
/// `fast_pattern`, and the bytes (and case rule) to search.
type FastCandidate<'a> = (BufferId, bool, (&'a [u8], bool));

/// The content marked `fast_pattern` (if positive), else the longest
/// positive content of a buffer the prefilter can search; of equal lengths
/// the last, since later contents of a relative chain are the ones that
/// complete a match in new stream data.
///
/// A buffer with transforms is searched untransformed when the transforms
/// keep a known part of each match (see [`untransformed`]): `dns.query;
/// dotprefix; content:".example.com"` is found by `example.com` in the
/// query name.
fn pick_fast_pattern(payload: &Chain, bufs: &[BufChain]) -> Option<FastPattern> {
    let lists = std::iter::once((BufferId::Payload, payload, &[][..])).chain(
        bufs.iter()
            .filter(|b| b.id != BufferId::Base64Data)
            .map(|b| (b.id, &b.chain, b.transforms.as_slice())),
    );
    let positive: Vec<FastCandidate<'_>> = lists
        .flat_map(|(id, ch, ts)| {
            ch.contents().filter(|c| !c.negated).filter_map(move |c| {
                let bytes = if ts.is_empty() {
                    c.fast_bytes()
                } else {
                    &c.pattern[..]
                };
                untransformed(bytes, c.nocase, ts).map(|p| (id, c.fast_pattern.is_some(), p))
            })
        })
        .filter(|(_, _, (b, _))| !b.is_empty())
        .collect();
    let chosen = positive.iter().find(|x| x.1).or_else(|| {
        positive
            .iter()
            .fold(None, |best: Option<&(BufferId, bool, _)>, x| match best {
                Some(b) if b.2 .0.len() > x.2 .0.len() => Some(b),
                _ => Some(x),
            })
    })?;
    let (id, _, (bytes, nocase)) = *chosen;
    // A long content is searched by its last bytes: they end where the
    // content ends, so the stream condition (a match ending in new data)
    // holds for them exactly when it holds for the whole content.
    let bytes = bytes
        .get(bytes.len().saturating_sub(MAX_FAST_PATTERN)..)
        .unwrap_or(bytes);
    Some(FastPattern {
        bytes: if nocase {
            bytes.to_ascii_lowercase()
        } else {
            bytes.to_vec()
        },
        nocase,
        buf: id,
    })
}

/// The part of `pattern` (and its case rule) that must occur in a buffer
/// before `transforms` for `pattern` to occur after them; `None` when a
/// transform rewrites bytes in a way that leaves no such part.
fn untransformed<'p>(pattern: &'p [u8], nocase: bool, transforms: &[Transform]) -> Option<(&'p [u8], bool)> {
    let (mut bytes, mut nocase) = (pattern, nocase);
    for t in transforms.iter().rev() {
        match t {
            // A match in "." + data leaves all but its first byte in data.
            Transform::Dotprefix => bytes = bytes.get(1..)?,
            Transform::ToLowercase | Transform::ToUppercase | Transform::HeaderLowercase => nocase = true,
            _ => return None,
        }
    }
    Some((bytes, nocase))
}
