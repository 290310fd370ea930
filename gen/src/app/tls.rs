//! TLS 1.2 records: ClientHello with SNI, ServerHello, ChangeCipherSpec,
//! encrypted handshake messages and application data (random bytes standing
//! in for ciphertext).

use crate::rng::Rng;

/// Record content types.
pub const CONTENT_CHANGE_CIPHER_SPEC: u8 = 20;
/// Alert record.
pub const CONTENT_ALERT: u8 = 21;
/// Handshake record.
pub const CONTENT_HANDSHAKE: u8 = 22;
/// Application data record.
pub const CONTENT_APPLICATION_DATA: u8 = 23;
/// TLS 1.0 version (the record version of a ClientHello).
pub const TLS10: u16 = 0x0301;
/// TLS 1.2 version.
pub const TLS12: u16 = 0x0303;
/// Largest plaintext fragment (2^14).
pub const MAX_FRAGMENT: usize = 16_384;

/// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.
pub const ECDHE_RSA_AES128_GCM_SHA256: u16 = 0xc02f;

/// Cipher suites a current browser offers for TLS 1.2.
const CIPHERS: &[u16] = &[
    0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
];

fn u16be(v: usize) -> [u8; 2] {
    (v.min(0xffff) as u16).to_be_bytes()
}

fn u24be(v: usize) -> [u8; 3] {
    let b = (v.min(0x00ff_ffff) as u32).to_be_bytes();
    [b[1], b[2], b[3]]
}

/// One record: type, version, 16-bit length, fragment.
pub fn record(content_type: u8, version: u16, fragment: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(5 + fragment.len());
    r.push(content_type);
    r.extend_from_slice(&version.to_be_bytes());
    r.extend_from_slice(&u16be(fragment.len()));
    r.extend_from_slice(fragment);
    r
}

fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(4 + body.len());
    h.push(msg_type);
    h.extend_from_slice(&u24be(body.len()));
    h.extend_from_slice(body);
    h
}

fn ext(out: &mut Vec<u8>, ext_type: u16, data: &[u8]) {
    out.extend_from_slice(&ext_type.to_be_bytes());
    out.extend_from_slice(&u16be(data.len()));
    out.extend_from_slice(data);
}

fn alpn_ext(protocols: &[&str]) -> Vec<u8> {
    let mut list = Vec::new();
    for p in protocols {
        let p = &p.as_bytes()[..p.len().min(255)];
        list.push(p.len() as u8);
        list.extend_from_slice(p);
    }
    let mut d = u16be(list.len()).to_vec();
    d.extend(list);
    d
}

/// The server_name extension's data for `host` (one host_name entry).
pub fn sni_extension_data(host: &str) -> Vec<u8> {
    let name = &host.as_bytes()[..host.len().min(0xff00)];
    let mut d = Vec::with_capacity(5 + name.len());
    d.extend_from_slice(&u16be(name.len() + 3));
    d.push(0); // host_name
    d.extend_from_slice(&u16be(name.len()));
    d.extend_from_slice(name);
    d
}

