//! Delivery threads of one sink.
//!
//! Local sinks (file, stdout) run one thread that writes what its queue
//! holds. A network sink runs two: the *spooler* takes records from the
//! sink's queue and never waits on the network: it hands them to the
//! sender while the sender keeps up and nothing is spooled, otherwise it
//! appends them to the disk spool (or counts them dropped when the spool
//! is full). The *sender* connects (with backoff), sends what it was handed,
//! then what is spooled, oldest first, and re-sends after a reconnect what
//! may have been lost with the connection.

use super::record::Record;
use super::sink::{connect, NetOpts, SinkKind};
use super::spool::Spool;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError, TrySendError};
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counters of one sink, shared with whoever reports them.
#[derive(Debug, Default)]
pub struct SinkCounters {
    /// Records delivered (including re-sent ones).
    pub written: AtomicU64,
    /// Records put in the disk spool.
    pub spooled: AtomicU64,
    /// Records delivered from the spool or sent again after a reconnect.
    pub resent: AtomicU64,
    /// Records lost: queue or spool full.
    pub dropped: AtomicU64,
    pub reconnects: AtomicU64,
    /// Records waiting in the spool, and its size on disk.
    pub spool_records: AtomicU64,
    pub spool_bytes: AtomicU64,
}

/// Settings of one sink's delivery.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Records queued in memory per sink.
    pub queue: usize,
    pub spool_dir: PathBuf,
    pub spool_max: u64,
    /// How long to keep trying at shutdown before leaving records in the
    /// spool for the next start.
    pub flush_timeout: Duration,
    /// Bytes of recently sent records re-sent after a reconnect (the
    /// transport may have lost them in socket buffers).
    pub resend_window: u64,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    pub net: NetOpts,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            queue: 65_536,
            spool_dir: PathBuf::from("spool"),
            spool_max: 1 << 30,
            flush_timeout: Duration::from_secs(5),
            resend_window: 8 << 20,
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
            net: NetOpts {
                connect_timeout: Duration::from_secs(2),
                write_timeout: Duration::from_secs(2),
            },
        }
    }
}

const BATCH: usize = 512;

// ---------------------------------------------------------------- local

/// Writer of a file or stdout sink.
pub fn local_loop(
    rx: Receiver<Record>,
    kind: SinkKind,
    counters: Arc<SinkCounters>,
    hup: Arc<AtomicBool>,
) -> io::Result<()> {
    let mut out = LocalOut::open(&kind)?;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(r) => {
                out.write(&r)?;
                out.rotate_if_due(&kind)?;
                let mut n = u64::from(r.lines);
                let mut taken = 1;
                while taken < BATCH {
                    match rx.try_recv() {
                        Ok(r) => {
                            out.write(&r)?;
                            out.rotate_if_due(&kind)?;
                            n += u64::from(r.lines);
                            taken += 1;
                        }
                        Err(_) => break,
                    }
                }
                counters.written.fetch_add(n, Relaxed);
            }
            Err(RecvTimeoutError::Timeout) => out.flush()?,
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if hup.swap(false, Relaxed) {
            out.reopen(&kind)?;
        }
    }
    out.flush()
}

struct LocalOut {
    w: BufWriter<Box<dyn Write + Send>>,
    /// Bytes in the current file (for size rotation).
    size: u64,
}

fn open_append(p: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open EVE log {}: {e}", p.display())))
}

impl LocalOut {
    fn open(kind: &SinkKind) -> io::Result<LocalOut> {
        match kind {
            SinkKind::File { path, .. } => {
                let f = open_append(path)?;
                let size = f.metadata().map(|m| m.len()).unwrap_or(0);
                Ok(LocalOut {
                    w: BufWriter::with_capacity(256 * 1024, Box::new(f)),
                    size,
                })
            }
            _ => Ok(LocalOut {
                w: BufWriter::with_capacity(256 * 1024, Box::new(io::stdout())),
                size: 0,
            }),
        }
    }

