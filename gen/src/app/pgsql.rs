//! PostgreSQL wire protocol (v3) messages: startup, authentication, simple
//! query and its response.

/// Protocol version 3.0 in a StartupMessage.
pub const PROTOCOL_V3: u32 = 196_608; // 3 << 16
/// SSLRequest code.
pub const SSL_REQUEST_CODE: u32 = 80_877_103; // 1234.5679

/// Type OIDs used in RowDescription.
pub const OID_BOOL: u32 = 16;
/// int8
pub const OID_INT8: u32 = 20;
/// int4
pub const OID_INT4: u32 = 23;
/// text
pub const OID_TEXT: u32 = 25;
/// varchar
pub const OID_VARCHAR: u32 = 1043;
/// numeric
pub const OID_NUMERIC: u32 = 1700;
/// timestamptz
pub const OID_TIMESTAMPTZ: u32 = 1184;

fn len32(n: usize) -> [u8; 4] {
    (n.min(i32::MAX as usize) as u32).to_be_bytes()
}

/// A typed message: tag byte, int32 length (including itself), body.
pub fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(5 + body.len());
    m.push(tag);
    m.extend_from_slice(&len32(body.len() + 4));
    m.extend_from_slice(body);
    m
}

fn cstr(out: &mut Vec<u8>, s: &str) {
    out.extend(s.bytes().filter(|&b| b != 0));
    out.push(0);
}

/// StartupMessage with `key\0value\0` parameters.
pub fn startup_message(params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = PROTOCOL_V3.to_be_bytes().to_vec();
    for (k, v) in params {
        cstr(&mut body, k);
        cstr(&mut body, v);
    }
    body.push(0);
    let mut m = len32(body.len() + 4).to_vec();
    m.extend(body);
    m
}

/// SSLRequest (the server answers one byte, `N` or `S`).
pub fn ssl_request() -> Vec<u8> {
    let mut m = 8u32.to_be_bytes().to_vec();
    m.extend_from_slice(&SSL_REQUEST_CODE.to_be_bytes());
    m
}

/// AuthenticationOk.
pub fn authentication_ok() -> Vec<u8> {
    message(b'R', &0u32.to_be_bytes())
}

/// AuthenticationCleartextPassword.
pub fn authentication_cleartext_password() -> Vec<u8> {
    message(b'R', &3u32.to_be_bytes())
}

/// PasswordMessage.
pub fn password_message(password: &str) -> Vec<u8> {
    let mut b = Vec::new();
    cstr(&mut b, password);
    message(b'p', &b)
}

/// ParameterStatus.
pub fn parameter_status(name: &str, value: &str) -> Vec<u8> {
    let mut b = Vec::new();
    cstr(&mut b, name);
    cstr(&mut b, value);
    message(b'S', &b)
}

/// BackendKeyData.
pub fn backend_key_data(pid: u32, secret: u32) -> Vec<u8> {
    let mut b = pid.to_be_bytes().to_vec();
    b.extend_from_slice(&secret.to_be_bytes());
    message(b'K', &b)
}

/// ReadyForQuery with transaction status `I` (idle), `T` or `E`.
pub fn ready_for_query(status: u8) -> Vec<u8> {
    message(b'Z', &[status])
}

/// Simple Query.
pub fn query(sql: &str) -> Vec<u8> {
    let mut b = Vec::new();
    cstr(&mut b, sql);
    message(b'Q', &b)
}

/// Terminate.
pub fn terminate() -> Vec<u8> {
    message(b'X', &[])
}

/// One RowDescription field: name and type OID.
#[derive(Clone, Copy, Debug)]
pub struct Column<'a> {
    /// Column name.
    pub name: &'a str,
    /// Type OID.
    pub type_oid: u32,
}

fn type_len(oid: u32) -> i16 {
    match oid {
        OID_BOOL => 1,
        OID_INT4 => 4,
        OID_INT8 | OID_TIMESTAMPTZ => 8,
        _ => -1,
    }
}

