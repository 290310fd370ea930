//! TLS handshake state: records across segments, handshake messages across
//! records, ClientHello (SNI, versions, ALPN), ServerHello (negotiated
//! version, cipher, resumption), Certificate (the DER chain). Once a side
//! has sent ChangeCipherSpec its records are skipped by length, unread.
//!
//! The flow has one transaction: the handshake. It is logged once the
//! handshake is over (both ChangeCipherSpecs, or application data), or at
//! flow end.

pub mod cert;
pub mod ja;

use super::{Anomaly, Direction, DoneTx, Progress, Tx};
use tapwatch_parsers::tls::{self, content, handshake};

/// Most certificates kept from a chain.
pub const MAX_CERTS: usize = 8;

/// The handshake as seen.
#[derive(Clone, Debug, Default)]
pub struct TlsTx {
    /// server_name from the ClientHello.
    pub sni: Option<Vec<u8>>,
    /// ClientHello legacy_version.
    pub client_version: u16,
    /// ClientHello supported_versions.
    pub client_versions: Vec<u16>,
    /// ALPN names offered.
    pub alpn: Vec<Vec<u8>>,
    /// Negotiated version from the ServerHello.
    pub version: Option<u16>,
    /// Chosen cipher suite.
    pub cipher: Option<u16>,
    /// The server resumed the client's session (same non-empty session id).
    pub session_resumed: bool,
    /// Server certificate chain (DER), leaf first.
    pub certs: Vec<Vec<u8>>,
    /// Part of the handshake was not visible.
    pub truncated: bool,
    /// A ClientHello was seen.
    pub client_hello: bool,
    /// A ServerHello was seen.
    pub server_hello: bool,
    /// JA3 string of the ClientHello (`ja3.string`).
    pub ja3: Option<String>,
    /// Its MD5 (`ja3.hash`).
    pub ja3_hash: Option<String>,
    /// JA3S string of the ServerHello (`ja3s.string`).
    pub ja3s: Option<String>,
    /// Its MD5 (`ja3s.hash`).
    pub ja3s_hash: Option<String>,
    /// JA4 of the ClientHello (`ja4.hash`).
    pub ja4: Option<String>,
    /// Fields of the server's leaf certificate, when it parsed.
    pub cert: Option<cert::CertInfo>,
    /// The protocol the flow spoke before TLS (HTTP CONNECT): EVE `from_proto`.
    pub from_proto: Option<&'static str>,
}

impl TlsTx {
    /// The version Suricata logs: the negotiated one, else the client's.
    pub fn version_name(&self) -> &'static str {
        let v = self.version.unwrap_or(self.client_version);
        tls::TlsVersion(v).name()
    }
}

/// Per-flow TLS state.
#[derive(Clone, Debug, Default)]
pub struct TlsState {
    tx: TlsTx,
    client_session_id: Vec<u8>,
    /// Handshake bytes not yet forming a whole message, per direction.
    hs: [Vec<u8>; 2],
    /// ChangeCipherSpec seen: further records are opaque.
    encrypted: [bool; 2],
    /// Fragment bytes of the current record still to pass over, per
    /// direction: a record whose fragment is not read (anything but a
    /// plaintext handshake) is taken as it arrives, never buffered whole.
    skip: [usize; 2],
    logged: bool,
    /// The session carries encrypted application data from here on.
    session_encrypted: bool,
}

impl TlsState {
    /// The handshake is over and records are encrypted (both
    /// ChangeCipherSpecs, or application data after the ServerHello).
    pub fn is_encrypted(&self) -> bool {
        self.session_encrypted
    }

    /// The handshake transaction.
    pub fn tx(&self) -> &TlsTx {
        &self.tx
    }

    /// The flow spoke `proto` before TLS started.
    pub fn set_from_proto(&mut self, proto: Option<&'static str>) {
        self.tx.from_proto = proto;
    }

