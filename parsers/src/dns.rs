//! DNS messages (RFC 1035 4.1) over UDP and TCP (RFC 1035 4.2.2, RFC 7766).
//!
//! [`parse_message`] checks a whole message once (header, every name and
//! record within bounds), so the section iterators that follow it never fail
//! part way. Names are views ([`Name`]) that follow compression pointers
//! lazily; a pointer must point strictly backwards, so following one always
//! terminates, and a name longer than 255 bytes is invalid.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use std::net::{Ipv4Addr, Ipv6Addr};

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32};

use crate::ParseError;

/// Longest name in wire form (RFC 1035 2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Most records walked per message, whatever the header counts say.
pub const MAX_RECORDS: usize = 512;

/// Record types tapwatch names (IANA DNS parameters).
pub mod rrtype {
    /// A (1)
    pub const A: u16 = 1;
    /// NS (2)
    pub const NS: u16 = 2;
    /// CNAME (5)
    pub const CNAME: u16 = 5;
    /// SOA (6)
    pub const SOA: u16 = 6;
    /// PTR (12)
    pub const PTR: u16 = 12;
    /// MX (15)
    pub const MX: u16 = 15;
    /// TXT (16)
    pub const TXT: u16 = 16;
    /// AAAA (28)
    pub const AAAA: u16 = 28;
    /// SRV (33)
    pub const SRV: u16 = 33;
    /// OPT (41)
    pub const OPT: u16 = 41;
    /// HTTPS (65)
    pub const HTTPS: u16 = 65;
    /// ANY (255)
    pub const ANY: u16 = 255;

    /// The mnemonic Suricata logs, if tapwatch knows it.
    pub fn name(t: u16) -> Option<&'static str> {
        Some(match t {
            A => "A",
            NS => "NS",
            CNAME => "CNAME",
            SOA => "SOA",
            PTR => "PTR",
            MX => "MX",
            TXT => "TXT",
            AAAA => "AAAA",
            SRV => "SRV",
            OPT => "OPT",
            HTTPS => "HTTPS",
            ANY => "ANY",
            64 => "SVCB",
            257 => "CAA",
            _ => return None,
        })
    }
}

/// The fixed 12-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Query id.
    pub id: u16,
    /// Flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode).
    pub flags: u16,
    /// Question count.
    pub qdcount: u16,
    /// Answer count.
    pub ancount: u16,
    /// Authority count.
    pub nscount: u16,
    /// Additional count.
    pub arcount: u16,
}

impl Header {
    /// QR: this is a response.
    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    /// Opcode (0 query).
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }
    /// Response code (0 NOERROR, 3 NXDOMAIN).
    pub fn rcode(&self) -> u8 {
        (self.flags & 0xf) as u8
    }
}

/// Rcode mnemonics as Suricata logs them.
pub fn rcode_name(r: u8) -> &'static str {
    match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        _ => "UNKNOWN",
    }
}

/// A name inside a message, followed lazily.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name<'a> {
    msg: &'a [u8],
    off: usize,
}

impl<'a> Name<'a> {
    /// The labels in order (compression pointers followed).
    pub fn labels(&self) -> LabelIter<'a> {
        LabelIter {
            msg: self.msg,
            off: self.off,
            total: 0,
            done: false,
        }
    }

    /// Writes the name dotted (`www.example.com`, root as empty) into `out`.
    pub fn write_dotted(&self, out: &mut Vec<u8>) {
        for (n, l) in self.labels().enumerate() {
            if n > 0 {
                out.push(b'.');
            }
            out.extend_from_slice(l);
        }
    }

    /// The name dotted, as an owned string (lossy UTF-8).
    pub fn to_dotted(&self) -> String {
        let mut v = Vec::with_capacity(64);
        self.write_dotted(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    }
}

/// Labels of a [`Name`]. Only yields names [`parse_message`] checked.
#[derive(Clone, Debug)]
pub struct LabelIter<'a> {
    msg: &'a [u8],
    off: usize,
    total: usize,
    done: bool,
}

