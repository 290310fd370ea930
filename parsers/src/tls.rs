//! TLS record layer and handshake messages (RFC 8446 5.1 and 4, RFC 5246
//! 6.2 and 7.4), as far as an IDS reads them in clear text.
//!
//! [`parse_record`] splits the stream into records; handshake messages may
//! span records, so the caller concatenates handshake fragments and feeds
//! [`parse_handshake`]. Message bodies are parsed from a complete slice:
//! ciphers, extensions and certificates stay slices with iterators, read
//! only when asked.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use nom::bytes::streaming::take;
use nom::number::streaming::{be_u16, be_u24, be_u8};

use crate::ParseError;

/// Largest record fragment accepted: 2^14 plus the expansion TLS 1.2 allows
/// for ciphertext (RFC 5246 6.2.3).
pub const MAX_RECORD_LEN: usize = 16384 + 2048;
/// Largest handshake message accepted (certificate chains can be large).
pub const MAX_HANDSHAKE_LEN: usize = 1 << 18;

/// Record content types (RFC 8446 B.1).
pub mod content {
    /// change_cipher_spec(20)
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    /// alert(21)
    pub const ALERT: u8 = 21;
    /// handshake(22)
    pub const HANDSHAKE: u8 = 22;
    /// application_data(23)
    pub const APPLICATION_DATA: u8 = 23;
    /// heartbeat(24), RFC 6520
    pub const HEARTBEAT: u8 = 24;
}

/// Handshake message types (RFC 8446 4, RFC 5246 7.4).
pub mod handshake {
    /// client_hello(1)
    pub const CLIENT_HELLO: u8 = 1;
    /// server_hello(2)
    pub const SERVER_HELLO: u8 = 2;
    /// certificate(11)
    pub const CERTIFICATE: u8 = 11;
    /// server_hello_done(14)
    pub const SERVER_HELLO_DONE: u8 = 14;
}

/// Extension types used by tapwatch (IANA TLS ExtensionType registry).
pub mod ext {
    /// server_name(0)
    pub const SERVER_NAME: u16 = 0;
    /// supported_groups(10)
    pub const SUPPORTED_GROUPS: u16 = 10;
    /// ec_point_formats(11)
    pub const EC_POINT_FORMATS: u16 = 11;
    /// signature_algorithms(13)
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    /// application_layer_protocol_negotiation(16)
    pub const ALPN: u16 = 16;
    /// supported_versions(43)
    pub const SUPPORTED_VERSIONS: u16 = 43;
}

/// A protocol version, open: unknown values are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TlsVersion(pub u16);

impl TlsVersion {
    /// SSL 3.0 (0x0300)
    pub const SSL30: TlsVersion = TlsVersion(0x0300);
    /// TLS 1.0 (0x0301)
    pub const TLS10: TlsVersion = TlsVersion(0x0301);
    /// TLS 1.1 (0x0302)
    pub const TLS11: TlsVersion = TlsVersion(0x0302);
    /// TLS 1.2 (0x0303)
    pub const TLS12: TlsVersion = TlsVersion(0x0303);
    /// TLS 1.3 (0x0304)
    pub const TLS13: TlsVersion = TlsVersion(0x0304);

    /// The name Suricata logs (`TLS 1.2`, `SSLv3`, `UNDETERMINED`).
    pub fn name(self) -> &'static str {
        match self.0 {
            0x0200 => "SSLv2",
            0x0300 => "SSLv3",
            0x0301 => "TLSv1",
            0x0302 => "TLS 1.1",
            0x0303 => "TLS 1.2",
            0x0304 => "TLS 1.3",
            _ => "UNDETERMINED",
        }
    }
}

/// Whether a 16-bit value is a GREASE value (RFC 8701), skipped by JA3.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// One TLS record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// ContentType.
    pub content_type: u8,
    /// legacy_record_version.
    pub version: TlsVersion,
    /// The fragment (plaintext or ciphertext).
    pub fragment: &'a [u8],
}

