//! Rule options, one module per keyword family (as Suricata has one
//! `detect-*.c` per keyword): [`meta`] (msg, sid, ...), [`content`]
//! (content and its modifiers), [`flow`], [`uint`] (dsize, ttl, itype,
//! icode), [`tcp`] (flags) and `sameip` here. A new family adds a module
//! and a line in [`apply`].

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

pub(crate) mod base64;
pub(crate) mod byte;
pub(crate) mod content;
pub(crate) mod event;
pub(crate) mod flow;
mod known;
pub(crate) mod meta;
pub(crate) mod packet;
pub(crate) mod pcre;
pub(crate) mod state;
pub(crate) mod tcp;
pub(crate) mod transform;
pub(crate) mod uint;

use crate::buffer::{self, BufferId};
use crate::classification::{Classification, Classifications};
use crate::error::{reason, SpanError};
use crate::inspect::{IsDataAt, Item};
use byte::VarNames;
use content::Content;
use flow::FlowMatch;
use state::{FlowbitsDraft, Threshold};
use tcp::FlagsMatch;
use transform::Transform;
use uint::UintMatch;

/// One `name[:value];` option of a rule, with byte offsets into the rule text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Opt<'t> {
    /// Keyword, lowercase.
    pub name: &'t str,
    pub name_at: usize,
    /// Value with surrounding whitespace removed.
    pub value: Option<&'t str>,
    pub value_at: usize,
}

impl Opt<'_> {
    /// An error at the keyword.
    pub fn err(&self, reason: &'static str, message: impl Into<String>) -> SpanError {
        SpanError::new(self.name_at, reason, message)
    }

    /// An error `rel` bytes into the value.
    pub fn err_value(&self, rel: usize, reason: &'static str, message: impl Into<String>) -> SpanError {
        SpanError::new(self.value_at + rel, reason, message)
    }

    /// The value, or an error when the keyword has none.
    pub fn value(&self) -> Result<&str, SpanError> {
        match self.value {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(self.err(reason::BAD_VALUE, format!("'{}' needs a value", self.name))),
        }
    }

    /// An error when a flag keyword was given a value.
    pub fn no_value(&self) -> Result<(), SpanError> {
        match self.value {
            None => Ok(()),
            Some(_) => Err(self.err_value(0, reason::BAD_VALUE, format!("'{}' takes no value", self.name))),
        }
    }
}

#[cfg(test)]
impl Opt<'static> {
    /// An option at offset 0, for keyword tests.
    pub(crate) fn test(name: &'static str, value: Option<&'static str>) -> Self {
        Opt {
            name,
            name_at: 0,
            value,
            value_at: 0,
        }
    }
}

/// The items of one inspection buffer (with its transforms) while parsing.
#[derive(Clone, Debug)]
pub(crate) struct BufList {
    pub id: BufferId,
    pub transforms: Vec<Transform>,
    pub items: Vec<Item>,
    /// `bsize` / `urilen` checks on the (transformed) buffer length.
    pub sizes: Vec<UintMatch>,
}

/// Everything the options of one rule say, before compiling.
#[derive(Clone, Debug)]
pub(crate) struct Draft {
    pub msg: Option<String>,
    /// The sid and the offset of its keyword.
    pub sid: Option<(u32, usize)>,
    pub rev: Option<u32>,
    pub gid: Option<u32>,
    pub priority: Option<u8>,
    pub classtype: Option<Classification>,
    pub references: Vec<(String, String)>,
    pub metadata: Vec<(String, String)>,
    pub lists: Vec<BufList>,
    /// Buffer that new items go to (sticky buffer or the payload).
    cur_id: BufferId,
    /// Index in `lists` of the current list, once an item or transform made it.
    cur: Option<usize>,
    /// The last content: (list, item).
    last: Option<(usize, usize)>,
    items: usize,
    pub vars: VarNames,
    pub flow: Option<FlowMatch>,
    pub dsize: Option<UintMatch>,
    pub ttl: Option<UintMatch>,
    pub itype: Option<UintMatch>,
    pub icode: Option<UintMatch>,
    pub flags: Option<FlagsMatch>,
    pub sameip: bool,
    pub flowbits: Vec<FlowbitsDraft>,
    pub noalert: bool,
    pub thresholds: Vec<Threshold>,
    pub packet: packet::PacketDraft,
    /// A `base64_decode` was given (its `base64_data` may follow).
    pub base64_decode: bool,
    pub xbits: Vec<state::XbitsDraft>,
    pub flowints: Vec<state::FlowintDraft>,
    /// Events named by decode-event / stream-event / app-layer-event.
    pub events: event::EventSet,
}

