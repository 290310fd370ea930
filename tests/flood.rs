//! Floods: the engine's tables and buffers stay within their configured
//! limits and the drop counters say what was given up.
//!
//! Each flood is written by the test as a capture and replayed through the
//! engine in-process with small limits; the accounted memory
//! (flow table slots and index, reassembly memcap, defrag memcap) is read
//! from the replay summary. `cargo test --test flood` runs scaled-down
//! floods in seconds; the full-size ones are ignored tests:
//!
//! ```text
//! cargo test --release --test flood -- --ignored --nocapture --test-threads=1
//! ```
//!
//! Each full-size test prints its figures and the process's peak RSS
//! (VmHWM, so run them one at a time: `--test-threads=1`, or name one).

use etherparse::PacketBuilder;
use std::io::BufWriter;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tapwatch_engine::output::EveTarget;
use tapwatch_engine::{EngineConfig, ReplaySummary};
use tapwatch_gen::{PcapWriter, Rng};
use tapwatch_rules::{Classifications, RuleSet, RuleSetBuilder, Vars};

const T0: u64 = 1_768_471_200_000_000_000; // 2026-01-15T10:00:00Z
const SERVER: [u8; 4] = [10, 2, 0, 9];
const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];

const RULES: &str = r#"
alert tcp any any -> any 80 (msg:"http marker"; flow:to_server; content:"MARKER"; sid:1;)
alert http any any -> any any (msg:"uri"; http.uri; content:"/admin"; sid:2;)
alert tls any any -> any any (msg:"sni"; tls.sni; content:"evil"; sid:3;)
alert udp any any -> any any (msg:"udp marker"; content:"UDPMARK"; sid:4;)
"#;

fn rules() -> Arc<RuleSet> {
    let mut b = RuleSetBuilder::new(Vars::default(), Classifications::bundled());
    b.add_text("flood.rules", RULES);
    let (set, report) = b.build();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    Arc::new(set)
}

/// Frames streamed to a capture file (floods are too big to hold).
struct Cap {
    w: PcapWriter<BufWriter<std::fs::File>>,
    path: PathBuf,
    ts: u64,
    frames: u64,
}

impl Cap {
    fn new(dir: &Path, name: &str) -> Cap {
        let path = dir.join(name);
        let f = BufWriter::new(std::fs::File::create(&path).unwrap());
        Cap {
            w: PcapWriter::new(f, 1, true).unwrap(),
            path,
            ts: T0,
            frames: 0,
        }
    }
    fn put(&mut self, frame: &[u8]) {
        self.ts += 1_000; // 1 µs apart: no flow or hole times out
        self.frames += 1;
        self.w.write(self.ts, frame).unwrap();
    }
    fn finish(self) -> (PathBuf, u64) {
        self.w.into_inner().unwrap();
        (self.path, self.frames)
    }
}

type Endpoint = ([u8; 4], u16);

/// TCP segment `src -> dst` with `flags` (SYN/ACK/PSH/FIN bits).
fn tcp(
    (src, sport): Endpoint,
    (dst, dport): Endpoint,
    seq: u32,
    ack: u32,
    flags: u8,
    data: &[u8],
) -> Vec<u8> {
    let mut b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(src, dst, 64)
        .tcp(sport, dport, seq, 65535);
    if flags & 0x02 != 0 {
        b = b.syn();
    }
    if flags & 0x10 != 0 {
        b = b.ack(ack);
    }
    if flags & 0x08 != 0 {
        b = b.psh();
    }
    if flags & 0x01 != 0 {
        b = b.fin();
    }
    let mut v = Vec::with_capacity(64 + data.len());
    b.write(&mut v, data).unwrap();
    v
}

fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, data: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(src, dst, 64)
        .udp(sport, dport);
    let mut v = Vec::with_capacity(64 + data.len());
    b.write(&mut v, data).unwrap();
    v
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;

/// A client at `client:port` that completed its handshake with
/// SERVER:`sport`; returns the next client sequence number.
fn handshake(cap: &mut Cap, client: [u8; 4], port: u16, sport: u16, isn: u32) -> u32 {
    cap.put(&tcp((client, port), (SERVER, sport), isn, 0, SYN, &[]));
    cap.put(&tcp(
        (SERVER, sport),
        (client, port),
        7000,
        isn.wrapping_add(1),
        SYN | ACK,
        &[],
    ));
    cap.put(&tcp(
        (client, port),
        (SERVER, sport),
        isn.wrapping_add(1),
        7001,
        ACK,
        &[],
    ));
    isn.wrapping_add(1)
}

