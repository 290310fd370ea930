//! HTTP/1.x transactions: one per request/response pair, in order, with
//! pipelining and keep-alive, Content-Length, chunked and close-delimited
//! bodies (kept up to [`REQUEST_BODY_LIMIT`]/[`RESPONSE_BODY_LIMIT`],
//! counted in full), 100-continue and HTTP/0.9.
//!
//! After a gap (loss, or a mirror-truncated segment) the message being
//! read is logged with what was visible, marked truncated, and the
//! direction resynchronises on the next request or status line.

pub mod content;

use std::collections::VecDeque;

use super::{AnomalyTx, Direction, DoneTx, Progress, Tx};
use tapwatch_parsers::http1::{self, Headers};
use tapwatch_parsers::ParseError;

/// Request body bytes kept for `http.request_body` (Suricata's default).
pub const REQUEST_BODY_LIMIT: usize = 100 * 1024;
/// Response body bytes kept for `http.response_body` and `file.data`.
pub const RESPONSE_BODY_LIMIT: usize = 100 * 1024;
/// Most open transactions per flow (pipelined requests awaiting answers).
pub const MAX_OPEN_TX: usize = 64;

/// The header fields of one message, in order, folded values joined by
/// one space. Names and values share one buffer: two allocations per
/// message rather than two per field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderList {
    bytes: Vec<u8>,
    /// Per field, where its name and its value end in `bytes`; a field
    /// starts where the one before it ended.
    ends: Vec<(usize, usize)>,
}

impl HeaderList {
    /// Append a field; `value` writes its value.
    pub fn push_with(&mut self, name: &[u8], value: impl FnOnce(&mut Vec<u8>)) {
        self.bytes.extend_from_slice(name);
        let name_end = self.bytes.len();
        value(&mut self.bytes);
        self.ends.push((name_end, self.bytes.len()));
    }

    /// The fields, as (name, value).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + Clone + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|&(_, v)| v));
        starts.zip(&self.ends).map(|(start, &(n, v))| {
            (
                self.bytes.get(start..n).unwrap_or_default(),
                self.bytes.get(n..v).unwrap_or_default(),
            )
        })
    }

    /// The first field with this name (case-insensitive).
    pub fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl<N: AsRef<[u8]>, V: AsRef<[u8]>> FromIterator<(N, V)> for HeaderList {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(fields: I) -> HeaderList {
        let mut h = HeaderList::default();
        for (n, v) in fields {
            h.push_with(n.as_ref(), |b| b.extend_from_slice(v.as_ref()));
        }
        h
    }
}

/// One request/response pair.
#[derive(Clone, Debug, Default)]
pub struct HttpTx {
    /// Index of this transaction in its flow.
    pub tx_id: u64,
    /// The request line.
    pub request_line: Vec<u8>,
    /// Method as sent.
    pub method: Vec<u8>,
    /// Request target as sent (`http.uri.raw`, EVE `url`).
    pub uri_raw: Vec<u8>,
    /// Normalised URI (`http.uri`).
    pub uri: Vec<u8>,
    /// Request protocol (empty for HTTP/0.9).
    pub protocol: Vec<u8>,
    /// Request headers in order, folded values joined by one space.
    pub request_headers: HeaderList,
    /// Request header block as sent.
    pub request_headers_raw: Vec<u8>,
    /// Request body, up to the limit.
    pub request_body: Vec<u8>,
    /// Request body bytes seen.
    pub request_body_len: u64,
    /// Status line.
    pub response_line: Vec<u8>,
    /// Response protocol.
    pub response_protocol: Vec<u8>,
    /// Status code text (`http.stat_code`).
    pub stat_code: Vec<u8>,
    /// Reason phrase (`http.stat_msg`).
    pub stat_msg: Vec<u8>,
    /// Numeric status.
    pub status: Option<u16>,
    /// Response headers in order.
    pub response_headers: HeaderList,
    /// Response header block as sent.
    pub response_headers_raw: Vec<u8>,
    /// Response body (dechunked), up to the limit.
    pub response_body: Vec<u8>,
    /// Response body bytes seen, dechunked.
    pub response_body_len: u64,
    /// Response message body bytes as sent, chunk framing included up to
    /// the last chunk's size line (EVE `length`, libhtp's message length).
    pub response_message_len: u64,
    /// The request has been read entirely.
    pub request_done: bool,
    /// The response has been read entirely.
    pub response_done: bool,
    /// Part of the transaction was not visible (gap or truncation).
    pub truncated: bool,
    /// The response's Content-Encoding, when tapwatch decodes it.
    pub response_coding: Option<content::Coding>,
    /// Why decoding the response body stopped early (limit, bomb, corrupt).
    pub response_decode_stop: Option<content::Stop>,
    /// Protocol anomalies seen in this transaction, each once.
    pub events: Vec<HttpEvent>,
}

