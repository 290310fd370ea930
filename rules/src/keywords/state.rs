//! Stateful keywords, parsed here and evaluated by the rule set with
//! state the engine keeps: `flowbits` and `flowint` (per flow), `xbits`
//! (per host or host pair), `threshold` and `detection_filter` (across
//! flows).

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use super::Opt;
use crate::error::{reason, SpanError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BitCmd {
    Set,
    Unset,
    Toggle,
    IsSet,
    IsNotSet,
}

/// One `flowbits` keyword with names not yet numbered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FlowbitsDraft {
    pub cmd: BitCmd,
    pub names: Vec<String>,
    /// Names joined by `&` (all) rather than `|` (any).
    pub all: bool,
}

/// Parse `flowbits:...`; `Ok(None)` for `flowbits:noalert`.
pub(crate) fn flowbits(opt: &Opt<'_>) -> Result<Option<FlowbitsDraft>, SpanError> {
    let v = opt.value()?;
    let (cmd, names) = match v.split_once(',') {
        Some((c, n)) => (c.trim(), Some(n.trim())),
        None => (v.trim(), None),
    };
    let cmd = match cmd.to_ascii_lowercase().as_str() {
        "noalert" if names.is_none() => return Ok(None),
        "set" => BitCmd::Set,
        "unset" => BitCmd::Unset,
        "toggle" => BitCmd::Toggle,
        "isset" => BitCmd::IsSet,
        "isnotset" => BitCmd::IsNotSet,
        _ => {
            return Err(opt.err_value(0, reason::BAD_VALUE, format!("unknown flowbits command '{cmd}'")));
        }
    };
    let names = names
        .filter(|n| !n.is_empty())
        .ok_or_else(|| opt.err_value(0, reason::BAD_VALUE, "flowbits needs a name"))?;
    let all = names.contains('&');
    if all && names.contains('|') {
        return Err(opt.err_value(0, reason::BAD_VALUE, "flowbits cannot mix '|' and '&'"));
    }
    if all && !matches!(cmd, BitCmd::IsSet | BitCmd::IsNotSet) {
        return Err(opt.err_value(0, reason::BAD_VALUE, "'&' only works with isset/isnotset"));
    }
    let list: Vec<String> = names.split(['|', '&']).map(|n| n.trim().to_string()).collect();
    if list
        .iter()
        .any(|n| n.is_empty() || n.contains(char::is_whitespace))
    {
        return Err(opt.err_value(0, reason::BAD_VALUE, format!("bad flowbit name in '{names}'")));
    }
    Ok(Some(FlowbitsDraft {
        cmd,
        names: list,
        all,
    }))
}

/// Where an xbit lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum XTrack {
    /// The packet's source address.
    Src,
    /// The packet's destination address.
    Dst,
    /// The (unordered) address pair.
    Pair,
}

/// Default xbit lifetime in seconds (Suricata's).
pub(crate) const XBITS_EXPIRE: u32 = 30;

/// One `xbits` keyword with its name not yet numbered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct XbitsDraft {
    pub cmd: BitCmd,
    pub name: String,
    pub track: XTrack,
    pub expire: u32,
}

/// Parse `xbits:<cmd>,<name>,track <ip_src|ip_dst|ip_pair>[,expire <s>]`.
pub(crate) fn xbits(opt: &Opt<'_>) -> Result<XbitsDraft, SpanError> {
    let v = opt.value()?;
    let mut parts = v.split(',').map(str::trim);
    let bad = |m: String| opt.err_value(0, reason::BAD_VALUE, m);
    let cmd = match parts.next().unwrap_or_default().to_ascii_lowercase().as_str() {
        "set" => BitCmd::Set,
        "unset" => BitCmd::Unset,
        "toggle" => BitCmd::Toggle,
        "isset" => BitCmd::IsSet,
        "isnotset" => BitCmd::IsNotSet,
        c => return Err(bad(format!("unknown xbits command '{c}'"))),
    };
    let name = parts
        .next()
        .filter(|n| !n.is_empty() && !n.contains(char::is_whitespace) && !n.contains(['|', '&']))
        .ok_or_else(|| bad(format!("xbits needs one name in '{v}'")))?;
    let mut track = None;
    let mut expire = XBITS_EXPIRE;
    for p in parts {
        match p.split_once(char::is_whitespace).map(|(k, v)| (k, v.trim())) {
            Some(("track", t)) => {
                track = Some(match t {
                    "ip_src" => XTrack::Src,
                    "ip_dst" => XTrack::Dst,
                    "ip_pair" => XTrack::Pair,
                    _ => return Err(bad(format!("unknown xbits track '{t}'"))),
                })
            }
            Some(("expire", n)) => {
                expire = n
                    .parse::<u32>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| bad(format!("bad xbits expire '{n}'")))?;
            }
            _ => return Err(bad(format!("unknown xbits option '{p}'"))),
        }
    }
    let track = track.ok_or_else(|| bad("xbits needs 'track ip_src|ip_dst|ip_pair'".into()))?;
    Ok(XbitsDraft {
        cmd,
        name: name.to_string(),
        track,
        expire,
    })
}

