//! Internet checksum (RFC 1071) over slices, without copying.

use std::net::IpAddr;

/// Adds `data` to a running one's-complement sum (big-endian 16-bit words,
/// an odd trailing byte padded with zero).
pub(super) fn add(mut acc: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        if let [a, b] = w {
            acc += u64::from(u16::from_be_bytes([*a, *b]));
        }
    }
    if let [last] = words.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// Folds the carries into 16 bits.
pub(super) fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16 // fits: the loop leaves at most 16 bits
}

/// True if a header or message whose checksum field is included sums to all ones.
pub(super) fn valid(data: &[u8]) -> bool {
    fold(add(0, data)) == 0xffff
}

/// True if a TCP/UDP/ICMPv6 `segment` (checksum field included) verifies with
/// the pseudo-header of `src`/`dst` (RFC 793 3.1, RFC 8200 8.1).
pub(super) fn valid_with_pseudo(src: IpAddr, dst: IpAddr, proto: u8, segment: &[u8]) -> bool {
    let len = segment.len() as u64; // a slice length always fits in u64
    let mut acc = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => add(add(0, &s.octets()), &d.octets()),
        (IpAddr::V6(s), IpAddr::V6(d)) => add(add(0, &s.octets()), &d.octets()),
        _ => return false,
    };
    acc += u64::from(proto);
    acc += (len & 0xffff) + (len >> 16);
    fold(add(acc, segment)) == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 1.4: words 0001 f203 f4f5 f6f7 sum to ddf2 (before complement).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(add(0, &data)), 0xddf2);
        let mut with_ck = data.to_vec();
        with_ck.extend_from_slice(&(!0xddf2u16).to_be_bytes());
        assert!(valid(&with_ck));
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(fold(add(0, &[0x12])), 0x1200);
        assert_eq!(fold(add(0, &[0x12, 0x34, 0x56])), 0x1234 + 0x5600);
    }
}
