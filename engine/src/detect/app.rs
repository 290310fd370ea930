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
use crate::output::{tx_enabled, tx_record_into};
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

/// Worker-owned space for one transaction's buffers, reused from one
/// transaction to the next so steady state allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct TxBufs {
    /// The engine's buffers the rules inspect, as the rule crate's ids
    /// (by [`BufferId`] position); `None` for the others.
    wanted: Vec<Option<RuleBuffer>>,
    /// Some buffer is wanted (checked on every packet).
    any: bool,
    /// Bytes of the buffers, back to back.
    bytes: Vec<u8>,
    /// (buffer, start, end, to server) in `bytes`.
    spans: Vec<(RuleBuffer, usize, usize, bool)>,
    scratch: Vec<u8>,
    /// The slice list handed to the rules, kept for its allocation.
    refs: Vec<(RuleBuffer, &'static [u8])>,
    /// The HTTP bodies some rule reads: the only ones the app layer keeps.
    pub(crate) bodies: crate::applayer::Bodies,
}

/// `v`'s allocation with another lifetime: `v` is emptied, so the in-place
/// collect reuses its memory and no reference outlives its data.
fn recycle<'b>(mut v: Vec<(RuleBuffer, &[u8])>) -> Vec<(RuleBuffer, &'b [u8])> {
    v.clear();
    v.into_iter().map(|(id, _)| (id, &[][..])).collect()
}

impl TxBufs {
    /// Buffers `rules` inspect.
    pub(crate) fn new(rules: &tapwatch_rules::RuleSet) -> TxBufs {
        let wanted: Vec<Option<RuleBuffer>> = BufferId::ALL
            .iter()
            .map(|&id| rule_buffer(id).filter(|&r| rules.inspects(r)))
            .collect();
        let wants = |id: BufferId| wanted.get(id as usize).is_some_and(Option::is_some);
        let bodies = crate::applayer::Bodies {
            request: wants(BufferId::HttpRequestBody),
            response: wants(BufferId::HttpResponseBody) || wants(BufferId::FileData),
        };
        TxBufs {
            any: wanted.iter().any(Option::is_some),
            wanted,
            bodies,
            ..TxBufs::default()
        }
    }

    fn any_wanted(&self) -> bool {
        self.any
    }

    /// Builds `tx`'s wanted buffers.
    fn fill(&mut self, tx: &Tx) {
        self.bytes.clear();
        self.spans.clear();
        let TxBufs {
            wanted,
            bytes,
            spans,
            scratch,
            ..
        } = self;
        let want = |id: BufferId| wanted.get(id as usize).copied().flatten();
        // The source of the last copy: a buffer handed out twice (the
        // response body as `http.response_body` and `file.data`) is copied
        // once; the rules then see one slice (and scan it once).
        let mut last: Option<(*const u8, usize, usize)> = None;
        for_each_buffer(
            tx.as_ref(),
            scratch,
            |id| want(id).is_some(),
            |id, b| {
                let Some(r) = want(id) else { return };
                // (Scratch-built buffers reuse one allocation: equal
                // pointers alone do not mean equal bytes.)
                let same = |&(ptr, len, start): &(*const u8, usize, usize)| {
                    ptr == b.as_ptr() && len == b.len() && bytes.get(start..start + len) == Some(b)
                };
                let start = match last {
                    Some(l) if same(&l) => l.2,
                    _ => {
                        let start = bytes.len();
                        bytes.extend_from_slice(b);
                        last = Some((b.as_ptr(), b.len(), start));
                        start
                    }
                };
                spans.push((r, start, start + b.len(), is_to_server(id)));
            },
        );
    }
}

impl Worker {
    /// Runs the rules once over each transaction flow `idx` finished on
    /// this packet: its request-side buffers as to-server, its response
    /// side as to-client. Only rules that need an app-layer buffer can
    /// alert here (packet rules already had their turn on this packet).
    pub(super) fn app_detect(&mut self, idx: u32, info: &FrameInfo, frame: &[u8], p: &Packet<'_>) {
        if !self.tx_bufs.any_wanted() {
            return;
        }
        let n = self.flows.get(idx).app.done.len();
        let mut bufs = std::mem::take(&mut self.tx_bufs);
        for i in 0..n {
            let Some(done) = self.flows.get(idx).app.done.get(i) else {
                break;
            };
            bufs.fill(&done.tx);
            for to_server in [true, false] {
                let mut refs = recycle(std::mem::take(&mut bufs.refs));
                refs.extend(
                    bufs.spans
                        .iter()
                        .filter(|s| s.3 == to_server)
                        .filter_map(|&(id, a, b, _)| Some((id, bufs.bytes.get(a..b)?))),
                );
                if !refs.is_empty() {
                    self.tx_detect(idx, i, to_server, &refs, info, frame, p);
                }
                bufs.refs = recycle(refs);
            }
        }
        self.tx_bufs = bufs;
    }

