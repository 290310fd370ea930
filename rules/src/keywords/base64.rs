//! `base64_decode[:bytes N][, offset N][, relative]` and `base64_data`.
//!
//! `base64_decode` decodes (RFC 2045: characters outside the alphabet are
//! skipped, `=` ends the data) up to `bytes` bytes of the current buffer
//! from `offset`, counted from the start or, with `relative`, from the end
//! of the previous match. The keywords after `base64_data` inspect the
//! decoded bytes. As in Suricata the decoded data is the end of the rule's
//! chain: the `base64_decode` item matches when something decoded and the
//! `base64_data` keywords match it; without `base64_data` it never matches.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use super::Opt;
use crate::error::{reason, SpanError};
use crate::inspect::Chain;
use std::cell::RefCell;

/// Bytes decoded at most per `base64_decode` (Suricata's default bound).
pub(crate) const MAX_BYTES: u32 = 65_535;

/// A parsed `base64_decode`, with the `base64_data` chain it feeds.
#[derive(Clone, Debug)]
pub(crate) struct Base64Decode {
    pub bytes: u32,
    pub offset: u32,
    pub relative: bool,
    pub then: Chain,
}

/// Parse `base64_decode`'s options (the keyword may have no value).
pub(crate) fn keyword(opt: &Opt<'_>) -> Result<Base64Decode, SpanError> {
    let mut d = Base64Decode {
        bytes: MAX_BYTES,
        offset: 0,
        relative: false,
        then: Chain::default(),
    };
    let Some(v) = opt.value.filter(|v| !v.trim().is_empty()) else {
        return Ok(d);
    };
    let mut at = 0;
    for part in v.split(',') {
        let here = at + (part.len() - part.trim_start().len());
        at += part.len() + 1;
        let p = part.trim();
        let bad = |m: String| opt.err_value(here, reason::BAD_VALUE, m);
        if p == "relative" {
            d.relative = true;
            continue;
        }
        let (k, n) = p
            .split_once(char::is_whitespace)
            .ok_or_else(|| bad(format!("unknown base64_decode option '{p}'")))?;
        let n: u32 = n
            .trim()
            .parse()
            .map_err(|_| bad(format!("bad base64_decode number '{}'", n.trim())))?;
        match k {
            "bytes" if n > 0 => d.bytes = n.min(MAX_BYTES),
            "offset" => d.offset = n,
            _ => return Err(bad(format!("bad base64_decode option '{p}'"))),
        }
    }
    Ok(d)
}

fn sextet(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

/// RFC 2045 decoding of `input` into `out` (cleared first).
pub(crate) fn decode(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in input {
        if c == b'=' {
            break;
        }
        let Some(v) = sextet(c) else { continue };
        acc = (acc << 6 | v) & 0xff_ffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
}

thread_local! {
    /// Decoded bytes, reused: matching allocates only while it grows.
    static DECODED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Base64Decode {
    /// Decode from `buf` (previous match ending at `prev_end`) and run the
    /// `base64_data` chain on the result.
    pub fn matches(&self, buf: &[u8], prev_end: usize) -> bool {
        if self.then.items.is_empty() {
            return false;
        }
        let base = if self.relative { prev_end } else { 0 };
        let start = base.saturating_add(self.offset as usize);
        let Some(rest) = buf.get(start..) else {
            return false;
        };
        let src = rest.get(..self.bytes as usize).unwrap_or(rest);
        let run = |out: &mut Vec<u8>| {
            decode(src, out);
            !out.is_empty() && self.then.matches(out, 0)
        };
        DECODED.with(|cell| match cell.try_borrow_mut() {
            Ok(mut v) => run(&mut v),
            // Not reachable (base64_data chains hold no base64_decode), but
            // correct anyway.
            Err(_) => run(&mut Vec::new()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(i: &[u8]) -> Vec<u8> {
        let mut o = Vec::new();
        decode(i, &mut o);
        o
    }

    #[test]
    fn rfc2045_decoding() {
        assert_eq!(dec(b"VGhpcyBpcyBTdXJpY2F0YQ=="), b"This is Suricata");
        assert_eq!(dec(b"VGhp\r\ncyBp cyBT"), b"This is S");
        assert_eq!(dec(b"SGVsbG8=IGlnbm9yZWQ="), b"Hello");
        assert_eq!(dec(b"!!!"), b"");
        assert_eq!(dec(b"QQ"), b"A");
    }

    fn opt(value: Option<&'static str>) -> Opt<'static> {
        Opt::test("base64_decode", value)
    }

    #[test]
    fn options() {
        let d = keyword(&opt(Some("bytes 150, offset 6, relative"))).unwrap();
        assert_eq!((d.bytes, d.offset, d.relative), (150, 6, true));
        let d = keyword(&opt(None)).unwrap();
        assert_eq!((d.bytes, d.offset, d.relative), (MAX_BYTES, 0, false));
        assert!(keyword(&opt(Some("bytes x"))).is_err());
        assert!(keyword(&opt(Some("bytes 0"))).is_err());
        assert!(keyword(&opt(Some("nope 1"))).is_err());
        assert!(keyword(&opt(Some("offset"))).is_err());
    }
}