impl<'a> Iterator for LabelIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if self.done {
                return None;
            }
            let len = *self.msg.get(self.off)?;
            match len {
                0 => {
                    self.done = true;
                    return None;
                }
                l if l & 0xc0 == 0xc0 => {
                    let lo = *self.msg.get(self.off + 1)?;
                    let target = usize::from(l & 0x3f) << 8 | usize::from(lo);
                    if target >= self.off {
                        self.done = true;
                        return None;
                    }
                    self.off = target;
                }
                l if l & 0xc0 == 0 => {
                    let l = usize::from(l);
                    self.total += l + 1;
                    if self.total > MAX_NAME_LEN {
                        self.done = true;
                        return None;
                    }
                    let label = self.msg.get(self.off + 1..self.off + 1 + l)?;
                    self.off += 1 + l;
                    return Some(label);
                }
                _ => {
                    self.done = true;
                    return None;
                }
            }
        }
    }
}

/// Checks the name at `off` and returns the offset just after it (after the
/// first pointer, when compressed).
fn check_name(msg: &[u8], off: usize) -> Result<usize, ParseError> {
    let mut pos = off;
    let mut end: Option<usize> = None;
    let mut total = 0usize;
    loop {
        let len = *msg.get(pos).ok_or(ParseError::Incomplete { needed: 1 })?;
        match len {
            0 => return Ok(end.unwrap_or(pos + 1)),
            l if l & 0xc0 == 0xc0 => {
                let lo = *msg.get(pos + 1).ok_or(ParseError::Incomplete { needed: 1 })?;
                let target = usize::from(l & 0x3f) << 8 | usize::from(lo);
                if target >= pos {
                    return Err(ParseError::Invalid("dns name pointer loop"));
                }
                end.get_or_insert(pos + 2);
                pos = target;
            }
            l if l & 0xc0 == 0 => {
                total += usize::from(l) + 1;
                if total > MAX_NAME_LEN {
                    return Err(ParseError::Invalid("dns name too long"));
                }
                pos += 1 + usize::from(l);
                if pos > msg.len() {
                    return Err(ParseError::Incomplete {
                        needed: pos - msg.len(),
                    });
                }
            }
            _ => return Err(ParseError::Invalid("dns label type")),
        }
    }
}

/// A question entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Question<'a> {
    /// QNAME.
    pub name: Name<'a>,
    /// QTYPE.
    pub qtype: u16,
    /// QCLASS.
    pub qclass: u16,
}

/// A resource record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Owner name.
    pub name: Name<'a>,
    /// TYPE.
    pub rrtype: u16,
    /// CLASS.
    pub class: u16,
    /// TTL.
    pub ttl: u32,
    rdata_off: usize,
    rdata_len: usize,
    msg: &'a [u8],
}

/// Decoded RDATA for the types tapwatch logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rdata<'a> {
    /// A
    A(Ipv4Addr),
    /// AAAA
    Aaaa(Ipv6Addr),
    /// CNAME, NS, PTR
    Name(Name<'a>),
    /// MX
    Mx {
        /// Preference.
        preference: u16,
        /// Exchange host.
        exchange: Name<'a>,
    },
    /// TXT: the character-strings, each length-prefixed.
    Txt(&'a [u8]),
    /// SOA
    Soa {
        /// Primary name server.
        mname: Name<'a>,
        /// Responsible mailbox.
        rname: Name<'a>,
        /// Serial, refresh, retry, expire, minimum.
        times: [u32; 5],
    },
    /// SRV
    Srv {
        /// Priority.
        priority: u16,
        /// Weight.
        weight: u16,
        /// Port.
        port: u16,
        /// Target host.
        target: Name<'a>,
    },
    /// Anything else, or a malformed known type: the raw bytes.
    Other(&'a [u8]),
}

impl<'a> Record<'a> {
    /// The raw RDATA.
    pub fn rdata_raw(&self) -> &'a [u8] {
        self.msg
            .get(self.rdata_off..self.rdata_off + self.rdata_len)
            .unwrap_or_default()
    }

    /// RDATA decoded by type; a malformed known type gives `Other`.
    pub fn rdata(&self) -> Rdata<'a> {
        let raw = self.rdata_raw();
        let name_at = |o: usize| -> Option<Name<'a>> {
            let off = self.rdata_off + o;
            let end = check_name(self.msg, off).ok()?;
            (end <= self.rdata_off + self.rdata_len).then_some(Name { msg: self.msg, off })
        };
        let u16_at = |o: usize| be16(raw.get(o..)?);
        let decoded = match self.rrtype {
            rrtype::A => <[u8; 4]>::try_from(raw).ok().map(|b| Rdata::A(Ipv4Addr::from(b))),
            rrtype::AAAA => <[u8; 16]>::try_from(raw)
                .ok()
                .map(|b| Rdata::Aaaa(Ipv6Addr::from(b))),
            rrtype::CNAME | rrtype::NS | rrtype::PTR => name_at(0).map(Rdata::Name),
            rrtype::MX => u16_at(0)
                .zip(name_at(2))
                .map(|(preference, exchange)| Rdata::Mx { preference, exchange }),
            rrtype::TXT => Some(Rdata::Txt(raw)),
            rrtype::SRV => (|| {
                Some(Rdata::Srv {
                    priority: u16_at(0)?,
                    weight: u16_at(2)?,
                    port: u16_at(4)?,
                    target: name_at(6)?,
                })
            })(),
            rrtype::SOA => (|| {
                let m_end = check_name(self.msg, self.rdata_off).ok()?;
                let r_end = check_name(self.msg, m_end).ok()?;
                let t = self.msg.get(r_end..r_end + 20)?;
                let mut times = [0u32; 5];
                for (slot, c) in times.iter_mut().zip(t.chunks_exact(4)) {
                    *slot = be32(c)?;
                }
                Some(Rdata::Soa {
                    mname: Name {
                        msg: self.msg,
                        off: self.rdata_off,
                    },
                    rname: Name {
                        msg: self.msg,
                        off: m_end,
                    },
                    times,
                })
            })(),
            _ => None,
        };
        decoded.unwrap_or(Rdata::Other(raw))
    }
}

