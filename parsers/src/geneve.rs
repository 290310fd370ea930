//! GENEVE header (RFC 8926, section 3.4).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Virtual Network Identifier (VNI)       |    Reserved   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! ~                    Variable-Length Options                    ~
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! AWS Gateway Load Balancer sends GENEVE over UDP port 6081 with its own
//! options (flow cookie, endpoint id). tapwatch does not interpret options: they
//! are kept as one slice, and [`GeneveHeader::options`] walks the TLVs on demand.
//! Only version 0 is defined; the RFC says other versions MUST be dropped, so
//! they are [`ParseError::Invalid`].
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u24, be_u8};
use nom::sequence::tuple;

use crate::ParseError;

/// Length of the fixed part of the GENEVE header in bytes.
pub const GENEVE_HEADER_LEN: usize = 8; // RFC 8926 3.4
/// Length of a GENEVE option's own header (class, type, length).
pub const GENEVE_OPTION_HEADER_LEN: usize = 4; // RFC 8926 3.5
/// Protocol type of an inner Ethernet frame (Transparent Ethernet Bridging).
pub const PROTO_ETHERNET: u16 = 0x6558;
/// Protocol type of an inner IPv4 packet.
pub const PROTO_IPV4: u16 = 0x0800;
/// Protocol type of an inner IPv6 packet.
pub const PROTO_IPV6: u16 = 0x86dd;

/// A parsed GENEVE header. Borrows its options from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeneveHeader<'a> {
    /// Version (always 0: other versions are rejected).
    pub version: u8,
    /// Length of the options in bytes (the Opt Len field times 4).
    pub opt_len_bytes: usize,
    /// O bit: the packet carries a control message.
    pub oam: bool,
    /// C bit: at least one critical option is present.
    pub critical: bool,
    /// EtherType of the payload (0x6558 Ethernet, 0x0800 IPv4, 0x86DD IPv6, ...).
    pub protocol_type: u16,
    /// The 24-bit Virtual Network Identifier.
    pub vni: u32,
    /// The raw options, `opt_len_bytes` long.
    pub options: &'a [u8],
}

impl<'a> GeneveHeader<'a> {
    /// Iterates over the option TLVs in [`GeneveHeader::options`].
    pub fn options(&self) -> GeneveOptions<'a> {
        GeneveOptions {
            rest: self.options,
            failed: false,
        }
    }

    /// Serializes the fixed 8-byte part of the header; the options follow it on
    /// the wire. The Opt Len field is derived from `options.len()` (which must be
    /// a multiple of 4 and at most 252 bytes to be representable; excess bits are cut).
    pub fn fixed_bytes(&self) -> [u8; GENEVE_HEADER_LEN] {
        let opt_words = ((self.options.len() / 4) & 0x3f) as u8;
        let vni = (self.vni & 0x00ff_ffff).to_be_bytes();
        let proto = self.protocol_type.to_be_bytes();
        [
            ((self.version & 0x3) << 6) | opt_words,
            (u8::from(self.oam) << 7) | (u8::from(self.critical) << 6),
            proto[0],
            proto[1],
            vni[1],
            vni[2],
            vni[3],
            0,
        ]
    }
}

/// One GENEVE option TLV (RFC 8926, section 3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeneveOption<'a> {
    /// Option class (namespace of the type).
    pub class: u16,
    /// Option type; its high bit marks a critical option.
    pub option_type: u8,
    /// Option data (the Length field times 4 bytes).
    pub data: &'a [u8],
}

impl GeneveOption<'_> {
    /// True if the high bit of the type is set: a receiver that does not know
    /// this option must drop the packet.
    pub fn is_critical(&self) -> bool {
        self.option_type & 0x80 != 0
    }
}

