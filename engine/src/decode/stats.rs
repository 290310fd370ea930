//! Decoder counters: one set per worker, merged for the summary and the EVE
//! `stats` record.

macro_rules! decode_stats {
    ($($(#[$doc:meta])* $field:ident => $name:literal,)*) => {
        /// What the decoder saw. Layers are counted each time they are decoded,
        /// outer and inner alike (a VXLAN-mirrored TCP packet counts two IPv4
        /// headers), as Suricata's `decoder.*` counters do.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct DecodeStats {
            $($(#[$doc])* pub $field: u64,)*
        }

        impl DecodeStats {
            /// Number of counters in [`DecodeStats::fields`].
            pub const FIELD_COUNT: usize = [$($name),*].len();

            /// Adds another set of counters to this one.
            pub fn merge(&mut self, o: &DecodeStats) {
                $(self.$field = self.$field.saturating_add(o.$field);)*
            }

            /// Counter names and values, in a fixed order. Names follow
            /// Suricata's `decoder.*` stats where one exists (`pkts`, `bytes`,
            /// `invalid`, `too_many_layers`, ...).
            pub fn fields(&self) -> [(&'static str, u64); Self::FIELD_COUNT] {
                [$(($name, self.$field)),*]
            }
        }
    };
}

decode_stats! {
    /// Frames given to `decode`.
    packets => "pkts",
    /// Bytes of those frames.
    bytes => "bytes",
    /// Ethernet headers decoded.
    ethernet => "ethernet",
    /// VLAN tags decoded.
    vlan => "vlan",
    /// IPv4 headers decoded.
    ipv4 => "ipv4",
    /// IPv6 headers decoded.
    ipv6 => "ipv6",
    /// TCP headers decoded.
    tcp => "tcp",
    /// UDP headers decoded.
    udp => "udp",
    /// ICMP headers decoded.
    icmpv4 => "icmpv4",
    /// ICMPv6 headers decoded.
    icmpv6 => "icmpv6",
    /// VXLAN layers decapsulated.
    vxlan => "vxlan",
    /// GENEVE layers decapsulated.
    geneve => "geneve",
    /// Packets whose innermost packet was cut short (or frames that ended
    /// inside an L2/L3 header).
    truncated => "truncated",
    /// Frames rejected as malformed.
    malformed => "invalid",
    /// Frames that carry no IP packet.
    non_ip => "non_ip",
    /// Packets that are IP fragments.
    fragments => "fragments",
    /// Packets with a bad checksum (when validated).
    checksum_bad => "checksum_bad",
    /// Tunnels not decapsulated because the depth limit was reached.
    too_deep => "too_many_layers",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_every_counter() {
        let mut a = DecodeStats {
            packets: 1,
            vxlan: 2,
            too_deep: 3,
            ..Default::default()
        };
        let b = DecodeStats {
            packets: 10,
            geneve: 5,
            too_deep: 1,
            ..Default::default()
        };
        a.merge(&b);
        assert_eq!((a.packets, a.vxlan, a.geneve, a.too_deep), (11, 2, 5, 4));
    }

    #[test]
    fn fields_names_are_unique_and_in_order() {
        let s = DecodeStats {
            packets: 7,
            too_deep: 9,
            ..Default::default()
        };
        let f = s.fields();
        assert_eq!(f.len(), DecodeStats::FIELD_COUNT);
        assert_eq!(f[0], ("pkts", 7));
        assert_eq!(f[f.len() - 1], ("too_many_layers", 9));
        let mut names: Vec<_> = f.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), f.len());
    }
}