/// HTTP anomaly events, with the names Suricata (libhtp) gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpEvent {
    /// An HTTP/1.1 request without Host.
    MissingHostHeader,
    /// A request header line without a colon.
    RequestFieldMissingColon,
    /// A response header line without a colon.
    ResponseFieldMissingColon,
    /// Content-Length more than once in a request.
    DuplicateContentLengthFieldInRequest,
    /// Content-Length more than once in a response.
    DuplicateContentLengthFieldInResponse,
    /// A request chunk-size line that is not hex.
    InvalidRequestChunkLen,
    /// A response chunk-size line that is not hex.
    InvalidResponseChunkLen,
    /// A request Content-Length that is not a number.
    InvalidContentLengthFieldInRequest,
    /// A response Content-Length that is not a number.
    InvalidContentLengthFieldInResponse,
    /// A compressed response body broke after producing output.
    GzipDecompressionFailed,
    /// A compressed response body decoded past the bomb ratio.
    CompressionBomb,
}

impl HttpEvent {
    /// Suricata's event name (EVE `anomaly.event`, `app-layer-event:http.*`).
    pub fn name(self) -> &'static str {
        match self {
            HttpEvent::MissingHostHeader => "MISSING_HOST_HEADER",
            HttpEvent::RequestFieldMissingColon => "REQUEST_FIELD_MISSING_COLON",
            HttpEvent::ResponseFieldMissingColon => "RESPONSE_FIELD_MISSING_COLON",
            HttpEvent::DuplicateContentLengthFieldInRequest => "DUPLICATE_CONTENT_LENGTH_FIELD_IN_REQUEST",
            HttpEvent::DuplicateContentLengthFieldInResponse => "DUPLICATE_CONTENT_LENGTH_FIELD_IN_RESPONSE",
            HttpEvent::InvalidRequestChunkLen => "INVALID_REQUEST_CHUNK_LEN",
            HttpEvent::InvalidResponseChunkLen => "INVALID_RESPONSE_CHUNK_LEN",
            HttpEvent::InvalidContentLengthFieldInRequest => "INVALID_CONTENT_LENGTH_FIELD_IN_REQUEST",
            HttpEvent::InvalidContentLengthFieldInResponse => "INVALID_CONTENT_LENGTH_FIELD_IN_RESPONSE",
            HttpEvent::GzipDecompressionFailed => "GZIP_DECOMPRESSION_FAILED",
            HttpEvent::CompressionBomb => "COMPRESSION_BOMB",
        }
    }
}

impl HttpTx {
    fn event(&mut self, e: HttpEvent) {
        if !self.events.contains(&e) {
            self.events.push(e);
        }
    }

    /// Anomalies of a header block just read.
    fn header_events(&mut self, h: &http1::HeaderSummary<'_>, dir: Direction) {
        let (colon, dup, bad_len) = match dir {
            Direction::ToServer => (
                HttpEvent::RequestFieldMissingColon,
                HttpEvent::DuplicateContentLengthFieldInRequest,
                HttpEvent::InvalidContentLengthFieldInRequest,
            ),
            Direction::ToClient => (
                HttpEvent::ResponseFieldMissingColon,
                HttpEvent::DuplicateContentLengthFieldInResponse,
                HttpEvent::InvalidContentLengthFieldInResponse,
            ),
        };
        if matches!(h.content_length, Some(Err(()))) {
            self.event(bad_len);
        }
        if h.missing_colon {
            self.event(colon);
        }
        if h.content_length_fields > 1 {
            self.event(dup);
        }
        if dir == Direction::ToServer && self.protocol.eq_ignore_ascii_case(b"HTTP/1.1") && !h.host {
            self.event(HttpEvent::MissingHostHeader);
        }
    }
}

