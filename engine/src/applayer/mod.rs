//! The application layer: protocol detection and per-flow protocol state.
//!
//! Each flow owns an [`AppLayer`]. The worker feeds it the new in-order
//! bytes of each TCP direction (and tells it about gaps), or each UDP
//! payload. Until a protocol is known, [`detect`] probes the first bytes of
//! either direction by content; ports only decide which protocol to try
//! first, never the answer. Once known, the protocol's state machine
//! ([`http`], [`tls`], [`pgsql`], [`dns`]) takes parsed messages and builds
//! transactions; finished transactions wait in [`AppLayer::done`] for the
//! worker to log them.
//!
//! Stream and protocol code talk through [`Progress`]: bytes consumed, more
//! needed, or invalid (the direction then stops being parsed and an anomaly
//! is counted). Unconsumed bytes wait in a per-direction buffer bounded by
//! [`MAX_PENDING`].
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

pub mod buffers;
pub mod detect;
pub mod dns;
pub mod http;
pub mod pgsql;
pub mod tls;

use tapwatch_parsers::ParseError;

/// Most bytes held per direction while a message is incomplete.
pub const MAX_PENDING: usize = 256 * 1024;
/// Most finished transactions waiting to be logged per flow.
pub const MAX_DONE: usize = 256;

/// Which way data flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

impl Direction {
    /// `0` to server, `1` to client (index into per-direction arrays).
    pub fn idx(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }

    /// This direction's entry in a per-direction pair (to server first).
    fn of<T>(self, pair: &[T; 2]) -> &T {
        let [to_server, to_client] = pair;
        match self {
            Direction::ToServer => to_server,
            Direction::ToClient => to_client,
        }
    }

    /// This direction's entry in a per-direction pair, mutably.
    fn of_mut<T>(self, pair: &mut [T; 2]) -> &mut T {
        let [to_server, to_client] = pair;
        match self {
            Direction::ToServer => to_server,
            Direction::ToClient => to_client,
        }
    }
}

/// The detected application protocol of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AppProto {
    /// Not known yet.
    #[default]
    Unknown,
    /// HTTP/1.x
    Http,
    /// TLS
    Tls,
    /// PostgreSQL
    Pgsql,
    /// DNS
    Dns,
    /// Probed both ways and nothing matched.
    Failed,
}

impl AppProto {
    /// The name Suricata uses (`app_proto` in EVE, `app-layer-protocol`).
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            AppProto::Unknown => None,
            AppProto::Http => Some("http"),
            AppProto::Tls => Some("tls"),
            AppProto::Pgsql => Some("pgsql"),
            AppProto::Dns => Some("dns"),
            AppProto::Failed => Some("failed"),
        }
    }
}

/// Why a direction stopped being parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anomaly {
    /// The bytes broke the protocol.
    Malformed(&'static str),
    /// A message did not fit in [`MAX_PENDING`].
    TooLarge,
}

/// What a protocol parser made of the bytes it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Everything up to `consumed` was used; call again with the rest.
    Done {
        /// Bytes used.
        consumed: usize,
    },
    /// `consumed` bytes were used, and the next message needs at least
    /// `needed` more than what is left.
    NeedMore {
        /// Bytes used.
        consumed: usize,
        /// More bytes needed.
        needed: usize,
    },
    /// The direction cannot be parsed any further.
    Invalid(Anomaly),
}

impl Progress {
    /// Maps a parser error at offset `consumed`.
    pub fn from_error(e: ParseError, consumed: usize) -> Progress {
        match e {
            ParseError::Incomplete { needed } => Progress::NeedMore { consumed, needed },
            ParseError::Invalid(what) => Progress::Invalid(Anomaly::Malformed(what)),
        }
    }
}

