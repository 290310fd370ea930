#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]
//! Per-direction TCP stream reassembly.
//!
//! [`StreamDir::on_segment`] takes one segment of one direction and hands
//! the caller, through a sink, what became available in order:
//! [`Chunk::Data`] (a detection window: the kept tail of already inspected
//! bytes followed by the new bytes, `new_from` marking where new starts) and
//! [`Chunk::Gap`] (so many bytes will never be seen). A pattern spread over
//! several segments, delivered in any order, is therefore found exactly
//! once, and nothing ever matches across a gap (the window restarts after
//! one).
//!
//! - Sequence numbers are compared with wrap-around arithmetic and mapped to
//!   absolute 64-bit stream offsets, so nothing overflows.
//! - In-order data with nothing held is appended to the window straight from
//!   the packet (the one copy). With no window kept (`window: 0`, when no
//!   rule reads the stream) it is handed on from the packet, not copied.
//! - Out-of-order data is held in a per-direction buffer indexed by stream
//!   offset, bounded per direction (`max_held_bytes`, `max_held_segments`)
//!   and by a memcap shared by all workers ([`StreamMem`]).
//! - Retransmissions are dropped; overlaps are counted, and bytes that differ
//!   are resolved by the [`OverlapPolicy`] and counted as `overlap_diff_data`.
//! - A hole that does not fill becomes a gap of its exact length when this
//!   side sends FIN or RST, when the peer has acknowledged past it for
//!   `gap_wait_ms` of packet time, after `hole_timeout_ms`, or when limits
//!   force it. A segment cut short by the mirror (`payload_missing`) gives
//!   its bytes and then a gap for the part that was cut off.

pub(crate) mod overlap;
mod policy;
#[cfg(test)]
mod tests;

pub use policy::{OverlapPolicy, UnknownPolicy};

use crate::config::StreamConfig;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tapwatch_rules::{Event, EventSet};

/// Reassembly memory shared by every worker: what out-of-order buffers hold.
/// Charged before a buffer grows; running out is a counter, never a failure.
#[derive(Debug, Default)]
pub struct StreamMem {
    used: AtomicU64,
    peak: AtomicU64,
    /// 0 = unlimited.
    cap: u64,
}

impl StreamMem {
    /// A shared account of at most `cap` bytes (0 = unlimited).
    pub fn new(cap: u64) -> Arc<StreamMem> {
        Arc::new(StreamMem {
            cap,
            ..StreamMem::default()
        })
    }

    /// Bytes currently held.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Most bytes held at once.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// The configured cap (0 = unlimited).
    pub fn cap(&self) -> u64 {
        self.cap
    }

    fn try_charge(&self, n: u64) -> bool {
        let before = self.used.fetch_add(n, Ordering::Relaxed);
        let after = before.saturating_add(n);
        if self.cap > 0 && after > self.cap {
            self.used.fetch_sub(n, Ordering::Relaxed);
            return false;
        }
        self.peak.fetch_max(after, Ordering::Relaxed);
        true
    }

    fn release(&self, n: u64) {
        self.used.fetch_sub(n, Ordering::Relaxed);
    }
}

/// Reassembly counters (one set per worker, merged for `stats.tcp`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamCounters {
    /// Gaps declared (lost, never-filled or mirror-truncated data).
    pub gaps: u64,
    /// Bytes skipped in gaps.
    pub gap_bytes: u64,
    /// Segments that overlapped data already seen (retransmissions too).
    pub overlaps: u64,
    /// Overlapping segments whose bytes differed from what was seen.
    pub overlap_diff_data: u64,
    /// Out-of-order segments that could not be held (per-direction limits or
    /// the shared memcap); a gap follows.
    pub memcap_drops: u64,
    /// Directions that reached `stream.reassembly.depth`.
    pub depth_reached: u64,
}

impl StreamCounters {
    pub fn merge(&mut self, o: &StreamCounters) {
        self.gaps += o.gaps;
        self.gap_bytes += o.gap_bytes;
        self.overlaps += o.overlaps;
        self.overlap_diff_data += o.overlap_diff_data;
        self.memcap_drops += o.memcap_drops;
        self.depth_reached += o.depth_reached;
    }
}

