//! End to end for the app layer: captures written by the test →
//! `tapwatch replay` → exact `http`, `tls`, `pgsql` and `dns` EVE records,
//! `app_proto` on flows and alerts.

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use tapwatch_gen::app::{dns, http, pgsql, tls};
use tapwatch_gen::rng::Rng;
use tapwatch_gen::session::{pgsql_session, tcp_conversation, Exchange};
use tapwatch_gen::{truncate, udp_frame, write_pcap, Frame, TcpConn};

const T0: u64 = 1_768_471_200_000_000_000; // 2026-01-15T10:00:00Z

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Replays `frames` with `rules`; returns every EVE record. With
/// `TAPWATCH_KEEP_DIR` set, the capture and rules are also copied there
/// (named after the log's first rule message) to compare with Suricata.
fn replay(dir: &Path, frames: &[Frame], rules: &str) -> Vec<Value> {
    let pcap = dir.join("in.pcap");
    write_pcap(&pcap, frames).unwrap();
    let rules_path = dir.join("test.rules");
    std::fs::write(&rules_path, rules).unwrap();
    if let Ok(keep) = std::env::var("TAPWATCH_KEEP_DIR") {
        let name: String = rules
            .split('"')
            .nth(1)
            .unwrap_or("case")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let keep = Path::new(&keep).join(name);
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(&pcap, keep.join("in.pcap")).unwrap();
        std::fs::copy(&rules_path, keep.join("test.rules")).unwrap();
    }
    let log = dir.join("log");
    std::fs::create_dir_all(&log).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args(["replay", "-q", "-r"])
        .arg(&pcap)
        .arg("-S")
        .arg(&rules_path)
        .arg("-l")
        .arg(&log)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(log.join("eve.json")).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn objects(eve: &[Value], t: &str) -> Vec<Value> {
    eve.iter()
        .filter(|r| r["event_type"] == t)
        .map(|r| r[t].clone())
        .collect()
}

fn records<'a>(eve: &'a [Value], t: &str) -> Vec<&'a Value> {
    eve.iter().filter(|r| r["event_type"] == t).collect()
}

#[test]
fn http_pipelined_on_nonstandard_port_with_chunked_body() {
    let dir = tempfile::tempdir().unwrap();
    let get = http::Request::get("/a?x=1", "shop.example.com:8080", "curl/8.5.0").to_bytes();
    let get2 = http::Request::get("/b%2e%2e/c", "shop.example.com:8080", "curl/8.5.0").to_bytes();
    let mut both = get.clone();
    both.extend_from_slice(&get2);
    let r1 = http::response(200, "text/html; charset=utf-8", b"hello", 1_768_471_200, &[]);
    let r2 = http::chunked_response(404, "text/plain", b"not here, sorry", 4, 1_768_471_200);
    let mut resp = r1.clone();
    resp.extend_from_slice(&r2);
    // Both requests in one segment (pipelined), both answers in one flight.
    let c = tcp_conversation(
        sa("10.0.0.1:50000"),
        sa("10.0.0.2:8080"),
        T0,
        1_000_000,
        &[Exchange::new(both, resp)],
    );
    let rules = "alert tcp any any -> any any (msg:\"curl\"; flow:to_server; content:\"curl/8.5.0\"; sid:1; rev:1;)\n\
alert http any any -> any any (msg:\"normalised uri\"; flow:established,to_server; http.uri; content:\"/b../c\"; http.method; content:\"GET\"; sid:11; rev:1;)\n\
alert http any any -> any any (msg:\"raw uri\"; flow:established,to_server; http.uri.raw; content:\"%2e%2e\"; http.host; content:\"shop.example.com\"; bsize:16; sid:12; rev:1;)\n\
alert http any any -> any any (msg:\"404\"; flow:established,to_client; http.stat_code; content:\"404\"; file.data; content:\"sorry\"; sid:13; rev:1;)\n";
    let eve = replay(dir.path(), &c.frames(), rules);
    let h = objects(&eve, "http");
    // Chunk framing counts in `length` (3 chunks "4\r\n....\r\n", one
    // "3\r\n...\r\n", then "0\r\n"; the final empty line does not), as
    // Suricata 7.0.10 logs this very capture.
    let chunked_len = 3 * 9 + (3 + 3 + 2) + 3;
    assert_eq!(
        h,
        vec![
            json!({"hostname":"shop.example.com","http_port":8080,"url":"/a?x=1","http_user_agent":"curl/8.5.0",
                   "http_content_type":"text/html","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":5}),
            json!({"hostname":"shop.example.com","http_port":8080,"url":"/b%2e%2e/c","http_user_agent":"curl/8.5.0",
                   "http_content_type":"text/plain","http_method":"GET","protocol":"HTTP/1.1","status":404,"length":chunked_len}),
        ]
    );
    let recs = records(&eve, "http");
    assert_eq!(recs[0]["tx_id"], 0);
    assert_eq!(recs[1]["tx_id"], 1);
    assert_eq!(recs[0]["src_port"], 50000);
    assert_eq!(recs[0]["dest_port"], 8080);
    let flow = records(&eve, "flow");
    assert_eq!(flow[0]["app_proto"], "http");
    let alerts = records(&eve, "alert");
    let sids: Vec<u64> = alerts
        .iter()
        .map(|a| a["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    assert_eq!(sids, vec![1, 11, 12, 13]);
    assert_eq!(alerts[0]["app_proto"], "http");
    assert_eq!(alerts[0]["http"]["url"], "/b%2e%2e/c");
    assert_eq!(alerts[0]["http"]["http_method"], "GET");
    // Transaction rules carry their whole transaction, response included.
    for a in &alerts[1..] {
        assert_eq!(a["http"]["url"], "/b%2e%2e/c");
        assert_eq!(a["http"]["status"], 404);
        assert_eq!(a["tx_id"], 1);
    }
    assert_eq!(alerts[1]["direction"], "to_server");
    assert_eq!(alerts[3]["direction"], "to_client");
}

#[test]
fn tls_client_hello_split_over_three_segments_on_port_80() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(7);
    let sid = rng.array32();
    let ch = tls::client_hello(&rng.array32(), &sid, "api.example.com", &["h2"]);
    let mut c = TcpConn::new(sa("10.0.0.1:50001"), sa("10.0.0.3:80"), T0);
    c.handshake();
    let third = ch.len() / 3;
    c.client_send(&ch[..third])
        .client_send(&ch[third..2 * third])
        .client_send(&ch[2 * third..]);
    let mut flight = tls::server_hello(&rng.array32(), &sid, tls::ECDHE_RSA_AES128_GCM_SHA256, Some("h2"));
    flight.extend(tls::change_cipher_spec());
    flight.extend(tls::encrypted_finished(&mut rng));
    c.server_send(&flight);
    let mut fin = tls::change_cipher_spec();
    fin.extend(tls::encrypted_finished(&mut rng));
    c.client_send(&fin);
    c.client_send(&tls::application_data(&mut rng, 200));
    c.close();
    let rules = "alert tls any any -> any any (msg:\"sni\"; tls.sni; content:\"api.example.com\"; bsize:15; sid:20; rev:1;)\n";
    let eve = replay(dir.path(), &c.frames(), rules);
    let alerts = records(&eve, "alert");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["tls"]["sni"], "api.example.com");
    assert_eq!(alerts[0]["app_proto"], "tls");
    assert_eq!(
        objects(&eve, "tls"),
        // As Suricata 7.0.10 logs it with ja3-fingerprints and eve tls ja4 on.
        vec![
            json!({"session_resumed":true,"sni":"api.example.com","version":"TLS 1.2",
            "ja3":{"hash":"28c5ccbede76b2f055e58ebfdf59dfdf",
                   "string":"771,49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,0-23-65281-10-11-35-16-5-13,29-23-24,0"},
            "ja3s":{"hash":"5215374a0e30b81e54d5c4d8be783ba8","string":"771,49199,65281-23-11-16"},
            "ja4":"t12d1209h2_d34a8e72043a_b0b33b6ec075"})
        ]
    );
    assert_eq!(records(&eve, "flow")[0]["app_proto"], "tls");
}

