//! Fuzz the capture reader: any bytes must end in frames, `None` or an error,
//! never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapwatch_engine::ingress::PcapReader;

fuzz_target!(|data: &[u8]| {
    let len = data.len();
    let Ok(mut reader) = PcapReader::from_reader("fuzz", std::io::Cursor::new(data.to_vec())) else {
        return;
    };
    // Each frame or recoverable error consumes at least 12 bytes.
    for _ in 0..=len / 12 + 2 {
        match reader.next_frame() {
            Ok(None) => return,
            Ok(Some(frame)) => assert!(frame.data.len() <= tapwatch_engine::ingress::MAX_CAPLEN),
            Err(e) if e.is_recoverable() => {}
            Err(_) => return,
        }
    }
    panic!("reader did not finish");
});
