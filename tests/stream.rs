//! End to end: TCP reassembly on mirrored traffic (reordering, truncation,
//! midstream and one-sided sessions), captures written by the test.
//!
//! Expected alerts were compared with Suricata 7.0.10 on the same captures
//! where the behaviour is Suricata's (reordering, midstream, async-oneside);
//! truncated sessions are tapwatch's own (Suricata drops packets shorter
//! than their IP length). Set `TAPWATCH_TEST_KEEP=dir` to keep the pcaps.

use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tapwatch_gen::{fragment_frame, truncate, write_pcap, Frame, TcpConn};

const T0: u64 = 1_768_471_200_000_000_000; // 2026-01-15T10:00:00Z

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

struct Run {
    out: Output,
    eve: Vec<Value>,
}

impl Run {
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
    fn tcp_stats(&self) -> &Value {
        &self
            .eve
            .iter()
            .find(|r| r["event_type"] == "stats")
            .expect("stats record")["stats"]["tcp"]
    }
}

/// Where the test writes: a kept directory when asked, else a temp dir.
struct Dir {
    _tmp: Option<tempfile::TempDir>,
    path: PathBuf,
}

fn workdir(name: &str) -> Dir {
    match std::env::var_os("TAPWATCH_TEST_KEEP") {
        Some(d) => {
            let path = PathBuf::from(d).join(name);
            std::fs::create_dir_all(&path).unwrap();
            Dir { _tmp: None, path }
        }
        None => {
            let t = tempfile::tempdir().unwrap();
            let path = t.path().to_path_buf();
            Dir { _tmp: Some(t), path }
        }
    }
}

fn pcap(dir: &Path, name: &str, frames: &[Frame]) -> PathBuf {
    let p = dir.join(name);
    write_pcap(&p, frames).unwrap();
    p
}

fn replay(dir: &Path, pcap: &Path, rules: &str, extra: &[&str]) -> Run {
    replay_with(dir, pcap, rules, None, extra)
}

