//! `threshold.config` (Suricata's `threshold-file`): per-rule alert
//! filters kept outside the rules.
//!
//! ```text
//! threshold gen_id 1, sig_id 2001, type limit, track by_src, count 1, seconds 60
//! event_filter gen_id 1, sig_id 2002, type both, track by_dst, count 5, seconds 60
//! suppress gen_id 1, sig_id 2003
//! suppress gen_id 1, sig_id 2004, track by_either, ip [10.0.0.0/8, $DNS_SERVERS]
//! rate_filter gen_id 1, sig_id 2005, track by_src, count 10, seconds 1, new_action pass, timeout 30
//! ```
//!
//! `sig_id 0` means every rule of `gen_id` (`gen_id 0, sig_id 0`: every
//! rule). A `threshold`/`event_filter` for one rule replaces the rule's own
//! `threshold`/`detection_filter`; a global one applies to the rules that
//! have none. `suppress` without `track` silences the rule (it still sets
//! flowbits); with `track` it silences alerts whose source (`by_src`),
//! destination (`by_dst`) or either address (`by_either`) is in the list.
//! `rate_filter`: once more than `count` matches happen within `seconds`,
//! `new_action` holds for `timeout` seconds; in IDS mode only `pass`
//! changes what is logged (the packet is passed: that alert and the later
//! ones of the packet are dropped, as Suricata), `alert`, `drop`, `reject`
//! and `sdrop` keep alerting. Lines are `#` comments or blank;
//! errors carry file:line:column.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::address::IpSet;
use crate::error::{reason, LoadError};
use crate::group::Resolver;
use crate::header::GroupCache;
use crate::keywords::state::{parse_threshold, Threshold, Track};
use crate::vars::Vars;

/// Lines read from one file at most.
const MAX_LINES: usize = 100_000;

/// Which address a `suppress` compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SupTrack {
    /// `by_src`
    Src,
    /// `by_dst`
    Dst,
    /// `by_either`
    Either,
}

/// A `suppress` entry for one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Suppress {
    /// `None`: every alert of the rule.
    pub by: Option<(SupTrack, IpSet)>,
}

/// A `rate_filter` entry for one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RateFilter {
    pub track: Track,
    pub count: u32,
    pub seconds: u32,
    /// `new_action pass`: alerts are dropped while it holds.
    pub pass: bool,
    pub timeout: u32,
}

#[derive(Clone, Debug)]
pub(crate) enum What {
    Threshold(Threshold),
    Suppress(Suppress),
    Rate(RateFilter),
}

/// One parsed line.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub gid: u32,
    pub sid: u32,
    pub what: What,
}

type LineErr = (usize, String);

/// `key value` at the start of `s` (after optional spaces), up to the next
/// comma: (value, bytes consumed including the comma).
fn kv<'a>(s: &'a str, key: &str) -> Result<(&'a str, usize), String> {
    let lead = s.len() - s.trim_start().len();
    let t = s.trim_start();
    let rest = t
        .strip_prefix(key)
        .filter(|r| r.starts_with(char::is_whitespace))
        .ok_or_else(|| format!("expected '{key}'"))?;
    let end = rest.find(',').unwrap_or(rest.len());
    let value = rest.get(..end).unwrap_or_default().trim();
    let used = lead + key.len() + end + usize::from(end < rest.len());
    Ok((value, used))
}

fn num(v: &str, what: &str) -> Result<u32, String> {
    v.parse().map_err(|_| format!("bad {what} '{v}'"))
}

