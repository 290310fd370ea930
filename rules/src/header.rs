//! Rule header: `action proto src sport -> dst dport`.
//!
//! Protocols are IP protocols (`ip`, `tcp`, `udp`, `icmp`, ...) or
//! app-layer protocol names (`http`, `tls`, `dns`, ...); an app-layer rule
//! only matches once the engine has identified that protocol on the flow.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::address::IpSet;
use crate::error::{reason, SpanError};
use crate::group::{Cached, Resolver};
use crate::port::PortSet;
use crate::vars::Vars;
use crate::PacketCtx;
use std::collections::HashMap;

/// What a rule does when it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Raise an alert.
    Alert,
    /// Stop inspecting the flow/packet; no alert.
    Pass,
    /// Drop the packet (inline) and alert.
    Drop,
    /// Reset/unreach both ways and alert.
    Reject,
    /// Reject towards the source.
    RejectSrc,
    /// Reject towards the destination.
    RejectDst,
    /// Reject both ways.
    RejectBoth,
}

impl Action {
    /// Suricata's spelling of the action.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Alert => "alert",
            Action::Pass => "pass",
            Action::Drop => "drop",
            Action::Reject => "reject",
            Action::RejectSrc => "rejectsrc",
            Action::RejectDst => "rejectdst",
            Action::RejectBoth => "rejectboth",
        }
    }

    fn parse(s: &str) -> Option<Action> {
        Some(match s.to_ascii_lowercase().as_str() {
            "alert" => Action::Alert,
            "pass" => Action::Pass,
            "drop" => Action::Drop,
            "reject" => Action::Reject,
            "rejectsrc" => Action::RejectSrc,
            "rejectdst" => Action::RejectDst,
            "rejectboth" => Action::RejectBoth,
            _ => return None,
        })
    }
}

/// Which IP protocol numbers a rule accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IpProto {
    Any,
    Tcp,
    Udp,
    /// ICMPv4 (1) or ICMPv6 (58).
    Icmp,
    Icmp4,
    Icmp6,
    Sctp,
    /// App-layer rules: TCP or UDP.
    TcpUdp,
    /// Any protocol over IPv4 (`ipv4`, `ip4`).
    Ipv4,
    /// Any protocol over IPv6 (`ipv6`, `ip6`).
    Ipv6,
}

impl IpProto {
    pub fn matches(self, p: u8) -> bool {
        match self {
            IpProto::Any | IpProto::Ipv4 | IpProto::Ipv6 => true,
            IpProto::Tcp => p == 6,
            IpProto::Udp => p == 17,
            IpProto::Icmp => p == 1 || p == 58,
            IpProto::Icmp4 => p == 1,
            IpProto::Icmp6 => p == 58,
            IpProto::Sctp => p == 132,
            IpProto::TcpUdp => p == 6 || p == 17,
        }
    }
}

/// App-layer protocol names accepted in the header (Suricata's names).
const APP_PROTOS: &[&str] = &[
    "http",
    "http1",
    "http2",
    "ftp",
    "ftp-data",
    "smtp",
    "tls",
    "ssh",
    "imap",
    "pop3",
    "smb",
    "dcerpc",
    "dns",
    "doh2",
    "nfs",
    "ntp",
    "tftp",
    "ike",
    "ikev2",
    "krb5",
    "dhcp",
    "snmp",
    "sip",
    "rfb",
    "mqtt",
    "rdp",
    "modbus",
    "dnp3",
    "enip",
    "pgsql",
    "telnet",
    "websocket",
    "ldap",
    "bittorrent-dht",
    "quic",
    "mdns",
    "sdp",
];

/// The transport an app-layer protocol runs over: a rule for it is only
/// considered for packets of that transport (as Suricata does), which also
/// keeps TCP-only rules out of the UDP prefilter automata.
fn app_transport(app: &str) -> IpProto {
    match app {
        "http" | "http1" | "http2" | "ftp" | "ftp-data" | "smtp" | "tls" | "ssh" | "imap" | "pop3"
        | "smb" | "doh2" | "rfb" | "mqtt" | "rdp" | "modbus" | "dnp3" | "pgsql" | "telnet" | "websocket" => {
            IpProto::Tcp
        }
        "ntp" | "tftp" | "ike" | "ikev2" | "dhcp" | "snmp" | "quic" | "mdns" | "bittorrent-dht" => {
            IpProto::Udp
        }
        _ => IpProto::TcpUdp,
    }
}

/// The protocol part of a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Proto {
    pub ip: IpProto,
    /// App-layer protocol the flow must have.
    pub app: Option<&'static str>,
    /// `tcp-pkt`: packets only; `tcp-stream`: reassembled stream only.
    pub stream: Option<bool>,
}

impl Proto {
    fn parse(s: &str) -> Option<Proto> {
        let lower = s.to_ascii_lowercase();
        let plain = |ip| Proto {
            ip,
            app: None,
            stream: None,
        };
        Some(match lower.as_str() {
            "ip" | "pkthdr" => plain(IpProto::Any),
            "ipv4" | "ip4" => plain(IpProto::Ipv4),
            "ipv6" | "ip6" => plain(IpProto::Ipv6),
            "tcp" => plain(IpProto::Tcp),
            "udp" => plain(IpProto::Udp),
            "icmp" => plain(IpProto::Icmp),
            "icmpv4" => plain(IpProto::Icmp4),
            "icmpv6" => plain(IpProto::Icmp6),
            "sctp" => plain(IpProto::Sctp),
            "tcp-pkt" => Proto {
                stream: Some(false),
                ..plain(IpProto::Tcp)
            },
            "tcp-stream" => Proto {
                stream: Some(true),
                ..plain(IpProto::Tcp)
            },
            other => {
                let app = APP_PROTOS.iter().find(|a| **a == other)?;
                Proto {
                    ip: app_transport(app),
                    app: Some(app),
                    stream: None,
                }
            }
        })
    }

