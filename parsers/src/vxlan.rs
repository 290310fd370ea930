//! VXLAN header (RFC 7348, section 5).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |R|R|R|R|I|R|R|R|            Reserved                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                VXLAN Network Identifier (VNI) |   Reserved    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The header is followed by the inner Ethernet frame. AWS VPC Traffic
//! Mirroring sends it over UDP port 4789, with the mirror session's VNI.
//! Reserved bits are ignored on receipt, as the RFC requires; only the I flag
//! (VNI valid) must be set.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use nom::bytes::complete::take;
use nom::number::complete::{be_u24, be_u8};
use nom::sequence::tuple;

use crate::ParseError;

/// Length of the VXLAN header in bytes.
pub const VXLAN_HEADER_LEN: usize = 8; // RFC 7348 5
/// The I flag: the VNI field is valid. Must be set.
pub const FLAG_I: u8 = 0x08; // RFC 7348 5

/// A parsed VXLAN header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VxlanHeader {
    /// The flags byte as received (reserved bits included).
    pub flags: u8,
    /// The 24-bit VXLAN Network Identifier.
    pub vni: u32,
}

impl VxlanHeader {
    /// Serializes the header (reserved fields zero, VNI truncated to 24 bits).
    pub fn to_bytes(&self) -> [u8; VXLAN_HEADER_LEN] {
        let vni = (self.vni & 0x00ff_ffff).to_be_bytes();
        [self.flags, 0, 0, 0, vni[1], vni[2], vni[3], 0]
    }
}

/// Parses a VXLAN header and returns the inner frame and the header.
///
/// # Errors
/// [`ParseError::Incomplete`] if fewer than 8 bytes are given,
/// [`ParseError::Invalid`] if the I flag is not set.
///
/// # Examples
/// ```
/// let bytes = [0x08, 0, 0, 0, 0x00, 0x04, 0xd2, 0, 0xaa];
/// let (inner, hdr) = tapwatch_parsers::parse_vxlan(&bytes).unwrap();
/// assert_eq!(hdr.vni, 1234);
/// assert_eq!(inner, &[0xaa]);
/// ```
pub fn parse_vxlan(input: &[u8]) -> Result<(&[u8], VxlanHeader), ParseError> {
    if input.len() < VXLAN_HEADER_LEN {
        return Err(ParseError::Incomplete {
            needed: VXLAN_HEADER_LEN - input.len(),
        });
    }
    let (rest, (flags, _reserved, vni, _reserved2)) = tuple((be_u8, take(3usize), be_u24, be_u8))(input)
        .map_err(|e| ParseError::from_nom(e, "vxlan header"))?;
    if flags & FLAG_I == 0 {
        return Err(ParseError::Invalid("vxlan flags: I flag not set"));
    }
    Ok((rest, VxlanHeader { flags, vni }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_header_and_returns_inner_frame() {
        let bytes = [
            0x08, // flags: I
            0x00, 0x00, 0x00, // reserved
            0x12, 0x34, 0x56, // VNI 0x123456
            0x00, // reserved
            0xde, 0xad, // inner frame
        ];
        let (inner, hdr) = parse_vxlan(&bytes).unwrap();
        assert_eq!(
            hdr,
            VxlanHeader {
                flags: 0x08,
                vni: 0x12_3456
            }
        );
        assert_eq!(inner, &[0xde, 0xad]);
    }

    #[test]
    fn reserved_bits_are_ignored() {
        let bytes = [0xff, 0xff, 0xff, 0xff, 0, 0, 7, 0xff];
        let (inner, hdr) = parse_vxlan(&bytes).unwrap();
        assert_eq!(hdr.vni, 7);
        assert_eq!(hdr.flags, 0xff);
        assert!(inner.is_empty());
    }

    #[test]
    fn missing_i_flag_is_invalid() {
        let bytes = [0x00, 0, 0, 0, 0, 0, 1, 0];
        assert!(matches!(parse_vxlan(&bytes), Err(ParseError::Invalid(_))));
    }

    #[test]
    fn every_short_prefix_is_incomplete() {
        let bytes = [0x08, 0, 0, 0, 0, 0, 1, 0];
        for n in 0..bytes.len() {
            assert_eq!(
                parse_vxlan(&bytes[..n]),
                Err(ParseError::Incomplete { needed: 8 - n })
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse_vxlan(&bytes);
        }

        #[test]
        fn round_trip(flags in any::<u8>(), vni in 0u32..0x0100_0000,
                      inner in proptest::collection::vec(any::<u8>(), 0..64)) {
            let flags = flags | FLAG_I;
            let hdr = VxlanHeader { flags, vni };
            let mut bytes = hdr.to_bytes().to_vec();
            bytes.extend_from_slice(&inner);
            let (rest, parsed) = parse_vxlan(&bytes).unwrap();
            prop_assert_eq!(parsed, hdr);
            prop_assert_eq!(rest, &inner[..]);
        }
    }
}
