//! Rule text is hostile input: loading any bytes must never panic, and the
//! resulting set must match a packet (here: the same bytes) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tapwatch_rules::{BufferId, Classifications, PacketCtx, PacketFields, RuleSetBuilder, Vars};

/// The bundled classification table, parsed once.
fn classes() -> Classifications {
    static C: OnceLock<Classifications> = OnceLock::new();
    C.get_or_init(Classifications::bundled).clone()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut builder = RuleSetBuilder::new(Vars::default(), classes());
    builder.add_text("fuzz.rules", text);
    let (set, report) = builder.build();
    assert_eq!(set.len(), report.loaded);
    assert_eq!(report.errors.len(), report.failed);

    let half = data.len() / 2;
    // The same bytes also stand in as app-layer buffers, so sticky-buffer
    // rules are exercised too.
    let app: Vec<(BufferId, &[u8])> = ["http.uri", "http.host", "dns.query", "tls.sni"]
        .iter()
        .filter_map(|n| BufferId::from_name(n))
        .map(|b| (b, data))
        .collect();
    for (proto, is_stream) in [(6u8, false), (6, true), (17, false), (1, false)] {
        let ctx = PacketCtx {
            ip_proto: proto,
            src_ip: [10, 0, 0, 1].into(),
            dst_ip: [192, 168, 1, 1].into(),
            src_port: 40000,
            dst_port: 80,
            ttl: 64,
            tcp_flags: (proto == 6).then_some(0x18),
            icmp_type_code: (proto == 1).then_some((8, 0)),
            dsize: data.len(),
            has_flow: true,
            to_server: true,
            established: true,
            app_proto: Some("http"),
            buffer: data,
            new_from: if is_stream { half } else { 0 },
            is_stream,
            app_buffers: &app,
            fields: PacketFields::default(),
        };
        let mut scratch = set.new_scratch();
        let mut hits = Vec::new();
        set.match_packet(&ctx, &mut scratch, &mut hits);
        assert!(hits.windows(2).all(|w| w[0] < w[1]));
    }
});
