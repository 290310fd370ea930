//! `pcre:"[!]/pattern/flags"`: Perl-compatible patterns, run on the
//! `regex` crate (linear time) when it can, else on PCRE2 with a match
//! limit.
//!
//! Patterns are translated so they keep PCRE's meaning: `\<`, `\>` and
//! other escaped punctuation are literals; `\xH` is one hex digit; `{` that
//! does not start a quantifier is a literal; `$` (without `m` or `D`/`E`)
//! also matches before a final newline; `\Z`, `\h`, `\R`, `\v`, `\e`,
//! `\cX`, octal escapes and `\Q...\E` are spelled out; `[` inside a class is
//! a literal. Backreferences, lookaround, possessive quantifiers (`*+`),
//! atomic groups (`(?>`), `\K`, recursion, conditionals and verbs need a
//! backtracking engine: such patterns are compiled by PCRE2 (JIT when the
//! platform has it) as written, with Suricata's default limits
//! (`match-limit` 3500, `match-limit-recursion` 1500); a search that hits
//! a limit does not match. [`Pcre::backtracking`] tells which is which, and
//! `tapwatch rules check` lists those rules.
//!
//! Flags: `i s m x` as in PCRE, `A` anchored, `E`/`D` dollar at the very end
//! only, `G` ungreedy, `R` relative to the previous match; buffer flags
//! `U` http.uri, `I` http.uri.raw, `P` http.request_body, `Q` file.data,
//! `H` http.header, `D` http.header.raw, `M` http.method, `C` http.cookie,
//! `S` http.stat_code, `Y` http.stat_msg, `V` http.user_agent, `W` http.host,
//! `Z` http.host.raw; `B` and `O` are accepted and ignored.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use super::Opt;
use crate::buffer::BufferId;
use crate::error::{reason, SpanError};
use regex::bytes::{Regex, RegexBuilder};

/// Reason for patterns the linear engine cannot run (they go to PCRE2).
pub(crate) const NEEDS_BACKTRACKING: &str = "pcre needs backtracking";

/// PCRE2 limits, as Suricata's defaults: backtracking steps per search
/// and nesting depth. Set in the pattern, where they can only lower the
/// library's own limits.
const PCRE2_LIMITS: &str = "(*LIMIT_MATCH=3500)(*LIMIT_DEPTH=1500)";
/// JIT stack per matching thread (as Suricata's largest).
const JIT_STACK: usize = 512 << 10;

/// Compiled-program size bound per pattern.
const SIZE_LIMIT: usize = 4 << 20;
/// Lazy DFA cache bound per pattern and thread.
const DFA_LIMIT: usize = 1 << 20;

/// The engine a pattern runs on.
#[derive(Clone, Debug)]
enum Engine {
    Linear(Regex),
    Backtrack(pcre2::bytes::Regex),
}

/// A compiled `pcre` keyword.
#[derive(Clone, Debug)]
pub(crate) struct Pcre {
    re: Engine,
    pub negated: bool,
    pub relative: bool,
    /// Buffer named by a flag (`U`, `H`, ...), if any.
    pub buffer: Option<BufferId>,
}

impl Pcre {
    pub fn is_match(&self, hay: &[u8]) -> bool {
        match &self.re {
            Engine::Linear(re) => re.is_match(hay),
            // A search that hits the match limit does not match.
            Engine::Backtrack(re) => re.is_match(hay).unwrap_or(false),
        }
    }

    /// First match starting at or after `from`: (start, end).
    pub fn find_at(&self, hay: &[u8], from: usize) -> Option<(usize, usize)> {
        if from > hay.len() {
            return None;
        }
        match &self.re {
            Engine::Linear(re) => re.find_at(hay, from).map(|m| (m.start(), m.end())),
            Engine::Backtrack(re) => re.find_at(hay, from).ok().flatten().map(|m| (m.start(), m.end())),
        }
    }

    /// Capture group 1 of the first match (pcrexform), as a range of `hay`.
    pub fn capture1(&self, hay: &[u8]) -> Option<(usize, usize)> {
        match &self.re {
            Engine::Linear(re) => re.captures(hay)?.get(1).map(|m| (m.start(), m.end())),
            Engine::Backtrack(re) => {
                let c = re.captures(hay).ok().flatten()?;
                c.get(1).map(|m| (m.start(), m.end()))
            }
        }
    }

