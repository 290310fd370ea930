//! Splitting rule files into logical rules.
//!
//! One rule per line; a line ending in `\` continues on the next line (the
//! backslash and line break are dropped). Blank lines and lines starting
//! with `#` are skipped. Each logical rule keeps enough of its origin to
//! turn a byte offset into the 1-based line and column of the file.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

/// A piece of a logical rule that came from one physical line.
#[derive(Clone, Debug)]
struct Segment<'t> {
    /// Offset of this piece in the joined rule text.
    joined_at: usize,
    /// 1-based line number.
    line: usize,
    /// The physical line (without the continuation backslash).
    text: &'t str,
}

/// One rule's text, joined from its physical lines.
#[derive(Clone, Debug)]
pub(crate) struct LogicalRule<'t> {
    pub text: String,
    segments: Vec<Segment<'t>>,
}

impl LogicalRule<'_> {
    /// 1-based line of the rule's first physical line.
    pub fn first_line(&self) -> usize {
        self.segments.first().map_or(1, |s| s.line)
    }

    /// 1-based (line, column) of a byte offset in [`LogicalRule::text`].
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let i = self
            .segments
            .partition_point(|s| s.joined_at <= offset)
            .saturating_sub(1);
        let Some(seg) = self.segments.get(i) else {
            return (1, offset + 1);
        };
        let within = offset.saturating_sub(seg.joined_at).min(seg.text.len());
        // Count characters, not bytes; offsets from our parser sit on char
        // boundaries, but fall back to bytes rather than fail.
        let col = seg.text.get(..within).map_or(within, |p| p.chars().count());
        (seg.line, col + 1)
    }
}

/// Split file text into logical rules, skipping blank and comment lines.
pub(crate) fn logical_rules(text: &str) -> Vec<LogicalRule<'_>> {
    let mut out = Vec::new();
    let mut cur: Option<LogicalRule<'_>> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if cur.is_none() {
            let t = line.trim_start();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
        }
        let rule = cur.get_or_insert_with(|| LogicalRule {
            text: String::new(),
            segments: Vec::new(),
        });
        let trimmed_end = line.trim_end();
        let (piece, continues) = match trimmed_end.strip_suffix('\\') {
            Some(p) => (p, true),
            None => (line, false),
        };
        rule.segments.push(Segment {
            joined_at: rule.text.len(),
            line: i + 1,
            text: piece,
        });
        rule.text.push_str(piece);
        if !continues {
            if let Some(r) = cur.take() {
                out.push(r);
            }
        }
    }
    if let Some(r) = cur.take() {
        out.push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_comments_and_blank_lines() {
        let rules = logical_rules("# header\n\n   \nalert a\n  # disabled\r\nalert b\r\n");
        let texts: Vec<&str> = rules.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["alert a", "alert b"]);
        assert_eq!(rules[0].first_line(), 4);
        assert_eq!(rules[1].first_line(), 6);
    }

    #[test]
    fn joins_continuations_and_maps_positions() {
        let src = "\nalert tcp any any -> any any \\\n  (msg:\"x\"; \\\n sid:1;)\nnext";
        let rules = logical_rules(src);
        assert_eq!(rules.len(), 2);
        let r = &rules[0];
        assert_eq!(r.text, "alert tcp any any -> any any   (msg:\"x\";  sid:1;)");
        assert_eq!(r.position(0), (2, 1));
        let paren = r.text.find('(').unwrap();
        assert_eq!(r.position(paren), (3, 3));
        let sid = r.text.find("sid").unwrap();
        assert_eq!(r.position(sid), (4, 2));
        assert_eq!(rules[1].position(2), (5, 3));
    }

    #[test]
    fn unterminated_continuation_is_a_rule() {
        let rules = logical_rules("alert \\");
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].text, "alert ");
    }

    #[test]
    fn columns_count_characters() {
        let rules = logical_rules("alert é x");
        assert_eq!(rules[0].position("alert é ".len()), (1, 9));
    }
}
