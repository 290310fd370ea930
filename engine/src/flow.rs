//! Flow tracking: a symmetric key and hash over the innermost 5-tuple, and
//! the per-worker flow table shard.
//!
//! The table is a slab of [`Flow`]s plus an index map; slots are reused, so
//! a worker in steady state allocates nothing per packet. A flow's direction
//! is fixed by who sent its first packet (the SYN's sender when the
//! handshake is seen, the SYN/ACK's receiver when only the SYN/ACK is).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::config::{FlowConfig, Timeouts};
use crate::decode::{Packet, TunnelLayer};
use crate::stream::StreamDir;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::net::IpAddr;

pub const TH_FIN: u8 = 0x01;
pub const TH_SYN: u8 = 0x02;
pub const TH_RST: u8 = 0x04;
pub const TH_PUSH: u8 = 0x08;
pub const TH_ACK: u8 = 0x10;
pub const TH_URG: u8 = 0x20;
pub const TH_ECE: u8 = 0x40;
pub const TH_CWR: u8 = 0x80;

/// The address as a big-endian integer; IPv4 as its IPv4-mapped IPv6
/// address (`::ffff:a.b.c.d`).
fn ip_u128(ip: &IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => 0xffff_0000_0000 | u128::from(u32::from(*a)),
        IpAddr::V6(a) => u128::from(*a),
    }
}

/// Direction-independent flow key: the lower endpoint first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FlowKey {
    pub lo_ip: [u8; 16],
    pub hi_ip: [u8; 16],
    pub lo_port: u16,
    pub hi_port: u16,
    pub proto: u8,
    pub vlan: u16,
}

impl FlowKey {
    pub fn from_packet(p: &Packet<'_>) -> FlowKey {
        let vlan = if p.vlan_count > 0 { p.vlan[0] } else { 0 };
        FlowKey::new((p.src, p.sport), (p.dst, p.dport), p.ip_proto, vlan)
    }

    /// The key of either direction between two endpoints.
    pub fn new(a: (IpAddr, u16), b: (IpAddr, u16), proto: u8, vlan: u16) -> FlowKey {
        // Big-endian integers order as the bytes do, and compare in a
        // few instructions.
        let a = (ip_u128(&a.0), a.1);
        let b = (ip_u128(&b.0), b.1);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        FlowKey {
            lo_ip: lo.0.to_be_bytes(),
            hi_ip: hi.0.to_be_bytes(),
            lo_port: lo.1,
            hi_port: hi.1,
            proto,
            vlan,
        }
    }

    /// A stable 64-bit hash: the same for both directions, for every run,
    /// on every machine (workers are chosen with it).
    pub fn hash64(&self) -> u64 {
        let mut h = FlowHasher::default();
        self.hash(&mut h);
        h.finish()
    }
}

/// Small, fixed-seed, fast hasher (FxHash-style multiply-rotate with a
/// final avalanche), so flow placement is reproducible.
#[derive(Default, Clone, Copy)]
pub struct FlowHasher(u64);

impl Hasher for FlowHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Little-endian 8-byte words, the last one zero-padded.
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.write_u64(u64::from_le_bytes(b));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            for (d, s) in b.iter_mut().zip(rest) {
                *d = *s;
            }
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64)
    }
    fn write_u16(&mut self, i: u16) {
        self.write_u64(i as u64)
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64)
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64)
    }
    fn finish(&self) -> u64 {
        // splitmix64 finaliser
        let mut z = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

pub type FlowMap<V> = HashMap<FlowKey, V, BuildHasherDefault<FlowHasher>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpState {
    None,
    SynSent,
    SynRecv,
    Established,
    FinWait,
    Closed,
}

impl TcpState {
    pub fn as_str(self) -> &'static str {
        match self {
            TcpState::None => "none",
            TcpState::SynSent => "syn_sent",
            TcpState::SynRecv => "syn_recv",
            TcpState::Established => "established",
            TcpState::FinWait => "fin_wait1",
            TcpState::Closed => "closed",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    Timeout,
    Shutdown,
    Evicted,
    Reused,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Timeout => "timeout",
            EndReason::Shutdown => "shutdown",
            EndReason::Evicted => "forced",
            EndReason::Reused => "forced",
        }
    }
}

/// One bidirectional flow. "client" is the side that sent the first packet.
#[derive(Clone, Debug)]
pub struct Flow {
    pub key: FlowKey,
    pub flow_id: u64,
    pub proto: u8,
    pub client_ip: IpAddr,
    pub client_port: u16,
    pub server_ip: IpAddr,
    pub server_port: u16,
    pub start_ns: u64,
    pub last_ns: u64,
    pub pkts_ts: u64,
    pub pkts_tc: u64,
    pub bytes_ts: u64,
    pub bytes_tc: u64,
    pub tcp_state: TcpState,
    pub flags_ts: u8,
    pub flags_tc: u8,
    pub alerted: bool,
    pub truncated: bool,
    /// Streams: [to_server, to_client].
    pub stream: [StreamDir; 2],
    /// Tunnel of the first packet (for the flow record).
    pub tunnel: Option<TunnelLayer>,
    pub in_use: bool,
    /// Application-layer protocol and state.
    pub app: crate::applayer::AppLayer,
    /// Flowbits of the rules.
    pub vars: tapwatch_rules::FlowVars,
}

