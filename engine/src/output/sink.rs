//! Sink settings and the network transports: unix stream and datagram
//! sockets, TCP (newline-delimited JSON), syslog (RFC 5424 over UDP or
//! TCP) and Redis (list push or PUBLISH, spoken in RESP directly).
//!
//! Redis gets a minimal RESP writer rather than the `redis` crate: the
//! sink needs one variadic `RPUSH`/`LPUSH` per batch on a blocking socket
//! whose timeouts it owns, and every reply read as the batch's
//! acknowledgement; reconnects, backoff and spooling are the sink's own.
//! The crate would bring its own connection handling to bypass and a
//! dozen more dependencies for some forty lines of protocol.

use super::record::Record;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::PathBuf;
use std::time::Duration;

/// How a Redis sink stores records (Suricata's `redis.mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedisMode {
    /// `LPUSH key record...` (Suricata's default, `list`/`lpush`).
    Lpush,
    /// `RPUSH key record...`.
    Rpush,
    /// `PUBLISH key record` (`channel`/`publish`).
    Publish,
}

impl RedisMode {
    pub fn parse(s: &str) -> Option<RedisMode> {
        match s.to_ascii_lowercase().as_str() {
            "list" | "lpush" => Some(RedisMode::Lpush),
            "rpush" => Some(RedisMode::Rpush),
            "channel" | "publish" => Some(RedisMode::Publish),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyslogProto {
    Udp,
    Tcp,
}

/// Where one sink delivers.
#[derive(Clone, Debug)]
pub enum SinkKind {
    /// `regular`: append to a file; reopened on SIGHUP; optionally rotated
    /// at `rotate_size` bytes keeping `rotate_count` old files.
    File {
        path: PathBuf,
        rotate_size: Option<u64>,
        rotate_count: usize,
    },
    Stdout,
    UnixStream(PathBuf),
    UnixDgram(PathBuf),
    /// Newline-delimited JSON to `host:port`.
    Tcp(String),
    Syslog {
        addr: String,
        proto: SyslogProto,
        /// Facility number (local5 = 21, Suricata's default).
        facility: u8,
        /// Severity of records other than alerts (info = 6).
        level: u8,
        ident: String,
    },
    Redis {
        addr: String,
        mode: RedisMode,
        key: String,
    },
}

impl SinkKind {
    /// Network sinks get a spool and reconnect; local ones block instead.
    pub fn is_network(&self) -> bool {
        !matches!(self, SinkKind::File { .. } | SinkKind::Stdout)
    }

    pub fn describe(&self) -> String {
        match self {
            SinkKind::File { path, .. } => path.display().to_string(),
            SinkKind::Stdout => "stdout".into(),
            SinkKind::UnixStream(p) => format!("unix_stream:{}", p.display()),
            SinkKind::UnixDgram(p) => format!("unix_dgram:{}", p.display()),
            SinkKind::Tcp(a) => format!("tcp:{a}"),
            SinkKind::Syslog { addr, proto, .. } => format!(
                "syslog+{}:{addr}",
                if *proto == SyslogProto::Tcp { "tcp" } else { "udp" }
            ),
            SinkKind::Redis { addr, mode, key } => format!("redis:{addr} {mode:?} {key}"),
        }
    }
}

/// Syslog facility by name (`local5`) or number.
pub fn facility(name: &str) -> Option<u8> {
    const NAMES: &[&str] = &[
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
        "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4", "local5",
        "local6", "local7",
    ];
    let n = name.to_ascii_lowercase();
    NAMES
        .iter()
        .position(|f| *f == n)
        .map(|i| i as u8)
        .or_else(|| n.parse::<u8>().ok().filter(|v| *v < 24))
}

/// Syslog severity by name (`info`, Suricata's `Info`) or number.
pub fn severity(name: &str) -> Option<u8> {
    const NAMES: &[&str] = &[
        "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
    ];
    let n = name.to_ascii_lowercase();
    let n = match n.as_str() {
        "error" => "err",
        "warn" => "warning",
        "critical" => "crit",
        "emergency" => "emerg",
        other => other,
    };
    NAMES
        .iter()
        .position(|f| *f == n)
        .map(|i| i as u8)
        .or_else(|| n.parse::<u8>().ok().filter(|v| *v < 8))
}

/// Syslog severity for a record: alert severity 1 → crit, 2 → err,
/// 3 → warning, 4 and lower priorities → notice; other records `level`.
pub fn syslog_severity(rec: &Record, level: u8) -> u8 {
    match rec.severity {
        0 => level,
        1 => 2,
        2 => 3,
        3 => 4,
        _ => 5,
    }
}

/// Per-connection settings.
#[derive(Clone, Debug)]
pub struct NetOpts {
    pub connect_timeout: Duration,
    pub write_timeout: Duration,
}

/// An open connection that takes batches of records.
pub trait Conn: Send {
    /// Deliver the batch in order. An error means some may not have
    /// arrived; the caller reconnects and sends the batch again.
    fn send(&mut self, batch: &[Record]) -> io::Result<()>;
    /// Whether a successful `send` proves arrival (Redis replies do).
    fn acked(&self) -> bool {
        false
    }
}

/// Open a connection for a network sink.
pub fn connect(kind: &SinkKind, o: &NetOpts) -> io::Result<Box<dyn Conn>> {
    match kind {
        SinkKind::Tcp(addr) => Ok(Box::new(StreamConn::new(tcp(addr, o)?, Framing::Lines))),
        SinkKind::UnixStream(p) => {
            let s = UnixStream::connect(p)?;
            s.set_write_timeout(Some(o.write_timeout))?;
            Ok(Box::new(StreamConn::new(s, Framing::Lines)))
        }
        SinkKind::UnixDgram(p) => {
            let s = UnixDatagram::unbound()?;
            s.connect(p)?;
            s.set_write_timeout(Some(o.write_timeout))?;
            Ok(Box::new(DgramConn(s)))
        }
        SinkKind::Syslog {
            addr,
            proto,
            facility,
            level,
            ident,
        } => {
            let fmt = SyslogFormat::new(*facility, *level, ident);
            match proto {
                SyslogProto::Tcp => Ok(Box::new(StreamConn::new(tcp(addr, o)?, Framing::Syslog(fmt)))),
                SyslogProto::Udp => {
                    let target = resolve(addr)?;
                    let bind = if target.is_ipv6() { "[::]:0" } else { "0.0.0.0:0" };
                    let s = UdpSocket::bind(bind)?;
                    s.connect(target)?;
                    s.set_write_timeout(Some(o.write_timeout))?;
                    Ok(Box::new(SyslogUdp {
                        sock: s,
                        fmt,
                        buf: Vec::new(),
                    }))
                }
            }
        }
        SinkKind::Redis { addr, mode, key } => {
            let s = tcp(addr, o)?;
            s.set_read_timeout(Some(o.write_timeout))?;
            Ok(Box::new(RedisConn {
                reader: BufReader::new(s.try_clone()?),
                stream: s,
                mode: *mode,
                key: key.clone(),
                buf: Vec::new(),
            }))
        }
        SinkKind::File { .. } | SinkKind::Stdout => Err(io::Error::other("not a network sink")),
    }
}

fn resolve(addr: &str) -> io::Result<std::net::SocketAddr> {
    addr.to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{addr}: no address")))
}

fn tcp(addr: &str, o: &NetOpts) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&resolve(addr)?, o.connect_timeout)?;
    s.set_write_timeout(Some(o.write_timeout))?;
    s.set_nodelay(true)?;
    Ok(s)
}

enum Framing {
    Lines,
    Syslog(SyslogFormat),
}

/// TCP or unix stream: the batch in one buffer, written at once.
struct StreamConn<S: Write + Send> {
    s: S,
    framing: Framing,
    buf: Vec<u8>,
}

impl<S: Write + Send> StreamConn<S> {
    fn new(s: S, framing: Framing) -> Self {
        StreamConn {
            s,
            framing,
            buf: Vec::with_capacity(256 * 1024),
        }
    }
}

impl<S: Write + Send> Conn for StreamConn<S> {
    fn send(&mut self, batch: &[Record]) -> io::Result<()> {
        self.buf.clear();
        for r in batch {
            match &self.framing {
                Framing::Lines => self.buf.extend_from_slice(&r.line),
                Framing::Syslog(f) => {
                    // RFC 6587 octet counting: "LEN SP MSG".
                    let start = self.buf.len();
                    f.write(r, &mut self.buf);
                    let msg_len = self.buf.len() - start;
                    let prefix = format!("{msg_len} ");
                    self.buf.splice(start..start, prefix.bytes());
                }
            }
        }
        self.s.write_all(&self.buf)?;
        self.s.flush()
    }
}

struct DgramConn(UnixDatagram);

impl Conn for DgramConn {
    fn send(&mut self, batch: &[Record]) -> io::Result<()> {
        for r in batch {
            // One record per datagram, as Suricata's unix_dgram output.
            self.0.send(r.json())?;
        }
        Ok(())
    }
}

/// RFC 5424 header and structured data carrying the sequence number.
struct SyslogFormat {
    facility: u8,
    level: u8,
    ident: String,
    host: String,
    pid: u32,
}

impl SyslogFormat {
    fn new(facility: u8, level: u8, ident: &str) -> SyslogFormat {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty() && h.is_ascii() && !h.contains(' '))
            .unwrap_or_else(|| "-".into());
        SyslogFormat {
            facility: facility.min(23),
            level: level.min(7),
            ident: if ident.is_empty() {
                "tapwatch".into()
            } else {
                ident.chars().take(48).collect()
            },
            host,
            pid: std::process::id(),
        }
    }

