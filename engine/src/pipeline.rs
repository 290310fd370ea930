//! Replay pipeline: a reader walks the captures in order, decodes just
//! enough to hash the inner 5-tuple symmetrically, and hands frames to N
//! workers in batches over bounded channels. Replay is lossless: a full
//! queue makes the reader wait. Each flow lives on exactly one worker and
//! its packets are processed in capture order, so the alerts are the same
//! whatever the number of workers.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::config::EngineConfig;
use crate::decode::{decode, place, DecodeStats, LinkType, Packet, TunnelLayer};
use crate::dedup::Dedup;
use crate::defrag::Defrag;
use crate::detect::{defrag_events, FrameInfo, Worker};
use crate::flow::{EndReason, FlowKey, FlowTable, TunnelFlow};
use crate::ingress::{IngressError, PcapReader, SharedAt};
use crate::output::{
    flow_record, stats_record, stats_with_outputs, EveWriter, OutputConfig, SinkReport, StatsInput,
};
use crate::stats::WorkerStats;
use crossbeam_channel::{bounded, Receiver, Sender};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tapwatch_rules::EventSet;
use tapwatch_rules::RuleSet;

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("a worker thread failed: {0}")]
    Worker(String),
}

/// What a replay did.
#[derive(Debug, Default)]
pub struct ReplaySummary {
    pub files: usize,
    /// Frames read from the captures.
    pub packets: u64,
    /// Captured bytes read.
    pub bytes: u64,
    pub stats: WorkerStats,
    /// EVE records written (alerts, flows, stats).
    pub records_written: u64,
    /// Records a worker could not hand to the writer (writer failed).
    pub records_lost: u64,
    /// What each EVE sink did (written, spooled, resent, dropped, ...).
    pub sinks: Vec<SinkReport>,
    /// Time spent on packets: from the first frame read to the last record
    /// written (rule loading excluded).
    pub elapsed: Duration,
    pub first_ts_ns: u64,
    pub last_ts_ns: u64,
    /// A capture that could not be read to its end. Everything read before
    /// it was processed and logged.
    pub input_error: Option<IngressError>,
    /// SIGTERM/SIGINT stopped reading early. Everything read before the
    /// signal was processed and its records delivered or spooled.
    pub interrupted: bool,
}

impl ReplaySummary {
    pub fn packets_per_sec(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.packets as f64 / s
        } else {
            0.0
        }
    }
    pub fn gbit_per_sec(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.bytes as f64 * 8.0 / s / 1e9
        } else {
            0.0
        }
    }
}

/// One frame of a [`Batch`]: its bytes are `start..start + len` of the
/// batch's own copy (`block` 0) or of its shared block `block - 1`.
#[derive(Clone, Copy)]
pub(crate) struct Meta {
    pub(crate) info: FrameInfo,
    block: u32,
    start: usize,
    len: usize,
}

/// Frames on their way to one worker. Frames read from a capture file
/// stay in the reader's blocks (shared, not copied); others (live
/// capture, reassembled datagrams) are copied into `data`.
pub(crate) struct Batch {
    data: Vec<u8>,
    blocks: Vec<Arc<Vec<u8>>>,
    /// Bytes of all its frames, copied or shared.
    bytes: usize,
    pub(crate) frames: Vec<Meta>,
}

impl Batch {
    pub(crate) fn new(frames: usize) -> Batch {
        Batch {
            data: Vec::with_capacity(frames * 512),
            blocks: Vec::new(),
            bytes: 0,
            frames: Vec::with_capacity(frames),
        }
    }

    /// Drop the frames (and the batch's hold on shared blocks), keeping
    /// the allocations.
    pub(crate) fn clear(&mut self) {
        self.data.clear();
        self.blocks.clear();
        self.bytes = 0;
        self.frames.clear();
    }

    /// Queue a copy of `frame`.
    pub(crate) fn push_copy(&mut self, info: FrameInfo, frame: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(frame);
        self.bytes += frame.len();
        self.frames.push(Meta {
            info,
            block: 0,
            start,
            len: frame.len(),
        });
    }