    fn write(&mut self, r: &Record) -> io::Result<()> {
        self.w.write_all(&r.line)?;
        self.size += r.line.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    /// After SIGHUP (logrotate moved the file) or when the size limit is
    /// reached: flush, then write to a fresh file at the configured path.
    fn reopen(&mut self, kind: &SinkKind) -> io::Result<()> {
        self.w.flush()?;
        if matches!(kind, SinkKind::File { .. }) {
            *self = LocalOut::open(kind)?;
        }
        Ok(())
    }

    fn rotate_if_due(&mut self, kind: &SinkKind) -> io::Result<()> {
        if let SinkKind::File {
            path,
            rotate_size: Some(max),
            rotate_count,
        } = kind
        {
            if self.size >= *max {
                self.w.flush()?;
                rotate(path, *rotate_count)?;
                self.reopen(kind)?;
            }
        }
        Ok(())
    }
}

fn numbered(path: &Path, n: usize) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// eve.json → eve.json.1 → eve.json.2 …, keeping `count` old files.
fn rotate(path: &Path, count: usize) -> io::Result<()> {
    if count == 0 {
        return std::fs::remove_file(path);
    }
    let _ = std::fs::remove_file(numbered(path, count));
    for i in (1..count).rev() {
        let from = numbered(path, i);
        if from.exists() {
            std::fs::rename(&from, numbered(path, i + 1))?;
        }
    }
    std::fs::rename(path, numbered(path, 1))
}

// -------------------------------------------------------------- network

struct State {
    spool: Spool,
    /// Records may go straight to the sender (it is connected and keeping
    /// up, and nothing is spooled).
    direct: bool,
}

pub struct NetShared {
    state: Mutex<State>,
    counters: Arc<SinkCounters>,
    /// The spooler is done: the sink's queue closed.
    closed: AtomicBool,
}

impl NetShared {
    pub fn new(spool: Spool, counters: Arc<SinkCounters>) -> Arc<NetShared> {
        counters.spool_records.store(spool.len(), Relaxed);
        counters.spool_bytes.store(spool.bytes(), Relaxed);
        Arc::new(NetShared {
            state: Mutex::new(State {
                direct: spool.is_empty(),
                spool,
            }),
            counters,
            closed: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panicking holder leaves consistent enough state to go on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, st: &State) {
        self.counters.spool_records.store(st.spool.len(), Relaxed);
        self.counters.spool_bytes.store(st.spool.bytes(), Relaxed);
    }
}

/// Takes the sink's queue; never waits on the network.
pub fn spooler_loop(rx: Receiver<Record>, to_sender: Sender<Record>, shared: Arc<NetShared>) {
    let c = &shared.counters;
    for rec in rx {
        let mut st = shared.lock();
        let rec = if st.direct && st.spool.is_empty() {
            match to_sender.try_send(rec) {
                Ok(()) => continue,
                Err(TrySendError::Full(r)) | Err(TrySendError::Disconnected(r)) => {
                    st.direct = false;
                    r
                }
            }
        } else {
            rec
        };
        match st.spool.append(&rec.line, rec.seq) {
            Ok(true) => {
                c.spooled.fetch_add(1, Relaxed);
            }
            Ok(false) | Err(_) => {
                c.dropped.fetch_add(1, Relaxed);
            }
        }
        shared.publish(&st);
    }
    let mut st = shared.lock();
    let _ = st.spool.flush();
    shared.closed.store(true, Relaxed);
}

/// Connects, sends, re-sends. Returns when everything was delivered after
/// the queue closed, or when `flush_timeout` passed after it closed (what
/// is left stays in the spool).
pub fn sender_loop(
    rx: Receiver<Record>,
    shared: Arc<NetShared>,
    kind: SinkKind,
    d: Delivery,
) -> io::Result<()> {
    let c = shared.counters.clone();
    let mut conn = None;
    let mut connected_once = false;
    let mut backoff = d.backoff_min;
    let mut next_try = Instant::now();
    // Records to send before anything else: taken but not delivered, or
    // sent on a connection that then broke.
    let mut pending: VecDeque<Record> = VecDeque::new();
    let mut window: VecDeque<Record> = VecDeque::new();
    let mut window_bytes = 0u64;
    let mut closed_at: Option<Instant> = None;
    let mut batch: Vec<Record> = Vec::with_capacity(BATCH);
    let mut lines: Vec<Arc<[u8]>> = Vec::with_capacity(BATCH);
    loop {
        if let Some(t) = closed_at {
            // Past the shutdown deadline whatever the connection's state:
            // a sink that accepts but does not read must not hold us.
            if t.elapsed() >= d.flush_timeout {
                break;
            }
        }
        if conn.is_none() {
            let now = Instant::now();
            if now < next_try {
                std::thread::sleep((next_try - now).min(Duration::from_millis(20)));
                if closed_at.is_none() && shared.closed.load(Relaxed) {
                    closed_at = Some(Instant::now());
                }
                continue;
            }
            match connect(&kind, &d.net) {
                Ok(cn) => {
                    if connected_once {
                        c.reconnects.fetch_add(1, Relaxed);
                    }
                    connected_once = true;
                    if !cn.acked() {
                        // What the broken connection may have swallowed.
                        while let Some(r) = window.pop_back() {
                            pending.push_front(r);
                        }
                    }
                    window.clear();
                    window_bytes = 0;
                    conn = Some(cn);
                }
                Err(_) => {
                    next_try = Instant::now() + backoff;
                    backoff = (backoff * 2).min(d.backoff_max);
                    if closed_at.is_none() && shared.closed.load(Relaxed) {
                        closed_at = Some(Instant::now());
                    }
                    continue;
                }
            }
        }
        // Oldest first: pending, then what was handed over, then the spool.
        batch.clear();
        let mut resend = false;
        let from_pending = !pending.is_empty();
        if from_pending {
            let n = pending.len().min(BATCH);
            batch.extend(pending.drain(..n));
            resend = true;
        } else {
            loop {
                match rx.try_recv() {
                    Ok(r) => {
                        batch.push(r);
                        if batch.len() >= BATCH {
                            break;
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        closed_at.get_or_insert_with(Instant::now);
                        break;
                    }
                }
            }
            if batch.is_empty() {
                let mut st = shared.lock();
                if !st.spool.is_empty() {
                    lines.clear();
                    if st.spool.read_batch(BATCH, &mut lines).is_err() {
                        // An unreadable spool cannot be sent; count it lost.
                        c.dropped.fetch_add(st.spool.len(), Relaxed);
                        let dir = d.spool_dir.clone();
                        drop(st);
                        return Err(io::Error::other(format!("spool {} unreadable", dir.display())));
                    }
                    shared.publish(&st);
                    drop(st);
                    batch.extend(lines.drain(..).map(Record::from_line));
                    resend = true;
                } else {
                    if rx.is_empty() {
                        st.direct = true;
                    }
                    drop(st);
                    if closed_at.is_some() && rx.is_empty() {
                        break;
                    }
                    match rx.recv_timeout(Duration::from_millis(20)) {
                        Ok(r) => batch.push(r),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => {
                            closed_at.get_or_insert_with(Instant::now);
                        }
                    }
                }
            }
        }
        if batch.is_empty() {
            continue;
        }
        let Some(cn) = conn.as_mut() else {
            pending.extend(batch.drain(..));
            continue;
        };
        match cn.send(&batch) {
            Ok(()) => {
                if !from_pending {
                    // New records went through: the peer is reading.
                    backoff = d.backoff_min;
                }
                let n = batch.len() as u64;
                c.written.fetch_add(n, Relaxed);
                if resend {
                    c.resent.fetch_add(n, Relaxed);
                }
                if !cn.acked() && d.resend_window > 0 {
                    for r in batch.drain(..) {
                        window_bytes += r.line.len() as u64;
                        window.push_back(r);
                    }
                    while window_bytes > d.resend_window {
                        match window.pop_front() {
                            Some(r) => window_bytes -= r.line.len() as u64,
                            None => break,
                        }
                    }
                }
            }
            Err(_) => {
                conn = None;
                shared.lock().direct = false;
                for r in batch.drain(..).rev() {
                    pending.push_front(r);
                }
                // Back off, doubling until new records go through: a peer
                // that accepts and stalls must not cause a reconnect storm.
                next_try = Instant::now() + backoff;
                backoff = (backoff * 2).min(d.backoff_max);
            }
        }
    }
    // Out of time, or done: keep what was not delivered for the next start.
    // When work was left, what the connection took without proof of
    // arrival is kept too (at-least-once).
    let mut older: Vec<Record> = Vec::new();
    let unfinished = !pending.is_empty() || !rx.is_empty() || !shared.lock().spool.is_empty();
    if conn.is_none() || unfinished {
        older.extend(window.drain(..));
    }
    older.extend(pending.drain(..));
    older.extend(rx.try_iter());
    // The queue is closed, so the spooler is done with the spool.
    let mut st = shared.lock();
    let first = older.first().map_or(0, |r| r.seq);
    let lines: Vec<Arc<[u8]>> = older.iter().map(|r| r.line.clone()).collect();
    let before = st.spool.len();
    let lost = st.spool.close(&lines, first)?;
    c.spooled.fetch_add(st.spool.len() - before, Relaxed);
    c.dropped.fetch_add(lost, Relaxed);
    shared.publish(&st);
    Ok(())
}

// ------------------------------------------------------------ sequence

/// Sequence numbers that never repeat across runs: the next free number
/// is kept in a file, reserved ahead in blocks so a crash leaves a gap,
/// never a reuse.
pub struct SeqGen {
    next: u64,
    reserved: u64,
    path: PathBuf,
}

const SEQ_BLOCK: u64 = 1 << 20;

impl SeqGen {
    pub fn open(path: &Path) -> io::Result<SeqGen> {
        let next = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .unwrap_or(1)
            .max(1);
        let mut g = SeqGen {
            next,
            reserved: next,
            path: path.to_path_buf(),
        };
        g.reserve()?;
        Ok(g)
    }

    fn reserve(&mut self) -> io::Result<()> {
        self.reserved = self.next.saturating_add(SEQ_BLOCK);
        std::fs::write(&self.path, format!("{}\n", self.reserved))
    }

    pub fn next(&mut self) -> u64 {
        if self.next >= self.reserved {
            // Without the file the numbers still grow within this run.
            let _ = self.reserve();
        }
        let n = self.next;
        self.next = self.next.saturating_add(1);
        n
    }

    pub fn close(self) -> io::Result<()> {
        std::fs::write(&self.path, format!("{}\n", self.next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_rotation_keeps_count_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eve.json");
        let kind = SinkKind::File {
            path: path.clone(),
            rotate_size: Some(1000),
            rotate_count: 2,
        };
        let (tx, rx) = crossbeam_channel::bounded(10_000);
        let counters = Arc::new(SinkCounters::default());
        let line: Arc<[u8]> = Arc::from(
            &b"{\"event_type\":\"flow\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n"[..],
        );
        for _ in 0..100 {
            tx.send(Record::from_line(line.clone())).unwrap();
        }
        drop(tx);
        local_loop(rx, kind, counters.clone(), Arc::new(AtomicBool::new(false))).unwrap();
        assert_eq!(counters.written.load(Relaxed), 100);
        assert!(path.exists());
        assert!(dir.path().join("eve.json.1").exists());
        assert!(dir.path().join("eve.json.2").exists());
        assert!(!dir.path().join("eve.json.3").exists());
        for p in ["eve.json.1", "eve.json.2"] {
            let n = std::fs::metadata(dir.path().join(p)).unwrap().len();
            assert!(n >= 1000, "{p}: {n}");
        }
    }

    #[test]
    fn seq_never_repeats_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("next-seq");
        let mut g = SeqGen::open(&p).unwrap();
        let a: Vec<u64> = (0..10).map(|_| g.next()).collect();
        g.close().unwrap();
        let mut g = SeqGen::open(&p).unwrap();
        assert_eq!(g.next(), a[9] + 1);
        // Without a clean close the reserved block is skipped, not reused.
        drop(g);
        let mut g = SeqGen::open(&p).unwrap();
        assert!(g.next() > a[9] + 1);
    }
}
