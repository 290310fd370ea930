//! EVE JSON output: record builders, the dispatcher and the sinks.
//!
//! Workers build each record once (written straight into its line by a
//! small JSON writer, in Suricata's field order)
//! and send the finished line over a bounded channel to one dispatcher
//! thread. The dispatcher gives it a sequence number (when a network sink
//! is configured), wraps it in an `Arc` and hands the same bytes to every
//! sink whose `types` include it, each over its own bounded queue.
//!
//! File and stdout sinks back-pressure like the single writer did, so a
//! replay loses nothing. Network sinks never hold the dispatcher up: their
//! queue feeds a spooler that falls back to a disk spool, and a full queue
//! or spool counts the record dropped for that sink alone.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

mod applayer;
mod deliver;
mod eve;
mod json;
pub mod record;
#[cfg(test)]
mod reference;
pub mod sink;
pub mod spool;

pub use applayer::{tx_enabled, tx_index, tx_record, tx_record_into, DumpHeaders};
pub use deliver::{Delivery, SinkCounters};
pub use eve::{
    alert_record, alert_record_into, anomaly_record, anomaly_record_into, flow_record, flow_record_into,
    stats_record, AlertInput, AnomalyInput, StatsInput,
};
pub use record::Record;
pub use sink::{NetOpts, RedisMode, SinkKind, SyslogProto};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use deliver::{local_loop, sender_loop, spooler_loop, NetShared, SeqGen};
use serde_json::{Map, Value};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Where EVE lines go when only one target is given (`-l`, `--eve -`).
#[derive(Clone, Debug)]
pub enum EveTarget {
    /// Append to this file (created if missing).
    File(PathBuf),
    Stdout,
}

impl EveTarget {
    pub fn describe(&self) -> String {
        match self {
            EveTarget::File(p) => p.display().to_string(),
            EveTarget::Stdout => "stdout".to_string(),
        }
    }
}

/// One configured output (an `eve-log` entry of `outputs`).
#[derive(Clone, Debug)]
pub struct SinkConfig {
    /// Unique name; names the spool directory.
    pub name: String,
    pub kind: SinkKind,
    /// Event types carried (`None`: all).
    pub types: Option<Vec<String>>,
    pub delivery: Delivery,
}

impl SinkConfig {
    pub fn new(name: impl Into<String>, kind: SinkKind) -> SinkConfig {
        SinkConfig {
            name: name.into(),
            kind,
            types: None,
            delivery: Delivery::default(),
        }
    }
}

/// Every sink of a run.
#[derive(Clone, Debug, Default)]
pub struct OutputConfig {
    pub sinks: Vec<SinkConfig>,
    /// Where network sinks keep their spools and the sequence counter
    /// (default: `spool` under the log directory).
    pub spool_dir: PathBuf,
    /// Add `mirror.seq` to every record. `None`: when a network sink is
    /// configured.
    pub seq: Option<bool>,
}

impl From<&EveTarget> for OutputConfig {
    fn from(t: &EveTarget) -> OutputConfig {
        let (kind, dir) = match t {
            EveTarget::File(p) => (
                SinkKind::File {
                    path: p.clone(),
                    rotate_size: None,
                    rotate_count: 0,
                },
                p.parent().map(|d| d.join("spool")).unwrap_or_default(),
            ),
            EveTarget::Stdout => (SinkKind::Stdout, PathBuf::from("spool")),
        };
        OutputConfig {
            sinks: vec![SinkConfig::new("eve-log", kind)],
            spool_dir: dir,
            seq: None,
        }
    }
}

impl From<&OutputConfig> for OutputConfig {
    fn from(c: &OutputConfig) -> OutputConfig {
        c.clone()
    }
}

