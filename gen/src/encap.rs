//! What the mirror does to a packet: VXLAN (Traffic Mirroring), GENEVE
//! (Gateway Load Balancer), and packet-length truncation.

use std::net::{IpAddr, Ipv4Addr};

use crate::net::ip_step;
use crate::rng::{hash_bytes, mix64};
use crate::Frame;

/// IANA VXLAN port; Traffic Mirroring sends to it.
pub const VXLAN_PORT: u16 = 4789;
/// IANA GENEVE port; a Gateway Load Balancer sends to it.
pub const GENEVE_PORT: u16 = 6081;
/// GENEVE protocol type for an Ethernet payload (Transparent Ethernet Bridging).
pub const GENEVE_PROTO_ETHERNET: u16 = 0x6558;
/// GENEVE option class a Gateway Load Balancer uses for its TLVs.
pub const GENEVE_OPT_CLASS_AWS: u16 = 0x0108;
/// VXLAN flags byte: the I bit (VNI valid).
const VXLAN_FLAG_I: u8 = 0x08;

/// One Traffic Mirroring session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mirror {
    /// The session's virtual network id.
    pub vni: u32,
    /// Address of the mirrored ENI: the outer source.
    pub source_ip: Ipv4Addr,
    /// Address of the mirror target: the outer destination.
    pub target_ip: Ipv4Addr,
}

/// Reads the first IP layer's 5-tuple of an Ethernet frame, tolerating a cut
/// frame. Returns (protocol, (addr, port), (addr, port)).
type Endpoint = (IpAddr, u16);

fn five_tuple(frame: &[u8]) -> Option<(u8, Endpoint, Endpoint)> {
    let mut et = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    let mut off = 14usize;
    while et == 0x8100 || et == 0x88a8 {
        et = u16::from_be_bytes([*frame.get(off + 2)?, *frame.get(off + 3)?]);
        off += 4;
    }
    let ip = frame.get(off..)?;
    let (proto, src, dst, l4) = match et {
        0x0800 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let s: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            (
                *ip.get(9)?,
                IpAddr::from(s),
                IpAddr::from(d),
                ip.get(ihl..).unwrap_or(&[]),
            )
        }
        0x86dd => {
            let s: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            (
                *ip.get(6)?,
                IpAddr::from(s),
                IpAddr::from(d),
                ip.get(40..).unwrap_or(&[]),
            )
        }
        _ => return None,
    };
    let (sp, dp) = match (proto, l4.get(0..4)) {
        (6 | 17 | 132, Some(p)) => (u16::from_be_bytes([p[0], p[1]]), u16::from_be_bytes([p[2], p[3]])),
        _ => (0, 0),
    };
    Some((proto, (src, sp), (dst, dp)))
}

/// Symmetric hash of an Ethernet frame's inner 5-tuple: both directions of a
/// flow hash alike. Frames without an IP layer hash to 0.
pub fn flow_hash(frame: &[u8]) -> u64 {
    let Some((proto, a, b)) = five_tuple(frame) else {
        return 0;
    };
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let key = format!("{proto}|{}|{}|{}|{}", lo.0, lo.1, hi.0, hi.1);
    hash_bytes(key.as_bytes())
}

/// Outer UDP source port: from the flow hash, in the dynamic range.
fn entropy_port(inner: &[u8]) -> u16 {
    49152 + (flow_hash(inner) % 16384) as u16
}

/// Inner bytes that fit under the outer headers' length limits.
fn fit(inner: &[u8], overhead: usize) -> &[u8] {
    // 65_000 keeps the outer IPv4 datagram below its 65535-byte limit.
    let max = 65_000 - overhead;
    &inner[..inner.len().min(max)]
}

fn outer_udp(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, ts_ns: u64, payload: &[u8]) -> Frame {
    let ident = (mix64(ts_ns ^ u64::from(sport) ^ (u64::from(u32::from(src)) << 16)) >> 48) as u16;
    let b = ip_step(IpAddr::V4(src), IpAddr::V4(dst), 64, ident, true).udp(sport, dport);
    let mut data = Vec::with_capacity(b.size(payload.len()));
    if b.write_to_vec(&mut data, payload).is_err() {
        data.clear();
    }
    Frame::new(ts_ns, data)
}