/// A finished (or, at flow end or after a gap, partial) transaction.
#[derive(Clone, Debug)]
pub enum Tx {
    /// An HTTP request/response pair.
    Http(Box<http::HttpTx>),
    /// A TLS handshake.
    Tls(Box<tls::TlsTx>),
    /// A PostgreSQL request and its response.
    Pgsql(Box<pgsql::PgsqlTx>),
    /// A DNS query or response.
    Dns(Box<dns::DnsTx>),
    /// A protocol anomaly of a transaction (EVE `anomaly`, type `applayer`),
    /// logged just before the transaction itself.
    Anomaly(Box<AnomalyTx>),
}

/// An app-layer anomaly event, named as Suricata names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnomalyTx {
    /// Protocol (`http`).
    pub app_proto: &'static str,
    /// Event name (`MISSING_HOST_HEADER`).
    pub event: &'static str,
    /// The transaction it belongs to.
    pub tx_id: u64,
}

impl Tx {
    /// A borrowed view of the transaction.
    pub fn as_ref(&self) -> buffers::TxRef<'_> {
        match self {
            Tx::Http(t) => buffers::TxRef::Http(t),
            Tx::Tls(t) => buffers::TxRef::Tls(t),
            Tx::Pgsql(t) => buffers::TxRef::Pgsql(t),
            Tx::Dns(t) => buffers::TxRef::Dns(t),
            Tx::Anomaly(t) => buffers::TxRef::Anomaly(t),
        }
    }
}

/// A transaction ready to log, with the time of the packet that ended it.
#[derive(Clone, Debug)]
pub struct DoneTx {
    /// The transaction.
    pub tx: Tx,
    /// Packet time (ns) and capture index of the packet that completed it.
    pub ts_ns: u64,
    /// Capture index of that packet.
    pub pcap_cnt: u64,
}

/// The protocol state a flow carries once its protocol is known.
#[derive(Clone, Debug, Default)]
pub enum State {
    /// Nothing yet.
    #[default]
    None,
    /// HTTP/1.x
    Http(Box<http::HttpState>),
    /// TLS
    Tls(Box<tls::TlsState>),
    /// PostgreSQL
    Pgsql(Box<pgsql::PgsqlState>),
    /// DNS over TCP (UDP needs no stream state)
    DnsTcp(Box<dns::DnsState>),
    /// DNS over UDP
    DnsUdp(Box<dns::DnsState>),
}

/// Per-flow application-layer state. Creating one allocates nothing.
#[derive(Clone, Debug, Default)]
pub struct AppLayer {
    /// Detected protocol.
    pub proto: AppProto,
    /// Protocol state.
    pub state: State,
    /// Unconsumed bytes per direction.
    pending: [Vec<u8>; 2],
    /// The direction stopped being parsed.
    stopped: [bool; 2],
    /// Detection gave up on this direction.
    probe_failed: [bool; 2],
    /// Anomalies seen (malformed messages, oversized ones).
    pub anomalies: u32,
    /// Finished transactions to log.
    pub done: Vec<DoneTx>,
    /// Time and capture index of the packet being processed.
    now: (u64, u64),
    /// While alerting on a finished transaction: its index in `done`.
    pub alert_tx: Option<usize>,
    /// The protocol before a switch (HTTP CONNECT → TLS): Suricata's
    /// `app_proto_orig`.
    pub orig_proto: Option<AppProto>,
    /// Server port, the detection hint when the protocol changes.
    port_hint: u16,
    /// Protocol switches so far (bounded: a tunnel in a tunnel in ...).
    switches: u8,
    /// The connection left HTTP for something not read (101): no gap
    /// brings parsing back.
    opaque: bool,
    /// HTTP ended on this packet; the next one starts the new protocol
    /// (so this packet's transactions are still matched as HTTP).
    switch: Option<http::Switch>,
    /// Which HTTP bodies new HTTP states keep (the worker's rules decide).
    bodies: Bodies,
}

/// Which HTTP message bodies are kept for the rules. A body no rule reads
/// (`http.request_body`; `http.response_body`, `file.data`) is counted but
/// not stored, as Suricata buffers bodies only for rules that inspect them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bodies {
    pub request: bool,
    pub response: bool,
}

