//! The whole packet path: a sequence of frames through the reader's decode,
//! dedup and defrag, then a worker's flow table, TCP reassembly, app-layer
//! parsers, detection and EVE output, as the replay pipeline drives them.
//!
//! Input: one configuration byte, then records `[ctl][len u16 le][frame]`.
//! `ctl` advances packet time (bits 0-5: that many steps of 250 ms; bit 6:
//! a jump of ten minutes, so flows time out; bit 7: the frame is raw IP).
//! The configuration byte picks small limits so that the memcaps, the flow
//! table limit and the defrag limits are reached.
#![no_main]

use crossbeam_channel::unbounded;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use tapwatch_engine::decode::{decode, DecodeStats, LinkType};
use tapwatch_engine::dedup::Dedup;
use tapwatch_engine::defrag::Defrag;
use tapwatch_engine::detect::{defrag_events, FrameInfo, Worker};
use tapwatch_engine::stream::StreamMem;
use tapwatch_engine::EngineConfig;
use tapwatch_rules::{Classifications, EventSet, RuleSet, RuleSetBuilder, Vars};

/// Rules over every kind of buffer the worker fills.
const RULES: &str = r#"
alert tcp any any -> any any (msg:"raw"; content:"GET"; sid:1;)
alert tcp any any -> any any (msg:"stream"; flow:established,to_server; content:"passwd"; nocase; sid:2;)
alert http any any -> any any (msg:"uri"; http.uri; content:"/etc"; sid:3;)
alert http any any -> any any (msg:"host"; http.host; content:"example"; sid:4;)
alert tls any any -> any any (msg:"sni"; tls.sni; content:"evil"; sid:5;)
alert dns any any -> any any (msg:"dns"; dns.query; content:"evil"; nocase; sid:6;)
alert udp any any -> any any (msg:"udp"; content:"|00 01|"; depth:4; sid:7;)
alert icmp any any -> any any (msg:"icmp"; itype:8; sid:8;)
alert tcp any any -> any any (msg:"pcre"; pcre:"/a[bc]+d/i"; sid:9;)
alert pgsql any any -> any any (msg:"pg"; content:"select"; nocase; sid:10;)
alert tcp any any -> any any (msg:"flowbits set"; content:"USER"; flowbits:set,u; flowbits:noalert; sid:11;)
alert tcp any any -> any any (msg:"flowbits isset"; content:"PASS"; flowbits:isset,u; sid:12;)
"#;

fn rules() -> Arc<RuleSet> {
    static SET: OnceLock<Arc<RuleSet>> = OnceLock::new();
    SET.get_or_init(|| {
        let mut b = RuleSetBuilder::new(Vars::default(), Classifications::bundled());
        b.add_text("pipeline.rules", RULES);
        Arc::new(b.build().0)
    })
    .clone()
}

fn config(sel: u8) -> EngineConfig {
    let mut cfg = EngineConfig::default();
    cfg.workers = 1;
    // A small table keeps each run cheap; it is still reached by inputs
    // with many flows.
    cfg.flow.max_flows = 256;
    cfg.decode.checksum_validate = sel & 0x01 != 0;
    cfg.stream.midstream = sel & 0x02 != 0;
    cfg.stream.async_oneside = sel & 0x04 != 0;
    cfg.dedup.enabled = sel & 0x08 != 0;
    cfg.dedup.slots = 64;
    cfg.defrag.enabled = sel & 0x10 != 0;
    if sel & 0x20 != 0 {
        // Small limits: the caps themselves are what is exercised.
        cfg.flow.max_flows = 8;
        cfg.stream.memcap = 4096;
        cfg.stream.depth = 512;
        cfg.stream.max_held_bytes = 1024;
        cfg.stream.max_held_segments = 4;
        cfg.defrag.memcap = 2048;
        cfg.defrag.max_trackers = 2;
        cfg.defrag.max_frags = 4;
    }
    cfg.eve.payload = sel & 0x40 != 0;
    cfg.eve.packet = sel & 0x40 != 0;
    cfg.eve.payload_printable = sel & 0x80 != 0;
    cfg
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let cfg = Arc::new(config(sel));
    let (tx, rx) = unbounded();
    let mem = StreamMem::new(cfg.stream.memcap);
    let mut worker = Worker::with_mem(cfg.clone(), rules(), tx, mem.clone());
    worker.set_reader_defrags(cfg.defrag.enabled);
    let mut defrag = cfg.defrag.enabled.then(|| Defrag::new(&cfg.defrag));
    let mut dedup = cfg.dedup.enabled.then(|| Dedup::new(&cfg.dedup));
    let mut scratch = DecodeStats::default();
    let mut ts_ns: u64 = 1_768_471_200_000_000_000;
    let mut pcap_cnt = 0;
    let mut whole = Vec::new();

    while let [ctl, l0, l1, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*l0, *l1])).min(tail.len());
        let (frame, next) = tail.split_at(len);
        rest = next;
        ts_ns += u64::from(ctl & 0x3f) * 250_000_000;
        if ctl & 0x40 != 0 {
            ts_ns += 600_000_000_000;
        }
        let link = if ctl & 0x80 != 0 {
            LinkType::Raw
        } else {
            LinkType::Ethernet
        };
        pcap_cnt += 1;
        let mut info = FrameInfo {
            ts_ns,
            pcap_cnt,
            link,
            orig_len: frame.len() as u32,
            events: EventSet::EMPTY,
        };
        let mut duplicate = false;
        whole.clear();
        if let Ok(p) = decode(link, frame, &cfg.decode, &mut scratch) {
            if let Some(d) = dedup.as_mut() {
                duplicate = d.is_duplicate(&p, ts_ns);
            }
            if let (true, Some(d)) = (p.is_fragment, defrag.as_mut()) {
                let before = d.stats.clone();
                if let Some(dgram) = d.insert(&p, ts_ns) {
                    whole.extend_from_slice(dgram);
                }
                info.events = defrag_events(&p, &before, &d.stats);
                assert!(d.memuse() <= cfg.defrag.memcap, "defrag memuse over its cap");
                assert!(
                    d.trackers() <= cfg.defrag.max_trackers,
                    "defrag trackers over the limit"
                );
            }
        }
        if !duplicate {
            worker.process(&info, frame);
        }
        if !whole.is_empty() {
            let info = FrameInfo {
                link: LinkType::Raw,
                orig_len: whole.len() as u32,
                events: EventSet::EMPTY,
                ..info
            };
            worker.process(&info, &whole);
        }
        assert!(mem.used() <= mem.cap(), "reassembly memory over the memcap");
        // Keep the output channel from growing across a long input.
        while rx.try_recv().is_ok() {}
    }
    let (_stats, lost) = worker.finish();
    assert_eq!(lost, 0);
    // Every flow has ended: its reassembly memory must be given back.
    assert_eq!(
        mem.used(),
        0,
        "reassembly memory still held after every flow ended"
    );
    for rec in rx.try_iter() {
        assert!(
            serde_json::from_slice::<serde_json::Value>(&rec).is_ok(),
            "EVE record is not JSON"
        );
    }
});
