//! Rules × payload: a few generated content rules (content, nocase, offset,
//! depth, distance, within) and a payload. The RuleSet's hits (prefilter +
//! verifier) must equal what a naive matcher written here finds by trying
//! every occurrence of every content.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use std::fmt::Write;
use std::sync::OnceLock;
use tapwatch_rules::{Classifications, PacketCtx, PacketFields, RuleSetBuilder, Vars};

/// A small alphabet so that contents occur, overlap and repeat.
const ALPHABET: &[u8] = b"aAbB\x00|;\"";

#[derive(Arbitrary, Debug)]
enum Place {
    Anywhere,
    Absolute {
        offset: Option<u8>,
        depth: Option<u8>,
    },
    Relative {
        distance: Option<i8>,
        within: Option<u8>,
    },
}

#[derive(Arbitrary, Debug)]
struct GenContent {
    pattern: Vec<u8>,
    nocase: bool,
    place: Place,
}

#[derive(Arbitrary, Debug)]
struct GenRule {
    contents: Vec<GenContent>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    rules: Vec<GenRule>,
    payload: Vec<u8>,
}

/// One content as the naive matcher sees it.
struct Want {
    pattern: Vec<u8>,
    nocase: bool,
    relative: bool,
    offset: i64,
    depth: Option<i64>,
    distance: i64,
    within: Option<i64>,
}

fn letters(raw: &[u8]) -> Vec<u8> {
    raw.iter()
        .take(6)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()])
        .collect()
}

/// Rule text and the naive matcher's view of it; `None` for an empty rule.
fn build(sid: usize, r: &GenRule) -> Option<(String, Vec<Want>)> {
    let mut text = String::from("alert tcp any any -> any any (msg:\"fuzz\"; ");
    let mut wants = Vec::new();
    for c in r.contents.iter().take(4) {
        let pattern = letters(&c.pattern);
        if pattern.is_empty() {
            continue;
        }
        let len = pattern.len() as i64;
        text.push_str("content:\"|");
        for b in &pattern {
            let _ = write!(text, "{b:02x} ");
        }
        text.push_str("|\"; ");
        let mut w = Want {
            pattern: pattern.clone(),
            nocase: c.nocase,
            relative: false,
            offset: 0,
            depth: None,
            distance: 0,
            within: None,
        };
        if c.nocase {
            text.push_str("nocase; ");
        }
        match c.place {
            Place::Anywhere => {}
            Place::Absolute { offset, depth } => {
                if let Some(o) = offset {
                    let o = i64::from(o % 64);
                    let _ = write!(text, "offset:{o}; ");
                    w.offset = o;
                }
                if let Some(d) = depth {
                    // A depth shorter than the content is a load error.
                    let d = i64::from(d % 64).max(len);
                    let _ = write!(text, "depth:{d}; ");
                    w.depth = Some(d);
                }
            }
            Place::Relative { distance, within } => {
                if distance.is_none() && within.is_none() {
                    continue_with_distance(&mut text, &mut w, 0);
                }
                if let Some(d) = distance {
                    continue_with_distance(&mut text, &mut w, i64::from(d % 32));
                }
                if let Some(n) = within {
                    let n = i64::from(n % 64).max(len);
                    let _ = write!(text, "within:{n}; ");
                    w.relative = true;
                    w.within = Some(n);
                }
            }
        }
        wants.push(w);
    }
    if wants.is_empty() {
        return None;
    }
    let _ = write!(text, "sid:{}; rev:1;)", sid + 1);
    Some((text, wants))
}

fn continue_with_distance(text: &mut String, w: &mut Want, d: i64) {
    let _ = write!(text, "distance:{d}; ");
    w.relative = true;
    w.distance = d;
}

fn eq_at(buf: &[u8], at: usize, w: &Want) -> bool {
    match buf.get(at..at + w.pattern.len()) {
        Some(s) if w.nocase => s.eq_ignore_ascii_case(&w.pattern),
        Some(s) => s == w.pattern.as_slice(),
        None => false,
    }
}

/// Every occurrence of every content, depth first; counts the search
/// steps the way the rule engine's verifier counts them.
fn naive(buf: &[u8], wants: &[Want], i: usize, prev_end: i64, steps: &mut u64) -> bool {
    let Some(w) = wants.get(i) else {
        return true;
    };
    *steps += 1;
    let len = buf.len() as i64;
    let (lo, hi) = if w.relative {
        let base = prev_end + w.distance;
        (base, w.within.map_or(len, |n| base + n))
    } else {
        (w.offset, w.depth.map_or(len, |d| w.offset + d))
    };
    let (lo, hi) = (lo.clamp(0, len), hi.clamp(0, len));
    let plen = w.pattern.len() as i64;
    let mut at = lo;
    while at + plen <= hi {
        if eq_at(buf, at as usize, w) {
            if naive(buf, wants, i + 1, at + plen, steps) {
                return true;
            }
            *steps += 1;
        }
        at += 1;
    }
    false
}

/// The bundled classification table, parsed once.
fn classes() -> Classifications {
    static C: OnceLock<Classifications> = OnceLock::new();
    C.get_or_init(Classifications::bundled).clone()
}

fuzz_target!(|input: Input| {
    let mut text = String::new();
    let mut all = Vec::new();
    for (i, r) in input.rules.iter().take(6).enumerate() {
        if let Some((t, w)) = build(i, r) {
            text.push_str(&t);
            text.push('\n');
            all.push((i as u32 + 1, w));
        }
    }
    let mut builder = RuleSetBuilder::new(Vars::default(), classes());
    builder.add_text("fuzz.rules", &text);
    let (set, report) = builder.build();
    assert!(report.errors.is_empty(), "{text}\n{:?}", report.errors);
    assert_eq!(set.len(), all.len());

    let payload: Vec<u8> = input
        .payload
        .iter()
        .take(256)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()])
        .collect();
    let ctx = PacketCtx {
        ip_proto: 6,
        src_ip: [10, 0, 0, 1].into(),
        dst_ip: [192, 168, 1, 1].into(),
        src_port: 40000,
        dst_port: 80,
        ttl: 64,
        tcp_flags: Some(0x18),
        icmp_type_code: None,
        dsize: payload.len(),
        has_flow: false,
        to_server: true,
        established: false,
        app_proto: None,
        buffer: &payload,
        new_from: 0,
        is_stream: false,
        app_buffers: &[],
        fields: PacketFields::default(),
    };
    let mut scratch = set.new_scratch();
    let mut hits = Vec::new();
    set.match_packet(&ctx, &mut scratch, &mut hits);
    let got: Vec<u32> = hits.iter().map(|&h| set.meta(h).sid).collect();

    for (sid, wants) in &all {
        let mut steps = 0;
        let want = !payload.is_empty() && naive(&payload, wants, 0, 0, &mut steps);
        let hit = got.contains(sid);
        // The verifier gives up after a step budget (3000, as Suricata's
        // inspection recursion limit): below it, it must agree exactly.
        if hit || steps < 1500 {
            assert_eq!(
                hit,
                want,
                "sid {sid} steps {steps}\n{text}\npayload {:?}",
                String::from_utf8_lossy(&payload)
            );
        }
    }
});
