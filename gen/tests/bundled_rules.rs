//! Checks `etc/tapwatch.rules` against the generated traffic with a small,
//! independent evaluator of the keywords the bundled rules use: the sample
//! must raise exactly the alerts listed in `SAMPLE_ATTACKS` (one per packet
//! carrying a match), and an attack-laden workload exactly the attacks it
//! reports having injected.

use std::collections::BTreeMap;
use std::net::IpAddr;

use tapwatch_gen::verify::{check_frame, Inner, Transport};
use tapwatch_gen::{sample, workload, WorkloadOpts, SAMPLE_ATTACKS};

const ALLOWED_KEYWORDS: &[&str] = &[
    "msg",
    "sid",
    "rev",
    "gid",
    "classtype",
    "priority",
    "reference",
    "metadata",
    "content",
    "nocase",
    "offset",
    "depth",
    "distance",
    "within",
    "fast_pattern",
    "flow",
    "dsize",
    "flags",
    "sameip",
    "ttl",
    "itype",
    "icode",
];
const CLASSTYPES: &[&str] = &[
    "web-application-attack",
    "attempted-admin",
    "trojan-activity",
    "bad-unknown",
    "policy-violation",
    "attempted-recon",
];

#[derive(Debug, Default, Clone)]
struct Content {
    bytes: Vec<u8>,
    negated: bool,
    nocase: bool,
    offset: Option<usize>,
    depth: Option<usize>,
    distance: Option<i64>,
    within: Option<usize>,
}

impl Content {
    fn relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }
}

#[derive(Debug, Default)]
struct Rule {
    sid: u32,
    proto: String,
    src: String,
    sport: String,
    dst: String,
    dport: String,
    contents: Vec<Content>,
    dsize: Option<usize>,
    itype: Option<u8>,
    icode: Option<u8>,
    flags: Option<String>,
    sameip: bool,
    classtype: String,
}

fn rules_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../etc/tapwatch.rules");
    std::fs::read_to_string(path).expect("etc/tapwatch.rules")
}

fn parse_content(v: &str) -> (Vec<u8>, bool) {
    let (negated, v) = match v.strip_prefix('!') {
        Some(r) => (true, r),
        None => (false, v),
    };
    let v = v.trim().trim_matches('"');
    let mut out = Vec::new();
    let mut hex = false;
    let mut digits = String::new();
    for c in v.chars() {
        if c == '|' {
            hex = !hex;
            continue;
        }
        if hex {
            if c.is_ascii_hexdigit() {
                digits.push(c);
                if digits.len() == 2 {
                    out.push(u8::from_str_radix(&digits, 16).unwrap());
                    digits.clear();
                }
            }
        } else {
            out.push(c as u8);
        }
    }
    (out, negated)
}

fn split_options(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ';' if !quoted => {
                let t = cur.trim().to_string();
                if !t.is_empty() {
                    match t.split_once(':') {
                        Some((k, v)) => out.push((k.trim().to_string(), v.trim().to_string())),
                        None => out.push((t, String::new())),
                    }
                }
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    out
}

fn parse_rules() -> Vec<Rule> {
    let mut rules = Vec::new();
    for line in rules_text().lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let open = line.find('(').expect("options");
        let head: Vec<&str> = line[..open].split_whitespace().collect();
        assert_eq!(head.len(), 7, "header of {line}");
        assert_eq!(head[0], "alert");
        assert_eq!(head[4], "->");
        let mut r = Rule {
            proto: head[1].into(),
            src: head[2].into(),
            sport: head[3].into(),
            dst: head[5].into(),
            dport: head[6].into(),
            ..Rule::default()
        };
        let body = line[open + 1..]
            .trim_end()
            .strip_suffix(')')
            .expect("closing paren");
        for (k, v) in split_options(body) {
            assert!(
                ALLOWED_KEYWORDS.contains(&k.as_str()),
                "keyword {k} not supported by the engine"
            );
            let last = r.contents.last_mut();
            match k.as_str() {
                "sid" => r.sid = v.parse().unwrap(),
                "classtype" => r.classtype = v,
                "content" => {
                    let (bytes, negated) = parse_content(&v);
                    r.contents.push(Content {
                        bytes,
                        negated,
                        ..Content::default()
                    });
                }
                "nocase" => last.unwrap().nocase = true,
                "offset" => last.unwrap().offset = Some(v.parse().unwrap()),
                "depth" => last.unwrap().depth = Some(v.parse().unwrap()),
                "distance" => last.unwrap().distance = Some(v.parse().unwrap()),
                "within" => last.unwrap().within = Some(v.parse().unwrap()),
                "dsize" => r.dsize = Some(v.parse().unwrap()),
                "itype" => r.itype = Some(v.parse().unwrap()),
                "icode" => r.icode = Some(v.parse().unwrap()),
                "flags" => r.flags = Some(v),
                "sameip" => r.sameip = true,
                _ => {}
            }
        }
        rules.push(r);
    }
    rules
}

fn home(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            o[0] == 10 || (o[0] == 172 && (16..32).contains(&o[1])) || (o[0] == 192 && o[1] == 168)
        }
        IpAddr::V6(_) => false,
    }
}

fn addr_ok(spec: &str, ip: IpAddr) -> bool {
    match spec {
        "any" => true,
        "$HOME_NET" => home(ip),
        "$EXTERNAL_NET" => !home(ip),
        other => panic!("address {other} not handled"),
    }
}

fn port_ok(spec: &str, port: Option<u16>) -> bool {
    spec == "any" || port.map(|p| p.to_string()) == Some(spec.to_string())
}

