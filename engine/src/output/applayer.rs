//! EVE records for app-layer transactions (`http`, `tls`, `dns`, `pgsql`)
//! and the app-layer object alerts carry, in Suricata 7's field names,
//! shapes and order, written straight into the record's line.

use super::json::JsonWriter;
use crate::applayer::buffers::TxRef;
use crate::applayer::dns::DnsTx;
use crate::applayer::http::{HeaderList, HttpTx};
use crate::applayer::pgsql::{PgRequest, PgsqlTx};
use crate::applayer::tls::TlsTx;
use crate::applayer::{AnomalyTx, DoneTx, Tx};
use crate::config::EveConfig;
use crate::decode::Encap;
use crate::flow::Flow;
use tapwatch_parsers::dns::{rcode_name, rrtype};

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

    /// Whether the request and the response lists are written.
    fn sides(self) -> (bool, bool) {
        match self {
            DumpHeaders::None => (false, false),
            DumpHeaders::Request => (true, false),
            DumpHeaders::Response => (false, true),
            DumpHeaders::Both => (true, true),
        }
    }
}

/// `[{"name":..,"value":..}]` with repeated names merged into the first
/// as `a, b`, as libhtp stores them.
fn header_list(w: &mut JsonWriter, h: &HeaderList) {
    w.begin_array();
    for (i, (n, _)) in h.iter().enumerate() {
        if h.iter().take(i).any(|(m, _)| m.eq_ignore_ascii_case(n)) {
            continue;
        }
        let same = h
            .iter()
            .skip(i)
            .filter(|(m, _)| m.eq_ignore_ascii_case(n))
            .map(|(_, v)| v);
        w.begin_object();
        w.key("name").bytes(n);
        w.key("value").bytes_joined(same, ", ");
        w.end_object();
    }
    w.end_array();
}

/// Bytes an `http` object may need beyond its fixed part.
fn http_hint(t: &HttpTx, dump: DumpHeaders) -> usize {
    let (req, resp) = dump.sides();
    let list = |h: &HeaderList| h.iter().map(|(n, v)| n.len() + v.len() + 24).sum::<usize>();
    let mut n = 256 + t.uri_raw.len() + t.method.len();
    // Host, user agent, referer: the request headers' values bound them.
    n += t.request_headers.iter().map(|(_, v)| v.len()).sum::<usize>();
    if req {
        n += list(&t.request_headers);
    }
    if resp {
        n += list(&t.response_headers);
    }
    n
}

/// The `http` object, with the header lists `dump` asks for (alerts carry
/// the object without them).
fn http_object(w: &mut JsonWriter, t: &HttpTx, dump: DumpHeaders) {
    w.begin_object();
    if let Some((host, port)) = t.hostname() {
        w.key("hostname").bytes(host);
        if let Some(p) = port {
            w.key("http_port").u64(p.into());
        }
    }
    if !t.request_line.is_empty() {
        w.key("url").bytes(&t.uri_raw);
    }
    if let Some(ua) = t.request_header(b"user-agent") {
        w.key("http_user_agent").bytes(ua);
    }
    if let Some(ct) = t.response_header(b"content-type") {
        let ct = ct.split(|&b| b == b';').next().unwrap_or_default();
        w.key("http_content_type").bytes(ct);
    }
    if let Some(r) = t.request_header(b"referer") {
        w.key("http_refer").bytes(r);
    }
    if !t.method.is_empty() {
        w.key("http_method").bytes(&t.method);
    }
    if !t.protocol.is_empty() {
        w.key("protocol").bytes(&t.protocol);
    } else if !t.response_protocol.is_empty() {
        w.key("protocol").bytes(&t.response_protocol);
    }
    if let Some(st) = t.status {
        w.key("status").u64(st.into());
    } else if !t.stat_code.is_empty() {
        w.key("status_string").bytes(&t.stat_code);
    }
    if let Some(loc) = t.response_header(b"location") {
        w.key("redirect").bytes(loc);
    }
    w.key("length").u64(t.response_message_len);
    let (req, resp) = dump.sides();
    if req && !t.request_headers.is_empty() {
        w.key("request_headers");
        header_list(w, &t.request_headers);
    }
    if resp && !t.response_headers.is_empty() {
        w.key("response_headers");
        header_list(w, &t.response_headers);
    }
    w.end_object();
}