    /// Queue the `len` bytes at `at` of a reader block, without a copy.
    fn push_shared(&mut self, info: FrameInfo, at: SharedAt<'_>, len: usize) {
        if !self.blocks.last().is_some_and(|b| Arc::ptr_eq(b, at.block)) {
            self.blocks.push(at.block.clone());
        }
        self.bytes += len;
        self.frames.push(Meta {
            info,
            block: self.blocks.len() as u32,
            start: at.start,
            len,
        });
    }

    /// The bytes of frame `m` (one of this batch's).
    pub(crate) fn frame(&self, m: &Meta) -> &[u8] {
        let bytes = match m.block {
            0 => Some(self.data.as_slice()),
            k => self.blocks.get(k as usize - 1).map(|b| b.as_slice()),
        };
        bytes
            .and_then(|b| b.get(m.start..m.start.saturating_add(m.len)))
            .unwrap_or_default()
    }

    /// The batch should go: `per_batch` frames, or 1 MiB of them (copied
    /// or shared: a queued batch keeps its blocks alive, so large frames
    /// must not let the queues hold more than a few MiB each).
    pub(crate) fn is_full(&self, per_batch: usize) -> bool {
        self.frames.len() >= per_batch || self.bytes >= 1 << 20
    }
}

/// Progress callback: (frames read, bytes read).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Replay `paths` in order as one stream through the engine, writing EVE
/// to the sinks of `eve` (an [`OutputConfig`], or an
/// [`EveTarget`](crate::output::EveTarget) for one file or stdout). Returns
/// after every accepted frame has been processed and every record
/// delivered, flushed or spooled.
pub fn replay(
    paths: &[PathBuf],
    cfg: &EngineConfig,
    rules: Arc<RuleSet>,
    eve: impl Into<OutputConfig>,
    progress: Option<Progress<'_>>,
) -> Result<ReplaySummary, ReplayError> {
    let cfg = Arc::new(cfg.clone());
    let nworkers = cfg.workers.max(1);
    let writer = EveWriter::start(&eve.into(), 4096)?;
    let started = Instant::now();

    let mut txs: Vec<Sender<Batch>> = Vec::with_capacity(nworkers);
    let (recycle_tx, recycle_rx) = bounded::<Batch>(nworkers * (cfg.queue_depth + 2));
    let mut handles = Vec::with_capacity(nworkers);
    let mem = crate::stream::StreamMem::new(cfg.stream.memcap);
    for i in 0..nworkers {
        let (tx, rx) = bounded::<Batch>(cfg.queue_depth.max(1));
        txs.push(tx);
        let mut worker = Worker::with_mem(cfg.clone(), rules.clone(), writer.tx.clone(), mem.clone());
        worker.set_reader_defrags(cfg.defrag.enabled);
        worker.batch_output(true);
        let recycle = recycle_tx.clone();
        let h = std::thread::Builder::new()
            .name(format!("tapwatch-w{i}"))
            .spawn(move || worker_loop(&mut worker, rx, recycle).map(|()| worker.finish()))?;
        handles.push(h);
    }
    drop(recycle_tx);

    let mut summary = ReplaySummary {
        files: paths.len(),
        ..Default::default()
    };
    let mut tunnels = cfg
        .tunnel_flows
        .then(|| TunnelFlows::new(&cfg, writer.tx.clone()));
    // SIGTERM/SIGINT end the replay the way the end of input does: stop
    // reading, let workers finish what was read, flush every sink (or leave
    // its records in the spool for the next start).
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hooks: Vec<signal_hook::SigId> = [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT]
        .into_iter()
        .filter_map(|sig| signal_hook::flag::register(sig, stop.clone()).ok())
        .collect();
    let read = read_all(
        paths,
        &cfg,
        &txs,
        &recycle_rx,
        &mut summary,
        tunnels.as_mut(),
        ReadControl {
            progress,
            stop: &stop,
        },
    );

    drop(txs);
    let mut tunnel_counters = None;
    if let Some(t) = tunnels {
        let (c, lost) = t.finish();
        summary.records_lost += lost;
        tunnel_counters = Some(c);
    }

    let mut total = WorkerStats {
        defrag: std::mem::take(&mut summary.stats.defrag),
        mirror_duplicates: summary.stats.mirror_duplicates,
        ..WorkerStats::default()
    };
    let mut failure = None;
    for h in handles {
        match h.join() {
            Ok(Ok((s, lost))) => {
                total.merge(&s);
                summary.records_lost += lost;
            }
            Ok(Err(e)) => failure = Some(e),
            Err(_) => failure = Some("worker panicked".to_string()),
        }
    }
    if let Some(c) = tunnel_counters {
        total.flows.merge(&c);
    }
    total.tcp.reassembly_memuse_peak = mem.peak();
    if cfg.eve.stats {
        let rec = stats_record(&StatsInput {
            ts_ns: summary.last_ts_ns,
            uptime_secs: started.elapsed().as_secs(),
            decoder: &total.decode,
            flows: &total.flows,
            tcp: &total.tcp,
            defrag: &total.defrag,
            alerts: total.alerts,
        });
        // Per-sink counters when there is a network sink to watch.
        let rec = if writer.has_network() {
            stats_with_outputs(rec, &writer.reports())
        } else {
            rec
        };
        total.records += 1;
        if writer.tx.send(rec).is_err() {
            summary.records_lost += 1;
        }
    }
    let out = writer.finish()?;
    summary.records_written = out.records;
    summary.sinks = out.sinks;
    summary.elapsed = started.elapsed();
    summary.stats = total;
    for id in hooks {
        signal_hook::low_level::unregister(id);
    }
    if let Some(e) = failure {
        return Err(ReplayError::Worker(e));
    }
    if let Err(e) = read {
        summary.input_error = Some(e);
    }
    Ok(summary)
}

