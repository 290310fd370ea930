//! EVE record builders with Suricata's field names and order, written
//! straight into each record's line (see [`JsonWriter`]).

use super::json::JsonWriter;
use super::DumpHeaders;
use crate::applayer::buffers::TxRef;
use crate::config::EveConfig;
use crate::decode::{Encap, Packet, TunnelLayer};
use crate::flow::{EndReason, Flow, TH_ACK, TH_CWR, TH_ECE, TH_FIN, TH_PUSH, TH_RST, TH_SYN, TH_URG};
use crate::time::eve_ts;
use serde_json::{json, Map, Value};
use std::net::IpAddr;
use tapwatch_rules::{Event, EventKind, RuleMeta};

fn finish(v: Map<String, Value>) -> Vec<u8> {
    let mut out = serde_json::to_vec(&Value::Object(v)).unwrap_or_default();
    out.push(b'\n');
    out
}

/// `proto` as Suricata writes it: a name, else the number as a string.
pub fn write_proto(w: &mut JsonWriter, p: u8) {
    match p {
        6 => w.str("TCP"),
        17 => w.str("UDP"),
        1 => w.str("ICMP"),
        58 => w.str("IPv6-ICMP"),
        132 => w.str("SCTP"),
        n => w.u64_str(n.into()),
    };
}

/// `src_ip`, `src_port`, `dest_ip`, `dest_port` (ports only when `ports`).
pub(super) fn write_tuple(w: &mut JsonWriter, src: Endpoint<'_>, dst: Endpoint<'_>, ports: bool) {
    w.key("src_ip").ip(src.0);
    if ports {
        w.key("src_port").u64(src.1.into());
    }
    w.key("dest_ip").ip(dst.0);
    if ports {
        w.key("dest_port").u64(dst.1.into());
    }
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

/// Suricata's `tunnel` object: the outermost tunnel layer.
fn tunnel_obj(w: &mut JsonWriter, p: &Packet<'_>, pcap_cnt: u64) {
    let Some(outer) = p.tunnels.iter().flatten().next() else {
        return;
    };
    w.key("tunnel").begin_object();
    w.key("src_ip").ip(&outer.outer_src);
    w.key("dest_ip").ip(&outer.outer_dst);
    w.key("src_port").u64(outer.outer_sport.into());
    w.key("dest_port").u64(outer.outer_dport.into());
    w.key("proto").str("UDP");
    w.key("depth").u64(p.tunnel_count as u64);
    w.key("pcap_cnt").u64(pcap_cnt);
    w.key("pkt_src").str("wire/pcap");
    w.end_object();
}

/// Our extension: which mirror session delivered the packet.
fn mirror_obj(w: &mut JsonWriter, p: &Packet<'_>, cfg: &EveConfig) {
    // The VXLAN layer is the mirror session's; GENEVE is the GWLB's.
    let mut mirror_layer = None;
    for t in p.tunnels.iter().flatten() {
        if t.encap == Encap::Vxlan || mirror_layer.is_none() {
            mirror_layer = Some(t);
        }
    }
    let Some(t) = mirror_layer else {
        return;
    };
    let encap = p.tunnels.iter().flatten().map(|l| l.encap.as_str().as_bytes());
    mirror_value(w, t, |w| w.bytes_joined(encap, "+"), p.truncated, cfg);
}

/// `"mirror":{...}` for the mirror session's tunnel layer `t`; `encap`
/// writes the `encap` value.
fn mirror_value(
    w: &mut JsonWriter,
    t: &TunnelLayer,
    encap: impl FnOnce(&mut JsonWriter) -> &mut JsonWriter,
    truncated: bool,
    cfg: &EveConfig,
) {
    w.key("mirror").begin_object();
    w.key("vni").u64(t.vni.into());
    if let Some(name) = cfg.sessions.get(&t.vni) {
        w.key("session").str(name);
    }
    w.key("source_ip").ip(&t.outer_src);
    w.key("encap");
    encap(w);
    w.key("truncated").bool(truncated);
    w.end_object();
}

/// Packet and byte counts and the start time, as `flow` objects begin.
fn flow_counters(w: &mut JsonWriter, f: &Flow) {
    w.key("pkts_toserver").u64(f.pkts_ts);
    w.key("pkts_toclient").u64(f.pkts_tc);
    w.key("bytes_toserver").u64(f.bytes_ts);
    w.key("bytes_toclient").u64(f.bytes_tc);
    w.key("start").ts(f.start_ns);
}

fn flow_summary(w: &mut JsonWriter, f: &Flow) {
    w.key("flow").begin_object();
    flow_counters(w, f);
    w.key("src_ip").ip(&f.client_ip);
    w.key("dest_ip").ip(&f.server_ip);
    w.key("src_port").u64(f.client_port.into());
    w.key("dest_port").u64(f.server_port.into());
    w.end_object();
}

/// `"metadata":{"key":["value",..],..}`: values of a repeated key
/// together, keys in order of first appearance.
fn metadata_obj(w: &mut JsonWriter, rule: &RuleMeta) {
    let m = &rule.metadata;
    if m.is_empty() {
        return;
    }
    w.key("metadata").begin_object();
    for (i, (k, _)) in m.iter().enumerate() {
        if m.iter().take(i).any(|(e, _)| e == k) {
            continue;
        }
        w.key(k).begin_array();
        for (_, v) in m.iter().skip(i).filter(|(e, _)| e == k) {
            w.str(v);
        }
        w.end_array();
    }
    w.end_object();
}

fn printable(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' || b == b'\n' || b == b'\r' || b == b'\t' {
                b
            } else {
                b'.'
            }
        })
        .collect()
}

