//! DNS transactions over UDP (one datagram, one message) and TCP (length
//! prefixed). Each query and each response is logged as it arrives, as
//! Suricata's EVE `dns` records do; a response is matched to its query by
//! id for `tx_id`.

use super::{Direction, DoneTx, Progress, Tx};
use tapwatch_parsers::dns::{self, Rdata};
use tapwatch_parsers::ParseError;

/// Most answers kept per response.
pub const MAX_ANSWERS: usize = 64;
/// Most queries awaiting an answer per flow.
pub const MAX_OPEN: usize = 64;

/// One resource record, decoded for logging.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsAnswer {
    /// Owner name.
    pub rrname: String,
    /// Type.
    pub rrtype: u16,
    /// TTL.
    pub ttl: u32,
    /// RDATA as Suricata logs it (address, name, text); None if not logged.
    pub rdata: Option<String>,
}

/// A query or a response.
#[derive(Clone, Debug, Default)]
pub struct DnsTx {
    /// Index of the query/response pair in the flow.
    pub tx_id: u64,
    /// Message id.
    pub id: u16,
    /// Header flags word.
    pub flags: u16,
    /// First question: name (`dns.query`), type.
    pub rrname: Vec<u8>,
    /// First question type.
    pub rrtype: u16,
    /// All question names.
    pub queries: Vec<Vec<u8>>,
    /// Answers (responses only).
    pub answers: Vec<DnsAnswer>,
    /// Number of authority records.
    pub authorities: u16,
}

impl DnsTx {
    fn header(&self) -> dns::Header {
        dns::Header {
            id: self.id,
            flags: self.flags,
            qdcount: 0,
            ancount: 0,
            nscount: 0,
            arcount: 0,
        }
    }
    /// QR bit.
    pub fn is_response(&self) -> bool {
        self.header().is_response()
    }
    /// Opcode.
    pub fn opcode(&self) -> u8 {
        self.header().opcode()
    }
    /// Rcode.
    pub fn rcode(&self) -> u8 {
        self.header().rcode()
    }
}

/// Per-flow DNS state.
#[derive(Clone, Debug, Default)]
pub struct DnsState {
    /// Queries awaiting a response: (id, tx_id).
    open: Vec<(u16, u64)>,
    next_tx: u64,
    last: Option<Box<DnsTx>>,
}

/// Suricata writes IPv6 addresses fully expanded.
pub fn ipv6_expanded(a: &std::net::Ipv6Addr) -> String {
    let s = a.segments();
    s.iter().map(|x| format!("{x:04x}")).collect::<Vec<_>>().join(":")
}

fn rdata_string(r: &Rdata<'_>) -> Option<String> {
    Some(match r {
        Rdata::A(a) => a.to_string(),
        Rdata::Aaaa(a) => ipv6_expanded(a),
        Rdata::Name(n) => n.to_dotted(),
        Rdata::Mx { exchange, .. } => exchange.to_dotted(),
        Rdata::Srv { target, .. } => target.to_dotted(),
        Rdata::Txt(t) => {
            let mut v = Vec::new();
            for s in dns::txt_strings(t) {
                v.extend_from_slice(s);
            }
            String::from_utf8_lossy(&v).into_owned()
        }
        Rdata::Soa { .. } | Rdata::Other(_) => return None,
    })
}

impl DnsState {
    /// The transaction alerts should carry: the last one seen.
    pub fn current(&self) -> Option<&DnsTx> {
        self.last.as_deref()
    }

    /// Handles one message; `Err` when it is not valid DNS.
    fn on_message(&mut self, msg: &[u8], now: (u64, u64), done: &mut Vec<DoneTx>) -> Result<(), ParseError> {
        let m = dns::parse_message(msg)?;
        let mut tx = DnsTx {
            id: m.header.id,
            flags: m.header.flags,
            ..Default::default()
        };
        for (n, q) in m.questions().enumerate() {
            let mut name = Vec::new();
            q.name.write_dotted(&mut name);
            if n == 0 {
                tx.rrname = name.clone();
                tx.rrtype = q.qtype;
            }
            tx.queries.push(name);
        }
        if m.header.is_response() {
            tx.tx_id = match self.open.iter().position(|&(id, _)| id == m.header.id) {
                Some(p) => self.open.remove(p).1,
                None => {
                    self.next_tx += 1;
                    self.next_tx - 1
                }
            };
            tx.answers = m
                .answers()
                .take(MAX_ANSWERS)
                .map(|r| DnsAnswer {
                    rrname: r.name.to_dotted(),
                    rrtype: r.rrtype,
                    ttl: r.ttl,
                    rdata: rdata_string(&r.rdata()),
                })
                .collect();
            tx.authorities = m.header.nscount;
        } else {
            tx.tx_id = self.next_tx;
            self.next_tx += 1;
            if self.open.len() >= MAX_OPEN {
                self.open.remove(0);
            }
            self.open.push((m.header.id, tx.tx_id));
        }
        self.last = Some(Box::new(tx.clone()));
        done.push(DoneTx {
            tx: Tx::Dns(Box::new(tx)),
            ts_ns: now.0,
            pcap_cnt: now.1,
        });
        Ok(())
    }

    /// One UDP datagram.
    pub fn on_datagram(
        &mut self,
        _dir: Direction,
        data: &[u8],
        now: (u64, u64),
        done: &mut Vec<DoneTx>,
    ) -> Result<(), ParseError> {
        self.on_message(data, now, done)
    }

    /// TCP bytes: one length-prefixed message per call.
    pub fn parse_tcp(
        &mut self,
        _dir: Direction,
        buf: &[u8],
        now: (u64, u64),
        done: &mut Vec<DoneTx>,
    ) -> Progress {
        match dns::parse_tcp_frame(buf) {
            Ok((rest, msg)) => {
                if self.on_message(msg, now, done).is_err() {
                    return Progress::Invalid(super::Anomaly::Malformed("dns message"));
                }
                Progress::Done {
                    consumed: buf.len() - rest.len(),
                }
            }
            Err(e) => Progress::from_error(e, 0),
        }
    }

    /// A gap in a TCP stream: the next frame boundary is unknown.
    pub fn on_gap(&mut self, _dir: Direction) {}

    /// Flow end: nothing is held back.
    pub fn finish(&mut self, _now: (u64, u64), _done: &mut Vec<DoneTx>) {}
}
