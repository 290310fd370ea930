//! Decode tests: frames built with etherparse's `PacketBuilder`, every field checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{
    IpFragOffset, IpHeaders, IpNumber, Ipv4Extensions, Ipv4Header, Ipv4Options, Ipv6Extensions,
    Ipv6FragmentHeader, Ipv6Header, Ipv6RawExtHeader, LinuxSllPacketType, PacketBuilder,
};
use proptest::prelude::*;
use tapwatch_parsers::{GeneveHeader, VxlanHeader};

use super::*;

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0xb];
const CLIENT: [u8; 4] = [10, 0, 1, 5];
const SERVER: [u8; 4] = [10, 0, 2, 9];
const ENI: [u8; 4] = [172, 31, 0, 10];
const TARGET: [u8; 4] = [172, 31, 9, 20];
const GWLB: [u8; 4] = [192, 168, 100, 1];
const APPLIANCE: [u8; 4] = [192, 168, 100, 2];

fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

fn v6(last: u16) -> [u8; 16] {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last).octets()
}

fn cfg() -> DecodeConfig {
    DecodeConfig::default()
}

fn run(link: LinkType, frame: &[u8]) -> (Result<Packet<'_>, DecodeError>, DecodeStats) {
    let mut stats = DecodeStats::default();
    let r = decode(link, frame, &cfg(), &mut stats);
    (r, stats)
}

fn ok(link: LinkType, frame: &[u8]) -> Packet<'_> {
    match decode(link, frame, &cfg(), &mut DecodeStats::default()) {
        Ok(p) => p,
        Err(e) => panic!("decode failed: {e}"),
    }
}