/// What a call hands on, in stream order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// In-order bytes: `window[new_from..]` is new, `window[..new_from]` is
    /// the kept tail of data inspected before (no gap inside `window`).
    Data { window: &'a [u8], new_from: usize },
    /// This many bytes are missing and will not be delivered.
    Gap(u64),
}

/// One TCP segment of one direction.
#[derive(Clone, Copy, Debug, Default)]
pub struct Segment<'a> {
    pub seq: u32,
    /// Payload bytes present in the frame.
    pub data: &'a [u8],
    /// Payload bytes announced by the headers but cut off by the mirror.
    pub missing: u32,
    pub fin: bool,
    pub rst: bool,
}

/// What a call needs from the worker.
pub struct StreamCtx<'a> {
    pub cfg: &'a StreamConfig,
    pub mem: &'a Arc<StreamMem>,
    /// Packet time.
    pub now_ns: u64,
    pub counters: &'a mut StreamCounters,
}

/// A held out-of-order range and the segment that first supplied it.
type Held = overlap::Piece;

/// Most "known lost" ranges (cut-off tails of held segments) remembered.
const MAX_LOST: usize = 64;

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct StreamDir {
    /// Sequence numbers are being followed (handshake seen, or midstream).
    pub tracking: bool,
    /// Next expected sequence number (everything before was delivered or
    /// declared a gap).
    pub next_seq: u32,
    /// Stream offset of `next_seq` since tracking began.
    base: u64,
    /// Kept tail of inspected data + the data run being delivered, from
    /// `head` on: bytes before `head` fell out of the window. They are
    /// removed (the kept tail moved to the front) only when new data
    /// would otherwise grow the buffer, not per segment, so the buffer
    /// stays the size the window and a segment need.
    window: Vec<u8>,
    head: usize,
    /// `new_from` of the run being delivered in the current call.
    run: Option<usize>,
    /// Out-of-order bytes: `ooo[i]` is the byte at offset `base + i`.
    ooo: Vec<u8>,
    /// Held ranges, sorted, not overlapping, all at or after `base`.
    held: Vec<Held>,
    /// Ranges known lost (cut off by the mirror) ahead of `base`.
    lost: Vec<(u64, u64)>,
    /// Bytes charged to the shared memcap (the capacity of `ooo`).
    charged: u64,
    mem: Option<Arc<StreamMem>>,
    /// Data arrived ahead of a hole that could not be held.
    dropped_ahead: bool,
    /// Resynchronise on the next segment ahead (hole given up, nothing held).
    resync: bool,
    /// Packet time a hole started waiting.
    hole_since_ns: Option<u64>,
    /// Packet time the peer first acknowledged past the hole, and its ACK.
    acked_since_ns: Option<u64>,
    peer_ack: u32,
    depth_reached: bool,
    /// Total in-order bytes delivered.
    pub bytes: u64,
    /// Bytes skipped in gaps.
    pub gap_bytes: u64,
    pub gaps: u32,
    /// Stream events raised since the caller last took them.
    raised: EventSet,
}

/// Clones carry the position and totals, not the buffers (flow records are
/// built from clones; only the live flow holds memory).
impl Clone for StreamDir {
    fn clone(&self) -> Self {
        let mut d = StreamDir::default();
        d.tracking = self.tracking;
        d.next_seq = self.next_seq;
        d.base = self.base;
        d.depth_reached = self.depth_reached;
        d.bytes = self.bytes;
        d.gap_bytes = self.gap_bytes;
        d.gaps = self.gaps;
        d
    }
}

/// Held memory goes back to the shared memcap however a direction ends.
impl Drop for StreamDir {
    fn drop(&mut self) {
        if let Some(m) = self.mem.take() {
            m.release(self.charged);
        }
    }
}

/// `a` is after `b` in sequence space.
pub fn seq_gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

impl StreamDir {
    /// Forget everything and give held memory back.
    pub fn reset(&mut self) {
        self.release();
        let window = std::mem::take(&mut self.window);
        *self = StreamDir::default();
        self.window = window;
        self.window.clear();
    }