/// The character-strings of TXT RDATA.
pub fn txt_strings(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = raw;
    std::iter::from_fn(move || {
        let (&n, r) = rest.split_first()?;
        let (s, after) = r.split_at_checked(usize::from(n))?;
        rest = after;
        Some(s)
    })
}

/// A checked DNS message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// The header.
    pub header: Header,
    msg: &'a [u8],
    /// Where each section starts: questions, answers, authorities, additionals, end.
    sections: [usize; 5],
    /// Entries actually present (bounded by [`MAX_RECORDS`]).
    counts: [usize; 4],
}

fn nom_err(e: nom::Err<nom::error::Error<&[u8]>>) -> ParseError {
    match e {
        nom::Err::Incomplete(_) => ParseError::Incomplete { needed: 1 },
        _ => ParseError::Incomplete { needed: 1 },
    }
}

/// Checks a DNS message and returns its view.
///
/// # Errors
/// `Incomplete` when the message ends inside a name or record (a cut
/// datagram); `Invalid` for pointer loops, over-long names, reserved label
/// types or more than [`MAX_RECORDS`] entries in all.
///
/// # Examples
/// ```
/// use tapwatch_parsers::dns::parse_message;
/// let q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x03ex1\x00\x00\x01\x00\x01";
/// let m = parse_message(q).unwrap();
/// assert_eq!(m.header.id, 0x1234);
/// assert_eq!(m.questions().next().unwrap().name.to_dotted(), "www.ex1");
/// ```
pub fn parse_message(msg: &[u8]) -> Result<Message<'_>, ParseError> {
    let (i, id) = be_u16(msg).map_err(nom_err)?;
    let (i, flags) = be_u16(i).map_err(nom_err)?;
    let (i, qd) = be_u16(i).map_err(nom_err)?;
    let (i, an) = be_u16(i).map_err(nom_err)?;
    let (i, ns) = be_u16(i).map_err(nom_err)?;
    let (_, ar) = be_u16(i).map_err(nom_err)?;
    let header = Header {
        id,
        flags,
        qdcount: qd,
        ancount: an,
        nscount: ns,
        arcount: ar,
    };
    let wanted = [qd, an, ns, ar].map(usize::from);
    if wanted.iter().sum::<usize>() > MAX_RECORDS {
        return Err(ParseError::Invalid("dns too many records"));
    }
    let mut pos = 12usize;
    let mut sections = [12usize; 5];
    for (s, (&n, start)) in wanted.iter().zip(sections.iter_mut()).enumerate() {
        *start = pos;
        for _ in 0..n {
            pos = check_name(msg, pos)?;
            let fixed = if s == 0 { 4 } else { 10 };
            let rest = msg.get(pos..).unwrap_or_default();
            let (r, hdr) = take::<_, _, nom::error::Error<&[u8]>>(fixed)(rest).map_err(nom_err)?;
            pos += fixed;
            if s > 0 {
                let rdlen = usize::from(hdr.get(8..).and_then(be16).unwrap_or(0));
                take::<_, _, nom::error::Error<&[u8]>>(rdlen)(r).map_err(nom_err)?;
                pos += rdlen;
            }
        }
    }
    sections[4] = pos;
    Ok(Message {
        header,
        msg,
        sections,
        counts: wanted,
    })
}

