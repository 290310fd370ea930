//! Whole conversations built from [`TcpConn`] and the [`app`](crate::app)
//! payloads: an HTTP keep-alive connection, a resumed TLS 1.2 session, a
//! PostgreSQL session, a DNS lookup, a ping. All inner (unwrapped) frames.

use std::net::{IpAddr, SocketAddr};

use crate::app::{dns, pgsql, tls};
use crate::rng::{hash_bytes, Rng};
use crate::{icmp_echo_frame, icmp_echo_reply_frame, udp_frame, Frame, TcpConn, NS_PER_SEC};

/// Payload bytes per full segment with the timestamps option (MSS 1460/1440
/// minus 12 option bytes).
pub fn mss_for(addr: SocketAddr) -> usize {
    if addr.is_ipv4() {
        1448
    } else {
        1428
    }
}

/// One request/response round on a TCP connection.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// Bytes the client sends.
    pub request: Vec<u8>,
    /// Bytes the server answers.
    pub response: Vec<u8>,
    /// Server processing time before the response.
    pub server_ns: u64,
    /// Client think time after the response.
    pub think_ns: u64,
}

impl Exchange {
    /// An exchange with 1 ms server time and 50 ms think time.
    pub fn new(request: Vec<u8>, response: Vec<u8>) -> Self {
        Exchange {
            request,
            response,
            server_ns: 1_000_000,
            think_ns: 50_000_000,
        }
    }
}

fn run_exchanges(c: &mut TcpConn, ex: &[Exchange]) {
    let (client, server) = c.endpoints();
    for e in ex {
        c.client_send_segments(&e.request, mss_for(client));
        c.pause(e.server_ns);
        c.server_send_segments(&e.response, mss_for(server));
        c.pause(e.think_ns);
    }
}

/// A plaintext TCP connection (HTTP/1.1 keep-alive and the like): handshake,
/// the exchanges in order, client close.
pub fn tcp_conversation(
    client: SocketAddr,
    server: SocketAddr,
    start_ns: u64,
    rtt_ns: u64,
    ex: &[Exchange],
) -> TcpConn {
    let mut c = TcpConn::new(client, server, start_ns);
    c.with_rtt(rtt_ns).handshake();
    run_exchanges(&mut c, ex);
    c.close();
    c
}

/// Sizes of one request/response round inside TLS.
#[derive(Clone, Copy, Debug)]
pub struct TlsRound {
    /// Plaintext bytes from the client.
    pub request_len: usize,
    /// Plaintext bytes from the server.
    pub response_len: usize,
    /// Client think time after the response.
    pub think_ns: u64,
}

/// A resumed TLS 1.2 session (no certificate on the wire): ClientHello with
/// `sni`; ServerHello + ChangeCipherSpec + Finished; client ChangeCipherSpec
/// + Finished; application data rounds; encrypted close_notify; close.
#[allow(clippy::too_many_arguments)]
pub fn tls_session(
    rng: &mut Rng,
    client: SocketAddr,
    server: SocketAddr,
    start_ns: u64,
    rtt_ns: u64,
    sni: &str,
    alpn: Option<&str>,
    rounds: &[TlsRound],
) -> TcpConn {
    let session_id = rng.array32();
    let offered: &[&str] = if alpn.is_some() { &["h2", "http/1.1"] } else { &[] };
    let mut c = TcpConn::new(client, server, start_ns);
    c.with_rtt(rtt_ns).handshake();
    c.client_send(&tls::client_hello(&rng.array32(), &session_id, sni, offered));
    c.pause(300_000);
    let mut flight = tls::server_hello(
        &rng.array32(),
        &session_id,
        tls::ECDHE_RSA_AES128_GCM_SHA256,
        alpn,
    );
    flight.extend(tls::change_cipher_spec());
    flight.extend(tls::encrypted_finished(rng));
    c.server_send(&flight);
    let mut fin = tls::change_cipher_spec();
    fin.extend(tls::encrypted_finished(rng));
    c.client_send(&fin);
    for r in rounds {
        c.client_send_segments(&tls::application_data(rng, r.request_len), mss_for(client));
        c.pause(1_000_000);
        c.server_send_segments(&tls::application_data(rng, r.response_len), mss_for(server));
        c.pause(r.think_ns);
    }
    c.client_send(&tls::encrypted_alert(rng));
    c.close();
    c
}

