//! Ingress tests: captures are built byte by byte here, in both byte orders.

use std::io::{Cursor, Read};

use proptest::prelude::*;

use super::reader::units_to_ns;
use super::*;

// ---- capture builders -----------------------------------------------------

fn u16b(v: u16, be: bool) -> [u8; 2] {
    if be {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

fn u32b(v: u32, be: bool) -> [u8; 4] {
    if be {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

/// A legacy pcap file header.
fn pcap_header(be: bool, nanos: bool, linktype: u32) -> Vec<u8> {
    let magic = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut v = Vec::new();
    v.extend_from_slice(&u32b(magic, be));
    v.extend_from_slice(&u16b(2, be)); // version 2.4
    v.extend_from_slice(&u16b(4, be));
    v.extend_from_slice(&u32b(0, be)); // thiszone
    v.extend_from_slice(&u32b(0, be)); // sigfigs
    v.extend_from_slice(&u32b(65535, be)); // snaplen
    v.extend_from_slice(&u32b(linktype, be));
    v
}

/// A legacy pcap record.
fn pcap_record(be: bool, sec: u32, frac: u32, data: &[u8], orig: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&u32b(sec, be));
    v.extend_from_slice(&u32b(frac, be));
    v.extend_from_slice(&u32b(data.len() as u32, be));
    v.extend_from_slice(&u32b(orig, be));
    v.extend_from_slice(data);
    v
}

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

/// A pcapng block: type, length, body (padded), length.
fn ng_block(be: bool, block_type: u32, body: &[u8]) -> Vec<u8> {
    let mut b = body.to_vec();
    pad4(&mut b);
    let len = (b.len() + 12) as u32;
    let mut v = Vec::new();
    v.extend_from_slice(&u32b(block_type, be));
    v.extend_from_slice(&u32b(len, be));
    v.extend_from_slice(&b);
    v.extend_from_slice(&u32b(len, be));
    v
}

fn ng_option(be: bool, code: u16, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&u16b(code, be));
    v.extend_from_slice(&u16b(value.len() as u16, be));
    v.extend_from_slice(value);
    pad4(&mut v);
    v
}

fn shb(be: bool) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&u32b(0x1a2b_3c4d, be));
    body.extend_from_slice(&u16b(1, be));
    body.extend_from_slice(&u16b(0, be));
    body.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
    ng_block(be, 0x0a0d_0d0a, &body)
}

fn idb(be: bool, linktype: u16, tsresol: Option<u8>, tsoffset: Option<i64>) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&u16b(linktype, be));
    body.extend_from_slice(&u16b(0, be));
    body.extend_from_slice(&u32b(0, be)); // snaplen: unlimited
    let mut has_opts = false;
    if let Some(r) = tsresol {
        body.extend_from_slice(&ng_option(be, 9, &[r]));
        has_opts = true;
    }
    if let Some(off) = tsoffset {
        let bytes = if be { off.to_be_bytes() } else { off.to_le_bytes() };
        body.extend_from_slice(&ng_option(be, 14, &bytes));
        has_opts = true;
    }
    if has_opts {
        body.extend_from_slice(&ng_option(be, 0, &[]));
    }
    ng_block(be, 1, &body)
}

fn epb(be: bool, if_id: u32, ts: u64, data: &[u8], orig: u32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&u32b(if_id, be));
    body.extend_from_slice(&u32b((ts >> 32) as u32, be));
    body.extend_from_slice(&u32b(ts as u32, be));
    body.extend_from_slice(&u32b(data.len() as u32, be));
    body.extend_from_slice(&u32b(orig, be));
    body.extend_from_slice(data);
    pad4(&mut body);
    // An epb_flags option: the reader must step over options.
    body.extend_from_slice(&ng_option(be, 2, &u32b(1, be)));
    body.extend_from_slice(&ng_option(be, 0, &[]));
    ng_block(be, 6, &body)
}

fn spb(be: bool, data: &[u8], orig: u32) -> Vec<u8> {
    let mut body = u32b(orig, be).to_vec();
    body.extend_from_slice(data);
    ng_block(be, 3, &body)
}