    /// Move the data held after a hole (and its memcap charge) into a copy
    /// of this direction's position, for inspection after its flow ended
    /// ([`StreamDir::flush`]); this direction keeps its window buffer for
    /// the next flow in its slot. Dropping the copy gives the memory back.
    pub fn detach(&mut self) -> StreamDir {
        let mut d = self.clone();
        d.ooo = std::mem::take(&mut self.ooo);
        d.held = std::mem::take(&mut self.held);
        d.lost = std::mem::take(&mut self.lost);
        d.charged = std::mem::take(&mut self.charged);
        d.mem = self.mem.take();
        d.dropped_ahead = self.dropped_ahead;
        d
    }

    /// Give held memory back (the flow is over or the direction restarts).
    pub fn release(&mut self) {
        self.held.clear();
        self.lost.clear();
        self.ooo = Vec::new();
        if let Some(m) = self.mem.take() {
            m.release(self.charged);
        }
        self.charged = 0;
        if self.window.capacity() > 1 << 16 {
            self.window = Vec::new();
            self.head = 0;
        }
    }

    /// A SYN (or SYN/ACK) from this side fixes its initial sequence number.
    pub fn on_syn(&mut self, seq: u32) {
        if self.tracking && self.next_seq == seq.wrapping_add(1) && self.base == 0 {
            return; // SYN retransmission
        }
        self.reset();
        self.tracking = true;
        self.next_seq = seq.wrapping_add(1);
    }

    /// Start following a stream picked up mid-way at `seq`.
    pub fn pickup(&mut self, seq: u32) {
        self.reset();
        self.tracking = true;
        self.next_seq = seq;
    }

    /// The current detection window (kept tail of inspected data).
    pub fn window(&self) -> &[u8] {
        self.window.get(self.head..).unwrap_or_default()
    }

    fn clear_window(&mut self) {
        self.window.clear();
        self.head = 0;
    }

    /// Bytes held out of order.
    pub fn held_bytes(&self) -> u64 {
        self.held.iter().map(|h| h.end - h.start).sum()
    }

    /// Segments (ranges) held out of order.
    pub fn held_segments(&self) -> usize {
        self.held.len()
    }

    /// Bytes charged to the shared memcap by this direction.
    pub fn charged(&self) -> u64 {
        self.charged
    }

    /// The stream events (`stream-event` names) raised since the last call:
    /// gaps, overlaps with different bytes, depth reached.
    pub fn take_events(&mut self) -> EventSet {
        std::mem::take(&mut self.raised)
    }

    /// The peer acknowledged up to `ack`: a hole it acknowledged will not be
    /// filled by a retransmission, so it becomes a gap after `gap_wait_ms`.
    pub fn on_peer_ack(&mut self, ack: u32, now_ns: u64) {
        if !self.tracking || !(self.pending_hole()) || !seq_gt(ack, self.next_seq) {
            return;
        }
        if self.acked_since_ns.is_none() || seq_gt(ack, self.peer_ack) {
            self.peer_ack = ack;
        }
        self.acked_since_ns.get_or_insert(now_ns);
    }

    fn pending_hole(&self) -> bool {
        !self.held.is_empty() || self.dropped_ahead
    }

    /// Absolute offset of `seq` (may be before the stream start).
    fn offset_of(&self, seq: u32) -> i128 {
        self.base as i128 + i128::from(seq.wrapping_sub(self.next_seq) as i32)
    }

    /// Take one segment; `sink` receives what is now in order.
    pub fn on_segment<F: FnMut(Chunk<'_>)>(
        &mut self,
        seg: &Segment<'_>,
        ctx: &mut StreamCtx<'_>,
        sink: &mut F,
    ) {
        if !self.tracking || self.depth_reached {
            return;
        }
        let depth = ctx.cfg.depth;
        if depth > 0 && self.base >= depth {
            self.depth_reached = true;
            ctx.counters.depth_reached += 1;
            self.raised.insert(Event::StreamDepthReached);
            self.release();
            self.clear_window();
            return;
        }
        self.check_waits(ctx, sink);
        let dlen = seg.data.len() as u64;
        let total = dlen + u64::from(seg.missing);
        if total > 0 {
            self.take(seg, dlen, total, ctx, sink);
        }
        if seg.fin || seg.rst {
            self.flush_all(ctx, sink);
        }
        self.flush_run(sink);
        self.after(ctx);
    }