    /// The rules over one side of transaction `i` of flow `idx`.
    #[allow(clippy::too_many_arguments)]
    fn tx_detect(
        &mut self,
        idx: u32,
        i: usize,
        to_server: bool,
        refs: &[(RuleBuffer, &[u8])],
        info: &FrameInfo,
        frame: &[u8],
        p: &Packet<'_>,
    ) {
        // Flowbits/flowints leave the flow while the rules use them.
        let mut vars = std::mem::take(&mut self.flows.get_mut(idx).vars);
        let flow = self.flows.get(idx);
        let mut ctx = packet_ctx(p, true, to_server, flow.is_established(), &[], 0, true);
        ctx.app_proto = flow.app.proto.as_str();
        ctx.app_buffers = refs;
        // The side's own tuple, whichever packet completed the
        // transaction: `$EXTERNAL_NET any -> $HTTP_SERVERS` reads
        // client -> server for the request side.
        let client = (flow.client_ip, flow.client_port);
        let server = (flow.server_ip, flow.server_port);
        let ((sip, sport), (dip, dport)) = if to_server {
            (client, server)
        } else {
            (server, client)
        };
        (ctx.src_ip, ctx.src_port, ctx.dst_ip, ctx.dst_port) = (sip, sport, dip, dport);
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
            return;
        }
        let f = self.flows.get_mut(idx);
        f.alerted = true;
        f.app.alert_tx = Some(i);
        self.raise_alerts(info, frame, p, Some(idx), to_server);
        self.flows.get_mut(idx).app.alert_tx = None;
    }

    /// Logs the transactions flow `idx` finished on this packet.
    pub(super) fn app_log(&mut self, idx: u32) {
        let flow = self.flows.get_mut(idx);
        if flow.app.done.is_empty() {
            return;
        }
        let mut done = std::mem::take(&mut flow.app.done);
        for d in &done {
            if !tx_enabled(&d.tx, &self.cfg.eve) {
                continue;
            }
            let buf = self.record_buf();
            let rec = tx_record_into(buf, d, self.flows.get(idx), &self.cfg.eve);
            self.put_record(rec);
        }
        done.clear();
        self.flows.get_mut(idx).app.done = done;
    }

    /// A flow ends: what its app layer still holds is logged.
    pub(super) fn app_flow_end(&mut self, f: &mut Flow) {
        if f.app.proto.as_str().is_none() {
            return;
        }
        // The flow is over: its app layer finishes in place (the flow
        // record after this reads only the protocol names).
        f.app.on_flow_end();
        let mut done = std::mem::take(&mut f.app.done);
        for d in done.drain(..) {
            if !tx_enabled(&d.tx, &self.cfg.eve) {
                continue;
            }
            let buf = self.record_buf();
            let rec = tx_record_into(buf, &d, f, &self.cfg.eve);
            self.put_record(rec);
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

    fn rules(text: &str) -> tapwatch_rules::RuleSet {
        let mut b = tapwatch_rules::RuleSetBuilder::new(
            tapwatch_rules::Vars::default(),
            tapwatch_rules::Classifications::bundled(),
        );
        b.add_text("test.rules", text);
        b.build().0
    }

    fn http_tx() -> Tx {
        Tx::Http(Box::new(crate::applayer::http::HttpTx {
            uri: b"/index.html".to_vec(),
            method: b"GET".to_vec(),
            request_headers: vec![(b"Host".to_vec(), b"example.com".to_vec())]
                .into_iter()
                .collect(),
            response_body: b"<html>body</html>".to_vec(),
            ..Default::default()
        }))
    }

    #[test]
    fn only_inspected_buffers_are_built_and_a_shared_one_is_stored_once() {
        let rs = rules(
            "alert http any any -> any any (msg:\"a\"; file.data; content:\"body\"; sid:1;)\n\
             alert http any any -> any any (msg:\"b\"; http.response_body; content:\"html\"; sid:2;)\n\
             alert http any any -> any any (msg:\"c\"; http.uri; content:\"index\"; sid:3;)\n",
        );
        let mut bufs = TxBufs::new(&rs);
        bufs.fill(&http_tx());
        let ids: Vec<RuleBuffer> = bufs.spans.iter().map(|s| s.0).collect();
        assert_eq!(
            ids,
            vec![
                RuleBuffer::HttpUri,
                RuleBuffer::HttpResponseBody,
                RuleBuffer::FileData
            ]
        );
        // The body is copied once and both buffers point at it.
        assert_eq!(bufs.bytes, b"/index.html<html>body</html>");
        assert_eq!(bufs.spans[1].1..bufs.spans[1].2, bufs.spans[2].1..bufs.spans[2].2);
        assert!(bufs.spans[0].3 && !bufs.spans[1].3);

        // Refilled for the next transaction without leftovers.
        bufs.fill(&http_tx());
        assert_eq!(bufs.spans.len(), 3);

        // Without app-layer rules nothing is wanted.
        let none = TxBufs::new(&rules(
            "alert tcp any any -> any any (msg:\"p\"; content:\"x\"; sid:4;)\n",
        ));
        assert!(!none.any_wanted());
    }

    /// After a rule reload the worker builds and keeps what the new rules
    /// read: a response-body rule added by the reload matches.
    #[test]
    fn reloaded_rules_get_the_buffers_and_bodies_they_read() {
        use crate::config::EngineConfig;
        use std::sync::Arc;
        let conv = tapwatch_gen::session::tcp_conversation(
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:80".parse().unwrap(),
            1_768_471_200_000_000_000,
            1_000_000,
            &[tapwatch_gen::session::Exchange::new(
                b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n".to_vec(),
                b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nsecret-body".to_vec(),
            )],
        );
        let body_rule =
            "alert http any any -> any any (msg:\"body\"; http.response_body; content:\"secret\"; sid:1;)\n";
        let payload_rule = "alert tcp any any -> any any (msg:\"p\"; content:\"zzz\"; sid:9;)\n";
        let alerts = |reload: bool| {
            let (tx, rx) = crossbeam_channel::unbounded();
            let first = rules(if reload { payload_rule } else { body_rule });
            let mut w = Worker::new(Arc::new(EngineConfig::default()), Arc::new(first), tx);
            if reload {
                w.set_rules(Arc::new(rules(body_rule)));
            }
            for (i, f) in conv.frames().iter().enumerate() {
                let info = crate::detect::FrameInfo {
                    ts_ns: f.ts_ns,
                    pcap_cnt: i as u64 + 1,
                    link: crate::ingress::LinkType::Ethernet,
                    orig_len: f.orig_len,
                    events: tapwatch_rules::EventSet::EMPTY,
                };
                w.process(&info, &f.data);
            }
            let _ = w.finish();
            rx.try_iter()
                .filter(|r| String::from_utf8_lossy(r).contains("\"event_type\":\"alert\""))
                .count()
        };
        assert_eq!(alerts(false), 1);
        assert_eq!(alerts(true), 1);
    }

    #[test]
    fn equal_scratch_pointers_with_other_bytes_are_not_merged() {
        // http.header and http.header_names are both built in the scratch
        // buffer: with a two-byte Host both are ten bytes at one address.
        let rs = rules(
            "alert http any any -> any any (msg:\"a\"; http.header; content:\"a\"; sid:1;)\n\
             alert http any any -> any any (msg:\"b\"; http.header_names; content:\"b\"; sid:2;)\n",
        );
        let mut bufs = TxBufs::new(&rs);
        bufs.fill(&Tx::Http(Box::new(crate::applayer::http::HttpTx {
            request_headers: vec![(b"Host".to_vec(), b"ab".to_vec())].into_iter().collect(),
            ..Default::default()
        })));
        let texts: Vec<&[u8]> = bufs.spans.iter().map(|s| &bufs.bytes[s.1..s.2]).collect();
        assert_eq!(texts, vec![&b"Host: ab\r\n"[..], b"\r\nHost\r\n\r\n"]);
    }
}
