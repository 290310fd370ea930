//! Hostile input end to end: captures and rule files written by the test
//! with broken headers, lengths and encapsulations go through the real
//! `tapwatch` binary. Each case ends in a counter or a clear error message;
//! never a panic (exit code 101) or a hang (the test kills the process
//! after a deadline and fails).

use serde_json::Value;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tapwatch_gen::{udp_frame, vxlan_wrap, Frame, Mirror, PcapWriter, TcpConn};

const T0: u64 = 1_768_471_200_000_000_000; // 2026-01-15T10:00:00Z
const DEADLINE: Duration = Duration::from_secs(60);

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    eve: Vec<Value>,
}

impl Out {
    fn stats(&self) -> &Value {
        &self
            .eve
            .iter()
            .find(|r| r["event_type"] == "stats")
            .unwrap_or_else(|| panic!("no stats record; stderr:\n{}", self.stderr))["stats"]
    }
    fn sids(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self
            .eve
            .iter()
            .filter(|r| r["event_type"] == "alert")
            .map(|r| r["alert"]["signature_id"].as_u64().unwrap())
            .collect();
        v.sort_unstable();
        v
    }
}

/// Run the binary with a deadline; a panic or a hang fails the test.
fn tapwatch(dir: &Path, args: &[&str]) -> Out {
    let so = dir.join("stdout.txt");
    let se = dir.join("stderr.txt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&so).unwrap())
        .stderr(std::fs::File::create(&se).unwrap())
        .spawn()
        .expect("start tapwatch");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tapwatch {args:?} still running after {DEADLINE:?}: a hang");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = std::fs::read_to_string(&so).unwrap_or_default();
    let stderr = std::fs::read_to_string(&se).unwrap_or_default();
    assert_ne!(status.code(), Some(101), "tapwatch panicked: {stderr}");
    assert!(!stderr.contains("panicked"), "tapwatch panicked: {stderr}");
    assert!(
        status.code().is_some(),
        "tapwatch killed by a signal: {status:?}\n{stderr}"
    );
    let eve = std::fs::read_to_string(dir.join("log").join("eve.json"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("EVE line is JSON"))
        .collect();
    Out {
        code: status.code(),
        stdout,
        stderr,
        eve,
    }
}

const RULES: &str = r#"
alert tcp any any -> any any (msg:"marker"; content:"MARKER"; sid:1; rev:1;)
alert udp any any -> any any (msg:"udp marker"; content:"UDPMARK"; sid:2; rev:1;)
"#;

/// Replay `pcap` (bytes) with `rules`; returns the run.
fn replay_bytes(name: &str, pcap: &[u8], rules: &str) -> Out {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.pcap"));
    std::fs::write(&path, pcap).unwrap();
    replay_at(dir.path(), &path, rules)
}

fn replay_at(dir: &Path, pcap: &Path, rules: &str) -> Out {
    let r = dir.join("test.rules");
    std::fs::write(&r, rules).unwrap();
    let log = dir.join("log");
    std::fs::create_dir_all(&log).unwrap();
    tapwatch(
        dir,
        &[
            "replay",
            "-r",
            &pcap.display().to_string(),
            "-S",
            &r.display().to_string(),
            "-l",
            &log.display().to_string(),
        ],
    )
}

/// A classic little-endian µs pcap header.
fn pcap_header(snaplen: u32, linktype: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(24);
    h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&snaplen.to_le_bytes());
    h.extend_from_slice(&linktype.to_le_bytes());
    h
}

/// A record header claiming `caplen`/`orig_len`, then `data`.
fn record(out: &mut Vec<u8>, ts_sec: u32, caplen: u32, orig_len: u32, data: &[u8]) {
    out.extend_from_slice(&ts_sec.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&caplen.to_le_bytes());
    out.extend_from_slice(&orig_len.to_le_bytes());
    out.extend_from_slice(data);
}

fn pcap_of(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), 1, false).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.write(T0 + i as u64 * 1_000_000, f).unwrap();
    }
    w.into_inner().unwrap()
}

