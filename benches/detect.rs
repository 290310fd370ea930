//! Detection alone (prefilter + verification, no decoding or reassembly)
//! with generated rule sets of 5,000 and 30,000 rules, over
//!
//! - `http_tx`: HTTP request transactions (method, uri, host, user agent,
//!   headers as app-layer buffers, as the worker passes a finished
//!   transaction), and
//! - `stream`: raw TCP payload in 1448-byte segments of HTTP-like text
//!   with binary noise.
//!
//! The rules are made here (seeded, so every run is the same): payload
//! content rules with varied fast patterns and relative second contents,
//! `http.uri` / `http.host` / `http.user_agent` rules, pcre rules (a few on
//! the backtracking engine) and port-specific rules. About one in fifty
//! transactions and segments carries a pattern of some rule. Throughput is
//! in input bytes; `build` times building the set once.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::net::IpAddr;
use tapwatch_gen::Rng;
use tapwatch_rules::{BufferId, Classifications, PacketCtx, RuleSet, RuleSetBuilder, Vars};

const SIZES: [usize; 2] = [5_000, 30_000];
const SEGMENT: usize = 1448;
const SEGMENTS: usize = 512;
const TRANSACTIONS: usize = 1024;

const SYLLABLES: &[&str] = &[
    "ad", "min", "log", "in", "up", "load", "php", "cgi", "bin", "wp", "con", "tent", "api", "v2", "get",
    "cmd", "exec", "shell", "drop", "per", "pay", "load", "bot", "net", "cfg", "tmp", "dat", "zip", "jar",
    "x86", "arm", "ms", "win", "lnx", "ja", "va", "scr", "ipt", "eval", "base", "64", "hex", "enc", "key",
];

/// Syllables of the traffic's own words; some are rule syllables too, so
/// rule patterns occur in part and verification has work to do.
const TRAFFIC: &[&str] = &[
    "the", "and", "for", "http", "html", "json", "user", "id", "ses", "sion", "page", "index", "img", "css",
    "news", "item", "list", "view", "data", "time", "php", "api", "get", "log", "in", "con",
];

/// A traffic word of 1..=3 syllables.
fn tword(rng: &mut Rng) -> String {
    let mut w = String::new();
    for _ in 0..rng.range_usize(1, 3) {
        let s: &&str = rng.pick(TRAFFIC);
        w.push_str(s);
    }
    w
}

/// A pseudo-word of 3..=5 rule syllables, maybe with a number: varied
/// fast patterns.
fn word(rng: &mut Rng) -> String {
    let mut w = String::new();
    for _ in 0..rng.range_usize(3, 5) {
        let s: &&str = rng.pick(SYLLABLES);
        w.push_str(s);
    }
    if rng.chance_permille(500) {
        w.push_str(&rng.below(1000).to_string());
    }
    w
}

