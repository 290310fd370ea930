//! Live mode: mirror datagrams from UDP sockets through the workers.
//!
//! Each listener (a VXLAN or GENEVE port) gets one or more sockets bound
//! with SO_REUSEPORT and a large receive buffer; each socket has its own
//! reader thread. A reader checks the sender against the allow-list, puts
//! an outer IP/UDP header in front of the datagram (the socket already took
//! the real one off: the addresses are the socket's), decodes it to find
//! the mirror VNI and the inner 5-tuple, and appends it to the batch of the
//! worker that owns the flow. Batches go over bounded channels with
//! `try_send`: a full queue drops the batch and counts it, so a slow worker
//! never stalls the socket. Workers pick up a new ruleset between batches.
//!
//! Shutdown ([`Live::drain`]): readers stop and flush what they hold,
//! workers empty their queues and log every flow, the EVE writer writes
//! everything and a last `stats` record.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::config::EngineConfig;
use crate::decode::{decode, DecodeStats, Encap, LinkType};
use crate::dedup::Dedup;
use crate::defrag::Defrag;
use crate::detect::{defrag_events, FrameInfo, Worker};
use crate::flow::FlowKey;
use crate::output::{stats_record, EveWriter, OutputConfig, StatsInput};
use crate::pipeline::{Batch, TunnelFlows};
use crate::stats::WorkerStats;
use arc_swap::ArcSwap;
use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tapwatch_rules::EventSet;
use tapwatch_rules::RuleSet;

/// Largest UDP payload a datagram can carry.
const MAX_DATAGRAM: usize = 65_535;
/// Distinct VNIs counted one by one; others are counted together.
const MAX_VNIS: usize = 4096;
/// How long a reader holds a partly filled batch.
const BATCH_HOLD: Duration = Duration::from_millis(5);
/// Socket read timeout: how often an idle reader looks at the stop flag.
const READ_TIMEOUT: Duration = Duration::from_millis(20);
/// How often workers publish their counters.
const PUBLISH_EVERY: Duration = Duration::from_millis(200);

/// An address block, `10.0.0.0/8` or a single address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, unmap(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let bits = u32::from(self.prefix.min(32));
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let bits = u32::from(self.prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr = unmap(
            a.trim()
                .parse::<IpAddr>()
                .map_err(|_| format!("'{s}' is not an address or CIDR block"))?,
        );
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|&n| n <= max)
                .ok_or_else(|| format!("'{s}': prefix length must be 0..={max}"))?,
        };
        Ok(Cidr { addr, prefix })
    }
}

/// An IPv4-mapped IPv6 address as IPv4 (what a dual-stack socket reports).
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

/// One port to receive on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Listener {
    pub addr: SocketAddr,
    pub encap: Encap,
}

/// Live-mode settings (the binary fills them from `live.*` and `mirror.*`).
#[derive(Clone, Debug)]
pub struct LiveConfig {
    pub listeners: Vec<Listener>,
    /// Sockets (and reader threads) per listener, all on the same port.
    pub sockets_per_port: usize,
    /// SO_RCVBUF asked for each socket.
    pub recv_buffer: usize,
    /// Senders allowed (empty: everyone).
    pub allow_sources: Vec<Cidr>,
    /// Mirror VNIs allowed (empty: all).
    pub allow_vnis: Vec<u32>,
    /// Periodic `stats` EVE records (None: only the last one at exit).
    pub stats_interval: Option<Duration>,
    /// Batches queued per worker before datagrams are dropped.
    pub queue_depth: usize,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            listeners: vec![
                Listener {
                    addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, crate::decode::VXLAN_PORT)),
                    encap: Encap::Vxlan,
                },
                Listener {
                    addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, crate::decode::GENEVE_PORT)),
                    encap: Encap::Geneve,
                },
            ],
            sockets_per_port: 1,
            recv_buffer: 64 << 20,
            allow_sources: Vec::new(),
            allow_vnis: Vec::new(),
            stats_interval: Some(Duration::from_secs(30)),
            queue_depth: 64,
        }
    }
}

/// Counters of one listener (all its sockets).
#[derive(Debug)]
pub struct PortCounters {
    pub addr: SocketAddr,
    pub encap: Encap,
    pub packets: AtomicU64,
    pub bytes: AtomicU64,
    inodes: Mutex<Vec<u64>>,
}

