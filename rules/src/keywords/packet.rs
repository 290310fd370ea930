//! Packet header keywords: `ip_proto`, `id`, `fragbits`, `fragoffset`,
//! `seq`, `ack`, `window`, `tcp.mss`, `icmp_id`, `icmp_seq`, `stream_size`.
//! They compare [`crate::PacketFields`]; a field the engine did not fill
//! (`None`) never matches.

use super::uint::{self, UintMatch};
use super::Opt;
use crate::error::{reason, SpanError};
use crate::PacketFields;

/// `fragbits` flag bits as in [`PacketFields::frag_bits`].
pub const FRAG_MF: u8 = 1;
/// Don't fragment.
pub const FRAG_DF: u8 = 2;
/// Reserved bit.
pub const FRAG_RB: u8 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FragMod {
    Exact,
    Plus,
    Any,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StreamSize {
    /// 0 server, 1 client, 2 both, 3 either.
    pub side: u8,
    pub cmp: UintMatch,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct PacketDraft {
    pub ip_proto: Option<(bool, u8)>,
    pub id: Option<UintMatch>,
    pub fragbits: Option<(FragMod, u8)>,
    pub fragoffset: Option<UintMatch>,
    pub seq: Option<UintMatch>,
    pub ack: Option<UintMatch>,
    pub window: Option<(bool, u16)>,
    pub mss: Option<UintMatch>,
    pub icmp_id: Option<UintMatch>,
    pub icmp_seq: Option<UintMatch>,
    pub stream_size: Vec<StreamSize>,
}

impl PacketDraft {
    pub fn is_empty(&self) -> bool {
        self.ip_proto.is_none()
            && self.id.is_none()
            && self.fragbits.is_none()
            && self.fragoffset.is_none()
            && self.seq.is_none()
            && self.ack.is_none()
            && self.window.is_none()
            && self.mss.is_none()
            && self.icmp_id.is_none()
            && self.icmp_seq.is_none()
            && self.stream_size.is_empty()
    }

    pub fn matches(&self, ip_proto: u8, f: &PacketFields) -> bool {
        let u = |m: &Option<UintMatch>, v: Option<u32>| m.is_none_or(|m| v.is_some_and(|v| m.matches(v)));
        self.ip_proto.is_none_or(|(neg, p)| (p == ip_proto) != neg)
            && u(&self.id, f.ip_id)
            && u(&self.fragoffset, f.frag_offset.map(u32::from))
            && u(&self.seq, f.tcp_seq)
            && u(&self.ack, f.tcp_ack)
            && u(&self.mss, f.tcp_mss.map(u32::from))
            && u(&self.icmp_id, f.icmp_id.map(u32::from))
            && u(&self.icmp_seq, f.icmp_seq.map(u32::from))
            && self
                .window
                .is_none_or(|(neg, w)| f.tcp_window.is_some_and(|x| (x == w) != neg))
            && self.fragbits.is_none_or(|(m, bits)| {
                f.frag_bits.is_some_and(|x| match m {
                    FragMod::Exact => x == bits,
                    FragMod::Plus => x & bits == bits,
                    FragMod::Any => x & bits != 0,
                    FragMod::Not => x & bits == 0,
                })
            })
            && self.stream_size.iter().all(|s| {
                f.stream_bytes.is_some_and(|(srv, cli)| {
                    let m = |v: u64| s.cmp.matches(u32::try_from(v).unwrap_or(u32::MAX));
                    match s.side {
                        0 => m(srv),
                        1 => m(cli),
                        2 => m(srv) && m(cli),
                        _ => m(srv) || m(cli),
                    }
                })
            })
    }
}

fn set<T>(opt: &Opt<'_>, slot: &mut Option<T>, v: T) -> Result<(), SpanError> {
    if slot.is_some() {
        return Err(opt.err(reason::CONFLICT, format!("'{}' given twice", opt.name)));
    }
    *slot = Some(v);
    Ok(())
}

fn cmp(opt: &Opt<'_>, max: u32) -> Result<UintMatch, SpanError> {
    let v = opt.value()?;
    uint::parse(v, max)
        .map_err(|e| opt.err_value(0, reason::BAD_VALUE, format!("bad {} '{v}': {e}", opt.name)))
}

fn bad(opt: &Opt<'_>, v: &str) -> SpanError {
    opt.err_value(0, reason::BAD_VALUE, format!("bad {} value '{v}'", opt.name))
}

/// Apply a packet keyword; `None` when `opt` is not one.
pub(crate) fn apply(opt: &Opt<'_>, d: &mut PacketDraft) -> Option<Result<(), SpanError>> {
    let r = match opt.name {
        "ip_proto" => (|| {
            let v = opt.value()?.trim();
            let (neg, name) = match v.strip_prefix('!') {
                Some(r) => (true, r.trim()),
                None => (false, v),
            };
            let p = match name.to_ascii_lowercase().as_str() {
                "tcp" => 6,
                "udp" => 17,
                "icmp" => 1,
                "ipv6-icmp" | "icmpv6" => 58,
                "igmp" => 2,
                "gre" => 47,
                "esp" => 50,
                "ah" => 51,
                "sctp" => 132,
                n => n.parse::<u8>().map_err(|_| bad(opt, v))?,
            };
            set(opt, &mut d.ip_proto, (neg, p))
        })(),
        "id" => cmp(opt, u32::from(u16::MAX)).and_then(|m| set(opt, &mut d.id, m)),
        "fragoffset" => cmp(opt, 8191).and_then(|m| set(opt, &mut d.fragoffset, m)),
        "seq" => cmp(opt, u32::MAX).and_then(|m| set(opt, &mut d.seq, m)),
        "ack" => cmp(opt, u32::MAX).and_then(|m| set(opt, &mut d.ack, m)),
        "tcp.mss" | "tcpmss" => cmp(opt, u32::from(u16::MAX)).and_then(|m| set(opt, &mut d.mss, m)),
        "icmp_id" => cmp(opt, u32::from(u16::MAX)).and_then(|m| set(opt, &mut d.icmp_id, m)),
        "icmp_seq" => cmp(opt, u32::from(u16::MAX)).and_then(|m| set(opt, &mut d.icmp_seq, m)),
        "window" => (|| {
            let v = opt.value()?.trim();
            let (neg, n) = match v.strip_prefix('!') {
                Some(r) => (true, r.trim()),
                None => (false, v),
            };
            let n = n.parse::<u16>().map_err(|_| bad(opt, v))?;
            set(opt, &mut d.window, (neg, n))
        })(),
        "fragbits" => (|| {
            let v = opt.value()?.trim();
            // The modifier may come before or after the flags (`+M`, `M+`).
            let mut m = FragMod::Exact;
            let mut bits = 0;
            for c in v.chars() {
                match c.to_ascii_uppercase() {
                    'M' => bits |= FRAG_MF,
                    'D' => bits |= FRAG_DF,
                    'R' => bits |= FRAG_RB,
                    '+' if m == FragMod::Exact => m = FragMod::Plus,
                    '*' if m == FragMod::Exact => m = FragMod::Any,
                    '!' if m == FragMod::Exact => m = FragMod::Not,
                    ' ' => {}
                    _ => return Err(bad(opt, v)),
                }
            }
            if bits == 0 {
                return Err(bad(opt, v));
            }
            set(opt, &mut d.fragbits, (m, bits))
        })(),
        "stream_size" => (|| {
            let v = opt.value()?;
            let parts: Vec<&str> = v.split(',').map(str::trim).collect();
            let [side, op, n] = parts.as_slice() else {
                return Err(bad(opt, v));
            };
            let side = match *side {
                "server" => 0,
                "client" => 1,
                "both" => 2,
                "either" => 3,
                _ => return Err(bad(opt, v)),
            };
            let op = if *op == "=" {
                ""
            } else if *op == "!=" {
                "!"
            } else {
                op
            };
            let cmp = uint::parse(&format!("{op}{n}"), u32::MAX).map_err(|_| bad(opt, v))?;
            d.stream_size.push(StreamSize { side, cmp });
            Ok(())
        })(),
        _ => return None,
    };
    Some(r)
}
