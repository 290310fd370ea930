//! Response body content codings (RFC 9110 8.4.1): `gzip` (RFC 1952) and
//! `deflate` (RFC 1950, or raw RFC 1951 as many servers send it) bodies are
//! decoded for `http.response_body` and `file.data`, as Suricata does, so a
//! rule sees the text the browser sees, not the compressed bytes.
//!
//! Decoding is bounded: it stops for good once `limit` decoded bytes were
//! produced (the response-body-limit; decoding further would only burn CPU
//! for bytes nobody inspects), and earlier when a body decodes to more than
//! [`BOMB_RATIO`] times its encoded size past [`BOMB_MIN`] bytes (a
//! decompression bomb). A stop is recorded as a [`Stop`] so it is counted.
//! A body that is not what its Content-Encoding says (no output yet and the
//! decoder refuses it) is passed through as is, like libhtp does.

use std::io::{self, Write};

use flate2::write::{DeflateDecoder, GzDecoder, ZlibDecoder};

/// Decoded:encoded ratio treated as a decompression bomb. DEFLATE cannot
/// exceed about 1032:1, so only near-maximal compression (runs of one byte)
/// gets here.
pub const BOMB_RATIO: u64 = 1000;
/// The ratio is judged only once this much was decoded.
pub const BOMB_MIN: u64 = 32 * 1024;

/// A content coding tapwatch decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// `gzip` / `x-gzip`
    Gzip,
    /// `deflate`: zlib-wrapped, or raw when the first bytes are no zlib header.
    Deflate,
}

impl Coding {
    /// Reads a Content-Encoding value. Only one decodable coding is
    /// supported (`identity` entries are ignored); anything else, including
    /// stacked codings, leaves the body as sent.
    pub fn from_header(v: &[u8]) -> Option<Coding> {
        let mut found = None;
        for tok in v.split(|&b| b == b',') {
            let tok = tok.trim_ascii();
            let c = if tok.eq_ignore_ascii_case(b"gzip") || tok.eq_ignore_ascii_case(b"x-gzip") {
                Coding::Gzip
            } else if tok.eq_ignore_ascii_case(b"deflate") {
                Coding::Deflate
            } else if tok.is_empty() || tok.eq_ignore_ascii_case(b"identity") {
                continue;
            } else {
                return None;
            };
            if found.replace(c).is_some() {
                return None;
            }
        }
        found
    }
}

/// Why decoding stopped before the body ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// `limit` decoded bytes were produced.
    Limit,
    /// The ratio of decoded to encoded bytes passed [`BOMB_RATIO`].
    Bomb,
    /// The compressed data broke after it had produced output.
    Corrupt,
}

/// Collects decoded bytes, refusing any beyond its room: the decoder then
/// returns an error and decoding stops, so a bomb costs at most `limit`
/// bytes of work (plus the decoder's own 32 KiB window).
#[derive(Debug)]
struct Sink {
    out: Vec<u8>,
    room: usize,
}

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if self.room == 0 {
            return Err(io::Error::other("decoded body limit"));
        }
        let n = b.len().min(self.room);
        self.out.extend_from_slice(b.get(..n).unwrap_or_default());
        self.room -= n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Debug)]
enum Inner {
    /// `deflate` before its first two bytes decide zlib or raw.
    Sniff(Option<u8>),
    Gzip(GzDecoder<Sink>),
    Zlib(ZlibDecoder<Sink>),
    Raw(DeflateDecoder<Sink>),
    /// Not compressed after all: bytes go through unchanged.
    Passthrough,
    Stopped,
}

/// A streaming decoder for one response body.
#[derive(Debug)]
pub struct Decoder {
    inner: Inner,
    limit: usize,
    /// Encoded bytes given.
    pub bytes_in: u64,
    /// Decoded bytes produced.
    pub bytes_out: u64,
    /// Set once decoding stopped early.
    pub stop: Option<Stop>,
}