/// Why a datagram was dropped before detection.
#[derive(Debug, Default)]
pub struct DropCounters {
    /// The worker's queue was full.
    pub queue_full: AtomicU64,
    /// The sender is not in `mirror.allow-sources`.
    pub source_denied: AtomicU64,
    /// The VNI is not in `mirror.allow-vnis`.
    pub vni_denied: AtomicU64,
    /// The datagram is not a VXLAN/GENEVE packet with an inner frame.
    pub not_tunnel: AtomicU64,
    /// The other end's copy of a TCP segment mirrored at both ends
    /// (`mirror.dedup`).
    pub mirror_duplicate: AtomicU64,
}

/// A worker's counters as last published.
#[derive(Clone, Debug, Default)]
pub struct WorkerSnapshot {
    pub stats: WorkerStats,
    /// Alerts by rule priority (EVE `alert.severity`), across reloads.
    pub by_severity: BTreeMap<u8, u64>,
    pub flows_active: u64,
    pub alive: bool,
}

/// Everything the control plane reads. Readers and workers only write
/// atomics (and, a few times a second, their own snapshot).
#[derive(Debug)]
pub struct LiveShared {
    pub ports: Vec<Arc<PortCounters>>,
    pub drops: DropCounters,
    /// Datagrams per mirror VNI: (packets, bytes).
    pub vnis: Mutex<BTreeMap<u32, (u64, u64)>>,
    /// Datagrams whose VNI did not fit in `vnis`.
    pub vni_overflow: AtomicU64,
    pub workers: Vec<Mutex<WorkerSnapshot>>,
    pub workers_alive: AtomicUsize,
    pub rules: ArcSwap<RuleSet>,
    pub rules_generation: AtomicU64,
    pub reloads: AtomicU64,
    pub reload_failures: AtomicU64,
    pub draining: AtomicBool,
    stop: AtomicBool,
    pub output_queue: AtomicUsize,
    pub records_lost: AtomicU64,
    pub started: Instant,
    /// Counters of every EVE sink, set once the writer has started.
    pub sinks: std::sync::OnceLock<Vec<crate::output::SinkProbe>>,
}

impl LiveShared {
    /// Kernel receive-queue drops of our sockets (the `drops` column of
    /// /proc/net/udp and udp6), when the system exposes them.
    pub fn kernel_drops(&self) -> Option<u64> {
        let mut inodes: Vec<u64> = Vec::new();
        for p in &self.ports {
            if let Ok(v) = p.inodes.lock() {
                inodes.extend(v.iter().copied());
            }
        }
        let mut total = None;
        for f in ["/proc/net/udp", "/proc/net/udp6"] {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            for line in text.lines().skip(1) {
                let cols: Vec<&str> = line.split_whitespace().collect();
                let (Some(inode), Some(drops)) = (cols.get(9), cols.last()) else {
                    continue;
                };
                let (Ok(inode), Ok(drops)) = (inode.parse::<u64>(), drops.parse::<u64>()) else {
                    continue;
                };
                if inodes.contains(&inode) {
                    total = Some(total.unwrap_or(0) + drops);
                }
            }
        }
        total
    }

    /// All workers' counters merged.
    pub fn merged(&self) -> WorkerSnapshot {
        let mut m = WorkerSnapshot::default();
        for w in &self.workers {
            if let Ok(s) = w.lock() {
                m.stats.merge(&s.stats);
                for (k, v) in &s.by_severity {
                    *m.by_severity.entry(*k).or_insert(0) += v;
                }
                m.flows_active += s.flows_active;
            }
        }
        m
    }

    /// Install a new ruleset; workers take it between batches.
    pub fn swap_rules(&self, rules: Arc<RuleSet>) {
        self.rules.store(rules);
        self.rules_generation.fetch_add(1, Relaxed);
        self.reloads.fetch_add(1, Relaxed);
    }

    /// Healthy: every worker alive and not draining.
    pub fn healthy(&self) -> bool {
        !self.draining.load(Relaxed) && self.workers_alive.load(Relaxed) == self.workers.len()
    }
}

/// What a live run did, at the end.
#[derive(Debug, Default)]
pub struct LiveSummary {
    pub received: u64,
    pub stats: WorkerStats,
    pub records_written: u64,
    pub records_lost: u64,
    pub worker_failures: usize,
}

