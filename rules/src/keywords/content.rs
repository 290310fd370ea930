//! `content` and its modifiers: `nocase`, `offset`, `depth`, `distance`,
//! `within`, `fast_pattern`.
//!
//! A content value is quoted text with `|41 42|` hex blocks and the escapes
//! `\"`, `\;`, `\\` and `\:`; a leading `!` negates it. `offset`/`depth`
//! are absolute from the buffer start (depth counted from offset);
//! `distance`/`within` are relative to the end of the previous positive
//! content match (the buffer start for the first content).

use super::Opt;
use crate::error::{reason, SpanError};
use memchr::memmem::Finder;

/// Most contents one rule may have; bounds the matcher's recursion.
pub(crate) const MAX_CONTENTS: usize = 256;

/// `fast_pattern`, `fast_pattern:only` or `fast_pattern:offset,length`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FastPattern {
    pub only: bool,
    /// Part of the content to use as the prefilter pattern.
    pub slice: Option<(usize, usize)>,
}

/// One content match with its modifiers.
#[derive(Clone, Debug)]
pub(crate) struct Content {
    /// The bytes to find; lowercased once `nocase` is known (see [`Content::finish`]).
    pub pattern: Vec<u8>,
    pub negated: bool,
    pub nocase: bool,
    pub offset: Option<u32>,
    pub depth: Option<u32>,
    pub distance: Option<i32>,
    pub within: Option<u32>,
    pub fast_pattern: Option<FastPattern>,
    /// Must start at the buffer start (`startswith`; also sets offset/depth).
    pub startswith: bool,
    /// Must end at the buffer end.
    pub endswith: bool,
    finder: Option<Finder<'static>>,
}

impl Content {
    fn new(pattern: Vec<u8>, negated: bool) -> Self {
        Content {
            pattern,
            negated,
            nocase: false,
            offset: None,
            depth: None,
            distance: None,
            within: None,
            fast_pattern: None,
            startswith: false,
            endswith: false,
            finder: None,
        }
    }

    /// Test helper and builder entry: a content with no modifiers.
    #[cfg(test)]
    pub fn plain(pattern: &[u8]) -> Self {
        let mut c = Content::new(pattern.to_vec(), false);
        c.finish();
        c
    }

    pub fn is_relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }

    /// Freeze the content for matching: lowercase nocase patterns and build
    /// the searcher.
    pub fn finish(&mut self) {
        if self.nocase {
            self.pattern.make_ascii_lowercase();
            self.finder = None;
        } else {
            self.finder = Some(Finder::new(&self.pattern).into_owned());
        }
    }

    /// The bytes the prefilter looks for.
    pub fn fast_bytes(&self) -> &[u8] {
        match self.fast_pattern.and_then(|f| f.slice) {
            Some((o, l)) => self.pattern.get(o..o.saturating_add(l)).unwrap_or(&self.pattern),
            None => &self.pattern,
        }
    }

    /// The search window `[lo, hi)` in a buffer of `len` bytes, given the
    /// end of the previous positive match. Empty when `hi < lo`.
    pub fn window(&self, prev_end: usize, len: usize) -> (usize, usize) {
        let clamp = |v: i64| v.clamp(0, len as i64) as usize;
        if self.is_relative() {
            let base = prev_end as i64 + i64::from(self.distance.unwrap_or(0));
            let hi = match self.within {
                Some(w) => base + i64::from(w),
                None => len as i64,
            };
            (clamp(base), clamp(hi))
        } else {
            let lo = i64::from(self.offset.unwrap_or(0));
            let hi = match self.depth {
                Some(d) => lo + i64::from(d),
                None => len as i64,
            };
            (clamp(lo), clamp(hi))
        }
    }

    /// First start position `p >= lo` with the pattern fully inside `[lo, hi)`.
    pub fn find(&self, buf: &[u8], lo: usize, hi: usize) -> Option<usize> {
        let hay = buf.get(lo..hi.min(buf.len()))?;
        if hay.len() < self.pattern.len() {
            return None;
        }
        if self.endswith {
            // The only candidate ends at the buffer end.
            if hi < buf.len() {
                return None;
            }
            let p = buf.len() - self.pattern.len();
            let at = buf.get(p..)?;
            let ok = if self.nocase {
                at.eq_ignore_ascii_case(&self.pattern)
            } else {
                at == self.pattern.as_slice()
            };
            return ok.then_some(p);
        }
        let p = match &self.finder {
            Some(f) => f.find(hay),
            None => find_nocase(hay, &self.pattern),
        }?;
        Some(lo + p)
    }
}