fn map_err(e: nom::Err<nom::error::Error<&[u8]>>, what: &'static str) -> ParseError {
    ParseError::from_nom(e, what)
}

/// The five bytes in front of every record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    /// ContentType.
    pub content_type: u8,
    /// legacy_record_version.
    pub version: TlsVersion,
    /// Length of the fragment that follows.
    pub len: u16,
}

/// Parses one record header, leaving the fragment in the rest.
///
/// # Errors
/// `Incomplete` until the five header bytes are there; `Invalid` for an
/// unknown content type, a major version other than 3 or an over-long
/// fragment, checked from the first bytes so detection can rule TLS out
/// early.
///
/// # Examples
/// ```
/// use tapwatch_parsers::tls::parse_record_header;
/// let (rest, h) = parse_record_header(&[23, 3, 3, 0x40, 0, 0xaa]).unwrap();
/// assert_eq!((h.content_type, h.len, rest), (23, 0x4000, &[0xaau8][..]));
/// ```
pub fn parse_record_header(i: &[u8]) -> Result<(&[u8], RecordHeader), ParseError> {
    if let Some(&ct) = i.first() {
        if !(content::CHANGE_CIPHER_SPEC..=content::HEARTBEAT).contains(&ct) {
            return Err(ParseError::Invalid("tls record content type"));
        }
    }
    if let Some(&major) = i.get(1) {
        if major != 3 {
            return Err(ParseError::Invalid("tls record version"));
        }
    }
    let (r, content_type) = be_u8(i).map_err(|e| map_err(e, "tls record"))?;
    let (r, version) = be_u16(r).map_err(|e| map_err(e, "tls record"))?;
    let (r, len) = be_u16(r).map_err(|e| map_err(e, "tls record"))?;
    if usize::from(len) > MAX_RECORD_LEN {
        return Err(ParseError::Invalid("tls record too long"));
    }
    Ok((
        r,
        RecordHeader {
            content_type,
            version: TlsVersion(version),
            len,
        },
    ))
}

/// Parses one record header and fragment.
///
/// # Errors
/// `Incomplete` until the whole record is there; `Invalid` as
/// [`parse_record_header`].
///
/// # Examples
/// ```
/// use tapwatch_parsers::tls::parse_record;
/// let (rest, r) = parse_record(&[21, 3, 3, 0, 2, 1, 0, 0xff]).unwrap();
/// assert_eq!((r.content_type, r.fragment, rest), (21, &[1u8, 0][..], &[0xffu8][..]));
/// ```
pub fn parse_record(i: &[u8]) -> Result<(&[u8], Record<'_>), ParseError> {
    let (r, h) = parse_record_header(i)?;
    let (rest, fragment) = take(h.len)(r).map_err(|e| map_err(e, "tls record"))?;
    Ok((
        rest,
        Record {
            content_type: h.content_type,
            version: h.version,
            fragment,
        },
    ))
}

/// One handshake message: type, and its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handshake<'a> {
    /// HandshakeType.
    pub msg_type: u8,
    /// The body (exactly `length` bytes).
    pub body: &'a [u8],
}

/// Parses one handshake message from concatenated handshake fragments.
///
/// # Errors
/// `Incomplete` until the whole message is there; `Invalid` when its length
/// exceeds [`MAX_HANDSHAKE_LEN`].
pub fn parse_handshake(i: &[u8]) -> Result<(&[u8], Handshake<'_>), ParseError> {
    let (r, msg_type) = be_u8(i).map_err(|e| map_err(e, "tls handshake"))?;
    let (r, len) = be_u24(r).map_err(|e| map_err(e, "tls handshake"))?;
    if len as usize > MAX_HANDSHAKE_LEN {
        return Err(ParseError::Invalid("tls handshake too long"));
    }
    let (rest, body) = take(len)(r).map_err(|e| map_err(e, "tls handshake"))?;
    Ok((rest, Handshake { msg_type, body }))
}

