//! EVE record builders with Suricata's field names and order.

use crate::config::EveConfig;
use crate::decode::{Encap, Packet, TunnelLayer};
use crate::flow::{EndReason, Flow, TH_ACK, TH_CWR, TH_ECE, TH_FIN, TH_PUSH, TH_RST, TH_SYN, TH_URG};
use crate::time::eve_ts;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use std::net::IpAddr;
use tapwatch_rules::{Event, EventKind, RuleMeta};

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

/// Everything an alert record needs.
pub struct AlertInput<'a> {
    pub ts_ns: u64,
    pub pcap_cnt: u64,
    pub packet: &'a Packet<'a>,
    pub frame: &'a [u8],
    pub flow: Option<&'a Flow>,
    pub to_server: bool,
    pub rule: &'a RuleMeta,
    pub cfg: &'a EveConfig,
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
    let from_client = a
        .flow
        .is_none_or(|f| p.src == f.client_ip && p.sport == f.client_port);
    let ((src, sport), (dst, dport)) = if a.flow.is_some() && from_client != a.to_server {
        ((&p.dst, p.dport), (&p.src, p.sport))
    } else {
        ((&p.src, p.sport), (&p.dst, p.dport))
    };
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
    if let Some(tx) = app_tx.and_then(super::applayer::tx_index) {
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
        let (key, obj) = super::applayer::app_object(tx);
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

/// Everything an anomaly record needs.
pub struct AnomalyInput<'a> {
    pub ts_ns: u64,
    pub pcap_cnt: u64,
    /// The packet that raised it (`None` when the frame did not decode).
    pub packet: Option<&'a Packet<'a>>,
    pub flow: Option<&'a Flow>,
    pub event: Event,
    pub cfg: &'a EveConfig,
}

/// The EVE `anomaly.event` name of `e`, as Suricata 7 writes it:
/// `decoder.ipv4.trunc_pkt`, `stream.reassembly_seq_gap`; application-layer
/// events are written without their protocol prefix, upper case
/// (`INVALID_RECORD_TYPE`), with the protocol in `app_proto`.
pub fn anomaly_event_name(e: Event) -> String {
    match e.kind() {
        EventKind::Decode => format!("decoder.{}", e.name()),
        EventKind::Stream => format!("stream.{}", e.name()),
        EventKind::AppLayer => {
            let n = e.name();
            n.split_once('.').map_or(n, |(_, x)| x).to_ascii_uppercase()
        }
    }
}

