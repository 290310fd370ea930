//! Duplicate suppression for traffic mirrored at both ends.
//!
//! When both ENIs of a connection are mirrored, every packet between them
//! arrives twice: once from each end's mirror session (two VNIs). A TCP
//! segment seen again with the same inner 5-tuple, sequence number, length
//! and IP id within `window_ms` of packet time, but from another VNI, is that
//! second copy: it is counted and not inspected. Copies from the same VNI are
//! real retransmissions and go on to the stream engine.
//!
//! A fixed table of recent segments (no allocation after start, no locks),
//! indexed by a hash of the key; a collision only forgets an older entry.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::decode::Packet;
use crate::flow::FlowHasher;
use std::hash::{Hash, Hasher};

/// `mirror.dedup` settings.
#[derive(Clone, Debug)]
pub struct DedupConfig {
    pub enabled: bool,
    /// How long (packet time) a copy from another VNI counts as the same packet.
    pub window_ms: u64,
    /// Recent segments remembered.
    pub slots: usize,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            enabled: false,
            window_ms: 100,
            slots: 1 << 16,
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Slot {
    hash: u64,
    vni: u32,
    ts_ns: u64,
}

/// The table of recent segments.
pub struct Dedup {
    slots: Vec<Slot>,
    window_ns: u64,
    /// Copies dropped.
    pub dropped: u64,
}

impl Dedup {
    pub fn new(cfg: &DedupConfig) -> Dedup {
        Dedup {
            slots: vec![Slot::default(); cfg.slots.clamp(1, 1 << 24)],
            window_ns: cfg.window_ms.saturating_mul(1_000_000),
            dropped: 0,
        }
    }

    /// True if `p` is another mirror session's copy of a segment seen within
    /// the window (and should be ignored).
    pub fn is_duplicate(&mut self, p: &Packet<'_>, ts_ns: u64) -> bool {
        let (Some(tcp), Some(t)) = (p.tcp, p.outermost_tunnel()) else {
            return false;
        };
        let mut h = FlowHasher::default();
        (p.src, p.dst, p.sport, p.dport, p.ip_proto).hash(&mut h);
        tcp.seq.hash(&mut h);
        tcp.flags.hash(&mut h);
        (p.payload.len() as u64 + u64::from(p.payload_missing)).hash(&mut h);
        p.ip_id.hash(&mut h);
        let hash = h.finish();
        let n = self.slots.len() as u64;
        let Some(slot) = self.slots.get_mut((hash % n) as usize) else {
            return false;
        };
        let within = ts_ns.abs_diff(slot.ts_ns) <= self.window_ns;
        if slot.hash == hash && slot.vni != t.vni && within {
            self.dropped += 1;
            // Forget it: a third copy is not a duplicate of the second.
            *slot = Slot::default();
            return true;
        }
        *slot = Slot {
            hash,
            vni: t.vni,
            ts_ns,
        };
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Encap, TcpInfo, TunnelLayer, MAX_TUNNELS};
    use std::net::{IpAddr, Ipv4Addr};

    fn pkt(vni: u32, seq: u32, ip_id: u32) -> Packet<'static> {
        let a = IpAddr::V4(Ipv4Addr::new(10, 1, 0, 5));
        let b = IpAddr::V4(Ipv4Addr::new(10, 2, 0, 9));
        let mut tunnels = [None; MAX_TUNNELS];
        tunnels[0] = Some(TunnelLayer {
            encap: Encap::Vxlan,
            vni,
            outer_src: a,
            outer_dst: b,
            outer_sport: 1234,
            outer_dport: 4789,
        });
        Packet {
            tunnels,
            tunnel_count: 1,
            vlan: [0; 2],
            vlan_count: 0,
            src: a,
            dst: b,
            ip_proto: 6,
            ttl: 64,
            ip_id,
            is_fragment: false,
            sport: 40000,
            dport: 80,
            tcp: Some(TcpInfo {
                seq,
                ack: 0,
                flags: TcpInfo::ACK,
                window: 100,
            }),
            icmp: None,
            ip: &[],
            ip_len: 0,
            payload: b"data",
            truncated: false,
            payload_missing: 0,
            checksum_bad: false,
        }
    }

    #[test]
    fn copies_from_another_vni_within_the_window_are_dropped() {
        let mut d = Dedup::new(&DedupConfig {
            enabled: true,
            ..DedupConfig::default()
        });
        assert!(!d.is_duplicate(&pkt(1, 100, 7), 0));
        assert!(d.is_duplicate(&pkt(2, 100, 7), 1_000));
        // Same VNI again: a real retransmission.
        assert!(!d.is_duplicate(&pkt(1, 200, 8), 2_000));
        assert!(!d.is_duplicate(&pkt(1, 200, 8), 3_000));
        // Another VNI, but too late.
        assert!(!d.is_duplicate(&pkt(2, 200, 8), 500_000_000));
        // Different IP id: a different packet.
        assert!(!d.is_duplicate(&pkt(1, 300, 9), 600_000_000));
        assert!(!d.is_duplicate(&pkt(2, 300, 10), 600_000_100));
        assert_eq!(d.dropped, 1);
    }
}
