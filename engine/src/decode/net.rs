//! Network and transport layers: IPv4/IPv6 (etherparse lax slicing), then
//! TCP, UDP, ICMP, ICMPv6.

use etherparse::err::ip::LaxHeaderSliceError;
use etherparse::err::ipv6_exts::HeaderSliceError as ExtError;
use etherparse::err::tcp::HeaderSliceError as TcpError;
use etherparse::{IpNumber, LaxIpSlice, TcpSlice, UdpSlice};

use super::link::L3;
use super::{checksum, DecodeConfig, DecodeError, DecodeStats, IcmpInfo, Packet, TcpInfo};

/// IP protocol number of ICMP.
pub(super) const PROTO_ICMP: u8 = 1;
/// IP protocol number of TCP.
pub(super) const PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub(super) const PROTO_UDP: u8 = 17;
/// IP protocol number of ICMPv6.
pub(super) const PROTO_ICMPV6: u8 = 58;

const TCP_MIN_HEADER: usize = 20; // RFC 9293 3.1
const UDP_HEADER: usize = 8; // RFC 768
const ICMP_HEADER: usize = 8; // RFC 792, RFC 4443 2.1

/// ICMP types whose bytes 4..8 are identifier and sequence number: echo reply,
/// echo, timestamp (+reply), information (+reply), address mask (+reply).
const ICMPV4_ID_SEQ_TYPES: [u8; 8] = [0, 8, 13, 14, 15, 16, 17, 18];
/// ICMPv6 echo request and reply.
const ICMPV6_ID_SEQ_TYPES: [u8; 2] = [128, 129];

/// The IP layer's facts the transport layer needs.
struct IpFacts {
    is_v4: bool,
    /// Offset of this fragment in 8-byte units (0 if not fragmented).
    frag_offset: u16,
    /// IP payload length the header announces (after extension headers), if it
    /// announces a usable one.
    expected: Option<usize>,
    /// The IPv4 header checksum verified (true when not checked).
    header_ok: bool,
}

/// Decodes the IP packet in `bytes` and its transport header into `pkt`.
/// Returns the UDP payload when the packet is an unfragmented UDP datagram, so
/// the caller can look for a tunnel.
pub(super) fn decode_ip<'a>(
    l3: L3,
    bytes: &'a [u8],
    pkt: &mut Packet<'a>,
    cfg: &DecodeConfig,
    stats: &mut DecodeStats,
) -> Result<Option<&'a [u8]>, DecodeError> {
    let (ip, ext_err) = LaxIpSlice::from_slice(bytes).map_err(|e| match e {
        LaxHeaderSliceError::Len(_) => DecodeError::Truncated("ip header"),
        LaxHeaderSliceError::Content(_) => DecodeError::Malformed("ip header"),
    })?;
    let facts = ip_facts(&ip, l3, pkt, cfg, stats)?;
    pkt.ip = bytes;
    let payload = ip.payload();
    pkt.ip_proto = payload.ip_number.0;
    let data = payload.payload;
    let expected = facts.expected.unwrap_or(data.len());

    if let Some((err, _layer)) = ext_err {
        // An extension header (or IPv4 AH) could not be read: no transport layer.
        return match err {
            ExtError::Len(_) if payload.incomplete => {
                pkt.truncated = true;
                pkt.payload_missing = clamp_u32(expected.saturating_sub(data.len()));
                Ok(None)
            }
            _ => Err(DecodeError::Malformed("ip extension header")),
        };
    }

    if facts.frag_offset != 0 {
        // A later fragment: its payload is the middle of a transport segment.
        pkt.payload = data;
        pkt.truncated = payload.incomplete;
        pkt.payload_missing = clamp_u32(expected.saturating_sub(data.len()));
        pkt.checksum_bad = cfg.checksum_validate && !pkt.truncated && !facts.header_ok;
        return Ok(None);
    }

    // A first fragment's transport header may go on in the next fragment.
    let l4 = decode_l4(data, &facts, payload.incomplete || pkt.is_fragment, pkt, stats)?;
    pkt.truncated = payload.incomplete || l4.header_cut.is_some();
    pkt.payload_missing = clamp_u32(match l4.header_cut {
        Some(hdr_len) => expected.saturating_sub(hdr_len),
        None => expected.saturating_sub(data.len()),
    });
    if cfg.checksum_validate && !pkt.truncated {
        let l4_ok = pkt.is_fragment || l4_checksum_ok(pkt, &facts, data, l4.segment);
        pkt.checksum_bad = !facts.header_ok || !l4_ok;
    }
    Ok(if pkt.is_fragment { None } else { l4.udp_payload })
}

