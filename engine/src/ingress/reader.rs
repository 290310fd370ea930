//! Streaming pcap / pcapng reader over a bounded buffer.
//!
//! The buffer holds `buf[start..end]` of unread file bytes. A record is parsed
//! in place and returned as a slice of the buffer; it is consumed at the start
//! of the next call. The buffer grows only when a single record needs more room
//! than it has, and never beyond [`BUF_CAP`].
//!
//! [`PcapReader::next_shared`] also hands out the buffer itself (a shared
//! block), so frames can travel to other threads without being copied.
//! A block shared that way is never written again: the next read goes to
//! another block (a spare one whose frames are all done, or a new one),
//! with only the unread tail moved over.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pcap_parser::pcap::{parse_pcap_frame, parse_pcap_frame_be, parse_pcap_header};
use pcap_parser::pcapng::{
    parse_interfacedescriptionblock_be, parse_interfacedescriptionblock_le, parse_sectionheaderblock,
    OptionCode,
};

use super::{IngressError, LinkType, Location, MAX_CAPLEN};

/// Initial buffer size: large enough for many ordinary records per read.
const BUF_INITIAL: usize = 64 * 1024;
/// Room for the largest pcapng packet block: data, header and options.
const MAX_NG_BLOCK: usize = MAX_CAPLEN + 64 * 1024;
/// The buffer never grows beyond this.
const BUF_CAP: usize = MAX_NG_BLOCK;
/// Blocks kept for reuse once every frame handed out from them is done;
/// past this, the oldest is let go (its frames keep it alive meanwhile).
const MAX_SPARE_BLOCKS: usize = 256;
/// Interfaces per pcapng section; more means a corrupt or hostile file.
const MAX_INTERFACES: usize = 4096;

const LEGACY_HEADER_LEN: usize = 24;
const LEGACY_RECORD_HEADER_LEN: usize = 16;
const LEGACY_MODIFIED_RECORD_HEADER_LEN: usize = 24;
const MAGIC_US: u32 = 0xa1b2_c3d4;
const MAGIC_NS: u32 = 0xa1b2_3c4d;
const MAGIC_MODIFIED: u32 = 0xa1b2_cd34;

const SHB_TYPE: u32 = 0x0a0d_0d0a; // the same in both byte orders
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
const IDB_TYPE: u32 = 0x0000_0001;
const SPB_TYPE: u32 = 0x0000_0003;
const EPB_TYPE: u32 = 0x0000_0006;
const NG_BLOCK_MIN: usize = 12; // type, length, trailing length
const EPB_FIXED: usize = 32; // 28 header bytes + trailing length
const SPB_FIXED: usize = 16;

/// Reads frames from a legacy pcap or pcapng capture, one at a time.
///
/// # Examples
/// ```no_run
/// # use tapwatch_engine::ingress::PcapReader;
/// let mut reader = PcapReader::open("capture.pcap".as_ref())?;
/// while let Some(frame) = reader.next_frame()? {
///     println!("{} {} bytes at {}", frame.record, frame.data.len(), frame.ts_ns);
/// }
/// # Ok::<(), tapwatch_engine::ingress::IngressError>(())
/// ```
pub struct PcapReader {
    path: PathBuf,
    src: Box<dyn Read + Send>,
    /// The buffer, shared with frames handed out by [`PcapReader::next_shared`].
    buf: Arc<Vec<u8>>,
    /// Blocks that were shared, to reuse once nothing else holds them.
    spare: Vec<Arc<Vec<u8>>>,
    start: usize,
    end: usize,
    eof: bool,
    /// File offset of `buf[start]`.
    offset: u64,
    format: Format,
    /// Packet records seen so far (returned or rejected).
    records: u64,
    /// Bytes of the last returned record, consumed on the next call.
    pending: usize,
    /// A fatal error was returned: the reader is finished.
    failed: bool,
    /// Timestamp of the last frame (simple packet blocks carry none).
    last_ts_ns: u64,
}

enum Format {
    Legacy {
        big_endian: bool,
        nanos: bool,
        record_header: usize,
        linktype: LinkType,
    },
    Ng {
        big_endian: bool,
        interfaces: Vec<Interface>,
    },
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: u32,
    snaplen: u32,
    tsresol: u8,
    tsoffset_s: i64,
}

/// A packet record found in the buffer, by position.
struct Record {
    /// Offset of the packet data from `start`.
    data_at: usize,
    caplen: usize,
    /// Whole record length (consumed after the frame is used).
    total: usize,
    ts_ns: u64,
    linktype: LinkType,
    orig_len: u32,
}

