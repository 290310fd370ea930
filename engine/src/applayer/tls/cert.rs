//! The server certificate fields Suricata logs and matches, read from the
//! leaf of a TLS ≤ 1.2 Certificate message (RFC 5246 7.4.2) with
//! x509-parser (RFC 5280): subject and issuer as `C=US, O=..., CN=...`,
//! serial as upper-case hex pairs joined by `:` (DER bytes, a leading
//! `00` kept), SHA-1 fingerprint as lower-case hex pairs joined by `:`,
//! validity as `YYYY-MM-DDTHH:MM:SS` (UTC).

use std::fmt::Write as _;

use sha1::{Digest as _, Sha1};

/// What tapwatch keeps of the leaf certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject distinguished name (`tls.cert_subject`, EVE `subject`).
    pub subject: String,
    /// Issuer distinguished name (`tls.cert_issuer`, EVE `issuerdn`).
    pub issuer: String,
    /// Serial number (`tls.cert_serial`, EVE `serial`).
    pub serial: String,
    /// SHA-1 of the DER (`tls.cert_fingerprint`, EVE `fingerprint`).
    pub fingerprint: String,
    /// notBefore (EVE `notbefore`).
    pub not_before: String,
    /// notAfter (EVE `notafter`).
    pub not_after: String,
}

fn hex_pairs(bytes: &[u8], upper: bool) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = if upper {
            write!(s, "{b:02X}")
        } else {
            write!(s, "{b:02x}")
        };
    }
    s
}

fn date(t: &x509_parser::time::ASN1Time) -> String {
    let d = t.to_datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// SHA-1 fingerprint of a DER certificate, as Suricata writes it.
pub fn fingerprint(der: &[u8]) -> String {
    hex_pairs(&Sha1::digest(der), false)
}

/// Reads the fields of a DER certificate; `None` when it does not parse.
pub fn parse(der: &[u8]) -> Option<CertInfo> {
    let (_, c) = x509_parser::parse_x509_certificate(der).ok()?;
    let v = c.validity();
    Some(CertInfo {
        subject: c.subject().to_string(),
        issuer: c.issuer().to_string(),
        serial: hex_pairs(c.raw_serial(), true),
        fingerprint: fingerprint(der),
        not_before: date(&v.not_before),
        not_after: date(&v.not_after),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEAF: &[u8] = include_bytes!("../../../../tests/data/shop-leaf.der");

    /// Expected values as `openssl x509 -noout -subject -issuer -serial
    /// -dates -fingerprint -sha1` prints them for this certificate,
    /// reformatted the way Suricata 7 logs them.
    #[test]
    fn leaf_fields() {
        let c = parse(LEAF).unwrap();
        assert_eq!(
            c.subject,
            "C=US, ST=California, L=San Francisco, O=Example Shop, Inc., OU=Web, CN=shop.example.com"
        );
        assert_eq!(c.issuer, "C=US, O=Example Trust, CN=Example Issuing CA");
        assert_eq!(c.serial, "00:AB:12:CD:34:EF:56:78");
        assert_eq!(
            c.fingerprint,
            "1d:82:ac:65:2e:d5:ab:05:38:51:de:b7:39:50:df:5e:82:b0:09:1d"
        );
        assert_eq!(c.not_before, "2026-11-30T03:26:10");
        assert_eq!(c.not_after, "2028-01-01T03:26:10");
    }

    #[test]
    fn garbage_and_every_prefix_is_none() {
        assert_eq!(parse(b"not a certificate"), None);
        for n in 0..LEAF.len() {
            assert_eq!(parse(&LEAF[..n]), None, "{n}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(mut data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), at in 0usize..958, byte in 0u8..=255) {
            let _ = parse(&data);
            let mut leaf = LEAF.to_vec();
            if let Some(b) = leaf.get_mut(at) {
                *b = byte;
            }
            let _ = parse(&leaf);
            data.clear();
        }
    }
}
