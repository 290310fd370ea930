//! Whole-crate tests: rule text through the builder to matching.

use crate::*;
use proptest::prelude::*;
use std::net::IpAddr;

fn build(text: &str) -> (RuleSet, LoadReport) {
    let mut b = RuleSetBuilder::new(Vars::default(), Classifications::bundled());
    b.add_text("test.rules", text);
    b.build()
}

/// The one error of a one-rule text.
fn error(text: &str) -> LoadError {
    let (set, report) = build(text);
    assert_eq!(set.len(), 0, "rule unexpectedly loaded: {text}");
    assert_eq!(report.errors.len(), 1);
    report.errors.into_iter().next().unwrap()
}

/// (line, column, reason) of the one error.
fn pos(text: &str) -> (usize, usize, &'static str) {
    let e = error(text);
    (e.line, e.column, e.reason)
}

fn col_of(text: &str, needle: &str) -> usize {
    text.find(needle).unwrap() + 1
}

fn rule(opts: &str) -> String {
    format!("alert tcp any any -> any any ({opts})")
}

/// A packet description with TCP defaults; tweak fields per test.
#[derive(Clone)]
struct Pkt {
    proto: u8,
    src: IpAddr,
    dst: IpAddr,
    sp: u16,
    dp: u16,
    ttl: u8,
    flags: Option<u8>,
    icmp: Option<(u8, u8)>,
    has_flow: bool,
    to_server: bool,
    established: bool,
    app: Option<&'static str>,
    data: Vec<u8>,
    new_from: usize,
    stream: bool,
}

impl Default for Pkt {
    fn default() -> Self {
        Pkt {
            proto: 6,
            src: "10.0.0.1".parse().unwrap(),
            dst: "8.8.8.8".parse().unwrap(),
            sp: 40000,
            dp: 80,
            ttl: 64,
            flags: Some(0x18),
            icmp: None,
            has_flow: true,
            to_server: true,
            established: true,
            app: None,
            data: b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n".to_vec(),
            new_from: 0,
            stream: false,
        }
    }
}

impl Pkt {
    fn ctx(&self) -> PacketCtx<'_> {
        self.ctx_with(&[])
    }
    fn ctx_with<'a>(&'a self, bufs: &'a [(BufferId, &'a [u8])]) -> PacketCtx<'a> {
        PacketCtx {
            ip_proto: self.proto,
            src_ip: self.src,
            dst_ip: self.dst,
            src_port: self.sp,
            dst_port: self.dp,
            ttl: self.ttl,
            tcp_flags: self.flags,
            icmp_type_code: self.icmp,
            dsize: self.data.len(),
            has_flow: self.has_flow,
            to_server: self.to_server,
            established: self.established,
            app_proto: self.app,
            buffer: &self.data,
            new_from: self.new_from,
            is_stream: self.stream,
            app_buffers: bufs,
            fields: Default::default(),
        }
    }
    fn data(mut self, d: &[u8]) -> Self {
        self.data = d.to_vec();
        self
    }
}

/// Hits of `set` on `p`, checked against the naive reference.
fn hits(set: &RuleSet, p: &Pkt) -> Vec<u32> {
    let mut scratch = set.new_scratch();
    let mut h = Vec::new();
    set.match_packet(&p.ctx(), &mut scratch, &mut h);
    let mut naive = Vec::new();
    set.match_packet_naive(&p.ctx(), &mut naive);
    assert_eq!(h, naive, "prefilter and naive disagree");
    h
}

/// Does the single rule `text` match `p`?
fn matches(text: &str, p: &Pkt) -> bool {
    let (set, report) = build(text);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(set.len(), 1);
    !hits(&set, p).is_empty()
}

fn hdr(h: &str) -> String {
    format!("{h} (sid:1;)")
}

// ---------------------------------------------------------------- header

#[test]
fn actions() {
    for (word, action) in [
        ("alert", Action::Alert),
        ("drop", Action::Drop),
        ("pass", Action::Pass),
        ("reject", Action::Reject),
        ("rejectsrc", Action::RejectSrc),
        ("rejectdst", Action::RejectDst),
        ("rejectboth", Action::RejectBoth),
    ] {
        let (set, _) = build(&format!("{word} ip any any -> any any (sid:1;)"));
        assert_eq!(set.meta(0).action, action);
        assert_eq!(action.as_str(), word);
    }
    assert_eq!(pos("alarm ip any any -> any any (sid:1;)"), (1, 1, "bad action"));
}

#[test]
fn protocols() {
    let tcp = Pkt::default();
    let udp = Pkt {
        proto: 17,
        flags: None,
        ..Pkt::default()
    };
    let icmp4 = Pkt {
        proto: 1,
        sp: 0,
        dp: 0,
        flags: None,
        icmp: Some((8, 0)),
        ..Pkt::default()
    };
    let icmp6 = Pkt {
        proto: 58,
        ..icmp4.clone()
    };
    let other = Pkt {
        proto: 47,
        sp: 0,
        dp: 0,
        flags: None,
        ..Pkt::default()
    };
    let cases: [(&str, [bool; 5]); 7] = [
        ("ip", [true, true, true, true, true]),
        ("tcp", [true, false, false, false, false]),
        ("udp", [false, true, false, false, false]),
        ("icmp", [false, false, true, true, false]),
        ("icmpv4", [false, false, true, false, false]),
        ("icmpv6", [false, false, false, true, false]),
        ("sctp", [false, false, false, false, false]),
    ];
    for (proto, want) in cases {
        let r = hdr(&format!("alert {proto} any any -> any any"));
        let got = [&tcp, &udp, &icmp4, &icmp6, &other].map(|p| matches(&r, p));
        assert_eq!(got, want, "{proto}");
    }
    let v6 = Pkt {
        src: "2001:db8::1".parse().unwrap(),
        dst: "2001:db8::2".parse().unwrap(),
        ..Pkt::default()
    };
    for (proto, want) in [
        ("ipv4", [true, false]),
        ("ip4", [true, false]),
        ("ipv6", [false, true]),
        ("ip6", [false, true]),
    ] {
        let r = hdr(&format!("alert {proto} any any -> any any"));
        assert_eq!([matches(&r, &tcp), matches(&r, &v6)], want, "{proto}");
    }
    let e = error("alert foo any any -> any any (sid:1;)");
    assert_eq!((e.line, e.column, e.reason), (1, 7, "unknown protocol"));
    assert_eq!(e.to_string(), "test.rules:1:7: unknown protocol 'foo'");
}

