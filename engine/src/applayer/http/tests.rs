//! HTTP transaction tests: transcripts fed in every split.

use super::*;
use crate::applayer::{AppLayer, AppProto, Direction::*, Tx};

fn http_txs(app: &AppLayer) -> Vec<&HttpTx> {
    app.done
        .iter()
        .filter_map(|d| match &d.tx {
            Tx::Http(t) => Some(&**t),
            _ => None,
        })
        .collect()
}

const REQS: &[u8] = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n\
POST /b%41/../c HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
GET /d HTTP/1.1\r\nHost: h\r\n\r\n";
const RESPS: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc\
HTTP/1.1 100 Continue\r\n\r\n\
HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n1\r\nz\r\n0\r\n\r\n\
HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";

fn run(split: usize) -> AppLayer {
    let mut app = AppLayer::default();
    for c in REQS.chunks(split) {
        app.on_stream(ToServer, c, false, false, 8080);
    }
    for c in RESPS.chunks(split) {
        app.on_stream(ToClient, c, false, false, 8080);
    }
    app
}

#[test]
fn pipelined_requests_pair_with_responses() {
    let app = run(RESPS.len());
    assert_eq!(app.proto, AppProto::Http);
    let t = http_txs(&app);
    assert_eq!(t.len(), 3);
    assert_eq!(
        (t[0].tx_id, t[0].status, t[0].response_body.as_slice()),
        (0, Some(200), &b"abc"[..])
    );
    assert_eq!(t[1].method, b"POST");
    assert_eq!(t[1].uri, b"/c");
    assert_eq!(t[1].uri_raw, b"/b%41/../c");
    assert_eq!(t[1].request_body, b"hello");
    assert_eq!(t[1].status, Some(201));
    assert_eq!(t[1].response_body, b"xyz");
    // Chunk framing is part of the message length.
    assert_eq!(t[1].response_message_len, 3 + 2 + 2 + 3 + 1 + 2 + 3);
    assert_eq!(t[2].status, Some(404));
    assert!(t.iter().all(|t| !t.truncated));
}

#[test]
fn every_split_gives_the_same_transactions() {
    let whole = run(RESPS.len());
    let want: Vec<_> = http_txs(&whole).iter().map(|t| format!("{t:?}")).collect();
    for split in 1..40 {
        let app = run(split);
        let got: Vec<_> = http_txs(&app).iter().map(|t| format!("{t:?}")).collect();
        assert_eq!(got, want, "split {split}");
    }
}

#[test]
fn truncated_request_is_logged_partial() {
    let mut app = AppLayer::default();
    // Only the first 40 bytes of the segment were captured.
    let seg = b"GET /secret/path?x=1 HTTP/1.1\r\nHost: www.ex";
    app.on_stream(ToServer, &seg[..40], false, true, 80);
    app.on_stream(ToClient, b"HTTP/1.1 200 OK\r\nContent-Le", false, true, 80);
    app.on_flow_end();
    let t = http_txs(&app);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].method, b"GET");
    assert_eq!(t[0].uri, b"/secret/path?x=1");
    assert_eq!(t[0].request_header(b"host"), None);
    assert_eq!(t[0].status, Some(200));
    assert!(t[0].truncated);
}

#[test]
fn resync_after_gap_on_next_request() {
    let mut app = AppLayer::default();
    app.on_stream(
        ToServer,
        b"POST /up HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc",
        false,
        false,
        80,
    );
    // 97 body bytes lost, then a new request in the next segment.
    app.on_stream(ToServer, b"GET /next HTTP/1.1\r\n\r\n", true, false, 80);
    app.on_flow_end();
    let t = http_txs(&app);
    assert_eq!(t.len(), 2);
    assert!(t[0].truncated);
    assert_eq!(t[1].uri, b"/next");
}

#[test]
fn http09_and_close_delimited() {
    let mut app = AppLayer::default();
    app.on_stream(ToServer, b"GET /old\r\n", false, false, 80);
    app.on_stream(
        ToClient,
        b"HTTP/1.0 200 OK\r\n\r\nbody until close",
        false,
        false,
        80,
    );
    app.on_flow_end();
    let t = http_txs(&app);
    assert_eq!(t.len(), 1);
    assert!(t[0].protocol.is_empty());
    assert_eq!(t[0].response_body, b"body until close");
}