/// A PostgreSQL session: StartupMessage (user, database, application_name),
/// AuthenticationOk + ParameterStatus + BackendKeyData + ReadyForQuery, the
/// simple queries with their responses, Terminate, close. With `ssl_probe`
/// the client first sends SSLRequest and the server declines (`N`).
#[allow(clippy::too_many_arguments)]
pub fn pgsql_session(
    client: SocketAddr,
    server: SocketAddr,
    start_ns: u64,
    rtt_ns: u64,
    user: &str,
    database: &str,
    ssl_probe: bool,
    queries: &[(String, Vec<u8>)],
) -> TcpConn {
    let mut c = TcpConn::new(client, server, start_ns);
    c.with_rtt(rtt_ns).handshake();
    if ssl_probe {
        c.client_send(&pgsql::ssl_request());
        c.server_send(b"N");
    }
    c.client_send(&pgsql::startup_message(&[
        ("user", user),
        ("database", database),
        ("application_name", "psql"),
        ("client_encoding", "UTF8"),
    ]));
    let h = hash_bytes(format!("{client}{server}{start_ns}").as_bytes());
    c.pause(2_000_000);
    c.server_send(&pgsql::startup_reply(
        1000 + (h % 60_000) as u32,
        (h >> 32) as u32,
    ));
    for (sql, resp) in queries {
        c.pause(20_000_000);
        c.client_send(&pgsql::query(sql));
        c.pause(800_000);
        c.server_send_segments(resp, mss_for(server));
    }
    c.pause(5_000_000);
    c.client_send(&pgsql::terminate());
    c.close();
    c
}

/// A DNS lookup over UDP: query, then the response `rtt_ns` later; `None`
/// answers give NXDOMAIN.
#[allow(clippy::too_many_arguments)]
pub fn dns_lookup(
    client: SocketAddr,
    resolver: SocketAddr,
    ts_ns: u64,
    rtt_ns: u64,
    id: u16,
    name: &str,
    qtype: u16,
    answers: Option<&[dns::Rdata]>,
) -> Vec<Frame> {
    let q = udp_frame(client, resolver, ts_ns, &dns::query(id, name, qtype));
    let body = match answers {
        Some(a) => dns::response(id, name, qtype, a, 300),
        None => dns::nxdomain(id, name, qtype),
    };
    let r = udp_frame(resolver, client, ts_ns + rtt_ns, &body);
    vec![q, r]
}

/// The 56-byte payload Linux `ping` sends: a 16-byte timeval, then bytes
/// 0x10..=0x37.
pub fn linux_ping_payload(ts_ns: u64) -> Vec<u8> {
    let mut p = Vec::with_capacity(56);
    p.extend_from_slice(&(ts_ns / NS_PER_SEC).to_le_bytes());
    p.extend_from_slice(&((ts_ns % NS_PER_SEC) / 1000).to_le_bytes());
    p.extend(0x10u8..=0x37);
    p
}