fn worker_loop(w: &mut Worker, rx: Receiver<Batch>, recycle: Sender<Batch>) -> Result<(), String> {
    for mut batch in rx {
        for m in &batch.frames {
            w.process(&m.info, batch.frame(m));
        }
        w.flush_output();
        batch.clear();
        // The reader may have stopped taking batches back; that is fine.
        let _ = recycle.try_send(batch);
    }
    Ok(())
}

/// What steers the reader from outside: progress reports and the stop
/// flag a signal sets.
struct ReadControl<'a> {
    progress: Option<Progress<'a>>,
    stop: &'a std::sync::atomic::AtomicBool,
}

fn read_all(
    paths: &[PathBuf],
    cfg: &EngineConfig,
    txs: &[Sender<Batch>],
    recycle: &Receiver<Batch>,
    summary: &mut ReplaySummary,
    mut tunnels: Option<&mut TunnelFlows>,
    ctl: ReadControl<'_>,
) -> Result<(), IngressError> {
    let ReadControl { progress, stop } = ctl;
    let n = txs.len();
    let per_batch = cfg.batch_frames.max(1);
    let mut pending: Vec<Batch> = (0..n).map(|_| Batch::new(per_batch)).collect();
    let mut scratch = DecodeStats::default();
    let mut defrag = cfg.defrag.enabled.then(|| Defrag::new(&cfg.defrag));
    let mut dedup = cfg.dedup.enabled.then(|| Dedup::new(&cfg.dedup));
    let mut pcap_cnt = 0u64;
    let mut result = Ok(());
    'files: for path in paths {
        let mut reader = match PcapReader::open(path) {
            Ok(r) => r,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        loop {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                summary.interrupted = true;
                break 'files;
            }
            let (frame, shared) = match reader.next_shared() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    result = Err(e);
                    break 'files;
                }
            };
            pcap_cnt += 1;
            summary.packets += 1;
            summary.bytes += frame.data.len() as u64;
            if summary.first_ts_ns == 0 {
                summary.first_ts_ns = frame.ts_ns;
            }
            summary.last_ts_ns = summary.last_ts_ns.max(frame.ts_ns);
            let mut info = FrameInfo {
                ts_ns: frame.ts_ns,
                pcap_cnt,
                link: frame.linktype,
                orig_len: frame.orig_len,
                events: EventSet::EMPTY,
            };
            let mut whole: Option<(usize, &[u8])> = None;
            let mut duplicate = false;
            // Mirrored frames of the usual shape are placed from a few
            // header fields; the rest (and everything when duplicates are
            // suppressed, which compares whole packets) is decoded in full.
            let look = n > 1 || tunnels.is_some() || defrag.is_some() || dedup.is_some();
            let placed = match dedup {
                None if look => place(frame.linktype, frame.data, &cfg.decode),
                _ => None,
            };
            let w = if let Some(pl) = placed {
                if let Some(t) = tunnels.as_deref_mut() {
                    t.track_layers(&[Some(pl.tunnel)], frame.ts_ns, frame.data.len() as u64);
                }
                let key = FlowKey::new((pl.src, pl.sport), (pl.dst, pl.dport), pl.ip_proto, 0);
                (key.hash64() % n as u64) as usize
            } else if look {
                match decode(frame.linktype, frame.data, &cfg.decode, &mut scratch) {
                    Ok(p) => {
                        if let Some(d) = dedup.as_mut() {
                            duplicate = d.is_duplicate(&p, frame.ts_ns);
                        }
                        if let Some(t) = tunnels.as_deref_mut() {
                            t.track(&p, frame.ts_ns, frame.data.len() as u64);
                        }
                        if let (true, Some(d)) = (p.is_fragment, defrag.as_mut()) {
                            let before = d.stats.clone();
                            let done = d.insert(&p, frame.ts_ns).is_some();
                            info.events = defrag_events(&p, &before, &d.stats);
                            if done {
                                let dgram = d.last_datagram();
                                let w = match decode(LinkType::Raw, dgram, &cfg.decode, &mut scratch) {
                                    Ok(q) => (FlowKey::from_packet(&q).hash64() % n as u64) as usize,
                                    Err(_) => 0,
                                };
                                whole = Some((w, dgram));
                            }
                        }
                        (FlowKey::from_packet(&p).hash64() % n as u64) as usize
                    }
                    Err(_) => 0,
                }
            } else {
                0
            };
            if !duplicate {
                dispatch(
                    &mut pending,
                    txs,
                    recycle,
                    per_batch,
                    w,
                    info,
                    Bytes::Shared(shared, frame.data.len()),
                );
            }
            if let Some((w, dgram)) = whole {
                let info = FrameInfo {
                    link: LinkType::Raw,
                    orig_len: dgram.len() as u32,
                    events: EventSet::EMPTY,
                    ..info
                };
                dispatch(&mut pending, txs, recycle, per_batch, w, info, Bytes::Copy(dgram));
            }
            if let Some(p) = progress {
                if pcap_cnt.is_multiple_of(4096) {
                    p(summary.packets, summary.bytes);
                }
            }
        }
    }
    for (tx, b) in txs.iter().zip(pending) {
        if !b.frames.is_empty() {
            let _ = tx.send(b);
        }
    }
    if let Some(p) = progress {
        p(summary.packets, summary.bytes);
    }
    if let Some(d) = defrag {
        summary.stats.defrag = d.stats;
    }
    if let Some(d) = dedup {
        summary.stats.mirror_duplicates = d.dropped;
    }
    result
}

