//! TLS client and server fingerprints, computed once per handshake:
//!
//! - JA3 (Salesforce, 2017): `version,ciphers,extensions,groups,point_formats`
//!   from the ClientHello, decimal values joined by `-`, and its MD5.
//! - JA3S: `version,cipher,extensions` from the ServerHello, and its MD5.
//! - JA4 (FoxIO, TLS client part, BSD-3-Clause spec):
//!   `t13d1516h2_<sha256(sorted ciphers)[..12]>_<sha256(sorted extensions "_" signature algorithms)[..12]>`,
//!   as Suricata 7 writes it.
//!
//! GREASE values (RFC 8701) are left out of every list, as both specs say.

use std::fmt::Write as _;

use md5::{Digest as _, Md5};
use sha2::Sha256;
use tapwatch_parsers::tls::{ext, is_grease, ClientHello, ServerHello};

fn join_dec(out: &mut String, vals: impl Iterator<Item = u16>) {
    for (i, v) in vals.enumerate() {
        if i > 0 {
            out.push('-');
        }
        let _ = write!(out, "{v}");
    }
}

/// The JA3 string of a ClientHello.
pub fn ja3(ch: &ClientHello<'_>) -> String {
    let mut s = String::with_capacity(128);
    let _ = write!(s, "{},", ch.version.0);
    join_dec(&mut s, ch.ciphers().filter(|&c| !is_grease(c)));
    s.push(',');
    join_dec(
        &mut s,
        ch.extensions().map(|e| e.ext_type).filter(|&t| !is_grease(t)),
    );
    s.push(',');
    join_dec(&mut s, ch.groups().filter(|&g| !is_grease(g)));
    s.push(',');
    join_dec(&mut s, ch.ec_point_formats().iter().map(|&p| u16::from(p)));
    s
}

/// The JA3S string of a ServerHello.
pub fn ja3s(sh: &ServerHello<'_>) -> String {
    let mut s = String::with_capacity(48);
    let _ = write!(s, "{},{},", sh.version.0, sh.cipher);
    join_dec(
        &mut s,
        sh.extensions().map(|e| e.ext_type).filter(|&t| !is_grease(t)),
    );
    s
}

fn hex(bytes: &[u8], out: &mut String) {
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
}

/// MD5 of `s` in lower-case hex (the JA3 and JA3S hash).
pub fn md5_hex(s: &str) -> String {
    let mut out = String::with_capacity(32);
    hex(&Md5::digest(s.as_bytes()), &mut out);
    out
}

/// The first 12 hex digits of SHA-256 of `s`, or twelve zeros for an
/// empty list (JA4's rule).
fn sha256_12(s: &str) -> String {
    if s.is_empty() {
        return "000000000000".into();
    }
    let mut out = String::with_capacity(64);
    hex(&Sha256::digest(s.as_bytes()), &mut out);
    out.truncate(12);
    out
}

/// JA4's two-character version: the highest non-GREASE entry of
/// supported_versions, else the legacy version.
fn ja4_version(ch: &ClientHello<'_>) -> &'static str {
    let v = ch
        .supported_versions()
        .filter(|&v| !is_grease(v))
        .max()
        .unwrap_or(ch.version.0);
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 | 0x0200 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// First and last characters of the first ALPN value; when either is not
/// ASCII alphanumeric, the first and last hex digits of the value instead;
/// `00` without ALPN.
fn ja4_alpn(ch: &ClientHello<'_>) -> [char; 2] {
    let Some(a) = ch.alpn().next().filter(|a| !a.is_empty()) else {
        return ['0', '0'];
    };
    let (Some(&f), Some(&l)) = (a.first(), a.last()) else {
        return ['0', '0'];
    };
    if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
        [char::from(f), char::from(l)]
    } else {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digit = |n: u8| char::from(HEX.get(usize::from(n & 0x0f)).copied().unwrap_or(b'0'));
        [digit(f >> 4), digit(l)]
    }
}

fn join_hex(out: &mut String, vals: &[u16]) {
    for (i, v) in vals.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{v:04x}");
    }
}