impl<'a> Message<'a> {
    /// The question section.
    pub fn questions(&self) -> impl Iterator<Item = Question<'a>> + 'a {
        let msg = self.msg;
        let [mut pos, ..] = self.sections;
        let [n, ..] = self.counts;
        (0..n).map_while(move |_| {
            let name = Name { msg, off: pos };
            pos = check_name(msg, pos).ok()?;
            let f = msg.get(pos..)?;
            pos += 4;
            Some(Question {
                name,
                qtype: be16(f)?,
                qclass: be16(f.get(2..)?)?,
            })
        })
    }

    fn records(&self, section: usize) -> impl Iterator<Item = Record<'a>> + 'a {
        let msg = self.msg;
        let mut pos = self.sections.get(section).copied().unwrap_or(msg.len());
        let n = self.counts.get(section).copied().unwrap_or(0);
        (0..n).map_while(move |_| {
            let name = Name { msg, off: pos };
            pos = check_name(msg, pos).ok()?;
            let (r, (rrtype, class, ttl, rdlen)) = rr_fixed(msg.get(pos..)?).ok()?;
            let rdata_off = msg.len() - r.len();
            pos = rdata_off + usize::from(rdlen);
            Some(Record {
                name,
                rrtype,
                class,
                ttl,
                rdata_off,
                rdata_len: usize::from(rdlen),
                msg,
            })
        })
    }

    /// The answer section.
    pub fn answers(&self) -> impl Iterator<Item = Record<'a>> + 'a {
        self.records(1)
    }

    /// The authority section.
    pub fn authorities(&self) -> impl Iterator<Item = Record<'a>> + 'a {
        self.records(2)
    }

    /// The additional section.
    pub fn additionals(&self) -> impl Iterator<Item = Record<'a>> + 'a {
        self.records(3)
    }
}

type RrFixed = (u16, u16, u32, u16);

fn rr_fixed(i: &[u8]) -> nom::IResult<&[u8], RrFixed> {
    let (i, t) = be_u16(i)?;
    let (i, c) = be_u16(i)?;
    let (i, ttl) = be_u32(i)?;
    let (i, l) = be_u16(i)?;
    Ok((i, (t, c, ttl, l)))
}

/// Splits one length-prefixed DNS message off a TCP stream (RFC 1035 4.2.2).
///
/// # Errors
/// `Incomplete` until the whole message is there; `Invalid` for a length
/// below the 12-byte header.
pub fn parse_tcp_frame(i: &[u8]) -> Result<(&[u8], &[u8]), ParseError> {
    let len = match i {
        [h, l, ..] => usize::from(u16::from_be_bytes([*h, *l])),
        _ => return Err(ParseError::Incomplete { needed: 2 - i.len() }),
    };
    if len < 12 {
        return Err(ParseError::Invalid("dns tcp length"));
    }
    let (body, rest) =
        i.get(2..)
            .and_then(|b| b.split_at_checked(len))
            .ok_or_else(|| ParseError::Incomplete {
                needed: (2 + len).saturating_sub(i.len()),
            })?;
    Ok((rest, body))
}

/// The big-endian u16 at the start of `b`.
fn be16(b: &[u8]) -> Option<u16> {
    b.first_chunk::<2>().map(|a| u16::from_be_bytes(*a))
}

