//! Building a [`RuleSet`] from rule files, and matching packets against it.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::buffer::BufferId;
use crate::classification::Classifications;
use crate::error::{reason, LoadError, LoadReport, SpanError};
use crate::header::GroupCache;
use crate::keywords::state::BitCmd;
use crate::parse::parse_rule;
use crate::prefilter::{group_of, Prefilter};
use crate::rule::TransformBufs;
use crate::rule::{names_by_id, Rule, RuleMeta, VarIds};
use crate::source::{logical_rules, LogicalRule};
pub use crate::state::{FlowVars, ThresholdState, XbitState};
use crate::vars::Vars;
use std::collections::HashSet;
use std::net::IpAddr;
use std::path::Path;

/// What the engine knows about the packet (or stream chunk) being inspected.
#[derive(Clone, Copy, Debug)]
pub struct PacketCtx<'a> {
    /// IP protocol number (6 TCP, 17 UDP, 1/58 ICMP, ...).
    pub ip_proto: u8,
    /// Source address of this packet.
    pub src_ip: IpAddr,
    /// Destination address of this packet.
    pub dst_ip: IpAddr,
    /// Source port (0 without ports).
    pub src_port: u16,
    /// Destination port (0 without ports).
    pub dst_port: u16,
    /// IP TTL / hop limit.
    pub ttl: u8,
    /// TCP flags byte, for TCP packets.
    pub tcp_flags: Option<u8>,
    /// ICMP type and code, for ICMP packets.
    pub icmp_type_code: Option<(u8, u8)>,
    /// This packet's payload length.
    pub dsize: usize,
    /// The packet belongs to a tracked flow.
    pub has_flow: bool,
    /// Direction: client to server.
    pub to_server: bool,
    /// The flow is established.
    pub established: bool,
    /// "http", "tls", ...; `None` until the app layer is known.
    pub app_proto: Option<&'a str>,
    /// Bytes to inspect with content: packet payload, or stream window.
    pub buffer: &'a [u8],
    /// Bytes before this offset were already inspected (stream window); 0 for packets.
    pub new_from: usize,
    /// `buffer` is a reassembled stream window, not a packet payload.
    pub is_stream: bool,
    /// App-layer buffers of the transaction being inspected (a buffer may
    /// appear several times, e.g. one `DnsQuery` per query name). A rule
    /// that needs a buffer not present does not match. Pass each
    /// transaction's buffers once, not with every stream chunk.
    pub app_buffers: &'a [(BufferId, &'a [u8])],
    /// Header fields for `id`, `seq`, `fragbits`, `icmp_id`, ... keywords.
    pub fields: PacketFields,
}

/// Header fields some keywords compare; `None` (the default) when the
/// packet has no such field or the engine does not provide it, and then
/// rules using the keyword do not match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketFields {
    /// IPv4 identification (or IPv6 fragment id).
    pub ip_id: Option<u32>,
    /// Fragment flags: 1 MF, 2 DF, 4 reserved.
    pub frag_bits: Option<u8>,
    /// Fragment offset in 8-byte units.
    pub frag_offset: Option<u16>,
    /// TCP sequence number.
    pub tcp_seq: Option<u32>,
    /// TCP acknowledgement number.
    pub tcp_ack: Option<u32>,
    /// TCP window (unscaled).
    pub tcp_window: Option<u16>,
    /// TCP MSS option.
    pub tcp_mss: Option<u16>,
    /// ICMP echo identifier.
    pub icmp_id: Option<u16>,
    /// ICMP echo sequence.
    pub icmp_seq: Option<u16>,
    /// Stream bytes seen so far: (to server, to client).
    pub stream_bytes: Option<(u64, u64)>,
    /// Anomalies the engine raised for this packet (decode-event, ...).
    pub events: crate::EventSet,
}

