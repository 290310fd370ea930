//! Per-worker counters, merged when workers finish.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::decode::DecodeStats;
use crate::flow::FlowCounters;

#[derive(Default, Clone, Debug)]
pub struct TcpCounters {
    /// Sessions whose handshake start (SYN) was seen.
    pub sessions: u64,
    pub syn: u64,
    pub synack: u64,
    pub rst: u64,
    pub midstream_pickups: u64,
    pub invalid_checksum: u64,
    /// Reassembly: gaps, overlaps, memcap drops, depth.
    pub stream: crate::stream::StreamCounters,
    /// Most reassembly memory held at once (all workers).
    pub reassembly_memuse_peak: u64,
}

impl TcpCounters {
    pub fn merge(&mut self, o: &TcpCounters) {
        self.sessions += o.sessions;
        self.syn += o.syn;
        self.synack += o.synack;
        self.rst += o.rst;
        self.midstream_pickups += o.midstream_pickups;
        self.invalid_checksum += o.invalid_checksum;
        self.stream.merge(&o.stream);
        self.reassembly_memuse_peak = self.reassembly_memuse_peak.max(o.reassembly_memuse_peak);
    }
}

/// Everything one worker counted.
#[derive(Default, Clone, Debug)]
pub struct WorkerStats {
    pub decode: DecodeStats,
    pub flows: FlowCounters,
    pub tcp: TcpCounters,
    /// IP defragmentation (done by the reader).
    pub defrag: crate::defrag::DefragStats,
    /// Copies of segments mirrored at both ends, dropped (`mirror.dedup`).
    pub mirror_duplicates: u64,
    pub alerts: u64,
    /// Alerts per rule index (sized to the ruleset).
    pub alerts_by_rule: Vec<u64>,
    /// Packets seen without a flow because the flow table was full.
    pub no_flow: u64,
    /// EVE records produced.
    pub records: u64,
}

impl WorkerStats {
    pub fn merge(&mut self, o: &WorkerStats) {
        self.decode.merge(&o.decode);
        self.flows.merge(&o.flows);
        self.tcp.merge(&o.tcp);
        self.defrag.merge(&o.defrag);
        self.mirror_duplicates += o.mirror_duplicates;
        self.alerts += o.alerts;
        if self.alerts_by_rule.len() < o.alerts_by_rule.len() {
            self.alerts_by_rule.resize(o.alerts_by_rule.len(), 0);
        }
        for (a, b) in self.alerts_by_rule.iter_mut().zip(&o.alerts_by_rule) {
            *a += b;
        }
        self.no_flow += o.no_flow;
        self.records += o.records;
    }
}
