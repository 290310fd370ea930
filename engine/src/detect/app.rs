//! The worker's app-layer hook: feeds a flow's [`AppLayer`] with the new
//! in-order stream bytes (or the UDP payload) of each packet, and logs the
//! transactions it finishes. Kept apart from the per-packet path in
//! `detect.rs` so stream and detection changes merge cleanly.
//!
//! [`AppLayer`]: crate::applayer::AppLayer

use super::{packet_ctx, FrameInfo, Worker};
use crate::applayer::buffers::{for_each_buffer, is_to_server, BufferId};
use crate::applayer::Tx;
use crate::decode::Packet;
use crate::flow::Flow;
use crate::output::{tx_enabled, tx_record};
use tapwatch_rules::BufferId as RuleBuffer;

/// The rule crate's id for one of our buffers (same Suricata keyword).
fn rule_buffer(id: BufferId) -> Option<RuleBuffer> {
    match id {
        // Suricata 8 spells these both ways.
        BufferId::DnsQueriesRrname => Some(RuleBuffer::DnsQueryName),
        BufferId::DnsAnswersRrname => Some(RuleBuffer::DnsAnswerName),
        _ => RuleBuffer::from_name(id.name()),
    }
}

/// A transaction's buffers, split by side: (request, response).
type SideBuffers = (Vec<(RuleBuffer, Vec<u8>)>, Vec<(RuleBuffer, Vec<u8>)>);

fn tx_buffers(tx: &Tx) -> SideBuffers {
    let mut req = Vec::new();
    let mut resp = Vec::new();
    let mut scratch = Vec::new();
    for_each_buffer(tx.as_ref(), &mut scratch, |id, b| {
        if let Some(r) = rule_buffer(id) {
            let side = if is_to_server(id) { &mut req } else { &mut resp };
            side.push((r, b.to_vec()));
        }
    });
    (req, resp)
}

impl Worker {
    /// Runs the rules once over each transaction flow `idx` finished on
    /// this packet: its request-side buffers as to-server, its response
    /// side as to-client. Only rules that need an app-layer buffer can
    /// alert here (packet rules already had their turn on this packet).
    pub(super) fn app_detect(&mut self, idx: u32, info: &FrameInfo, frame: &[u8], p: &Packet<'_>) {
        let n = self.flows.get(idx).app.done.len();
        for i in 0..n {
            let Some(done) = self.flows.get(idx).app.done.get(i) else {
                break;
            };
            let (req, resp) = tx_buffers(&done.tx);
            for (to_server, bufs) in [(true, &req), (false, &resp)] {
                if bufs.is_empty() {
                    continue;
                }
                let refs: Vec<(RuleBuffer, &[u8])> = bufs.iter().map(|(id, b)| (*id, b.as_slice())).collect();
                // Flowbits/flowints leave the flow while the rules use them.
                let mut vars = std::mem::take(&mut self.flows.get_mut(idx).vars);
                let flow = self.flows.get(idx);
                let mut ctx = packet_ctx(p, true, to_server, flow.is_established(), &[], 0, true);
                ctx.app_proto = flow.app.proto.as_str();
                ctx.app_buffers = &refs;
                // Only rules that inspect an app-layer buffer: packet
                // rules already had their turn on this packet.
                self.rules.match_tx_state(
                    &ctx,
                    &mut self.scratch,
                    &mut self.hits,
                    Some(&mut vars),
                    Some(&mut self.xbits),
                );
                self.flows.get_mut(idx).vars = vars;
                self.thresholds
                    .filter(&self.rules, &ctx, info.ts_ns / 1_000_000_000, &mut self.hits);
                if self.hits.is_empty() {
                    continue;
                }
                let f = self.flows.get_mut(idx);
                f.alerted = true;
                f.app.alert_tx = Some(i);
                self.raise_alerts(info, frame, p, Some(idx), to_server);
                self.flows.get_mut(idx).app.alert_tx = None;
            }
        }
    }

    /// Logs the transactions flow `idx` finished on this packet.
    pub(super) fn app_log(&mut self, idx: u32) {
        let flow = self.flows.get_mut(idx);
        if flow.app.done.is_empty() {
            return;
        }
        let done = std::mem::take(&mut flow.app.done);
        let flow = self.flows.get(idx);
        let recs: Vec<Vec<u8>> = done
            .iter()
            .filter(|d| tx_enabled(&d.tx, &self.cfg.eve))
            .map(|d| tx_record(d, flow, &self.cfg.eve))
            .collect();
        let mut done = done;
        done.clear();
        self.flows.get_mut(idx).app.done = done;
        for r in recs {
            self.emit(r);
        }
    }

    /// A flow ends: what its app layer still holds is logged.
    pub(super) fn app_flow_end(&mut self, f: &Flow) {
        if f.app.proto.as_str().is_none() {
            return;
        }
        let mut app = f.app.clone();
        app.on_flow_end();
        for d in app.done.drain(..) {
            if !tx_enabled(&d.tx, &self.cfg.eve) {
                continue;
            }
            let rec = tx_record(&d, f, &self.cfg.eve);
            self.emit(rec);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_buffer_reaches_the_rules_but_tls_version() {
        let missing: Vec<&str> = BufferId::ALL
            .iter()
            .filter(|&&id| rule_buffer(id).is_none())
            .map(|id| id.name())
            .collect();
        assert_eq!(missing, vec!["tls.version"]);
    }
}
