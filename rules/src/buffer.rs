//! Inspection buffers: the packet payload and the app-layer buffers the
//! engine hands over (`http.uri`, `dns.query`, `tls.sni`, ...).
//!
//! A rule's contents (and pcre, isdataat, byte_* checks) belong to one
//! buffer each: the payload by default, a sticky buffer after a keyword
//! such as `http.uri;` or `file_data;`, or the buffer named by a legacy
//! content modifier (`content:"x"; http_uri;`) or pcre flag (`/x/U`).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

macro_rules! buffers {
    ($( $v:ident => $name:literal [$($alias:literal),*] ),* $(,)?) => {
        /// An inspection buffer. The engine passes app-layer buffers as
        /// `(BufferId, bytes)` pairs in [`crate::PacketCtx::app_buffers`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum BufferId {
            $(
                #[doc = concat!("`", $name, "`")]
                $v,
            )*
        }

        impl BufferId {
            /// Every buffer, in declaration order.
            pub const ALL: &'static [BufferId] = &[$(BufferId::$v),*];

            /// The buffer a sticky-buffer keyword (either spelling, e.g.
            /// `http.uri` or `http_uri`, `file.data` or `file_data`) names.
            pub fn from_name(name: &str) -> Option<BufferId> {
                match name {
                    $($name $(| $alias)* => Some(BufferId::$v),)*
                    _ => None,
                }
            }

            /// Suricata's (dotted) name of the buffer.
            pub fn name(self) -> &'static str {
                match self {
                    $(BufferId::$v => $name,)*
                }
            }
        }
    };
}

buffers! {
    Payload => "pkt_data" [],
    HttpUri => "http.uri" ["http_uri"],
    HttpRawUri => "http.uri.raw" ["http_raw_uri"],
    HttpMethod => "http.method" ["http_method"],
    HttpHost => "http.host" ["http_host"],
    HttpRawHost => "http.host.raw" ["http_raw_host"],
    HttpUserAgent => "http.user_agent" ["http_user_agent"],
    HttpHeader => "http.header" ["http_header"],
    HttpRawHeader => "http.header.raw" ["http_raw_header"],
    HttpCookie => "http.cookie" ["http_cookie"],
    HttpRequestLine => "http.request_line" ["http_request_line"],
    HttpResponseLine => "http.response_line" ["http_response_line"],
    HttpStatCode => "http.stat_code" ["http_stat_code"],
    HttpStatMsg => "http.stat_msg" ["http_stat_msg"],
    HttpRequestBody => "http.request_body" ["http_client_body"],
    HttpResponseBody => "http.response_body" ["http_server_body"],
    FileData => "file.data" ["file_data"],
    HttpContentType => "http.content_type" ["http_content_type"],
    HttpContentLen => "http.content_len" ["http_content_len"],
    HttpReferer => "http.referer" ["http_referer"],
    HttpStart => "http.start" ["http_start"],
    HttpProtocol => "http.protocol" ["http_protocol"],
    HttpHeaderNames => "http.header_names" ["http_header_names"],
    HttpAccept => "http.accept" ["http_accept"],
    HttpAcceptEnc => "http.accept_enc" ["http_accept_enc"],
    HttpAcceptLang => "http.accept_lang" ["http_accept_lang"],
    HttpConnection => "http.connection" ["http_connection"],
    HttpLocation => "http.location" ["http_location"],
    HttpServer => "http.server" ["http_server"],
    HttpOrigin => "http.origin" ["http_origin"],
    HttpRequestHeader => "http.request_header" [],
    HttpResponseHeader => "http.response_header" [],
    TlsSni => "tls.sni" ["tls_sni"],
    TlsCertSubject => "tls.cert_subject" ["tls_cert_subject"],
    TlsCertIssuer => "tls.cert_issuer" ["tls_cert_issuer"],
    TlsCertSerial => "tls.cert_serial" ["tls_cert_serial"],
    TlsCertFingerprint => "tls.cert_fingerprint" ["tls_cert_fingerprint"],
    TlsCerts => "tls.certs" [],
    TlsSubjectAltName => "tls.subjectaltname" [],
    Ja3Hash => "ja3.hash" ["ja3_hash"],
    Ja3String => "ja3.string" ["ja3_string"],
    Ja3sHash => "ja3s.hash" ["ja3s_hash"],
    Ja3sString => "ja3s.string" ["ja3s_string"],
    Ja4Hash => "ja4.hash" [],
    DnsQuery => "dns.query" ["dns_query"],
    DnsAnswerName => "dns.answer.name" [],
    DnsQueryName => "dns.query.name" [],
    PgsqlQuery => "pgsql.query" [],
    SshProto => "ssh.proto" ["ssh_proto"],
    SshSoftware => "ssh.software" ["ssh_software"],
    SshHassh => "ssh.hassh" ["ssh_hassh"],
    SshHasshString => "ssh.hassh.string" [],
    SshHasshServer => "ssh.hassh.server" [],
    SshHasshServerString => "ssh.hassh.server.string" [],
    SmbNamedPipe => "smb.named_pipe" [],
    SmbShare => "smb.share" [],
    Krb5Cname => "krb5.cname" ["krb5_cname"],
    Krb5Sname => "krb5.sname" ["krb5_sname"],
    SnmpCommunity => "snmp.community" [],
    SipMethod => "sip.method" [],
    SipUri => "sip.uri" [],
    QuicSni => "quic.sni" [],
    QuicUa => "quic.ua" [],
    FtpCommand => "ftp.command" [],
    FtpCommandData => "ftp.command_data" [],
    SmtpHelo => "smtp.helo" [],
    SmtpMailFrom => "smtp.mail_from" [],
    SmtpRcptTo => "smtp.rcpt_to" [],
    FileName => "file.name" ["filename"],
    FileMagic => "file.magic" ["filemagic"],
    DceStubData => "dce_stub_data" [],
    TcpHdr => "tcp.hdr" [],
    UdpHdr => "udp.hdr" [],
    Ipv4Hdr => "ipv4.hdr" [],
    Ipv6Hdr => "ipv6.hdr" [],
    Icmpv4Hdr => "icmpv4.hdr" [],
    Icmpv6Hdr => "icmpv6.hdr" [],
    Base64Data => "base64_data" [],
}

