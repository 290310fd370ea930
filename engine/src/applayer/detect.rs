//! Protocol detection by content.
//!
//! Each probe looks at the first bytes of one direction and answers match,
//! no match, or need more. Ports only order the probes (the likely protocol
//! is tried first); a match always comes from the bytes, so HTTP on 8443,
//! TLS on 80 and PostgreSQL on any port are recognised, and a port alone
//! never names a protocol.

use super::{AppProto, Direction};
use tapwatch_parsers::{dns, http1, pgsql, tls, ParseError};

/// Most bytes a probe waits for before giving up on a direction.
pub const MAX_PROBE: usize = 64;

/// A probe's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The bytes are this protocol.
    Match(AppProto),
    /// Too few bytes to tell.
    NeedMore,
    /// None of the protocols.
    NoMatch,
}

/// HTTP methods recognised at the start of a stream (RFC 9110 9, WebDAV).
const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"PATCH",
    b"CONNECT",
    b"TRACE",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
];

fn probe_http(dir: Direction, b: &[u8]) -> Probe {
    match dir {
        Direction::ToServer => {
            let word = b.iter().position(|&c| c == b' ' || c == b'\t');
            match word {
                Some(n)
                    if METHODS
                        .iter()
                        .any(|m| b.get(..n).is_some_and(|w| m.eq_ignore_ascii_case(w))) =>
                {
                    Probe::Match(AppProto::Http)
                }
                Some(_) => Probe::NoMatch,
                None if b.len() < 10 && METHODS.iter().any(|m| starts_ci(m, b)) => Probe::NeedMore,
                None => Probe::NoMatch,
            }
        }
        Direction::ToClient => match http1::parse_status_line(b) {
            Ok(_) => Probe::Match(AppProto::Http),
            Err(ParseError::Incomplete { .. }) if b.len() < 9 => Probe::NeedMore,
            // "HTTP/1.1 " is enough to tell, even before the line ends.
            Err(ParseError::Incomplete { .. }) => Probe::Match(AppProto::Http),
            Err(ParseError::Invalid(_)) => Probe::NoMatch,
        },
    }
}

fn starts_ci(word: &[u8], prefix: &[u8]) -> bool {
    word.get(..prefix.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(prefix))
}

fn probe_tls(b: &[u8]) -> Probe {
    // A handshake record (or an alert) with a plausible version and length.
    match b {
        [] | [_] | [_, _] => match tls::parse_record(b) {
            Err(ParseError::Invalid(_)) => Probe::NoMatch,
            _ if b.first().is_some_and(|&c| c != tls::content::HANDSHAKE) => Probe::NoMatch,
            _ => Probe::NeedMore,
        },
        [ct, 3, minor, ..] if *ct == tls::content::HANDSHAKE && *minor <= 4 => match tls::parse_record(b) {
            Err(ParseError::Invalid(_)) => Probe::NoMatch,
            _ if b.len() < 6 => Probe::NeedMore,
            _ if b.get(5).is_some_and(|&c| {
                matches!(c, tls::handshake::CLIENT_HELLO | tls::handshake::SERVER_HELLO)
            }) =>
            {
                Probe::Match(AppProto::Tls)
            }
            _ => Probe::NoMatch,
        },
        _ => Probe::NoMatch,
    }
}

fn probe_pgsql(dir: Direction, b: &[u8]) -> Probe {
    match dir {
        Direction::ToServer => match pgsql::parse_startup(b) {
            Ok(_) => Probe::Match(AppProto::Pgsql),
            // Length and code are checked as soon as they are visible.
            Err(ParseError::Incomplete { .. }) if b.len() >= 8 => Probe::Match(AppProto::Pgsql),
            Err(ParseError::Incomplete { .. }) => Probe::NeedMore,
            Err(ParseError::Invalid(_)) => Probe::NoMatch,
        },
        // A server never speaks first in PostgreSQL.
        Direction::ToClient => Probe::NoMatch,
    }
}

