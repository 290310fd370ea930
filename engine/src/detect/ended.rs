//! A flow ends (timeout, end of input, eviction, port reuse) while data is
//! still held after a hole that never filled: the hole becomes a gap and
//! the held data is inspected, by the raw stream rules and the app layer
//! (which resynchronises after the gap), before the flow is logged.
//! Without this, content sent after a lost segment in a session that ends
//! without the loss being acknowledged would never be seen.

use super::{packet_ctx, AlertFlow, FrameInfo, Worker};
use crate::applayer::Direction as AppDir;
use crate::decode::{LinkType, Packet, TcpInfo};
use crate::flow::{Flow, TcpState};
use crate::stream::{Chunk, StreamCtx};

impl Worker {
    /// Inspect what `f`'s directions still hold after a hole, then give
    /// the memory back.
    pub(super) fn inspect_held(&mut self, f: &mut Flow) {
        for dir in 0..2 {
            let Some(sd) = f.stream.get_mut(dir) else { continue };
            if sd.held_segments() == 0 {
                sd.release();
                continue;
            }
            let to_server = dir == 0;
            // No packet carries this data: the rules see the flow's
            // endpoints in the direction the data went.
            // As a pseudo packet at flow timeout: an ACK at the next seq.
            let mut p = Packet::empty();
            p.ip_proto = 6;
            p.tcp = Some(TcpInfo {
                seq: f.stream.get(dir).map_or(0, |s| s.next_seq),
                ack: 0,
                flags: TcpInfo::ACK,
                window: 0,
            });
            (p.src, p.sport, p.dst, p.dport) = if to_server {
                (f.client_ip, f.client_port, f.server_ip, f.server_port)
            } else {
                (f.server_ip, f.server_port, f.client_ip, f.client_port)
            };
            let app_dir = if to_server {
                AppDir::ToServer
            } else {
                AppDir::ToClient
            };
            // Data was held, so the session carried data: one closed since
            // (RST, FIN) still counts as established, as in Suricata.
            let established = f.is_established() || f.tcp_state == TcpState::Closed;
            let server_port = f.server_port;
            let mut sctx = StreamCtx {
                cfg: &self.stream,
                mem: &self.mem,
                now_ns: f.last_ns,
                counters: &mut self.stats.tcp.stream,
            };
            let (rules, scratch, hits, run_hits, xbits) = (
                &self.rules,
                &mut self.scratch,
                &mut self.hits,
                &mut self.run_hits,
                &mut self.xbits,
            );
            hits.clear();
            let (stream, app, vars) = (&mut f.stream, &mut f.app, &mut f.vars);
            let Some(sd) = stream.get_mut(dir) else { continue };
            sd.flush(&mut sctx, &mut |c| match c {
                Chunk::Data { window, new_from } => {
                    let new = window.get(new_from..).unwrap_or_default();
                    app.on_stream(app_dir, new, false, false, server_port);
                    let mut ctx = packet_ctx(&p, true, to_server, established, window, new_from, true);
                    ctx.app_proto = app.proto.as_str();
                    rules.match_packet_state(&ctx, scratch, run_hits, Some(&mut *vars), Some(&mut *xbits));
                    hits.extend_from_slice(run_hits);
                }
                Chunk::Gap(_) => app.on_stream(app_dir, &[], true, false, server_port),
            });
            sd.release();
            // Events raised here have no packet to be logged with.
            let _ = sd.take_events();
            hits.sort_unstable();
            hits.dedup();
            let ctx = packet_ctx(&p, true, to_server, established, &[], 0, true);
            self.thresholds
                .filter(&self.rules, &ctx, f.last_ns / 1_000_000_000, &mut self.hits);
            if self.hits.is_empty() {
                continue;
            }
            f.alerted = true;
            // pcap_cnt 0: no packet (left out of the alert, as Suricata).
            let info = FrameInfo {
                ts_ns: f.last_ns,
                pcap_cnt: 0,
                link: LinkType::Raw,
                orig_len: 0,
                events: tapwatch_rules::EventSet::EMPTY,
            };
            self.log_hits(&info, &[], &p, AlertFlow::Ended(f), to_server);
        }
    }
}