impl Default for Bodies {
    fn default() -> Bodies {
        Bodies {
            request: true,
            response: true,
        }
    }
}

/// Most protocol switches per flow.
const MAX_SWITCHES: u8 = 4;

impl Direction {
    /// The other direction.
    pub fn other(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
}

impl AppLayer {
    /// Forget everything (flow slot reuse); keeps buffer capacity.
    pub fn reset(&mut self) {
        self.proto = AppProto::Unknown;
        self.state = State::None;
        for p in &mut self.pending {
            p.clear();
        }
        self.stopped = [false; 2];
        self.probe_failed = [false; 2];
        self.anomalies = 0;
        self.done.clear();
        self.orig_proto = None;
        self.port_hint = 0;
        self.switches = 0;
        self.opaque = false;
        self.switch = None;
    }

    /// Records the packet being processed (for the timestamps of finished
    /// transactions).
    pub fn set_now(&mut self, ts_ns: u64, pcap_cnt: u64) {
        self.now = (ts_ns, pcap_cnt);
    }

    /// Which bodies an HTTP state started from now on keeps.
    pub fn set_bodies(&mut self, bodies: Bodies) {
        self.bodies = bodies;
    }

    /// New in-order TCP bytes in direction `dir`. `gap_before`: bytes went
    /// missing before `data`; `gap_after`: bytes announced after `data` were
    /// cut off (mirror truncation). `server_port` is a detection hint.
    pub fn on_stream(
        &mut self,
        dir: Direction,
        data: &[u8],
        gap_before: bool,
        gap_after: bool,
        server_port: u16,
    ) {
        let d = dir;
        self.port_hint = server_port;
        if let Some(sw) = self.switch.take() {
            self.http_switch(dir, sw);
        }
        if gap_before {
            self.on_gap(dir);
        }
        let mut absorbed = false;
        if self.proto == AppProto::Unknown && !data.is_empty() && !gap_before {
            absorbed = self.detect_tcp(dir, data, server_port);
        }
        if !*d.of(&self.stopped) && self.has_stream_state() {
            self.feed(dir, if absorbed { &[] } else { data });
        }
        if gap_after {
            self.on_gap(dir);
        }
    }

    /// One UDP payload in direction `dir`.
    pub fn on_datagram(&mut self, dir: Direction, data: &[u8], server_port: u16) {
        if self.proto == AppProto::Unknown {
            match detect::probe_udp(data, server_port) {
                detect::Probe::Match(AppProto::Dns) => {
                    self.proto = AppProto::Dns;
                    self.state = State::DnsUdp(Box::default());
                }
                _ => {
                    *dir.of_mut(&mut self.probe_failed) = true;
                    if self.probe_failed == [true, true] {
                        self.proto = AppProto::Failed;
                    }
                }
            }
        }
        let now = self.now;
        if let State::DnsUdp(s) = &mut self.state {
            if s.on_datagram(dir, data, now, &mut self.done).is_err() {
                self.anomalies += 1;
            }
        }
    }

    /// End of flow: everything still open is logged as it stands.
    pub fn on_flow_end(&mut self) {
        let now = self.now;
        match &mut self.state {
            State::Http(s) => s.finish(now, &mut self.done),
            State::Tls(s) => s.finish(now, &mut self.done),
            State::Pgsql(s) => s.finish(now, &mut self.done),
            State::DnsTcp(s) | State::DnsUdp(s) => s.finish(now, &mut self.done),
            State::None => {}
        }
    }

    /// The current (latest) transaction, for the app-layer object in alerts.
    pub fn current_tx(&self) -> Option<buffers::TxRef<'_>> {
        if let Some(d) = self.alert_tx.and_then(|i| self.done.get(i)) {
            return Some(d.tx.as_ref());
        }
        match &self.state {
            State::Http(s) => s.current().map(buffers::TxRef::Http),
            State::Tls(s) => Some(buffers::TxRef::Tls(s.tx())),
            State::Pgsql(s) => s.current().map(buffers::TxRef::Pgsql),
            State::DnsTcp(s) | State::DnsUdp(s) => s.current().map(buffers::TxRef::Dns),
            State::None => None,
        }
    }