impl Flow {
    fn empty() -> Flow {
        let unspecified = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        Flow {
            key: FlowKey::default(),
            flow_id: 0,
            proto: 0,
            client_ip: unspecified,
            client_port: 0,
            server_ip: unspecified,
            server_port: 0,
            start_ns: 0,
            last_ns: 0,
            pkts_ts: 0,
            pkts_tc: 0,
            bytes_ts: 0,
            bytes_tc: 0,
            tcp_state: TcpState::None,
            flags_ts: 0,
            flags_tc: 0,
            alerted: false,
            truncated: false,
            stream: [StreamDir::default(), StreamDir::default()],
            tunnel: None,
            in_use: false,
            app: crate::applayer::AppLayer::default(),
            vars: tapwatch_rules::FlowVars::default(),
        }
    }

    /// Reset this slot for a new flow, keeping buffer capacity.
    fn init(&mut self, key: FlowKey, p: &Packet<'_>, ts_ns: u64) {
        let flags = p.tcp.map(|t| t.flags).unwrap_or(0);
        // A first packet that is a SYN/ACK comes from the server.
        let from_server = flags & (TH_SYN | TH_ACK) == (TH_SYN | TH_ACK);
        let (cip, cport, sip, sport) = if from_server {
            (p.dst, p.dport, p.src, p.sport)
        } else {
            (p.src, p.sport, p.dst, p.dport)
        };
        self.key = key;
        self.proto = p.ip_proto;
        self.client_ip = cip;
        self.client_port = cport;
        self.server_ip = sip;
        self.server_port = sport;
        self.start_ns = ts_ns;
        self.last_ns = ts_ns;
        self.flow_id = make_flow_id(&key, ts_ns);
        self.pkts_ts = 0;
        self.pkts_tc = 0;
        self.bytes_ts = 0;
        self.bytes_tc = 0;
        self.tcp_state = TcpState::None;
        self.flags_ts = 0;
        self.flags_tc = 0;
        self.alerted = false;
        self.truncated = false;
        self.stream[0].reset();
        self.stream[1].reset();
        self.app.reset();
        self.tunnel = p.innermost_tunnel().copied();
        self.vars.clear();
        self.in_use = true;
    }

    /// Whether a packet goes client → server.
    pub fn is_to_server(&self, p: &Packet<'_>) -> bool {
        p.src == self.client_ip && p.sport == self.client_port
    }

    /// Seconds without packets after which this flow is over.
    pub fn timeout_secs(&self, cfg: &FlowConfig) -> u64 {
        let t = proto_timeouts(cfg, self.proto);
        match self.state() {
            FlowState::New => t.new,
            FlowState::Established => t.established,
            FlowState::Closed => t.closed,
        }
    }

    pub fn state(&self) -> FlowState {
        if self.proto == 6 {
            match self.tcp_state {
                TcpState::None | TcpState::SynSent | TcpState::SynRecv => FlowState::New,
                TcpState::Established | TcpState::FinWait => FlowState::Established,
                TcpState::Closed => FlowState::Closed,
            }
        } else if self.pkts_ts > 0 && self.pkts_tc > 0 {
            FlowState::Established
        } else {
            FlowState::New
        }
    }

    /// Both directions seen (UDP/ICMP) or handshake complete (TCP): what
    /// `flow:established` means.
    pub fn is_established(&self) -> bool {
        if self.proto == 6 {
            matches!(self.tcp_state, TcpState::Established | TcpState::FinWait)
        } else {
            self.pkts_ts > 0 && self.pkts_tc > 0
        }
    }

    /// Connection pickup when the handshake was not (fully) seen: with
    /// `midstream`, a session first seen mid-way is taken as established;
    /// with `async_oneside`, a session where only one side is visible
    /// (SYN then the client's ACK, or SYN/ACK then the server's ACK) is.
    pub fn pickup(&mut self, p: &Packet<'_>, to_server: bool, midstream: bool, async_oneside: bool) {
        let Some(tcp) = p.tcp else { return };
        let f = tcp.flags;
        if f & (TH_SYN | TH_RST | TH_ACK) != TH_ACK {
            return;
        }
        self.tcp_state = match self.tcp_state {
            TcpState::None if midstream => TcpState::Established,
            TcpState::SynSent if async_oneside && to_server => TcpState::Established,
            TcpState::SynRecv if async_oneside && !to_server && self.pkts_ts == 0 => TcpState::Established,
            s => s,
        };
    }

