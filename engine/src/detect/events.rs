//! Anomaly events on the worker's path: which decoder events a frame raised,
//! rules on frames that did not decode (`alert pkthdr ...
//! (decode-event:...)`), and the `anomaly` EVE records of every event the
//! configuration asks for (`outputs.eve-log.types.anomaly.types`).

use super::{packet_ctx, FrameInfo, Worker};
use crate::decode::{DecodeError, Packet};
use crate::defrag::DefragStats;
use crate::output::{anomaly_record_into, AnomalyInput};
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
/// length) is Suricata's `ipv4.trunc_pkt` / `ipv6.trunc_pkt`. A packet
/// whose IP length is whole but too short for its L4 header (a small first
/// fragment) raises nothing, as in Suricata.
pub(crate) fn packet_events(p: &Packet<'_>) -> EventSet {
    let mut s = EventSet::EMPTY;
    if !p.truncated {
        return s;
    }
    let ip = p.ip;
    let be16 = |at: usize| {
        ip.get(at..at + 2)
            .and_then(|b| <[u8; 2]>::try_from(b).ok())
            .map(|b| usize::from(u16::from_be_bytes(b)))
    };
    let cut = match ip.first().map(|b| b >> 4) {
        Some(4) => be16(2)
            .filter(|&total| total > ip.len())
            .map(|_| Event::Ipv4TruncPkt),
        Some(6) => be16(4)
            .filter(|&len| len + 40 > ip.len())
            .map(|_| Event::Ipv6TruncPkt),
        _ => None,
    };
    if let Some(e) = cut {
        s.insert(e);
    }
    s
}

/// Decoder events of one fragment given to the reader's reassembler, from
/// its counters before and after: overlapping fragments
/// (`ipv4.frag_overlap`, `ipv6.frag_overlap`) and fragments that would make
/// the datagram longer than 65535 bytes (`*.frag_pkt_too_large`).
pub fn defrag_events(p: &Packet<'_>, before: &DefragStats, after: &DefragStats) -> EventSet {
    let mut s = EventSet::EMPTY;
    if after.ipv4_overlap > before.ipv4_overlap {
        s.insert(Event::Ipv4FragOverlap);
    }
    if after.ipv6_overlap > before.ipv6_overlap {
        s.insert(Event::Ipv6FragOverlap);
    }
    if after.too_large > before.too_large {
        s.insert(if p.src.is_ipv4() {
            Event::Ipv4FragPktTooLarge
        } else {
            Event::Ipv6FragPktTooLarge
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
            let buf = self.record_buf();
            let rec = anomaly_record_into(
                buf,
                &AnomalyInput {
                    ts_ns: info.ts_ns,
                    pcap_cnt: info.pcap_cnt,
                    packet: p,
                    flow: flow.map(|i| self.flows.get(i)),
                    event: e,
                    cfg: &self.cfg.eve,
                },
            );
            self.put_record(rec);
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
    fn only_packets_cut_below_their_ip_length_raise_trunc_pkt() {
        let mut v4 = vec![0u8; 40];
        v4[0] = 0x45;
        v4[2..4].copy_from_slice(&60u16.to_be_bytes());
        let mut p = Packet::empty();
        p.ip = &v4;
        assert!(packet_events(&p).is_empty(), "not marked truncated");
        p.truncated = true;
        assert!(packet_events(&p).contains(Event::Ipv4TruncPkt));
        // Whole IP packet, L4 header cut (a small first fragment): nothing.
        let mut whole = v4.clone();
        whole[2..4].copy_from_slice(&40u16.to_be_bytes());
        p.ip = &whole;
        assert!(packet_events(&p).is_empty());
        let mut v6 = vec![0u8; 48];
        v6[0] = 0x60;
        v6[4..6].copy_from_slice(&100u16.to_be_bytes());
        p.ip = &v6;
        assert!(packet_events(&p).contains(Event::Ipv6TruncPkt));
        p.ip = &v6[..3];
        assert!(packet_events(&p).is_empty());
        p.ip = &[];
        assert!(packet_events(&p).is_empty());
    }
}