/// A ClientHello record (record version TLS 1.0, client_version TLS 1.2)
/// offering browser cipher suites, with extensions server_name (`sni`),
/// extended_master_secret, renegotiation_info, supported_groups,
/// ec_point_formats, session_ticket, ALPN (when `alpn` is not empty),
/// status_request and signature_algorithms.
pub fn client_hello(random: &[u8; 32], session_id: &[u8], sni: &str, alpn: &[&str]) -> Vec<u8> {
    let sid = &session_id[..session_id.len().min(32)];
    let mut exts = Vec::new();
    ext(&mut exts, 0x0000, &sni_extension_data(sni));
    ext(&mut exts, 0x0017, &[]);
    ext(&mut exts, 0xff01, &[0]);
    ext(
        &mut exts,
        0x000a,
        &[0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18],
    );
    ext(&mut exts, 0x000b, &[0x01, 0x00]);
    ext(&mut exts, 0x0023, &[]);
    if !alpn.is_empty() {
        ext(&mut exts, 0x0010, &alpn_ext(alpn));
    }
    ext(&mut exts, 0x0005, &[0x01, 0, 0, 0, 0]);
    ext(
        &mut exts,
        0x000d,
        &[
            0x00, 0x10, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03, 0x08, 0x05, 0x05, 0x01, 0x08, 0x06,
            0x06, 0x01,
        ],
    );
    let mut body = Vec::new();
    body.extend_from_slice(&TLS12.to_be_bytes());
    body.extend_from_slice(random);
    body.push(sid.len() as u8);
    body.extend_from_slice(sid);
    body.extend_from_slice(&u16be(CIPHERS.len() * 2));
    for c in CIPHERS {
        body.extend_from_slice(&c.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression: null
    body.extend_from_slice(&u16be(exts.len()));
    body.extend(exts);
    record(CONTENT_HANDSHAKE, TLS10, &handshake(1, &body))
}

/// A ServerHello record choosing `cipher`, echoing `session_id` (a resumed
/// session), with renegotiation_info, extended_master_secret,
/// ec_point_formats and, if given, the chosen ALPN protocol.
pub fn server_hello(random: &[u8; 32], session_id: &[u8], cipher: u16, alpn: Option<&str>) -> Vec<u8> {
    let sid = &session_id[..session_id.len().min(32)];
    let mut exts = Vec::new();
    ext(&mut exts, 0xff01, &[0]);
    ext(&mut exts, 0x0017, &[]);
    ext(&mut exts, 0x000b, &[0x01, 0x00]);
    if let Some(p) = alpn {
        ext(&mut exts, 0x0010, &alpn_ext(&[p]));
    }
    let mut body = Vec::new();
    body.extend_from_slice(&TLS12.to_be_bytes());
    body.extend_from_slice(random);
    body.push(sid.len() as u8);
    body.extend_from_slice(sid);
    body.extend_from_slice(&cipher.to_be_bytes());
    body.push(0);
    body.extend_from_slice(&u16be(exts.len()));
    body.extend(exts);
    record(CONTENT_HANDSHAKE, TLS12, &handshake(2, &body))
}

/// ChangeCipherSpec record.
pub fn change_cipher_spec() -> Vec<u8> {
    record(CONTENT_CHANGE_CIPHER_SPEC, TLS12, &[1])
}

/// An encrypted Finished message (AES-GCM: 8-byte explicit nonce, 16-byte
/// verify data + 4-byte header, 16-byte tag = 40 bytes).
pub fn encrypted_finished(rng: &mut Rng) -> Vec<u8> {
    record(CONTENT_HANDSHAKE, TLS12, &rng.bytes(40))
}

/// Application data carrying `plaintext_len` bytes, as GCM records (8-byte
/// nonce + ciphertext + 16-byte tag), split at the 16 KiB fragment limit.
pub fn application_data(rng: &mut Rng, plaintext_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(plaintext_len + 29 * (plaintext_len / MAX_FRAGMENT + 1));
    let mut left = plaintext_len.max(1);
    while left > 0 {
        let n = left.min(MAX_FRAGMENT);
        out.extend(record(CONTENT_APPLICATION_DATA, TLS12, &rng.bytes(8 + n + 16)));
        left -= n;
    }
    out
}

/// An encrypted close_notify alert.
pub fn encrypted_alert(rng: &mut Rng) -> Vec<u8> {
    record(CONTENT_ALERT, TLS12, &rng.bytes(26))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks ClientHello extensions and returns (type, data) pairs.
    fn extensions(hello: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let hs = &hello[5..];
        let body = &hs[4..];
        let mut p = 2 + 32;
        p += 1 + usize::from(body[p]);
        let cs_len = usize::from(u16::from_be_bytes([body[p], body[p + 1]]));
        p += 2 + cs_len;
        p += 1 + usize::from(body[p]);
        let ext_len = usize::from(u16::from_be_bytes([body[p], body[p + 1]]));
        p += 2;
        assert_eq!(p + ext_len, body.len(), "extensions end the message");
        let mut out = Vec::new();
        let end = p + ext_len;
        while p < end {
            let t = u16::from_be_bytes([body[p], body[p + 1]]);
            let l = usize::from(u16::from_be_bytes([body[p + 2], body[p + 3]]));
            out.push((t, body[p + 4..p + 4 + l].to_vec()));
            p += 4 + l;
        }
        assert_eq!(p, end);
        out
    }

    #[test]
    fn client_hello_layout() {
        let h = client_hello(&[7; 32], &[9; 32], "api.example.com", &["h2", "http/1.1"]);
        assert_eq!(&h[..3], &[0x16, 0x03, 0x01]);
        assert_eq!(usize::from(u16::from_be_bytes([h[3], h[4]])), h.len() - 5);
        assert_eq!(h[5], 1, "client_hello");
        let hl = (usize::from(h[6]) << 16) | (usize::from(h[7]) << 8) | usize::from(h[8]);
        assert_eq!(hl, h.len() - 9);
        assert_eq!(&h[9..11], &[0x03, 0x03]);
        let exts = extensions(&h);
        let (t, sni) = &exts[0];
        assert_eq!(*t, 0);
        assert_eq!(&sni[..5], &[0, 18, 0, 0, 15]);
        assert_eq!(&sni[5..], b"api.example.com");
        let alpn = exts.iter().find(|(t, _)| *t == 0x10).unwrap();
        assert_eq!(alpn.1, b"\x00\x0c\x02h2\x08http/1.1".to_vec());
    }

    #[test]
    fn server_hello_and_records() {
        let s = server_hello(&[1; 32], &[2; 32], ECDHE_RSA_AES128_GCM_SHA256, Some("http/1.1"));
        assert_eq!(&s[..3], &[0x16, 0x03, 0x03]);
        assert_eq!(usize::from(u16::from_be_bytes([s[3], s[4]])), s.len() - 5);
        assert_eq!(s[5], 2);
        assert_eq!(&s[9..11], &[3, 3]);
        assert_eq!(&s[11 + 32 + 1 + 32..11 + 32 + 1 + 32 + 2], &[0xc0, 0x2f]);
        assert_eq!(change_cipher_spec(), vec![0x14, 3, 3, 0, 1, 1]);
        let mut r = Rng::new(1);
        let ad = application_data(&mut r, 20_000);
        assert_eq!(&ad[..3], &[0x17, 3, 3]);
        let l1 = usize::from(u16::from_be_bytes([ad[3], ad[4]]));
        assert_eq!(l1, 8 + MAX_FRAGMENT + 16);
        let second = &ad[5 + l1..];
        assert_eq!(&second[..3], &[0x17, 3, 3]);
        assert_eq!(
            usize::from(u16::from_be_bytes([second[3], second[4]])),
            second.len() - 5
        );
        assert_eq!(second.len() - 5, 8 + (20_000 - MAX_FRAGMENT) + 16);
    }
}
