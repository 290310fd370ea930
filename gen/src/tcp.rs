//! One TCP connection, seen from a mirror: handshake, data with ACKs, close.

use std::net::SocketAddr;

use etherparse::TcpHeader;

use crate::net::{ip_step, same_family_sock, MAX_L4_PAYLOAD};
use crate::rng::{hash_bytes, mix64, Rng};
use crate::{Frame, NS_PER_MS};

/// Segments a sender puts on the wire before waiting for ACKs (a typical
/// initial congestion window).
const BURST: usize = 10;

/// What one frame of a [`TcpConn`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegMeta {
    /// Sent by the client (the side that opened the connection).
    pub from_client: bool,
    /// TCP payload bytes carried.
    pub payload_len: usize,
}

#[derive(Clone, Copy, Default)]
struct Flags {
    syn: bool,
    ack: bool,
    fin: bool,
    psh: bool,
    rst: bool,
}

#[derive(Clone, Debug)]
struct Side {
    addr: SocketAddr,
    /// Next sequence number this side sends.
    seq: u32,
    ip_id: u16,
    ttl: u8,
    window: u16,
    ts_base: u32,
    last_tsval: u32,
}

/// Builder for one TCP connection between a client and a server, as Ethernet
/// frames with valid IP and TCP checksums. Every call appends frames at
/// increasing timestamps; [`TcpConn::frames`] returns them.
///
/// Timing model (as seen at the mirror point): a reply or ACK follows the
/// segment it answers by the round-trip time ([`TcpConn::with_rtt`], 200 µs
/// by default); back-to-back segments from one sender are a gap apart
/// ([`TcpConn::with_gap`], 15 µs). Think time is added with
/// [`TcpConn::pause`].
///
/// Both sides use Linux-like options: the SYN and SYN/ACK carry MSS, SACK
/// permitted, timestamps and window scale; other segments carry timestamps.
#[derive(Clone, Debug)]
pub struct TcpConn {
    client: Side,
    server: Side,
    now: u64,
    rtt_ns: u64,
    gap_ns: u64,
    timestamps: bool,
    frames: Vec<Frame>,
    meta: Vec<SegMeta>,
}

impl TcpConn {
    /// A connection whose first packet is sent at `start_ts_ns`. Initial
    /// sequence numbers and IP identifications derive from the endpoints and
    /// the start time, so the same arguments give the same bytes.
    pub fn new(client: SocketAddr, server: SocketAddr, start_ts_ns: u64) -> Self {
        let (client, server) = same_family_sock(client, server);
        let key = format!("{client}>{server}@{start_ts_ns}");
        let mut r = Rng::new(hash_bytes(key.as_bytes()));
        let side = |addr, r: &mut Rng| Side {
            addr,
            seq: r.next_u32(),
            ip_id: r.next_u16(),
            ttl: 64,
            window: 502,
            ts_base: r.next_u32(),
            last_tsval: 0,
        };
        let client = side(client, &mut r);
        let mut server = side(server, &mut r);
        server.window = 509;
        TcpConn {
            client,
            server,
            now: start_ts_ns,
            rtt_ns: 200_000,
            gap_ns: 15_000,
            timestamps: true,
            frames: Vec::new(),
            meta: Vec::new(),
        }
    }

    /// Round-trip time between a segment and its answer.
    pub fn with_rtt(&mut self, rtt_ns: u64) -> &mut Self {
        self.rtt_ns = rtt_ns;
        self
    }

    /// Spacing between back-to-back segments from one sender.
    pub fn with_gap(&mut self, gap_ns: u64) -> &mut Self {
        self.gap_ns = gap_ns;
        self
    }

    /// IP TTL / hop limit of the client's and the server's packets.
    pub fn with_ttl(&mut self, client: u8, server: u8) -> &mut Self {
        self.client.ttl = client;
        self.server.ttl = server;
        self
    }

    /// Initial sequence numbers (call before [`TcpConn::handshake`]).
    pub fn with_isn(&mut self, client: u32, server: u32) -> &mut Self {
        self.client.seq = client;
        self.server.seq = server;
        self
    }

