//! Fuzz decode: the first byte picks the link type and options, the rest is
//! the frame. Where the reader's fast placement answers, decode must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapwatch_engine::decode::{decode, place, DecodeConfig, DecodeStats, MAX_TUNNELS};
use tapwatch_engine::ingress::LinkType;

const LINKS: [LinkType; 8] = [
    LinkType::Ethernet,
    LinkType::Raw,
    LinkType::Ipv4,
    LinkType::Ipv6,
    LinkType::Sll,
    LinkType::Sll2,
    LinkType::Null,
    LinkType::Loop,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let link = LINKS[usize::from(selector & 7)];
    let cfg = DecodeConfig {
        checksum_validate: selector & 0x08 != 0,
        max_tunnel_depth: usize::from(selector >> 4) % (MAX_TUNNELS + 2),
        ..DecodeConfig::default()
    };
    let mut stats = DecodeStats::default();
    let placed = place(link, frame, &cfg);
    let decoded = decode(link, frame, &cfg, &mut stats);
    if let Some(pl) = placed {
        let p = decoded.as_ref().expect("placed frame must decode");
        assert_eq!((p.src, p.dst, p.sport, p.dport, p.ip_proto), (pl.src, pl.dst, pl.sport, pl.dport, pl.ip_proto));
        assert_eq!((p.tunnel_count, p.tunnels[0]), (1, Some(pl.tunnel)));
        assert!(!p.is_fragment && p.vlan_count == 0);
    }
    if let Ok(p) = decoded {
        assert!(p.tunnel_count <= MAX_TUNNELS);
        assert!(p.tunnel_count <= cfg.max_tunnel_depth);
        assert!(p.vlan_count <= 2);
        assert!(p.payload.len() <= frame.len());
        assert_eq!(p.tunnel_layers().count(), p.tunnel_count);
    }
    assert_eq!(stats.packets, 1);
});
