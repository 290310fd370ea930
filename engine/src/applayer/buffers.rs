//! Rule buffers: the app-layer bytes a rule's sticky buffer (`http.uri`,
//! `tls.sni`, `dns.query`, `pgsql.query`, ...) inspects, for one
//! transaction. This is a plain data API between the engine and the rule
//! crate: [`BufferId`] names a buffer with Suricata's keyword, and
//! [`for_each_buffer`] hands out `(id, bytes)` pairs for a transaction.
//! Derived buffers (header lists, request line parts) are built in a
//! caller-owned scratch vector, so steady state allocates nothing new.

use super::dns::DnsTx;
use super::http::{HeaderList, HttpTx};
use super::pgsql::{PgRequest, PgsqlTx};
use super::tls::TlsTx;
use super::AnomalyTx;

/// A transaction of any protocol, borrowed.
#[derive(Clone, Copy, Debug)]
pub enum TxRef<'a> {
    /// HTTP
    Http(&'a HttpTx),
    /// TLS
    Tls(&'a TlsTx),
    /// PostgreSQL
    Pgsql(&'a PgsqlTx),
    /// DNS
    Dns(&'a DnsTx),
    /// An anomaly event (no buffers)
    Anomaly(&'a AnomalyTx),
}

macro_rules! buffer_ids {
    ($($variant:ident => $name:literal,)*) => {
        /// A rule buffer, named as the Suricata keyword.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum BufferId {
            $(#[doc = $name] $variant,)*
        }

        impl BufferId {
            /// Every buffer.
            pub const ALL: &'static [BufferId] = &[$(BufferId::$variant,)*];

            /// The keyword (`http.uri`).
            pub fn name(self) -> &'static str {
                match self {
                    $(BufferId::$variant => $name,)*
                }
            }

            /// Looks a keyword up (also the legacy `http_*` modifier names).
            pub fn from_name(s: &str) -> Option<BufferId> {
                match s {
                    $($name => Some(BufferId::$variant),)*
                    "http_uri" => Some(BufferId::HttpUri),
                    "http_raw_uri" => Some(BufferId::HttpUriRaw),
                    "http_method" => Some(BufferId::HttpMethod),
                    "http_header" => Some(BufferId::HttpHeader),
                    "http_raw_header" => Some(BufferId::HttpHeaderRaw),
                    "http_cookie" => Some(BufferId::HttpCookie),
                    "http_user_agent" => Some(BufferId::HttpUserAgent),
                    "http_host" => Some(BufferId::HttpHost),
                    "http_raw_host" => Some(BufferId::HttpHostRaw),
                    "http_client_body" => Some(BufferId::HttpRequestBody),
                    "http_server_body" => Some(BufferId::HttpResponseBody),
                    "http_stat_code" => Some(BufferId::HttpStatCode),
                    "http_stat_msg" => Some(BufferId::HttpStatMsg),
                    "dns_query" => Some(BufferId::DnsQuery),
                    "tls_sni" => Some(BufferId::TlsSni),
                    _ => None,
                }
            }
        }
    };
}

buffer_ids! {
    HttpUri => "http.uri",
    HttpUriRaw => "http.uri.raw",
    HttpMethod => "http.method",
    HttpRequestLine => "http.request_line",
    HttpProtocol => "http.protocol",
    HttpHeader => "http.header",
    HttpHeaderRaw => "http.header.raw",
    HttpHeaderNames => "http.header_names",
    HttpHost => "http.host",
    HttpHostRaw => "http.host.raw",
    HttpUserAgent => "http.user_agent",
    HttpCookie => "http.cookie",
    HttpReferer => "http.referer",
    HttpAccept => "http.accept",
    HttpAcceptEnc => "http.accept_enc",
    HttpAcceptLang => "http.accept_lang",
    HttpConnection => "http.connection",
    HttpContentType => "http.content_type",
    HttpContentLen => "http.content_len",
    HttpStart => "http.start",
    HttpRequestBody => "http.request_body",
    HttpStatCode => "http.stat_code",
    HttpStatMsg => "http.stat_msg",
    HttpResponseLine => "http.response_line",
    HttpResponseHeader => "http.response_header",
    HttpResponseBody => "http.response_body",
    FileData => "file.data",
    TlsSni => "tls.sni",
    TlsVersion => "tls.version",
    TlsCerts => "tls.certs",
    TlsCertSubject => "tls.cert_subject",
    TlsCertIssuer => "tls.cert_issuer",
    TlsCertSerial => "tls.cert_serial",
    TlsCertFingerprint => "tls.cert_fingerprint",
    Ja3Hash => "ja3.hash",
    Ja3String => "ja3.string",
    Ja3sHash => "ja3s.hash",
    Ja3sString => "ja3s.string",
    Ja4Hash => "ja4.hash",
    DnsQuery => "dns.query",
    DnsQueriesRrname => "dns.queries.rrname",
    DnsAnswersRrname => "dns.answers.rrname",
    PgsqlQuery => "pgsql.query",
}

/// Which side of a transaction a buffer belongs to.
pub fn is_to_server(id: BufferId) -> bool {
    !matches!(
        id,
        BufferId::HttpStatCode
            | BufferId::HttpStatMsg
            | BufferId::HttpResponseLine
            | BufferId::HttpResponseHeader
            | BufferId::HttpResponseBody
            | BufferId::FileData
            | BufferId::TlsCerts
            | BufferId::TlsCertSubject
            | BufferId::TlsCertIssuer
            | BufferId::TlsCertSerial
            | BufferId::TlsCertFingerprint
            | BufferId::Ja3sHash
            | BufferId::Ja3sString
            | BufferId::DnsAnswersRrname
    )
}

/// `Name: Value\r\n` for each header (Suricata's `http.header`), without
/// the Cookie header on requests as Suricata leaves it out.
fn header_block(h: &HeaderList, skip: &[u8], out: &mut Vec<u8>) {
    out.clear();
    for (n, v) in h.iter() {
        if n.eq_ignore_ascii_case(skip) {
            continue;
        }
        out.extend_from_slice(n);
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
}

fn opt(o: &Option<String>) -> &[u8] {
    o.as_deref().unwrap_or_default().as_bytes()
}

/// Calls `f` with each non-empty buffer of `tx` for which `want` is true
/// (buffers nobody wants are not built). Multi-valued buffers
/// (`dns.queries.rrname`, `tls.certs`) call `f` once per value.
pub fn for_each_buffer(
    tx: TxRef<'_>,
    scratch: &mut Vec<u8>,
    want: impl Fn(BufferId) -> bool,
    mut f: impl FnMut(BufferId, &[u8]),
) {
    let mut emit = |id: BufferId, b: &[u8]| {
        if !b.is_empty() && want(id) {
            f(id, b)
        }
    };
    match tx {
        TxRef::Http(t) => {
            use BufferId::*;
            emit(HttpUri, &t.uri);
            emit(HttpUriRaw, &t.uri_raw);
            emit(HttpMethod, &t.method);
            emit(HttpRequestLine, &t.request_line);
            emit(HttpProtocol, &t.protocol);
            for (id, name) in [
                (HttpUserAgent, &b"user-agent"[..]),
                (HttpCookie, b"cookie"),
                (HttpReferer, b"referer"),
                (HttpAccept, b"accept"),
                (HttpAcceptEnc, b"accept-encoding"),
                (HttpAcceptLang, b"accept-language"),
                (HttpConnection, b"connection"),
            ] {
                if want(id) {
                    emit(id, t.request_header(name).unwrap_or_default());
                }
            }
            if want(HttpHostRaw) {
                if let Some(h) = t.request_header(b"host") {
                    emit(HttpHostRaw, h);
                }
            }
            if want(HttpHost) {
                if let Some((host, _)) = t.hostname() {
                    scratch.clear();
                    scratch.extend(host.iter().map(u8::to_ascii_lowercase));
                    emit(HttpHost, scratch);
                }
            }
            // Content-Type/Length of the response if there is one, else the request's.
            if want(HttpContentType) {
                let ct = t
                    .response_header(b"content-type")
                    .or(t.request_header(b"content-type"));
                emit(HttpContentType, ct.unwrap_or_default());
            }
            if want(HttpContentLen) {
                let cl = t
                    .response_header(b"content-length")
                    .or(t.request_header(b"content-length"));
                emit(HttpContentLen, cl.unwrap_or_default());
            }
            emit(HttpHeaderRaw, &t.request_headers_raw);
            if want(HttpHeader) {
                header_block(&t.request_headers, b"cookie", scratch);
                emit(HttpHeader, scratch);
            }
            if want(HttpHeaderNames) {
                scratch.clear();
                for (n, _) in t.request_headers.iter() {
                    scratch.extend_from_slice(b"\r\n");
                    scratch.extend_from_slice(n);
                }
                if !scratch.is_empty() {
                    scratch.extend_from_slice(b"\r\n\r\n");
                }
                emit(HttpHeaderNames, scratch);
            }
            if want(HttpStart) && !t.request_line.is_empty() {
                scratch.clear();
                scratch.extend_from_slice(&t.request_line);
                scratch.extend_from_slice(b"\r\n");
                scratch.extend_from_slice(&t.request_headers_raw);
                scratch.extend_from_slice(b"\r\n");
                emit(HttpStart, scratch);
            }
            emit(HttpRequestBody, &t.request_body);
            emit(HttpStatCode, &t.stat_code);
            emit(HttpStatMsg, &t.stat_msg);
            emit(HttpResponseLine, &t.response_line);
            if want(HttpResponseHeader) {
                header_block(&t.response_headers, b"set-cookie", scratch);
                emit(HttpResponseHeader, scratch);
            }
            emit(HttpResponseBody, &t.response_body);
            emit(FileData, &t.response_body);
        }
        TxRef::Tls(t) => {
            emit(BufferId::TlsSni, t.sni.as_deref().unwrap_or_default());
            emit(BufferId::TlsVersion, t.version_name().as_bytes());
            for c in &t.certs {
                emit(BufferId::TlsCerts, c);
            }
            if let Some(c) = &t.cert {
                emit(BufferId::TlsCertSubject, c.subject.as_bytes());
                emit(BufferId::TlsCertIssuer, c.issuer.as_bytes());
                emit(BufferId::TlsCertSerial, c.serial.as_bytes());
                emit(BufferId::TlsCertFingerprint, c.fingerprint.as_bytes());
            }
            emit(BufferId::Ja3Hash, opt(&t.ja3_hash));
            emit(BufferId::Ja3String, opt(&t.ja3));
            emit(BufferId::Ja3sHash, opt(&t.ja3s_hash));
            emit(BufferId::Ja3sString, opt(&t.ja3s));
            emit(BufferId::Ja4Hash, opt(&t.ja4));
        }
        TxRef::Dns(t) => {
            if !t.is_response() {
                emit(BufferId::DnsQuery, &t.rrname);
            }
            for q in &t.queries {
                emit(BufferId::DnsQueriesRrname, q);
            }
            for a in &t.answers {
                emit(BufferId::DnsAnswersRrname, a.rrname.as_bytes());
            }
        }
        TxRef::Pgsql(t) => {
            if let PgRequest::Query(q) = &t.request {
                emit(BufferId::PgsqlQuery, q);
            }
        }
        TxRef::Anomaly(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &id in BufferId::ALL {
            assert_eq!(BufferId::from_name(id.name()), Some(id));
        }
        assert_eq!(
            BufferId::from_name("http_client_body"),
            Some(BufferId::HttpRequestBody)
        );
        assert_eq!(BufferId::from_name("nope"), None);
    }

    #[test]
    fn http_buffers() {
        let tx = HttpTx {
            method: b"GET".to_vec(),
            uri_raw: b"/a/../b%20c".to_vec(),
            uri: b"/b c".to_vec(),
            request_line: b"GET /a/../b%20c HTTP/1.1".to_vec(),
            protocol: b"HTTP/1.1".to_vec(),
            request_headers: vec![
                (b"Host".to_vec(), b"WWW.Example.com:8080".to_vec()),
                (b"Cookie".to_vec(), b"a=1".to_vec()),
            ]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        let mut got = Vec::new();
        let mut scratch = Vec::new();
        for_each_buffer(
            TxRef::Http(&tx),
            &mut scratch,
            |_| true,
            |id, b| got.push((id, b.to_vec())),
        );
        let get = |id| got.iter().find(|(i, _)| *i == id).map(|(_, b)| b.clone());
        assert_eq!(get(BufferId::HttpUri).unwrap(), b"/b c");
        assert_eq!(get(BufferId::HttpHost).unwrap(), b"www.example.com");
        assert_eq!(get(BufferId::HttpHostRaw).unwrap(), b"WWW.Example.com:8080");
        assert_eq!(get(BufferId::HttpCookie).unwrap(), b"a=1");
        assert_eq!(
            get(BufferId::HttpHeader).unwrap(),
            b"Host: WWW.Example.com:8080\r\n"
        );
        assert_eq!(
            get(BufferId::HttpHeaderNames).unwrap(),
            b"\r\nHost\r\nCookie\r\n\r\n"
        );
        assert_eq!(get(BufferId::HttpStatCode), None);

        // Only the wanted buffers are handed out.
        let mut only = Vec::new();
        let want = |id| matches!(id, BufferId::HttpHost | BufferId::HttpUri);
        for_each_buffer(TxRef::Http(&tx), &mut scratch, want, |id, b| {
            only.push((id, b.to_vec()))
        });
        assert_eq!(
            only,
            vec![
                (BufferId::HttpUri, b"/b c".to_vec()),
                (BufferId::HttpHost, b"www.example.com".to_vec())
            ]
        );
    }
}