/// Decoder events Suricata raises before it has read the IP addresses:
/// its records carry no addresses, ports or protocol.
fn raised_before_addresses(e: Event) -> bool {
    matches!(
        e,
        Event::Ipv4TruncPkt
            | Event::Ipv6TruncPkt
            | Event::EthernetPktTooSmall
            | Event::VlanHeaderTooSmall
            | Event::SllPktTooSmall
    )
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
        for (bit, name) in [
            (TH_SYN, "syn"),
            (TH_FIN, "fin"),
            (TH_RST, "rst"),
            (TH_PUSH, "psh"),
            (TH_ACK, "ack"),
            (TH_URG, "urg"),
            (TH_ECE, "ecn"),
            (TH_CWR, "cwr"),
        ] {
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

/// Counters for the final `stats` record.
pub struct StatsInput<'a> {
    pub ts_ns: u64,
    pub uptime_secs: u64,
    pub decoder: &'a crate::decode::DecodeStats,
    pub flows: &'a crate::flow::FlowCounters,
    pub tcp: &'a crate::stats::TcpCounters,
    pub defrag: &'a crate::defrag::DefragStats,
    pub alerts: u64,
}

pub fn stats_record(s: &StatsInput<'_>) -> Vec<u8> {
    let d = s.decoder;
    let df = s.defrag;
    let mut v = Map::new();
    v.insert("timestamp".into(), Value::from(eve_ts(s.ts_ns)));
    v.insert("event_type".into(), Value::from("stats"));
    let avg = d.bytes.checked_div(d.packets).unwrap_or(0);
    let stats = json!({
        "uptime": s.uptime_secs,
        "decoder": {
            "pkts": d.packets,
            "bytes": d.bytes,
            "invalid": d.malformed,
            "ipv4": d.ipv4,
            "ipv6": d.ipv6,
            "ethernet": d.ethernet,
            "vlan": d.vlan,
            "tcp": d.tcp,
            "udp": d.udp,
            "icmpv4": d.icmpv4,
            "icmpv6": d.icmpv6,
            "vxlan": d.vxlan,
            "geneve": d.geneve,
            "too_many_layers": d.too_deep,
            "avg_pkt_size": avg,
            "event": {
                "ipv4": { "trunc_pkt": d.truncated, "frag_overlap": df.ipv4_overlap },
                "ipv6": { "frag_overlap": df.ipv6_overlap },
            },
        },
        "flow": {
            "total": s.flows.total,
            "tcp": s.flows.tcp,
            "udp": s.flows.udp,
            "icmpv4": s.flows.icmpv4,
            "icmpv6": s.flows.icmpv6,
            "memcap": s.flows.memcap,
        },
        "tcp": {
            "sessions": s.tcp.sessions,
            "syn": s.tcp.syn,
            "synack": s.tcp.synack,
            "rst": s.tcp.rst,
            "midstream_pickups": s.tcp.midstream_pickups,
            "reassembly_gap": s.tcp.stream.gaps,
            "overlap": s.tcp.stream.overlaps,
            "overlap_diff_data": s.tcp.stream.overlap_diff_data,
            "segment_memcap_drop": s.tcp.stream.memcap_drops,
            "stream_depth_reached": s.tcp.stream.depth_reached,
            "reassembly_memuse": s.tcp.reassembly_memuse_peak,
            "invalid_checksum": s.tcp.invalid_checksum,
        },
        "defrag": {
            "ipv4": {
                "fragments": df.ipv4_fragments,
                "reassembled": df.ipv4_reassembled,
                "timeouts": df.ipv4_timeouts,
            },
            "ipv6": {
                "fragments": df.ipv6_fragments,
                "reassembled": df.ipv6_reassembled,
                "timeouts": df.ipv6_timeouts,
            },
            "max_frags_reached": df.max_frags_reached,
            "max_trackers_reached": df.max_trackers_reached,
            "memuse": df.memuse_peak,
        },
        "detect": { "alert": s.alerts },
    });
    v.insert("stats".into(), stats);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anomaly_records_have_suricatas_names_and_tuple() {
        assert_eq!(anomaly_event_name(Event::Ipv4TruncPkt), "decoder.ipv4.trunc_pkt");
        assert_eq!(
            anomaly_event_name(Event::StreamSeqGap),
            "stream.reassembly_seq_gap"
        );
        let mut p = Packet::empty();
        p.src = "10.0.0.1".parse().unwrap();
        p.dst = "10.0.0.2".parse().unwrap();
        p.ip_proto = 6;
        p.sport = 1234;
        p.dport = 80;
        fn rec(event: Event, packet: Option<&Packet<'_>>) -> Value {
            let bytes = anomaly_record(&AnomalyInput {
                ts_ns: 1_768_471_200_000_000_000,
                pcap_cnt: 7,
                packet,
                flow: None,
                event,
                cfg: &EveConfig::default(),
            });
            serde_json::from_slice::<Value>(&bytes).unwrap()
        }
        let v = rec(Event::StreamOverlapDifferentData, Some(&p));
        assert_eq!(v["event_type"], "anomaly");
        assert_eq!(v["pcap_cnt"], 7);
        assert_eq!(
            (v["src_ip"].as_str(), v["src_port"].as_u64()),
            (Some("10.0.0.1"), Some(1234))
        );
        assert_eq!(v["proto"], "TCP");
        assert_eq!(
            v["anomaly"],
            json!({"type": "stream", "event": "stream.reassembly_overlap_different_data"})
        );
        // Raised before Suricata reads the addresses: none written.
        let v = rec(Event::Ipv4TruncPkt, Some(&p));
        assert!(v.get("src_ip").is_none() && v.get("proto").is_none());
        assert_eq!(v["pkt_src"], "wire/pcap");
        // An IPv6 fragment without its TCP header: IPv6-Frag, no ports.
        p.src = "2001:db8::1".parse().unwrap();
        p.is_fragment = true;
        p.sport = 0;
        let v = rec(Event::Ipv6FragOverlap, Some(&p));
        assert_eq!(v["proto"], "IPv6-Frag");
        assert!(v.get("src_port").is_none());
        // A frame that did not decode.
        let v = rec(Event::EthernetPktTooSmall, None);
        assert_eq!(v["anomaly"]["event"], "decoder.ethernet.pkt_too_small");
        assert!(v.get("src_ip").is_none());
    }

    #[test]
    fn ipv6_is_written_in_full_like_suricata() {
        let a: IpAddr = "2001:db8:beef::20".parse().unwrap();
        assert_eq!(ip_text(&a), "2001:0db8:beef:0000:0000:0000:0000:0020");
        let b: IpAddr = "10.0.1.5".parse().unwrap();
        assert_eq!(ip_text(&b), "10.0.1.5");
    }
}
