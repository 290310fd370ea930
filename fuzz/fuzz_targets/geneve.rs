//! Fuzz the GENEVE parser and its option iterator.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapwatch_parsers::parse_geneve;

fuzz_target!(|data: &[u8]| {
    if let Ok((inner, hdr)) = parse_geneve(data) {
        assert_eq!(inner.len() + 8 + hdr.opt_len_bytes, data.len());
        assert_eq!(hdr.options.len(), hdr.opt_len_bytes);
        // Each option is at least 4 bytes, so the walk is bounded.
        assert!(hdr.options().count() <= hdr.opt_len_bytes / 4);
        let fixed = hdr.fixed_bytes();
        assert_eq!(fixed[2..7], data[2..7]);
    }
});