    /// Number of capture groups, counting the whole match.
    pub fn captures_len(&self) -> usize {
        match &self.re {
            Engine::Linear(re) => re.captures_len(),
            Engine::Backtrack(re) => re.captures_len(),
        }
    }

    /// Does the pattern run on the backtracking engine (PCRE2)?
    pub fn backtracking(&self) -> bool {
        matches!(self.re, Engine::Backtrack(_))
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Flags {
    caseless: bool,
    dotall: bool,
    multiline: bool,
    extended: bool,
    dollar_endonly: bool,
    ungreedy: bool,
    anchored: bool,
}

/// Parse and compile a `pcre` value. Errors are positioned in the value.
pub(crate) fn parse(v: &str) -> Result<Pcre, SpanError> {
    let mut s = v.trim();
    let mut at = 0;
    let mut negated = false;
    if let Some(r) = s.strip_prefix('!') {
        negated = true;
        s = r.trim_start();
        at = v.len() - s.len();
    }
    let inner = s
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .ok_or_else(|| SpanError::new(at, reason::BAD_VALUE, "pcre value must be quoted"))?;
    let body = inner
        .strip_prefix('/')
        .ok_or_else(|| SpanError::new(at + 1, reason::BAD_VALUE, "pcre must start with '/'"))?;
    let close = body
        .rfind('/')
        .ok_or_else(|| SpanError::new(at + 1, reason::BAD_VALUE, "pcre has no closing '/'"))?;
    let pattern = body.get(..close).unwrap_or_default();
    let mods = body.get(close + 1..).unwrap_or_default();
    let mut prefix = String::new();
    let mut f = Flags::default();
    let mut anchored = false;
    let mut relative = false;
    let mut buffer = None;
    for (k, m) in mods.char_indices() {
        let buf = |b| -> Result<Option<BufferId>, SpanError> {
            match buffer {
                Some(old) if old != b => Err(SpanError::new(
                    at + close + 2 + k,
                    reason::CONFLICT,
                    "pcre names two buffers",
                )),
                _ => Ok(Some(b)),
            }
        };
        match m {
            'i' => {
                prefix.push('i');
                f.caseless = true;
            }
            's' => {
                prefix.push('s');
                f.dotall = true;
            }
            'm' => {
                prefix.push('m');
                f.multiline = true;
            }
            'x' => {
                prefix.push('x');
                f.extended = true;
            }
            'G' => {
                prefix.push('U');
                f.ungreedy = true;
            }
            'A' => {
                anchored = true;
                f.anchored = true;
            }
            'E' => f.dollar_endonly = true,
            'R' => relative = true,
            'U' => buffer = buf(BufferId::HttpUri)?,
            'I' => buffer = buf(BufferId::HttpRawUri)?,
            'P' => buffer = buf(BufferId::HttpRequestBody)?,
            'Q' => buffer = buf(BufferId::FileData)?,
            'H' => buffer = buf(BufferId::HttpHeader)?,
            'D' => buffer = buf(BufferId::HttpRawHeader)?,
            'M' => buffer = buf(BufferId::HttpMethod)?,
            'C' => buffer = buf(BufferId::HttpCookie)?,
            'S' => buffer = buf(BufferId::HttpStatCode)?,
            'Y' => buffer = buf(BufferId::HttpStatMsg)?,
            'V' => buffer = buf(BufferId::HttpUserAgent)?,
            'W' => buffer = buf(BufferId::HttpHost)?,
            'Z' => buffer = buf(BufferId::HttpRawHost)?,
            'B' | 'O' => {}
            _ => {
                return Err(SpanError::new(
                    at + close + 2 + k,
                    reason::BAD_VALUE,
                    format!("unknown pcre flag '{m}'"),
                ))
            }
        }
    }
    if !prefix.is_empty() {
        prefix = format!("(?{prefix})");
    }
    let body_at = at + 2;
    let translated = match translate(pattern, f) {
        Ok(t) => t,
        Err((_, r, _)) if r == NEEDS_BACKTRACKING => {
            let re = backtracking(pattern, f).map_err(|m| SpanError::new(body_at, reason::BAD_VALUE, m))?;
            return Ok(Pcre {
                re: Engine::Backtrack(re),
                negated,
                relative,
                buffer,
            });
        }
        Err((k, r, m)) => return Err(SpanError::new(body_at + k, r, m)),
    };
    let full = if anchored {
        format!("{prefix}\\A(?:{translated})")
    } else {
        format!("{prefix}{translated}")
    };
    let re = RegexBuilder::new(&full)
        .unicode(false)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(DFA_LIMIT)
        .build()
        .map_err(|e| {
            let first = e.to_string();
            let line = first
                .lines()
                .last()
                .unwrap_or("invalid pattern")
                .trim()
                .to_string();
            SpanError::new(body_at, reason::BAD_VALUE, format!("bad pcre: {line}"))
        })?;
    Ok(Pcre {
        re: Engine::Linear(re),
        negated,
        relative,
        buffer,
    })
}

/// Compile `pattern` (PCRE syntax, as written) with PCRE2.
fn backtracking(pattern: &str, f: Flags) -> Result<pcre2::bytes::Regex, String> {
    if pattern.contains("(*LIMIT_") {
        return Err("bad pcre: a pattern may not set its own match limits".into());
    }
    let body = if f.dollar_endonly && !f.multiline {
        dollar_at_end_only(pattern)
    } else {
        pattern.to_string()
    };
    let mut full = String::with_capacity(body.len() + 64);
    full.push_str(PCRE2_LIMITS);
    if f.ungreedy {
        full.push_str("(?U)");
    }
    if f.anchored {
        full.push_str("\\A(?:");
        full.push_str(&body);
        full.push(')');
    } else {
        full.push_str(&body);
    }
    pcre2::bytes::RegexBuilder::new()
        .caseless(f.caseless)
        .dotall(f.dotall)
        .multi_line(f.multiline)
        .extended(f.extended)
        .utf(false)
        .ucp(false)
        .jit_if_available(true)
        .max_jit_stack_size(Some(JIT_STACK))
        .build(&full)
        .map_err(|e| format!("bad pcre: {e}"))
}

/// `$` outside classes and escapes becomes `\z` (PCRE's dollar-endonly).
fn dollar_at_end_only(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 4);
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let first_in_class = class_start;
        class_start = false;
        match c {
            '\\' => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push(c);
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
            }
            ']' if in_class && !first_in_class => {
                in_class = false;
                out.push(c);
            }
            '$' if !in_class => out.push_str("\\z"),
            _ => out.push(c),
        }
    }
    out
}

