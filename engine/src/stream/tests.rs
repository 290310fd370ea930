use super::*;
use proptest::prelude::*;

/// What a sink saw, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ev {
    /// (whole window, new bytes)
    Data(Vec<u8>, Vec<u8>),
    Gap(u64),
}

struct Harness {
    cfg: StreamConfig,
    mem: Arc<StreamMem>,
    counters: StreamCounters,
    dir: StreamDir,
    now: u64,
}

impl Harness {
    fn new(cfg: StreamConfig) -> Harness {
        Harness {
            mem: StreamMem::new(cfg.memcap),
            cfg,
            counters: StreamCounters::default(),
            dir: StreamDir::default(),
            now: 1,
        }
    }

    fn seg_full(&mut self, seg: Segment<'_>) -> Vec<Ev> {
        let mut out = Vec::new();
        let mut ctx = StreamCtx {
            cfg: &self.cfg,
            mem: &self.mem,
            now_ns: self.now,
            counters: &mut self.counters,
        };
        self.dir.on_segment(&seg, &mut ctx, &mut |c| out.push(own(c)));
        out
    }

    fn seg(&mut self, seq: u32, data: &[u8]) -> Vec<Ev> {
        self.seg_full(Segment {
            seq,
            data,
            ..Segment::default()
        })
    }

    fn flush(&mut self) -> Vec<Ev> {
        let mut out = Vec::new();
        let mut ctx = StreamCtx {
            cfg: &self.cfg,
            mem: &self.mem,
            now_ns: self.now,
            counters: &mut self.counters,
        };
        self.dir.flush(&mut ctx, &mut |c| out.push(own(c)));
        out
    }
}

fn own(c: Chunk<'_>) -> Ev {
    match c {
        Chunk::Data { window, new_from } => Ev::Data(window.to_vec(), window[new_from..].to_vec()),
        Chunk::Gap(n) => Ev::Gap(n),
    }
}

fn data(w: &str, new: &str) -> Ev {
    Ev::Data(w.as_bytes().to_vec(), new.as_bytes().to_vec())
}

fn small() -> StreamConfig {
    StreamConfig {
        window: 16,
        ..StreamConfig::default()
    }
}

/// New bytes and gaps, flattened: gaps as `len` '?' markers.
fn flatten(evs: &[Ev]) -> Vec<u8> {
    let mut v = Vec::new();
    for e in evs {
        match e {
            Ev::Data(_, new) => v.extend_from_slice(new),
            Ev::Gap(n) => v.extend(std::iter::repeat_n(b'?', *n as usize)),
        }
    }
    v
}

#[test]
fn in_order_segments_share_a_window() {
    let mut h = Harness::new(small());
    h.dir.on_syn(999);
    assert_eq!(h.seg(1000, b"hello "), vec![data("hello ", "hello ")]);
    assert_eq!(h.seg(1006, b"world"), vec![data("hello world", "world")]);
    // Retransmission adds nothing but counts as an overlap.
    assert_eq!(h.seg(1000, b"hello "), vec![]);
    assert_eq!(h.counters.overlaps, 1);
    assert_eq!(h.counters.overlap_diff_data, 0);
    // Partial overlap contributes only its new tail.
    assert_eq!(h.seg(1009, b"ld!!"), vec![data("hello world!!", "!!")]);
    assert_eq!(h.dir.bytes, 13);
}

/// With no window kept, in-order bytes are handed on as they came (from
/// the segment itself) and held bytes as one run once the hole fills;
/// nothing stays in the window buffer.
#[test]
fn no_window_hands_on_only_new_bytes() {
    let mut h = Harness::new(StreamConfig {
        window: 0,
        ..StreamConfig::default()
    });
    h.dir.on_syn(999);
    assert_eq!(h.seg(1000, b"hello "), vec![data("hello ", "hello ")]);
    assert_eq!(h.seg(1006, b"world"), vec![data("world", "world")]);
    assert!(h.dir.window().is_empty());
    // A hole, then its filler: the filler first, then what was held.
    assert_eq!(h.seg(1014, b"late"), vec![]);
    assert_eq!(
        h.seg(1011, b"!!!"),
        vec![data("!!!", "!!!"), data("late", "late")]
    );
    assert_eq!(h.seg(1018, b"."), vec![data(".", ".")]);
    assert_eq!(h.dir.bytes, 19);
    // A retransmission is still an overlap, but with nothing kept to
    // compare it against, never "different data".
    assert_eq!(h.seg(1000, b"HELLO "), vec![]);
    assert_eq!((h.counters.overlaps, h.counters.overlap_diff_data), (1, 0));
}