#[test]
fn bodies_are_bounded() {
    let mut app = AppLayer::default();
    let head = format!(
        "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        REQUEST_BODY_LIMIT * 2
    );
    app.on_stream(ToServer, head.as_bytes(), false, false, 80);
    let chunk = vec![b'a'; 4096];
    for _ in 0..(REQUEST_BODY_LIMIT * 2 / 4096) {
        app.on_stream(ToServer, &chunk, false, false, 80);
    }
    app.on_flow_end();
    let t = http_txs(&app);
    assert_eq!(t[0].request_body.len(), REQUEST_BODY_LIMIT);
    assert_eq!(
        t[0].request_body_len,
        (REQUEST_BODY_LIMIT * 2 / 4096 * 4096) as u64
    );
}

fn gzip(b: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// A chunked gzip response then a deflate one with Content-Length, in any
/// split: the bodies are the decoded text; the message length stays the
/// bytes as sent.
#[test]
fn gzip_and_deflate_bodies_are_decoded_in_every_split() {
    use std::io::Write;
    let text = b"<p>attack at dawn, attack at dawn</p>".repeat(20);
    let gz = gzip(&text);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(b"second body").unwrap();
    let z = z.finish().unwrap();
    let mut resp =
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for c in gz.chunks(100) {
        resp.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        resp.extend_from_slice(c);
        resp.extend_from_slice(b"\r\n");
    }
    resp.extend_from_slice(b"0\r\n\r\n");
    resp.extend_from_slice(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: {}\r\n\r\n",
            z.len()
        )
        .as_bytes(),
    );
    resp.extend_from_slice(&z);
    let reqs = b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
    for split in [1, 2, 3, 7, 64, 1460, resp.len()] {
        let mut app = AppLayer::default();
        app.on_stream(ToServer, reqs, false, false, 80);
        for c in resp.chunks(split) {
            app.on_stream(ToClient, c, false, false, 80);
        }
        let t = http_txs(&app);
        assert_eq!(t.len(), 2, "split {split}");
        assert_eq!(t[0].response_body, text, "split {split}");
        assert_eq!(t[0].response_coding, Some(content::Coding::Gzip));
        assert_eq!(t[0].response_body_len, gz.len() as u64);
        assert_eq!(t[1].response_body, b"second body");
        assert_eq!(t[1].response_message_len, z.len() as u64);
        assert_eq!((t[0].response_decode_stop, app.anomalies), (None, 0));
    }
}

/// A gzip bomb stops at the response body limit and is counted.
#[test]
fn gzip_bomb_stops_at_the_body_limit() {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..32 {
        e.write_all(&zeros).unwrap();
    }
    let bomb = e.finish().unwrap();
    let mut app = AppLayer::default();
    app.on_stream(ToServer, b"GET /z HTTP/1.1\r\nHost: h\r\n\r\n", false, false, 80);
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        bomb.len()
    );
    app.on_stream(ToClient, head.as_bytes(), false, false, 80);
    for c in bomb.chunks(1448) {
        app.on_stream(ToClient, c, false, false, 80);
    }
    let t = http_txs(&app);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].response_body.len(), RESPONSE_BODY_LIMIT);
    assert_eq!(t[0].response_decode_stop, Some(content::Stop::Limit));
    assert_eq!(t[0].response_message_len, bomb.len() as u64);
    assert_eq!(app.anomalies, 1);
}