/// Bytes of an alert record besides its variable parts.
const ALERT_RECORD_BASE: usize = 1024;

/// Base64 text length of `n` bytes.
fn b64_len(n: usize) -> usize {
    n.div_ceil(3).saturating_mul(4)
}

/// An address and port.
pub(super) type Endpoint<'a> = (&'a IpAddr, u16);

/// An alert's source and destination. A transaction's request side can
/// complete on a server packet (and the response side on a client
/// packet): the tuple follows the side the rule matched, as Suricata's
/// does.
pub(super) fn alert_tuple<'a>(a: &AlertInput<'a>) -> (Endpoint<'a>, Endpoint<'a>) {
    let p = a.packet;
    let from_client = a
        .flow
        .is_none_or(|f| p.src == f.client_ip && p.sport == f.client_port);
    if a.flow.is_some() && from_client != a.to_server {
        ((&p.dst, p.dport), (&p.src, p.sport))
    } else {
        ((&p.src, p.sport), (&p.dst, p.dport))
    }
}

/// The transaction whose app-layer object the alert carries.
pub(super) fn alert_app_tx<'a>(a: &AlertInput<'a>) -> Option<TxRef<'a>> {
    // Packet rules on UDP carry no transaction in Suricata's alerts; rules
    // on a transaction's buffers carry that transaction.
    let on_tx = a.flow.is_some_and(|f| f.app.alert_tx.is_some());
    a.flow
        .and_then(|f| f.app.current_tx())
        .filter(|t| on_tx || !matches!(t, TxRef::Dns(_)))
}

pub(super) fn alert_hint(a: &AlertInput<'_>, app: Option<TxRef<'_>>) -> usize {
    let r = a.rule;
    let mut n = ALERT_RECORD_BASE + r.msg.len() + r.category.as_ref().map_or(0, String::len);
    if a.cfg.metadata {
        n += r
            .metadata
            .iter()
            .map(|(k, v)| k.len() + v.len() + 8)
            .sum::<usize>();
    }
    if let Some(tx) = app {
        n += super::applayer::app_object_hint(tx, DumpHeaders::None);
    }
    if a.cfg.payload {
        n += b64_len(a.packet.payload.len());
    }
    if a.cfg.payload_printable {
        // Control characters other than \t\r\n are written as '.'.
        n += a.packet.payload.len() + a.packet.payload.len() / 8;
    }
    if a.cfg.packet {
        n += b64_len(a.frame.len());
    }
    n
}

pub fn alert_record(a: &AlertInput<'_>) -> Vec<u8> {
    alert_record_into(Vec::new(), a)
}

