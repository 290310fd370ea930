//! The content chain matcher.
//!
//! Contents are checked in rule order. A positive content is searched in
//! its window (absolute from `offset`/`depth`, or relative to the end of
//! the previous positive match via `distance`/`within`); when a later
//! content that depends on it fails, the search resumes at its next
//! occurrence (backtracking), within a fixed step budget. A negated content
//! passes when it is absent from its window and does not move the
//! "previous match" position.
//!
//! Stream rule: when `new_from > 0`, the last positive content (in rule
//! order) must end after `new_from`, so data already inspected does not
//! match again.
//!
//! Pruning is exact: a failure that no earlier content's position can
//! change (an absolute content not found, an absolute negated content
//! found) ends the search at once.

use crate::keywords::content::Content;

/// Search steps allowed per rule and buffer (as Suricata's inspection
/// recursion limit); beyond it the rule does not match.
pub(crate) const STEP_BUDGET: u32 = 3000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Match,
    /// Failed, but an earlier content at another position might succeed.
    NoMatch,
    /// Failed whatever the earlier contents do (or out of budget).
    Abort,
}

/// A rule's contents, ready to match.
#[derive(Clone, Debug, Default)]
pub(crate) struct Chain {
    pub items: Vec<Content>,
    /// Index of the last positive content.
    pub last_positive: Option<usize>,
}

impl Chain {
    pub fn new(mut items: Vec<Content>) -> Self {
        for c in &mut items {
            c.finish();
        }
        let last_positive = items.iter().rposition(|c| !c.negated);
        Chain { items, last_positive }
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
        st.step(0, 0, &mut budget) == Outcome::Match
    }
}

struct State<'a> {
    items: &'a [Content],
    buf: &'a [u8],
    new_from: usize,
    last_positive: Option<usize>,
}

impl State<'_> {
    fn step(&self, i: usize, prev_end: usize, budget: &mut u32) -> Outcome {
        let Some(c) = self.items.get(i) else {
            return Outcome::Match;
        };
        if *budget == 0 {
            return Outcome::Abort;
        }
        *budget -= 1;
        let (lo, hi) = c.window(prev_end, self.buf.len());
        let give_up = if c.is_relative() {
            Outcome::NoMatch
        } else {
            Outcome::Abort
        };
        if c.negated {
            if c.find(self.buf, lo, hi).is_some() {
                return give_up;
            }
            return self.step(i + 1, prev_end, budget);
        }
        let must_be_new = self.new_from > 0 && self.last_positive == Some(i);
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
            match self.step(i + 1, end, budget) {
                Outcome::NoMatch => {}
                other => return other,
            }
            if *budget == 0 {
                return Outcome::Abort;
            }
            *budget -= 1;
        }
    }
}

#[cfg(test)]
mod tests;
