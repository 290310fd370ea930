//! tapwatch-engine: ingress, decode/decap, flows, stream, detection glue,
//! EVE output and the replay pipeline.
//!
//! Data flows one way: [`ingress`] yields frames, [`decode`] turns a frame
//! into a [`decode::Packet`] view, [`pipeline`] hashes the inner 5-tuple and
//! hands batches to workers; each worker owns a [`flow::FlowTable`] shard,
//! the per-direction [`stream`] state and runs [`detect`], and sends EVE
//! records to [`output`].
#![forbid(unsafe_code)]
// Input is hostile: no unwrap or unchecked indexing outside tests (issue 8).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

pub mod applayer;
pub mod config;
pub mod decode;
pub mod dedup;
pub mod defrag;
pub mod detect;
pub mod flow;
pub mod ingress;
pub mod live;
pub mod output;
pub mod pipeline;
pub mod stats;
pub mod stream;
pub mod time;

pub use config::{EncryptionHandling, EngineConfig};
pub use pipeline::{replay, ReplayError, ReplaySummary};