/// The generated rules, and words that occur in them (to plant in traffic).
fn rules(n: usize, seed: u64) -> (String, Vec<String>) {
    let mut rng = Rng::new(seed);
    let mut text = String::with_capacity(n * 120);
    let mut words = Vec::with_capacity(n);
    for i in 0..n {
        let sid = 1_000_000 + i;
        let w = word(&mut rng);
        let line = match rng.below(100) {
            // Payload content, often with a relative second content.
            0..=44 => {
                let extra = if rng.chance_permille(600) {
                    format!(r#" content:"{}"; distance:0; within:64;"#, word(&mut rng))
                } else {
                    String::new()
                };
                let nocase = if rng.chance_permille(300) { " nocase;" } else { "" };
                format!(
                    r#"alert tcp any any -> any any (msg:"payload {i}"; flow:established,to_server; content:"{w}";{nocase}{extra} sid:{sid};)"#
                )
            }
            // Port-specific payload rule.
            45..=54 => {
                let port = *rng.pick(&[80u16, 443, 8080, 25, 53, 3306]);
                format!(
                    r#"alert tcp any any -> any {port} (msg:"port {i}"; content:"{w}"; depth:200; sid:{sid};)"#
                )
            }
            55..=69 => format!(
                r#"alert http any any -> any any (msg:"uri {i}"; flow:established,to_server; http.uri; content:"/{w}"; sid:{sid};)"#
            ),
            70..=77 => format!(
                r#"alert http any any -> any any (msg:"host {i}"; flow:established,to_server; http.host; content:"{w}.example"; endswith; sid:{sid};)"#
            ),
            78..=87 => format!(
                r#"alert http any any -> any any (msg:"ua {i}"; flow:established,to_server; http.user_agent; content:"{w}"; nocase; sid:{sid};)"#
            ),
            // pcre with a content anchor; one in ten needs backtracking.
            _ => {
                let re = if rng.chance_permille(100) {
                    format!(r"/{w}(?=[0-9]{{2}})\d+/")
                } else {
                    format!(r"/{w}[=:][a-z0-9]{{4,}}/i")
                };
                format!(
                    r#"alert tcp any any -> any any (msg:"pcre {i}"; flow:established,to_server; content:"{w}"; pcre:"{re}"; sid:{sid};)"#
                )
            }
        };
        text.push_str(&line);
        text.push('\n');
        words.push(w);
    }
    (text, words)
}

fn build(text: &str) -> RuleSet {
    let mut b = RuleSetBuilder::new(Vars::default(), Classifications::bundled());
    b.add_text("bench.rules", text);
    let (set, report) = b.build();
    assert_eq!(report.failed, 0, "{:?}", report.errors.first());
    set
}

/// One HTTP request's buffers.
struct Tx {
    bufs: Vec<(BufferId, Vec<u8>)>,
}

fn transactions(words: &[String], seed: u64) -> Vec<Tx> {
    let mut rng = Rng::new(seed);
    (0..TRANSACTIONS)
        .map(|_| {
            let planted = rng.chance_permille(20);
            let mut path = format!("/{}/{}.html", tword(&mut rng), rng.below(100_000));
            if planted {
                path = format!("/{}?id={}", rng.pick(words), rng.below(100));
            }
            let host = format!("{}.example", tword(&mut rng));
            let ua = format!(
                "Mozilla/5.0 (X11; Linux x86_64) {}/{}",
                tword(&mut rng),
                rng.below(100)
            );
            let header = format!(
                "Host: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nCookie: s={}\r\n\r\n",
                rng.next_u64()
            );
            Tx {
                bufs: vec![
                    (BufferId::HttpMethod, b"GET".to_vec()),
                    (BufferId::HttpUri, path.into_bytes()),
                    (BufferId::HttpHost, host.into_bytes()),
                    (BufferId::HttpUserAgent, ua.into_bytes()),
                    (BufferId::HttpHeader, header.into_bytes()),
                ],
            }
        })
        .collect()
}

fn segments(words: &[String], seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    (0..SEGMENTS)
        .map(|_| {
            let mut s = Vec::with_capacity(SEGMENT);
            while s.len() < SEGMENT {
                if rng.chance_permille(200) {
                    s.extend_from_slice(&rng.bytes(64));
                } else {
                    s.extend_from_slice(tword(&mut rng).as_bytes());
                    s.push(*rng.pick(b" =&/:;\r\n"));
                }
            }
            if rng.chance_permille(20) {
                let w = rng.pick(words).as_bytes();
                let at = rng.range_usize(0, SEGMENT - w.len() - 1);
                s[at..at + w.len()].copy_from_slice(w);
            }
            s.truncate(SEGMENT);
            s
        })
        .collect()
}

fn ctx<'a>(buffer: &'a [u8], app: &'a [(BufferId, &'a [u8])], http: bool) -> PacketCtx<'a> {
    PacketCtx {
        ip_proto: 6,
        src_ip: IpAddr::from([10, 0, 0, 1]),
        dst_ip: IpAddr::from([10, 0, 0, 2]),
        src_port: 40000,
        dst_port: 80,
        ttl: 64,
        tcp_flags: Some(0x18),
        icmp_type_code: None,
        dsize: buffer.len(),
        has_flow: true,
        to_server: true,
        established: true,
        app_proto: http.then_some("http"),
        buffer,
        new_from: 0,
        is_stream: true,
        app_buffers: app,
        fields: Default::default(),
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("detect");
    g.sample_size(10);
    for n in SIZES {
        let (text, words) = rules(n, 7);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("build", n), &text, |b, text| {
            b.iter(|| black_box(build(text)).len());
        });
        let set = build(&text);
        let mut scratch = set.new_scratch();
        let mut hits = Vec::new();

        let txs = transactions(&words, 11);
        let tx_bytes: usize = txs.iter().flat_map(|t| &t.bufs).map(|b| b.1.len()).sum();
        g.throughput(Throughput::Bytes(tx_bytes as u64));
        let refs: Vec<Vec<(BufferId, &[u8])>> = txs
            .iter()
            .map(|t| t.bufs.iter().map(|(id, v)| (*id, v.as_slice())).collect())
            .collect();
        g.bench_function(BenchmarkId::new("http_tx", n), |b| {
            b.iter(|| {
                let mut alerts = 0usize;
                for r in &refs {
                    set.match_packet(&ctx(&[], r, true), &mut scratch, &mut hits);
                    alerts += hits.len();
                }
                black_box(alerts)
            });
        });

        let segs = segments(&words, 13);
        g.throughput(Throughput::Bytes((segs.len() * SEGMENT) as u64));
        g.bench_function(BenchmarkId::new("stream", n), |b| {
            b.iter(|| {
                let mut alerts = 0usize;
                for s in &segs {
                    set.match_packet(&ctx(s, &[], false), &mut scratch, &mut hits);
                    alerts += hits.len();
                }
                black_box(alerts)
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