/// Any short read inside a complete body is a malformed message.
fn body_err(_: nom::Err<nom::error::Error<&[u8]>>) -> ParseError {
    ParseError::Invalid("tls handshake body")
}

fn vec8(i: &[u8]) -> nom::IResult<&[u8], &[u8]> {
    let (i, n) = be_u8(i)?;
    take(n)(i)
}

fn vec16(i: &[u8]) -> nom::IResult<&[u8], &[u8]> {
    let (i, n) = be_u16(i)?;
    take(n)(i)
}

/// ClientHello (RFC 8446 4.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientHello<'a> {
    /// legacy_version.
    pub version: TlsVersion,
    /// 32 random bytes.
    pub random: &'a [u8],
    /// legacy_session_id (0..32 bytes).
    pub session_id: &'a [u8],
    /// cipher_suites, 2 bytes each: see [`ClientHello::ciphers`].
    pub ciphers: &'a [u8],
    /// legacy_compression_methods.
    pub compression: &'a [u8],
    /// The extensions block: see [`ClientHello::extensions`].
    pub extensions: &'a [u8],
}

/// Parses a ClientHello body.
///
/// # Errors
/// `Invalid` when the body is shorter than its fields say.
pub fn parse_client_hello(body: &[u8]) -> Result<ClientHello<'_>, ParseError> {
    let (i, version) = be_u16(body).map_err(body_err)?;
    let (i, random) = take(32usize)(i).map_err(body_err)?;
    let (i, session_id) = vec8(i).map_err(body_err)?;
    let (i, ciphers) = vec16(i).map_err(body_err)?;
    let (i, compression) = vec8(i).map_err(body_err)?;
    let extensions = if i.is_empty() {
        i
    } else {
        vec16(i).map_err(body_err)?.1
    };
    Ok(ClientHello {
        version: TlsVersion(version),
        random,
        session_id,
        ciphers,
        compression,
        extensions,
    })
}

/// Iterator over big-endian u16 values in a slice (an odd last byte is
/// ignored).
#[derive(Clone, Debug)]
pub struct U16Iter<'a>(std::slice::ChunksExact<'a, u8>);

impl Iterator for U16Iter<'_> {
    type Item = u16;
    fn next(&mut self) -> Option<u16> {
        // chunks_exact(2) yields 2-byte slices only.
        let c = self.0.next()?;
        c.try_into().ok().map(u16::from_be_bytes)
    }
}

fn u16s(s: &[u8]) -> U16Iter<'_> {
    U16Iter(s.chunks_exact(2))
}

/// One extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extension<'a> {
    /// ExtensionType.
    pub ext_type: u16,
    /// extension_data.
    pub data: &'a [u8],
}

/// Iterator over an extensions block; stops at the first malformed entry.
#[derive(Clone, Debug)]
pub struct ExtIter<'a>(&'a [u8]);

impl<'a> Iterator for ExtIter<'a> {
    type Item = Extension<'a>;
    fn next(&mut self) -> Option<Extension<'a>> {
        let (r, ext_type) = be_u16::<_, nom::error::Error<&[u8]>>(self.0).ok()?;
        let (r, data) = vec16(r).ok()?;
        self.0 = r;
        Some(Extension { ext_type, data })
    }
}

fn find_ext(exts: &[u8], t: u16) -> Option<&[u8]> {
    ExtIter(exts).find(|e| e.ext_type == t).map(|e| e.data)
}

/// A parser of one length-prefixed vector ([`vec8`], [`vec16`]).
type LenPrefixed<'a> = fn(&'a [u8]) -> nom::IResult<&'a [u8], &'a [u8]>;

/// The length-prefixed list inside extension `t` (empty when absent or
/// malformed).
fn ext_list<'a>(exts: &'a [u8], t: u16, vec: LenPrefixed<'a>) -> &'a [u8] {
    find_ext(exts, t)
        .and_then(|d| vec(d).ok())
        .map(|(_, l)| l)
        .unwrap_or_default()
}

