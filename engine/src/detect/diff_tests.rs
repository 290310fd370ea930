//! Differential test of the stateful and backtracking keywords: a capture
//! and rules run through the worker, and through Suricata 7.0.10
//! (`suricata -r x.pcap -S x.rules -l out -k none`), whose alerts are
//! recorded below. Set `TAPWATCH_DIFF_KEEP=<dir>` to write the capture and
//! rules there for re-running Suricata.

use super::{FrameInfo, Worker};
use crate::config::{EngineConfig, EveConfig};
use crate::ingress::LinkType;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use tapwatch_gen::{udp_frame, write_pcap, Frame};

const T0: u64 = 1_768_471_200_000_000_000; // 2026-01-15T10:00:00Z

const RULES: &str = r#"alert udp any any -> any 5000 (msg:"pcre backreference"; content:"name="; pcre:"/^(["'])[a-z]+\1/R"; sid:200;)
alert udp any any -> any 5000 (msg:"pcre negative lookahead"; pcre:"/^GET \/(?!index)[a-z]+\.php/"; sid:201;)
alert udp any any -> any 5000 (msg:"pcre possessive"; content:"AAA"; pcre:"/A++A/"; sid:202;)
alert udp any any -> any 5000 (msg:"dropper"; content:"DROPPER"; xbits:set,tw.stage,track ip_src,expire 60; noalert; sid:203;)
alert udp any any -> any 5000 (msg:"beacon after dropper"; content:"BEACON"; xbits:isset,tw.stage,track ip_src; sid:204;)
alert udp any any -> any 5000 (msg:"count logins"; content:"LOGIN"; flowint:tw.logins,isset; flowint:tw.logins,+,1; noalert; sid:205;)
alert udp any any -> any 5000 (msg:"first login"; content:"LOGIN"; flowint:tw.logins,notset; flowint:tw.logins,=,1; noalert; sid:206;)
alert udp any any -> any 5000 (msg:"too many logins"; content:"CHECK"; flowint:tw.logins,>,2; sid:207;)
alert udp any any -> any 5000 (msg:"base64 admin"; content:"auth "; base64_decode:bytes 32,relative; base64_data; content:"admin:"; sid:208;)
"#;

const A: &str = "10.0.0.1:40000";
const A2: &str = "10.0.0.1:40001";
const B: &str = "10.0.0.3:40000";

/// (sender, payload), one UDP packet each, in order, to 10.0.0.2:5000.
const PACKETS: &[(&str, &[u8])] = &[
    (A, b"x name='abc' y"),    // 1: 200
    (A, b"x name='abc\" y"),   // 2: -
    (A, b"GET /shell.php"),    // 3: 201
    (A, b"GET /index.php"),    // 4: -
    (A, b"AAAA"),              // 5: - (possessive gives nothing back)
    (B, b"BEACON"),            // 6: -
    (A, b"DROPPER"),           // 7: - (noalert)
    (A2, b"BEACON"),           // 8: 204 (another flow of the same host)
    (B, b"BEACON"),            // 9: -
    (A, b"LOGIN"),             // 10
    (A, b"LOGIN"),             // 11
    (A, b"CHECK"),             // 12: - (2 logins)
    (A, b"LOGIN"),             // 13
    (A, b"CHECK"),             // 14: 207
    (A2, b"CHECK"),            // 15: - (flowints are per flow)
    (A, b"auth YWRtaW46cHc="), // 16: 208
    (A, b"auth dXNlcjpwdw=="), // 17: -
];

/// (packet number, sid) of every alert Suricata 7.0.10 raised on the
/// capture above with the rules above.
const SURICATA_7_0_10: &[(u64, u64)] = &[(1, 200), (3, 201), (8, 204), (14, 207), (16, 208)];

fn frames() -> Vec<Frame> {
    let dst: SocketAddr = "10.0.0.2:5000".parse().unwrap();
    PACKETS
        .iter()
        .enumerate()
        .map(|(i, (src, p))| udp_frame(src.parse().unwrap(), dst, T0 + i as u64 * 1_000_000_000, p))
        .collect()
}

