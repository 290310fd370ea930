//! Detection glue: one worker's per-packet path from a decoded packet
//! through its flow and stream state to the rule engine and EVE alerts.

use crate::config::EngineConfig;
use crate::decode::{decode, LinkType, Packet};
use crate::flow::{EndReason, Flow, FlowTable, TH_ACK, TH_RST, TH_SYN};
use crate::output::{alert_record, flow_record, AlertInput};
use crate::stats::WorkerStats;
use crate::stream::SegmentOutcome;
use crossbeam_channel::Sender;
use std::sync::Arc;
use tapwatch_rules::{PacketCtx, PacketFields, RuleSet, Scratch, ThresholdState};

mod live;

mod app;

/// One frame as the worker receives it.
#[derive(Clone, Copy, Debug)]
pub struct FrameInfo {
    pub ts_ns: u64,
    pub pcap_cnt: u64,
    pub link: LinkType,
    pub orig_len: u32,
}

/// A worker's state: its flow table shard and detection scratch space.
pub struct Worker {
    cfg: Arc<EngineConfig>,
    rules: Arc<RuleSet>,
    scratch: Scratch,
    thresholds: ThresholdState,
    hits: Vec<u32>,
    flows: FlowTable,
    out: Sender<Vec<u8>>,
    pub stats: WorkerStats,
    /// Set when the EVE writer is gone; records are then counted, not sent.
    pub output_lost: u64,
}

impl Worker {
    pub fn new(cfg: Arc<EngineConfig>, rules: Arc<RuleSet>, out: Sender<Vec<u8>>) -> Worker {
        let per_worker = (cfg.flow.max_flows / cfg.workers.max(1)).max(1);
        let flows = FlowTable::new(&cfg.flow, per_worker);
        let stats = WorkerStats {
            alerts_by_rule: vec![0; rules.len()],
            ..Default::default()
        };
        Worker {
            scratch: rules.new_scratch(),
            thresholds: ThresholdState::new(),
            hits: Vec::with_capacity(64),
            flows,
            rules,
            cfg,
            out,
            stats,
            output_lost: 0,
        }
    }

    fn emit(&mut self, rec: Vec<u8>) {
        self.stats.records += 1;
        if self.out.send(rec).is_err() {
            self.output_lost += 1;
        }
    }

    fn log_flow(&mut self, f: &Flow, reason: EndReason) {
        self.app_flow_end(f); // app layer hook
        if self.cfg.eve.flow {
            let rec = flow_record(f, reason, &self.cfg.eve);
            self.emit(rec);
        }
    }