/// Wraps an inner Ethernet frame as Traffic Mirroring sends it: outer
/// Ethernet / IPv4 (mirrored ENI → target, TTL 64, DF) / UDP (source port
/// from a hash of the inner 5-tuple, 49152..=65535; destination 4789) /
/// VXLAN (flags 0x08, VNI) / the inner frame's captured bytes.
///
/// The result is a complete frame (`orig_len == data.len()`): if the inner
/// frame was [`truncate`]d, that shows only as an inner IP length larger than
/// the bytes present, exactly as on the wire.
pub fn vxlan_wrap(inner: &Frame, m: &Mirror) -> Frame {
    let body = fit(&inner.data, 8);
    let mut payload = Vec::with_capacity(8 + body.len());
    payload.extend_from_slice(&[VXLAN_FLAG_I, 0, 0, 0]);
    payload.extend_from_slice(&(m.vni & 0x00ff_ffff).to_be_bytes()[1..]);
    payload.push(0);
    payload.extend_from_slice(body);
    outer_udp(
        m.source_ip,
        m.target_ip,
        entropy_port(&inner.data),
        VXLAN_PORT,
        inner.ts_ns,
        &payload,
    )
}

/// Wraps a frame as a Gateway Load Balancer forwards it to an appliance:
/// outer Ethernet / IPv4 (GWLB → appliance) / UDP 6081 / GENEVE (version 0,
/// protocol 0x6558, VNI) with one option TLV of class 0x0108 (type 0x01, an
/// 8-byte endpoint id) / the frame.
pub fn geneve_wrap(inner: &Frame, vni: u32, gwlb_ip: Ipv4Addr, appliance_ip: Ipv4Addr) -> Frame {
    // Option: class(2) type(1) R|len-in-words(1) + 8 bytes of data.
    let endpoint_id = hash_bytes(&gwlb_ip.octets()).to_be_bytes();
    let opt_words: u8 = 3;
    let body = fit(&inner.data, 8 + 12);
    let mut payload = Vec::with_capacity(8 + 12 + body.len());
    payload.push(opt_words & 0x3f); // version 0, option length in 4-byte words
    payload.push(0); // O and C bits clear
    payload.extend_from_slice(&GENEVE_PROTO_ETHERNET.to_be_bytes());
    payload.extend_from_slice(&(vni & 0x00ff_ffff).to_be_bytes()[1..]);
    payload.push(0);
    payload.extend_from_slice(&GENEVE_OPT_CLASS_AWS.to_be_bytes());
    payload.push(0x01);
    payload.push(2); // 2 words of option data
    payload.extend_from_slice(&endpoint_id);
    payload.extend_from_slice(body);
    outer_udp(
        gwlb_ip,
        appliance_ip,
        entropy_port(&inner.data),
        GENEVE_PORT,
        inner.ts_ns,
        &payload,
    )
}