/// Iterator over length-prefixed (u8) names, as in ALPN.
#[derive(Clone, Debug)]
pub struct NameIter<'a>(&'a [u8]);

impl<'a> Iterator for NameIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let (r, n) = vec8(self.0).ok()?;
        self.0 = r;
        Some(n)
    }
}

impl<'a> ClientHello<'a> {
    /// Offered cipher suites.
    pub fn ciphers(&self) -> U16Iter<'a> {
        u16s(self.ciphers)
    }

    /// Extensions in order.
    pub fn extensions(&self) -> ExtIter<'a> {
        ExtIter(self.extensions)
    }

    /// The first host_name in server_name (RFC 6066 3).
    pub fn sni(&self) -> Option<&'a [u8]> {
        let d = find_ext(self.extensions, ext::SERVER_NAME)?;
        let (_, list) = vec16(d).ok()?;
        let mut l = list;
        while !l.is_empty() {
            let (r, name_type) = be_u8::<_, nom::error::Error<&[u8]>>(l).ok()?;
            let (r, name) = vec16(r).ok()?;
            if name_type == 0 {
                return Some(name);
            }
            l = r;
        }
        None
    }

    /// ALPN protocol names offered (RFC 7301 3.1).
    pub fn alpn(&self) -> NameIter<'a> {
        let list = ext_list(self.extensions, ext::ALPN, vec16);
        NameIter(list)
    }

    /// Versions from supported_versions (RFC 8446 4.2.1).
    pub fn supported_versions(&self) -> U16Iter<'a> {
        let list = ext_list(self.extensions, ext::SUPPORTED_VERSIONS, vec8);
        u16s(list)
    }

    /// Named groups from supported_groups (RFC 8446 4.2.7).
    pub fn groups(&self) -> U16Iter<'a> {
        let list = ext_list(self.extensions, ext::SUPPORTED_GROUPS, vec16);
        u16s(list)
    }

    /// SignatureSchemes from signature_algorithms (RFC 8446 4.2.3), in the
    /// client's order.
    pub fn signature_algorithms(&self) -> U16Iter<'a> {
        let list = ext_list(self.extensions, ext::SIGNATURE_ALGORITHMS, vec16);
        u16s(list)
    }

    /// Point formats from ec_point_formats (RFC 8422 5.1.2).
    pub fn ec_point_formats(&self) -> &'a [u8] {
        ext_list(self.extensions, ext::EC_POINT_FORMATS, vec8)
    }
}

/// ServerHello (RFC 8446 4.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerHello<'a> {
    /// legacy_version.
    pub version: TlsVersion,
    /// 32 random bytes.
    pub random: &'a [u8],
    /// legacy_session_id_echo.
    pub session_id: &'a [u8],
    /// cipher_suite.
    pub cipher: u16,
    /// legacy_compression_method.
    pub compression: u8,
    /// The extensions block.
    pub extensions: &'a [u8],
}

/// Parses a ServerHello body.
///
/// # Errors
/// `Invalid` when the body is shorter than its fields say.
pub fn parse_server_hello(body: &[u8]) -> Result<ServerHello<'_>, ParseError> {
    let (i, version) = be_u16(body).map_err(body_err)?;
    let (i, random) = take(32usize)(i).map_err(body_err)?;
    let (i, session_id) = vec8(i).map_err(body_err)?;
    let (i, cipher) = be_u16(i).map_err(body_err)?;
    let (i, compression) = be_u8(i).map_err(body_err)?;
    let extensions = if i.is_empty() {
        i
    } else {
        vec16(i).map_err(body_err)?.1
    };
    Ok(ServerHello {
        version: TlsVersion(version),
        random,
        session_id,
        cipher,
        compression,
        extensions,
    })
}

