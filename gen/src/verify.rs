//! An independent decoder for generated frames: walks VXLAN/GENEVE layers,
//! checks every length and checksum with its own arithmetic, and cross-checks
//! each layer with etherparse. Tests use it to prove captures are well formed.

use std::net::IpAddr;

use etherparse::{LaxSlicedPacket, SlicedPacket};

use crate::encap::{GENEVE_PORT, GENEVE_PROTO_ETHERNET, VXLAN_PORT};

/// One tunnel layer, outermost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encap {
    /// VXLAN with its VNI.
    Vxlan { vni: u32 },
    /// GENEVE with its VNI.
    Geneve { vni: u32 },
}

/// The innermost transport header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TCP ports, sequence numbers and the flags byte.
    Tcp {
        src_port: u16,
        dst_port: u16,
        seq: u32,
        ack: u32,
        flags: u8,
    },
    /// UDP ports.
    Udp { src_port: u16, dst_port: u16 },
    /// ICMP or ICMPv6 type and code.
    Icmp { itype: u8, icode: u8 },
    /// Anything else, by IP protocol number, or a header cut off.
    Other(u8),
}

/// The innermost packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inner {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Transport header.
    pub transport: Transport,
    /// Transport payload bytes present (may be cut when `truncated`).
    pub payload: Vec<u8>,
    /// The IP packet is longer than the bytes present.
    pub truncated: bool,
}

/// A decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Tunnel layers, outermost first.
    pub encaps: Vec<Encap>,
    /// Outermost IP source/destination.
    pub outer_src: IpAddr,
    /// Outermost IP destination.
    pub outer_dst: IpAddr,
    /// The innermost packet.
    pub inner: Inner,
}

/// Internet checksum accumulation.
fn sum16(mut acc: u32, data: &[u8]) -> u32 {
    let mut it = data.chunks_exact(2);
    for c in &mut it {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = it.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

fn pseudo_sum(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u32 {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let acc = sum16(sum16(0, &s.octets()), &d.octets());
            acc + u32::from(proto) + len as u32
        }
        _ => {
            let s = match src {
                IpAddr::V6(a) => a.octets(),
                IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            };
            let d = match dst {
                IpAddr::V6(a) => a.octets(),
                IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            };
            let acc = sum16(sum16(0, &s), &d);
            acc + ((len as u32) >> 16) + (len as u32 & 0xffff) + u32::from(proto)
        }
    }
}

fn be16(b: &[u8], at: usize) -> Result<u16, String> {
    match b.get(at..at + 2) {
        Some(s) => Ok(u16::from_be_bytes([s[0], s[1]])),
        None => Err(format!("short read at {at}")),
    }
}

fn be32(b: &[u8], at: usize) -> Result<u32, String> {
    match b.get(at..at + 4) {
        Some(s) => Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]])),
        None => Err(format!("short read at {at}")),
    }
}

/// Decodes and checks one Ethernet frame, descending through VXLAN (UDP 4789)
/// and GENEVE (UDP 6081). Only the innermost IP packet may be truncated;
/// every complete layer must have correct lengths and checksums.
pub fn check_frame(data: &[u8]) -> Result<Summary, String> {
    let mut encaps = Vec::new();
    let mut layer = data;
    let mut outer: Option<(IpAddr, IpAddr)> = None;
    for _depth in 0..4 {
        let inner = check_layer(layer)?;
        if outer.is_none() {
            outer = Some((inner.0.src, inner.0.dst));
        }
        match inner.1 {
            Some((encap, next)) => {
                encaps.push(encap);
                layer = next;
            }
            None => {
                let (src, dst) = outer.unwrap_or((inner.0.src, inner.0.dst));
                return Ok(Summary {
                    encaps,
                    outer_src: src,
                    outer_dst: dst,
                    inner: inner.0,
                });
            }
        }
    }
    Err("too many tunnel layers".into())
}

type Layer<'a> = (Inner, Option<(Encap, &'a [u8])>);