/// Over a long stream the window is always the last `window` bytes before
/// the new ones, whether the kept tail was just moved in the buffer or not
/// (it is moved only when the buffer would grow), overlaps are still
/// compared against the right bytes, and the buffer stays near the window
/// plus the largest segment.
#[test]
fn long_stream_window_is_always_the_kept_tail() {
    let keep = 4096;
    let mut h = Harness::new(StreamConfig {
        window: keep,
        ..StreamConfig::default()
    });
    let stream: Vec<u8> = (0..200_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    h.dir.on_syn(0);
    let mut at = 0usize;
    let mut sizes = [1448usize, 1, 700, 5000, 31].iter().cycle();
    while at < stream.len() {
        let n = (*sizes.next().unwrap()).min(stream.len() - at);
        let evs = h.seg(1 + at as u32, &stream[at..at + n]);
        let kept = at.min(keep);
        assert_eq!(
            evs,
            vec![Ev::Data(
                stream[at - kept..at + n].to_vec(),
                stream[at..at + n].to_vec()
            )],
            "at {at}"
        );
        assert_eq!(h.dir.window(), &stream[at - kept..at + n]);
        // A retransmission of the last bytes is an overlap with equal data.
        if at > 10 {
            assert!(h.seg(1 + at as u32 - 10, &stream[at - 10..at]).is_empty());
        }
        at += n;
    }
    assert_eq!(h.counters.overlap_diff_data, 0);
    assert!(h.dir.window.capacity() <= 16 << 10, "{}", h.dir.window.capacity());
}

#[test]
fn window_keeps_only_tail() {
    let mut h = Harness::new(StreamConfig {
        window: 4,
        ..StreamConfig::default()
    });
    h.dir.on_syn(0);
    h.seg(1, b"abcdefgh");
    assert_eq!(h.seg(9, b"XY"), vec![data("efghXY", "XY")]);
}

#[test]
fn out_of_order_is_held_until_the_hole_fills() {
    let mut h = Harness::new(small());
    h.dir.on_syn(0);
    assert_eq!(h.seg(7, b"ghi"), vec![]);
    assert_eq!(h.seg(4, b"def"), vec![]);
    assert_eq!(h.dir.held_segments(), 2);
    assert!(h.mem.used() > 0);
    assert_eq!(h.seg(1, b"abc"), vec![data("abcdefghi", "abcdefghi")]);
    assert_eq!(h.dir.held_segments(), 0);
    assert_eq!(h.counters.gaps, 0);
    assert_eq!(h.seg(10, b"j"), vec![data("abcdefghij", "j")]);
}

#[test]
fn fin_turns_a_hole_into_an_exact_gap() {
    let mut h = Harness::new(small());
    h.dir.on_syn(0);
    h.seg(1, b"abc");
    assert_eq!(h.seg(10, b"xyz"), vec![]);
    let evs = h.seg_full(Segment {
        seq: 13,
        fin: true,
        ..Segment::default()
    });
    assert_eq!(evs, vec![Ev::Gap(6), data("xyz", "xyz")]);
    assert_eq!((h.counters.gaps, h.counters.gap_bytes), (1, 6));
    // Late arrival of the lost bytes: dropped.
    assert_eq!(h.seg(4, b"DEFGHI"), vec![]);
}

#[test]
fn acked_hole_becomes_a_gap_after_the_wait() {
    let mut h = Harness::new(small());
    h.dir.on_syn(0);
    h.seg(1, b"abc");
    h.seg(10, b"xyz");
    h.dir.on_peer_ack(13, h.now);
    h.now += 10_000_000; // 10 ms: still waiting
    assert_eq!(h.seg(13, b"!"), vec![]);
    h.now += 50_000_000;
    assert_eq!(h.seg(14, b"?"), vec![Ev::Gap(6), data("xyz!?", "xyz!?")]);
}

#[test]
fn hole_timeout_without_acks() {
    let mut h = Harness::new(small());
    h.dir.on_syn(0);
    h.seg(5, b"efg");
    h.now += 6_000_000_000;
    assert_eq!(h.seg(8, b"h"), vec![Ev::Gap(4), data("efgh", "efgh")]);
}

#[test]
fn truncated_segment_gives_bytes_then_gap() {
    let mut h = Harness::new(small());
    h.dir.on_syn(0);
    let evs = h.seg_full(Segment {
        seq: 1,
        data: b"abc",
        missing: 7,
        ..Segment::default()
    });
    assert_eq!(evs, vec![data("abc", "abc"), Ev::Gap(7)]);
    assert_eq!(h.dir.next_seq, 11);
    assert_eq!(h.seg(11, b"next"), vec![data("next", "next")]);
}

#[test]
fn truncated_segment_out_of_order() {
    let mut h = Harness::new(small());
    h.dir.on_syn(0);
    // Second segment (bytes 11..21) arrives first, cut to 3 bytes.
    let evs = h.seg_full(Segment {
        seq: 11,
        data: b"klm",
        missing: 7,
        ..Segment::default()
    });
    assert_eq!(evs, vec![]);
    let evs = h.seg_full(Segment {
        seq: 1,
        data: b"abc",
        missing: 7,
        ..Segment::default()
    });
    assert_eq!(
        evs,
        vec![data("abc", "abc"), Ev::Gap(7), data("klm", "klm"), Ev::Gap(7)]
    );
    assert_eq!(h.dir.next_seq, 21);
}

#[test]
fn gap_on_memcap_and_counts() {
    let mut h = Harness::new(StreamConfig {
        window: 16,
        memcap: 8,
        ..StreamConfig::default()
    });
    h.dir.on_syn(0);
    h.seg(1, b"ab");
    // 20 bytes ahead: cannot be held under an 8-byte memcap.
    assert_eq!(h.seg(23, b"xyz"), vec![Ev::Gap(20), data("xyz", "xyz")]);
    assert_eq!(h.counters.memcap_drops, 1);
    assert_eq!(h.mem.used(), 0);
}

#[test]
fn segment_too_far_ahead_waits_for_ack() {
    let mut h = Harness::new(StreamConfig {
        window: 16,
        max_held_bytes: 100,
        ..StreamConfig::default()
    });
    h.dir.on_syn(0);
    assert_eq!(h.seg(1001, b"far"), vec![]);
    assert_eq!(h.counters.memcap_drops, 1);
    h.dir.on_peer_ack(1004, h.now);
    h.now += 100_000_000;
    assert_eq!(h.seg(1004, b"on"), vec![Ev::Gap(1003), data("on", "on")]);
}

#[test]
fn overlap_with_different_bytes_is_counted_and_resolved() {
    // bsd: new data wins only where it starts before the old segment.
    let mut h = Harness::new(small());
    h.dir.on_syn(0);
    h.seg(5, b"EFGH"); // held [4,8)
    h.seg(3, b"cdXX"); // [2,6): starts before: wins on [4,6)
    assert_eq!(h.counters.overlap_diff_data, 1);
    assert_eq!(flatten(&h.seg(1, b"ab")), b"abcdXXGH");
    // first: old wins.
    let mut h = Harness::new(StreamConfig {
        policy: OverlapPolicy::First,
        ..small()
    });
    h.dir.on_syn(0);
    h.seg(5, b"EFGH");
    h.seg(3, b"cdXX");
    assert_eq!(flatten(&h.seg(1, b"ab")), b"abcdEFGH");
}

#[test]
fn overlap_with_inspected_data_keeps_what_was_inspected() {
    let mut h = Harness::new(small());
    h.dir.on_syn(0);
    h.seg(1, b"abcdef");
    assert_eq!(h.seg(3, b"XYZ"), vec![]);
    assert_eq!(h.counters.overlap_diff_data, 1);
    assert_eq!(h.dir.window(), b"abcdef");
}

#[test]
fn sequence_wraps() {
    let mut h = Harness::new(small());
    h.dir.on_syn(u32::MAX - 2);
    assert_eq!(h.seg(u32::MAX - 1, b"abcd"), vec![data("abcd", "abcd")]);
    assert_eq!(h.dir.next_seq, 2);
    // Out of order across the wrap.
    assert_eq!(h.seg(4, b"gh"), vec![]);
    assert_eq!(h.seg(2, b"ef"), vec![data("abcdefgh", "efgh")]);
}

#[test]
fn not_tracking_ignores_data() {
    let mut h = Harness::new(small());
    assert_eq!(h.seg(5, b"abc"), vec![]);
}

#[test]
fn depth_stops_inspection() {
    let mut h = Harness::new(StreamConfig { depth: 4, ..small() });
    h.dir.on_syn(0);
    assert_eq!(h.seg(1, b"abcd"), vec![data("abcd", "abcd")]);
    assert_eq!(h.seg(5, b"efgh"), vec![]);
    assert_eq!(h.counters.depth_reached, 1);
}

#[test]
fn release_gives_memory_back() {
    let mut h = Harness::new(small());
    h.dir.on_syn(0);
    h.seg(100, b"held");
    assert!(h.mem.used() > 0);
    let clone = h.dir.clone();
    assert_eq!(clone.charged(), 0);
    h.dir.release();
    assert_eq!(h.mem.used(), 0);
}

#[test]
fn end_flush_delivers_held_data_after_a_gap() {
    let mut h = Harness::new(small());
    h.dir.on_syn(0);
    h.seg(5, b"efg");
    assert_eq!(h.flush(), vec![Ev::Gap(4), data("efg", "efg")]);
}

// ---- property tests ----

/// Cut `len` bytes into segments: (offset, length) pairs covering it.
fn cuts(len: usize, sizes: &[usize]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut off = 0;
    let mut i = 0;
    while off < len {
        let s = sizes
            .get(i % sizes.len().max(1))
            .copied()
            .unwrap_or(1)
            .clamp(1, len - off);
        v.push((off, s));
        off += s;
        i += 1;
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Reordered, duplicated and overlapping (same bytes) segments give back
    /// the original stream, whatever the policy and sequence start.
    #[test]
    fn reassembles_any_delivery_order(
        bytes in proptest::collection::vec(any::<u8>(), 1..2000),
        sizes in proptest::collection::vec(1usize..200, 1..20),
        isn in any::<u32>(),
        order in proptest::collection::vec(any::<u32>(), 0..64),
        dups in proptest::collection::vec((any::<u16>(), 0usize..300, 1usize..300), 0..10),
        policy in 0usize..OverlapPolicy::ALL.len(),
        keep in prop_oneof![Just(0usize), Just(32)],
    ) {
        let mut h = Harness::new(StreamConfig {
            window: keep,
            policy: OverlapPolicy::ALL[policy],
            // Up to 2,000 one-byte segments may be held at once here; the
            // limit itself is tested apart.
            max_held_segments: 4096,
            ..StreamConfig::default()
        });
        h.dir.on_syn(isn);
        let mut segs = cuts(bytes.len(), &sizes);
        // Extra overlapping copies (same bytes) at random places.
        for &(at, back, len) in &dups {
            let start = (at as usize % bytes.len()).saturating_sub(back);
            let len = len.min(bytes.len() - start);
            segs.push((start, len));
        }
        // Shuffle by the random keys.
        let mut keyed: Vec<(u32, (usize, usize))> = segs
            .iter()
            .enumerate()
            .map(|(i, &s)| (order.get(i).copied().unwrap_or(i as u32), s))
            .collect();
        keyed.sort_by_key(|&(k, _)| k);
        let mut out = Vec::new();
        for (_, (off, len)) in keyed {
            let seq = isn.wrapping_add(1).wrapping_add(off as u32);
            out.extend(h.seg(seq, &bytes[off..off + len]));
        }
        out.extend(h.flush());
        prop_assert!(out.iter().all(|e| !matches!(e, Ev::Gap(_))), "no gaps expected: {:?}", out);
        prop_assert_eq!(flatten(&out), bytes.clone());
        prop_assert_eq!(h.counters.overlap_diff_data, 0);
        // Every window ends with its new bytes and is a substring of the stream.
        for e in &out {
            if let Ev::Data(w, new) = e {
                prop_assert!(w.ends_with(new));
                prop_assert!(w.len() <= keep + new.len());
            }
        }
        h.dir.release();
        prop_assert_eq!(h.mem.used(), 0);
    }

    /// Every overlap policy against a reference model: each byte remembers
    /// the bounds of the segment that first supplied it; a later segment
    /// replaces it when the policy says so against those bounds.
    #[test]
    fn overlap_policies_match_the_model(
        segs in proptest::collection::vec((1usize..60, 1usize..20, any::<u8>()), 1..12),
        policy in 0usize..OverlapPolicy::ALL.len(),
    ) {
        let policy = OverlapPolicy::ALL[policy];
        let mut h = Harness::new(StreamConfig { window: 8, policy, ..StreamConfig::default() });
        h.dir.on_syn(0);
        // Model: offset -> (byte, owner start, owner end). Offset 0 stays a
        // hole until the end so everything is held.
        let mut model: Vec<Option<(u8, u64, u64)>> = vec![None; 100];
        for (i, &(start, len, fill)) in segs.iter().enumerate() {
            let bytes: Vec<u8> = (0..len).map(|k| fill.wrapping_add((i * 31 + k) as u8)).collect();
            let (s, e) = (start as u64, (start + len) as u64);
            for (k, &b) in bytes.iter().enumerate() {
                let slot = &mut model[start + k];
                match slot {
                    None => *slot = Some((b, s, e)),
                    Some((old, os, oe)) => {
                        if policy.segment_wins(s, e, *os, *oe) {
                            *old = b;
                        }
                    }
                }
            }
            // Stream offset x is sequence number x + 1 (ISN 0).
            h.seg(start as u32 + 1, &bytes);
        }
        let out = h.seg(1, &[0xAA]);
        let mut expect = vec![0xAA];
        for slot in model.iter().skip(1) {
            match slot {
                Some((b, _, _)) => expect.push(*b),
                None => break,
            }
        }
        prop_assert_eq!(flatten(&out), expect);
    }

    /// Arbitrary segments (any seq, flags, truncation, acks, time) never
    /// panic, and memory stays within the per-direction bound.
    #[test]
    fn never_panics(
        ops in proptest::collection::vec(
            (any::<u32>(), proptest::collection::vec(any::<u8>(), 0..64), 0u32..100, any::<u8>(), 0u64..100_000_000),
            1..60),
        near in any::<bool>(),
    ) {
        let mut h = Harness::new(StreamConfig {
            window: 16,
            max_held_bytes: 4096,
            max_held_segments: 8,
            memcap: 4096,
            ..StreamConfig::default()
        });
        h.dir.on_syn(1000);
        for (seq, data, missing, flags, dt) in ops {
            let seq = if near { 1000u32.wrapping_add(seq % 5000) } else { seq };
            h.now += dt;
            if flags & 1 != 0 {
                h.dir.on_peer_ack(seq.wrapping_add(100), h.now);
            }
            h.seg_full(Segment { seq, data: &data, missing, fin: flags & 2 != 0, rst: flags & 4 != 0 });
            prop_assert!(h.mem.used() <= 4096);
            prop_assert!(h.dir.held_segments() <= 8);
        }
        h.flush();
        h.dir.release();
        prop_assert_eq!(h.mem.used(), 0);
    }
}

#[test]
fn events_name_gaps_overlaps_with_other_bytes_and_depth() {
    use tapwatch_rules::Event;
    let mut h = Harness::new(StreamConfig { depth: 20, ..small() });
    h.dir.on_syn(0);
    h.seg(1, b"abcdef");
    assert!(h.dir.take_events().is_empty());
    // Same bytes again: an overlap, no event.
    h.seg(3, b"cd");
    assert!(h.dir.take_events().is_empty());
    // Other bytes over held data.
    h.seg(10, b"jklm");
    h.seg(11, b"XY");
    let e = h.dir.take_events();
    assert!(e.contains(Event::StreamOverlapDifferentData) && !e.contains(Event::StreamSeqGap));
    // Taken once.
    assert!(h.dir.take_events().is_empty());
    h.flush();
    assert!(h.dir.take_events().contains(Event::StreamSeqGap));
    h.seg(14, b"nopqrstuvwxyz");
    h.seg(27, b"0");
    assert!(h.dir.take_events().contains(Event::StreamDepthReached));
}

#[test]
fn a_detached_direction_keeps_held_data_and_gives_memory_back_when_dropped() {
    let mut h = Harness::new(small());
    h.dir.on_syn(0);
    h.seg(1, b"abc");
    h.seg(10, b"HELD");
    let used = h.mem.used();
    assert!(used > 0);
    let mut ended = h.dir.detach();
    // The live direction holds nothing now; the charge moved.
    assert_eq!((h.dir.held_segments(), h.dir.charged()), (0, 0));
    assert_eq!(ended.held_segments(), 1);
    assert_eq!(h.mem.used(), used);
    let mut out = Vec::new();
    let mut ctx = StreamCtx {
        cfg: &h.cfg,
        mem: &h.mem,
        now_ns: 2,
        counters: &mut h.counters,
    };
    ended.flush(&mut ctx, &mut |c| out.push(own(c)));
    assert_eq!(out, vec![Ev::Gap(6), data("HELD", "HELD")]);
    drop(ended);
    assert_eq!(h.mem.used(), 0);
    // A dropped direction with held data releases its charge too.
    h.dir.on_syn(100);
    h.seg(110, b"later");
    assert!(h.mem.used() > 0);
    drop(std::mem::take(&mut h.dir));
    assert_eq!(h.mem.used(), 0);
}

/// Segments held behind a hole at offset 0, then the hole filled: what
/// the stream says under `policy`.
fn resolved(policy: OverlapPolicy, segs: &[(u32, &[u8])]) -> Vec<u8> {
    let mut h = Harness::new(StreamConfig { policy, ..small() });
    h.dir.on_syn(0);
    for &(seq, data) in segs {
        assert_eq!(h.seg(seq, data), vec![]);
    }
    flatten(&h.seg(1, b"_"))
}

#[test]
fn linux_keeps_the_old_bytes_for_a_same_start_segment_that_does_not_end_after() {
    // Same start and end, other bytes: old wins on linux (Suricata), new on
    // old-linux; a same-start segment ending after wins on both.
    let same: &[(u32, &[u8])] = &[(2, b"abcd"), (2, b"WXYZ")];
    assert_eq!(resolved(OverlapPolicy::Linux, same), b"_abcd");
    assert_eq!(resolved(OverlapPolicy::OldLinux, same), b"_WXYZ");
    let longer: &[(u32, &[u8])] = &[(2, b"abcd"), (2, b"WXYZQ")];
    assert_eq!(resolved(OverlapPolicy::Linux, longer), b"_WXYZQ");
    let shorter: &[(u32, &[u8])] = &[(2, b"abcd"), (2, b"WX")];
    assert_eq!(resolved(OverlapPolicy::Linux, shorter), b"_abcd");
}

#[test]
fn solaris_keeps_the_old_bytes_for_a_later_segment_ending_at_the_same_place() {
    let same_end: &[(u32, &[u8])] = &[(2, b"abcdef"), (4, b"WXYZ")];
    assert_eq!(resolved(OverlapPolicy::Solaris, same_end), b"_abcdef");
    // Ending after the old segment, it wins.
    let after: &[(u32, &[u8])] = &[(2, b"abcdef"), (4, b"WXYZQ")];
    assert_eq!(resolved(OverlapPolicy::Solaris, after), b"_abWXYZQ");
    // Starting before and ending inside, it loses.
    let inside: &[(u32, &[u8])] = &[(4, b"abcdef"), (2, b"WXYZ")];
    assert_eq!(resolved(OverlapPolicy::Solaris, inside), b"_WXabcdef");
}