    /// Count a packet and advance TCP state.
    pub fn update(&mut self, p: &Packet<'_>, to_server: bool, ts_ns: u64, wire_len: u64) {
        if ts_ns > self.last_ns {
            self.last_ns = ts_ns;
        }
        if to_server {
            self.pkts_ts += 1;
            self.bytes_ts += wire_len;
        } else {
            self.pkts_tc += 1;
            self.bytes_tc += wire_len;
        }
        if p.truncated {
            self.truncated = true;
        }
        let Some(tcp) = p.tcp else { return };
        let f = tcp.flags;
        if to_server {
            self.flags_ts |= f;
        } else {
            self.flags_tc |= f;
        }
        self.tcp_state = match self.tcp_state {
            _ if f & TH_RST != 0 => TcpState::Closed,
            TcpState::None if f & (TH_SYN | TH_ACK) == TH_SYN && to_server => TcpState::SynSent,
            TcpState::None if f & (TH_SYN | TH_ACK) == (TH_SYN | TH_ACK) && !to_server => TcpState::SynRecv,
            TcpState::SynSent if f & (TH_SYN | TH_ACK) == (TH_SYN | TH_ACK) && !to_server => {
                TcpState::SynRecv
            }
            TcpState::SynRecv if f & (TH_SYN | TH_ACK) == TH_ACK && to_server => TcpState::Established,
            TcpState::Established if f & TH_FIN != 0 => TcpState::FinWait,
            TcpState::FinWait if f & TH_FIN != 0 => TcpState::Closed,
            s => s,
        };
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowState {
    New,
    Established,
    Closed,
}

impl FlowState {
    pub fn as_str(self) -> &'static str {
        match self {
            FlowState::New => "new",
            FlowState::Established => "established",
            FlowState::Closed => "closed",
        }
    }
}

/// Suricata-style flow id: stable per flow, positive and below 2^51 so
/// JSON consumers that read numbers as doubles keep it exact.
pub fn make_flow_id(key: &FlowKey, start_ns: u64) -> u64 {
    let mut h = FlowHasher::default();
    key.hash(&mut h);
    h.write_u64(start_ns);
    let id = h.finish() & 0x0007_ffff_ffff_ffff;
    if id == 0 {
        1
    } else {
        id
    }
}

#[derive(Default, Clone, Debug)]
pub struct FlowCounters {
    pub total: u64,
    pub tcp: u64,
    pub udp: u64,
    pub icmpv4: u64,
    pub icmpv6: u64,
    pub timed_out: u64,
    pub evicted: u64,
    pub reused: u64,
    /// New flows refused because the table was full and nothing could go.
    pub memcap: u64,
    /// Most flows held at once (summed over workers: an upper bound).
    pub active_peak: u64,
    /// Most bytes the table's slots and index took at once (summed over
    /// workers); reassembly buffers are accounted apart (`StreamMem`).
    pub memuse_peak: u64,
}

impl FlowCounters {
    pub fn merge(&mut self, o: &FlowCounters) {
        self.total += o.total;
        self.tcp += o.tcp;
        self.udp += o.udp;
        self.icmpv4 += o.icmpv4;
        self.icmpv6 += o.icmpv6;
        self.timed_out += o.timed_out;
        self.evicted += o.evicted;
        self.reused += o.reused;
        self.memcap += o.memcap;
        self.active_peak += o.active_peak;
        self.memuse_peak += o.memuse_peak;
    }
}

/// The [`FlowSlot`] accessors of a slot type with `key`, `in_use`,
/// `start_ns` and `last_ns` fields.
macro_rules! slot_fields {
    () => {
        fn key(&self) -> &FlowKey {
            &self.key
        }
        fn in_use(&self) -> bool {
            self.in_use
        }
        fn set_unused(&mut self) {
            self.in_use = false;
        }
        fn start_ns(&self) -> u64 {
            self.start_ns
        }
        fn last_ns(&self) -> u64 {
            self.last_ns
        }
    };
}

/// The timeouts of an IP protocol's flows.
fn proto_timeouts(cfg: &FlowConfig, proto: u8) -> &Timeouts {
    match proto {
        6 => &cfg.tcp,
        17 => &cfg.udp,
        1 | 58 => &cfg.icmp,
        _ => &cfg.other,
    }
}

/// What a [`FlowTable`] keeps per flow: the full [`Flow`] of a worker, or
/// the light [`TunnelFlow`] of an outer tunnel flow.
pub trait FlowSlot: Clone {
    /// An unused slot.
    fn empty() -> Self;
    /// Reset this slot for a new flow whose first packet is `p`.
    fn init(&mut self, key: FlowKey, p: &Packet<'_>, ts_ns: u64);
    fn key(&self) -> &FlowKey;
    fn in_use(&self) -> bool;
    fn set_unused(&mut self);
    fn start_ns(&self) -> u64;
    fn last_ns(&self) -> u64;
    /// Seconds without packets after which this flow is over.
    fn timeout_secs(&self, cfg: &FlowConfig) -> u64;
    /// Established flows are evicted after half-open ones.
    fn is_established(&self) -> bool;
    /// A packet with TCP `flags` starts a new flow on this flow's key.
    fn reused_by(&self, flags: u8) -> bool;
    /// The copy logged when this flow ends; the slot itself keeps its
    /// buffers for the next flow.
    fn take_ended(&mut self) -> Self;
    /// Give held memory back: the slot is being freed.
    fn release(&mut self);
}

impl FlowSlot for Flow {
    fn empty() -> Flow {
        Flow::empty()
    }
    fn init(&mut self, key: FlowKey, p: &Packet<'_>, ts_ns: u64) {
        Flow::init(self, key, p, ts_ns);
    }
    slot_fields!();
    fn timeout_secs(&self, cfg: &FlowConfig) -> u64 {
        Flow::timeout_secs(self, cfg)
    }
    fn is_established(&self) -> bool {
        Flow::is_established(self)
    }
    fn reused_by(&self, flags: u8) -> bool {
        self.proto == 6 && self.tcp_state == TcpState::Closed && flags & (TH_SYN | TH_ACK | TH_RST) == TH_SYN
    }
    fn take_ended(&mut self) -> Flow {
        // The app layer and flowbits move to the ended flow rather than
        // being copied: the slot starts over (or is freed) next.
        let app = std::mem::take(&mut self.app);
        let vars = std::mem::take(&mut self.vars);
        let mut old = self.clone();
        old.app = app;
        old.vars = vars;
        // Data held after a hole goes with the ended flow, to be inspected
        // when it is logged.
        old.stream[0] = self.stream[0].detach();
        old.stream[1] = self.stream[1].detach();
        old
    }
    fn release(&mut self) {
        self.stream[0].release();
        self.stream[1].release();
    }
}

/// An outer tunnel flow (the UDP flow of a VXLAN or GENEVE mirror
/// session): endpoints, times and counters only, a tenth of a [`Flow`].
/// The reader tracks one per outer 5-tuple, and sweeps them every second
/// of packet time, so their size is what the sweep costs.
#[derive(Clone, Debug)]
pub struct TunnelFlow {
    pub key: FlowKey,
    pub flow_id: u64,
    pub proto: u8,
    pub client_ip: IpAddr,
    pub client_port: u16,
    pub server_ip: IpAddr,
    pub server_port: u16,
    pub start_ns: u64,
    pub last_ns: u64,
    pub pkts_ts: u64,
    pub pkts_tc: u64,
    pub bytes_ts: u64,
    pub bytes_tc: u64,
    in_use: bool,
}

impl TunnelFlow {
    /// Count a packet.
    pub fn update(&mut self, to_server: bool, ts_ns: u64, wire_len: u64) {
        self.last_ns = self.last_ns.max(ts_ns);
        if to_server {
            self.pkts_ts += 1;
            self.bytes_ts += wire_len;
        } else {
            self.pkts_tc += 1;
            self.bytes_tc += wire_len;
        }
    }