/// CONNECT answered 200: the HTTP transaction is logged and, from the next
/// bytes on, the flow is detected afresh (TLS here), whichever side's
/// bytes come first and however they are split.
#[test]
fn connect_then_tls_in_every_split() {
    let req = b"CONNECT db.example.com:443 HTTP/1.1\r\nHost: db.example.com:443\r\n\r\n";
    let resp = b"HTTP/1.1 200 Connection established\r\n\r\n";
    // The start of a ClientHello and of a ServerHello record.
    let ch = [22u8, 3, 1, 0, 60, 1, 0, 0, 56, 3, 3];
    let sh = [22u8, 3, 3, 0, 60, 2, 0, 0, 56, 3, 3];
    for split in [1, 3, 7, 100] {
        for case in 0..3 {
            let mut app = AppLayer::default();
            let feed = |app: &mut AppLayer, dir, b: &[u8]| {
                for c in b.chunks(split) {
                    app.on_stream(dir, c, false, false, 3128);
                }
            };
            feed(&mut app, ToServer, req);
            match case {
                // The ClientHello waits while the proxy answers.
                0 => feed(&mut app, ToServer, &ch),
                // The answer and the ServerHello in one segment.
                1 => app.on_stream(ToClient, &[&resp[..], &sh[..]].concat(), false, false, 3128),
                _ => {}
            }
            if case != 1 {
                feed(&mut app, ToClient, resp);
            }
            assert_eq!(app.proto, AppProto::Http, "switches with the next bytes");
            match case {
                0 => feed(&mut app, ToClient, &sh),
                1 => feed(&mut app, ToServer, &ch),
                _ => {
                    feed(&mut app, ToServer, &ch);
                    feed(&mut app, ToClient, &sh);
                }
            }
            assert_eq!(app.proto, AppProto::Tls, "split {split} case {case}");
            assert_eq!(app.orig_proto, Some(AppProto::Http));
            let t = http_txs(&app);
            assert_eq!(t.len(), 1);
            assert_eq!(
                (t[0].method.as_slice(), t[0].status),
                (&b"CONNECT"[..], Some(200))
            );
            assert_eq!(app.anomalies, 0, "split {split} case {case}");
        }
    }
}

/// CONNECT refused: the request sent meanwhile is parsed as HTTP.
#[test]
fn refused_connect_goes_on_as_http() {
    let mut app = AppLayer::default();
    app.on_stream(
        ToServer,
        b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n",
        false,
        false,
        3128,
    );
    app.on_stream(
        ToServer,
        b"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
        false,
        3128,
    );
    app.on_stream(
        ToClient,
        b"HTTP/1.1 407 Auth\r\nContent-Length: 0\r\n\r\n",
        false,
        false,
        3128,
    );
    app.on_stream(
        ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nk",
        false,
        false,
        3128,
    );
    let t = http_txs(&app);
    assert_eq!(t.len(), 2);
    assert_eq!(
        (t[0].status, t[1].uri_raw.as_slice(), t[1].status),
        (Some(407), &b"http://x/"[..], Some(200))
    );
    assert_eq!((app.proto, app.orig_proto), (AppProto::Http, None));
}

/// 101 Switching Protocols: logged, then nothing more is read (no
/// anomalies from WebSocket frames), even after a gap.
#[test]
fn upgrade_stops_parsing() {
    let mut app = AppLayer::default();
    app.on_stream(
        ToServer,
        b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        false,
        false,
        80,
    );
    app.on_stream(
        ToClient,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello",
        false,
        false,
        80,
    );
    app.on_stream(ToServer, b"\x81\x85\x00\x00\x00\x00hello", false, false, 80);
    app.on_stream(ToServer, b"\x81\x85\x00\x00\x00\x00again", true, false, 80);
    app.on_flow_end();
    let t = http_txs(&app);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].status, Some(101));
    assert!(t[0].response_body.is_empty());
    assert_eq!((app.proto, app.anomalies), (AppProto::Http, 0));
}

