//! The EVE record builders as they were before records were written
//! straight into their lines: a `serde_json::Value` tree per record,
//! serialized afterwards. Kept for tests only, as the reference the
//! writer-based builders must match byte for byte.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::applayer::{pg_auth_message, snake, truncated, DNS_FLAGS, PG_ERROR_FIELDS};
use super::eve::{anomaly_event_name, AlertInput, AnomalyInput};
use super::eve::{raised_before_addresses, TCP_FLAGS};
use super::{tx_index, DumpHeaders};
use crate::applayer::buffers::TxRef;
use crate::applayer::dns::DnsTx;
use crate::applayer::http::HttpTx;
use crate::applayer::pgsql::{PgRequest, PgsqlTx};
use crate::applayer::tls::TlsTx;
use crate::applayer::{AnomalyTx, DoneTx, Tx};
use crate::config::EveConfig;
use crate::decode::{Encap, Packet, TunnelLayer};
use crate::flow::{EndReason, Flow};
use crate::time::eve_ts;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use std::net::IpAddr;
use tapwatch_parsers::dns::{rcode_name, rrtype};
use tapwatch_rules::{Event, EventKind, RuleMeta};

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

/// `[{"name":..,"value":..}]` with repeated names merged into the first
/// as `a, b`, as libhtp stores them.
fn header_list(h: &crate::applayer::http::HeaderList) -> Value {
    let mut merged: Vec<(&[u8], Vec<u8>)> = Vec::with_capacity(h.len());
    for (n, v) in h.iter() {
        match merged.iter_mut().find(|(m, _)| m.eq_ignore_ascii_case(n)) {
            Some((_, mv)) => {
                mv.extend_from_slice(b", ");
                mv.extend_from_slice(v);
            }
            None => merged.push((n, v.to_vec())),
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
    for (bit, name) in DNS_FLAGS {
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
        let msg = pg_auth_message(*code);
        r.insert("message".into(), Value::from(msg));
    }
    if !t.error.is_empty() {
        for (code, key) in PG_ERROR_FIELDS {
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

/// The `dump-all-headers` setting of the eve-log's `http` type.
fn http_dump(cfg: &EveConfig) -> DumpHeaders {
    cfg.http_headers
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
    v.insert("proto".into(), proto_name(f.proto));
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

pub fn proto_name(p: u8) -> Value {
    match p {
        6 => Value::from("TCP"),
        17 => Value::from("UDP"),
        1 => Value::from("ICMP"),
        58 => Value::from("IPv6-ICMP"),
        132 => Value::from("SCTP"),
        n => Value::from(n.to_string()),
    }
}

/// Addresses as Suricata writes them: dotted quad, or all eight IPv6
/// groups in four hex digits (`2001:0db8:0000:...`), which SIEM parsers
/// and existing dashboards match on.
pub fn ip_text(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => {
            let s = a.segments();
            format!(
                "{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}",
                s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]
            )
        }
    }
}

fn ip_str(ip: &IpAddr) -> Value {
    Value::from(ip_text(ip))
}

fn finish(v: Map<String, Value>) -> Vec<u8> {
    let mut out = serde_json::to_vec(&Value::Object(v)).unwrap_or_default();
    out.push(b'\n');
    out
}

fn pkt_src(p: &Packet<'_>) -> &'static str {
    match p.innermost_tunnel().map(|t| t.encap) {
        Some(Encap::Vxlan) => "vxlan encapsulation",
        Some(Encap::Geneve) => "geneve encapsulation",
        None => "wire/pcap",
    }
}

fn tunnel_obj(p: &Packet<'_>, pcap_cnt: u64) -> Option<Value> {
    let outer = p.tunnels.iter().flatten().next()?;
    Some(json!({
        "src_ip": ip_text(&outer.outer_src),
        "dest_ip": ip_text(&outer.outer_dst),
        "src_port": outer.outer_sport,
        "dest_port": outer.outer_dport,
        "proto": "UDP",
        "depth": p.tunnel_count,
        "pcap_cnt": pcap_cnt,
        "pkt_src": "wire/pcap",
    }))
}

/// Our extension: which mirror session delivered the packet.
fn mirror_obj(p: &Packet<'_>, cfg: &EveConfig) -> Option<Value> {
    let layers = p.tunnels.iter().flatten();
    let mut encap = String::new();
    let mut mirror_layer = None;
    for t in layers {
        if !encap.is_empty() {
            encap.push('+');
        }
        encap.push_str(t.encap.as_str());
        // The VXLAN layer is the mirror session's; GENEVE is the GWLB's.
        if t.encap == Encap::Vxlan || mirror_layer.is_none() {
            mirror_layer = Some(*t);
        }
    }
    let t = mirror_layer?;
    Some(mirror_value(&t, &encap, p.truncated, cfg))
}

/// The `mirror` object for the mirror session's tunnel layer `t`.
fn mirror_value(t: &TunnelLayer, encap: &str, truncated: bool, cfg: &EveConfig) -> Value {
    let mut m = Map::new();
    m.insert("vni".into(), Value::from(t.vni));
    if let Some(name) = cfg.sessions.get(&t.vni) {
        m.insert("session".into(), Value::from(name.clone()));
    }
    m.insert("source_ip".into(), ip_str(&t.outer_src));
    m.insert("encap".into(), Value::from(encap));
    m.insert("truncated".into(), Value::from(truncated));
    Value::Object(m)
}

fn flow_summary(f: &Flow) -> Value {
    json!({
        "pkts_toserver": f.pkts_ts,
        "pkts_toclient": f.pkts_tc,
        "bytes_toserver": f.bytes_ts,
        "bytes_toclient": f.bytes_tc,
        "start": eve_ts(f.start_ns),
        "src_ip": ip_text(&f.client_ip),
        "dest_ip": ip_text(&f.server_ip),
        "src_port": f.client_port,
        "dest_port": f.server_port,
    })
}

fn metadata_obj(rule: &RuleMeta) -> Option<Value> {
    if rule.metadata.is_empty() {
        return None;
    }
    let mut m: Map<String, Value> = Map::new();
    for (k, v) in &rule.metadata {
        match m.get_mut(k) {
            Some(Value::Array(a)) => a.push(Value::from(v.clone())),
            _ => {
                m.insert(k.clone(), Value::Array(vec![Value::from(v.clone())]));
            }
        }
    }
    Some(Value::Object(m))
}

fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' || b == b'\n' || b == b'\r' || b == b'\t' {
                b as char
            } else {
                '.'
            }
        })
        .collect()
}

pub fn alert_record(a: &AlertInput<'_>) -> Vec<u8> {
    let p = a.packet;
    let mut v = Map::new();
    v.insert("timestamp".into(), Value::from(eve_ts(a.ts_ns)));
    if let Some(f) = a.flow {
        v.insert("flow_id".into(), Value::from(f.flow_id));
    }
    // 0: no packet (data inspected when its flow ended), as Suricata's
    // pseudo packets, which have no pcap_cnt.
    if a.pcap_cnt > 0 {
        v.insert("pcap_cnt".into(), Value::from(a.pcap_cnt));
    }
    v.insert("event_type".into(), Value::from("alert"));
    // A transaction's request side can complete on a server packet (and
    // the response side on a client packet): the tuple follows the side
    // the rule matched, as Suricata's does.
    let ((src, sport), (dst, dport)) = super::eve::alert_tuple(a);
    v.insert("src_ip".into(), ip_str(src));
    if p.tcp.is_some() || p.ip_proto == 17 {
        v.insert("src_port".into(), Value::from(sport));
    }
    v.insert("dest_ip".into(), ip_str(dst));
    if p.tcp.is_some() || p.ip_proto == 17 {
        v.insert("dest_port".into(), Value::from(dport));
    }
    v.insert("proto".into(), proto_name(p.ip_proto));
    if let Some(icmp) = p.icmp {
        v.insert("icmp_type".into(), Value::from(icmp.itype));
        v.insert("icmp_code".into(), Value::from(icmp.icode));
    }
    v.insert("pkt_src".into(), Value::from(pkt_src(p)));
    if let Some(t) = tunnel_obj(p, a.pcap_cnt) {
        v.insert("tunnel".into(), t);
    }
    if let Some(m) = mirror_obj(p, a.cfg) {
        v.insert("mirror".into(), m);
    }
    // Packet rules on UDP carry no transaction in Suricata's alerts; rules
    // on a transaction's buffers carry that transaction.
    let on_tx = a.flow.is_some_and(|f| f.app.alert_tx.is_some());
    let app_tx = a
        .flow
        .and_then(|f| f.app.current_tx())
        .filter(|t| on_tx || !matches!(t, crate::applayer::buffers::TxRef::Dns(_)));
    if let Some(tx) = app_tx.and_then(tx_index) {
        v.insert("tx_id".into(), Value::from(tx));
        v.insert("tx_guessed".into(), Value::from(true));
    }
    let r = a.rule;
    let mut al = Map::new();
    al.insert("action".into(), Value::from("allowed"));
    al.insert("gid".into(), Value::from(r.gid));
    al.insert("signature_id".into(), Value::from(r.sid));
    al.insert("rev".into(), Value::from(r.rev));
    al.insert("signature".into(), Value::from(r.msg.clone()));
    al.insert(
        "category".into(),
        Value::from(r.category.clone().unwrap_or_default()),
    );
    al.insert("severity".into(), Value::from(r.priority));
    if a.cfg.metadata {
        if let Some(m) = metadata_obj(r) {
            al.insert("metadata".into(), m);
        }
    }
    v.insert("alert".into(), Value::Object(al));
    if let Some(tx) = app_tx {
        let (key, obj) = app_object(tx);
        v.insert(key.into(), obj);
    }
    if let Some(f) = a.flow {
        insert_app_proto(&mut v, &f.app);
    }
    if a.flow.is_some() {
        v.insert(
            "direction".into(),
            Value::from(if a.to_server { "to_server" } else { "to_client" }),
        );
    }
    if let Some(f) = a.flow {
        v.insert("flow".into(), flow_summary(f));
    }
    if a.cfg.payload {
        v.insert(
            "payload".into(),
            Value::from(base64::engine::general_purpose::STANDARD.encode(p.payload)),
        );
    }
    if a.cfg.payload_printable {
        v.insert("payload_printable".into(), Value::from(printable(p.payload)));
    }
    if a.cfg.packet {
        v.insert(
            "packet".into(),
            Value::from(base64::engine::general_purpose::STANDARD.encode(a.frame)),
        );
    }
    finish(v)
}

/// An `anomaly` record (Suricata's `event_type: anomaly`).
pub fn anomaly_record(a: &AnomalyInput<'_>) -> Vec<u8> {
    let mut v = Map::new();
    v.insert("timestamp".into(), Value::from(eve_ts(a.ts_ns)));
    if let Some(f) = a.flow {
        v.insert("flow_id".into(), Value::from(f.flow_id));
    }
    v.insert("pcap_cnt".into(), Value::from(a.pcap_cnt));
    v.insert("event_type".into(), Value::from("anomaly"));
    let tuple = a.packet.filter(|_| !raised_before_addresses(a.event));
    if let Some(p) = tuple {
        // An IPv6 fragment without its L4 header is protocol 44 to
        // Suricata, without ports; an IPv4 one keeps its protocol, ports 0.
        let v6_frag = p.is_fragment && p.src.is_ipv6() && p.tcp.is_none() && p.sport == 0;
        let ports = (p.ip_proto == 6 || p.ip_proto == 17) && !v6_frag;
        v.insert("src_ip".into(), ip_str(&p.src));
        if ports {
            v.insert("src_port".into(), Value::from(p.sport));
        }
        v.insert("dest_ip".into(), ip_str(&p.dst));
        if ports {
            v.insert("dest_port".into(), Value::from(p.dport));
        }
        let proto = if v6_frag {
            Value::from("IPv6-Frag")
        } else {
            proto_name(p.ip_proto)
        };
        v.insert("proto".into(), proto);
    }
    let pkt_src_name = a.packet.map_or("wire/pcap", pkt_src);
    v.insert("pkt_src".into(), Value::from(pkt_src_name));
    if let Some(p) = a.packet {
        if let Some(t) = tunnel_obj(p, a.pcap_cnt) {
            v.insert("tunnel".into(), t);
        }
        if let Some(m) = mirror_obj(p, a.cfg) {
            v.insert("mirror".into(), m);
        }
    }
    let mut an = Map::new();
    if a.event.kind() == EventKind::AppLayer {
        if let Some(ap) = a.flow.and_then(|f| f.app.proto.as_str()) {
            an.insert("app_proto".into(), Value::from(ap));
        }
    }
    an.insert("type".into(), Value::from(a.event.kind().as_str()));
    an.insert("event".into(), Value::from(anomaly_event_name(a.event)));
    if a.event.kind() == EventKind::AppLayer {
        an.insert("layer".into(), Value::from("proto_parser"));
    }
    v.insert("anomaly".into(), Value::Object(an));
    finish(v)
}

fn tcp_flags_hex(f: u8) -> String {
    format!("{f:02x}")
}

pub fn flow_record(f: &Flow, reason: EndReason, cfg: &EveConfig) -> Vec<u8> {
    let mut v = Map::new();
    v.insert("timestamp".into(), Value::from(eve_ts(f.last_ns)));
    v.insert("flow_id".into(), Value::from(f.flow_id));
    v.insert("event_type".into(), Value::from("flow"));
    v.insert("src_ip".into(), ip_str(&f.client_ip));
    if f.proto == 6 || f.proto == 17 {
        v.insert("src_port".into(), Value::from(f.client_port));
    }
    v.insert("dest_ip".into(), ip_str(&f.server_ip));
    if f.proto == 6 || f.proto == 17 {
        v.insert("dest_port".into(), Value::from(f.server_port));
    }
    v.insert("proto".into(), proto_name(f.proto));
    insert_app_proto(&mut v, &f.app);
    if let Some(t) = &f.tunnel {
        v.insert(
            "mirror".into(),
            mirror_value(t, t.encap.as_str(), f.truncated, cfg),
        );
    }
    let age = f.last_ns.saturating_sub(f.start_ns) / 1_000_000_000;
    let mut fl = Map::new();
    fl.insert("pkts_toserver".into(), Value::from(f.pkts_ts));
    fl.insert("pkts_toclient".into(), Value::from(f.pkts_tc));
    fl.insert("bytes_toserver".into(), Value::from(f.bytes_ts));
    fl.insert("bytes_toclient".into(), Value::from(f.bytes_tc));
    fl.insert("start".into(), Value::from(eve_ts(f.start_ns)));
    fl.insert("end".into(), Value::from(eve_ts(f.last_ns)));
    fl.insert("age".into(), Value::from(age));
    fl.insert("state".into(), Value::from(f.state().as_str()));
    fl.insert("reason".into(), Value::from(reason.as_str()));
    fl.insert("alerted".into(), Value::from(f.alerted));
    v.insert("flow".into(), Value::Object(fl));
    if f.proto == 6 {
        let all = f.flags_ts | f.flags_tc;
        let mut t = Map::new();
        t.insert("tcp_flags".into(), Value::from(tcp_flags_hex(all)));
        t.insert("tcp_flags_ts".into(), Value::from(tcp_flags_hex(f.flags_ts)));
        t.insert("tcp_flags_tc".into(), Value::from(tcp_flags_hex(f.flags_tc)));
        for (bit, name) in TCP_FLAGS {
            if all & bit != 0 {
                t.insert(name.into(), Value::from(true));
            }
        }
        t.insert("state".into(), Value::from(f.tcp_state.as_str()));
        if f.stream[0].gaps > 0 {
            t.insert("ts_gap".into(), Value::from(true));
        }
        if f.stream[1].gaps > 0 {
            t.insert("tc_gap".into(), Value::from(true));
        }
        v.insert("tcp".into(), Value::Object(t));
    }
    finish(v)
}

/// `app_proto`, and `app_proto_orig` when the flow switched protocol
/// (HTTP CONNECT, PostgreSQL SSLRequest), as Suricata writes them.
fn insert_app_proto(v: &mut Map<String, Value>, app: &crate::applayer::AppLayer) {
    if let Some(ap) = app.proto.as_str() {
        v.insert("app_proto".into(), Value::from(ap));
        if let Some(orig) = app.orig_proto.and_then(|o| o.as_str()).filter(|o| *o != ap) {
            v.insert("app_proto_orig".into(), Value::from(orig));
        }
    }
}

/// The writer-based builders against the Value-based ones above, on
/// transactions, flows, packets and configurations chosen to reach every
/// optional field, and on arbitrary bytes.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::applayer::dns::DnsAnswer;
    use crate::applayer::tls::cert::CertInfo;
    use crate::applayer::{AppLayer, AppProto};
    use crate::decode::{IcmpInfo, TcpInfo};
    use crate::flow::{FlowKey, TcpState};
    use crate::stream::StreamDir;
    use proptest::prelude::*;

    fn configs() -> Vec<EveConfig> {
        let mut out = Vec::new();
        for (i, dump) in [
            DumpHeaders::None,
            DumpHeaders::Request,
            DumpHeaders::Response,
            DumpHeaders::Both,
        ]
        .into_iter()
        .enumerate()
        {
            let mut c = EveConfig {
                http_headers: dump,
                payload: i % 2 == 1,
                payload_printable: i >= 2,
                packet: i == 3,
                metadata: i != 2,
                ..EveConfig::default()
            };
            if i % 2 == 0 {
                c.sessions.insert(1001, "web \"mirror\"\u{1}é".into());
            }
            out.push(c);
        }
        out
    }

    fn tunnel(encap: Encap, vni: u32, v6: bool) -> TunnelLayer {
        TunnelLayer {
            encap,
            vni,
            outer_src: if v6 {
                "2001:db8::7".parse().unwrap()
            } else {
                "10.0.2.7".parse().unwrap()
            },
            outer_dst: "10.0.0.100".parse().unwrap(),
            outer_sport: 51234,
            outer_dport: if encap == Encap::Vxlan { 4789 } else { 6081 },
        }
    }

    fn flow(proto: u8, v6: bool, tunnel_layer: Option<TunnelLayer>, variant: usize) -> Flow {
        let (c, s): (IpAddr, IpAddr) = if v6 {
            ("2001:db8:beef::20".parse().unwrap(), "fe80::1".parse().unwrap())
        } else {
            ("10.0.3.26".parse().unwrap(), "10.0.2.7".parse().unwrap())
        };
        let mut stream = [StreamDir::default(), StreamDir::default()];
        stream[0].gaps = (variant % 2) as u32;
        stream[1].gaps = u32::from(variant.is_multiple_of(3)) * 3;
        let mut app = AppLayer::default();
        app.proto = [AppProto::Unknown, AppProto::Http, AppProto::Tls, AppProto::Pgsql][variant % 4];
        app.orig_proto = match variant % 5 {
            0 => Some(AppProto::Http),
            1 => Some(app.proto),
            _ => None,
        };
        Flow {
            key: FlowKey::default(),
            flow_id: 462_348_233_402_444 + variant as u64,
            proto,
            client_ip: c,
            client_port: 32778,
            server_ip: s,
            server_port: 5432,
            start_ns: 1_768_471_200_015_787_000,
            last_ns: 1_768_471_263_115_787_123 + variant as u64 * 1_000_000_007,
            pkts_ts: 12,
            pkts_tc: 9 + variant as u64,
            bytes_ts: 1234,
            bytes_tc: u64::MAX - variant as u64,
            tcp_state: [
                TcpState::None,
                TcpState::Established,
                TcpState::Closed,
                TcpState::SynSent,
            ][variant % 4],
            flags_ts: [0x02, 0x1b, 0xff, 0x00][variant % 4],
            flags_tc: [0x12, 0x11, 0x00, 0x04][variant % 4],
            alerted: variant.is_multiple_of(2),
            truncated: variant % 3 == 1,
            stream,
            tunnel: tunnel_layer,
            in_use: true,
            app,
            vars: Default::default(),
        }
    }

    fn flows() -> Vec<Flow> {
        let mut out = Vec::new();
        let mut v = 0;
        for proto in [6u8, 17, 1, 58, 132, 47] {
            for v6 in [false, true] {
                for t in [
                    None,
                    Some(tunnel(Encap::Vxlan, 1001, v6)),
                    Some(tunnel(Encap::Geneve, 77, v6)),
                    Some(tunnel(Encap::Vxlan, 1003, false)),
                ] {
                    out.push(flow(proto, v6, t, v));
                    v += 1;
                }
            }
        }
        out
    }

    fn h(n: &[u8], v: &[u8]) -> (Vec<u8>, Vec<u8>) {
        (n.to_vec(), v.to_vec())
    }

    fn http_txs() -> Vec<HttpTx> {
        let full = HttpTx {
            tx_id: 3,
            method: b"POST".to_vec(),
            uri_raw: b"/a?b=\"c\"&d=\\\x01\xff\xfe".to_vec(),
            request_line: b"POST /a HTTP/1.1".to_vec(),
            protocol: b"HTTP/1.1".to_vec(),
            request_headers: vec![
                h(b"Host", b"shop.example.com:8080"),
                h(b"User-Agent", b"curl/8.5 \xe2\x82"),
                h(b"Referer", b"http://x/\t\n"),
                h(b"X-Dup", b"a\xc3"),
                h(b"x-dup", b"\xa9b"),
                h(b"X-DUP", b""),
            ]
            .into_iter()
            .collect(),
            response_protocol: b"HTTP/1.0".to_vec(),
            response_headers: vec![
                h(b"Content-Type", b"text/html; charset=utf-8"),
                h(b"Location", b"/login\x7f"),
                h(b"Set-Cookie", b"a=1"),
                h(b"set-cookie", b"b=2"),
            ]
            .into_iter()
            .collect(),
            status: Some(302),
            response_message_len: 1 << 40,
            truncated: true,
            ..Default::default()
        };
        let response_only = HttpTx {
            tx_id: 0,
            response_protocol: b"HTTP/1.1".to_vec(),
            stat_code: b"2x0".to_vec(),
            response_headers: vec![h(b"Content-Type", b";")].into_iter().collect(),
            ..Default::default()
        };
        let bare_host = HttpTx {
            tx_id: 7,
            method: b"GET".to_vec(),
            request_headers: vec![h(b"host", b"[::1]")].into_iter().collect(),
            ..Default::default()
        };
        vec![full, response_only, bare_host, HttpTx::default()]
    }

    fn tls_txs() -> Vec<TlsTx> {
        let cert = CertInfo {
            subject: "CN=shop.example.com, O=\"Shop\"".into(),
            issuer: "CN=CA\\1".into(),
            serial: "01:02:03".into(),
            fingerprint: "aa:bb".into(),
            not_before: "2026-01-01T00:00:00".into(),
            not_after: "2027-01-01T00:00:00".into(),
        };
        vec![
            TlsTx {
                sni: Some(b"shop.example.com\xff".to_vec()),
                version: Some(0x0303),
                session_resumed: true,
                ja3: Some("771,49195".into()),
                ja3_hash: Some("28c5cc".into()),
                ja3s: Some("771,4865".into()),
                ja3s_hash: Some("5215".into()),
                ja4: Some("t13d1516h2_8daaf6152771_02713d6af862".into()),
                cert: Some(cert),
                from_proto: Some("http"),
                truncated: true,
                ..Default::default()
            },
            TlsTx {
                client_version: 0x0301,
                ja3: Some("only string".into()),
                ..Default::default()
            },
            TlsTx::default(),
        ]
    }

    fn dns_txs() -> Vec<DnsTx> {
        let ans = |n: &str, t: u16, r: Option<&str>| DnsAnswer {
            rrname: n.into(),
            rrtype: t,
            ttl: 300,
            rdata: r.map(str::to_string),
        };
        vec![
            DnsTx {
                tx_id: 4,
                id: 14865,
                flags: 0x0100,
                rrname: b"api.example.com".to_vec(),
                rrtype: 1,
                queries: vec![b"api.example.com".to_vec()],
                ..Default::default()
            },
            DnsTx {
                tx_id: 5,
                id: 1,
                flags: 0x87c3,
                rrname: b"w\"x\x01.example".to_vec(),
                rrtype: 65280,
                queries: vec![b"x".to_vec()],
                answers: vec![
                    ans("a.example", 5, Some("b.example")),
                    ans("b.example", 1, Some("192.0.2.1")),
                    ans("b.example", 1, Some("192.0.2.2")),
                    ans("b.example", 65280, Some("\\# 2 abcd")),
                    ans("b.example", 28, None),
                    ans("b.example", 65280, Some("x\ny")),
                    ans("c", 1, Some("192.0.2.3")),
                ],
                ..Default::default()
            },
            DnsTx {
                flags: 0x8183,
                answers: vec![ans("n", 28, None)],
                ..Default::default()
            },
            DnsTx {
                flags: 0x8000,
                ..Default::default()
            },
        ]
    }

    fn pgsql_txs() -> Vec<PgsqlTx> {
        let requests = vec![
            PgRequest::Startup {
                version: 196_608,
                params: vec![
                    h(b"user", b"app"),
                    h(b"Database", b"shop\xff"),
                    h(b"application_name", b"psql"),
                ],
            },
            PgRequest::Startup {
                version: 196_610,
                params: vec![],
            },
            PgRequest::SslRequest,
            PgRequest::GssEncRequest,
            PgRequest::Cancel {
                pid: 42,
                secret: u32::MAX,
            },
            PgRequest::Password,
            PgRequest::Query(b"SELECT '\"\x00\"'".to_vec()),
            PgRequest::Parse(b"INSERT $1".to_vec()),
            PgRequest::Terminate,
            PgRequest::None,
            PgRequest::Other(b'B'),
        ];
        let mut out = Vec::new();
        for (i, request) in requests.into_iter().enumerate() {
            let mut t = PgsqlTx {
                tx_id: i as u64,
                request,
                truncated: i % 4 == 0,
                ..Default::default()
            };
            match i % 4 {
                0 => {
                    t.ssl_accepted = Some(i % 8 == 0);
                    t.auth = Some(([0u32, 5, 10, 99][i % 3], Vec::new()));
                    t.parameter_status = vec![h(b"TimeZone", b"UTC"), h(b"server_version", b"16.6")];
                    t.backend_key = Some((42453, 465_299_045));
                }
                1 => {
                    t.auth = Some((3, Vec::new()));
                    t.error = vec![
                        (b'S', b"FATAL".to_vec()),
                        (b'C', b"28P01".to_vec()),
                        (b'M', b"password \"x\" failed".to_vec()),
                        (b'M', b"second".to_vec()),
                        (b'R', b"auth_failed".to_vec()),
                    ];
                }
                2 => {
                    t.error = vec![
                        (b'V', b"ERROR".to_vec()),
                        (b'M', b"syntax".to_vec()),
                        (b'L', b"1".to_vec()),
                        (b'F', b"f.c".to_vec()),
                    ];
                }
                _ => {
                    t.field_count = Some(3);
                    t.data_rows = (i % 3) as u64;
                    t.data_size = 512;
                    t.command_completed = Some(b"SELECT 2".to_vec());
                }
            }
            out.push(t);
        }
        out.push(PgsqlTx::default());
        out
    }

    fn all_txs() -> Vec<Tx> {
        let mut txs: Vec<Tx> = Vec::new();
        txs.extend(http_txs().into_iter().map(|t| Tx::Http(Box::new(t))));
        txs.extend(tls_txs().into_iter().map(|t| Tx::Tls(Box::new(t))));
        txs.extend(dns_txs().into_iter().map(|t| Tx::Dns(Box::new(t))));
        txs.extend(pgsql_txs().into_iter().map(|t| Tx::Pgsql(Box::new(t))));
        txs.push(Tx::Anomaly(Box::new(AnomalyTx {
            app_proto: "tls",
            event: "INVALID_RECORD_TYPE",
            tx_id: 2,
        })));
        txs
    }

    /// The buffer was sized once: the record fits its size estimate.
    fn fits(rec: &[u8], hint: usize) {
        assert!(
            rec.len() <= hint,
            "{} bytes, estimated {hint}: {}",
            rec.len(),
            String::from_utf8_lossy(rec)
        );
    }

    fn same(new: &[u8], old: &[u8]) {
        assert_eq!(
            String::from_utf8_lossy(new),
            String::from_utf8_lossy(old),
            "writer output differs from the Value-based record"
        );
        assert_eq!(new, old);
    }

    #[test]
    fn tx_records_match_byte_for_byte() {
        let flows = flows();
        let mut n = 0;
        for cfg in configs() {
            for (i, tx) in all_txs().into_iter().enumerate() {
                let d = DoneTx {
                    tx,
                    ts_ns: 1_768_471_200_000_000_000 + i as u64 * 1001,
                    pcap_cnt: 9,
                };
                for f in flows.iter().skip(i % 5).step_by(5) {
                    let new = super::super::tx_record(&d, f, &cfg);
                    same(&new, &tx_record(&d, f, &cfg));
                    fits(&new, super::super::applayer::tx_record_hint(&d, f, &cfg));
                    n += 1;
                }
            }
        }
        assert!(n > 100);
    }

    #[test]
    fn flow_records_match_byte_for_byte() {
        for cfg in configs() {
            for (i, f) in flows().iter().enumerate() {
                let reason = [
                    EndReason::Timeout,
                    EndReason::Shutdown,
                    EndReason::Evicted,
                    EndReason::Reused,
                ][i % 4];
                let new = super::super::flow_record(f, reason, &cfg);
                same(&new, &flow_record(f, reason, &cfg));
                fits(&new, super::super::eve::FLOW_RECORD_SIZE);
            }
        }
    }

    fn rule(variant: usize) -> RuleMeta {
        let kv = |k: &str, v: &str| (k.to_string(), v.to_string());
        let mut r = RuleMeta {
            action: tapwatch_rules::Action::Alert,
            gid: 1,
            sid: 2_024_001,
            rev: 3,
            msg: "ET \"quoted\" ; é\u{1}".into(),
            classtype: Some("trojan-activity".into()),
            category: Some("A Network Trojan was detected".into()),
            priority: 1,
            metadata: vec![
                kv("former_category", "MALWARE"),
                kv("tag", "x"),
                kv("tag", "y\""),
                kv("created_at", "2024_01_01"),
                kv("tag", "z"),
                kv("k\\", ""),
            ],
            references: vec![],
            source: "t.rules".into(),
            line: 1,
            text: String::new(),
            noalert: false,
        };
        if variant % 2 == 1 {
            r.metadata.clear();
            r.category = None;
        }
        r
    }

    fn packets(frame: &[u8]) -> Vec<Packet<'_>> {
        let mut out = Vec::new();
        for (i, (proto, v6)) in [(6u8, false), (17, true), (1, false), (58, true), (47, false)]
            .into_iter()
            .enumerate()
        {
            let mut p = Packet::empty();
            p.ip_proto = proto;
            if v6 {
                p.src = "2001:db8:beef::20".parse().unwrap();
                p.dst = "fe80::1".parse().unwrap();
            } else {
                p.src = "10.0.3.26".parse().unwrap();
                p.dst = "10.0.2.7".parse().unwrap();
            }
            p.sport = 32778;
            p.dport = 5432;
            if proto == 6 {
                p.tcp = Some(TcpInfo {
                    seq: 1,
                    ack: 2,
                    flags: 0x18,
                    window: 512,
                });
            }
            if proto == 1 || proto == 58 {
                p.icmp = Some(IcmpInfo {
                    itype: 8,
                    icode: 0,
                    id: Some(1),
                    seq: Some(2),
                });
            }
            p.payload = frame.get(i * 3..).unwrap_or_default();
            p.truncated = i % 2 == 0;
            p.is_fragment = i == 1;
            match i % 3 {
                0 => {}
                1 => {
                    p.tunnels[0] = Some(tunnel(Encap::Vxlan, 1001, false));
                    p.tunnel_count = 1;
                }
                _ => {
                    p.tunnels[0] = Some(tunnel(Encap::Geneve, 77, true));
                    p.tunnels[1] = Some(tunnel(Encap::Vxlan, 1001, false));
                    p.tunnels[2] = Some(tunnel(Encap::Vxlan, 1002, false));
                    p.tunnel_count = 3;
                }
            }
            out.push(p);
        }
        out
    }

    #[test]
    fn alert_records_match_byte_for_byte() {
        let frame: Vec<u8> = (0..=255u8).chain(*b"GET / HTTP/1.1\r\n\t\"\\").collect();
        let mut flows = flows();
        let txs = all_txs();
        for (i, f) in flows.iter_mut().enumerate() {
            // Alerts on a finished transaction carry it.
            if i % 3 != 2 {
                f.app.done.push(DoneTx {
                    tx: txs[i % txs.len()].clone(),
                    ts_ns: 0,
                    pcap_cnt: 0,
                });
                f.app.alert_tx = Some(0);
            }
        }
        let mut n = 0;
        for cfg in configs() {
            for (i, p) in packets(&frame).iter().enumerate() {
                for (j, f) in flows.iter().enumerate().filter(|(j, _)| j % 5 == i) {
                    for flow in [None, Some(f)] {
                        let r = rule(i + j);
                        let a = AlertInput {
                            ts_ns: 1_768_471_200_123_456_789,
                            pcap_cnt: (j % 3) as u64,
                            packet: p,
                            frame: &frame,
                            flow,
                            to_server: j % 2 == 0,
                            rule: &r,
                            cfg: &cfg,
                        };
                        let new = super::super::alert_record(&a);
                        same(&new, &alert_record(&a));
                        let hint = super::super::eve::alert_hint(&a, super::super::eve::alert_app_tx(&a));
                        fits(&new, hint);
                        n += 1;
                    }
                }
            }
        }
        assert!(n > 100, "{n}");
    }

    #[test]
    fn anomaly_records_match_byte_for_byte() {
        let frame = [0u8; 4];
        let flows = flows();
        for cfg in configs() {
            for (i, p) in packets(&frame).iter().enumerate() {
                for (j, &event) in Event::ALL.iter().enumerate() {
                    for packet in [None, Some(p)] {
                        let a = AnomalyInput {
                            ts_ns: 1_768_471_200_123_456_789,
                            pcap_cnt: j as u64,
                            packet,
                            flow: flows.get(i + j).filter(|_| j % 2 == 0),
                            event,
                            cfg: &cfg,
                        };
                        let new = super::super::anomaly_record(&a);
                        same(&new, &anomaly_record(&a));
                        fits(&new, super::super::eve::ANOMALY_RECORD_SIZE);
                    }
                }
            }
        }
    }

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                any::<u8>(),
                Just(b'"'),
                Just(b'\\'),
                Just(0xc3),
                Just(0xa9),
                Just(b'a')
            ],
            0..24,
        )
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_give_the_same_records(
            uri in bytes(), ua in bytes(), name in bytes(), value in bytes(), query in bytes(),
            param in bytes(), rrname in bytes(), dump in 0..4usize,
        ) {
            let cfg = &configs()[dump];
            let f = flow(6, dump % 2 == 0, Some(tunnel(Encap::Vxlan, 1001, false)), dump);
            let http = HttpTx {
                method: name.clone(),
                uri_raw: uri.clone(),
                request_line: uri.clone(),
                protocol: value.clone(),
                request_headers: vec![(b"user-agent".to_vec(), ua.clone()), (name.clone(), value.clone()), (name.to_ascii_uppercase(), ua.clone())].into_iter().collect(),
                response_headers: vec![(b"content-type".to_vec(), value.clone()), (name.clone(), uri.clone())].into_iter().collect(),
                stat_code: ua.clone(),
                ..Default::default()
            };
            let pg = PgsqlTx {
                request: PgRequest::Startup { version: 3 << 16, params: vec![(param.clone(), query.clone()), (b"user".to_vec(), value.clone())] },
                parameter_status: vec![(param.clone(), value.clone())],
                error: vec![(b'M', query.clone())],
                command_completed: Some(uri.clone()),
                ..Default::default()
            };
            let dns = DnsTx {
                flags: 0x8180,
                rrname: rrname.clone(),
                queries: vec![rrname.clone()],
                answers: vec![DnsAnswer { rrname: String::from_utf8_lossy(&rrname).into_owned(), rrtype: 16, ttl: 1, rdata: Some(String::from_utf8_lossy(&query).into_owned()) }],
                ..Default::default()
            };
            let tls = TlsTx { sni: Some(rrname.clone()), ..Default::default() };
            for tx in [Tx::Http(Box::new(http)), Tx::Pgsql(Box::new(pg)), Tx::Dns(Box::new(dns)), Tx::Tls(Box::new(tls))] {
                let d = DoneTx { tx, ts_ns: 7, pcap_cnt: 1 };
                prop_assert_eq!(super::super::tx_record(&d, &f, cfg), tx_record(&d, &f, cfg));
            }
        }
    }
}