fn ts_sec() -> u32 {
    (T0 / 1_000_000_000) as u32
}

/// A valid UDP frame carrying `payload` (Ethernet/IPv4/UDP).
fn udp(payload: &[u8]) -> Vec<u8> {
    udp_frame(sa("10.1.0.5:40000"), sa("10.2.0.9:5000"), T0, payload).data
}

/// A TCP session whose client sends `data`, as frames.
fn tcp_session(data: &[u8]) -> Vec<Frame> {
    let mut c = TcpConn::new(sa("10.1.0.5:40001"), sa("10.2.0.9:80"), T0);
    c.handshake().client_send(data).close();
    c.frames()
}

const ETH: usize = 14;

#[test]
fn file_shorter_than_its_header_is_a_clear_error() {
    let out = replay_bytes("short", &pcap_header(65535, 1)[..10], RULES);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("short.pcap"), "{}", out.stderr);
    assert!(
        out.stderr.contains("not a pcap or pcapng capture file") || out.stderr.contains("truncated"),
        "{}",
        out.stderr
    );
}

#[test]
fn garbage_file_is_not_a_capture() {
    let out = replay_bytes("garbage", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", RULES);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("not a pcap or pcapng capture file"),
        "{}",
        out.stderr
    );
}

#[test]
fn record_cut_by_end_of_file_is_reported_after_the_good_ones() {
    let good = udp(b"UDPMARK one");
    let mut p = pcap_header(65535, 1);
    record(&mut p, ts_sec(), good.len() as u32, good.len() as u32, &good);
    // A record header promising 100 bytes, and 7 of them.
    record(&mut p, ts_sec(), 100, 100, &good[..7]);
    let out = replay_bytes("cut", &p, RULES);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("record 2") && out.stderr.contains("truncated"),
        "{}",
        out.stderr
    );
    // Everything before the bad record was inspected.
    assert_eq!(out.sids(), vec![2]);
    assert_eq!(out.stats()["decoder"]["pkts"], 1);
}

#[test]
fn truncated_record_header_is_reported() {
    let good = udp(b"UDPMARK one");
    let mut p = pcap_header(65535, 1);
    record(&mut p, ts_sec(), good.len() as u32, good.len() as u32, &good);
    p.extend_from_slice(&[1, 2, 3, 4, 5]);
    let out = replay_bytes("cuthdr", &p, RULES);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("truncated"), "{}", out.stderr);
    assert_eq!(out.sids(), vec![2]);
}

#[test]
fn zero_length_records_are_counted_as_truncated() {
    // A record that captured none of its frame is a frame cut at 0 bytes:
    // counted as truncated (decoder.event.ipv4.trunc_pkt), like any frame
    // cut inside its headers.
    let good = udp(b"UDPMARK one");
    let mut p = pcap_header(65535, 1);
    for _ in 0..3 {
        record(&mut p, ts_sec(), 0, 0, &[]);
    }
    record(&mut p, ts_sec(), good.len() as u32, good.len() as u32, &good);
    let out = replay_bytes("zero", &p, RULES);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let d = &out.stats()["decoder"];
    assert_eq!(d["pkts"], 4);
    assert_eq!(d["event"]["ipv4"]["trunc_pkt"], 3, "{d}");
    assert_eq!(d["ethernet"], 1, "{d}");
    assert_eq!(out.sids(), vec![2]);
}

#[test]
fn oversized_record_length_is_a_bogus_length_error() {
    let good = udp(b"UDPMARK one");
    let mut p = pcap_header(65535, 1);
    record(&mut p, ts_sec(), good.len() as u32, good.len() as u32, &good);
    record(&mut p, ts_sec(), 0x7fff_ffff, 0x7fff_ffff, &good);
    let out = replay_bytes("huge", &p, RULES);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("record 2") && out.stderr.contains("bogus record length 2147483647"),
        "{}",
        out.stderr
    );
    assert_eq!(out.sids(), vec![2]);
}