impl<'a> ServerHello<'a> {
    /// Extensions in order.
    pub fn extensions(&self) -> ExtIter<'a> {
        ExtIter(self.extensions)
    }

    /// The negotiated version: supported_versions when present (TLS 1.3),
    /// else legacy_version.
    pub fn negotiated_version(&self) -> TlsVersion {
        find_ext(self.extensions, ext::SUPPORTED_VERSIONS)
            .and_then(|d| d.first_chunk::<2>())
            .map(|b| TlsVersion(u16::from_be_bytes(*b)))
            .unwrap_or(self.version)
    }
}

/// A TLS ≤ 1.2 Certificate message: the chain as DER slices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Certificate<'a> {
    /// The certificate_list (3-byte length prefixed DER entries).
    pub list: &'a [u8],
}

/// Parses a TLS ≤ 1.2 Certificate body (RFC 5246 7.4.2).
///
/// # Errors
/// `Invalid` when the body is shorter than its length says.
pub fn parse_certificate(body: &[u8]) -> Result<Certificate<'_>, ParseError> {
    let (i, n) = be_u24(body).map_err(body_err)?;
    let (_, list) = take(n)(i).map_err(body_err)?;
    Ok(Certificate { list })
}

impl<'a> Certificate<'a> {
    /// DER certificates, leaf first.
    pub fn chain(&self) -> CertIter<'a> {
        CertIter(self.list)
    }
}

/// Iterator over a certificate_list.
#[derive(Clone, Debug)]
pub struct CertIter<'a>(&'a [u8]);

