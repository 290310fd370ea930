//! PostgreSQL frontend/backend protocol 3.0 messages ("Message Formats" in
//! the PostgreSQL documentation, chapter 55.7).
//!
//! A client's first message has no type byte ([`parse_startup`]: startup,
//! SSLRequest, GSSENCRequest, CancelRequest); everything after is a type
//! byte, an Int32 length counting itself, and a body ([`parse_frontend`],
//! [`parse_backend`]). Bodies are parsed from their complete slice; unknown
//! types come back as `Unknown` with their body, never as an error.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use nom::bytes::streaming::take;
use nom::number::streaming::{be_u32, be_u8};

use crate::ParseError;

/// Largest message accepted (the server's own limit for most messages is 1 GB;
/// an IDS needs far less to stay safe).
pub const MAX_MESSAGE_LEN: u32 = 1 << 24;
/// Protocol 3.0 in a StartupMessage.
pub const PROTOCOL_3_0: u32 = 196608; // 3 << 16
/// SSLRequest code.
pub const SSL_REQUEST_CODE: u32 = 80877103; // 1234.5679
/// GSSENCRequest code.
pub const GSSENC_REQUEST_CODE: u32 = 80877104; // 1234.5680
/// CancelRequest code.
pub const CANCEL_REQUEST_CODE: u32 = 80877102; // 1234.5678

/// A message without a type byte, sent first by a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Startup<'a> {
    /// StartupMessage: protocol version and name/value parameters.
    Startup {
        /// Protocol version (major << 16 | minor).
        version: u32,
        /// NUL-terminated name/value pairs: see [`params`].
        params: &'a [u8],
    },
    /// SSLRequest: the server answers one byte, `S` or `N`.
    SslRequest,
    /// GSSENCRequest: the server answers one byte, `G` or `N`.
    GssEncRequest,
    /// CancelRequest for a backend.
    CancelRequest {
        /// Backend process id.
        pid: u32,
        /// Its secret key.
        secret: u32,
    },
}

fn nom_err(e: nom::Err<nom::error::Error<&[u8]>>) -> ParseError {
    ParseError::from_nom(e, "pgsql message")
}

fn body_err(_: nom::Err<nom::error::Error<&[u8]>>) -> ParseError {
    ParseError::Invalid("pgsql message body")
}

/// Parses a client's untyped first message.
///
/// # Errors
/// `Incomplete` until the whole message is there; `Invalid` when the length
/// is below 8 or above 10000 (the server's own startup limit), or the code
/// is none of the known ones.
pub fn parse_startup(i: &[u8]) -> Result<(&[u8], Startup<'_>), ParseError> {
    // Check the length and code as soon as they are visible: detection
    // rules PostgreSQL out on the first bytes.
    if let Some(b) = i.first_chunk::<4>() {
        let len = u32::from_be_bytes(*b);
        if !(8..=10000).contains(&len) {
            return Err(ParseError::Invalid("pgsql startup length"));
        }
    }
    if let Some(b) = i.get(4..).and_then(<[u8]>::first_chunk::<4>) {
        let code = u32::from_be_bytes(*b);
        let known =
            code >> 16 == 3 || matches!(code, SSL_REQUEST_CODE | GSSENC_REQUEST_CODE | CANCEL_REQUEST_CODE);
        if !known {
            return Err(ParseError::Invalid("pgsql startup code"));
        }
    }
    let (r, len) = be_u32(i).map_err(nom_err)?;
    let (rest, body) = take(len.saturating_sub(4))(r).map_err(nom_err)?;
    let (b, code) = be_u32(body).map_err(body_err)?;
    let msg = match code {
        SSL_REQUEST_CODE => Startup::SslRequest,
        GSSENC_REQUEST_CODE => Startup::GssEncRequest,
        CANCEL_REQUEST_CODE => {
            let (b, pid) = be_u32(b).map_err(body_err)?;
            let (_, secret) = be_u32(b).map_err(body_err)?;
            Startup::CancelRequest { pid, secret }
        }
        version => Startup::Startup { version, params: b },
    };
    Ok((rest, msg))
}

/// Name/value pairs of a StartupMessage, ending at the empty name.
pub fn params(p: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut it = p.split(|&b| b == 0);
    std::iter::from_fn(move || {
        let name = it.next().filter(|n| !n.is_empty())?;
        let value = it.next()?;
        Some((name, value))
    })
}