/// Logs a transaction: its anomalies first, then itself.
fn push_done(t: HttpTx, now: (u64, u64), done: &mut Vec<DoneTx>) {
    for e in &t.events {
        done.push(DoneTx {
            tx: Tx::Anomaly(Box::new(AnomalyTx {
                app_proto: "http",
                event: e.name(),
                tx_id: t.tx_id,
            })),
            ts_ns: now.0,
            pcap_cnt: now.1,
        });
    }
    done.push(DoneTx {
        tx: Tx::Http(Box::new(t)),
        ts_ns: now.0,
        pcap_cnt: now.1,
    });
}

impl HttpTx {
    /// First request header with this name (case-insensitive).
    pub fn request_header(&self, name: &[u8]) -> Option<&[u8]> {
        self.request_headers.get(name)
    }

    /// First response header with this name (case-insensitive).
    pub fn response_header(&self, name: &[u8]) -> Option<&[u8]> {
        self.response_headers.get(name)
    }

    /// The Host header without a port (`http.host` is also lower-cased).
    pub fn hostname(&self) -> Option<(&[u8], Option<u16>)> {
        let h = self.request_header(b"host")?;
        // [v6]:port or name:port
        let (name, port) = match h.iter().rposition(|&b| b == b':') {
            Some(c)
                if !h.ends_with(b"]") && h.get(c + 1..).is_some_and(|p| p.iter().all(u8::is_ascii_digit)) =>
            {
                (
                    h.get(..c).unwrap_or_default(),
                    http1::parse_decimal(h.get(c + 1..).unwrap_or_default())
                        .and_then(|p| u16::try_from(p).ok()),
                )
            }
            _ => (h, None),
        };
        Some((name, port))
    }
}

/// What a side reads next.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    #[default]
    Line,
    Headers,
    Length(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkEnd,
    Trailer,
    Close,
    /// After a gap: skip until a message start.
    Resync,
    /// Request side after a CONNECT: nothing is parsed until the answer
    /// says whether a tunnel opens.
    ConnectWait,
    /// The connection left HTTP (CONNECT accepted, 101 Switching Protocols).
    Tunnel,
}

/// The connection stops being HTTP after the transaction just read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    /// A CONNECT was answered 2xx: what follows is detected afresh (TLS
    /// to the destination, usually).
    Redetect,
    /// 101 Switching Protocols (WebSocket, h2c): what follows is not read.
    Opaque,
}

/// Per-flow HTTP state.
#[derive(Clone, Debug, Default)]
pub struct HttpState {
    txs: VecDeque<HttpTx>,
    next_id: u64,
    phase: [Phase; 2],
    /// tx_id the response side is reading.
    resp_id: u64,
    /// Decoder of the response body being read, when it is compressed.
    decoder: Option<content::Decoder>,
    /// Anomalies not yet counted by the flow (decoding stopped early).
    pub(crate) events: u32,
    /// Set when the connection leaves HTTP; the flow takes it.
    pub(crate) switch: Option<Switch>,
    /// A CONNECT was refused: request bytes held meanwhile can be parsed.
    pub(crate) resume_request: bool,
    /// Which bodies are stored (all are counted).
    bodies: super::Bodies,
}

fn store_headers(h: &Headers<'_>, list: &mut HeaderList, raw: &mut Vec<u8>) {
    raw.extend_from_slice(h.raw);
    list.bytes.reserve(h.raw.len());
    for f in h.iter() {
        list.push_with(f.name, |b| f.unfolded_into(b));
    }
}

fn append_limited(body: &mut Vec<u8>, data: &[u8], limit: usize) {
    let room = limit.saturating_sub(body.len());
    body.extend_from_slice(data.get(..data.len().min(room)).unwrap_or_default());
}

impl HttpState {
    /// A state that stores the bodies `bodies` names.
    pub fn keeping(bodies: super::Bodies) -> HttpState {
        HttpState {
            bodies,
            ..HttpState::default()
        }
    }

    /// The transaction alerts should carry: the newest open one.
    pub fn current(&self) -> Option<&HttpTx> {
        self.txs.back()
    }

    fn tx_mut(&mut self, id: u64) -> Option<&mut HttpTx> {
        self.txs.iter_mut().find(|t| t.tx_id == id)
    }

    fn new_tx(&mut self) -> Option<&mut HttpTx> {
        if self.txs.len() >= MAX_OPEN_TX {
            return None;
        }
        let tx = HttpTx {
            tx_id: self.next_id,
            ..Default::default()
        };
        self.next_id += 1;
        self.txs.push_back(tx);
        self.txs.back_mut()
    }

