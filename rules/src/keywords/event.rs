//! `decode-event`, `stream-event` and `app-layer-event`: match packets on
//! which the engine raised a named anomaly.
//!
//! The names are Suricata's (`decode-event:ipv4.trunc_pkt;`,
//! `stream-event:reassembly_overlap_different_data;`), so its
//! `decoder-events.rules` and `stream-events.rules` load unchanged. Only
//! events tapwatch raises are accepted; a rule naming any other event is
//! skipped with the reason "unsupported event" rather than loaded to never
//! fire. The engine reports what it raised for a packet in
//! [`crate::PacketFields::events`]; a rule matches when every event it names
//! is in that set (several event keywords in one rule must all be raised).

use super::Opt;
use crate::error::{reason, SpanError};

/// Load-report reason for an event name tapwatch does not raise.
const UNSUPPORTED_EVENT: &str = "unsupported event";

/// Which keyword (and which EVE `anomaly.type`) an event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Packet decoding and IP defragmentation (`decode-event`).
    Decode,
    /// TCP stream tracking and reassembly (`stream-event`).
    Stream,
    /// Application-layer parsing (`app-layer-event`).
    AppLayer,
}

impl EventKind {
    /// The EVE `anomaly.type`: `decode`, `stream` or `applayer`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Decode => "decode",
            EventKind::Stream => "stream",
            EventKind::AppLayer => "applayer",
        }
    }

    /// The rule keyword naming events of this kind.
    pub fn keyword(self) -> &'static str {
        match self {
            EventKind::Decode => "decode-event",
            EventKind::Stream => "stream-event",
            EventKind::AppLayer => "app-layer-event",
        }
    }
}

macro_rules! events {
    ($($(#[$doc:meta])* $var:ident = ($kind:ident, $name:literal),)*) => {
        /// An anomaly the engine raises, named as in Suricata's rules.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Event {
            $($(#[$doc])* $var,)*
        }

        impl Event {
            /// Every event, in declaration order (bit order in [`EventSet`]).
            pub const ALL: &'static [Event] = &[$(Event::$var),*];

            /// The keyword value naming this event (`ipv4.trunc_pkt`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Event::$var => $name,)*
                }
            }

            /// Its kind.
            pub fn kind(self) -> EventKind {
                match self {
                    $(Event::$var => EventKind::$kind,)*
                }
            }
        }
    };
}

events! {
    /// IPv4 total length larger than the captured packet.
    Ipv4TruncPkt = (Decode, "ipv4.trunc_pkt"),
    /// IPv6 payload length larger than the captured packet.
    Ipv6TruncPkt = (Decode, "ipv6.trunc_pkt"),
    /// Frame too short for an Ethernet header.
    EthernetPktTooSmall = (Decode, "ethernet.pkt_too_small"),
    /// Frame too short for a VLAN tag.
    VlanHeaderTooSmall = (Decode, "vlan.header_too_small"),
    /// Frame too short for a Linux cooked capture header.
    SllPktTooSmall = (Decode, "sll.pkt_too_small"),
    /// TCP data offset below the minimum header.
    TcpHlenTooSmall = (Decode, "tcp.hlen_too_small"),
    /// IPv4 fragments overlap.
    Ipv4FragOverlap = (Decode, "ipv4.frag_overlap"),
    /// IPv6 fragments overlap.
    Ipv6FragOverlap = (Decode, "ipv6.frag_overlap"),
    /// IPv4 fragments add up to more than 65535 bytes.
    Ipv4FragPktTooLarge = (Decode, "ipv4.frag_pkt_too_large"),
    /// IPv6 fragments add up to more than 65535 bytes.
    Ipv6FragPktTooLarge = (Decode, "ipv6.frag_pkt_too_large"),
    /// Stream data was lost: reassembly continues after a gap.
    StreamSeqGap = (Stream, "reassembly_seq_gap"),
    /// Overlapping segments carried different bytes.
    StreamOverlapDifferentData = (Stream, "reassembly_overlap_different_data"),
    /// The direction reached `stream.reassembly.depth`.
    StreamDepthReached = (Stream, "reassembly_depth_reached"),
}

impl Event {
    /// The event named `name` of `kind`, if tapwatch raises it.
    pub fn lookup(kind: EventKind, name: &str) -> Option<Event> {
        Event::ALL
            .iter()
            .copied()
            .find(|e| e.kind() == kind && e.name().eq_ignore_ascii_case(name))
    }

    fn bit(self) -> u64 {
        1u64 << (self as u8)
    }
}

// Every event has a bit in the set.
const _: () = assert!(Event::ALL.len() <= 64);

/// The events raised for one packet (or required by one rule).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EventSet(u64);

impl EventSet {
    /// No events.
    pub const EMPTY: EventSet = EventSet(0);

    /// Add `e`.
    pub fn insert(&mut self, e: Event) {
        self.0 |= e.bit();
    }

    /// `e` is in the set.
    pub fn contains(self, e: Event) -> bool {
        self.0 & e.bit() != 0
    }

    /// Nothing raised.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Both sets together.
    pub fn union(self, o: EventSet) -> EventSet {
        EventSet(self.0 | o.0)
    }

    /// Every event of `o` is in this set.
    pub fn contains_all(self, o: EventSet) -> bool {
        self.0 & o.0 == o.0
    }

    /// The events, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Event> {
        Event::ALL.iter().copied().filter(move |e| self.contains(*e))
    }
}