#[test]
fn pgsql_ssl_refused_then_plain_queries() {
    let dir = tempfile::tempdir().unwrap();
    let cols = [pgsql::Column {
        name: "name",
        type_oid: 25,
    }];
    let rows = vec![vec!["widget".to_string()], vec!["gadget".to_string()]];
    let queries = vec![
        (
            "SELECT name FROM products".to_string(),
            pgsql::select_result(&cols, &rows),
        ),
        ("DROP TABLE audit_log".to_string(), {
            let mut r = pgsql::command_complete("DROP TABLE");
            r.extend(pgsql::ready_for_query(b'I'));
            r
        }),
    ];
    let c = pgsql_session(
        sa("10.0.0.1:50002"),
        sa("10.0.0.4:6543"),
        T0,
        1_000_000,
        "app",
        "shop",
        true,
        &queries,
    );
    let rules = "alert tcp any any -> any any (msg:\"drop\"; flow:to_server; content:\"DROP TABLE\"; sid:2; rev:1;)\n\
alert pgsql any any -> any any (msg:\"pgsql drop\"; pgsql.query; content:\"DROP TABLE\"; startswith; sid:21; rev:1;)\n";
    let eve = replay(dir.path(), &c.frames(), rules);
    let pg = objects(&eve, "pgsql");
    assert_eq!(pg.len(), 5, "{pg:#?}");
    assert_eq!(
        pg[0],
        json!({"tx_id":1,"request":{"message":"SSL Request"},"response":{"ssl_accepted":false}})
    );
    assert_eq!(pg[1]["request"]["startup_parameters"]["user"], "app");
    assert_eq!(
        pg[1]["request"]["startup_parameters"]["optional_parameters"][0],
        json!({"database":"shop"})
    );
    assert_eq!(pg[1]["response"]["message"], "authentication_ok");
    assert_eq!(
        pg[2],
        json!({"tx_id":3,"request":{"simple_query":"SELECT name FROM products"},
               "response":{"field_count":1,"data_rows":2,"data_size":12,"command_completed":"SELECT 2"}})
    );
    assert_eq!(
        pg[3],
        json!({"tx_id":4,"request":{"simple_query":"DROP TABLE audit_log"},"response":{"command_completed":"DROP TABLE"}})
    );
    assert_eq!(
        pg[4],
        json!({"tx_id":5,"request":{"message":"termination_message"}})
    );
    let alerts = records(&eve, "alert");
    let sids: Vec<u64> = alerts
        .iter()
        .map(|a| a["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    assert_eq!(sids, vec![2, 21]);
    assert_eq!(alerts[0]["app_proto"], "pgsql");
    assert_eq!(
        alerts[0]["pgsql"]["request"]["simple_query"],
        "DROP TABLE audit_log"
    );
    assert_eq!(alerts[1]["pgsql"]["response"]["command_completed"], "DROP TABLE");
}

#[test]
fn dns_over_udp_and_tcp_with_compression() {
    let dir = tempfile::tempdir().unwrap();
    // A name ET Open's dns.query rules look for.
    let name = "api.telegram.org";
    let q = dns::query(0x1111, name, 1);
    let r = dns::response(
        0x1111,
        name,
        1,
        &[dns::Rdata::A([149, 154, 167, 220].into())],
        300,
    );
    let client = sa("10.0.0.1:53001");
    let resolver = sa("10.0.0.53:53");
    let mut frames = vec![
        udp_frame(client, resolver, T0, &q),
        udp_frame(resolver, client, T0 + 1_000_000, &r),
    ];
    // The same over TCP, length-prefixed, on a port that is not 53.
    let mut c = TcpConn::new(sa("10.0.0.1:50003"), sa("10.0.0.53:5353"), T0 + 10_000_000);
    let framed = |m: &[u8]| {
        let mut v = (m.len() as u16).to_be_bytes().to_vec();
        v.extend_from_slice(m);
        v
    };
    let q2 = dns::query(0x2222, "tunnel.ngrok.io", 28);
    let r2 = dns::nxdomain(0x2222, "tunnel.ngrok.io", 28);
    c.handshake()
        .client_send(&framed(&q2))
        .server_send(&framed(&r2))
        .close();
    frames.extend(c.frames());
    // Two ET Open dns.query rules as published (sids 2033966, 2022642).
    let rules = "alert udp any any -> any 53 (msg:\"tg\"; content:\"telegram\"; sid:3; rev:1;)\n\
alert dns $HOME_NET any -> any any (msg:\"ET HUNTING Telegram API Domain in DNS Lookup\"; dns.query; content:\"api.telegram.org\"; nocase; bsize:16; classtype:misc-activity; sid:2033966; rev:1;)\n\
alert dns $HOME_NET any -> any any (msg:\"ET INFO DNS Query to a *.ngrok domain (ngrok.io)\"; dns.query; content:\".ngrok.io\"; fast_pattern; endswith; nocase; classtype:misc-activity; sid:2022642; rev:7;)\n";
    let eve = replay(dir.path(), &frames, rules);
    // Workers log flows independently: take UDP then TCP.
    let mut d: Vec<Value> = records(&eve, "dns")
        .iter()
        .filter(|r| r["proto"] == "UDP")
        .map(|r| r["dns"].clone())
        .collect();
    d.extend(
        records(&eve, "dns")
            .iter()
            .filter(|r| r["proto"] == "TCP")
            .map(|r| r["dns"].clone()),
    );
    assert_eq!(d.len(), 4);
    assert_eq!(
        d[0],
        json!({"version":2,"type":"query","id":0x1111,"rrname":name,"rrtype":"A","tx_id":0,"opcode":0})
    );
    assert_eq!(d[1]["type"], "answer");
    assert_eq!(d[1]["rcode"], "NOERROR");
    assert_eq!(d[1]["answers"][0]["rrname"], name);
    assert_eq!(d[1]["answers"][0]["rdata"], "149.154.167.220");
    assert_eq!(d[1]["grouped"], json!({"A":["149.154.167.220"]}));
    assert_eq!(d[2]["rrname"], "tunnel.ngrok.io");
    assert_eq!(d[2]["rrtype"], "AAAA");
    assert_eq!(d[3]["rcode"], "NXDOMAIN");
    let mut sids: Vec<u64> = records(&eve, "alert")
        .iter()
        .map(|a| a["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    sids.sort();
    assert_eq!(sids, vec![3, 2022642, 2033966]);
    let et = records(&eve, "alert")
        .into_iter()
        .find(|a| a["alert"]["signature_id"] == 2033966)
        .unwrap();
    assert_eq!(et["dns"]["rrname"], name);
    assert_eq!(et["app_proto"], "dns");
    let apps: Vec<_> = records(&eve, "flow")
        .iter()
        .map(|f| f["app_proto"].clone())
        .collect();
    assert_eq!(apps, vec![json!("dns"), json!("dns")]);
}

#[test]
fn truncated_keepalive_http_logs_partial_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let ex: Vec<Exchange> = ["/login", "/admin/users?id=7", "/x"]
        .iter()
        .map(|u| {
            let req = http::Request::get(u, "shop.example.com", "Mozilla/5.0").to_bytes();
            let body = vec![b'z'; 3000];
            Exchange::new(req, http::response(200, "text/html", &body, 1_768_471_200, &[]))
        })
        .collect();
    let c = tcp_conversation(sa("10.0.0.1:50004"), sa("10.0.0.5:80"), T0, 1_000_000, &ex);
    let frames: Vec<Frame> = c.frames().iter().map(|f| truncate(f, 128)).collect();
    let rules = "alert http any any -> any any (msg:\"admin\"; flow:to_server; http.uri; content:\"/admin/users\"; http.method; content:\"GET\"; sid:30; rev:1;)\n";
    let eve = replay(dir.path(), &frames, rules);
    let alerts = records(&eve, "alert");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["http"]["url"], "/admin/users?id=7");
    let recs = records(&eve, "http");
    assert_eq!(recs.len(), 3);
    let urls: Vec<_> = recs.iter().map(|r| r["http"]["url"].clone()).collect();
    assert_eq!(
        urls,
        vec![json!("/login"), json!("/admin/users?id=7"), json!("/x")]
    );
    for r in &recs {
        assert_eq!(r["http"]["http_method"], "GET");
        assert_eq!(r["http"]["status"], 200);
        assert_eq!(r["mirror"]["truncated"], true);
    }
}

/// An HTML page compressed by gzip (level 9, mtime 0); the text
/// "swordfish-7731" appears only once decoded.
const GZIP_PAGE: &[u8] = &[
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xb3, 0xc9, 0x28, 0xc9, 0xcd, 0xb1, 0xb3,
    0x49, 0xca, 0x4f, 0xa9, 0xb4, 0xb3, 0xc9, 0x30, 0xb4, 0x73, 0x4c, 0xc9, 0xcd, 0xcc, 0x53, 0x48, 0xce,
    0xcf, 0x2b, 0xce, 0xcf, 0x49, 0xb5, 0xd1, 0x07, 0x8a, 0xd8, 0x14, 0xd8, 0xe5, 0x24, 0x96, 0xe6, 0x25,
    0x67, 0x00, 0x45, 0x53, 0x52, 0xad, 0x14, 0x8a, 0xcb, 0xf3, 0x8b, 0x52, 0xd2, 0x32, 0x8b, 0x33, 0x74,
    0xcd, 0xcd, 0x8d, 0x0d, 0x6d, 0xf4, 0x0b, 0x88, 0x51, 0xa1, 0x0f, 0xb1, 0x40, 0x1f, 0x6c, 0x1b, 0x17,
    0x00, 0xc6, 0x11, 0xa1, 0xb3, 0x75, 0x00, 0x00, 0x00,
];

#[test]
fn gzip_response_bodies_are_inspected_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let req = |u| http::Request::get(u, "intranet.example.com", "curl/8.5.0").to_bytes();
    // Content-Length and gzip.
    let r1 = http::response(
        200,
        "text/html",
        GZIP_PAGE,
        1_768_471_200,
        &[("Content-Encoding", "gzip")],
    );
    // Chunked and gzip: the gzip stream cut across 5 chunks.
    let mut r2 = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for c in GZIP_PAGE.chunks(20) {
        r2.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        r2.extend_from_slice(c);
        r2.extend_from_slice(b"\r\n");
    }
    r2.extend_from_slice(b"0\r\n\r\n");
    let c = tcp_conversation(
        sa("10.0.0.1:50010"),
        sa("10.0.0.6:80"),
        T0,
        1_000_000,
        &[Exchange::new(req("/one"), r1), Exchange::new(req("/two"), r2)],
    );
    let rules = "alert http any any -> any any (msg:\"decoded body\"; flow:established,to_client; http.response_body; content:\"swordfish-7731\"; sid:40; rev:1;)\n\
alert http any any -> any any (msg:\"decoded file.data\"; flow:established,to_client; file.data; content:\"<h1>Admin console</h1>\"; sid:41; rev:1;)\n\
alert tcp any any -> any any (msg:\"raw stream\"; flow:established,to_client; content:\"swordfish-7731\"; sid:42; rev:1;)\n";
    let eve = replay(dir.path(), &c.frames(), rules);
    let alerts = records(&eve, "alert");
    let hits: Vec<(u64, Value)> = alerts
        .iter()
        .map(|a| {
            (
                a["alert"]["signature_id"].as_u64().unwrap(),
                a["http"]["url"].clone(),
            )
        })
        .collect();
    assert_eq!(
        hits,
        vec![
            (40, json!("/one")),
            (41, json!("/one")),
            (40, json!("/two")),
            (41, json!("/two"))
        ]
    );
    // As Suricata 7.0.10 logs this capture: `length` is the body as sent.
    let h = objects(&eve, "http");
    let obj = |url: &str, len: usize| {
        json!({"hostname":"intranet.example.com","url":url,"http_user_agent":"curl/8.5.0",
               "http_content_type":"text/html","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":len})
    };
    assert_eq!(
        h,
        vec![obj("/one", GZIP_PAGE.len()), obj("/two", 4 * 26 + 19 + 3)]
    );
}

/// Builders for hand-made TLS handshakes (GREASE, odd ALPN, certificates).
mod hs {
    pub fn u16_list(len_bytes: usize, vals: &[u16]) -> Vec<u8> {
        let n = vals.len() * 2;
        let mut v = if len_bytes == 1 {
            vec![n as u8]
        } else {
            (n as u16).to_be_bytes().to_vec()
        };
        for x in vals {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v
    }

    pub fn alpn(names: &[&[u8]]) -> Vec<u8> {
        let mut l = Vec::new();
        for n in names {
            l.push(n.len() as u8);
            l.extend_from_slice(n);
        }
        let mut v = (l.len() as u16).to_be_bytes().to_vec();
        v.extend(l);
        v
    }

    pub fn sni(host: &str) -> Vec<u8> {
        let mut v = ((host.len() + 3) as u16).to_be_bytes().to_vec();
        v.push(0);
        v.extend_from_slice(&(host.len() as u16).to_be_bytes());
        v.extend_from_slice(host.as_bytes());
        v
    }

    fn exts(list: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut e = Vec::new();
        for (t, d) in list {
            e.extend_from_slice(&t.to_be_bytes());
            e.extend_from_slice(&(d.len() as u16).to_be_bytes());
            e.extend_from_slice(d);
        }
        let mut v = (e.len() as u16).to_be_bytes().to_vec();
        v.extend(e);
        v
    }

    fn message(t: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![t];
        m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        m.extend_from_slice(body);
        m
    }

    pub fn client_hello(version: u16, ciphers: &[u16], ext: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut b = version.to_be_bytes().to_vec();
        b.extend_from_slice(&[0x42; 32]);
        b.push(0);
        b.extend(u16_list(2, ciphers));
        b.extend_from_slice(&[1, 0]);
        if !ext.is_empty() {
            b.extend(exts(ext));
        }
        message(1, &b)
    }

    pub fn server_hello(version: u16, cipher: u16, ext: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut b = version.to_be_bytes().to_vec();
        b.extend_from_slice(&[0x24; 32]);
        b.push(0);
        b.extend_from_slice(&cipher.to_be_bytes());
        b.push(0);
        b.extend(exts(ext));
        message(2, &b)
    }

    pub fn certificate(chain: &[&[u8]]) -> Vec<u8> {
        let mut l = Vec::new();
        for c in chain {
            l.extend_from_slice(&(c.len() as u32).to_be_bytes()[1..]);
            l.extend_from_slice(c);
        }
        let mut b = (l.len() as u32).to_be_bytes()[1..].to_vec();
        b.extend(l);
        message(11, &b)
    }

    pub fn server_hello_done() -> Vec<u8> {
        message(14, &[])
    }

    /// Handshake messages in records of at most 4000 bytes.
    pub fn records(version: u16, msgs: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in msgs.chunks(4000) {
            out.extend_from_slice(&[22]);
            out.extend_from_slice(&version.to_be_bytes());
            out.extend_from_slice(&(c.len() as u16).to_be_bytes());
            out.extend_from_slice(c);
        }
        out
    }
}

/// One TLS 1.2 session: `ch` from the client; ServerHello `sh`, the
/// certificate chain and ServerHelloDone from the server; both sides'
/// ChangeCipherSpec and some ciphertext.
fn tls_session(client: &str, server: &str, ch: Vec<u8>, sh: Vec<u8>, chain: &[&[u8]]) -> Vec<Frame> {
    let mut c = TcpConn::new(sa(client), sa(server), T0);
    c.handshake();
    tls_exchange(&mut c, ch, sh, chain);
    c.close();
    c.frames()
}

/// The handshake and first ciphertext of [`tls_session`] on `c`.
fn tls_exchange(c: &mut TcpConn, ch: Vec<u8>, sh: Vec<u8>, chain: &[&[u8]]) {
    let mut rng = Rng::new(11);
    c.client_send(&hs::records(0x0301, &ch));
    let mut flight = sh;
    if !chain.is_empty() {
        flight.extend(hs::certificate(chain));
    }
    flight.extend(hs::server_hello_done());
    c.server_send(&hs::records(0x0303, &flight));
    let mut fin = tls::change_cipher_spec();
    fin.extend(tls::encrypted_finished(&mut rng));
    c.client_send(&fin);
    let mut fin = tls::change_cipher_spec();
    fin.extend(tls::encrypted_finished(&mut rng));
    c.server_send(&fin);
    c.client_send(&tls::application_data(&mut rng, 300));
}

const LEAF_DER: &[u8] = include_bytes!("data/shop-leaf.der");
const CA_DER: &[u8] = include_bytes!("data/example-ca.der");

/// Three clients: a browser-like one full of GREASE, one without SNI with
/// a non-alphanumeric ALPN and no signature algorithms, and a bare TLS 1.0
/// hello without extensions.
fn fingerprint_sessions() -> Vec<Frame> {
    let grease_ch = hs::client_hello(
        0x0303,
        &[
            0x1a1a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xcca9, 0x009c, 0x002f,
        ],
        &[
            (0x2a2a, vec![]),
            (0x0000, hs::sni("shop.example.com")),
            (0x0017, vec![]),
            (0xff01, vec![0]),
            (0x000a, hs::u16_list(2, &[0x3a3a, 0x001d, 0x0017, 0x0018])),
            (0x000b, vec![1, 0]),
            (0x0010, hs::alpn(&[b"h2", b"http/1.1"])),
            (0x000d, hs::u16_list(2, &[0x0403, 0x0804, 0x0401, 0x0503])),
            (0x002b, hs::u16_list(1, &[0x5a5a, 0x0304, 0x0303])),
            (0x4a4a, vec![0]),
        ],
    );
    let sh = hs::server_hello(
        0x0303,
        0xc02f,
        &[
            (0xff01, vec![0]),
            (0x0017, vec![]),
            (0x000b, vec![1, 0]),
            (0x0010, hs::alpn(&[b"h2"])),
        ],
    );
    let mut frames = tls_session(
        "10.0.0.1:50020",
        "10.0.0.7:443",
        grease_ch,
        sh,
        &[LEAF_DER, CA_DER],
    );
    let odd_ch = hs::client_hello(
        0x0303,
        &[0xc02f, 0x009c],
        &[
            (0x000a, hs::u16_list(2, &[0x0017])),
            (0x0010, hs::alpn(&[b"\xabx-"])),
        ],
    );
    let sh = hs::server_hello(0x0303, 0x009c, &[(0xff01, vec![0])]);
    frames.extend(tls_session(
        "10.0.0.1:50021",
        "10.0.0.8:443",
        odd_ch,
        sh,
        &[LEAF_DER],
    ));
    let bare_ch = hs::client_hello(0x0301, &[0x002f, 0x0035, 0x000a], &[]);
    let sh = hs::server_hello(0x0301, 0x002f, &[]);
    frames.extend(tls_session(
        "10.0.0.1:50022",
        "10.0.0.9:443",
        bare_ch,
        sh,
        &[CA_DER],
    ));
    frames
}

#[test]
fn tls_fingerprints_and_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let rules = r#"alert tls any any -> any any (msg:"ja3 tls fingerprints"; ja3.hash; content:"e313402ba7fec57668db741d37b7bd2c"; sid:50; rev:1;)
alert tls any any -> any any (msg:"ja3 string"; ja3.string; content:"29-23-24,0"; endswith; sid:51; rev:1;)
alert tls any any -> any any (msg:"ja3s hash"; ja3s.hash; content:"ccd5709d4a9027ec272e98b9924c36f7"; sid:52; rev:1;)
alert tls any any -> any any (msg:"ja3s string"; ja3s.string; content:"771,49199,"; startswith; sid:53; rev:1;)
alert tls any any -> any any (msg:"ja4"; ja4.hash; content:"t10i030000_"; startswith; sid:54; rev:1;)
alert tls any any -> any any (msg:"subject"; tls.cert_subject; content:"CN=shop.example.com"; endswith; sid:55; rev:1;)
alert tls any any -> any any (msg:"issuer"; tls.cert_issuer; content:"O=Example Trust"; sid:56; rev:1;)
alert tls any any -> any any (msg:"serial"; tls.cert_serial; content:"00:AB:12"; startswith; sid:57; rev:1;)
alert tls any any -> any any (msg:"fingerprint"; tls.cert_fingerprint; content:"8e:54:24:2d:81:2b:09:d0:59:e2:c6:a0:a1:f7:e2:cd:bd:e2:b2:78"; sid:58; rev:1;)
alert tls any any -> any any (msg:"certs"; tls.certs; content:"Example Issuing CA"; sid:59; rev:1;)
"#;
    let eve = replay(dir.path(), &fingerprint_sessions(), rules);
    let mut t: Vec<&Value> = records(&eve, "tls");
    t.sort_by_key(|r| r["src_port"].as_u64());
    let t: Vec<&Value> = t.iter().map(|r| &r["tls"]).collect();
    // Exactly as Suricata 7.0.10 logs this capture (extended, ja3 and ja4 on).
    let shop = (
        "C=US, ST=California, L=San Francisco, O=Example Shop, Inc., OU=Web, CN=shop.example.com",
        "00:AB:12:CD:34:EF:56:78",
        "1d:82:ac:65:2e:d5:ab:05:38:51:de:b7:39:50:df:5e:82:b0:09:1d",
    );
    let issuer = "C=US, O=Example Trust, CN=Example Issuing CA";
    assert_eq!(
        t[0],
        &json!({"subject":shop.0,"issuerdn":issuer,"serial":shop.1,"fingerprint":shop.2,"sni":"shop.example.com",
            "version":"TLS 1.2","notbefore":"2026-11-30T03:26:10","notafter":"2028-01-01T03:26:10",
            "ja3":{"hash":"e313402ba7fec57668db741d37b7bd2c","string":"771,4865-4866-4867-49195-49199-52393-156-47,0-23-65281-10-11-16-13-43,29-23-24,0"},
            "ja3s":{"hash":"5215374a0e30b81e54d5c4d8be783ba8","string":"771,49199,65281-23-11-16"},
            "ja4":"t13d0808h2_c98a7ace4f27_acf3d0736a10"})
    );
    assert_eq!(
        t[1],
        &json!({"subject":shop.0,"issuerdn":issuer,"serial":shop.1,"fingerprint":shop.2,
            "version":"TLS 1.2","notbefore":"2026-11-30T03:26:10","notafter":"2028-01-01T03:26:10",
            "ja3":{"hash":"10a2cdfe194063067f4123711c4a45a8","string":"771,49199-156,10-16,23,"},
            "ja3s":{"hash":"ccd5709d4a9027ec272e98b9924c36f7","string":"771,156,65281"},
            "ja4":"t12i0202ad_08dfa304a768_bc1f8d297068"})
    );
    assert_eq!(
        t[2],
        &json!({"subject":issuer,"issuerdn":issuer,"serial":"01",
            "fingerprint":"8e:54:24:2d:81:2b:09:d0:59:e2:c6:a0:a1:f7:e2:cd:bd:e2:b2:78",
            "version":"TLSv1","notbefore":"2026-11-30T03:26:10","notafter":"2036-11-27T03:26:10",
            "ja3":{"hash":"7bc4acc37e8095387bed8c0b30a6081a","string":"769,47-53-10,,,"},
            "ja3s":{"hash":"18e962e106761869a61045bed0e81c2c","string":"769,47,"},
            "ja4":"t10i030000_5704bdfc91c6_d2e2adf7177b"})
    );
    // The same alerts as Suricata: per flow (by server), which sids.
    let mut hits: Vec<(String, u64)> = records(&eve, "alert")
        .iter()
        .map(|a| {
            let server = if a["dest_port"] == 443 {
                &a["dest_ip"]
            } else {
                &a["src_ip"]
            };
            (
                server.as_str().unwrap().to_string(),
                a["alert"]["signature_id"].as_u64().unwrap(),
            )
        })
        .collect();
    hits.sort();
    let want: Vec<(String, u64)> = [
        ("10.0.0.7", 50),
        ("10.0.0.7", 51),
        ("10.0.0.7", 53),
        ("10.0.0.7", 55),
        ("10.0.0.7", 56),
        ("10.0.0.7", 57),
        ("10.0.0.7", 59),
        ("10.0.0.8", 52),
        ("10.0.0.8", 55),
        ("10.0.0.8", 56),
        ("10.0.0.8", 57),
        ("10.0.0.8", 59),
        ("10.0.0.9", 54),
        ("10.0.0.9", 56),
        ("10.0.0.9", 58),
        ("10.0.0.9", 59),
    ]
    .iter()
    .map(|(ip, sid)| (ip.to_string(), *sid))
    .collect();
    assert_eq!(hits, want);
    for a in records(&eve, "alert") {
        assert_eq!(a["app_proto"], "tls");
        assert!(a["tls"]["ja4"].is_string());
    }
}

/// A proxy session: CONNECT, 200, then TLS inside the tunnel; then a
/// second session whose CONNECT is refused (407) and which goes on as HTTP.
fn connect_sessions() -> Vec<Frame> {
    let mut c = TcpConn::new(sa("10.0.0.1:50030"), sa("10.0.0.20:3128"), T0);
    c.handshake();
    c.client_send(b"CONNECT shop.example.com:443 HTTP/1.1\r\nHost: shop.example.com:443\r\nUser-Agent: curl/8.5.0\r\nProxy-Connection: Keep-Alive\r\n\r\n");
    c.server_send(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let ch = hs::client_hello(
        0x0303,
        &[0xc02f, 0x002f],
        &[
            (0x0000, hs::sni("shop.example.com")),
            (0x0010, hs::alpn(&[b"http/1.1"])),
        ],
    );
    let sh = hs::server_hello(0x0303, 0xc02f, &[(0xff01, vec![0])]);
    tls_exchange(&mut c, ch, sh, &[LEAF_DER]);
    c.close();
    let mut frames = c.frames();
    let mut c = TcpConn::new(sa("10.0.0.1:50031"), sa("10.0.0.20:3128"), T0 + 50_000_000);
    c.handshake();
    c.client_send(b"CONNECT intranet.example.com:443 HTTP/1.1\r\nHost: intranet.example.com:443\r\n\r\n");
    c.server_send(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"proxy\"\r\nContent-Length: 0\r\n\r\n");
    c.client_send(b"GET http://intranet.example.com/status HTTP/1.1\r\nHost: intranet.example.com\r\nX-Dup: a\r\nX-Dup: b\r\nX-Folded: one\r\n two\r\n\r\n");
    c.server_send(&http::response(200, "text/plain", b"ok", 1_768_471_200, &[]));
    c.close();
    frames.extend(c.frames());
    frames
}

#[test]
fn http_connect_switches_to_tls_inside_the_tunnel() {
    let dir = tempfile::tempdir().unwrap();
    let rules = r#"alert tls any any -> any any (msg:"sni in tunnel"; tls.sni; content:"shop.example.com"; sid:60; rev:1;)
alert http any any -> any any (msg:"after refused connect"; http.uri; content:"/status"; sid:61; rev:1;)
alert http any any -> any any (msg:"connect method"; http.method; content:"CONNECT"; sid:62; rev:1;)
"#;
    let eve = replay(dir.path(), &connect_sessions(), rules);
    let by_port = |t: &str, port: u64| -> Vec<Value> {
        records(&eve, t)
            .iter()
            .filter(|r| r["src_port"] == port || r["dest_port"] == port)
            .map(|r| r[t].clone())
            .collect()
    };
    // As Suricata 7.0.10 logs this capture.
    assert_eq!(
        by_port("http", 50030),
        vec![
            json!({"hostname":"shop.example.com","http_port":443,"url":"shop.example.com:443","http_user_agent":"curl/8.5.0",
                    "http_method":"CONNECT","protocol":"HTTP/1.1","status":200,"length":0})
        ]
    );
    let tls = by_port("tls", 50030);
    assert_eq!(tls.len(), 1);
    assert_eq!(tls[0]["sni"], "shop.example.com");
    assert_eq!(
        tls[0]["subject"].as_str().unwrap().rsplit(", ").next(),
        Some("CN=shop.example.com")
    );
    assert_eq!(tls[0]["ja3s"]["string"], "771,49199,65281");
    assert_eq!(tls[0]["from_proto"], "http");
    assert_eq!(
        by_port("http", 50031),
        vec![
            json!({"hostname":"intranet.example.com","http_port":443,"url":"intranet.example.com:443","http_method":"CONNECT",
                   "protocol":"HTTP/1.1","status":407,"length":0}),
            json!({"hostname":"intranet.example.com","url":"http://intranet.example.com/status","http_content_type":"text/plain",
                   "http_method":"GET","protocol":"HTTP/1.1","status":200,"length":2}),
        ]
    );
    assert!(by_port("tls", 50031).is_empty());
    let flows: Vec<(u64, Value)> = records(&eve, "flow")
        .iter()
        .map(|f| (f["src_port"].as_u64().unwrap(), f["app_proto"].clone()))
        .collect();
    assert!(flows.contains(&(50030, json!("tls"))) && flows.contains(&(50031, json!("http"))));
    // Suricata writes the protocol before the switch beside app_proto.
    let orig: Vec<(u64, Value)> = records(&eve, "flow")
        .iter()
        .filter(|f| f["proto"] == "TCP")
        .map(|f| (f["src_port"].as_u64().unwrap(), f["app_proto_orig"].clone()))
        .collect();
    assert!(
        orig.contains(&(50030, json!("http"))) && orig.contains(&(50031, Value::Null)),
        "{orig:?}"
    );
    let mut hits: Vec<(u64, u64, Value)> = records(&eve, "alert")
        .iter()
        .map(|a| {
            let client = if a["src_port"] == 3128 {
                "dest_port"
            } else {
                "src_port"
            };
            let port = a[client].as_u64().unwrap();
            (
                port,
                a["alert"]["signature_id"].as_u64().unwrap(),
                a["app_proto"].clone(),
            )
        })
        .collect();
    hits.sort_by_key(|h| (h.0, h.1));
    assert_eq!(
        hits,
        vec![
            (50030, 60, json!("tls")),
            (50030, 62, json!("http")),
            (50031, 61, json!("http")),
            (50031, 62, json!("http")),
        ]
    );
}

/// Requests libhtp flags: no Host on HTTP/1.1, a header line without a
/// colon, a folded header, two different Content-Lengths, a bad chunk
/// length in a response.
fn anomalous_http() -> Vec<Frame> {
    let mut c = TcpConn::new(sa("10.0.0.1:50040"), sa("10.0.0.30:80"), T0);
    c.handshake();
    c.client_send(b"GET /nohost HTTP/1.1\r\nUser-Agent: x\r\n\r\n");
    c.server_send(&http::response(200, "text/plain", b"a", 1_768_471_200, &[]));
    c.client_send(
        b"GET /colon HTTP/1.1\r\nHost: h\r\nthis line has no colon\r\nX-Folded: one\r\n two\r\n\r\n",
    );
    c.server_send(&http::response(200, "text/plain", b"b", 1_768_471_200, &[]));
    c.client_send(b"POST /cl HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc");
    c.server_send(&http::response(200, "text/plain", b"c", 1_768_471_200, &[]));
    c.client_send(b"GET /chunk HTTP/1.1\r\nHost: h\r\n\r\n");
    c.server_send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
    c.close();
    let mut frames = c.frames();
    // A Content-Length that is no number; a gzip body broken half way
    // (the first half of GZIP_PAGE's stream, then bytes flipped).
    let mut c = TcpConn::new(sa("10.0.0.1:50041"), sa("10.0.0.30:80"), T0 + 10_000_000);
    c.handshake();
    c.client_send(b"POST /badcl HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n");
    c.server_send(&http::response(200, "text/plain", b"d", 1_768_471_200, &[]));
    c.client_send(b"GET /gz HTTP/1.1\r\nHost: h\r\n\r\n");
    let mut broken = GZIP_PAGE.to_vec();
    for b in &mut broken[40..80] {
        *b ^= 0x5a;
    }
    c.server_send(&http::response(
        200,
        "text/html",
        &broken,
        1_768_471_200,
        &[("Content-Encoding", "gzip")],
    ));
    c.close();
    frames.extend(c.frames());
    frames
}

#[test]
fn http_anomalies() {
    let dir = tempfile::tempdir().unwrap();
    let rules =
        "alert http any any -> any any (msg:\"anomalies\"; http.uri; content:\"/nohost\"; sid:70; rev:1;)\n";
    let eve = replay(dir.path(), &anomalous_http(), rules);
    // The events Suricata 7.0.10 logs for this capture (it writes
    // MISSING_HOST_HEADER twice, once per direction; tapwatch once).
    let port = |r: &&Value, p: u64| r["src_port"] == p || r["dest_port"] == p;
    let events_of = |p: u64| -> Vec<(u64, Value)> {
        records(&eve, "anomaly")
            .iter()
            .filter(|r| port(r, p))
            .map(|r| {
                assert_eq!(r["anomaly"]["type"], "applayer");
                assert_eq!(r["anomaly"]["layer"], "proto_parser");
                assert_eq!(r["anomaly"]["app_proto"], "http");
                (r["tx_id"].as_u64().unwrap(), r["anomaly"]["event"].clone())
            })
            .collect()
    };
    assert_eq!(
        events_of(50040),
        vec![
            (0, json!("MISSING_HOST_HEADER")),
            (1, json!("REQUEST_FIELD_MISSING_COLON")),
            (2, json!("DUPLICATE_CONTENT_LENGTH_FIELD_IN_REQUEST")),
            (3, json!("INVALID_RESPONSE_CHUNK_LEN")),
        ]
    );
    // Each anomaly comes just before its transaction's record.
    let order: Vec<&str> = eve
        .iter()
        .filter(|r| port(r, 50040))
        .filter_map(|r| r["event_type"].as_str())
        .filter(|t| *t == "anomaly" || *t == "http")
        .collect();
    assert_eq!(order, ["anomaly", "http"].repeat(4));
    let h: Vec<Value> = records(&eve, "http")
        .iter()
        .filter(|r| port(r, 50040))
        .map(|r| r["http"].clone())
        .collect();
    let obj = |host: Option<&str>, url: &str, method: &str| {
        let mut o = json!({"url":url,"http_content_type":"text/plain","http_method":method,"protocol":"HTTP/1.1","status":200,"length":1});
        if let Some(hn) = host {
            o["hostname"] = json!(hn);
        }
        o
    };
    let mut nohost = obj(None, "/nohost", "GET");
    nohost["http_user_agent"] = json!("x");
    assert_eq!(h[0], nohost);
    assert_eq!(h[1], obj(Some("h"), "/colon", "GET"));
    assert_eq!(h[2], obj(Some("h"), "/cl", "POST"));
    // After a bad chunk length the rest of the response is its body, as
    // libhtp reads it (14 bytes sent; Suricata 7.0.10 logs 15).
    assert_eq!(
        (h[3]["status"].clone(), h[3]["length"].clone()),
        (json!(200), json!(14))
    );
    assert_eq!(records(&eve, "alert").len(), 1);
    // Suricata 7.0.10 flags the Content-Length too, then stops parsing the
    // connection (no record for /gz); tapwatch reads on.
    assert_eq!(
        events_of(50041),
        vec![(0, json!("INVALID_CONTENT_LENGTH_FIELD_IN_REQUEST"))]
    );
    let urls: Vec<Value> = records(&eve, "http")
        .iter()
        .filter(|r| port(r, 50041))
        .map(|r| r["http"]["url"].clone())
        .collect();
    assert_eq!(urls, vec![json!("/badcl"), json!("/gz")]);
}
