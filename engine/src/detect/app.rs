//! The worker's app-layer hook: feeds a flow's [`AppLayer`] with the new
//! in-order stream bytes (or the UDP payload) of each packet, and logs the
//! transactions it finishes. Kept apart from the per-packet path in
//! `detect.rs` so stream and detection changes merge cleanly.
//!
//! [`AppLayer`]: crate::applayer::AppLayer

use super::{FrameInfo, Worker};
use crate::applayer::Direction;
use crate::decode::Packet;
use crate::flow::Flow;
use crate::output::{tx_enabled, tx_record};

impl Worker {
    /// Feeds the app layer of flow `idx`. `stream_view` is the detection
    /// window's `new_from` (`usize::MAX`: nothing new), `gap_before` says
    /// bytes went missing before this segment.
    pub(super) fn app_feed(
        &mut self,
        idx: u32,
        to_server: bool,
        p: &Packet<'_>,
        stream_view: Option<usize>,
        gap_before: bool,
        info: &FrameInfo,
    ) {
        let dir = if to_server {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let flow = self.flows.get_mut(idx);
        let server_port = flow.server_port;
        let mut app = std::mem::take(&mut flow.app);
        app.set_now(info.ts_ns, info.pcap_cnt);
        let gap_after = p.payload_missing > 0;
        if p.tcp.is_some() {
            let window = flow.stream[dir.idx()].window();
            match stream_view {
                Some(n) if n != usize::MAX => {
                    let new = window.get(n..).unwrap_or_default();
                    app.on_stream(dir, new, gap_before, gap_after, server_port);
                }
                Some(_) if gap_after => app.on_stream(dir, &[], false, true, server_port),
                _ => {}
            }
        } else if p.ip_proto == 17 && !p.payload.is_empty() {
            app.on_datagram(dir, p.payload, server_port);
        }
        flow.app = app;
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
