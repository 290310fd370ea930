//! Fuzz the PostgreSQL client-side parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapwatch_parsers::pgsql::{params, parse_frontend, parse_startup, Startup};

fuzz_target!(|data: &[u8]| {
    if let Ok((_, Startup::Startup { params: p, .. })) = parse_startup(data) {
        let _ = params(p).count();
    }
    let mut rest = data;
    while let Ok((r, _)) = parse_frontend(rest) {
        assert!(r.len() < rest.len());
        rest = r;
    }
});