/// A typed message: type byte and body.
fn parse_typed(i: &[u8]) -> Result<(&[u8], u8, &[u8]), ParseError> {
    if let Some(b) = i.get(1..).and_then(<[u8]>::first_chunk::<4>) {
        let len = u32::from_be_bytes(*b);
        if !(4..=MAX_MESSAGE_LEN).contains(&len) {
            return Err(ParseError::Invalid("pgsql message length"));
        }
    }
    let (r, tag) = be_u8(i).map_err(nom_err)?;
    let (r, len) = be_u32(r).map_err(nom_err)?;
    let (rest, body) = take(len.saturating_sub(4))(r).map_err(nom_err)?;
    Ok((rest, tag, body))
}

fn cstr(b: &[u8]) -> Result<(&[u8], &[u8]), ParseError> {
    let n = b
        .iter()
        .position(|&c| c == 0)
        .ok_or(ParseError::Invalid("pgsql string"))?;
    let (s, rest) = b.split_at(n);
    Ok((rest.get(1..).unwrap_or_default(), s))
}

/// Messages a client sends after startup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frontend<'a> {
    /// `p`: PasswordMessage, SASLInitialResponse or SASLResponse (which one
    /// depends on the preceding Authentication request).
    Password(&'a [u8]),
    /// `Q`: simple Query.
    Query(&'a [u8]),
    /// `P`: Parse (statement name, query).
    Parse {
        /// Prepared statement name.
        statement: &'a [u8],
        /// Query text.
        query: &'a [u8],
    },
    /// `B`: Bind (portal, statement).
    Bind {
        /// Portal name.
        portal: &'a [u8],
        /// Statement name.
        statement: &'a [u8],
    },
    /// `E`: Execute (portal, max rows).
    Execute {
        /// Portal name.
        portal: &'a [u8],
        /// Row limit (0: none).
        max_rows: u32,
    },
    /// `S`: Sync.
    Sync,
    /// `X`: Terminate.
    Terminate,
    /// Any other type (`D` Describe, `C` Close, `H` Flush, `d` CopyData, ...).
    Unknown {
        /// Type byte.
        tag: u8,
        /// Body.
        body: &'a [u8],
    },
}

/// Parses one typed frontend message.
///
/// # Errors
/// `Incomplete` until the whole message is there; `Invalid` for a length
/// outside 4..=[`MAX_MESSAGE_LEN`] or a body that contradicts its type.
pub fn parse_frontend(i: &[u8]) -> Result<(&[u8], Frontend<'_>), ParseError> {
    let (rest, tag, body) = parse_typed(i)?;
    let msg = match tag {
        b'p' => Frontend::Password(body.strip_suffix(&[0]).unwrap_or(body)),
        b'Q' => Frontend::Query(cstr(body)?.1),
        b'P' => {
            let (b, statement) = cstr(body)?;
            let (_, query) = cstr(b)?;
            Frontend::Parse { statement, query }
        }
        b'B' => {
            let (b, portal) = cstr(body)?;
            let (_, statement) = cstr(b)?;
            Frontend::Bind { portal, statement }
        }
        b'E' => {
            let (b, portal) = cstr(body)?;
            let (_, max_rows) = be_u32(b).map_err(body_err)?;
            Frontend::Execute { portal, max_rows }
        }
        b'S' => Frontend::Sync,
        b'X' => Frontend::Terminate,
        tag => Frontend::Unknown { tag, body },
    };
    Ok((rest, msg))
}

/// Messages a server sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend<'a> {
    /// `R`: Authentication* (0 ok, 3 cleartext, 5 MD5 with salt, 10 SASL
    /// with mechanisms, 11 SASL continue, 12 SASL final).
    Authentication {
        /// The request code.
        code: u32,
        /// What follows it.
        data: &'a [u8],
    },
    /// `S`: ParameterStatus.
    ParameterStatus {
        /// Parameter name.
        name: &'a [u8],
        /// Its value.
        value: &'a [u8],
    },
    /// `K`: BackendKeyData.
    BackendKeyData {
        /// Backend process id.
        pid: u32,
        /// Secret key.
        secret: u32,
    },
    /// `Z`: ReadyForQuery with the transaction status (`I`, `T`, `E`).
    ReadyForQuery(u8),
    /// `T`: RowDescription.
    RowDescription {
        /// Number of fields.
        fields: u16,
    },
    /// `D`: DataRow.
    DataRow {
        /// Number of columns.
        columns: u16,
        /// Body length (for byte counts).
        len: usize,
    },
    /// `C`: CommandComplete with its tag (`SELECT 3`).
    CommandComplete(&'a [u8]),
    /// `E`: ErrorResponse: see [`fields`].
    ErrorResponse(&'a [u8]),
    /// `N`: NoticeResponse: see [`fields`].
    NoticeResponse(&'a [u8]),
    /// Any other type.
    Unknown {
        /// Type byte.
        tag: u8,
        /// Body.
        body: &'a [u8],
    },
}

fn be_u16_body(b: &[u8]) -> Result<u16, ParseError> {
    match b {
        [h, l, ..] => Ok(u16::from_be_bytes([*h, *l])),
        _ => Err(ParseError::Invalid("pgsql message body")),
    }
}

/// Parses one backend message.
///
/// # Errors
/// `Incomplete` until the whole message is there; `Invalid` for a length
/// outside 4..=[`MAX_MESSAGE_LEN`] or a body that contradicts its type.
pub fn parse_backend(i: &[u8]) -> Result<(&[u8], Backend<'_>), ParseError> {
    let (rest, tag, body) = parse_typed(i)?;
    let msg = match tag {
        b'R' => {
            let (data, code) = be_u32(body).map_err(body_err)?;
            Backend::Authentication { code, data }
        }
        b'S' => {
            let (b, name) = cstr(body)?;
            let (_, value) = cstr(b)?;
            Backend::ParameterStatus { name, value }
        }
        b'K' => {
            let (b, pid) = be_u32(body).map_err(body_err)?;
            let (_, secret) = be_u32(b).map_err(body_err)?;
            Backend::BackendKeyData { pid, secret }
        }
        b'Z' => Backend::ReadyForQuery(*body.first().ok_or(ParseError::Invalid("pgsql Z"))?),
        b'T' => Backend::RowDescription {
            fields: be_u16_body(body)?,
        },
        b'D' => Backend::DataRow {
            columns: be_u16_body(body)?,
            len: body.len(),
        },
        b'C' => Backend::CommandComplete(cstr(body)?.1),
        b'E' => Backend::ErrorResponse(body),
        b'N' => Backend::NoticeResponse(body),
        tag => Backend::Unknown { tag, body },
    };
    Ok((rest, msg))
}

/// The (code, value) fields of an ErrorResponse/NoticeResponse body
/// (`S` severity, `C` SQLSTATE, `M` message, ...), ending at code 0.
pub fn fields(body: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut rest = body;
    std::iter::from_fn(move || {
        let (&code, r) = rest.split_first()?;
        if code == 0 {
            return None;
        }
        let (r, value) = cstr(r).ok()?;
        rest = r;
        Some((code, value))
    })
}

/// SASL mechanisms named in an AuthenticationSASL (code 10) request.
pub fn sasl_mechanisms(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&b| b == 0).take_while(|m| !m.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STARTUP: &[u8] = &[
        0, 0, 0, 0x20, // length 32
        0, 3, 0, 0, // protocol 3.0
        b'u', b's', b'e', b'r', 0, b'a', b'p', b'p', 0, // user=app
        b'd', b'a', b't', b'a', b'b', b'a', b's', b'e', 0, b's', b'h', b'o', b'p', 0, // database=shop
        0, // end of parameters
        0, 0, 0, // next message (rest)
    ];

    #[test]
    fn startup_message() {
        let (rest, m) = parse_startup(STARTUP).unwrap();
        assert_eq!(rest, &[0, 0, 0]);
        let Startup::Startup { version, params: p } = m else {
            panic!("{m:?}")
        };
        assert_eq!(version, PROTOCOL_3_0);
        let v: Vec<_> = params(p).collect();
        assert_eq!(v, vec![(&b"user"[..], &b"app"[..]), (b"database", b"shop")]);
    }

    #[test]
    fn ssl_and_cancel() {
        // SSLRequest: length 8, code 1234.5679
        let ssl = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
        assert_eq!(parse_startup(&ssl).unwrap().1, Startup::SslRequest);
        let cancel = [0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 7, 0, 0, 0, 9];
        assert_eq!(
            parse_startup(&cancel).unwrap().1,
            Startup::CancelRequest { pid: 7, secret: 9 }
        );
        assert!(matches!(
            parse_startup(b"GET / HTTP/1.1"),
            Err(ParseError::Invalid(_))
        ));
        assert!(matches!(
            parse_startup(&[0, 0, 0, 8, 1, 2, 3, 4]),
            Err(ParseError::Invalid(_))
        ));
    }

    #[test]
    fn frontend_messages() {
        let q = b"Q\0\0\0\x0eSELECT 1;\0";
        assert_eq!(parse_frontend(q).unwrap().1, Frontend::Query(b"SELECT 1;"));
        let p = b"P\0\0\0\x0bs1\0SEL\0\0\0";
        assert_eq!(
            parse_frontend(p).unwrap().1,
            Frontend::Parse {
                statement: b"s1",
                query: b"SEL"
            }
        );
        assert_eq!(parse_frontend(b"X\0\0\0\x04").unwrap().1, Frontend::Terminate);
        assert_eq!(
            parse_frontend(b"p\0\0\0\x08pwd\0").unwrap().1,
            Frontend::Password(b"pwd")
        );
        let e = b"E\0\0\0\x09\0\0\0\0\x05";
        assert_eq!(
            parse_frontend(e).unwrap().1,
            Frontend::Execute {
                portal: b"",
                max_rows: 5
            }
        );
        assert!(matches!(
            parse_frontend(b"Q\0\0\0\x02"),
            Err(ParseError::Invalid(_))
        ));
    }

    #[test]
    fn backend_messages() {
        assert_eq!(
            parse_backend(b"R\0\0\0\x08\0\0\0\0").unwrap().1,
            Backend::Authentication { code: 0, data: b"" }
        );
        let sasl = b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0";
        let Backend::Authentication { code: 10, data } = parse_backend(sasl).unwrap().1 else {
            panic!()
        };
        assert_eq!(
            sasl_mechanisms(data).collect::<Vec<_>>(),
            vec![&b"SCRAM-SHA-256"[..]]
        );
        assert_eq!(
            parse_backend(b"S\0\0\0\x0ea\0bcdefgh\0").unwrap().1,
            Backend::ParameterStatus {
                name: b"a",
                value: b"bcdefgh"
            }
        );
        assert_eq!(
            parse_backend(b"K\0\0\0\x0c\0\0\0\x01\0\0\0\x02").unwrap().1,
            Backend::BackendKeyData { pid: 1, secret: 2 }
        );
        assert_eq!(
            parse_backend(b"Z\0\0\0\x05I").unwrap().1,
            Backend::ReadyForQuery(b'I')
        );
        assert_eq!(
            parse_backend(b"C\0\0\0\x0dSELECT 1\0").unwrap().1,
            Backend::CommandComplete(b"SELECT 1")
        );
        let err = b"E\0\0\0\x17SERROR\0C42P01\0Mno\0\0";
        let Backend::ErrorResponse(body) = parse_backend(err).unwrap().1 else {
            panic!()
        };
        let f: Vec<_> = fields(body).collect();
        assert_eq!(f, vec![(b'S', &b"ERROR"[..]), (b'C', b"42P01"), (b'M', b"no")]);
    }

    #[test]
    fn every_prefix_needs_more() {
        for n in 0..STARTUP.len() - 3 {
            assert!(
                matches!(parse_startup(&STARTUP[..n]), Err(ParseError::Incomplete { .. })),
                "{n}"
            );
        }
        let q = b"Q\0\0\0\x0eSELECT 1;\0";
        for n in 0..q.len() {
            assert!(matches!(
                parse_frontend(&q[..n]),
                Err(ParseError::Incomplete { .. })
            ));
            assert!(matches!(
                parse_backend(&q[..n]),
                Err(ParseError::Incomplete { .. })
            ));
        }
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok((_, Startup::Startup { params: p, .. })) = parse_startup(&data) {
                let _ = params(p).count();
            }
            let _ = parse_frontend(&data);
            if let Ok((_, m)) = parse_backend(&data) {
                if let Backend::ErrorResponse(b) = m { let _ = fields(b).count(); }
                if let Backend::Authentication { data, .. } = m { let _ = sasl_mechanisms(data).count(); }
            }
        }

        #[test]
        fn split_messages_agree(cut in 0usize..40) {
            let two = b"Q\0\0\0\x0eSELECT 1;\0Q\0\0\0\x0eSELECT 2;\0";
            let cut = cut.min(two.len());
            match parse_frontend(&two[..cut]) {
                Ok((_, m)) => prop_assert_eq!(m, Frontend::Query(b"SELECT 1;")),
                Err(e) => prop_assert!(matches!(e, ParseError::Incomplete { .. }), "{:?}", e),
            }
        }
    }
}
