//! Ingress: capture files → frames with a timestamp, a link type and a record number.
//!
//! [`PcapReader`] streams legacy pcap (µs and ns timestamps, either byte order)
//! and pcapng (any number of sections and interfaces, each with its own link
//! type and timestamp resolution, either byte order) through a bounded buffer:
//! the file is never read whole, the buffer grows only for a record that needs
//! it (up to [`MAX_CAPLEN`] of packet data), and returning a frame allocates
//! nothing. Blocks that carry no packet (statistics, name resolution, custom,
//! ...) are skipped without being buffered.
//!
//! Capture files are input like any other: a bad one is an [`IngressError`]
//! naming the file, the record and the byte offset, never a panic or a hang.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

mod reader;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;

pub use reader::{PcapReader, SharedAt};

/// Largest packet record accepted (bytes of captured data): libpcap's
/// `MAXIMUM_SNAPLEN`. A larger record length means a corrupt file.
pub const MAX_CAPLEN: usize = 262_144;

/// The link layer of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// Ethernet II (DLT 1).
    Ethernet,
    /// Raw IP, version from the first nibble (DLT 101, 12, 14).
    Raw,
    /// Raw IPv4 (DLT 228).
    Ipv4,
    /// Raw IPv6 (DLT 229).
    Ipv6,
    /// Linux cooked capture v1 (DLT 113).
    Sll,
    /// Linux cooked capture v2 (DLT 276).
    Sll2,
    /// BSD loopback, address family in host byte order (DLT 0).
    Null,
    /// OpenBSD loopback, address family in network byte order (DLT 108).
    Loop,
}

impl LinkType {
    /// The link type of a pcap/pcapng LINKTYPE / DLT number, if tapwatch decodes it.
    pub fn from_dlt(dlt: u32) -> Option<LinkType> {
        Some(match dlt {
            1 => LinkType::Ethernet,
            101 | 12 | 14 => LinkType::Raw,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            113 => LinkType::Sll,
            276 => LinkType::Sll2,
            0 => LinkType::Null,
            108 => LinkType::Loop,
            _ => return None,
        })
    }

    /// The canonical LINKTYPE number (101 for raw IP).
    pub fn dlt(self) -> u32 {
        match self {
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::Sll => 113,
            LinkType::Sll2 => 276,
            LinkType::Null => 0,
            LinkType::Loop => 108,
        }
    }
}

/// One captured frame. Borrows the reader's buffer until the next call to
/// [`PcapReader::next_frame`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// Link layer of `data`.
    pub linktype: LinkType,
    /// Captured bytes (possibly fewer than `orig_len`).
    pub data: &'a [u8],
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// 1-based index of this packet record in the file.
    pub record: u64,
}

/// Where in a capture file something happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// 1-based packet record number (0: the file header).
    pub record: u64,
    /// Byte offset of the record or block in the file.
    pub offset: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.record == 0 {
            write!(f, "file header (byte offset {})", self.offset)
        } else {
            write!(f, "record {} (byte offset {})", self.record, self.offset)
        }
    }
}

/// Why a capture file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IngressError {
    /// The file could not be opened or read.
    #[error("{path}: {source}", path = .path.display())]
    Io {
        /// The capture file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a pcap or pcapng capture.
    #[error("{path}: not a pcap or pcapng capture file: {reason}", path = .path.display())]
    NotCapture {
        /// The capture file.
        path: PathBuf,
        /// What gave it away.
        reason: &'static str,
    },
    /// The file ends in the middle of a record.
    #[error(
        "{path}: {at}: truncated: the record needs {needed} bytes but the file ends after {available}",
        path = .path.display()
    )]
    Truncated {
        /// The capture file.
        path: PathBuf,
        /// Which record.
        at: Location,
        /// Bytes the record needs.
        needed: u64,
        /// Bytes left in the file.
        available: u64,
    },
    /// A record length that cannot be right.
    #[error("{path}: {at}: bogus record length {len}: {reason}", path = .path.display())]
    BogusLength {
        /// The capture file.
        path: PathBuf,
        /// Which record.
        at: Location,
        /// The length found.
        len: u64,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A link type tapwatch does not decode.
    #[error("{path}: {at}: unknown link type {linktype}", path = .path.display())]
    UnknownLinkType {
        /// The capture file.
        path: PathBuf,
        /// Which record (or the file header).
        at: Location,
        /// The LINKTYPE number.
        linktype: u32,
    },
    /// A structure inside the file is invalid.
    #[error("{path}: {at}: malformed {what}", path = .path.display())]
    Malformed {
        /// The capture file.
        path: PathBuf,
        /// Which record.
        at: Location,
        /// What is wrong.
        what: &'static str,
    },
}

impl IngressError {
    /// True if reading can go on after this error (the bad record was
    /// skipped): only [`IngressError::UnknownLinkType`] on a pcapng packet.
    pub fn is_recoverable(&self) -> bool {
        matches!(self, IngressError::UnknownLinkType { at, .. } if at.record != 0)
    }
}