/// [`alert_record`], appended to `out`.
pub fn alert_record_into(out: Vec<u8>, a: &AlertInput<'_>) -> Vec<u8> {
    let p = a.packet;
    let app_tx = alert_app_tx(a);
    let mut w = JsonWriter::append_to(out, alert_hint(a, app_tx));
    w.begin_object();
    w.key("timestamp").ts(a.ts_ns);
    if let Some(f) = a.flow {
        w.key("flow_id").u64(f.flow_id);
    }
    // 0: no packet (data inspected when its flow ended), as Suricata's
    // pseudo packets, which have no pcap_cnt.
    if a.pcap_cnt > 0 {
        w.key("pcap_cnt").u64(a.pcap_cnt);
    }
    w.key("event_type").str("alert");
    let (src, dst) = alert_tuple(a);
    let ports = p.tcp.is_some() || p.ip_proto == 17;
    write_tuple(&mut w, src, dst, ports);
    w.key("proto");
    write_proto(&mut w, p.ip_proto);
    if let Some(icmp) = p.icmp {
        w.key("icmp_type").u64(icmp.itype.into());
        w.key("icmp_code").u64(icmp.icode.into());
    }
    w.key("pkt_src").str(pkt_src(p));
    tunnel_obj(&mut w, p, a.pcap_cnt);
    mirror_obj(&mut w, p, a.cfg);
    if let Some(tx) = app_tx.and_then(super::applayer::tx_index) {
        w.key("tx_id").u64(tx);
        w.key("tx_guessed").bool(true);
    }
    let r = a.rule;
    w.key("alert").begin_object();
    w.key("action").str("allowed");
    w.key("gid").u64(r.gid.into());
    w.key("signature_id").u64(r.sid.into());
    w.key("rev").u64(r.rev.into());
    w.key("signature").str(&r.msg);
    w.key("category").str(r.category.as_deref().unwrap_or_default());
    w.key("severity").u64(r.priority.into());
    if a.cfg.metadata {
        metadata_obj(&mut w, r);
    }
    w.end_object();
    if let Some(tx) = app_tx {
        super::applayer::write_app_object(&mut w, tx, DumpHeaders::None);
    }
    if let Some(f) = a.flow {
        write_app_proto(&mut w, &f.app);
        w.key("direction")
            .str(if a.to_server { "to_server" } else { "to_client" });
        flow_summary(&mut w, f);
    }
    if a.cfg.payload {
        w.key("payload").base64(p.payload);
    }
    if a.cfg.payload_printable {
        w.key("payload_printable").bytes(&printable(p.payload));
    }
    if a.cfg.packet {
        w.key("packet").base64(a.frame);
    }
    w.end_object();
    w.into_line()
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
pub(super) fn raised_before_addresses(e: Event) -> bool {
    matches!(
        e,
        Event::Ipv4TruncPkt
            | Event::Ipv6TruncPkt
            | Event::EthernetPktTooSmall
            | Event::VlanHeaderTooSmall
            | Event::SllPktTooSmall
    )
}

/// Bytes of an anomaly record.
pub(super) const ANOMALY_RECORD_SIZE: usize = 768;

/// An `anomaly` record (Suricata's `event_type: anomaly`).
pub fn anomaly_record(a: &AnomalyInput<'_>) -> Vec<u8> {
    anomaly_record_into(Vec::new(), a)
}

/// [`anomaly_record`], appended to `out`.
pub fn anomaly_record_into(out: Vec<u8>, a: &AnomalyInput<'_>) -> Vec<u8> {
    let mut w = JsonWriter::append_to(out, ANOMALY_RECORD_SIZE);
    w.begin_object();
    w.key("timestamp").ts(a.ts_ns);
    if let Some(f) = a.flow {
        w.key("flow_id").u64(f.flow_id);
    }
    w.key("pcap_cnt").u64(a.pcap_cnt);
    w.key("event_type").str("anomaly");
    let tuple = a.packet.filter(|_| !raised_before_addresses(a.event));
    if let Some(p) = tuple {
        // An IPv6 fragment without its L4 header is protocol 44 to
        // Suricata, without ports; an IPv4 one keeps its protocol, ports 0.
        let v6_frag = p.is_fragment && p.src.is_ipv6() && p.tcp.is_none() && p.sport == 0;
        let ports = (p.ip_proto == 6 || p.ip_proto == 17) && !v6_frag;
        write_tuple(&mut w, (&p.src, p.sport), (&p.dst, p.dport), ports);
        w.key("proto");
        if v6_frag {
            w.str("IPv6-Frag");
        } else {
            write_proto(&mut w, p.ip_proto);
        }
    }
    w.key("pkt_src").str(a.packet.map_or("wire/pcap", pkt_src));
    if let Some(p) = a.packet {
        tunnel_obj(&mut w, p, a.pcap_cnt);
        mirror_obj(&mut w, p, a.cfg);
    }
    let kind = a.event.kind();
    w.key("anomaly").begin_object();
    if kind == EventKind::AppLayer {
        if let Some(ap) = a.flow.and_then(|f| f.app.proto.as_str()) {
            w.key("app_proto").str(ap);
        }
    }
    w.key("type").str(kind.as_str());
    w.key("event");
    match kind {
        EventKind::Decode => w.str_concat(&["decoder.", a.event.name()]),
        EventKind::Stream => w.str_concat(&["stream.", a.event.name()]),
        EventKind::AppLayer => w.str(&anomaly_event_name(a.event)),
    };
    if kind == EventKind::AppLayer {
        w.key("layer").str("proto_parser");
    }
    w.end_object();
    w.end_object();
    w.into_line()
}

/// TCP flags written as `true` when seen, in order.
pub(super) const TCP_FLAGS: [(u8, &str); 8] = [
    (TH_SYN, "syn"),
    (TH_FIN, "fin"),
    (TH_RST, "rst"),
    (TH_PUSH, "psh"),
    (TH_ACK, "ack"),
    (TH_URG, "urg"),
    (TH_ECE, "ecn"),
    (TH_CWR, "cwr"),
];

/// Bytes of a flow record (IPv6 addresses included).
pub(super) const FLOW_RECORD_SIZE: usize = 896;

pub fn flow_record(f: &Flow, reason: EndReason, cfg: &EveConfig) -> Vec<u8> {
    flow_record_into(Vec::new(), f, reason, cfg)
}

/// [`flow_record`], appended to `out`.
pub fn flow_record_into(out: Vec<u8>, f: &Flow, reason: EndReason, cfg: &EveConfig) -> Vec<u8> {
    let mut w = JsonWriter::append_to(out, FLOW_RECORD_SIZE);
    w.begin_object();
    w.key("timestamp").ts(f.last_ns);
    w.key("flow_id").u64(f.flow_id);
    w.key("event_type").str("flow");
    let ports = f.proto == 6 || f.proto == 17;
    write_tuple(
        &mut w,
        (&f.client_ip, f.client_port),
        (&f.server_ip, f.server_port),
        ports,
    );
    w.key("proto");
    write_proto(&mut w, f.proto);
    write_app_proto(&mut w, &f.app);
    if let Some(t) = &f.tunnel {
        mirror_value(&mut w, t, |w| w.str(t.encap.as_str()), f.truncated, cfg);
    }
    let age = f.last_ns.saturating_sub(f.start_ns) / 1_000_000_000;
    w.key("flow").begin_object();
    flow_counters(&mut w, f);
    w.key("end").ts(f.last_ns);
    w.key("age").u64(age);
    w.key("state").str(f.state().as_str());
    w.key("reason").str(reason.as_str());
    w.key("alerted").bool(f.alerted);
    w.end_object();
    if f.proto == 6 {
        let all = f.flags_ts | f.flags_tc;
        w.key("tcp").begin_object();
        w.key("tcp_flags").hex_str(all.into(), 2);
        w.key("tcp_flags_ts").hex_str(f.flags_ts.into(), 2);
        w.key("tcp_flags_tc").hex_str(f.flags_tc.into(), 2);
        for (bit, name) in TCP_FLAGS {
            if all & bit != 0 {
                w.key(name).bool(true);
            }
        }
        w.key("state").str(f.tcp_state.as_str());
        if f.stream[0].gaps > 0 {
            w.key("ts_gap").bool(true);
        }
        if f.stream[1].gaps > 0 {
            w.key("tc_gap").bool(true);
        }
        w.end_object();
    }
    w.end_object();
    w.into_line()
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
fn write_app_proto(w: &mut JsonWriter, app: &crate::applayer::AppLayer) {
    if let Some(ap) = app.proto.as_str() {
        w.key("app_proto").str(ap);
        if let Some(orig) = app.orig_proto.and_then(|o| o.as_str()).filter(|o| *o != ap) {
            w.key("app_proto_orig").str(orig);
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
        let ip = |s: &str| {
            let mut w = JsonWriter::append_to(Vec::new(), 0);
            w.ip(&s.parse().unwrap());
            String::from_utf8(w.into_bytes()).unwrap()
        };
        assert_eq!(
            ip("2001:db8:beef::20"),
            "\"2001:0db8:beef:0000:0000:0000:0000:0020\""
        );
        assert_eq!(ip("10.0.1.5"), "\"10.0.1.5\"");
    }
}
