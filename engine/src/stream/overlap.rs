#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]
//! Placing one TCP segment or IP fragment into a reassembly buffer among
//! the pieces already held there, resolving overlaps by policy. Stream
//! reassembly (out-of-order data) and defragmentation both use it; they
//! differ only in the decision ([`super::OverlapPolicy::segment_wins`] or
//! [`super::OverlapPolicy::new_wins`]).

/// A held range `[start, end)` of a reassembly buffer (absolute offsets),
/// and the bounds of the segment or fragment that first supplied its
/// bytes (overlap policies decide against those).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub start: u64,
    pub end: u64,
    pub own: (u64, u64),
}

/// What placing one segment or fragment found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Placed {
    /// It overlapped bytes already held.
    pub overlapped: bool,
    /// Some of those bytes differed from its own.
    pub differs: bool,
}

/// Place `data`, which starts at absolute offset `start`, into `buf`
/// (whose first byte is offset `buf_base`; long enough for `data`), among
/// `pieces` (sorted, not overlapping). Bytes nobody held are copied and
/// recorded as new pieces owned by `own`; bytes already held are replaced
/// only where they differ and `wins(own, old_own)` says so.
///
/// Each turn handles one piece or one free range up to the next piece, so
/// the loop runs at most `2 * pieces.len() + 1` times.
pub fn place(
    pieces: &mut Vec<Piece>,
    buf: &mut [u8],
    buf_base: u64,
    start: u64,
    data: &[u8],
    own: (u64, u64),
    wins: impl Fn((u64, u64), (u64, u64)) -> bool,
) -> Placed {
    let end = start.saturating_add(data.len() as u64);
    let mut i = pieces.partition_point(|p| p.end <= start);
    let mut pos = start;
    let mut r = Placed::default();
    while pos < end {
        let (piece_end, old) = match pieces.get(i).copied() {
            Some(p) if p.start <= pos => (p.end.min(end), Some(p)),
            Some(p) => (p.start.min(end), None),
            None => (end, None),
        };
        let src = data.get(range(pos, piece_end, start));
        let dst = pos
            .checked_sub(buf_base)
            .and_then(|_| buf.get_mut(range(pos, piece_end, buf_base)));
        let (Some(src), Some(dst)) = (src, dst) else {
            break;
        };
        match old {
            Some(p) => {
                r.overlapped = true;
                if dst != src {
                    r.differs = true;
                    if wins(own, p.own) {
                        dst.copy_from_slice(src);
                    }
                }
            }
            None => {
                dst.copy_from_slice(src);
                pieces.insert(
                    i,
                    Piece {
                        start: pos,
                        end: piece_end,
                        own,
                    },
                );
            }
        }
        i += 1;
        pos = piece_end;
    }
    r
}

/// Indexes of `[from, to)` in a buffer whose first byte is offset `base`.
fn range(from: u64, to: u64, base: u64) -> std::ops::Range<usize> {
    let idx = |x: u64| usize::try_from(x.saturating_sub(base)).unwrap_or(usize::MAX);
    idx(from)..idx(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(_: (u64, u64), _: (u64, u64)) -> bool {
        false
    }

    fn last(_: (u64, u64), _: (u64, u64)) -> bool {
        true
    }

    #[test]
    fn fills_free_ranges_and_keeps_pieces_sorted_and_disjoint() {
        let mut pieces = Vec::new();
        let mut buf = vec![0u8; 20];
        assert_eq!(
            place(&mut pieces, &mut buf, 10, 14, b"efg", (14, 17), first),
            Placed::default()
        );
        assert_eq!(
            place(&mut pieces, &mut buf, 10, 20, b"klm", (20, 23), first),
            Placed::default()
        );
        // Spans both and the free ranges around them, same bytes.
        let r = place(&mut pieces, &mut buf, 10, 12, b"cdefghijklmno", (12, 25), first);
        assert_eq!(
            r,
            Placed {
                overlapped: true,
                differs: false
            }
        );
        assert_eq!(&buf[2..15], b"cdefghijklmno");
        let spans: Vec<(u64, u64)> = pieces.iter().map(|p| (p.start, p.end)).collect();
        assert_eq!(spans, vec![(12, 14), (14, 17), (17, 20), (20, 23), (23, 25)]);
        assert_eq!(pieces[2].own, (12, 25));
    }

    #[test]
    fn other_bytes_are_replaced_only_when_the_policy_says_so() {
        let mut pieces = Vec::new();
        let mut buf = vec![0u8; 8];
        place(&mut pieces, &mut buf, 0, 2, b"abcd", (2, 6), first);
        let r = place(&mut pieces, &mut buf, 0, 0, b"WXYZQR", (0, 6), first);
        assert!(r.overlapped && r.differs);
        assert_eq!(&buf[..6], b"WXabcd");
        let r = place(&mut pieces, &mut buf, 0, 3, b"123", (3, 6), last);
        assert!(r.overlapped && r.differs);
        assert_eq!(&buf[..6], b"WXa123");
        // The deciding bounds stay those of the first owner.
        let seen = std::cell::RefCell::new(Vec::new());
        place(&mut pieces, &mut buf, 0, 3, b"zzz", (3, 6), |_, old| {
            seen.borrow_mut().push(old);
            false
        });
        assert_eq!(seen.into_inner(), vec![(2, 6)]);
    }

    #[test]
    fn a_buffer_too_short_or_data_before_its_base_stops_cleanly() {
        let mut pieces = Vec::new();
        let mut buf = vec![0u8; 4];
        place(&mut pieces, &mut buf, 10, 8, b"abcdef", (8, 14), first);
        assert!(pieces.is_empty());
        place(&mut pieces, &mut buf, 10, 12, b"abcdef", (12, 18), first);
        assert!(pieces.is_empty());
        assert_eq!(buf, vec![0; 4]);
    }
}