    /// The flow's payload is encrypted from here on (a TLS session past
    /// its handshake): raw content inspection has nothing left to find.
    pub fn is_encrypted(&self) -> bool {
        matches!(&self.state, State::Tls(s) if s.is_encrypted())
    }

    fn has_stream_state(&self) -> bool {
        matches!(
            self.state,
            State::Http(_) | State::Tls(_) | State::Pgsql(_) | State::DnsTcp(_)
        )
    }

    /// Probes `dir` for its protocol. Returns whether `data` was absorbed
    /// into the pending buffer (the first bytes may span segments).
    fn detect_tcp(&mut self, dir: Direction, data: &[u8], server_port: u16) -> bool {
        let d = dir;
        if *d.of(&self.probe_failed) {
            return false;
        }
        let absorbed = !d.of(&self.pending).is_empty();
        if absorbed {
            d.of_mut(&mut self.pending).extend_from_slice(data);
        }
        let buf: &[u8] = if absorbed {
            d.of(&self.pending).as_slice()
        } else {
            data
        };
        match detect::probe_tcp(dir, buf, server_port) {
            detect::Probe::Match(proto) => {
                self.proto = proto;
                self.state = match proto {
                    AppProto::Http => State::Http(Box::new(http::HttpState::keeping(self.bodies))),
                    AppProto::Tls => {
                        let mut t = tls::TlsState::default();
                        t.set_from_proto(self.orig_proto.and_then(AppProto::as_str));
                        State::Tls(Box::new(t))
                    }
                    AppProto::Pgsql => State::Pgsql(Box::default()),
                    AppProto::Dns => State::DnsTcp(Box::default()),
                    _ => State::None,
                };
            }
            detect::Probe::NeedMore if buf.len() < detect::MAX_PROBE => {
                if !absorbed {
                    d.of_mut(&mut self.pending).extend_from_slice(data);
                }
                return true;
            }
            detect::Probe::NeedMore | detect::Probe::NoMatch => self.probe_fail(d),
        }
        absorbed
    }

    fn probe_fail(&mut self, d: Direction) {
        *d.of_mut(&mut self.probe_failed) = true;
        d.of_mut(&mut self.pending).clear();
        if self.probe_failed == [true, true] {
            self.proto = AppProto::Failed;
        }
    }