/// A running live engine.
pub struct Live {
    pub shared: Arc<LiveShared>,
    readers: Vec<JoinHandle<()>>,
    workers: Vec<JoinHandle<(WorkerStats, u64)>>,
    ticker: Option<JoinHandle<()>>,
    writer: EveWriter,
    cfg: Arc<EngineConfig>,
    /// Bound addresses, one per listener (the real port when 0 was asked).
    pub bound: Vec<SocketAddr>,
    /// Warnings met while starting (capped receive buffer, ...).
    pub warnings: Vec<String>,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn open_socket(addr: SocketAddr, rcvbuf: usize, warnings: &mut Vec<String>) -> io::Result<Socket> {
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    if rcvbuf > 0 {
        // Ask for the buffer; Linux doubles what it grants and caps it at
        // net.core.rmem_max for unprivileged processes.
        let _ = s.set_recv_buffer_size(rcvbuf);
        let got = s.recv_buffer_size().unwrap_or(0);
        if got < rcvbuf {
            warnings.push(format!(
                "receive buffer for {addr}: asked {rcvbuf} bytes, the kernel granted {got} \
                 (raise net.core.rmem_max to avoid drops under bursts)"
            ));
        }
    }
    s.bind(&addr.into())?;
    Ok(s)
}

fn socket_inode(s: &UdpSocket) -> Option<u64> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/self/fd/{}", s.as_raw_fd()))
        .ok()
        .map(|m| m.ino())
}

impl Live {
    /// Bind every listener, start readers, workers, the EVE writer and the
    /// stats ticker. The listening ports are added to the decoder's tunnel
    /// ports so the datagrams decapsulate.
    pub fn start(
        cfg: &EngineConfig,
        live: &LiveConfig,
        rules: Arc<RuleSet>,
        eve: impl Into<OutputConfig>,
    ) -> io::Result<Live> {
        let mut cfg = cfg.clone();
        let mut warnings = Vec::new();
        // Bind first: a taken port fails before any thread starts.
        let mut sockets: Vec<(usize, UdpSocket)> = Vec::new();
        let mut bound = Vec::new();
        for (i, l) in live.listeners.iter().enumerate() {
            let first = open_socket(l.addr, live.recv_buffer, &mut warnings)?;
            let addr = first
                .local_addr()?
                .as_socket()
                .ok_or_else(|| io::Error::other("socket has no IP address"))?;
            bound.push(addr);
            sockets.push((i, first.into()));
            for _ in 1..live.sockets_per_port.max(1) {
                let mut w = Vec::new();
                let s = open_socket(addr, live.recv_buffer, &mut w)?;
                sockets.push((i, s.into()));
            }
            let ports = match l.encap {
                Encap::Vxlan => &mut cfg.decode.vxlan_ports,
                Encap::Geneve => &mut cfg.decode.geneve_ports,
            };
            if !ports.contains(&addr.port()) {
                ports.push(addr.port());
            }
        }
        let cfg = Arc::new(cfg);
        let nworkers = cfg.workers.max(1);
        let ports: Vec<Arc<PortCounters>> = live
            .listeners
            .iter()
            .zip(&bound)
            .map(|(l, a)| {
                Arc::new(PortCounters {
                    addr: *a,
                    encap: l.encap,
                    packets: AtomicU64::new(0),
                    bytes: AtomicU64::new(0),
                    inodes: Mutex::new(Vec::new()),
                })
            })
            .collect();
        for (i, s) in &sockets {
            if let (Some(p), Some(ino)) = (ports.get(*i), socket_inode(s)) {
                if let Ok(mut v) = p.inodes.lock() {
                    v.push(ino);
                }
            }
        }
        let shared = Arc::new(LiveShared {
            ports,
            drops: DropCounters::default(),
            vnis: Mutex::new(BTreeMap::new()),
            vni_overflow: AtomicU64::new(0),
            workers: (0..nworkers)
                .map(|_| Mutex::new(WorkerSnapshot::default()))
                .collect(),
            workers_alive: AtomicUsize::new(0),
            rules: ArcSwap::new(rules.clone()),
            rules_generation: AtomicU64::new(0),
            reloads: AtomicU64::new(0),
            reload_failures: AtomicU64::new(0),
            draining: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            output_queue: AtomicUsize::new(0),
            records_lost: AtomicU64::new(0),
            started: Instant::now(),
            sinks: std::sync::OnceLock::new(),
        });

        let writer = EveWriter::start(&eve.into(), 4096)?;
        let _ = shared.sinks.set(writer.probes());
        let queue = live.queue_depth.max(1);
        let per_batch = cfg.batch_frames.max(1);
        let (recycle_tx, recycle_rx) = bounded::<Batch>(nworkers * (queue + 2) + 16);
        let mut txs = Vec::with_capacity(nworkers);
        let mut workers = Vec::with_capacity(nworkers);
        let mem = crate::stream::StreamMem::new(cfg.stream.memcap);
        for i in 0..nworkers {
            let (tx, rx) = bounded::<Batch>(queue);
            txs.push(tx);
            let mut worker = Worker::with_mem(cfg.clone(), rules.clone(), writer.tx.clone(), mem.clone());
            worker.set_reader_defrags(cfg.defrag.enabled);
            worker.batch_output(true);
            let sh = shared.clone();
            let recycle = recycle_tx.clone();
            shared.workers_alive.fetch_add(1, Relaxed);
            let h = std::thread::Builder::new()
                .name(format!("tapwatch-w{i}"))
                .spawn(move || worker_loop(worker, i, rx, recycle, sh))?;
            workers.push(h);
        }
        drop(recycle_tx);

        let mut readers = Vec::new();
        for (n, (i, sock)) in sockets.into_iter().enumerate() {
            let mut r = Reader {
                sock,
                port: shared
                    .ports
                    .get(i)
                    .cloned()
                    .ok_or_else(|| io::Error::other("listener"))?,
                shared: shared.clone(),
                cfg: cfg.clone(),
                allow_sources: live.allow_sources.clone(),
                allow_vnis: live.allow_vnis.clone(),
                txs: txs.clone(),
                recycle: recycle_rx.clone(),
                pending: (0..nworkers).map(|_| Batch::new(per_batch)).collect(),
                oldest: None,
                seq: 0,
                vnis: BTreeMap::new(),
                last_publish: Instant::now(),
                tunnels: cfg
                    .tunnel_flows
                    .then(|| TunnelFlows::new(&cfg, writer.tx.clone())),
                defrag: cfg.defrag.enabled.then(|| Defrag::new(&cfg.defrag)),
                dedup: cfg.dedup.enabled.then(|| Dedup::new(&cfg.dedup)),
            };
            let h = std::thread::Builder::new()
                .name(format!("tapwatch-rx{n}"))
                .spawn(move || r.run())?;
            readers.push(h);
        }
        drop(txs);

        let ticker = {
            let sh = shared.clone();
            let tx = writer.tx.clone();
            let interval = live.stats_interval;
            let eve_stats = cfg.eve.stats;
            Some(
                std::thread::Builder::new()
                    .name("tapwatch-stats".into())
                    .spawn(move || ticker_loop(sh, tx, interval.filter(|_| eve_stats)))?,
            )
        };

        Ok(Live {
            shared,
            readers,
            workers,
            ticker,
            writer,
            cfg,
            bound,
            warnings,
        })
    }