/// Fills addresses, TTL, id and fragment state; checks the IP version against
/// what the link layer announced.
fn ip_facts(
    ip: &LaxIpSlice<'_>,
    l3: L3,
    pkt: &mut Packet<'_>,
    cfg: &DecodeConfig,
    stats: &mut DecodeStats,
) -> Result<IpFacts, DecodeError> {
    pkt.src = ip.source_addr();
    pkt.dst = ip.destination_addr();
    let incomplete = ip.payload().incomplete;
    match ip {
        LaxIpSlice::Ipv4(v4) => {
            if l3 == L3::Ipv6 {
                return Err(DecodeError::Malformed("ip version does not match link layer"));
            }
            stats.ipv4 += 1;
            let h = v4.header();
            pkt.ttl = h.ttl();
            pkt.ip_id = u32::from(h.identification());
            let frag_offset = h.fragments_offset().value();
            pkt.is_fragment = h.more_fragments() || frag_offset != 0;
            let auth_len = v4.extensions().auth.map_or(0, |a| a.slice().len());
            let hdr_len = h.slice().len().saturating_add(auth_len);
            Ok(IpFacts {
                is_v4: true,
                frag_offset,
                // A total length below the header is bogus: etherparse then
                // falls back to the frame, and so do we.
                expected: usize::from(h.total_len()).checked_sub(hdr_len),
                header_ok: !cfg.checksum_validate || incomplete || checksum::valid(h.slice()),
            })
        }
        LaxIpSlice::Ipv6(v6) => {
            if l3 == L3::Ipv4 {
                return Err(DecodeError::Malformed("ip version does not match link layer"));
            }
            stats.ipv6 += 1;
            let h = v6.header();
            pkt.ttl = h.hop_limit();
            let exts = v6.extensions();
            let mut frag_offset = 0;
            if let Some(frag) = ipv6_fragment_header(exts.first_header(), exts.slice()) {
                pkt.ip_id = frag.id;
                frag_offset = frag.offset;
                pkt.is_fragment = frag.more || frag.offset != 0;
            }
            let payload_len = usize::from(h.payload_length());
            Ok(IpFacts {
                is_v4: false,
                frag_offset,
                // 0 means a jumbogram (or a bogus length): use the frame.
                expected: if payload_len == 0 {
                    None
                } else {
                    payload_len.checked_sub(v6.extensions().slice().len())
                },
                header_ok: true,
            })
        }
    }
}

/// The fields of an IPv6 fragment header (RFC 8200 4.5).
struct FragmentHeader {
    id: u32,
    offset: u16,
    more: bool,
}

/// Walks the IPv6 extension headers etherparse sliced and returns the first
/// fragment header.
///
/// etherparse's own `Ipv6ExtensionsSlice` iterator must not be used here: when
/// lax slicing stopped at a bad extension header, the iterator follows the last
/// good header's next-header value past the end of the slice and reads out of
/// bounds. This walk stays inside `exts`.
fn ipv6_fragment_header(first: Option<IpNumber>, exts: &[u8]) -> Option<FragmentHeader> {
    const HOP_BY_HOP: u8 = 0;
    const ROUTING: u8 = 43;
    const FRAGMENT: u8 = 44;
    const AUTH: u8 = 51;
    const DEST_OPTS: u8 = 60;
    let mut next = first?.0;
    let mut rest = exts;
    // Every header is at least 8 bytes, so this ends with the slice.
    loop {
        let (&nh, &len_field) = (rest.first()?, rest.get(1)?);
        let len = match next {
            HOP_BY_HOP | ROUTING | DEST_OPTS => (usize::from(len_field) + 1) * 8,
            AUTH => (usize::from(len_field) + 2) * 4,
            FRAGMENT => {
                let b = rest.get(..8)?;
                let off_flags = u16::from_be_bytes([*b.get(2)?, *b.get(3)?]);
                return Some(FragmentHeader {
                    id: u32::from_be_bytes([*b.get(4)?, *b.get(5)?, *b.get(6)?, *b.get(7)?]),
                    offset: off_flags >> 3,
                    more: off_flags & 1 != 0,
                });
            }
            _ => return None,
        };
        rest = rest.get(len..)?;
        next = nh;
    }
}

/// What the transport layer left for the caller.
#[derive(Default)]
struct L4<'a> {
    /// The transport header is cut short; the value is its (known or minimum) length.
    header_cut: Option<usize>,
    /// The whole TCP/UDP segment, for checksum validation.
    segment: Option<&'a [u8]>,
    /// UDP payload (tunnel candidate).
    udp_payload: Option<&'a [u8]>,
}