fn probe_dns_tcp(dir: Direction, b: &[u8]) -> Probe {
    // Rule out other protocols on the header before the message is whole:
    // one to a few questions, a sane opcode.
    if let Some(&[_, _, flags, _, qd0, qd1]) = b.get(2..8) {
        let qd = u16::from_be_bytes([qd0, qd1]);
        if qd == 0 || qd > 8 || (flags >> 3) & 0xf > 5 {
            return Probe::NoMatch;
        }
    }
    match dns::parse_tcp_frame(b) {
        Ok((_, msg)) => match dns::parse_message(msg) {
            Ok(m) if m.header.is_response() == (dir == Direction::ToClient) && m.header.qdcount >= 1 => {
                Probe::Match(AppProto::Dns)
            }
            _ => Probe::NoMatch,
        },
        Err(ParseError::Incomplete { .. }) if b.len() < MAX_PROBE => Probe::NeedMore,
        Err(_) => Probe::NoMatch,
    }
}

/// Probes the first bytes of a TCP direction. `server_port` orders probes.
pub fn probe_tcp(dir: Direction, b: &[u8], server_port: u16) -> Probe {
    type P = fn(Direction, &[u8]) -> Probe;
    let http: P = probe_http;
    let tls_p: P = |_, b| probe_tls(b);
    let pg: P = probe_pgsql;
    let dns_p: P = probe_dns_tcp;
    let order: [P; 4] = match server_port {
        443 | 8443 | 993 | 995 | 465 | 636 => [tls_p, http, pg, dns_p],
        5432 => [pg, tls_p, http, dns_p],
        53 => [dns_p, http, tls_p, pg],
        _ => [http, tls_p, pg, dns_p],
    };
    let mut need_more = false;
    for p in order {
        match p(dir, b) {
            Probe::Match(x) => return Probe::Match(x),
            Probe::NeedMore => need_more = true,
            Probe::NoMatch => {}
        }
    }
    if need_more {
        Probe::NeedMore
    } else {
        Probe::NoMatch
    }
}

/// Probes a UDP payload (one datagram is all there is).
pub fn probe_udp(b: &[u8], _server_port: u16) -> Probe {
    match dns::parse_message(b) {
        Ok(m) if m.header.qdcount >= 1 && m.header.opcode() <= 5 => Probe::Match(AppProto::Dns),
        _ => Probe::NoMatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::*;

    #[test]
    fn by_content_not_port() {
        assert_eq!(
            probe_tcp(ToServer, b"GET / HTTP/1.1\r\n", 8443),
            Probe::Match(AppProto::Http)
        );
        let ch = [22, 3, 1, 0, 100, 1, 0, 0, 96];
        assert_eq!(probe_tcp(ToServer, &ch, 80), Probe::Match(AppProto::Tls));
        let ssl = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
        assert_eq!(probe_tcp(ToServer, &ssl, 15432), Probe::Match(AppProto::Pgsql));
        assert_eq!(
            probe_tcp(ToClient, b"HTTP/1.1 200 OK\r\n", 1234),
            Probe::Match(AppProto::Http)
        );
        assert_eq!(
            probe_tcp(ToServer, b"SSH-2.0-OpenSSH_9.6\r\n", 22),
            Probe::NoMatch
        );
        assert_eq!(probe_tcp(ToServer, b"\x00\x00", 443), Probe::NeedMore);
    }

    #[test]
    fn short_prefixes_need_more() {
        assert_eq!(probe_tcp(ToServer, b"GE", 80), Probe::NeedMore);
        assert_eq!(probe_tcp(ToServer, &[22, 3], 443), Probe::NeedMore);
        assert_eq!(probe_tcp(ToServer, b"XYZW1234", 80), Probe::NoMatch);
    }

    #[test]
    fn dns_udp() {
        let q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01";
        assert_eq!(probe_udp(q, 5353), Probe::Match(AppProto::Dns));
        assert_eq!(probe_udp(b"hello world!!", 53), Probe::NoMatch);
    }
}
