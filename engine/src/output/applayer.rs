//! EVE records for app-layer transactions (`http`, `tls`, `dns`, `pgsql`)
//! and the app-layer object alerts carry, in Suricata 7's field names,
//! shapes and order.

use crate::applayer::buffers::TxRef;
use crate::applayer::dns::DnsTx;
use crate::applayer::http::HttpTx;
use crate::applayer::pgsql::{PgRequest, PgsqlTx};
use crate::applayer::tls::TlsTx;
use crate::applayer::{AnomalyTx, DoneTx, Tx};
use crate::config::EveConfig;
use crate::decode::Encap;
use crate::flow::Flow;
use crate::time::eve_ts;
use serde_json::{Map, Value};
use tapwatch_parsers::dns::{rcode_name, rrtype};

fn s(b: &[u8]) -> Value {
    Value::from(String::from_utf8_lossy(b).into_owned())
}

/// Addresses as Suricata writes them: IPv6 fully expanded.
fn ip_string(ip: &std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(a) => a.to_string(),
        std::net::IpAddr::V6(a) => crate::applayer::dns::ipv6_expanded(a),
    }
}

/// Which header lists `http` records carry (Suricata's `dump-all-headers`
/// under the eve-log `http` type).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DumpHeaders {
    /// Neither (the default).
    #[default]
    None,
    /// `request_headers`.
    Request,
    /// `response_headers`.
    Response,
    /// Both.
    Both,
}

impl DumpHeaders {
    /// Reads the config value (`none`, `request`, `response`, `both`).
    pub fn from_config(v: &str) -> Option<DumpHeaders> {
        Some(match v {
            "none" => DumpHeaders::None,
            "request" => DumpHeaders::Request,
            "response" => DumpHeaders::Response,
            "both" => DumpHeaders::Both,
            _ => return None,
        })
    }
}

/// `[{"name":..,"value":..}]` with repeated names merged into the first
/// as `a, b`, as libhtp stores them.
fn header_list(h: &[(Vec<u8>, Vec<u8>)]) -> Value {
    let mut merged: Vec<(&[u8], Vec<u8>)> = Vec::with_capacity(h.len());
    for (n, v) in h {
        match merged.iter_mut().find(|(m, _)| m.eq_ignore_ascii_case(n)) {
            Some((_, mv)) => {
                mv.extend_from_slice(b", ");
                mv.extend_from_slice(v);
            }
            None => merged.push((n, v.clone())),
        }
    }
    let list = merged
        .iter()
        .map(|(n, v)| {
            let mut o = Map::new();
            o.insert("name".into(), s(n));
            o.insert("value".into(), s(v));
            Value::Object(o)
        })
        .collect();
    Value::Array(list)
}

/// The `http` object of an `http` record, with the header lists `dump`
/// asks for (alerts carry [`http_object`], never the lists).
pub fn http_object_with(t: &HttpTx, dump: DumpHeaders) -> Value {
    let mut v = http_object(t);
    if let Value::Object(m) = &mut v {
        let (req, resp) = match dump {
            DumpHeaders::None => (false, false),
            DumpHeaders::Request => (true, false),
            DumpHeaders::Response => (false, true),
            DumpHeaders::Both => (true, true),
        };
        if req && !t.request_headers.is_empty() {
            m.insert("request_headers".into(), header_list(&t.request_headers));
        }
        if resp && !t.response_headers.is_empty() {
            m.insert("response_headers".into(), header_list(&t.response_headers));
        }
    }
    v
}

/// The `http` object.
pub fn http_object(t: &HttpTx) -> Value {
    let mut m = Map::new();
    if let Some((host, port)) = t.hostname() {
        m.insert("hostname".into(), s(host));
        if let Some(p) = port {
            m.insert("http_port".into(), Value::from(p));
        }
    }
    if !t.request_line.is_empty() {
        m.insert("url".into(), s(&t.uri_raw));
    }
    if let Some(ua) = t.request_header(b"user-agent") {
        m.insert("http_user_agent".into(), s(ua));
    }
    if let Some(ct) = t.response_header(b"content-type") {
        let ct = ct.split(|&b| b == b';').next().unwrap_or_default();
        m.insert("http_content_type".into(), s(ct));
    }
    if let Some(r) = t.request_header(b"referer") {
        m.insert("http_refer".into(), s(r));
    }
    if !t.method.is_empty() {
        m.insert("http_method".into(), s(&t.method));
    }
    if !t.protocol.is_empty() {
        m.insert("protocol".into(), s(&t.protocol));
    } else if !t.response_protocol.is_empty() {
        m.insert("protocol".into(), s(&t.response_protocol));
    }
    if let Some(st) = t.status {
        m.insert("status".into(), Value::from(st));
    } else if !t.stat_code.is_empty() {
        m.insert("status_string".into(), s(&t.stat_code));
    }
    if let Some(loc) = t.response_header(b"location") {
        m.insert("redirect".into(), s(loc));
    }
    m.insert("length".into(), Value::from(t.response_message_len));
    Value::Object(m)
}