/// A flow's state is cloned only to log what it holds at flow end; the copy
/// decodes nothing more (every write is flushed, so no decoded byte is
/// held back in the original either).
impl Clone for Decoder {
    fn clone(&self) -> Decoder {
        Decoder {
            inner: Inner::Stopped,
            ..*self
        }
    }
}

/// A zlib header (RFC 1950 2.2): CM 8, window ≤ 32K, FCHECK valid.
fn is_zlib_header(b0: u8, b1: u8) -> bool {
    b0 & 0x0f == 8 && b0 >> 4 <= 7 && (u16::from(b0) << 8 | u16::from(b1)) % 31 == 0
}

impl Decoder {
    /// A decoder producing at most `limit` bytes.
    pub fn new(coding: Coding, limit: usize) -> Decoder {
        let inner = match coding {
            Coding::Gzip => Inner::Gzip(GzDecoder::new(Self::sink(limit))),
            Coding::Deflate => Inner::Sniff(None),
        };
        Decoder {
            inner,
            limit,
            bytes_in: 0,
            bytes_out: 0,
            stop: None,
        }
    }

    fn sink(room: usize) -> Sink {
        Sink {
            out: Vec::new(),
            room,
        }
    }

    fn sink_mut(&mut self) -> Option<&mut Sink> {
        match &mut self.inner {
            Inner::Gzip(d) => Some(d.get_mut()),
            Inner::Zlib(d) => Some(d.get_mut()),
            Inner::Raw(d) => Some(d.get_mut()),
            _ => None,
        }
    }

    /// Feeds encoded bytes; appends what they decode to onto `body`.
    pub fn feed(&mut self, data: &[u8], body: &mut Vec<u8>) {
        if data.is_empty() || matches!(self.inner, Inner::Stopped) {
            return;
        }
        self.bytes_in = self.bytes_in.saturating_add(data.len() as u64);
        let data = match self.inner {
            Inner::Sniff(first) => match (first, data) {
                (None, [b0]) => {
                    self.inner = Inner::Sniff(Some(*b0));
                    return;
                }
                (None, [b0, b1, ..]) => {
                    self.choose_deflate(*b0, *b1);
                    self.run(&[*b0], body);
                    data.get(1..).unwrap_or_default()
                }
                (Some(b0), [b1, ..]) => {
                    self.choose_deflate(b0, *b1);
                    self.run(&[b0], body);
                    data
                }
                (_, []) => return,
            },
            _ => data,
        };
        self.run(data, body);
    }

    fn choose_deflate(&mut self, b0: u8, b1: u8) {
        let sink = Self::sink(self.limit);
        self.inner = if is_zlib_header(b0, b1) {
            Inner::Zlib(ZlibDecoder::new(sink))
        } else {
            Inner::Raw(DeflateDecoder::new(sink))
        };
    }

    fn run(&mut self, mut data: &[u8], body: &mut Vec<u8>) {
        if let Inner::Passthrough = self.inner {
            let room = self.limit.saturating_sub(body.len());
            body.extend_from_slice(data.get(..data.len().min(room)).unwrap_or_default());
            return;
        }
        // Each write either consumes input or fails; a decoder that takes
        // nothing (data after the end of the stream) ends the loop.
        let mut res = Ok(());
        while !data.is_empty() {
            let r = match &mut self.inner {
                Inner::Gzip(d) => d.write(data),
                Inner::Zlib(d) => d.write(data),
                Inner::Raw(d) => d.write(data),
                _ => Ok(0),
            };
            match r {
                Ok(0) => break,
                Ok(n) => data = data.get(n..).unwrap_or_default(),
                Err(e) => {
                    res = Err(e);
                    break;
                }
            }
        }
        if res.is_ok() {
            res = match &mut self.inner {
                Inner::Gzip(d) => d.flush(),
                Inner::Zlib(d) => d.flush(),
                Inner::Raw(d) => d.flush(),
                _ => Ok(()),
            };
        }
        self.collect(body);
        if self.stop.is_none() && res.is_err() {
            self.on_error(data, body);
        }
    }