/// Anomalies are kept once per transaction and logged just before it.
#[test]
fn anomaly_events_precede_their_transaction() {
    let mut app = AppLayer::default();
    app.on_stream(
        ToServer,
        b"GET / HTTP/1.1\r\nnocolon\r\nnocolon either\r\n\r\n",
        false,
        false,
        80,
    );
    app.on_stream(
        ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\nbad\r\n\r\nx",
        false,
        false,
        80,
    );
    let kinds: Vec<String> = app
        .done
        .iter()
        .map(|d| match &d.tx {
            Tx::Anomaly(a) => format!("{}:{}", a.tx_id, a.event),
            Tx::Http(t) => format!("{}:http", t.tx_id),
            _ => "other".into(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "0:REQUEST_FIELD_MISSING_COLON",
            "0:MISSING_HOST_HEADER",
            "0:RESPONSE_FIELD_MISSING_COLON",
            "0:DUPLICATE_CONTENT_LENGTH_FIELD_IN_RESPONSE",
            "0:http"
        ]
    );
}

/// A bad request chunk length is an event and ends parsing of that side.
#[test]
fn invalid_request_chunk_len() {
    let mut app = AppLayer::default();
    app.on_stream(
        ToServer,
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
        false,
        false,
        80,
    );
    app.on_flow_end();
    let t = http_txs(&app);
    assert_eq!(t[0].events, vec![HttpEvent::InvalidRequestChunkLen]);
    assert_eq!(app.anomalies, 1);
}

/// A gzip body that breaks after producing output is an event on its
/// transaction.
#[test]
fn decoding_failures_are_events() {
    let text: Vec<u8> = (0..3000u32)
        .flat_map(|i| format!("row {i} of {}\n", i * 7).into_bytes())
        .collect();
    let mut gz = gzip(&text);
    let mid = gz.len() / 2;
    for b in &mut gz[mid..mid + 40] {
        *b ^= 0x5a;
    }
    let mut app = AppLayer::default();
    app.on_stream(ToServer, b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n", false, false, 80);
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        gz.len()
    );
    app.on_stream(ToClient, head.as_bytes(), false, false, 80);
    for c in gz.chunks(512) {
        app.on_stream(ToClient, c, false, false, 80);
    }
    let t = http_txs(&app);
    assert_eq!(t[0].response_decode_stop, Some(content::Stop::Corrupt));
    assert_eq!(t[0].events, vec![HttpEvent::GzipDecompressionFailed]);
    // Decoded until the damage (what miniz makes of it after is garbage).
    assert!(t[0].response_body.starts_with(&text[..1000]));
    assert_eq!(app.anomalies, 1);
}

#[test]
fn bodies_no_rule_reads_are_counted_not_stored() {
    for (request, response) in [(false, false), (true, false), (false, true)] {
        let mut app = AppLayer::default();
        app.set_bodies(crate::applayer::Bodies { request, response });
        app.on_stream(ToServer, REQS, false, false, 8080);
        app.on_stream(ToClient, RESPS, false, false, 8080);
        let t = http_txs(&app);
        assert_eq!(t.len(), 3);
        assert_eq!(t[1].request_body_len, 5);
        assert_eq!(t[1].request_body, if request { &b"hello"[..] } else { b"" });
        assert_eq!((t[0].response_body_len, t[1].response_body_len), (3, 3));
        assert_eq!(t[1].response_body, if response { &b"xyz"[..] } else { b"" });
        // Everything else is as with bodies kept.
        let whole = run(RESPS.len());
        let kept = http_txs(&whole);
        assert_eq!(
            (t[1].uri.as_slice(), t[1].status),
            (kept[1].uri.as_slice(), kept[1].status)
        );
        assert_eq!(t[1].response_message_len, kept[1].response_message_len);
    }
}

#[test]
fn header_list_keeps_fields_in_order() {
    let fields: [(&[u8], &[u8]); 4] = [
        (b"Host", b"h"),
        (b"X-Empty", b""),
        (b"", b"no name"),
        (b"host", b"second"),
    ];
    let h: HeaderList = fields.iter().copied().collect();
    assert_eq!(h.len(), 4);
    assert_eq!(h.iter().collect::<Vec<_>>(), fields.to_vec());
    assert_eq!(h.get(b"HOST"), Some(&b"h"[..]));
    assert_eq!(h.get(b"x-empty"), Some(&b""[..]));
    assert_eq!(h.get(b"missing"), None);
    assert!(HeaderList::default().is_empty() && HeaderList::default().iter().next().is_none());
    // Parsed blocks: folded values unfolded, as the field-at-a-time store did.
    let mut app = AppLayer::default();
    app.on_stream(
        ToServer,
        b"GET / HTTP/1.1\r\nHost: a\r\nX-F: one\r\n two\r\n\r\n",
        false,
        false,
        80,
    );
    app.on_stream(ToClient, b"HTTP/1.1 204 No Content\r\n\r\n", false, false, 80);
    let t = http_txs(&app);
    let got: Vec<_> = t[0].request_headers.iter().collect();
    assert_eq!(
        got,
        vec![(&b"Host"[..], &b"a"[..]), (&b"X-F"[..], &b"one two"[..])]
    );
}
