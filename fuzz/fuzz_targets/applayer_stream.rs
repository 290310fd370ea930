//! Fuzz the app-layer state machines: the input is cut into segments of
//! both directions (each segment's first byte picks direction, gap and
//! length), fed through detection and the HTTP/TLS/PostgreSQL/DNS states.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapwatch_engine::applayer::{AppLayer, Direction};

fuzz_target!(|data: &[u8]| {
    let mut app = AppLayer::default();
    let port = match data.first() {
        Some(b) => [80u16, 443, 5432, 53][usize::from(b & 3)],
        None => return,
    };
    let mut rest = &data[1..];
    while let Some((&ctl, r)) = rest.split_first() {
        let n = usize::from(ctl >> 2).min(r.len());
        let dir = if ctl & 1 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        app.on_stream(dir, &r[..n], false, ctl & 2 != 0, port);
        rest = &r[n..];
    }
    app.on_flow_end();
    let _ = app.current_tx();
});