#[test]
fn tcp_pkt_and_tcp_stream() {
    let pkt = Pkt::default();
    let stream = Pkt {
        stream: true,
        ..Pkt::default()
    };
    let r = hdr("alert tcp-pkt any any -> any any");
    assert!(matches(&r, &pkt) && !matches(&r, &stream));
    let r = hdr("alert tcp-stream any any -> any any");
    assert!(!matches(&r, &pkt) && matches(&r, &stream));
}

#[test]
fn app_layer_protocols() {
    let none = Pkt::default();
    let http = Pkt {
        app: Some("http"),
        ..Pkt::default()
    };
    let tls = Pkt {
        app: Some("tls"),
        ..Pkt::default()
    };
    let r = hdr("alert http any any -> any any");
    assert!(!matches(&r, &none) && matches(&r, &http) && !matches(&r, &tls));
    let r = hdr("alert http1 any any -> any any");
    assert!(matches(&r, &http) && !matches(&r, &tls));
    let r = hdr("alert tls any any -> any any");
    assert!(matches(&r, &tls) && !matches(&r, &http));
    for p in [
        "dns", "pgsql", "smtp", "ftp", "ssh", "smb", "http2", "dcerpc", "krb5", "quic",
    ] {
        let (set, report) = build(&hdr(&format!("alert {p} any any -> any any")));
        assert_eq!((set.len(), report.failed), (1, 0), "{p}");
    }
    let dns_udp = Pkt {
        proto: 17,
        flags: None,
        app: Some("dns"),
        ..Pkt::default()
    };
    assert!(matches(&hdr("alert dns any any -> any any"), &dns_udp));
    let icmp = Pkt {
        proto: 1,
        app: Some("dns"),
        ..Pkt::default()
    };
    assert!(!matches(&hdr("alert dns any any -> any any"), &icmp));
}

#[test]
fn addresses() {
    let p = Pkt::default(); // 10.0.0.1 -> 8.8.8.8
    let yes = |h: &str| matches(&hdr(h), &p);
    assert!(yes("alert ip 10.0.0.1 any -> 8.8.8.8 any"));
    assert!(yes("alert ip 10.0.0.0/8 any -> 8.8.0.0/16 any"));
    assert!(!yes("alert ip 10.0.0.2 any -> any any"));
    assert!(yes("alert ip [1.1.1.1,10.0.0.1] any -> any any"));
    assert!(yes("alert ip [1.1.1.1, [2.2.2.2, 10.0.0.0/24]] any -> any any"));
    assert!(!yes("alert ip !10.0.0.1 any -> any any"));
    assert!(yes("alert ip [10.0.0.0/8,!10.0.0.2] any -> any any"));
    assert!(!yes("alert ip [10.0.0.0/8,!10.0.0.0/30] any -> any any"));
    assert!(yes("alert ip $HOME_NET any -> $EXTERNAL_NET any"));
    assert!(!yes("alert ip $EXTERNAL_NET any -> any any"));
    assert!(!yes("alert ip ::1 any -> any any"));
    let v6 = Pkt {
        src: "2001:db8::1".parse().unwrap(),
        dst: "2001:db8::2".parse().unwrap(),
        ..Pkt::default()
    };
    assert!(matches(
        &hdr("alert ip 2001:db8::/32 any -> [2001:db8::2] any"),
        &v6
    ));
    assert!(!matches(&hdr("alert ip $HOME_NET any -> any any"), &v6));
    assert!(matches(&hdr("alert ip $EXTERNAL_NET any -> any any"), &v6));
}

#[test]
fn address_errors() {
    let t = "alert ip [1.2.3.4,!1.2.3.4] any -> any any (sid:1;)";
    assert_eq!(pos(t), (1, 10, "bad address"));
    let t = "alert ip any any -> [1.1.1.1, 1.1.1.300] any (sid:1;)";
    assert_eq!(pos(t), (1, col_of(t, "1.1.1.300"), "bad address"));
    let t = "alert ip any any -> $NOPE any (sid:1;)";
    assert_eq!(pos(t), (1, 21, "unknown variable"));
    let t = "alert ip $HTTP_PORTS any -> any any (sid:1;)";
    assert_eq!(pos(t), (1, 10, "unknown variable"));
    let t = "alert ip !any any -> any any (sid:1;)";
    assert_eq!(pos(t).2, "bad address");
}

#[test]
fn variable_cycles_are_errors() {
    let mut v = Vars::default();
    v.set_address("A", "[$B]");
    v.set_address("B", "[10.0.0.0/8,$A]");
    let mut b = RuleSetBuilder::new(v, Classifications::bundled());
    b.add_text(
        "x",
        "alert ip $A any -> any any (sid:1;)\nalert ip $HOME_NET any -> any any (sid:2;)",
    );
    let (set, report) = b.build();
    assert_eq!(set.len(), 1);
    assert_eq!(report.errors[0].column, 10);
    assert!(
        report.errors[0].message.contains("cycle"),
        "{}",
        report.errors[0].message
    );
}

