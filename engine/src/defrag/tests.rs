use super::*;
use crate::decode::{decode, DecodeConfig, DecodeStats, LinkType};

/// Test helpers that build fragments by hand (also used by the pipeline tests).
pub(crate) mod build {
    /// One IPv4 fragment of a datagram: `data` at byte `offset` (a multiple of 8).
    pub fn v4(id: u16, proto: u8, offset: usize, more: bool, data: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; 20];
        h[0] = 0x45;
        let total = (20 + data.len()) as u16;
        h[2..4].copy_from_slice(&total.to_be_bytes());
        h[4..6].copy_from_slice(&id.to_be_bytes());
        let fo = ((offset / 8) as u16) | if more { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&fo.to_be_bytes());
        h[8] = 64;
        h[9] = proto;
        h[12..16].copy_from_slice(&[10, 1, 0, 5]);
        h[16..20].copy_from_slice(&[10, 2, 0, 9]);
        let sum = super::super::ipv4_checksum(&h);
        h[10..12].copy_from_slice(&sum.to_be_bytes());
        h.extend_from_slice(data);
        h
    }

    /// One IPv6 fragment (fragment header right after the base header).
    pub fn v6(id: u32, next: u8, offset: usize, more: bool, data: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; 48];
        h[0] = 0x60;
        h[4..6].copy_from_slice(&((8 + data.len()) as u16).to_be_bytes());
        h[6] = 44;
        h[7] = 64;
        h[8..24].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]);
        h[24..40].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        h[40] = next;
        let fo = (offset as u16 & 0xfff8) | u16::from(more);
        h[42..44].copy_from_slice(&fo.to_be_bytes());
        h[44..48].copy_from_slice(&id.to_be_bytes());
        h.extend_from_slice(data);
        h
    }

    /// A UDP header + payload (checksum 0: not computed).
    pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut u = Vec::new();
        u.extend_from_slice(&sport.to_be_bytes());
        u.extend_from_slice(&dport.to_be_bytes());
        u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(payload);
        u
    }
}

fn feed(d: &mut Defrag, pkt: &[u8], now: u64) -> Option<Vec<u8>> {
    let mut st = DecodeStats::default();
    let p = decode(LinkType::Raw, pkt, &DecodeConfig::default(), &mut st).expect("decodes");
    assert!(p.is_fragment);
    d.insert(&p, now).map(|b| b.to_vec())
}

fn udp_payload(dgram: &[u8]) -> Vec<u8> {
    let mut st = DecodeStats::default();
    let cfg = DecodeConfig {
        checksum_validate: true,
        ..DecodeConfig::default()
    };
    let p = decode(LinkType::Raw, dgram, &cfg, &mut st).expect("reassembled datagram decodes");
    assert!(!p.is_fragment && !p.truncated, "{p:?}");
    // IPv4: the rebuilt header checksum is right (UDP checksum 0 = none;
    // IPv6 requires one, which these hand-made datagrams do not carry).
    if dgram[0] >> 4 == 4 {
        assert!(!p.checksum_bad, "{p:?}");
    }
    assert_eq!((p.sport, p.dport), (5000, 53));
    p.payload.to_vec()
}

fn payload() -> Vec<u8> {
    (0..40u8).map(|i| b'a' + i % 26).collect()
}

#[test]
fn ipv4_out_of_order_fragments_reassemble() {
    let dgram = build::udp(5000, 53, &payload()); // 48 bytes
    let mut d = Defrag::new(&DefragConfig::default());
    assert_eq!(feed(&mut d, &build::v4(7, 17, 32, false, &dgram[32..]), 1), None);
    assert_eq!(feed(&mut d, &build::v4(7, 17, 16, true, &dgram[16..32]), 2), None);
    let out = feed(&mut d, &build::v4(7, 17, 0, true, &dgram[..16]), 3).expect("complete");
    assert_eq!(udp_payload(&out), payload());
    assert_eq!(d.stats.ipv4_reassembled, 1);
    assert_eq!(d.stats.ipv4_fragments, 3);
    assert_eq!(d.memuse(), 0);
    assert_eq!(d.trackers(), 0);
}