type TErr = (usize, &'static str, String);

fn unsupported(at: usize, what: &str) -> TErr {
    (
        at,
        NEEDS_BACKTRACKING,
        format!("pcre uses {what}, which needs a backtracking engine"),
    )
}

/// Translate a PCRE pattern to `regex` syntax with the same meaning.
fn translate(p: &str, f: Flags) -> Result<String, TErr> {
    let b = p.as_bytes();
    let mut out = String::with_capacity(p.len() + 16);
    let mut i = 0;
    let mut in_class = false;
    while let Some(&c) = b.get(i) {
        if c == b'\\' {
            let Some(&e) = b.get(i + 1) else {
                return Err((i, reason::BAD_VALUE, "pcre ends with '\\'".into()));
            };
            i += 2;
            match e {
                b'Q' => {
                    // Literal up to \E.
                    let rest = p.get(i..).unwrap_or_default();
                    let end = rest.find("\\E").unwrap_or(rest.len());
                    for &l in rest.as_bytes().get(..end).unwrap_or_default() {
                        push_byte(&mut out, l);
                    }
                    i += end + if end < rest.len() { 2 } else { 0 };
                }
                b'E' => {}
                b'x' => {
                    if b.get(i) == Some(&b'{') {
                        let close = p.get(i..).and_then(|r| r.find('}')).ok_or((
                            i,
                            reason::BAD_VALUE,
                            "unterminated \\x{".to_string(),
                        ))?;
                        let hex = p.get(i + 1..i + close).unwrap_or_default();
                        let v = u32::from_str_radix(hex, 16).ok().filter(|&v| v <= 0xff).ok_or((
                            i,
                            reason::BAD_VALUE,
                            format!("bad \\x{{{hex}}}"),
                        ))?;
                        push_byte(&mut out, v as u8);
                        i += close + 1;
                    } else {
                        let mut v: u32 = 0;
                        let mut n = 0;
                        while n < 2 {
                            match b.get(i).and_then(|d| (*d as char).to_digit(16)) {
                                Some(d) => {
                                    v = v * 16 + d;
                                    i += 1;
                                    n += 1;
                                }
                                None => break,
                            }
                        }
                        push_byte(&mut out, v as u8);
                    }
                }
                b'0'..=b'7' if e == b'0' || (in_class && e != b'8' && e != b'9') => {
                    // Octal: \0, \0nn, \nnn inside classes.
                    let mut v: u32 = u32::from(e - b'0');
                    let mut n = 1;
                    while n < 3 {
                        match b.get(i) {
                            Some(d @ b'0'..=b'7') => {
                                v = v * 8 + u32::from(d - b'0');
                                i += 1;
                                n += 1;
                            }
                            _ => break,
                        }
                    }
                    push_byte(&mut out, (v & 0xff) as u8);
                }
                b'1'..=b'9' => return Err(unsupported(i - 2, "a backreference")),
                b'g' | b'k' => return Err(unsupported(i - 2, "a backreference")),
                b'Z' if !in_class => out.push_str("(?:\\n?\\z)"),
                b'z' | b'A' | b'B' | b'd' | b'D' | b'w' | b'W' | b's' | b'S' => {
                    out.push('\\');
                    out.push(e as char);
                }
                b'b' => out.push_str(if in_class { "\\x08" } else { "\\b" }),
                b'G' => out.push_str("\\A"),
                b'h' => out.push_str(if in_class {
                    "\\t\\x20\\xA0"
                } else {
                    "[\\t\\x20\\xA0]"
                }),
                b'H' if !in_class => out.push_str("[^\\t\\x20\\xA0]"),
                b'v' => out.push_str(if in_class {
                    "\\n\\x0B\\x0C\\r\\x85"
                } else {
                    "[\\n\\x0B\\x0C\\r\\x85]"
                }),
                b'V' if !in_class => out.push_str("[^\\n\\x0B\\x0C\\r\\x85]"),
                b'R' if !in_class => out.push_str("(?:\\r\\n|[\\n\\x0B\\x0C\\r\\x85])"),
                b'N' if !in_class => out.push_str("[^\\n]"),
                b'n' | b't' | b'r' | b'f' => {
                    out.push('\\');
                    out.push(e as char);
                }
                b'a' => out.push_str("\\x07"),
                b'e' => out.push_str("\\x1B"),
                b'c' => {
                    let Some(&x) = b.get(i) else {
                        return Err((i, reason::BAD_VALUE, "\\c at the end of the pattern".into()));
                    };
                    i += 1;
                    push_byte(&mut out, x.to_ascii_uppercase() ^ 0x40);
                }
                b'K' | b'p' | b'P' | b'X' | b'C' => {
                    return Err(unsupported(i - 2, &format!("'\\{}'", e as char)))
                }
                b'H' | b'V' | b'R' | b'N' | b'Z' => {
                    return Err((
                        i - 2,
                        reason::BAD_VALUE,
                        format!("pcre escape '\\{}' is not supported here", e as char),
                    ))
                }
                e if e.is_ascii_alphanumeric() => {
                    return Err((
                        i - 2,
                        reason::BAD_VALUE,
                        format!("unknown pcre escape '\\{}'", e as char),
                    ))
                }
                // Escaped punctuation (and any other byte) is a literal.
                e => push_byte(&mut out, e),
            }
            continue;
        }
        if in_class {
            match c {
                b']' => {
                    in_class = false;
                    out.push(']');
                    i += 1;
                }
                b'[' => {
                    if let Some(len) = posix_class_len(b.get(i..).unwrap_or_default()) {
                        out.push_str(p.get(i..i + len).unwrap_or_default());
                        i += len;
                    } else {
                        out.push_str("\\[");
                        i += 1;
                    }
                }
                // regex reads `&&`, `--`, `~~` in a class as set operations.
                b'&' | b'~' | b'-' if b.get(i + 1) == Some(&c) => {
                    push_byte(&mut out, c);
                    push_byte(&mut out, c);
                    i += 2;
                }
                b' ' | b'#' if f.extended => {
                    push_byte(&mut out, c);
                    i += 1;
                }
                _ => push_literal_char(&mut out, p, &mut i),
            }
            continue;
        }
        match c {
            b'[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if b.get(i) == Some(&b'^') {
                    out.push('^');
                    i += 1;
                }
                if b.get(i) == Some(&b']') {
                    out.push_str("\\]");
                    i += 1;
                }
                continue;
            }
            b'(' => {
                let rest = b.get(i + 1..).unwrap_or_default();
                if rest.starts_with(b"?=")
                    || rest.starts_with(b"?!")
                    || rest.starts_with(b"?<=")
                    || rest.starts_with(b"?<!")
                {
                    return Err(unsupported(i, "lookaround"));
                }
                if rest.starts_with(b"?>") {
                    return Err(unsupported(i, "an atomic group"));
                }
                if rest.starts_with(b"?|") {
                    out.push_str("(?:");
                    i += 3;
                    continue;
                }
                if rest.starts_with(b"?'") {
                    // (?'name' -> (?P<name>
                    let close = p.get(i + 3..).and_then(|r| r.find('\'')).ok_or((
                        i,
                        reason::BAD_VALUE,
                        "unterminated group name".to_string(),
                    ))?;
                    out.push_str("(?P<");
                    out.push_str(p.get(i + 3..i + 3 + close).unwrap_or_default());
                    out.push('>');
                    i += 4 + close;
                    continue;
                }
                if rest.starts_with(b"?#") {
                    let close = p.get(i..).and_then(|r| r.find(')')).unwrap_or(b.len() - i);
                    i += close + 1;
                    continue;
                }
                if rest.starts_with(b"?(")
                    || rest.starts_with(b"?R")
                    || rest.starts_with(b"?&")
                    || rest.starts_with(b"?P>")
                    || rest.starts_with(b"?P=")
                {
                    return Err(unsupported(i, "recursion or conditionals"));
                }
                if rest.first() == Some(&b'*') {
                    return Err(unsupported(i, "a backtracking verb"));
                }
                out.push('(');
                i += 1;
            }
            b'{' => {
                if let Some(len) = quantifier_len(b.get(i..).unwrap_or_default()) {
                    out.push_str(p.get(i..i + len).unwrap_or_default());
                    i += len;
                    no_possessive(b, i)?;
                } else {
                    out.push_str("\\{");
                    i += 1;
                }
            }
            b'}' => {
                out.push_str("\\}");
                i += 1;
            }
            b'*' | b'+' | b'?' => {
                out.push(c as char);
                i += 1;
                no_possessive(b, i)?;
            }
            b'$' if !f.multiline => {
                out.push_str(if f.dollar_endonly { "\\z" } else { "(?:\\n?\\z)" });
                i += 1;
            }
            b'#' | b' ' | b'\t' | b'\n' | b'\r' if f.extended => {
                // regex's x mode reads comments and spaces as PCRE's does.
                out.push(c as char);
                i += 1;
            }
            _ => push_literal_char(&mut out, p, &mut i),
        }
    }
    if in_class {
        return Err((p.len(), reason::BAD_VALUE, "unterminated character class".into()));
    }
    Ok(out)
}