/// The JA4 fingerprint of a ClientHello seen over TCP.
pub fn ja4(ch: &ClientHello<'_>) -> String {
    let mut ciphers: Vec<u16> = ch.ciphers().filter(|&c| !is_grease(c)).collect();
    let exts: Vec<u16> = ch
        .extensions()
        .map(|e| e.ext_type)
        .filter(|&t| !is_grease(t))
        .collect();
    let sni = exts.contains(&ext::SERVER_NAME);
    let alpn = ja4_alpn(ch);
    let mut out = String::with_capacity(36);
    let _ = write!(
        out,
        "t{}{}{:02}{:02}{}{}_",
        ja4_version(ch),
        if sni { 'd' } else { 'i' },
        ciphers.len().min(99),
        exts.len().min(99),
        alpn[0],
        alpn[1]
    );
    ciphers.sort_unstable();
    let mut list = String::with_capacity(ciphers.len() * 5);
    join_hex(&mut list, &ciphers);
    out.push_str(&sha256_12(&list));
    out.push('_');
    let mut sorted: Vec<u16> = exts
        .into_iter()
        .filter(|&t| t != ext::SERVER_NAME && t != ext::ALPN)
        .collect();
    sorted.sort_unstable();
    list.clear();
    join_hex(&mut list, &sorted);
    // Suricata 7 always writes the underscore and hashes the result, even
    // without signature algorithms or extensions (`_` alone gives
    // d2e2adf7177b), where the JA4 text would end the list without it.
    list.push('_');
    let sigs: Vec<u16> = ch.signature_algorithms().collect();
    join_hex(&mut list, &sigs);
    out.push_str(&sha256_12(&list));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapwatch_parsers::tls::{parse_client_hello, parse_handshake, parse_record, parse_server_hello};

    /// The ClientHello of the JA4 spec's worked example is not public as
    /// bytes, so these hellos are built field by field.
    fn hello(version: u16, ciphers: &[u16], exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = version.to_be_bytes().to_vec();
        body.extend_from_slice(&[0x11; 32]); // random
        body.push(0); // no session id
        body.extend_from_slice(&((ciphers.len() * 2) as u16).to_be_bytes());
        for c in ciphers {
            body.extend_from_slice(&c.to_be_bytes());
        }
        body.extend_from_slice(&[1, 0]); // null compression
        let mut e = Vec::new();
        for (t, d) in exts {
            e.extend_from_slice(&t.to_be_bytes());
            e.extend_from_slice(&(d.len() as u16).to_be_bytes());
            e.extend_from_slice(d);
        }
        body.extend_from_slice(&(e.len() as u16).to_be_bytes());
        body.extend_from_slice(&e);
        body
    }

    fn u16_list(len_bytes: usize, vals: &[u16]) -> Vec<u8> {
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

    fn alpn(names: &[&[u8]]) -> Vec<u8> {
        let mut l = Vec::new();
        for n in names {
            l.push(n.len() as u8);
            l.extend_from_slice(n);
        }
        let mut v = (l.len() as u16).to_be_bytes().to_vec();
        v.extend(l);
        v
    }

    fn browser_like() -> Vec<u8> {
        hello(
            0x0303,
            &[0x1a1a, 0x1301, 0x1302, 0xc02b, 0x002f],
            &[
                (0x2a2a, vec![]),
                (0, vec![0, 4, 0, 0, 1, b'a']),
                (23, vec![]),
                (10, u16_list(2, &[0x3a3a, 0x001d, 0x0017])),
                (11, vec![1, 0]),
                (16, alpn(&[b"h2", b"http/1.1"])),
                (13, u16_list(2, &[0x0403, 0x0804, 0x0401])),
                (43, u16_list(1, &[0x5a5a, 0x0304, 0x0303])),
                (0x4a4a, vec![0]),
            ],
        )
    }

    #[test]
    fn ja3_skips_grease() {
        let b = browser_like();
        let ch = parse_client_hello(&b).unwrap();
        let s = ja3(&ch);
        assert_eq!(s, "771,4865-4866-49195-47,0-23-10-11-16-13-43,29-23,0");
        assert_eq!(md5_hex(&s), "88bd48f2c66401d94e768ffba488c9c9");
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn ja4_parts() {
        let b = browser_like();
        let ch = parse_client_hello(&b).unwrap();
        let j = ja4(&ch);
        // TLS 1.3 from supported_versions, SNI, 4 ciphers, 7 extensions, h2.
        assert!(j.starts_with("t13d0407h2_"), "{j}");
        assert_eq!(j.len(), 36);
        assert_eq!(&j[11..23], &sha256_12("002f,1301,1302,c02b"));
        assert_eq!(&j[24..], &sha256_12("000a,000b,000d,0017,002b_0403,0804,0401"));
        assert_eq!(&j[24..], "1fdf4de06b7e");
    }

    #[test]
    fn ja4_edge_cases() {
        // No SNI, no ALPN, no signature algorithms, TLS 1.0 legacy only.
        let b = hello(0x0301, &[0x002f], &[(11, vec![1, 0])]);
        let ch = parse_client_hello(&b).unwrap();
        assert_eq!(
            ja4(&ch),
            format!("t10i010100_{}_{}", sha256_12("002f"), sha256_12("000b_"))
        );
        // No cipher suites, no extensions (Suricata 7 hashes a lone `_`).
        let b = hello(0x0300, &[], &[]);
        let ch = parse_client_hello(&b).unwrap();
        assert_eq!(ja4(&ch), "ts3i000000_000000000000_d2e2adf7177b");
        // ALPN not alphanumeric at an end: hex digits of the first and last byte.
        let b = hello(0x0303, &[0x002f], &[(16, alpn(&[b"\xabx-"]))]);
        let ch = parse_client_hello(&b).unwrap();
        assert!(ja4(&ch).starts_with("t12i0101ad_"), "{}", ja4(&ch));
    }

    #[test]
    fn ja3s_of_a_server_hello() {
        let mut body = vec![3, 3];
        body.extend_from_slice(&[2u8; 32]);
        body.push(0);
        body.extend_from_slice(&[0xc0, 0x2f, 0]);
        // renegotiation_info, a GREASE extension, extended_master_secret
        body.extend_from_slice(&[0, 13, 0xff, 0x01, 0, 1, 0, 0x0a, 0x0a, 0, 0, 0, 23, 0, 0]);
        let sh = parse_server_hello(&body).unwrap();
        assert_eq!(ja3s(&sh), "771,49199,65281-23");
    }

    #[test]
    fn fingerprints_of_a_record() {
        let mut rec = vec![22, 3, 1];
        let b = browser_like();
        let mut hs = vec![1, 0];
        hs.extend_from_slice(&(b.len() as u16).to_be_bytes());
        hs.extend_from_slice(&b);
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        let (_, r) = parse_record(&rec).unwrap();
        let (_, h) = parse_handshake(r.fragment).unwrap();
        let ch = parse_client_hello(h.body).unwrap();
        assert_eq!(ja3(&ch), ja3(&parse_client_hello(&b).unwrap()));
    }
}
