//! Whole replay path: pcap read → decode/decap → dispatch → flows → stream
//! → detection → EVE, on a generated mirror capture with the bundled rules.
//!
//! `TAPWATCH_BENCH_MB` sets the capture size (default 32).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::PathBuf;
use std::sync::Arc;
use tapwatch_engine::output::EveTarget;
use tapwatch_engine::EngineConfig;
use tapwatch_gen::{workload, PcapWriter, WorkloadOpts};
use tapwatch_rules::{Classifications, RuleSetBuilder, Vars};

fn capture(dir: &std::path::Path, mb: u64) -> PathBuf {
    let path = dir.join(format!("bench-{mb}mb.pcap"));
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut w = PcapWriter::new(file, 1, false).unwrap();
    let opts = WorkloadOpts {
        target_bytes: mb << 20,
        seed: 1,
        truncate: None,
        geneve: false,
        reorder_permille: 0,
        attack_permille: 5,
        connections_in_flight: 256,
    };
    for f in workload(&opts) {
        w.write_with_orig_len(f.ts_ns, &f.data, f.orig_len).unwrap();
    }
    w.into_inner().unwrap();
    path
}

fn bench_replay(c: &mut Criterion) {
    let mb: u64 = std::env::var("TAPWATCH_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let dir = tempfile::tempdir().unwrap();
    let pcap = capture(dir.path(), mb);
    let bytes = std::fs::metadata(&pcap).unwrap().len();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/etc/tapwatch.rules")).unwrap();
    let mut b = RuleSetBuilder::new(Vars::default(), Classifications::bundled());
    b.add_text("tapwatch.rules", &text);
    let (rules, _) = b.build();
    let rules = Arc::new(rules);
    let eve = EveTarget::File(dir.path().join("eve.json"));

    let mut g = c.benchmark_group("replay");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));
    for workers in [1usize, 2] {
        let cfg = EngineConfig {
            workers,
            ..EngineConfig::default()
        };
        g.bench_function(format!("bundled-rules/{mb}MB/workers={workers}"), |bch| {
            bch.iter(|| {
                let _ = std::fs::remove_file(dir.path().join("eve.json"));
                tapwatch_engine::replay(std::slice::from_ref(&pcap), &cfg, rules.clone(), &eve, None).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_replay);
criterion_main!(benches);