    /// Moves finished transactions, oldest first, to `done`.
    fn retire(&mut self, now: (u64, u64), done: &mut Vec<DoneTx>) {
        while self
            .txs
            .front()
            .is_some_and(|t| t.request_done && t.response_done)
        {
            if let Some(t) = self.txs.pop_front() {
                push_done(t, now, done);
            }
        }
    }

    /// Parses bytes of one direction.
    pub fn parse(&mut self, dir: Direction, buf: &[u8], now: (u64, u64), done: &mut Vec<DoneTx>) -> Progress {
        let p = match dir {
            Direction::ToServer => self.parse_request(buf),
            Direction::ToClient => self.parse_response(buf),
        };
        self.retire(now, done);
        p
    }

    fn req_tx(&mut self) -> Option<&mut HttpTx> {
        self.txs.back_mut().filter(|t| !t.request_done)
    }

    fn parse_request(&mut self, buf: &[u8]) -> Progress {
        let d = Direction::ToServer;
        match *d.of(&self.phase) {
            Phase::Line => match http1::parse_request_line(buf) {
                Ok((rest, rl)) => {
                    let Some(tx) = self.new_tx() else {
                        return Progress::Invalid(super::Anomaly::Malformed(
                            "http too many open transactions",
                        ));
                    };
                    fill_request_line(tx, &rl);
                    if rl.is_http09() {
                        tx.request_done = true;
                    } else {
                        *d.of_mut(&mut self.phase) = Phase::Headers;
                    }
                    Progress::Done {
                        consumed: buf.len() - rest.len(),
                    }
                }
                Err(e) => Progress::from_error(e, 0),
            },
            Phase::Headers => match http1::parse_headers(buf) {
                Ok((rest, h)) => {
                    let sum = h.summary();
                    let next = if sum.chunked {
                        Phase::ChunkSize
                    } else {
                        match sum.content_length {
                            Some(Ok(n)) if n > 0 => Phase::Length(n),
                            _ => Phase::Line,
                        }
                    };
                    let mut connect = false;
                    if let Some(tx) = self.req_tx() {
                        tx.header_events(&sum, Direction::ToServer);
                        store_headers(&h, &mut tx.request_headers, &mut tx.request_headers_raw);
                        tx.request_done = next == Phase::Line;
                        connect = tx.method.eq_ignore_ascii_case(b"CONNECT");
                    }
                    *d.of_mut(&mut self.phase) = if connect && next == Phase::Line {
                        Phase::ConnectWait
                    } else {
                        next
                    };
                    Progress::Done {
                        consumed: buf.len() - rest.len(),
                    }
                }
                Err(e) => Progress::from_error(e, 0),
            },
            Phase::Resync => self.resync(Direction::ToServer, buf),
            Phase::ConnectWait | Phase::Tunnel => Progress::NeedMore {
                consumed: 0,
                needed: 1,
            },
            _ => self.parse_body(Direction::ToServer, buf),
        }
    }

