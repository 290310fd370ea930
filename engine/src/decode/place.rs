//! Placement: the few fields the replay reader needs of a frame (the inner
//! 5-tuple, to pick the worker, and the outer tunnel, to count its flow),
//! read straight from the bytes for the shape of mirrored traffic: Ethernet,
//! IPv4, UDP to a VXLAN or GENEVE port, the tunnel, then Ethernet (or IP for
//! GENEVE), IPv4 and a whole TCP or UDP header, nothing fragmented.
//!
//! Everything else (VLAN tags, IPv6, ICMP, nested tunnels, fragments, cut or
//! malformed headers) returns `None`, and the reader decodes the frame in
//! full. Where `place` answers, [`decode`](super::decode) gives the same
//! addresses, ports, protocol and tunnel layer; the tests check that on
//! every frame shape they can build, and on arbitrary bytes.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use std::net::{IpAddr, Ipv4Addr};

use super::link::{ETHERTYPE_IPV4, L3};
use super::net::{PROTO_TCP, PROTO_UDP};
use super::{find_tunnel, DecodeConfig, LinkType, Next, TunnelLayer};

/// The innermost packet's endpoints and the one tunnel layer around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub ip_proto: u8,
    pub tunnel: TunnelLayer,
}

/// An unfragmented IPv4 packet's addresses, protocol and payload (cut to
/// the header's total length, as decode's lax slicing does).
struct V4<'a> {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    payload: &'a [u8],
}

fn ipv4(b: &[u8]) -> Option<V4<'_>> {
    let h = b.get(..20)?;
    let (&vihl, &proto) = (h.first()?, h.get(9)?);
    let ihl = usize::from(vihl & 0x0f) * 4;
    if vihl >> 4 != 4 || ihl < 20 {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([*h.get(2)?, *h.get(3)?]));
    let frag = u16::from_be_bytes([*h.get(6)?, *h.get(7)?]);
    // More fragments, or an offset: the full decode marks it a fragment.
    if frag & 0x3fff != 0 || total < ihl || b.len() < ihl {
        return None;
    }
    let end = total.min(b.len());
    let addr = |at: usize| -> Option<Ipv4Addr> {
        let a: [u8; 4] = h.get(at..at + 4)?.try_into().ok()?;
        Some(Ipv4Addr::from(a))
    };
    Some(V4 {
        src: addr(12)?,
        dst: addr(16)?,
        proto,
        payload: b.get(ihl..end)?,
    })
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The IPv4 packet behind an Ethernet header, if its EtherType says IPv4.
fn ethernet_ipv4(frame: &[u8]) -> Option<V4<'_>> {
    if be16(frame, 12)? != ETHERTYPE_IPV4 {
        return None;
    }
    ipv4(frame.get(14..)?)
}

/// UDP payload as decode's lax slicing cuts it: to the length field when
/// the bytes hold it and it is at least a header, else to the end.
fn udp_payload(seg: &[u8]) -> Option<&[u8]> {
    let len = usize::from(be16(seg, 4)?);
    let end = if len < 8 || len > seg.len() {
        seg.len()
    } else {
        len
    };
    seg.get(8..end)
}

/// Reads the placement fields of `frame`, or `None` when it is not the
/// plain mirrored shape (the caller then decodes it in full).
pub fn place(link: LinkType, frame: &[u8], cfg: &DecodeConfig) -> Option<Placement> {
    if link != LinkType::Ethernet || cfg.max_tunnel_depth == 0 {
        return None;
    }
    let outer = ethernet_ipv4(frame)?;
    if outer.proto != PROTO_UDP {
        return None;
    }
    let (osport, odport) = (be16(outer.payload, 0)?, be16(outer.payload, 2)?);
    let (encap, vni, next) = find_tunnel(cfg, osport, odport, udp_payload(outer.payload)?)?;
    let inner = match next {
        Next::Link(LinkType::Ethernet, f) => ethernet_ipv4(f)?,
        Next::Ip(L3::Ipv4, b) => ipv4(b)?,
        _ => return None,
    };
    let seg = inner.payload;
    let (sport, dport) = (be16(seg, 0)?, be16(seg, 2)?);
    match inner.proto {
        PROTO_TCP => {
            // A whole header with a sane data offset; anything else is
            // for the full decode to judge (cut, or malformed).
            let doff = usize::from(*seg.get(12)? >> 4) * 4;
            if doff < 20 || seg.len() < doff {
                return None;
            }
        }
        PROTO_UDP => {
            // A tunnel inside the tunnel is peeled by the full decode.
            let tunnel_port = |p: u16| cfg.vxlan_ports.contains(&p) || cfg.geneve_ports.contains(&p);
            if seg.len() < 8 || tunnel_port(sport) || tunnel_port(dport) {
                return None;
            }
        }
        _ => return None,
    }
    Some(Placement {
        src: IpAddr::V4(inner.src),
        dst: IpAddr::V4(inner.dst),
        sport,
        dport,
        ip_proto: inner.proto,
        tunnel: TunnelLayer {
            encap,
            vni,
            outer_src: IpAddr::V4(outer.src),
            outer_dst: IpAddr::V4(outer.dst),
            outer_sport: osport,
            outer_dport: odport,
        },
    })
}