    /// Turns the TCP timestamps option on or off (on by default).
    pub fn with_timestamps(&mut self, on: bool) -> &mut Self {
        self.timestamps = on;
        self
    }

    /// Time of the last frame (or the start time before any frame).
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Lets `ns` pass (think time between requests).
    pub fn pause(&mut self, ns: u64) -> &mut Self {
        self.now = self.now.saturating_add(ns);
        self
    }

    /// Client and server addresses (same family).
    pub fn endpoints(&self) -> (SocketAddr, SocketAddr) {
        (self.client.addr, self.server.addr)
    }

    /// Next sequence numbers of client and server.
    pub fn next_seqs(&self) -> (u32, u32) {
        (self.client.seq, self.server.seq)
    }

    /// SYN, SYN/ACK, ACK.
    pub fn handshake(&mut self) -> &mut Self {
        let t0 = self.now;
        self.push(
            true,
            Flags {
                syn: true,
                ..Flags::default()
            },
            &[],
            t0,
        );
        self.client.seq = self.client.seq.wrapping_add(1);
        let t1 = t0.saturating_add(self.rtt_ns);
        self.push(
            false,
            Flags {
                syn: true,
                ack: true,
                ..Flags::default()
            },
            &[],
            t1,
        );
        self.server.seq = self.server.seq.wrapping_add(1);
        let t2 = t1.saturating_add(self.rtt_ns);
        self.push(
            true,
            Flags {
                ack: true,
                ..Flags::default()
            },
            &[],
            t2,
        );
        self
    }

    /// `data` from the client in one segment (longer data than
    /// [`MAX_L4_PAYLOAD`] is split), then the server's ACK.
    pub fn client_send(&mut self, data: &[u8]) -> &mut Self {
        self.send(true, data, MAX_L4_PAYLOAD)
    }

    /// `data` from the server in one segment, then the client's ACK.
    pub fn server_send(&mut self, data: &[u8]) -> &mut Self {
        self.send(false, data, MAX_L4_PAYLOAD)
    }

    /// `data` from the client cut into segments of at most `mss` bytes, sent
    /// in bursts of ten with an ACK for every second segment.
    pub fn client_send_segments(&mut self, data: &[u8], mss: usize) -> &mut Self {
        self.send(true, data, mss)
    }

    /// `data` from the server cut into segments of at most `mss` bytes.
    pub fn server_send_segments(&mut self, data: &[u8], mss: usize) -> &mut Self {
        self.send(false, data, mss)
    }

    /// Client FIN/ACK, server FIN/ACK, client ACK.
    pub fn close(&mut self) -> &mut Self {
        self.fin_exchange(true)
    }

    /// Server FIN/ACK, client FIN/ACK, server ACK (server closes first, as an
    /// HTTP server does on `Connection: close`).
    pub fn server_close(&mut self) -> &mut Self {
        self.fin_exchange(false)
    }

    /// A RST/ACK from the client (an aborted connection).
    pub fn client_reset(&mut self) -> &mut Self {
        let t = self.now.saturating_add(self.gap_ns);
        self.push(
            true,
            Flags {
                rst: true,
                ack: true,
                ..Flags::default()
            },
            &[],
            t,
        );
        self
    }

    /// The frames so far.
    pub fn frames(&self) -> Vec<Frame> {
        self.frames.clone()
    }

    /// The frames so far, without copying.
    pub fn into_frames(self) -> Vec<Frame> {
        self.frames
    }

    /// Direction and payload length of each frame, index for index.
    pub fn meta(&self) -> &[SegMeta] {
        &self.meta
    }