#[test]
fn caplen_above_orig_len_and_snaplen_is_read_as_captured() {
    // Some writers put a smaller orig_len than caplen; the bytes are there.
    let good = udp(b"UDPMARK one");
    let mut p = pcap_header(64, 1);
    record(&mut p, ts_sec(), good.len() as u32, 10, &good);
    let out = replay_bytes("orig", &p, RULES);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stats()["decoder"]["pkts"], 1);
}

#[test]
fn unknown_linktype_is_named() {
    let p = {
        let mut p = pcap_header(65535, 147);
        let f = udp(b"x");
        record(&mut p, ts_sec(), f.len() as u32, f.len() as u32, &f);
        p
    };
    let out = replay_bytes("dlt147", &p, RULES);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("unknown link type 147"), "{}", out.stderr);
}

#[test]
fn ethernet_frames_under_a_raw_ip_linktype_are_invalid() {
    // Linktype 101 (raw IP) but Ethernet frames: the first nibble is not
    // an IP version.
    let f = udp(b"UDPMARK");
    let mut p = pcap_header(65535, 101);
    for _ in 0..4 {
        record(&mut p, ts_sec(), f.len() as u32, f.len() as u32, &f);
    }
    let out = replay_bytes("wronglink", &p, RULES);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let d = &out.stats()["decoder"];
    assert_eq!(d["pkts"], 4);
    assert_eq!(d["ipv4"], 0, "{d}");
    assert!(out.sids().is_empty());
}

#[test]
fn snaplen_smaller_than_the_headers() {
    // Every frame cut at 30 bytes: Ethernet and 16 of IPv4's 20 header bytes.
    let frames: Vec<Frame> = tcp_session(b"xx MARKER xx");
    let mut p = pcap_header(30, 1);
    for f in &frames {
        let n = f.data.len().min(30);
        record(&mut p, ts_sec(), n as u32, f.data.len() as u32, &f.data[..n]);
    }
    let out = replay_bytes("snap30", &p, RULES);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let d = &out.stats()["decoder"];
    assert_eq!(d["pkts"], frames.len());
    assert_eq!(d["tcp"], 0, "{d}");
    assert_eq!(
        d["invalid"].as_u64().unwrap() + d["event"]["ipv4"]["trunc_pkt"].as_u64().unwrap(),
        frames.len() as u64,
        "{d}"
    );
    assert!(out.sids().is_empty());
}

#[test]
fn ip_total_length_larger_than_the_frame_is_truncated() {
    // Claimed IPv4 total length 1400, frame carries far less: decoded as a
    // truncated packet (as a mirror's packet-length cut), still inspected.
    let mut f = udp(b"UDPMARK here");
    f[ETH + 2..ETH + 4].copy_from_slice(&1400u16.to_be_bytes());
    let out = replay_bytes("iplen", &pcap_of(&[f]), RULES);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let d = &out.stats()["decoder"];
    assert_eq!(d["event"]["ipv4"]["trunc_pkt"], 1, "{d}");
}

#[test]
fn ip_header_length_below_minimum_is_invalid() {
    let mut f = udp(b"UDPMARK here");
    f[ETH] = 0x43; // IHL 3 words
    let out = replay_bytes("ihl", &pcap_of(&[f]), RULES);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stats()["decoder"]["invalid"], 1);
    assert!(out.sids().is_empty());
}

#[test]
fn tcp_data_offset_past_the_end() {
    let frames = tcp_session(b"xx MARKER xx");
    let mut bad: Vec<Vec<u8>> = frames.iter().map(|f| f.data.clone()).collect();
    // Data offset 15 words (60 bytes) on every segment: past the end of
    // every (complete, by their IP length) segment, so all are invalid.
    for f in &mut bad {
        f[ETH + 20 + 12] = 0xf0 | (f[ETH + 20 + 12] & 0x0f);
    }
    let out = replay_bytes("doff", &pcap_of(&bad), RULES);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let d = &out.stats()["decoder"];
    assert_eq!(d["pkts"], bad.len());
    assert_eq!(d["invalid"], bad.len(), "{d}");
    assert_eq!(d["tcp"], 0, "{d}");
    assert_eq!(d["event"]["ipv4"]["trunc_pkt"], 0, "{d}");
    assert!(out.sids().is_empty(), "{:?}", out.sids());
}

