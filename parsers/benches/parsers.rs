//! Parser throughput (bytes/s) on messages built the way real clients and
//! servers send them, grouped by protocol.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use tapwatch_parsers::{dns, http1, pgsql, tls};

const REQUEST: &[u8] = b"GET /api/products?page=2&sort=price HTTP/1.1\r\n\
Host: shop.example.com\r\n\
User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:134.0) Gecko/20100101 Firefox/134.0\r\n\
Accept: application/json, text/plain, */*\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Referer: http://shop.example.com/\r\n\
Cookie: session=7f2a9c1e44b0; theme=dark\r\n\
Connection: keep-alive\r\n\r\n";

fn http(c: &mut Criterion) {
    let mut g = c.benchmark_group("http1");
    g.throughput(Throughput::Bytes(REQUEST.len() as u64));
    g.bench_function("request_head", |b| {
        b.iter(|| {
            let (rest, rl) = http1::parse_request_line(black_box(REQUEST)).unwrap();
            let (_, h) = http1::parse_headers(rest).unwrap();
            black_box((rl.uri, h.iter().count(), h.get(b"host")))
        })
    });
    const URI: &[u8] = b"/a/./b/../c%20d/e?x=1";
    g.throughput(Throughput::Bytes(URI.len() as u64));
    let mut out = Vec::with_capacity(64);
    g.bench_function("normalize_uri", |b| {
        b.iter(|| {
            http1::normalize_uri(black_box(URI), &mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

fn client_hello() -> Vec<u8> {
    let mut exts = vec![0, 0, 0, 21, 0, 19, 0, 0, 16];
    exts.extend_from_slice(b"api.example.com.");
    exts.extend_from_slice(&[0, 16, 0, 14, 0, 12, 2, b'h', b'2', 8]);
    exts.extend_from_slice(b"http/1.1");
    exts.extend_from_slice(&[0, 43, 0, 5, 4, 3, 4, 3, 3]);
    exts.extend_from_slice(&[0, 10, 0, 8, 0, 6, 0, 0x1d, 0, 0x17, 0, 0x18]);
    let mut body = vec![3, 3];
    body.extend_from_slice(&[9u8; 32]);
    body.push(32);
    body.extend_from_slice(&[1u8; 32]);
    body.extend_from_slice(&[0, 32]);
    for s in 0..16u16 {
        body.extend_from_slice(&(0xc000 + s).to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut hs = vec![1];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![22, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

fn tls_bench(c: &mut Criterion) {
    let rec = client_hello();
    let mut g = c.benchmark_group("tls");
    g.throughput(Throughput::Bytes(rec.len() as u64));
    g.bench_function("client_hello", |b| {
        b.iter(|| {
            let (_, r) = tls::parse_record(black_box(&rec)).unwrap();
            let (_, hs) = tls::parse_handshake(r.fragment).unwrap();
            let ch = tls::parse_client_hello(hs.body).unwrap();
            black_box((ch.sni(), ch.ciphers().count(), ch.supported_versions().count()))
        })
    });
    g.finish();
}

fn pgsql_bench(c: &mut Criterion) {
    let mut stream = Vec::new();
    for n in 0..32 {
        let q = format!("SELECT id, name, price FROM products WHERE id = {n}\0");
        stream.push(b'Q');
        stream.extend_from_slice(&((q.len() + 4) as u32).to_be_bytes());
        stream.extend_from_slice(q.as_bytes());
    }
    let mut g = c.benchmark_group("pgsql");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("frontend_queries", |b| {
        b.iter(|| {
            let mut rest: &[u8] = black_box(&stream);
            let mut n = 0;
            while let Ok((r, _)) = pgsql::parse_frontend(rest) {
                rest = r;
                n += 1;
            }
            n
        })
    });
    g.finish();
}

const DNS_RESPONSE: &[u8] = &[
    0xab, 0xcd, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0, 3, b'w', b'w', b'w', 7, b'e', b'x', b'a', b'm', b'p',
    b'l', b'e', 3, b'c', b'o', b'm', 0, 0, 1, 0, 1, 0xc0, 12, 0, 5, 0, 1, 0, 0, 0x0e, 0x10, 0, 6, 3, b'c',
    b'd', b'n', 0xc0, 16, 0xc0, 45, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, 34,
];

fn dns_bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("dns");
    g.throughput(Throughput::Bytes(DNS_RESPONSE.len() as u64));
    let mut name = Vec::with_capacity(256);
    g.bench_function("response", |b| {
        b.iter(|| {
            let m = dns::parse_message(black_box(DNS_RESPONSE)).unwrap();
            name.clear();
            for r in m.answers() {
                r.name.write_dotted(&mut name);
                black_box(r.rdata());
            }
            name.len()
        })
    });
    g.finish();
}

criterion_group!(benches, http, tls_bench, pgsql_bench, dns_bench);
criterion_main!(benches);