    /// End of the direction (flow end): every held byte after holes is
    /// handed on after a gap for each hole.
    pub fn flush<F: FnMut(Chunk<'_>)>(&mut self, ctx: &mut StreamCtx<'_>, sink: &mut F) {
        if !self.tracking {
            return;
        }
        self.flush_all(ctx, sink);
        self.flush_run(sink);
        self.after(ctx);
    }

    fn take<F: FnMut(Chunk<'_>)>(
        &mut self,
        seg: &Segment<'_>,
        dlen: u64,
        total: u64,
        ctx: &mut StreamCtx<'_>,
        sink: &mut F,
    ) {
        let mut start = self.offset_of(seg.seq);
        if self.resync && start > self.base as i128 {
            // A hole was given up with nothing held: continue here.
            let skip = (start - self.base as i128) as u64;
            self.gap(skip, ctx, sink);
            self.resync = false;
            self.dropped_ahead = false;
            start = self.base as i128;
        }
        let base = self.base as i128;
        let dend = start + dlen as i128;
        let tend = start + total as i128;
        if tend <= 0 {
            return; // entirely before the stream start
        }
        // The part before `base` was delivered already: compare it.
        if start < base {
            let hi = dend.min(base);
            if hi > start {
                ctx.counters.overlaps += 1;
                let window = self.window();
                let wstart = base - window.len() as i128;
                let lo = start.max(wstart);
                if lo < hi {
                    let w = window
                        .get((lo - wstart) as usize..(hi - wstart) as usize)
                        .unwrap_or_default();
                    let d = seg
                        .data
                        .get((lo - start) as usize..(hi - start) as usize)
                        .unwrap_or_default();
                    if w != d {
                        ctx.counters.overlap_diff_data += 1;
                        self.raised.insert(Event::StreamOverlapDifferentData);
                    }
                }
            }
        }
        // New data at or after base.
        if dend > base {
            let from = start.max(base);
            let skip = (from - start) as usize;
            let data = seg.data.get(skip..).unwrap_or_default();
            let own = (start.max(0) as u64, dend as u64);
            self.store(from as u64, data, own, ctx, sink);
        }
        // The cut-off tail: known lost.
        let mstart = dend.max(self.base as i128);
        if tend > mstart && self.lost.len() < MAX_LOST {
            self.lost.push((mstart as u64, tend as u64));
        }
        self.deliver(ctx, sink);
    }

    /// Put `data` (at absolute `start >= base`) into the stream.
    fn store<F: FnMut(Chunk<'_>)>(
        &mut self,
        mut start: u64,
        mut data: &[u8],
        own: (u64, u64),
        ctx: &mut StreamCtx<'_>,
        sink: &mut F,
    ) {
        // Each turn stores, delivers bytes at `base`, or gives up a hole
        // (moving `base` to the first held range, which is then delivered),
        // so the loop ends after at most `2 * held.len() + 3` turns.
        loop {
            if start < self.base {
                // Gaps moved past part of this segment; keep the rest.
                let cut = (self.base - start) as usize;
                data = data.get(cut..).unwrap_or_default();
                start = self.base;
            }
            if data.is_empty() {
                return;
            }
            let end = start + data.len() as u64;
            if start == self.base {
                // In order: straight to the window up to the first held range.
                let lim = self.held.first().map_or(end, |h| h.start.min(end));
                let n = (lim - start) as usize;
                if n > 0 {
                    let (now, rest) = data.split_at(n.min(data.len()));
                    if ctx.cfg.window == 0 {
                        // Nothing is kept in front of new data, so the
                        // segment's own bytes are the window: no copy.
                        self.flush_run(sink);
                        self.clear_window();
                        sink(Chunk::Data {
                            window: now,
                            new_from: 0,
                        });
                    } else {
                        self.begin_run(ctx.cfg.window, now.len());
                        self.window.extend_from_slice(now);
                    }
                    self.bytes += now.len() as u64;
                    self.advance(now.len() as u64);
                    self.deliver(ctx, sink);
                    data = rest;
                    start = lim;
                    continue;
                }
            }
            let need = end - self.base;
            if need > ctx.cfg.max_held_bytes as u64 {
                // Too far ahead to hold: drop it; the hole is resolved by an
                // ACK past it, FIN/RST or the hole timeout.
                ctx.counters.memcap_drops += 1;
                self.dropped_ahead = true;
                return;
            }
            let lo = self.held.partition_point(|h| h.end <= start);
            let hi = self.held.partition_point(|h| h.start < end);
            let pieces = hi.saturating_sub(lo) + 1;
            let fits = self.held.len() + pieces <= ctx.cfg.max_held_segments.max(1);
            if !fits || !self.grow(need as usize, ctx) {
                // Out of room: give up the first hole to free some.
                ctx.counters.memcap_drops += 1;
                let target = self.held.first().map_or(start, |h| h.start);
                self.gap(target.saturating_sub(self.base), ctx, sink);
                self.deliver(ctx, sink);
                continue;
            }
            self.merge(start, data, own, ctx);
            return;
        }
    }

