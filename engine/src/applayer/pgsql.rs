//! PostgreSQL transactions, shaped as Suricata's pgsql ones: a transaction
//! is one client request (startup, SSLRequest, password, simple query,
//! terminate, ...) and the server messages answering it, ending at
//! ReadyForQuery or at an authentication request.
//!
//! SSLRequest is answered by one untyped byte: `N` (the client then sends
//! a StartupMessage in clear) or `S` (TLS follows; the flow switches to the
//! TLS parser). Passwords are never kept.

use super::{Anomaly, Direction, DoneTx, Progress, Tx};
use tapwatch_parsers::pgsql::{self, Backend, Frontend, Startup};
use tapwatch_parsers::ParseError;

/// Most parameters kept from a startup message or ParameterStatus run.
pub const MAX_PARAMS: usize = 64;
/// Most open transactions per flow.
pub const MAX_OPEN_TX: usize = 32;

/// What the client asked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PgRequest {
    /// Nothing seen (the request was lost).
    #[default]
    None,
    /// StartupMessage.
    Startup {
        /// Protocol version (major << 16 | minor).
        version: u32,
        /// Name/value parameters in order.
        params: Vec<(Vec<u8>, Vec<u8>)>,
    },
    /// SSLRequest.
    SslRequest,
    /// GSSENCRequest.
    GssEncRequest,
    /// CancelRequest.
    Cancel {
        /// Backend pid.
        pid: u32,
        /// Secret key.
        secret: u32,
    },
    /// PasswordMessage / SASL response (content not kept).
    Password,
    /// Simple query text.
    Query(Vec<u8>),
    /// Extended-protocol Parse with its query text.
    Parse(Vec<u8>),
    /// Terminate.
    Terminate,
    /// Another message type.
    Other(u8),
}

/// One request and its response.
#[derive(Clone, Debug, Default)]
pub struct PgsqlTx {
    /// 1-based, as Suricata numbers pgsql transactions.
    pub tx_id: u64,
    /// The request.
    pub request: PgRequest,
    /// Answer to SSLRequest/GSSENCRequest.
    pub ssl_accepted: Option<bool>,
    /// Authentication request or result (code, data).
    pub auth: Option<(u32, Vec<u8>)>,
    /// ParameterStatus pairs.
    pub parameter_status: Vec<(Vec<u8>, Vec<u8>)>,
    /// BackendKeyData (pid, secret).
    pub backend_key: Option<(u32, u32)>,
    /// RowDescription field count.
    pub field_count: Option<u16>,
    /// DataRow messages.
    pub data_rows: u64,
    /// Column value bytes over all DataRows.
    pub data_size: u64,
    /// CommandComplete tag.
    pub command_completed: Option<Vec<u8>>,
    /// ErrorResponse fields (code, value).
    pub error: Vec<(u8, Vec<u8>)>,
    /// Any response message was seen.
    pub has_response: bool,
    /// Part of the transaction was not visible.
    pub truncated: bool,
}

/// Per-flow PostgreSQL state.
#[derive(Clone, Debug, Default)]
pub struct PgsqlState {
    txs: Vec<PgsqlTx>,
    next_id: u64,
    /// The client sent its first message (startup is untyped).
    started: bool,
    /// An SSLRequest/GSSENCRequest awaits its one-byte answer.
    ssl_pending: bool,
    /// The server accepted SSL: TLS follows.
    pub tls_switch: bool,
    /// The last transaction logged (for alerts on its last packet).
    last: Option<Box<PgsqlTx>>,
}

impl PgsqlState {
    /// The transaction alerts should carry.
    pub fn current(&self) -> Option<&PgsqlTx> {
        self.txs.last().or(self.last.as_deref())
    }

    fn new_tx(&mut self, request: PgRequest) -> Option<&mut PgsqlTx> {
        if self.txs.len() >= MAX_OPEN_TX {
            return None;
        }
        self.next_id += 1;
        self.txs.push(PgsqlTx {
            tx_id: self.next_id,
            request,
            ..Default::default()
        });
        self.txs.last_mut()
    }

