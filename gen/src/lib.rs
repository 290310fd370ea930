//! Deterministic generator of mirrored captures for tapwatch.
//!
//! tapwatch inspects traffic the way AWS VPC Traffic Mirroring delivers it:
//! every mirrored packet arrives as an Ethernet frame inside VXLAN (UDP 4789),
//! sometimes additionally inside GENEVE (UDP 6081) when a Gateway Load
//! Balancer sits in front of the inspection fleet. This crate builds such
//! captures byte for byte, with no randomness other than a seeded
//! [`Rng`], so a seed always yields the same bytes.
//!
//! Layers, bottom up:
//! - [`Frame`] and [`PcapWriter`]/[`write_pcap`]: classic pcap output.
//! - [`TcpConn`], [`udp_frame`], [`icmp_echo_frame`]: inner Ethernet frames
//!   with valid checksums (built with etherparse's `PacketBuilder`).
//! - [`app`]: application payloads (HTTP/1.1, TLS 1.2 records, PostgreSQL
//!   wire protocol, DNS) with real byte layouts.
//! - [`vxlan_wrap`], [`geneve_wrap`], [`truncate`]: what the mirror does.
//! - [`session`]: whole conversations (an HTTP keep-alive connection, a TLS
//!   session, a PostgreSQL session, a DNS lookup, a ping).
//! - [`sample()`]: the bundled `examples/sample-mirror.pcap`.
//! - [`workload()`]: an endless-looking, streaming, seeded capture for
//!   benchmarks (gigabytes without holding them in memory).
//! - [`verify`]: an independent decoder that checks layouts and checksums,
//!   used by the tests.
//!
//! A test that needs its own capture:
//!
//! ```
//! use std::net::Ipv4Addr;
//! use tapwatch_gen::{app::http, vxlan_wrap, write_pcap, Mirror, TcpConn, SAMPLE_START_NS};
//!
//! let mirror = Mirror {
//!     vni: 1001,
//!     source_ip: Ipv4Addr::new(10, 0, 1, 5),
//!     target_ip: Ipv4Addr::new(10, 0, 0, 100),
//! };
//! let req = http::Request::get("/download?file=../../etc/passwd", "shop.example.com", "curl/8.5.0");
//! let mut conn = TcpConn::new("203.0.113.9:40000".parse()?, "10.0.1.5:80".parse()?, SAMPLE_START_NS);
//! conn.handshake()
//!     .client_send(&req.to_bytes())
//!     .server_send(&http::response(404, "text/plain", b"no\n", 0, &[]))
//!     .close();
//! let frames: Vec<_> = conn.frames().iter().map(|f| vxlan_wrap(f, &mirror)).collect();
//! assert_eq!(frames.len(), 10);
//! let path = std::env::temp_dir().join("tapwatch-gen-doc.pcap");
//! write_pcap(&path, &frames)?;
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub mod app;
mod encap;
mod net;
mod pcap;
pub mod rng;
mod sample;
pub mod session;
mod tcp;
pub mod verify;
mod workload;

pub use encap::{
    flow_hash, geneve_wrap, truncate, vxlan_wrap, Mirror, GENEVE_OPT_CLASS_AWS, GENEVE_PORT,
    GENEVE_PROTO_ETHERNET, VXLAN_PORT,
};
pub use net::{fragment_frame, icmp_echo_frame, icmp_echo_reply_frame, mac_for, udp_frame, MAX_L4_PAYLOAD};
pub use pcap::{write_pcap, PcapWriter, LINKTYPE_ETHERNET, PCAP_MAGIC_MICROS, PCAP_MAGIC_NANOS};
pub use rng::Rng;
pub use sample::{sample, sample_mirrors, sid, SampleAttack, C2_DOMAIN, C2_IP, SAMPLE_ATTACKS, SAMPLE_GWLB};
pub use tcp::{SegMeta, TcpConn};
pub use workload::{workload, Workload, WorkloadOpts, WorkloadStats};

/// 2026-01-15T10:00:00Z in nanoseconds since the Unix epoch: where the sample
/// capture and the default workload start.
pub const SAMPLE_START_NS: u64 = 1_768_471_200 * NS_PER_SEC;

/// Nanoseconds per second.
pub const NS_PER_SEC: u64 = 1_000_000_000;
/// Nanoseconds per millisecond.
pub const NS_PER_MS: u64 = 1_000_000;
/// Nanoseconds per microsecond.
pub const NS_PER_US: u64 = 1_000;

/// One captured frame: the bytes present in the capture, the time it was
/// seen, and the length it had on the wire (`orig_len >= data.len()`; larger
/// when the frame was cut, e.g. by [`truncate`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// Captured bytes, starting with the Ethernet header.
    pub data: Vec<u8>,
    /// Length of the frame on the wire.
    pub orig_len: u32,
}

impl Frame {
    /// A complete (untruncated) frame.
    pub fn new(ts_ns: u64, data: Vec<u8>) -> Self {
        let orig_len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        Frame {
            ts_ns,
            data,
            orig_len,
        }
    }

    /// True when fewer bytes were captured than were on the wire.
    pub fn is_truncated(&self) -> bool {
        u64::from(self.orig_len) > self.data.len() as u64
    }

    /// Size of this frame's record in a classic pcap file (16-byte record
    /// header plus the captured bytes).
    pub fn pcap_record_len(&self) -> u64 {
        16 + self.data.len() as u64
    }
}