/// Where a frame returned by [`PcapReader::next_shared`] lies: its bytes
/// are `block[start..start + frame.data.len()]`.
#[derive(Clone, Copy, Debug)]
pub struct SharedAt<'a> {
    /// The block (clone it to keep the bytes).
    pub block: &'a Arc<Vec<u8>>,
    /// Offset of the frame in the block.
    pub start: usize,
}

/// Result of one step of the pcapng block loop.
enum Step {
    Frame(Record),
    Skipped,
    End,
}

impl PcapReader {
    /// Opens a capture file and reads its header.
    ///
    /// # Errors
    /// [`IngressError::Io`] if the file cannot be read,
    /// [`IngressError::NotCapture`] if it is not pcap or pcapng, and
    /// [`IngressError::UnknownLinkType`] for a legacy pcap of a link type
    /// tapwatch does not decode.
    pub fn open(path: &Path) -> Result<PcapReader, IngressError> {
        let file = File::open(path).map_err(|source| IngressError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        PcapReader::from_reader(path, file)
    }

    /// Reads a capture from any byte stream (stdin, memory); `name` is used in errors.
    ///
    /// # Errors
    /// As [`PcapReader::open`].
    pub fn from_reader(
        name: impl Into<PathBuf>,
        src: impl Read + Send + 'static,
    ) -> Result<PcapReader, IngressError> {
        let mut r = PcapReader {
            path: name.into(),
            src: Box::new(src),
            buf: Arc::new(vec![0; BUF_INITIAL]),
            spare: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            offset: 0,
            format: Format::Ng {
                big_endian: false,
                interfaces: Vec::new(),
            },
            records: 0,
            pending: 0,
            failed: false,
            last_ts_ns: 0,
        };
        r.read_file_header()?;
        Ok(r)
    }

    /// The capture file's path (or the name given to [`PcapReader::from_reader`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Packet records read so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Byte offset in the file of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.offset.saturating_add(self.pending as u64)
    }