/// Ethernet / IPv4 / TCP (PSH|ACK) from CLIENT:40000 to SERVER:80.
fn eth_tcp(payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(CLIENT, SERVER, 64)
        .tcp(40000, 80, 1000, 512)
        .psh()
        .ack(2000);
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

fn udp_datagram(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(src, dst, 255)
        .udp(sport, dport);
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

/// Wraps an Ethernet frame in Ethernet / IPv4 / UDP 4789 / VXLAN, as AWS VPC
/// Traffic Mirroring sends it.
fn vxlan(inner: &[u8], vni: u32, src: [u8; 4], dst: [u8; 4], sport: u16) -> Vec<u8> {
    let mut payload = VxlanHeader { flags: 0x08, vni }.to_bytes().to_vec();
    payload.extend_from_slice(inner);
    udp_datagram(src, dst, sport, 4789, &payload)
}

/// Wraps a payload in Ethernet / IPv4 / UDP 6081 / GENEVE with `options`.
fn geneve(inner: &[u8], proto: u16, vni: u32, options: &[u8]) -> Vec<u8> {
    let hdr = GeneveHeader {
        version: 0,
        opt_len_bytes: options.len(),
        oam: false,
        critical: false,
        protocol_type: proto,
        vni,
        options,
    };
    let mut payload = hdr.fixed_bytes().to_vec();
    payload.extend_from_slice(options);
    payload.extend_from_slice(inner);
    udp_datagram(GWLB, APPLIANCE, 51000, 6081, &payload)
}

/// Strips the Ethernet header of a built frame.
fn l3_of(frame: &[u8]) -> &[u8] {
    &frame[14..]
}

#[test]
fn ethernet_ipv4_tcp() {
    let frame = eth_tcp(b"GET / HTTP/1.1\r\n\r\n");
    let (r, stats) = run(LinkType::Ethernet, &frame);
    let p = r.unwrap();
    assert_eq!(p.src, v4(CLIENT));
    assert_eq!(p.dst, v4(SERVER));
    assert_eq!(p.ip_proto, 6);
    assert!(p.is_tcp() && !p.is_udp());
    assert_eq!(p.ttl, 64);
    assert_eq!((p.sport, p.dport), (40000, 80));
    let tcp = p.tcp.unwrap();
    assert_eq!((tcp.seq, tcp.ack, tcp.window), (1000, 2000, 512));
    assert_eq!(tcp.flags, TcpInfo::PSH | TcpInfo::ACK);
    assert!(tcp.has(TcpInfo::ACK) && !tcp.has(TcpInfo::SYN));
    assert_eq!(p.payload, b"GET / HTTP/1.1\r\n\r\n");
    assert!(!p.truncated && !p.is_fragment && !p.checksum_bad);
    assert_eq!(p.payload_missing, 0);
    assert_eq!((p.tunnel_count, p.vlan_count), (0, 0));
    assert!(p.innermost_tunnel().is_none());
    assert!(p.icmp.is_none());
    assert_eq!(
        (stats.packets, stats.bytes, stats.ethernet, stats.ipv4, stats.tcp),
        (1, frame.len() as u64, 1, 1, 1)
    );
    assert_eq!((stats.udp, stats.truncated, stats.malformed), (0, 0, 0));
}

#[test]
fn tcp_flags_each_bit() {
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(CLIENT, SERVER, 64)
        .tcp(1, 2, 3, 4)
        .fin()
        .syn()
        .rst()
        .urg(7)
        .ece()
        .cwr();
    let mut v = Vec::new();
    b.write(&mut v, &[]).unwrap();
    let p = ok(LinkType::Ethernet, &v);
    let t = p.tcp.unwrap();
    assert_eq!(
        t.flags,
        TcpInfo::FIN | TcpInfo::SYN | TcpInfo::RST | TcpInfo::URG | TcpInfo::ECE | TcpInfo::CWR
    );
    assert!(p.payload.is_empty());
}

#[test]
fn ethernet_padding_is_not_payload() {
    // A 4-byte UDP datagram padded by the NIC to the 60-byte Ethernet minimum.
    let mut frame = udp_datagram(CLIENT, SERVER, 5353, 53, b"abcd");
    frame.resize(60, 0);
    let p = ok(LinkType::Ethernet, &frame);
    assert_eq!(p.payload, b"abcd");
    assert!(!p.truncated);
    assert_eq!((p.sport, p.dport, p.ip_proto), (5353, 53, 17));
}

#[test]
fn single_vlan() {
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .single_vlan(etherparse::VlanId::try_new(42).unwrap())
        .ipv4(CLIENT, SERVER, 64)
        .udp(1000, 2000);
    let mut v = Vec::new();
    b.write(&mut v, b"x").unwrap();
    let (r, stats) = run(LinkType::Ethernet, &v);
    let p = r.unwrap();
    assert_eq!(p.vlans(), &[42]);
    assert_eq!(stats.vlan, 1);
    assert_eq!(p.payload, b"x");
}

#[test]
fn qinq_double_vlan() {
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .double_vlan(
            etherparse::VlanId::try_new(100).unwrap(),
            etherparse::VlanId::try_new(200).unwrap(),
        )
        .ipv4(CLIENT, SERVER, 64)
        .udp(1000, 2000);
    let mut v = Vec::new();
    b.write(&mut v, b"y").unwrap();
    assert_eq!(&v[12..14], &[0x88, 0xa8], "802.1ad outer tag");
    let (r, stats) = run(LinkType::Ethernet, &v);
    let p = r.unwrap();
    assert_eq!((p.vlan, p.vlan_count), ([100, 200], 2));
    assert_eq!(stats.vlan, 2);
    assert_eq!(p.src, v4(CLIENT));
}

#[test]
fn three_vlan_tags_keep_first_two_and_reach_ip() {
    let inner = udp_datagram(CLIENT, SERVER, 1, 2, b"z");
    let mut v = inner[..12].to_vec(); // MACs
    for (tpid, id) in [(0x88a8u16, 10u16), (0x8100, 20), (0x8100, 30)] {
        v.extend_from_slice(&tpid.to_be_bytes());
        v.extend_from_slice(&(0x2000 | id).to_be_bytes()); // PCP 1, VID
    }
    v.extend_from_slice(&inner[12..]); // EtherType 0x0800 + IPv4
    let (r, stats) = run(LinkType::Ethernet, &v);
    let p = r.unwrap();
    assert_eq!(p.vlans(), &[10, 20]);
    assert_eq!(stats.vlan, 3);
    assert_eq!(p.payload, b"z");
}

#[test]
fn ipv4_options_and_identification() {
    let mut ip = Ipv4Header::new(0, 33, IpNumber::UDP, CLIENT, SERVER).unwrap();
    ip.identification = 0xbeef;
    ip.options = Ipv4Options::try_from(&[0x94, 0x04, 0x00, 0x00][..]).unwrap(); // router alert
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ip(IpHeaders::Ipv4(ip, Ipv4Extensions::default()))
        .udp(68, 67);
    let mut v = Vec::new();
    b.write(&mut v, b"dhcp").unwrap();
    assert_eq!(v[14] & 0x0f, 6, "IHL 6 words");
    let p = ok(LinkType::Ethernet, &v);
    assert_eq!((p.ttl, p.ip_id), (33, 0xbeef));
    assert_eq!((p.sport, p.dport), (68, 67));
    assert_eq!(p.payload, b"dhcp");
}

fn ipv6_with_exts(exts: Ipv6Extensions, payload: &[u8]) -> Vec<u8> {
    let ip = Ipv6Header {
        hop_limit: 17,
        source: v6(1),
        destination: v6(2),
        ..Default::default()
    };
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ip(IpHeaders::Ipv6(ip, exts))
        .udp(5000, 6000);
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

#[test]
fn ipv6_extension_headers() {
    let exts = Ipv6Extensions {
        hop_by_hop_options: Some(Ipv6RawExtHeader::new_raw(IpNumber(0), &[0; 6]).unwrap()),
        destination_options: Some(Ipv6RawExtHeader::new_raw(IpNumber(0), &[1; 14]).unwrap()),
        ..Default::default()
    };
    let v = ipv6_with_exts(exts, b"hello6");
    assert_eq!(v[14 + 6], 0, "next header: hop-by-hop");
    let (r, stats) = run(LinkType::Ethernet, &v);
    let p = r.unwrap();
    assert_eq!(p.src, IpAddr::V6(Ipv6Addr::from(v6(1))));
    assert_eq!(p.dst, IpAddr::V6(Ipv6Addr::from(v6(2))));
    assert_eq!((p.ip_proto, p.ttl), (17, 17));
    assert_eq!((p.sport, p.dport), (5000, 6000));
    assert_eq!(p.payload, b"hello6");
    assert!(!p.is_fragment && !p.truncated);
    assert_eq!((stats.ipv6, stats.udp), (1, 1));
}

#[test]
fn ipv6_fragments() {
    let frag = |offset: u16, more: bool| Ipv6Extensions {
        fragment: Some(Ipv6FragmentHeader::new(
            IpNumber(0),
            IpFragOffset::try_new(offset).unwrap(),
            more,
            0x1234_5678,
        )),
        ..Default::default()
    };
    // First fragment: the UDP header is there.
    let first = ipv6_with_exts(frag(0, true), b"part1");
    let (r, stats) = run(LinkType::Ethernet, &first);
    let p = r.unwrap();
    assert!(p.is_fragment);
    assert_eq!(p.ip_id, 0x1234_5678);
    assert_eq!((p.ip_proto, p.sport, p.dport), (17, 5000, 6000));
    assert_eq!(stats.fragments, 1);
    // A later fragment: no transport header, the payload is the raw fragment.
    let later = ipv6_with_exts(frag(100, false), b"part2");
    let p = ok(LinkType::Ethernet, &later);
    assert!(p.is_fragment);
    assert_eq!((p.sport, p.dport), (0, 0));
    assert_eq!(p.ip_proto, 17);
    assert_eq!(p.payload.len(), 8 + 5, "udp header bytes are fragment data here");
}

/// IPv6 / fragment header / destination options cut after one byte.
/// Found by the `decode` fuzz target: etherparse's extension-header iterator
/// reads past the end of its slice on such a packet, so decode walks the
/// headers itself.
fn ipv6_frag_then_cut_dest_opts(payload_length: u16) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0]; // version 6
    v.extend_from_slice(&payload_length.to_be_bytes());
    v.extend_from_slice(&[44, 64]); // next: fragment, hop limit 64
    v.extend_from_slice(&v6(1));
    v.extend_from_slice(&v6(2));
    v.extend_from_slice(&[60, 0, 0x00, 0x01, 1, 2, 3, 4]); // next: dest opts; offset 0, M; id
    v.push(0x11); // one byte of the destination options header
    v
}

#[test]
fn regression_ipv6_extension_cut_after_fragment_header() {
    // The payload length says 9 bytes and 9 are there: the header is bogus.
    let bogus = ipv6_frag_then_cut_dest_opts(9);
    let (r, stats) = run(LinkType::Raw, &bogus);
    assert_eq!(r.unwrap_err(), DecodeError::Malformed("ip extension header"));
    assert_eq!(stats.malformed, 1);
    // The payload length says more: the packet is cut short.
    let frame = ipv6_frag_then_cut_dest_opts(100);
    let p = ok(LinkType::Raw, &frame);
    assert!(p.truncated && p.is_fragment);
    assert_eq!(p.ip_id, 0x0102_0304);
    assert_eq!(p.ip_proto, 60);
    assert_eq!(p.payload_missing, 100 - 9);
}

#[test]
fn ipv4_fragments() {
    let mk = |offset: u16, more: bool| {
        let mut ip = Ipv4Header::new(0, 64, IpNumber::UDP, CLIENT, SERVER).unwrap();
        ip.identification = 77;
        ip.more_fragments = more;
        ip.fragment_offset = IpFragOffset::try_new(offset).unwrap();
        let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
            .ip(IpHeaders::Ipv4(ip, Ipv4Extensions::default()))
            .udp(53, 53);
        let mut v = Vec::new();
        b.write(&mut v, b"0123456789").unwrap();
        v
    };
    let first = mk(0, true);
    let p = ok(LinkType::Ethernet, &first);
    assert!(p.is_fragment);
    assert_eq!((p.ip_id, p.sport, p.dport), (77, 53, 53));
    assert_eq!(p.payload, b"0123456789");
    let later = mk(185, false);
    let (r, stats) = run(LinkType::Ethernet, &later);
    let p = r.unwrap();
    assert!(p.is_fragment && p.tcp.is_none());
    assert_eq!((p.sport, p.dport), (0, 0));
    assert_eq!(p.payload.len(), 18);
    assert_eq!((stats.fragments, stats.udp), (1, 0));
}

#[test]
fn icmpv4_echo_and_unreachable() {
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(CLIENT, SERVER, 64)
        .icmpv4_echo_request(0x4242, 7);
    let mut v = Vec::new();
    b.write(&mut v, b"ping").unwrap();
    let (r, stats) = run(LinkType::Ethernet, &v);
    let p = r.unwrap();
    assert_eq!(p.ip_proto, 1);
    assert_eq!(
        p.icmp,
        Some(IcmpInfo {
            itype: 8,
            icode: 0,
            id: Some(0x4242),
            seq: Some(7)
        })
    );
    assert_eq!(p.payload, b"ping");
    assert_eq!((p.sport, p.dport), (0, 0));
    assert_eq!(stats.icmpv4, 1);

    let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(SERVER, CLIENT, 64)
        .icmpv4_raw(3, 3, [0; 4]);
    let mut v = Vec::new();
    b.write(&mut v, &[0x45; 28]).unwrap();
    let p = ok(LinkType::Ethernet, &v);
    let icmp = p.icmp.unwrap();
    assert_eq!((icmp.itype, icmp.icode, icmp.id, icmp.seq), (3, 3, None, None));
    assert_eq!(p.payload.len(), 28);
}

#[test]
fn icmpv6_echo() {
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv6(v6(1), v6(2), 255)
        .icmpv6_echo_reply(9, 10);
    let mut v = Vec::new();
    b.write(&mut v, b"pong").unwrap();
    let (r, stats) = run(LinkType::Ethernet, &v);
    let p = r.unwrap();
    assert_eq!(p.ip_proto, 58);
    let icmp = p.icmp.unwrap();
    assert_eq!((icmp.itype, icmp.id, icmp.seq), (129, Some(9), Some(10)));
    assert_eq!(p.payload, b"pong");
    assert_eq!(stats.icmpv6, 1);
}

#[test]
fn vxlan_mirrored_tcp() {
    let inner = eth_tcp(b"secret");
    let frame = vxlan(&inner, 1234, ENI, TARGET, 61000);
    let (r, stats) = run(LinkType::Ethernet, &frame);
    let p = r.unwrap();
    assert_eq!(p.tunnel_count, 1);
    let t = p.innermost_tunnel().unwrap();
    assert_eq!(
        *t,
        TunnelLayer {
            encap: Encap::Vxlan,
            vni: 1234,
            outer_src: v4(ENI),
            outer_dst: v4(TARGET),
            outer_sport: 61000,
            outer_dport: 4789,
        }
    );
    assert_eq!(t.encap.as_str(), "vxlan");
    assert_eq!(p.outermost_tunnel(), Some(t));
    assert_eq!((p.src, p.dst), (v4(CLIENT), v4(SERVER)));
    assert_eq!((p.sport, p.dport, p.ttl), (40000, 80, 64));
    assert_eq!(p.payload, b"secret");
    assert!(p.tcp.is_some() && !p.truncated);
    assert_eq!(
        (stats.ethernet, stats.ipv4, stats.udp, stats.tcp, stats.vxlan),
        (2, 2, 1, 1, 1)
    );
}

#[test]
fn vxlan_on_source_port_is_decapsulated_too() {
    let inner = eth_tcp(b"x");
    let mut payload = VxlanHeader { flags: 0x08, vni: 5 }.to_bytes().to_vec();
    payload.extend_from_slice(&inner);
    let frame = udp_datagram(ENI, TARGET, 4789, 33333, &payload);
    let p = ok(LinkType::Ethernet, &frame);
    assert_eq!(p.innermost_tunnel().unwrap().vni, 5);
    assert_eq!(p.dport, 80);
}

#[test]
fn vxlan_port_without_vxlan_is_plain_udp() {
    // I flag clear: not VXLAN.
    let mut payload = vec![0u8, 0, 0, 0, 0, 0, 1, 0];
    payload.extend_from_slice(&eth_tcp(b"x"));
    let frame = udp_datagram(ENI, TARGET, 1000, 4789, &payload);
    let (r, stats) = run(LinkType::Ethernet, &frame);
    let p = r.unwrap();
    assert_eq!(p.tunnel_count, 0);
    assert_eq!((p.src, p.dport, p.ip_proto), (v4(ENI), 4789, 17));
    assert_eq!(p.payload, &payload[..]);
    assert_eq!(stats.vxlan, 0);
    // Too short to hold an inner Ethernet header: plain UDP as well.
    let frame = udp_datagram(ENI, TARGET, 1000, 4789, &[0x08, 0, 0, 0, 0, 0, 1, 0, 1, 2]);
    assert_eq!(ok(LinkType::Ethernet, &frame).tunnel_count, 0);
}

#[test]
fn vxlan_inner_non_ip_is_non_ip() {
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(CLIENT, SERVER, 64)
        .udp(1, 2);
    let mut inner = Vec::new();
    b.write(&mut inner, &[]).unwrap();
    inner[12..14].copy_from_slice(&[0x08, 0x06]); // ARP
    let frame = vxlan(&inner, 9, ENI, TARGET, 1);
    let (r, stats) = run(LinkType::Ethernet, &frame);
    assert_eq!(r.unwrap_err(), DecodeError::NonIp);
    assert_eq!((stats.non_ip, stats.vxlan), (1, 1));
}

#[test]
fn geneve_wrapping_vxlan_wrapping_ethernet() {
    let inner = eth_tcp(b"deep");
    let mirrored = vxlan(&inner, 777, ENI, TARGET, 62000);
    let options = [0x01, 0x08, 0x01, 0x01, 0xaa, 0xbb, 0xcc, 0xdd]; // one AWS option
    let frame = geneve(&mirrored, 0x6558, 4242, &options);
    let (r, stats) = run(LinkType::Ethernet, &frame);
    let p = r.unwrap();
    assert_eq!(p.tunnel_count, 2);
    let outer = p.tunnels[0].unwrap();
    assert_eq!(outer.encap, Encap::Geneve);
    assert_eq!(outer.encap.as_str(), "geneve");
    assert_eq!(
        (outer.vni, outer.outer_src, outer.outer_dst),
        (4242, v4(GWLB), v4(APPLIANCE))
    );
    assert_eq!((outer.outer_sport, outer.outer_dport), (51000, 6081));
    let mid = p.innermost_tunnel().unwrap();
    assert_eq!((mid.encap, mid.vni, mid.outer_src), (Encap::Vxlan, 777, v4(ENI)));
    assert_eq!(p.tunnel_layers().count(), 2);
    assert_eq!((p.src, p.dst, p.dport), (v4(CLIENT), v4(SERVER), 80));
    assert_eq!(p.payload, b"deep");
    assert_eq!(
        (stats.geneve, stats.vxlan, stats.ethernet, stats.ipv4, stats.udp),
        (1, 1, 3, 3, 2)
    );
}

#[test]
fn geneve_carrying_ip_directly() {
    let inner = eth_tcp(b"gwlb");
    let frame = geneve(l3_of(&inner), 0x0800, 0, &[]);
    let p = ok(LinkType::Ethernet, &frame);
    assert_eq!(p.tunnel_count, 1);
    assert_eq!(p.tunnels[0].unwrap().encap, Encap::Geneve);
    assert_eq!((p.src, p.dport), (v4(CLIENT), 80));
    assert_eq!(p.payload, b"gwlb");
    // An IPv6 payload announced as IPv4 is malformed.
    let b = PacketBuilder::ipv6(v6(1), v6(2), 1).udp(1, 2);
    let mut ip6 = Vec::new();
    b.write(&mut ip6, &[]).unwrap();
    let frame = geneve(&ip6, 0x0800, 0, &[]);
    assert_eq!(
        run(LinkType::Ethernet, &frame).0.unwrap_err(),
        DecodeError::Malformed("ip version does not match link layer")
    );
    // An unknown protocol type is not a tunnel.
    let frame = geneve(&ip6, 0x1234, 0, &[]);
    assert_eq!(ok(LinkType::Ethernet, &frame).tunnel_count, 0);
}

#[test]
fn tunnel_depth_limit() {
    let inner = eth_tcp(b"deep");
    let frame = geneve(&vxlan(&inner, 1, ENI, TARGET, 1), 0x6558, 2, &[]);
    let mut stats = DecodeStats::default();
    let config = DecodeConfig {
        max_tunnel_depth: 1,
        ..cfg()
    };
    let p = decode(LinkType::Ethernet, &frame, &config, &mut stats).unwrap();
    // The last decodable layer: the VXLAN datagram inside GENEVE.
    assert_eq!(p.tunnel_count, 1);
    assert_eq!((p.src, p.dport, p.ip_proto), (v4(ENI), 4789, 17));
    assert_eq!(p.payload.len(), 8 + inner.len());
    assert_eq!((stats.too_deep, stats.geneve, stats.vxlan), (1, 1, 0));
}

#[test]
fn five_nested_vxlan_layers_stop_at_max_tunnels() {
    let mut frame = eth_tcp(b"core");
    for vni in 0..5 {
        frame = vxlan(&frame, vni, ENI, TARGET, 1);
    }
    let (r, stats) = run(LinkType::Ethernet, &frame);
    let p = r.unwrap();
    assert_eq!(p.tunnel_count, MAX_TUNNELS);
    assert_eq!(p.tunnels[0].unwrap().vni, 4, "outermost first");
    assert_eq!(p.dport, 4789);
    assert_eq!((stats.too_deep, stats.vxlan), (1, 4));
}

#[test]
fn truncated_mirror_packet_length_128() {
    // The mirror session cuts the mirrored frame at 128 bytes; the VXLAN
    // datagram carrying it is itself complete.
    let payload = vec![b'A'; 1000];
    let inner = eth_tcp(&payload);
    let frame = vxlan(&inner[..128], 55, ENI, TARGET, 1);
    let (r, stats) = run(LinkType::Ethernet, &frame);
    let p = r.unwrap();
    assert!(p.truncated);
    assert_eq!(p.payload.len(), 128 - 54);
    assert_eq!(p.payload_missing, 1000 - 74);
    assert_eq!(p.innermost_tunnel().unwrap().vni, 55);
    assert_eq!((p.sport, p.dport), (40000, 80));
    assert!(p.tcp.is_some());
    assert_eq!(stats.truncated, 1);
    // A capture snap length of 128 cuts the outer datagram too.
    let whole = vxlan(&inner, 55, ENI, TARGET, 1);
    let p = ok(LinkType::Ethernet, &whole[..128]);
    assert!(p.truncated);
    assert_eq!(p.tunnel_count, 1);
    assert_eq!(p.payload.len(), 128 - 50 - 54);
    assert_eq!(p.payload_missing as usize, 1000 - p.payload.len());
}

#[test]
fn cut_inside_tcp_header() {
    let inner = eth_tcp(&[7; 1000]);
    let frame = vxlan(&inner[..14 + 20 + 10], 1, ENI, TARGET, 1);
    let (r, stats) = run(LinkType::Ethernet, &frame);
    let p = r.unwrap();
    assert!(p.truncated);
    assert!(p.tcp.is_none());
    assert_eq!((p.src, p.dst, p.ip_proto), (v4(CLIENT), v4(SERVER), 6));
    assert_eq!((p.sport, p.dport), (40000, 80), "ports survive a cut header");
    assert!(p.payload.is_empty());
    assert_eq!(p.payload_missing, 1000);
    assert_eq!((stats.truncated, stats.tcp), (1, 0));
}

#[test]
fn tcp_data_offset_past_a_complete_ip_payload_is_malformed() {
    // The IP length covers the whole frame, but the TCP header claims 60
    // bytes of the 21 present: not a cut frame, a lying header.
    let mut frame = eth_tcp(b"x");
    frame[14 + 20 + 12] = 0xf0;
    let (r, stats) = run(LinkType::Ethernet, &frame);
    assert_eq!(
        r.unwrap_err(),
        DecodeError::Malformed("tcp header longer than the ip payload")
    );
    assert_eq!((stats.malformed, stats.truncated, stats.tcp), (1, 0, 0));
    // The same header in a frame cut short (IP length larger than the
    // frame) is a truncated packet, as a mirror's packet-length makes.
    let mut long = eth_tcp(&[7; 100]);
    long[14 + 20 + 12] = 0xf0;
    let (r, stats) = run(LinkType::Ethernet, &long[..14 + 20 + 30]);
    assert!(r.unwrap().truncated);
    assert_eq!((stats.malformed, stats.truncated), (0, 1));
}

#[test]
fn tcp_header_cut_by_a_first_fragment_is_not_malformed() {
    // A first fragment of 8 bytes of IP payload: the TCP header goes on
    // in the next fragment.
    let frame = eth_tcp(&[7; 100]);
    let mut first = frame[..14 + 20 + 8].to_vec();
    first[14 + 2..14 + 4].copy_from_slice(&28u16.to_be_bytes());
    first[14 + 6] = 0x20; // MF, offset 0
    let (r, stats) = run(LinkType::Ethernet, &first);
    let p = r.unwrap();
    assert!(p.is_fragment);
    assert_eq!((p.sport, p.dport), (40000, 80));
    assert_eq!(stats.malformed, 0);
}

#[test]
fn udp_header_past_a_complete_ip_payload_is_malformed() {
    let frame = udp_datagram(CLIENT, SERVER, 5000, 53, b"");
    // IPv4 total length 20 + 4: the UDP header is cut by the IP length.
    let mut short = frame[..14 + 24].to_vec();
    short[14 + 2..14 + 4].copy_from_slice(&24u16.to_be_bytes());
    let (r, stats) = run(LinkType::Ethernet, &short);
    assert_eq!(
        r.unwrap_err(),
        DecodeError::Malformed("udp header longer than the ip payload")
    );
    assert_eq!(stats.malformed, 1);
}

#[test]
fn frame_shorter_than_headers_is_an_error() {
    let frame = eth_tcp(b"x");
    let (r, stats) = run(LinkType::Ethernet, &frame[..10]);
    assert_eq!(r.unwrap_err(), DecodeError::Truncated("ethernet header"));
    assert_eq!(stats.truncated, 1);
    let (r, _) = run(LinkType::Ethernet, &frame[..14 + 12]);
    assert_eq!(r.unwrap_err(), DecodeError::Truncated("ip header"));
}

#[test]
fn non_ip_and_malformed() {
    let mut frame = eth_tcp(b"x");
    frame[12..14].copy_from_slice(&[0x08, 0x06]);
    let (r, stats) = run(LinkType::Ethernet, &frame);
    assert_eq!(r.unwrap_err(), DecodeError::NonIp);
    assert_eq!(stats.non_ip, 1);
    let mut frame = eth_tcp(b"x");
    frame[14] = 0x43; // IHL 3
    let (r, stats) = run(LinkType::Ethernet, &frame);
    assert!(matches!(r, Err(DecodeError::Malformed(_))));
    assert_eq!(stats.malformed, 1);
    let mut frame = eth_tcp(b"x");
    frame[14 + 20 + 12] = 0x20; // TCP data offset 2
    assert_eq!(
        run(LinkType::Ethernet, &frame).0.unwrap_err(),
        DecodeError::Malformed("tcp header")
    );
}

#[test]
fn checksums() {
    let config = DecodeConfig {
        checksum_validate: true,
        ..cfg()
    };
    let check = |frame: &[u8]| {
        let mut stats = DecodeStats::default();
        let p = decode(LinkType::Ethernet, frame, &config, &mut stats).unwrap();
        assert_eq!(stats.checksum_bad, u64::from(p.checksum_bad));
        p.checksum_bad
    };
    let good = eth_tcp(b"payload");
    assert!(!check(&good));
    let mut bad_tcp = good.clone();
    *bad_tcp.last_mut().unwrap() ^= 0xff;
    assert!(check(&bad_tcp));
    let mut bad_ip = good.clone();
    bad_ip[14 + 8] ^= 1; // TTL
    assert!(check(&bad_ip));
    // Not validated unless asked.
    assert!(!ok(LinkType::Ethernet, &bad_tcp).checksum_bad);

    let udp = udp_datagram(CLIENT, SERVER, 1, 2, b"data");
    assert!(!check(&udp));
    let mut bad_udp = udp.clone();
    *bad_udp.last_mut().unwrap() ^= 0xff;
    assert!(check(&bad_udp));
    let mut zero_ck = bad_udp.clone();
    zero_ck[14 + 20 + 6..14 + 20 + 8].copy_from_slice(&[0, 0]); // no checksum
    assert!(!check(&zero_ck));

    let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(CLIENT, SERVER, 64)
        .icmpv4_echo_request(1, 1);
    let mut icmp = Vec::new();
    b.write(&mut icmp, b"ping").unwrap();
    assert!(!check(&icmp));
    *icmp.last_mut().unwrap() ^= 1;
    assert!(check(&icmp));

    let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv6(v6(1), v6(2), 64)
        .icmpv6_echo_request(1, 1);
    let mut icmp6 = Vec::new();
    b.write(&mut icmp6, b"ping").unwrap();
    assert!(!check(&icmp6));
    *icmp6.last_mut().unwrap() ^= 1;
    assert!(check(&icmp6));

    // A truncated packet is never judged.
    let cut = eth_tcp(&[1; 200]);
    assert!(!check(&cut[..100]));
}

fn ip_tcp_bytes() -> Vec<u8> {
    l3_of(&eth_tcp(b"raw")).to_vec()
}

fn ip6_udp_bytes() -> Vec<u8> {
    let b = PacketBuilder::ipv6(v6(3), v6(4), 9).udp(11, 22);
    let mut v = Vec::new();
    b.write(&mut v, b"six").unwrap();
    v
}

#[test]
fn raw_ipv4_and_ipv6_link_types() {
    let ip4 = ip_tcp_bytes();
    let ip6 = ip6_udp_bytes();
    for lt in [LinkType::Raw, LinkType::Ipv4] {
        let (r, stats) = run(lt, &ip4);
        let p = r.unwrap();
        assert_eq!((p.src, p.dport, p.payload), (v4(CLIENT), 80, &b"raw"[..]));
        assert_eq!(stats.ethernet, 0);
    }
    for lt in [LinkType::Raw, LinkType::Ipv6] {
        let p = ok(lt, &ip6);
        assert_eq!((p.ip_proto, p.sport, p.ttl), (17, 11, 9));
        assert_eq!(p.payload, b"six");
    }
    assert!(matches!(
        run(LinkType::Ipv4, &ip6).0,
        Err(DecodeError::Malformed(_))
    ));
    assert!(matches!(
        run(LinkType::Ipv6, &ip4).0,
        Err(DecodeError::Malformed(_))
    ));
    assert!(matches!(
        run(LinkType::Raw, &[]).0,
        Err(DecodeError::Truncated(_))
    ));
    assert!(matches!(
        run(LinkType::Raw, &[0x55; 40]).0,
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn linux_sll_v1() {
    let b = PacketBuilder::linux_sll(LinuxSllPacketType::OUTGOING, 6, [2, 0, 0, 0, 0, 1, 0, 0])
        .ipv4(CLIENT, SERVER, 64)
        .udp(1, 2);
    let mut v = Vec::new();
    b.write(&mut v, b"sll").unwrap();
    assert_eq!(&v[14..16], &[0x08, 0x00]);
    let p = ok(LinkType::Sll, &v);
    assert_eq!((p.src, p.payload), (v4(CLIENT), &b"sll"[..]));
    assert!(matches!(
        run(LinkType::Sll, &v[..15]).0,
        Err(DecodeError::Truncated(_))
    ));
}

#[test]
fn linux_sll_v2() {
    let ip6 = ip6_udp_bytes();
    let mut v = vec![
        0x86, 0xdd, // protocol
        0, 0, // reserved
        0, 0, 0, 3, // interface index
        0, 1, // ARPHRD_ETHER
        4, // packet type: outgoing
        6, // address length
        2, 0, 0, 0, 0, 1, 0, 0, // address
    ];
    v.extend_from_slice(&ip6);
    let p = ok(LinkType::Sll2, &v);
    assert_eq!((p.sport, p.dport, p.payload), (11, 22, &b"six"[..]));
    assert!(matches!(
        run(LinkType::Sll2, &v[..19]).0,
        Err(DecodeError::Truncated(_))
    ));
    v[0..2].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(run(LinkType::Sll2, &v).0.unwrap_err(), DecodeError::NonIp);
}

#[test]
fn bsd_null_and_loop() {
    let ip4 = ip_tcp_bytes();
    let ip6 = ip6_udp_bytes();
    let with = |family: [u8; 4], ip: &[u8]| {
        let mut v = family.to_vec();
        v.extend_from_slice(ip);
        v
    };
    // (link type, family bytes, IP packet, expected destination port)
    let cases: [(LinkType, [u8; 4], &[u8], u16); 5] = [
        // DLT_NULL from a little-endian host: IPv4, Darwin's IPv6 (30).
        (LinkType::Null, 2u32.to_le_bytes(), &ip4, 80),
        (LinkType::Null, 30u32.to_le_bytes(), &ip6, 22),
        // DLT_NULL from a big-endian host: FreeBSD's IPv6 (28).
        (LinkType::Null, 28u32.to_be_bytes(), &ip6, 22),
        // DLT_LOOP, network order: IPv4, NetBSD's IPv6 (24).
        (LinkType::Loop, 2u32.to_be_bytes(), &ip4, 80),
        (LinkType::Loop, 24u32.to_be_bytes(), &ip6, 22),
    ];
    for (lt, family, ip, dport) in cases {
        let frame = with(family, ip);
        assert_eq!(ok(lt, &frame).dport, dport, "{lt:?} {family:?}");
    }
    assert_eq!(
        run(LinkType::Null, &with(7u32.to_le_bytes(), &ip4))
            .0
            .unwrap_err(),
        DecodeError::NonIp
    );
    assert!(matches!(
        run(LinkType::Loop, &[0, 0]).0,
        Err(DecodeError::Truncated(_))
    ));
}

#[test]
fn stats_merge_after_decoding() {
    let mut a = DecodeStats::default();
    let mut b = DecodeStats::default();
    let frame = vxlan(&eth_tcp(b"m"), 3, ENI, TARGET, 1);
    decode(LinkType::Ethernet, &frame, &cfg(), &mut a).unwrap();
    decode(LinkType::Ethernet, &frame[..20], &cfg(), &mut b).unwrap_err();
    a.merge(&b);
    assert_eq!((a.packets, a.vxlan, a.truncated), (2, 1, 1));
    assert_eq!(a.bytes, frame.len() as u64 + 20);
}

/// Valid frames of every shape the tests above build, with their link type.
fn valid_frames() -> Vec<(LinkType, Vec<u8>)> {
    let inner = eth_tcp(&[9; 300]);
    let mut null = 2u32.to_le_bytes().to_vec();
    null.extend_from_slice(&ip_tcp_bytes());
    vec![
        (LinkType::Ethernet, eth_tcp(b"abcdef")),
        (LinkType::Ethernet, vxlan(&inner, 1, ENI, TARGET, 2)),
        (
            LinkType::Ethernet,
            geneve(
                &vxlan(&inner, 1, ENI, TARGET, 2),
                0x6558,
                3,
                &[0, 1, 2, 1, 0, 0, 0, 0],
            ),
        ),
        (LinkType::Ethernet, geneve(l3_of(&inner), 0x0800, 3, &[])),
        (
            LinkType::Ethernet,
            ipv6_with_exts(
                Ipv6Extensions {
                    hop_by_hop_options: Some(Ipv6RawExtHeader::new_raw(IpNumber(0), &[0; 6]).unwrap()),
                    ..Default::default()
                },
                b"six",
            ),
        ),
        (LinkType::Raw, ip6_udp_bytes()),
        (LinkType::Null, null),
    ]
}

#[test]
fn every_valid_frame_cut_at_every_length_is_marked_truncated() {
    for (lt, frame) in valid_frames() {
        assert!(!ok(lt, &frame).truncated);
        for n in 0..frame.len() {
            let mut stats = DecodeStats::default();
            match decode(lt, &frame[..n], &cfg(), &mut stats) {
                Ok(p) => assert!(p.truncated, "{lt:?} cut at {n} not marked truncated"),
                Err(DecodeError::Truncated(_)) => {}
                Err(e) => panic!("{lt:?} cut at {n}: {e}"),
            }
            assert_eq!(stats.truncated, 1);
        }
    }
}

const ALL_LINKS: [LinkType; 8] = [
    LinkType::Ethernet,
    LinkType::Raw,
    LinkType::Ipv4,
    LinkType::Ipv6,
    LinkType::Sll,
    LinkType::Sll2,
    LinkType::Null,
    LinkType::Loop,
];

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300),
                                   validate in any::<bool>()) {
        let config = DecodeConfig { checksum_validate: validate, ..cfg() };
        for lt in ALL_LINKS {
            let mut stats = DecodeStats::default();
            let r = decode(lt, &bytes, &config, &mut stats);
            prop_assert_eq!(stats.packets, 1);
            if let Ok(p) = r {
                prop_assert!(p.tunnel_count <= MAX_TUNNELS && p.vlan_count <= 2);
                prop_assert!(p.payload.len() <= bytes.len());
            }
        }
    }

    #[test]
    fn mutated_valid_frames_never_panic(idx in 0usize..7, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
                                       cut in any::<usize>()) {
        let frames = valid_frames();
        let (lt, mut frame) = frames[idx % frames.len()].clone();
        for (pos, val) in flips {
            let i = pos % frame.len();
            frame[i] = val;
        }
        let n = cut % (frame.len() + 1);
        let config = DecodeConfig { checksum_validate: true, ..cfg() };
        let _ = decode(lt, &frame[..n], &config, &mut DecodeStats::default());
    }
}

proptest! {
    /// Build → decode round trip: whatever the builder puts in, decode reads back.
    /// (Ports stay below the tunnel ports so random payloads are never decapsulated.)
    #[test]
    fn built_packets_decode_to_their_fields(
        sport in 1u16..4700, dport in 1u16..4700, ttl in any::<u8>(),
        payload in proptest::collection::vec(any::<u8>(), 0..200),
        ipv6 in any::<bool>(), tcp in any::<bool>(),
        vlan in proptest::option::of(0u16..4096),
        vni in proptest::option::of(0u32..0x0100_0000),
    ) {
        let base = if let Some(id) = vlan {
            PacketBuilder::ethernet2(MAC_A, MAC_B).single_vlan(etherparse::VlanId::try_new(id).unwrap())
        } else {
            PacketBuilder::ethernet2(MAC_A, MAC_B)
                .single_vlan(etherparse::VlanId::try_new(1).unwrap())
        };
        let ip = if ipv6 { base.ipv6(v6(7), v6(8), ttl) } else { base.ipv4(CLIENT, SERVER, ttl) };
        let mut inner = Vec::new();
        if tcp {
            ip.tcp(sport, dport, 1, 2).write(&mut inner, &payload).unwrap();
        } else {
            ip.udp(sport, dport).write(&mut inner, &payload).unwrap();
        }
        if vlan.is_none() {
            // Drop the placeholder tag: MACs, then from the inner EtherType on.
            inner.drain(12..16);
        }
        let frame = match vni {
            Some(vni) => vxlan(&inner, vni, ENI, TARGET, 40000),
            None => inner.clone(),
        };
        let p = ok(LinkType::Ethernet, &frame);
        prop_assert_eq!(p.tunnel_count, usize::from(vni.is_some()));
        prop_assert_eq!(p.innermost_tunnel().map(|t| t.vni), vni);
        prop_assert_eq!(p.vlans(), vlan.as_slice());
        prop_assert_eq!((p.sport, p.dport, p.ttl), (sport, dport, ttl));
        prop_assert_eq!(p.ip_proto, if tcp { 6 } else { 17 });
        prop_assert_eq!(p.tcp.is_some(), tcp);
        prop_assert_eq!(p.src.is_ipv6(), ipv6);
        prop_assert_eq!(p.payload, &payload[..]);
        prop_assert!(!p.truncated);
        let cfg = DecodeConfig { checksum_validate: true, ..cfg() };
        let checked = decode(LinkType::Ethernet, &frame, &cfg, &mut DecodeStats::default()).unwrap();
        prop_assert!(!checked.checksum_bad);
    }
}

// ------------------------------------------------------------ placement

/// Where `place` answers, the full decode agrees with it: same endpoints,
/// protocol and single tunnel layer, nothing fragmented, no VLAN kept.
/// Returns whether `place` answered.
fn place_agrees(link: LinkType, frame: &[u8], config: &DecodeConfig) -> Result<bool, String> {
    let Some(pl) = place(link, frame, config) else {
        return Ok(false);
    };
    let p = decode(link, frame, config, &mut DecodeStats::default())
        .map_err(|e| format!("place answered {pl:?} but decode failed: {e}"))?;
    let seen = (
        p.src,
        p.dst,
        p.sport,
        p.dport,
        p.ip_proto,
        p.tunnel_count,
        p.tunnels[0],
    );
    let want = (
        pl.src,
        pl.dst,
        pl.sport,
        pl.dport,
        pl.ip_proto,
        1,
        Some(pl.tunnel),
    );
    if seen != want || p.is_fragment || p.vlan_count != 0 {
        return Err(format!(
            "place {want:?} vs decode {seen:?} (fragment {})",
            p.is_fragment
        ));
    }
    Ok(true)
}

fn placed(frame: &[u8]) -> bool {
    place_agrees(LinkType::Ethernet, frame, &cfg()).unwrap()
}

#[test]
fn place_reads_mirrored_frames() {
    let tcp = eth_tcp(b"secret");
    let inner_udp = udp_datagram(CLIENT, SERVER, 5353, 53, b"query");
    assert!(placed(&vxlan(&tcp, 1234, ENI, TARGET, 61000)));
    assert!(placed(&vxlan(&inner_udp, 1, ENI, TARGET, 2)));
    assert!(placed(&geneve(&tcp, 0x6558, 3, &[0, 1, 2, 1, 0, 0, 0, 0])));
    assert!(placed(&geneve(l3_of(&tcp), 0x0800, 3, &[])));
    // Cut to 128 bytes by the mirror session (the datagram is whole), or
    // by a snap length (the datagram is cut too): the TCP header is there.
    let long = eth_tcp(&[b'A'; 1000]);
    assert!(placed(&vxlan(&long[..128], 55, ENI, TARGET, 1)));
    assert!(placed(&vxlan(&long, 55, ENI, TARGET, 1)[..128]));
    let pl = place(LinkType::Ethernet, &vxlan(&tcp, 9, ENI, TARGET, 7), &cfg()).unwrap();
    assert_eq!(
        (pl.src, pl.dst, pl.sport, pl.dport, pl.ip_proto),
        (v4(CLIENT), v4(SERVER), 40000, 80, 6)
    );
    assert_eq!(
        (pl.tunnel.vni, pl.tunnel.outer_src, pl.tunnel.outer_sport),
        (9, v4(ENI), 7)
    );
}

#[test]
fn place_leaves_other_shapes_to_the_full_decode() {
    let tcp = eth_tcp(b"x");
    let none = |frame: &[u8]| place(LinkType::Ethernet, frame, &cfg()).is_none();
    // Not tunnelled, or tunnelled twice.
    assert!(none(&tcp));
    assert!(none(&geneve(&vxlan(&tcp, 1, ENI, TARGET, 2), 0x6558, 3, &[])));
    // A VLAN tag inside the tunnel.
    let mut tagged = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .single_vlan(etherparse::VlanId::try_new(7).unwrap())
        .ipv4(CLIENT, SERVER, 64)
        .tcp(1, 2, 3, 4)
        .write(&mut tagged, b"x")
        .unwrap();
    assert!(none(&vxlan(&tagged, 1, ENI, TARGET, 2)));
    // An inner fragment (MF set).
    let mut frag = tcp.clone();
    frag[14 + 6] |= 0x20;
    assert!(none(&vxlan(&frag, 1, ENI, TARGET, 2)));
    // Inner ICMP, and a TCP header cut short.
    let mut icmp = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(CLIENT, SERVER, 64)
        .icmpv4_echo_request(1, 2)
        .write(&mut icmp, b"ping")
        .unwrap();
    assert!(none(&vxlan(&icmp, 1, ENI, TARGET, 2)));
    assert!(none(&vxlan(&tcp[..14 + 20 + 10], 1, ENI, TARGET, 2)));
    // A TCP data offset past a complete IP payload (malformed for the
    // full decode, which then counts it and places it on worker 0).
    let mut long_offset = tcp.clone();
    long_offset[14 + 20 + 12] = 0xf0;
    assert!(none(&vxlan(&long_offset, 1, ENI, TARGET, 2)));
    assert!(decode(
        LinkType::Ethernet,
        &vxlan(&long_offset, 1, ENI, TARGET, 2),
        &cfg(),
        &mut DecodeStats::default()
    )
    .is_err());
    // Other link types, and a configuration that peels no tunnel.
    assert!(place(LinkType::Raw, l3_of(&vxlan(&tcp, 1, ENI, TARGET, 2)), &cfg()).is_none());
    let flat = DecodeConfig {
        max_tunnel_depth: 0,
        ..cfg()
    };
    assert!(place(LinkType::Ethernet, &vxlan(&tcp, 1, ENI, TARGET, 2), &flat).is_none());
}

proptest! {
    /// Arbitrary bytes: `place` never panics, and never answers where the
    /// full decode would say otherwise.
    #[test]
    fn place_agrees_with_decode_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        for lt in ALL_LINKS {
            if let Err(e) = place_agrees(lt, &bytes, &cfg()) {
                prop_assert!(false, "{:?}: {}", lt, e);
            }
        }
    }

    /// Mirrored frames with bytes changed anywhere (flags, lengths, header
    /// sizes, ports) and cut anywhere: where `place` answers, it agrees.
    #[test]
    fn place_agrees_with_decode_on_mutated_mirror_frames(
        which in 0usize..4,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in any::<usize>(),
    ) {
        let tcp = eth_tcp(&[7; 12]);
        let frame = match which {
            0 => vxlan(&tcp, 1, ENI, TARGET, 2),
            1 => vxlan(&udp_datagram(CLIENT, SERVER, 5353, 53, &[1; 30]), 1, ENI, TARGET, 2),
            2 => geneve(&tcp, 0x6558, 3, &[0, 1, 2, 1, 0, 0, 0, 0]),
            _ => geneve(l3_of(&tcp), 0x0800, 3, &[]),
        };
        let mut frame = frame;
        for (pos, val) in flips {
            let i = pos % frame.len();
            frame[i] = val;
        }
        let n = cut % (frame.len() + 1);
        for validate in [false, true] {
            let config = DecodeConfig { checksum_validate: validate, ..cfg() };
            if let Err(e) = place_agrees(LinkType::Ethernet, &frame[..n], &config) {
                prop_assert!(false, "{}", e);
            }
        }
    }
}