    /// Swaps adjacent data segments of one direction with probability
    /// `permille / 1000` per pair, keeping the timestamps in place: the
    /// capture then shows segment N+1 before segment N, as a mirror under
    /// load sometimes does. Handshake and close frames are never moved.
    pub fn reorder(&mut self, rng: &mut Rng, permille: u32) -> &mut Self {
        let n = self.frames.len();
        let mut i = 0;
        while i + 1 < n {
            let (a, b) = (self.meta[i], self.meta[i + 1]);
            if a.payload_len > 0
                && b.payload_len > 0
                && a.from_client == b.from_client
                && rng.chance_permille(permille)
            {
                let (ta, tb) = (self.frames[i].ts_ns, self.frames[i + 1].ts_ns);
                self.frames.swap(i, i + 1);
                self.meta.swap(i, i + 1);
                self.frames[i].ts_ns = ta;
                self.frames[i + 1].ts_ns = tb;
                i += 2;
            } else {
                i += 1;
            }
        }
        self
    }

    fn fin_exchange(&mut self, client_first: bool) -> &mut Self {
        let t0 = self.now.saturating_add(self.gap_ns);
        let fin = Flags {
            fin: true,
            ack: true,
            ..Flags::default()
        };
        self.push(client_first, fin, &[], t0);
        self.side_mut(client_first).seq = self.side(client_first).seq.wrapping_add(1);
        let t1 = t0.saturating_add(self.rtt_ns);
        self.push(!client_first, fin, &[], t1);
        self.side_mut(!client_first).seq = self.side(!client_first).seq.wrapping_add(1);
        let t2 = t1.saturating_add(self.rtt_ns);
        self.push(
            client_first,
            Flags {
                ack: true,
                ..Flags::default()
            },
            &[],
            t2,
        );
        self
    }

    fn send(&mut self, from_client: bool, data: &[u8], mss: usize) -> &mut Self {
        if data.is_empty() {
            return self;
        }
        let mss = mss.clamp(1, MAX_L4_PAYLOAD);
        let chunks: Vec<&[u8]> = data.chunks(mss).collect();
        let last = chunks.len() - 1;
        let mut t = self.now;
        for (bi, burst) in chunks.chunks(BURST).enumerate() {
            let mut ends = Vec::with_capacity(burst.len());
            for (j, chunk) in burst.iter().enumerate() {
                t = t.saturating_add(self.gap_ns);
                let psh = bi * BURST + j == last;
                let flags = Flags {
                    ack: true,
                    psh,
                    ..Flags::default()
                };
                self.push(from_client, flags, chunk, t);
                let s = self.side_mut(from_client);
                s.seq = s.seq.wrapping_add(chunk.len() as u32);
                ends.push(s.seq);
            }
            // Delayed ACKs: one per two segments, plus one for an odd tail.
            let mut ta = t.saturating_add(self.rtt_ns);
            for (k, &end) in ends.iter().enumerate() {
                if k % 2 == 1 || k + 1 == ends.len() {
                    self.push_ack_to(from_client, end, ta);
                    ta = ta.saturating_add(self.gap_ns);
                }
            }
            t = ta.saturating_sub(self.gap_ns).max(t);
        }
        self
    }

    /// The peer of `data_from_client` acknowledges up to `ack`.
    fn push_ack_to(&mut self, data_from_client: bool, ack: u32, ts: u64) {
        self.push_full(
            !data_from_client,
            Flags {
                ack: true,
                ..Flags::default()
            },
            &[],
            ts,
            Some(ack),
        );
    }

    fn side(&self, client: bool) -> &Side {
        if client {
            &self.client
        } else {
            &self.server
        }
    }

    fn side_mut(&mut self, client: bool) -> &mut Side {
        if client {
            &mut self.client
        } else {
            &mut self.server
        }
    }

    fn push(&mut self, from_client: bool, flags: Flags, payload: &[u8], ts: u64) {
        self.push_full(from_client, flags, payload, ts, None);
    }