    /// Runs the protocol parser over pending + `data`, keeping the rest.
    fn feed(&mut self, dir: Direction, data: &[u8]) {
        let d = dir;
        let now = self.now;
        let mut pend = std::mem::take(d.of_mut(&mut self.pending));
        let use_pending = !pend.is_empty();
        if use_pending {
            if pend.len() + data.len() > MAX_PENDING {
                self.stop(d, Anomaly::TooLarge);
                pend.clear();
                *d.of_mut(&mut self.pending) = pend;
                return;
            }
            pend.extend_from_slice(data);
        }
        let buf: &[u8] = if use_pending { &pend } else { data };
        let mut off = 0usize;
        // Each round consumes bytes, asks for more, or (at most a few times
        // in a row) changes phase without consuming; the bound makes sure.
        for _ in 0..buf.len() + 8 {
            let chunk = buf.get(off..).unwrap_or_default();
            let prog = match &mut self.state {
                State::Http(s) => s.parse(dir, chunk, now, &mut self.done),
                State::Tls(s) => s.parse(dir, chunk, now, &mut self.done),
                State::Pgsql(s) => s.parse(dir, chunk, now, &mut self.done),
                State::DnsTcp(s) => s.parse_tcp(dir, chunk, now, &mut self.done),
                _ => Progress::Done {
                    consumed: chunk.len(),
                },
            };
            match prog {
                Progress::Done { consumed } => {
                    off = (off + consumed).min(buf.len());
                    if off >= buf.len() {
                        break;
                    }
                }
                Progress::NeedMore { consumed, .. } => {
                    off = (off + consumed).min(buf.len());
                    break;
                }
                Progress::Invalid(a) => {
                    self.stop(d, a);
                    off = buf.len();
                    break;
                }
            }
        }
        let rest_from = off;
        let mut resume_request = false;
        if let State::Http(s) = &mut self.state {
            self.anomalies += std::mem::take(&mut s.events);
            resume_request = std::mem::take(&mut s.resume_request);
            self.switch = self.switch.or(s.switch.take());
        }
        // PostgreSQL's SSLRequest was accepted: TLS follows on both sides.
        if let State::Pgsql(s) = &self.state {
            if s.tls_switch {
                self.state = State::Tls(Box::default());
                self.pending = Default::default();
                return;
            }
        }
        let rest = buf.get(rest_from..).unwrap_or_default();
        if rest.len() > MAX_PENDING {
            self.stop(d, Anomaly::TooLarge);
        }
        let keep: Vec<u8> = if *d.of(&self.stopped) || rest.is_empty() {
            Vec::new()
        } else if use_pending {
            let n = rest_from;
            pend.drain(..n);
            std::mem::take(&mut pend)
        } else {
            rest.to_vec()
        };
        *d.of_mut(&mut self.pending) = keep;
        if self.done.len() > MAX_DONE {
            let extra = self.done.len() - MAX_DONE;
            self.done.drain(..extra);
            self.anomalies += 1;
        }
        // A refused CONNECT: the requests held meanwhile are parsed now.
        if resume_request && dir == Direction::ToClient && !Direction::ToServer.of(&self.pending).is_empty() {
            self.feed(Direction::ToServer, &[]);
        }
    }

    /// The connection leaves HTTP after a CONNECT's 2xx (what follows is
    /// detected afresh, as Suricata does) or a 101 (nothing more is read).
    /// Called with the next bytes, in `dir`: the bytes the other direction
    /// holds are detected here, those of `dir` by the caller.
    fn http_switch(&mut self, dir: Direction, sw: http::Switch) {
        let now = self.now;
        if let State::Http(s) = &mut self.state {
            s.finish(now, &mut self.done);
        }
        if sw == http::Switch::Opaque || self.switches >= MAX_SWITCHES {
            self.pending = Default::default();
            self.stopped = [true, true];
            self.opaque = true;
            return;
        }
        self.switches += 1;
        self.orig_proto = Some(self.proto);
        self.proto = AppProto::Unknown;
        self.state = State::None;
        self.probe_failed = [false; 2];
        self.stopped = [false; 2];
        let held = std::mem::take(dir.other().of_mut(&mut self.pending));
        self.redetect(dir.other(), &held);
    }

    /// Detects and parses bytes that arrived before a protocol switch.
    fn redetect(&mut self, dir: Direction, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut absorbed = false;
        if self.proto == AppProto::Unknown {
            absorbed = self.detect_tcp(dir, data, self.port_hint);
        }
        if !*dir.of(&self.stopped) && self.has_stream_state() {
            self.feed(dir, if absorbed { &[] } else { data });
        }
    }

    fn stop(&mut self, d: Direction, _a: Anomaly) {
        *d.of_mut(&mut self.stopped) = true;
        self.anomalies += 1;
    }