    /// Whether a packet from `ip`:`port` goes client → server.
    pub fn is_from_client(&self, ip: IpAddr, port: u16) -> bool {
        ip == self.client_ip && port == self.client_port
    }

    /// The flow as a [`Flow`], for its flow record.
    pub fn to_flow(&self) -> Flow {
        Flow {
            key: self.key,
            flow_id: self.flow_id,
            proto: self.proto,
            client_ip: self.client_ip,
            client_port: self.client_port,
            server_ip: self.server_ip,
            server_port: self.server_port,
            start_ns: self.start_ns,
            last_ns: self.last_ns,
            pkts_ts: self.pkts_ts,
            pkts_tc: self.pkts_tc,
            bytes_ts: self.bytes_ts,
            bytes_tc: self.bytes_tc,
            ..Flow::empty()
        }
    }
}

impl FlowSlot for TunnelFlow {
    fn empty() -> TunnelFlow {
        let unspecified = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        TunnelFlow {
            key: FlowKey::default(),
            flow_id: 0,
            proto: 0,
            client_ip: unspecified,
            client_port: 0,
            server_ip: unspecified,
            server_port: 0,
            start_ns: 0,
            last_ns: 0,
            pkts_ts: 0,
            pkts_tc: 0,
            bytes_ts: 0,
            bytes_tc: 0,
            in_use: false,
        }
    }
    fn init(&mut self, key: FlowKey, p: &Packet<'_>, ts_ns: u64) {
        *self = TunnelFlow {
            key,
            flow_id: make_flow_id(&key, ts_ns),
            proto: p.ip_proto,
            client_ip: p.src,
            client_port: p.sport,
            server_ip: p.dst,
            server_port: p.dport,
            start_ns: ts_ns,
            last_ns: ts_ns,
            in_use: true,
            ..TunnelFlow::empty()
        };
    }
    slot_fields!();
    fn timeout_secs(&self, cfg: &FlowConfig) -> u64 {
        let t = proto_timeouts(cfg, self.proto);
        if self.is_established() {
            t.established
        } else {
            t.new
        }
    }
    fn is_established(&self) -> bool {
        self.pkts_ts > 0 && self.pkts_tc > 0
    }
    fn reused_by(&self, _flags: u8) -> bool {
        false
    }
    fn take_ended(&mut self) -> TunnelFlow {
        self.clone()
    }
    fn release(&mut self) {}
}

/// One worker's flows (or the reader's outer tunnel flows).
pub struct FlowTable<S: FlowSlot = Flow> {
    map: FlowMap<u32>,
    slots: Vec<S>,
    /// Per slot, the packet time up to which a sweep can pass it by: its
    /// flow's timeout as last computed, 0 once the flow was handed out
    /// for a change (its deadline may have moved either way), `u64::MAX`
    /// when the slot is free. A sweep reads this compact array and visits
    /// only the slots it names as due.
    due: Vec<u64>,
    free: Vec<u32>,
    capacity: usize,
    cfg: FlowConfig,
    pub counters: FlowCounters,
    /// A flow that just ended, waiting for the caller to log it.
    pub ended: Option<(S, EndReason)>,
    last_sweep_ns: u64,
    /// Where the next eviction scan starts.
    evict_cursor: usize,
    /// The flow of the previous lookup: mirrored traffic comes in bursts
    /// (two thirds of consecutive frames share a flow in the generated
    /// workload), and a hit skips the hash and the index probe. Cleared
    /// when its slot is freed.
    recent: Option<(FlowKey, u32)>,
}

/// Slots an eviction looks at: a full table under a flood of new flows
/// evicts on every packet, so the scan is bounded (approximate LRU).
const EVICT_SCAN: usize = 64;

impl<S: FlowSlot> FlowTable<S> {
    pub fn new(cfg: &FlowConfig, capacity: usize) -> FlowTable<S> {
        let capacity = capacity.max(1);
        let initial = capacity.min(4096);
        let mut map = FlowMap::default();
        map.reserve(initial);
        FlowTable {
            map,
            slots: Vec::with_capacity(initial),
            due: Vec::with_capacity(initial),
            free: Vec::with_capacity(initial),
            capacity,
            cfg: cfg.clone(),
            counters: FlowCounters::default(),
            ended: None,
            last_sweep_ns: 0,
            evict_cursor: 0,
            recent: None,
        }
    }

