//! Inner frames: Ethernet + IPv4/IPv6 + UDP/ICMP, built with etherparse.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use etherparse::{IpHeaders, Ipv4Header, Ipv6Header, PacketBuilder, PacketBuilderStep};

use crate::rng::{hash_bytes, mix64};
use crate::Frame;

/// Largest transport payload this crate puts in one packet. Leaves room for
/// two layers of encapsulation below the 65535-byte IP limit, so building and
/// wrapping can never fail.
pub const MAX_L4_PAYLOAD: usize = 64_000;

/// A stable, locally administered MAC address for an IP address.
pub fn mac_for(ip: IpAddr) -> [u8; 6] {
    let h = match ip {
        IpAddr::V4(a) => hash_bytes(&a.octets()),
        IpAddr::V6(a) => hash_bytes(&a.octets()),
    }
    .to_be_bytes();
    [0x02, h[0], h[1], h[2], h[3], h[4]]
}

/// Puts both addresses in the same family: a mixed pair becomes IPv6 with the
/// IPv4 side written as an IPv4-mapped address.
pub(crate) fn same_family(a: IpAddr, b: IpAddr) -> (IpAddr, IpAddr) {
    match (a, b) {
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => (a, b),
        _ => (IpAddr::V6(to_v6(a)), IpAddr::V6(to_v6(b))),
    }
}

fn to_v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

pub(crate) fn same_family_sock(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    let (ia, ib) = same_family(a.ip(), b.ip());
    (SocketAddr::new(ia, a.port()), SocketAddr::new(ib, b.port()))
}

/// Ethernet + IP header step. `src`/`dst` must be of the same family (see
/// [`same_family`]); IPv4 gets `ident` and the DF bit, IPv6 a flow label
/// derived from `ident`.
pub(crate) fn ip_step(
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    ident: u16,
    dont_fragment: bool,
) -> PacketBuilderStep<IpHeaders> {
    let (src, dst) = same_family(src, dst);
    let eth = PacketBuilder::ethernet2(mac_for(src), mac_for(dst));
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => eth.ip(IpHeaders::Ipv4(
            Ipv4Header {
                source: s.octets(),
                destination: d.octets(),
                time_to_live: ttl,
                identification: ident,
                dont_fragment,
                ..Default::default()
            },
            Default::default(),
        )),
        _ => {
            let mut h = Ipv6Header {
                source: to_v6(src).octets(),
                destination: to_v6(dst).octets(),
                hop_limit: ttl,
                ..Default::default()
            };
            if let Ok(label) = etherparse::Ipv6FlowLabel::try_new(u32::from(ident)) {
                h.flow_label = label;
            }
            eth.ip(IpHeaders::Ipv6(h, Default::default()))
        }
    }
}

pub(crate) fn clamp_payload(p: &[u8]) -> &[u8] {
    &p[..p.len().min(MAX_L4_PAYLOAD)]
}

fn ident_for(src: IpAddr, ts_ns: u64, payload: &[u8]) -> u16 {
    let a = match src {
        IpAddr::V4(a) => u64::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a) as u64,
    };
    (mix64(a ^ ts_ns ^ hash_bytes(&payload[..payload.len().min(64)])) >> 48) as u16
}

/// A UDP datagram in an Ethernet frame (TTL 64, checksums filled in).
/// Payloads longer than [`MAX_L4_PAYLOAD`] are cut to it.
pub fn udp_frame(src: SocketAddr, dst: SocketAddr, ts_ns: u64, payload: &[u8]) -> Frame {
    let (src, dst) = same_family_sock(src, dst);
    let payload = clamp_payload(payload);
    let id = ident_for(src.ip(), ts_ns, payload);
    let b = ip_step(src.ip(), dst.ip(), 64, id, false).udp(src.port(), dst.port());
    let mut data = Vec::with_capacity(b.size(payload.len()));
    // Cannot fail: the payload is clamped below every length limit.
    if b.write_to_vec(&mut data, payload).is_err() {
        data.clear();
    }
    Frame::new(ts_ns, data)
}

