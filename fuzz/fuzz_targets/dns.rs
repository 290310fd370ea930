//! Fuzz the DNS message parser, following every name and record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapwatch_parsers::dns::{parse_message, parse_tcp_frame, txt_strings, Rdata};

fuzz_target!(|data: &[u8]| {
    let msg = match parse_tcp_frame(data) {
        Ok((_, body)) => body,
        Err(_) => data,
    };
    if let Ok(m) = parse_message(msg) {
        for q in m.questions() {
            let _ = q.name.to_dotted();
        }
        for r in m.answers().chain(m.authorities()).chain(m.additionals()) {
            let _ = r.name.to_dotted();
            if let Rdata::Txt(t) = r.rdata() {
                let _ = txt_strings(t).count();
            }
        }
    }
});
