//! Names of Suricata rule keywords tapwatch does not implement yet, so an
//! unsupported keyword (`pcre`, `http.uri`, ...) is told apart from a typo.

/// Suricata 7/8 keywords (not an exhaustive list; sticky buffers are also
/// recognised by their protocol prefix, see [`is_suricata_keyword`]).
const KEYWORDS: &[&str] = &[
    "app-layer-event", "app-layer-protocol", "app-layer-state", "asn1", "base64_data", "base64_decode", "bsize",
    "byte_extract", "byte_jump", "byte_math", "byte_test", "bypass", "cip_service", "compress_whitespace", "config",
    "dataset", "datarep", "dce_iface", "dce_opnum", "dce_stub_data", "decode-event", "detection_filter", "dnp3_data",
    "dnp3_func", "dnp3_ind", "dnp3_obj", "dotprefix", "endswith", "engine-event", "enip_command", "file_data",
    "fileext", "filemagic", "filemd5", "filename", "filesha1", "filesha256", "filesize", "filestore", "flowbits",
    "flowint", "flowvar", "fragbits", "fragoffset", "from_base64", "ftpbounce", "ftpdata_command", "geoip",
    "header_lowercase", "hostbits", "http_accept", "http_accept_enc", "http_accept_lang", "http_client_body",
    "http_connection", "http_content_len", "http_content_type", "http_cookie", "http_header", "http_header_names",
    "http_host", "http_location", "http_method", "http_origin", "http_protocol", "http_raw_header", "http_raw_host",
    "http_raw_uri", "http_referer", "http_request_line", "http_response_line", "http_server", "http_server_body",
    "http_start", "http_stat_code", "http_stat_msg", "http_uri", "http_user_agent", "icmp_id", "icmp_seq", "id",
    "ipopts", "ip_proto", "iprep", "isdataat", "ja3_hash", "ja3_string", "ja3s_hash", "ja3s_string", "krb5_cname",
    "krb5_err_code", "krb5_msg_type", "krb5_sname", "l3_proto", "lua", "luajit", "modbus", "noalert", "nfs_procedure",
    "nfs_version", "pcre", "pcrexform", "pkt_data", "pktvar", "prefilter", "rawbytes", "replace", "requires", "rpc",
    "seq", "ack", "window", "ssh_proto", "ssh_software", "ssh_protoversion", "ssh_softwareversion", "ssl_state",
    "ssl_version", "startswith", "stream_size", "strip_pseudo_headers", "strip_whitespace", "tag", "target", "tcpmss",
    "template", "threshold", "tls_cert_expired", "tls_cert_fingerprint", "tls_cert_issuer", "tls_cert_notafter",
    "tls_cert_notbefore", "tls_cert_serial", "tls_cert_subject", "tls_cert_valid", "tls_sni", "tos", "to_lowercase",
    "to_md5", "to_sha1", "to_sha256", "to_uppercase", "uricontent", "urilen", "url_decode", "xbits", "xor",
    "dns_query", "hassh", "hassh.server", "hassh.server.string", "hassh.string", "snmp_community", "sip_method",
    "sip_uri", "ssh_hassh", "alert", "absent", "entropy", "flow.age", "flow.pkts", "flow.bytes", "stream.data",
];

/// Protocol prefixes of sticky buffers and protocol keywords (`http.uri`,
/// `tls.sni`, `dns.query`, ...).
const PREFIXES: &[&str] = &[
    "http", "http2", "tls", "dns", "ssh", "smb", "ftp", "krb5", "snmp", "sip", "rfb", "mqtt", "ike", "quic",
    "websocket", "ldap", "pgsql", "smtp", "email", "file", "ja3", "ja3s", "ja4", "dhcp", "icmpv4", "icmpv6",
    "ipv4", "ipv6", "tcp", "udp", "enip", "cip", "dnp3", "modbus", "nfs", "tftp", "rdp", "bittorrent", "sdp",
    "pop3", "imap", "ntp", "dcerpc", "telnet", "mdns", "doh2", "frame", "vlan", "ether", "app", "flow", "stream",
    "pkt", "base64", "transform",
];

/// True when `name` (lowercase) is a Suricata keyword.
pub(crate) fn is_suricata_keyword(name: &str) -> bool {
    if KEYWORDS.contains(&name) {
        return true;
    }
    match name.split_once('.') {
        Some((prefix, rest)) => !rest.is_empty() && PREFIXES.contains(&prefix),
        None => false,
    }
}