/// Collects rules; bad rules are recorded, never fatal.
pub struct RuleSetBuilder {
    vars: Vars,
    classes: Classifications,
    cache: GroupCache,
    rules: Vec<Rule>,
    metas: Vec<RuleMeta>,
    seen: HashSet<(u32, u32)>,
    report: LoadReport,
    ids: VarIds,
    /// `threshold.config` entries, applied by [`RuleSetBuilder::build`].
    filters: Vec<crate::threshold_file::Entry>,
}

impl RuleSetBuilder {
    /// A builder resolving `$VARS` from `vars` and classtypes from `classes`.
    pub fn new(vars: Vars, classes: Classifications) -> Self {
        RuleSetBuilder {
            vars,
            classes,
            cache: GroupCache::default(),
            rules: Vec::new(),
            metas: Vec::new(),
            seen: HashSet::new(),
            report: LoadReport::default(),
            ids: VarIds::default(),
            filters: Vec::new(),
        }
    }

    /// Parse rules from text; `source_name` names them in errors and metadata.
    pub fn add_text(&mut self, source_name: &str, text: &str) {
        for lr in logical_rules(text) {
            if let Err(e) = self.add_one(source_name, &lr) {
                self.fail(source_name, &lr, e);
            }
        }
    }

    fn add_one(&mut self, source: &str, lr: &LogicalRule<'_>) -> Result<(), SpanError> {
        let parsed = parse_rule(&lr.text, &self.vars, &self.classes, &mut self.cache)?;
        if let Some((sid, at)) = parsed.draft.sid {
            let gid = parsed.draft.gid.unwrap_or(1);
            if !self.seen.insert((gid, sid)) {
                return Err(SpanError::new(
                    at,
                    reason::DUPLICATE_SID,
                    format!("duplicate sid {sid} (gid {gid})"),
                ));
            }
        }
        let (rule, meta) = Rule::compile(parsed, source, lr.first_line(), &lr.text, &mut self.ids);
        self.rules.push(rule);
        self.metas.push(meta);
        Ok(())
    }

    fn fail(&mut self, source: &str, lr: &LogicalRule<'_>, e: SpanError) {
        let (line, column) = lr.position(e.at);
        self.report.failed += 1;
        *self.report.by_reason.entry(e.reason.to_string()).or_default() += 1;
        if let Some(k) = &e.keyword {
            *self.report.by_keyword.entry(k.clone()).or_default() += 1;
        }
        self.report.errors.push(LoadError {
            file: source.to_string(),
            line,
            column,
            message: e.message,
            reason: e.reason,
        });
    }

    /// Load a rule file, or every `*.rules` file of a directory in name order.
    ///
    /// # Errors
    /// When the path (or a file in the directory) cannot be read.
    pub fn add_path(&mut self, path: &Path) -> std::io::Result<()> {
        if path.is_dir() {
            let mut files = Vec::new();
            for entry in std::fs::read_dir(path)? {
                let p = entry?.path();
                if p.is_file() && p.extension().is_some_and(|e| e == "rules") {
                    files.push(p);
                }
            }
            files.sort();
            for f in files {
                self.add_file(&f)?;
            }
            Ok(())
        } else {
            self.add_file(path)
        }
    }

    fn add_file(&mut self, path: &Path) -> std::io::Result<()> {
        let bytes = std::fs::read(path)?;
        let text = String::from_utf8_lossy(&bytes);
        self.add_text(&path.display().to_string(), &text);
        Ok(())
    }

    /// Read a `threshold.config` text (Suricata's `threshold-file`); its
    /// entries apply when the set is built, to rules loaded before or
    /// after. Returns the bad lines (file:line:col); the others are kept.
    pub fn add_threshold_text(&mut self, source_name: &str, text: &str) -> Vec<LoadError> {
        let (entries, errors) = crate::threshold_file::parse(source_name, text, &self.vars, &mut self.cache);
        self.filters.extend(entries);
        errors
    }

