//! Classification table (`classification.config`): classtype short name ->
//! description (EVE `alert.category`) and default priority (`alert.severity`).
//!
//! Format, one entry a line: `config classification: shortname,description,priority`.
//! Blank lines and `#` comments are skipped. Names are matched case-insensitively.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::error::{reason, LoadError};
use std::collections::HashMap;

const SOURCE: &str = "classification.config";

/// One classtype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    /// Short name as used by the `classtype` keyword (lowercase).
    pub name: String,
    /// Description; EVE `alert.category`.
    pub description: String,
    /// Default priority for rules of this class.
    pub priority: u8,
}

/// The table of known classtypes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Classifications {
    by_name: HashMap<String, Classification>,
}

impl Classifications {
    /// Parse classification.config text. A later entry with the same name
    /// replaces the earlier one.
    ///
    /// # Errors
    /// The first malformed line, with its line and column.
    pub fn parse(text: &str) -> Result<Self, LoadError> {
        let mut by_name = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r');
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let lead = line.len() - trimmed.len();
            let err = |at: usize, message: String| LoadError {
                file: SOURCE.to_string(),
                line: i + 1,
                column: line.get(..at).map_or(at, |p| p.chars().count()) + 1,
                message,
                reason: reason::SYNTAX,
            };
            let Some(rest) = strip_prefix_ci(trimmed, "config") else {
                return Err(err(lead, "expected 'config classification:'".into()));
            };
            let rest_t = rest.trim_start();
            let Some(body) = strip_prefix_ci(rest_t, "classification") else {
                return Err(err(
                    line.len() - rest_t.len(),
                    "expected 'config classification:'".into(),
                ));
            };
            let body_t = body.trim_start();
            let Some(fields) = body_t.strip_prefix(':') else {
                return Err(err(
                    line.len() - body_t.len(),
                    "expected ':' after 'config classification'".into(),
                ));
            };
            let fields_at = line.len() - fields.trim_start().len();
            let parts: Vec<&str> = fields.splitn(3, ',').collect();
            let [name, description, priority] = parts.as_slice() else {
                return Err(err(fields_at, "expected 'shortname,description,priority'".into()));
            };
            let name = name.trim().to_ascii_lowercase();
            if name.is_empty() {
                return Err(err(fields_at, "empty classification name".into()));
            }
            let prio_at = line.len() - priority.len();
            let priority = match priority.trim().parse::<u8>() {
                Ok(p) if p > 0 => p,
                _ => {
                    return Err(err(
                        prio_at,
                        format!("bad priority '{}' (1-255)", priority.trim()),
                    ))
                }
            };
            let c = Classification {
                name: name.clone(),
                description: description.trim().to_string(),
                priority,
            };
            by_name.insert(name, c);
        }
        Ok(Classifications { by_name })
    }

    /// The standard table shipped in `etc/classification.config`.
    pub fn bundled() -> Self {
        // The bundled file is checked by a unit test; an empty table would
        // only make every classtype unknown, never a panic.
        Self::parse(include_str!("../../etc/classification.config")).unwrap_or_default()
    }

    /// Look a classtype up by name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Classification> {
        self.by_name.get(&name.trim().to_ascii_lowercase())
    }

    /// Number of classtypes.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// True when the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_table_is_complete() {
        let c = Classifications::bundled();
        assert_eq!(c.len(), 43);
        let t = c.get("trojan-activity").unwrap();
        assert_eq!(
            (t.description.as_str(), t.priority),
            ("A Network Trojan was detected", 1)
        );
        assert_eq!(c.get("Bad-Unknown").unwrap().priority, 2);
        assert_eq!(c.get("tcp-connection").unwrap().priority, 4);
        assert_eq!(
            c.get("command-and-control").unwrap().description,
            "Malware Command and Control Activity Detected"
        );
    }

    #[test]
    fn parse_errors_have_positions() {
        let e = Classifications::parse("# c\n\nconfig classification: a,b\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 24));
        let e = Classifications::parse("config classification: a,b,x\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 28));
        let e = Classifications::parse("  bogus\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 3));
        assert_eq!(
            e.to_string(),
            "classification.config:1:3: expected 'config classification:'"
        );
        let e = Classifications::parse("config classification a,b,1\n").unwrap_err();
        assert_eq!(e.column, 23);
    }

    #[test]
    fn later_entries_replace() {
        let c = Classifications::parse("config classification: x,One,1\r\nconfig classification: X,Two,2\n")
            .unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c.get("x").unwrap().description, "Two");
    }
}