    /// Moves decoded bytes out of the sink onto the body.
    fn collect(&mut self, body: &mut Vec<u8>) {
        let Some(sink) = self.sink_mut() else {
            return;
        };
        let n = sink.out.len();
        let full = sink.room == 0;
        body.append(&mut sink.out);
        self.bytes_out = self.bytes_out.saturating_add(n as u64);
        if self.bytes_out >= BOMB_MIN && self.bytes_out / self.bytes_in.max(1) > BOMB_RATIO {
            self.halt(Stop::Bomb);
        } else if full {
            self.halt(Stop::Limit);
        }
    }

    fn on_error(&mut self, rest: &[u8], body: &mut Vec<u8>) {
        if self.bytes_out == 0 {
            // Not compressed after all: keep the bytes as sent from here.
            self.inner = Inner::Passthrough;
            self.run(rest, body);
        } else {
            self.halt(Stop::Corrupt);
        }
    }

    fn halt(&mut self, why: Stop) {
        self.inner = Inner::Stopped;
        self.stop.get_or_insert(why);
    }

    /// The body ended: emit what the decoder still holds. When the body
    /// arrived `complete`ly, a stream that does not end well (bad check
    /// value, missing end) is [`Stop::Corrupt`]; a body cut short by a gap
    /// is not.
    pub fn finish(&mut self, body: &mut Vec<u8>, complete: bool) {
        let r = match &mut self.inner {
            Inner::Gzip(d) => d.try_finish(),
            Inner::Zlib(d) => d.try_finish(),
            Inner::Raw(d) => d.try_finish(),
            _ => Ok(()),
        };
        self.collect(body);
        if r.is_err() && complete && self.bytes_out > 0 {
            self.stop.get_or_insert(Stop::Corrupt);
        }
        self.inner = Inner::Stopped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;

    const TEXT: &[u8] = b"<html><body>the secret word is swordfish, swordfish, swordfish</body></html>";

    fn gzip(b: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    fn zlib(b: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    fn raw(b: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    fn decode(c: Coding, enc: &[u8], split: usize, limit: usize) -> (Vec<u8>, Decoder) {
        let mut d = Decoder::new(c, limit);
        let mut body = Vec::new();
        for chunk in enc.chunks(split.max(1)) {
            d.feed(chunk, &mut body);
        }
        d.finish(&mut body, true);
        (body, d)
    }

    #[test]
    fn header_values() {
        assert_eq!(Coding::from_header(b"gzip"), Some(Coding::Gzip));
        assert_eq!(Coding::from_header(b" X-GZip "), Some(Coding::Gzip));
        assert_eq!(Coding::from_header(b"deflate"), Some(Coding::Deflate));
        assert_eq!(Coding::from_header(b"identity, gzip"), Some(Coding::Gzip));
        assert_eq!(Coding::from_header(b"gzip, gzip"), None);
        assert_eq!(Coding::from_header(b"br"), None);
        assert_eq!(Coding::from_header(b"gzip, br"), None);
        assert_eq!(Coding::from_header(b""), None);
    }

    #[test]
    fn every_split_decodes_every_coding() {
        for (c, enc) in [
            (Coding::Gzip, gzip(TEXT)),
            (Coding::Deflate, zlib(TEXT)),
            (Coding::Deflate, raw(TEXT)),
        ] {
            for split in 1..=enc.len() {
                let (body, d) = decode(c, &enc, split, 1 << 20);
                assert_eq!(body, TEXT, "{c:?} split {split}");
                assert_eq!((d.stop, d.bytes_out), (None, TEXT.len() as u64));
                assert_eq!(d.bytes_in, enc.len() as u64);
            }
        }
    }

    #[test]
    fn output_stops_at_the_limit() {
        let text: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (body, d) = decode(Coding::Gzip, &gzip(&text), 1460, 100 * 1024);
        assert_eq!(body, &text[..100 * 1024]);
        assert_eq!(d.stop, Some(Stop::Limit));
    }

    /// 64 MiB of zeros: about 64 KiB of gzip.
    fn bomb() -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            e.write_all(&zeros).unwrap();
        }
        e.finish().unwrap()
    }

    #[test]
    fn a_bomb_stops_at_the_body_limit() {
        let bomb = bomb();
        let (body, d) = decode(Coding::Gzip, &bomb, 1460, 100 * 1024);
        assert_eq!(d.stop, Some(Stop::Limit));
        assert_eq!(body.len(), 100 * 1024);
        assert!(body.iter().all(|&b| b == 0));
        // Only the first segment was read.
        assert_eq!(d.bytes_in, 1460);
    }

    #[test]
    fn a_bomb_stops_on_its_ratio_under_a_large_limit() {
        let bomb = bomb();
        let (body, d) = decode(Coding::Gzip, &bomb, 1460, 64 << 20);
        assert_eq!(d.stop, Some(Stop::Bomb));
        assert!(
            body.len() as u64 >= BOMB_MIN && body.len() < 4 << 20,
            "{}",
            body.len()
        );
        assert_eq!(d.bytes_in, 1460);
    }

    #[test]
    fn not_compressed_passes_through() {
        let (body, d) = decode(Coding::Gzip, TEXT, 7, 1 << 20);
        // The first chunk decides; later chunks follow unchanged.
        assert!(TEXT.ends_with(&body) && body.len() >= TEXT.len() - 7, "{body:?}");
        assert_eq!(d.stop, None);
    }

    #[test]
    fn corrupt_after_output_stops() {
        // Raw DEFLATE: a stored block "hello", then a block of the
        // reserved type 3 (RFC 1951 3.2.3).
        let mut enc = vec![0x00, 0x05, 0x00, 0xfa, 0xff];
        enc.extend_from_slice(b"hello");
        enc.extend_from_slice(&[0x07, 0, 0, 0]);
        let (body, d) = decode(Coding::Deflate, &enc, 1, 1 << 20);
        assert_eq!((body.as_slice(), d.stop), (&b"hello"[..], Some(Stop::Corrupt)));
    }

    #[test]
    fn bad_checksum_or_missing_end_is_corrupt_only_when_complete() {
        let mut enc = gzip(TEXT);
        let n = enc.len();
        enc[n - 6] ^= 1; // CRC32
        let (body, d) = decode(Coding::Gzip, &enc, 16, 1 << 20);
        assert_eq!((body.as_slice(), d.stop), (TEXT, Some(Stop::Corrupt)));
        let enc = gzip(TEXT);
        let mut d = Decoder::new(Coding::Gzip, 1 << 20);
        let mut body = Vec::new();
        d.feed(&enc[..n - 8], &mut body);
        d.finish(&mut body, false);
        assert_eq!((body.as_slice(), d.stop), (TEXT, None));
    }

    #[test]
    fn clone_decodes_nothing_more() {
        let enc = gzip(TEXT);
        let mut d = Decoder::new(Coding::Gzip, 1 << 20);
        let mut body = Vec::new();
        d.feed(&enc[..enc.len() / 2], &mut body);
        let mut c = d.clone();
        let mut other = Vec::new();
        c.feed(&enc[enc.len() / 2..], &mut other);
        assert!(other.is_empty());
        d.feed(&enc[enc.len() / 2..], &mut body);
        assert_eq!(body, TEXT);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400), split in 1usize..64) {
            for c in [Coding::Gzip, Coding::Deflate] {
                let (body, _) = decode(c, &data, split, 4096);
                proptest::prop_assert!(body.len() <= 4096);
            }
        }
    }
}
