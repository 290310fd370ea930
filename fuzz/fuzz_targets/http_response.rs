//! Fuzz the HTTP status line and header parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapwatch_parsers::http1::{parse_chunk_end, parse_headers, parse_status_line};

fuzz_target!(|data: &[u8]| {
    if let Ok((rest, sl)) = parse_status_line(data) {
        let _ = sl.code();
        if let Ok((body, h)) = parse_headers(rest) {
            let _ = h.iter().count();
            let _ = parse_chunk_end(body);
        }
    }
});