    /// Bytes went missing in `dir`: hand the partial message to the state
    /// (it logs what it could see) and resynchronise on the next message.
    fn on_gap(&mut self, dir: Direction) {
        let d = dir;
        let pend = std::mem::take(d.of_mut(&mut self.pending));
        let now = self.now;
        match &mut self.state {
            State::Http(s) => s.on_gap(dir, &pend, now, &mut self.done),
            State::Tls(s) => s.on_gap(dir),
            State::Pgsql(s) => s.on_gap(dir, &pend, now, &mut self.done),
            State::DnsTcp(s) => s.on_gap(dir),
            _ => {}
        }
        let mut pend = pend;
        pend.clear();
        *d.of_mut(&mut self.pending) = pend;
        *d.of_mut(&mut self.stopped) = self.opaque;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seeds() -> Vec<Vec<u8>> {
        vec![
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc".to_vec(),
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".to_vec(),
            vec![22, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0],
            vec![0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f],
            b"Q\0\0\0\x0eSELECT 1;\0".to_vec(),
        ]
    }

    /// A TLS session fed in small pieces: records whose fragment is not
    /// read (application data, alerts, encrypted handshake) are passed
    /// over as they come, never gathered whole, and the session is logged
    /// once, whatever the cuts.
    #[test]
    fn tls_records_not_read_are_never_buffered() {
        use tapwatch_gen::app::tls as g;
        let mut rng = tapwatch_gen::Rng::new(7);
        let hellos = [
            g::client_hello(&[1; 32], &[], "example.com", &["h2"]),
            g::server_hello(&[2; 32], &[], 0xc02f, Some("h2")),
        ];
        let client = [
            hellos[0].clone(),
            g::change_cipher_spec(),
            g::encrypted_finished(&mut rng),
            g::application_data(&mut rng, 40_000),
        ]
        .concat();
        let server = [
            hellos[1].clone(),
            g::change_cipher_spec(),
            g::encrypted_finished(&mut rng),
            g::application_data(&mut rng, 70_000),
            g::encrypted_alert(&mut rng),
        ]
        .concat();
        for cut in [1usize, 7, 536, 1448, 100_000] {
            let mut app = AppLayer::default();
            let mut at = [0usize; 2];
            while at[0] < client.len() || at[1] < server.len() {
                for (i, dir, data) in [
                    (0, Direction::ToServer, &client),
                    (1, Direction::ToClient, &server),
                ] {
                    let end = (at[i] + cut).min(data.len());
                    if end > at[i] {
                        app.on_stream(dir, &data[at[i]..end], false, false, 443);
                    }
                    at[i] = end;
                    if end >= hellos[i].len() {
                        // Past its hello at most a record header (or an
                        // unfinished ChangeCipherSpec) waits.
                        assert!(app.pending[i].len() <= 5, "cut {cut} at {end}");
                    }
                }
            }
            assert_eq!(app.proto, AppProto::Tls, "cut {cut}");
            assert!(app.is_encrypted(), "cut {cut}");
            assert_eq!(app.anomalies, 0, "cut {cut}");
            let tls = app.done.iter().filter(|t| matches!(t.tx, Tx::Tls(_))).count();
            assert_eq!(tls, 1, "cut {cut}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Arbitrary bytes after a valid start, cut anywhere, with gaps,
        /// in both directions: never a panic, pending stays bounded.
        #[test]
        fn never_panics_on_streams(
            seed in 0usize..5,
            tail in proptest::collection::vec(any::<u8>(), 0..400),
            cuts in proptest::collection::vec((1usize..64, any::<bool>(), any::<bool>()), 1..12),
        ) {
            let mut data = seeds()[seed].clone();
            data.extend_from_slice(&tail);
            let mut app = AppLayer::default();
            let mut off = 0;
            for (n, to_server, gap) in cuts {
                let end = (off + n).min(data.len());
                let dir = if to_server { Direction::ToServer } else { Direction::ToClient };
                app.on_stream(dir, &data[off..end], gap, false, 80);
                off = end;
                prop_assert!(app.pending.iter().all(|p| p.len() <= MAX_PENDING));
            }
            app.on_flow_end();
            let _ = app.current_tx();
            prop_assert!(app.done.len() <= MAX_DONE + 64);
        }

        #[test]
        fn never_panics_on_datagrams(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut app = AppLayer::default();
            app.on_datagram(Direction::ToServer, &data, 53);
            app.on_datagram(Direction::ToClient, &data, 53);
            app.on_flow_end();
        }
    }
}