    fn parse_response(&mut self, buf: &[u8]) -> Progress {
        let d = Direction::ToClient;
        match *d.of(&self.phase) {
            Phase::Line => match http1::parse_status_line(buf) {
                Ok((rest, sl)) => {
                    let id = self.resp_id;
                    if self.tx_mut(id).is_none() {
                        // A response without a request (its request was lost).
                        let Some(tx) = self.new_tx() else {
                            return Progress::Invalid(super::Anomaly::Malformed(
                                "http too many open transactions",
                            ));
                        };
                        tx.request_done = true;
                        tx.truncated = true;
                        self.resp_id = tx.tx_id;
                    }
                    let id = self.resp_id;
                    if let Some(tx) = self.tx_mut(id) {
                        fill_status_line(tx, &sl);
                    }
                    *d.of_mut(&mut self.phase) = Phase::Headers;
                    Progress::Done {
                        consumed: buf.len() - rest.len(),
                    }
                }
                Err(e) => Progress::from_error(e, 0),
            },
            Phase::Headers => match http1::parse_headers(buf) {
                Ok((rest, h)) => {
                    let sum = h.summary();
                    let id = self.resp_id;
                    let (status, head, connect) = match self.tx_mut(id) {
                        Some(tx) => (
                            tx.status.unwrap_or(0),
                            tx.method.eq_ignore_ascii_case(b"HEAD"),
                            tx.method.eq_ignore_ascii_case(b"CONNECT"),
                        ),
                        None => (0, false, false),
                    };
                    let switch = if status == 101 {
                        Some(Switch::Opaque)
                    } else if connect && (200..300).contains(&status) {
                        Some(Switch::Redetect)
                    } else {
                        None
                    };
                    let interim = (100..200).contains(&status) && switch.is_none();
                    let next = if switch.is_some() {
                        Phase::Tunnel
                    } else if interim {
                        // 100-continue and friends: the real response follows.
                        Phase::Line
                    } else if head || status == 204 || status == 304 {
                        Phase::Line
                    } else if sum.chunked {
                        Phase::ChunkSize
                    } else {
                        match sum.content_length {
                            Some(Ok(0)) => Phase::Line,
                            Some(Ok(n)) => Phase::Length(n),
                            _ => Phase::Close,
                        }
                    };
                    let coding = sum.content_encoding.and_then(content::Coding::from_header);
                    self.decoder = match (coding, next) {
                        (Some(c), Phase::Length(_) | Phase::ChunkSize | Phase::Close) => {
                            Some(content::Decoder::new(c, RESPONSE_BODY_LIMIT))
                        }
                        _ => None,
                    };
                    if let Some(tx) = self.tx_mut(id) {
                        if interim {
                            tx.status = None;
                        } else {
                            tx.response_coding = coding;
                            tx.header_events(&sum, Direction::ToClient);
                            store_headers(&h, &mut tx.response_headers, &mut tx.response_headers_raw);
                            if matches!(next, Phase::Line | Phase::Tunnel) {
                                tx.response_done = true;
                            }
                        }
                    }
                    if matches!(next, Phase::Line | Phase::Tunnel) && !interim {
                        self.resp_id += 1;
                    }
                    *d.of_mut(&mut self.phase) = next;
                    let req = Direction::ToServer;
                    if switch.is_some() {
                        *req.of_mut(&mut self.phase) = Phase::Tunnel;
                        self.switch = switch;
                    } else if connect && !interim && *req.of(&self.phase) == Phase::ConnectWait {
                        *req.of_mut(&mut self.phase) = Phase::Line;
                        self.resume_request = true;
                    }
                    Progress::Done {
                        consumed: buf.len() - rest.len(),
                    }
                }
                Err(e) => Progress::from_error(e, 0),
            },
            Phase::Resync => self.resync(Direction::ToClient, buf),
            Phase::Tunnel => Progress::NeedMore {
                consumed: 0,
                needed: 1,
            },
            _ => {
                // The message length stops at the last chunk's size line:
                // the trailer and its empty line are not counted (libhtp).
                let trailer = *d.of(&self.phase) == Phase::Trailer;
                let p = self.parse_body(Direction::ToClient, buf);
                if let (Progress::Done { consumed }, false) = (p, trailer) {
                    let id = self
                        .resp_id
                        .saturating_sub(u64::from(*d.of(&self.phase) == Phase::Line));
                    if let Some(tx) = self.tx_mut(id) {
                        tx.response_message_len += consumed as u64;
                    }
                }
                p
            }
        }
    }

    /// The tx whose body `dir` is reading.
    fn body_tx(&mut self, dir: Direction) -> Option<&mut HttpTx> {
        match dir {
            Direction::ToServer => self.req_tx(),
            Direction::ToClient => {
                let id = self.resp_id;
                self.tx_mut(id)
            }
        }
    }

    fn add_body(&mut self, dir: Direction, data: &[u8]) {
        let mut dec = self.decoder.take().filter(|_| dir == Direction::ToClient);
        if let (Some(d), Some(tx)) = (dec.as_mut(), self.body_tx(dir)) {
            d.feed(data, &mut tx.response_body);
            tx.response_body_len += data.len() as u64;
            self.decoder = dec;
            return;
        }
        let bodies = self.bodies;
        if let Some(tx) = self.body_tx(dir) {
            match dir {
                Direction::ToServer => {
                    if bodies.request {
                        append_limited(&mut tx.request_body, data, REQUEST_BODY_LIMIT);
                    }
                    tx.request_body_len += data.len() as u64;
                }
                Direction::ToClient => {
                    if bodies.response {
                        append_limited(&mut tx.response_body, data, RESPONSE_BODY_LIMIT);
                    }
                    tx.response_body_len += data.len() as u64;
                }
            }
        }
    }