/// Interface statistics block: not a packet, skipped.
fn isb(be: bool) -> Vec<u8> {
    let mut body = u32b(0, be).to_vec();
    body.extend_from_slice(&[0; 8]);
    ng_block(be, 5, &body)
}

fn reader(bytes: Vec<u8>) -> PcapReader {
    PcapReader::from_reader("test.pcap", Cursor::new(bytes)).unwrap()
}

fn open_err(bytes: Vec<u8>) -> IngressError {
    match PcapReader::from_reader("bad.pcap", Cursor::new(bytes)) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

/// Owned copy of a frame, to collect a whole file.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Owned {
    ts_ns: u64,
    linktype: LinkType,
    data: Vec<u8>,
    orig_len: u32,
    record: u64,
}

fn read_all(r: &mut PcapReader) -> Result<Vec<Owned>, IngressError> {
    let mut out = Vec::new();
    while let Some(f) = r.next_frame()? {
        out.push(Owned {
            ts_ns: f.ts_ns,
            linktype: f.linktype,
            data: f.data.to_vec(),
            orig_len: f.orig_len,
            record: f.record,
        });
    }
    Ok(out)
}

/// Reads the whole capture and returns the error it ends with.
fn read_err(bytes: Vec<u8>) -> IngressError {
    let mut r = PcapReader::from_reader("bad.pcap", Cursor::new(bytes)).unwrap();
    match read_all(&mut r) {
        Ok(frames) => panic!("expected an error after {} frames", frames.len()),
        Err(e) => {
            assert_eq!(r.next_frame().unwrap(), None, "finished after a fatal error");
            e
        }
    }
}

// ---- legacy pcap ------------------------------------------------------------

fn legacy_file(be: bool, nanos: bool) -> Vec<u8> {
    let mut v = pcap_header(be, nanos, 1);
    v.extend(pcap_record(be, 1_700_000_000, 123_456, b"first-frame", 60));
    v.extend(pcap_record(be, 1_700_000_001, 999_999, b"second", 6));
    v
}

#[test]
fn legacy_pcap_both_byte_orders_and_resolutions() {
    for be in [false, true] {
        for nanos in [false, true] {
            let mut r = reader(legacy_file(be, nanos));
            let frames = read_all(&mut r).unwrap();
            let unit = if nanos { 1 } else { 1_000 };
            assert_eq!(
                frames,
                vec![
                    Owned {
                        ts_ns: 1_700_000_000_000_000_000 + 123_456 * unit,
                        linktype: LinkType::Ethernet,
                        data: b"first-frame".to_vec(),
                        orig_len: 60,
                        record: 1,
                    },
                    Owned {
                        ts_ns: 1_700_000_001_000_000_000 + 999_999 * unit,
                        linktype: LinkType::Ethernet,
                        data: b"second".to_vec(),
                        orig_len: 6,
                        record: 2,
                    },
                ],
                "be={be} nanos={nanos}"
            );
            assert_eq!(r.records(), 2);
            assert_eq!(r.next_frame().unwrap(), None, "stays at the end");
        }
    }
}

#[test]
fn legacy_link_types() {
    for (dlt, lt) in [
        (101, LinkType::Raw),
        (12, LinkType::Raw),
        (14, LinkType::Raw),
        (228, LinkType::Ipv4),
        (229, LinkType::Ipv6),
        (113, LinkType::Sll),
        (276, LinkType::Sll2),
        (0, LinkType::Null),
        (108, LinkType::Loop),
        // FCS-length bits in the upper nibble do not change the link type.
        (0x1000_0001, LinkType::Ethernet),
    ] {
        let mut v = pcap_header(false, false, dlt);
        v.extend(pcap_record(false, 1, 2, b"x", 1));
        let mut r = reader(v);
        assert_eq!(r.next_frame().unwrap().unwrap().linktype, lt, "dlt {dlt}");
    }
    assert_eq!(LinkType::from_dlt(147), None);
    for lt in [LinkType::Ethernet, LinkType::Raw, LinkType::Sll2, LinkType::Loop] {
        assert_eq!(LinkType::from_dlt(lt.dlt()), Some(lt));
    }
}