    /// Returns the next frame, or `None` at the end of the file.
    ///
    /// After an error the reader is finished (further calls return `None`),
    /// except for a recoverable one ([`IngressError::is_recoverable`]): the bad
    /// record is skipped and the next call reads on.
    ///
    /// # Errors
    /// [`IngressError`] for a truncated or corrupt file, naming the record and
    /// its byte offset.
    pub fn next_frame(&mut self) -> Result<Option<super::Frame<'_>>, IngressError> {
        Ok(self.next_shared()?.map(|(f, _)| f))
    }

    /// As [`PcapReader::next_frame`], with the block holding the frame and
    /// the frame's offset in it: a clone of the block keeps the bytes for
    /// as long as it lives, and the reader never writes that block again.
    ///
    /// # Errors
    /// As [`PcapReader::next_frame`].
    pub fn next_shared(&mut self) -> Result<Option<(super::Frame<'_>, SharedAt<'_>)>, IngressError> {
        self.consume(self.pending);
        self.pending = 0;
        if self.failed {
            return Ok(None);
        }
        let record = match self.next_record() {
            Ok(Some(rec)) => rec,
            Ok(None) => return Ok(None),
            Err(e) => {
                self.failed = !e.is_recoverable();
                return Err(e);
            }
        };
        self.pending = record.total;
        self.last_ts_ns = record.ts_ns;
        let from = self.start.saturating_add(record.data_at);
        let data = from
            .checked_add(record.caplen)
            .and_then(|to| self.buf.get(from..to))
            .unwrap_or(&[]);
        debug_assert_eq!(data.len(), record.caplen, "record lies inside the buffer");
        let frame = super::Frame {
            ts_ns: record.ts_ns,
            linktype: record.linktype,
            data,
            orig_len: record.orig_len,
            record: self.records,
        };
        Ok(Some((
            frame,
            SharedAt {
                block: &self.buf,
                start: from,
            },
        )))
    }

    fn next_record(&mut self) -> Result<Option<Record>, IngressError> {
        match self.format {
            Format::Legacy { .. } => self.next_legacy(),
            Format::Ng { .. } => loop {
                // Every step consumes at least one whole block or ends.
                match self.next_ng_step()? {
                    Step::Frame(rec) => return Ok(Some(rec)),
                    Step::Skipped => continue,
                    Step::End => return Ok(None),
                }
            },
        }
    }

    // ---- buffer -----------------------------------------------------------

    fn available(&self) -> usize {
        self.end - self.start
    }

    fn bytes(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.available());
        self.start += n;
        self.offset = self.offset.saturating_add(n as u64);
    }

    /// Makes at least `need` bytes (at most [`BUF_CAP`]) available, unless the
    /// file ends first. Returns whether they are.
    fn fill(&mut self, need: usize) -> Result<bool, IngressError> {
        debug_assert!(need <= BUF_CAP);
        while self.available() < need && !self.eof {
            let shared = Arc::get_mut(&mut self.buf).is_none();
            if shared || self.buf.len() - self.start < need || self.end == self.buf.len() {
                self.make_room(need);
            }
            let len = self.buf.len();
            let space = Arc::get_mut(&mut self.buf)
                .and_then(|b| b.get_mut(self.end..))
                .unwrap_or(&mut []);
            match self.src.read(space) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n.min(space_len(len, self.end)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(IngressError::Io {
                        path: self.path.clone(),
                        source,
                    })
                }
            }
        }
        Ok(self.available() >= need)
    }

    /// Moves the unread bytes to the front of a buffer that nothing else
    /// holds and that has room for `need` bytes: this one, or when frames
    /// from it are out, a spare block.
    fn make_room(&mut self, need: usize) {
        let size = if self.buf.len() < need {
            need.next_power_of_two().clamp(need, BUF_CAP.max(need))
        } else {
            self.buf.len()
        };
        let (start, end) = (self.start, self.end);
        if let Some(b) = Arc::get_mut(&mut self.buf) {
            b.copy_within(start..end, 0);
            if b.len() < size {
                b.resize(size, 0);
            }
        } else {
            let free = self.spare.iter_mut().position(|b| Arc::get_mut(b).is_some());
            let mut fresh = match free {
                Some(i) => self.spare.swap_remove(i),
                None => Arc::new(Vec::new()),
            };
            if let Some(b) = Arc::get_mut(&mut fresh) {
                if b.len() < size {
                    b.resize(size, 0);
                }
                let tail = self.buf.get(start..end).unwrap_or_default();
                if let Some(dst) = b.get_mut(..tail.len()) {
                    dst.copy_from_slice(tail);
                }
            }
            let old = std::mem::replace(&mut self.buf, fresh);
            if self.spare.len() >= MAX_SPARE_BLOCKS {
                self.spare.remove(0);
            }
            self.spare.push(old);
        }
        self.end -= self.start;
        self.start = 0;
    }

    /// Skips `n` bytes, reading through those not yet buffered without keeping them.
    fn skip(&mut self, n: u64, at: Location) -> Result<(), IngressError> {
        let buffered = (self.available() as u64).min(n);
        self.consume(buffered as usize); // buffered <= available, a usize
        let rest = n - buffered;
        if rest == 0 {
            return Ok(());
        }
        let copied = io::copy(&mut (&mut self.src).take(rest), &mut io::sink()).map_err(|source| {
            IngressError::Io {
                path: self.path.clone(),
                source,
            }
        })?;
        self.offset = self.offset.saturating_add(copied);
        if copied < rest {
            self.eof = true;
            return Err(self.truncated(at, n, buffered.saturating_add(copied)));
        }
        Ok(())
    }

    // ---- errors -----------------------------------------------------------

    fn here(&self) -> Location {
        Location {
            record: self.records.saturating_add(1),
            offset: self.offset,
        }
    }

    fn truncated(&self, at: Location, needed: u64, available: u64) -> IngressError {
        IngressError::Truncated {
            path: self.path.clone(),
            at,
            needed,
            available,
        }
    }

    fn bogus(&self, at: Location, len: u64, reason: &'static str) -> IngressError {
        IngressError::BogusLength {
            path: self.path.clone(),
            at,
            len,
            reason,
        }
    }

    fn malformed(&self, at: Location, what: &'static str) -> IngressError {
        IngressError::Malformed {
            path: self.path.clone(),
            at,
            what,
        }
    }

    fn not_capture(&self, reason: &'static str) -> IngressError {
        IngressError::NotCapture {
            path: self.path.clone(),
            reason,
        }
    }

    /// Fills `need` bytes or reports the record at `at` as truncated.
    fn require(&mut self, need: usize, at: Location) -> Result<(), IngressError> {
        if self.fill(need)? {
            Ok(())
        } else {
            Err(self.truncated(at, need as u64, self.available() as u64))
        }
    }

    // ---- file header ------------------------------------------------------

    fn read_file_header(&mut self) -> Result<(), IngressError> {
        if !self.fill(4)? {
            return Err(self.not_capture("file is shorter than a capture file header"));
        }
        let magic = read_u32(self.bytes(), 0, false).unwrap_or(0);
        let header_at = Location { record: 0, offset: 0 };
        if magic == SHB_TYPE {
            self.require(NG_BLOCK_MIN, header_at)?;
            let bom = read_u32(self.bytes(), 8, false).unwrap_or(0);
            if bom != BYTE_ORDER_MAGIC && bom.swap_bytes() != BYTE_ORDER_MAGIC {
                return Err(self.not_capture("pcapng section header has no byte-order magic"));
            }
            // The section header block itself is read by the block loop.
            return Ok(());
        }
        if ![MAGIC_US, MAGIC_NS, MAGIC_MODIFIED]
            .iter()
            .any(|m| *m == magic || m.swap_bytes() == magic)
        {
            return Err(self.not_capture("unknown magic number"));
        }
        self.require(LEGACY_HEADER_LEN, header_at)?;
        let header = match parse_pcap_header(self.bytes()) {
            Ok((_, h)) => h,
            Err(_) => return Err(self.not_capture("unsupported pcap header")),
        };
        // The upper bits of the link type field carry FCS information.
        let dlt = (header.network.0 as u32) & 0x03ff_ffff;
        let Some(linktype) = LinkType::from_dlt(dlt) else {
            return Err(IngressError::UnknownLinkType {
                path: self.path.clone(),
                at: header_at,
                linktype: dlt,
            });
        };
        self.format = Format::Legacy {
            big_endian: header.is_bigendian(),
            nanos: header.is_nanosecond_precision(),
            record_header: if header.is_modified_format() {
                LEGACY_MODIFIED_RECORD_HEADER_LEN
            } else {
                LEGACY_RECORD_HEADER_LEN
            },
            linktype,
        };
        self.consume(LEGACY_HEADER_LEN);
        Ok(())
    }

    // ---- legacy pcap ------------------------------------------------------

    fn next_legacy(&mut self) -> Result<Option<Record>, IngressError> {
        let Format::Legacy {
            big_endian,
            nanos,
            record_header,
            linktype,
        } = self.format
        else {
            return Ok(None);
        };
        let at = self.here();
        if !self.fill(record_header)? {
            if self.available() == 0 {
                return Ok(None);
            }
            return Err(self.truncated(at, record_header as u64, self.available() as u64));
        }
        self.records += 1;
        let caplen = read_u32(self.bytes(), 8, big_endian).unwrap_or(0);
        let caplen_usize = caplen as usize; // u32 fits usize on supported targets
        if caplen_usize > MAX_CAPLEN {
            return Err(self.bogus(at, u64::from(caplen), "larger than 256 KiB"));
        }
        let total = record_header + caplen_usize;
        self.require(total, at)?;
        let parsed = if record_header == LEGACY_RECORD_HEADER_LEN {
            if big_endian {
                parse_pcap_frame_be(self.bytes())
            } else {
                parse_pcap_frame(self.bytes())
            }
        } else {
            pcap_parser::pcap::parse_pcap_frame_modified(self.bytes())
        };
        let Ok((_, block)) = parsed else {
            return Err(self.malformed(at, "pcap record header"));
        };
        let frac_ns = if nanos {
            u64::from(block.ts_usec)
        } else {
            u64::from(block.ts_usec).saturating_mul(1_000)
        };
        let ts_ns = u64::from(block.ts_sec)
            .saturating_mul(1_000_000_000)
            .saturating_add(frac_ns);
        Ok(Some(Record {
            data_at: record_header,
            caplen: caplen_usize,
            total,
            ts_ns,
            linktype,
            orig_len: block.origlen,
        }))
    }

    // ---- pcapng -----------------------------------------------------------

    fn next_ng_step(&mut self) -> Result<Step, IngressError> {
        let at = self.here();
        if !self.fill(NG_BLOCK_MIN)? {
            if self.available() == 0 {
                return Ok(Step::End);
            }
            return Err(self.truncated(at, NG_BLOCK_MIN as u64, self.available() as u64));
        }
        let raw_type = read_u32(self.bytes(), 0, false).unwrap_or(0);
        if raw_type == SHB_TYPE {
            return self.read_section_header(at);
        }
        let Format::Ng { big_endian, .. } = self.format else {
            return Ok(Step::End);
        };
        let block_type = read_u32(self.bytes(), 0, big_endian).unwrap_or(0);
        let len = read_u32(self.bytes(), 4, big_endian).unwrap_or(0);
        let len_usize = len as usize;
        if len_usize < NG_BLOCK_MIN || !len.is_multiple_of(4) {
            return Err(self.bogus(at, u64::from(len), "not a multiple of 4 of at least 12"));
        }
        match block_type {
            EPB_TYPE | SPB_TYPE | IDB_TYPE => {
                if len_usize > MAX_NG_BLOCK {
                    return Err(self.bogus(at, u64::from(len), "packet block larger than 320 KiB"));
                }
                self.require(len_usize, at)?;
                let trailer = read_u32(self.bytes(), len_usize - 4, big_endian).unwrap_or(0);
                if trailer != len {
                    return Err(self.malformed(at, "pcapng block: trailing length differs"));
                }
                match block_type {
                    IDB_TYPE => self.read_interface(at, len_usize).map(|()| Step::Skipped),
                    EPB_TYPE => self.read_epb(at, len_usize, big_endian).map(Step::Frame),
                    _ => self.read_spb(at, len_usize, big_endian).map(Step::Frame),
                }
            }
            _ => {
                // Statistics, name resolution, custom blocks, ...: not needed.
                self.skip(u64::from(len), at)?;
                Ok(Step::Skipped)
            }
        }
    }

    fn read_section_header(&mut self, at: Location) -> Result<Step, IngressError> {
        let bom = read_u32(self.bytes(), 8, false).unwrap_or(0);
        let big_endian = if bom == BYTE_ORDER_MAGIC {
            false
        } else if bom.swap_bytes() == BYTE_ORDER_MAGIC {
            true
        } else {
            return Err(self.malformed(at, "section header block: byte-order magic"));
        };
        let len = read_u32(self.bytes(), 4, big_endian).unwrap_or(0);
        let len_usize = len as usize;
        if len_usize < 28 || !len.is_multiple_of(4) || len_usize > MAX_NG_BLOCK {
            return Err(self.bogus(at, u64::from(len), "section header block length"));
        }
        self.require(len_usize, at)?;
        let block = self.bytes().get(..len_usize).unwrap_or(&[]);
        match parse_sectionheaderblock(block) {
            Ok((_, shb)) if shb.major_version == 1 => {}
            Ok(_) => return Err(self.malformed(at, "section header block: unsupported version")),
            Err(_) => return Err(self.malformed(at, "section header block")),
        }
        self.format = Format::Ng {
            big_endian,
            interfaces: Vec::new(),
        };
        self.consume(len_usize);
        Ok(Step::Skipped)
    }

    fn read_interface(&mut self, at: Location, len: usize) -> Result<(), IngressError> {
        let Format::Ng { big_endian, .. } = self.format else {
            return Ok(());
        };
        let block = self.bytes().get(..len).unwrap_or(&[]);
        let parsed = if big_endian {
            parse_interfacedescriptionblock_be(block)
        } else {
            parse_interfacedescriptionblock_le(block)
        };
        let iface = match parsed {
            Ok((_, idb)) => {
                // pcap-parser reads if_tsoffset little-endian whatever the
                // section's byte order; read it in the right one.
                let tsoffset_s = idb
                    .options
                    .iter()
                    .find(|o| o.code == OptionCode::IfTsoffset)
                    .and_then(|o| read_u64(&o.value, big_endian))
                    .map_or(0, |v| v as i64);
                Interface {
                    linktype: u32::from(idb.linktype.0 as u16),
                    snaplen: idb.snaplen,
                    tsresol: idb.if_tsresol,
                    tsoffset_s,
                }
            }
            Err(_) => return Err(self.malformed(at, "interface description block")),
        };
        if let Format::Ng { interfaces, .. } = &mut self.format {
            if interfaces.len() >= MAX_INTERFACES {
                return Err(self.malformed(at, "pcapng section: more than 4096 interfaces"));
            }
            interfaces.push(iface);
        }
        self.consume(len);
        Ok(())
    }

    fn interface(&self, id: u32) -> Option<Interface> {
        match &self.format {
            Format::Ng { interfaces, .. } => interfaces.get(id as usize).copied(),
            Format::Legacy { .. } => None,
        }
    }

    /// Enhanced packet block (pcapng 4.3). Parsed here rather than with
    /// pcap-parser, whose parser collects options into a `Vec` per packet.
    fn read_epb(&mut self, at: Location, len: usize, be: bool) -> Result<Record, IngressError> {
        self.records += 1;
        let at = Location {
            record: self.records,
            ..at
        };
        if len < EPB_FIXED {
            self.consume(len);
            return Err(self.bogus(at, len as u64, "enhanced packet block shorter than 32"));
        }
        let b = self.bytes();
        let field = |off| read_u32(b, off, be).unwrap_or(0);
        let (if_id, ts_high, ts_low) = (field(8), field(12), field(16));
        let (caplen, orig_len) = (field(20), field(24));
        let caplen_usize = caplen as usize;
        if caplen_usize > MAX_CAPLEN || caplen_usize > len - EPB_FIXED {
            return Err(self.bogus(at, u64::from(caplen), "packet data longer than its block"));
        }
        let Some(iface) = self.interface(if_id) else {
            return Err(self.malformed(at, "enhanced packet block: undeclared interface"));
        };
        let units = (u64::from(ts_high) << 32) | u64::from(ts_low);
        let ts_ns = units_to_ns(units, iface.tsresol, iface.tsoffset_s);
        let linktype = self.packet_linktype(at, len, iface)?;
        Ok(Record {
            data_at: 28,
            caplen: caplen_usize,
            total: len,
            ts_ns,
            linktype,
            orig_len,
        })
    }

    /// Simple packet block (pcapng 4.4): interface 0, no timestamp (the
    /// previous frame's is used), data cut to the interface's snap length.
    fn read_spb(&mut self, at: Location, len: usize, be: bool) -> Result<Record, IngressError> {
        self.records += 1;
        let at = Location {
            record: self.records,
            ..at
        };
        if len < SPB_FIXED {
            self.consume(len);
            return Err(self.bogus(at, len as u64, "simple packet block shorter than 16"));
        }
        let orig_len = read_u32(self.bytes(), 8, be).unwrap_or(0);
        let Some(iface) = self.interface(0) else {
            return Err(self.malformed(at, "simple packet block: no interface declared"));
        };
        let mut caplen = (orig_len as usize).min(len - SPB_FIXED).min(MAX_CAPLEN);
        if iface.snaplen != 0 {
            caplen = caplen.min(iface.snaplen as usize);
        }
        let linktype = self.packet_linktype(at, len, iface)?;
        Ok(Record {
            data_at: 12,
            caplen,
            total: len,
            ts_ns: self.last_ts_ns,
            linktype,
            orig_len,
        })
    }

    /// The link type of a packet on `iface`; an unknown one skips the block and
    /// is reported as recoverable.
    fn packet_linktype(
        &mut self,
        at: Location,
        len: usize,
        iface: Interface,
    ) -> Result<LinkType, IngressError> {
        match LinkType::from_dlt(iface.linktype) {
            Some(lt) => Ok(lt),
            None => {
                self.consume(len);
                Err(IngressError::UnknownLinkType {
                    path: self.path.clone(),
                    at,
                    linktype: iface.linktype,
                })
            }
        }
    }
}