impl OutputConfig {
    pub fn describe(&self) -> String {
        self.sinks
            .iter()
            .map(|s| s.kind.describe())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What a sink did, as the summary and the stats record show it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SinkReport {
    pub name: String,
    pub target: String,
    pub written: u64,
    pub spooled: u64,
    pub resent: u64,
    pub dropped: u64,
    pub reconnects: u64,
    /// Records in the sink's in-memory queue.
    pub queue_depth: u64,
    /// Records left in the spool (for the next start, at the end).
    pub spool_records: u64,
    pub spool_bytes: u64,
    /// Why the sink stopped, if it failed.
    pub error: Option<String>,
}

impl SinkReport {
    /// The counters as JSON, for the stats record.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), Value::from(self.name.clone()));
        m.insert("target".into(), Value::from(self.target.clone()));
        for (k, v) in [
            ("written", self.written),
            ("spooled", self.spooled),
            ("resent", self.resent),
            ("dropped", self.dropped),
            ("reconnects", self.reconnects),
            ("queue_depth", self.queue_depth),
            ("spool_records", self.spool_records),
            ("spool_bytes", self.spool_bytes),
        ] {
            m.insert(k.into(), Value::from(v));
        }
        Value::Object(m)
    }
}

/// The stats record with per-sink counters added. Suricata's schema closes
/// `stats`, so they go in our extension: `mirror.outputs`.
pub fn stats_with_outputs(rec: Vec<u8>, sinks: &[SinkReport]) -> Vec<u8> {
    let Ok(Value::Object(mut v)) = serde_json::from_slice::<Value>(&rec) else {
        return rec;
    };
    let list = Value::Array(sinks.iter().map(SinkReport::to_json).collect());
    match v.get_mut("mirror") {
        Some(Value::Object(m)) => {
            m.insert("outputs".into(), list);
        }
        _ => {
            let mut m = Map::new();
            m.insert("outputs".into(), list);
            v.insert("mirror".into(), Value::Object(m));
        }
    }
    let mut out = serde_json::to_vec(&Value::Object(v)).unwrap_or(rec);
    if out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    out
}

struct SinkRuntime {
    name: String,
    target: String,
    counters: Arc<SinkCounters>,
    queue: Sender<Record>,
    threads: Vec<JoinHandle<io::Result<()>>>,
    /// SIGHUP registration of a file sink.
    hup: Option<signal_hook::SigId>,
    network: bool,
}

/// A read-only view of one sink's counters, for metrics scrapes while the
/// writer runs (holds no queue handle, so it never keeps a sink alive).
#[derive(Clone, Debug)]
pub struct SinkProbe {
    name: String,
    target: String,
    counters: Arc<SinkCounters>,
}

impl SinkProbe {
    /// The sink's counters now (queue depth is not part of a probe).
    pub fn report(&self) -> SinkReport {
        report(&self.name, &self.target, &self.counters, 0)
    }
}

impl SinkRuntime {
    fn report(&self) -> SinkReport {
        report(&self.name, &self.target, &self.counters, self.queue.len())
    }
}

fn report(name: &str, target: &str, c: &SinkCounters, depth: usize) -> SinkReport {
    {
        SinkReport {
            name: name.to_string(),
            target: target.to_string(),
            written: c.written.load(Relaxed),
            spooled: c.spooled.load(Relaxed),
            resent: c.resent.load(Relaxed),
            dropped: c.dropped.load(Relaxed),
            reconnects: c.reconnects.load(Relaxed),
            queue_depth: depth as u64,
            spool_records: c.spool_records.load(Relaxed),
            spool_bytes: c.spool_bytes.load(Relaxed),
            error: None,
        }
    }
}

struct Route {
    mask: u32,
    network: bool,
    /// A local sink taking every type, not rotated by size: it can take
    /// whole blocks of lines.
    whole: bool,
    tx: Sender<Record>,
    counters: Arc<SinkCounters>,
}

/// What the output did over a run.
#[derive(Debug, Default)]
pub struct OutputReport {
    /// Records the workers handed over.
    pub records: u64,
    pub sinks: Vec<SinkReport>,
}

/// Handle to the dispatcher and the sinks. Clone the sender for each worker.
pub struct EveWriter {
    pub tx: Sender<Vec<u8>>,
    dispatcher: JoinHandle<io::Result<u64>>,
    sinks: Vec<SinkRuntime>,
}

impl EveWriter {
    /// Open every sink now (so a bad path fails before any packet is read)
    /// and start the threads. `queue` bounds the workers' channel.
    pub fn start(cfg: &OutputConfig, queue: usize) -> io::Result<EveWriter> {
        let network = cfg.sinks.iter().any(|s| s.kind.is_network());
        let seq = if cfg.seq.unwrap_or(network) {
            std::fs::create_dir_all(&cfg.spool_dir).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot create spool directory {}: {e}", cfg.spool_dir.display()),
                )
            })?;
            Some(SeqGen::open(&cfg.spool_dir.join("next-seq"))?)
        } else {
            None
        };
        let mut sinks = Vec::with_capacity(cfg.sinks.len());
        let mut routes = Vec::with_capacity(cfg.sinks.len());
        for (i, s) in cfg.sinks.iter().enumerate() {
            let counters = Arc::new(SinkCounters::default());
            let (tx, rx) = bounded::<Record>(s.delivery.queue.max(1));
            let mut threads = Vec::new();
            let mut hup = None;
            let name = if s.name.is_empty() {
                format!("sink{i}")
            } else {
                s.name.clone()
            };
            if s.kind.is_network() {
                let mut d = s.delivery.clone();
                d.spool_dir = cfg.spool_dir.join(sanitize(&name));
                let spool = spool::Spool::open(&d.spool_dir, d.spool_max)?;
                let shared = NetShared::new(spool, counters.clone());
                let (htx, hrx) = bounded::<Record>(BATCH_HANDOFF);
                let sh = shared.clone();
                threads.push(
                    std::thread::Builder::new()
                        .name(format!("tapwatch-spool{i}"))
                        .spawn(move || {
                            spooler_loop(rx, htx, sh);
                            Ok(())
                        })?,
                );
                let kind = s.kind.clone();
                threads.push(
                    std::thread::Builder::new()
                        .name(format!("tapwatch-send{i}"))
                        .spawn(move || sender_loop(hrx, shared, kind, d))?,
                );
            } else {
                // Fail now on a bad path.
                if let SinkKind::File { path, .. } = &s.kind {
                    drop(
                        std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(path)
                            .map_err(|e| {
                                io::Error::new(
                                    e.kind(),
                                    format!("cannot open EVE log {}: {e}", path.display()),
                                )
                            })?,
                    );
                }
                let flag = Arc::new(AtomicBool::new(false));
                if matches!(s.kind, SinkKind::File { .. }) {
                    hup = signal_hook::flag::register(signal_hook::consts::SIGHUP, flag.clone()).ok();
                }
                let kind = s.kind.clone();
                let c = counters.clone();
                threads.push(
                    std::thread::Builder::new()
                        .name(format!("tapwatch-eve{i}"))
                        .spawn(move || local_loop(rx, kind, c, flag))?,
                );
            }
            let mask = record::type_mask(s.types.as_deref());
            let sized = matches!(
                s.kind,
                SinkKind::File {
                    rotate_size: Some(_),
                    ..
                }
            );
            routes.push(Route {
                mask,
                network: s.kind.is_network(),
                whole: !s.kind.is_network() && mask == u32::MAX && !sized,
                tx: tx.clone(),
                counters: counters.clone(),
            });
            sinks.push(SinkRuntime {
                name,
                target: s.kind.describe(),
                counters,
                queue: tx,
                threads,
                hup,
                network: s.kind.is_network(),
            });
        }
        let (tx, rx) = bounded::<Vec<u8>>(queue.max(1));
        let dispatcher = std::thread::Builder::new()
            .name("tapwatch-eve".into())
            .spawn(move || dispatch(rx, routes, seq))?;
        Ok(EveWriter {
            tx,
            dispatcher,
            sinks,
        })
    }

    /// Whether a network sink (with a spool) is configured.
    pub fn has_network(&self) -> bool {
        self.sinks.iter().any(|s| s.network)
    }

    /// Counters of every sink now.
    /// Probes for every sink, for `/metrics`.
    pub fn probes(&self) -> Vec<SinkProbe> {
        self.sinks
            .iter()
            .map(|s| SinkProbe {
                name: s.name.clone(),
                target: s.target.clone(),
                counters: s.counters.clone(),
            })
            .collect()
    }

    pub fn reports(&self) -> Vec<SinkReport> {
        self.sinks.iter().map(SinkRuntime::report).collect()
    }

    /// Close the channel (all senders must be dropped), wait for every
    /// record to be delivered, flushed or spooled. A local sink that failed
    /// is an error; a network sink's trouble shows in its counters.
    pub fn finish(self) -> io::Result<OutputReport> {
        drop(self.tx);
        let records = match self.dispatcher.join() {
            Ok(r) => r?,
            Err(_) => return Err(io::Error::other("EVE dispatcher thread panicked")),
        };
        let mut reports = Vec::with_capacity(self.sinks.len());
        let mut failure = None;
        for s in self.sinks {
            if let Some(id) = s.hup {
                signal_hook::low_level::unregister(id);
            }
            let SinkRuntime {
                name,
                target,
                counters,
                queue,
                threads,
                network,
                ..
            } = s;
            drop(queue);
            let mut error = None;
            for t in threads {
                match t.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => error = Some(e.to_string()),
                    Err(_) => error = Some("sink thread panicked".into()),
                }
            }
            let mut r = report(&name, &target, &counters, 0);
            if let Some(e) = &error {
                if !network {
                    failure.get_or_insert_with(|| io::Error::other(e.clone()));
                }
            }
            r.error = error;
            reports.push(r);
        }
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(OutputReport {
            records,
            sinks: reports,
        })
    }
}

