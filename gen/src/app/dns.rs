//! DNS messages over UDP: queries and responses with A/AAAA/CNAME answers.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A record type.
pub const TYPE_A: u16 = 1;
/// CNAME record type.
pub const TYPE_CNAME: u16 = 5;
/// TXT record type.
pub const TYPE_TXT: u16 = 16;
/// AAAA record type.
pub const TYPE_AAAA: u16 = 28;
/// Class IN.
pub const CLASS_IN: u16 = 1;

/// Label-encodes a name (`www.example.com` → `\x03www\x07example\x03com\x00`).
/// Labels are cut to 63 bytes; empty labels are skipped.
pub fn encode_name(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name.trim_end_matches('.').split('.').filter(|l| !l.is_empty()) {
        let l = &label.as_bytes()[..label.len().min(63)];
        out.push(l.len() as u8);
        out.extend_from_slice(l);
    }
    out.push(0);
    out
}

fn header(id: u16, flags: u16, qd: u16, an: u16) -> Vec<u8> {
    let mut h = Vec::with_capacity(12);
    for v in [id, flags, qd, an, 0, 0] {
        h.extend_from_slice(&v.to_be_bytes());
    }
    h
}

/// A recursive query for `name`/`qtype` (flags 0x0100: RD).
pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = header(id, 0x0100, 1, 0);
    m.extend(encode_name(name));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&CLASS_IN.to_be_bytes());
    m
}

/// Answer data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rdata {
    /// IPv4 address.
    A(Ipv4Addr),
    /// IPv6 address.
    Aaaa(Ipv6Addr),
    /// Canonical name; later answers belong to it.
    Cname(String),
}

/// A response (flags 0x8180: QR, RD, RA; NOERROR) repeating the question,
/// with `answers` in order. The first answer's owner is the question name
/// (compressed as a pointer to offset 12); an answer after a CNAME is owned
/// by that CNAME's target (a pointer to where it was written).
pub fn response(id: u16, name: &str, qtype: u16, answers: &[Rdata], ttl: u32) -> Vec<u8> {
    let mut m = header(id, 0x8180, 1, answers.len().min(u16::MAX as usize) as u16);
    m.extend(encode_name(name));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&CLASS_IN.to_be_bytes());
    let mut owner: u16 = 12;
    for a in answers {
        m.extend_from_slice(&(0xc000 | (owner & 0x3fff)).to_be_bytes());
        let (t, data_at_owner) = match a {
            Rdata::A(_) => (TYPE_A, None),
            Rdata::Aaaa(_) => (TYPE_AAAA, None),
            Rdata::Cname(_) => (TYPE_CNAME, Some(())),
        };
        m.extend_from_slice(&t.to_be_bytes());
        m.extend_from_slice(&CLASS_IN.to_be_bytes());
        m.extend_from_slice(&ttl.to_be_bytes());
        let rdata = match a {
            Rdata::A(ip) => ip.octets().to_vec(),
            Rdata::Aaaa(ip) => ip.octets().to_vec(),
            Rdata::Cname(target) => encode_name(target),
        };
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        if data_at_owner.is_some() {
            owner = m.len().min(0x3fff) as u16;
        }
        m.extend(rdata);
    }
    m
}

/// An NXDOMAIN response (flags 0x8183) repeating the question.
pub fn nxdomain(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = header(id, 0x8183, 1, 0);
    m.extend(encode_name(name));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&CLASS_IN.to_be_bytes());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_encoding() {
        assert_eq!(
            encode_name("www.example.com"),
            b"\x03www\x07example\x03com\x00".to_vec()
        );
        assert_eq!(encode_name("example.com."), b"\x07example\x03com\x00".to_vec());
        assert_eq!(encode_name(""), vec![0]);
        assert_eq!(encode_name(&"a".repeat(70))[0], 63);
    }

    #[test]
    fn query_layout() {
        let q = query(0xbeef, "api.example.com", TYPE_AAAA);
        assert_eq!(&q[..12], &[0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&q[12..29], b"\x03api\x07example\x03com\x00");
        assert_eq!(&q[29..], &[0, 28, 0, 1]);
    }

    #[test]
    fn response_with_cname_chain() {
        let r = response(
            7,
            "www.example.com",
            TYPE_A,
            &[
                Rdata::Cname("edge.example.net".into()),
                Rdata::A(Ipv4Addr::new(192, 0, 2, 80)),
            ],
            300,
        );
        assert_eq!(&r[2..4], &[0x81, 0x80]);
        assert_eq!(&r[6..8], &[0, 2]);
        let q_end = 12 + 17 + 4;
        assert_eq!(&r[q_end..q_end + 2], &[0xc0, 0x0c]);
        assert_eq!(&r[q_end + 2..q_end + 4], &[0, 5]);
        let rdlen = usize::from(u16::from_be_bytes([r[q_end + 10], r[q_end + 11]]));
        let target_at = q_end + 12;
        assert_eq!(
            &r[target_at..target_at + rdlen],
            b"\x04edge\x07example\x03net\x00"
        );
        let a = target_at + rdlen;
        assert_eq!(u16::from_be_bytes([r[a], r[a + 1]]), 0xc000 | target_at as u16);
        assert_eq!(&r[a + 2..a + 4], &[0, 1]);
        assert_eq!(&r[a + 12..], &[192, 0, 2, 80]);
        let nx = nxdomain(9, "nope.example", TYPE_A);
        assert_eq!(&nx[2..4], &[0x81, 0x83]);
    }
}