/// The `tls` object, in Suricata 7's extended order: subject, issuerdn,
/// session_resumed, serial, fingerprint, sni, version, notbefore,
/// notafter, ja3, ja3s, ja4.
fn tls_object(w: &mut JsonWriter, t: &TlsTx) {
    w.begin_object();
    let c = t.cert.as_ref();
    if let Some(c) = c {
        w.key("subject").str(&c.subject);
        w.key("issuerdn").str(&c.issuer);
    }
    if t.session_resumed {
        w.key("session_resumed").bool(true);
    }
    if let Some(c) = c {
        w.key("serial").str(&c.serial);
        w.key("fingerprint").str(&c.fingerprint);
    }
    if let Some(sni) = &t.sni {
        w.key("sni").bytes(sni);
    }
    w.key("version").str(t.version_name());
    if let Some(c) = c {
        w.key("notbefore").str(&c.not_before);
        w.key("notafter").str(&c.not_after);
    }
    for (key, string, hash) in [("ja3", &t.ja3, &t.ja3_hash), ("ja3s", &t.ja3s, &t.ja3s_hash)] {
        if let (Some(st), Some(h)) = (string, hash) {
            w.key(key).begin_object();
            w.key("hash").str(h);
            w.key("string").str(st);
            w.end_object();
        }
    }
    if let Some(j) = &t.ja4 {
        w.key("ja4").str(j);
    }
    if let Some(p) = t.from_proto {
        w.key("from_proto").str(p);
    }
    w.end_object();
}

fn tls_hint(t: &TlsTx) -> usize {
    let len = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let cert = t.cert.as_ref().map_or(0, |c| {
        c.subject.len() + c.issuer.len() + c.serial.len() + c.fingerprint.len() + 160
    });
    256 + cert + t.sni.as_ref().map_or(0, Vec::len) + len(&t.ja3) + len(&t.ja3s) + len(&t.ja4) + 96
}

/// The EVE name of a resource record type: its mnemonic, else its number.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RrName {
    Name(&'static str),
    Number(u16),
}

impl RrName {
    fn of(t: u16) -> RrName {
        rrtype::name(t).map_or(RrName::Number(t), RrName::Name)
    }

    fn write(self, w: &mut JsonWriter) {
        match self {
            RrName::Name(n) => w.str(n),
            RrName::Number(n) => w.u64_str(n.into()),
        };
    }

    fn write_key(self, w: &mut JsonWriter) {
        match self {
            RrName::Name(n) => w.key(n),
            RrName::Number(n) => w.key(&n.to_string()),
        };
    }
}

/// The `dns` object (version 2 format).
fn dns_object(w: &mut JsonWriter, t: &DnsTx) {
    w.begin_object();
    w.key("version").u64(2);
    if !t.is_response() {
        w.key("type").str("query");
        w.key("id").u64(t.id.into());
        w.key("rrname").bytes(&t.rrname);
        w.key("rrtype");
        RrName::of(t.rrtype).write(w);
        w.key("tx_id").u64(t.tx_id);
        w.key("opcode").u64(t.opcode().into());
        w.end_object();
        return;
    }
    w.key("type").str("answer");
    w.key("id").u64(t.id.into());
    w.key("flags").hex_str(t.flags.into(), 0);
    for (bit, name) in DNS_FLAGS {
        if t.flags & bit != 0 {
            w.key(name).bool(true);
        }
    }
    w.key("opcode").u64(t.opcode().into());
    if !t.queries.is_empty() {
        w.key("rrname").bytes(&t.rrname);
        w.key("rrtype");
        RrName::of(t.rrtype).write(w);
    }
    w.key("rcode").str(rcode_name(t.rcode()));
    if !t.answers.is_empty() {
        w.key("answers").begin_array();
        for a in &t.answers {
            w.begin_object();
            w.key("rrname").str(&a.rrname);
            w.key("rrtype");
            RrName::of(a.rrtype).write(w);
            w.key("ttl").u64(a.ttl.into());
            if let Some(r) = &a.rdata {
                w.key("rdata").str(r);
            }
            w.end_object();
        }
        w.end_array();
        // `grouped`: the rdata of each type, types in order of first
        // appearance.
        let with_rdata = || {
            t.answers
                .iter()
                .filter_map(|a| Some((RrName::of(a.rrtype), a.rdata.as_deref()?)))
        };
        let mut any = false;
        for (i, (name, _)) in with_rdata().enumerate() {
            if with_rdata().take(i).any(|(n, _)| n == name) {
                continue;
            }
            if !any {
                w.key("grouped").begin_object();
                any = true;
            }
            name.write_key(w);
            w.begin_array();
            for (_, r) in with_rdata().skip(i).filter(|(n, _)| *n == name) {
                w.str(r);
            }
            w.end_array();
        }
        if any {
            w.end_object();
        }
    }
    w.end_object();
}