/// The big-endian u32 at the start of `b`.
fn be32(b: &[u8]) -> Option<u32> {
    b.first_chunk::<4>().map(|a| u32::from_be_bytes(*a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Response for www.example.com A: a CNAME then an A, names compressed.
    const RESP: &[u8] = &[
        0xab, 0xcd, // id
        0x81, 0x80, // QR RD RA, NOERROR
        0, 1, 0, 2, 0, 0, 0, 0, // 1 question, 2 answers
        3, b'w', b'w', b'w', 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 3, b'c', b'o', b'm', 0, // @12
        0, 1, 0, 1, // A IN
        0xc0, 12, // -> www.example.com
        0, 5, 0, 1, 0, 0, 0x0e, 0x10, 0, 6, // CNAME IN ttl 3600 rdlen 6
        3, b'c', b'd', b'n', 0xc0, 16, // cdn.example.com @45
        0xc0, 45, // -> cdn.example.com
        0, 1, 0, 1, 0, 0, 0, 60, 0, 4, // A IN ttl 60 rdlen 4
        93, 184, 216, 34,
    ];

    #[test]
    fn response_with_compression() {
        let m = parse_message(RESP).unwrap();
        assert!(m.header.is_response());
        assert_eq!((m.header.id, m.header.rcode(), m.header.opcode()), (0xabcd, 0, 0));
        let q: Vec<_> = m.questions().collect();
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].name.to_dotted(), "www.example.com");
        assert_eq!(q[0].qtype, rrtype::A);
        let a: Vec<_> = m.answers().collect();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].name.to_dotted(), "www.example.com");
        assert_eq!(a[0].ttl, 3600);
        let Rdata::Name(cname) = a[0].rdata() else {
            panic!()
        };
        assert_eq!(cname.to_dotted(), "cdn.example.com");
        assert_eq!(a[1].name.to_dotted(), "cdn.example.com");
        assert_eq!(a[1].rdata(), Rdata::A(Ipv4Addr::new(93, 184, 216, 34)));
    }

    #[test]
    fn pointer_loops_and_long_names_rejected() {
        let mut q = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        q.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]); // points at itself
        assert!(matches!(parse_message(&q), Err(ParseError::Invalid(_))));
        let mut q = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for _ in 0..5 {
            q.push(63);
            q.extend_from_slice(&[b'a'; 63]);
        }
        q.push(0);
        q.extend_from_slice(&[0, 1, 0, 1]);
        assert!(matches!(parse_message(&q), Err(ParseError::Invalid(_))));
    }

    #[test]
    fn other_rdata() {
        // MX, TXT, SRV, AAAA with a root owner name.
        let mut m = vec![0, 2, 0x84, 0, 0, 0, 0, 4, 0, 0, 0, 0];
        m.extend_from_slice(&[0, 0, 15, 0, 1, 0, 0, 0, 1, 0, 5, 0, 10, 1, b'm', 0]);
        m.extend_from_slice(&[0, 0, 16, 0, 1, 0, 0, 0, 1, 0, 4, 3, b'a', b'=', b'b']);
        m.extend_from_slice(&[0, 0, 33, 0, 1, 0, 0, 0, 1, 0, 9, 0, 1, 0, 2, 0, 80, 1, b's', 0]);
        m.extend_from_slice(&[0, 0, 28, 0, 1, 0, 0, 0, 1, 0, 16]);
        m.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        let msg = parse_message(&m).unwrap();
        let a: Vec<_> = msg.answers().map(|r| r.rdata()).collect();
        assert!(matches!(a[0], Rdata::Mx { preference: 10, exchange } if exchange.to_dotted() == "m"));
        let Rdata::Txt(t) = a[1] else { panic!() };
        assert_eq!(txt_strings(t).collect::<Vec<_>>(), vec![&b"a=b"[..]]);
        assert!(matches!(a[2], Rdata::Srv { port: 80, target, .. } if target.to_dotted() == "s"));
        assert_eq!(a[3], Rdata::Aaaa("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn tcp_frames() {
        let mut s = (RESP.len() as u16).to_be_bytes().to_vec();
        s.extend_from_slice(RESP);
        s.push(0);
        let (rest, body) = parse_tcp_frame(&s).unwrap();
        assert_eq!((body, rest), (RESP, &[0u8][..]));
        for n in 0..s.len() - 1 {
            assert!(matches!(
                parse_tcp_frame(&s[..n]),
                Err(ParseError::Incomplete { .. })
            ));
        }
    }

    #[test]
    fn every_prefix_needs_more() {
        for n in 0..RESP.len() {
            assert!(
                matches!(parse_message(&RESP[..n]), Err(ParseError::Incomplete { .. })),
                "{n}"
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(m) = parse_message(&data) {
                for q in m.questions() { let _ = q.name.to_dotted(); }
                for r in m.answers().chain(m.authorities()).chain(m.additionals()) {
                    let _ = r.name.to_dotted();
                    if let Rdata::Txt(t) = r.rdata() { let _ = txt_strings(t).count(); }
                }
            }
            let _ = parse_tcp_frame(&data);
        }

        #[test]
        fn mutated_response_never_panics(pos in 0usize..RESP.len(), val in any::<u8>()) {
            let mut m = RESP.to_vec();
            m[pos] = val;
            if let Ok(msg) = parse_message(&m) {
                for r in msg.answers() { let _ = (r.name.to_dotted(), r.rdata()); }
            }
        }
    }
}
