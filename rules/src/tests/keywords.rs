//! Keyword families beyond contents, with examples from Suricata's rule
//! documentation where it gives them.

use super::*;

fn load(text: &str) -> RuleSet {
    let (set, report) = build(text);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    set
}

/// Hits on `p` with app-layer buffers `bufs` (prefilter and naive agree).
fn hits_with(set: &RuleSet, p: &Pkt, bufs: &[(BufferId, &[u8])]) -> Vec<u32> {
    let ctx = p.ctx_with(bufs);
    let mut scratch = set.new_scratch();
    let mut h = Vec::new();
    set.match_packet(&ctx, &mut scratch, &mut h);
    let mut naive = Vec::new();
    set.match_packet_naive(&ctx, &mut naive);
    assert_eq!(h, naive, "prefilter and naive disagree");
    h
}

fn m_bufs(text: &str, bufs: &[(BufferId, &[u8])]) -> bool {
    let set = load(text);
    !hits_with(&set, &Pkt::default(), bufs).is_empty()
}

fn m_data(text: &str, data: &[u8]) -> bool {
    matches(text, &Pkt::default().data(data))
}

#[test]
fn sticky_buffers_and_legacy_modifiers() {
    use BufferId::*;
    let r = rule(r#"http.uri; content:"/admin"; startswith; sid:1;"#);
    assert!(m_bufs(&r, &[(HttpUri, b"/admin/x")]));
    assert!(!m_bufs(&r, &[(HttpUri, b"/x/admin")]));
    assert!(!m_bufs(&r, &[(HttpHost, b"/admin")]));
    assert!(!m_bufs(&r, &[]), "a missing buffer never matches");
    // The payload is not the URI.
    assert!(!m_data(&r, b"/admin"));
    let r = rule(r#"content:"GET"; http_method; content:"/x"; http_uri; content:"Host"; sid:1;"#);
    assert!(matches!(build(&r).0.len(), 1));
    let p = Pkt::default().data(b"Host: a");
    let set = load(&r);
    assert_eq!(
        hits_with(&set, &p, &[(HttpMethod, b"GET"), (HttpUri, b"/x")]),
        [0]
    );
    assert!(hits_with(&set, &p, &[(HttpMethod, b"POST"), (HttpUri, b"/x")]).is_empty());
    // uricontent, legacy names, and pkt_data back to the payload.
    assert!(m_bufs(&rule(r#"uricontent:"/x"; sid:1;"#), &[(HttpUri, b"/x")]));
    assert!(m_bufs(
        &rule(r#"dns_query; content:"evil"; sid:1;"#),
        &[(DnsQuery, b"evil.com")]
    ));
    let r = rule(r#"file_data; content:"MZ"; pkt_data; content:"Host"; sid:1;"#);
    assert_eq!(hits_with(&load(&r), &p, &[(FileData, b"MZ\x90")]), [0]);
    // Any instance of a repeated buffer may match.
    let r = rule(r#"dns.query; content:"bad.example"; endswith; sid:1;"#);
    assert!(m_bufs(
        &r,
        &[(DnsQuery, b"good.org"), (DnsQuery, b"x.bad.example")]
    ));
    // A content in one buffer cannot be moved to another.
    let t = rule(r#"http.uri; content:"a"; http_header; sid:1;"#);
    assert_eq!(error(&t).reason, "conflicting options");
    assert_eq!(BufferId::from_name("http_client_body"), Some(HttpRequestBody));
}

#[test]
fn relative_matches_stay_in_their_buffer() {
    use BufferId::*;
    let r = rule(r#"http.uri; content:"a"; content:"b"; distance:0; within:1; sid:1;"#);
    assert!(m_bufs(&r, &[(HttpUri, b"xab")]));
    assert!(!m_bufs(&r, &[(HttpUri, b"xa b")]));
}

#[test]
fn startswith_endswith_bsize() {
    use BufferId::*;
    // From the docs: content:"GET|20|"; startswith; / content:".php"; endswith;
    let r = rule(r#"content:"GET|20|"; startswith; sid:1;"#);
    assert!(m_data(&r, b"GET /"));
    assert!(!m_data(&r, b" GET /"));
    let r = rule(r#"http.uri; content:".php"; endswith; sid:1;"#);
    assert!(m_bufs(&r, &[(HttpUri, b"/index.php")]));
    assert!(!m_bufs(&r, &[(HttpUri, b"/index.php?x")]));
    let r = rule(r#"http.uri; content:".PHP"; nocase; endswith; sid:1;"#);
    assert!(m_bufs(&r, &[(HttpUri, b"/a.php")]));
    let r = rule(r#"tls.sni; content:"a.com"; bsize:5; sid:1;"#);
    assert!(m_bufs(&r, &[(TlsSni, b"a.com")]));
    assert!(!m_bufs(&r, &[(TlsSni, b"ba.com")]));
    let r = rule(r#"http.uri; bsize:<3; sid:1;"#);
    assert!(m_bufs(&r, &[(HttpUri, b"/a")]));
    assert!(!m_bufs(&r, &[(HttpUri, b"/ab")]));
    assert!(m_bufs(&rule("urilen:>4; sid:1;"), &[(HttpUri, b"/abcd")]));
    assert!(!m_bufs(&rule("urilen:2<>4; sid:1;"), &[(HttpUri, b"/abcd")]));
    assert!(m_bufs(&rule("urilen:5,raw; sid:1;"), &[(HttpRawUri, b"/abcd")]));
    let t = rule(r#"content:"a"; startswith; offset:1; sid:1;"#);
    assert_eq!(error(&t).reason, "conflicting options");
}

#[test]
fn pcre_keyword() {
    use BufferId::*;
    // Docs: pcre:"/^(GET|POST)\s\/.*?\.php/"; relative, and buffer flags.
    let r = rule(r#"content:"User-Agent|3a|"; pcre:"/^\s*Mozilla/R"; sid:1;"#);
    assert!(m_data(&r, b"x\r\nUser-Agent: Mozilla/5.0"));
    assert!(!m_data(&r, b"x\r\nUser-Agent: curl Mozilla/5.0"));
    let r = rule(r#"pcre:"/\.php$/U"; sid:1;"#);
    assert!(m_bufs(&r, &[(HttpUri, b"/a.php")]));
    assert!(!m_bufs(&r, &[(HttpUri, b"/a.phpx")]));
    let r = rule(r#"http.uri; content:"id="; pcre:"/id=\d{3,}/"; sid:1;"#);
    assert!(m_bufs(&r, &[(HttpUri, b"/?id=1234")]));
    assert!(!m_bufs(&r, &[(HttpUri, b"/?id=12")]));
    // Negated and relative, then a content relative to the pcre's end.
    let r = rule(r#"content:"a"; pcre:"/b+/R"; content:"c"; distance:0; within:1; sid:1;"#);
    assert!(m_data(&r, b"abbbc"));
    assert!(!m_data(&r, b"abbbxc"));
    let r = rule(r#"content:"a"; pcre:!"/^b/R"; sid:1;"#);
    assert!(m_data(&r, b"ac"));
    assert!(!m_data(&r, b"ab"));
    // Backreference and lookahead run on PCRE2, relative to a content.
    let r = rule(r#"content:"name="; pcre:"/^(["'])[a-z]+\1/R"; sid:1;"#);
    assert!(m_data(&r, b"x name='abc' y"));
    assert!(!m_data(&r, b"x name='abc\" y"));
    let r = rule(r#"content:"GET "; pcre:"/^\/(?!index)[a-z]+\.php/R"; content:"HTTP"; distance:0; sid:1;"#);
    assert!(m_data(&r, b"GET /shell.php HTTP/1.1"));
    assert!(!m_data(&r, b"GET /index.php HTTP/1.1"));
    let r = rule(r#"pcre:!"/(?<=pass=)admin/"; content:"pass="; sid:1;"#);
    assert!(m_data(&r, b"pass=x"));
    assert!(!m_data(&r, b"pass=admin"));
}

#[test]
fn isdataat_forms() {
    // Docs: isdataat:512; isdataat:50,relative; isdataat:!1,relative
    let r = rule(r#"content:"foo"; isdataat:!1,relative; sid:1;"#);
    assert!(m_data(&r, b"xfoo"));
    assert!(!m_data(&r, b"xfoox"));
    let r = rule(r#"content:"foo"; isdataat:2,relative; sid:1;"#);
    assert!(m_data(&r, b"foo123"));
    assert!(!m_data(&r, b"foo1"));
    assert!(m_data(&rule("isdataat:3; sid:1;"), b"1234"));
    assert!(!m_data(&rule("isdataat:4; sid:1;"), b"1234"));
}

#[test]
fn byte_keywords() {
    // Docs: byte_test:2, =, 0x01, 0; byte_test:1, &, 0x80, 1, relative;
    assert!(m_data(&rule("byte_test:2,=,0x01,0; sid:1;"), b"\x00\x01rest"));
    assert!(!m_data(
        &rule("byte_test:2,=,0x01,0,little; sid:1;"),
        b"\x00\x01rest"
    ));
    assert!(m_data(
        &rule("byte_test:2,=,0x0100,0,little; sid:1;"),
        b"\x00\x01rest"
    ));
    let r = rule(r#"content:"X"; byte_test:1,&,0x80,1,relative; sid:1;"#);
    assert!(m_data(&r, b"X.\x81"));
    assert!(!m_data(&r, b"X.\x01"));
    assert!(m_data(&rule("byte_test:3,>,99,0,string,dec; sid:1;"), b"123"));
    assert!(!m_data(&rule("byte_test:3,!>,99,0,string,dec; sid:1;"), b"123"));
    assert!(m_data(&rule("byte_test:2,=,0xff,0,string,hex; sid:1;"), b"ff"));
    assert!(m_data(&rule("byte_test:1,=,3,0,bitmask 0x30; sid:1;"), b"\x30"));
    // byte_jump: skip a length-prefixed field, then find what follows it.
    let r = rule(r#"content:"L"; byte_jump:1,0,relative; content:"Z"; within:1; sid:1;"#);
    assert!(m_data(&r, b"L\x03abcZ"));
    assert!(!m_data(&r, b"L\x02abcZ"));
    let r = rule("byte_jump:1,0,from_beginning,post_offset 1; content:\"Q\"; within:1; distance:0; sid:1;");
    let _ = r;
    // byte_extract into a variable, used by byte_test and isdataat.
    let r = rule("byte_extract:1,0,len; byte_test:1,=,len,1; sid:1;");
    assert!(m_data(&r, b"\x07\x07"));
    assert!(!m_data(&r, b"\x07\x06"));
    let r = rule("byte_extract:1,0,len; isdataat:len; sid:1;");
    assert!(m_data(&r, b"\x02ab"));
    assert!(!m_data(&r, b"\x03ab"));
    // byte_math: result = bytes + rvalue.
    let r = rule("byte_math:bytes 1, offset 0, oper +, rvalue 1, result v; byte_test:1,=,v,1; sid:1;");
    assert!(m_data(&r, b"\x04\x05"));
    assert!(!m_data(&r, b"\x04\x04"));
    let t = rule("byte_test:1,=,nope,0; sid:1;");
    assert_eq!(error(&t).reason, "bad value");
}

#[test]
fn transforms_apply_before_contents() {
    use BufferId::*;
    let r = rule(r#"http.uri; to_lowercase; content:"/admin"; sid:1;"#);
    assert!(m_bufs(&r, &[(HttpUri, b"/ADMIN")]));
    // Docs: dns.query; dotprefix; content:".microsoft.com"; endswith;
    let r = rule(r#"dns.query; dotprefix; content:".microsoft.com"; endswith; sid:1;"#);
    assert!(m_bufs(&r, &[(DnsQuery, b"microsoft.com")]));
    assert!(m_bufs(&r, &[(DnsQuery, b"www.microsoft.com")]));
    assert!(!m_bufs(&r, &[(DnsQuery, b"evilmicrosoft.com")]));
    let r = rule(r#"http.uri; url_decode; content:"/a b"; sid:1;"#);
    assert!(m_bufs(&r, &[(HttpUri, b"/a%20b")]));
    let r = rule(r#"http.uri; content:"x"; http.uri; strip_whitespace; content:"ab"; sid:1;"#);
    assert!(m_bufs(&r, &[(HttpUri, b"x a b")]));
}

fn flow_hits(set: &RuleSet, p: &Pkt, fv: &mut FlowVars) -> Vec<u32> {
    let mut scratch = set.new_scratch();
    let mut h = Vec::new();
    set.match_packet_flow(&p.ctx(), &mut scratch, &mut h, Some(fv));
    h
}

#[test]
fn flowbits_across_packets() {
    let text = [
        rule(r#"content:"login"; flowbits:set,logged_in; flowbits:noalert; sid:1;"#),
        rule(r#"content:"cmd"; flowbits:isset,logged_in; sid:2;"#),
        rule(r#"content:"cmd"; flowbits:isnotset,logged_in; sid:3;"#),
        rule(r#"content:"logout"; flowbits:unset,logged_in; sid:4;"#),
        rule(r#"content:"t"; flowbits:toggle,a; flowbits:noalert; sid:5;"#),
        rule(r#"content:"q"; flowbits:isset,a|logged_in; sid:6;"#),
        rule(r#"content:"q"; flowbits:isset,a&logged_in; sid:7;"#),
    ]
    .join("\n");
    let set = load(&text);
    let mut fv = FlowVars::default();
    let p = |d: &[u8]| Pkt::default().data(d);
    assert_eq!(flow_hits(&set, &p(b"cmd"), &mut fv), [2]);
    assert_eq!(
        flow_hits(&set, &p(b"login"), &mut fv),
        Vec::<u32>::new(),
        "noalert"
    );
    assert_eq!(flow_hits(&set, &p(b"cmd"), &mut fv), [1]);
    assert_eq!(flow_hits(&set, &p(b"q"), &mut fv), [5]);
    assert_eq!(flow_hits(&set, &p(b"t"), &mut fv), Vec::<u32>::new());
    assert_eq!(flow_hits(&set, &p(b"q"), &mut fv), [5, 6]);
    assert_eq!(flow_hits(&set, &p(b"logout"), &mut fv), [3]);
    assert_eq!(flow_hits(&set, &p(b"cmd"), &mut fv), [2]);
    // Without flow state: isset fails, isnotset passes.
    assert_eq!(hits(&set, &p(b"cmd")), [2]);
    // Setters run before readers on the same packet, whatever the order.
    let set = load(
        &[
            rule(r#"content:"x"; flowbits:isset,b; sid:1;"#),
            rule(r#"content:"x"; flowbits:set,b; sid:2;"#),
        ]
        .join("\n"),
    );
    let mut fv = FlowVars::default();
    assert_eq!(flow_hits(&set, &p(b"x"), &mut fv), [0, 1]);
    assert_eq!(set.flowbit_names(), ["b"]);
    assert!(build(&rule("flowbits:set,a&b; sid:1;")).1.failed == 1);
    assert!(build(&rule("flowbits:frob,a; sid:1;")).1.failed == 1);
}

fn thresholded(opts: &str, n: usize) -> Vec<bool> {
    let set = load(&rule(&format!(r#"content:"a"; {opts} sid:1;"#)));
    let mut st = ThresholdState::new();
    let p = Pkt::default().data(b"a");
    (0..n)
        .map(|_| {
            let mut h = hits(&set, &p);
            st.filter(&set, &p.ctx(), 100, &mut h);
            !h.is_empty()
        })
        .collect()
}

#[test]
fn thresholds_as_documented() {
    // Docs: type limit, track by_src, count 1, seconds 180 -> one alert.
    assert_eq!(
        thresholded("threshold: type limit, track by_src, count 1, seconds 180;", 3),
        [true, false, false]
    );
    // type threshold, count 3: every third match.
    assert_eq!(
        thresholded("threshold: type threshold, track by_dst, count 3, seconds 60;", 7),
        [false, false, true, false, false, true, false]
    );
    // type both, count 2: once, at the second match.
    assert_eq!(
        thresholded("threshold: type both, track by_rule, count 2, seconds 60;", 4),
        [false, true, false, false]
    );
    // detection_filter count 2: every match after the second.
    assert_eq!(
        thresholded("detection_filter: track by_src, count 2, seconds 60;", 4),
        [false, false, true, true]
    );
    // The period expires.
    let set = load(&rule(
        r#"content:"a"; threshold: type limit, track by_src, count 1, seconds 10; sid:1;"#,
    ));
    let mut st = ThresholdState::new();
    let p = Pkt::default().data(b"a");
    let mut alert_at = |t: u64| {
        let mut h = hits(&set, &p);
        st.filter(&set, &p.ctx(), t, &mut h);
        !h.is_empty()
    };
    assert_eq!(
        [alert_at(0), alert_at(5), alert_at(10), alert_at(11)],
        [true, false, true, false]
    );
    // Tracking by source: another source has its own counter.
    let mut st = ThresholdState::new();
    let q = Pkt {
        src: "10.9.9.9".parse().unwrap(),
        ..Pkt::default().data(b"a")
    };
    for pk in [&p, &q] {
        let mut h = hits(&set, pk);
        st.filter(&set, &pk.ctx(), 0, &mut h);
        assert_eq!(h, [0]);
    }
    assert_eq!(st.len(), 2);
}

#[test]
fn packet_header_keywords() {
    let set = load(
        &[
            rule("id:1234; sid:1;"),
            rule("seq:100; ack:200; sid:2;"),
            rule("window:!0; sid:3;"),
            rule("fragbits:M+; sid:4;"),
            rule("ip_proto:tcp; sid:5;"),
            rule("ip_proto:!6; sid:6;"),
            rule("stream_size:client,>,10; sid:7;"),
            rule("icmp_id:7; sid:8;"),
            rule("noalert; sid:9;"),
        ]
        .join("\n"),
    );
    let p = Pkt::default();
    let mut ctx = p.ctx();
    ctx.fields = PacketFields {
        ip_id: Some(1234),
        frag_bits: Some(1 | 2),
        tcp_seq: Some(100),
        tcp_ack: Some(200),
        tcp_window: Some(512),
        stream_bytes: Some((1, 20)),
        ..Default::default()
    };
    let mut scratch = set.new_scratch();
    let mut h = Vec::new();
    set.match_packet(&ctx, &mut scratch, &mut h);
    assert_eq!(h, [0, 1, 2, 3, 4, 6]);
    // Fields the engine did not provide never match.
    assert_eq!(hits(&set, &p), [4]);
}

fn state_hits(set: &RuleSet, p: &Pkt, fv: &mut FlowVars, xs: &mut XbitState) -> Vec<u32> {
    let mut scratch = set.new_scratch();
    let mut h = Vec::new();
    set.match_packet_state(&p.ctx(), &mut scratch, &mut h, Some(fv), Some(xs));
    h
}

#[test]
fn xbits_on_hosts_and_pairs() {
    // Docs: xbits:set,ET.2ndstage,track ip_src,expire 60; then isset on a
    // later flow of the same host.
    let text = [
        rule(r#"content:"drop"; xbits:set,stage,track ip_src,expire 60; noalert; sid:1;"#),
        rule(r#"content:"beacon"; xbits:isset,stage,track ip_src; sid:2;"#),
        rule(r#"content:"pair"; xbits:set,p,track ip_pair; noalert; sid:3;"#),
        rule(r#"content:"back"; xbits:isset,p,track ip_pair; sid:4;"#),
        rule(r#"content:"clean"; xbits:unset,stage,track ip_src; noalert; sid:5;"#),
        rule(r#"content:"beacon"; xbits:isnotset,stage,track ip_src; sid:6;"#),
        rule(r#"content:"dst"; xbits:isset,stage,track ip_dst; sid:7;"#),
    ]
    .join("\n");
    let set = load(&text);
    let mut xs = XbitState::default();
    let a = Pkt::default();
    let other_flow = |d: &[u8]| {
        Pkt {
            sp: 51000,
            ..a.clone()
        }
        .data(d)
    };
    let reply = |d: &[u8]| {
        Pkt {
            src: a.dst,
            dst: a.src,
            sp: a.dp,
            dp: a.sp,
            ..a.clone()
        }
        .data(d)
    };
    xs.set_now(100);
    assert_eq!(
        state_hits(&set, &other_flow(b"beacon"), &mut FlowVars::default(), &mut xs),
        [5]
    );
    assert!(state_hits(&set, &a.clone().data(b"drop"), &mut FlowVars::default(), &mut xs).is_empty());
    // Another flow from the same source sees it; as destination it does not.
    assert_eq!(
        state_hits(&set, &other_flow(b"beacon"), &mut FlowVars::default(), &mut xs),
        [1]
    );
    assert_eq!(
        state_hits(&set, &reply(b"dst"), &mut FlowVars::default(), &mut xs),
        [6]
    );
    // Expiry: set at 100 for 60 s.
    xs.set_now(159);
    assert_eq!(
        state_hits(&set, &other_flow(b"beacon"), &mut FlowVars::default(), &mut xs),
        [1]
    );
    xs.set_now(160);
    assert_eq!(
        state_hits(&set, &other_flow(b"beacon"), &mut FlowVars::default(), &mut xs),
        [5]
    );
    // Unset.
    state_hits(&set, &a.clone().data(b"drop"), &mut FlowVars::default(), &mut xs);
    state_hits(&set, &a.clone().data(b"clean"), &mut FlowVars::default(), &mut xs);
    assert_eq!(
        state_hits(&set, &other_flow(b"beacon"), &mut FlowVars::default(), &mut xs),
        [5]
    );
    // ip_pair is unordered.
    state_hits(&set, &a.clone().data(b"pair"), &mut FlowVars::default(), &mut xs);
    assert_eq!(
        state_hits(&set, &reply(b"back"), &mut FlowVars::default(), &mut xs),
        [3]
    );
    assert_eq!(set.xbit_names(), ["stage", "p"]);
    // Without xbit state isset fails.
    assert_eq!(hits(&set, &other_flow(b"beacon")), [5]);
}

#[test]
fn xbits_state_is_bounded() {
    let set = load(&rule(
        r#"content:"s"; xbits:set,a,track ip_src,expire 10; sid:1;"#,
    ));
    let mut xs = XbitState::new(4);
    xs.set_now(1);
    for i in 0..10u8 {
        let p = Pkt {
            src: std::net::IpAddr::from([10, 0, 0, i]),
            ..Pkt::default()
        }
        .data(b"s");
        assert_eq!(state_hits(&set, &p, &mut FlowVars::default(), &mut xs), [0]);
    }
    assert_eq!((xs.len(), xs.dropped()), (4, 6));
    // Once expired, room is made.
    xs.set_now(11);
    let p = Pkt {
        src: std::net::IpAddr::from([10, 0, 1, 1]),
        ..Pkt::default()
    }
    .data(b"s");
    state_hits(&set, &p, &mut FlowVars::default(), &mut xs);
    assert_eq!((xs.len(), xs.dropped()), (1, 6));
}

#[test]
fn flowint_counts_per_flow() {
    // Docs: count logins, alert past a maximum held in another flowint.
    let text = [
        rule(r#"content:"max"; flowint:maxlogin,=,2; noalert; sid:1;"#),
        rule(r#"content:"login"; flowint:logins,isset; flowint:logins,+,1; noalert; sid:2;"#),
        rule(r#"content:"login"; flowint:logins,notset; flowint:logins,=,1; noalert; sid:3;"#),
        rule(r#"content:"check"; flowint:logins,>,maxlogin; sid:4;"#),
        rule(r#"content:"check"; flowint:logins,==,2; sid:5;"#),
        rule(r#"content:"drop"; flowint:logins,-,1; noalert; sid:6;"#),
        rule(r#"content:"check"; flowint:logins,<=,1; flowint:logins,!=,0; sid:7;"#),
        rule(r#"content:"check"; flowint:nothere,>=,0; sid:8;"#),
    ]
    .join("\n");
    let set = load(&text);
    let mut fv = FlowVars::default();
    let mut xs = XbitState::default();
    let p = |d: &[u8]| Pkt::default().data(d);
    let mut go = |d: &[u8]| state_hits(&set, &p(d), &mut fv, &mut xs);
    assert!(go(b"check").is_empty(), "nothing set yet");
    go(b"max");
    go(b"login");
    assert_eq!(go(b"check"), [6]);
    go(b"login");
    assert_eq!(go(b"check"), [4]);
    go(b"login");
    assert_eq!(go(b"check"), [3]);
    go(b"drop");
    go(b"drop");
    assert_eq!(go(b"check"), [6]);
    assert_eq!(set.flowint_names(), ["maxlogin", "logins", "nothere"]);
    assert_eq!(fv.int(1), Some(1));
    fv.clear();
    assert!(fv.is_clear());
    for bad in [
        "flowint:a,=; sid:1;",
        "flowint:a,isset,1; sid:1;",
        "flowint:1a,=,1; sid:1;",
    ] {
        assert_eq!(build(&rule(bad)).1.failed, 1, "{bad}");
    }
}

#[test]
fn base64_decode_and_data() {
    // Docs: content:"Authorization: Basic "; base64_decode:relative;
    // base64_data; content:"admin";
    let r = rule(
        r#"content:"Authorization: Basic "; base64_decode:bytes 64,relative; base64_data; content:"admin:"; startswith; sid:1;"#,
    );
    assert!(m_data(
        &r,
        b"GET / HTTP/1.1\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\n\r\n"
    ));
    assert!(!m_data(
        &r,
        b"GET / HTTP/1.1\r\nAuthorization: Basic dXNlcjpzZWNyZXQ=\r\n\r\n"
    ));
    // offset and bytes bound the decoded part.
    let r = rule(r#"base64_decode:bytes 8,offset 4; base64_data; content:"admin"; sid:1;"#);
    assert!(m_data(&r, b"xxxxYWRtaW46"));
    assert!(!m_data(&r, b"xxxYWRtaW46"));
    let r = rule(r#"base64_decode:bytes 4,offset 4; base64_data; content:"admin"; sid:1;"#);
    assert!(!m_data(&r, b"xxxxYWRtaW46"));
    // In a sticky buffer, with pcre on the decoded data.
    let r = rule(r#"http.cookie; base64_decode; base64_data; pcre:"/^id=\d+$/"; sid:1;"#);
    assert!(m_bufs(&r, &[(BufferId::HttpCookie, b"aWQ9NDI=")]));
    assert!(!m_bufs(&r, &[(BufferId::HttpCookie, b"aWQ9eA==")]));
    // base64_data needs base64_decode before it; one base64_decode.
    assert_eq!(
        error(&rule(r#"base64_data; content:"a"; sid:1;"#)).reason,
        "syntax"
    );
    assert_eq!(
        error(&rule(
            r#"base64_decode; base64_decode; base64_data; content:"a"; sid:1;"#
        ))
        .reason,
        "conflicting options"
    );
    assert_eq!(
        error(&rule(
            r#"base64_decode; base64_data; to_md5; content:"a"; sid:1;"#
        ))
        .reason,
        "conflicting options"
    );
}

#[test]
fn hash_and_pcrexform_transforms() {
    use BufferId::*;
    // Docs: http.request_line; pcrexform:"[a-zA-Z]+\s+(.*)\s+HTTP"; content:"/dropper.php";
    let r = rule(
        r#"http.request_line; pcrexform:"[a-zA-Z]+\s+(.*)\s+HTTP"; content:"/dropper.php"; bsize:12; sid:1;"#,
    );
    assert!(m_bufs(&r, &[(HttpRequestLine, b"GET /dropper.php HTTP/1.1")]));
    assert!(!m_bufs(&r, &[(HttpRequestLine, b"GET /dropper.phpx HTTP/1.1")]));
    // Docs: dns.query; to_sha256; content:|...|; sha256("example.com").
    let r = rule(
        r#"http.host; to_sha256; content:"|a379a6f6eeafb9a55e378c118034e2751e682fab9f2d30ab13d2125586ce1947|"; sid:1;"#,
    );
    assert!(m_bufs(&r, &[(HttpHost, b"example.com")]));
    assert!(!m_bufs(&r, &[(HttpHost, b"example.org")]));
    let r = rule(r#"http.host; to_md5; content:"|5ababd603b22780302dd8d83498e5172|"; sid:1;"#);
    assert!(m_bufs(&r, &[(HttpHost, b"example.com")]));
    let r = rule(r#"http.host; to_sha1; content:"|0caaf24ab1a0c33440c06afe99df986365b0781f|"; sid:1;"#);
    assert!(m_bufs(&r, &[(HttpHost, b"example.com")]));
}

/// Alerts of sids 1..=3 (`content:"a"`, sid 3 with its own threshold) over
/// packets `(src, time)`, with `config` as the threshold file.
fn with_threshold_file(config: &str, pkts: &[(&str, u64)]) -> Vec<Vec<u32>> {
    let mut b = RuleSetBuilder::new(Vars::default(), Classifications::bundled());
    let errors = b.add_threshold_text("threshold.config", config);
    assert!(errors.is_empty(), "{errors:?}");
    b.add_text(
        "t.rules",
        &[
            rule(r#"content:"a"; sid:1;"#),
            rule(r#"content:"a"; sid:2;"#),
            rule(r#"content:"a"; threshold:type limit, track by_rule, count 2, seconds 60; sid:3;"#),
        ]
        .join("\n"),
    );
    let (set, report) = b.build();
    assert!(report.errors.is_empty());
    let mut st = ThresholdState::new();
    pkts.iter()
        .map(|&(src, t)| {
            let p = Pkt {
                src: src.parse().unwrap(),
                ..Pkt::default()
            }
            .data(b"a");
            let mut h = hits(&set, &p);
            st.filter(&set, &p.ctx(), t, &mut h);
            h.iter().map(|&i| set.meta(i).sid).collect()
        })
        .collect()
}

#[test]
fn threshold_file_entries() {
    let src = |n: usize| vec![("10.0.0.1", 100); n];
    // suppress: whole rule; by_src / by_dst / by_either with lists.
    assert_eq!(
        with_threshold_file("suppress gen_id 1, sig_id 1", &src(1)),
        [[2, 3]]
    );
    let r = with_threshold_file(
        "suppress gen_id 1, sig_id 1, track by_src, ip [10.0.0.0/24]\nsuppress gen_id 1, sig_id 2, track by_dst, ip 10.0.0.1",
        &[("10.0.0.1", 100), ("10.0.1.1", 100)],
    );
    assert_eq!(r, [vec![2, 3], vec![1, 2, 3]]);
    let r = with_threshold_file(
        "suppress gen_id 1, sig_id 0, track by_either, ip 8.8.8.8",
        &src(1),
    );
    assert_eq!(r, [Vec::<u32>::new()], "the destination is 8.8.8.8");
    // threshold for one rule: limit 1 per source; replaces sid 3's own.
    let r = with_threshold_file(
        "threshold gen_id 1, sig_id 1, type limit, track by_src, count 1, seconds 60\nevent_filter gen_id 1, sig_id 3, type limit, track by_rule, count 1, seconds 60",
        &src(3),
    );
    assert_eq!(r, [vec![1, 2, 3], vec![2], vec![2]]);
    // Global: every rule without a threshold of its own.
    let r = with_threshold_file(
        "threshold gen_id 0, sig_id 0, type threshold, track by_src, count 2, seconds 60",
        &src(4),
    );
    assert_eq!(r, [vec![3], vec![1, 2, 3], vec![], vec![1, 2]]);
    // rate_filter pass: more than 2 in 10 s, then silent for 30 s.
    let r = with_threshold_file(
        "rate_filter gen_id 1, sig_id 2, track by_src, count 2, seconds 10, new_action pass, timeout 30",
        &[
            ("10.0.0.1", 100),
            ("10.0.0.1", 101),
            ("10.0.0.1", 102),
            ("10.0.0.1", 120),
            ("10.0.0.1", 135),
        ],
    );
    let sid2: Vec<bool> = r.iter().map(|h| h.contains(&2)).collect();
    assert_eq!(sid2, [true, true, false, false, true]);
    // rate_filter with another action keeps alerting in IDS mode.
    let r = with_threshold_file(
        "rate_filter gen_id 1, sig_id 2, track by_rule, count 1, seconds 10, new_action drop, timeout 30",
        &src(3),
    );
    assert!(r.iter().all(|h| h.contains(&2)));
    // Errors keep file:line:col; good lines still apply.
    let mut b = RuleSetBuilder::new(Vars::default(), Classifications::bundled());
    let errors = b.add_threshold_text(
        "th.conf",
        "suppress gen_id 1, sig_id 1\nsuppress gen_id 1, sig_id 2, track by_src, ip 300.1.1.1\n",
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].line, errors[0].column, errors[0].reason),
        (2, 47, "threshold config")
    );
}

#[test]
fn transactions_match_only_app_buffer_rules_with_flow_state() {
    use BufferId::*;
    let set = load(
        &[
            rule(r#"http.uri; content:"/login"; flowbits:set,in; noalert; sid:1;"#),
            rule(r#"http.uri; content:"/cmd"; flowbits:isset,in; sid:2;"#),
            // A packet rule: counted once per packet, not again per transaction.
            rule(r#"flowint:pkts,isset; flowint:pkts,+,1; noalert; sid:3;"#),
            rule(r#"flowint:pkts,notset; flowint:pkts,=,1; noalert; sid:4;"#),
        ]
        .join("\n"),
    );
    let mut fv = FlowVars::default();
    let mut xs = XbitState::default();
    let mut scratch = set.new_scratch();
    let mut h = Vec::new();
    let p = Pkt::default().data(b"");
    let tx = |uri: &'static [u8]| [(HttpUri, uri)];
    set.match_packet_state(&p.ctx(), &mut scratch, &mut h, Some(&mut fv), Some(&mut xs));
    assert_eq!(fv.int(0), Some(1));
    let t = tx(b"/login");
    set.match_tx_state(
        &p.ctx_with(&t),
        &mut scratch,
        &mut h,
        Some(&mut fv),
        Some(&mut xs),
    );
    assert!(h.is_empty());
    let t = tx(b"/cmd");
    set.match_tx_state(
        &p.ctx_with(&t),
        &mut scratch,
        &mut h,
        Some(&mut fv),
        Some(&mut xs),
    );
    assert_eq!(h, [1]);
    assert_eq!(fv.int(0), Some(1), "packet rules are left out of transactions");
}