/// `count` echo requests one second apart, each answered `rtt_ns` later.
/// `payload` gives each request's payload from its timestamp; `None` replies
/// means the target stays silent.
#[allow(clippy::too_many_arguments)]
pub fn ping(
    src: IpAddr,
    dst: IpAddr,
    start_ns: u64,
    rtt_ns: u64,
    id: u16,
    count: u16,
    replies: bool,
    payload: &dyn Fn(u64) -> Vec<u8>,
) -> Vec<Frame> {
    let mut out = Vec::new();
    for seq in 1..=count {
        let t = start_ns + u64::from(seq - 1) * NS_PER_SEC;
        let p = payload(t);
        out.push(icmp_echo_frame(src, dst, t, id, seq, &p));
        if replies {
            out.push(icmp_echo_reply_frame(dst, src, t + rtt_ns, id, seq, &p));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{check_frame, Transport};

    fn payload_stream(frames: &[Frame], dst_port: u16) -> Vec<u8> {
        let mut out = Vec::new();
        for f in frames {
            let s = check_frame(&f.data).unwrap();
            if let Transport::Tcp { dst_port: p, .. } = s.inner.transport {
                if p == dst_port {
                    out.extend(s.inner.payload);
                }
            }
        }
        out
    }

    #[test]
    fn tls_session_starts_with_client_hello_and_carries_sni() {
        let mut rng = Rng::new(5);
        let c = tls_session(
            &mut rng,
            "10.0.1.5:41000".parse().unwrap(),
            "192.0.2.80:443".parse().unwrap(),
            0,
            1_000_000,
            "api.example.com",
            Some("http/1.1"),
            &[TlsRound {
                request_len: 500,
                response_len: 5000,
                think_ns: 0,
            }],
        );
        let up = payload_stream(&c.frames(), 443);
        assert_eq!(&up[..3], &[0x16, 3, 1]);
        assert!(up.windows(15).any(|w| w == b"api.example.com"));
        let down: Vec<u8> = c
            .frames()
            .iter()
            .filter_map(|f| {
                let s = check_frame(&f.data).unwrap();
                matches!(s.inner.transport, Transport::Tcp { src_port: 443, .. }).then_some(s.inner.payload)
            })
            .flatten()
            .collect();
        assert_eq!(&down[..3], &[0x16, 3, 3]);
        // Records tile the server's stream exactly.
        let mut p = 0;
        let mut kinds = Vec::new();
        while p < down.len() {
            kinds.push(down[p]);
            p += 5 + usize::from(u16::from_be_bytes([down[p + 3], down[p + 4]]));
        }
        assert_eq!(p, down.len());
        assert_eq!(&kinds[..3], &[22, 20, 22]);
        assert!(kinds[3..].iter().all(|&k| k == 23));
    }

    #[test]
    fn pgsql_session_stream_is_message_aligned() {
        let resp = pgsql::select_result(
            &[pgsql::Column {
                name: "n",
                type_oid: pgsql::OID_INT8,
            }],
            &[vec!["3".into()]],
        );
        let c = pgsql_session(
            "10.0.3.15:45122".parse().unwrap(),
            "10.0.2.7:5432".parse().unwrap(),
            0,
            300_000,
            "app",
            "shop",
            true,
            &[("SELECT count(*) FROM orders".into(), resp)],
        );
        let up = payload_stream(&c.frames(), 5432);
        assert_eq!(&up[..8], &pgsql::ssl_request()[..]);
        let rest = &up[8..];
        let slen = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let msgs = &rest[slen..];
        assert_eq!(msgs[0], b'Q');
        assert!(msgs.ends_with(&pgsql::terminate()));
    }

    #[test]
    fn dns_and_ping_frames_are_valid() {
        let f = dns_lookup(
            "10.0.1.5:53000".parse().unwrap(),
            "10.0.0.2:53".parse().unwrap(),
            0,
            500_000,
            1,
            "api.example.com",
            dns::TYPE_A,
            Some(&[dns::Rdata::A("192.0.2.80".parse().unwrap())]),
        );
        assert_eq!(f.len(), 2);
        for x in &f {
            check_frame(&x.data).unwrap();
        }
        let p = ping(
            "10.0.1.5".parse().unwrap(),
            "10.0.3.15".parse().unwrap(),
            0,
            400_000,
            9,
            3,
            true,
            &linux_ping_payload,
        );
        assert_eq!(p.len(), 6);
        let s = check_frame(&p[0].data).unwrap();
        assert_eq!(s.inner.payload.len(), 56);
        assert_eq!(s.inner.payload[16], 0x10);
    }
}
