//! Load errors and the load report.
//!
//! A rule that fails to load never stops the load: it becomes a [`LoadError`]
//! (file, line, column of the offending token, a message and a short reason
//! category) in the [`LoadReport`].
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use std::collections::BTreeMap;
use std::fmt;

/// Why one rule (or one line of a config file) could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// Source name as given to the builder (usually a path).
    pub file: String,
    /// 1-based line of the offending token.
    pub line: usize,
    /// 1-based column (in characters) of the offending token.
    pub column: usize,
    /// What is wrong, for a person.
    pub message: String,
    /// Short category for counting, e.g. "unsupported keyword", "syntax", "bad address".
    pub reason: &'static str,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

impl std::error::Error for LoadError {}

/// Outcome of building a [`crate::RuleSet`].
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Rules compiled into the set.
    pub loaded: usize,
    /// Rules that failed (each has an entry in `errors`).
    pub failed: usize,
    /// One error per failed rule, in source order.
    pub errors: Vec<LoadError>,
    /// Failed rules counted by [`LoadError::reason`].
    pub by_reason: BTreeMap<String, usize>,
    /// Failed rules counted by the keyword that was unsupported or unknown
    /// (only for reasons "unsupported keyword" and "unknown keyword").
    pub by_keyword: BTreeMap<String, usize>,
}

/// Reason categories used in [`LoadError::reason`].
pub(crate) mod reason {
    pub const SYNTAX: &str = "syntax";
    pub const BAD_ACTION: &str = "bad action";
    pub const UNKNOWN_PROTOCOL: &str = "unknown protocol";
    pub const BAD_ADDRESS: &str = "bad address";
    pub const BAD_PORT: &str = "bad port";
    pub const UNKNOWN_VARIABLE: &str = "unknown variable";
    pub const UNSUPPORTED_KEYWORD: &str = "unsupported keyword";
    pub const UNKNOWN_KEYWORD: &str = "unknown keyword";
    pub const BAD_VALUE: &str = "bad value";
    pub const CONFLICT: &str = "conflicting options";
    pub const UNKNOWN_CLASSTYPE: &str = "unknown classtype";
    pub const MISSING_SID: &str = "missing sid";
    pub const DUPLICATE_SID: &str = "duplicate sid";
    pub const THRESHOLD: &str = "threshold config";
}

/// An error inside one logical rule (or config line), positioned by byte
/// offset into that text; the builder turns the offset into line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SpanError {
    pub at: usize,
    pub reason: &'static str,
    pub message: String,
    /// The keyword involved, for unsupported/unknown keyword counting.
    pub keyword: Option<String>,
}

impl SpanError {
    pub fn new(at: usize, reason: &'static str, message: impl Into<String>) -> Self {
        SpanError {
            at,
            reason,
            message: message.into(),
            keyword: None,
        }
    }

    /// Shift the position by `base` (the error was found in a sub-slice).
    pub fn offset(mut self, base: usize) -> Self {
        self.at = self.at.saturating_add(base);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_file_line_column_message() {
        let e = LoadError {
            file: "local.rules".into(),
            line: 3,
            column: 17,
            message: "unsupported keyword 'pcre'".into(),
            reason: reason::UNSUPPORTED_KEYWORD,
        };
        assert_eq!(e.to_string(), "local.rules:3:17: unsupported keyword 'pcre'");
    }
}