impl Default for Draft {
    fn default() -> Self {
        Draft {
            msg: None,
            sid: None,
            rev: None,
            gid: None,
            priority: None,
            classtype: None,
            references: Vec::new(),
            metadata: Vec::new(),
            lists: Vec::new(),
            cur_id: BufferId::Payload,
            cur: None,
            last: None,
            items: 0,
            vars: Vec::new(),
            flow: None,
            dsize: None,
            ttl: None,
            itype: None,
            icode: None,
            flags: None,
            sameip: false,
            flowbits: Vec::new(),
            noalert: false,
            thresholds: Vec::new(),
            packet: packet::PacketDraft::default(),
            base64_decode: false,
            xbits: Vec::new(),
            flowints: Vec::new(),
            events: event::EventSet::EMPTY,
        }
    }
}

impl Draft {
    /// Index of the untransformed list of `id`, created when missing.
    fn list_of(&mut self, id: BufferId) -> usize {
        if let Some(k) = self
            .lists
            .iter()
            .position(|l| l.id == id && l.transforms.is_empty())
        {
            return k;
        }
        self.lists.push(BufList {
            id,
            transforms: Vec::new(),
            items: Vec::new(),
            sizes: Vec::new(),
        });
        self.lists.len() - 1
    }

    /// The current list (sticky buffer or payload), created when missing.
    fn current(&mut self) -> usize {
        match self.cur {
            Some(k) if k < self.lists.len() => k,
            _ => {
                let k = self.list_of(self.cur_id);
                self.cur = Some(k);
                k
            }
        }
    }

    fn push_item(&mut self, opt: &Opt<'_>, list: usize, item: Item) -> Result<(), SpanError> {
        if self.items >= content::MAX_CONTENTS {
            return Err(opt.err(
                reason::BAD_VALUE,
                format!(
                    "more than {} inspection keywords in one rule",
                    content::MAX_CONTENTS
                ),
            ));
        }
        let is_content = matches!(item, Item::Content(_));
        let Some(l) = self.lists.get_mut(list) else {
            return Err(opt.err(reason::SYNTAX, "internal: no buffer list"));
        };
        l.items.push(item);
        self.items += 1;
        if is_content {
            self.last = Some((list, l.items.len() - 1));
        }
        Ok(())
    }

    fn last_content(&mut self, opt: &Opt<'_>) -> Result<&mut Content, SpanError> {
        let need = || {
            opt.err(
                reason::SYNTAX,
                format!("'{}' needs a preceding content", opt.name),
            )
        };
        let (l, i) = self.last.ok_or_else(need)?;
        match self.lists.get_mut(l).and_then(|l| l.items.get_mut(i)) {
            Some(Item::Content(c)) => Ok(c),
            _ => Err(need()),
        }
    }

    fn any_fast_pattern(&self) -> bool {
        self.lists
            .iter()
            .flat_map(|l| &l.items)
            .any(|i| matches!(i, Item::Content(c) if c.fast_pattern.is_some()))
    }

    /// `content:"x"; http_uri;`: move the last content into `id`'s list.
    fn move_last(&mut self, opt: &Opt<'_>, id: BufferId) -> Result<(), SpanError> {
        let (l, i) = self.last.ok_or_else(|| {
            opt.err(
                reason::SYNTAX,
                format!("'{}' needs a preceding content", opt.name),
            )
        })?;
        let from = self.lists.get(l).map(|x| (x.id, x.items.len()));
        match from {
            Some((fid, _)) if fid == id => Ok(()),
            Some((BufferId::Payload, n)) if n == i + 1 => {
                let item = self.lists.get_mut(l).and_then(|x| x.items.pop());
                let Some(item) = item else {
                    return Err(opt.err(reason::SYNTAX, "internal: content vanished"));
                };
                let to = self.list_of(id);
                if let Some(x) = self.lists.get_mut(to) {
                    x.items.push(item);
                    self.last = Some((to, x.items.len() - 1));
                }
                Ok(())
            }
            _ => Err(opt.err(
                reason::CONFLICT,
                format!("'{}' cannot apply to a content in another buffer", opt.name),
            )),
        }
    }
}

