//! `tapwatch send`: replay a capture as mirror datagrams.
//!
//! Plain frames are wrapped in VXLAN the way Traffic Mirroring does (VNI
//! from `--vni`, flags 0x08); the outer IP and UDP headers are the
//! kernel's. Like AWS, the outer source port follows a hash of the inner
//! 5-tuple: datagrams go out through a pool of sockets and each flow always
//! uses the same one, so a load balancer keeps a flow on one target.
//! Frames that already are VXLAN/GENEVE datagrams are sent as they are
//! (their UDP payload). The destination is 127.0.0.1:4789 unless the user
//! names another address: nothing is ever sent anywhere on its own.

use anyhow::{bail, Context, Result};
use clap::Args;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tapwatch_engine::decode::{decode, DecodeConfig, DecodeStats, LinkType};
use tapwatch_engine::flow::FlowKey;
use tapwatch_engine::ingress::PcapReader;

#[derive(Args, Debug)]
pub struct SendArgs {
    /// Capture (pcap or pcapng) whose packets are sent.
    #[arg(value_name = "PCAP")]
    pcap: PathBuf,
    /// Where to send: an IP address and UDP port (never a host name).
    #[arg(long = "to", value_name = "ADDR:PORT", default_value = "127.0.0.1:4789")]
    to: SocketAddr,
    /// Local address to send from (e.g. 127.0.0.2 to test allow-lists).
    #[arg(long = "from", value_name = "ADDR")]
    from: Option<IpAddr>,
    /// VNI for frames that are wrapped here.
    #[arg(long = "vni", value_name = "N", default_value_t = 1)]
    vni: u32,
    /// Packets per second (default: as fast as possible).
    #[arg(long = "pps", value_name = "N", conflicts_with = "mbps")]
    pps: Option<f64>,
    /// Megabits per second of datagram payload.
    #[arg(long = "mbps", value_name = "N")]
    mbps: Option<f64>,
    /// Times to play the capture.
    #[arg(long = "loop", value_name = "N", default_value_t = 1)]
    loops: u64,
    /// Stop after this many seconds (for load tests).
    #[arg(long = "duration", value_name = "SECS")]
    duration: Option<f64>,
    /// Sockets (outer source ports) flows are spread over.
    #[arg(long = "sockets", value_name = "N", default_value_t = 8)]
    sockets: usize,
    /// Only errors.
    #[arg(short = 'q')]
    quiet: bool,
}

/// Counters of one `send`.
#[derive(Debug, Default)]
pub struct Sent {
    pub packets: u64,
    pub bytes: u64,
    pub inner_bytes: u64,
    pub skipped: u64,
    pub errors: u64,
}

const VXLAN_FLAG_I: u8 = 0x08;

/// The inner frame as Ethernet, or None for link types that cannot be.
fn as_ethernet<'a>(link: LinkType, data: &'a [u8], buf: &'a mut Vec<u8>) -> Option<&'a [u8]> {
    let ip_ethertype = |ip: &[u8]| match ip.first().map(|b| b >> 4) {
        Some(4) => Some(0x0800u16),
        Some(6) => Some(0x86dd),
        _ => None,
    };
    let (etype, l3) = match link {
        LinkType::Ethernet => return Some(data),
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => (ip_ethertype(data)?, data),
        LinkType::Null | LinkType::Loop => {
            let ip = data.get(4..)?;
            (ip_ethertype(ip)?, ip)
        }
        LinkType::Sll => {
            let t = u16::from_be_bytes([*data.get(14)?, *data.get(15)?]);
            (t, data.get(16..)?)
        }
        LinkType::Sll2 => {
            let t = u16::from_be_bytes([*data.first()?, *data.get(1)?]);
            (t, data.get(20..)?)
        }
    };
    buf.clear();
    buf.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]);
    buf.extend_from_slice(&etype.to_be_bytes());
    buf.extend_from_slice(l3);
    Some(buf)
}

/// The UDP payload of a frame that already is a VXLAN/GENEVE datagram.
fn tunnel_payload(link: LinkType, data: &[u8]) -> Option<&[u8]> {
    let mut st = DecodeStats::default();
    let p = decode(link, data, &DecodeConfig::default(), &mut st).ok()?;
    if p.tunnel_count == 0 {
        return None;
    }
    let sliced = match link {
        LinkType::Ethernet => etherparse::SlicedPacket::from_ethernet(data).ok()?,
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => etherparse::SlicedPacket::from_ip(data).ok()?,
        _ => return None,
    };
    match sliced.transport? {
        etherparse::TransportSlice::Udp(u) => Some(u.payload()),
        _ => None,
    }
}

fn inner_hash(eth: &[u8]) -> u64 {
    let mut st = DecodeStats::default();
    match decode(LinkType::Ethernet, eth, &DecodeConfig::default(), &mut st) {
        Ok(p) => FlowKey::from_packet(&p).hash64(),
        Err(_) => 0,
    }
}

/// Paces sends to a rate: packets per second or bytes per second.
struct Pacer {
    start: Instant,
    pps: Option<f64>,
    bps: Option<f64>,
    pkts: f64,
    bytes: f64,
}

impl Pacer {
    fn wait(&mut self, len: usize) {
        self.pkts += 1.0;
        self.bytes += len as f64;
        let due = match (self.pps, self.bps) {
            (Some(p), _) if p > 0.0 => self.pkts / p,
            (_, Some(b)) if b > 0.0 => self.bytes / b,
            _ => return,
        };
        let ahead = due - self.start.elapsed().as_secs_f64();
        if ahead > 0.0005 {
            std::thread::sleep(Duration::from_secs_f64(ahead.min(10.0)));
        }
    }
}