/// Whole blocks of lines a local sink's queue may hold (see `dispatch`).
const WHOLE_BLOCKS_QUEUED: usize = 32;

/// Records the sender may hold beyond the sink's queue.
const BATCH_HANDOFF: usize = 4096;

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Each message is one record line or a block of them (workers send a
/// block per batch of frames); every line ends with a newline.
fn dispatch(rx: Receiver<Vec<u8>>, routes: Vec<Route>, mut seq: Option<SeqGen>) -> io::Result<u64> {
    let mut n = 0u64;
    // The usual set-up, one local sink taking every type with no
    // sequence numbers, takes whole blocks: nothing is routed per line.
    let whole = match routes.as_slice() {
        [r] if r.whole && seq.is_none() => Some(r),
        _ => None,
    };
    for block in rx {
        if let Some(r) = whole {
            // While the sink keeps up; behind a slow one, lines go one by
            // one, so its queue's bound (in records) still bounds memory.
            if r.tx.len() < WHOLE_BLOCKS_QUEUED && block.last() == Some(&b'\n') {
                let lines = memchr::memchr_iter(b'\n', &block).count();
                let rec = Record {
                    seq: 0,
                    kind: 0,
                    severity: 0,
                    line: Arc::from(block),
                    lines: u32::try_from(lines).unwrap_or(u32::MAX),
                };
                if r.tx.send(rec).is_err() {
                    r.counters.dropped.fetch_add(lines as u64, Relaxed);
                }
                n += lines as u64;
                continue;
            }
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', &block) {
            route(block.get(start..=end).unwrap_or_default(), &routes, seq.as_mut());
            n += 1;
            start = end + 1;
        }
        if let Some(rest) = block.get(start..).filter(|r| !r.is_empty()) {
            route(rest, &routes, seq.as_mut());
            n += 1;
        }
    }
    if let Some(g) = seq {
        let _ = g.close();
    }
    Ok(n)
}

/// Number one record (when sequencing) and hand it to every sink that
/// takes its type.
fn route(line: &[u8], routes: &[Route], seq: Option<&mut SeqGen>) {
    let (kind, severity) = record::scan_meta(line);
    let kind = record::type_bit(kind);
    let (s, line): (u64, Arc<[u8]>) = match seq {
        Some(g) => {
            let s = g.next();
            (s, Arc::from(record::with_seq(line, s)))
        }
        None => (0, Arc::from(line)),
    };
    let rec = Record {
        seq: s,
        kind,
        severity,
        line,
        lines: 1,
    };
    for r in routes {
        if r.mask & kind == 0 {
            continue;
        }
        if r.network {
            if let Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) =
                r.tx.try_send(rec.clone())
            {
                r.counters.dropped.fetch_add(1, Relaxed);
            }
        } else if r.tx.send(rec.clone()).is_err() {
            // The writer stopped; its error is reported at finish.
            r.counters.dropped.fetch_add(1, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_sink(name: &str, path: &std::path::Path, types: Option<&[&str]>) -> SinkConfig {
        let mut s = SinkConfig::new(
            name,
            SinkKind::File {
                path: path.to_path_buf(),
                rotate_size: None,
                rotate_count: 0,
            },
        );
        s.types = types.map(|t| t.iter().map(|x| x.to_string()).collect());
        s
    }

    /// Record `i`: every third an alert, the others flows.
    fn line(i: usize) -> Vec<u8> {
        let kind = if i.is_multiple_of(3) { "alert" } else { "flow" };
        format!("{{\"event_type\":\"{kind}\",\"n\":{i}}}\n").into_bytes()
    }

    fn send_all(w: &EveWriter, n: usize) {
        for i in 0..n {
            w.tx.send(line(i)).unwrap();
        }
    }

    /// Two file sinks under `dir`: every record, and alerts only.
    fn all_and_alerts(dir: &std::path::Path) -> (OutputConfig, std::path::PathBuf, std::path::PathBuf) {
        let (all, alerts) = (dir.join("all.json"), dir.join("alerts.json"));
        let cfg = OutputConfig {
            sinks: vec![
                file_sink("all", &all, None),
                file_sink("alerts", &alerts, Some(&["alert"])),
            ],
            spool_dir: dir.join("spool"),
            seq: None,
        };
        (cfg, all, alerts)
    }

    /// The `n` of every record in the EVE file at `path`, in file order.
    fn numbers(path: &std::path::Path) -> Vec<u64> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["n"]
                    .as_u64()
                    .unwrap()
            })
            .collect()
    }

    /// Workers send a block of lines per batch of frames: each line is
    /// routed, counted and written as its own record.
    #[test]
    fn blocks_of_lines_are_routed_line_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let (cfg, all, _) = all_and_alerts(dir.path());
        let w = EveWriter::start(&cfg, 16).unwrap();
        let block: Vec<u8> = (0..30).flat_map(line).collect();
        w.tx.send(block).unwrap();
        w.tx.send(line(30)).unwrap();
        let rep = w.finish().unwrap();
        assert_eq!(
            (rep.records, rep.sinks[0].written, rep.sinks[1].written),
            (31, 31, 11)
        );
        assert_eq!(numbers(&all), (0..31).collect::<Vec<_>>());
    }

    /// With one local sink taking everything, blocks pass whole: the file
    /// holds every line in order, and lines are counted, not blocks; a
    /// block without a final newline still goes line by line.
    #[test]
    fn one_local_sink_takes_whole_blocks_and_counts_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eve.json");
        let cfg = OutputConfig {
            sinks: vec![file_sink("f", &path, None)],
            spool_dir: dir.path().join("spool"),
            seq: None,
        };
        let w = EveWriter::start(&cfg, 16).unwrap();
        let mut i = 0;
        for round in 0..200 {
            let block: Vec<u8> = (i..i + round % 7 + 1).flat_map(line).collect();
            i += round % 7 + 1;
            w.tx.send(block).unwrap();
        }
        let mut cut = line(i);
        cut.pop();
        w.tx.send(cut).unwrap();
        let rep = w.finish().unwrap();
        assert_eq!((rep.records, rep.sinks[0].written), (i as u64 + 1, i as u64 + 1));
        assert_eq!(numbers(&path), (0..=i as u64).collect::<Vec<_>>());
    }

    #[test]
    fn fans_out_by_type_without_seq_for_local_sinks() {
        let dir = tempfile::tempdir().unwrap();
        let (cfg, _, alerts) = all_and_alerts(dir.path());
        let w = EveWriter::start(&cfg, 16).unwrap();
        assert!(!w.has_network());
        send_all(&w, 300);
        let rep = w.finish().unwrap();
        assert_eq!(rep.records, 300);
        assert_eq!(rep.sinks[0].written, 300);
        assert_eq!(rep.sinks[1].written, 100);
        let a = std::fs::read_to_string(&alerts).unwrap();
        assert_eq!(a.lines().count(), 100);
        assert!(a
            .lines()
            .all(|l| l.contains("\"alert\"") && !l.contains("mirror")));
        assert!(
            !dir.path().join("spool").exists(),
            "no spool without a network sink"
        );
    }

    #[test]
    fn network_sink_spools_when_down_and_seq_persists_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        // A port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut net = SinkConfig::new("tcp", SinkKind::Tcp(format!("127.0.0.1:{port}")));
        net.delivery.flush_timeout = std::time::Duration::ZERO;
        let cfg = OutputConfig {
            sinks: vec![file_sink("f", &dir.path().join("eve.json"), None), net],
            spool_dir: dir.path().join("spool"),
            seq: None,
        };
        let w = EveWriter::start(&cfg, 16).unwrap();
        assert!(w.has_network());
        send_all(&w, 50);
        let rep = w.finish().unwrap();
        let tcp = &rep.sinks[1];
        assert_eq!(tcp.written, 0);
        assert_eq!(tcp.spooled, 50, "{tcp:?}");
        assert_eq!(tcp.spool_records, 50);
        let text = std::fs::read_to_string(dir.path().join("eve.json")).unwrap();
        let seqs: Vec<u64> = text
            .lines()
            .filter_map(|l| record::scan_seq(l.as_bytes()))
            .collect();
        assert_eq!(seqs.len(), 50);
        assert!(seqs.windows(2).all(|p| p[1] == p[0] + 1));
        // A second run continues the numbering and keeps the spool.
        let w = EveWriter::start(&cfg, 16).unwrap();
        send_all(&w, 1);
        let rep = w.finish().unwrap();
        assert_eq!(rep.sinks[1].spool_records, 51);
        let text = std::fs::read_to_string(dir.path().join("eve.json")).unwrap();
        let last = text.lines().last().and_then(|l| record::scan_seq(l.as_bytes()));
        assert!(last > seqs.last().copied());
    }

    #[test]
    fn stats_carry_sink_counters_in_the_extension() {
        let rec = b"{\"event_type\":\"stats\",\"stats\":{\"uptime\":1}}\n".to_vec();
        let r = SinkReport {
            name: "0-redis".into(),
            written: 5,
            dropped: 1,
            ..Default::default()
        };
        let out = stats_with_outputs(rec, &[r]);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["mirror"]["outputs"][0]["written"], 5);
        assert_eq!(v["mirror"]["outputs"][0]["dropped"], 1);
        assert_eq!(v["stats"]["uptime"], 1);
        assert!(out.ends_with(b"}\n"));
    }
}