/// What a mirror session's `packet-length` does to a packet: keeps the first
/// `snap` bytes (of the inner frame) and the original length. Truncate the
/// inner frame, then wrap it.
pub fn truncate(f: &Frame, snap: usize) -> Frame {
    let keep = f.data.len().min(snap);
    Frame {
        ts_ns: f.ts_ns,
        data: f.data[..keep].to_vec(),
        orig_len: f.orig_len.max(u32::try_from(f.data.len()).unwrap_or(u32::MAX)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{check_frame, Encap, Transport};
    use crate::{udp_frame, TcpConn};

    fn mirror() -> Mirror {
        Mirror {
            vni: 1001,
            source_ip: Ipv4Addr::new(10, 0, 1, 5),
            target_ip: Ipv4Addr::new(10, 0, 0, 100),
        }
    }

    fn inner() -> Frame {
        let mut c = TcpConn::new(
            "198.51.100.10:51514".parse().unwrap(),
            "10.0.1.5:80".parse().unwrap(),
            5,
        );
        c.handshake().client_send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        c.frames()[3].clone()
    }

    #[test]
    fn vxlan_layout_bytes() {
        let i = inner();
        let w = vxlan_wrap(&i, &mirror());
        let d = &w.data;
        assert_eq!(&d[12..14], &[0x08, 0x00], "outer IPv4");
        assert_eq!(d[14], 0x45);
        assert_eq!(d[14 + 9], 17, "UDP");
        assert_eq!(&d[26..30], &[10, 0, 1, 5]);
        assert_eq!(&d[30..34], &[10, 0, 0, 100]);
        let sport = u16::from_be_bytes([d[34], d[35]]);
        assert!(sport >= 49152);
        assert_eq!(u16::from_be_bytes([d[36], d[37]]), 4789);
        assert_eq!(
            usize::from(u16::from_be_bytes([d[38], d[39]])),
            8 + 8 + i.data.len()
        );
        assert_eq!(
            &d[42..50],
            &[0x08, 0, 0, 0, 0x00, 0x03, 0xe9, 0x00],
            "flags 0x08, VNI 1001"
        );
        assert_eq!(&d[50..], &i.data[..]);
        assert_eq!(w.ts_ns, i.ts_ns);
        assert_eq!(w.orig_len as usize, w.data.len());
        let s = check_frame(d).unwrap();
        assert_eq!(s.encaps, vec![Encap::Vxlan { vni: 1001 }]);
        assert!(matches!(s.inner.transport, Transport::Tcp { dst_port: 80, .. }));
    }

    #[test]
    fn vxlan_source_port_is_per_flow_and_in_range() {
        let m = mirror();
        let mut c = TcpConn::new(
            "198.51.100.10:51514".parse().unwrap(),
            "10.0.1.5:80".parse().unwrap(),
            5,
        );
        c.handshake().client_send(b"a").server_send(b"b");
        let ports: Vec<u16> = c
            .frames()
            .iter()
            .map(|f| {
                let w = vxlan_wrap(f, &m);
                u16::from_be_bytes([w.data[34], w.data[35]])
            })
            .collect();
        assert!(
            ports.windows(2).all(|p| p[0] == p[1]),
            "same flow, same port: {ports:?}"
        );
        let mut seen = std::collections::HashSet::new();
        for p in 0..200u16 {
            let f = udp_frame(
                std::net::SocketAddr::from(([10, 0, 1, 5], 30000 + p)),
                "10.0.0.2:53".parse().unwrap(),
                1,
                b"q",
            );
            let w = vxlan_wrap(&f, &m);
            let sp = u16::from_be_bytes([w.data[34], w.data[35]]);
            assert!(sp >= 49152);
            seen.insert(sp);
        }
        assert!(seen.len() > 150, "ports spread across flows: {}", seen.len());
    }

    #[test]
    fn geneve_layout_bytes() {
        let v = vxlan_wrap(&inner(), &mirror());
        let g = geneve_wrap(&v, 77, Ipv4Addr::new(10, 0, 9, 10), Ipv4Addr::new(10, 0, 9, 20));
        let d = &g.data;
        assert_eq!(&d[26..30], &[10, 0, 9, 10]);
        assert_eq!(&d[30..34], &[10, 0, 9, 20]);
        assert_eq!(u16::from_be_bytes([d[36], d[37]]), 6081);
        let gh = &d[42..];
        assert_eq!(gh[0], 0x03, "version 0, 3 words of options");
        assert_eq!(gh[1], 0x00);
        assert_eq!(&gh[2..4], &[0x65, 0x58]);
        assert_eq!(&gh[4..8], &[0, 0, 77, 0]);
        assert_eq!(&gh[8..10], &[0x01, 0x08], "option class");
        assert_eq!(gh[10], 0x01);
        assert_eq!(gh[11], 2);
        assert_eq!(&gh[20..], &v.data[..]);
        let s = check_frame(d).unwrap();
        assert_eq!(
            s.encaps,
            vec![Encap::Geneve { vni: 77 }, Encap::Vxlan { vni: 1001 }]
        );
    }

    #[test]
    fn truncate_keeps_orig_len_and_wraps_cut_inner() {
        let mut c = TcpConn::new(
            "198.51.100.10:51514".parse().unwrap(),
            "10.0.1.5:80".parse().unwrap(),
            5,
        );
        c.handshake().server_send(&[b'x'; 1000]);
        let full = c.frames()[3].clone();
        let t = truncate(&full, 128);
        assert_eq!(t.data.len(), 128);
        assert_eq!(t.orig_len as usize, full.data.len());
        assert!(t.is_truncated());
        assert_eq!(&t.data[..], &full.data[..128]);
        let again = truncate(&t, 64);
        assert_eq!(again.orig_len, t.orig_len);
        let short = truncate(&full, 10_000);
        assert_eq!(short, full);
        let w = vxlan_wrap(&t, &mirror());
        assert_eq!(w.data.len(), 50 + 128);
        assert!(!w.is_truncated());
        let s = check_frame(&w.data).unwrap();
        assert!(s.inner.truncated);
        assert_eq!(
            u16::from_be_bytes([w.data[38], w.data[39]]),
            8 + 8 + 128,
            "outer UDP length covers what is sent"
        );
    }

    #[test]
    fn flow_hash_is_symmetric_and_tolerates_junk() {
        let a = udp_frame(
            "10.0.0.1:1000".parse().unwrap(),
            "10.0.0.2:53".parse().unwrap(),
            1,
            b"q",
        );
        let b = udp_frame(
            "10.0.0.2:53".parse().unwrap(),
            "10.0.0.1:1000".parse().unwrap(),
            2,
            b"r",
        );
        assert_eq!(flow_hash(&a.data), flow_hash(&b.data));
        assert_eq!(flow_hash(&[]), 0);
        assert_eq!(flow_hash(&[0u8; 13]), 0);
        let _ = flow_hash(&a.data[..20]);
    }
}