#[test]
fn open_reads_a_file_and_handles_a_large_record() {
    let big = vec![0xab; 200_000];
    let mut v = pcap_header(false, false, 1);
    v.extend(pcap_record(false, 5, 0, b"small", 5));
    v.extend(pcap_record(false, 6, 0, &big, 200_000));
    v.extend(pcap_record(false, 7, 0, b"after", 5));
    let path = std::env::temp_dir().join(format!("tapwatch-ingress-{}.pcap", std::process::id()));
    std::fs::write(&path, &v).unwrap();
    let mut r = PcapReader::open(&path).unwrap();
    assert_eq!(r.path(), path.as_path());
    let frames = read_all(&mut r).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[1].data, big);
    assert_eq!(frames[2].data, b"after");
    assert_eq!(frames[2].ts_ns, 7_000_000_000);
    assert_eq!(r.offset(), v.len() as u64);
}

#[test]
fn open_missing_file_is_io_error() {
    let e = PcapReader::open("/nonexistent/tapwatch/x.pcap".as_ref())
        .err()
        .unwrap();
    assert!(matches!(e, IngressError::Io { .. }));
    assert!(e.to_string().contains("/nonexistent/tapwatch/x.pcap"));
}

/// A reader that hands out at most `chunk` bytes per call.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    chunk: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.chunk).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn short_reads_give_the_same_frames() {
    let files = [legacy_file(true, false), pcapng_file(false), pcapng_file(true)];
    for file in files {
        let expected = read_all(&mut reader(file.clone())).unwrap();
        for chunk in [1, 3, 7, 64] {
            let src = Trickle {
                data: file.clone(),
                pos: 0,
                chunk,
            };
            let mut r = PcapReader::from_reader("trickle", src).unwrap();
            assert_eq!(read_all(&mut r).unwrap(), expected, "chunk {chunk}");
        }
    }
}

// ---- pcapng -----------------------------------------------------------------

/// Two interfaces: Ethernet in microseconds (default), raw IP in nanoseconds.
fn pcapng_file(be: bool) -> Vec<u8> {
    let mut v = shb(be);
    v.extend(idb(be, 1, None, None));
    v.extend(isb(be));
    v.extend(idb(be, 101, Some(9), None));
    v.extend(epb(be, 0, 1_700_000_000_123_456, b"eth-frame", 100));
    v.extend(epb(be, 1, 1_700_000_000_123_456_789, b"raw-ip", 6));
    v.extend(isb(be));
    v.extend(spb(be, b"simple", 6));
    v
}

#[test]
fn pcapng_two_interfaces_both_byte_orders() {
    for be in [false, true] {
        let frames = read_all(&mut reader(pcapng_file(be))).unwrap();
        assert_eq!(frames.len(), 3, "be={be}");
        assert_eq!(frames[0].linktype, LinkType::Ethernet);
        assert_eq!(frames[0].ts_ns, 1_700_000_000_123_456_000);
        assert_eq!(frames[0].data, b"eth-frame");
        assert_eq!((frames[0].orig_len, frames[0].record), (100, 1));
        assert_eq!(frames[1].linktype, LinkType::Raw);
        assert_eq!(frames[1].ts_ns, 1_700_000_000_123_456_789);
        assert_eq!(frames[1].data, b"raw-ip");
        assert_eq!(frames[1].record, 2);
        // Simple packet block: interface 0, previous timestamp.
        assert_eq!(frames[2].linktype, LinkType::Ethernet);
        assert_eq!(frames[2].data, b"simple");
        assert_eq!(frames[2].ts_ns, frames[1].ts_ns);
        assert_eq!(frames[2].record, 3);
    }
}

