//! Stateful keywords, parsed here and evaluated by the rule set with
//! state the engine keeps: `flowbits` (per flow), `threshold` and
//! `detection_filter` (across flows).

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