/// Legacy content modifiers that move the preceding content into a buffer
/// (as opposed to sticky buffers, which apply to what follows).
pub(crate) fn legacy_modifier(name: &str) -> Option<BufferId> {
    Some(match name {
        "http_uri" => BufferId::HttpUri,
        "http_raw_uri" => BufferId::HttpRawUri,
        "http_method" => BufferId::HttpMethod,
        "http_host" => BufferId::HttpHost,
        "http_raw_host" => BufferId::HttpRawHost,
        "http_user_agent" => BufferId::HttpUserAgent,
        "http_header" => BufferId::HttpHeader,
        "http_raw_header" => BufferId::HttpRawHeader,
        "http_cookie" => BufferId::HttpCookie,
        "http_client_body" => BufferId::HttpRequestBody,
        "http_server_body" => BufferId::HttpResponseBody,
        "http_stat_code" => BufferId::HttpStatCode,
        "http_stat_msg" => BufferId::HttpStatMsg,
        _ => return None,
    })
}

impl BufferId {
    /// Index for per-buffer tables.
    /// The buffer whose prefilter automaton also serves this one: HTTP
    /// response bodies are inspected as both `http.response_body` and
    /// `file.data` (one buffer in Suricata), so one automaton scans them
    /// once.
    pub(crate) fn prefilter_slot(self) -> BufferId {
        match self {
            BufferId::HttpResponseBody => BufferId::FileData,
            other => other,
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Number of buffer ids.
    pub(crate) const COUNT: usize = BufferId::ALL.len();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &b in BufferId::ALL {
            assert_eq!(BufferId::from_name(b.name()), Some(b));
        }
        assert_eq!(BufferId::from_name("http_uri"), Some(BufferId::HttpUri));
        assert_eq!(BufferId::from_name("file_data"), Some(BufferId::FileData));
        assert_eq!(
            BufferId::from_name("http_client_body"),
            Some(BufferId::HttpRequestBody)
        );
        assert_eq!(BufferId::from_name("nope"), None);
        assert_eq!(
            BufferId::ALL.get(BufferId::DnsQuery.index()),
            Some(&BufferId::DnsQuery)
        );
    }
}
