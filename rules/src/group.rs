//! Address and port groups as written in rule headers and variables:
//! `any`, single values, `[lists, [nested]]`, `!negation` and `$VARS`.
//!
//! A list is the union of its plain elements (or everything, when it has
//! none) minus the union of its negated elements, so `[10.0.0.0/8,!10.1.0.0/16]`
//! and `[!1.2.3.4]` mean what a Suricata user expects. Variables resolve
//! recursively; cycles and unknown names are errors. Nesting is bounded.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::error::{reason, SpanError};
use std::collections::{BTreeMap, HashMap};

/// Deepest `[` nesting or variable chain accepted.
const MAX_DEPTH: usize = 32;

/// A set that header groups are made of (addresses or ports).
pub(crate) trait GroupSet: Clone {
    /// "address" or "port", for messages.
    const WHAT: &'static str;
    /// Reason category for malformed values.
    const REASON: &'static str;
    fn full() -> Self;
    fn is_empty(&self) -> bool;
    fn union(&self, other: &Self) -> Self;
    fn minus(&self, other: &Self) -> Self;
    /// One value such as `10.0.0.0/8` or `1024:`; `any` is handled here.
    fn parse_leaf(s: &str) -> Result<Self, String>;
}

/// A resolved variable, or why it does not resolve.
pub(crate) type Cached<S> = Result<S, (&'static str, String)>;

/// Resolves group text against a variable table, caching each variable.
pub(crate) struct Resolver<'a, S: GroupSet> {
    vars: &'a BTreeMap<String, String>,
    cache: &'a mut HashMap<String, Cached<S>>,
    stack: Vec<String>,
}

impl<'a, S: GroupSet> Resolver<'a, S> {
    pub fn new(vars: &'a BTreeMap<String, String>, cache: &'a mut HashMap<String, Cached<S>>) -> Self {
        Resolver {
            vars,
            cache,
            stack: Vec::new(),
        }
    }

    /// Resolve a whole header token. Errors are positioned within `text`;
    /// a group that matches nothing is an error.
    pub fn resolve(&mut self, text: &str) -> Result<S, SpanError> {
        let set = self.whole(text, 0)?;
        if set.is_empty() {
            return Err(SpanError::new(
                0,
                S::REASON,
                format!("{} group '{}' matches nothing", S::WHAT, text),
            ));
        }
        Ok(set)
    }

    fn whole(&mut self, text: &str, depth: usize) -> Result<S, SpanError> {
        let mut pos = 0;
        let (set, neg) = self.element(text, &mut pos, depth)?;
        skip_ws(text, &mut pos);
        if pos < text.len() {
            return Err(SpanError::new(
                pos,
                S::REASON,
                format!("unexpected text in {} group", S::WHAT),
            ));
        }
        Ok(if neg { S::full().minus(&set) } else { set })
    }

    /// One element; returns its set and whether it was negated (an odd
    /// number of `!`).
    fn element(&mut self, t: &str, pos: &mut usize, depth: usize) -> Result<(S, bool), SpanError> {
        if depth > MAX_DEPTH {
            return Err(SpanError::new(
                *pos,
                S::REASON,
                format!("{} group nested too deeply", S::WHAT),
            ));
        }
        skip_ws(t, pos);
        match t.as_bytes().get(*pos) {
            Some(b'!') => {
                *pos += 1;
                let (s, neg) = self.element(t, pos, depth + 1)?;
                Ok((s, !neg))
            }
            Some(b'[') => {
                *pos += 1;
                self.list(t, pos, depth + 1).map(|s| (s, false))
            }
            Some(b'$') => {
                let at = *pos;
                *pos += 1;
                let start = *pos;
                while matches!(t.as_bytes().get(*pos), Some(c) if c.is_ascii_alphanumeric() || *c == b'_') {
                    *pos += 1;
                }
                let name = t.get(start..*pos).unwrap_or_default();
                if name.is_empty() {
                    return Err(SpanError::new(
                        at,
                        S::REASON,
                        "expected a variable name after '$'",
                    ));
                }
                self.var(name, at, depth).map(|s| (s, false))
            }
            _ => {
                let start = *pos;
                while matches!(t.as_bytes().get(*pos), Some(c) if !matches!(c, b',' | b']' | b'[' | b'!') && !c.is_ascii_whitespace())
                {
                    *pos += 1;
                }
                let leaf = t.get(start..*pos).unwrap_or_default();
                if leaf.is_empty() {
                    return Err(SpanError::new(start, S::REASON, format!("expected {}", S::WHAT)));
                }
                if leaf.eq_ignore_ascii_case("any") {
                    return Ok((S::full(), false));
                }
                S::parse_leaf(leaf).map(|s| (s, false)).map_err(|m| {
                    SpanError::new(start, S::REASON, format!("bad {} '{}': {}", S::WHAT, leaf, m))
                })
            }
        }
    }

    /// After `[`: elements up to the matching `]`.
    fn list(&mut self, t: &str, pos: &mut usize, depth: usize) -> Result<S, SpanError> {
        let mut plus: Option<S> = None;
        let mut minus: Option<S> = None;
        loop {
            let (s, neg) = self.element(t, pos, depth)?;
            let acc = if neg { &mut minus } else { &mut plus };
            *acc = Some(match acc.take() {
                Some(a) => a.union(&s),
                None => s,
            });
            skip_ws(t, pos);
            match t.as_bytes().get(*pos) {
                Some(b',') => *pos += 1,
                Some(b']') => {
                    *pos += 1;
                    break;
                }
                Some(_) => return Err(SpanError::new(*pos, S::REASON, "expected ',' or ']'")),
                None => {
                    return Err(SpanError::new(
                        *pos,
                        S::REASON,
                        format!("unterminated {} list: missing ']'", S::WHAT),
                    ))
                }
            }
        }
        let base = plus.unwrap_or_else(S::full);
        Ok(match minus {
            Some(m) => base.minus(&m),
            None => base,
        })
    }

    fn var(&mut self, name: &str, at: usize, depth: usize) -> Result<S, SpanError> {
        let located = |(r, m): (&'static str, String)| SpanError::new(at, r, m);
        if let Some(c) = self.cache.get(name) {
            return c.clone().map_err(located);
        }
        if self.stack.iter().any(|n| n == name) || self.stack.len() > MAX_DEPTH {
            let chain: Vec<String> = self.stack.iter().map(|n| format!("${n}")).collect();
            return Err(SpanError::new(
                at,
                S::REASON,
                format!("{} variable cycle: {} -> ${}", S::WHAT, chain.join(" -> "), name),
            ));
        }
        let Some(value) = self.vars.get(name) else {
            return Err(SpanError::new(
                at,
                reason::UNKNOWN_VARIABLE,
                format!("unknown {} variable ${}", S::WHAT, name),
            ));
        };
        self.stack.push(name.to_string());
        let r = self.whole(value, depth + 1);
        self.stack.pop();
        let r: Cached<S> = r.map_err(|e| (e.reason, format!("in ${}: {}", name, e.message)));
        // A cycle error depends on how we got here; every other result is a
        // property of the variable alone and safe to reuse.
        if !matches!(&r, Err((_, m)) if m.contains("variable cycle")) {
            self.cache.insert(name.to_string(), r.clone());
        }
        r.map_err(located)
    }
}

fn skip_ws(t: &str, pos: &mut usize) {
    while matches!(t.as_bytes().get(*pos), Some(c) if c.is_ascii_whitespace()) {
        *pos += 1;
    }
}
