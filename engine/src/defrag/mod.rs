//! IPv4 and IPv6 defragmentation.
//!
//! Fragments are keyed on (source, destination, protocol, identification,
//! IP version, mirror VNI). Each datagram being rebuilt holds its payload in
//! one buffer indexed by fragment offset; overlapping fragments with
//! different bytes are resolved by the same [`OverlapPolicy`] names as TCP
//! streams (a later fragment replaces bytes when the policy says so against
//! the fragment that first supplied them) and counted. When the last byte
//! arrives the datagram is written out as one IP packet (header of the
//! first fragment, lengths and checksum fixed, IPv6 fragment header
//! removed) for the caller to decode again as [`crate::decode::LinkType::Raw`].
//!
//! Bounded: at most `max_trackers` datagrams in progress, `max_frags`
//! fragments each, `memcap` bytes of buffers together; datagrams older than
//! `timeout_secs` of packet time are dropped. Running out is a counter.
//!
//! The replay reader runs this, because it sees every frame: only the first
//! fragment carries ports, so fragments of one datagram cannot be sent to
//! the worker of their flow before they are put together.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

#[cfg(test)]
mod tests;

use crate::decode::Packet;
use crate::flow::FlowHasher;
// Fragment places ([`Piece`]) and their merge are shared with stream reassembly.
use crate::stream::overlap::{self, Piece};
use crate::stream::OverlapPolicy;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::net::IpAddr;

/// Defragmentation settings (Suricata's `defrag.*`).
#[derive(Clone, Debug)]
pub struct DefragConfig {
    pub enabled: bool,
    /// Bytes of fragment buffers held at once.
    pub memcap: usize,
    /// Datagrams being reassembled at once.
    pub max_trackers: usize,
    /// Fragments kept per datagram.
    pub max_frags: usize,
    /// Seconds of packet time a datagram may take to complete.
    pub timeout_secs: u64,
    pub policy: OverlapPolicy,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            enabled: true,
            memcap: 32 << 20,
            max_trackers: 65_535,
            max_frags: 256,
            timeout_secs: 60,
            policy: OverlapPolicy::Bsd,
        }
    }
}

/// Counters, as EVE `stats.defrag` and `decoder.event.ipv*.frag_*`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DefragStats {
    pub ipv4_fragments: u64,
    pub ipv4_reassembled: u64,
    pub ipv4_timeouts: u64,
    pub ipv6_fragments: u64,
    pub ipv6_reassembled: u64,
    pub ipv6_timeouts: u64,
    pub max_frags_reached: u64,
    pub max_trackers_reached: u64,
    /// Fragments refused because the memcap was reached.
    pub memcap_drops: u64,
    pub ipv4_overlap: u64,
    pub ipv6_overlap: u64,
    /// Fragments that would make a datagram longer than 65535 bytes.
    pub too_large: u64,
    /// Fragments that could not be used (cut short, bad header, conflicting end).
    pub invalid: u64,
    /// Most buffer bytes held at once.
    pub memuse_peak: u64,
}