fn check_layer(f: &[u8]) -> Result<Layer<'_>, String> {
    if f.len() < 14 {
        return Err("frame shorter than an Ethernet header".into());
    }
    let et = be16(f, 12)?;
    let ip = &f[14..];
    let (src, dst, proto, l4_all, declared_l4, hdr_ok) = match et {
        0x0800 => {
            if ip.len() < 20 {
                return Err("cut IPv4 header".into());
            }
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            if ip[0] >> 4 != 4 || ihl < 20 || ip.len() < ihl {
                return Err("bad IPv4 version/IHL".into());
            }
            let total = usize::from(be16(ip, 2)?);
            if total < ihl {
                return Err("IPv4 total length below header length".into());
            }
            let hdr_ok = fold(sum16(0, &ip[..ihl])) == 0xffff;
            let s: [u8; 4] = [ip[12], ip[13], ip[14], ip[15]];
            let d: [u8; 4] = [ip[16], ip[17], ip[18], ip[19]];
            (
                IpAddr::from(s),
                IpAddr::from(d),
                ip[9],
                &ip[ihl..],
                total - ihl,
                hdr_ok,
            )
        }
        0x86dd => {
            if ip.len() < 40 {
                return Err("cut IPv6 header".into());
            }
            if ip[0] >> 4 != 6 {
                return Err("bad IPv6 version".into());
            }
            let plen = usize::from(be16(ip, 4)?);
            let mut s = [0u8; 16];
            s.copy_from_slice(&ip[8..24]);
            let mut d = [0u8; 16];
            d.copy_from_slice(&ip[24..40]);
            (IpAddr::from(s), IpAddr::from(d), ip[6], &ip[40..], plen, true)
        }
        other => return Err(format!("unexpected ethertype {other:#06x}")),
    };
    if !hdr_ok {
        return Err("bad IPv4 header checksum".into());
    }
    let truncated = l4_all.len() < declared_l4;
    if !truncated && l4_all.len() > declared_l4 + 46 {
        return Err("IP length shorter than the frame (beyond Ethernet padding)".into());
    }
    let l4 = &l4_all[..l4_all.len().min(declared_l4)];
    // Cross-check with etherparse.
    if truncated {
        LaxSlicedPacket::from_ethernet(f).map_err(|e| format!("etherparse (lax): {e}"))?;
    } else {
        SlicedPacket::from_ethernet(f).map_err(|e| format!("etherparse: {e}"))?;
    }
    let cks_ok = |pseudo: bool| -> bool {
        let acc = if pseudo {
            pseudo_sum(src, dst, proto, l4.len())
        } else {
            0
        };
        fold(sum16(acc, l4)) == 0xffff
    };
    let mut transport = Transport::Other(proto);
    let mut payload: &[u8] = &[];
    let mut next = None;
    match proto {
        6 if l4.len() >= 20 => {
            let off = usize::from(l4[12] >> 4) * 4;
            if off < 20 || (l4.len() < off && !truncated) {
                return Err("bad TCP data offset".into());
            }
            if !truncated && !cks_ok(true) {
                return Err("bad TCP checksum".into());
            }
            transport = Transport::Tcp {
                src_port: be16(l4, 0)?,
                dst_port: be16(l4, 2)?,
                seq: be32(l4, 4)?,
                ack: be32(l4, 8)?,
                flags: l4[13],
            };
            payload = l4.get(off..).unwrap_or(&[]);
        }
        17 if l4.len() >= 8 => {
            let ulen = usize::from(be16(l4, 4)?);
            if !truncated {
                if ulen != l4.len() {
                    return Err(format!("UDP length {ulen} != {}", l4.len()));
                }
                let zero_ok = src.is_ipv4() && be16(l4, 6)? == 0;
                if !zero_ok && !cks_ok(true) {
                    return Err("bad UDP checksum".into());
                }
            }
            let (sp, dp) = (be16(l4, 0)?, be16(l4, 2)?);
            transport = Transport::Udp {
                src_port: sp,
                dst_port: dp,
            };
            payload = &l4[8..];
            if !truncated && dp == VXLAN_PORT {
                let v = payload;
                if v.len() < 8 + 14 {
                    return Err("short VXLAN".into());
                }
                if v[0] != 0x08 || v[1..4] != [0, 0, 0] || v[7] != 0 {
                    return Err("bad VXLAN flags/reserved".into());
                }
                let vni = u32::from_be_bytes([0, v[4], v[5], v[6]]);
                next = Some((Encap::Vxlan { vni }, &v[8..]));
            } else if !truncated && dp == GENEVE_PORT {
                let g = payload;
                if g.len() < 8 {
                    return Err("short GENEVE".into());
                }
                if g[0] >> 6 != 0 {
                    return Err("GENEVE version".into());
                }
                if be16(g, 2)? != GENEVE_PROTO_ETHERNET {
                    return Err("GENEVE protocol is not Ethernet".into());
                }
                let opt_len = usize::from(g[0] & 0x3f) * 4;
                let opts = g.get(8..8 + opt_len).ok_or("GENEVE options cut")?;
                let mut o = 0;
                while o < opts.len() {
                    let l = 4 + usize::from(opts.get(o + 3).ok_or("GENEVE option cut")? & 0x1f) * 4;
                    if o + l > opts.len() {
                        return Err("GENEVE option overruns".into());
                    }
                    o += l;
                }
                let vni = u32::from_be_bytes([0, g[4], g[5], g[6]]);
                next = Some((Encap::Geneve { vni }, &g[8 + opt_len..]));
            }
        }
        1 | 58 if l4.len() >= 4 => {
            if !truncated && !cks_ok(proto == 58) {
                return Err("bad ICMP checksum".into());
            }
            transport = Transport::Icmp {
                itype: l4[0],
                icode: l4[1],
            };
            payload = l4.get(8..).unwrap_or(&[]);
        }
        _ => {}
    }
    if truncated && next.is_some() {
        return Err("truncated tunnel layer".into());
    }
    Ok((
        Inner {
            src,
            dst,
            transport,
            payload: payload.to_vec(),
            truncated,
        },
        next,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_corrupted_checksums_and_junk() {
        let f = crate::udp_frame(
            "10.0.0.1:5".parse().unwrap(),
            "10.0.0.2:6".parse().unwrap(),
            1,
            b"abc",
        );
        assert!(check_frame(&f.data).is_ok());
        let mut bad = f.data.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        assert_eq!(check_frame(&bad).unwrap_err(), "bad UDP checksum");
        let mut bad = f.data.clone();
        bad[22] ^= 1; // TTL
        assert_eq!(check_frame(&bad).unwrap_err(), "bad IPv4 header checksum");
        assert!(check_frame(&[]).is_err());
        assert!(check_frame(&[0u8; 40]).is_err());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::{flow_hash, truncate, vxlan_wrap, Frame, Mirror};
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    proptest! {
        #[test]
        fn decoder_and_hash_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = check_frame(&data);
            let _ = flow_hash(&data);
        }

        #[test]
        fn wrapping_any_frame_yields_a_valid_outer_packet(
            data in proptest::collection::vec(any::<u8>(), 0..2000),
            snap in 0usize..3000,
            vni in any::<u32>(),
        ) {
            let f = truncate(&Frame::new(1, data.clone()), snap);
            prop_assert_eq!(f.orig_len as usize, data.len());
            prop_assert!(f.data.len() <= snap);
            let m = Mirror { vni, source_ip: Ipv4Addr::new(10, 0, 1, 5), target_ip: Ipv4Addr::new(10, 0, 0, 100) };
            let w = vxlan_wrap(&f, &m);
            prop_assert_eq!(&w.data[50..], &f.data[..]);
            prop_assert_eq!(u32::from_be_bytes([0, w.data[46], w.data[47], w.data[48]]), vni & 0x00ff_ffff);
            // The outer layers are intact whatever the inner bytes are.
            let ip = &w.data[14..34];
            prop_assert_eq!(fold(sum16(0, ip)), 0xffff);
        }
    }

    #[test]
    fn truncated_real_frames_still_decode() {
        let mut c = crate::TcpConn::new(
            "198.51.100.10:1000".parse().unwrap(),
            "10.0.1.5:80".parse().unwrap(),
            0,
        );
        c.handshake().server_send(&[7u8; 1400]);
        let f = &c.frames()[3];
        for snap in 54..f.data.len() {
            let s = check_frame(&truncate(f, snap).data).unwrap();
            assert!(s.inner.truncated);
        }
    }
}