    /// Bytes held by the slots and the index (not the reassembly buffers).
    pub fn memuse(&self) -> u64 {
        let slot = std::mem::size_of::<S>() + std::mem::size_of::<u32>() + std::mem::size_of::<u64>();
        let entry = std::mem::size_of::<(FlowKey, u32)>() + 1;
        (self.slots.capacity() * slot + self.map.capacity() * entry) as u64
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The flow at `idx`, an index [`FlowTable::lookup`] returned.
    // Indexes come only from this table's lookup and slots are never
    // removed from the slab (only marked free), so `idx` is in bounds.
    #[allow(clippy::indexing_slicing)]
    pub fn get(&self, idx: u32) -> &S {
        &self.slots[idx as usize]
    }

    /// The flow at `idx`, an index [`FlowTable::lookup`] returned.
    // As `get`: an index from lookup is always in bounds.
    #[allow(clippy::indexing_slicing)]
    pub fn get_mut(&mut self, idx: u32) -> &mut S {
        self.due[idx as usize] = 0;
        &mut self.slots[idx as usize]
    }

    /// Find or create the flow for `p`. Returns None when the table is
    /// full and nothing could be evicted (counted in `counters.memcap`).
    /// When an old flow ends on the way (timeout, port reuse, eviction),
    /// it is left in `self.ended` for the caller to log.
    pub fn lookup(&mut self, p: &Packet<'_>, ts_ns: u64) -> Option<u32> {
        let key = FlowKey::from_packet(p);
        let known = match self.recent {
            Some((k, idx)) if k == key => Some(idx),
            _ => self.map.get(&key).copied(),
        };
        if let Some(idx) = known {
            self.recent = Some((key, idx));
            if let Some(d) = self.due.get_mut(idx as usize) {
                *d = 0;
            }
            // The index and the slab agree; a miss would be a bug, and
            // the packet then goes without a flow.
            let f = self.slots.get_mut(idx as usize)?;
            let timeout_ns = f.timeout_secs(&self.cfg).saturating_mul(1_000_000_000);
            let flags = p.tcp.map(|t| t.flags).unwrap_or(0);
            let last = f.last_ns();
            let stale = ts_ns > last.saturating_add(timeout_ns) && last > 0;
            let reused = f.reused_by(flags);
            if !stale && !reused {
                return Some(idx);
            }
            let old = f.take_ended();
            f.init(key, p, ts_ns);
            let reason = if stale {
                self.counters.timed_out += 1;
                EndReason::Timeout
            } else {
                self.counters.reused += 1;
                EndReason::Reused
            };
            self.ended = Some((old, reason));
            self.count_new(p.ip_proto);
            return Some(idx);
        }
        if self.map.len() >= self.capacity && !self.evict_one(ts_ns) {
            self.counters.memcap += 1;
            return None;
        }
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                let len = self.slots.len();
                if len == self.slots.capacity() {
                    // Grow by doubling, never past the configured capacity.
                    let more = len.max(16).min(self.capacity.saturating_sub(len).max(1));
                    self.slots.reserve_exact(more);
                    self.due.reserve_exact(more);
                }
                self.slots.push(S::empty());
                self.due.push(0);
                (self.slots.len() - 1) as u32
            }
        };
        self.slots.get_mut(idx as usize)?.init(key, p, ts_ns);
        if let Some(d) = self.due.get_mut(idx as usize) {
            *d = 0;
        }
        self.map.insert(key, idx);
        self.recent = Some((key, idx));
        self.count_new(p.ip_proto);
        let active = self.map.len() as u64;
        if active > self.counters.active_peak {
            self.counters.active_peak = active;
            self.counters.memuse_peak = self.counters.memuse_peak.max(self.memuse());
        }
        Some(idx)
    }