/// Small limits, so the floods reach them.
fn limits(max_flows: usize, stream_memcap: u64, depth: u64) -> EngineConfig {
    let mut cfg = EngineConfig {
        workers: 2,
        ..EngineConfig::default()
    };
    cfg.flow.max_flows = max_flows;
    cfg.stream.memcap = stream_memcap;
    cfg.stream.depth = depth;
    cfg.defrag.memcap = 1 << 20;
    // A flood would log one flow record per evicted flow.
    cfg.eve.flow = false;
    cfg
}

struct Figures {
    s: ReplaySummary,
    frames: u64,
    eve: String,
}

fn replay(dir: &Path, pcap: PathBuf, frames: u64, cfg: &EngineConfig) -> Figures {
    let eve = dir.join("eve.json");
    let s =
        tapwatch_engine::replay(&[pcap], cfg, rules(), &EveTarget::File(eve.clone()), None).expect("replay");
    assert!(s.input_error.is_none(), "{:?}", s.input_error);
    assert_eq!(s.packets, frames);
    assert_eq!(s.records_lost, 0);
    Figures {
        s,
        frames,
        eve: std::fs::read_to_string(eve).unwrap_or_default(),
    }
}

impl Figures {
    /// The accounted memory is within every configured limit.
    fn check_caps(&self, cfg: &EngineConfig) {
        let st = &self.s.stats;
        assert!(
            st.flows.active_peak <= cfg.flow.max_flows as u64,
            "flows held {} > max {}",
            st.flows.active_peak,
            cfg.flow.max_flows
        );
        let slot = std::mem::size_of::<tapwatch_engine::flow::Flow>() as u64;
        assert!(
            // Slot, free-list entry, and the index with its load factor.
            st.flows.memuse_peak <= cfg.flow.max_flows as u64 * (slot + 128) + 64 * 1024,
            "flow table {} bytes for {} flows",
            st.flows.memuse_peak,
            cfg.flow.max_flows
        );
        assert!(
            st.tcp.reassembly_memuse_peak <= cfg.stream.memcap,
            "reassembly {} > memcap {}",
            st.tcp.reassembly_memuse_peak,
            cfg.stream.memcap
        );
        assert!(st.defrag.memuse_peak <= cfg.defrag.memcap as u64);
    }

    fn report(&self, name: &str) {
        let st = &self.s.stats;
        eprintln!(
            "{name}: {} frames in {:.1}s; flows total {} held peak {} evicted {} refused {}; \
             flow table peak {} KiB; reassembly peak {} KiB (memcap drops {}, depth reached {}, gaps {}); \
             defrag peak {} KiB; alerts {}; peak RSS {} KiB",
            self.frames,
            self.s.elapsed.as_secs_f64(),
            st.flows.total,
            st.flows.active_peak,
            st.flows.evicted,
            st.flows.memcap,
            st.flows.memuse_peak / 1024,
            st.tcp.reassembly_memuse_peak / 1024,
            st.tcp.stream.memcap_drops,
            st.tcp.stream.depth_reached,
            st.tcp.stream.gaps,
            st.defrag.memuse_peak / 1024,
            st.alerts,
            peak_rss_kib().unwrap_or(0),
        );
    }
}

/// This process's peak resident set (VmHWM).
fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn random_v4(rng: &mut Rng) -> [u8; 4] {
    let mut a = rng.next_u32().to_be_bytes();
    a[0] = 1 + a[0] % 223; // unicast, not 0/8
    a
}

// ---- the floods ------------------------------------------------------------

fn syn_flood(n: u64, max_flows: usize) -> (Figures, EngineConfig) {
    let dir = tempfile::tempdir().unwrap();
    let mut cap = Cap::new(dir.path(), "syn.pcap");
    let mut rng = Rng::new(1);
    // One real session first, then the flood, then the session's request.
    let real = [10, 1, 0, 5];
    let seq = handshake(&mut cap, real, 40000, 80, 100);
    for _ in 0..n {
        let src = random_v4(&mut rng);
        cap.put(&tcp(
            (src, rng.next_u16() | 1024),
            (SERVER, 80),
            rng.next_u32(),
            0,
            SYN,
            &[],
        ));
    }
    cap.put(&tcp(
        (real, 40000),
        (SERVER, 80),
        seq,
        7001,
        PSH_ACK,
        b"GET /MARKER HTTP/1.0\r\n\r\n",
    ));
    let (path, frames) = cap.finish();
    let cfg = limits(max_flows, 1 << 20, 1 << 20);
    (replay(dir.path(), path, frames, &cfg), cfg)
}

fn check_syn_flood(f: &Figures, cfg: &EngineConfig, n: u64) {
    f.check_caps(cfg);
    let fl = &f.s.stats.flows;
    assert_eq!(
        fl.total + fl.memcap,
        n + 1,
        "every SYN made a flow or was refused"
    );
    assert!(
        fl.evicted + fl.memcap >= n + 1 - cfg.flow.max_flows as u64,
        "{fl:?}"
    );
    // The established session outlived the flood of half-open flows.
    assert_eq!(f.s.stats.alerts, 1, "{}", f.eve);
}