/// RowDescription (text format, no table OIDs).
pub fn row_description(cols: &[Column<'_>]) -> Vec<u8> {
    let mut b = (cols.len().min(i16::MAX as usize) as u16).to_be_bytes().to_vec();
    for c in cols {
        cstr(&mut b, c.name);
        b.extend_from_slice(&0u32.to_be_bytes()); // table oid
        b.extend_from_slice(&0u16.to_be_bytes()); // attribute number
        b.extend_from_slice(&c.type_oid.to_be_bytes());
        b.extend_from_slice(&type_len(c.type_oid).to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes()); // type modifier
        b.extend_from_slice(&0u16.to_be_bytes()); // text format
    }
    message(b'T', &b)
}

/// DataRow; `None` is SQL NULL.
pub fn data_row(values: &[Option<&str>]) -> Vec<u8> {
    let mut b = (values.len().min(i16::MAX as usize) as u16)
        .to_be_bytes()
        .to_vec();
    for v in values {
        match v {
            Some(s) => {
                b.extend_from_slice(&len32(s.len()));
                b.extend_from_slice(s.as_bytes());
            }
            None => b.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
    message(b'D', &b)
}

/// CommandComplete with its tag (`SELECT 3`, `DROP TABLE`, ...).
pub fn command_complete(tag: &str) -> Vec<u8> {
    let mut b = Vec::new();
    cstr(&mut b, tag);
    message(b'C', &b)
}

/// ErrorResponse with severity, SQLSTATE and message.
pub fn error_response(sqlstate: &str, msg: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for (code, val) in [(b'S', "ERROR"), (b'V', "ERROR"), (b'C', sqlstate), (b'M', msg)] {
        b.push(code);
        cstr(&mut b, val);
    }
    b.push(0);
    message(b'E', &b)
}

/// The server's usual reply to a successful startup: AuthenticationOk, a few
/// ParameterStatus messages, BackendKeyData, ReadyForQuery.
pub fn startup_reply(pid: u32, secret: u32) -> Vec<u8> {
    let mut out = authentication_ok();
    for (k, v) in [
        ("application_name", "psql"),
        ("client_encoding", "UTF8"),
        ("DateStyle", "ISO, MDY"),
        ("integer_datetimes", "on"),
        ("server_encoding", "UTF8"),
        ("server_version", "16.6"),
        ("standard_conforming_strings", "on"),
        ("TimeZone", "UTC"),
    ] {
        out.extend(parameter_status(k, v));
    }
    out.extend(backend_key_data(pid, secret));
    out.extend(ready_for_query(b'I'));
    out
}

/// A full result for a simple query: RowDescription, DataRows,
/// CommandComplete `SELECT n`, ReadyForQuery.
pub fn select_result(cols: &[Column<'_>], rows: &[Vec<String>]) -> Vec<u8> {
    let mut out = row_description(cols);
    for r in rows {
        let vals: Vec<Option<&str>> = r.iter().map(|s| Some(s.as_str())).collect();
        out.extend(data_row(&vals));
    }
    out.extend(command_complete(&format!("SELECT {}", rows.len())));
    out.extend(ready_for_query(b'I'));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits a backend stream into (tag, body) messages.
    fn messages(mut b: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let len = u32::from_be_bytes([b[1], b[2], b[3], b[4]]) as usize;
            out.push((b[0], b[5..1 + len].to_vec()));
            b = &b[1 + len..];
        }
        out
    }

    #[test]
    fn startup_layout() {
        let m = startup_message(&[("user", "app"), ("database", "shop")]);
        assert_eq!(u32::from_be_bytes([m[0], m[1], m[2], m[3]]) as usize, m.len());
        assert_eq!(&m[4..8], &[0, 3, 0, 0]);
        assert_eq!(&m[8..], b"user\0app\0database\0shop\0\0");
        assert_eq!(ssl_request(), vec![0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    }

    #[test]
    fn query_and_result_layout() {
        assert_eq!(query("SELECT 1"), b"Q\x00\x00\x00\x0dSELECT 1\x00".to_vec());
        assert_eq!(authentication_ok(), vec![b'R', 0, 0, 0, 8, 0, 0, 0, 0]);
        assert_eq!(ready_for_query(b'I'), vec![b'Z', 0, 0, 0, 5, b'I']);
        let cols = [
            Column {
                name: "id",
                type_oid: OID_INT4,
            },
            Column {
                name: "name",
                type_oid: OID_TEXT,
            },
        ];
        let r = select_result(
            &cols,
            &[
                vec!["1".into(), "kettle".into()],
                vec!["2".into(), "lantern".into()],
            ],
        );
        let msgs = messages(&r);
        let tags: Vec<u8> = msgs.iter().map(|m| m.0).collect();
        assert_eq!(tags, b"TDDCZ".to_vec());
        assert_eq!(&msgs[0].1[..2], &[0, 2]);
        assert_eq!(
            msgs[1].1,
            b"\x00\x02\x00\x00\x00\x011\x00\x00\x00\x06kettle".to_vec()
        );
        assert_eq!(msgs[3].1, b"SELECT 2\0".to_vec());
        let s = startup_reply(4242, 7);
        let tags: Vec<u8> = messages(&s).iter().map(|m| m.0).collect();
        assert_eq!(tags.first(), Some(&b'R'));
        assert_eq!(&tags[tags.len() - 2..], b"KZ");
        let e = messages(&error_response("42501", "permission denied"));
        assert_eq!(e[0].0, b'E');
        assert!(e[0].1.ends_with(b"Mpermission denied\0\0"));
    }
}