/// Alerts (packet number, sid) of `rules` on `frames`; with
/// `TAPWATCH_DIFF_KEEP` set, the inputs are written as `<name>.*`.
fn run(name: &str, rules_text: &str, threshold: Option<&str>, frames: &[Frame]) -> Vec<(u64, u64)> {
    if let Ok(dir) = std::env::var("TAPWATCH_DIFF_KEEP") {
        let dir = std::path::Path::new(&dir);
        std::fs::create_dir_all(dir).unwrap();
        write_pcap(&dir.join(format!("{name}.pcap")), frames).unwrap();
        std::fs::write(dir.join(format!("{name}.rules")), rules_text).unwrap();
        if let Some(t) = threshold {
            std::fs::write(dir.join(format!("{name}.threshold.config")), t).unwrap();
        }
    }
    let mut b = tapwatch_rules::RuleSetBuilder::new(
        tapwatch_rules::Vars::default(),
        tapwatch_rules::Classifications::bundled(),
    );
    b.add_text("x.rules", rules_text);
    if let Some(t) = threshold {
        let errors = b.add_threshold_text("threshold.config", t);
        assert!(errors.is_empty(), "{errors:?}");
    }
    let (rules, report) = b.build();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let cfg = EngineConfig {
        workers: 1,
        eve: EveConfig {
            flow: false,
            ..EveConfig::default()
        },
        ..EngineConfig::default()
    };
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut w = Worker::new(Arc::new(cfg), Arc::new(rules), tx);
    for (i, f) in frames.iter().enumerate() {
        let info = FrameInfo {
            ts_ns: f.ts_ns,
            pcap_cnt: i as u64 + 1,
            link: LinkType::Ethernet,
            orig_len: f.orig_len,
            events: tapwatch_rules::EventSet::EMPTY,
        };
        w.process(&info, &f.data);
    }
    let _ = w.finish();
    let mut got: Vec<(u64, u64)> = rx
        .try_iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r).ok())
        .filter(|r| r["event_type"] == "alert")
        .map(|r| {
            (
                r["pcap_cnt"].as_u64().unwrap_or(0),
                r["alert"]["signature_id"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    got.sort_unstable();
    got
}

#[test]
fn stateful_and_backtracking_keywords_alert_as_suricata_does() {
    let mut b = tapwatch_rules::RuleSetBuilder::new(
        tapwatch_rules::Vars::default(),
        tapwatch_rules::Classifications::bundled(),
    );
    b.add_text("stateful.rules", RULES);
    let (rules, _) = b.build();
    assert_eq!(
        (0..rules.len() as u32)
            .filter(|&i| rules.uses_backtracking(i))
            .map(|i| rules.meta(i).sid)
            .collect::<Vec<_>>(),
        [200, 201, 202]
    );
    assert_eq!(run("stateful", RULES, None, &frames()), SURICATA_7_0_10);
}

const THRESHOLD_RULES: &str = r#"alert udp any any -> any 5000 (msg:"suppressed"; content:"PKT"; sid:300;)
alert udp any any -> any 5000 (msg:"suppressed for one source"; content:"PKT"; sid:301;)
alert udp any any -> any 5000 (msg:"limit by_src"; content:"PKT"; sid:302;)
alert udp any any -> any 5000 (msg:"threshold by_dst"; content:"PKT"; threshold:type limit, track by_rule, count 10, seconds 60; sid:303;)
alert udp any any -> any 5000 (msg:"rate_filter pass"; content:"PKT"; sid:304;)
alert udp any any -> any 5000 (msg:"global"; content:"PKT"; sid:305;)
"#;

const THRESHOLD_CONFIG: &str = "# tapwatch differential test
suppress gen_id 1, sig_id 300
suppress gen_id 1, sig_id 301, track by_src, ip [10.0.0.3/32]
threshold gen_id 1, sig_id 302, type limit, track by_src, count 1, seconds 60
event_filter gen_id 1, sig_id 303, type threshold, track by_dst, count 2, seconds 60
rate_filter gen_id 1, sig_id 304, track by_rule, count 2, seconds 60, new_action pass, timeout 60
threshold gen_id 1, sig_id 0, type limit, track by_rule, count 3, seconds 60
";

/// (packet number, sid) of every alert Suricata 7.0.10 raised on the
/// threshold capture (`--runmode single --set threshold-file=...`; with
/// two workers its by_rule counts depend on thread timing). The rate
/// filter's `pass` on packet 3 also drops sid 305's alerts after it.
const SURICATA_7_0_10_THRESHOLD: &[(u64, u64)] = &[
    (1, 301),
    (1, 302),
    (1, 304),
    (1, 305),
    (2, 301),
    (2, 303),
    (2, 304),
    (2, 305),
    (3, 302),
    (4, 301),
    (4, 303),
];

#[test]
fn threshold_file_filters_as_suricata_does() {
    let dst: SocketAddr = "10.0.0.2:5000".parse().unwrap();
    let frames: Vec<Frame> = [A, A, B, A, B]
        .iter()
        .enumerate()
        .map(|(i, src)| udp_frame(src.parse().unwrap(), dst, T0 + i as u64 * 1_000_000_000, b"PKT"))
        .collect();
    assert_eq!(
        run("threshold", THRESHOLD_RULES, Some(THRESHOLD_CONFIG), &frames),
        SURICATA_7_0_10_THRESHOLD
    );
}

const HTTP_RULES: &str = r#"alert http any any -> any any (msg:"login seen"; flow:established,to_server; http.uri; content:"/login"; flowbits:set,tw.http.login; flowbits:noalert; sid:400;)
alert http any any -> any any (msg:"cmd after login"; flow:established,to_server; http.uri; content:"/cmd"; flowbits:isset,tw.http.login; sid:401;)
alert http any any -> any any (msg:"cmd without login"; flow:established,to_server; http.uri; content:"/cmd"; flowbits:isnotset,tw.http.login; sid:402;)
alert http any any -> any any (msg:"evil host"; flow:established,to_server; http.host; content:"evil.example"; xbits:set,tw.http.evil,track ip_src,expire 300; noalert; sid:403;)
alert http any any -> any any (msg:"beacon from a host that saw evil"; flow:established,to_server; http.uri; content:"/beacon"; xbits:isset,tw.http.evil,track ip_src; sid:404;)
alert http any any -> any any (msg:"ua counted"; flow:established,to_server; http.user_agent; content:"tw-agent"; flowint:tw.ua,isset; flowint:tw.ua,+,1; noalert; sid:405;)
alert http any any -> any any (msg:"ua first"; flow:established,to_server; http.user_agent; content:"tw-agent"; flowint:tw.ua,notset; flowint:tw.ua,=,1; noalert; sid:406;)
alert http any any -> any any (msg:"third request with the agent"; flow:established,to_server; http.user_agent; content:"tw-agent"; flowint:tw.ua,==,3; sid:407;)
"#;

/// (packet number, sid) of every alert Suricata 7.0.10 raised on the HTTP
/// capture (`--runmode single`).
const SURICATA_7_0_10_HTTP: &[(u64, u64)] = &[(7, 402), (15, 401), (15, 407), (25, 404)];

fn get(uri: &str, host: &str) -> tapwatch_gen::session::Exchange {
    tapwatch_gen::session::Exchange::new(
        format!("GET {uri} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: tw-agent/1.0\r\n\r\n").into_bytes(),
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
    )
}

#[test]
fn app_layer_flowbits_xbits_flowint_across_transactions_as_suricata_does() {
    let server: SocketAddr = "10.0.0.2:80".parse().unwrap();
    let first = tapwatch_gen::session::tcp_conversation(
        A.parse().unwrap(),
        server,
        T0,
        1_000_000,
        &[
            get("/cmd", "a.example"),
            get("/login", "evil.example"),
            get("/cmd", "a.example"),
        ],
    );
    let second = tapwatch_gen::session::tcp_conversation(
        A2.parse().unwrap(),
        server,
        T0 + 10_000_000_000,
        1_000_000,
        &[get("/beacon", "b.example")],
    );
    let mut frames = first.frames();
    frames.extend(second.frames());
    let got = run("http", HTTP_RULES, None, &frames);
    // The same rules fire. The packet differs by one: tapwatch parses a
    // request on the packet that carries it, Suricata (IDS mode) once the
    // server has ACKed it (tapwatch: 6, 14, 14, 24).
    let sids = |v: &[(u64, u64)]| {
        let mut s: Vec<u64> = v.iter().map(|a| a.1).collect();
        s.sort_unstable();
        s
    };
    assert_eq!(sids(&got), sids(SURICATA_7_0_10_HTTP), "{got:?}");
}
