//! Decode: one captured frame → a [`Packet`] view of its innermost IP packet.
//!
//! Decoding is pure: it reads the frame, borrows from it, allocates nothing and
//! never panics. It peels, outermost first: the link layer ([`LinkType`]),
//! 802.1Q/802.1ad VLAN tags at any depth, IPv4 (with options) or IPv6 (with
//! extension headers), then TCP, UDP, ICMP or ICMPv6. A UDP datagram to or from
//! a configured VXLAN port (RFC 7348) or GENEVE port (RFC 8926) whose payload
//! parses as that tunnel is decapsulated and the inner frame decoded the same
//! way, up to [`DecodeConfig::max_tunnel_depth`] layers.
//!
//! L2–L4 slicing is etherparse's lax slicing, so packets cut short by the
//! mirror session (`packet-length 128`) or a capture snap length still decode:
//! every field the bytes hold is filled, and [`Packet::truncated`] /
//! [`Packet::payload_missing`] say what is missing. IPv4/IPv6 fragments are
//! marked, not reassembled; only a first fragment carries L4 fields.
//!
//! [`decode`] counts what it sees, and every error it returns, in
//! [`DecodeStats`], so callers only need to count what they drop themselves.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

mod checksum;
mod link;
mod net;
mod place;
mod stats;
#[cfg(test)]
mod tests;

use std::net::{IpAddr, Ipv4Addr};

pub use place::{place, Placement};
pub use stats::DecodeStats;

pub use crate::ingress::LinkType;

/// Most tunnel layers a [`Packet`] records.
pub const MAX_TUNNELS: usize = 4;

/// Default UDP port of VXLAN (IANA; AWS VPC Traffic Mirroring).
pub const VXLAN_PORT: u16 = 4789;
/// Default UDP port of GENEVE (IANA; AWS Gateway Load Balancer).
pub const GENEVE_PORT: u16 = 6081;

/// What decode looks for. Built once, before the packet path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeConfig {
    /// UDP ports (source or destination) that carry VXLAN.
    pub vxlan_ports: Vec<u16>,
    /// UDP ports (source or destination) that carry GENEVE.
    pub geneve_ports: Vec<u16>,
    /// Most tunnel layers to peel; capped at [`MAX_TUNNELS`]. A tunnel beyond
    /// this is counted in [`DecodeStats::too_deep`] and left as UDP payload.
    pub max_tunnel_depth: usize,
    /// Verify IPv4 header, TCP, UDP, ICMP and ICMPv6 checksums.
    pub checksum_validate: bool,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            vxlan_ports: vec![VXLAN_PORT],
            geneve_ports: vec![GENEVE_PORT],
            max_tunnel_depth: MAX_TUNNELS,
            checksum_validate: false,
        }
    }
}

/// A tunnel encapsulation tapwatch decapsulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encap {
    /// VXLAN (RFC 7348).
    Vxlan,
    /// GENEVE (RFC 8926).
    Geneve,
}

impl Encap {
    /// The name used in EVE (`mirror.encap`): `"vxlan"` or `"geneve"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encap::Vxlan => "vxlan",
            Encap::Geneve => "geneve",
        }
    }
}

/// One decapsulated tunnel layer: the outer UDP datagram that carried it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunnelLayer {
    /// Which encapsulation.
    pub encap: Encap,
    /// VXLAN or GENEVE network identifier (24 bits).
    pub vni: u32,
    /// Outer IP source (for a mirror session: the mirror source's address).
    pub outer_src: IpAddr,
    /// Outer IP destination (the mirror target).
    pub outer_dst: IpAddr,
    /// Outer UDP source port.
    pub outer_sport: u16,
    /// Outer UDP destination port.
    pub outer_dport: u16,
}

/// TCP header fields the engine uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpInfo {
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Flags byte: see the `TcpInfo::FIN` … `TcpInfo::CWR` constants.
    pub flags: u8,
    /// Window (unscaled).
    pub window: u16,
}

impl TcpInfo {
    /// FIN flag bit.
    pub const FIN: u8 = 0x01;
    /// SYN flag bit.
    pub const SYN: u8 = 0x02;
    /// RST flag bit.
    pub const RST: u8 = 0x04;
    /// PSH flag bit.
    pub const PSH: u8 = 0x08;
    /// ACK flag bit.
    pub const ACK: u8 = 0x10;
    /// URG flag bit.
    pub const URG: u8 = 0x20;
    /// ECE flag bit.
    pub const ECE: u8 = 0x40;
    /// CWR flag bit.
    pub const CWR: u8 = 0x80;

    /// True if every bit of `flags` is set.
    pub fn has(&self, flags: u8) -> bool {
        self.flags & flags == flags
    }
}

/// ICMP / ICMPv6 header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpInfo {
    /// Type.
    pub itype: u8,
    /// Code.
    pub icode: u8,
    /// Identifier, for messages that have one (echo, timestamp, ...).
    pub id: Option<u16>,
    /// Sequence number, for messages that have one.
    pub seq: Option<u16>,
}

