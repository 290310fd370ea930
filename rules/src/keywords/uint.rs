//! Integer comparisons shared by `dsize`, `ttl`, `itype` and `icode`:
//! `N`, `<N`, `<=N`, `>N`, `>=N`, `N<>M` and `N-M` (both exclusive), and
//! `!N` / `!N<>M`. Parsed once into a [`UintMatch`]; matching is a pure
//! function.

use super::Opt;
use crate::error::{reason, SpanError};

/// A parsed comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UintMatch {
    Eq(u32),
    Ne(u32),
    Lt(u32),
    Le(u32),
    Gt(u32),
    Ge(u32),
    /// `lo < x < hi`
    Between(u32, u32),
    /// not `lo < x < hi`
    NotBetween(u32, u32),
}

impl UintMatch {
    pub fn matches(self, x: u32) -> bool {
        match self {
            UintMatch::Eq(n) => x == n,
            UintMatch::Ne(n) => x != n,
            UintMatch::Lt(n) => x < n,
            UintMatch::Le(n) => x <= n,
            UintMatch::Gt(n) => x > n,
            UintMatch::Ge(n) => x >= n,
            UintMatch::Between(lo, hi) => lo < x && x < hi,
            UintMatch::NotBetween(lo, hi) => !(lo < x && x < hi),
        }
    }
}

/// Parse a comparison whose operands may not exceed `max`.
pub(crate) fn parse(v: &str, max: u32) -> Result<UintMatch, String> {
    let num = |s: &str| -> Result<u32, String> {
        let t = s.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("'{t}' is not a number"));
        }
        match t.parse::<u32>() {
            Ok(n) if n <= max => Ok(n),
            _ => Err(format!("{t} is above the maximum {max}")),
        }
    };
    let range = |s: &str| -> Result<Option<(u32, u32)>, String> {
        let Some((a, b)) = s.split_once("<>").or_else(|| s.split_once('-')) else {
            return Ok(None);
        };
        let (lo, hi) = (num(a)?, num(b)?);
        if lo >= hi {
            return Err(format!(
                "range {lo}<>{hi} is empty (the first value must be lower)"
            ));
        }
        Ok(Some((lo, hi)))
    };
    let t = v.trim();
    let m = if let Some(r) = t.strip_prefix("<=") {
        UintMatch::Le(num(r)?)
    } else if let Some(r) = t.strip_prefix(">=") {
        UintMatch::Ge(num(r)?)
    } else if let Some(r) = t.strip_prefix('<') {
        UintMatch::Lt(num(r)?)
    } else if let Some(r) = t.strip_prefix('>') {
        UintMatch::Gt(num(r)?)
    } else if let Some(r) = t.strip_prefix('!') {
        match range(r)? {
            Some((lo, hi)) => UintMatch::NotBetween(lo, hi),
            None => UintMatch::Ne(num(r)?),
        }
    } else {
        match range(t)? {
            Some((lo, hi)) => UintMatch::Between(lo, hi),
            None => UintMatch::Eq(num(t)?),
        }
    };
    Ok(m)
}

/// Parse a keyword's value; `max` is the field's largest value.
pub(crate) fn keyword(opt: &Opt<'_>, slot: &mut Option<UintMatch>, max: u32) -> Result<(), SpanError> {
    if slot.is_some() {
        return Err(opt.err(reason::CONFLICT, format!("'{}' given twice", opt.name)));
    }
    let v = opt.value()?;
    let m = parse(v, max).map_err(|e| {
        opt.err_value(
            0,
            reason::BAD_VALUE,
            format!("bad {} value '{}': {}", opt.name, v.trim(), e),
        )
    })?;
    *slot = Some(m);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use UintMatch::*;

    #[test]
    fn forms() {
        let p = |s| parse(s, 65535).unwrap();
        assert_eq!(p("300"), Eq(300));
        assert_eq!(p(" <10 "), Lt(10));
        assert_eq!(p(">10"), Gt(10));
        assert_eq!(p("<=10"), Le(10));
        assert_eq!(p(">= 10"), Ge(10));
        assert_eq!(p("10<>20"), Between(10, 20));
        assert_eq!(p("10-20"), Between(10, 20));
        assert_eq!(p("!5"), Ne(5));
        assert_eq!(p("!5<>9"), NotBetween(5, 9));
        for bad in ["", "x", "<", "20<>10", "5<>5", "70000", "1.5", "-3", "<>3"] {
            assert!(parse(bad, 65535).is_err(), "{bad}");
        }
        assert!(parse("256", 255).is_err());
    }

    #[test]
    fn matching() {
        assert!(Between(10, 20).matches(11) && !Between(10, 20).matches(10) && !Between(10, 20).matches(20));
        assert!(NotBetween(10, 20).matches(10) && !NotBetween(10, 20).matches(15));
        assert!(Lt(5).matches(4) && !Lt(5).matches(5));
        assert!(Le(5).matches(5) && Ge(5).matches(5) && !Gt(5).matches(5));
        assert!(Ne(5).matches(4) && !Ne(5).matches(5) && Eq(0).matches(0));
    }
}