#[test]
fn syn_flood_from_random_sources() {
    let n = 20_000;
    let (f, cfg) = syn_flood(n, 1000);
    f.report("syn flood (small)");
    check_syn_flood(&f, &cfg, n);
}

fn udp_flood(n: u64, max_flows: usize, max_len: usize) -> (Figures, EngineConfig) {
    let dir = tempfile::tempdir().unwrap();
    let mut cap = Cap::new(dir.path(), "udp.pcap");
    let mut rng = Rng::new(2);
    let mut payload = vec![0u8; 1400];
    for i in 0..n {
        let len = rng.range_usize(0, max_len);
        rng.fill(&mut payload[..len]);
        // Every 16th datagram goes to a parsed or tunnel port with garbage.
        let dport = match i % 16 {
            0 => 53,
            1 => 4789,
            2 => 6081,
            _ => rng.next_u16(),
        };
        let src = [10, 1, (i % 7) as u8, (i % 13) as u8];
        cap.put(&udp(src, rng.next_u16(), SERVER, dport, &payload[..len]));
    }
    cap.put(&udp([10, 1, 0, 5], 5000, SERVER, 9999, b"xx UDPMARK xx"));
    let (path, frames) = cap.finish();
    let cfg = limits(max_flows, 1 << 20, 1 << 20);
    (replay(dir.path(), path, frames, &cfg), cfg)
}

#[test]
fn udp_flood_with_random_payloads_to_many_ports() {
    let (f, cfg) = udp_flood(20_000, 1000, 1400);
    f.report("udp flood (small)");
    f.check_caps(&cfg);
    let fl = &f.s.stats.flows;
    assert!(fl.evicted + fl.memcap > 0, "{fl:?}");
    assert!(f.s.stats.alerts >= 1);
}

/// `conns` connections each sending `segs` one-byte segments in reverse
/// order, one byte apart, with their first byte missing: nothing can be
/// delivered or merged, every segment would be held as its own range.
fn tiny_ooo(conns: u32, segs: u32, memcap: u64) -> (Figures, EngineConfig) {
    let dir = tempfile::tempdir().unwrap();
    let mut cap = Cap::new(dir.path(), "ooo.pcap");
    for c in 0..conns {
        let client = [10, 3, (c >> 8) as u8, c as u8];
        let seq = handshake(&mut cap, client, 41000, 80, 1000 * c);
        for i in (1..segs).rev() {
            cap.put(&tcp(
                (client, 41000),
                (SERVER, 80),
                seq.wrapping_add(2 * i),
                7001,
                PSH_ACK,
                b"z",
            ));
        }
    }
    let (path, frames) = cap.finish();
    let mut cfg = limits(4096, memcap, 1 << 20);
    cfg.stream.max_held_segments = 4096;
    cfg.stream.max_held_bytes = 1 << 30;
    (replay(dir.path(), path, frames, &cfg), cfg)
}

#[test]
fn many_tiny_out_of_order_segments() {
    let (f, cfg) = tiny_ooo(50, 2000, 64 * 1024);
    f.report("tiny out-of-order segments (small)");
    f.check_caps(&cfg);
    let t = &f.s.stats.tcp;
    assert!(t.stream.memcap_drops > 0, "{t:?}");
    assert!(t.reassembly_memuse_peak > 0, "{t:?}");
}

/// `conns` connections each sending one request head that never ends:
/// `bytes` of headers.
fn slowloris(conns: u32, bytes: usize, depth: u64) -> (Figures, EngineConfig) {
    let dir = tempfile::tempdir().unwrap();
    let mut cap = Cap::new(dir.path(), "slowloris.pcap");
    let mut seqs = Vec::new();
    for c in 0..conns {
        let client = [10, 4, (c >> 8) as u8, c as u8];
        let mut seq = handshake(&mut cap, client, 42000, 80, 5000 * c);
        cap.put(&tcp(
            (client, 42000),
            (SERVER, 80),
            seq,
            7001,
            PSH_ACK,
            b"GET /admin HTTP/1.1\r\n",
        ));
        seq = seq.wrapping_add(21);
        seqs.push((client, seq));
    }
    // Interleaved: every connection adds a header line in turn.
    let mut sent = 0;
    let mut n = 0u64;
    while sent < bytes {
        let line = format!("X-Slow-{n}: {}\r\n", "v".repeat(40));
        for (client, seq) in &mut seqs {
            cap.put(&tcp(
                (*client, 42000),
                (SERVER, 80),
                *seq,
                7001,
                PSH_ACK,
                line.as_bytes(),
            ));
            *seq = seq.wrapping_add(line.len() as u32);
        }
        sent += line.len();
        n += 1;
    }
    let (path, frames) = cap.finish();
    let cfg = limits(4096, 1 << 20, depth);
    (replay(dir.path(), path, frames, &cfg), cfg)
}