fn mirror() -> Mirror {
    Mirror {
        vni: 1001,
        source_ip: Ipv4Addr::new(10, 0, 1, 5),
        target_ip: Ipv4Addr::new(10, 0, 0, 100),
    }
}

#[test]
fn vxlan_without_the_i_flag_is_not_decapsulated() {
    let inner = udp_frame(sa("10.1.0.5:40000"), sa("10.2.0.9:5000"), T0, b"UDPMARK inner");
    let mut good = vxlan_wrap(&inner, &mirror()).data;
    let mut bad = good.clone();
    // Outer Ethernet + IPv4 (20) + UDP (8): the VXLAN flags byte.
    bad[ETH + 28] = 0x00;
    good[ETH + 28] = 0x08;
    let out = replay_bytes("vxlan-noi", &pcap_of(&[bad]), RULES);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let d = &out.stats()["decoder"];
    assert_eq!(d["vxlan"], 0, "{d}");
    assert_eq!(d["udp"], 1, "{d}");
    // The inner marker is not matched as an inner packet: the outer UDP
    // payload still carries it, so the udp rule sees the outer packet.
    let ok = replay_bytes("vxlan-i", &pcap_of(&[good]), RULES);
    assert_eq!(ok.stats()["decoder"]["vxlan"], 1);
}

#[test]
fn geneve_option_length_past_the_end() {
    // Outer Ethernet/IPv4/UDP 6081 with a GENEVE header claiming 63 words
    // (252 bytes) of options and carrying 12.
    let mut gen = vec![63u8, 0, 0x65, 0x58, 0, 0, 1, 0];
    gen.extend_from_slice(&[0x01, 0x08, 0x01, 0x02, 1, 2, 3, 4, 5, 6, 7, 8]);
    let f = udp_frame(sa("10.0.9.10:50000"), sa("10.0.9.20:6081"), T0, &gen).data;
    let out = replay_bytes("geneve-opt", &pcap_of(&[f]), RULES);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let d = &out.stats()["decoder"];
    assert_eq!(d["geneve"], 0, "{d}");
    assert_eq!(d["pkts"], 1);
    assert_eq!(
        d["invalid"].as_u64().unwrap() + d["udp"].as_u64().unwrap(),
        1,
        "counted once, as invalid or as plain UDP: {d}"
    );
}

#[test]
fn tunnels_nested_twenty_deep_stop_at_the_limit() {
    let mut f = udp_frame(sa("10.1.0.5:40000"), sa("10.2.0.9:5000"), T0, b"UDPMARK deep");
    for _ in 0..20 {
        f = vxlan_wrap(&f, &mirror());
    }
    let out = replay_bytes("deep", &pcap_of(&[f.data]), RULES);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let d = &out.stats()["decoder"];
    assert_eq!(d["too_many_layers"], 1, "{d}");
    assert!(d["vxlan"].as_u64().unwrap() >= 1, "{d}");
}

#[test]
fn zero_window_segments_are_still_inspected() {
    let frames = tcp_session(b"xx MARKER xx");
    let mut zero: Vec<Vec<u8>> = frames.iter().map(|f| f.data.clone()).collect();
    for f in &mut zero {
        f[ETH + 20 + 14..ETH + 20 + 16].copy_from_slice(&[0, 0]);
    }
    let out = replay_bytes("zerowin", &pcap_of(&zero), RULES);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.sids(), vec![1]);
    assert_eq!(out.stats()["tcp"]["sessions"], 1);
}