impl FromIterator<Event> for EventSet {
    fn from_iter<I: IntoIterator<Item = Event>>(it: I) -> Self {
        let mut s = EventSet::EMPTY;
        for e in it {
            s.insert(e);
        }
        s
    }
}

/// Apply an event keyword to `required`; `None` when `opt` is not one.
pub(crate) fn apply(opt: &Opt<'_>, required: &mut EventSet) -> Option<Result<(), SpanError>> {
    let kind = match opt.name {
        "decode-event" => EventKind::Decode,
        "stream-event" => EventKind::Stream,
        "app-layer-event" => EventKind::AppLayer,
        _ => return None,
    };
    Some(parse(opt, kind).map(|e| required.insert(e)))
}

fn parse(opt: &Opt<'_>, kind: EventKind) -> Result<Event, SpanError> {
    let v = opt.value()?;
    let name = v.trim();
    let well_formed = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    if !well_formed {
        return Err(opt.err_value(
            0,
            reason::BAD_VALUE,
            format!("bad {} name '{name}'", kind.keyword()),
        ));
    }
    Event::lookup(kind, name).ok_or_else(|| {
        let mut e = opt.err_value(
            0,
            UNSUPPORTED_EVENT,
            format!("{} '{name}' is not raised by tapwatch", kind.keyword()),
        );
        e.keyword = Some(kind.keyword().to_string());
        e
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Classifications, PacketCtx, PacketFields, RuleSetBuilder, Vars};
    use std::net::{IpAddr, Ipv4Addr};

    fn ctx(events: EventSet) -> PacketCtx<'static> {
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        PacketCtx {
            ip_proto: 6,
            src_ip: ip,
            dst_ip: ip,
            src_port: 1,
            dst_port: 2,
            ttl: 64,
            tcp_flags: Some(0x10),
            icmp_type_code: None,
            dsize: 0,
            has_flow: false,
            to_server: true,
            established: false,
            app_proto: None,
            buffer: &[],
            new_from: 0,
            is_stream: false,
            app_buffers: &[],
            fields: PacketFields {
                events,
                ..PacketFields::default()
            },
        }
    }

    #[test]
    fn names_are_unique_per_kind_and_fit_the_set() {
        for (i, a) in Event::ALL.iter().enumerate() {
            assert_eq!(*a as usize, i);
            assert_eq!(Event::lookup(a.kind(), a.name()), Some(*a));
            for b in Event::ALL.iter().skip(i + 1) {
                assert!(a.kind() != b.kind() || a.name() != b.name());
            }
        }
        let all: EventSet = Event::ALL.iter().copied().collect();
        assert_eq!(all.iter().count(), Event::ALL.len());
    }

    #[test]
    fn set_operations() {
        let mut s = EventSet::default();
        assert!(s.is_empty());
        s.insert(Event::StreamSeqGap);
        assert!(s.contains(Event::StreamSeqGap) && !s.contains(Event::Ipv4TruncPkt));
        let t: EventSet = [Event::Ipv4TruncPkt].into_iter().collect();
        let u = s.union(t);
        assert!(u.contains_all(s) && u.contains_all(t) && !s.contains_all(u));
        assert_eq!(
            u.iter().collect::<Vec<_>>(),
            vec![Event::Ipv4TruncPkt, Event::StreamSeqGap]
        );
    }

    #[test]
    fn rules_match_only_packets_carrying_their_events() {
        let mut b = RuleSetBuilder::new(Vars::default(), Classifications::bundled());
        b.add_text(
            "t.rules",
            "alert pkthdr any any -> any any (msg:\"trunc\"; decode-event:ipv4.trunc_pkt; sid:1;)\n\
             alert tcp any any -> any any (msg:\"overlap\"; stream-event:reassembly_overlap_different_data; sid:2;)\n\
             alert tcp any any -> any any (msg:\"both\"; stream-event:reassembly_seq_gap; stream-event:reassembly_depth_reached; sid:3;)\n\
             alert udp any any -> any any (msg:\"udp only\"; decode-event:ipv4.trunc_pkt; sid:4;)\n",
        );
        let (set, report) = b.build();
        assert_eq!(report.loaded, 4, "{:?}", report.errors);
        let sids = |events: &[Event]| {
            let mut scratch = set.new_scratch();
            let mut hits = Vec::new();
            set.match_packet(&ctx(events.iter().copied().collect()), &mut scratch, &mut hits);
            let mut s: Vec<u32> = hits.iter().map(|&h| set.meta(h).sid).collect();
            s.sort_unstable();
            s
        };
        assert_eq!(sids(&[]), Vec::<u32>::new());
        assert_eq!(sids(&[Event::Ipv4TruncPkt]), vec![1]);
        assert_eq!(sids(&[Event::StreamOverlapDifferentData]), vec![2]);
        assert_eq!(sids(&[Event::StreamSeqGap]), Vec::<u32>::new());
        assert_eq!(
            sids(&[
                Event::StreamSeqGap,
                Event::StreamDepthReached,
                Event::Ipv4TruncPkt
            ]),
            vec![1, 3]
        );
    }

    #[test]
    fn unknown_and_unraised_events_skip_the_rule_with_a_reason() {
        let mut b = RuleSetBuilder::new(Vars::default(), Classifications::bundled());
        b.add_text(
            "t.rules",
            "alert pkthdr any any -> any any (msg:\"a\"; decode-event:ipv6.exthdr_useless_fh; sid:1;)\n\
             alert tcp any any -> any any (msg:\"b\"; stream-event:no_such_event; sid:2;)\n\
             alert tcp any any -> any any (msg:\"c\"; app-layer-event:tls.invalid_record_type; sid:3;)\n\
             alert tcp any any -> any any (msg:\"d\"; stream-event:\"bad name\"; sid:4;)\n\
             alert tcp any any -> any any (msg:\"e\"; decode-event:reassembly_seq_gap; sid:5;)\n\
             alert tcp any any -> any any (msg:\"f\"; stream-event; sid:6;)\n",
        );
        let (_, report) = b.build();
        assert_eq!(report.loaded, 0);
        assert_eq!(report.failed, 6);
        assert_eq!(
            report.by_reason.get(UNSUPPORTED_EVENT),
            Some(&4),
            "{:?}",
            report.errors
        );
        assert_eq!(
            report.by_reason.get(reason::BAD_VALUE),
            Some(&2),
            "{:?}",
            report.errors
        );
        let first = &report.errors[0];
        assert_eq!((first.line, first.column), (1, 56)); // at the event name
        assert!(
            first.message.contains("ipv6.exthdr_useless_fh"),
            "{}",
            first.message
        );
    }

    #[test]
    fn suricata_stock_event_rules_that_tapwatch_raises_load() {
        // Lines as in Suricata's decoder-events.rules and stream-events.rules.
        let mut b = RuleSetBuilder::new(Vars::default(), Classifications::bundled());
        b.add_text(
            "stock.rules",
            "alert pkthdr any any -> any any (msg:\"SURICATA IPv4 truncated packet\"; decode-event:ipv4.trunc_pkt; classtype:protocol-command-decode; sid:2200004; rev:2;)\n\
             alert pkthdr any any -> any any (msg:\"SURICATA FRAG IPv6 Fragmentation overlap\"; decode-event:ipv6.frag_overlap; classtype:protocol-command-decode; sid:2200070; rev:2;)\n\
             alert tcp any any -> any any (msg:\"SURICATA STREAM reassembly overlap with different data\"; stream-event:reassembly_overlap_different_data; classtype:protocol-command-decode; sid:2210050; rev:2;)\n",
        );
        let (_, report) = b.build();
        assert_eq!(report.loaded, 3, "{:?}", report.errors);
    }
}
