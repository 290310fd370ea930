//! Fuzz the HTTP request head parsers and URI normalisation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapwatch_parsers::http1::{normalize_uri, parse_chunk_size, parse_headers, parse_request_line};

fuzz_target!(|data: &[u8]| {
    if let Ok((rest, rl)) = parse_request_line(data) {
        let mut out = Vec::new();
        normalize_uri(rl.uri, &mut out);
        if let Ok((_, h)) = parse_headers(rest) {
            for f in h.iter() {
                let _ = f.value_parts().count();
            }
            let _ = h.summary();
        }
    }
    let _ = parse_chunk_size(data);
});