    /// [`RuleSetBuilder::add_threshold_text`] on a file.
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn add_threshold_file(&mut self, path: &Path) -> std::io::Result<Vec<LoadError>> {
        let bytes = std::fs::read(path)?;
        let text = String::from_utf8_lossy(&bytes);
        Ok(self.add_threshold_text(&path.display().to_string(), &text))
    }

    /// Compile the prefilter and freeze the set.
    pub fn build(mut self) -> (RuleSet, LoadReport) {
        crate::threshold_file::apply(&self.filters, &mut self.rules, &self.metas);
        self.report.loaded = self.rules.len();
        let prefilter = Prefilter::build(&self.rules);
        // Evaluation order: rules that set flowbits before rules that read
        // them, so a bit set by one packet's rule is seen by another rule
        // on the same packet (as Suricata orders signatures).
        // (xbits and flowint modifiers count as writes.)
        let class = |r: &Rule| {
            let test = |c: BitCmd| matches!(c, BitCmd::IsSet | BitCmd::IsNotSet);
            let reads = r.flowbits.iter().any(|f| test(f.cmd))
                || r.xbits.iter().any(|x| test(x.cmd))
                || r.flowints.iter().any(|f| !f.op.modifies());
            let writes = r.flowbits.iter().any(|f| !test(f.cmd))
                || r.xbits.iter().any(|x| !test(x.cmd))
                || r.flowints.iter().any(|f| f.op.modifies());
            match (writes, reads) {
                (true, false) => 0u8,
                (true, true) => 1,
                (false, true) => 3,
                (false, false) => 2,
            }
        };
        let mut order: Vec<u32> = (0..u32::try_from(self.rules.len()).unwrap_or(u32::MAX)).collect();
        order.sort_by_key(|&i| (self.rules.get(i as usize).map_or(2, class), i));
        let mut rank = vec![0u32; self.rules.len()];
        for (pos, &i) in order.iter().enumerate() {
            if let Some(r) = rank.get_mut(i as usize) {
                *r = u32::try_from(pos).unwrap_or(u32::MAX);
            }
        }
        let flowbit_words = self.ids.bits.len().div_ceil(64);
        let flowint_count = self.ids.ints.len();
        let mut inspected = vec![false; BufferId::COUNT];
        for r in &self.rules {
            let ids = r.bufs.iter().map(|b| b.id).chain(r.fast.as_ref().map(|f| f.buf));
            for id in ids {
                if let Some(x) = inspected.get_mut(id.index()) {
                    *x = true;
                }
            }
        }
        (
            RuleSet {
                inspected,
                rules: self.rules,
                metas: self.metas,
                prefilter,
                rank,
                flowbit_names: names_by_id(self.ids.bits),
                flowbit_words,
                flowint_names: names_by_id(self.ids.ints),
                flowint_count,
                xbit_names: names_by_id(self.ids.xbits),
            },
            self.report,
        )
    }
}

/// An immutable compiled rule set, shared by all workers.
pub struct RuleSet {
    rules: Vec<Rule>,
    metas: Vec<RuleMeta>,
    pub(crate) prefilter: Prefilter,
    /// Evaluation rank of each rule (flowbit setters first).
    rank: Vec<u32>,
    flowbit_names: Vec<String>,
    flowbit_words: usize,
    flowint_names: Vec<String>,
    flowint_count: usize,
    xbit_names: Vec<String>,
    /// Buffers some rule inspects, by [`BufferId::index`].
    inspected: Vec<bool>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

/// Per-worker buffers so matching allocates nothing in steady state.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    rule_stamp: Vec<u32>,
    pattern_stamp: Vec<u32>,
    generation: u32,
    candidates: Vec<u32>,
    tmp: TransformBufs,
}

