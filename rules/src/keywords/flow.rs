//! `flow`: direction and state of the packet's flow.
//!
//! Options: `to_server`/`from_client`, `to_client`/`from_server`,
//! `established`, `not_established`, `stateless`, and `only_stream`/
//! `no_stream` (matched against whether the engine is inspecting a
//! reassembled stream or a single packet).

use super::Opt;
use crate::error::{reason, SpanError};
use crate::PacketCtx;

/// A parsed `flow` keyword.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FlowMatch {
    /// `Some(true)`: to server.
    pub to_server: Option<bool>,
    pub established: Option<bool>,
    pub stateless: bool,
    /// `Some(true)`: only_stream.
    pub stream: Option<bool>,
}

impl FlowMatch {
    pub fn matches(&self, ctx: &PacketCtx<'_>) -> bool {
        if (self.to_server.is_some() || self.established.is_some()) && !ctx.has_flow {
            return false;
        }
        self.to_server.is_none_or(|d| d == ctx.to_server)
            && self.established.is_none_or(|e| e == ctx.established)
            && self.stream.is_none_or(|s| s == ctx.is_stream)
    }
}

fn set<T: PartialEq + Copy>(
    slot: &mut Option<T>,
    v: T,
    opt: &Opt<'_>,
    at: usize,
    word: &str,
) -> Result<(), SpanError> {
    match *slot {
        Some(old) if old != v => Err(opt.err_value(
            at,
            reason::CONFLICT,
            format!("flow option '{word}' conflicts with an earlier one"),
        )),
        _ => {
            *slot = Some(v);
            Ok(())
        }
    }
}

/// Parse `flow:...` into `slot`.
pub(crate) fn keyword(opt: &Opt<'_>, slot: &mut Option<FlowMatch>) -> Result<(), SpanError> {
    if slot.is_some() {
        return Err(opt.err(reason::CONFLICT, "'flow' given twice"));
    }
    let v = opt.value()?;
    let mut f = FlowMatch::default();
    let mut at = 0;
    for part in v.split(',') {
        let lead = part.len() - part.trim_start().len();
        let word_at = at + lead;
        let word = part.trim();
        match word.to_ascii_lowercase().as_str() {
            "to_server" | "from_client" => set(&mut f.to_server, true, opt, word_at, word)?,
            "to_client" | "from_server" => set(&mut f.to_server, false, opt, word_at, word)?,
            "established" => set(&mut f.established, true, opt, word_at, word)?,
            "not_established" => set(&mut f.established, false, opt, word_at, word)?,
            "stateless" => f.stateless = true,
            "only_stream" => set(&mut f.stream, true, opt, word_at, word)?,
            "no_stream" => set(&mut f.stream, false, opt, word_at, word)?,
            _ => {
                return Err(opt.err_value(
                    word_at,
                    reason::BAD_VALUE,
                    format!("unknown flow option '{word}'"),
                ));
            }
        }
        at += part.len() + 1;
    }
    if f.stateless && f.established.is_some() {
        return Err(opt.err_value(
            0,
            reason::CONFLICT,
            "'stateless' conflicts with established/not_established",
        ));
    }
    *slot = Some(f);
    Ok(())
}