/// Parse one non-comment line (already trimmed of its end).
fn parse_line(line: &str, vars: &Vars, cache: &mut GroupCache) -> Result<Entry, LineErr> {
    let start = line.len() - line.trim_start().len();
    let body = line.trim_start();
    let word_end = body.find(char::is_whitespace).unwrap_or(body.len());
    let word = body.get(..word_end).unwrap_or_default();
    if !matches!(word, "threshold" | "event_filter" | "suppress" | "rate_filter") {
        return Err((
            start,
            format!("unknown entry '{word}' (threshold, event_filter, suppress or rate_filter)"),
        ));
    }
    let rest = |at: usize| line.get(at..).unwrap_or_default();
    // Past the spaces at `at`, so errors point at the next word.
    let ws = |at: usize| at + (rest(at).len() - rest(at).trim_start().len());
    let mut at = ws(start + word_end);
    let (gid, used) = kv(rest(at), "gen_id").map_err(|m| (at, m))?;
    let gid = num(gid, "gen_id").map_err(|m| (at, m))?;
    at = ws(at + used);
    let (sid, used) = kv(rest(at), "sig_id").map_err(|m| (at, m))?;
    let sid = num(sid, "sig_id").map_err(|m| (at, m))?;
    at = ws(at + used);
    let what = match word {
        "threshold" | "event_filter" => {
            let t = parse_threshold(rest(at), false).map_err(|(k, m)| (at + k, m))?;
            if t.count == 0 {
                return Err((at, "count must be at least 1".into()));
            }
            What::Threshold(t)
        }
        "suppress" => {
            if rest(at).trim().is_empty() {
                What::Suppress(Suppress { by: None })
            } else {
                let (track, used) = kv(rest(at), "track").map_err(|m| (at, m))?;
                let track = match track {
                    "by_src" => SupTrack::Src,
                    "by_dst" => SupTrack::Dst,
                    "by_either" => SupTrack::Either,
                    _ => return Err((at, format!("unknown suppress track '{track}'"))),
                };
                at = ws(at + used);
                let r = rest(at);
                let lead = r.len() - r.trim_start().len();
                let ips = r
                    .trim_start()
                    .strip_prefix("ip")
                    .filter(|x| x.starts_with(char::is_whitespace))
                    .ok_or((at + lead, "expected 'ip'".to_string()))?;
                let ip_at = at + lead + 2 + (ips.len() - ips.trim_start().len());
                let set = Resolver::<IpSet>::new(&vars.address, &mut cache.addr)
                    .resolve(ips.trim())
                    .map_err(|e| (ip_at + e.at, e.message))?;
                What::Suppress(Suppress {
                    by: Some((track, set)),
                })
            }
        }
        "rate_filter" => {
            let mut r = RateFilter {
                track: Track::ByRule,
                count: 0,
                seconds: 0,
                pass: false,
                timeout: 0,
            };
            for key in ["track", "count", "seconds", "new_action", "timeout"] {
                let (v, used) = kv(rest(at), key).map_err(|m| (at, m))?;
                let bad = |m: String| (at, m);
                match key {
                    "track" => {
                        r.track = match v {
                            "by_src" => Track::BySrc,
                            "by_dst" => Track::ByDst,
                            "by_rule" => Track::ByRule,
                            "by_both" => Track::ByBoth,
                            _ => return Err(bad(format!("unknown rate_filter track '{v}'"))),
                        }
                    }
                    "count" => r.count = num(v, "count").map_err(bad)?,
                    "seconds" => r.seconds = num(v, "seconds").map_err(bad)?,
                    "new_action" => {
                        r.pass = match v {
                            "pass" => true,
                            "alert" | "drop" | "reject" | "sdrop" => false,
                            _ => return Err(bad(format!("unknown new_action '{v}'"))),
                        }
                    }
                    _ => r.timeout = num(v, "timeout").map_err(bad)?,
                }
                at = ws(at + used);
            }
            if r.count == 0 {
                return Err((start, "count must be at least 1".into()));
            }
            What::Rate(r)
        }
        _ => return Err((start, format!("unknown entry '{word}'"))),
    };
    if !rest(at).trim().is_empty() && !matches!(what, What::Threshold(_) | What::Suppress(_)) {
        return Err((at, format!("unexpected text '{}'", rest(at).trim())));
    }
    Ok(Entry { gid, sid, what })
}

/// Parse a whole file; bad lines become errors, the others entries.
pub(crate) fn parse(
    source: &str,
    text: &str,
    vars: &Vars,
    cache: &mut GroupCache,
) -> (Vec<Entry>, Vec<LoadError>) {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in text.lines().take(MAX_LINES).enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        match parse_line(line.trim_end(), vars, cache) {
            Ok(e) => entries.push(e),
            Err((at, message)) => errors.push(LoadError {
                file: source.to_string(),
                line: n + 1,
                column: line.get(..at).map_or(1, |p| p.chars().count() + 1),
                message,
                reason: reason::THRESHOLD,
            }),
        }
    }
    (entries, errors)
}

/// Does an entry for (`gid`, `sid`) cover a rule with these ids?
pub(crate) fn covers(e: &Entry, gid: u32, sid: u32) -> bool {
    (e.gid == 0 && e.sid == 0) || (e.gid == gid && (e.sid == 0 || e.sid == sid))
}