fn eq(a: &[u8], b: &[u8], nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// Suricata-style content chain with backtracking; `prev_end` is where the
/// previous content's match ended.
fn chain(payload: &[u8], cs: &[Content], prev_end: usize) -> bool {
    let Some((c, rest)) = cs.split_first() else {
        return true;
    };
    let (lo, hi) = if c.relative() {
        let lo = (prev_end as i64 + c.distance.unwrap_or(0)).max(0) as usize;
        let hi = c.within.map_or(payload.len(), |w| {
            (prev_end as i64 + c.distance.unwrap_or(0)).max(0) as usize + w
        });
        (lo, hi.min(payload.len()))
    } else {
        let lo = c.offset.unwrap_or(0);
        let hi = c.depth.map_or(payload.len(), |d| lo + d);
        (lo, hi.min(payload.len()))
    };
    let n = c.bytes.len();
    if c.negated {
        let found = lo + n <= hi && (lo..=hi - n).any(|i| eq(&payload[i..i + n], &c.bytes, c.nocase));
        return !found && chain(payload, rest, prev_end);
    }
    if lo + n > hi {
        return false;
    }
    (lo..=hi - n).any(|i| eq(&payload[i..i + n], &c.bytes, c.nocase) && chain(payload, rest, i + n))
}

fn matches(r: &Rule, p: &Inner) -> bool {
    let (proto_ok, sport, dport) = match (&p.transport, r.proto.as_str()) {
        (
            Transport::Tcp {
                src_port, dst_port, ..
            },
            "tcp" | "ip",
        ) => (true, Some(*src_port), Some(*dst_port)),
        (Transport::Udp { src_port, dst_port }, "udp" | "ip") => (true, Some(*src_port), Some(*dst_port)),
        (Transport::Icmp { .. }, "icmp" | "ip") => (true, None, None),
        (Transport::Other(_), "ip") => (true, None, None),
        _ => (false, None, None),
    };
    if !proto_ok
        || !addr_ok(&r.src, p.src)
        || !addr_ok(&r.dst, p.dst)
        || !port_ok(&r.sport, sport)
        || !port_ok(&r.dport, dport)
    {
        return false;
    }
    if r.sameip && p.src != p.dst {
        return false;
    }
    if let Some(d) = r.dsize {
        if p.payload.len() != d {
            return false;
        }
    }
    if let Some(t) = r.itype {
        if !matches!(p.transport, Transport::Icmp { itype, .. } if itype == t) {
            return false;
        }
    }
    if let Some(c) = r.icode {
        if !matches!(p.transport, Transport::Icmp { icode, .. } if icode == c) {
            return false;
        }
    }
    if let Some(f) = &r.flags {
        // Only "SF,12" is used: exactly SYN+FIN, CWR/ECE ignored.
        assert_eq!(f, "SF,12");
        match p.transport {
            Transport::Tcp { flags, .. } if flags & 0x3f == 0x03 => {}
            _ => return false,
        }
    }
    if r.contents.is_empty() {
        return true;
    }
    !p.payload.is_empty() && chain(&p.payload, &r.contents, 0)
}

fn alerts(rules: &[Rule], frames: impl Iterator<Item = tapwatch_gen::Frame>) -> BTreeMap<u32, u64> {
    let mut out = BTreeMap::new();
    for f in frames {
        let s = check_frame(&f.data).unwrap();
        for r in rules {
            if matches(r, &s.inner) {
                *out.entry(r.sid).or_insert(0) += 1;
            }
        }
    }
    out
}

#[test]
fn ruleset_is_well_formed() {
    let rules = parse_rules();
    assert!(rules.len() >= 10);
    let mut sids: Vec<u32> = rules.iter().map(|r| r.sid).collect();
    sids.sort_unstable();
    let n = sids.len();
    sids.dedup();
    assert_eq!(sids.len(), n, "duplicate sids");
    assert!(sids.iter().all(|s| (9_000_001..=9_000_999).contains(s)));
    for r in &rules {
        assert!(
            CLASSTYPES.contains(&r.classtype.as_str()),
            "sid {} classtype {}",
            r.sid,
            r.classtype
        );
        assert!(["tcp", "udp", "icmp", "ip"].contains(&r.proto.as_str()));
    }
    for a in SAMPLE_ATTACKS {
        assert!(
            sids.contains(&a.sid),
            "expected sid {} missing from the ruleset",
            a.sid
        );
    }
}

#[test]
fn sample_raises_exactly_the_documented_alerts() {
    let rules = parse_rules();
    let got = alerts(&rules, sample().into_iter());
    let want: BTreeMap<u32, u64> = SAMPLE_ATTACKS
        .iter()
        .map(|a| (a.sid, u64::from(a.count)))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn workload_attacks_are_detected_as_counted() {
    let rules = parse_rules();
    let opts = WorkloadOpts {
        target_bytes: 8 * 1024 * 1024,
        seed: 11,
        attack_permille: 250,
        reorder_permille: 20,
        connections_in_flight: 16,
        ..WorkloadOpts::default()
    };
    let mut w = workload(&opts);
    let frames: Vec<_> = w.by_ref().collect();
    let got = alerts(&rules, frames.into_iter());
    let injected: BTreeMap<u32, u64> = w.stats().attacks.clone();
    assert_eq!(injected.len(), 9, "every attack kind injected: {injected:?}");
    assert_eq!(got, injected);
    // And none without attacks.
    let clean = WorkloadOpts {
        attack_permille: 0,
        ..opts
    };
    assert!(alerts(&rules, workload(&clean)).is_empty());
}