#[test]
fn pcapng_binary_resolution_and_offset() {
    for be in [false, true] {
        let mut v = shb(be);
        // 2^-10 s units, timestamps offset by 1000 s.
        v.extend(idb(be, 1, Some(0x80 | 10), Some(1000)));
        v.extend(epb(be, 0, 3 * 1024 + 512, b"x", 1));
        let frames = read_all(&mut reader(v)).unwrap();
        assert_eq!(frames[0].ts_ns, 1_003_500_000_000, "be={be}");
    }
}

#[test]
fn pcapng_new_section_resets_interfaces_and_byte_order() {
    let mut v = shb(false);
    v.extend(idb(false, 1, None, None));
    v.extend(epb(false, 0, 1, b"le", 2));
    v.extend(shb(true));
    v.extend(idb(true, 229, Some(3), None));
    v.extend(epb(true, 0, 5, b"be", 2));
    let frames = read_all(&mut reader(v)).unwrap();
    assert_eq!(frames.len(), 2);
    assert_eq!((frames[0].linktype, frames[0].ts_ns), (LinkType::Ethernet, 1_000));
    assert_eq!((frames[1].linktype, frames[1].ts_ns), (LinkType::Ipv6, 5_000_000));
    assert_eq!(frames[1].data, b"be");
}

#[test]
fn pcapng_large_unknown_block_is_skipped() {
    let mut v = shb(false);
    v.extend(idb(false, 1, None, None));
    v.extend(ng_block(false, 0x0000_0bad, &vec![7; 1 << 20]));
    v.extend(epb(false, 0, 1, b"after", 5));
    let frames = read_all(&mut reader(v)).unwrap();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].data, b"after");
}

#[test]
fn pcapng_unknown_link_type_is_recoverable() {
    let mut v = shb(false);
    v.extend(idb(false, 147, None, None)); // LINKTYPE_USER0
    v.extend(idb(false, 1, None, None));
    v.extend(epb(false, 0, 1, b"user", 4));
    v.extend(epb(false, 1, 2, b"eth", 3));
    let mut r = reader(v);
    let e = r.next_frame().unwrap_err();
    assert!(matches!(e, IngressError::UnknownLinkType { linktype: 147, .. }));
    assert!(e.is_recoverable());
    assert!(e.to_string().contains("unknown link type 147"), "{e}");
    assert!(e.to_string().contains("record 1"), "{e}");
    let f = r.next_frame().unwrap().unwrap();
    assert_eq!((f.data, f.record), (&b"eth"[..], 2));
    assert_eq!(r.next_frame().unwrap(), None);
}

// ---- errors -----------------------------------------------------------------

#[test]
fn not_a_capture() {
    for bytes in [
        Vec::new(),
        vec![0xd4, 0xc3],
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        vec![0; 64],
    ] {
        let e = open_err(bytes);
        assert!(matches!(e, IngressError::NotCapture { .. }), "{e}");
        assert!(e.to_string().starts_with("bad.pcap: not a pcap"), "{e}");
    }
    // pcapng magic with a bad byte-order magic.
    let mut v = shb(false);
    v[8..12].copy_from_slice(&[1, 2, 3, 4]);
    assert!(matches!(open_err(v), IngressError::NotCapture { .. }));
}

#[test]
fn legacy_unknown_link_type_fails_open() {
    let mut v = pcap_header(false, false, 147);
    v.extend(pcap_record(false, 1, 2, b"x", 1));
    let e = open_err(v);
    assert!(matches!(e, IngressError::UnknownLinkType { linktype: 147, .. }));
    assert!(!e.is_recoverable());
    assert!(e.to_string().contains("file header"), "{e}");
}