    /// Logs the oldest open transaction.
    fn complete_oldest(&mut self, now: (u64, u64), done: &mut Vec<DoneTx>) {
        if !self.txs.is_empty() {
            let t = self.txs.remove(0);
            self.last = Some(Box::new(t.clone()));
            done.push(DoneTx {
                tx: Tx::Pgsql(Box::new(t)),
                ts_ns: now.0,
                pcap_cnt: now.1,
            });
        }
    }

    /// Parses bytes of one direction, one message per call.
    pub fn parse(&mut self, dir: Direction, buf: &[u8], now: (u64, u64), done: &mut Vec<DoneTx>) -> Progress {
        match dir {
            Direction::ToServer => self.parse_frontend(buf, now, done),
            Direction::ToClient => self.parse_backend(buf, now, done),
        }
    }

    fn parse_frontend(&mut self, buf: &[u8], now: (u64, u64), done: &mut Vec<DoneTx>) -> Progress {
        if !self.started {
            return match pgsql::parse_startup(buf) {
                Ok((rest, m)) => {
                    let req = match m {
                        Startup::Startup { version, params } => {
                            self.started = true;
                            PgRequest::Startup {
                                version,
                                params: pgsql::params(params)
                                    .take(MAX_PARAMS)
                                    .map(|(n, v)| (n.to_vec(), v.to_vec()))
                                    .collect(),
                            }
                        }
                        Startup::SslRequest => {
                            self.ssl_pending = true;
                            PgRequest::SslRequest
                        }
                        Startup::GssEncRequest => {
                            self.ssl_pending = true;
                            PgRequest::GssEncRequest
                        }
                        Startup::CancelRequest { pid, secret } => PgRequest::Cancel { pid, secret },
                    };
                    let cancel = matches!(req, PgRequest::Cancel { .. });
                    if self.new_tx(req).is_none() {
                        return Progress::Invalid(Anomaly::Malformed("pgsql too many open transactions"));
                    }
                    if cancel {
                        self.complete_oldest(now, done);
                    }
                    Progress::Done {
                        consumed: buf.len() - rest.len(),
                    }
                }
                Err(e) => Progress::from_error(e, 0),
            };
        }
        match pgsql::parse_frontend(buf) {
            Ok((rest, m)) => {
                let req = match m {
                    Frontend::Password(_) => PgRequest::Password,
                    Frontend::Query(q) => PgRequest::Query(q.to_vec()),
                    Frontend::Parse { query, .. } => PgRequest::Parse(query.to_vec()),
                    Frontend::Terminate => PgRequest::Terminate,
                    Frontend::Bind { .. } => PgRequest::Other(b'B'),
                    Frontend::Execute { .. } => PgRequest::Other(b'E'),
                    Frontend::Sync => PgRequest::Other(b'S'),
                    Frontend::Unknown { tag, .. } => PgRequest::Other(tag),
                };
                // Extended-protocol steps after Parse belong to its transaction.
                let joins = matches!(req, PgRequest::Other(_))
                    && self
                        .txs
                        .last()
                        .is_some_and(|t| matches!(t.request, PgRequest::Parse(_)));
                if !joins {
                    let terminate = req == PgRequest::Terminate;
                    if self.new_tx(req).is_none() {
                        return Progress::Invalid(Anomaly::Malformed("pgsql too many open transactions"));
                    }
                    if terminate {
                        // No answer comes; everything before it is over too.
                        while !self.txs.is_empty() {
                            self.complete_oldest(now, done);
                        }
                    }
                }
                Progress::Done {
                    consumed: buf.len() - rest.len(),
                }
            }
            Err(e) => Progress::from_error(e, 0),
        }
    }