    /// Process one frame.
    pub fn process(&mut self, info: &FrameInfo, frame: &[u8]) {
        let Ok(p) = decode(info.link, frame, &self.cfg.decode, &mut self.stats.decode) else {
            return;
        };
        if p.checksum_bad {
            if p.tcp.is_some() {
                self.stats.tcp.invalid_checksum += 1;
            }
            return;
        }
        let ts = info.ts_ns;
        // End idle flows on packet time.
        let mut ended: Vec<(Flow, EndReason)> = Vec::new();
        self.flows.sweep(ts, |f, r| ended.push((f.clone(), r)));
        for (f, r) in ended {
            self.log_flow(&f, r);
        }

        let idx = if p.is_fragment && p.tcp.is_none() && p.sport == 0 && p.dport == 0 && p.ip_proto != 1 {
            None
        } else {
            self.flows.lookup(&p, ts)
        };
        if let Some((f, r)) = self.flows.ended.take() {
            self.log_flow(&f, r);
        }
        let Some(idx) = idx else {
            self.stats.no_flow += 1;
            self.inspect_without_flow(info, frame, &p);
            return;
        };

        let to_server = self.flows.get(idx).is_to_server(&p);
        let keep = self.cfg.stream.window;
        let midstream = self.cfg.stream.midstream;
        let flow = self.flows.get_mut(idx);
        // Bytes as Suricata counts them: the captured frame, or for a
        // tunnelled packet the inner IP packet.
        let wire_len = if p.tunnel_count > 0 {
            p.ip_len as u64
        } else {
            frame.len() as u64
        };
        flow.update(&p, to_server, ts, wire_len);

        // TCP: follow the stream of this direction.
        let dir = if to_server { 0 } else { 1 };
        let mut stream_view: Option<usize> = None; // new_from within the window
        let mut gap_before = false;
        if let Some(tcp) = p.tcp {
            let f = tcp.flags;
            if f & TH_RST != 0 {
                self.stats.tcp.rst += 1;
            }
            if f & TH_SYN != 0 {
                if f & TH_ACK != 0 {
                    self.stats.tcp.synack += 1;
                } else {
                    self.stats.tcp.syn += 1;
                    if !flow.stream[dir].tracking {
                        self.stats.tcp.sessions += 1;
                    }
                }
                flow.stream[dir].on_syn(tcp.seq);
            } else if !flow.stream[dir].tracking && midstream && !p.payload.is_empty() {
                flow.stream[dir].pickup(tcp.seq);
                self.stats.tcp.midstream_pickups += 1;
            }
            if flow.stream[dir].tracking && f & TH_SYN == 0 {
                match flow.stream[dir].on_segment(tcp.seq, p.payload, p.payload_missing, keep) {
                    SegmentOutcome::Data { new_from } => stream_view = Some(new_from),
                    SegmentOutcome::GapThenData { .. } => {
                        self.stats.tcp.gaps += 1;
                        stream_view = Some(0);
                        gap_before = true;
                    }
                    SegmentOutcome::Nothing => stream_view = Some(usize::MAX),
                }
                if p.payload_missing > 0 {
                    self.stats.tcp.gaps += 1;
                }
            }
        }

        // ---- app layer hook (engine/src/detect/app.rs) ----
        self.app_feed(idx, to_server, &p, stream_view, gap_before, info);
        // ---- end app layer hook ----

        // Flowbits leave the flow while the rules read and update them.
        let mut vars = std::mem::take(&mut self.flows.get_mut(idx).vars);
        let flow = self.flows.get(idx);
        let established = flow.is_established();
        let (buffer, new_from, is_stream): (&[u8], usize, bool) = match stream_view {
            Some(usize::MAX) => (&[], 0, true),
            Some(n) => (flow.stream[dir].window(), n, true),
            None => (p.payload, 0, false),
        };
        let mut ctx = packet_ctx(&p, true, to_server, established, buffer, new_from, is_stream);
        ctx.app_proto = flow.app.proto.as_str(); // app layer hook
        self.hits.clear();
        self.rules
            .match_packet_flow(&ctx, &mut self.scratch, &mut self.hits, Some(&mut vars));
        self.thresholds
            .filter(&self.rules, &ctx, ts / 1_000_000_000, &mut self.hits);
        self.flows.get_mut(idx).vars = vars;
        if !self.hits.is_empty() {
            self.flows.get_mut(idx).alerted = true;
            self.raise_alerts(info, frame, &p, Some(idx), to_server);
        }
        self.app_detect(idx, info, frame, &p); // app layer hook
        self.app_log(idx); // app layer hook
    }

    fn inspect_without_flow(&mut self, info: &FrameInfo, frame: &[u8], p: &Packet<'_>) {
        let ctx = packet_ctx(p, false, true, false, p.payload, 0, false);
        self.hits.clear();
        self.rules.match_packet(&ctx, &mut self.scratch, &mut self.hits);
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
        let hits = std::mem::take(&mut self.hits);
        for &h in &hits {
            self.stats.alerts += 1;
            if let Some(c) = self.stats.alerts_by_rule.get_mut(h as usize) {
                *c += 1;
            }
            if self.cfg.eve.alert {
                let rec = alert_record(&AlertInput {
                    ts_ns: info.ts_ns,
                    pcap_cnt: info.pcap_cnt,
                    packet: p,
                    frame,
                    flow: flow.map(|i| self.flows.get(i)),
                    to_server,
                    rule: self.rules.meta(h),
                    cfg: &self.cfg.eve,
                });
                self.emit(rec);
            }
        }
        self.hits = hits;
    }

    /// End of input: log every remaining flow and hand back the counters.
    pub fn finish(mut self) -> (WorkerStats, u64) {
        let mut ended: Vec<Flow> = Vec::new();
        self.flows.drain(|f, _| ended.push(f.clone()));
        for f in ended {
            self.log_flow(&f, EndReason::Shutdown);
        }
        self.stats.flows = self.flows.counters.clone();
        (self.stats, self.output_lost)
    }
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