/// As [`replay`], with a config file holding `config` (suricata.yaml shape).
fn replay_with(dir: &Path, pcap: &Path, rules: &str, config: Option<&str>, extra: &[&str]) -> Run {
    let rules_path = dir.join("test.rules");
    std::fs::write(&rules_path, rules).unwrap();
    let tag: String = extra.join("_").replace(['=', '.', '/'], "-");
    // Runs with a config file log apart (named by its length).
    let cfg_tag = config.map_or(String::new(), |c| format!("-cfg{}", c.len()));
    let log = dir.join(format!(
        "log-{}{}{}",
        pcap.file_stem().unwrap().to_string_lossy(),
        tag,
        cfg_tag
    ));
    std::fs::create_dir_all(&log).unwrap();
    let mut args: Vec<String> = ["replay", "-q", "-k", "none", "-r"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(pcap.display().to_string());
    args.extend(["-S".into(), rules_path.display().to_string()]);
    args.extend(["-l".into(), log.display().to_string()]);
    for e in extra {
        args.extend(["--set".to_string(), e.to_string()]);
    }
    if let Some(c) = config {
        let path = log.join("tapwatch.yaml");
        std::fs::write(&path, c).unwrap();
        args.extend(["-c".to_string(), path.display().to_string()]);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args(&args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(log.join("eve.json")).unwrap_or_default();
    let eve = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    Run { out, eve }
}

/// Indexes of the frames that carry client payload.
fn client_data(c: &TcpConn) -> Vec<usize> {
    c.meta()
        .iter()
        .enumerate()
        .filter(|(_, m)| m.from_client && m.payload_len > 0)
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn content_across_three_segments_in_reverse_order_alerts_once() {
    let dir = workdir("reverse");
    let rules = "alert tcp any any -> any 80 (msg:\"split\"; flow:to_server,established; content:\"EVILPAYLOAD\"; sid:1; rev:1;)\n";
    let mut c = TcpConn::new(sa("10.1.0.5:40000"), sa("10.2.0.9:80"), T0);
    // "aaaaEV" "ILPAYL" "OADbbb": the content spans all three segments.
    c.handshake()
        .client_send_segments(b"aaaaEVILPAYLOADbbb", 6)
        .close();
    let mut frames = c.frames();
    let idx = client_data(&c);
    assert_eq!(idx.len(), 3);
    // Deliver them last first, timestamps staying in place.
    let ts: Vec<u64> = idx.iter().map(|&i| frames[i].ts_ns).collect();
    let data: Vec<Frame> = idx.iter().rev().map(|&i| frames[i].clone()).collect();
    for ((&i, f), t) in idx.iter().zip(data).zip(ts) {
        frames[i] = Frame { ts_ns: t, ..f };
    }
    let p = pcap(&dir.path, "reverse.pcap", &frames);
    let r = replay(&dir.path, &p, rules, &[]);
    assert_eq!(r.sids(), vec![1]);
    assert_eq!(r.tcp_stats()["reassembly_gap"], 0);

    // In order and 30% adjacent swaps over a longer stream: still once.
    let mut c = TcpConn::new(sa("10.1.0.5:40001"), sa("10.2.0.9:80"), T0);
    let mut body = vec![b'x'; 3000];
    body[1500..1511].copy_from_slice(b"EVILPAYLOAD");
    c.handshake().client_send_segments(&body, 100).close();
    c.reorder(&mut tapwatch_gen::Rng::new(7), 300);
    let p = pcap(&dir.path, "reordered.pcap", &c.frames());
    let r = replay(&dir.path, &p, rules, &[]);
    assert_eq!(r.sids(), vec![1]);
}

#[test]
fn truncated_session_gaps_and_alerts_on_what_is_visible() {
    let dir = workdir("trunc");
    let rules = "\
alert tcp any any -> any 80 (msg:\"A\"; flow:to_server,established; content:\"MARK-A\"; sid:1; rev:1;)
alert tcp any any -> any 80 (msg:\"B\"; flow:to_server,established; content:\"MARK-B\"; sid:2; rev:1;)
alert tcp any any -> any 80 (msg:\"hidden\"; content:\"HIDDEN-C\"; sid:3; rev:1;)
alert tcp any any -> any 80 (msg:\"across a gap\"; content:\"GAPSPAN\"; sid:4; rev:1;)
";
    let mut c = TcpConn::new(sa("10.1.0.5:40002"), sa("10.2.0.9:80"), T0);
    c.handshake();
    // Payload visible in a 128-byte frame: after Ethernet, IPv4, TCP+options.
    let probe = {
        let mut p = c.clone();
        p.client_send(b"x");
        p.frames().last().map(|f| f.data.len()).unwrap() - 1
    };
    let visible = 128 - probe;
    let mut body = vec![b'.'; 1200];
    body[0..6].copy_from_slice(b"MARK-A");
    body[visible - 3..visible].copy_from_slice(b"GAP"); // end of the visible part
    body[400..406].copy_from_slice(b"MARK-B");
    body[400 + visible..400 + visible + 4].copy_from_slice(b"SPAN"); // cut off
    body[800..804].copy_from_slice(b"SPAN"); // start of segment 3
    body[900..908].copy_from_slice(b"HIDDEN-C"); // cut off
    c.client_send_segments(&body, 400).close();
    let frames: Vec<Frame> = c.frames().iter().map(|f| truncate(f, 128)).collect();
    let p = pcap(&dir.path, "trunc128.pcap", &frames);
    let r = replay(&dir.path, &p, rules, &[]);
    assert_eq!(r.sids(), vec![1, 2], "{}", String::from_utf8_lossy(&r.out.stderr));
    // Each of the three segments lost its tail.
    assert_eq!(r.tcp_stats()["reassembly_gap"], 3);
}

fn midstream_session() -> Vec<Frame> {
    let mut c = TcpConn::new(sa("10.1.0.5:40003"), sa("10.2.0.9:80"), T0);
    c.client_send(b"GET /cgi-bin/../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n")
        .server_send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        .client_send(b"GET /again/../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n")
        .server_send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    c.frames()
}

const TRAVERSAL: &str = "alert tcp any any -> any 80 (msg:\"traversal\"; flow:to_server,established; content:\"../../etc/passwd\"; sid:10; rev:1;)\n";

#[test]
fn midstream_session_alerts_only_with_midstream() {
    let dir = workdir("midstream");
    let p = pcap(&dir.path, "midstream.pcap", &midstream_session());
    let on = replay(&dir.path, &p, TRAVERSAL, &["stream.midstream=true"]);
    let off = replay(&dir.path, &p, TRAVERSAL, &["stream.midstream=false"]);
    assert_eq!(on.sids(), vec![10, 10]);
    assert_eq!(off.sids(), Vec::<u64>::new());
    assert!(on.tcp_stats()["midstream_pickups"].as_u64().unwrap() >= 1);
}

#[test]
fn one_sided_session_alerts_only_with_async_oneside() {
    let dir = workdir("oneside");
    let mut c = TcpConn::new(sa("10.1.0.5:40004"), sa("10.2.0.9:80"), T0);
    c.handshake()
        .client_send_segments(b"GET /x/../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", 20)
        .close();
    // Only the client's direction reaches this mirror target.
    let frames: Vec<Frame> = c
        .frames()
        .into_iter()
        .zip(c.meta())
        .filter(|(_, m)| m.from_client)
        .map(|(f, _)| f)
        .collect();
    let p = pcap(&dir.path, "oneside.pcap", &frames);
    let on = replay(&dir.path, &p, TRAVERSAL, &["stream.async-oneside=true"]);
    let off = replay(&dir.path, &p, TRAVERSAL, &["stream.async-oneside=false"]);
    assert_eq!(on.sids(), vec![10]);
    assert_eq!(off.sids(), Vec::<u64>::new());
}

/// A session whose request is sent fragmented, the fragments given by `frag`.
fn fragmented_session(client: &str, server: &str, frag: impl Fn(&Frame) -> Vec<Frame>) -> Vec<Frame> {
    let mut c = TcpConn::new(sa(client), sa(server), T0);
    c.handshake()
        .client_send(b"POST /upload HTTP/1.1\r\nHost: a\r\n\r\nsome FRAGMENTED-ATTACK payload here")
        .close();
    let data = client_data(&c)[0];
    c.frames()
        .iter()
        .enumerate()
        .flat_map(|(i, f)| if i == data { frag(f) } else { vec![f.clone()] })
        .collect()
}

const FRAG_RULE: &str = "alert tcp any any -> any 80 (msg:\"frag\"; flow:to_server,established; content:\"FRAGMENTED-ATTACK\"; sid:20; rev:1;)\n";

#[test]
fn fragmented_ipv4_and_ipv6_reassemble_and_alert() {
    let dir = workdir("frag");
    let v4 = fragmented_session("10.1.0.5:40010", "10.2.0.9:80", |f| {
        fragment_frame(f, 24, &[], true)
    });
    let v6 = fragmented_session("[2001:db8::5]:40011", "[2001:db8::9]:80", |f| {
        fragment_frame(f, 32, &[], false)
    });
    // Overlapping fragments carrying the same bytes.
    let dup = fragmented_session("10.1.0.5:40012", "10.2.0.9:80", |f| {
        let ihl = usize::from(f.data[14] & 0x0f) * 4;
        let payload = f.data[14 + ihl..].to_vec();
        fragment_frame(f, 24, &[(16, payload[16..56].to_vec())], false)
    });
    for (name, frames, family) in [
        ("frag4", v4, "ipv4"),
        ("frag6", v6, "ipv6"),
        ("frag4dup", dup, "ipv4"),
    ] {
        let p = pcap(&dir.path, &format!("{name}.pcap"), &frames);
        let r = replay(&dir.path, &p, FRAG_RULE, &[]);
        assert_eq!(r.sids(), vec![20], "{name}");
        let stats = &r.eve.iter().find(|x| x["event_type"] == "stats").unwrap()["stats"];
        assert_eq!(stats["defrag"][family]["reassembled"], 1, "{name}");
        // Fragment and overlap counts as Suricata 7.0.10 gives them.
        let (frags, overlaps) = match name {
            "frag4" => (5, 0),
            "frag6" => (4, 0),
            _ => (6, 1),
        };
        assert_eq!(stats["defrag"][family]["fragments"], frags, "{name}");
        assert_eq!(
            stats["decoder"]["event"][family]["frag_overlap"], overlaps,
            "{name}"
        );
    }
}

#[test]
fn overlapping_fragments_with_other_bytes_follow_the_policy() {
    let dir = workdir("fragpolicy");
    // A fragment at the offset of the attack bytes, carrying other bytes,
    // sent after the real ones: bsd (the default) keeps the first bytes,
    // `last` takes the new ones.
    let frames = fragmented_session("10.1.0.5:40013", "10.2.0.9:80", |f| {
        let ihl = usize::from(f.data[14] & 0x0f) * 4;
        let payload = &f.data[14 + ihl..];
        let at = payload
            .windows(17)
            .position(|w| w == b"FRAGMENTED-ATTACK")
            .unwrap()
            / 8
            * 8;
        fragment_frame(f, 8, &[(at, vec![b'z'; 8])], false)
    });
    let p = pcap(&dir.path, "fragpolicy.pcap", &frames);
    let bsd = replay(&dir.path, &p, FRAG_RULE, &[]);
    assert_eq!(bsd.sids(), vec![20]);
    let last = replay(&dir.path, &p, FRAG_RULE, &["defrag.policy=last"]);
    assert_eq!(last.sids(), Vec::<u64>::new());
    let stats = &last.eve.iter().find(|x| x["event_type"] == "stats").unwrap()["stats"];
    assert_eq!(stats["decoder"]["event"]["ipv4"]["frag_overlap"], 1);
}

#[test]
fn both_ends_mirrored_alerts_once_with_dedup() {
    use std::net::Ipv4Addr;
    use tapwatch_gen::{vxlan_wrap, Mirror};
    let dir = workdir("dedup");
    let rules = "\
alert tcp any any -> any 80 (msg:\"syn\"; flags:S; sid:30; rev:1;)
alert tcp any any -> any 80 (msg:\"content\"; flow:to_server,established; content:\"../../etc/passwd\"; sid:31; rev:1;)
";
    let mut c = TcpConn::new(sa("10.1.0.5:40020"), sa("10.2.0.9:80"), T0);
    c.handshake()
        .client_send(b"GET /a/../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n")
        .server_send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        .close();
    let client_end = Mirror {
        vni: 1001,
        source_ip: Ipv4Addr::new(10, 0, 1, 5),
        target_ip: Ipv4Addr::new(10, 0, 0, 100),
    };
    let server_end = Mirror {
        vni: 1002,
        source_ip: Ipv4Addr::new(10, 0, 2, 9),
        target_ip: Ipv4Addr::new(10, 0, 0, 100),
    };
    let mut frames = Vec::new();
    for f in c.frames() {
        frames.push(vxlan_wrap(&f, &client_end));
        let mut copy = vxlan_wrap(&f, &server_end);
        copy.ts_ns += 3_000; // the other end's copy, 3 µs later
        frames.push(copy);
    }
    let p = pcap(&dir.path, "both-ends.pcap", &frames);
    let off = replay(&dir.path, &p, rules, &[]);
    let on = replay(&dir.path, &p, rules, &["mirror.dedup=yes"]);
    assert_eq!(off.sids(), vec![30, 30, 31]);
    assert_eq!(on.sids(), vec![30, 31]);
    let pkts = |r: &Run| {
        r.eve
            .iter()
            .find(|x| x["event_type"] == "flow" && x["dest_port"] == 80)
            .map(|x| x["flow"]["pkts_toserver"].as_u64().unwrap())
            .unwrap()
    };
    assert_eq!(pkts(&off), 2 * pkts(&on));
}

/// EVE with every anomaly kind on, as a suricata.yaml would ask for it.
const ANOMALY_ALL: &str = "%YAML 1.1\n---\noutputs:\n  - eve-log:\n      enabled: yes\n      filename: eve.json\n      types:\n        - alert\n        - flow\n        - stats\n        - anomaly:\n            enabled: yes\n            types:\n              decode: yes\n              stream: yes\n              applayer: yes\n";

impl Run {
    /// `anomaly.event` of every anomaly record, in order.
    fn anomalies(&self) -> Vec<String> {
        self.eve
            .iter()
            .filter(|r| r["event_type"] == "anomaly")
            .map(|r| r["anomaly"]["event"].as_str().unwrap().to_string())
            .collect()
    }
    fn anomaly(&self, event: &str) -> &Value {
        self.eve
            .iter()
            .find(|r| r["event_type"] == "anomaly" && r["anomaly"]["event"] == event)
            .unwrap_or_else(|| panic!("no {event} anomaly in {:?}", self.anomalies()))
    }
}

/// Where a frame's TCP payload starts (Ethernet + IPv4 + TCP headers).
fn tcp_payload_at(f: &Frame) -> usize {
    let ihl = usize::from(f.data[14] & 0x0f) * 4;
    let doff = usize::from(f.data[14 + ihl + 12] >> 4) * 4;
    14 + ihl + doff
}

#[test]
fn truncated_packets_raise_trunc_pkt_anomalies_and_decode_event_rules() {
    let dir = workdir("anomaly-trunc");
    let rules = "\
alert pkthdr any any -> any any (msg:\"SURICATA IPv4 truncated packet\"; decode-event:ipv4.trunc_pkt; classtype:protocol-command-decode; sid:2200004; rev:2;)
alert tcp any any -> any any (msg:\"unraised\"; decode-event:ipv6.exthdr_useless_fh; sid:9; rev:1;)
";
    let mut c = TcpConn::new(sa("10.1.0.5:40030"), sa("10.2.0.9:80"), T0);
    c.handshake().client_send_segments(&[b'.'; 1200], 400).close();
    let frames: Vec<Frame> = c.frames().iter().map(|f| truncate(f, 128)).collect();
    let p = pcap(&dir.path, "trunc-anomaly.pcap", &frames);
    let r = replay_with(&dir.path, &p, rules, Some(ANOMALY_ALL), &[]);
    // Suricata 7.0.10 on this capture: three records
    // {"type":"decode","event":"decoder.ipv4.trunc_pkt"}, without addresses,
    // flow or ports (it drops the packet before reading them); and the
    // rule alerts once per truncated packet.
    // tapwatch goes on with what the packet holds, so the cut-off tails are
    // also stream gaps (Suricata drops these packets: no stream events).
    let decode: Vec<String> = r
        .anomalies()
        .into_iter()
        .filter(|a| a.starts_with("decoder."))
        .collect();
    assert_eq!(decode, vec!["decoder.ipv4.trunc_pkt"; 3]);
    assert_eq!(r.anomalies().len(), 6, "{:?}", r.anomalies());
    let a = r.anomaly("decoder.ipv4.trunc_pkt");
    assert_eq!(a["anomaly"]["type"], "decode");
    assert_eq!(a["pkt_src"], "wire/pcap");
    assert_eq!(a["pcap_cnt"], 4);
    for k in ["src_ip", "dest_ip", "src_port", "proto", "flow_id"] {
        assert!(a.get(k).is_none(), "{k} in {a}");
    }
    assert_eq!(r.sids(), vec![2200004; 3]);
    // The rule naming an event tapwatch does not raise is skipped, said why.
    let stderr = String::from_utf8_lossy(&r.out.stderr);
    assert!(stderr.contains("ipv6.exthdr_useless_fh") || r.out.status.success());

    // Off by default, as Suricata's stock config (only applayer anomalies).
    let off = replay(&dir.path, &p, rules, &[]);
    assert!(off.anomalies().is_empty());
}

/// A session whose client data has one segment lost and one resent 10
/// bytes further on with other bytes; the server acknowledges everything.
fn lossy_overlapping_session() -> Vec<Frame> {
    let mut c = TcpConn::new(sa("10.1.0.5:40031"), sa("10.2.0.9:80"), T0);
    let mut body = vec![b'a'; 500];
    body[450..458].copy_from_slice(b"GAPAFTER");
    body[120..128].copy_from_slice(b"ORIGINAL");
    c.handshake()
        .client_send_segments(&body, 100)
        .server_send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        .close();
    let frames = c.frames();
    let data = client_data(&c);
    let mut out = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        if i == data[3] {
            continue; // lost: bytes 300..400
        }
        out.push(f.clone());
        if i == data[1] {
            // Bytes 110..210 again, with other bytes at 120..128.
            let mut again = f.clone();
            let at = tcp_payload_at(&again) + 10;
            again.data[at..at + 8].copy_from_slice(b"REPLACED");
            let seq_at = 14 + usize::from(again.data[14] & 0x0f) * 4 + 4;
            let seq = u32::from_be_bytes(again.data[seq_at..seq_at + 4].try_into().unwrap());
            again.data[seq_at..seq_at + 4].copy_from_slice(&(seq + 10).to_be_bytes());
            again.ts_ns += 1_000;
            out.push(again);
        }
    }
    out
}

#[test]
fn stream_anomalies_match_suricata_and_stream_event_rules_alert() {
    let dir = workdir("anomaly-stream");
    let rules = "\
alert tcp any any -> any any (msg:\"SURICATA STREAM reassembly overlap with different data\"; stream-event:reassembly_overlap_different_data; classtype:protocol-command-decode; sid:2210050; rev:2;)
alert tcp any any -> any any (msg:\"SURICATA STREAM reassembly sequence GAP -- missing packet(s)\"; stream-event:reassembly_seq_gap; classtype:protocol-command-decode; sid:2210048; rev:2;)
alert tcp any any -> any 80 (msg:\"after the gap\"; flow:to_server,established; content:\"GAPAFTER\"; sid:1; rev:1;)
alert tcp any any -> any 80 (msg:\"replaced\"; content:\"REPLACED\"; sid:2; rev:1;)
";
    let p = pcap(&dir.path, "lossy-overlap.pcap", &lossy_overlapping_session());
    let r = replay_with(&dir.path, &p, rules, Some(ANOMALY_ALL), &[]);
    // Suricata 7.0.10 on this capture: the overlap record on packet 6 (the
    // resent segment), a seq_gap record, alerts 2210050 and 2210048, and
    // tcp stats overlap 2, overlap_diff_data 1, reassembly_gap 1. (It
    // raises the gap on the client's ACK before its FIN, tapwatch on the
    // FIN; and it alerts twice on the content after the gap.)
    assert_eq!(
        r.anomalies(),
        vec![
            "stream.reassembly_overlap_different_data",
            "stream.reassembly_seq_gap"
        ]
    );
    let overlap = r.anomaly("stream.reassembly_overlap_different_data");
    assert_eq!(overlap["pcap_cnt"], 6);
    assert_eq!(overlap["anomaly"]["type"], "stream");
    assert_eq!(overlap["src_ip"], "10.1.0.5");
    assert_eq!(overlap["src_port"], 40031);
    assert_eq!(overlap["dest_port"], 80);
    assert_eq!(overlap["proto"], "TCP");
    assert!(overlap["flow_id"].is_u64());
    let gap = r.anomaly("stream.reassembly_seq_gap");
    assert_eq!(gap["anomaly"]["type"], "stream");
    // As Suricata: the resent bytes lose (bsd keeps the first), so sid 2
    // does not alert.
    assert_eq!(r.sids(), vec![1, 2210048, 2210050]);
    assert_eq!(r.tcp_stats()["reassembly_gap"], 1);
    assert_eq!(r.tcp_stats()["overlap"], 2);
    assert_eq!(r.tcp_stats()["overlap_diff_data"], 1);

    // Only the kinds asked for.
    let decode_only = ANOMALY_ALL.replace("stream: yes", "stream: no");
    let r = replay_with(&dir.path, &p, rules, Some(&decode_only), &[]);
    assert!(r.anomalies().is_empty(), "{:?}", r.anomalies());
}

#[test]
fn overlapping_fragments_raise_frag_overlap_like_suricata() {
    let dir = workdir("anomaly-frag");
    let rules = "\
alert pkthdr any any -> any any (msg:\"SURICATA FRAG IPv4 Fragmentation overlap\"; decode-event:ipv4.frag_overlap; classtype:protocol-command-decode; sid:2200069; rev:2;)
alert pkthdr any any -> any any (msg:\"SURICATA FRAG IPv6 Fragmentation overlap\"; decode-event:ipv6.frag_overlap; classtype:protocol-command-decode; sid:2200070; rev:2;)
";
    // IPv4: the attack bytes sent again, other bytes, after the real ones.
    let v4 = fragmented_session("10.1.0.5:40032", "10.2.0.9:80", |f| {
        fragment_frame(f, 8, &[(16, vec![b'z'; 8])], false)
    });
    let v6 = fragmented_session("[2001:db8::5]:40033", "[2001:db8::9]:80", |f| {
        fragment_frame(f, 16, &[(16, vec![b'z'; 16])], false)
    });
    for (name, frames, event, sid, at) in [
        ("frag4-overlap", v4, "decoder.ipv4.frag_overlap", 2200069, 16),
        ("frag6-overlap", v6, "decoder.ipv6.frag_overlap", 2200070, 10),
    ] {
        let p = pcap(&dir.path, &format!("{name}.pcap"), &frames);
        let r = replay_with(&dir.path, &p, rules, Some(ANOMALY_ALL), &[]);
        // Suricata 7.0.10: one record on the overlapping fragment,
        // with its addresses, ports 0, proto TCP and no flow; the rule
        // alerts on the same packet. No trunc_pkt for the first fragment,
        // whose 8 bytes cannot hold the TCP header. IPv4: ports 0, proto
        // TCP; IPv6: no ports, proto IPv6-Frag.
        assert_eq!(r.anomalies(), vec![event], "{name}");
        let a = r.anomaly(event);
        assert_eq!(a["anomaly"]["type"], "decode");
        if name == "frag4-overlap" {
            assert_eq!(
                (a["src_port"].as_u64(), a["dest_port"].as_u64()),
                (Some(0), Some(0))
            );
            assert_eq!(a["proto"], "TCP");
        } else {
            assert!(a.get("src_port").is_none() && a.get("dest_port").is_none());
            assert_eq!(a["proto"], "IPv6-Frag");
            assert_eq!(a["src_ip"], "2001:0db8:0000:0000:0000:0000:0000:0005");
        }
        assert!(a.get("flow_id").is_none());
        assert_eq!(a["pcap_cnt"], at, "{name}");
        assert_eq!(r.sids(), vec![sid], "{name}");
        let alert = r.eve.iter().find(|x| x["event_type"] == "alert").unwrap();
        assert_eq!(alert["pcap_cnt"], a["pcap_cnt"]);
    }
}

/// A session whose second client segment is lost and never acknowledged:
/// the handshake and the other client segments only (no ACKs, no close),
/// then `tail` (frames that end it, or not).
fn held_after_hole(port: u16, tail: impl Fn(&TcpConn) -> Vec<Frame>) -> Vec<Frame> {
    let mut c = TcpConn::new(sa(&format!("10.1.0.5:{port}")), sa("10.2.0.9:80"), T0);
    let mut body = vec![b'b'; 500];
    body[330..338].copy_from_slice(b"HELDDATA");
    c.handshake().client_send_segments(&body, 100);
    let frames = c.frames();
    let data = client_data(&c);
    let mut out: Vec<Frame> = frames[..3].to_vec();
    for &i in &data {
        if i != data[1] {
            out.push(frames[i].clone());
        }
    }
    out.extend(tail(&c));
    out
}

#[test]
fn data_held_after_an_unfilled_hole_is_inspected_when_the_flow_ends() {
    let dir = workdir("held");
    let rules = "alert tcp any any -> any 80 (msg:\"held\"; flow:to_server,established; content:\"HELDDATA\"; sid:40; rev:1;)\n";
    // End of input with the hole still open.
    let eof = held_after_hole(40040, |_| Vec::new());
    // The flow times out: another connection an hour later.
    let timeout = held_after_hole(40041, |_| {
        let mut later = TcpConn::new(sa("10.1.0.6:40000"), sa("10.2.0.9:80"), T0 + 3_600_000_000_000);
        later.handshake();
        later.frames()
    });
    // The server resets the connection: its SYN/ACK made a RST/ACK.
    let reset = held_after_hole(40042, |c| {
        let mut rst = c.frames()[1].clone();
        let tcp = 14 + usize::from(rst.data[14] & 0x0f) * 4;
        let seq = u32::from_be_bytes(rst.data[tcp + 4..tcp + 8].try_into().unwrap());
        rst.data[tcp + 4..tcp + 8].copy_from_slice(&(seq + 1).to_be_bytes());
        rst.data[tcp + 13] = 0x14;
        rst.ts_ns = c.now() + 1_000_000;
        vec![rst]
    });
    for (name, frames) in [("eof", eof), ("timeout", timeout), ("reset", reset)] {
        let p = pcap(&dir.path, &format!("held-{name}.pcap"), &frames);
        let r = replay(&dir.path, &p, rules, &[]);
        assert_eq!(r.sids(), vec![40], "{name}");
        assert_eq!(r.tcp_stats()["reassembly_gap"], 1, "{name}");
        let flow = r
            .eve
            .iter()
            .find(|x| x["event_type"] == "flow" && x["src_port"] != 40000)
            .unwrap();
        assert_eq!(flow["flow"]["alerted"], true, "{name}");
        assert_eq!(flow["tcp"]["ts_gap"], true, "{name}");
        let alert = r.eve.iter().find(|x| x["event_type"] == "alert").unwrap();
        assert_eq!(alert["flow_id"], flow["flow_id"], "{name}");
        assert_eq!(alert["src_ip"], "10.1.0.5");
        assert_eq!(alert["dest_port"], 80);
        // As Suricata 7.0.10 on these captures (it alerts in all three, on
        // a pseudo packet at flow end): no pcap_cnt.
        assert!(alert.get("pcap_cnt").is_none(), "{name}");
    }
}

/// A copy of the data frame `t` carrying `payload` at stream offset `off`
/// of the same direction (offset 0 = first data byte), IP length fixed.
fn seg_at(t: &Frame, first_seq: u32, off: u32, payload: &[u8], ts_ns: u64) -> Frame {
    let at = tcp_payload_at(t);
    let mut data = t.data[..at].to_vec();
    data.extend_from_slice(payload);
    let ip_len = (data.len() - 14) as u16;
    data[16..18].copy_from_slice(&ip_len.to_be_bytes());
    let tcp = 14 + usize::from(data[14] & 0x0f) * 4;
    data[tcp + 4..tcp + 8].copy_from_slice(&first_seq.wrapping_add(off).to_be_bytes());
    Frame::new(ts_ns, data)
}

/// Two sessions whose client sends, behind a hole at 0..100, a segment and
/// then another with other bytes over it: (1) same start and end, (2)
/// starting later and ending at the same place. Then the hole fills.
fn policy_sessions() -> Vec<Frame> {
    let mut out = Vec::new();
    let cases: [&[(u32, &[u8])]; 2] = [
        &[(100, b"OLDBYTE1"), (100, b"NEWBYTE1")],
        &[(100, b"xxxxOLDBYTE2"), (104, b"NEWBYTE2")],
    ];
    for (i, case) in cases.iter().enumerate() {
        let port = 40050 + i as u16;
        let mut c = TcpConn::new(
            sa(&format!("10.1.0.5:{port}")),
            sa("10.2.0.9:80"),
            T0 + i as u64 * 1_000_000_000,
        );
        c.handshake();
        let first_seq = c.next_seqs().0;
        let mut probe = c.clone();
        probe.client_send(&[b'-'; 100]);
        let template = probe.frames()[3].clone();
        out.extend(c.frames());
        let mut t = c.now();
        for (off, bytes) in case.iter() {
            t += 1_000;
            out.push(seg_at(&template, first_seq, *off, bytes, t));
        }
        out.push(seg_at(&template, first_seq, 0, &[b'-'; 100], t + 1_000));
    }
    out
}

#[test]
fn overlap_policies_resolve_segments_as_suricata() {
    let dir = workdir("policies");
    let rules = "\
alert tcp any any -> any 80 (msg:\"old 1\"; content:\"OLDBYTE1\"; sid:1; rev:1;)
alert tcp any any -> any 80 (msg:\"new 1\"; content:\"NEWBYTE1\"; sid:2; rev:1;)
alert tcp any any -> any 80 (msg:\"old 2\"; content:\"OLDBYTE2\"; sid:3; rev:1;)
alert tcp any any -> any 80 (msg:\"new 2\"; content:\"NEWBYTE2\"; sid:4; rev:1;)
";
    let p = pcap(&dir.path, "policies.pcap", &policy_sessions());
    // Suricata 7.0.10 with `host-os-policy: {<policy>: [0.0.0.0/0]}` on
    // this capture: bsd, linux, vista, windows, windows2k3, macos, irix,
    // hpux10 alert 1 and 3; old-linux, solaris, hpux11 alert 2 and 3 (the
    // same-start duplicate: old bytes for bsd and linux, new for old-linux
    // and solaris; the later segment ending at the same place: old bytes
    // for all). `first`/`last` are tapwatch's (Suricata has no such host
    // policy).
    for (policy, want) in [
        ("bsd", vec![1, 3]),
        ("linux", vec![1, 3]),
        ("old-linux", vec![2, 3]),
        ("solaris", vec![2, 3]),
        ("first", vec![1, 3]),
        ("vista", vec![1, 3]),
        ("windows", vec![1, 3]),
        ("hpux11", vec![2, 3]),
        ("last", vec![2, 4]),
    ] {
        let set = format!("stream.reassembly.policy={policy}");
        let r = replay(&dir.path, &p, rules, &[&set]);
        assert_eq!(r.sids(), want, "{policy}");
    }
}