    fn push_full(&mut self, from_client: bool, flags: Flags, payload: &[u8], ts: u64, ack: Option<u32>) {
        let peer_seq = self.side(!from_client).seq;
        let peer_tsval = self.side(!from_client).last_tsval;
        let timestamps = self.timestamps;
        let s = self.side_mut(from_client);
        let tsval = s.ts_base.wrapping_add((ts / NS_PER_MS) as u32);
        s.last_tsval = tsval;
        s.ip_id = s.ip_id.wrapping_add(1);
        let (src, ttl, ip_id, seq, window) = (s.addr, s.ttl, s.ip_id, s.seq, s.window);
        let dst = self.side(!from_client).addr;

        let mut h = TcpHeader::new(
            src.port(),
            dst.port(),
            seq,
            if flags.syn { 64_240 } else { window },
        );
        h.syn = flags.syn;
        h.fin = flags.fin;
        h.psh = flags.psh;
        h.rst = flags.rst;
        if flags.ack {
            h.ack = true;
            h.acknowledgment_number = ack.unwrap_or(peer_seq);
        }
        let tsecr = if flags.syn && !flags.ack { 0 } else { peer_tsval };
        let mut opts: Vec<u8> = Vec::with_capacity(20);
        if flags.syn {
            let mss: u16 = if src.is_ipv4() { 1460 } else { 1440 };
            opts.extend_from_slice(&[2, 4]);
            opts.extend_from_slice(&mss.to_be_bytes());
            opts.extend_from_slice(&[4, 2]);
            if timestamps {
                opts.extend_from_slice(&[8, 10]);
                opts.extend_from_slice(&tsval.to_be_bytes());
                opts.extend_from_slice(&tsecr.to_be_bytes());
            } else {
                opts.extend_from_slice(&[1, 1]);
            }
            opts.extend_from_slice(&[1, 3, 3, 7]);
        } else if timestamps {
            opts.extend_from_slice(&[1, 1, 8, 10]);
            opts.extend_from_slice(&tsval.to_be_bytes());
            opts.extend_from_slice(&tsecr.to_be_bytes());
        }
        // Options are at most 20 bytes and a multiple of 4: always accepted.
        let _ = h.set_options_raw(&opts);

        let payload = &payload[..payload.len().min(MAX_L4_PAYLOAD)];
        let ident = if src.is_ipv4() {
            ip_id
        } else {
            (mix64(u64::from(s_hash(src))) >> 44) as u16
        };
        let b = ip_step(src.ip(), dst.ip(), ttl, ident, true).tcp_header(h);
        let mut data = Vec::with_capacity(b.size(payload.len()));
        if b.write_to_vec(&mut data, payload).is_err() {
            data.clear();
        }
        self.frames.push(Frame::new(ts, data));
        self.meta.push(SegMeta {
            from_client,
            payload_len: payload.len(),
        });
        self.now = self.now.max(ts);
    }
}

