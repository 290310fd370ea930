//! The per-buffer inspection chain: contents, pcre, isdataat and the
//! byte_* keywords, in rule order.
//!
//! A positive content (or pcre) is searched in its window (absolute from
//! `offset`/`depth`, or relative to the end of the previous match via
//! `distance`/`within`, or the `R` flag); when a later item that depends
//! on it fails, the search resumes at its next occurrence (backtracking),
//! within a fixed step budget. A negated content passes when it is absent
//! from its window and does not move the "previous match" position.
//! `isdataat` and `byte_test` check without moving it; `byte_jump` moves
//! it; `byte_extract` and `byte_math` store a variable for later items and
//! (`byte_extract`) move it past the bytes read.
//!
//! Stream rule: when `new_from > 0`, the last positive content or pcre
//! (in rule order) must end after `new_from`, so data already inspected
//! does not match again.
//!
//! Pruning is exact: a failure that no earlier item's position can change
//! (an absolute content not found, an absolute negated content found)
//! ends the search at once.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::keywords::base64::Base64Decode;
use crate::keywords::byte::{ByteExtract, ByteJump, ByteMath, ByteTest, Val, VarSlots};
use crate::keywords::content::Content;
use crate::keywords::pcre::Pcre;

/// Search steps allowed per rule and buffer (as Suricata's inspection
/// recursion limit); beyond it the rule does not match.
pub(crate) const STEP_BUDGET: u32 = 3000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Match,
    /// Failed, but an earlier item at another position might succeed.
    NoMatch,
    /// Failed whatever the earlier items do (or out of budget).
    Abort,
}

/// `isdataat:[!]N[,relative]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IsDataAt {
    pub n: Val,
    pub relative: bool,
    pub negated: bool,
}

/// One inspection step of a buffer's chain.
// Contents are by far the most common item and are kept inline (no
// pointer chase on the hot path); pcre, the other large one, is boxed.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub(crate) enum Item {
    Content(Content),
    Pcre(Box<Pcre>),
    IsDataAt(IsDataAt),
    ByteTest(ByteTest),
    ByteJump(ByteJump),
    ByteExtract(ByteExtract),
    ByteMath(ByteMath),
    Base64Decode(Box<Base64Decode>),
}

impl From<Content> for Item {
    fn from(c: Content) -> Item {
        Item::Content(c)
    }
}

impl Item {
    /// A content or pcre that must be found (not negated).
    fn is_positive_match(&self) -> bool {
        match self {
            Item::Content(c) => !c.negated,
            Item::Pcre(p) => !p.negated,
            _ => false,
        }
    }

    /// Could the outcome of this item change with the previous match
    /// position or variables?
    fn depends_on_earlier(&self) -> bool {
        match self {
            Item::Content(c) => c.is_relative(),
            Item::Pcre(p) => p.relative,
            Item::IsDataAt(d) => d.relative || matches!(d.n, Val::Var(_)),
            Item::ByteTest(b) => b.depends_on_earlier(),
            Item::ByteJump(b) => b.depends_on_earlier(),
            Item::ByteExtract(b) => b.relative,
            Item::ByteMath(b) => b.depends_on_earlier(),
            Item::Base64Decode(b) => b.relative,
        }
    }
}

/// A buffer's items, ready to match.
#[derive(Clone, Debug, Default)]
pub(crate) struct Chain {
    pub items: Vec<Item>,
    /// Index of the last positive content or pcre.
    pub last_positive: Option<usize>,
}

impl Chain {
    pub fn new<I: Into<Item>>(items: Vec<I>) -> Self {
        let mut items: Vec<Item> = items.into_iter().map(Into::into).collect();
        for it in &mut items {
            if let Item::Content(c) = it {
                c.finish();
            }
        }
        let last_positive = items.iter().rposition(Item::is_positive_match);
        Chain { items, last_positive }
    }

    /// The contents of the chain.
    pub fn contents(&self) -> impl Iterator<Item = &Content> {
        self.items.iter().filter_map(|i| match i {
            Item::Content(c) => Some(c),
            _ => None,
        })
    }