/// After a quantifier: a `+` makes it possessive, which only a
/// backtracking engine runs as PCRE does. (`?` after it, lazy, is fine.)
fn no_possessive(b: &[u8], i: usize) -> Result<(), TErr> {
    if b.get(i) == Some(&b'+') {
        return Err(unsupported(i, "a possessive quantifier"));
    }
    Ok(())
}

/// Push the character at `*i` (ASCII as is, non-ASCII UTF-8 as its
/// bytes) and advance `*i` past it.
fn push_literal_char(out: &mut String, p: &str, i: &mut usize) {
    let Some(ch) = p.get(*i..).and_then(|r| r.chars().next()) else {
        *i += 1;
        return;
    };
    if ch.is_ascii() {
        out.push(ch);
        *i += 1;
    } else {
        let mut buf = [0u8; 4];
        for &byte in ch.encode_utf8(&mut buf).as_bytes() {
            push_byte(out, byte);
        }
        *i += ch.len_utf8();
    }
}

fn push_byte(out: &mut String, c: u8) {
    if c.is_ascii_alphanumeric() || c == b'_' {
        out.push(c as char);
    } else {
        out.push_str(&format!("\\x{c:02X}"));
    }
}

/// `{n}`, `{n,}`, `{n,m}` at the start of `b`: its length.
fn quantifier_len(b: &[u8]) -> Option<usize> {
    let close = b.iter().position(|&c| c == b'}')?;
    let inner = b.get(1..close)?;
    let (lo, hi) = match inner.iter().position(|&c| c == b',') {
        Some(k) => (inner.get(..k)?, Some(inner.get(k + 1..)?)),
        None => (inner, None),
    };
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    (!lo.is_empty() && digits(lo) && hi.is_none_or(digits)).then_some(close + 1)
}