    /// The response body ended: flush its decoder and note an early stop.
    fn end_decoding(&mut self, complete: bool) {
        let Some(mut d) = self.decoder.take() else {
            return;
        };
        if let Some(tx) = self.body_tx(Direction::ToClient) {
            d.finish(&mut tx.response_body, complete);
            tx.response_decode_stop = d.stop;
            match d.stop {
                Some(content::Stop::Corrupt) => tx.event(HttpEvent::GzipDecompressionFailed),
                Some(content::Stop::Bomb) => tx.event(HttpEvent::CompressionBomb),
                _ => {}
            }
            if d.stop.is_some() {
                self.events += 1;
            }
        }
    }

    fn end_message(&mut self, dir: Direction) {
        if dir == Direction::ToClient {
            self.end_decoding(true);
        }
        if let Some(tx) = self.body_tx(dir) {
            match dir {
                Direction::ToServer => tx.request_done = true,
                Direction::ToClient => tx.response_done = true,
            }
        }
        if dir == Direction::ToClient {
            self.resp_id += 1;
        }
        *dir.of_mut(&mut self.phase) = Phase::Line;
    }

    fn parse_body(&mut self, dir: Direction, buf: &[u8]) -> Progress {
        let d = dir;
        match *d.of(&self.phase) {
            Phase::Length(rem) | Phase::ChunkData(rem) => {
                let n = usize::try_from(rem).unwrap_or(usize::MAX).min(buf.len());
                self.add_body(dir, buf.get(..n).unwrap_or_default());
                let left = rem - n as u64;
                let chunked = matches!(*d.of(&self.phase), Phase::ChunkData(_));
                *d.of_mut(&mut self.phase) = match (left, chunked) {
                    (0, true) => Phase::ChunkEnd,
                    (0, false) => {
                        self.end_message(dir);
                        Phase::Line
                    }
                    (l, true) => Phase::ChunkData(l),
                    (l, false) => Phase::Length(l),
                };
                if n == 0 {
                    Progress::NeedMore {
                        consumed: 0,
                        needed: 1,
                    }
                } else {
                    Progress::Done { consumed: n }
                }
            }
            Phase::ChunkSize => match http1::parse_chunk_size(buf) {
                Ok((rest, 0)) => {
                    *d.of_mut(&mut self.phase) = Phase::Trailer;
                    Progress::Done {
                        consumed: buf.len() - rest.len(),
                    }
                }
                Ok((rest, n)) => {
                    *d.of_mut(&mut self.phase) = Phase::ChunkData(n);
                    Progress::Done {
                        consumed: buf.len() - rest.len(),
                    }
                }
                Err(ParseError::Invalid(w)) => {
                    let (e, next) = match dir {
                        Direction::ToServer => (HttpEvent::InvalidRequestChunkLen, None),
                        // As libhtp: the rest of the response is its body.
                        Direction::ToClient => (HttpEvent::InvalidResponseChunkLen, Some(Phase::Close)),
                    };
                    if let Some(tx) = self.body_tx(dir) {
                        tx.event(e);
                    }
                    match next {
                        Some(p) => {
                            *d.of_mut(&mut self.phase) = p;
                            Progress::Done { consumed: 0 }
                        }
                        None => Progress::Invalid(super::Anomaly::Malformed(w)),
                    }
                }
                Err(e) => Progress::from_error(e, 0),
            },
            Phase::ChunkEnd => match http1::parse_chunk_end(buf) {
                Ok(rest) => {
                    *d.of_mut(&mut self.phase) = Phase::ChunkSize;
                    Progress::Done {
                        consumed: buf.len() - rest.len(),
                    }
                }
                Err(e) => Progress::from_error(e, 0),
            },
            Phase::Trailer => match http1::parse_headers(buf) {
                Ok((rest, _)) => {
                    self.end_message(dir);
                    Progress::Done {
                        consumed: buf.len() - rest.len(),
                    }
                }
                Err(e) => Progress::from_error(e, 0),
            },
            Phase::Close => {
                self.add_body(dir, buf);
                Progress::Done { consumed: buf.len() }
            }
            _ => Progress::Done { consumed: 0 },
        }
    }