    /// Stop receiving, let the queues empty, end every flow through
    /// detection and write every record. Blocks until done.
    pub fn drain(self) -> io::Result<LiveSummary> {
        let sh = self.shared.clone();
        sh.draining.store(true, Relaxed);
        sh.stop.store(true, Relaxed);
        let mut summary = LiveSummary::default();
        for r in self.readers {
            if r.join().is_err() {
                summary.worker_failures += 1;
            }
        }
        if let Some(t) = self.ticker {
            let _ = t.join();
        }
        let mut total = WorkerStats::default();
        for w in self.workers {
            match w.join() {
                Ok((s, lost)) => {
                    total.merge(&s);
                    summary.records_lost += lost;
                }
                Err(_) => summary.worker_failures += 1,
            }
        }
        summary.records_lost += sh.records_lost.load(Relaxed);
        summary.received = sh.ports.iter().map(|p| p.packets.load(Relaxed)).sum();
        if self.cfg.eve.stats {
            let rec = stats_record(&StatsInput {
                ts_ns: now_ns(),
                uptime_secs: sh.started.elapsed().as_secs(),
                decoder: &total.decode,
                flows: &total.flows,
                tcp: &total.tcp,
                defrag: &total.defrag,
                alerts: total.alerts,
            });
            if self.writer.tx.send(rec).is_err() {
                summary.records_lost += 1;
            }
        }
        summary.records_written = self.writer.finish()?.records;
        summary.stats = total;
        Ok(summary)
    }
}

struct Reader {
    sock: UdpSocket,
    port: Arc<PortCounters>,
    shared: Arc<LiveShared>,
    cfg: Arc<EngineConfig>,
    allow_sources: Vec<Cidr>,
    allow_vnis: Vec<u32>,
    txs: Vec<Sender<Batch>>,
    recycle: Receiver<Batch>,
    pending: Vec<Batch>,
    oldest: Option<Instant>,
    seq: u64,
    vnis: BTreeMap<u32, (u64, u64)>,
    last_publish: Instant,
    tunnels: Option<TunnelFlows>,
    /// IP fragments are put together here (fragments of one datagram carry
    /// ports only in the first, so only the reader can).
    defrag: Option<Defrag>,
    dedup: Option<Dedup>,
}

