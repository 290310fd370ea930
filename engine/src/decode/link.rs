//! Link layers: strip the link header and VLAN tags down to an EtherType and
//! the L3 bytes.

use etherparse::{ether_type, Ethernet2Slice, SingleVlanSlice};

use super::{DecodeError, DecodeStats, Packet};
use crate::ingress::LinkType;

/// EtherType of IPv4.
pub(super) const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub(super) const ETHERTYPE_IPV6: u16 = 0x86dd;

/// Which IP version the link layer announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum L3 {
    /// EtherType 0x0800 / IPv4 link type / AF_INET.
    Ipv4,
    /// EtherType 0x86DD / IPv6 link type / AF_INET6.
    Ipv6,
    /// Raw IP link type: the version nibble decides.
    Any,
}

impl L3 {
    /// The L3 kind of an EtherType, if it is IP.
    pub(super) fn from_ether_type(et: u16) -> Option<L3> {
        match et {
            ETHERTYPE_IPV4 => Some(L3::Ipv4),
            ETHERTYPE_IPV6 => Some(L3::Ipv6),
            _ => None,
        }
    }
}

/// Linux cooked capture v1 header length (protocol at bytes 14..16).
const SLL_LEN: usize = 16;
/// Linux cooked capture v2 header length (protocol at bytes 0..2).
const SLL2_LEN: usize = 20;
/// BSD loopback header length (address family, 4 bytes).
const NULL_LEN: usize = 4;

/// BSD address family of IPv4 (everywhere).
const AF_INET: u32 = 2;
/// BSD address families of IPv6: NetBSD/OpenBSD, FreeBSD, Darwin.
const AF_INET6: [u32; 3] = [24, 28, 30];

/// Strips the link layer of `frame` and every VLAN tag after it. Returns the
/// announced IP version and the bytes that follow.
pub(super) fn strip<'a>(
    link: LinkType,
    frame: &'a [u8],
    pkt: &mut Packet<'a>,
    stats: &mut DecodeStats,
) -> Result<(L3, &'a [u8]), DecodeError> {
    let (et, rest) = match link {
        LinkType::Ethernet => {
            let eth = Ethernet2Slice::from_slice_without_fcs(frame)
                .map_err(|_| DecodeError::Truncated("ethernet header"))?;
            stats.ethernet += 1;
            (eth.ether_type().0, eth.payload_slice())
        }
        LinkType::Raw => return Ok((L3::Any, frame)),
        LinkType::Ipv4 => return Ok((L3::Ipv4, frame)),
        LinkType::Ipv6 => return Ok((L3::Ipv6, frame)),
        LinkType::Sll => {
            let proto = be16_at(frame, 14).ok_or(DecodeError::Truncated("sll header"))?;
            (proto, frame.get(SLL_LEN..).unwrap_or(&[]))
        }
        LinkType::Sll2 => {
            let proto = be16_at(frame, 0).ok_or(DecodeError::Truncated("sll2 header"))?;
            if frame.len() < SLL2_LEN {
                return Err(DecodeError::Truncated("sll2 header"));
            }
            (proto, frame.get(SLL2_LEN..).unwrap_or(&[]))
        }
        LinkType::Null | LinkType::Loop => {
            let fam: [u8; 4] = frame
                .get(..NULL_LEN)
                .and_then(|b| b.try_into().ok())
                .ok_or(DecodeError::Truncated("loopback header"))?;
            // DLT_NULL is in the capturing host's byte order, DLT_LOOP in
            // network order: accept either.
            let (le, be) = (u32::from_le_bytes(fam), u32::from_be_bytes(fam));
            let et = if le == AF_INET || be == AF_INET {
                ETHERTYPE_IPV4
            } else if AF_INET6.contains(&le) || AF_INET6.contains(&be) {
                ETHERTYPE_IPV6
            } else {
                return Err(DecodeError::NonIp);
            };
            (et, frame.get(NULL_LEN..).unwrap_or(&[]))
        }
    };
    strip_vlans(et, rest, pkt, stats)
}

/// Peels 802.1Q / 802.1ad / legacy QinQ tags. Each tag consumes 4 bytes, so
/// the loop ends with the frame.
fn strip_vlans<'a>(
    mut et: u16,
    mut rest: &'a [u8],
    pkt: &mut Packet<'a>,
    stats: &mut DecodeStats,
) -> Result<(L3, &'a [u8]), DecodeError> {
    while matches!(
        etherparse::EtherType(et),
        ether_type::VLAN_TAGGED_FRAME | ether_type::PROVIDER_BRIDGING | ether_type::VLAN_DOUBLE_TAGGED_FRAME
    ) {
        let vlan = SingleVlanSlice::from_slice(rest).map_err(|_| DecodeError::Truncated("vlan header"))?;
        stats.vlan += 1;
        pkt.push_vlan(vlan.vlan_identifier().value());
        et = vlan.ether_type().0;
        rest = vlan.payload_slice();
    }
    let l3 = L3::from_ether_type(et).ok_or(DecodeError::NonIp)?;
    Ok((l3, rest))
}

fn be16_at(b: &[u8], at: usize) -> Option<u16> {
    let end = at.checked_add(2)?;
    let s = b.get(at..end)?;
    Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
}