#[test]
fn slowloris_http_with_endless_headers() {
    let (f, cfg) = slowloris(10, 64 * 1024, 16 * 1024);
    f.report("slowloris (small)");
    f.check_caps(&cfg);
    let t = &f.s.stats.tcp;
    assert_eq!(t.stream.depth_reached, 10, "{t:?}");
    // Whatever is logged of the never-finished requests stays small.
    let longest = f.eve.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 64 * 1024, "an EVE record of {longest} bytes");
}

/// A ClientHello whose record and handshake headers claim 16 MB, followed
/// by `bytes` of filler, on `conns` connections.
fn tls_claims_16mb(conns: u32, bytes: usize, depth: u64) -> (Figures, EngineConfig) {
    let dir = tempfile::tempdir().unwrap();
    let mut cap = Cap::new(dir.path(), "tls.pcap");
    let mut rng = Rng::new(5);
    let mut chunk = vec![0u8; 1400];
    for c in 0..conns {
        let client = [10, 5, (c >> 8) as u8, c as u8];
        let mut seq = handshake(&mut cap, client, 43000, 443, 9000 * c);
        // Record: handshake, TLS 1.0, length 0xffff (over the 2^14 limit);
        // handshake: ClientHello, length 0xffffff (16 MB).
        let head = [0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0xff, 0xff, 0xff, 0x03, 0x03];
        cap.put(&tcp((client, 43000), (SERVER, 443), seq, 7001, PSH_ACK, &head));
        seq = seq.wrapping_add(head.len() as u32);
        let mut sent = 0;
        while sent < bytes {
            rng.fill(&mut chunk);
            cap.put(&tcp((client, 43000), (SERVER, 443), seq, 7001, PSH_ACK, &chunk));
            seq = seq.wrapping_add(chunk.len() as u32);
            sent += chunk.len();
        }
    }
    let (path, frames) = cap.finish();
    let cfg = limits(4096, 1 << 20, depth);
    (replay(dir.path(), path, frames, &cfg), cfg)
}

#[test]
fn tls_client_hello_claiming_16_mb() {
    let (f, cfg) = tls_claims_16mb(4, 512 * 1024, 128 * 1024);
    f.report("tls 16 MB hello (small)");
    f.check_caps(&cfg);
    assert_eq!(f.s.stats.tcp.stream.depth_reached, 4);
    let longest = f.eve.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 64 * 1024, "an EVE record of {longest} bytes");
}

// ---- full size (ignored; see the header for the command) -------------------

#[test]
#[ignore = "full-size flood (2M SYNs)"]
fn full_syn_flood() {
    let n = 2_000_000;
    let (f, cfg) = syn_flood(n, 65_536);
    f.report("syn flood (full)");
    check_syn_flood(&f, &cfg, n);
}

#[test]
#[ignore = "full-size flood (1M datagrams)"]
fn full_udp_flood() {
    let (f, cfg) = udp_flood(1_000_000, 65_536, 200);
    f.report("udp flood (full)");
    f.check_caps(&cfg);
}

#[test]
#[ignore = "full-size flood (2M one-byte segments, 1000 connections)"]
fn full_tiny_out_of_order_segments() {
    let (f, cfg) = tiny_ooo(1000, 2000, 1 << 20);
    f.report("tiny out-of-order segments (full)");
    f.check_caps(&cfg);
    assert!(f.s.stats.tcp.stream.memcap_drops > 0);
}

#[test]
#[ignore = "full-size flood (20 slowloris connections, 256 KB of headers each)"]
fn full_slowloris() {
    // Each new header line makes the request head be scanned again from
    // its start, so time grows with the square of the head size: 2 MB
    // heads on 100 connections do not finish in a debug build.
    let (f, cfg) = slowloris(20, 256 << 10, 1 << 20);
    f.report("slowloris (full)");
    f.check_caps(&cfg);
}

#[test]
#[ignore = "full-size flood (20 connections, 16 MB each)"]
fn full_tls_16mb() {
    let (f, cfg) = tls_claims_16mb(20, 16 << 20, 1 << 20);
    f.report("tls 16 MB hello (full)");
    f.check_caps(&cfg);
    assert_eq!(f.s.stats.tcp.stream.depth_reached, 20);
}

#[test]
fn random_sources_are_unicast() {
    let mut rng = Rng::new(9);
    for _ in 0..1000 {
        let a = Ipv4Addr::from(random_v4(&mut rng));
        assert!(!a.is_unspecified() && !a.is_multicast() && !a.is_broadcast());
    }
}