/// Apply `entries` to the rules (in file order; a later `threshold` for a
/// rule replaces an earlier one).
pub(crate) fn apply(entries: &[Entry], rules: &mut [crate::rule::Rule], metas: &[crate::rule::RuleMeta]) {
    if entries.is_empty() {
        return;
    }
    // Which rules had thresholds of their own (global entries skip them).
    let own: Vec<bool> = rules.iter().map(|r| !r.thresholds.is_empty()).collect();
    let mut replaced = vec![false; rules.len()];
    for e in entries {
        for (k, (rule, meta)) in rules.iter_mut().zip(metas).enumerate() {
            if !covers(e, meta.gid, meta.sid) {
                continue;
            }
            let specific = e.sid != 0;
            match &e.what {
                What::Threshold(t) => {
                    let had_own = own.get(k).copied().unwrap_or(false);
                    let done = replaced.get(k).copied().unwrap_or(false);
                    if specific || (!had_own && !done) {
                        rule.thresholds.clear();
                        rule.thresholds.push(*t);
                        if let Some(x) = replaced.get_mut(k) {
                            *x = true;
                        }
                    }
                }
                What::Suppress(s) => rule.suppress.push(s.clone()),
                What::Rate(r) => rule.rates.push(*r),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keywords::state::ThreshKind;

    fn one(line: &str) -> Result<Entry, LineErr> {
        let mut vars = Vars::default();
        vars.set_address("DNS_SERVERS", "[192.0.2.53]");
        parse_line(line, &vars, &mut GroupCache::default())
    }

    #[test]
    fn entries_as_documented() {
        let e = one("threshold gen_id 1, sig_id 10, type limit, track by_src, count 1, seconds 60").unwrap();
        assert_eq!((e.gid, e.sid), (1, 10));
        let What::Threshold(t) = e.what else { panic!() };
        assert_eq!(
            (t.kind, t.track, t.count, t.seconds),
            (ThreshKind::Limit, Track::BySrc, 1, 60)
        );
        let e = one("event_filter gen_id 1, sig_id 1000000, type both, track by_dst, count 5, seconds 60")
            .unwrap();
        assert!(matches!(e.what, What::Threshold(t) if t.kind == ThreshKind::Both));
        let e = one("suppress gen_id 1, sig_id 2002087").unwrap();
        assert!(matches!(e.what, What::Suppress(Suppress { by: None })));
        let e = one("suppress gen_id 1, sig_id 2003614, track by_src, ip 217.110.97.128/25").unwrap();
        let What::Suppress(Suppress {
            by: Some((SupTrack::Src, set)),
        }) = e.what
        else {
            panic!()
        };
        assert!(set.contains("217.110.97.200".parse().unwrap()));
        assert!(!set.contains("217.110.97.1".parse().unwrap()));
        let e = one("suppress gen_id 0, sig_id 0, track by_either, ip [10.0.0.0/8, $DNS_SERVERS]").unwrap();
        let What::Suppress(Suppress {
            by: Some((SupTrack::Either, set)),
        }) = e.what
        else {
            panic!()
        };
        assert!(set.contains("192.0.2.53".parse().unwrap()) && set.contains("10.9.9.9".parse().unwrap()));
        let e = one("rate_filter gen_id 1, sig_id 1000, track by_rule, count 100, seconds 60, new_action alert, timeout 30").unwrap();
        assert!(matches!(e.what, What::Rate(r) if r.count == 100 && !r.pass && r.timeout == 30));
        assert!(covers(&e, 1, 1000) && !covers(&e, 1, 1001) && !covers(&e, 3, 1000));
        let all = one("suppress gen_id 0, sig_id 0").unwrap();
        assert!(covers(&all, 3, 7));
    }

    #[test]
    fn errors_point_at_the_column() {
        let col = |line: &str| one(line).unwrap_err().0 + 1;
        assert_eq!(col("thresh gen_id 1, sig_id 1"), 1);
        assert_eq!(col("suppress gen_id x, sig_id 1"), 10);
        assert_eq!(col("suppress gen_id 1,sig_id"), 19);
        let l = "threshold gen_id 1, sig_id 1, type limit, track by_host, count 1, seconds 1";
        assert_eq!(col(l), l.find("track").unwrap() + 1);
        let l = "suppress gen_id 1, sig_id 1, track by_src, ip $NOPE";
        assert_eq!(col(l), l.find("$NOPE").unwrap() + 1);
        assert!(one("suppress gen_id 1, sig_id 1, track by_src").is_err());
        assert!(one(
            "rate_filter gen_id 1, sig_id 1, track by_src, count 1, seconds 1, new_action x, timeout 1"
        )
        .is_err());
        assert!(one("rate_filter gen_id 1, sig_id 1, track by_src, count 1, seconds 1").is_err());
        assert!(one("threshold gen_id 1, sig_id 1, type limit, track by_src, count 0, seconds 1").is_err());
        let (entries, errors) = parse(
            "threshold.config",
            "# comment\n\nsuppress gen_id 1, sig_id 5\nbogus\n",
            &Vars::default(),
            &mut GroupCache::default(),
        );
        assert_eq!(entries.len(), 1);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string().split(':').take(3).collect::<Vec<_>>(),
            ["threshold.config", "4", "1"]
        );
    }
}