    fn count_new(&mut self, proto: u8) {
        self.counters.total += 1;
        match proto {
            6 => self.counters.tcp += 1,
            17 => self.counters.udp += 1,
            1 => self.counters.icmpv4 += 1,
            58 => self.counters.icmpv6 += 1,
            _ => {}
        }
    }

    /// Make room for one flow when the table is full. Of up to
    /// [`EVICT_SCAN`] flows from a rotating cursor, a flow that never
    /// completed its handshake goes before an established one (a SYN flood
    /// evicts its own flows first), then the least recently seen.
    fn evict_one(&mut self, _now_ns: u64) -> bool {
        let n = self.slots.len();
        if n == 0 {
            return false;
        }
        let mut best: Option<((bool, u64), u32)> = None;
        let mut seen = 0;
        let start = self.evict_cursor % n;
        for step in 0..n {
            let i = (start + step) % n;
            let Some(f) = self.slots.get(i) else { break };
            if !f.in_use() {
                continue;
            }
            let rank = (f.is_established(), f.last_ns());
            if best.is_none_or(|(r, _)| rank < r) {
                best = Some((rank, i as u32));
            }
            seen += 1;
            if seen == EVICT_SCAN {
                self.evict_cursor = i + 1;
                break;
            }
        }
        let Some(old) = best.and_then(|(_, idx)| self.remove(idx)) else {
            return false;
        };
        self.counters.evicted += 1;
        self.ended = Some((old, EndReason::Evicted));
        true
    }

    fn remove(&mut self, idx: u32) -> Option<S> {
        let f = self.slots.get_mut(idx as usize)?;
        if let Some(d) = self.due.get_mut(idx as usize) {
            *d = u64::MAX;
        }
        f.set_unused();
        let key = *f.key();
        let old = f.take_ended();
        f.release();
        self.map.remove(&key);
        self.free.push(idx);
        if self.recent.is_some_and(|(_, i)| i == idx) {
            self.recent = None;
        }
        Some(old)
    }

    /// End every flow idle longer than its timeout at packet time `now_ns`,
    /// moving them to `ended`. Runs at most once per second of packet time.
    pub fn sweep(&mut self, now_ns: u64, ended: &mut Vec<(S, EndReason)>) {
        if now_ns < self.last_sweep_ns.saturating_add(1_000_000_000) {
            return;
        }
        self.last_sweep_ns = now_ns;
        for i in 0..self.due.len() {
            // Nothing changed a flow's deadline without handing it out
            // (which zeroes `due`), so one not yet due is not expired.
            if self.due.get(i).is_none_or(|&d| now_ns <= d) {
                continue;
            }
            let Some(f) = self.slots.get(i) else { break };
            if !f.in_use() {
                if let Some(d) = self.due.get_mut(i) {
                    *d = u64::MAX;
                }
                continue;
            }
            let t = f.timeout_secs(&self.cfg).saturating_mul(1_000_000_000);
            let deadline = f.last_ns().saturating_add(t);
            if now_ns > deadline {
                if let Some(old) = self.remove(i as u32) {
                    self.counters.timed_out += 1;
                    ended.push((old, EndReason::Timeout));
                }
            } else if let Some(d) = self.due.get_mut(i) {
                *d = deadline;
            }
        }
    }

    /// End every flow (end of input), oldest first, moving them to `ended`.
    pub fn drain(&mut self, ended: &mut Vec<(S, EndReason)>) {
        let mut live: Vec<(u64, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, f)| f.in_use())
            .map(|(i, f)| (f.start_ns(), i as u32))
            .collect();
        live.sort_unstable();
        for (_, i) in live {
            if let Some(old) = self.remove(i) {
                ended.push((old, EndReason::Shutdown));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::TcpInfo;
    use std::net::Ipv4Addr;

    fn syn(n: u32) -> Packet<'static> {
        Packet {
            src: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9)),
            ip_proto: 6,
            sport: 40000,
            dport: 80,
            tcp: Some(TcpInfo {
                seq: n,
                ack: 0,
                flags: TH_SYN,
                window: 1024,
            }),
            ..Packet::empty()
        }
    }

