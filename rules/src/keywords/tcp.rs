//! `flags`: TCP flags, in Suricata's syntax.
//!
//! `flags:[mod]FLAGS[,IGNORE]` with FLAGS from `F S R P A U C E` (`1` = C,
//! `2` = E) or `0` (no flags). Modifier: none (exactly these), `+` (at
//! least these), `*` (any of these), `!` (not all of these). IGNORE names
//! flags masked out of the packet before comparing.

use super::Opt;
use crate::error::{reason, SpanError};

/// A parsed `flags` keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FlagsMatch {
    flags: u8,
    ignore: u8,
    modifier: Option<u8>,
}

impl FlagsMatch {
    pub fn matches(&self, tcp_flags: Option<u8>) -> bool {
        let Some(pkt) = tcp_flags else { return false };
        let f = pkt & !self.ignore;
        match self.modifier {
            None => f == self.flags,
            Some(b'+') => f & self.flags == self.flags,
            Some(b'*') => f & self.flags != 0,
            Some(_) => f & self.flags != self.flags,
        }
    }
}

fn bit(c: u8) -> Option<u8> {
    Some(match c.to_ascii_uppercase() {
        b'F' => 0x01,
        b'S' => 0x02,
        b'R' => 0x04,
        b'P' => 0x08,
        b'A' => 0x10,
        b'U' => 0x20,
        b'E' | b'2' => 0x40,
        b'C' | b'1' => 0x80,
        _ => return None,
    })
}

/// Parse `flags` text. Errors carry an offset within `v`.
pub(crate) fn parse(v: &str) -> Result<FlagsMatch, (usize, String)> {
    let (main, mask) = match v.split_once(',') {
        Some((m, k)) => (m, Some((v.len() - k.len(), k))),
        None => (v, None),
    };
    let mut flags = 0u8;
    let mut zero = false;
    let mut modifier = None;
    let mut any = false;
    for (i, c) in main.bytes().enumerate() {
        match c {
            b'+' | b'*' | b'!' => {
                if modifier.replace(c).is_some() {
                    return Err((i, "more than one flags modifier".into()));
                }
            }
            b'0' => {
                zero = true;
                any = true;
            }
            c if c.is_ascii_whitespace() => {}
            c => {
                flags |= bit(c).ok_or_else(|| (i, format!("unknown TCP flag '{}'", c as char)))?;
                any = true;
            }
        }
    }
    if !any {
        return Err((0, "no TCP flags given".into()));
    }
    if zero && (flags != 0 || modifier.is_some()) {
        return Err((
            0,
            "'0' (no flags) cannot be combined with flags or modifiers".into(),
        ));
    }
    let mut ignore = 0u8;
    if let Some((base, k)) = mask {
        for (i, c) in k.bytes().enumerate() {
            if c.is_ascii_whitespace() {
                continue;
            }
            ignore |=
                bit(c).ok_or_else(|| (base + i, format!("unknown TCP flag '{}' in mask", c as char)))?;
        }
    }
    Ok(FlagsMatch {
        flags,
        ignore,
        modifier,
    })
}

/// `flags:...`
pub(crate) fn keyword(opt: &Opt<'_>, slot: &mut Option<FlagsMatch>) -> Result<(), SpanError> {
    if slot.is_some() {
        return Err(opt.err(reason::CONFLICT, "'flags' given twice"));
    }
    let v = opt.value()?;
    *slot = Some(parse(v).map_err(|(at, m)| opt.err_value(at, reason::BAD_VALUE, m))?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: u8 = 0x01;
    const S: u8 = 0x02;
    const R: u8 = 0x04;
    const A: u8 = 0x10;
    const C: u8 = 0x80;
    const E: u8 = 0x40;

    fn m(v: &str, pkt: u8) -> bool {
        parse(v).unwrap().matches(Some(pkt))
    }

    #[test]
    fn modifiers() {
        assert!(m("S", S) && !m("S", S | A));
        assert!(m("SA", S | A) && m("AS", S | A) && !m("SA", S));
        assert!(m("S+", S | A) && m("+S", S | A) && !m("S+", A));
        assert!(m("*SF", F | A) && !m("*SF", A));
        assert!(m("!S", A) && !m("!S", S | A) && m("!SA", S));
        assert!(m("0", 0) && !m("0", A));
        assert!(m("S,CE", S | C | E) && !m("S", S | C));
        assert!(m("S,12", S | C | E));
        assert!(m("FSRPAUCE", 0xff) && m("R", R));
        assert!(!parse("S").unwrap().matches(None));
    }

    #[test]
    fn errors() {
        assert_eq!(parse("SX").unwrap_err().0, 1);
        assert_eq!(parse("S,X").unwrap_err().0, 2);
        assert!(parse("+*S").is_err());
        assert!(parse("").is_err());
        assert!(parse("0S").is_err());
        assert!(parse("+").is_err());
    }
}