fn icmp_echo(src: IpAddr, dst: IpAddr, ts_ns: u64, id: u16, seq: u16, payload: &[u8], reply: bool) -> Frame {
    let (src, dst) = same_family(src, dst);
    let payload = clamp_payload(payload);
    let ident = ident_for(src, ts_ns, payload);
    let step = ip_step(src, dst, 64, ident, true);
    let mut data = Vec::new();
    let res = match (src, reply) {
        (IpAddr::V4(_), false) => step.icmpv4_echo_request(id, seq).write_to_vec(&mut data, payload),
        (IpAddr::V4(_), true) => step.icmpv4_echo_reply(id, seq).write_to_vec(&mut data, payload),
        (IpAddr::V6(_), false) => step.icmpv6_echo_request(id, seq).write_to_vec(&mut data, payload),
        (IpAddr::V6(_), true) => step.icmpv6_echo_reply(id, seq).write_to_vec(&mut data, payload),
    };
    if res.is_err() {
        data.clear();
    }
    Frame::new(ts_ns, data)
}

/// An ICMP (IPv4) or ICMPv6 (IPv6) echo request.
pub fn icmp_echo_frame(src: IpAddr, dst: IpAddr, ts_ns: u64, id: u16, seq: u16, payload: &[u8]) -> Frame {
    icmp_echo(src, dst, ts_ns, id, seq, payload, false)
}

/// The matching echo reply (`src` is the replying host).
pub fn icmp_echo_reply_frame(
    src: IpAddr,
    dst: IpAddr,
    ts_ns: u64,
    id: u16,
    seq: u16,
    payload: &[u8],
) -> Frame {
    icmp_echo(src, dst, ts_ns, id, seq, payload, true)
}