#[test]
fn ports() {
    let p = Pkt::default(); // 40000 -> 80
    let yes = |h: &str| matches(&hdr(h), &p);
    assert!(yes("alert tcp any 40000 -> any 80"));
    assert!(!yes("alert tcp any any -> any 81"));
    assert!(yes("alert tcp any 1024: -> any :1023"));
    assert!(!yes("alert tcp any :1023 -> any any"));
    assert!(yes("alert tcp any any -> any 79:81"));
    assert!(yes("alert tcp any any -> any [443,80]"));
    assert!(yes("alert tcp any any -> any [1:100,!81]"));
    assert!(!yes("alert tcp any any -> any [1:100,!80]"));
    assert!(!yes("alert tcp any any -> any !80"));
    assert!(yes("alert tcp any any -> any $HTTP_PORTS"));
    assert!(yes("alert tcp any any -> any $FILE_DATA_PORTS"));
    assert!(!yes("alert tcp any any -> any $SHELLCODE_PORTS"));
    // a port constraint never matches a packet without ports
    let icmp = Pkt {
        proto: 1,
        sp: 0,
        dp: 0,
        ..Pkt::default()
    };
    assert!(!matches(&hdr("alert ip any any -> any 0"), &icmp));
    assert!(matches(&hdr("alert ip any any -> any any"), &icmp));
}

#[test]
fn port_errors() {
    let t = "alert tcp any 70000 -> any any (sid:1;)";
    assert_eq!(pos(t), (1, 15, "bad port"));
    let t = "alert tcp any any -> any [80,90:10] (sid:1;)";
    assert_eq!(pos(t), (1, col_of(t, "90:10"), "bad port"));
    let t = "alert tcp any any -> any [80,!80] (sid:1;)";
    assert_eq!(pos(t), (1, 26, "bad port"));
    let t = "alert tcp any any -> any $HOME_NET (sid:1;)";
    assert_eq!(pos(t), (1, 26, "unknown variable"));
}

#[test]
fn directions() {
    let fwd = Pkt::default();
    let rev = Pkt {
        src: fwd.dst,
        dst: fwd.src,
        sp: fwd.dp,
        dp: fwd.sp,
        ..Pkt::default()
    };
    let one = hdr("alert tcp 10.0.0.1 40000 -> 8.8.8.8 80");
    assert!(matches(&one, &fwd) && !matches(&one, &rev));
    let both = hdr("alert tcp 10.0.0.1 40000 <> 8.8.8.8 80");
    assert!(matches(&both, &fwd) && matches(&both, &rev));
    let t = "alert tcp any any <- any any (sid:1;)";
    assert_eq!(pos(t), (1, 19, "syntax"));
}

#[test]
fn header_shape_errors() {
    let t = "alert tcp any any -> any (sid:1;)";
    assert_eq!(pos(t), (1, 25, "syntax"));
    let t = "alert tcp any any -> any any any (sid:1;)";
    assert_eq!(pos(t), (1, 30, "syntax"));
    let t = "alert tcp any any -> any any";
    assert_eq!(pos(t), (1, 29, "syntax"));
    let t = "alert tcp any any -> any any (sid:1;";
    assert_eq!(pos(t), (1, 37, "syntax"));
    let t = "alert tcp any any -> any any (sid:1)";
    assert_eq!(pos(t), (1, 31, "syntax"));
    let t = "alert tcp any any -> any any (sid:1; msg)";
    assert_eq!(pos(t), (1, 38, "syntax"));
    let t = "alert tcp any any -> any any (sid:1; ;)";
    assert_eq!(pos(t), (1, 38, "syntax"));
    let t = "alert tcp any any -> any any (sid:1; m#g;)";
    assert_eq!(pos(t), (1, 39, "syntax"));
}

// ---------------------------------------------------------------- options

#[test]
fn metadata_options() {
    let t = r#"alert tcp any any -> any any (msg:"ET \"quoted\"\; semi"; sid:2001; rev:7; gid:3; classtype:trojan-activity; reference:url,example.com/x; reference: cve , 2024-1234; metadata: former_category MALWARE, created_at 2024_01_01, lonely; )"#;
    let (set, report) = build(t);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let m = set.meta(0);
    assert_eq!(m.msg, "ET \"quoted\"; semi");
    assert_eq!((m.gid, m.sid, m.rev), (3, 2001, 7));
    assert_eq!(m.classtype.as_deref(), Some("trojan-activity"));
    assert_eq!(m.category.as_deref(), Some("A Network Trojan was detected"));
    assert_eq!(m.priority, 1);
    assert_eq!(
        m.references,
        [
            ("url".into(), "example.com/x".into()),
            ("cve".into(), "2024-1234".into())
        ]
    );
    assert_eq!(
        m.metadata,
        [
            ("former_category".into(), "MALWARE".into()),
            ("created_at".into(), "2024_01_01".into())
        ]
    );
    assert_eq!((m.source.as_str(), m.line, m.text.as_str()), ("test.rules", 1, t));
}

#[test]
fn priority_defaults_and_overrides() {
    let (set, _) = build(&rule("sid:1;"));
    let m = set.meta(0);
    assert_eq!(
        (m.gid, m.rev, m.priority, m.msg.as_str(), m.classtype.clone()),
        (1, 0, 3, "", None)
    );
    let (set, _) = build(&rule("sid:1; classtype:bad-unknown;"));
    assert_eq!(set.meta(0).priority, 2);
    let (set, _) = build(&rule("priority:4; sid:1; classtype:bad-unknown;"));
    assert_eq!(set.meta(0).priority, 4);
    let (set, _) = build(&rule("sid:1; classtype:Trojan-Activity;"));
    assert_eq!(set.meta(0).classtype.as_deref(), Some("trojan-activity"));
}

