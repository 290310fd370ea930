//! tapwatch-parsers: pure, zero-copy parsers for the protocols tapwatch reads.
//!
//! Every parser takes `&[u8]` and returns the rest of the input together with a
//! view that borrows from it. Parsers keep no state, never allocate and never
//! panic: short or malformed input is a [`ParseError`].
//!
//! Tunnel encapsulations used by traffic mirroring:
//! - [`vxlan`]: VXLAN (RFC 7348), AWS VPC Traffic Mirroring's UDP 4789.
//! - [`geneve`]: GENEVE (RFC 8926), AWS Gateway Load Balancer's UDP 6081.
//!
//! Application protocols, streaming-aware: a buffer that ends inside a
//! message is [`ParseError::Incomplete`] ("need more"), never `Invalid`:
//! - [`http1`]: HTTP/1.x request/status lines, headers, chunk framing, URI
//!   normalisation.
//! - [`tls`]: TLS records, handshake messages, ClientHello/ServerHello,
//!   Certificate chains.
//! - [`pgsql`]: PostgreSQL frontend and backend messages.
//! - [`dns`]: DNS messages over UDP and TCP.
#![forbid(unsafe_code)]
// Input is hostile: no unwrap or unchecked indexing outside tests (issue 8).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]
#![deny(missing_docs)]

pub mod dns;
pub mod error;
pub mod geneve;
pub mod http1;
pub mod pgsql;
pub mod tls;
pub mod vxlan;

pub use error::ParseError;
pub use geneve::{parse_geneve, GeneveHeader, GeneveOption, GeneveOptions};
pub use vxlan::{parse_vxlan, VxlanHeader};