/// ASCII case-insensitive search; `needle` is already lowercase.
pub(crate) fn find_nocase(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let upper = first.to_ascii_uppercase();
    let mut from = 0;
    while from + needle.len() <= hay.len() {
        let tail = hay.get(from..)?;
        let i = if upper != first {
            memchr::memchr2(first, upper, tail)
        } else {
            memchr::memchr(first, tail)
        }?;
        let p = from + i;
        let cand = hay.get(p + 1..p + needle.len())?;
        if cand.eq_ignore_ascii_case(rest) {
            return Some(p);
        }
        from = p + 1;
    }
    None
}

/// Parse a `content` value. Errors are positioned within `v`.
pub(crate) fn parse_value(v: &str) -> Result<(Vec<u8>, bool), SpanError> {
    let b = v.as_bytes();
    let mut i = 0;
    let mut negated = false;
    if b.first() == Some(&b'!') {
        negated = true;
        i = 1;
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
    }
    let (start, end) = if b.get(i) == Some(&b'"') {
        if b.len() < i + 2 || b.last() != Some(&b'"') || (b.len() >= 2 && escaped_at(b, b.len() - 1)) {
            return Err(SpanError::new(
                i,
                reason::BAD_VALUE,
                "content has no closing '\"'",
            ));
        }
        (i + 1, b.len() - 1)
    } else {
        (i, b.len())
    };
    let bytes = decode(b, start, end)?;
    if bytes.is_empty() {
        return Err(SpanError::new(0, reason::BAD_VALUE, "empty content"));
    }
    Ok((bytes, negated))
}

/// True when the byte at `i` is preceded by an odd number of backslashes.
fn escaped_at(b: &[u8], i: usize) -> bool {
    let n = b
        .get(..i)
        .map_or(0, |p| p.iter().rev().take_while(|&&c| c == b'\\').count());
    n % 2 == 1
}

/// Decode `b[start..end]`: text, escapes and `|hex|` blocks.
fn decode(b: &[u8], start: usize, end: usize) -> Result<Vec<u8>, SpanError> {
    let mut out = Vec::with_capacity(end.saturating_sub(start));
    let mut i = start;
    let mut hex_open: Option<usize> = None;
    let mut nibble: Option<(u8, usize)> = None;
    while i < end {
        let Some(&c) = b.get(i) else { break };
        if let Some(open) = hex_open {
            match c {
                b'|' => {
                    if let Some((_, at)) = nibble {
                        return Err(SpanError::new(at, reason::BAD_VALUE, "odd number of hex digits"));
                    }
                    let _ = open;
                    hex_open = None;
                }
                c if c.is_ascii_whitespace() => {}
                c if c.is_ascii_hexdigit() => {
                    let d = hex_digit(c);
                    match nibble.take() {
                        Some((hi, _)) => out.push(hi << 4 | d),
                        None => nibble = Some((d, i)),
                    }
                }
                _ => {
                    return Err(SpanError::new(
                        i,
                        reason::BAD_VALUE,
                        format!("'{}' is not a hex digit", c as char),
                    ));
                }
            }
            i += 1;
            continue;
        }
        match c {
            b'|' => hex_open = Some(i),
            b'\\' => {
                match b.get(i + 1) {
                    Some(&e @ (b'"' | b';' | b'\\' | b':')) if i + 1 < end => out.push(e),
                    _ => {
                        return Err(SpanError::new(
                            i,
                            reason::BAD_VALUE,
                            "invalid escape in content (use |hex|)",
                        ))
                    }
                }
                i += 1;
            }
            b'"' => return Err(SpanError::new(i, reason::BAD_VALUE, "unescaped '\"' in content")),
            _ => out.push(c),
        }
        i += 1;
    }
    if let Some(open) = hex_open {
        return Err(SpanError::new(
            open,
            reason::BAD_VALUE,
            "unterminated hex block: missing '|'",
        ));
    }
    Ok(out)
}