    /// Make `ooo` at least `need` long, charging the memcap for growth.
    fn grow(&mut self, need: usize, ctx: &mut StreamCtx<'_>) -> bool {
        if self.ooo.len() >= need {
            return true;
        }
        let cap = self.ooo.capacity();
        if need > cap {
            let want = need
                .max(cap.saturating_mul(2))
                .min(ctx.cfg.max_held_bytes.max(need));
            let delta = (want - cap) as u64;
            if !ctx.mem.try_charge(delta) {
                return false;
            }
            self.ooo.reserve_exact(want - self.ooo.len());
            let actual = (self.ooo.capacity() - cap) as u64;
            if actual > delta {
                // The allocator rounded up: account for all of it.
                ctx.mem.used.fetch_add(actual - delta, Ordering::Relaxed);
            }
            self.charged += actual.max(delta);
            if self.mem.is_none() {
                self.mem = Some(ctx.mem.clone());
            }
        }
        self.ooo.resize(need, 0);
        true
    }

    /// Insert `data` at `start` among the held ranges, resolving overlaps
    /// with the policy. `ooo` is long enough.
    fn merge(&mut self, start: u64, data: &[u8], own: (u64, u64), ctx: &mut StreamCtx<'_>) {
        let policy = ctx.cfg.policy;
        let placed = overlap::place(
            &mut self.held,
            &mut self.ooo,
            self.base,
            start,
            data,
            own,
            |n, o| policy.segment_wins(n.0, n.1, o.0, o.1),
        );
        if placed.overlapped {
            ctx.counters.overlaps += 1;
        }
        if placed.differs {
            ctx.counters.overlap_diff_data += 1;
            self.raised.insert(Event::StreamOverlapDifferentData);
        }
    }

    /// Hand on everything now in order: held runs at `base`, and gaps for
    /// known-lost ranges at `base`.
    fn deliver<F: FnMut(Chunk<'_>)>(&mut self, ctx: &mut StreamCtx<'_>, sink: &mut F) {
        loop {
            if let Some(first) = self.held.first().copied() {
                if first.start == self.base {
                    let mut run_end = first.end;
                    let mut k = 1;
                    while let Some(h) = self.held.get(k) {
                        if h.start != run_end {
                            break;
                        }
                        run_end = h.end;
                        k += 1;
                    }
                    let n = (run_end - self.base) as usize;
                    self.begin_run(ctx.cfg.window, n);
                    let bytes = self.ooo.get(..n).unwrap_or_default();
                    self.window.extend_from_slice(bytes);
                    self.bytes += n as u64;
                    self.held.drain(..k);
                    self.advance(n as u64);
                    continue;
                }
            }
            let base = self.base;
            let lost_end = self
                .lost
                .iter()
                .filter(|&&(s, e)| s <= base && base < e)
                .map(|&(_, e)| e)
                .max();
            if let Some(e) = lost_end {
                let limit = self.held.first().map_or(e, |h| h.start.min(e));
                self.gap(limit - base, ctx, sink);
                continue;
            }
            return;
        }
    }