#[test]
fn sequence_numbers_wrapping_around_zero() {
    // The client's stream crosses 2^32 in the middle of the marker,
    // split over two segments; the server's starts just below too.
    let mut c = TcpConn::new(sa("10.1.0.5:40002"), sa("10.2.0.9:80"), T0);
    c.with_isn(u32::MAX - 8, u32::MAX - 2)
        .handshake()
        .client_send(b"aaaa MARK")
        .client_send(b"ER bbbb")
        .server_send(b"reply crossing the wrap")
        .close();
    let p = pcap_of(&c.frames().iter().map(|f| f.data.clone()).collect::<Vec<_>>());
    let out = replay_bytes("wrap", &p, RULES);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.sids(), vec![1]);
    let tcp = &out.stats()["tcp"];
    assert_eq!(tcp["reassembly_gap"], 0, "{tcp}");
}

// ---- rule files ----------------------------------------------------------

/// `tapwatch rules check --json FILE` on `text`.
fn rules_check(text: &[u8]) -> (Out, Value) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.rules");
    std::fs::write(&path, text).unwrap();
    let out = tapwatch(
        dir.path(),
        &["rules", "check", "--json", &path.display().to_string()],
    );
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "rules check output is not JSON ({e}): {}\n{}",
            out.stdout, out.stderr
        )
    });
    (out, v)
}

fn error_on_line(v: &Value, line: u64) -> &Value {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["line"] == line)
        .unwrap_or_else(|| panic!("no error on line {line}: {v}"))
}

const GOOD_RULE: &str = r#"alert tcp any any -> any any (msg:"good"; content:"MARKER"; sid:10;)"#;

#[test]
fn unbalanced_quotes_are_a_positioned_error() {
    let text = format!(
        "{GOOD_RULE}\nalert tcp any any -> any any (msg:\"never closed; content:\"x\"; sid:11;)\nalert tcp any any -> any any (msg:\"ok\"; content:\"abc; sid:12;)\n{}\n",
        GOOD_RULE.replace("sid:10", "sid:13")
    );
    let (_, v) = rules_check(text.as_bytes());
    assert_eq!(v["loaded"], 2, "{v}");
    assert_eq!(v["failed"], 2, "{v}");
    for line in [2, 3] {
        let e = error_on_line(&v, line);
        assert!(e["column"].as_u64().unwrap() > 0, "{e}");
        assert!(e["file"].as_str().unwrap().ends_with("hostile.rules"), "{e}");
        assert!(e["message"].as_str().unwrap().contains("closing '\"'"), "{e}");
    }
}

#[test]
fn huge_numbers_are_rejected_not_wrapped() {
    let text = [
        r#"alert tcp any any -> any any (msg:"a"; content:"x"; depth:99999999999999999999; sid:20;)"#,
        r#"alert tcp any any -> any any (msg:"b"; content:"x"; sid:99999999999999999999;)"#,
        r#"alert tcp any any -> any any (msg:"c"; content:"x"; distance:-99999999999; sid:21;)"#,
        r#"alert tcp any any -> any any (msg:"d"; dsize:>18446744073709551616; sid:22;)"#,
        r#"alert tcp any 99999 -> any any (msg:"e"; content:"x"; sid:23;)"#,
        r#"alert tcp any any -> any any (msg:"f"; byte_test:4294967296,>,1,0; sid:24;)"#,
        GOOD_RULE,
    ]
    .join("\n");
    let (_, v) = rules_check(text.as_bytes());
    assert_eq!(v["loaded"], 1, "{v}");
    assert_eq!(v["failed"], 6, "{v}");
    for line in 1..=6 {
        let e = error_on_line(&v, line);
        assert!(!e["message"].as_str().unwrap().is_empty(), "{e}");
    }
}

