//! HTTP transaction processing end to end inside the app layer: a
//! keep-alive connection's request and response bytes, cut into 1448-byte
//! segments, through detection, the HTTP state machine and transaction
//! retirement (bytes/s over both directions).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use tapwatch_engine::applayer::{AppLayer, Direction};

fn transcript(n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut req = Vec::new();
    let mut resp = Vec::new();
    for i in 0..n {
        req.extend_from_slice(
            format!(
                "GET /api/products?page={i} HTTP/1.1\r\nHost: shop.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/134.0\r\nAccept: */*\r\n\
Cookie: session=7f2a9c1e44b0\r\nConnection: keep-alive\r\n\r\n"
            )
            .as_bytes(),
        );
        let body = vec![b'x'; 4000 + i % 3 * 1000];
        resp.extend_from_slice(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        resp.extend_from_slice(&body);
    }
    (req, resp)
}

fn http_transactions(c: &mut Criterion) {
    let (req, resp) = transcript(64);
    let mut g = c.benchmark_group("applayer");
    g.throughput(Throughput::Bytes((req.len() + resp.len()) as u64));
    g.bench_function("http_keepalive_64_tx", |b| {
        b.iter(|| {
            let mut app = AppLayer::default();
            let mut r = req.chunks(1448);
            let mut s = resp.chunks(1448);
            loop {
                let a = r.next();
                let b = s.next();
                if a.is_none() && b.is_none() {
                    break;
                }
                if let Some(a) = a {
                    app.on_stream(Direction::ToServer, a, false, false, 80);
                }
                if let Some(b) = b {
                    app.on_stream(Direction::ToClient, b, false, false, 80);
                }
            }
            app.on_flow_end();
            black_box(app.done.len())
        })
    });
    g.finish();
}

criterion_group!(benches, http_transactions);
criterion_main!(benches);