#[test]
fn metadata_errors() {
    let t = rule("sid:1; classtype:nope;");
    assert_eq!(pos(&t), (1, col_of(&t, "nope"), "unknown classtype"));
    let t = rule("msg:\"x\";");
    assert_eq!(pos(&t), (1, 30, "missing sid"));
    let t = rule("sid:x;");
    assert_eq!(pos(&t), (1, 35, "bad value"));
    let t = rule("sid:0;");
    assert_eq!(pos(&t), (1, 35, "bad value"));
    let t = rule("sid:99999999999;");
    assert_eq!(pos(&t).2, "bad value");
    let t = rule("sid:1; sid:2;");
    assert_eq!(pos(&t), (1, 38, "conflicting options"));
    let t = rule("sid:1; priority:0;");
    assert_eq!(pos(&t).2, "bad value");
    let t = rule("sid:1; priority:256;");
    assert_eq!(pos(&t).2, "bad value");
    let t = rule("sid:1; reference:nocomma;");
    assert_eq!(pos(&t), (1, col_of(&t, "nocomma"), "bad value"));
    let t = rule(r#"msg:"a"b"; sid:1;"#);
    assert_eq!(pos(&t), (1, col_of(&t, r#""b""#), "bad value"));
    let t = rule("sid;");
    assert_eq!(pos(&t), (1, 31, "bad value"));
}

#[test]
fn duplicate_sids() {
    let text = "alert ip any any -> any any (sid:5;)\n\nalert ip any any -> any any (msg:\"b\";   sid:5;)\nalert ip any any -> any any (gid:2; sid:5;)\n";
    let (set, report) = build(text);
    assert_eq!((set.len(), report.loaded, report.failed), (2, 2, 1));
    let e = &report.errors[0];
    assert_eq!((e.line, e.column, e.reason), (3, 41, "duplicate sid"));
    assert_eq!(report.by_reason.get("duplicate sid"), Some(&1));
}

#[test]
fn unsupported_and_unknown_keywords() {
    let t = rule(r#"content:"a"; asn1:oversize_length 1; sid:1;"#);
    let e = error(&t);
    assert_eq!((e.column, e.reason), (col_of(&t, "asn1"), "unsupported keyword"));
    let t = rule(r#"http2.window; content:"a"; sid:1;"#);
    assert_eq!(pos(&t), (1, 31, "unsupported keyword"));
    let t = rule("sid:1; bogus_kw:3;");
    assert_eq!(pos(&t), (1, 38, "unknown keyword"));
    let (_, report) = build(&format!(
        "{}\n{}\n",
        rule("ftpbounce; sid:1;"),
        rule("content:\"a\"; ftpbounce; sid:2;")
    ));
    assert_eq!(report.by_keyword.get("ftpbounce"), Some(&2));
    assert_eq!(report.by_reason.get("unsupported keyword"), Some(&2));
}

#[test]
fn keywords_are_case_insensitive() {
    let (set, report) = build(r#"alert tcp any any -> any any (MSG:"x"; Content:"GET"; NOCASE; SID:1;)"#);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(!hits(&set, &Pkt::default().data(b"get")).is_empty());
}

#[test]
fn content_options() {
    let p = Pkt::default().data(b"GET /admin.php?id=1 HTTP/1.1\r\nHost: Example\r\n");
    let yes = |o: &str| matches(&rule(&format!("{o} sid:1;")), &p);
    assert!(yes(r#"content:"GET";"#));
    assert!(yes(r#"content:"|47 45|T";"#));
    assert!(!yes(r#"content:"get";"#));
    assert!(yes(r#"content:"get"; nocase;"#));
    assert!(yes(r#"content:"GET"; depth:3;"#));
    assert!(yes(r#"content:"admin"; offset:5; depth:5;"#));
    assert!(!yes(r#"content:"admin"; offset:6;"#));
    assert!(yes(r#"content:"GET"; content:"admin"; distance:2; within:5;"#));
    assert!(!yes(r#"content:"GET"; content:"admin"; distance:3;"#));
    assert!(yes(r#"content:!"POST";"#));
    assert!(!yes(r#"content:!"GET";"#));
    assert!(yes(r#"content:"Host|3a| "; content:!"evil"; within:10;"#));
    assert!(yes(
        r#"content:"Host"; fast_pattern; content:"Example"; distance:0;"#
    ));
    assert!(yes(r#"content:"Host"; fast_pattern:only;"#));
    assert!(yes(r#"content:"admin.php"; fast_pattern:2,5;"#));
    assert!(yes(r#"content:"ADMIN"; nocase; fast_pattern;"#));
    assert!(!matches(
        &rule(r#"content:"GET"; sid:1;"#),
        &Pkt::default().data(b"")
    ));
}

#[test]
fn content_errors() {
    let t = rule(r#"content:"|4G|"; sid:1;"#);
    assert_eq!(pos(&t), (1, col_of(&t, "G|"), "bad value"));
    let t = rule(r#"content:"ab|41"; sid:1;"#);
    assert_eq!(pos(&t), (1, col_of(&t, "|41"), "bad value"));
    let t = rule(r#"content:""; sid:1;"#);
    assert_eq!(pos(&t).2, "bad value");
    let t = rule("nocase; sid:1;");
    assert_eq!(pos(&t), (1, 31, "syntax"));
    let t = rule(r#"content:"abc"; depth:2; sid:1;"#);
    assert_eq!(pos(&t), (1, col_of(&t, "2;"), "bad value"));
    let t = rule(r#"content:"abc"; content:"d"; within:0; sid:1;"#);
    assert_eq!(pos(&t).2, "bad value");
    let t = rule(r#"content:"abc"; offset:1; distance:2; sid:1;"#);
    assert_eq!(pos(&t), (1, col_of(&t, "distance"), "conflicting options"));
    let t = rule(r#"content:"abc"; within:5; depth:4; sid:1;"#);
    assert_eq!(pos(&t), (1, col_of(&t, "depth"), "conflicting options"));
    let t = rule(r#"content:"abc"; nocase; nocase; sid:1;"#);
    assert_eq!(pos(&t).2, "conflicting options");
    let t = rule(r#"content:"a"; fast_pattern; content:"b"; fast_pattern; sid:1;"#);
    assert_eq!(
        pos(&t),
        (1, col_of(&t, "fast_pattern; sid"), "conflicting options")
    );
    let t = rule(r#"content:"abc"; fast_pattern:2,5; sid:1;"#);
    assert_eq!(pos(&t).2, "bad value");
    let t = rule(r#"content:"abc"; fast_pattern:x; sid:1;"#);
    assert_eq!(pos(&t).2, "bad value");
    let t = rule(r#"content:"abc"; offset:-1; sid:1;"#);
    assert_eq!(pos(&t).2, "bad value");
    let t = rule(r#"content:"abc"; nocase:1; sid:1;"#);
    assert_eq!(pos(&t), (1, col_of(&t, "1; sid"), "bad value"));
}

#[test]
fn escaped_semicolon_stays_in_value() {
    let (set, report) = build(r#"alert tcp any any -> any any (content:"a\;b"; msg:"x\;y"; sid:1;)"#);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(set.meta(0).msg, "x;y");
    assert!(!hits(&set, &Pkt::default().data(b"--a;b--")).is_empty());
}

#[test]
fn flow_options() {
    let base = Pkt::default();
    let to_client = Pkt {
        to_server: false,
        ..Pkt::default()
    };
    let not_est = Pkt {
        established: false,
        ..Pkt::default()
    };
    let no_flow = Pkt {
        has_flow: false,
        established: false,
        ..Pkt::default()
    };
    let stream = Pkt {
        stream: true,
        ..Pkt::default()
    };
    let f = |v: &str, p: &Pkt| matches(&rule(&format!("flow:{v}; sid:1;")), p);
    assert!(f("to_server", &base) && !f("to_server", &to_client));
    assert!(f("from_client", &base) && f("from_server", &to_client) && f("to_client", &to_client));
    assert!(f("established,to_server", &base) && !f("established", &not_est));
    assert!(f("not_established", &not_est) && !f("not_established", &base));
    assert!(!f("to_server", &no_flow) && !f("established", &no_flow));
    assert!(f("stateless", &no_flow) && f("stateless", &base));
    assert!(f("only_stream", &stream) && !f("only_stream", &base));
    assert!(f("no_stream", &base) && !f("no_stream", &stream));
    assert!(f(" to_server , established ", &base));
    let t = rule("flow:to_server,to_client; sid:1;");
    assert_eq!(pos(&t), (1, col_of(&t, "to_client"), "conflicting options"));
    let t = rule("flow:established,sideways; sid:1;");
    assert_eq!(pos(&t), (1, col_of(&t, "sideways"), "bad value"));
    let t = rule("flow:established; flow:to_server; sid:1;");
    assert_eq!(pos(&t).2, "conflicting options");
    let t = rule("flow:stateless,established; sid:1;");
    assert_eq!(pos(&t).2, "conflicting options");
}

#[test]
fn dsize_ttl_icmp() {
    let p = Pkt::default().data(&[0u8; 100]);
    let d = |v: &str| matches(&rule(&format!("dsize:{v}; sid:1;")), &p);
    assert!(d("100") && !d("99") && d("<101") && !d("<100") && d(">99") && !d(">100"));
    assert!(d("99<>101") && !d("100<>200") && d("!5") && !d("!100"));
    let t = rule("dsize:70000; sid:1;");
    assert_eq!(pos(&t), (1, col_of(&t, "70000"), "bad value"));
    let t = rule("dsize:10<>5; sid:1;");
    assert_eq!(pos(&t).2, "bad value");
    let ttl = |v: &str| matches(&rule(&format!("ttl:{v}; sid:1;")), &Pkt::default());
    assert!(ttl("64") && ttl("<65") && !ttl(">64") && ttl("63<>65"));
    assert_eq!(pos(&rule("ttl:300; sid:1;")).2, "bad value");
    let icmp = Pkt {
        proto: 1,
        sp: 0,
        dp: 0,
        flags: None,
        icmp: Some((8, 0)),
        ..Pkt::default()
    };
    let i = |o: &str, p: &Pkt| matches(&format!("alert icmp any any -> any any ({o} sid:1;)"), p);
    assert!(i("itype:8;", &icmp) && !i("itype:0;", &icmp) && i("itype:>3;", &icmp));
    assert!(i("icode:0;", &icmp) && !i("icode:>0;", &icmp) && i("itype:8; icode:<1;", &icmp));
    let tcp_as_icmp_rule = |o: &str| {
        matches(
            &format!("alert ip any any -> any any ({o} sid:1;)"),
            &Pkt::default(),
        )
    };
    assert!(!tcp_as_icmp_rule("itype:8;") && !tcp_as_icmp_rule("icode:0;"));
}

#[test]
fn flags_and_sameip() {
    let syn = Pkt {
        flags: Some(0x02),
        ..Pkt::default()
    };
    let synack = Pkt {
        flags: Some(0x12),
        ..Pkt::default()
    };
    let f = |v: &str, p: &Pkt| matches(&rule(&format!("flags:{v}; sid:1;")), p);
    assert!(f("S", &syn) && !f("S", &synack) && f("SA", &synack) && f("S+", &synack));
    assert!(f("*SF", &synack) && f("!A", &syn) && !f("!A", &synack) && f("S,A", &synack));
    let udp = Pkt {
        proto: 17,
        flags: None,
        ..Pkt::default()
    };
    assert!(!matches("alert ip any any -> any any (flags:S+; sid:1;)", &udp));
    let t = rule("flags:SZ; sid:1;");
    assert_eq!(pos(&t), (1, col_of(&t, "Z;"), "bad value"));
    let same = Pkt {
        dst: "10.0.0.1".parse().unwrap(),
        ..Pkt::default()
    };
    assert!(matches(&rule("sameip; sid:1;"), &same) && !matches(&rule("sameip; sid:1;"), &Pkt::default()));
    assert_eq!(pos(&rule("sameip:1; sid:1;")).2, "bad value");
}

// ---------------------------------------------------------------- files

#[test]
fn multi_line_rules_and_positions() {
    let text = "# comment\n\nalert tcp any any -> any any \\\n    (msg:\"two\"; \\\n     content:\"x\"; bogus; sid:1;)\n";
    let e = error(text);
    assert_eq!((e.line, e.column, e.reason), (5, 19, "unknown keyword"));
    let text = "alert tcp any any -> any any \\\n  (msg:\"ok\"; \\\n   sid:9;)\n";
    let (set, _) = build(text);
    assert_eq!(set.meta(0).line, 1);
    assert_eq!(set.meta(0).sid, 9);
    assert_eq!(
        set.meta(0).text,
        "alert tcp any any -> any any   (msg:\"ok\";    sid:9;)"
    );
}

#[test]
fn report_counts_and_load_order() {
    let text = [
        rule("sid:3;"),
        rule("sid:1; asn1:oversize_length 1;"),
        "# alert tcp any any -> any any (sid:4;)".to_string(),
        rule("sid:2;"),
        "alert foo any any -> any any (sid:5;)".to_string(),
        rule("sid:6; content:\"a\"; ftpbounce;"),
    ]
    .join("\n");
    let (set, report) = build(&text);
    assert_eq!((report.loaded, report.failed, set.len()), (2, 3, 2));
    assert_eq!(set.metas().iter().map(|m| m.sid).collect::<Vec<_>>(), [3, 2]);
    assert_eq!(report.by_reason.get("unsupported keyword"), Some(&2));
    assert_eq!(report.by_reason.get("unknown protocol"), Some(&1));
    assert_eq!(
        report.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
        [2, 5, 6]
    );
}

#[test]
fn add_path_reads_rules_files_in_name_order() {
    let dir = std::env::temp_dir().join(format!("tapwatch-rules-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("b.rules"), rule("sid:2;")).unwrap();
    std::fs::write(
        dir.join("a.rules"),
        format!("{}\n{}", rule("sid:1;"), rule("sid:1;")),
    )
    .unwrap();
    std::fs::write(dir.join("c.txt"), rule("sid:3;")).unwrap();
    let mut b = RuleSetBuilder::new(Vars::default(), Classifications::bundled());
    b.add_path(&dir).unwrap();
    b.add_path(&dir.join("c.txt")).unwrap();
    assert!(b.add_path(&dir.join("missing.rules")).is_err());
    let (set, report) = b.build();
    let got: Vec<(u32, bool)> = set
        .metas()
        .iter()
        .map(|m| (m.sid, m.source.ends_with("a.rules")))
        .collect();
    assert_eq!(got, [(1, true), (2, false), (3, false)]);
    assert!(report.errors[0].file.ends_with("a.rules"));
    assert_eq!(report.errors[0].line, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- matching

#[test]
fn hits_are_ascending_and_unique() {
    let text = (1..=6)
        .map(|i| match i % 3 {
            0 => rule(&format!("content:\"GET\"; content:\"GET\"; sid:{i};")),
            1 => rule(&format!("content:\"Host\"; nocase; sid:{i};")),
            _ => rule(&format!("sid:{i};")),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let (set, _) = build(&text);
    assert_eq!(hits(&set, &Pkt::default()), [0, 1, 2, 3, 4, 5]);
    assert_eq!(hits(&set, &Pkt::default().data(b"host")), [0, 1, 3, 4]);
    // scratch reuse across calls
    let mut scratch = set.new_scratch();
    let mut h = vec![99];
    for _ in 0..3 {
        set.match_packet(&Pkt::default().data(b"xx").ctx(), &mut scratch, &mut h);
        assert_eq!(h, [1, 4]);
    }
}

#[test]
fn stream_new_from() {
    let text = [
        rule(r#"content:"evil"; sid:1;"#),
        rule(r#"content:"USER"; content:"root"; distance:1; sid:2;"#),
        rule(r#"content:!"zzz"; sid:3;"#),
        rule("sid:4;"),
    ]
    .join("\n");
    let (set, _) = build(&text);
    let s = |data: &[u8], nf: usize| Pkt {
        stream: true,
        new_from: nf,
        ..Pkt::default().data(data)
    };
    assert_eq!(hits(&set, &s(b"evil USER root", 0)), [0, 1, 2, 3]);
    assert_eq!(hits(&set, &s(b"evil USER root", 14)), [2, 3]);
    assert_eq!(hits(&set, &s(b"evil USER root", 12)), [1, 2, 3]);
    assert_eq!(hits(&set, &s(b"evil USER root", 2)), [0, 1, 2, 3]);
    assert_eq!(hits(&set, &s(b"evil USER root evil", 15)), [0, 2, 3]);
    // new_from past the end: nothing new, content rules stay quiet
    assert_eq!(hits(&set, &s(b"evil", 100)), [2, 3]);
}

#[test]
fn stream_candidates_need_a_new_fast_pattern() {
    // The prefilter scans only new data (plus the overlap a pattern needs),
    // so a rule whose fast pattern lies wholly in old data is not a
    // candidate, even if its last content is new.
    let text = [
        rule(r#"content:"USER"; fast_pattern; content:"root"; distance:1; sid:1;"#),
        rule(r#"content:"USER"; content:"root"; distance:1; sid:2;"#),
    ]
    .join("\n");
    let (set, _) = build(&text);
    let p = Pkt {
        stream: true,
        new_from: 12,
        ..Pkt::default().data(b"evil USER root")
    };
    assert_eq!(hits(&set, &p), [1]);
    let p = Pkt { new_from: 7, ..p };
    assert_eq!(hits(&set, &p), [0, 1]);
}

#[test]
fn long_contents_are_prefiltered_by_their_end() {
    // A 300-byte content: the prefilter searches its last 255 bytes, which
    // end where it ends, so the stream condition is the content's own.
    let content = format!("{}B", "A".repeat(299));
    let (set, _) = build(&rule(&format!("content:\"{content}\"; sid:1;")));
    let data = format!("x{content}x");
    let s = |nf: usize| Pkt {
        stream: true,
        new_from: nf,
        ..Pkt::default().data(data.as_bytes())
    };
    for (nf, want) in [(0, true), (2, true), (300, true), (301, false)] {
        let p = s(nf);
        let mut naive = Vec::new();
        set.match_packet_naive(&p.ctx(), &mut naive);
        assert_eq!(hits(&set, &p), naive, "new_from {nf}");
        assert_eq!(!naive.is_empty(), want, "new_from {nf}");
    }
}

#[test]
fn ruleset_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<RuleSet>();
    check::<Scratch>();
}

#[test]
fn scratch_from_another_ruleset_is_safe() {
    let (small, _) = build(&rule("sid:1;"));
    let (big, _) = build(
        &(1..50)
            .map(|i| rule(&format!("content:\"{i}x\"; sid:{i};")))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let mut scratch = small.new_scratch();
    let mut h = Vec::new();
    big.match_packet(&Pkt::default().data(b"7x 42x").ctx(), &mut scratch, &mut h);
    assert_eq!(h, [1, 6, 41]); // "2x" is in "42x"
}

// ---------------------------------------------------------------- properties

/// Small random rules over a tiny alphabet so that contents often occur.
fn arb_rule() -> impl Strategy<Value = String> {
    let word = prop::collection::vec(
        prop::sample::select(vec!["a", "b", "B", "|00|", "ab", ".", ".a"]),
        1..3,
    )
    .prop_map(|v| v.concat());
    let content = (word, any::<bool>(), any::<bool>(), 0u8..6, 0u8..4, any::<bool>()).prop_map(
        |(w, neg, nocase, m, n, fp)| {
            let mut s = format!("content:{}\"{}\";", if neg { "!" } else { "" }, w);
            if nocase {
                s.push_str(" nocase;");
            }
            match m {
                1 => s.push_str(&format!(" offset:{n};")),
                2 => s.push_str(&format!(" depth:{};", n + 4)),
                3 => s.push_str(&format!(" distance:{};", i32::from(n) - 1)),
                4 => s.push_str(&format!(" within:{};", n + 4)),
                _ => {}
            }
            if fp {
                s.push_str(" fast_pattern;");
            }
            s
        },
    );
    let proto = prop::sample::select(vec!["ip", "tcp", "udp", "icmp", "http"]);
    let extra = prop::sample::select(vec![
        "",
        "flow:to_server;",
        "flow:to_client;",
        "dsize:>3;",
        "flow:established;",
        "flags:A+;",
    ]);
    let sticky = prop::sample::select(vec![
        "",
        "",
        "http.uri;",
        "dns.query;",
        "pkt_data;",
        "http.uri; to_lowercase;",
        "dns.query; dotprefix;",
        "dns.query; to_uppercase; dotprefix;",
        "http.uri; compress_whitespace;",
        "http.response_body;",
        "file.data;",
    ]);
    let item = (sticky, content).prop_map(|(s, c)| format!("{s} {c}"));
    // Addresses and ports that the drawn packets do and do not use, so the
    // host and port indexes of rules without a fast pattern are exercised.
    let addr = prop::sample::select(vec![
        "any",
        "any",
        "10.0.0.1",
        "[10.0.0.0/8,192.168.0.0/16]",
        "!10.0.0.1",
        "8.8.8.8",
        "2001:db8::1",
    ]);
    let port = prop::sample::select(vec!["any", "any", "80", "[80,443]", "1024:", "!80", "53", "0:10"]);
    let header = (addr.clone(), port.clone(), addr, port, any::<bool>())
        .prop_map(|(s, sp, d, dp, bidir)| format!("{s} {sp} {} {d} {dp}", if bidir { "<>" } else { "->" }));
    (proto, header, prop::collection::vec(item, 0..4), extra)
        .prop_map(|(p, h, cs, x)| format!("alert {p} {h} ({} {x} sid:1;)", cs.join(" ")))
}

fn with_sids(rules: &[String]) -> String {
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| r.replace("sid:1;", &format!("sid:{};", i + 1)))
        .collect::<Vec<_>>()
        .join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// The prefilter selects exactly the rules that naive verification of
    /// every rule would report.
    #[test]
    fn prefilter_agrees_with_naive_verification(
        rules in prop::collection::vec(arb_rule(), 1..12),
        data in prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'A', b'B', 0u8, b'x']), 0..40),
        proto in prop::sample::select(vec![6u8, 17, 1, 58, 47]),
        app in prop::option::of(prop::sample::select(vec!["http", "tls"])),
        stream in any::<bool>(),
        nf in 0usize..48,
        to_server in any::<bool>(),
        uri in prop::option::of(prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'A', b'B', 0u8]), 0..12)),
        queries in prop::collection::vec(prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'B', b'.']), 0..8), 0..3),
        hosts in prop::sample::select(vec![("10.0.0.1", "8.8.8.8"), ("8.8.8.8", "192.168.1.1"), ("2001:db8::1", "2001:db8::2")]),
        ports in prop::sample::select(vec![(40000u16, 80u16), (80, 40000), (53, 53), (5, 443), (0, 0)]),
    ) {
        let (set, _) = build(&with_sids(&rules));
        let p = Pkt {
            proto, app, stream, new_from: if stream { nf } else { 0 }, to_server,
            src: hosts.0.parse().unwrap(), dst: hosts.1.parse().unwrap(), sp: ports.0, dp: ports.1,
            ..Pkt::default().data(&data)
        };
        let mut bufs: Vec<(BufferId, &[u8])> = queries.iter().map(|q| (BufferId::DnsQuery, q.as_slice())).collect();
        // A second copy of the body: equal bytes at another address.
        let body_copy = uri.clone();
        if let (Some(u), Some(copy)) = (&uri, &body_copy) {
            bufs.push((BufferId::HttpUri, u.as_slice()));
            // A response body is inspected as both buffers (same bytes).
            bufs.push((BufferId::HttpResponseBody, u.as_slice()));
            bufs.push((BufferId::FileData, u.as_slice()));
            bufs.push((BufferId::FileData, copy.as_slice()));
        }
        let ctx = p.ctx_with(&bufs);
        let mut scratch = set.new_scratch();
        let mut fast = Vec::new();
        set.match_packet(&ctx, &mut scratch, &mut fast);
        let mut naive = Vec::new();
        set.match_packet_naive(&ctx, &mut naive);
        prop_assert_eq!(fast, naive);
    }

    /// Loading never panics, whatever the text; every failure is reported
    /// with a position inside the text.
    #[test]
    fn parser_never_panics_on_arbitrary_text(text in "\\PC{0,300}") {
        let (set, report) = build(&text);
        prop_assert_eq!(set.len() + report.failed, report.loaded + report.failed);
        for e in &report.errors {
            prop_assert!(e.line >= 1 && e.column >= 1);
            prop_assert!(e.line <= text.split('\n').count());
        }
    }

    /// Same, with rule-shaped token soup that gets deeper into the parser.
    #[test]
    fn parser_never_panics_on_rule_like_text(
        toks in prop::collection::vec(prop::sample::select(vec![
            "alert", "tcp", "http", "any", "->", "<>", "(", ")", ";", ":", ",", "[", "]", "!", "$HOME_NET", "$X",
            "\"", "\\", "|", "|4", "1|", "content", "msg", "sid", "1", "-1", "99999999999", "nocase", "depth", "within",
            "distance", "offset", "fast_pattern", "flow", "dsize", "<>", "flags", "S+", "10.0.0.0/8", "::1", "80:",
            "\n", "\\\n", "#", " ", "é", "ttl", "itype", "metadata", "classtype", "trojan-activity",
        ]), 0..60),
    ) {
        let text: String = toks.concat();
        let (set, report) = build(&text);
        prop_assert_eq!(report.loaded, set.len());
        let data = b"GET / 1 S+ content abc";
        let mut scratch = set.new_scratch();
        let mut h = Vec::new();
        set.match_packet(&Pkt::default().data(data).ctx(), &mut scratch, &mut h);
    }
}

mod keywords;

#[test]
fn address_list_rules_are_indexed_by_host_and_agree_with_naive() {
    // Reputation-style rules: no content, a short IPv4 list on one side.
    let text = "\
alert ip [198.51.100.7,203.0.113.0/30] any -> $HOME_NET any (msg:\"bad src\"; sid:1;)
alert ip $HOME_NET any -> [192.0.2.9,192.0.2.10] any (msg:\"bad dst\"; sid:2;)
alert ip [198.51.100.7] any <> any any (msg:\"bidirectional stays always\"; sid:3;)
alert ip 2001:db8::/32 any -> any any (msg:\"v6 list stays always\"; sid:4;)
alert tcp any any -> any any (msg:\"plain\"; flags:PA; sid:5;)
";
    let (set, report) = build(text);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let pkt = |src: &str, dst: &str| Pkt {
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        ..Pkt::default()
    };
    // `hits` also checks prefilter == naive.
    assert_eq!(hits(&set, &pkt("198.51.100.7", "10.1.1.1")), vec![0, 2, 4]);
    assert_eq!(hits(&set, &pkt("203.0.113.2", "10.1.1.1")), vec![0, 4]);
    assert_eq!(hits(&set, &pkt("203.0.113.4", "10.1.1.1")), vec![4]);
    assert_eq!(hits(&set, &pkt("10.1.1.1", "192.0.2.10")), vec![1, 4]);
    assert_eq!(hits(&set, &pkt("10.1.1.1", "198.51.100.7")), vec![2, 4]);
    assert_eq!(hits(&set, &pkt("2001:db8::1", "2001:db8::2")), vec![3, 4]);
    assert_eq!(hits(&set, &pkt("8.8.8.8", "9.9.9.9")), vec![4]);
}

#[test]
fn port_rules_are_indexed_by_their_narrowest_field() {
    // Scan-style rules: no content, `$HOME_NET` on one side and one port on
    // the other. The port is the narrower share, so it is the index key.
    let text = "\
alert tcp $HOME_NET any -> any 445 (msg:\"to 445\"; flags:S; sid:1;)
alert tcp $HOME_NET 3389 -> any any (msg:\"from 3389\"; sid:2;)
alert ip $HOME_NET any -> [192.0.2.9] any (msg:\"host list is narrower\"; sid:3;)
alert tcp any any -> any 1024: (msg:\"too many ports: always\"; flags:S; sid:4;)
alert tcp any any <> any 445 (msg:\"bidirectional: always\"; flags:S; sid:5;)
";
    let (set, report) = build(text);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let pkt = |src: &str, sp: u16, dst: &str, dp: u16| Pkt {
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        sp,
        dp,
        flags: Some(0x02),
        ..Pkt::default()
    };
    let g = set.prefilter.group(0, true, BufferId::Payload).unwrap();
    assert_eq!(g.by_dport.lookup(445), &[0]);
    assert_eq!(g.by_sport.lookup(3389), &[1]);
    assert_eq!(
        g.by_dst.lookup(u32::from(std::net::Ipv4Addr::new(192, 0, 2, 9))),
        &[2]
    );
    assert_eq!(g.always, vec![3, 4]);
    // `hits` also checks prefilter == naive.
    assert_eq!(hits(&set, &pkt("10.0.0.1", 40000, "8.8.8.8", 445)), vec![0, 4]);
    assert_eq!(hits(&set, &pkt("10.0.0.1", 3389, "8.8.8.8", 80)), vec![1]);
    assert_eq!(hits(&set, &pkt("8.8.8.8", 445, "10.0.0.1", 40000)), vec![3, 4]);
    assert_eq!(hits(&set, &pkt("10.0.0.1", 5, "192.0.2.9", 80)), vec![2]);
}
