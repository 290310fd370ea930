//! Classic pcap writer (little-endian, microsecond or nanosecond magic).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::{Frame, NS_PER_SEC};

/// DLT_EN10MB: Ethernet.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Classic pcap magic with microsecond timestamps.
pub const PCAP_MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// Classic pcap magic with nanosecond timestamps.
pub const PCAP_MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// Snapshot length written in the file header (tcpdump's default). Longer
/// frames are cut to it, keeping their original length.
pub const SNAPLEN: u32 = 262_144;

/// Writes a classic pcap stream: 24-byte global header, then one 16-byte
/// record header plus the captured bytes per frame.
pub struct PcapWriter<W: Write> {
    w: W,
    nanos: bool,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header. `nanos` selects the nanosecond magic.
    pub fn new(mut w: W, linktype: u32, nanos: bool) -> io::Result<Self> {
        let magic = if nanos {
            PCAP_MAGIC_NANOS
        } else {
            PCAP_MAGIC_MICROS
        };
        let mut hdr = [0u8; 24];
        hdr[0..4].copy_from_slice(&magic.to_le_bytes());
        hdr[4..6].copy_from_slice(&2u16.to_le_bytes());
        hdr[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone (8..12) and sigfigs (12..16) stay zero.
        hdr[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
        hdr[20..24].copy_from_slice(&linktype.to_le_bytes());
        w.write_all(&hdr)?;
        Ok(PcapWriter { w, nanos })
    }

    /// Writes one complete frame.
    pub fn write(&mut self, ts_ns: u64, frame: &[u8]) -> io::Result<()> {
        let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        self.write_with_orig_len(ts_ns, frame, len)
    }

    /// Writes one frame that was `orig_len` bytes on the wire (a value below
    /// the captured length is raised to it).
    pub fn write_with_orig_len(&mut self, ts_ns: u64, frame: &[u8], orig_len: u32) -> io::Result<()> {
        let cap = frame.len().min(SNAPLEN as usize);
        let incl = cap as u32; // cap <= SNAPLEN, fits
        let orig = orig_len.max(u32::try_from(frame.len()).unwrap_or(u32::MAX));
        let secs = u32::try_from(ts_ns / NS_PER_SEC).unwrap_or(u32::MAX);
        let sub_ns = (ts_ns % NS_PER_SEC) as u32;
        let frac = if self.nanos { sub_ns } else { sub_ns / 1000 };
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&secs.to_le_bytes());
        rec[4..8].copy_from_slice(&frac.to_le_bytes());
        rec[8..12].copy_from_slice(&incl.to_le_bytes());
        rec[12..16].copy_from_slice(&orig.to_le_bytes());
        self.w.write_all(&rec)?;
        self.w.write_all(&frame[..cap])
    }

    /// Writes a [`Frame`], keeping its original length.
    pub fn write_frame(&mut self, f: &Frame) -> io::Result<()> {
        self.write_with_orig_len(f.ts_ns, &f.data, f.orig_len)
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

/// Writes `frames` to `path` as an Ethernet, microsecond pcap.
pub fn write_pcap(path: &Path, frames: &[Frame]) -> io::Result<()> {
    let file = File::create(path)?;
    let mut w = PcapWriter::new(BufWriter::new(file), LINKTYPE_ETHERNET, false)?;
    for f in frames {
        w.write_frame(f)?;
    }
    w.into_inner()?.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le32(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    #[test]
    fn global_header_layout() {
        let w = PcapWriter::new(Vec::new(), LINKTYPE_ETHERNET, false).unwrap();
        let b = w.into_inner().unwrap();
        assert_eq!(b.len(), 24);
        assert_eq!(&b[0..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(&b[4..8], &[2, 0, 4, 0]);
        assert_eq!(le32(&b, 16), SNAPLEN);
        assert_eq!(le32(&b, 20), 1);
        let w = PcapWriter::new(Vec::new(), 147, true).unwrap();
        let b = w.into_inner().unwrap();
        assert_eq!(&b[0..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(le32(&b, 20), 147);
    }

    #[test]
    fn record_timestamps_and_lengths() {
        let ts = 1_768_471_200 * NS_PER_SEC + 123_456_789;
        let mut w = PcapWriter::new(Vec::new(), LINKTYPE_ETHERNET, false).unwrap();
        w.write(ts, &[1, 2, 3]).unwrap();
        w.write_with_orig_len(ts, &[4, 5], 1500).unwrap();
        w.write_with_orig_len(ts, &[6, 7, 8, 9], 1).unwrap();
        let b = w.into_inner().unwrap();
        assert_eq!(b.len(), 24 + 16 + 3 + 16 + 2 + 16 + 4);
        let r = &b[24..];
        assert_eq!(le32(r, 0), 1_768_471_200);
        assert_eq!(le32(r, 4), 123_456);
        assert_eq!((le32(r, 8), le32(r, 12)), (3, 3));
        assert_eq!(&r[16..19], &[1, 2, 3]);
        let r = &r[19..];
        assert_eq!((le32(r, 8), le32(r, 12)), (2, 1500));
        let r = &r[18..];
        assert_eq!((le32(r, 8), le32(r, 12)), (4, 4), "orig_len raised to caplen");

        let mut w = PcapWriter::new(Vec::new(), LINKTYPE_ETHERNET, true).unwrap();
        w.write(ts, &[0]).unwrap();
        let b = w.into_inner().unwrap();
        assert_eq!(le32(&b, 28), 123_456_789);
    }

    #[test]
    fn pcap_parser_reads_it_back() {
        let frames = crate::sample();
        let mut w = PcapWriter::new(Vec::new(), LINKTYPE_ETHERNET, true).unwrap();
        for f in &frames {
            w.write_frame(f).unwrap();
        }
        let bytes = w.into_inner().unwrap();
        let (rest, cap) = pcap_parser::parse_pcap(&bytes).unwrap();
        assert!(rest.is_empty());
        assert_eq!(cap.header.network, pcap_parser::Linktype::ETHERNET);
        assert!(cap.header.is_nanosecond_precision());
        assert_eq!(cap.blocks.len(), frames.len());
        for (b, f) in cap.blocks.iter().zip(&frames) {
            assert_eq!(u64::from(b.ts_sec) * NS_PER_SEC + u64::from(b.ts_usec), f.ts_ns);
            assert_eq!(b.caplen as usize, f.data.len());
            assert_eq!(b.origlen, f.orig_len);
            assert_eq!(b.data, &f.data[..]);
        }
    }

    #[test]
    fn file_round_trip() {
        // Frames go out and come back with the same bytes, times and lengths.
        let frames = vec![
            Frame::new(5 * NS_PER_SEC + 7_000, vec![0xaa; 60]),
            Frame {
                ts_ns: 6 * NS_PER_SEC,
                data: vec![0xbb; 128],
                orig_len: 1514,
            },
        ];
        let dir = std::env::temp_dir().join(format!("tapwatch-gen-pcap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.pcap");
        write_pcap(&path, &frames).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        let mut off = 24;
        for f in &frames {
            let secs = le32(&bytes, off);
            let usec = le32(&bytes, off + 4);
            let incl = le32(&bytes, off + 8) as usize;
            let orig = le32(&bytes, off + 12);
            assert_eq!(u64::from(secs) * NS_PER_SEC + u64::from(usec) * 1000, f.ts_ns);
            assert_eq!(orig, f.orig_len);
            assert_eq!(&bytes[off + 16..off + 16 + incl], &f.data[..]);
            off += 16 + incl;
        }
        assert_eq!(off, bytes.len());
    }
}