    /// `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [tapwatch@32473 seq="N"] JSON`
    /// with the event type as MSGID.
    fn write(&self, r: &Record, out: &mut Vec<u8>) {
        let pri = u16::from(self.facility) * 8 + u16::from(syslog_severity(r, self.level));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let ts = crate::time::eve_ts(now);
        let ts = ts.strip_suffix("+0000").unwrap_or(&ts);
        let msgid = match r.event_type() {
            "" => "-",
            t => t,
        };
        let _ = write!(
            out,
            "<{pri}>1 {ts}Z {} {} {} {msgid} [tapwatch@32473 seq=\"{}\"] ",
            self.host, self.ident, self.pid, r.seq
        );
        out.extend_from_slice(r.json());
    }
}

struct SyslogUdp {
    sock: UdpSocket,
    fmt: SyslogFormat,
    buf: Vec<u8>,
}

impl Conn for SyslogUdp {
    fn send(&mut self, batch: &[Record]) -> io::Result<()> {
        for r in batch {
            self.buf.clear();
            self.fmt.write(r, &mut self.buf);
            self.sock.send(&self.buf)?;
        }
        Ok(())
    }
}

/// Redis over RESP: one `LPUSH`/`RPUSH key v1 v2 ...` per batch, or a
/// pipeline of `PUBLISH key v`; every reply is read, so a batch that
/// succeeded is known to be stored.
struct RedisConn {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    mode: RedisMode,
    key: String,
    buf: Vec<u8>,
}