/// The `tls` object, in Suricata 7's extended order: subject, issuerdn,
/// session_resumed, serial, fingerprint, sni, version, notbefore,
/// notafter, ja3, ja3s, ja4.
pub fn tls_object(t: &TlsTx) -> Value {
    let mut m = Map::new();
    let c = t.cert.as_ref();
    if let Some(c) = c {
        m.insert("subject".into(), Value::from(c.subject.as_str()));
        m.insert("issuerdn".into(), Value::from(c.issuer.as_str()));
    }
    if t.session_resumed {
        m.insert("session_resumed".into(), Value::from(true));
    }
    if let Some(c) = c {
        m.insert("serial".into(), Value::from(c.serial.as_str()));
        m.insert("fingerprint".into(), Value::from(c.fingerprint.as_str()));
    }
    if let Some(sni) = &t.sni {
        m.insert("sni".into(), s(sni));
    }
    m.insert("version".into(), Value::from(t.version_name()));
    if let Some(c) = c {
        m.insert("notbefore".into(), Value::from(c.not_before.as_str()));
        m.insert("notafter".into(), Value::from(c.not_after.as_str()));
    }
    for (key, string, hash) in [("ja3", &t.ja3, &t.ja3_hash), ("ja3s", &t.ja3s, &t.ja3s_hash)] {
        if let (Some(st), Some(h)) = (string, hash) {
            let mut o = Map::new();
            o.insert("hash".into(), Value::from(h.as_str()));
            o.insert("string".into(), Value::from(st.as_str()));
            m.insert(key.into(), Value::Object(o));
        }
    }
    if let Some(j) = &t.ja4 {
        m.insert("ja4".into(), Value::from(j.as_str()));
    }
    if let Some(p) = t.from_proto {
        m.insert("from_proto".into(), Value::from(p));
    }
    Value::Object(m)
}

fn rrtype_name(t: u16) -> Value {
    match rrtype::name(t) {
        Some(n) => Value::from(n),
        None => Value::from(t.to_string()),
    }
}

/// The `dns` object (version 2 format).
pub fn dns_object(t: &DnsTx) -> Value {
    let mut m = Map::new();
    m.insert("version".into(), Value::from(2));
    if !t.is_response() {
        m.insert("type".into(), Value::from("query"));
        m.insert("id".into(), Value::from(t.id));
        m.insert("rrname".into(), s(&t.rrname));
        m.insert("rrtype".into(), rrtype_name(t.rrtype));
        m.insert("tx_id".into(), Value::from(t.tx_id));
        m.insert("opcode".into(), Value::from(t.opcode()));
        return Value::Object(m);
    }
    m.insert("type".into(), Value::from("answer"));
    m.insert("id".into(), Value::from(t.id));
    m.insert("flags".into(), Value::from(format!("{:x}", t.flags)));
    for (bit, name) in [
        (0x8000u16, "qr"),
        (0x0400, "aa"),
        (0x0200, "tc"),
        (0x0100, "rd"),
        (0x0080, "ra"),
        (0x0040, "z"),
    ] {
        if t.flags & bit != 0 {
            m.insert(name.into(), Value::from(true));
        }
    }
    m.insert("opcode".into(), Value::from(t.opcode()));
    if !t.queries.is_empty() {
        m.insert("rrname".into(), s(&t.rrname));
        m.insert("rrtype".into(), rrtype_name(t.rrtype));
    }
    m.insert("rcode".into(), Value::from(rcode_name(t.rcode())));
    if !t.answers.is_empty() {
        let mut answers = Vec::with_capacity(t.answers.len());
        let mut grouped: Map<String, Value> = Map::new();
        for a in &t.answers {
            let mut o = Map::new();
            o.insert("rrname".into(), Value::from(a.rrname.clone()));
            o.insert("rrtype".into(), rrtype_name(a.rrtype));
            o.insert("ttl".into(), Value::from(a.ttl));
            if let Some(r) = &a.rdata {
                o.insert("rdata".into(), Value::from(r.clone()));
                let key = rrtype::name(a.rrtype)
                    .map(str::to_string)
                    .unwrap_or_else(|| a.rrtype.to_string());
                if let Value::Array(v) = grouped.entry(key).or_insert_with(|| Value::Array(Vec::new())) {
                    v.push(Value::from(r.clone()));
                }
            }
            answers.push(Value::Object(o));
        }
        m.insert("answers".into(), Value::Array(answers));
        if !grouped.is_empty() {
            m.insert("grouped".into(), Value::Object(grouped));
        }
    }
    Value::Object(m)
}