/// Keywords accepted without effect on detection.
const IGNORED: &[&str] = &["rawbytes", "target", "tag", "requires", "prefilter", "bypass"];

/// Apply one option to the draft.
pub(crate) fn apply(opt: &Opt<'_>, d: &mut Draft, classes: &Classifications) -> Result<(), SpanError> {
    match opt.name {
        "msg" | "sid" | "rev" | "gid" | "priority" | "classtype" | "reference" | "metadata" => {
            meta::apply(opt, d, classes)
        }
        "content" | "uricontent" => {
            let c = content::parse(opt)?;
            let list = if opt.name == "uricontent" {
                d.list_of(BufferId::HttpUri)
            } else {
                d.current()
            };
            d.push_item(opt, list, Item::Content(c))
        }
        "nocase" | "offset" | "depth" | "distance" | "within" | "fast_pattern" | "startswith"
        | "endswith" => {
            let any_fast = d.any_fast_pattern();
            content::modifier(opt, d.last_content(opt)?, any_fast)
        }
        "base64_decode" => {
            if d.cur_id == BufferId::Base64Data {
                return Err(opt.err(reason::CONFLICT, "base64_decode cannot inspect base64_data"));
            }
            if d.base64_decode {
                return Err(opt.err(reason::CONFLICT, "only one base64_decode per rule"));
            }
            let b = base64::keyword(opt)?;
            let list = d.current();
            d.base64_decode = true;
            d.push_item(opt, list, Item::Base64Decode(Box::new(b)))
        }
        "base64_data" => {
            opt.no_value()?;
            if !d.base64_decode {
                return Err(opt.err(reason::SYNTAX, "base64_data needs a preceding base64_decode"));
            }
            d.cur_id = BufferId::Base64Data;
            d.cur = None;
            Ok(())
        }
        "xbits" => {
            d.xbits.push(state::xbits(opt)?);
            Ok(())
        }
        "flowint" => {
            d.flowints.push(state::flowint(opt)?);
            Ok(())
        }
        "pkt_data" => {
            opt.no_value()?;
            d.cur_id = BufferId::Payload;
            d.cur = None;
            Ok(())
        }
        "pcre" => {
            let p = pcre::keyword(opt)?;
            let list = match p.buffer {
                Some(b) => d.list_of(b),
                None => d.current(),
            };
            d.push_item(opt, list, Item::Pcre(Box::new(p)))
        }
        "isdataat" => {
            let v = opt.value()?;
            let (n, rest) = match v.split_once(',') {
                Some((n, r)) => (n.trim(), Some(r.trim())),
                None => (v.trim(), None),
            };
            let (negated, n) = match n.strip_prefix('!') {
                Some(r) => (true, r.trim()),
                None => (false, n),
            };
            let n = byte::value_or_var(n, &d.vars)
                .filter(|n| !matches!(n, byte::Val::Lit(x) if *x < 0))
                .ok_or_else(|| opt.err_value(0, reason::BAD_VALUE, format!("bad isdataat value '{v}'")))?;
            let relative = match rest {
                None => false,
                Some("relative") => true,
                Some(r) => {
                    return Err(opt.err_value(0, reason::BAD_VALUE, format!("unknown isdataat option '{r}'")))
                }
            };
            let list = d.current();
            d.push_item(opt, list, Item::IsDataAt(IsDataAt { n, relative, negated }))
        }
        "byte_test" => {
            let b = byte::byte_test(opt, &d.vars)?;
            let list = d.current();
            d.push_item(opt, list, Item::ByteTest(b))
        }
        "byte_jump" => {
            let b = byte::byte_jump(opt, &d.vars)?;
            let list = d.current();
            d.push_item(opt, list, Item::ByteJump(b))
        }
        "byte_extract" => {
            let b = byte::byte_extract(opt, &mut d.vars)?;
            let list = d.current();
            d.push_item(opt, list, Item::ByteExtract(b))
        }
        "byte_math" => {
            let b = byte::byte_math(opt, &mut d.vars)?;
            let list = d.current();
            d.push_item(opt, list, Item::ByteMath(b))
        }
        "bsize" => {
            let mut m = None;
            uint::keyword(opt, &mut m, u32::MAX)?;
            let list = d.current();
            if let (Some(l), Some(m)) = (d.lists.get_mut(list), m) {
                l.sizes.push(m);
            }
            Ok(())
        }
        "urilen" => {
            let v = opt.value()?;
            let (n, raw) = match v.split_once(',') {
                Some((n, "raw")) => (n, true),
                Some((n, "norm")) => (n, false),
                Some(_) => {
                    return Err(opt.err_value(0, reason::BAD_VALUE, "urilen option must be raw or norm"))
                }
                None => (v, false),
            };
            let m = uint::parse(n, u32::MAX)
                .map_err(|e| opt.err_value(0, reason::BAD_VALUE, format!("bad urilen '{v}': {e}")))?;
            let list = d.list_of(if raw {
                BufferId::HttpRawUri
            } else {
                BufferId::HttpUri
            });
            if let Some(l) = d.lists.get_mut(list) {
                l.sizes.push(m);
            }
            Ok(())
        }
        "flow" => flow::keyword(opt, &mut d.flow),
        "dsize" => uint::keyword(opt, &mut d.dsize, u32::from(u16::MAX)),
        "ttl" => uint::keyword(opt, &mut d.ttl, u32::from(u8::MAX)),
        "itype" => uint::keyword(opt, &mut d.itype, u32::from(u8::MAX)),
        "icode" => uint::keyword(opt, &mut d.icode, u32::from(u8::MAX)),
        "flags" => tcp::keyword(opt, &mut d.flags),
        "sameip" => {
            opt.no_value()?;
            d.sameip = true;
            Ok(())
        }
        "flowbits" => {
            match state::flowbits(opt)? {
                Some(f) => d.flowbits.push(f),
                None => d.noalert = true,
            }
            Ok(())
        }
        "noalert" => {
            opt.no_value()?;
            d.noalert = true;
            Ok(())
        }
        "threshold" | "detection_filter" => {
            let t = state::threshold(opt, opt.name == "detection_filter")?;
            d.thresholds.push(t);
            Ok(())
        }
        name if IGNORED.contains(&name) => Ok(()),
        name => {
            if let Some(r) = packet::apply(opt, &mut d.packet) {
                return r;
            }
            if let Some(r) = event::apply(opt, &mut d.events) {
                return r;
            }
            if let Some(id) = buffer::legacy_modifier(name) {
                return d.move_last(opt, id);
            }
            if let Some(t) = transform::parse(opt) {
                let t = t?;
                if d.cur_id == BufferId::Base64Data {
                    return Err(opt.err(reason::CONFLICT, "transforms do not apply to base64_data"));
                }
                let k = d.current();
                let fresh = d
                    .lists
                    .get(k)
                    .is_some_and(|l| l.items.is_empty() && l.sizes.is_empty());
                if !fresh {
                    // Transforms make a buffer of their own.
                    let id = d.cur_id;
                    d.lists.push(BufList {
                        id,
                        transforms: Vec::new(),
                        items: Vec::new(),
                        sizes: Vec::new(),
                    });
                    d.cur = Some(d.lists.len() - 1);
                }
                let k = d.current();
                if let Some(l) = d.lists.get_mut(k) {
                    l.transforms.push(t);
                }
                return Ok(());
            }
            if let Some(id) = BufferId::from_name(name).filter(|&b| b != BufferId::Base64Data) {
                if opt.value.is_none() {
                    d.cur_id = id;
                    d.cur = None;
                    return Ok(());
                }
            }
            let (r, what) = if known::is_suricata_keyword(name) {
                (reason::UNSUPPORTED_KEYWORD, "unsupported")
            } else {
                (reason::UNKNOWN_KEYWORD, "unknown")
            };
            let mut e = opt.err(r, format!("{what} keyword '{name}'"));
            e.keyword = Some(name.to_string());
            Err(e)
        }
    }
}