/// `[:alpha:]` at the start of `b`: its length.
fn posix_class_len(b: &[u8]) -> Option<usize> {
    if b.get(1) != Some(&b':') {
        return None;
    }
    let end = b.windows(2).position(|w| w == b":]")?;
    let name = b.get(2..end)?;
    let name = name.strip_prefix(b"^").unwrap_or(name);
    (!name.is_empty() && name.iter().all(u8::is_ascii_lowercase)).then_some(end + 2)
}

/// `pcre:...` as an option.
pub(crate) fn keyword(opt: &Opt<'_>) -> Result<Pcre, SpanError> {
    let v = opt.value()?;
    parse(v).map_err(|e| e.offset(opt.value_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(v: &str) -> Pcre {
        parse(v).unwrap_or_else(|e| panic!("{v}: {e:?}"))
    }

    fn hit(v: &str, hay: &[u8]) -> bool {
        re(v).is_match(hay)
    }

    #[test]
    fn flags_and_buffers() {
        let p = re(r#""/^GET/Ui""#);
        assert_eq!(p.buffer, Some(BufferId::HttpUri));
        assert!(p.is_match(b"get /"));
        let p = re(r#"!"/a/R""#);
        assert!(p.negated && p.relative && p.buffer.is_none());
        assert!(parse(r#""/a/UH""#).is_err());
        assert!(parse(r#""/a/q""#).is_err());
        assert!(parse(r#""a""#).is_err());
    }

    #[test]
    fn pcre_meanings_are_kept() {
        // \< and \> are literals in PCRE.
        assert!(hit(r#""/\<script\>/""#, b"<script>"));
        assert!(!hit(r#""/\<script\>/""#, b"script"));
        // single-digit \xH
        assert!(hit(r#""/a\x9-/""#, b"a\t-"));
        assert!(hit(r#""/a\x9b/""#, b"a\x9b"));
        assert!(hit(r#""/\x41\x{42}/""#, b"AB"));
        // literal braces
        assert!(hit(r#""/a{b}/""#, b"a{b}"));
        assert!(hit(r#""/a{2}/""#, b"aa"));
        assert!(hit(r#""/{"id"/""#, b"{\"id\":1}"));
        // $ before a final newline
        assert!(hit(r#""/abc$/""#, b"xabc\n"));
        assert!(!hit(r#""/abc$/E""#, b"xabc\n"));
        assert!(hit(r#""/^b$/m""#, b"a\nb\nc"));
        // possessive: PCRE's meaning (no giving back)
        assert!(hit(r#""/a++b/""#, b"aaab"));
        assert!(!hit(r#""/a++a/""#, b"aaaa"));
        assert!(hit(r#""/a+?a/""#, b"aa"));
        // bytes, not UTF-8
        assert!(hit(r#""/\xff\x00/""#, b"\xff\x00"));
        assert!(hit(r#""/./s""#, b"\n"));
        assert!(!hit(r#""/^.$/""#, b"\n"));
        // classes: '[' literal, ']' first, posix
        assert!(hit(r#""/[[]x/""#, b"[x"));
        assert!(hit(r#""/[]a]/""#, b"]"));
        assert!(hit(r#""/[^]a]/""#, b"b"));
        assert!(hit(r#""/[[:digit:]]{3}/""#, b"123"));
        assert!(hit(r#""/[a&&b]/""#, b"&"));
        assert!(hit(r#""/\/\.\.\//""#, b"/../"));
        assert!(hit(r#""/\Qa.b\E/""#, b"a.b"));
        assert!(!hit(r#""/\Qa.b\E/""#, b"axb"));
        assert!(hit(r#""/a\0b/""#, b"a\0b"));
        assert!(hit(r#""/(?'x'ab)/""#, b"ab"));
        assert!(hit(
            r#""/a # comment
b/x""#,
            b"ab"
        ));
        assert!(hit(r#""/\d+\s\w/""#, b"12 x"));
        assert!(hit(r#""/A/i""#, b"a"));
        assert!(hit(r#""/x/A""#, b"xy") && !hit(r#""/x/A""#, b"yx"));
        assert!(hit("\"/caf\u{e9}/\"", "caf\u{e9}".as_bytes()));
    }

    #[test]
    fn backtracking_patterns_run_on_pcre2() {
        for v in [
            r#""/(a)\1/""#,
            r#""/a(?=b)/""#,
            r#""/(?<!a)b/""#,
            r#""/(?!x)/""#,
            r#""/a*+/""#,
            r#""/a{2}+/""#,
            r#""/(?>ab)/""#,
            r#""/a\Kb/""#,
        ] {
            assert!(re(v).backtracking(), "{v}");
        }
        for v in [r#""/a+?b/""#, r#""/(a)(b)/""#, r#""/[\1]/""#] {
            assert!(!re(v).backtracking(), "{v}");
        }
    }

    #[test]
    fn lookaround_and_backreferences() {
        // Lookahead: both words somewhere, in any order.
        let p = r#""/^(?=.*admin)(?=.*passwd)/s""#;
        assert!(hit(p, b"user=admin&passwd=1"));
        assert!(hit(p, b"passwd=1&user=admin"));
        assert!(!hit(p, b"user=admin"));
        // Negative lookahead.
        let p = r#""/\/(?!index)\w+\.php/U""#;
        assert!(hit(p, b"/shell.php"));
        assert!(!hit(p, b"/index.php"));
        // Lookbehind.
        assert!(hit(r#""/(?<=User-Agent: )curl/i""#, b"user-agent: CURL/8"));
        assert!(!hit(r#""/(?<=User-Agent: )curl/""#, b"X: curl"));
        // Backreference: the same quote on both sides.
        let p = r#""/(["'])evil\1/""#;
        assert!(hit(p, b"x=\"evil\""));
        assert!(hit(p, b"x='evil'"));
        assert!(!hit(p, b"x=\"evil'"));
        assert!(hit(r#""/(a)\1/i""#, b"aA"));
        // Named backreference.
        assert!(hit(r#""/(?<q>\d)-\k<q>/""#, b"7-7"));
        assert!(!hit(r#""/(?<q>\d)-\k<q>/""#, b"7-8"));
        // Atomic group gives nothing back.
        assert!(!hit(r#""/(?>a+)a/""#, b"aaaa"));
        // Flags on the backtracking engine: A anchored, E dollar at the end
        // only, m multiline, G ungreedy, bytes not UTF-8.
        assert!(!hit(r#""/(?=b)b/A""#, b"ab"));
        assert!(hit(r#""/(?=a)a/A""#, b"ab"));
        assert!(hit(r#""/(a)\1$/""#, b"aa\n"));
        assert!(!hit(r#""/(a)\1$/E""#, b"aa\n"));
        assert!(hit(r#""/(a)\1[$]/E""#, b"aa$"));
        assert!(hit(r#""/^(?=b)b$/m""#, b"a\nb\nc"));
        let p = re(r#""/<(?=a).+>/G""#);
        assert_eq!(p.find_at(b"<a><b>", 0), Some((0, 3)));
        assert!(hit(r#""/(\xff)\1/""#, b"\xff\xff"));
        // Relative search from an offset.
        let p = re(r#""/(x)\1/R""#);
        assert_eq!(p.find_at(b"xx-xx", 1), Some((3, 5)));
        assert_eq!(p.find_at(b"xx-xx", 6), None);
        assert_eq!(p.capture1(b"-xx"), Some((1, 2)));
        // A pattern may not raise its own limits; bad syntax is an error.
        assert!(parse(r#""/(*LIMIT_MATCH=99999999)(a)\1/""#).is_err());
        assert!(parse(r#""/(a\1/""#).is_err());
    }

    #[test]
    fn match_limit_bounds_catastrophic_patterns() {
        // The bundled PCRE2 has its JIT on this platform.
        #[cfg(target_arch = "x86_64")]
        assert!(crate::pcre_jit_available());
        // Exponential backtracking: the limit stops it, and it does not match.
        let p = re(r#""/^(\w+\s?)*$\1/""#);
        let hay = b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!";
        let t = std::time::Instant::now();
        assert!(!p.is_match(hay));
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn find_at_backtracks() {
        let p = re(r#""/a./""#);
        assert_eq!(p.find_at(b"xaxay", 0), Some((1, 3)));
        assert_eq!(p.find_at(b"xaxay", 2), Some((3, 5)));
        assert_eq!(p.find_at(b"xaxay", 9), None);
    }
}
