//! The worker's packet path allocates nothing per packet once a flow is
//! warm: a counting global allocator watches `Worker::process` over the
//! middle of long TCP and UDP conversations (decode, flow lookup, stream
//! reassembly, raw-stream and packet detection with rules loaded).

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::Arc;
use tapwatch_engine::detect::{FrameInfo, Worker};
use tapwatch_engine::ingress::LinkType;
use tapwatch_engine::EngineConfig;
use tapwatch_gen::TcpConn;
use tapwatch_rules::{Classifications, RuleSetBuilder, Vars};

struct Counting;

thread_local! {
    /// Allocations of this thread while it is watched (`None`: not watched),
    /// so tests running side by side do not count each other's.
    static ALLOCATIONS: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|a| {
        if let Some(n) = a.get() {
            a.set(Some(n + 1));
        }
    });
}

// SAFETY: every method forwards to the system allocator unchanged; it only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const RULES: &str = r#"
alert tcp any any -> any any (msg:"raw"; flow:established,to_server; content:"secret-token"; sid:1;)
alert tcp any any -> any any (msg:"two"; content:"abc"; content:"never-there"; distance:0; sid:2;)
alert tcp any any -> any any (msg:"neg"; content:"request"; content:"zzz"; within:30; sid:6;)
alert udp any any -> any any (msg:"udp"; content:"beacon"; nocase; sid:3;)
alert udp any any -> any any (msg:"udp2"; content:"datagram"; content:"beacon"; distance:0; sid:7;)
alert ip any any -> any any (msg:"ttl"; ttl:<2; sid:4;)
alert tcp any any -> any 5555 (msg:"port"; flags:S; sid:5;)
"#;

fn worker() -> (Worker, crossbeam_channel::Receiver<Vec<u8>>) {
    let mut b = RuleSetBuilder::new(Vars::default(), Classifications::bundled());
    b.add_text("t.rules", RULES);
    let (rules, report) = b.build();
    assert_eq!(report.failed, 0, "{:?}", report.errors);
    let cfg = EngineConfig {
        workers: 1,
        ..EngineConfig::default()
    };
    let (tx, rx) = crossbeam_channel::unbounded();
    (Worker::new(Arc::new(cfg), Arc::new(rules), tx), rx)
}

fn info(i: usize, ts_ns: u64) -> FrameInfo {
    FrameInfo {
        ts_ns,
        pcap_cnt: i as u64,
        link: LinkType::Ethernet,
        orig_len: 0,
        events: tapwatch_rules::EventSet::EMPTY,
    }
}

/// Allocations made by `w.process` over `frames`.
fn allocations(w: &mut Worker, frames: &[tapwatch_gen::Frame], first: usize) -> usize {
    ALLOCATIONS.with(|a| a.set(Some(0)));
    for (i, f) in frames.iter().enumerate() {
        w.process(&info(first + i, f.ts_ns), &f.data);
    }
    ALLOCATIONS.with(|a| a.take()).unwrap_or(0)
}

/// A long exchange on a port no parser claims: only the stream and the
/// raw-stream rules see it.
fn tcp_frames() -> Vec<tapwatch_gen::Frame> {
    let client: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    let server: SocketAddr = "10.0.0.2:5555".parse().unwrap();
    let mut c = TcpConn::new(client, server, 1_000_000_000);
    c.handshake();
    for i in 0..400u32 {
        // Candidates for sids 2 and 6 whose verification fails: no alert.
        let req = format!("request {i} abc padding {}\n", "q".repeat(200));
        c.client_send(req.as_bytes());
        c.pause(1_000_000);
        c.server_send(&vec![b'r'; 1200]);
        c.pause(1_000_000);
    }
    c.close();
    c.into_frames()
}

#[test]
fn warm_tcp_flow_allocates_nothing_per_packet() {
    let (mut w, _rx) = worker();
    let frames = tcp_frames();
    assert!(frames.len() > 1000);
    // Warm up: the handshake and the first exchanges size every buffer.
    let (warm, rest) = frames.split_at(400);
    assert!(allocations(&mut w, warm, 0) > 0);
    // The middle of the conversation, not its close (which logs the flow).
    let middle = &rest[..rest.len() - 10];
    let n = allocations(&mut w, middle, warm.len());
    assert_eq!(n, 0, "{n} allocations over {} warm packets", middle.len());
}

#[test]
fn warm_udp_flow_allocates_nothing_per_packet() {
    let (mut w, _rx) = worker();
    let client: SocketAddr = "10.0.0.1:5353".parse().unwrap();
    let server: SocketAddr = "10.0.0.2:7777".parse().unwrap();
    let frames: Vec<tapwatch_gen::Frame> = (0..600u64)
        .map(|i| {
            let (s, d) = if i % 2 == 0 {
                (client, server)
            } else {
                (server, client)
            };
            let payload = format!("datagram {i} BEACO payload {}", "u".repeat(100));
            tapwatch_gen::udp_frame(s, d, 1_000_000_000 + i * 1_000_000, payload.as_bytes())
        })
        .collect();
    let (warm, rest) = frames.split_at(100);
    allocations(&mut w, warm, 0);
    let n = allocations(&mut w, rest, warm.len());
    assert_eq!(n, 0, "{n} allocations over {} warm datagrams", rest.len());
}
