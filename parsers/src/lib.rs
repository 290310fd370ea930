//! tapwatch-parsers: pure, zero-copy parsers for the protocols tapwatch reads.
//!
//! Every parser takes `&[u8]` and returns the rest of the input together with a
//! view that borrows from it. Parsers keep no state, never allocate and never
//! panic: short or malformed input is a [`ParseError`].
//!
//! Tunnel encapsulations used by traffic mirroring:
//! - [`vxlan`]: VXLAN (RFC 7348), AWS VPC Traffic Mirroring's UDP 4789.
//! - [`geneve`]: GENEVE (RFC 8926), AWS Gateway Load Balancer's UDP 6081.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod error;
pub mod geneve;
pub mod vxlan;

pub use error::ParseError;
pub use geneve::{parse_geneve, GeneveHeader, GeneveOption, GeneveOptions};
pub use vxlan::{parse_vxlan, VxlanHeader};