    /// Give up every hole: gap, then the held data after it.
    fn flush_all<F: FnMut(Chunk<'_>)>(&mut self, ctx: &mut StreamCtx<'_>, sink: &mut F) {
        while let Some(h) = self.held.first().copied() {
            let skip = h.start.saturating_sub(self.base);
            self.gap(skip, ctx, sink);
            self.deliver(ctx, sink);
        }
        if self.dropped_ahead {
            self.resync = true;
        }
    }

    /// Holes that waited long enough become gaps.
    fn check_waits<F: FnMut(Chunk<'_>)>(&mut self, ctx: &mut StreamCtx<'_>, sink: &mut F) {
        let now = ctx.now_ns;
        let ms = 1_000_000u64;
        if let Some(t) = self.acked_since_ns {
            if now >= t.saturating_add(ctx.cfg.gap_wait_ms.saturating_mul(ms)) {
                self.acked_since_ns = None;
                let ack = self.offset_of(self.peer_ack);
                if ack > self.base as i128 {
                    let ack = ack as u64;
                    let target = self.held.first().map_or(ack, |h| h.start.min(ack));
                    self.gap(target - self.base, ctx, sink);
                    if self.held.is_empty() {
                        self.dropped_ahead = false;
                    }
                    self.deliver(ctx, sink);
                    return;
                }
            }
        }
        if let Some(t) = self.hole_since_ns {
            if now >= t.saturating_add(ctx.cfg.hole_timeout_ms.saturating_mul(ms)) {
                self.hole_since_ns = None;
                self.flush_all(ctx, sink);
            }
        }
    }

    /// Bookkeeping after a call: hole timers.
    fn after(&mut self, ctx: &StreamCtx<'_>) {
        if self.pending_hole() {
            self.hole_since_ns.get_or_insert(ctx.now_ns);
        } else {
            self.hole_since_ns = None;
            self.acked_since_ns = None;
        }
        if self.held.is_empty() && self.charged > 1 << 14 {
            // A burst of reordering is over: give its buffer back.
            self.ooo = Vec::new();
            if let Some(m) = &self.mem {
                m.release(self.charged);
            }
            self.charged = 0;
        }
        if self.window.capacity() > ctx.cfg.window.saturating_mul(4).max(1 << 16) {
            self.window.drain(..self.head.min(self.window.len()));
            self.head = 0;
            self.window.shrink_to(ctx.cfg.window.saturating_mul(2));
        }
    }

    /// Start (or continue) the data run of this call, about to append
    /// `incoming` bytes.
    fn begin_run(&mut self, keep: usize, incoming: usize) {
        if self.run.is_none() {
            let len = self.window.len();
            if len.saturating_sub(self.head) > keep {
                self.head = len - keep;
            }
            if self.head > 0 && len.saturating_add(incoming) > self.window.capacity() {
                self.window.drain(..self.head);
                self.head = 0;
            }
            self.run = Some(self.window.len());
        }
    }

    fn flush_run<F: FnMut(Chunk<'_>)>(&mut self, sink: &mut F) {
        if let Some(run) = self.run.take() {
            let window = self.window.get(self.head..).unwrap_or_default();
            let new_from = run.saturating_sub(self.head);
            if window.len() > new_from {
                sink(Chunk::Data { window, new_from });
            }
        }
    }

    /// `n` bytes at `base` will never be seen.
    fn gap<F: FnMut(Chunk<'_>)>(&mut self, n: u64, ctx: &mut StreamCtx<'_>, sink: &mut F) {
        if n == 0 {
            return;
        }
        self.flush_run(sink);
        self.clear_window();
        self.gaps = self.gaps.saturating_add(1);
        self.gap_bytes += n;
        ctx.counters.gaps += 1;
        ctx.counters.gap_bytes += n;
        self.raised.insert(Event::StreamSeqGap);
        sink(Chunk::Gap(n));
        self.advance(n);
    }

    /// Move `base` forward by `n` delivered or skipped bytes.
    fn advance(&mut self, n: u64) {
        self.base += n;
        self.next_seq = self.next_seq.wrapping_add(n as u32);
        let k = (n.min(self.ooo.len() as u64)) as usize;
        self.ooo.drain(..k);
        let base = self.base;
        self.lost.retain(|&(_, e)| e > base);
        if self.held.is_empty() {
            self.ooo.clear();
        }
    }
}
