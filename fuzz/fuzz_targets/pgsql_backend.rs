//! Fuzz the PostgreSQL server-side parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapwatch_parsers::pgsql::{fields, parse_backend, sasl_mechanisms, Backend};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok((r, m)) = parse_backend(rest) {
        assert!(r.len() < rest.len());
        match m {
            Backend::ErrorResponse(b) | Backend::NoticeResponse(b) => {
                let _ = fields(b).count();
            }
            Backend::Authentication { data, .. } => {
                let _ = sasl_mechanisms(data).count();
            }
            _ => {}
        }
        rest = r;
    }
});
