//! Rule metadata keywords: `msg`, `sid`, `rev`, `gid`, `classtype`,
//! `priority`, `reference`, `metadata`. They never affect matching.

use super::{Draft, Opt};
use crate::classification::Classifications;
use crate::error::{reason, SpanError};

/// Strip optional surrounding quotes and undo backslash escapes.
/// Errors are positioned within `v`.
pub(crate) fn unquote(v: &str) -> Result<String, SpanError> {
    let (start, inner) = match v.strip_prefix('"') {
        Some(rest) => match rest.strip_suffix('"') {
            Some(inner) if !inner.ends_with('\\') || inner.ends_with("\\\\") => (1, inner),
            _ => return Err(SpanError::new(0, reason::BAD_VALUE, "missing closing '\"'")),
        },
        None => (0, v),
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            // Any escaped character stands for itself (`\"`, `\;`, `\\`, `\:`
            // are the ones that need it; others are accepted as Suricata does).
            '\\' => match chars.next() {
                Some((_, e)) => out.push(e),
                None => {
                    return Err(SpanError::new(
                        start + i,
                        reason::BAD_VALUE,
                        "dangling '\\' at the end",
                    ))
                }
            },
            '"' if start == 1 => return Err(SpanError::new(start + i, reason::BAD_VALUE, "unescaped '\"'")),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn twice(opt: &Opt<'_>) -> SpanError {
    opt.err(reason::CONFLICT, format!("'{}' given twice", opt.name))
}

fn uint<T: std::str::FromStr>(opt: &Opt<'_>) -> Result<T, SpanError> {
    let v = opt.value()?;
    let t = v.trim();
    if !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(opt.err_value(0, reason::BAD_VALUE, format!("bad {} value '{}'", opt.name, t)));
    }
    t.parse::<T>().map_err(|_| {
        opt.err_value(
            0,
            reason::BAD_VALUE,
            format!("{} value '{}' is out of range", opt.name, t),
        )
    })
}

/// Apply one metadata keyword to the draft.
pub(crate) fn apply(opt: &Opt<'_>, d: &mut Draft, classes: &Classifications) -> Result<(), SpanError> {
    match opt.name {
        "msg" => {
            if d.msg.is_some() {
                return Err(twice(opt));
            }
            d.msg = Some(unquote(opt.value()?).map_err(|e| e.offset(opt.value_at))?);
        }
        "sid" => {
            if d.sid.is_some() {
                return Err(twice(opt));
            }
            let sid: u32 = uint(opt)?;
            if sid == 0 {
                return Err(opt.err_value(0, reason::BAD_VALUE, "sid 0 is not valid"));
            }
            d.sid = Some((sid, opt.name_at));
        }
        "rev" => {
            if d.rev.is_some() {
                return Err(twice(opt));
            }
            d.rev = Some(uint(opt)?);
        }
        "gid" => {
            if d.gid.is_some() {
                return Err(twice(opt));
            }
            d.gid = Some(uint(opt)?);
        }
        "priority" => {
            if d.priority.is_some() {
                return Err(twice(opt));
            }
            let p: u8 = uint(opt)?;
            if p == 0 {
                return Err(opt.err_value(0, reason::BAD_VALUE, "priority must be 1-255"));
            }
            d.priority = Some(p);
        }
        "classtype" => {
            if d.classtype.is_some() {
                return Err(twice(opt));
            }
            let name = opt.value()?.trim();
            let c = classes.get(name).ok_or_else(|| {
                opt.err_value(
                    0,
                    reason::UNKNOWN_CLASSTYPE,
                    format!("unknown classtype '{name}'"),
                )
            })?;
            d.classtype = Some(c.clone());
        }
        "reference" => {
            let v = opt.value()?;
            let (kind, value) = v.split_once(',').ok_or_else(|| {
                opt.err_value(
                    0,
                    reason::BAD_VALUE,
                    "reference needs 'system,id' (e.g. url,example.com)",
                )
            })?;
            let (kind, value) = (kind.trim(), value.trim());
            if kind.is_empty() || value.is_empty() {
                return Err(opt.err_value(0, reason::BAD_VALUE, "reference needs 'system,id'"));
            }
            d.references.push((kind.to_ascii_lowercase(), value.to_string()));
        }
        "metadata" => {
            for item in opt.value()?.split(',') {
                // Entries without a value carry nothing to report.
                if let Some((k, v)) = item.trim().split_once(char::is_whitespace) {
                    d.metadata.push((k.to_string(), v.trim().to_string()));
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_forms() {
        assert_eq!(unquote("\"a b\"").unwrap(), "a b");
        assert_eq!(unquote("plain").unwrap(), "plain");
        assert_eq!(unquote(r#""a\"b\;c\\""#).unwrap(), "a\"b;c\\");
        assert_eq!(unquote("\"c \\windows\"").unwrap(), "c windows");
        assert_eq!(unquote("a\\").unwrap_err().at, 1);
        assert_eq!(unquote("\"abc").unwrap_err().at, 0);
        assert_eq!(unquote("\"ab\\\"").unwrap_err().at, 0);
        assert_eq!(unquote("\"a\"b\"").unwrap_err().at, 2);
    }
}
