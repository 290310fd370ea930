//! Detection glue: one worker's per-packet path from a decoded packet
//! through its flow and stream state to the rule engine and EVE alerts.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::applayer::Direction as AppDir;
use crate::config::{EncryptionHandling, EngineConfig, StreamConfig};
use crate::decode::{decode, LinkType, Packet};
use crate::flow::{EndReason, Flow, FlowTable, TH_ACK, TH_FIN, TH_RST, TH_SYN};
use crate::output::{alert_record_into, flow_record_into, AlertInput};
use crate::stats::WorkerStats;
use crate::stream::{Chunk, Segment, StreamCtx, StreamMem};
use crossbeam_channel::Sender;
use std::sync::Arc;
use tapwatch_rules::{PacketCtx, PacketFields, RuleSet, Scratch, ThresholdState, XbitState};

mod live;

mod app;

mod ended;
mod events;
pub use events::defrag_events;

#[cfg(test)]
mod diff_tests;

/// One frame as the worker receives it.
#[derive(Clone, Copy, Debug)]
pub struct FrameInfo {
    pub ts_ns: u64,
    pub pcap_cnt: u64,
    pub link: LinkType,
    pub orig_len: u32,
    /// Decoder events the reader raised for this frame (defragmentation).
    pub events: tapwatch_rules::EventSet,
}

/// A worker's state: its flow table shard and detection scratch space.
pub struct Worker {
    cfg: Arc<EngineConfig>,
    rules: Arc<RuleSet>,
    scratch: Scratch,
    thresholds: ThresholdState,
    /// xbits on hosts and host pairs (bounded; see [`XbitState`]).
    xbits: XbitState,
    hits: Vec<u32>,
    /// Hits of one stream run, merged into `hits`.
    run_hits: Vec<u32>,
    flows: FlowTable,
    /// Reassembly memory, shared by all workers.
    mem: Arc<StreamMem>,
    /// The reader feeding this worker reassembles IP fragments (and sends
    /// the whole datagram), so fragments themselves are only counted.
    reader_defrags: bool,
    out: Sender<Vec<u8>>,
    pub stats: WorkerStats,
    /// Set when the EVE writer is gone; records are then counted, not sent.
    pub output_lost: u64,
    /// Transaction buffers for the rules (see `detect/app.rs`).
    tx_bufs: app::TxBufs,
    /// Reassembly settings in use (see [`stream_config`]).
    stream: StreamConfig,
    /// Records gathered into one block per batch of frames (see
    /// [`Worker::batch_output`]), and how many records it holds.
    out_block: Vec<u8>,
    out_block_records: u64,
    batch_output: bool,
}

/// The configured reassembly settings, except that no inspected data is
/// kept in front of new data when there are no rules to read it: in-order
/// segments then reach the app layer straight from the packet.
fn stream_config(cfg: &EngineConfig, rules: &RuleSet) -> StreamConfig {
    let mut s = cfg.stream.clone();
    if rules.is_empty() {
        s.window = 0;
    }
    s
}

/// A record block is handed to the writer once it holds this many bytes.
const OUT_BLOCK: usize = 64 << 10;

impl Worker {
    /// A worker with its own reassembly memcap.
    pub fn new(cfg: Arc<EngineConfig>, rules: Arc<RuleSet>, out: Sender<Vec<u8>>) -> Worker {
        let mem = StreamMem::new(cfg.stream.memcap);
        Worker::with_mem(cfg, rules, out, mem)
    }

    /// A worker sharing the reassembly memcap `mem` with others.
    pub fn with_mem(
        cfg: Arc<EngineConfig>,
        rules: Arc<RuleSet>,
        out: Sender<Vec<u8>>,
        mem: Arc<StreamMem>,
    ) -> Worker {
        let per_worker = (cfg.flow.max_flows / cfg.workers.max(1)).max(1);
        let flows = FlowTable::new(&cfg.flow, per_worker);
        let mut w = Worker {
            // Everything derived from the rules is set by `set_rules`.
            scratch: Scratch::default(),
            tx_bufs: app::TxBufs::default(),
            stream: cfg.stream.clone(),
            out_block: Vec::new(),
            out_block_records: 0,
            batch_output: false,
            thresholds: ThresholdState::new(),
            xbits: XbitState::default(),
            hits: Vec::with_capacity(64),
            run_hits: Vec::with_capacity(64),
            flows,
            mem,
            reader_defrags: false,
            rules: rules.clone(),
            cfg,
            out,
            stats: WorkerStats::default(),
            output_lost: 0,
        };
        w.set_rules(rules);
        w
    }

