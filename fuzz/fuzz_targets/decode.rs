//! Fuzz decode: the first byte picks the link type and options, the rest is
//! the frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapwatch_engine::decode::{decode, DecodeConfig, DecodeStats, MAX_TUNNELS};
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
    if let Ok(p) = decode(link, frame, &cfg, &mut stats) {
        assert!(p.tunnel_count <= MAX_TUNNELS);
        assert!(p.tunnel_count <= cfg.max_tunnel_depth);
        assert!(p.vlan_count <= 2);
        assert!(p.payload.len() <= frame.len());
        assert_eq!(p.tunnel_layers().count(), p.tunnel_count);
    }
    assert_eq!(stats.packets, 1);
});
