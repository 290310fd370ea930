//! Anomaly events on the worker's path: which decoder events a frame raised,
//! rules on frames that did not decode (`alert pkthdr ...
//! (decode-event:...)`), and the `anomaly` EVE records of every event the
//! configuration asks for (`outputs.eve-log.types.anomaly.types`).

use super::{packet_ctx, FrameInfo, Worker};
use crate::decode::{DecodeError, Packet};
use crate::output::{anomaly_record, AnomalyInput};
use tapwatch_rules::{Event, EventSet};

/// The decoder event Suricata raises for a frame that did not decode, where
/// the cause maps onto one.
pub(crate) fn decode_error_event(e: &DecodeError) -> Option<Event> {
    match e {
        DecodeError::Truncated("ethernet header") => Some(Event::EthernetPktTooSmall),
        DecodeError::Truncated("sll header" | "sll2 header") => Some(Event::SllPktTooSmall),
        DecodeError::Truncated("vlan header") => Some(Event::VlanHeaderTooSmall),
        DecodeError::Malformed("tcp header") => Some(Event::TcpHlenTooSmall),
        _ => None,
    }
}

/// Decoder events of a decoded packet: an IP packet shorter than its
/// length field says (a mirror session's `packet-length` cut, a snap
/// length) is Suricata's `ipv4.trunc_pkt` / `ipv6.trunc_pkt`.
pub(crate) fn packet_events(p: &Packet<'_>) -> EventSet {
    let mut s = EventSet::EMPTY;
    if p.truncated {
        s.insert(if p.src.is_ipv4() {
            Event::Ipv4TruncPkt
        } else {
            Event::Ipv6TruncPkt
        });
    }
    s
}

impl Worker {
    /// `anomaly` records for `events` raised by `p` (or by a frame that did
    /// not decode), for the kinds the configuration enables.
    pub(super) fn log_anomalies(
        &mut self,
        info: &FrameInfo,
        p: Option<&Packet<'_>>,
        flow: Option<u32>,
        events: EventSet,
    ) {
        for e in events.iter() {
            if !self.cfg.eve.anomaly.wants(e.kind()) {
                continue;
            }
            let rec = anomaly_record(&AnomalyInput {
                ts_ns: info.ts_ns,
                pcap_cnt: info.pcap_cnt,
                packet: p,
                flow: flow.map(|i| self.flows.get(i)),
                event: e,
                cfg: &self.cfg.eve,
            });
            self.emit(rec);
        }
    }

    /// A frame that did not decode: its decoder event is logged and rules
    /// on packet headers (`pkthdr`/`ip` with `decode-event`) see it with no
    /// addresses, as Suricata runs them on invalid packets.
    pub(super) fn undecodable(&mut self, info: &FrameInfo, frame: &[u8], err: &DecodeError) {
        let Some(e) = decode_error_event(err) else {
            return;
        };
        let events: EventSet = [e].into_iter().collect();
        self.log_anomalies(info, None, None, events);
        let p = Packet::empty();
        let mut ctx = packet_ctx(&p, false, true, false, &[], 0, false);
        ctx.fields.events = events;
        self.hits.clear();
        self.rules.match_packet(&ctx, &mut self.scratch, &mut self.hits);
        self.thresholds
            .filter(&self.rules, &ctx, info.ts_ns / 1_000_000_000, &mut self.hits);
        self.raise_alerts(info, frame, &p, None, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_map_to_suricata_events() {
        assert_eq!(
            decode_error_event(&DecodeError::Truncated("ethernet header")),
            Some(Event::EthernetPktTooSmall)
        );
        assert_eq!(
            decode_error_event(&DecodeError::Malformed("tcp header")),
            Some(Event::TcpHlenTooSmall)
        );
        assert_eq!(decode_error_event(&DecodeError::NonIp), None);
        assert_eq!(decode_error_event(&DecodeError::Truncated("ip header")), None);
    }

    #[test]
    fn truncated_packets_raise_trunc_pkt_of_their_family() {
        let mut p = Packet::empty();
        assert!(packet_events(&p).is_empty());
        p.truncated = true;
        assert!(packet_events(&p).contains(Event::Ipv4TruncPkt));
        p.src = "2001:db8::1".parse().unwrap();
        assert!(packet_events(&p).contains(Event::Ipv6TruncPkt));
    }
}