    /// Tell the worker its reader reassembles IP fragments.
    pub fn set_reader_defrags(&mut self, on: bool) {
        self.reader_defrags = on;
    }

    /// Hand records to the writer in blocks of lines, one per batch of
    /// frames (or [`OUT_BLOCK`] bytes), instead of one message per record:
    /// the writer thread then wakes once per block. The caller must call
    /// [`Worker::flush_output`] after each batch; [`Worker::finish`] does.
    pub fn batch_output(&mut self, on: bool) {
        self.flush_output();
        self.batch_output = on;
    }

    /// Hand the records gathered so far to the writer.
    pub fn flush_output(&mut self) {
        if self.out_block.is_empty() {
            return;
        }
        let block = std::mem::take(&mut self.out_block);
        let n = std::mem::take(&mut self.out_block_records);
        if self.out.send(block).is_err() {
            self.output_lost += n;
        }
    }

    /// The buffer the next record is written into (its builder appends):
    /// the output block when records are batched, else a new buffer.
    /// Hand it back with [`Worker::put_record`].
    fn record_buf(&mut self) -> Vec<u8> {
        if !self.batch_output {
            return Vec::new();
        }
        let mut block = std::mem::take(&mut self.out_block);
        if block.capacity() == 0 {
            block.reserve(OUT_BLOCK + (OUT_BLOCK >> 2));
        }
        block
    }

    /// Take back the buffer of [`Worker::record_buf`] with one more record.
    fn put_record(&mut self, buf: Vec<u8>) {
        self.stats.records += 1;
        if self.batch_output {
            self.out_block = buf;
            self.out_block_records += 1;
            if self.out_block.len() >= OUT_BLOCK {
                self.flush_output();
            }
        } else if self.out.send(buf).is_err() {
            self.output_lost += 1;
        }
    }

    fn log_flow(&mut self, mut f: Flow, reason: EndReason) {
        self.inspect_held(&mut f);
        self.app_flow_end(&mut f); // app layer hook
        if self.cfg.eve.flow {
            let buf = self.record_buf();
            let rec = flow_record_into(buf, &f, reason, &self.cfg.eve);
            self.put_record(rec);
        }
    }