fn hex_digit(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// `content:...`
pub(crate) fn parse(opt: &Opt<'_>) -> Result<Content, SpanError> {
    let v = opt.value()?;
    let (bytes, negated) = parse_value(v).map_err(|e| e.offset(opt.value_at))?;
    Ok(Content::new(bytes, negated))
}

fn number<T: std::str::FromStr>(opt: &Opt<'_>) -> Result<T, SpanError> {
    let v = opt.value()?;
    v.trim()
        .parse::<T>()
        .map_err(|_| opt.err_value(0, reason::BAD_VALUE, format!("bad {} value '{}'", opt.name, v)))
}

fn twice(opt: &Opt<'_>) -> SpanError {
    opt.err(
        reason::CONFLICT,
        format!("'{}' given twice for one content", opt.name),
    )
}

fn mixed(opt: &Opt<'_>) -> SpanError {
    opt.err(
        reason::CONFLICT,
        format!(
            "'{}' mixes relative (distance/within) and absolute (offset/depth) modifiers",
            opt.name
        ),
    )
}

/// `nocase`, `offset`, `depth`, `distance`, `within`, `fast_pattern`,
/// `startswith`, `endswith` on the content `c`.
pub(crate) fn modifier(opt: &Opt<'_>, c: &mut Content, any_fast: bool) -> Result<(), SpanError> {
    let len = c.pattern.len();
    match opt.name {
        "startswith" => {
            opt.no_value()?;
            if c.is_relative() || c.offset.is_some() || c.depth.is_some() {
                return Err(opt.err(
                    reason::CONFLICT,
                    "'startswith' cannot be combined with offset, depth, distance or within",
                ));
            }
            c.offset = Some(0);
            c.depth = u32::try_from(len).ok();
            c.startswith = true;
        }
        "endswith" => {
            opt.no_value()?;
            c.endswith = true;
        }
        "nocase" => {
            opt.no_value()?;
            if c.nocase {
                return Err(twice(opt));
            }
            c.nocase = true;
        }
        "offset" => {
            let n: u32 = number(opt)?;
            if c.offset.is_some() || c.startswith {
                return Err(twice(opt));
            }
            if c.is_relative() {
                return Err(mixed(opt));
            }
            c.offset = Some(n);
        }
        "depth" => {
            let n: u32 = number(opt)?;
            if c.depth.is_some() || c.startswith {
                return Err(twice(opt));
            }
            if c.is_relative() {
                return Err(mixed(opt));
            }
            if (n as usize) < len {
                return Err(opt.err_value(
                    0,
                    reason::BAD_VALUE,
                    format!("depth {n} is less than the content length {len}"),
                ));
            }
            c.depth = Some(n);
        }
        "distance" => {
            let n: i32 = number(opt)?;
            if c.distance.is_some() {
                return Err(twice(opt));
            }
            if c.offset.is_some() || c.depth.is_some() || c.startswith {
                return Err(mixed(opt));
            }
            c.distance = Some(n);
        }
        "within" => {
            let n: u32 = number(opt)?;
            if c.within.is_some() {
                return Err(twice(opt));
            }
            if c.offset.is_some() || c.depth.is_some() {
                return Err(mixed(opt));
            }
            if (n as usize) < len {
                return Err(opt.err_value(
                    0,
                    reason::BAD_VALUE,
                    format!("within {n} is less than the content length {len}"),
                ));
            }
            c.within = Some(n);
        }
        "fast_pattern" => {
            if any_fast {
                return Err(opt.err(reason::CONFLICT, "only one fast_pattern per rule"));
            }
            c.fast_pattern = Some(fast_pattern(opt, len)?);
        }
        _ => {
            return Err(opt.err(
                reason::UNSUPPORTED_KEYWORD,
                format!("unsupported keyword '{}'", opt.name),
            ))
        }
    }
    Ok(())
}

fn fast_pattern(opt: &Opt<'_>, len: usize) -> Result<FastPattern, SpanError> {
    let Some(v) = opt.value else {
        return Ok(FastPattern {
            only: false,
            slice: None,
        });
    };
    let v = v.trim();
    if v == "only" {
        return Ok(FastPattern {
            only: true,
            slice: None,
        });
    }
    let bad = || {
        opt.err_value(
            0,
            reason::BAD_VALUE,
            format!("bad fast_pattern value '{v}' (only, or offset,length)"),
        )
    };
    let (o, l) = v.split_once(',').ok_or_else(bad)?;
    let (o, l): (usize, usize) = (
        o.trim().parse().map_err(|_| bad())?,
        l.trim().parse().map_err(|_| bad())?,
    );
    if l == 0 || o.checked_add(l).is_none_or(|e| e > len) {
        return Err(opt.err_value(
            0,
            reason::BAD_VALUE,
            format!("fast_pattern {o},{l} is outside the content ({len} bytes)"),
        ));
    }
    Ok(FastPattern {
        only: false,
        slice: Some((o, l)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_decode() {
        let ok = |v: &str| parse_value(v).unwrap();
        assert_eq!(ok("\"abc\""), (b"abc".to_vec(), false));
        assert_eq!(ok("!\"abc\""), (b"abc".to_vec(), true));
        assert_eq!(ok("! \"a\""), (b"a".to_vec(), true));
        assert_eq!(ok("\"|41 42|C|00|\""), (b"ABC\0".to_vec(), false));
        assert_eq!(ok("\"|4142|\""), (b"AB".to_vec(), false));
        assert_eq!(ok(r#""a\"b\;c\\d\:""#), (b"a\"b;c\\d:".to_vec(), false));
        assert_eq!(ok("abc"), (b"abc".to_vec(), false));
    }

    #[test]
    fn bad_values_have_positions() {
        let at = |v: &str| parse_value(v).unwrap_err().at;
        assert_eq!(at("\"|41 4|\""), 5);
        assert_eq!(at("\"ab|41\""), 3);
        assert_eq!(at("\"|4G|\""), 3);
        assert_eq!(at("\"a\\xb\""), 2);
        assert_eq!(at("\"a\"b\""), 2);
        assert_eq!(at("\"abc"), 0);
        assert_eq!(at("\"abc\\\""), 0);
        assert_eq!(at("\"\""), 0);
    }

    #[test]
    fn nocase_search() {
        assert_eq!(find_nocase(b"xxHeLLo", b"hello"), Some(2));
        assert_eq!(find_nocase(b"hell", b"hello"), None);
        assert_eq!(find_nocase(b"a1b2", b"1b"), Some(1));
        assert_eq!(find_nocase(b"hhhhi", b"hi"), Some(3));
    }

    #[test]
    fn windows() {
        let mut c = Content::plain(b"ab");
        assert_eq!(c.window(0, 10), (0, 10));
        c.offset = Some(2);
        c.depth = Some(3);
        assert_eq!(c.window(7, 10), (2, 5));
        let mut r = Content::plain(b"ab");
        r.distance = Some(-3);
        r.within = Some(4);
        assert_eq!(r.window(2, 10), (0, 3));
        assert_eq!(r.window(5, 10), (2, 6));
        r.distance = Some(100);
        assert_eq!(r.window(5, 10), (10, 10));
    }
}