/// The decoded view of a frame's innermost IP packet. Borrows the frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Tunnel layers, outermost first; the first `tunnel_count` are `Some`.
    pub tunnels: [Option<TunnelLayer>; MAX_TUNNELS],
    /// Number of tunnel layers peeled.
    pub tunnel_count: usize,
    /// The innermost frame's VLAN ids, outermost first (the first two tags).
    pub vlan: [u16; 2],
    /// How many entries of `vlan` are valid (0..=2; deeper tags are counted in
    /// stats but not kept).
    pub vlan_count: usize,
    /// IP source.
    pub src: IpAddr,
    /// IP destination.
    pub dst: IpAddr,
    /// Transport protocol number (after IPv6 extension headers / IPv4 AH).
    pub ip_proto: u8,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification, or the IPv6 fragment header's identification (0 if none).
    pub ip_id: u32,
    /// Part of a fragmented datagram (MF set or offset not 0).
    pub is_fragment: bool,
    /// Source port (0 when the protocol has none or the header is missing).
    pub sport: u16,
    /// Destination port (0 when the protocol has none or the header is missing).
    pub dport: u16,
    /// TCP header, when the protocol is TCP and the whole header is present.
    pub tcp: Option<TcpInfo>,
    /// ICMP/ICMPv6 header, when present.
    pub icmp: Option<IcmpInfo>,
    /// The innermost IP packet as captured, from its IP header on (empty for
    /// packets built by hand). Defragmentation reads fragment headers here.
    pub ip: &'a [u8],
    /// L4 payload bytes present in the frame (for protocols without a parsed
    /// L4 header, and for non-first fragments: the whole IP payload).
    pub payload: &'a [u8],
    /// The innermost packet is shorter than its headers say.
    pub truncated: bool,
    /// Bytes of L4 payload the headers announce but the frame lacks.
    pub payload_missing: u32,
    /// A checksum failed (only computed with `checksum_validate`, and only for
    /// packets that are not truncated; L4 checksums not for fragments).
    pub checksum_bad: bool,
    /// Captured bytes from the innermost IP header to the end of the frame
    /// (what flow byte counters use for tunnelled packets, as Suricata).
    pub ip_len: u32,
}

impl<'a> Packet<'a> {
    /// A packet with no layers: unspecified addresses, no ports, no payload.
    pub fn empty() -> Packet<'a> {
        let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        Packet {
            tunnels: [None; MAX_TUNNELS],
            tunnel_count: 0,
            vlan: [0; 2],
            vlan_count: 0,
            src: unspecified,
            dst: unspecified,
            ip_proto: 0,
            ttl: 0,
            ip_id: 0,
            is_fragment: false,
            sport: 0,
            dport: 0,
            tcp: None,
            icmp: None,
            ip: &[],
            payload: &[],
            truncated: false,
            payload_missing: 0,
            checksum_bad: false,
            ip_len: 0,
        }
    }

    /// Clears everything but the tunnel layers, before decoding an inner frame.
    fn reset_layer(&mut self) {
        let tunnels = self.tunnels;
        let tunnel_count = self.tunnel_count;
        *self = Packet::empty();
        self.tunnels = tunnels;
        self.tunnel_count = tunnel_count;
    }

    fn push_vlan(&mut self, id: u16) {
        if let Some(slot) = self.vlan.get_mut(self.vlan_count) {
            *slot = id;
            self.vlan_count += 1;
        }
    }

    /// The innermost tunnel layer, if the packet was tunnelled.
    pub fn innermost_tunnel(&self) -> Option<&TunnelLayer> {
        let last = self.tunnel_count.checked_sub(1)?;
        self.tunnels.get(last)?.as_ref()
    }

    /// The outermost tunnel layer (the mirror session's), if any.
    pub fn outermost_tunnel(&self) -> Option<&TunnelLayer> {
        self.tunnels.first()?.as_ref()
    }

    /// Tunnel layers, outermost first.
    pub fn tunnel_layers(&self) -> impl Iterator<Item = &TunnelLayer> {
        self.tunnels.iter().take(self.tunnel_count).flatten()
    }

    /// The VLAN ids of the innermost frame.
    pub fn vlans(&self) -> &[u16] {
        self.vlan.get(..self.vlan_count).unwrap_or(&[])
    }

    /// True for TCP.
    pub fn is_tcp(&self) -> bool {
        self.ip_proto == net::PROTO_TCP
    }

    /// True for UDP.
    pub fn is_udp(&self) -> bool {
        self.ip_proto == net::PROTO_UDP
    }
}

/// Why a frame did not yield a packet. Each is counted by [`decode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame carries something other than IPv4/IPv6 (ARP, LLC, ...).
    #[error("not an IP packet")]
    NonIp,
    /// A header is invalid (named).
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The frame ends inside a header needed to find the IP addresses (named).
    #[error("truncated {0}")]
    Truncated(&'static str),
}

