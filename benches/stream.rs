//! TCP reassembly alone: one direction of 16 MiB in 1448-byte segments,
//! in order and with 10% of adjacent segment pairs swapped (as a mirror
//! under load delivers them), through `StreamDir::on_segment` with a sink
//! that touches every delivered window.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use tapwatch_engine::config::StreamConfig;
use tapwatch_engine::stream::{Chunk, Segment, StreamCounters, StreamCtx, StreamDir, StreamMem};
use tapwatch_gen::Rng;

const MSS: usize = 1448;
const TOTAL: usize = 16 << 20;
const ISN: u32 = 0xfff0_0000; // wraps part-way through

fn segments(reorder_permille: u32) -> Vec<(u32, std::ops::Range<usize>)> {
    let mut v: Vec<(u32, std::ops::Range<usize>)> = (0..TOTAL)
        .step_by(MSS)
        .map(|off| {
            let end = (off + MSS).min(TOTAL);
            (ISN.wrapping_add(1).wrapping_add(off as u32), off..end)
        })
        .collect();
    let mut rng = Rng::new(42);
    let mut i = 0;
    while i + 1 < v.len() {
        if rng.chance_permille(reorder_permille) {
            v.swap(i, i + 1);
            i += 2;
        } else {
            i += 1;
        }
    }
    v
}

fn run(data: &[u8], segs: &[(u32, std::ops::Range<usize>)], cfg: &StreamConfig) -> u64 {
    let mem = StreamMem::new(cfg.memcap);
    let mut counters = StreamCounters::default();
    let mut dir = StreamDir::default();
    dir.on_syn(ISN);
    let mut seen = 0u64;
    for (seq, r) in segs {
        let mut ctx = StreamCtx {
            cfg,
            mem: &mem,
            now_ns: 0,
            counters: &mut counters,
        };
        let seg = Segment {
            seq: *seq,
            data: &data[r.clone()],
            ..Segment::default()
        };
        dir.on_segment(&seg, &mut ctx, &mut |c| {
            if let Chunk::Data { window, new_from } = c {
                seen += (window.len() - new_from) as u64 + u64::from(black_box(window[new_from]));
            }
        });
    }
    dir.release();
    seen
}

fn bench(c: &mut Criterion) {
    let data: Vec<u8> = (0..TOTAL).map(|i| (i * 7 + i / 251) as u8).collect();
    let cfg = StreamConfig {
        depth: 0,
        ..StreamConfig::default()
    };
    let mut g = c.benchmark_group("reassembly");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(TOTAL as u64));
    for (name, permille) in [("in_order", 0), ("reordered_10pct", 100)] {
        let segs = segments(permille);
        g.bench_function(name, |b| b.iter(|| black_box(run(&data, &segs, &cfg))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
