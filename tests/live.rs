//! End to end, live: `tapwatch run` on loopback ports, driven by
//! `tapwatch send` with captures written here, compared with `tapwatch
//! replay` of the same captures.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tapwatch_gen::{udp_frame, vxlan_wrap, write_pcap, Frame, Mirror, TcpConn};

const T0: u64 = 1_768_471_200_000_000_000;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tapwatch")
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn free_udp() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_tcp() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let code = out.split(' ').nth(1)?.parse().ok()?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((code, body))
}

/// Prometheus text → sample name with labels → value. Panics on a line
/// that is not a comment or `name{labels} value`.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    let mut saw_eof = false;
    for line in text.lines() {
        if line == "# EOF" {
            saw_eof = true;
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            assert!(
                line.starts_with("# HELP ") || line.starts_with("# TYPE ") || line.starts_with("# UNIT "),
                "{line}"
            );
            continue;
        }
        let (name, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad sample line: {line}"));
        let v: f64 = value.parse().unwrap_or_else(|_| panic!("bad value: {line}"));
        assert!(
            name.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_'),
            "{line}"
        );
        m.insert(name.to_string(), v);
    }
    assert!(saw_eof, "metrics end with # EOF");
    m
}

struct Daemon {
    child: Child,
    http: u16,
    udp: u16,
    dir: PathBuf,
}