    /// True when the packet's protocol and the flow's app-layer protocol fit.
    pub fn matches(&self, ctx: &PacketCtx<'_>) -> bool {
        if !self.ip.matches(ctx.ip_proto) {
            return false;
        }
        match self.ip {
            IpProto::Ipv4 if !ctx.src_ip.is_ipv4() => return false,
            IpProto::Ipv6 if !ctx.src_ip.is_ipv6() => return false,
            _ => {}
        }
        if let Some(s) = self.stream {
            if s != ctx.is_stream {
                return false;
            }
        }
        match self.app {
            None => true,
            Some(want) => ctx.app_proto.is_some_and(|have| app_matches(want, have)),
        }
    }
}

/// `http` covers HTTP/1 and HTTP/2, `http1` only HTTP/1 (which engines may
/// call `http`); everything else is an exact name.
fn app_matches(want: &str, have: &str) -> bool {
    match want {
        "http" => matches!(have, "http" | "http1" | "http2"),
        "http1" => matches!(have, "http" | "http1"),
        _ => want == have,
    }
}

/// A parsed header.
#[derive(Clone, Debug)]
pub(crate) struct Header {
    pub action: Action,
    pub proto: Proto,
    pub src: IpSet,
    pub sport: PortSet,
    pub dst: IpSet,
    pub dport: PortSet,
    /// `<>`: either direction.
    pub bidir: bool,
}

impl Header {
    /// Addresses and ports, in the rule's direction or (for `<>`) either.
    pub fn matches_endpoints(&self, ctx: &PacketCtx<'_>) -> bool {
        let ports = !(self.sport.is_any() && self.dport.is_any());
        if ports && !matches!(ctx.ip_proto, 6 | 17 | 132) {
            return false;
        }
        if !ports && self.src.is_any() && self.dst.is_any() {
            return true;
        }
        let fwd = self.src.contains(ctx.src_ip)
            && self.dst.contains(ctx.dst_ip)
            && self.sport.contains(ctx.src_port)
            && self.dport.contains(ctx.dst_port);
        fwd || (self.bidir
            && self.src.contains(ctx.dst_ip)
            && self.dst.contains(ctx.src_ip)
            && self.sport.contains(ctx.dst_port)
            && self.dport.contains(ctx.src_port))
    }
}

/// Variable caches shared by all rules of one build.
#[derive(Default)]
pub(crate) struct GroupCache {
    pub addr: HashMap<String, Cached<IpSet>>,
    pub port: HashMap<String, Cached<PortSet>>,
}

/// Split the header into whitespace-separated tokens; whitespace inside
/// `[...]` belongs to the token. Returns (offset, token) pairs.
fn tokens(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        let mut depth = 0usize;
        while let Some(&c) = b.get(i) {
            match c {
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                c if c.is_ascii_whitespace() && depth == 0 => break,
                _ => {}
            }
            i += 1;
        }
        out.push((start, text.get(start..i).unwrap_or_default()));
    }
    out
}

/// Parse the header text (everything before the options' `(`).
/// Errors are positioned within `text`.
pub(crate) fn parse_header(text: &str, vars: &Vars, cache: &mut GroupCache) -> Result<Header, SpanError> {
    let toks = tokens(text);
    let [(a_at, action), (p_at, proto), (s_at, src), (sp_at, sport), (d_at, dir), (t_at, dst), (tp_at, dport)] =
        toks.as_slice()
    else {
        let at = toks.get(7).map_or(text.trim_end().len(), |t| t.0);
        let msg = if toks.len() > 7 {
            "unexpected text after the header (expected '(')"
        } else {
            "incomplete header: expected 'action proto src sport -> dst dport'"
        };
        return Err(SpanError::new(at, reason::SYNTAX, msg));
    };
    let action = Action::parse(action)
        .ok_or_else(|| SpanError::new(*a_at, reason::BAD_ACTION, format!("unknown action '{action}'")))?;
    let proto = Proto::parse(proto).ok_or_else(|| {
        SpanError::new(
            *p_at,
            reason::UNKNOWN_PROTOCOL,
            format!("unknown protocol '{proto}'"),
        )
    })?;
    let bidir = match *dir {
        "->" => false,
        "<>" => true,
        other => {
            return Err(SpanError::new(
                *d_at,
                reason::SYNTAX,
                format!("expected '->' or '<>', found '{other}'"),
            ));
        }
    };
    let mut addr = |s: &str, at: usize| {
        Resolver::<IpSet>::new(&vars.address, &mut cache.addr)
            .resolve(s)
            .map_err(|e| e.offset(at))
    };
    let mut port = |s: &str, at: usize| {
        Resolver::<PortSet>::new(&vars.port, &mut cache.port)
            .resolve(s)
            .map_err(|e| e.offset(at))
    };
    let src = addr(src, *s_at)?;
    let sport = port(sport, *sp_at)?;
    let dst = addr(dst, *t_at)?;
    let dport = port(dport, *tp_at)?;
    Ok(Header {
        action,
        proto,
        src,
        sport,
        dst,
        dport,
        bidir,
    })
}