    /// Process one frame.
    pub fn process(&mut self, info: &FrameInfo, frame: &[u8]) {
        let p = match decode(info.link, frame, &self.cfg.decode, &mut self.stats.decode) {
            Ok(p) => p,
            Err(e) => {
                self.undecodable(info, frame, &e);
                return;
            }
        };
        let decode_events = events::packet_events(&p);
        if !decode_events.is_empty() {
            self.log_anomalies(info, Some(&p), None, decode_events);
        }
        if p.checksum_bad {
            if p.tcp.is_some() {
                self.stats.tcp.invalid_checksum += 1;
            }
            return;
        }
        if p.is_fragment && self.reader_defrags {
            // The reader reassembles fragments and sends the whole datagram;
            // a fragment only meets the rules on the events it raised.
            if !info.events.is_empty() {
                self.log_anomalies(info, Some(&p), None, info.events);
                self.inspect_without_flow(info, frame, &p, decode_events.union(info.events));
            }
            return;
        }
        let ts = info.ts_ns;
        self.xbits.set_now(ts / 1_000_000_000);
        // End idle flows on packet time.
        self.sweep(ts);

        let idx = if p.is_fragment && p.tcp.is_none() && p.sport == 0 && p.dport == 0 && p.ip_proto != 1 {
            None
        } else {
            self.flows.lookup(&p, ts)
        };
        if let Some((f, r)) = self.flows.ended.take() {
            self.log_flow(f, r);
        }
        let Some(idx) = idx else {
            self.stats.no_flow += 1;
            self.inspect_without_flow(info, frame, &p, decode_events);
            return;
        };

        let to_server = self.flows.get(idx).is_to_server(&p);
        let scfg = &self.stream;
        let flow = self.flows.get_mut(idx);
        // Bytes as Suricata counts them: the captured frame, or for a
        // tunnelled packet the inner IP packet.
        let wire_len = if p.tunnel_count > 0 {
            p.ip_len as u64
        } else {
            frame.len() as u64
        };
        flow.update(&p, to_server, ts, wire_len);
        flow.pickup(&p, to_server, scfg.midstream, scfg.async_oneside);
        let established = flow.is_established();
        // Flowbits leave the flow while the rules read and update them.
        let mut vars = std::mem::take(&mut flow.vars);
        // The app layer too, fed from the stream chunks (detect/app.rs).
        let mut app = std::mem::take(&mut flow.app);
        app.set_now(ts, info.pcap_cnt);
        app.set_bodies(self.tx_bufs.bodies);
        let app_dir = if to_server {
            AppDir::ToServer
        } else {
            AppDir::ToClient
        };
        let server_port = flow.server_port;

        // With no rules, packets only feed the flow and app-layer state.
        let rules_on = !self.rules.is_empty();
        // TCP: follow the stream of this direction.
        let mut stream = false;
        let mut stream_events = tapwatch_rules::EventSet::EMPTY;
        self.hits.clear();
        if let Some(tcp) = p.tcp {
            // Stream 0 is the client-to-server direction; `mine` is this packet's, `peer` the other.
            let [s0, s1] = &mut flow.stream;
            let (mine, peer) = if to_server { (s0, s1) } else { (s1, s0) };
            let f = tcp.flags;
            if f & TH_RST != 0 {
                self.stats.tcp.rst += 1;
            }
            if f & TH_SYN != 0 {
                if f & TH_ACK != 0 {
                    self.stats.tcp.synack += 1;
                } else {
                    self.stats.tcp.syn += 1;
                    if !mine.tracking {
                        self.stats.tcp.sessions += 1;
                    }
                }
                mine.on_syn(tcp.seq);
            } else if !mine.tracking && scfg.midstream && !p.payload.is_empty() {
                mine.pickup(tcp.seq);
                self.stats.tcp.midstream_pickups += 1;
            }
            if f & TH_ACK != 0 {
                peer.on_peer_ack(tcp.ack, ts);
            }
            if mine.tracking && f & TH_SYN == 0 {
                stream = true;
                let seg = Segment {
                    seq: tcp.seq,
                    data: p.payload,
                    missing: p.payload_missing,
                    fin: f & TH_FIN != 0,
                    rst: f & TH_RST != 0,
                };
                let mut sctx = StreamCtx {
                    cfg: scfg,
                    mem: &self.mem,
                    now_ns: ts,
                    counters: &mut self.stats.tcp.stream,
                };
                let (rules, scratch, hits, run_hits, xbits) = (
                    &self.rules,
                    &mut self.scratch,
                    &mut self.hits,
                    &mut self.run_hits,
                    &mut self.xbits,
                );
                let mut inspected = false;
                let encryption = self.cfg.tls_encryption;
                mine.on_segment(&seg, &mut sctx, &mut |c| match c {
                    Chunk::Data { window, new_from } => {
                        // Past a TLS handshake the bytes are ciphertext:
                        // Suricata's `encryption-handling` decides whether
                        // raw payload rules (default: no; rules without
                        // content still see the packet below) or even the
                        // TLS parser (bypass) still look at them.
                        let encrypted = encryption != EncryptionHandling::Full && app.is_encrypted();
                        inspected |= !encrypted;
                        if encrypted && encryption == EncryptionHandling::Bypass {
                            return;
                        }
                        let new = window.get(new_from..).unwrap_or_default();
                        app.on_stream(app_dir, new, false, false, server_port); // app layer hook
                        if encrypted || !rules_on {
                            return;
                        }
                        let mut ctx = packet_ctx(&p, true, to_server, established, window, new_from, true);
                        ctx.app_proto = app.proto.as_str();
                        ctx.fields.events = decode_events;
                        rules.match_packet_state(&ctx, scratch, run_hits, Some(&mut vars), Some(&mut *xbits));
                        hits.extend_from_slice(run_hits);
                    }
                    Chunk::Gap(_) => app.on_stream(app_dir, &[], true, false, server_port), // app layer hook
                });
                stream_events = mine.take_events();
                if rules_on && (!inspected || !stream_events.is_empty()) {
                    // Nothing new in order: header-only rules still see the
                    // packet; so do rules on the stream events it raised.
                    let mut ctx = packet_ctx(&p, true, to_server, established, &[], 0, true);
                    ctx.app_proto = app.proto.as_str();
                    ctx.fields.events = decode_events.union(stream_events);
                    rules.match_packet_state(&ctx, scratch, run_hits, Some(&mut vars), Some(&mut *xbits));
                    hits.extend_from_slice(run_hits);
                }
                hits.sort_unstable();
                hits.dedup();
            }
        }
        if !stream {
            if p.ip_proto == 17 && !p.payload.is_empty() {
                app.on_datagram(app_dir, p.payload, server_port); // app layer hook
            }
            if rules_on {
                let mut ctx = packet_ctx(&p, true, to_server, established, p.payload, 0, false);
                ctx.app_proto = app.proto.as_str();
                ctx.fields.events = decode_events;
                self.rules.match_packet_state(
                    &ctx,
                    &mut self.scratch,
                    &mut self.hits,
                    Some(&mut vars),
                    Some(&mut self.xbits),
                );
            }
        }
        if !self.hits.is_empty() {
            let ctx = packet_ctx(&p, true, to_server, established, &[], 0, stream);
            self.thresholds
                .filter(&self.rules, &ctx, ts / 1_000_000_000, &mut self.hits);
        }
        self.flows.get_mut(idx).vars = vars;
        self.flows.get_mut(idx).app = app;
        if !self.hits.is_empty() {
            self.flows.get_mut(idx).alerted = true;
            self.raise_alerts(info, frame, &p, Some(idx), to_server);
        }
        if !stream_events.is_empty() {
            self.log_anomalies(info, Some(&p), Some(idx), stream_events);
        }
        self.app_detect(idx, info, frame, &p); // app layer hook
        self.app_log(idx); // app layer hook
    }

