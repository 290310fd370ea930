//! Rule options, one module per keyword family (as Suricata has one
//! `detect-*.c` per keyword): [`meta`] (msg, sid, ...), [`content`]
//! (content and its modifiers), [`flow`], [`uint`] (dsize, ttl, itype,
//! icode), [`tcp`] (flags) and `sameip` here. A new family adds a module
//! and a line in [`apply`].

pub(crate) mod content;
pub(crate) mod flow;
mod known;
pub(crate) mod meta;
pub(crate) mod tcp;
pub(crate) mod uint;

use crate::classification::{Classification, Classifications};
use crate::error::{reason, SpanError};
use content::Content;
use flow::FlowMatch;
use tcp::FlagsMatch;
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

/// Everything the options of one rule say, before compiling.
#[derive(Clone, Debug, Default)]
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
    pub contents: Vec<Content>,
    pub flow: Option<FlowMatch>,
    pub dsize: Option<UintMatch>,
    pub ttl: Option<UintMatch>,
    pub itype: Option<UintMatch>,
    pub icode: Option<UintMatch>,
    pub flags: Option<FlagsMatch>,
    pub sameip: bool,
}

/// Apply one option to the draft.
pub(crate) fn apply(opt: &Opt<'_>, d: &mut Draft, classes: &Classifications) -> Result<(), SpanError> {
    match opt.name {
        "msg" | "sid" | "rev" | "gid" | "priority" | "classtype" | "reference" | "metadata" => {
            meta::apply(opt, d, classes)
        }
        "content" => content::content(opt, &mut d.contents),
        "nocase" | "offset" | "depth" | "distance" | "within" | "fast_pattern" => {
            content::modifier(opt, &mut d.contents)
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
        name => {
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
