//! Fuzz the TLS record and handshake parsers and every accessor.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapwatch_parsers::tls::{
    parse_certificate, parse_client_hello, parse_handshake, parse_record, parse_server_hello,
};

fuzz_target!(|data: &[u8]| {
    let _ = parse_record(data);
    if let Ok((_, hs)) = parse_handshake(data) {
        if let Ok(ch) = parse_client_hello(hs.body) {
            let _ = (
                ch.ciphers().count(),
                ch.extensions().count(),
                ch.sni(),
                ch.alpn().count(),
            );
            let _ = (
                ch.supported_versions().count(),
                ch.groups().count(),
                ch.ec_point_formats(),
            );
        }
        if let Ok(sh) = parse_server_hello(hs.body) {
            let _ = (sh.extensions().count(), sh.negotiated_version());
        }
        if let Ok(c) = parse_certificate(hs.body) {
            let _ = c.chain().count();
        }
    }
});
