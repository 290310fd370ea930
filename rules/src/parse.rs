//! One logical rule's text -> header + option draft.
//!
//! `action proto src sport dir dst dport (name:value; name; ...)`. Option
//! values end at the first `;` not escaped by a backslash; the options end
//! at the rule's last `)`. Every error carries the byte offset of the
//! offending token in the rule text.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::classification::Classifications;
use crate::error::{reason, SpanError};
use crate::header::{parse_header, GroupCache, Header};
use crate::keywords::{self, Draft, Opt};
use crate::vars::Vars;

/// A rule that parsed.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub header: Header,
    pub draft: Draft,
}

/// One option as written: lowercase name and raw value.
struct RawOpt<'t> {
    name: String,
    name_at: usize,
    value: Option<&'t str>,
    value_at: usize,
}

/// Parse one logical rule.
pub(crate) fn parse_rule(
    text: &str,
    vars: &Vars,
    classes: &Classifications,
    cache: &mut GroupCache,
) -> Result<Parsed, SpanError> {
    let end = text.trim_end().len();
    let Some(open) = text.find('(') else {
        return Err(SpanError::new(
            end,
            reason::SYNTAX,
            "missing '(' before the rule options",
        ));
    };
    let header = parse_header(text.get(..open).unwrap_or_default(), vars, cache)?;
    let body = text.get(..end).unwrap_or_default();
    if !body.ends_with(')') || end <= open + 1 {
        return Err(SpanError::new(
            end,
            reason::SYNTAX,
            "rule options must end with ')'",
        ));
    }
    let close = end - 1;
    let mut draft = Draft::default();
    for raw in split_options(text, open + 1, close)? {
        let opt = Opt {
            name: &raw.name,
            name_at: raw.name_at,
            value: raw.value,
            value_at: raw.value_at,
        };
        keywords::apply(&opt, &mut draft, classes)?;
    }
    if draft.sid.is_none() {
        return Err(SpanError::new(open, reason::MISSING_SID, "rule has no sid"));
    }
    Ok(Parsed { header, draft })
}

/// Tokenize the options between `start` and `end` (exclusive).
fn split_options(text: &str, start: usize, end: usize) -> Result<Vec<RawOpt<'_>>, SpanError> {
    let b = text.as_bytes();
    let at = |i: usize| b.get(i).copied();
    let mut out = Vec::new();
    let mut i = start;
    loop {
        while i < end && at(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        if i >= end {
            return Ok(out);
        }
        let name_at = i;
        while i < end && !matches!(at(i), Some(b':' | b';')) {
            i += 1;
        }
        let name = text.get(name_at..i).unwrap_or_default().trim_end();
        if i >= end {
            let shown: String = name.chars().take(40).collect();
            return Err(SpanError::new(
                name_at,
                reason::SYNTAX,
                format!("option '{shown}' is not terminated by ';'"),
            ));
        }
        if name.is_empty() {
            return Err(SpanError::new(
                name_at,
                reason::SYNTAX,
                "empty option (stray ';' or ':')",
            ));
        }
        if let Some((k, c)) = name
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        {
            return Err(SpanError::new(
                name_at + k,
                reason::SYNTAX,
                format!("unexpected '{c}' in option name"),
            ));
        }
        let name = name.to_ascii_lowercase();
        if at(i) == Some(b';') {
            out.push(RawOpt {
                name,
                name_at,
                value: None,
                value_at: i,
            });
            i += 1;
            continue;
        }
        // After ':': the value runs to the first unescaped ';'.
        let vstart = i + 1;
        let mut j = vstart;
        let mut semi = None;
        while j < end {
            match at(j) {
                Some(b'\\') => j += 2,
                Some(b';') => {
                    semi = Some(j);
                    break;
                }
                _ => j += 1,
            }
        }
        let Some(semi) = semi else {
            return Err(SpanError::new(
                name_at,
                reason::SYNTAX,
                format!("option '{name}' is not terminated by ';'"),
            ));
        };
        let raw = text.get(vstart..semi).unwrap_or_default();
        let lead = raw.len() - raw.trim_start().len();
        out.push(RawOpt {
            name,
            name_at,
            value: Some(raw.trim()),
            value_at: vstart + lead,
        });
        i = semi + 1;
    }
}