pub fn send(a: SendArgs) -> Result<ExitCode> {
    if a.vni >= 1 << 24 {
        bail!("--vni must be below 16777216");
    }
    if a.sockets == 0 || a.sockets > 1024 {
        bail!("--sockets must be between 1 and 1024");
    }
    for (name, v) in [("--pps", a.pps), ("--mbps", a.mbps)] {
        if v.is_some_and(|v| !(v.is_finite() && v > 0.0)) {
            bail!("{name} must be a positive number");
        }
    }
    let from = a.from.unwrap_or(match a.to {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    });
    let socks: Vec<UdpSocket> = (0..a.sockets)
        .map(|_| UdpSocket::bind(SocketAddr::new(from, 0)))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot bind a UDP socket on {from}"))?;
    let deadline = a
        .duration
        .map(|d| Instant::now() + Duration::from_secs_f64(d.clamp(0.0, 1e7)));
    let mut pacer = Pacer {
        start: Instant::now(),
        pps: a.pps,
        bps: a.mbps.map(|m| m * 1e6 / 8.0),
        pkts: 0.0,
        bytes: 0.0,
    };
    let mut sent = Sent::default();
    let mut eth_buf = Vec::with_capacity(2048);
    let mut dgram = Vec::with_capacity(2048);
    let started = Instant::now();
    'outer: for _ in 0..a.loops.max(1) {
        let mut r = PcapReader::open(&a.pcap)?;
        while let Some(f) = r.next_frame()? {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break 'outer;
            }
            let (payload, hash, inner_len): (&[u8], u64, usize) = match tunnel_payload(f.linktype, f.data) {
                Some(p) => (
                    p,
                    inner_hash(p.get(8..).unwrap_or(&[])),
                    p.len().saturating_sub(8),
                ),
                None => {
                    let Some(eth) = as_ethernet(f.linktype, f.data, &mut eth_buf) else {
                        sent.skipped += 1;
                        continue;
                    };
                    dgram.clear();
                    dgram.extend_from_slice(&[VXLAN_FLAG_I, 0, 0, 0]);
                    dgram.extend_from_slice(&a.vni.to_be_bytes()[1..]);
                    dgram.push(0);
                    dgram.extend_from_slice(eth);
                    (&dgram, inner_hash(eth), eth.len())
                }
            };
            pacer.wait(payload.len());
            let sock = &socks[(hash % socks.len() as u64) as usize];
            let mut tries = 0;
            loop {
                match sock.send_to(payload, a.to) {
                    Ok(_) => {
                        sent.packets += 1;
                        sent.bytes += payload.len() as u64;
                        sent.inner_bytes += inner_len as u64;
                        break;
                    }
                    // The local queue is full: wait for it, do not lose.
                    Err(e) if e.raw_os_error() == Some(105) && tries < 1000 => {
                        tries += 1;
                        std::thread::sleep(Duration::from_micros(50));
                    }
                    Err(_) => {
                        sent.errors += 1;
                        break;
                    }
                }
            }
        }
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    if !a.quiet {
        eprintln!(
            "tapwatch send: {} datagrams ({} bytes) to {} in {:.3}s: {:.0} packets/s, {:.3} Gbit/s inner; {} skipped, {} errors",
            sent.packets,
            sent.bytes,
            a.to,
            secs,
            sent.packets as f64 / secs,
            sent.inner_bytes as f64 * 8.0 / secs / 1e9,
            sent.skipped,
            sent.errors
        );
    }
    println!(
        "sent={} bytes={} skipped={} errors={}",
        sent.packets, sent.bytes, sent.skipped, sent.errors
    );
    Ok(if sent.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_ip_gets_an_ethernet_header() {
        let eth = tapwatch_gen::udp_frame(
            "10.0.0.1:1000".parse().unwrap(),
            "10.0.0.2:53".parse().unwrap(),
            1,
            b"x",
        );
        let ip = &eth.data[14..];
        let mut buf = Vec::new();
        let out = as_ethernet(LinkType::Raw, ip, &mut buf).unwrap().to_vec();
        assert_eq!(&out[12..14], &[0x08, 0x00]);
        assert_eq!(&out[14..], ip);
        assert_eq!(inner_hash(&out), inner_hash(&eth.data));
        assert!(as_ethernet(LinkType::Raw, &[0x10], &mut buf).is_none());
        assert!(as_ethernet(LinkType::Sll, &[0; 5], &mut buf).is_none());
    }

    #[test]
    fn wrapped_frames_are_sent_as_they_are() {
        let inner = tapwatch_gen::udp_frame(
            "10.0.0.1:1000".parse().unwrap(),
            "10.0.0.2:53".parse().unwrap(),
            1,
            b"x",
        );
        let m = tapwatch_gen::Mirror {
            vni: 42,
            source_ip: "10.1.0.5".parse().unwrap(),
            target_ip: "10.1.0.9".parse().unwrap(),
        };
        let wrapped = tapwatch_gen::vxlan_wrap(&inner, &m);
        let p = tunnel_payload(LinkType::Ethernet, &wrapped.data).unwrap();
        assert_eq!(&p[..8], &[0x08, 0, 0, 0, 0, 0, 42, 0]);
        assert_eq!(&p[8..], &inner.data[..]);
        assert!(tunnel_payload(LinkType::Ethernet, &inner.data).is_none());
        // Both directions of a flow leave through the same socket.
        let back = tapwatch_gen::udp_frame(
            "10.0.0.2:53".parse().unwrap(),
            "10.0.0.1:1000".parse().unwrap(),
            2,
            b"y",
        );
        assert_eq!(inner_hash(&inner.data), inner_hash(&back.data));
    }
}