/// Iterator over the option TLVs of a GENEVE header.
///
/// Yields `Err` once if an option runs past the end of the options area, then stops.
#[derive(Clone, Debug)]
pub struct GeneveOptions<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Iterator for GeneveOptions<'a> {
    type Item = Result<GeneveOption<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        match parse_option(self.rest) {
            Ok((rest, opt)) => {
                self.rest = rest;
                Some(Ok(opt))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

fn parse_option(input: &[u8]) -> Result<(&[u8], GeneveOption<'_>), ParseError> {
    if input.len() < GENEVE_OPTION_HEADER_LEN {
        return Err(ParseError::Incomplete {
            needed: GENEVE_OPTION_HEADER_LEN - input.len(),
        });
    }
    let (i, (class, option_type, len)) =
        tuple((be_u16, be_u8, be_u8))(input).map_err(|e| ParseError::from_nom(e, "geneve option"))?;
    let data_len = usize::from(len & 0x1f) * 4;
    if i.len() < data_len {
        return Err(ParseError::Incomplete {
            needed: data_len - i.len(),
        });
    }
    let (rest, data) = take(data_len)(i).map_err(|e| ParseError::from_nom(e, "geneve option data"))?;
    Ok((
        rest,
        GeneveOption {
            class,
            option_type,
            data,
        },
    ))
}

/// Parses a GENEVE header and returns the inner payload and the header.
///
/// # Errors
/// [`ParseError::Incomplete`] if the input is shorter than the header and its
/// options, [`ParseError::Invalid`] for a version other than 0.
///
/// # Examples
/// ```
/// let bytes = [0x00, 0x00, 0x65, 0x58, 0x00, 0x00, 0x2a, 0x00, 0xee];
/// let (inner, hdr) = tapwatch_parsers::parse_geneve(&bytes).unwrap();
/// assert_eq!((hdr.vni, hdr.protocol_type), (42, 0x6558));
/// assert_eq!(inner, &[0xee]);
/// ```
pub fn parse_geneve(input: &[u8]) -> Result<(&[u8], GeneveHeader<'_>), ParseError> {
    if input.len() < GENEVE_HEADER_LEN {
        return Err(ParseError::Incomplete {
            needed: GENEVE_HEADER_LEN - input.len(),
        });
    }
    let (i, (ver_optlen, flags, protocol_type, vni, _reserved)) =
        tuple((be_u8, be_u8, be_u16, be_u24, be_u8))(input)
            .map_err(|e| ParseError::from_nom(e, "geneve header"))?;
    let version = ver_optlen >> 6;
    if version != 0 {
        return Err(ParseError::Invalid("geneve version"));
    }
    let opt_len_bytes = usize::from(ver_optlen & 0x3f) * 4;
    if i.len() < opt_len_bytes {
        return Err(ParseError::Incomplete {
            needed: opt_len_bytes - i.len(),
        });
    }
    let (rest, options) = take(opt_len_bytes)(i).map_err(|e| ParseError::from_nom(e, "geneve options"))?;
    Ok((
        rest,
        GeneveHeader {
            version,
            opt_len_bytes,
            oam: flags & 0x80 != 0,
            critical: flags & 0x40 != 0,
            protocol_type,
            vni,
            options,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A header as AWS Gateway Load Balancer sends it: three options, IPv4 inside.
    const GWLB: &[u8] = &[
        0x05, // ver 0, opt len 5 words (20 bytes)
        0x00, // O=0 C=0
        0x08, 0x00, // protocol IPv4
        0x00, 0x00, 0x00, // VNI 0
        0x00, // reserved
        0x01, 0x08, 0x01, 0x02, // class 0x0108 (AWS), type 1, len 2 words
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // gwlbe endpoint id
        0x01, 0x08, 0x03, 0x01, // class 0x0108, type 3, len 1 word
        0xaa, 0xbb, 0xcc, 0xdd, // flow cookie
        0x45, 0x00, // start of the inner IPv4 packet
    ];

    #[test]
    fn parses_gwlb_header_and_options() {
        let (inner, hdr) = parse_geneve(GWLB).unwrap();
        assert_eq!(hdr.version, 0);
        assert_eq!(hdr.opt_len_bytes, 20);
        assert!(!hdr.oam && !hdr.critical);
        assert_eq!(hdr.protocol_type, PROTO_IPV4);
        assert_eq!(hdr.vni, 0);
        assert_eq!(hdr.options.len(), 20);
        assert_eq!(inner, &[0x45, 0x00]);
        let opts: Vec<_> = hdr.options().collect::<Result<_, _>>().unwrap();
        assert_eq!(opts.len(), 2);
        assert_eq!(opts[0].class, 0x0108);
        assert_eq!(opts[0].option_type, 1);
        assert_eq!(opts[0].data, &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(opts[1].option_type, 3);
        assert_eq!(opts[1].data, &[0xaa, 0xbb, 0xcc, 0xdd]);
        assert!(!opts[1].is_critical());
    }

    #[test]
    fn flags_and_vni() {
        let bytes = [0x00, 0xc0, 0x65, 0x58, 0xab, 0xcd, 0xef, 0x00];
        let (inner, hdr) = parse_geneve(&bytes).unwrap();
        assert!(hdr.oam && hdr.critical);
        assert_eq!(hdr.vni, 0xab_cdef);
        assert_eq!(hdr.protocol_type, PROTO_ETHERNET);
        assert!(inner.is_empty());
        assert_eq!(hdr.options().count(), 0);
    }

    #[test]
    fn unknown_version_is_invalid() {
        let bytes = [0x40, 0x00, 0x65, 0x58, 0, 0, 1, 0];
        assert_eq!(parse_geneve(&bytes), Err(ParseError::Invalid("geneve version")));
    }

    #[test]
    fn every_short_prefix_is_incomplete() {
        for n in 0..GWLB.len() - 2 {
            assert!(
                matches!(parse_geneve(&GWLB[..n]), Err(ParseError::Incomplete { .. })),
                "prefix {n}"
            );
        }
        // Options cut short: 8 + 10 bytes of a 20-byte options area.
        assert_eq!(
            parse_geneve(&GWLB[..18]),
            Err(ParseError::Incomplete { needed: 10 })
        );
    }

    #[test]
    fn option_overrunning_the_area_yields_one_error() {
        let hdr = GeneveHeader {
            version: 0,
            opt_len_bytes: 8,
            oam: false,
            critical: true,
            protocol_type: PROTO_ETHERNET,
            vni: 1,
            // type 0x80 (critical), length 3 words but only 4 bytes follow
            options: &[0x00, 0x01, 0x80, 0x03, 1, 2, 3, 4],
        };
        let mut it = hdr.options();
        assert_eq!(it.next(), Some(Err(ParseError::Incomplete { needed: 8 })));
        assert_eq!(it.next(), None);
    }

    fn option_strategy() -> impl Strategy<Value = (u16, u8, Vec<u8>)> {
        (any::<u16>(), any::<u8>(), 0usize..4).prop_flat_map(|(c, t, words)| {
            proptest::collection::vec(any::<u8>(), words * 4).prop_map(move |d| (c, t, d))
        })
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            if let Ok((_, hdr)) = parse_geneve(&bytes) {
                // Walking the options must terminate and never panic either.
                prop_assert!(hdr.options().count() <= hdr.opt_len_bytes / 4);
            }
        }

        #[test]
        fn round_trip(oam in any::<bool>(), critical in any::<bool>(), proto in any::<u16>(),
                      vni in 0u32..0x0100_0000,
                      opts in proptest::collection::vec(option_strategy(), 0..4),
                      inner in proptest::collection::vec(any::<u8>(), 0..32)) {
            let mut options = Vec::new();
            for (class, typ, data) in &opts {
                options.extend_from_slice(&class.to_be_bytes());
                options.push(*typ);
                options.push((data.len() / 4) as u8);
                options.extend_from_slice(data);
            }
            let hdr = GeneveHeader {
                version: 0,
                opt_len_bytes: options.len(),
                oam,
                critical,
                protocol_type: proto,
                vni,
                options: &options,
            };
            let mut bytes = hdr.fixed_bytes().to_vec();
            bytes.extend_from_slice(&options);
            bytes.extend_from_slice(&inner);
            let (rest, parsed) = parse_geneve(&bytes).unwrap();
            prop_assert_eq!(parsed, hdr);
            prop_assert_eq!(rest, &inner[..]);
            let parsed_opts: Vec<_> = parsed.options().collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(parsed_opts.len(), opts.len());
            for (p, (class, typ, data)) in parsed_opts.iter().zip(&opts) {
                prop_assert_eq!(p.class, *class);
                prop_assert_eq!(p.option_type, *typ);
                prop_assert_eq!(p.data, &data[..]);
            }
        }
    }
}