/// ParameterStatus names as Suricata logs them: `TimeZone` → `time_zone`.
fn snake(name: &[u8]) -> String {
    let mut o = String::with_capacity(name.len() + 4);
    for (i, &c) in name.iter().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !o.ends_with('_') {
                o.push('_');
            }
            o.push(c.to_ascii_lowercase() as char);
        } else {
            o.push(c as char);
        }
    }
    o
}

fn pair(name: String, value: &[u8]) -> Value {
    let mut m = Map::new();
    m.insert(name, s(value));
    Value::Object(m)
}

fn pgsql_request(t: &PgsqlTx) -> Map<String, Value> {
    let mut r = Map::new();
    match &t.request {
        PgRequest::Startup { version, params } => {
            r.insert(
                "protocol_version".into(),
                Value::from(format!("{}.{}", version >> 16, version & 0xffff)),
            );
            let mut sp = Map::new();
            if let Some((_, u)) = params.iter().find(|(n, _)| n == b"user") {
                sp.insert("user".into(), s(u));
            }
            let opt: Vec<Value> = params
                .iter()
                .filter(|(n, _)| n != b"user")
                .map(|(n, v)| pair(String::from_utf8_lossy(n).to_ascii_lowercase(), v))
                .collect();
            if !opt.is_empty() {
                sp.insert("optional_parameters".into(), Value::Array(opt));
            }
            r.insert("startup_parameters".into(), Value::Object(sp));
        }
        PgRequest::SslRequest => {
            r.insert("message".into(), Value::from("SSL Request"));
        }
        PgRequest::GssEncRequest => {
            r.insert("message".into(), Value::from("GSSENC Request"));
        }
        PgRequest::Cancel { pid, secret } => {
            r.insert("message".into(), Value::from("cancel_request"));
            r.insert("process_id".into(), Value::from(*pid));
            r.insert("secret_key".into(), Value::from(*secret));
        }
        PgRequest::Password => {
            r.insert("password_redacted".into(), Value::from(true));
        }
        PgRequest::Query(q) | PgRequest::Parse(q) => {
            r.insert("simple_query".into(), s(q));
        }
        PgRequest::Terminate => {
            r.insert("message".into(), Value::from("termination_message"));
        }
        PgRequest::None | PgRequest::Other(_) => {}
    }
    r
}

fn pgsql_response(t: &PgsqlTx) -> Map<String, Value> {
    let mut r = Map::new();
    if let Some(a) = t.ssl_accepted {
        r.insert("ssl_accepted".into(), Value::from(a));
    }
    if let Some((code, _)) = &t.auth {
        let msg = match code {
            0 => "authentication_ok",
            2 => "authentication_kerberos_v5",
            3 => "authentication_cleartext_password",
            5 => "authentication_md5_password",
            7 => "authentication_gss",
            9 => "authentication_sspi",
            10 => "authentication_sasl",
            11 => "authentication_sasl_continue",
            12 => "authentication_sasl_final",
            _ => "authentication_unknown",
        };
        r.insert("message".into(), Value::from(msg));
    }
    if !t.error.is_empty() {
        for (code, key) in [
            (b'S', "severity_localizable"),
            (b'V', "severity_non_localizable"),
            (b'C', "code"),
            (b'M', "message"),
            (b'F', "file"),
            (b'L', "line"),
            (b'R', "routine"),
        ] {
            if let Some((_, v)) = t.error.iter().find(|(c, _)| *c == code) {
                r.insert(key.into(), s(v));
            }
        }
    }
    if !t.parameter_status.is_empty() {
        let ps = t
            .parameter_status
            .iter()
            .map(|(n, v)| pair(snake(n), v))
            .collect();
        r.insert("parameter_status".into(), Value::Array(ps));
    }
    if let Some((pid, key)) = t.backend_key {
        r.insert("process_id".into(), Value::from(pid));
        r.insert("secret_key".into(), Value::from(key));
    }
    if let Some(n) = t.field_count {
        r.insert("field_count".into(), Value::from(n));
    }
    if t.data_rows > 0 {
        r.insert("data_rows".into(), Value::from(t.data_rows));
        r.insert("data_size".into(), Value::from(t.data_size));
    }
    if let Some(c) = &t.command_completed {
        r.insert("command_completed".into(), s(c));
    }
    r
}