fn dns_hint(t: &DnsTx) -> usize {
    let answers: usize = t
        .answers
        .iter()
        .map(|a| a.rrname.len() + 2 * a.rdata.as_ref().map_or(0, String::len) + 72)
        .sum();
    224 + t.rrname.len() + answers
}

/// ParameterStatus names as Suricata logs them: `TimeZone` → `time_zone`.
pub(super) fn snake(name: &[u8]) -> String {
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

/// `{"name": "value"}`.
fn pair(w: &mut JsonWriter, name: &str, value: &[u8]) {
    w.begin_object();
    w.key(name).bytes(value);
    w.end_object();
}

/// The fields of `pgsql.request`.
fn pgsql_request(w: &mut JsonWriter, t: &PgsqlTx) {
    match &t.request {
        PgRequest::Startup { version, params } => {
            w.key("protocol_version")
                .display_str(format_args!("{}.{}", version >> 16, version & 0xffff));
            w.key("startup_parameters").begin_object();
            if let Some((_, u)) = params.iter().find(|(n, _)| n == b"user") {
                w.key("user").bytes(u);
            }
            let mut opt = params.iter().filter(|(n, _)| n != b"user").peekable();
            if opt.peek().is_some() {
                w.key("optional_parameters").begin_array();
                for (n, v) in opt {
                    pair(w, &String::from_utf8_lossy(n).to_ascii_lowercase(), v);
                }
                w.end_array();
            }
            w.end_object();
        }
        PgRequest::SslRequest => {
            w.key("message").str("SSL Request");
        }
        PgRequest::GssEncRequest => {
            w.key("message").str("GSSENC Request");
        }
        PgRequest::Cancel { pid, secret } => {
            w.key("message").str("cancel_request");
            w.key("process_id").u64((*pid).into());
            w.key("secret_key").u64((*secret).into());
        }
        PgRequest::Password => {
            w.key("password_redacted").bool(true);
        }
        PgRequest::Query(q) | PgRequest::Parse(q) => {
            w.key("simple_query").bytes(q);
        }
        PgRequest::Terminate => {
            w.key("message").str("termination_message");
        }
        PgRequest::None | PgRequest::Other(_) => {}
    }
}

/// `pgsql.response.message` for an Authentication message's code.
pub(super) fn pg_auth_message(code: u32) -> &'static str {
    match code {
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
    }
}

/// ErrorResponse field codes and their `pgsql.response` keys, in order.
pub(super) const PG_ERROR_FIELDS: [(u8, &str); 7] = [
    (b'S', "severity_localizable"),
    (b'V', "severity_non_localizable"),
    (b'C', "code"),
    (b'M', "message"),
    (b'F', "file"),
    (b'L', "line"),
    (b'R', "routine"),
];

/// DNS header flag bits written as `true` when set, in order.
pub(super) const DNS_FLAGS: [(u16, &str); 6] = [
    (0x8000, "qr"),
    (0x0400, "aa"),
    (0x0200, "tc"),
    (0x0100, "rd"),
    (0x0080, "ra"),
    (0x0040, "z"),
];