/// Where decoding resumes after a layer.
#[derive(Clone, Copy)]
enum Next<'a> {
    /// A link-layer frame.
    Link(LinkType, &'a [u8]),
    /// An IP packet (GENEVE carrying IP directly).
    Ip(link::L3, &'a [u8]),
}

/// Decodes one frame of the given link type into the view of its innermost IP
/// packet, counting what it saw in `stats`.
///
/// # Errors
/// [`DecodeError`] if no IP packet could be found; counted in `stats` too.
#[inline]
pub fn decode<'a>(
    link: LinkType,
    frame: &'a [u8],
    cfg: &DecodeConfig,
    stats: &mut DecodeStats,
) -> Result<Packet<'a>, DecodeError> {
    stats.packets += 1;
    stats.bytes = stats.bytes.saturating_add(frame.len() as u64);
    // Built in place (a `Packet` is some 300 bytes, not worth moving).
    let mut pkt = Packet::empty();
    match decode_layers(link, frame, cfg, stats, &mut pkt) {
        Ok(()) => {
            stats.truncated += u64::from(pkt.truncated);
            stats.fragments += u64::from(pkt.is_fragment);
            stats.checksum_bad += u64::from(pkt.checksum_bad);
            Ok(pkt)
        }
        Err(e) => {
            match e {
                DecodeError::NonIp => stats.non_ip += 1,
                DecodeError::Malformed(_) => stats.malformed += 1,
                DecodeError::Truncated(_) => stats.truncated += 1,
            }
            Err(e)
        }
    }
}

fn decode_layers<'a>(
    link: LinkType,
    frame: &'a [u8],
    cfg: &DecodeConfig,
    stats: &mut DecodeStats,
    pkt: &mut Packet<'a>,
) -> Result<(), DecodeError> {
    let depth_limit = cfg.max_tunnel_depth.min(MAX_TUNNELS);
    let mut next = Next::Link(link, frame);
    // Each turn either returns or peels one more tunnel, so this runs at most
    // MAX_TUNNELS + 1 times.
    loop {
        pkt.reset_layer();
        let (l3, bytes) = match next {
            Next::Link(lt, bytes) => link::strip(lt, bytes, pkt, stats)?,
            Next::Ip(l3, bytes) => (l3, bytes),
        };
        pkt.ip_len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        let udp = net::decode_ip(l3, bytes, pkt, cfg, stats)?;
        let Some(udp_payload) = udp else {
            return Ok(());
        };
        let Some((encap, vni, inner)) = find_tunnel(cfg, pkt.sport, pkt.dport, udp_payload) else {
            return Ok(());
        };
        if pkt.tunnel_count >= depth_limit {
            stats.too_deep += 1;
            return Ok(());
        }
        let layer = TunnelLayer {
            encap,
            vni,
            outer_src: pkt.src,
            outer_dst: pkt.dst,
            outer_sport: pkt.sport,
            outer_dport: pkt.dport,
        };
        match pkt.tunnels.get_mut(pkt.tunnel_count) {
            Some(slot) => *slot = Some(layer),
            None => {
                stats.too_deep += 1;
                return Ok(());
            }
        }
        pkt.tunnel_count += 1;
        match encap {
            Encap::Vxlan => stats.vxlan += 1,
            Encap::Geneve => stats.geneve += 1,
        }
        next = inner;
    }
}

/// Smallest inner Ethernet frame worth decapsulating: its header.
const ETHERNET_HEADER_LEN: usize = 14;

/// If the UDP payload is a VXLAN or GENEVE tunnel on a configured port,
/// returns the encapsulation, the VNI and where the inner frame starts.
/// A payload that does not parse as the tunnel is plain UDP.
fn find_tunnel<'a>(
    cfg: &DecodeConfig,
    sport: u16,
    dport: u16,
    payload: &'a [u8],
) -> Option<(Encap, u32, Next<'a>)> {
    // The destination port decides first: mirror traffic uses a hashed source port.
    for port in [dport, sport] {
        if cfg.vxlan_ports.contains(&port) {
            if let Ok((inner, hdr)) = tapwatch_parsers::parse_vxlan(payload) {
                if inner.len() >= ETHERNET_HEADER_LEN {
                    return Some((Encap::Vxlan, hdr.vni, Next::Link(LinkType::Ethernet, inner)));
                }
            }
        }
        if cfg.geneve_ports.contains(&port) {
            if let Ok((inner, hdr)) = tapwatch_parsers::parse_geneve(payload) {
                use tapwatch_parsers::geneve::{PROTO_ETHERNET, PROTO_IPV4, PROTO_IPV6};

                let next = match hdr.protocol_type {
                    PROTO_ETHERNET if inner.len() >= ETHERNET_HEADER_LEN => {
                        Next::Link(LinkType::Ethernet, inner)
                    }
                    PROTO_IPV4 if !inner.is_empty() => Next::Ip(link::L3::Ipv4, inner),
                    PROTO_IPV6 if !inner.is_empty() => Next::Ip(link::L3::Ipv6, inner),
                    _ => continue,
                };
                return Some((Encap::Geneve, hdr.vni, next));
            }
        }
    }
    None
}