    fn parse_backend(&mut self, buf: &[u8], now: (u64, u64), done: &mut Vec<DoneTx>) -> Progress {
        if self.ssl_pending {
            let Some(&b) = buf.first() else {
                return Progress::NeedMore {
                    consumed: 0,
                    needed: 1,
                };
            };
            self.ssl_pending = false;
            let accepted = b == b'S' || b == b'G';
            if let Some(t) = self.txs.last_mut() {
                t.ssl_accepted = Some(accepted);
                t.has_response = true;
            }
            self.complete_oldest(now, done);
            if accepted {
                self.tls_switch = true;
            }
            return Progress::Done { consumed: 1 };
        }
        let (rest, m) = match pgsql::parse_backend(buf) {
            Ok(x) => x,
            Err(ParseError::Incomplete { needed }) => return Progress::NeedMore { consumed: 0, needed },
            Err(e) => return Progress::from_error(e, 0),
        };
        let consumed = buf.len() - rest.len();
        if self.txs.is_empty() {
            // An answer to a request that was not seen.
            if self.new_tx(PgRequest::None).is_none() {
                return Progress::Invalid(Anomaly::Malformed("pgsql too many open transactions"));
            }
            if let Some(t) = self.txs.last_mut() {
                t.truncated = true;
            }
        }
        let mut complete = false;
        if let Some(t) = self.txs.first_mut() {
            t.has_response = true;
            match m {
                Backend::Authentication { code, data } => {
                    t.auth = Some((code, data.to_vec()));
                    // A request for credentials ends the transaction; the
                    // client's answer starts the next.
                    complete = code != 0;
                }
                Backend::ParameterStatus { name, value } => {
                    if t.parameter_status.len() < MAX_PARAMS {
                        t.parameter_status.push((name.to_vec(), value.to_vec()));
                    }
                }
                Backend::BackendKeyData { pid, secret } => t.backend_key = Some((pid, secret)),
                Backend::ReadyForQuery(_) => complete = true,
                Backend::RowDescription { fields } => t.field_count = Some(fields),
                Backend::DataRow { len, columns } => {
                    t.data_rows += 1;
                    // Column values without the count and the 4-byte lengths.
                    let overhead = 2 + 4 * columns as usize;
                    t.data_size += len.saturating_sub(overhead) as u64;
                }
                Backend::CommandComplete(tag) => t.command_completed = Some(tag.to_vec()),
                Backend::ErrorResponse(body) => {
                    t.error = pgsql::fields(body)
                        .take(16)
                        .map(|(c, v)| (c, v.to_vec()))
                        .collect();
                }
                Backend::NoticeResponse(_) | Backend::Unknown { .. } => {}
            }
        }
        if complete {
            self.complete_oldest(now, done);
        }
        Progress::Done { consumed }
    }

    /// Bytes went missing. What was held is a message cut short: a visible
    /// start of a query or startup is kept in a partial transaction.
    pub fn on_gap(&mut self, dir: Direction, pend: &[u8], _now: (u64, u64), _done: &mut Vec<DoneTx>) {
        if dir == Direction::ToServer && !pend.is_empty() {
            let req = match pend.first() {
                Some(b'Q') => {
                    // Type, length, then as much text as is visible.
                    let text = pend.get(5..).unwrap_or_default();
                    let text = text.split(|&b| b == 0).next().unwrap_or_default();
                    Some(PgRequest::Query(text.to_vec()))
                }
                _ if !self.started => match pend.get(4..8) {
                    Some([0, 3, ..]) => {
                        self.started = true;
                        let body = pend.get(8..).unwrap_or_default();
                        let params = pgsql::params(body)
                            .take(MAX_PARAMS)
                            .map(|(n, v)| (n.to_vec(), v.to_vec()))
                            .collect::<Vec<_>>();
                        Some(PgRequest::Startup {
                            version: 196608,
                            params,
                        })
                    }
                    _ => None,
                },
                _ => None,
            };
            if let Some(r) = req {
                if let Some(t) = self.new_tx(r) {
                    t.truncated = true;
                }
            }
        }
        if let Some(t) = self.txs.last_mut() {
            t.truncated = true;
        }
    }

    /// Flow end: log what is open.
    pub fn finish(&mut self, now: (u64, u64), done: &mut Vec<DoneTx>) {
        while !self.txs.is_empty() {
            self.complete_oldest(now, done);
        }
    }
}