/// A `flowint` operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntOp {
    Assign,
    Add,
    Sub,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    IsSet,
    NotSet,
}

impl IntOp {
    /// Changes the variable (rather than testing it)?
    pub fn modifies(self) -> bool {
        matches!(self, IntOp::Assign | IntOp::Add | IntOp::Sub)
    }
}

/// The operand of a `flowint`: a number or another flowint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum IntVal<N> {
    Lit(u32),
    Var(N),
}

/// One `flowint` keyword with names not yet numbered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FlowintDraft {
    pub name: String,
    pub op: IntOp,
    pub value: Option<IntVal<String>>,
}

fn var_name_ok(n: &str) -> bool {
    n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && n.len() <= 64
        && n.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// Parse `flowint:<name>,<op>[,<value|name>]`.
pub(crate) fn flowint(opt: &Opt<'_>) -> Result<FlowintDraft, SpanError> {
    let v = opt.value()?;
    let bad = |m: String| opt.err_value(0, reason::BAD_VALUE, m);
    let parts: Vec<&str> = v.split(',').map(str::trim).collect();
    let (name, op, value) = match parts.as_slice() {
        [n, o] => (*n, *o, None),
        [n, o, val] => (*n, *o, Some(*val)),
        _ => return Err(bad(format!("flowint needs 'name, op[, value]', found '{v}'"))),
    };
    if !var_name_ok(name) {
        return Err(bad(format!("bad flowint name '{name}'")));
    }
    let op = match op {
        "=" => IntOp::Assign,
        "+" => IntOp::Add,
        "-" => IntOp::Sub,
        "==" => IntOp::Eq,
        "!=" => IntOp::Ne,
        "<" => IntOp::Lt,
        ">" => IntOp::Gt,
        "<=" => IntOp::Le,
        ">=" => IntOp::Ge,
        "isset" => IntOp::IsSet,
        "notset" | "isnotset" => IntOp::NotSet,
        _ => return Err(bad(format!("unknown flowint operator '{op}'"))),
    };
    let value = match (op, value) {
        (IntOp::IsSet | IntOp::NotSet, None) => None,
        (IntOp::IsSet | IntOp::NotSet, Some(_)) => {
            return Err(bad("flowint isset/notset take no value".into()))
        }
        (_, None) => return Err(bad("flowint needs a value".into())),
        (_, Some(x)) => Some(match x.parse::<u32>() {
            Ok(n) => IntVal::Lit(n),
            Err(_) if var_name_ok(x) => IntVal::Var(x.to_string()),
            Err(_) => return Err(bad(format!("bad flowint value '{x}'"))),
        }),
    };
    Ok(FlowintDraft {
        name: name.to_string(),
        op,
        value,
    })
}

/// What a threshold counts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Track {
    /// Per source address.
    BySrc,
    /// Per destination address.
    ByDst,
    /// One counter for the rule.
    ByRule,
    /// Per (source, destination) pair.
    ByBoth,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ThreshKind {
    /// Alert on the first `count` matches per period.
    Limit,
    /// Alert on every `count`-th match per period.
    Threshold,
    /// Alert once per period, after `count` matches.
    Both,
    /// `detection_filter`: alert on every match after the first `count`.
    DetectionFilter,
}

/// A parsed `threshold` / `detection_filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Threshold {
    pub kind: ThreshKind,
    pub track: Track,
    pub count: u32,
    pub seconds: u32,
}

/// Parse `threshold:` (or `detection_filter:` when `df`) key/value lists.
pub(crate) fn threshold(opt: &Opt<'_>, df: bool) -> Result<Threshold, SpanError> {
    let v = opt.value()?;
    parse_threshold(v, df).map_err(|(at, m)| opt.err_value(at, reason::BAD_VALUE, m))
}