    proptest::proptest! {
        /// A sweep ends exactly the flows past their timeout, however
        /// packets (which move a flow's deadline later, or earlier when
        /// its state changes: FIN, RST) and sweeps interleave, though it
        /// looks only at the slots handed out since it last looked.
        #[test]
        fn sweep_ends_exactly_the_expired_flows(
            ops in proptest::collection::vec((0u32..24, 0usize..5, 0u64..90), 1..300),
        ) {
            let flags = [TH_SYN, TH_SYN | TH_ACK, TH_ACK, TH_FIN | TH_ACK, TH_RST];
            let mut t = FlowTable::<Flow>::new(&FlowConfig::default(), 16);
            let mut now = 1u64;
            let mut ended = Vec::new();
            for (n, kind, dt) in ops {
                now += dt * 1_000_000_000;
                if dt >= 60 {
                    t.sweep(now, &mut ended);
                    for (f, r) in ended.drain(..) {
                        proptest::prop_assert_eq!(r, EndReason::Timeout);
                        let timeout = f.timeout_secs(&t.cfg) * 1_000_000_000;
                        proptest::prop_assert!(now > f.last_ns + timeout);
                    }
                    for f in t.slots.iter().filter(|f| f.in_use()) {
                        let timeout = f.timeout_secs(&t.cfg) * 1_000_000_000;
                        proptest::prop_assert!(now <= f.last_ns + timeout, "{} {}", now, f.last_ns);
                    }
                    continue;
                }
                let mut p = syn(n);
                let to_server = kind != 1;
                if !to_server {
                    std::mem::swap(&mut p.src, &mut p.dst);
                    std::mem::swap(&mut p.sport, &mut p.dport);
                }
                p.tcp = p.tcp.map(|tcp| TcpInfo { flags: flags[kind], ..tcp });
                if let Some(idx) = t.lookup(&p, now) {
                    let to_server = t.get(idx).is_to_server(&p);
                    t.get_mut(idx).update(&p, to_server, now, 60);
                }
                t.ended = None;
            }
        }
    }

    #[test]
    fn full_table_evicts_and_never_grows_past_its_capacity() {
        let mut t = FlowTable::<Flow>::new(&FlowConfig::default(), 100);
        for n in 0..10_000 {
            assert!(t.lookup(&syn(n), u64::from(n) * 1000).is_some());
            t.ended = None;
        }
        assert_eq!(t.len(), 100);
        assert!(t.slots.capacity() <= 100, "{}", t.slots.capacity());
        assert_eq!(t.counters.active_peak, 100);
        assert_eq!(t.counters.evicted, 10_000 - 100);
        assert_eq!(t.counters.total, 10_000);
        assert!(t.counters.memuse_peak >= 100 * std::mem::size_of::<Flow>() as u64);
        assert!(t.counters.memuse_peak <= t.memuse());
    }

    /// The key is the same from both directions, its lower endpoint the
    /// one whose address bytes (then port) sort first, for v4 and v6.
    #[test]
    fn keys_order_endpoints_by_address_bytes_then_port() {
        let pkt = |src: IpAddr, sport, dst: IpAddr, dport| Packet {
            src,
            dst,
            sport,
            dport,
            ip_proto: 6,
            ..Packet::empty()
        };
        let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
        let v6 = |s: &str| IpAddr::V6(s.parse().unwrap());
        let cases = [
            (v4(10, 0, 0, 2), 80, v4(10, 0, 0, 1), 40000),
            (v4(10, 0, 0, 1), 80, v4(10, 0, 0, 1), 79),
            (v4(200, 0, 0, 1), 1, v4(9, 255, 255, 255), 2),
            (v6("2001:db8::1"), 443, v4(10, 0, 0, 1), 5),
            (v6("fe80::1"), 1, v6("fe80::1:0"), 1),
        ];
        let bytes = |ip: &IpAddr| match ip {
            IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            IpAddr::V6(a) => a.octets(),
        };
        for (a, ap, b, bp) in cases {
            let k = FlowKey::from_packet(&pkt(a, ap, b, bp));
            assert_eq!(k, FlowKey::from_packet(&pkt(b, bp, a, ap)));
            let (x, y) = ((bytes(&a), ap), (bytes(&b), bp));
            let lo = if x <= y { x } else { y };
            assert_eq!((k.lo_ip, k.lo_port), lo, "{a}:{ap} {b}:{bp}");
            // The hash is the one flow ids and worker placement have
            // always used: the key's fields fed byte-wise, in 8-byte words.
            let mut h = 0u64;
            let mut word = |w: u64| h = (h.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
            for ip in [k.lo_ip, k.hi_ip] {
                word(16);
                for c in ip.chunks(8) {
                    word(c.iter().rev().fold(0, |acc, &b| acc << 8 | u64::from(b)));
                }
            }
            for v in [k.lo_port.into(), k.hi_port.into(), k.proto.into(), k.vlan.into()] {
                word(v);
            }
            let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            assert_eq!(k.hash64(), z ^ (z >> 31));
        }
    }

    /// The previous lookup's flow answers a repeat without the index, and
    /// is forgotten when its slot is freed.
    #[test]
    fn the_recent_flow_is_forgotten_when_its_slot_is_freed() {
        let mut t = FlowTable::<Flow>::new(&FlowConfig::default(), 8);
        let a = t.lookup(&syn(1), 1_000_000_000).unwrap();
        assert_eq!(t.lookup(&syn(1), 2_000_000_000), Some(a));
        assert_eq!(t.recent.map(|r| r.1), Some(a));
        // The flow times out in a sweep, with no lookup in between.
        let mut ended = Vec::new();
        t.sweep(1_000_000_000_000, &mut ended);
        assert_eq!(ended.len(), 1);
        assert_eq!(t.len(), 0);
        // It comes back as a new flow in the index, not as the freed slot.
        let again = t.lookup(&syn(1), 1_000_000_000_001).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t.counters.total, 2);
        assert!(t.get(again).in_use);
        assert_eq!(t.get(again).start_ns, 1_000_000_000_001);
    }