    /// Parses bytes of one direction, one record per call.
    pub fn parse(&mut self, dir: Direction, buf: &[u8], now: (u64, u64), done: &mut Vec<DoneTx>) -> Progress {
        let d = dir;
        let left = *d.of(&self.skip);
        if left > 0 {
            let n = left.min(buf.len());
            *d.of_mut(&mut self.skip) = left - n;
            return Progress::Done { consumed: n };
        }
        let (body, hdr) = match tls::parse_record_header(buf) {
            Ok(x) => x,
            Err(e) => return Progress::from_error(e, 0),
        };
        let reads_fragment = match hdr.content_type {
            content::HANDSHAKE => !*d.of(&self.encrypted),
            // One byte, and only a whole one counts.
            content::CHANGE_CIPHER_SPEC => true,
            _ => false,
        };
        if !reads_fragment {
            // Only the header matters: pass over the fragment as it comes.
            let len = usize::from(hdr.len);
            let have = len.min(body.len());
            *d.of_mut(&mut self.skip) = len - have;
            if hdr.content_type == content::APPLICATION_DATA && self.tx.server_hello {
                self.session_encrypted = true;
                self.log(now, done);
            }
            return Progress::Done {
                consumed: buf.len() - body.len() + have,
            };
        }
        let (rest, rec) = match tls::parse_record(buf) {
            Ok(x) => x,
            Err(e) => return Progress::from_error(e, 0),
        };
        if rec.content_type == content::CHANGE_CIPHER_SPEC {
            *d.of_mut(&mut self.encrypted) = true;
            if self.encrypted == [true, true] {
                self.session_encrypted = true;
                self.log(now, done);
            }
        } else {
            if d.of(&self.hs).len() + rec.fragment.len() > tls::MAX_HANDSHAKE_LEN {
                return Progress::Invalid(Anomaly::TooLarge);
            }
            d.of_mut(&mut self.hs).extend_from_slice(rec.fragment);
            if let Err(a) = self.handshake_messages(dir) {
                return Progress::Invalid(a);
            }
        }
        Progress::Done {
            consumed: buf.len() - rest.len(),
        }
    }

    fn handshake_messages(&mut self, dir: Direction) -> Result<(), Anomaly> {
        let d = dir;
        let buf = std::mem::take(d.of_mut(&mut self.hs));
        let mut i: &[u8] = &buf;
        loop {
            match tls::parse_handshake(i) {
                Ok((rest, hs)) => {
                    self.on_handshake(dir, &hs);
                    i = rest;
                }
                Err(tapwatch_parsers::ParseError::Incomplete { .. }) => break,
                Err(tapwatch_parsers::ParseError::Invalid(w)) => return Err(Anomaly::Malformed(w)),
            }
        }
        let used = buf.len() - i.len();
        let mut buf = buf;
        buf.drain(..used);
        *d.of_mut(&mut self.hs) = buf;
        Ok(())
    }

    fn on_handshake(&mut self, dir: Direction, hs: &tls::Handshake<'_>) {
        match (dir, hs.msg_type) {
            (Direction::ToServer, handshake::CLIENT_HELLO) => {
                if let Ok(ch) = tls::parse_client_hello(hs.body) {
                    let t = &mut self.tx;
                    t.client_hello = true;
                    t.client_version = ch.version.0;
                    t.sni = ch.sni().map(<[u8]>::to_vec);
                    t.client_versions = ch.supported_versions().collect();
                    t.alpn = ch.alpn().map(<[u8]>::to_vec).collect();
                    self.client_session_id = ch.session_id.to_vec();
                    let j = ja::ja3(&ch);
                    t.ja3_hash = Some(ja::md5_hex(&j));
                    t.ja3 = Some(j);
                    t.ja4 = Some(ja::ja4(&ch));
                }
            }
            (Direction::ToClient, handshake::SERVER_HELLO) => {
                if let Ok(sh) = tls::parse_server_hello(hs.body) {
                    let t = &mut self.tx;
                    t.server_hello = true;
                    t.version = Some(sh.negotiated_version().0);
                    t.cipher = Some(sh.cipher);
                    t.session_resumed =
                        !sh.session_id.is_empty() && sh.session_id == self.client_session_id.as_slice();
                    let j = ja::ja3s(&sh);
                    t.ja3s_hash = Some(ja::md5_hex(&j));
                    t.ja3s = Some(j);
                }
            }
            (Direction::ToClient, handshake::CERTIFICATE) => {
                if let Ok(c) = tls::parse_certificate(hs.body) {
                    self.tx.certs = c.chain().take(MAX_CERTS).map(<[u8]>::to_vec).collect();
                    self.tx.cert = c.chain().next().and_then(cert::parse);
                    // A certificate means a full handshake, not a resumption.
                    self.tx.session_resumed = false;
                }
            }
            _ => {}
        }
    }

    fn log(&mut self, now: (u64, u64), done: &mut Vec<DoneTx>) {
        if !self.logged {
            self.logged = true;
            done.push(DoneTx {
                tx: Tx::Tls(Box::new(self.tx.clone())),
                ts_ns: now.0,
                pcap_cnt: now.1,
            });
        }
    }

    /// Bytes went missing: a handshake message being assembled is lost.
    pub fn on_gap(&mut self, dir: Direction) {
        let d = dir;
        if !d.of(&self.hs).is_empty() || !*d.of(&self.encrypted) {
            self.tx.truncated = true;
        }
        d.of_mut(&mut self.hs).clear();
        // Parsing starts over at the next bytes, as for a record gathered
        // whole and cut by the gap.
        *d.of_mut(&mut self.skip) = 0;
    }

    /// Flow end: log the handshake if it was not yet.
    pub fn finish(&mut self, now: (u64, u64), done: &mut Vec<DoneTx>) {
        if self.tx.client_hello || self.tx.server_hello {
            self.log(now, done);
        }
    }
}
