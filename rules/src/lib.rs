//! tapwatch-rules: Suricata rule text -> compiled, immutable [`RuleSet`].
//!
//! The crate owns the rule language (header, options, variables,
//! classification) and the matcher (prefilter + verification). It knows
//! nothing about packets or flows: the engine describes what it is
//! inspecting in a [`PacketCtx`] and gets back the indexes of the rules
//! that match.
//!
//! ```
//! use tapwatch_rules::{Classifications, PacketCtx, RuleSetBuilder, Vars};
//!
//! let mut b = RuleSetBuilder::new(Vars::default(), Classifications::bundled());
//! b.add_text("local.rules", r#"alert tcp any any -> any 80 (msg:"GET"; content:"GET "; depth:4; sid:1;)"#);
//! let (rules, report) = b.build();
//! assert_eq!((report.loaded, report.failed), (1, 0));
//!
//! let ctx = PacketCtx {
//!     ip_proto: 6, src_ip: "10.0.0.1".parse().unwrap(), dst_ip: "10.0.0.2".parse().unwrap(),
//!     src_port: 40000, dst_port: 80, ttl: 64, tcp_flags: Some(0x18), icmp_type_code: None,
//!     dsize: 18, has_flow: true, to_server: true, established: true, app_proto: None,
//!     buffer: b"GET / HTTP/1.1\r\n\r\n", new_from: 0, is_stream: false,
//!     app_buffers: &[], fields: Default::default(),
//! };
//! let mut scratch = rules.new_scratch();
//! let mut hits = Vec::new();
//! rules.match_packet(&ctx, &mut scratch, &mut hits);
//! assert_eq!(hits, [0]);
//! assert_eq!(rules.meta(0).msg, "GET");
//! ```
//!
//! # Matching semantics
//!
//! - `hits` is cleared, then gets every matching rule index once, ascending
//!   (index order is load order).
//! - Header: `ip` matches every packet, `icmp` ICMPv4 and ICMPv6; an
//!   app-layer protocol (`http`, `tls`, `dns`, ...) matches TCP/UDP packets
//!   whose `app_proto` is that name (`http` also accepts "http1"/"http2",
//!   `http1` also "http"). A port constraint other than `any` only matches
//!   TCP, UDP and SCTP packets.
//! - Contents follow Suricata (see the `inspect` module); rules with
//!   contents never match an empty buffer.
//! - Stream windows (`new_from > 0`): a rule with a positive content is a
//!   candidate only when its fast pattern occurs ending after `new_from`
//!   (the prefilter scans only new bytes plus the overlap a pattern needs),
//!   and it matches only when its last positive content ends after
//!   `new_from`. Rules without positive content ignore `new_from`.
//! - `dsize` compares [`PacketCtx::dsize`], also when inspecting a stream.
//!
//! Guarantees: loading never panics on any input text and reports every bad
//! rule with file, line and column; matching allocates nothing once a
//! [`Scratch`] has warmed up, takes no locks, and is bounded per rule.
#![forbid(unsafe_code)]
// Input is hostile: no unwrap or unchecked indexing outside tests (issue 8).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]
#![deny(missing_docs)]

mod address;
mod buffer;
mod classification;
mod error;
mod fdr;
mod group;
mod header;
mod hostindex;
mod inspect;
mod keywords;
mod parse;
mod port;
mod prefilter;
mod rule;
mod ruleset;
mod set;
mod source;
mod state;
mod threshold_file;
mod vars;

/// Internals exposed for the fuzz targets in `fuzz/`; not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    /// The prefilter's multi-literal matcher over `patterns`: its reports
    /// on `hay` as (pattern, start, end), in report order (see the
    /// matcher's contract for one-byte patterns and `min_end`). `None`
    /// when it cannot be built.
    pub fn multi_literal_matches(
        patterns: &[&[u8]],
        hay: &[u8],
        min_end: usize,
    ) -> Option<Vec<(usize, usize, usize)>> {
        let m = crate::fdr::Fdr::new(patterns)?;
        let mut out = Vec::new();
        m.for_each_match(hay, min_end, |id, s, e| out.push((id, s, e)));
        Some(out)
    }
}

pub use buffer::BufferId;
pub use classification::{Classification, Classifications};
pub use error::{LoadError, LoadReport};
pub use header::Action;
pub use keywords::event::{Event, EventKind, EventSet};
pub use keywords::state::Track;
pub use rule::RuleMeta;
pub use ruleset::{
    FlowVars, PacketCtx, PacketFields, RuleSet, RuleSetBuilder, Scratch, ThresholdState, XbitState,
};
pub use state::MAX_XBITS;

/// Does the backtracking pcre engine (PCRE2) compile patterns to machine
/// code on this platform? (Otherwise it interprets them, more slowly.)
pub fn pcre_jit_available() -> bool {
    pcre2::is_jit_available()
}
pub use vars::Vars;

#[cfg(test)]
mod tests;