#[test]
fn ipv6_fragments_reassemble() {
    let dgram = build::udp(5000, 53, &payload());
    let mut d = Defrag::new(&DefragConfig::default());
    assert_eq!(feed(&mut d, &build::v6(99, 17, 24, false, &dgram[24..]), 1), None);
    let out = feed(&mut d, &build::v6(99, 17, 0, true, &dgram[..24]), 2).expect("complete");
    assert_eq!(out.len(), 40 + dgram.len());
    assert_eq!(out[6], 17);
    assert_eq!(udp_payload(&out), payload());
    assert_eq!(d.stats.ipv6_reassembled, 1);
}

#[test]
fn overlapping_fragments_follow_the_policy() {
    let dgram = build::udp(5000, 53, &payload());
    for (policy, expect_new) in [(OverlapPolicy::First, false), (OverlapPolicy::Last, true)] {
        let mut d = Defrag::new(&DefragConfig {
            policy,
            ..DefragConfig::default()
        });
        feed(&mut d, &build::v4(1, 17, 0, true, &dgram[..24]), 1);
        // Overlaps bytes 16..24 with different data.
        let mut evil = dgram[16..].to_vec();
        evil[..8].copy_from_slice(b"XXXXXXXX");
        let out = feed(&mut d, &build::v4(1, 17, 16, false, &evil), 2).expect("complete");
        let got = udp_payload(&out);
        let mut want = payload();
        if expect_new {
            want[8..16].copy_from_slice(b"XXXXXXXX");
        }
        assert_eq!(got, want, "{policy}");
        assert_eq!(d.stats.ipv4_overlap, 1);
    }
}

#[test]
fn incomplete_datagrams_time_out() {
    let dgram = build::udp(5000, 53, &payload());
    let mut d = Defrag::new(&DefragConfig::default());
    feed(&mut d, &build::v4(3, 17, 0, true, &dgram[..16]), 1);
    assert_eq!(d.trackers(), 1);
    feed(
        &mut d,
        &build::v4(4, 17, 0, true, &dgram[..16]),
        61_000_000_001 + 1,
    );
    assert_eq!(d.stats.ipv4_timeouts, 1);
    assert_eq!(d.trackers(), 1);
}

#[test]
fn limits_are_counters() {
    let dgram = build::udp(5000, 53, &payload());
    let mut d = Defrag::new(&DefragConfig {
        max_trackers: 1,
        memcap: 64,
        ..DefragConfig::default()
    });
    feed(&mut d, &build::v4(1, 17, 0, true, &dgram[..16]), 1);
    feed(&mut d, &build::v4(2, 17, 0, true, &dgram[..16]), 1);
    assert_eq!(d.stats.max_trackers_reached, 1);
    // Far offset: more buffer than the memcap allows.
    feed(&mut d, &build::v4(1, 17, 800, false, &dgram[..16]), 1);
    assert_eq!(d.stats.memcap_drops, 1);
    assert!(d.memuse() <= 64);
    // Beyond 65535 bytes.
    feed(&mut d, &build::v4(1, 17, 65_528, true, &dgram[..16]), 1);
    assert_eq!(d.stats.too_large, 1);
}

proptest::proptest! {
    #[test]
    fn arbitrary_fragments_never_panic(
        frags in proptest::collection::vec(
            (0u16..4, 0usize..200, any_bool(), proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64), any_bool()),
            1..40),
    ) {
        let mut d = Defrag::new(&DefragConfig { memcap: 4096, max_frags: 8, ..DefragConfig::default() });
        let mut now = 0;
        for (id, off8, more, data, v6) in frags {
            now += 100_000_000;
            let pkt = if v6 {
                build::v6(u32::from(id), 17, off8 * 8, more, &data)
            } else {
                build::v4(id, 17, off8 * 8, more, &data)
            };
            let mut st = DecodeStats::default();
            if let Ok(p) = decode(LinkType::Raw, &pkt, &DecodeConfig::default(), &mut st) {
                if p.is_fragment {
                    let _ = d.insert(&p, now);
                }
            }
            proptest::prop_assert!(d.memuse() <= 4096);
        }
    }
}

fn any_bool() -> impl proptest::strategy::Strategy<Value = bool> {
    proptest::prelude::any::<bool>()
}