impl DefragStats {
    pub fn merge(&mut self, o: &DefragStats) {
        self.ipv4_fragments += o.ipv4_fragments;
        self.ipv4_reassembled += o.ipv4_reassembled;
        self.ipv4_timeouts += o.ipv4_timeouts;
        self.ipv6_fragments += o.ipv6_fragments;
        self.ipv6_reassembled += o.ipv6_reassembled;
        self.ipv6_timeouts += o.ipv6_timeouts;
        self.max_frags_reached += o.max_frags_reached;
        self.max_trackers_reached += o.max_trackers_reached;
        self.memcap_drops += o.memcap_drops;
        self.ipv4_overlap += o.ipv4_overlap;
        self.ipv6_overlap += o.ipv6_overlap;
        self.too_large += o.too_large;
        self.invalid += o.invalid;
        self.memuse_peak = self.memuse_peak.max(o.memuse_peak);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FragKey {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
    vni: u32,
}

#[derive(Debug)]
struct Tracker {
    v6: bool,
    first_ns: u64,
    /// IP header (IPv4) or unfragmentable part (IPv6) of the first fragment.
    header: Vec<u8>,
    /// IPv6: where the next-header byte to patch is in `header`.
    nh_pos: usize,
    /// Protocol after the fragment header (IPv6).
    next_header: u8,
    data: Vec<u8>,
    pieces: Vec<Piece>,
    /// Payload length, once the last fragment (MF clear) was seen.
    total: Option<u32>,
    charged: usize,
    fragments: usize,
}

/// A fragment's header facts, read from the IP bytes.
struct FragInfo<'a> {
    v6: bool,
    offset: u32,
    more: bool,
    id: u32,
    proto: u8,
    /// IPv4 header / IPv6 unfragmentable part.
    header: &'a [u8],
    nh_pos: usize,
    payload: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Reads the fragment fields; None if the packet is not a usable fragment
/// (not a fragment, or cut short: a partial fragment cannot be placed).
fn parse(ip: &[u8]) -> Option<FragInfo<'_>> {
    let ver = ip.first()? >> 4;
    match ver {
        4 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(be16(ip, 2)?);
            if ihl < 20 || total < ihl || ip.len() < total {
                return None;
            }
            let id = u32::from(be16(ip, 4)?);
            let fo = be16(ip, 6)?;
            Some(FragInfo {
                v6: false,
                offset: u32::from(fo & 0x1fff) * 8,
                more: fo & 0x2000 != 0,
                id,
                proto: *ip.get(9)?,
                header: ip.get(..ihl)?,
                nh_pos: 0,
                payload: ip.get(ihl..total)?,
            })
        }
        6 => {
            let end = 40 + usize::from(be16(ip, 4)?);
            if ip.len() < end {
                return None;
            }
            let mut nh = *ip.get(6)?;
            let mut nh_pos = 6;
            let mut off = 40;
            // At most a handful of extension headers precede the fragment header.
            for _ in 0..8 {
                match nh {
                    44 => {
                        let field = be16(ip, off + 2)?;
                        return Some(FragInfo {
                            v6: true,
                            offset: u32::from(field & 0xfff8),
                            more: field & 1 != 0,
                            id: be32(ip, off + 4)?,
                            proto: *ip.get(off)?,
                            header: ip.get(..off)?,
                            nh_pos,
                            payload: ip.get(off + 8..end)?,
                        });
                    }
                    0 | 43 | 60 => {
                        let len = (usize::from(*ip.get(off + 1)?) + 1) * 8;
                        nh_pos = off;
                        nh = *ip.get(off)?;
                        off += len;
                    }
                    51 => {
                        let len = (usize::from(*ip.get(off + 1)?) + 2) * 4;
                        nh_pos = off;
                        nh = *ip.get(off)?;
                        off += len;
                    }
                    _ => return None,
                }
            }
            None
        }
        _ => None,
    }
}

/// The reassembler (one per reader).
pub struct Defrag {
    cfg: DefragConfig,
    map: HashMap<FragKey, Tracker, BuildHasherDefault<FlowHasher>>,
    mem: usize,
    last_sweep_ns: u64,
    out: Vec<u8>,
    pub stats: DefragStats,
}

impl Defrag {
    pub fn new(cfg: &DefragConfig) -> Defrag {
        Defrag {
            cfg: cfg.clone(),
            map: HashMap::default(),
            mem: 0,
            last_sweep_ns: 0,
            out: Vec::with_capacity(65_536 + 64),
            stats: DefragStats::default(),
        }
    }

    /// Bytes of fragment buffers held now.
    pub fn memuse(&self) -> usize {
        self.mem
    }

    /// Datagrams in progress.
    pub fn trackers(&self) -> usize {
        self.map.len()
    }

    /// The datagram the last [`Defrag::insert`] that returned one completed.
    pub fn last_datagram(&self) -> &[u8] {
        &self.out
    }