fn space_len(buf_len: usize, end: usize) -> usize {
    buf_len.saturating_sub(end)
}

fn read_u32(b: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    })
}

fn read_u64(b: &[u8], big_endian: bool) -> Option<u64> {
    let bytes: [u8; 8] = b.get(..8)?.try_into().ok()?;
    Some(if big_endian {
        u64::from_be_bytes(bytes)
    } else {
        u64::from_le_bytes(bytes)
    })
}

/// Converts a pcapng timestamp in `if_tsresol` units to nanoseconds since the
/// epoch (pcapng 4.2: high bit clear = 10^-n s, set = 2^-n s), saturating.
pub(super) fn units_to_ns(units: u64, tsresol: u8, offset_s: i64) -> u64 {
    let n = u32::from(tsresol & 0x7f);
    let ns: u128 = if tsresol & 0x80 == 0 {
        if n <= 9 {
            u128::from(units) * 10u128.pow(9 - n)
        } else {
            // 10^(n-9) overflows u128 beyond n = 47; the quotient is 0 long before.
            10u128.checked_pow(n - 9).map_or(0, |div| u128::from(units) / div)
        }
    } else {
        // n <= 127, so the shift is in range.
        (u128::from(units) * 1_000_000_000) >> n
    };
    let offset_ns = i128::from(offset_s) * 1_000_000_000;
    let total = (ns as i128).saturating_add(offset_ns);
    u64::try_from(total.max(0)).unwrap_or(u64::MAX)
}