fn bulk(out: &mut Vec<u8>, s: &[u8]) {
    let _ = write!(out, "${}\r\n", s.len());
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

impl RedisConn {
    /// Read one reply; an error reply becomes an error.
    fn reply(&mut self) -> io::Result<()> {
        let mut line = Vec::new();
        (&mut self.reader).take(64 * 1024).read_until(b'\n', &mut line)?;
        match line.first() {
            Some(b':') | Some(b'+') => Ok(()),
            Some(b'-') => Err(io::Error::other(format!(
                "redis: {}",
                String::from_utf8_lossy(&line).trim()
            ))),
            None => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "redis closed")),
            _ => Err(io::Error::other("redis: unexpected reply")),
        }
    }
}

impl Conn for RedisConn {
    fn send(&mut self, batch: &[Record]) -> io::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.buf.clear();
        let replies = match self.mode {
            RedisMode::Lpush | RedisMode::Rpush => {
                let cmd: &[u8] = if self.mode == RedisMode::Lpush {
                    b"LPUSH"
                } else {
                    b"RPUSH"
                };
                let _ = write!(self.buf, "*{}\r\n", batch.len() + 2);
                bulk(&mut self.buf, cmd);
                bulk(&mut self.buf, self.key.as_bytes());
                for r in batch {
                    bulk(&mut self.buf, r.json());
                }
                1
            }
            RedisMode::Publish => {
                for r in batch {
                    self.buf.extend_from_slice(b"*3\r\n");
                    bulk(&mut self.buf, b"PUBLISH");
                    bulk(&mut self.buf, self.key.as_bytes());
                    bulk(&mut self.buf, r.json());
                }
                batch.len()
            }
        };
        self.stream.write_all(&self.buf)?;
        for _ in 0..replies {
            self.reply()?;
        }
        Ok(())
    }
    fn acked(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn rec(line: &str, seq: u64) -> Record {
        let mut r = Record::from_line(Arc::from(format!("{line}\n").as_bytes()));
        r.seq = seq;
        r
    }

    #[test]
    fn names_and_levels() {
        assert_eq!(facility("local5"), Some(21));
        assert_eq!(facility("LOCAL0"), Some(16));
        assert_eq!(facility("99"), None);
        assert_eq!(severity("Info"), Some(6));
        assert_eq!(severity("warn"), Some(4));
        assert_eq!(RedisMode::parse("list"), Some(RedisMode::Lpush));
        assert_eq!(RedisMode::parse("channel"), Some(RedisMode::Publish));
        assert_eq!(RedisMode::parse("xadd"), None);
    }

    #[test]
    fn syslog_line_is_rfc5424_with_seq_and_mapped_severity() {
        let f = SyslogFormat::new(21, 6, "tapwatch");
        let mut out = Vec::new();
        f.write(
            &rec(r#"{"event_type":"alert","alert":{"severity":1}}"#, 77),
            &mut out,
        );
        let s = String::from_utf8(out).unwrap();
        // local5 (21) * 8 + crit (2)
        assert!(s.starts_with("<170>1 "), "{s}");
        assert!(
            s.contains(" alert [tapwatch@32473 seq=\"77\"] {\"event_type\""),
            "{s}"
        );
        let ts = s.split(' ').nth(1).unwrap();
        assert!(ts.ends_with('Z') && ts.len() == 27, "{ts}");
        let mut out = Vec::new();
        f.write(&rec(r#"{"event_type":"flow"}"#, 1), &mut out);
        assert!(out.starts_with(b"<174>1 "));
    }

    #[test]
    fn octet_counted_framing() {
        let mut c = StreamConn::new(Vec::new(), Framing::Syslog(SyslogFormat::new(1, 6, "x")));
        c.send(&[
            rec(r#"{"event_type":"flow"}"#, 1),
            rec(r#"{"event_type":"stats"}"#, 2),
        ])
        .unwrap();
        let text = String::from_utf8(c.s.clone()).unwrap();
        let mut rest = text.as_str();
        let mut n = 0;
        while !rest.is_empty() {
            let (len, tail) = rest.split_once(' ').unwrap();
            let len: usize = len.parse().unwrap();
            assert!(tail[..len].starts_with("<14>1 "));
            rest = &tail[len..];
            n += 1;
        }
        assert_eq!(n, 2);
    }
}