    #[test]
    fn a_syn_flood_evicts_half_open_flows_before_established_ones() {
        let mut t = FlowTable::<Flow>::new(&FlowConfig::default(), 64);
        let real = t.lookup(&syn(1_000_000), 0).unwrap();
        t.get_mut(real).tcp_state = TcpState::Established;
        for n in 0..5_000 {
            assert!(t.lookup(&syn(n), 1_000 + u64::from(n)).is_some());
            if let Some((f, _)) = t.ended.take() {
                assert_ne!(
                    f.client_ip,
                    syn(1_000_000).src,
                    "the established flow was evicted"
                );
            }
        }
        assert!(t.map.contains_key(&FlowKey::from_packet(&syn(1_000_000))));
    }

    #[test]
    fn eviction_looks_at_a_bounded_number_of_flows() {
        // Every slot is established and equally old but one: the scan
        // finds the half-open one only if it is within EVICT_SCAN of the
        // cursor, yet always evicts something.
        let mut t = FlowTable::<Flow>::new(&FlowConfig::default(), 1000);
        for n in 0..1000 {
            let i = t.lookup(&syn(n), 5).unwrap();
            t.get_mut(i).tcp_state = TcpState::Established;
        }
        for n in 1000..3000 {
            assert!(t.lookup(&syn(n), 10).is_some());
            assert!(matches!(t.ended.take(), Some((_, EndReason::Evicted))));
        }
        assert_eq!(t.len(), 1000);
    }

    /// A light outer-flow table ends the same flows, at the same times,
    /// with the same counts as a full one fed the same packets.
    #[test]
    fn tunnel_flows_end_like_full_flows() {
        let cfg = FlowConfig::default();
        let mut full = FlowTable::<Flow>::new(&cfg, 16);
        let mut light = FlowTable::<TunnelFlow>::new(&cfg, 16);
        let mut ends: [Vec<Flow>; 2] = [Vec::new(), Vec::new()];
        let udp = |n: u32, back: bool| {
            let (a, b) = (
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)),
            );
            let sport = 50_000 + (n % 40) as u16;
            let (src, dst, sport, dport) = if back {
                (b, a, 4789, sport)
            } else {
                (a, b, sport, 4789)
            };
            Packet {
                src,
                dst,
                sport,
                dport,
                ip_proto: 17,
                ..Packet::empty()
            }
        };
        // 40 outer flows (more than the 16 slots), some answered, some
        // idle long enough to time out, over 20 minutes of packet time.
        for n in 0..4_000u32 {
            let ts = u64::from(n) * 300_000_000;
            let p = udp(n * 7 % 40 + n / 1_000, n % 5 == 0);
            let mut swept = Vec::new();
            full.sweep(ts, &mut swept);
            ends[0].extend(swept.into_iter().map(|(f, _)| f));
            let mut swept = Vec::new();
            light.sweep(ts, &mut swept);
            ends[1].extend(swept.into_iter().map(|(f, _)| f.to_flow()));
            let (i, j) = (full.lookup(&p, ts).unwrap(), light.lookup(&p, ts).unwrap());
            ends[0].extend(full.ended.take().map(|(f, _)| f));
            ends[1].extend(light.ended.take().map(|(f, _)| f.to_flow()));
            let f = full.get_mut(i);
            let to_server = f.is_to_server(&p);
            f.update(&p, to_server, ts, 100);
            let g = light.get_mut(j);
            let to_server = g.is_from_client(p.src, p.sport);
            g.update(to_server, ts, 100);
        }
        let mut rest = Vec::new();
        full.drain(&mut rest);
        ends[0].extend(rest.into_iter().map(|(f, _)| f));
        let mut rest = Vec::new();
        light.drain(&mut rest);
        ends[1].extend(rest.into_iter().map(|(f, _)| f.to_flow()));
        let view = |f: &Flow| {
            (
                f.flow_id,
                (f.client_ip, f.client_port, f.server_ip, f.server_port),
                (
                    f.start_ns, f.last_ns, f.pkts_ts, f.pkts_tc, f.bytes_ts, f.bytes_tc,
                ),
                f.state(),
            )
        };
        let [a, b] = ends;
        assert!(a.len() > 40, "flows ended: {}", a.len());
        assert_eq!(
            a.iter().map(view).collect::<Vec<_>>(),
            b.iter().map(view).collect::<Vec<_>>()
        );
        assert_eq!(full.counters.timed_out, light.counters.timed_out);
        assert_eq!(full.counters.evicted, light.counters.evicted);
        let sizes = (std::mem::size_of::<TunnelFlow>(), std::mem::size_of::<Flow>());
        assert!(sizes.0 * 5 < sizes.1, "{sizes:?}");
        assert!(light.memuse() < full.memuse());
    }
}
