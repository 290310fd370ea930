//! Per-direction TCP stream data, in order.
//!
//! This first slice follows sequence numbers and hands detection a window:
//! the tail of already-inspected bytes followed by the new in-order bytes,
//! so a pattern split across segments matches exactly once. Out-of-order
//! data, overlaps and lost segments are treated as gaps here; the full
//! reassembly engine (holding segments until holes fill, overlap policies)
//! replaces [`StreamDir::on_segment`] without changing what detection sees.

/// What happened to a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentOutcome {
    /// New in-order bytes were appended; inspect `window()[new_from..]`.
    Data { new_from: usize },
    /// Nothing new (pure retransmission, empty segment, or not tracking).
    Nothing,
    /// Bytes went missing before this segment (loss, reordering or a
    /// mirror-truncated segment); the window restarted at this segment.
    GapThenData { gap: u64 },
}

#[derive(Clone, Debug, Default)]
pub struct StreamDir {
    /// Sequence numbers are being followed (handshake seen, or midstream).
    pub tracking: bool,
    /// Next expected sequence number.
    pub next_seq: u32,
    /// Tail of inspected data + the latest new data.
    window: Vec<u8>,
    /// Total in-order bytes seen.
    pub bytes: u64,
    /// Bytes skipped over in gaps.
    pub gap_bytes: u64,
    pub gaps: u32,
    /// The last segment was cut short: the next data starts a new window.
    cut_pending: bool,
}

impl StreamDir {
    pub fn reset(&mut self) {
        self.tracking = false;
        self.next_seq = 0;
        self.window.clear();
        self.bytes = 0;
        self.gap_bytes = 0;
        self.gaps = 0;
        self.cut_pending = false;
    }

    /// A SYN (or SYN/ACK) from this side fixes its initial sequence number.
    pub fn on_syn(&mut self, seq: u32) {
        self.tracking = true;
        self.next_seq = seq.wrapping_add(1);
        self.window.clear();
    }

    /// Start following a stream picked up mid-way at `seq`.
    pub fn pickup(&mut self, seq: u32) {
        self.tracking = true;
        self.next_seq = seq;
        self.window.clear();
    }

    pub fn window(&self) -> &[u8] {
        &self.window
    }

    /// Take a segment carrying `data` at `seq`, of which `missing` more
    /// bytes were announced but cut off (mirror truncation). `keep` is how
    /// much inspected data to keep before new data.
    pub fn on_segment(&mut self, seq: u32, data: &[u8], missing: u32, keep: usize) -> SegmentOutcome {
        if !self.tracking || (data.is_empty() && missing == 0) {
            return SegmentOutcome::Nothing;
        }
        let total_len = data.len() as u64 + missing as u64;
        // Signed distance from what we expect, with wrap-around.
        let diff = seq.wrapping_sub(self.next_seq) as i32;
        let outcome;
        let fresh: &[u8];
        if diff < 0 {
            // Starts before next_seq: retransmission, maybe with new bytes.
            let behind = diff.unsigned_abs() as u64;
            if behind >= total_len {
                return SegmentOutcome::Nothing;
            }
            let skip = behind.min(data.len() as u64) as usize;
            fresh = &data[skip..];
            outcome = None;
        } else if diff > 0 {
            // Hole before this segment.
            let gap = diff as u64;
            self.gaps += 1;
            self.gap_bytes += gap;
            self.window.clear();
            fresh = data;
            outcome = Some(gap);
        } else {
            fresh = data;
            outcome = None;
        }
        // Trim the window to its kept tail, then append.
        if self.cut_pending {
            self.window.clear();
            self.cut_pending = false;
        }
        if self.window.len() > keep {
            let cut = self.window.len() - keep;
            self.window.drain(..cut);
        }
        let new_from = self.window.len();
        self.window.extend_from_slice(fresh);
        self.bytes += fresh.len() as u64;
        let end = seq.wrapping_add(total_len as u32);
        if (end.wrapping_sub(self.next_seq) as i32) > 0 {
            self.next_seq = end;
        }
        if missing > 0 {
            // The cut-off bytes are a gap: nothing may match across them.
            self.gaps += 1;
            self.gap_bytes += missing as u64;
            self.cut_pending = true;
        }
        match outcome {
            Some(gap) => SegmentOutcome::GapThenData { gap },
            None if fresh.is_empty() => SegmentOutcome::Nothing,
            None => SegmentOutcome::Data { new_from },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_segments_share_a_window() {
        let mut s = StreamDir::default();
        s.on_syn(999);
        assert_eq!(
            s.on_segment(1000, b"hello ", 0, 16),
            SegmentOutcome::Data { new_from: 0 }
        );
        assert_eq!(
            s.on_segment(1006, b"world", 0, 16),
            SegmentOutcome::Data { new_from: 6 }
        );
        assert_eq!(s.window(), b"hello world");
        // Retransmission of the first segment adds nothing.
        assert_eq!(s.on_segment(1000, b"hello ", 0, 16), SegmentOutcome::Nothing);
        // Partial overlap contributes only its new tail.
        assert_eq!(
            s.on_segment(1009, b"ld!!", 0, 16),
            SegmentOutcome::Data { new_from: 11 }
        );
        assert_eq!(s.window(), b"hello world!!");
        assert_eq!(s.bytes, 13);
    }

    #[test]
    fn window_keeps_only_tail() {
        let mut s = StreamDir::default();
        s.on_syn(0);
        s.on_segment(1, b"abcdefgh", 0, 4);
        assert_eq!(s.on_segment(9, b"XY", 0, 4), SegmentOutcome::Data { new_from: 4 });
        assert_eq!(s.window(), b"efghXY");
    }

    #[test]
    fn gap_resets_window_and_counts() {
        let mut s = StreamDir::default();
        s.on_syn(0);
        s.on_segment(1, b"abc", 0, 16);
        assert_eq!(
            s.on_segment(10, b"xyz", 0, 16),
            SegmentOutcome::GapThenData { gap: 6 }
        );
        assert_eq!(s.window(), b"xyz");
        assert_eq!((s.gaps, s.gap_bytes), (1, 6));
    }

    #[test]
    fn sequence_wraps() {
        let mut s = StreamDir::default();
        s.on_syn(u32::MAX - 2);
        assert_eq!(
            s.on_segment(u32::MAX - 1, b"abcd", 0, 16),
            SegmentOutcome::Data { new_from: 0 }
        );
        assert_eq!(s.next_seq, 2);
        assert_eq!(
            s.on_segment(2, b"ef", 0, 16),
            SegmentOutcome::Data { new_from: 4 }
        );
    }

    #[test]
    fn truncated_segment_advances_by_announced_length() {
        let mut s = StreamDir::default();
        s.on_syn(0);
        s.on_segment(1, b"abc", 7, 16);
        assert_eq!(s.next_seq, 11);
        assert_eq!(s.gap_bytes, 7);
        assert_eq!(
            s.on_segment(11, b"next", 0, 16),
            SegmentOutcome::Data { new_from: 0 }
        );
        assert_eq!(s.window(), b"next");
    }

    #[test]
    fn not_tracking_ignores_data() {
        let mut s = StreamDir::default();
        assert_eq!(s.on_segment(5, b"abc", 0, 16), SegmentOutcome::Nothing);
    }
}