/// A frame's bytes as the reader has them.
enum Bytes<'a> {
    /// In a reader block: `len` bytes at the given place.
    Shared(SharedAt<'a>, usize),
    /// Elsewhere (a reassembled datagram): copied into the batch.
    Copy(&'a [u8]),
}

/// Queue one frame for worker `w`, handing the batch over when full.
#[allow(clippy::too_many_arguments)]
fn dispatch(
    pending: &mut [Batch],
    txs: &[Sender<Batch>],
    recycle: &Receiver<Batch>,
    per_batch: usize,
    w: usize,
    info: FrameInfo,
    data: Bytes<'_>,
) {
    let Some(b) = pending.get_mut(w) else { return };
    match data {
        Bytes::Shared(at, len) => b.push_shared(info, at, len),
        Bytes::Copy(d) => b.push_copy(info, d),
    }
    if b.is_full(per_batch) {
        let fresh = recycle.try_recv().unwrap_or_else(|_| Batch::new(per_batch));
        let full = std::mem::replace(b, fresh);
        // A worker that died has closed its queue; its error is reported
        // when it is joined.
        if let Some(tx) = txs.get(w) {
            let _ = tx.send(full);
        }
    }
}

/// Flows of the tunnel transport itself (the outer UDP of VXLAN/GENEVE),
/// logged as Suricata logs them. Tracked by the reader, which sees every
/// frame, so each outer flow is counted once whatever the worker count.
pub(crate) struct TunnelFlows {
    table: FlowTable<TunnelFlow>,
    cfg: Arc<EngineConfig>,
    tx: Sender<Vec<u8>>,
    lost: u64,
    /// The outer UDP packet being tracked, kept to be refilled per frame
    /// (a `Packet` is large to build from scratch).
    outer: Packet<'static>,
}

impl TunnelFlows {
    pub(crate) fn new(cfg: &Arc<EngineConfig>, tx: Sender<Vec<u8>>) -> TunnelFlows {
        TunnelFlows {
            table: FlowTable::new(&cfg.flow, (cfg.flow.max_flows / 4).max(1)),
            cfg: cfg.clone(),
            tx,
            lost: 0,
            outer: Packet {
                ip_proto: 17,
                ..Packet::empty()
            },
        }
    }

    fn log(&mut self, f: &TunnelFlow, reason: EndReason) {
        if self.cfg.eve.flow {
            let rec = flow_record(&f.to_flow(), reason, &self.cfg.eve);
            if self.tx.send(rec).is_err() {
                self.lost += 1;
            }
        }
    }

    pub(crate) fn track(&mut self, p: &Packet<'_>, ts_ns: u64, wire_len: u64) {
        let layers = p.tunnels.get(..p.tunnel_count).unwrap_or_default();
        self.track_layers(layers, ts_ns, wire_len);
    }

    /// Count a frame on the outer flow of each of its tunnel layers.
    pub(crate) fn track_layers(&mut self, layers: &[Option<TunnelLayer>], ts_ns: u64, wire_len: u64) {
        if layers.is_empty() {
            return;
        }
        let mut ended = Vec::new();
        self.table.sweep(ts_ns, &mut ended);
        for (f, r) in ended {
            self.log(&f, r);
        }
        for t in layers.iter().flatten() {
            let outer = &mut self.outer;
            (outer.src, outer.dst) = (t.outer_src, t.outer_dst);
            (outer.sport, outer.dport) = (t.outer_sport, t.outer_dport);
            let idx = self.table.lookup(&self.outer, ts_ns);
            if let Some((f, r)) = self.table.ended.take() {
                self.log(&f, r);
            }
            if let Some(idx) = idx {
                let f = self.table.get_mut(idx);
                let to_server = f.is_from_client(self.outer.src, self.outer.sport);
                f.update(to_server, ts_ns, wire_len);
            }
        }
    }

    pub(crate) fn finish(mut self) -> (crate::flow::FlowCounters, u64) {
        let mut ended = Vec::new();
        self.table.drain(&mut ended);
        for (f, r) in ended {
            self.log(&f, r);
        }
        (self.table.counters.clone(), self.lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapwatch_rules::EventSet;

    fn info() -> FrameInfo {
        FrameInfo {
            ts_ns: 0,
            pcap_cnt: 0,
            link: LinkType::Ethernet,
            orig_len: 0,
            events: EventSet::EMPTY,
        }
    }

    /// Shared frames are read back from their blocks, copied ones from the
    /// batch; a batch is full at its frame count or at 1 MiB of frames
    /// either way, so queued batches of large frames pin little memory.
    #[test]
    fn batches_hold_shared_and_copied_frames_up_to_a_mib() {
        let block = Arc::new((0..=255u8).cycle().take(200_000).collect::<Vec<u8>>());
        let mut b = Batch::new(128);
        let at = SharedAt {
            block: &block,
            start: 1000,
        };
        b.push_shared(info(), at, 300);
        b.push_copy(info(), b"copied");
        b.push_shared(
            info(),
            SharedAt {
                block: &block,
                start: 5,
            },
            10,
        );
        assert_eq!(b.blocks.len(), 1, "one hold per block");
        assert_eq!(b.frame(&b.frames[0]), &block[1000..1300]);
        assert_eq!(b.frame(&b.frames[1]), b"copied");
        assert_eq!(b.frame(&b.frames[2]), &block[5..15]);
        assert!(!b.is_full(128));
        let mut n = 3;
        while !b.is_full(128) {
            b.push_shared(
                info(),
                SharedAt {
                    block: &block,
                    start: 0,
                },
                100_000,
            );
            n += 1;
        }
        assert_eq!(n, 3 + 11, "1 MiB of 100 kB frames");
        b.clear();
        assert_eq!(
            (b.frames.len(), b.blocks.len(), Arc::strong_count(&block)),
            (0, 0, 1)
        );
        for _ in 0..128 {
            b.push_copy(info(), b"x");
        }
        assert!(b.is_full(128));
    }
}