impl Scratch {
    /// Start a new match: a fresh generation, sized for `rules`/`patterns`.
    fn begin(&mut self, rules: usize, patterns: usize) {
        if self.rule_stamp.len() < rules {
            self.rule_stamp.resize(rules, 0);
        }
        if self.pattern_stamp.len() < patterns {
            self.pattern_stamp.resize(patterns, 0);
        }
        if self.generation == u32::MAX {
            self.rule_stamp.fill(0);
            self.pattern_stamp.fill(0);
            self.generation = 0;
        }
        self.generation += 1;
        self.candidates.clear();
    }

    fn add(&mut self, rule: u32) {
        if let Some(s) = self.rule_stamp.get_mut(rule as usize) {
            if *s != self.generation {
                *s = self.generation;
                self.candidates.push(rule);
            }
        }
    }

    /// True when variant `v` already gave its rules in this match.
    fn seen_variant(&self, v: usize) -> bool {
        self.pattern_stamp.get(v) == Some(&self.generation)
    }

    fn mark_variant(&mut self, v: usize) {
        if let Some(s) = self.pattern_stamp.get_mut(v) {
            *s = self.generation;
        }
    }
}

impl RuleSet {
    /// Whether some rule inspects buffer `id`: the engine builds only
    /// those (an HTTP transaction has 30 buffers; a rule set may read 3).
    pub fn inspects(&self, id: BufferId) -> bool {
        self.inspected.get(id.index()).copied().unwrap_or(false)
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when no rule loaded.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Metadata of rule `idx`.
    ///
    /// # Panics
    /// When `idx >= self.len()`; indexes from [`RuleSet::match_packet`] are always valid.
    // The panic is this fn's documented contract (like slice indexing): callers pass
    // indexes this set produced (`match_packet` hits, `0..len()`); `get` is the checked form.
    #[allow(clippy::indexing_slicing)]
    pub fn meta(&self, idx: u32) -> &RuleMeta {
        &self.metas[idx as usize]
    }

    /// Metadata of rule `idx`, if it exists.
    pub fn get(&self, idx: u32) -> Option<&RuleMeta> {
        self.metas.get(idx as usize)
    }

    /// All rule metadata in index order.
    pub fn metas(&self) -> &[RuleMeta] {
        &self.metas
    }

    /// Buffers for one worker.
    pub fn new_scratch(&self) -> Scratch {
        let mut s = Scratch {
            candidates: Vec::with_capacity(self.rules.len()),
            ..Scratch::default()
        };
        s.begin(self.rules.len(), self.prefilter.total_variants());
        s
    }

    /// Replace `hits` with the indexes of the rules that match, ascending.
    /// Flowbit conditions see no flow state (`isset` fails, `isnotset`
    /// passes); see [`RuleSet::match_packet_flow`].
    pub fn match_packet(&self, ctx: &PacketCtx<'_>, scratch: &mut Scratch, hits: &mut Vec<u32>) {
        self.match_packet_flow(ctx, scratch, hits, None);
    }

    /// As [`RuleSet::match_packet`], reading and updating the flow's
    /// flowbits. Rules that match but are `noalert` update flowbits and
    /// are left out of `hits`.
    pub fn match_packet_flow(
        &self,
        ctx: &PacketCtx<'_>,
        scratch: &mut Scratch,
        hits: &mut Vec<u32>,
        flow: Option<&mut FlowVars>,
    ) {
        self.match_packet_state(ctx, scratch, hits, flow, None);
    }

    /// As [`RuleSet::match_packet_flow`], also reading and updating the
    /// worker's xbits (`xbits` conditions fail / `isnotset` passes without
    /// it). Call [`XbitState::set_now`] with the packet time first.
    pub fn match_packet_state(
        &self,
        ctx: &PacketCtx<'_>,
        scratch: &mut Scratch,
        hits: &mut Vec<u32>,
        flow: Option<&mut FlowVars>,
        xbits: Option<&mut XbitState>,
    ) {
        self.match_inner(ctx, scratch, hits, flow, xbits, false);
    }

    /// As [`RuleSet::match_packet_state`] for a finished transaction
    /// (`ctx.app_buffers`), considering only the rules that inspect an
    /// app-layer buffer: packet rules had their turn on the packet, and
    /// their flowbits/flowints/xbits are not applied twice.
    pub fn match_tx_state(
        &self,
        ctx: &PacketCtx<'_>,
        scratch: &mut Scratch,
        hits: &mut Vec<u32>,
        flow: Option<&mut FlowVars>,
        xbits: Option<&mut XbitState>,
    ) {
        self.match_inner(ctx, scratch, hits, flow, xbits, true);
    }

    fn match_inner(
        &self,
        ctx: &PacketCtx<'_>,
        scratch: &mut Scratch,
        hits: &mut Vec<u32>,
        mut flow: Option<&mut FlowVars>,
        mut xbits: Option<&mut XbitState>,
        tx_only: bool,
    ) {
        hits.clear();
        if self.rules.is_empty() {
            return;
        }
        let g = group_of(ctx.ip_proto);
        scratch.begin(self.rules.len(), self.prefilter.total_variants());
        let buf = ctx.buffer;
        let new_from = ctx.new_from.min(buf.len());
        if let Some(group) = self.prefilter.group(g, ctx.to_server, BufferId::Payload) {
            prefilter_scan(group, buf, new_from, scratch);
            for &r in &group.always {
                // Only rules whose automaton could not be built have a fast
                // pattern here; they still owe the stream condition.
                if self
                    .rules
                    .get(r as usize)
                    .is_some_and(|rule| rule.fast_pattern_is_new(buf, new_from))
                {
                    scratch.add(r);
                }
            }
            // Rules without a fast pattern: only those naming this
            // packet's hosts or ports.
            for (index, ip) in [(&group.by_src, ctx.src_ip), (&group.by_dst, ctx.dst_ip)] {
                if let std::net::IpAddr::V4(a) = ip {
                    for &r in index.lookup(u32::from(a)) {
                        scratch.add(r);
                    }
                }
            }
            for (index, port) in [(&group.by_sport, ctx.src_port), (&group.by_dport, ctx.dst_port)] {
                for &r in index.lookup(u32::from(port)) {
                    scratch.add(r);
                }
            }
        }
        for (i, &(id, data)) in ctx.app_buffers.iter().enumerate() {
            // Buffers sharing an automaton are scanned once per content:
            // the same slice, or equal bytes however the caller stored them
            // (the engine copies each transaction's buffers).
            let slot = id.prefilter_slot();
            let earlier = ctx.app_buffers.get(..i).unwrap_or_default();
            if earlier
                .iter()
                .any(|&(e, d)| e.prefilter_slot() == slot && (std::ptr::eq(d, data) || d == data))
            {
                continue;
            }
            if let Some(group) = self.prefilter.group(g, ctx.to_server, id) {
                prefilter_scan(group, data, 0, scratch);
                for &r in &group.always {
                    scratch.add(r);
                }
            }
        }
        let rank = &self.rank;
        scratch
            .candidates
            .sort_unstable_by_key(|&r| rank.get(r as usize).copied().unwrap_or(u32::MAX));
        let Scratch { candidates, tmp, .. } = scratch;
        for &r in candidates.iter() {
            let Some(rule) = self.rules.get(r as usize) else {
                continue;
            };
            if tx_only && !rule.inspects_app_buffer() {
                continue;
            }
            if rule.verify(ctx, new_from, tmp)
                && self.state_apply(rule, ctx, flow.as_deref_mut(), xbits.as_deref_mut())
                && !self.metas.get(r as usize).is_some_and(|m| m.noalert)
            {
                hits.push(r);
            }
        }
        hits.sort_unstable();
    }

    /// Check a matched rule's flowbit and xbit conditions, then run its
    /// flowint operations in order (a failing comparison ends the rule);
    /// when all hold, apply its flowbit/xbit set/unset/toggle and return
    /// true.
    fn state_apply(
        &self,
        rule: &crate::rule::Rule,
        ctx: &PacketCtx<'_>,
        mut flow: Option<&mut FlowVars>,
        xbits: Option<&mut XbitState>,
    ) -> bool {
        if rule.flowbits.is_empty() && rule.xbits.is_empty() && rule.flowints.is_empty() {
            return true;
        }
        for x in &rule.xbits {
            let is = xbits.as_ref().is_some_and(|s| s.get(x.id, x.track, ctx));
            let ok = match x.cmd {
                BitCmd::IsSet => is,
                BitCmd::IsNotSet => !is,
                _ => true,
            };
            if !ok {
                return false;
            }
        }
        if !self.flowbits_apply(rule, flow.as_deref_mut()) {
            return false;
        }
        for f in &rule.flowints {
            if !self.flowint_apply(f, flow.as_deref_mut()) {
                return false;
            }
        }
        if let Some(s) = xbits {
            for x in &rule.xbits {
                match x.cmd {
                    BitCmd::Set => s.set(x.id, x.track, ctx, true, x.expire),
                    BitCmd::Unset => s.set(x.id, x.track, ctx, false, 0),
                    BitCmd::Toggle => {
                        let on = !s.get(x.id, x.track, ctx);
                        s.set(x.id, x.track, ctx, on, x.expire);
                    }
                    _ => {}
                }
            }
        }
        true
    }

    /// One flowint operation: a comparison's result, or true after a change.
    fn flowint_apply(&self, f: &crate::rule::FlowintOp, flow: Option<&mut FlowVars>) -> bool {
        use crate::keywords::state::{IntOp, IntVal};
        let cur = flow.as_ref().and_then(|v| v.int(f.id));
        let val = match &f.value {
            None => None,
            Some(IntVal::Lit(n)) => Some(*n),
            Some(IntVal::Var(id)) => match flow.as_ref().and_then(|v| v.int(*id)) {
                Some(n) => Some(n),
                // The other variable is not set: no match.
                None => return false,
            },
        };
        let cmp = |t: fn(u32, u32) -> bool| matches!((cur, val), (Some(c), Some(v)) if t(c, v));
        match f.op {
            IntOp::IsSet => cur.is_some(),
            IntOp::NotSet => cur.is_none(),
            IntOp::Eq => cmp(|a, b| a == b),
            IntOp::Ne => cmp(|a, b| a != b),
            IntOp::Lt => cmp(|a, b| a < b),
            IntOp::Gt => cmp(|a, b| a > b),
            IntOp::Le => cmp(|a, b| a <= b),
            IntOp::Ge => cmp(|a, b| a >= b),
            IntOp::Assign | IntOp::Add | IntOp::Sub => {
                let Some(v) = val else { return false };
                let new = match (f.op, cur) {
                    (IntOp::Add, Some(c)) => c.wrapping_add(v),
                    (IntOp::Sub, Some(c)) => c.wrapping_sub(v),
                    // Assign, or + / - on an unset variable: the value.
                    _ => v,
                };
                if let Some(fl) = flow {
                    fl.set_int(f.id, new, self.flowint_count);
                }
                true
            }
        }
    }

    /// Check a matched rule's flowbit conditions; when they hold, apply its
    /// set/unset/toggle and return true.
    fn flowbits_apply(&self, rule: &crate::rule::Rule, flow: Option<&mut FlowVars>) -> bool {
        if rule.flowbits.is_empty() {
            return true;
        }
        let is = |flow: &Option<&mut FlowVars>, id: u32| flow.as_ref().is_some_and(|f| f.get(id));
        for op in &rule.flowbits {
            let ok = match (op.cmd, op.all) {
                (BitCmd::IsSet, false) => op.ids.iter().any(|&i| is(&flow, i)),
                (BitCmd::IsSet, true) => op.ids.iter().all(|&i| is(&flow, i)),
                (BitCmd::IsNotSet, false) => op.ids.iter().any(|&i| !is(&flow, i)),
                (BitCmd::IsNotSet, true) => op.ids.iter().all(|&i| !is(&flow, i)),
                _ => true,
            };
            if !ok {
                return false;
            }
        }
        if let Some(f) = flow {
            for op in &rule.flowbits {
                for &i in &op.ids {
                    match op.cmd {
                        BitCmd::Set => f.set(i, true, self.flowbit_words),
                        BitCmd::Unset => f.set(i, false, self.flowbit_words),
                        BitCmd::Toggle => {
                            let v = f.get(i);
                            f.set(i, !v, self.flowbit_words);
                        }
                        _ => {}
                    }
                }
            }
        }
        true
    }

    /// Does rule `idx` run a pattern on the backtracking engine (PCRE2)?
    pub fn uses_backtracking(&self, idx: u32) -> bool {
        self.rules
            .get(idx as usize)
            .is_some_and(crate::rule::Rule::uses_backtracking)
    }

    /// Flowbit names, indexed by id.
    pub fn flowbit_names(&self) -> &[String] {
        &self.flowbit_names
    }

    /// Flowint names, indexed by id ([`FlowVars::int`]).
    pub fn flowint_names(&self) -> &[String] {
        &self.flowint_names
    }

    /// Xbit names, indexed by id.
    pub fn xbit_names(&self) -> &[String] {
        &self.xbit_names
    }

    /// Rule `idx`'s threshold-file suppressions and rate filters.
    pub(crate) fn filters_of(
        &self,
        idx: u32,
    ) -> (
        &[crate::threshold_file::Suppress],
        &[crate::threshold_file::RateFilter],
    ) {
        self.rules
            .get(idx as usize)
            .map_or((&[], &[]), |r| (&r.suppress, &r.rates))
    }

    /// Rule `idx`'s thresholds (for [`ThresholdState`]).
    pub(crate) fn thresholds_of(&self, idx: u32) -> &[crate::keywords::state::Threshold] {
        self.rules.get(idx as usize).map_or(&[], |r| &r.thresholds)
    }

    /// Every rule verified in turn, without the prefilter: the reference
    /// the prefilter must agree with (tests and debugging only).
    pub fn match_packet_naive(&self, ctx: &PacketCtx<'_>, hits: &mut Vec<u32>) {
        hits.clear();
        let new_from = ctx.new_from.min(ctx.buffer.len());
        let mut tmp = TransformBufs::default();
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.fast_pattern_is_new(ctx.buffer, new_from)
                && rule.verify(ctx, new_from, &mut tmp)
                && self.state_apply(rule, ctx, None, None)
                && !self.metas.get(i).is_some_and(|m| m.noalert)
            {
                hits.push(i as u32);
            }
        }
    }
}

/// Add the rules whose automaton patterns occur in `buf` (ending after
/// `new_from` when it is not 0).
fn prefilter_scan(group: &crate::prefilter::Group, buf: &[u8], new_from: usize, scratch: &mut Scratch) {
    let Some(matcher) = &group.matcher else { return };
    if buf.is_empty() {
        return;
    }
    let start = if new_from > 0 {
        new_from.saturating_sub(group.max_len.saturating_sub(1))
    } else {
        0
    };
    let hay = buf.get(start..).unwrap_or_default();
    matcher.for_each_match(hay, new_from.saturating_sub(start), |pattern, m_start, m_end| {
        if new_from > 0 && start + m_end <= new_from {
            return;
        }
        for vi in group.variants_of(pattern) {
            let Some(v) = group.variants.get(vi) else { continue };
            let stamp = group.variant_base + vi;
            if scratch.seen_variant(stamp) {
                continue;
            }
            if let Some(exact) = &v.exact {
                if hay.get(m_start..m_end) != Some(&exact[..]) {
                    continue;
                }
            }
            scratch.mark_variant(stamp);
            for &r in group.rules_of(v) {
                scratch.add(r);
            }
        }
    });
}