/// Cuts the IP payload of an Ethernet frame (IPv4 or IPv6) into fragments
/// of `size` bytes (a multiple of 8), last first when `order_rev`. `extra`
/// adds fragments `(offset, bytes)` before the last one (overlaps, for
/// defragmentation tests). IPv6 fragments get a fragment header with id
/// 0x12345678; IPv4 ones keep the packet's id. Frames 1 µs apart.
///
/// # Panics
/// On a frame that is not Ethernet + a whole IP header (test input only).
pub fn fragment_frame(f: &Frame, size: usize, extra: &[(usize, Vec<u8>)], order_rev: bool) -> Vec<Frame> {
    let d = &f.data;
    let eth = &d[..14];
    let v6 = d[12..14] == [0x86, 0xdd];
    let (hdr, payload, nh) = if v6 {
        (d[14..54].to_vec(), d[54..].to_vec(), d[20])
    } else {
        let ihl = usize::from(d[14] & 0x0f) * 4;
        (d[14..14 + ihl].to_vec(), d[14 + ihl..].to_vec(), d[23])
    };
    let mut pieces: Vec<(usize, Vec<u8>, bool)> = payload
        .chunks(size)
        .enumerate()
        .map(|(i, c)| (i * size, c.to_vec(), (i + 1) * size < payload.len()))
        .collect();
    if order_rev {
        pieces.reverse();
    }
    // Extra fragments go before the last one, while the datagram is open.
    let last = pieces.pop();
    for (off, bytes) in extra {
        pieces.push((*off, bytes.clone(), off + bytes.len() < payload.len()));
    }
    pieces.extend(last);
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, (off, bytes, more))| {
            let mut out = eth.to_vec();
            let mut h = hdr.clone();
            if v6 {
                h[4..6].copy_from_slice(&((8 + bytes.len()) as u16).to_be_bytes());
                h[6] = 44;
                out.extend_from_slice(&h);
                let fo = (off as u16 & 0xfff8) | u16::from(more);
                out.extend_from_slice(&[nh, 0]);
                out.extend_from_slice(&fo.to_be_bytes());
                out.extend_from_slice(&0x1234_5678u32.to_be_bytes());
            } else {
                let total = (h.len() + bytes.len()) as u16;
                h[2..4].copy_from_slice(&total.to_be_bytes());
                let fo = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
                h[6..8].copy_from_slice(&fo.to_be_bytes());
                h[10..12].copy_from_slice(&[0, 0]);
                let mut sum: u32 = h
                    .chunks(2)
                    .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
                    .sum();
                while sum > 0xffff {
                    sum = (sum & 0xffff) + (sum >> 16);
                }
                h[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
                out.extend_from_slice(&h);
            }
            out.extend_from_slice(&bytes);
            Frame::new(f.ts_ns + i as u64 * 1_000, out)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{check_frame, Transport};

    #[test]
    fn udp_frame_v4_and_v6_parse_with_valid_checksums() {
        let cases = [
            ("10.0.1.5:40000", "10.0.0.2:53"),
            ("[2001:db8::1]:40000", "[2001:db8::53]:53"),
        ];
        for (s, d) in cases {
            let f = udp_frame(s.parse().unwrap(), d.parse().unwrap(), 1, b"hello");
            let sum = check_frame(&f.data).unwrap();
            assert_eq!(
                sum.inner.transport,
                Transport::Udp {
                    src_port: 40000,
                    dst_port: 53
                }
            );
            assert_eq!(sum.inner.payload, b"hello".to_vec());
            let p = etherparse::SlicedPacket::from_ethernet(&f.data).unwrap();
            assert!(p.net.is_some());
        }
    }

    #[test]
    fn mixed_families_become_ipv6() {
        let f = udp_frame(
            "10.0.0.1:1".parse().unwrap(),
            "[2001:db8::1]:2".parse().unwrap(),
            1,
            b"x",
        );
        assert_eq!(&f.data[12..14], &[0x86, 0xdd]);
        check_frame(&f.data).unwrap();
    }

    #[test]
    fn icmp_echo_request_and_reply() {
        let a: IpAddr = "10.0.1.5".parse().unwrap();
        let b: IpAddr = "10.0.3.15".parse().unwrap();
        let req = icmp_echo_frame(a, b, 1, 0x1234, 7, b"ping");
        let rep = icmp_echo_reply_frame(b, a, 2, 0x1234, 7, b"ping");
        let rq = check_frame(&req.data).unwrap();
        let rp = check_frame(&rep.data).unwrap();
        assert_eq!(rq.inner.transport, Transport::Icmp { itype: 8, icode: 0 });
        assert_eq!(rp.inner.transport, Transport::Icmp { itype: 0, icode: 0 });
        let a6: IpAddr = "2001:db8::1".parse().unwrap();
        let b6: IpAddr = "2001:db8::2".parse().unwrap();
        let req6 = icmp_echo_frame(a6, b6, 1, 1, 1, b"");
        assert_eq!(
            check_frame(&req6.data).unwrap().inner.transport,
            Transport::Icmp { itype: 128, icode: 0 }
        );
    }

    #[test]
    fn oversized_payload_is_clamped_not_fatal() {
        let big = vec![0u8; 70_000];
        let f = udp_frame(
            "10.0.0.1:1".parse().unwrap(),
            "10.0.0.2:2".parse().unwrap(),
            1,
            &big,
        );
        assert_eq!(f.data.len(), 14 + 20 + 8 + MAX_L4_PAYLOAD);
        check_frame(&f.data).unwrap();
    }

    #[test]
    fn macs_are_stable_and_local() {
        let ip: IpAddr = "10.0.1.5".parse().unwrap();
        assert_eq!(mac_for(ip), mac_for(ip));
        assert_eq!(mac_for(ip)[0] & 0x03, 0x02, "locally administered unicast");
        assert_ne!(mac_for(ip), mac_for("10.0.1.6".parse().unwrap()));
    }
}