    fn inspect_without_flow(
        &mut self,
        info: &FrameInfo,
        frame: &[u8],
        p: &Packet<'_>,
        events: tapwatch_rules::EventSet,
    ) {
        let mut ctx = packet_ctx(p, false, true, false, p.payload, 0, false);
        ctx.fields.events = events;
        self.hits.clear();
        self.rules.match_packet_state(
            &ctx,
            &mut self.scratch,
            &mut self.hits,
            None,
            Some(&mut self.xbits),
        );
        self.thresholds
            .filter(&self.rules, &ctx, info.ts_ns / 1_000_000_000, &mut self.hits);
        self.raise_alerts(info, frame, p, None, true);
    }

    /// Count and log an alert for every rule in `self.hits`.
    fn raise_alerts(
        &mut self,
        info: &FrameInfo,
        frame: &[u8],
        p: &Packet<'_>,
        flow: Option<u32>,
        to_server: bool,
    ) {
        let flow = flow.map_or(AlertFlow::None, AlertFlow::Table);
        self.log_hits(info, frame, p, flow, to_server);
    }

    /// Count and log an alert for every rule in `self.hits`, with `flow`.
    fn log_hits(
        &mut self,
        info: &FrameInfo,
        frame: &[u8],
        p: &Packet<'_>,
        flow: AlertFlow<'_>,
        to_server: bool,
    ) {
        let hits = std::mem::take(&mut self.hits);
        for &h in &hits {
            self.stats.alerts += 1;
            if let Some(c) = self.stats.alerts_by_rule.get_mut(h as usize) {
                *c += 1;
            }
            if self.cfg.eve.alert {
                let buf = self.record_buf();
                let flow = match flow {
                    AlertFlow::None => None,
                    AlertFlow::Table(i) => Some(self.flows.get(i)),
                    AlertFlow::Ended(f) => Some(f),
                };
                let rec = alert_record_into(
                    buf,
                    &AlertInput {
                        ts_ns: info.ts_ns,
                        pcap_cnt: info.pcap_cnt,
                        packet: p,
                        frame,
                        flow,
                        to_server,
                        rule: self.rules.meta(h),
                        cfg: &self.cfg.eve,
                    },
                );
                self.put_record(rec);
            }
        }
        self.hits = hits;
    }

    /// End of input: log every remaining flow and hand back the counters.
    pub fn finish(mut self) -> (WorkerStats, u64) {
        let mut ended = Vec::new();
        self.flows.drain(&mut ended);
        for (f, r) in ended {
            self.log_flow(f, r);
        }
        self.flush_output();
        self.stats.flows = self.flows.counters.clone();
        (self.stats, self.output_lost)
    }
}

/// The flow an alert belongs to.
#[derive(Clone, Copy)]
enum AlertFlow<'a> {
    None,
    /// A flow in the table.
    Table(u32),
    /// A flow that has left the table (inspected as it ends).
    Ended(&'a Flow),
}

