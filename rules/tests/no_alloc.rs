//! The packet path allocates nothing once a worker's scratch is warm.
//! A counting global allocator watches `match_packet` over a mixed workload.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use tapwatch_rules::{Classifications, FlowVars, PacketCtx, RuleSetBuilder, Vars, XbitState};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to the system allocator unchanged; it only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const RULES: &str = r#"
alert tcp any any -> any 80 (msg:"get"; content:"GET "; depth:4; content:"/admin"; distance:0; sid:1;)
alert tcp any any -> any any (msg:"host"; content:"host|3a|"; nocase; content:"evil"; nocase; within:20; sid:2;)
alert ip any any -> any any (msg:"ttl"; ttl:<5; sid:3;)
alert tcp any any -> any any (msg:"syn"; flags:S,CE; sid:4;)
alert udp any any -> any 53 (msg:"dns"; content:"|07|example|03|com|00|"; nocase; fast_pattern; sid:5;)
alert tcp any any -> any any (msg:"neg"; content:"User-Agent|3a|"; content:!"Mozilla"; distance:0; sid:6;)
alert icmp any any -> any any (msg:"ping"; itype:8; dsize:>10; sid:7;)
alert tcp any any -> any any (msg:"stream"; flow:established,to_server; content:"a"; content:"a"; distance:0; content:"b"; distance:0; sid:8;)
alert tcp any any -> any any (msg:"pcre2"; content:"GET "; pcre:"/^GET \/(?!index)\w+\/login/"; sid:9;)
alert tcp any any -> any any (msg:"base64"; content:"Basic "; base64_decode:relative; base64_data; content:"admin"; sid:10;)
alert tcp any any -> any any (msg:"state"; content:"GET"; xbits:set,x,track ip_src; flowint:n,+,1; flowbits:set,b; sid:11;)
alert tcp any any -> any any (msg:"state read"; content:"GET"; xbits:isset,x,track ip_src; flowbits:isset,b; sid:12;)
"#;

#[test]
fn match_packet_does_not_allocate_when_warm() {
    let mut b = RuleSetBuilder::new(Vars::default(), Classifications::bundled());
    b.add_text("t.rules", RULES);
    let (set, report) = b.build();
    assert_eq!(report.failed, 0, "{:?}", report.errors);
    let payloads: [&[u8]; 5] = [
        b"GET /admin/loginha HTTP/1.1\r\nHost: EVIL.example\r\nUser-Agent: curl\r\nAuthorization: Basic YWRtaW46cHc=\r\n\r\n",
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07EXAMPLE\x03com\x00\x00\x01\x00\x01",
        b"",
        &[b'a'; 3000],
        b"ping payload 0123456789",
    ];
    let mut scratch = set.new_scratch();
    let mut hits = Vec::with_capacity(set.len());
    let mut flow = FlowVars::default();
    let mut xbits = XbitState::default();
    let mut run = |count: &mut usize| {
        for (i, data) in payloads.iter().enumerate() {
            for proto in [6u8, 17, 1] {
                let ctx = PacketCtx {
                    ip_proto: proto,
                    src_ip: [10, 0, 0, 1].into(),
                    dst_ip: [10, 0, 0, 2].into(),
                    src_port: 40000,
                    dst_port: if proto == 17 { 53 } else { 80 },
                    ttl: 3,
                    tcp_flags: (proto == 6).then_some(0x02),
                    icmp_type_code: (proto == 1).then_some((8, 0)),
                    dsize: data.len(),
                    has_flow: true,
                    to_server: true,
                    established: true,
                    app_proto: None,
                    buffer: data,
                    new_from: if i % 2 == 1 { data.len() / 2 } else { 0 },
                    is_stream: i % 2 == 1,
                    app_buffers: &[],
                    fields: Default::default(),
                };
                set.match_packet_state(&ctx, &mut scratch, &mut hits, Some(&mut flow), Some(&mut xbits));
                *count += hits.len();
            }
        }
    };
    // Two warm-up passes: state the first pass sets (flowbits, flowints,
    // xbits) changes which rules match on the second.
    let mut warm = 0;
    run(&mut warm);
    run(&mut warm);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut total = 0;
    for _ in 0..100 {
        run(&mut total);
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(after - before, 0, "match_packet allocated in steady state");
    assert_eq!(total, warm * 50);
    // The pcre2, base64 and state rules are part of it.
    let ctx = PacketCtx {
        ip_proto: 6,
        src_ip: [10, 0, 0, 1].into(),
        dst_ip: [10, 0, 0, 2].into(),
        src_port: 40000,
        dst_port: 80,
        ttl: 64,
        tcp_flags: Some(0x18),
        icmp_type_code: None,
        dsize: payloads[0].len(),
        has_flow: true,
        to_server: true,
        established: true,
        app_proto: None,
        buffer: payloads[0],
        new_from: 0,
        is_stream: false,
        app_buffers: &[],
        fields: Default::default(),
    };
    let mut flow = FlowVars::default();
    let mut xbits = XbitState::default();
    for _ in 0..2 {
        set.match_packet_state(&ctx, &mut scratch, &mut hits, Some(&mut flow), Some(&mut xbits));
    }
    let sids: Vec<u32> = hits.iter().map(|&i| set.meta(i).sid).collect();
    for sid in [9, 10, 11, 12] {
        assert!(sids.contains(&sid), "{sids:?}");
    }
    assert!(warm > 5, "the workload should hit rules ({warm})");
}