impl Daemon {
    fn start(dir: &Path, rules: &Path, extra: &[&str]) -> Daemon {
        let http = free_tcp();
        let udp = free_udp();
        let log = dir.join("live");
        std::fs::create_dir_all(&log).unwrap();
        let mut args: Vec<String> = vec![
            "run".into(),
            "-S".into(),
            rules.display().to_string(),
            "-l".into(),
            log.display().to_string(),
            "--workers".into(),
            "2".into(),
            "--set".into(),
            format!("live.vxlan-listen=127.0.0.1:{udp}"),
            "--set".into(),
            "live.geneve-listen=off".into(),
            "--set".into(),
            format!("live.http-listen=127.0.0.1:{http}"),
            "--set".into(),
            "live.recv-buffer=4mb".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = Command::new(bin())
            .args(&args)
            .stderr(std::fs::File::create(dir.join("run.err")).unwrap())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let d = Daemon {
            child,
            http,
            udp,
            dir: dir.to_path_buf(),
        };
        let t = Instant::now();
        while http_get(http, "/healthz").map(|r| r.0) != Some(200) {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "not healthy: {}",
                d.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("run.err")).unwrap_or_default()
    }

    fn metrics(&self) -> BTreeMap<String, f64> {
        let (code, body) = http_get(self.http, "/metrics").expect("metrics");
        assert_eq!(code, 200);
        parse_metrics(&body)
    }

    fn metric(&self, name: &str) -> f64 {
        self.metrics().get(name).copied().unwrap_or(0.0)
    }

    /// Wait until a metric reaches a value.
    fn wait_metric(&self, name: &str, want: f64) {
        let t = Instant::now();
        loop {
            let v = self.metric(name);
            if v >= want {
                assert_eq!(v, want, "{name}");
                return;
            }
            assert!(t.elapsed() < Duration::from_secs(20), "{name} = {v}, want {want}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn send(&self, pcap: &Path, extra: &[&str]) -> u64 {
        let to = format!("127.0.0.1:{}", self.udp);
        let out = Command::new(bin())
            .args(["send", "-q", "--pps", "4000", "--to", &to])
            .args(extra)
            .arg(pcap)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .find_map(|w| w.strip_prefix("sent="))
            .and_then(|n| n.parse().ok())
            .expect("sent=N")
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    fn stop(mut self) -> Vec<Value> {
        self.signal("-TERM");
        let t = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                assert!(st.success(), "exit {st}: {}", self.stderr());
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(30), "did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
        eve(&self.dir.join("live/eve.json"))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn eve(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn replay(dir: &Path, pcap: &Path, rules: &Path) -> Vec<Value> {
    let log = dir.join("replay");
    std::fs::create_dir_all(&log).unwrap();
    let out = Command::new(bin())
        .args(["replay", "-q", "--set", "stream.midstream=true", "-S"])
        .arg(rules)
        .arg("-l")
        .arg(&log)
        .arg(pcap)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    eve(&log.join("eve.json"))
}

fn mirror() -> Mirror {
    Mirror {
        vni: 7,
        source_ip: "127.0.0.1".parse().unwrap(),
        target_ip: "127.0.0.1".parse().unwrap(),
    }
}

/// `n` TCP sessions each carrying `word`, and DNS-like UDP packets.
fn traffic(n: usize, word: &str, start: u64) -> Vec<Frame> {
    let mut frames = Vec::new();
    for i in 0..n {
        let client = sa(&format!("10.0.{}.{}:{}", i / 200, 1 + i % 200, 40000 + i));
        let mut c = TcpConn::new(client, sa("10.9.0.1:80"), start + i as u64 * 1_000_000);
        c.handshake()
            .client_send(format!("GET /{word} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .server_send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .close();
        frames.extend(c.into_frames());
        frames.push(udp_frame(
            client,
            sa("10.9.0.2:53"),
            start + i as u64 * 1_000_000 + 500,
            b"query",
        ));
    }
    frames
}

fn write_wrapped(path: &Path, frames: &[Frame]) {
    let m = mirror();
    let wrapped: Vec<Frame> = frames.iter().map(|f| vxlan_wrap(f, &m)).collect();
    write_pcap(path, &wrapped).unwrap();
}

const RULES: &str = "alert tcp any any -> any 80 (msg:\"live evil\"; flow:established,to_server; content:\"EVIL\"; sid:1001; rev:1;)\n\
alert udp any any -> any 53 (msg:\"live query\"; content:\"query\"; priority:1; sid:1002; rev:1;)\n";

/// Alerts as a sorted list of what identifies them whatever the clock.
fn alert_keys(eve: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = eve
        .iter()
        .filter(|r| r["event_type"] == "alert")
        .map(|a| {
            format!(
                "{} {} {}:{} -> {}:{} vni={} src={}",
                a["alert"]["signature_id"],
                a["proto"],
                a["src_ip"],
                a["src_port"],
                a["dest_ip"],
                a["dest_port"],
                a["mirror"]["vni"],
                a["mirror"]["source_ip"],
            )
        })
        .collect();
    v.sort();
    v
}

/// Inner flows (not the tunnel transport's) with their counters.
fn flow_keys(eve: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = eve
        .iter()
        .filter(|r| r["event_type"] == "flow" && r["dest_port"] != 4789 && r["src_ip"] != "127.0.0.1")
        .map(|f| {
            format!(
                "{} {}:{} -> {}:{} {}/{} {}/{} alerted={}",
                f["proto"],
                f["src_ip"],
                f["src_port"],
                f["dest_ip"],
                f["dest_port"],
                f["flow"]["pkts_toserver"],
                f["flow"]["pkts_toclient"],
                f["flow"]["bytes_toserver"],
                f["flow"]["bytes_toclient"],
                f["flow"]["alerted"],
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn live_equals_replay_metrics_count_what_was_sent_and_drain_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("t.rules");
    std::fs::write(&rules, RULES).unwrap();
    let pcap = dir.path().join("t.pcap");
    let frames = traffic(40, "EVIL", T0);
    write_wrapped(&pcap, &frames);

    let want = replay(dir.path(), &pcap, &rules);
    assert_eq!(alert_keys(&want).len(), 80, "replay alerts");

    let d = Daemon::start(dir.path(), &rules, &["--set", "live.shutdown-grace=1"]);
    let sent = d.send(&pcap, &["--vni", "99"]);
    assert_eq!(sent, frames.len() as u64);
    // SIGTERM with traffic in flight: nothing received may be lost.
    d.signal("-TERM");
    let t = Instant::now();
    let mut saw_503 = false;
    while t.elapsed() < Duration::from_millis(900) && !saw_503 {
        saw_503 = http_get(d.http, "/healthz").map(|r| r.0) == Some(503);
    }
    assert!(saw_503, "healthz answers 503 while draining");
    let m = d.metrics();
    let listener = format!(
        "tapwatch_received_packets_total{{listener=\"127.0.0.1:{}\",encap=\"vxlan\"}}",
        d.udp
    );
    assert_eq!(m.get(&listener), Some(&(sent as f64)), "{m:?}");
    let got = d.stop();
    assert_eq!(alert_keys(&got), alert_keys(&want));
    assert_eq!(flow_keys(&got), flow_keys(&want));
    // The last stats record counts every packet.
    let stats = got
        .iter()
        .rev()
        .find(|r| r["event_type"] == "stats")
        .expect("stats");
    assert_eq!(stats["stats"]["decoder"]["pkts"], sent);
}

#[test]
fn metrics_count_packets_vnis_alerts_and_drops() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("t.rules");
    std::fs::write(&rules, RULES).unwrap();
    let pcap = dir.path().join("t.pcap");
    let frames = traffic(5, "EVIL", T0);
    write_wrapped(&pcap, &frames);
    let n = frames.len() as f64;
    let d = Daemon::start(
        dir.path(),
        &rules,
        &[
            "--set",
            "mirror.allow-sources=[127.0.0.1/32]",
            "--set",
            "mirror.allow-vnis=[7]",
            "--set",
            "mirror.sessions.7=web-mirror",
        ],
    );
    // From outside the allow-list: dropped and counted.
    d.send(&pcap, &["--from", "127.0.0.2"]);
    d.wait_metric("tapwatch_dropped_packets_total{cause=\"source_denied\"}", n);
    assert_eq!(d.metric("tapwatch_processed_packets_total"), 0.0);
    // Wrapped here with a VNI that is not allowed.
    let plain = dir.path().join("plain.pcap");
    write_pcap(&plain, &frames).unwrap();
    d.send(&plain, &["--vni", "8"]);
    d.wait_metric("tapwatch_dropped_packets_total{cause=\"vni_denied\"}", n);
    // Allowed.
    d.send(&plain, &["--vni", "7"]);
    d.wait_metric("tapwatch_processed_packets_total", n);
    let m = d.metrics();
    assert_eq!(
        m["tapwatch_vni_packets_total{vni=\"7\",session=\"web-mirror\"}"],
        n
    );
    assert_eq!(m["tapwatch_dropped_packets_total{cause=\"queue_full\"}"], 0.0);
    assert_eq!(m["tapwatch_dropped_packets_total{cause=\"not_tunnel\"}"], 0.0);
    let listener = format!(
        "tapwatch_received_packets_total{{listener=\"127.0.0.1:{}\",encap=\"vxlan\"}}",
        d.udp
    );
    assert_eq!(m[&listener], 3.0 * n);
    assert_eq!(m["tapwatch_rules_loaded"], 2.0);
    // Alerts are published a few times a second.
    let t = Instant::now();
    while d.metric("tapwatch_alerts_total{severity=\"1\"}") < 5.0 {
        assert!(t.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(50));
    }
    let m = d.metrics();
    assert_eq!(m["tapwatch_alerts_total{severity=\"1\"}"], 5.0);
    assert_eq!(m["tapwatch_alerts_total{severity=\"3\"}"], 5.0);
    // The EVE file sink reports what it wrote; nothing spooled or dropped.
    let sink = |name: &str| -> f64 {
        m.iter()
            .filter(|(k, _)| k.starts_with(&format!("tapwatch_sink_{name}_total{{")))
            .map(|(_, v)| v)
            .sum()
    };
    assert!(sink("written") >= 10.0, "{m:?}");
    assert_eq!(sink("dropped"), 0.0);
    assert_eq!(sink("spooled"), 0.0);
    let eve = d.stop();
    let alerts: Vec<&Value> = eve.iter().filter(|r| r["event_type"] == "alert").collect();
    assert_eq!(alerts.len(), 10);
    assert!(alerts.iter().all(|a| a["mirror"]["session"] == "web-mirror"));
}

#[test]
fn sighup_reloads_rules_keeps_flows_and_refuses_broken_rules() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("t.rules");
    std::fs::write(
        &rules,
        "alert tcp any any -> any 80 (msg:\"A\"; flow:established,to_server; content:\"AAA\"; sid:1; rev:1;)\n",
    )
    .unwrap();
    // One session whose second request comes after the reload.
    let mut c = TcpConn::new(sa("10.0.0.5:40000"), sa("10.9.0.1:80"), T0);
    c.handshake()
        .client_send(b"GET /AAA HTTP/1.1\r\n\r\n")
        .server_send(b"HTTP/1.1 200 OK\r\n\r\n");
    let first = c.frames().len();
    c.client_send(b"GET /BBB/AAA HTTP/1.1\r\n\r\n")
        .server_send(b"HTTP/1.1 200 OK\r\n\r\n")
        .close();
    let frames = c.into_frames();
    let p1 = dir.path().join("p1.pcap");
    let p2 = dir.path().join("p2.pcap");
    write_wrapped(&p1, &frames[..first]);
    write_wrapped(&p2, &frames[first..]);

    let d = Daemon::start(dir.path(), &rules, &["--set", "stream.midstream=false"]);
    d.send(&p1, &[]);
    d.wait_metric("tapwatch_processed_packets_total", first as f64);

    // A broken file: refused, the old rule keeps running.
    std::fs::write(
        &rules,
        "alert tcp any any -> any 80 (msg:\"broken\"; content:; sid:3;)\n",
    )
    .unwrap();
    d.signal("-HUP");
    d.wait_metric("tapwatch_rule_reload_failures_total", 1.0);
    assert_eq!(d.metric("tapwatch_rule_reloads_total"), 0.0);

    // A new rule: applied; the session started before it is still known
    // (established), so the flow-state rule alerts on its second request.
    std::fs::write(
        &rules,
        "alert tcp any any -> any 80 (msg:\"A\"; flow:established,to_server; content:\"AAA\"; sid:1; rev:1;)\n\
         alert tcp any any -> any 80 (msg:\"B\"; flow:established,to_server; content:\"BBB\"; sid:2; rev:1;)\n",
    )
    .unwrap();
    d.signal("-HUP");
    d.wait_metric("tapwatch_rule_reloads_total", 1.0);
    assert_eq!(d.metric("tapwatch_rules_loaded"), 2.0);
    d.send(&p2, &[]);
    d.wait_metric("tapwatch_processed_packets_total", frames.len() as f64);
    let eve = d.stop();
    let sids: Vec<u64> = eve
        .iter()
        .filter(|r| r["event_type"] == "alert")
        .map(|a| a["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    assert_eq!(sids, vec![1, 1, 2], "{eve:?}");
    let flows: Vec<&Value> = eve
        .iter()
        .filter(|r| r["event_type"] == "flow" && r["dest_port"] == 80)
        .collect();
    assert_eq!(flows.len(), 1, "one flow across the reload");
    let f = &flows[0]["flow"];
    assert_eq!(
        f["pkts_toserver"].as_u64().unwrap() + f["pkts_toclient"].as_u64().unwrap(),
        frames.len() as u64
    );
}

/// Load test, not part of the default run:
/// `LOAD_SECS=20 cargo test --release --test live -- --ignored --nocapture load`
/// Sends as fast as possible for LOAD_SECS seconds and checks that every
/// datagram is either processed or counted as a drop.
#[test]
#[ignore]
fn load_every_datagram_is_processed_or_counted() {
    let secs: f64 = std::env::var("LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20.0);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("t.rules");
    std::fs::write(&rules, RULES).unwrap();
    let pcap = dir.path().join("t.pcap");
    write_wrapped(&pcap, &traffic(2000, "EVIL", T0));
    let d = Daemon::start(dir.path(), &rules, &["--set", "live.recv-buffer=64mb"]);
    let to = format!("127.0.0.1:{}", d.udp);
    let out = Command::new(bin())
        .args([
            "send",
            "--loop",
            "1000000",
            "--duration",
            &secs.to_string(),
            "--to",
            &to,
        ])
        .arg(&pcap)
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    let sent: f64 = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find_map(|w| w.strip_prefix("sent=").and_then(|n| n.parse().ok()))
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let m = d.metrics();
    let drops: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("tapwatch_dropped_packets_total"))
        .map(|(_, v)| v)
        .sum();
    let processed = m["tapwatch_processed_packets_total"];
    eprintln!("sent {sent} processed {processed} drops {drops}: {m:?}");
    assert_eq!(sent, processed + drops);
}

/// Fragmented IPv4 datagrams sent live are reassembled by the reader and
/// alert as they do in replay.
#[test]
fn fragments_sent_live_reassemble_and_alert() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("t.rules");
    std::fs::write(&rules, RULES).unwrap();
    let mut frames = Vec::new();
    let plain = traffic(3, "EVIL", T0);
    let n_plain = plain.len();
    for (i, f) in plain.into_iter().enumerate() {
        // Every TCP segment with data goes as 16-byte fragments.
        if f.data.len() > 100 && f.data[23] == 6 {
            frames.extend(tapwatch_gen::fragment_frame(&f, 16, &[], i % 2 == 0));
        } else {
            frames.push(f);
        }
    }
    assert!(frames.len() > n_plain + 6, "{} {n_plain}", frames.len());
    let pcap = dir.path().join("frag.pcap");
    write_wrapped(&pcap, &frames);
    let want = replay(dir.path(), &pcap, &rules);
    let evil = |e: &[Value]| e.iter().filter(|r| r["alert"]["signature_id"] == 1001).count();
    assert_eq!(evil(&want), 3);
    let d = Daemon::start(dir.path(), &rules, &["--set", "live.shutdown-grace=0"]);
    d.send(&pcap, &[]);
    let got = d.stop();
    assert_eq!(alert_keys(&got), alert_keys(&want));
}