#[test]
fn truncated_files() {
    // File header cut short.
    let e = open_err(pcap_header(false, false, 1)[..10].to_vec());
    assert!(matches!(e, IngressError::Truncated { .. }), "{e}");
    // Record data cut short at EOF: the second record, at offset 24 + 16 + 11.
    let full = legacy_file(false, false);
    let e = read_err(full[..full.len() - 2].to_vec());
    match &e {
        IngressError::Truncated {
            at,
            needed,
            available,
            ..
        } => {
            assert_eq!(
                *at,
                Location {
                    record: 2,
                    offset: 51
                }
            );
            assert_eq!((*needed, *available), (22, 20));
        }
        other => panic!("{other}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("bad.pcap") && msg.contains("record 2") && msg.contains("51"),
        "{msg}"
    );
    // Record header cut short.
    let e = read_err(full[..24 + 16 + 11 + 5].to_vec());
    assert!(matches!(
        e,
        IngressError::Truncated {
            needed: 16,
            available: 5,
            ..
        }
    ));
    // pcapng block cut short.
    let ng = pcapng_file(true);
    let e = read_err(ng[..ng.len() - 3].to_vec());
    assert!(
        matches!(
            e,
            IngressError::Truncated {
                at: Location { record: 3, .. },
                ..
            }
        ),
        "{e}"
    );
    // A skipped block that runs past the end of the file.
    let mut v = shb(false);
    v.extend(isb(false));
    v.truncate(v.len() - 4);
    assert!(matches!(read_err(v), IngressError::Truncated { .. }));
}

#[test]
fn bogus_lengths() {
    // Legacy caplen beyond 256 KiB.
    let mut v = pcap_header(false, false, 1);
    v.extend(pcap_record(false, 1, 2, b"ok", 2));
    let mut rec = pcap_record(false, 1, 2, b"", 0);
    rec[8..12].copy_from_slice(&300_000u32.to_le_bytes());
    v.extend(rec);
    let e = read_err(v);
    assert!(
        matches!(
            e,
            IngressError::BogusLength {
                len: 300_000,
                at: Location { record: 2, .. },
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("bogus record length 300000"), "{e}");
    // pcapng block length not a multiple of 4.
    let mut v = shb(false);
    let mut blk = isb(false);
    blk[4..8].copy_from_slice(&13u32.to_le_bytes());
    v.extend(blk);
    assert!(matches!(read_err(v), IngressError::BogusLength { len: 13, .. }));
    // pcapng packet block larger than the cap.
    let mut v = shb(false);
    v.extend(idb(false, 1, None, None));
    let mut blk = epb(false, 0, 1, b"x", 1);
    blk[4..8].copy_from_slice(&0x0100_0000u32.to_le_bytes());
    v.extend(blk);
    assert!(matches!(read_err(v), IngressError::BogusLength { .. }));
    // EPB whose captured length exceeds its block.
    let mut v = shb(true);
    v.extend(idb(true, 1, None, None));
    let mut blk = epb(true, 0, 1, b"abcd", 4);
    blk[20..24].copy_from_slice(&64u32.to_be_bytes());
    v.extend(blk);
    assert!(matches!(read_err(v), IngressError::BogusLength { len: 64, .. }));
}

#[test]
fn malformed_blocks() {
    // A packet on an interface never declared.
    let mut v = shb(false);
    v.extend(idb(false, 1, None, None));
    v.extend(epb(false, 3, 1, b"x", 1));
    let e = read_err(v);
    assert!(matches!(e, IngressError::Malformed { .. }), "{e}");
    assert!(e.to_string().contains("undeclared interface"), "{e}");
    // Trailing block length differs from the leading one.
    let mut v = shb(false);
    v.extend(idb(false, 1, None, None));
    let mut blk = epb(false, 0, 1, b"x", 1);
    let n = blk.len();
    blk[n - 4..].copy_from_slice(&8u32.to_le_bytes());
    v.extend(blk);
    assert!(matches!(read_err(v), IngressError::Malformed { .. }));
}

// ---- timestamps -------------------------------------------------------------

#[test]
fn timestamp_resolutions() {
    assert_eq!(units_to_ns(1_500_000, 6, 0), 1_500_000_000);
    assert_eq!(units_to_ns(7, 9, 0), 7);
    assert_eq!(units_to_ns(1, 0, 0), 1_000_000_000);
    assert_eq!(units_to_ns(123_456_789_012, 12, 0), 123_456_789);
    assert_eq!(units_to_ns(u64::MAX, 127, 0), 0);
    assert_eq!(units_to_ns(u64::MAX, 0, 0), u64::MAX, "saturates");
    assert_eq!(units_to_ns(1024, 0x80 | 10, 0), 1_000_000_000);
    assert_eq!(units_to_ns(1, 0x80 | 127, 0), 0);
    assert_eq!(units_to_ns(5, 0, -10), 0, "negative clamps to the epoch");
    assert_eq!(units_to_ns(5, 0, i64::MAX), u64::MAX);
}

// ---- never panic, never hang ------------------------------------------------

/// Reads everything, asserting the number of steps is bounded by the input.
fn drain(bytes: Vec<u8>) {
    let len = bytes.len();
    let Ok(mut r) = PcapReader::from_reader("fuzz", Cursor::new(bytes)) else {
        return;
    };
    // Every frame or recoverable error consumes at least 12 bytes.
    for _ in 0..=len / 12 + 2 {
        match r.next_frame() {
            Ok(None) => return,
            Ok(Some(f)) => assert!(f.data.len() <= MAX_CAPLEN),
            Err(e) if e.is_recoverable() => {}
            Err(_) => {
                assert_eq!(r.next_frame().unwrap(), None);
                return;
            }
        }
    }
    panic!("reader did not finish");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        drain(bytes);
    }

    #[test]
    fn arbitrary_records_after_a_valid_header(be in any::<bool>(), ng in any::<bool>(),
                                              tail in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut v = if ng { shb(be) } else { pcap_header(be, false, 1) };
        if ng {
            v.extend(idb(be, 1, None, None));
        }
        v.extend(tail);
        drain(v);
    }

    #[test]
    fn mutated_valid_files_never_panic(be in any::<bool>(), ng in any::<bool>(),
                                       flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
                                       cut in any::<usize>()) {
        let mut v = if ng { pcapng_file(be) } else { legacy_file(be, false) };
        for (pos, val) in flips {
            let i = pos % v.len();
            v[i] = val;
        }
        v.truncate(cut % (v.len() + 1));
        drain(v);
    }
}

// ---- shared blocks ------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Frames taken as shared blocks keep their bytes while the reader
    /// reads on (a block handed out is never written again), whether the
    /// holders let go early (blocks come back as spares) or keep them all,
    /// for both formats and any read sizes.
    #[test]
    fn shared_frames_keep_their_bytes(
        sizes in proptest::collection::vec(prop_oneof![8 => 0usize..2000, 1 => 60_000usize..140_000], 1..120),
        ng in any::<bool>(),
        chunk in prop_oneof![Just(usize::MAX), 1usize..5000],
        hold in 0usize..40,
    ) {
        let frames: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| (0..n).map(|j| (i * 31 + j * 7) as u8).collect())
            .collect();
        let mut file = if ng { [shb(false), idb(false, 1, None, None)].concat() } else { pcap_header(false, false, 1) };
        for (i, f) in frames.iter().enumerate() {
            if ng {
                file.extend(epb(false, 0, i as u64, f, f.len() as u32));
            } else {
                file.extend(pcap_record(false, i as u32, 0, f, f.len() as u32));
            }
        }
        let src = Trickle { data: file, pos: 0, chunk: chunk.min(1 << 20) };
        let mut r = PcapReader::from_reader("shared", src).unwrap();
        let mut held: Vec<(std::sync::Arc<Vec<u8>>, usize, usize, usize)> = Vec::new();
        let mut i = 0;
        while let Some((f, at)) = r.next_shared().unwrap() {
            prop_assert_eq!(f.data, &frames[i][..]);
            prop_assert_eq!(at.block.get(at.start..at.start + f.data.len()), Some(f.data));
            held.push((at.block.clone(), at.start, f.data.len(), i));
            // Holders finish in order, `hold` frames behind the reader.
            if held.len() > hold {
                let (b, s, n, k) = held.remove(0);
                prop_assert_eq!(&b[s..s + n], &frames[k][..], "frame {}", k);
            }
            i += 1;
        }
        prop_assert_eq!(i, frames.len());
        for (b, s, n, k) in held {
            prop_assert_eq!(&b[s..s + n], &frames[k][..], "frame {}", k);
        }
    }
}