/// `ip_incomplete`: the frame ends before the IP length says, or this is a
/// first fragment. A TCP or UDP header longer than a complete, unfragmented
/// IP payload is malformed, not truncated.
fn decode_l4<'a>(
    data: &'a [u8],
    facts: &IpFacts,
    ip_incomplete: bool,
    pkt: &mut Packet<'a>,
    stats: &mut DecodeStats,
) -> Result<L4<'a>, DecodeError> {
    let mut l4 = L4::default();
    match (pkt.ip_proto, facts.is_v4) {
        (PROTO_TCP, _) => match TcpSlice::from_slice(data) {
            Ok(tcp) => {
                stats.tcp += 1;
                pkt.sport = tcp.source_port();
                pkt.dport = tcp.destination_port();
                pkt.tcp = Some(tcp_info(&tcp));
                pkt.payload = tcp.payload();
                l4.segment = Some(tcp.slice());
            }
            Err(TcpError::Len(_)) if !ip_incomplete => {
                return Err(DecodeError::Malformed("tcp header longer than the ip payload"))
            }
            Err(TcpError::Len(_)) => {
                ports_from_cut_header(data, pkt);
                // The data offset is readable from byte 12 on.
                let hdr_len = data
                    .get(12)
                    .map_or(TCP_MIN_HEADER, |b| usize::from(b >> 4) * 4)
                    .max(TCP_MIN_HEADER);
                l4.header_cut = Some(hdr_len);
            }
            Err(TcpError::Content(_)) => return Err(DecodeError::Malformed("tcp header")),
        },
        (PROTO_UDP, _) => match UdpSlice::from_slice_lax(data) {
            Ok(udp) => {
                stats.udp += 1;
                pkt.sport = udp.source_port();
                pkt.dport = udp.destination_port();
                pkt.payload = udp.payload();
                l4.segment = Some(udp.slice());
                l4.udp_payload = Some(udp.payload());
            }
            Err(_) if !ip_incomplete => {
                return Err(DecodeError::Malformed("udp header longer than the ip payload"))
            }
            Err(_) => {
                ports_from_cut_header(data, pkt);
                l4.header_cut = Some(UDP_HEADER);
            }
        },
        (PROTO_ICMP, true) => {
            l4.header_cut = decode_icmp(data, &ICMPV4_ID_SEQ_TYPES, pkt);
            stats.icmpv4 += u64::from(l4.header_cut.is_none());
        }
        (PROTO_ICMPV6, false) => {
            l4.header_cut = decode_icmp(data, &ICMPV6_ID_SEQ_TYPES, pkt);
            stats.icmpv6 += u64::from(l4.header_cut.is_none());
        }
        _ => pkt.payload = data,
    }
    Ok(l4)
}

fn tcp_info(tcp: &TcpSlice<'_>) -> TcpInfo {
    let flags = [
        (tcp.fin(), TcpInfo::FIN),
        (tcp.syn(), TcpInfo::SYN),
        (tcp.rst(), TcpInfo::RST),
        (tcp.psh(), TcpInfo::PSH),
        (tcp.ack(), TcpInfo::ACK),
        (tcp.urg(), TcpInfo::URG),
        (tcp.ece(), TcpInfo::ECE),
        (tcp.cwr(), TcpInfo::CWR),
    ]
    .iter()
    .filter(|(set, _)| *set)
    .fold(0u8, |acc, (_, bit)| acc | bit);
    TcpInfo {
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags,
        window: tcp.window_size(),
    }
}

/// Reads ICMP type, code and (for `id_seq_types`) identifier and sequence.
/// Returns `Some(header length)` if the 8-byte header is cut short.
fn decode_icmp<'a>(data: &'a [u8], id_seq_types: &[u8], pkt: &mut Packet<'a>) -> Option<usize> {
    let Some(hdr) = data.get(..ICMP_HEADER) else {
        return Some(ICMP_HEADER);
    };
    let at = |i: usize| hdr.get(i).copied().unwrap_or(0);
    let itype = at(0);
    let has_id_seq = id_seq_types.contains(&itype);
    pkt.icmp = Some(IcmpInfo {
        itype,
        icode: at(1),
        id: has_id_seq.then(|| u16::from_be_bytes([at(4), at(5)])),
        seq: has_id_seq.then(|| u16::from_be_bytes([at(6), at(7)])),
    });
    pkt.payload = data.get(ICMP_HEADER..).unwrap_or(&[]);
    None
}

/// A transport header cut short still shows its ports if 4 bytes are there.
fn ports_from_cut_header(data: &[u8], pkt: &mut Packet<'_>) {
    if let Some(&[a, b, c, d]) = data.get(..4) {
        pkt.sport = u16::from_be_bytes([a, b]);
        pkt.dport = u16::from_be_bytes([c, d]);
    }
}

fn l4_checksum_ok(pkt: &Packet<'_>, facts: &IpFacts, data: &[u8], segment: Option<&[u8]>) -> bool {
    match (pkt.ip_proto, segment) {
        (PROTO_TCP, Some(seg)) => checksum::valid_with_pseudo(pkt.src, pkt.dst, PROTO_TCP, seg),
        (PROTO_UDP, Some(seg)) => {
            // An IPv4 UDP checksum of 0 means "not computed" (RFC 768).
            let unset = facts.is_v4 && seg.get(6..8) == Some(&[0, 0]);
            unset || checksum::valid_with_pseudo(pkt.src, pkt.dst, PROTO_UDP, seg)
        }
        (PROTO_ICMP, _) if facts.is_v4 => checksum::valid(data),
        (PROTO_ICMPV6, _) if !facts.is_v4 => {
            checksum::valid_with_pseudo(pkt.src, pkt.dst, PROTO_ICMPV6, data)
        }
        _ => true,
    }
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