    /// Does the chain match `buf`? `new_from` must be `<= buf.len()`.
    pub fn matches(&self, buf: &[u8], new_from: usize) -> bool {
        if self.items.is_empty() {
            return true;
        }
        if buf.is_empty() {
            return false;
        }
        let mut budget = STEP_BUDGET;
        let st = State {
            items: &self.items,
            buf,
            new_from,
            last_positive: self.last_positive,
        };
        st.step(0, 0, VarSlots::default(), &mut budget) == Outcome::Match
    }
}

struct State<'a> {
    items: &'a [Item],
    buf: &'a [u8],
    new_from: usize,
    last_positive: Option<usize>,
}

impl State<'_> {
    fn step(&self, i: usize, prev_end: usize, vars: VarSlots, budget: &mut u32) -> Outcome {
        let Some(item) = self.items.get(i) else {
            return Outcome::Match;
        };
        if *budget == 0 {
            return Outcome::Abort;
        }
        *budget -= 1;
        let give_up = if item.depends_on_earlier() {
            Outcome::NoMatch
        } else {
            Outcome::Abort
        };
        let must_be_new = self.new_from > 0 && self.last_positive == Some(i);
        let len = self.buf.len();
        match item {
            Item::Content(c) => {
                let (lo, hi) = c.window(prev_end, len);
                if c.negated {
                    if c.find(self.buf, lo, hi).is_some() {
                        return give_up;
                    }
                    return self.step(i + 1, prev_end, vars, budget);
                }
                let mut from = lo;
                loop {
                    let Some(p) = c.find(self.buf, from, hi) else {
                        return give_up;
                    };
                    let end = p + c.pattern.len();
                    from = p + 1;
                    if must_be_new && end <= self.new_from {
                        continue;
                    }
                    match self.step(i + 1, end, vars, budget) {
                        Outcome::NoMatch => {}
                        other => return other,
                    }
                    if *budget == 0 {
                        return Outcome::Abort;
                    }
                    *budget -= 1;
                }
            }
            Item::Pcre(p) => {
                let lo = if p.relative { prev_end.min(len) } else { 0 };
                let hay = self.buf.get(lo..).unwrap_or_default();
                if p.negated {
                    if p.is_match(hay) {
                        return give_up;
                    }
                    return self.step(i + 1, prev_end, vars, budget);
                }
                let mut from = 0;
                while from <= hay.len() {
                    let Some((s, e)) = p.find_at(hay, from) else {
                        return give_up;
                    };
                    let end = lo + e;
                    from = s + 1;
                    if must_be_new && end <= self.new_from {
                        continue;
                    }
                    match self.step(i + 1, end, vars, budget) {
                        Outcome::NoMatch => {}
                        other => return other,
                    }
                    if *budget == 0 {
                        return Outcome::Abort;
                    }
                    *budget -= 1;
                }
                give_up
            }
            Item::IsDataAt(d) => {
                // Relative: `n` more bytes after the previous match;
                // absolute: a byte at offset `n`.
                let n = usize::try_from(d.n.get(&vars)).unwrap_or(usize::MAX);
                let present = if d.relative {
                    prev_end.saturating_add(n) <= len
                } else {
                    n < len
                };
                if present != d.negated {
                    self.step(i + 1, prev_end, vars, budget)
                } else {
                    give_up
                }
            }
            Item::ByteTest(b) => {
                if b.matches(self.buf, prev_end, &vars) {
                    self.step(i + 1, prev_end, vars, budget)
                } else {
                    give_up
                }
            }
            Item::ByteJump(b) => match b.jump(self.buf, prev_end, &vars) {
                Some(to) => self.step(i + 1, to, vars, budget),
                None => give_up,
            },
            Item::ByteExtract(b) => {
                let mut vars = vars;
                match b.extract(self.buf, prev_end, &mut vars) {
                    Some(to) => self.step(i + 1, to, vars, budget),
                    None => give_up,
                }
            }
            Item::ByteMath(b) => {
                let mut vars = vars;
                if b.compute(self.buf, prev_end, &mut vars) {
                    self.step(i + 1, prev_end, vars, budget)
                } else {
                    give_up
                }
            }
            Item::Base64Decode(b) => {
                if b.matches(self.buf, prev_end) {
                    self.step(i + 1, prev_end, vars, budget)
                } else {
                    give_up
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