/// The fields of `pgsql.response`.
fn pgsql_response(w: &mut JsonWriter, t: &PgsqlTx) {
    if let Some(a) = t.ssl_accepted {
        w.key("ssl_accepted").bool(a);
    }
    let error = |code: u8| {
        t.error
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.as_slice())
    };
    if let Some((code, _)) = &t.auth {
        let msg = pg_auth_message(*code);
        // An error's `message` takes this key's place (one key per name,
        // where it was first written).
        match error(b'M') {
            Some(m) => w.key("message").bytes(m),
            None => w.key("message").str(msg),
        };
    }
    for (code, key) in PG_ERROR_FIELDS {
        if code == b'M' && t.auth.is_some() {
            continue;
        }
        if let Some(v) = error(code) {
            w.key(key).bytes(v);
        }
    }
    if !t.parameter_status.is_empty() {
        w.key("parameter_status").begin_array();
        for (n, v) in &t.parameter_status {
            pair(w, &snake(n), v);
        }
        w.end_array();
    }
    if let Some((pid, key)) = t.backend_key {
        w.key("process_id").u64(pid.into());
        w.key("secret_key").u64(key.into());
    }
    if let Some(n) = t.field_count {
        w.key("field_count").u64(n.into());
    }
    if t.data_rows > 0 {
        w.key("data_rows").u64(t.data_rows);
        w.key("data_size").u64(t.data_size);
    }
    if let Some(c) = &t.command_completed {
        w.key("command_completed").bytes(c);
    }
}

/// The `pgsql` object.
fn pgsql_object(w: &mut JsonWriter, t: &PgsqlTx) {
    w.begin_object();
    w.key("tx_id").u64(t.tx_id);
    w.object_if_any("request", |w| pgsql_request(w, t));
    w.object_if_any("response", |w| pgsql_response(w, t));
    w.end_object();
}

fn pgsql_hint(t: &PgsqlTx) -> usize {
    let pairs = |p: &[(Vec<u8>, Vec<u8>)]| p.iter().map(|(n, v)| n.len() + v.len() + 16).sum::<usize>();
    let req = match &t.request {
        PgRequest::Startup { params, .. } => pairs(params) + 96,
        PgRequest::Query(q) | PgRequest::Parse(q) => q.len(),
        _ => 0,
    };
    let err: usize = t.error.iter().map(|(_, v)| v.len() + 28).sum();
    256 + req + err + pairs(&t.parameter_status) + t.command_completed.as_ref().map_or(0, Vec::len)
}

/// The `anomaly` object of an app-layer event.
fn anomaly_object(w: &mut JsonWriter, t: &AnomalyTx) {
    w.begin_object();
    w.key("app_proto").str(t.app_proto);
    w.key("type").str("applayer");
    w.key("event").str(t.event);
    w.key("layer").str("proto_parser");
    w.end_object();
}

