//! The committed `examples/sample-mirror.pcap` is exactly what `sample()`
//! writes, so the file, the generator and the documented alerts never drift.

use tapwatch_gen::{sample, write_pcap};

#[test]
fn committed_sample_matches_the_generator() {
    let committed = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sample-mirror.pcap");
    let want = std::fs::read(committed).expect("examples/sample-mirror.pcap");
    let dir = std::env::temp_dir().join(format!("tapwatch-gen-sample-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sample.pcap");
    write_pcap(&path, &sample()).unwrap();
    let got = std::fs::read(&path).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(got.len() < 1024 * 1024);
    assert!(
        got == want,
        "examples/sample-mirror.pcap is stale: regenerate it with `cargo run -p tapwatch-gen --bin mirrorgen -- sample examples/sample-mirror.pcap`"
    );
}