impl<'a> Iterator for CertIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let (r, n) = be_u24::<_, nom::error::Error<&[u8]>>(self.0).ok()?;
        let (r, der) = take::<_, _, nom::error::Error<&[u8]>>(n)(r).ok()?;
        self.0 = r;
        Some(der)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A ClientHello record for "example.org" offering h2, TLS 1.3/1.2.
    fn client_hello_record() -> Vec<u8> {
        let mut exts = Vec::new();
        // server_name: list len 14, type 0 host_name, len 11
        exts.extend_from_slice(&[0, 0, 0, 16, 0, 14, 0, 0, 11]);
        exts.extend_from_slice(b"example.org");
        // ALPN: list len 3: "h2"
        exts.extend_from_slice(&[0, 16, 0, 5, 0, 3, 2, b'h', b'2']);
        // supported_versions: 4 bytes: 0x0304 0x0303
        exts.extend_from_slice(&[0, 43, 0, 5, 4, 3, 4, 3, 3]);
        // supported_groups: x25519, secp256r1
        exts.extend_from_slice(&[0, 10, 0, 6, 0, 4, 0, 0x1d, 0, 0x17]);
        // signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256
        exts.extend_from_slice(&[0, 13, 0, 6, 0, 4, 4, 3, 8, 4]);
        let mut body = vec![3, 3]; // legacy_version TLS 1.2
        body.extend_from_slice(&[7u8; 32]); // random
        body.extend_from_slice(&[2, 0xaa, 0xbb]); // session id
        body.extend_from_slice(&[0, 6, 0x0a, 0x0a, 0x13, 0x01, 0xc0, 0x2f]); // GREASE + 2 suites
        body.extend_from_slice(&[1, 0]); // compression: null
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);
        let mut hs = vec![1];
        hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut rec = vec![22, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn client_hello_fields() {
        let rec = client_hello_record();
        let (rest, r) = parse_record(&rec).unwrap();
        assert!(rest.is_empty());
        assert_eq!((r.content_type, r.version), (22, TlsVersion::TLS10));
        let (_, hs) = parse_handshake(r.fragment).unwrap();
        assert_eq!(hs.msg_type, handshake::CLIENT_HELLO);
        let ch = parse_client_hello(hs.body).unwrap();
        assert_eq!(ch.version, TlsVersion::TLS12);
        assert_eq!(ch.session_id, &[0xaa, 0xbb]);
        assert_eq!(ch.ciphers().collect::<Vec<_>>(), vec![0x0a0a, 0x1301, 0xc02f]);
        assert!(is_grease(0x0a0a) && !is_grease(0x1301));
        assert_eq!(ch.sni(), Some(&b"example.org"[..]));
        assert_eq!(ch.alpn().collect::<Vec<_>>(), vec![&b"h2"[..]]);
        assert_eq!(ch.supported_versions().collect::<Vec<_>>(), vec![0x0304, 0x0303]);
        assert_eq!(ch.groups().collect::<Vec<_>>(), vec![0x1d, 0x17]);
        assert_eq!(
            ch.signature_algorithms().collect::<Vec<_>>(),
            vec![0x0403, 0x0804]
        );
        assert_eq!(
            ch.extensions().map(|e| e.ext_type).collect::<Vec<_>>(),
            vec![0, 16, 43, 10, 13]
        );
    }

    #[test]
    fn server_hello_and_certificate() {
        let mut body = vec![3, 3];
        body.extend_from_slice(&[1u8; 32]);
        body.push(0); // empty session id
        body.extend_from_slice(&[0x13, 0x01, 0]); // cipher, compression
        body.extend_from_slice(&[0, 6, 0, 43, 0, 2, 3, 4]); // supported_versions: 1.3
        let sh = parse_server_hello(&body).unwrap();
        assert_eq!(sh.cipher, 0x1301);
        assert_eq!(sh.negotiated_version(), TlsVersion::TLS13);
        assert_eq!(sh.negotiated_version().name(), "TLS 1.3");
        // Two certificates of 2 and 1 bytes.
        let cert = [0, 0, 9, 0, 0, 2, 0x30, 0x00, 0, 0, 1, 0x30];
        let c = parse_certificate(&cert).unwrap();
        assert_eq!(c.chain().collect::<Vec<_>>(), vec![&[0x30, 0][..], &[0x30][..]]);
    }

    #[test]
    fn not_tls_is_invalid_early() {
        assert!(matches!(parse_record(b"GET /"), Err(ParseError::Invalid(_))));
        assert!(matches!(parse_record(&[22, 1]), Err(ParseError::Invalid(_))));
        assert!(matches!(
            parse_record(&[22, 3, 1, 0xff, 0xff]),
            Err(ParseError::Invalid(_))
        ));
    }

    #[test]
    fn every_prefix_needs_more() {
        let rec = client_hello_record();
        for n in 0..rec.len() {
            assert!(
                matches!(parse_record(&rec[..n]), Err(ParseError::Incomplete { .. })),
                "{n}"
            );
            if n >= 5 {
                assert!(matches!(
                    parse_handshake(&rec[5..n]),
                    Err(ParseError::Incomplete { .. })
                ));
            }
        }
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_record(&data);
            let _ = parse_handshake(&data);
            if let Ok(ch) = parse_client_hello(&data) {
                let _ = (ch.ciphers().count(), ch.extensions().count(), ch.sni(), ch.alpn().count());
                let _ = (ch.supported_versions().count(), ch.groups().count(), ch.ec_point_formats());
                let _ = ch.signature_algorithms().count();
            }
            if let Ok(sh) = parse_server_hello(&data) {
                let _ = (sh.extensions().count(), sh.negotiated_version());
            }
            if let Ok(c) = parse_certificate(&data) {
                let _ = c.chain().count();
            }
        }

        #[test]
        fn split_records_agree(cut in 0usize..200) {
            let rec = client_hello_record();
            let mut two = rec.clone();
            two.extend_from_slice(&rec);
            let cut = cut.min(two.len());
            match parse_record(&two[..cut]) {
                Ok((_, r)) => prop_assert_eq!(r, parse_record(&rec).unwrap().1),
                Err(e) => prop_assert!(matches!(e, ParseError::Incomplete { .. }), "{:?}", e),
            }
        }
    }
}