/// The `pgsql` object.
pub fn pgsql_object(t: &PgsqlTx) -> Value {
    let mut m = Map::new();
    m.insert("tx_id".into(), Value::from(t.tx_id));
    let req = pgsql_request(t);
    if !req.is_empty() {
        m.insert("request".into(), Value::Object(req));
    }
    let resp = pgsql_response(t);
    if !resp.is_empty() {
        m.insert("response".into(), Value::Object(resp));
    }
    Value::Object(m)
}

/// The `anomaly` object of an app-layer event.
pub fn anomaly_object(t: &AnomalyTx) -> Value {
    let mut m = Map::new();
    m.insert("app_proto".into(), Value::from(t.app_proto));
    m.insert("type".into(), Value::from("applayer"));
    m.insert("event".into(), Value::from(t.event));
    m.insert("layer".into(), Value::from("proto_parser"));
    Value::Object(m)
}

/// The app-layer object of a transaction: its key and value.
pub fn app_object(tx: TxRef<'_>) -> (&'static str, Value) {
    match tx {
        TxRef::Http(t) => ("http", http_object(t)),
        TxRef::Tls(t) => ("tls", tls_object(t)),
        TxRef::Dns(t) => ("dns", dns_object(t)),
        TxRef::Pgsql(t) => ("pgsql", pgsql_object(t)),
        TxRef::Anomaly(t) => ("anomaly", anomaly_object(t)),
    }
}

/// The transaction's index in the flow (Suricata's top-level `tx_id`).
pub fn tx_index(tx: TxRef<'_>) -> Option<u64> {
    match tx {
        TxRef::Http(t) => Some(t.tx_id),
        TxRef::Pgsql(t) => Some(t.tx_id.saturating_sub(1)),
        TxRef::Dns(t) => Some(t.tx_id),
        TxRef::Tls(_) => Some(0),
        TxRef::Anomaly(t) => Some(t.tx_id),
    }
}

fn truncated(tx: &Tx) -> bool {
    match tx {
        Tx::Http(t) => t.truncated,
        Tx::Tls(t) => t.truncated,
        Tx::Pgsql(t) => t.truncated,
        Tx::Dns(_) | Tx::Anomaly(_) => false,
    }
}

/// The `dump-all-headers` setting of the eve-log's `http` type.
fn http_dump(cfg: &EveConfig) -> DumpHeaders {
    cfg.http_headers
}

/// Whether the EVE configuration asks for this transaction's records.
pub fn tx_enabled(tx: &Tx, cfg: &EveConfig) -> bool {
    match tx {
        Tx::Http(_) => cfg.http,
        Tx::Tls(_) => cfg.tls,
        Tx::Dns(_) => cfg.dns,
        Tx::Pgsql(_) => cfg.pgsql,
        // Sinks route `anomaly` records by their `types` list.
        Tx::Anomaly(_) => true,
    }
}