/// What decoding a datagram told the reader.
struct Seen {
    worker: usize,
    vni: u32,
    /// The datagram completed by this fragment, and its worker.
    whole: Option<(usize, Vec<u8>)>,
    /// Decoder events defragmentation raised for this fragment.
    events: EventSet,
}

impl Reader {
    fn run(&mut self) {
        let _ = self.sock.set_read_timeout(Some(READ_TIMEOUT));
        let local = self.port.addr;
        let mut dgram = vec![0u8; MAX_DATAGRAM];
        let mut frame: Vec<u8> = Vec::with_capacity(MAX_DATAGRAM + 48);
        let mut scratch = DecodeStats::default();
        while !self.shared.stop.load(Relaxed) {
            match self.sock.recv_from(&mut dgram) {
                Ok((n, from)) => {
                    let payload = dgram.get(..n).unwrap_or(&[]);
                    self.datagram(payload, from, local, &mut frame, &mut scratch);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => std::thread::sleep(READ_TIMEOUT),
            }
            if self.oldest.is_some_and(|t| t.elapsed() >= BATCH_HOLD) {
                self.flush_all();
            }
            if self.last_publish.elapsed() >= PUBLISH_EVERY {
                self.publish_vnis();
            }
        }
        // What the kernel already holds was sent before the stop: take it.
        if self.sock.set_nonblocking(true).is_ok() {
            for _ in 0..1_000_000 {
                let Ok((n, from)) = self.sock.recv_from(&mut dgram) else {
                    break;
                };
                let payload = dgram.get(..n).unwrap_or(&[]);
                self.datagram(payload, from, local, &mut frame, &mut scratch);
            }
        }
        self.flush_all();
        self.publish_vnis();
        if let Some(t) = self.tunnels.take() {
            let (_, lost) = t.finish();
            self.shared.records_lost.fetch_add(lost, Relaxed);
        }
    }

    fn datagram(
        &mut self,
        payload: &[u8],
        from: SocketAddr,
        local: SocketAddr,
        frame: &mut Vec<u8>,
        scratch: &mut DecodeStats,
    ) {
        self.port.packets.fetch_add(1, Relaxed);
        self.port.bytes.fetch_add(payload.len() as u64, Relaxed);
        let src = unmap(from.ip());
        if !self.allow_sources.is_empty() && !self.allow_sources.iter().any(|c| c.contains(src)) {
            self.shared.drops.source_denied.fetch_add(1, Relaxed);
            return;
        }
        let ts_ns = now_ns();
        let link = outer_frame(frame, src, local, from.port(), payload);
        let seen = match decode(link, frame, &self.cfg.decode, scratch) {
            Ok(p) => {
                // The VXLAN layer is the mirror session's; GENEVE the GWLB's.
                let layer = p
                    .tunnel_layers()
                    .find(|t| t.encap == Encap::Vxlan)
                    .or_else(|| p.outermost_tunnel());
                match layer {
                    Some(t) => {
                        if self.dedup.as_mut().is_some_and(|d| d.is_duplicate(&p, ts_ns)) {
                            self.shared.drops.mirror_duplicate.fetch_add(1, Relaxed);
                            return;
                        }
                        if let Some(tf) = self.tunnels.as_mut() {
                            // As a capture would count it: with the outer Ethernet header.
                            tf.track(&p, ts_ns, frame.len() as u64 + 14);
                        }
                        let n = self.txs.len().max(1) as u64;
                        let mut whole = None;
                        let mut events = EventSet::EMPTY;
                        if let (true, Some(d)) = (p.is_fragment, self.defrag.as_mut()) {
                            let before = d.stats.clone();
                            let done = d.insert(&p, ts_ns).is_some();
                            events = defrag_events(&p, &before, &d.stats);
                            if done {
                                let dgram = d.last_datagram();
                                let w = match decode(LinkType::Raw, dgram, &self.cfg.decode, scratch) {
                                    Ok(q) => (FlowKey::from_packet(&q).hash64() % n) as usize,
                                    Err(_) => 0,
                                };
                                whole = Some((w, dgram.to_vec()));
                            }
                        }
                        Some(Seen {
                            worker: (FlowKey::from_packet(&p).hash64() % n) as usize,
                            vni: t.vni,
                            whole,
                            events,
                        })
                    }
                    None => None,
                }
            }
            // Not IP inside (ARP, ...) or malformed: the worker counts it
            // in the decoder stats, as replay does.
            Err(_) => header_vni(self.port.encap, payload).map(|vni| Seen {
                worker: 0,
                vni,
                whole: None,
                events: EventSet::EMPTY,
            }),
        };
        let Some(seen) = seen else {
            self.shared.drops.not_tunnel.fetch_add(1, Relaxed);
            return;
        };
        if !self.allow_vnis.is_empty() && !self.allow_vnis.contains(&seen.vni) {
            self.shared.drops.vni_denied.fetch_add(1, Relaxed);
            return;
        }
        if let Some(c) = self.vnis.get_mut(&seen.vni) {
            c.0 += 1;
            c.1 += payload.len() as u64;
        } else if self.vnis.len() < MAX_VNIS {
            self.vnis.insert(seen.vni, (1, payload.len() as u64));
        } else {
            self.shared.vni_overflow.fetch_add(1, Relaxed);
        }
        self.seq += 1;
        let info = FrameInfo {
            ts_ns,
            pcap_cnt: self.seq,
            link,
            orig_len: u32::try_from(frame.len()).unwrap_or(u32::MAX),
            events: seen.events,
        };
        self.push(seen.worker, info, frame);
        if let Some((w, dgram)) = seen.whole {
            let info = FrameInfo {
                link: LinkType::Raw,
                orig_len: u32::try_from(dgram.len()).unwrap_or(u32::MAX),
                events: EventSet::EMPTY,
                ..info
            };
            self.push(w, info, &dgram);
        }
    }

    /// Queue one frame for worker `w`.
    fn push(&mut self, w: usize, info: FrameInfo, frame: &[u8]) {
        let Some(b) = self.pending.get_mut(w) else {
            return;
        };
        b.push_copy(info, frame);
        if self.oldest.is_none() {
            self.oldest = Some(Instant::now());
        }
        if b.is_full(self.cfg.batch_frames.max(1)) {
            self.flush(w);
        }
    }

    fn flush(&mut self, w: usize) {
        let per_batch = self.cfg.batch_frames.max(1);
        let (Some(b), Some(tx)) = (self.pending.get_mut(w), self.txs.get(w)) else {
            return;
        };
        if b.frames.is_empty() {
            return;
        }
        let fresh = self.recycle.try_recv().unwrap_or_else(|_| Batch::new(per_batch));
        let full = std::mem::replace(b, fresh);
        let stopping = self.shared.stop.load(Relaxed);
        let sent = if stopping {
            // Draining: workers are emptying their queues, waiting is safe
            // and loses nothing that was received.
            tx.send(full)
                .map_err(|e| TrySendError::Disconnected(e.into_inner()))
        } else {
            tx.try_send(full)
        };
        match sent {
            Ok(()) => {}
            Err(TrySendError::Full(mut back)) | Err(TrySendError::Disconnected(mut back)) => {
                self.shared
                    .drops
                    .queue_full
                    .fetch_add(back.frames.len() as u64, Relaxed);
                back.clear();
                if let Some(b) = self.pending.get_mut(w) {
                    *b = back;
                }
            }
        }
    }

    fn flush_all(&mut self) {
        for w in 0..self.pending.len() {
            self.flush(w);
        }
        self.oldest = None;
    }

    fn publish_vnis(&mut self) {
        self.last_publish = Instant::now();
        if self.vnis.is_empty() {
            return;
        }
        if let Ok(mut m) = self.shared.vnis.lock() {
            for (vni, (p, b)) in std::mem::take(&mut self.vnis) {
                if m.len() >= MAX_VNIS && !m.contains_key(&vni) {
                    self.shared.vni_overflow.fetch_add(p, Relaxed);
                    continue;
                }
                let e = m.entry(vni).or_insert((0, 0));
                e.0 += p;
                e.1 += b;
            }
        }
    }
}

/// The VNI of a VXLAN or GENEVE header at the start of a datagram.
fn header_vni(encap: Encap, payload: &[u8]) -> Option<u32> {
    match encap {
        Encap::Vxlan => tapwatch_parsers::parse_vxlan(payload).ok().map(|(_, h)| h.vni),
        Encap::Geneve => tapwatch_parsers::parse_geneve(payload).ok().map(|(_, h)| h.vni),
    }
}

/// Put the outer IP and UDP headers the socket removed in front of the
/// datagram, so the worker decodes it as a captured mirror packet would
/// be. Returns the link type of `out`.
pub fn outer_frame(
    out: &mut Vec<u8>,
    src: IpAddr,
    local: SocketAddr,
    sport: u16,
    payload: &[u8],
) -> LinkType {
    out.clear();
    let udp_len = payload.len().saturating_add(8);
    let dst = unmap(local.ip());
    match (src, dst) {
        (IpAddr::V4(s), d) => {
            let d = match d {
                IpAddr::V4(d) => d,
                IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
            };
            let total = u16::try_from(udp_len + 20).unwrap_or(u16::MAX);
            let mut h = [0u8; 20];
            h[0] = 0x45;
            h[2..4].copy_from_slice(&total.to_be_bytes());
            h[6] = 0x40; // DF, as Traffic Mirroring sends
            h[8] = 64;
            h[9] = 17;
            h[12..16].copy_from_slice(&s.octets());
            h[16..20].copy_from_slice(&d.octets());
            let sum = ipv4_checksum(&h);
            h[10..12].copy_from_slice(&sum.to_be_bytes());
            out.extend_from_slice(&h);
            push_udp(out, sport, local.port(), udp_len);
            out.extend_from_slice(payload);
            LinkType::Ipv4
        }
        (IpAddr::V6(s), d) => {
            let d = match d {
                IpAddr::V6(d) => d,
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            };
            let mut h = [0u8; 40];
            h[0] = 0x60;
            h[4..6].copy_from_slice(&u16::try_from(udp_len).unwrap_or(u16::MAX).to_be_bytes());
            h[6] = 17;
            h[7] = 64;
            h[8..24].copy_from_slice(&s.octets());
            h[24..40].copy_from_slice(&Ipv6Addr::octets(&d));
            out.extend_from_slice(&h);
            push_udp(out, sport, local.port(), udp_len);
            out.extend_from_slice(payload);
            LinkType::Ipv6
        }
    }
}

fn push_udp(out: &mut Vec<u8>, sport: u16, dport: u16, len: usize) {
    out.extend_from_slice(&sport.to_be_bytes());
    out.extend_from_slice(&dport.to_be_bytes());
    out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    // Checksum 0: none (the kernel verified the real one).
    out.extend_from_slice(&[0, 0]);
}

fn ipv4_checksum(h: &[u8; 20]) -> u16 {
    let mut sum: u32 = 0;
    for c in h.chunks_exact(2) {
        if let [a, b] = *c {
            sum += u32::from(u16::from_be_bytes([a, b]));
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn worker_loop(
    mut worker: Worker,
    idx: usize,
    rx: Receiver<Batch>,
    recycle: Sender<Batch>,
    sh: Arc<LiveShared>,
) -> (WorkerStats, u64) {
    let mut generation = sh.rules_generation.load(Relaxed);
    let mut sev_base: BTreeMap<u8, u64> = BTreeMap::new();
    let mut last_publish = Instant::now();
    publish(&worker, idx, &sh, &sev_base, true);
    loop {
        match rx.recv_timeout(PUBLISH_EVERY) {
            Ok(mut batch) => {
                let g = sh.rules_generation.load(Relaxed);
                if g != generation {
                    generation = g;
                    fold_severity(&worker, &mut sev_base);
                    worker.set_rules(sh.rules.load_full());
                }
                for m in &batch.frames {
                    worker.process(&m.info, batch.frame(m));
                }
                worker.flush_output();
                batch.clear();
                let _ = recycle.try_send(batch);
            }
            Err(RecvTimeoutError::Timeout) => {
                worker.sweep(now_ns());
                worker.flush_output();
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if last_publish.elapsed() >= PUBLISH_EVERY {
            last_publish = Instant::now();
            publish(&worker, idx, &sh, &sev_base, true);
        }
    }
    let rules = worker.rules().clone();
    let (stats, lost) = worker.finish();
    if let Some(slot) = sh.workers.get(idx) {
        if let Ok(mut s) = slot.lock() {
            let mut sev = sev_base.clone();
            add_severity(&stats, &rules, &mut sev);
            s.stats = stats.clone();
            s.by_severity = sev;
            s.flows_active = 0;
            s.alive = false;
        }
    }
    sh.workers_alive.fetch_sub(1, Relaxed);
    (stats, lost)
}

fn add_severity(stats: &WorkerStats, rules: &RuleSet, into: &mut BTreeMap<u8, u64>) {
    for (i, &n) in stats.alerts_by_rule.iter().enumerate() {
        if n > 0 && i < rules.len() {
            *into.entry(rules.meta(i as u32).priority).or_insert(0) += n;
        }
    }
}

fn fold_severity(w: &Worker, base: &mut BTreeMap<u8, u64>) {
    add_severity(&w.stats, w.rules(), base);
}

fn publish(w: &Worker, idx: usize, sh: &LiveShared, sev_base: &BTreeMap<u8, u64>, alive: bool) {
    let Some(slot) = sh.workers.get(idx) else {
        return;
    };
    let mut sev = sev_base.clone();
    add_severity(&w.stats, w.rules(), &mut sev);
    if let Ok(mut s) = slot.lock() {
        s.stats.clone_from(&w.stats);
        s.stats.flows = w.flow_counters().clone();
        s.by_severity = sev;
        s.flows_active = w.active_flows() as u64;
        s.alive = alive;
    }
}

fn ticker_loop(sh: Arc<LiveShared>, tx: Sender<Vec<u8>>, interval: Option<Duration>) {
    let mut last = Instant::now();
    while !sh.stop.load(Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        sh.output_queue.store(tx.len(), Relaxed);
        if let Some(iv) = interval {
            if last.elapsed() >= iv {
                last = Instant::now();
                let m = sh.merged();
                let rec = stats_record(&StatsInput {
                    ts_ns: now_ns(),
                    uptime_secs: sh.started.elapsed().as_secs(),
                    decoder: &m.stats.decode,
                    flows: &m.stats.flows,
                    tcp: &m.stats.tcp,
                    defrag: &m.stats.defrag,
                    alerts: m.stats.alerts,
                });
                if tx.send(rec).is_err() {
                    sh.records_lost.fetch_add(1, Relaxed);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::DecodeConfig;

    #[test]
    fn cidr_parse_and_match() {
        let c: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(c.contains("10.1.200.3".parse().unwrap()));
        assert!(!c.contains("10.2.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.1.0.9".parse().unwrap()));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(one.prefix, 32);
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("192.0.2.1".parse().unwrap()));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        for bad in ["", "10.0.0.0/33", "x/8", "::/129", "10.0.0.0/-1"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    fn vxlan_payload(vni: u32, inner: &[u8]) -> Vec<u8> {
        let mut v = vec![0x08, 0, 0, 0];
        v.extend_from_slice(&vni.to_be_bytes()[1..]);
        v.push(0);
        v.extend_from_slice(inner);
        v
    }

    #[test]
    fn outer_frame_decodes_as_the_mirror_packet() {
        let inner = tapwatch_gen::udp_frame(
            "10.0.0.1:5353".parse().unwrap(),
            "10.0.0.2:53".parse().unwrap(),
            1,
            b"hello",
        );
        let payload = vxlan_payload(77, &inner.data);
        let mut frame = Vec::new();
        for (src, local) in [
            ("192.0.2.9", "127.0.0.1:4789"),
            ("2001:db8::9", "[::1]:4789"),
            ("::ffff:192.0.2.9", "[::]:4789"),
        ] {
            let src: IpAddr = src.parse().unwrap();
            let local: SocketAddr = local.parse().unwrap();
            let link = outer_frame(&mut frame, unmap(src), local, 50000, &payload);
            let cfg = DecodeConfig {
                checksum_validate: true,
                ..DecodeConfig::default()
            };
            let mut st = DecodeStats::default();
            let p = decode(link, &frame, &cfg, &mut st).unwrap();
            assert!(!p.checksum_bad, "{src}");
            assert_eq!(p.tunnel_count, 1);
            let t = p.outermost_tunnel().unwrap();
            assert_eq!(t.vni, 77);
            assert_eq!(t.outer_src, unmap(src));
            assert_eq!(t.outer_sport, 50000);
            assert_eq!(t.outer_dport, 4789);
            assert_eq!(p.payload, b"hello");
            assert_eq!(p.dport, 53);
        }
    }

    proptest::proptest! {
        #[test]
        fn outer_frame_never_panics(payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000), sport: u16) {
            let mut frame = Vec::new();
            let local: SocketAddr = "127.0.0.1:4789".parse().unwrap();
            let link = outer_frame(&mut frame, IpAddr::V4(Ipv4Addr::LOCALHOST), local, sport, &payload);
            let mut st = DecodeStats::default();
            let _ = decode(link, &frame, &DecodeConfig::default(), &mut st);
            proptest::prop_assert_eq!(frame.len(), payload.len() + 28);
        }
    }
}
