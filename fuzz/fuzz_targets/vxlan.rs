//! Fuzz the VXLAN parser; a parsed header must serialize back to its input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapwatch_parsers::parse_vxlan;

fuzz_target!(|data: &[u8]| {
    if let Ok((inner, hdr)) = parse_vxlan(data) {
        assert_eq!(inner.len() + 8, data.len());
        let bytes = hdr.to_bytes();
        assert_eq!(bytes[0], data[0]);
        assert_eq!(bytes[4..7], data[4..7]);
    }
});