    /// Skips bytes until one segment starts with a message.
    fn resync(&mut self, dir: Direction, buf: &[u8]) -> Progress {
        let starts = match dir {
            Direction::ToServer => super::detect::probe_tcp(dir, buf, 80),
            Direction::ToClient => match http1::parse_status_line(buf) {
                Err(ParseError::Invalid(_)) => super::detect::Probe::NoMatch,
                _ => super::detect::Probe::Match(super::AppProto::Http),
            },
        };
        match starts {
            super::detect::Probe::Match(super::AppProto::Http) => {
                *dir.of_mut(&mut self.phase) = Phase::Line;
                Progress::Done { consumed: 0 }
            }
            super::detect::Probe::NeedMore => Progress::NeedMore {
                consumed: 0,
                needed: 1,
            },
            _ => Progress::Done { consumed: buf.len() },
        }
    }

    /// Bytes went missing in `dir`; `pend` is what was held unparsed.
    pub fn on_gap(&mut self, dir: Direction, pend: &[u8], now: (u64, u64), done: &mut Vec<DoneTx>) {
        if dir == Direction::ToClient {
            self.end_decoding(false);
        }
        let d = dir;
        let phase = *d.of(&self.phase);
        if matches!(phase, Phase::Tunnel | Phase::ConnectWait) {
            return;
        }
        // A head cut short: keep what is visible.
        if phase == Phase::Line && !pend.is_empty() {
            let mut line = pend.to_vec();
            if !line.contains(&b'\n') {
                line.extend_from_slice(b"\r\n");
            }
            let ok = match dir {
                Direction::ToServer => self.parse_request(&line),
                Direction::ToClient => self.parse_response(&line),
            };
            if let Progress::Done { consumed } = ok {
                let rest = line.get(consumed..).unwrap_or_default();
                self.partial_headers(dir, rest);
            }
        } else if phase == Phase::Headers {
            self.partial_headers(dir, pend);
        }
        if *d.of(&self.phase) != Phase::Line || phase != Phase::Line || !pend.is_empty() {
            if let Some(tx) = self.body_tx(dir) {
                tx.truncated = true;
            }
            if *d.of(&self.phase) != Phase::Line && *d.of(&self.phase) != Phase::Resync {
                self.end_message(dir);
            }
        }
        *d.of_mut(&mut self.phase) = Phase::Resync;
        self.retire(now, done);
    }

    /// Takes the complete header lines of a cut header block.
    fn partial_headers(&mut self, dir: Direction, visible: &[u8]) {
        if *dir.of(&self.phase) != Phase::Headers {
            return;
        }
        let complete = match visible.iter().rposition(|&b| b == b'\n') {
            Some(lf) => visible.get(..=lf).unwrap_or_default(),
            None => &[][..],
        };
        let mut block = complete.to_vec();
        block.extend_from_slice(b"\r\n");
        if let Ok((_, h)) = http1::parse_headers(&block) {
            if let Some(tx) = self.body_tx(dir) {
                tx.truncated = true;
                match dir {
                    Direction::ToServer => {
                        store_headers(&h, &mut tx.request_headers, &mut tx.request_headers_raw)
                    }
                    Direction::ToClient => {
                        store_headers(&h, &mut tx.response_headers, &mut tx.response_headers_raw)
                    }
                }
            }
        }
        self.end_message(dir);
    }

    /// Flow end: a close-delimited body ends here; everything open is
    /// logged as it stands.
    pub fn finish(&mut self, now: (u64, u64), done: &mut Vec<DoneTx>) {
        // Flow end closes a close-delimited body; others were cut short.
        let complete = *Direction::ToClient.of(&self.phase) == Phase::Close;
        self.end_decoding(complete);
        for t in self.txs.drain(..) {
            if t.request_line.is_empty() && t.response_line.is_empty() {
                continue;
            }
            push_done(t, now, done);
        }
    }
}

fn fill_request_line(tx: &mut HttpTx, rl: &http1::RequestLine<'_>) {
    tx.request_line = rl.line.to_vec();
    tx.method = rl.method.to_vec();
    tx.uri_raw = rl.uri.to_vec();
    http1::normalize_uri(rl.uri, &mut tx.uri);
    tx.protocol = rl.protocol.to_vec();
}

fn fill_status_line(tx: &mut HttpTx, sl: &http1::StatusLine<'_>) {
    tx.response_line = sl.line.to_vec();
    tx.response_protocol = sl.protocol.to_vec();
    tx.stat_code = sl.status.to_vec();
    tx.stat_msg = sl.reason.to_vec();
    tx.status = sl.code();
}

#[cfg(test)]
mod tests;