/// The EVE record of a finished transaction (`event_type` `http`, `tls`,
/// `dns` or `pgsql`), oriented client → server as Suricata logs them.
pub fn tx_record(d: &DoneTx, f: &Flow, cfg: &EveConfig) -> Vec<u8> {
    let tx = d.tx.as_ref();
    let (key, obj) = match tx {
        TxRef::Http(t) => ("http", http_object_with(t, http_dump(cfg))),
        _ => app_object(tx),
    };
    let mut v = Map::new();
    v.insert("timestamp".into(), Value::from(eve_ts(d.ts_ns)));
    v.insert("flow_id".into(), Value::from(f.flow_id));
    v.insert("event_type".into(), Value::from(key));
    v.insert("src_ip".into(), Value::from(ip_string(&f.client_ip)));
    v.insert("src_port".into(), Value::from(f.client_port));
    v.insert("dest_ip".into(), Value::from(ip_string(&f.server_ip)));
    v.insert("dest_port".into(), Value::from(f.server_port));
    v.insert("proto".into(), super::eve::proto_name(f.proto));
    let pkt_src = match f.tunnel.map(|t| t.encap) {
        Some(Encap::Vxlan) => "vxlan encapsulation",
        Some(Encap::Geneve) => "geneve encapsulation",
        None => "wire/pcap",
    };
    v.insert("pkt_src".into(), Value::from(pkt_src));
    if let Some(t) = f.tunnel {
        let mut m = Map::new();
        m.insert("vni".into(), Value::from(t.vni));
        if let Some(name) = cfg.sessions.get(&t.vni) {
            m.insert("session".into(), Value::from(name.clone()));
        }
        m.insert("source_ip".into(), Value::from(t.outer_src.to_string()));
        m.insert("encap".into(), Value::from(t.encap.as_str()));
        m.insert("truncated".into(), Value::from(truncated(&d.tx)));
        v.insert("mirror".into(), Value::Object(m));
    } else if truncated(&d.tx) {
        let mut m = Map::new();
        m.insert("truncated".into(), Value::from(true));
        v.insert("mirror".into(), Value::Object(m));
    }
    match &d.tx {
        Tx::Http(t) => {
            v.insert("tx_id".into(), Value::from(t.tx_id));
        }
        Tx::Anomaly(t) => {
            v.insert("tx_id".into(), Value::from(t.tx_id));
        }
        _ => {}
    }
    v.insert(key.into(), obj);
    let mut out = serde_json::to_vec(&Value::Object(v)).unwrap_or_default();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_names() {
        assert_eq!(snake(b"TimeZone"), "time_zone");
        assert_eq!(snake(b"DateStyle"), "date_style");
        assert_eq!(snake(b"server_version"), "server_version");
        assert_eq!(snake(b"IntervalStyle"), "interval_style");
    }

    #[test]
    fn http_object_fields() {
        let t = HttpTx {
            method: b"GET".to_vec(),
            uri_raw: b"/x".to_vec(),
            request_line: b"GET /x HTTP/1.1".to_vec(),
            protocol: b"HTTP/1.1".to_vec(),
            request_headers: vec![(b"Host".to_vec(), b"h:8080".to_vec())],
            response_headers: vec![(b"Content-Type".to_vec(), b"text/html; charset=utf-8".to_vec())],
            status: Some(200),
            response_message_len: 5,
            ..Default::default()
        };
        let v = http_object(&t);
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"hostname":"h","http_port":8080,"url":"/x","http_content_type":"text/html","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":5}"#
        );
        assert_eq!(http_object_with(&t, DumpHeaders::None), v);
    }

    /// Shapes as Suricata 7.0.10 writes them with `dump-all-headers`:
    /// repeated names merged with ", ", folded values joined by a space
    /// (done by the parser), empty lists left out.
    #[test]
    fn dumped_headers() {
        let h = |n: &str, v: &str| (n.as_bytes().to_vec(), v.as_bytes().to_vec());
        let t = HttpTx {
            method: b"GET".to_vec(),
            request_headers: vec![
                h("Host", "i"),
                h("X-Dup", "a"),
                h("x-dup", "b"),
                h("X-Folded", "one two"),
            ],
            ..Default::default()
        };
        let v = http_object_with(&t, DumpHeaders::Both);
        assert_eq!(
            v["request_headers"],
            serde_json::json!([{"name":"Host","value":"i"},{"name":"X-Dup","value":"a, b"},{"name":"X-Folded","value":"one two"}])
        );
        assert!(v.get("response_headers").is_none());
        let v = http_object_with(&t, DumpHeaders::Response);
        assert!(v.get("request_headers").is_none());
        assert_eq!(DumpHeaders::from_config("request"), Some(DumpHeaders::Request));
        assert_eq!(DumpHeaders::from_config("all"), None);
    }
}