/// The key of a transaction's app-layer object (and of its record's
/// `event_type`).
fn app_key(tx: TxRef<'_>) -> &'static str {
    match tx {
        TxRef::Http(_) => "http",
        TxRef::Tls(_) => "tls",
        TxRef::Dns(_) => "dns",
        TxRef::Pgsql(_) => "pgsql",
        TxRef::Anomaly(_) => "anomaly",
    }
}

/// Write `"<key>":{...}`, the app-layer object of a transaction (with the
/// `http` header lists `dump` asks for).
pub fn write_app_object(w: &mut JsonWriter, tx: TxRef<'_>, dump: DumpHeaders) {
    w.key(app_key(tx));
    match tx {
        TxRef::Http(t) => http_object(w, t, dump),
        TxRef::Tls(t) => tls_object(w, t),
        TxRef::Dns(t) => dns_object(w, t),
        TxRef::Pgsql(t) => pgsql_object(w, t),
        TxRef::Anomaly(t) => anomaly_object(w, t),
    }
}

/// Bytes the app-layer object of `tx` is likely to need, for sizing the
/// record's buffer once.
pub fn app_object_hint(tx: TxRef<'_>, dump: DumpHeaders) -> usize {
    match tx {
        TxRef::Http(t) => http_hint(t, dump),
        TxRef::Tls(t) => tls_hint(t),
        TxRef::Dns(t) => dns_hint(t),
        TxRef::Pgsql(t) => pgsql_hint(t),
        TxRef::Anomaly(t) => 96 + t.app_proto.len() + t.event.len(),
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

/// Whether the transaction was read from packets cut short.
pub(super) fn truncated(tx: &Tx) -> bool {
    match tx {
        Tx::Http(t) => t.truncated,
        Tx::Tls(t) => t.truncated,
        Tx::Pgsql(t) => t.truncated,
        Tx::Dns(_) | Tx::Anomaly(_) => false,
    }
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

/// Bytes of a transaction record besides its app-layer object: the tuple,
/// timestamps and the `mirror` object.
const TX_RECORD_BASE: usize = 400;

/// Bytes a transaction record is likely to need, to size its buffer once.
pub(super) fn tx_record_hint(d: &DoneTx, f: &Flow, cfg: &EveConfig) -> usize {
    let session = f.tunnel.and_then(|t| cfg.sessions.get(&t.vni));
    TX_RECORD_BASE + app_object_hint(d.tx.as_ref(), cfg.http_headers) + session.map_or(0, String::len)
}

/// The EVE record of a finished transaction (`event_type` `http`, `tls`,
/// `dns` or `pgsql`), oriented client → server as Suricata logs them.
pub fn tx_record(d: &DoneTx, f: &Flow, cfg: &EveConfig) -> Vec<u8> {
    tx_record_into(Vec::new(), d, f, cfg)
}

/// [`tx_record`], appended to `out`.
pub fn tx_record_into(out: Vec<u8>, d: &DoneTx, f: &Flow, cfg: &EveConfig) -> Vec<u8> {
    let tx = d.tx.as_ref();
    let session = f.tunnel.and_then(|t| cfg.sessions.get(&t.vni));
    let mut w = JsonWriter::append_to(out, tx_record_hint(d, f, cfg));
    w.begin_object();
    w.key("timestamp").ts(d.ts_ns);
    w.key("flow_id").u64(f.flow_id);
    w.key("event_type").str(app_key(tx));
    super::eve::write_tuple(
        &mut w,
        (&f.client_ip, f.client_port),
        (&f.server_ip, f.server_port),
        true,
    );
    w.key("proto");
    super::eve::write_proto(&mut w, f.proto);
    let pkt_src = match f.tunnel.map(|t| t.encap) {
        Some(Encap::Vxlan) => "vxlan encapsulation",
        Some(Encap::Geneve) => "geneve encapsulation",
        None => "wire/pcap",
    };
    w.key("pkt_src").str(pkt_src);
    if let Some(t) = f.tunnel {
        w.key("mirror").begin_object();
        w.key("vni").u64(t.vni.into());
        if let Some(name) = session {
            w.key("session").str(name);
        }
        // The address as Rust displays it (IPv6 compressed).
        w.key("source_ip").ip_display(&t.outer_src);
        w.key("encap").str(t.encap.as_str());
        w.key("truncated").bool(truncated(&d.tx));
        w.end_object();
    } else if truncated(&d.tx) {
        w.key("mirror").begin_object();
        w.key("truncated").bool(true);
        w.end_object();
    }
    match &d.tx {
        Tx::Http(t) => {
            w.key("tx_id").u64(t.tx_id);
        }
        Tx::Anomaly(t) => {
            w.key("tx_id").u64(t.tx_id);
        }
        _ => {}
    }
    write_app_object(&mut w, tx, cfg.http_headers);
    w.end_object();
    w.into_line()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn object(f: impl FnOnce(&mut JsonWriter)) -> String {
        let mut w = JsonWriter::append_to(Vec::new(), 0);
        f(&mut w);
        String::from_utf8(w.into_bytes()).unwrap()
    }

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
            request_headers: vec![(b"Host".to_vec(), b"h:8080".to_vec())].into_iter().collect(),
            response_headers: vec![(b"Content-Type".to_vec(), b"text/html; charset=utf-8".to_vec())]
                .into_iter()
                .collect(),
            status: Some(200),
            response_message_len: 5,
            ..Default::default()
        };
        assert_eq!(
            object(|w| http_object(w, &t, DumpHeaders::None)),
            r#"{"hostname":"h","http_port":8080,"url":"/x","http_content_type":"text/html","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":5}"#
        );
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
            ]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        let v: Value = serde_json::from_str(&object(|w| http_object(w, &t, DumpHeaders::Both))).unwrap();
        assert_eq!(
            v["request_headers"],
            serde_json::json!([{"name":"Host","value":"i"},{"name":"X-Dup","value":"a, b"},{"name":"X-Folded","value":"one two"}])
        );
        assert!(v.get("response_headers").is_none());
        let v: Value = serde_json::from_str(&object(|w| http_object(w, &t, DumpHeaders::Response))).unwrap();
        assert!(v.get("request_headers").is_none());
        assert_eq!(DumpHeaders::from_config("request"), Some(DumpHeaders::Request));
        assert_eq!(DumpHeaders::from_config("all"), None);
    }
}