#[test]
fn invalid_utf8_does_not_stop_the_file() {
    // Rule files are read as UTF-8 with invalid bytes replaced (U+FFFD):
    // the rules around the bad bytes load, and so does the rule holding
    // them (its content is then the replacement text, not the raw bytes).
    let mut text = GOOD_RULE.as_bytes().to_vec();
    text.extend_from_slice(
        b"\nalert tcp any any -> any any (msg:\"\xff\xfe bad\"; content:\"\xc3\x28\"; sid:30;)\n",
    );
    text.extend_from_slice(GOOD_RULE.replace("sid:10", "sid:31").as_bytes());
    text.extend_from_slice(b"\n\xff\xff\xff\n");
    let (_, v) = rules_check(&text);
    assert_eq!(v["loaded"], 3, "{v}");
    assert_eq!(v["failed"], 1, "the line of bare invalid bytes: {v}");
    let e = error_on_line(&v, 4);
    assert!(e["file"].as_str().unwrap().ends_with("hostile.rules"), "{e}");
}

#[test]
fn one_megabyte_content_loads_and_matches_in_bounded_time() {
    let big = "A".repeat(1 << 20);
    let text =
        format!("alert tcp any any -> any any (msg:\"huge\"; content:\"{big}\"; sid:40;)\n{GOOD_RULE}\n");
    let dir = tempfile::tempdir().unwrap();
    let frames = tcp_session(b"xx MARKER xx AAAAAAAA");
    let path = dir.path().join("big.pcap");
    std::fs::write(
        &path,
        pcap_of(&frames.iter().map(|f| f.data.clone()).collect::<Vec<_>>()),
    )
    .unwrap();
    let out = replay_at(dir.path(), &path, &text);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // The good rule still works beside it, whether or not the huge one loaded.
    assert_eq!(out.sids(), vec![10]);
}

#[test]
fn pathological_pcre_finishes() {
    // Catastrophic backtracking patterns for a backtracking engine; the
    // payload is the classic trigger (many a's and no match).
    let text = [
        r#"alert tcp any any -> any any (msg:"p1"; pcre:"/(a+)+$/"; sid:50;)"#,
        r#"alert tcp any any -> any any (msg:"p2"; pcre:"/^(a|aa)+b/"; sid:51;)"#,
        r#"alert tcp any any -> any any (msg:"p3"; pcre:"/(a*)*(b|c)/"; sid:52;)"#,
        r#"alert tcp any any -> any any (msg:"p4"; pcre:"/(\w+\s?)+x/"; sid:53;)"#,
        r#"alert tcp any any -> any any (msg:"p5"; pcre:"/(.{1,1000}){1,1000}z/s"; sid:54;)"#,
        r#"alert tcp any any -> any any (msg:"p6"; pcre:"/(a)\1\1\1/"; sid:55;)"#,
        GOOD_RULE,
    ]
    .join("\n");
    let dir = tempfile::tempdir().unwrap();
    let mut payload = vec![b'a'; 1400];
    payload.extend_from_slice(b"! MARKER");
    let frames = tcp_session(&payload);
    let path = dir.path().join("pcre.pcap");
    std::fs::write(
        &path,
        pcap_of(&frames.iter().map(|f| f.data.clone()).collect::<Vec<_>>()),
    )
    .unwrap();
    let start = Instant::now();
    let out = replay_at(dir.path(), &path, &text);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(start.elapsed() < Duration::from_secs(30), "{:?}", start.elapsed());
    let sids = out.sids();
    assert!(sids.contains(&10), "{sids:?}");
    // p1 matches ("a"s at the end of the buffer is not the case: "! MARKER"
    // ends it), p2/p3 need a 'b'/'c' after a's, none present right there.
    assert!(!sids.contains(&51), "{sids:?}");
}

#[test]
fn rule_file_that_is_one_endless_line() {
    // 4 MB of rule text without a newline or a closing parenthesis.
    let mut text = b"alert tcp any any -> any any (msg:\"".to_vec();
    text.extend(std::iter::repeat_n(b'x', 4 << 20));
    let (out, v) = rules_check(&text);
    assert_eq!(v["loaded"], 0, "{v}");
    assert_eq!(v["failed"], 1, "{v}");
    assert_eq!(out.code, Some(1));
}