    /// Take a fragment (`p.is_fragment`). When it completes its datagram,
    /// returns the whole IP packet.
    pub fn insert(&mut self, p: &Packet<'_>, now_ns: u64) -> Option<&[u8]> {
        self.sweep(now_ns);
        let Some(f) = parse(p.ip) else {
            self.stats.invalid += 1;
            return None;
        };
        if f.v6 {
            self.stats.ipv6_fragments += 1;
        } else {
            self.stats.ipv4_fragments += 1;
        }
        let key = FragKey {
            src: p.src,
            dst: p.dst,
            id: f.id,
            proto: if f.v6 { 0 } else { f.proto },
            vni: p.outermost_tunnel().map_or(0, |t| t.vni),
        };
        let len = f.payload.len() as u32;
        let end = f.offset + len;
        let head_len = if f.v6 {
            f.header.len().saturating_sub(40)
        } else {
            f.header.len()
        };
        if end as usize + head_len > 65_535 {
            self.stats.too_large += 1;
            return None;
        }
        if !self.map.contains_key(&key) {
            if self.map.len() >= self.cfg.max_trackers {
                self.stats.max_trackers_reached += 1;
                return None;
            }
            self.map.insert(
                key,
                Tracker {
                    v6: f.v6,
                    first_ns: now_ns,
                    header: Vec::new(),
                    nh_pos: 0,
                    next_header: 0,
                    data: Vec::new(),
                    pieces: Vec::new(),
                    total: None,
                    charged: 0,
                    fragments: 0,
                },
            );
        }
        let t = self.map.get_mut(&key)?;
        if t.v6 != f.v6 {
            self.stats.invalid += 1;
            return None;
        }
        if t.fragments >= self.cfg.max_frags {
            self.stats.max_frags_reached += 1;
            return None;
        }
        if !f.more {
            match t.total {
                Some(total) if total != end => {
                    self.stats.invalid += 1;
                    return None;
                }
                _ => t.total = Some(end),
            }
        }
        if t.total.is_some_and(|total| end > total) {
            self.stats.invalid += 1;
            return None;
        }
        // Grow the buffer within the memcap.
        let need = end as usize;
        if t.data.len() < need {
            let grow = need - t.data.len();
            if self.mem + grow > self.cfg.memcap {
                self.stats.memcap_drops += 1;
                return None;
            }
            self.mem += grow;
            t.charged += grow;
            t.data.resize(need, 0);
            self.stats.memuse_peak = self.stats.memuse_peak.max(self.mem as u64);
        }
        t.fragments += 1;
        if f.offset == 0 && t.header.is_empty() {
            t.header.extend_from_slice(f.header);
            t.nh_pos = f.nh_pos;
            t.next_header = f.proto;
        }
        if place(t, f.offset, f.payload, self.cfg.policy) {
            if f.v6 {
                self.stats.ipv6_overlap += 1;
            } else {
                self.stats.ipv4_overlap += 1;
            }
        }
        let total = t.total?;
        if t.header.is_empty() || !covers(&t.pieces, total) {
            return None;
        }
        let t = self.map.remove(&key)?;
        self.mem -= t.charged;
        if t.v6 {
            self.stats.ipv6_reassembled += 1;
        } else {
            self.stats.ipv4_reassembled += 1;
        }
        build(&t, total, &mut self.out)?;
        Some(&self.out)
    }

    /// Drop datagrams that did not complete in time (once per second of
    /// packet time).
    fn sweep(&mut self, now_ns: u64) {
        if now_ns < self.last_sweep_ns.saturating_add(1_000_000_000) {
            return;
        }
        self.last_sweep_ns = now_ns;
        let limit = self.cfg.timeout_secs.saturating_mul(1_000_000_000);
        let stats = &mut self.stats;
        let mem = &mut self.mem;
        self.map.retain(|_, t| {
            let keep = now_ns <= t.first_ns.saturating_add(limit);
            if !keep {
                *mem -= t.charged;
                if t.v6 {
                    stats.ipv6_timeouts += 1;
                } else {
                    stats.ipv4_timeouts += 1;
                }
            }
            keep
        });
    }
}

/// Copy `payload` at `offset` into the tracker, resolving overlaps with
/// `policy`. Returns whether it overlapped bytes already held (counted as
/// `frag_overlap` whether or not the bytes differ, as Suricata does).
fn place(t: &mut Tracker, offset: u32, payload: &[u8], policy: OverlapPolicy) -> bool {
    let start = u64::from(offset);
    let own = (start, start + payload.len() as u64);
    let placed = overlap::place(&mut t.pieces, &mut t.data, 0, start, payload, own, |n, o| {
        policy.new_wins(n.0, n.1, o.0, o.1)
    });
    placed.overlapped
}

/// The pieces cover `[0, total)` without a hole.
fn covers(pieces: &[Piece], total: u32) -> bool {
    let total = u64::from(total);
    let mut at = 0;
    for p in pieces {
        if p.start > at {
            return false;
        }
        at = at.max(p.end);
    }
    at >= total
}

/// Write the whole datagram into `out`.
fn build(t: &Tracker, total: u32, out: &mut Vec<u8>) -> Option<()> {
    out.clear();
    out.extend_from_slice(&t.header);
    out.extend_from_slice(t.data.get(..total as usize)?);
    if t.v6 {
        let plen = u16::try_from(out.len().checked_sub(40)?).ok()?;
        out.get_mut(4..6)?.copy_from_slice(&plen.to_be_bytes());
        *out.get_mut(t.nh_pos)? = t.next_header;
    } else {
        let len = u16::try_from(out.len()).ok()?;
        out.get_mut(2..4)?.copy_from_slice(&len.to_be_bytes());
        out.get_mut(6..8)?.copy_from_slice(&[0, 0]);
        out.get_mut(10..12)?.copy_from_slice(&[0, 0]);
        let sum = ipv4_checksum(out.get(..t.header.len())?);
        out.get_mut(10..12)?.copy_from_slice(&sum.to_be_bytes());
    }
    Some(())
}

fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in h.chunks(2) {
        let w = u16::from_be_bytes([c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)]);
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