/// Also used for `threshold.config` lines. Errors: (offset in `v`, message).
pub(crate) fn parse_threshold(v: &str, df: bool) -> Result<Threshold, (usize, String)> {
    let mut kind = df.then_some(ThreshKind::DetectionFilter);
    let (mut track, mut count, mut seconds) = (None, None, None);
    let mut at = 0;
    for part in v.split(',') {
        let here = at + (part.len() - part.trim_start().len());
        at += part.len() + 1;
        let p = part.trim();
        let (k, val) = p
            .split_once(char::is_whitespace)
            .map(|(k, v)| (k, v.trim()))
            .ok_or((here, format!("expected 'key value', found '{p}'")))?;
        match k {
            "type" if !df => {
                kind = Some(match val {
                    "limit" => ThreshKind::Limit,
                    "threshold" => ThreshKind::Threshold,
                    "both" => ThreshKind::Both,
                    _ => return Err((here, format!("unknown threshold type '{val}'"))),
                })
            }
            "track" => {
                track = Some(match val {
                    "by_src" => Track::BySrc,
                    "by_dst" => Track::ByDst,
                    "by_rule" => Track::ByRule,
                    "by_both" => Track::ByBoth,
                    _ => return Err((here, format!("unknown track '{val}'"))),
                })
            }
            "count" => {
                count = Some(
                    val.parse::<u32>()
                        .map_err(|_| (here, format!("bad count '{val}'")))?,
                )
            }
            "seconds" => {
                seconds = Some(
                    val.parse::<u32>()
                        .map_err(|_| (here, format!("bad seconds '{val}'")))?,
                )
            }
            _ => return Err((here, format!("unknown threshold option '{k}'"))),
        }
    }
    let miss = |w: &str| (0, format!("threshold needs '{w}'"));
    Ok(Threshold {
        kind: kind.ok_or_else(|| miss("type"))?,
        track: track.ok_or_else(|| miss("track"))?,
        count: count.ok_or_else(|| miss("count"))?,
        seconds: seconds.ok_or_else(|| miss("seconds"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(name: &'static str, value: &'static str) -> Opt<'static> {
        Opt::test(name, Some(value))
    }

    #[test]
    fn xbits_forms() {
        // Docs: xbits:set,ET.2ndstage,track ip_src,expire 60;
        let x = xbits(&opt("xbits", "set,ET.2ndstage,track ip_src,expire 60")).unwrap();
        assert_eq!(
            (x.cmd, x.name.as_str(), x.track, x.expire),
            (BitCmd::Set, "ET.2ndstage", XTrack::Src, 60)
        );
        let x = xbits(&opt("xbits", "isset, a, track ip_pair")).unwrap();
        assert_eq!(
            (x.cmd, x.track, x.expire),
            (BitCmd::IsSet, XTrack::Pair, XBITS_EXPIRE)
        );
        for bad in [
            "set,a",
            "set,a,track host",
            "nope,a,track ip_src",
            "set,a|b,track ip_src",
            "set,a,track ip_dst,expire 0",
            "set,,track ip_dst",
            "set,a,track ip_dst,foo 1",
        ] {
            assert!(xbits(&opt("xbits", bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn flowint_forms() {
        // Docs: flowint:myvar,+,1; flowint:maxvar,>,3; flowint:myvar,notset;
        let f = flowint(&opt("flowint", "myvar, +, 1")).unwrap();
        assert_eq!((f.op, f.value), (IntOp::Add, Some(IntVal::Lit(1))));
        let f = flowint(&opt("flowint", "cntpackets,>,maxvar")).unwrap();
        assert_eq!(f.value, Some(IntVal::Var("maxvar".to_string())));
        let f = flowint(&opt("flowint", "myvar,notset")).unwrap();
        assert_eq!((f.op, f.value), (IntOp::NotSet, None));
        for bad in ["a", "a,+", "a,isset,1", "a,^,1", "a,=,-1", "a b,=,1", "a,=,1,2"] {
            assert!(flowint(&opt("flowint", bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn threshold_forms() {
        let t = parse_threshold("type limit, track by_src, count 1, seconds 60", false).unwrap();
        assert_eq!(
            (t.kind, t.track, t.count, t.seconds),
            (ThreshKind::Limit, Track::BySrc, 1, 60)
        );
        let t = parse_threshold("track by_dst, count 10, seconds 5", true).unwrap();
        assert_eq!(t.kind, ThreshKind::DetectionFilter);
        assert!(parse_threshold("type limit, track by_src, count 1", false).is_err());
        assert!(parse_threshold("type nope, track by_src, count 1, seconds 1", false).is_err());
    }
}