/// What the rule engine sees of a packet.
fn packet_ctx<'a>(
    p: &'a Packet<'a>,
    has_flow: bool,
    to_server: bool,
    established: bool,
    buffer: &'a [u8],
    new_from: usize,
    is_stream: bool,
) -> PacketCtx<'a> {
    PacketCtx {
        ip_proto: p.ip_proto,
        src_ip: p.src,
        dst_ip: p.dst,
        src_port: p.sport,
        dst_port: p.dport,
        ttl: p.ttl,
        tcp_flags: p.tcp.map(|t| t.flags),
        icmp_type_code: p.icmp.map(|i| (i.itype, i.icode)),
        dsize: p.payload.len(),
        has_flow,
        to_server,
        established,
        app_proto: None,
        buffer,
        new_from,
        is_stream,
        app_buffers: &[],
        fields: PacketFields {
            ip_id: Some(p.ip_id).filter(|_| p.src.is_ipv4() || p.is_fragment),
            tcp_seq: p.tcp.map(|t| t.seq),
            tcp_ack: p.tcp.map(|t| t.ack),
            tcp_window: p.tcp.map(|t| t.window),
            icmp_id: p.icmp.and_then(|i| i.id),
            icmp_seq: p.icmp.and_then(|i| i.seq),
            ..PacketFields::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FlowConfig, StreamConfig};

    /// A raw IPv4/TCP packet (checksums not filled: not validated here).
    fn tcp(src: [u8; 4], sport: u16, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; 40];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&((40 + payload.len()) as u16).to_be_bytes());
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&src);
        p[16..20].copy_from_slice(&[10, 2, 0, 9]);
        p[20..22].copy_from_slice(&sport.to_be_bytes());
        p[22..24].copy_from_slice(&80u16.to_be_bytes());
        p[24..28].copy_from_slice(&seq.to_be_bytes());
        p[32] = 5 << 4;
        p[33] = flags;
        p[34..36].copy_from_slice(&1000u16.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    /// 200k half-open connections, each with an out-of-order segment: the
    /// engine's own accounting stays under the memcaps and the drops are
    /// counted.
    #[test]
    fn flood_of_half_open_connections_stays_bounded() {
        let rules = tapwatch_rules::RuleSetBuilder::new(
            tapwatch_rules::Vars::default(),
            tapwatch_rules::Classifications::bundled(),
        );
        let (rules, _) = rules.build();
        let cap = 256 << 10;
        let cfg = EngineConfig {
            workers: 1,
            flow: FlowConfig {
                max_flows: 50_000,
                ..FlowConfig::default()
            },
            stream: StreamConfig {
                memcap: cap,
                ..StreamConfig::default()
            },
            eve: crate::config::EveConfig {
                flow: false,
                ..Default::default()
            },
            ..EngineConfig::default()
        };
        let (tx, rx) = crossbeam_channel::bounded(1);
        drop(rx);
        let mem = StreamMem::new(cap);
        let mut w = Worker::with_mem(Arc::new(cfg), Arc::new(rules), tx, mem.clone());
        let body = vec![b'x'; 200];
        for i in 0..200_000u32 {
            let src = [10, 1, (i >> 16) as u8, (i >> 8) as u8];
            let sport = 1024 + (i & 0xff) as u16;
            let info = FrameInfo {
                // 2 ms apart: half-open flows time out after 60 s, so
                // about 30k are live at once.
                ts_ns: 1_000_000_000 + u64::from(i) * 2_000_000,
                pcap_cnt: u64::from(i),
                link: LinkType::Raw,
                orig_len: 40,
                events: tapwatch_rules::EventSet::EMPTY,
            };
            w.process(&info, &tcp(src, sport, 1000, TH_SYN, &[]));
            // A segment 200 bytes ahead of the next expected byte.
            w.process(&info, &tcp(src, sport, 1201, TH_ACK, &body));
            assert!(mem.used() <= cap);
        }
        assert!(mem.peak() <= cap && mem.peak() > cap / 2, "peak {}", mem.peak());
        assert!(
            w.stats.tcp.stream.memcap_drops > 100_000,
            "{:?}",
            w.stats.tcp.stream
        );
        assert!(w.flows.counters.timed_out > 100_000);
        assert!(w.flows.len() <= 50_000);
        let (_, _) = w.finish();
        assert_eq!(mem.used(), 0);
    }
}