fn s_hash(a: SocketAddr) -> u32 {
    (hash_bytes(a.to_string().as_bytes()) >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{check_frame, Transport};

    fn conn() -> TcpConn {
        TcpConn::new(
            "198.51.100.10:51514".parse().unwrap(),
            "10.0.1.5:80".parse().unwrap(),
            1_000_000,
        )
    }

    fn tcp_fields(f: &Frame) -> (u32, u32, bool, bool, bool, usize) {
        let p = etherparse::SlicedPacket::from_ethernet(&f.data).unwrap();
        match p.transport {
            Some(etherparse::TransportSlice::Tcp(t)) => (
                t.sequence_number(),
                t.acknowledgment_number(),
                t.syn(),
                t.ack(),
                t.fin(),
                t.payload().len(),
            ),
            _ => panic!("not tcp"),
        }
    }

    #[test]
    fn handshake_data_close_sequence_numbers_line_up() {
        let mut c = conn();
        c.handshake()
            .client_send(b"GET / HTTP/1.1\r\n\r\n")
            .server_send(b"HTTP/1.1 200 OK\r\n\r\n")
            .close();
        let fr = c.frames();
        assert_eq!(fr.len(), 3 + 2 + 2 + 3);
        for f in &fr {
            check_frame(&f.data).unwrap();
        }
        let (cisn, _, syn, ack, _, _) = tcp_fields(&fr[0]);
        assert!(syn && !ack);
        let (sisn, a1, syn, ack, _, _) = tcp_fields(&fr[1]);
        assert!(syn && ack);
        assert_eq!(a1, cisn.wrapping_add(1));
        let (s2, a2, _, _, _, _) = tcp_fields(&fr[2]);
        assert_eq!((s2, a2), (cisn.wrapping_add(1), sisn.wrapping_add(1)));
        let (s3, _, _, _, _, n3) = tcp_fields(&fr[3]);
        assert_eq!((s3, n3), (cisn.wrapping_add(1), 18));
        let (_, a4, _, _, _, _) = tcp_fields(&fr[4]);
        assert_eq!(a4, cisn.wrapping_add(19));
        let (s5, _, _, _, _, n5) = tcp_fields(&fr[5]);
        assert_eq!((s5, n5), (sisn.wrapping_add(1), 19));
        let (sf, _, _, _, fin, _) = tcp_fields(&fr[7]);
        assert!(fin);
        assert_eq!(sf, cisn.wrapping_add(19));
        let (_, af, _, _, fin2, _) = tcp_fields(&fr[8]);
        assert!(fin2);
        assert_eq!(af, cisn.wrapping_add(20));
        let (_, alast, _, _, _, _) = tcp_fields(&fr[9]);
        assert_eq!(alast, sisn.wrapping_add(21));
        assert!(
            fr.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns),
            "timestamps are monotonic"
        );
    }

    #[test]
    fn segments_cover_the_data_exactly_and_get_acked() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut c = conn();
        c.handshake().server_send_segments(&data, 1448);
        let fr = c.frames();
        let mut got = Vec::new();
        let mut last_ack = 0;
        let (_, sisn) = (0, tcp_fields(&fr[1]).0);
        for (f, m) in fr.iter().zip(c.meta()).skip(3) {
            let sum = check_frame(&f.data).unwrap();
            if m.from_client {
                last_ack = tcp_fields(f).1;
            } else {
                got.extend_from_slice(&sum.inner.payload);
                assert!(m.payload_len <= 1448);
            }
        }
        assert_eq!(got, data);
        assert_eq!(
            last_ack,
            sisn.wrapping_add(1 + 10_000),
            "final ACK covers everything"
        );
        assert!(fr.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns));
    }

    #[test]
    fn ipv6_connection() {
        let mut c = TcpConn::new(
            "[2001:db8:beef::20]:50000".parse().unwrap(),
            "[2001:db8:10:1::5]:80".parse().unwrap(),
            0,
        );
        c.handshake().client_send(b"x").close();
        for f in c.frames() {
            let s = check_frame(&f.data).unwrap();
            assert!(matches!(s.inner.transport, Transport::Tcp { .. }));
            assert_eq!(&f.data[12..14], &[0x86, 0xdd]);
        }
    }

    #[test]
    fn deterministic_for_same_arguments() {
        let mut a = conn();
        a.handshake().client_send(b"abc").close();
        let mut b = conn();
        b.handshake().client_send(b"abc").close();
        assert_eq!(a.frames(), b.frames());
        let mut c = TcpConn::new(
            "198.51.100.10:51515".parse().unwrap(),
            "10.0.1.5:80".parse().unwrap(),
            1_000_000,
        );
        c.handshake();
        assert_ne!(
            tcp_fields(&a.frames()[0]).0,
            tcp_fields(&c.frames()[0]).0,
            "ISNs differ per connection"
        );
    }

    #[test]
    fn reorder_swaps_same_direction_data_only_and_keeps_time_order() {
        let data = vec![b'a'; 20 * 100];
        let mut c = conn();
        c.handshake().client_send_segments(&data, 100).close();
        let before = c.frames();
        let mut rng = Rng::new(3);
        c.reorder(&mut rng, 1000);
        let after = c.frames();
        assert_eq!(before.len(), after.len());
        assert_ne!(before, after);
        assert_eq!(before[..3], after[..3], "handshake untouched");
        assert!(after.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns));
        let seqs: Vec<u32> = after
            .iter()
            .zip(c.meta())
            .filter(|(_, m)| m.from_client && m.payload_len > 0)
            .map(|(f, _)| tcp_fields(f).0)
            .collect();
        assert!(seqs.windows(2).any(|w| w[1] < w[0]), "some segment arrives early");
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 20, "no segment lost or duplicated");
    }
}
