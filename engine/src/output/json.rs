//! A small JSON writer that serializes EVE records straight into the
//! output line, in the order fields are written.
//!
//! Records used to be built as a `serde_json::Value` tree (an ordered map
//! with a `String` per key) and serialized afterwards: dozens of small
//! allocations per record on the worker threads. This writer appends to one
//! `Vec<u8>` sized up front. Its output is byte-for-byte what serde_json
//! writes for the same tree: compact, strings escaped the same way
//! (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other control characters as
//! `\u00XX` in lower-case hex, everything else as is), byte strings
//! converted as `String::from_utf8_lossy` converts them, integers in
//! plain decimal.

use std::net::IpAddr;

/// Appends one JSON value (usually an object) to a byte buffer. Commas are
/// placed by the writer: after a [`key`](Self::key) the next value follows
/// directly; any other value, key or container start is preceded by a
/// comma unless it is the first in its container.
pub struct JsonWriter {
    out: Vec<u8>,
    /// The next key or value needs a comma before it.
    comma: bool,
}

/// `\u00XX` hex digits, as serde_json writes them.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// The escape of a byte inside a JSON string: 0 for none, `b'u'` for the
/// `\u00XX` form, else the letter after the backslash.
#[inline]
fn escape_of(b: u8) -> u8 {
    match b {
        0x20.. if b != b'"' && b != b'\\' => 0,
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0c => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => b'u',
    }
}

/// True when one of the 8 bytes of `w` needs escaping: a control byte
/// (below 0x20), `"` or `\`. Bytes of 0x80 and above (UTF-8) do not.
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A zero byte of `x` sets its high bit in `has_zero` (exactly, for
    // the first such byte; later ones may be flagged falsely, which only
    // sends the word to the byte loop).
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    (below_space | has_zero(w ^ (ONES * u64::from(b'"'))) | has_zero(w ^ (ONES * u64::from(b'\\')))) != 0
}

/// How many leading bytes of `bytes` certainly need no escaping: whole
/// clean 8-byte words, then clean single bytes.
fn clean_prefix(bytes: &[u8]) -> usize {
    let mut clean = 0;
    for w in bytes.chunks_exact(8) {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        if word_needs_escape(u64::from_le_bytes(b)) {
            break;
        }
        clean += 8;
    }
    clean
        + bytes
            .get(clean..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&b| escape_of(b) == 0)
            .count()
}

/// Append the escaped contents of `s` (no quotes).
fn escape_into(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Most strings need no escaping: skip clean 8-byte words at once.
    let clean = clean_prefix(bytes);
    if clean == bytes.len() {
        out.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate().skip(clean) {
        let e = escape_of(b);
        if e == 0 {
            continue;
        }
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        out.push(b'\\');
        out.push(e);
        if e == b'u' {
            out.extend_from_slice(b"00");
            for nibble in [b >> 4, b & 0xf] {
                out.push(HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'));
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
}

/// Append the escaped contents of `b` read as `String::from_utf8_lossy`
/// reads it: each invalid sequence becomes U+FFFD.
fn escape_lossy_into(out: &mut Vec<u8>, b: &[u8]) {
    for chunk in b.utf8_chunks() {
        escape_into(out, chunk.valid());
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{FFFD}".as_bytes());
        }
    }
}

/// `std::fmt::Write` onto the buffer, for `Display` values that need no
/// escaping (addresses, timestamps).
struct FmtBytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for FmtBytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Append `n` in decimal.
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while i > 0 {
        i -= 1;
        if let Some(d) = buf.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(i..).unwrap_or_default());
}

/// Append `n` in lower-case hex, left-padded with zeros to `width` digits.
fn push_hex(out: &mut Vec<u8>, n: u64, width: usize) {
    let digits = (64 - n.leading_zeros() as usize).div_ceil(4).max(1);
    for _ in digits..width {
        out.push(b'0');
    }
    for i in (0..digits).rev() {
        let nibble = (n >> (4 * i)) & 0xf;
        out.push(HEX.get(nibble as usize).copied().unwrap_or(b'0'));
    }
}

impl JsonWriter {
    /// A writer appending to `out` (a block of records), with room for
    /// `hint` more bytes.
    pub fn append_to(mut out: Vec<u8>, hint: usize) -> JsonWriter {
        out.reserve(hint);
        JsonWriter { out, comma: false }
    }

    /// The finished bytes.
    #[cfg(test)]
    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    /// The finished bytes followed by the EVE line end.
    pub fn into_line(mut self) -> Vec<u8> {
        self.out.push(b'\n');
        self.out
    }

    /// Bytes written so far.
    #[cfg(test)]
    pub fn as_bytes(&self) -> &[u8] {
        &self.out
    }

    fn sep(&mut self) {
        if self.comma {
            self.out.push(b',');
        }
        self.comma = true;
    }

    /// `"k":` — the next call writes its value.
    pub fn key(&mut self, k: &str) -> &mut Self {
        if clean_prefix(k.as_bytes()) == k.len() {
            // Keys are almost always plain names: one copy.
            self.sep();
            self.out.reserve(k.len() + 3);
            self.out.push(b'"');
            self.out.extend_from_slice(k.as_bytes());
            self.out.extend_from_slice(b"\":");
        } else {
            self.quoted(|o| escape_into(o, k));
            self.out.push(b':');
        }
        self.comma = false;
        self
    }

    /// Open a container (as a value) with `bracket`.
    fn open(&mut self, bracket: u8) -> &mut Self {
        self.sep();
        self.out.push(bracket);
        self.comma = false;
        self
    }

    /// Close a container with `bracket`.
    fn close(&mut self, bracket: u8) -> &mut Self {
        self.out.push(bracket);
        self.comma = true;
        self
    }

    /// Start an object (as a value).
    pub fn begin_object(&mut self) -> &mut Self {
        self.open(b'{')
    }

    pub fn end_object(&mut self) -> &mut Self {
        self.close(b'}')
    }

    /// Start an array (as a value).
    pub fn begin_array(&mut self) -> &mut Self {
        self.open(b'[')
    }

    pub fn end_array(&mut self) -> &mut Self {
        self.close(b']')
    }

    /// A string value whose contents (already escaped) `contents` writes.
    fn quoted(&mut self, contents: impl FnOnce(&mut Vec<u8>)) -> &mut Self {
        self.sep();
        self.out.push(b'"');
        contents(&mut self.out);
        self.out.push(b'"');
        self
    }

    /// A string value.
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.quoted(|o| escape_into(o, s))
    }

    /// A byte string written as `String::from_utf8_lossy` reads it.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.quoted(|o| escape_lossy_into(o, b))
    }

    /// A string value made of `parts` joined by `sep`, each read as
    /// `String::from_utf8_lossy` reads it. With an ASCII separator this is
    /// the lossy reading of the joined bytes.
    pub fn bytes_joined<'b>(&mut self, parts: impl IntoIterator<Item = &'b [u8]>, sep: &str) -> &mut Self {
        self.quoted(|o| {
            for (i, p) in parts.into_iter().enumerate() {
                if i > 0 {
                    escape_into(o, sep);
                }
                escape_lossy_into(o, p);
            }
        })
    }

    /// A string value made of `parts` in a row.
    pub fn str_concat(&mut self, parts: &[&str]) -> &mut Self {
        self.quoted(|o| parts.iter().for_each(|p| escape_into(o, p)))
    }

    /// A string value written by `Display`, for values whose text never
    /// needs escaping (numbers, addresses).
    pub fn display_str(&mut self, v: impl std::fmt::Display) -> &mut Self {
        use std::fmt::Write;
        // Writing into a Vec cannot fail.
        self.quoted(|o| {
            let _ = write!(FmtBytes(o), "{v}");
        })
    }

    /// An address as EVE writes it: dotted quad, or all eight IPv6 groups
    /// in four hex digits.
    pub fn ip(&mut self, ip: &IpAddr) -> &mut Self {
        self.quoted(|o| match ip {
            IpAddr::V4(a) => {
                for (i, octet) in a.octets().into_iter().enumerate() {
                    if i > 0 {
                        o.push(b'.');
                    }
                    push_u64(o, octet.into());
                }
            }
            IpAddr::V6(a) => {
                for (i, g) in a.segments().into_iter().enumerate() {
                    if i > 0 {
                        o.push(b':');
                    }
                    push_hex(o, g.into(), 4);
                }
            }
        })
    }

    /// An address as Rust displays it: dotted quad, or IPv6 compressed.
    pub fn ip_display(&mut self, ip: &IpAddr) -> &mut Self {
        match ip {
            IpAddr::V4(_) => self.ip(ip),
            IpAddr::V6(a) => self.display_str(a),
        }
    }

    /// An EVE timestamp of `ts_ns` nanoseconds since the epoch.
    pub fn ts(&mut self, ts_ns: u64) -> &mut Self {
        self.quoted(|o| o.extend_from_slice(&crate::time::eve_ts_bytes(ts_ns)))
    }

    /// `n` as a string of lower-case hex digits, at least `width` wide.
    pub fn hex_str(&mut self, n: u64, width: usize) -> &mut Self {
        self.quoted(|o| push_hex(o, n, width))
    }

    /// A decimal number as a string value (`"42"`).
    pub fn u64_str(&mut self, n: u64) -> &mut Self {
        self.quoted(|o| push_u64(o, n))
    }

    /// An unsigned integer.
    pub fn u64(&mut self, n: u64) -> &mut Self {
        self.sep();
        push_u64(&mut self.out, n);
        self
    }

    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.sep();
        self.out
            .extend_from_slice(if b { b"true" as &[u8] } else { b"false" });
        self
    }

    /// `"k":{...}` with the fields `fields` writes, or nothing at all when
    /// it writes none.
    pub fn object_if_any(&mut self, k: &str, fields: impl FnOnce(&mut Self)) -> &mut Self {
        let (len, comma) = (self.out.len(), self.comma);
        self.key(k).begin_object();
        let empty = self.out.len();
        fields(self);
        if self.out.len() == empty {
            self.out.truncate(len);
            self.comma = comma;
        } else {
            self.end_object();
        }
        self
    }

    /// `b` in standard base64 with padding, as a string value.
    pub fn base64(&mut self, b: &[u8]) -> &mut Self {
        use base64::Engine as _;
        self.quoted(|o| {
            let start = o.len();
            let len = base64::encoded_len(b.len(), true).unwrap_or(0);
            o.resize(start.saturating_add(len), 0);
            let written = o
                .get_mut(start..)
                .and_then(|dst| {
                    base64::engine::general_purpose::STANDARD
                        .encode_slice(b, dst)
                        .ok()
                })
                .unwrap_or(0);
            o.truncate(start.saturating_add(written));
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn one(f: impl FnOnce(&mut JsonWriter)) -> Vec<u8> {
        let mut w = JsonWriter::append_to(Vec::new(), 0);
        f(&mut w);
        w.into_bytes()
    }

    #[test]
    fn escapes_like_serde_json() {
        let all: String = (0u8..0x80).map(char::from).collect();
        let s = format!("{all}é€😀\u{7f}\u{2028}");
        assert_eq!(
            one(|w| {
                w.str(&s);
            }),
            serde_json::to_vec(&s).unwrap()
        );
        assert_eq!(
            one(|w| {
                w.str("a\"b\\c\n\u{1}\u{1f}\u{8}\u{c}");
            }),
            br#""a\"b\\c\n\u0001\u001f\b\f""#
        );
    }

    #[test]
    fn invalid_utf8_reads_as_from_utf8_lossy() {
        for b in [
            &b"ok\xff"[..],
            b"\xe2\x82",
            b"\xe2\x82x\xc3",
            b"\xf0\x9f\x98\x80\xed\xa0\x80",
            b"\x00\x80\"",
        ] {
            let want = serde_json::to_vec(&String::from_utf8_lossy(b)).unwrap();
            assert_eq!(
                one(|w| {
                    w.bytes(b);
                }),
                want,
                "{b:?}"
            );
        }
    }

    #[test]
    fn joined_is_the_lossy_reading_of_the_joined_bytes() {
        let parts: [&[u8]; 3] = [b"a\xe2\x82", b"\xffb", b"c\""];
        let joined = parts.join(&b", "[..]);
        let want = serde_json::to_vec(&String::from_utf8_lossy(&joined)).unwrap();
        assert_eq!(
            one(|w| {
                w.bytes_joined(parts, ", ");
            }),
            want
        );
    }

    #[test]
    fn nests_objects_and_arrays_with_commas() {
        let got = one(|w| {
            w.begin_object();
            w.key("a").u64(0);
            w.key("b").begin_array();
            w.u64(1).str("x").begin_object().end_object();
            w.begin_array().end_array();
            w.bool(false);
            w.end_array();
            w.key("c").begin_object();
            w.key("d").bool(true);
            w.key("k\"").u64(u64::MAX);
            w.end_object();
            w.key("e").u64_str(42).key("f").hex_str(0x1b, 2);
            w.key("g")
                .hex_str(0x8180, 0)
                .key("h")
                .str_concat(&["a", "\n", "b"]);
            w.end_object();
        });
        let want = json!({"a":0,"b":[1,"x",{},[],false],"c":{"d":true,"k\"":u64::MAX},"e":"42","f":"1b","g":"8180","h":"a\nb"});
        assert_eq!(got, serde_json::to_vec(&want).unwrap());
    }

    #[test]
    fn numbers_addresses_and_timestamps() {
        for n in [0, 1, 9, 10, 99, 100, 65_535, 1 << 32, u64::MAX - 1, u64::MAX] {
            assert_eq!(
                one(|w| {
                    w.u64(n);
                }),
                serde_json::to_vec(&n).unwrap()
            );
        }
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(
            one(|w| {
                w.ip(&v6);
            }),
            br#""2001:0db8:0000:0000:0000:0000:0000:0001""#
        );
        let v4: IpAddr = "10.0.0.255".parse().unwrap();
        assert_eq!(
            one(|w| {
                w.ip(&v4);
            }),
            br#""10.0.0.255""#
        );
        let ts = 1_768_471_200_000_000_000 + 123_456_789;
        assert_eq!(
            one(|w| {
                w.ts(ts);
            }),
            serde_json::to_vec(&crate::time::eve_ts(ts)).unwrap()
        );
    }

    #[test]
    fn base64_like_the_base64_crate() {
        use base64::Engine as _;
        for n in 0..10usize {
            let b: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(97)).collect();
            let want = base64::engine::general_purpose::STANDARD.encode(&b);
            assert_eq!(
                one(|w| {
                    w.base64(&b);
                }),
                serde_json::to_vec(&want).unwrap()
            );
        }
    }

    #[test]
    fn empty_optional_objects_leave_nothing() {
        let got = one(|w| {
            w.begin_object().key("a").u64(1);
            w.object_if_any("none", |_| {});
            w.object_if_any("some", |w| {
                w.key("b").bool(true);
            });
            w.object_if_any("none2", |_| {});
            w.end_object();
        });
        assert_eq!(got, br#"{"a":1,"some":{"b":true}}"#);
        let got = one(|w| {
            w.begin_object();
            w.object_if_any("none", |_| {});
            w.key("a").u64(1).end_object();
        });
        assert_eq!(got, br#"{"a":1}"#);
    }

    #[test]
    fn line_ends_in_newline() {
        let mut w = JsonWriter::append_to(Vec::new(), 4);
        w.begin_object().end_object();
        assert_eq!(w.as_bytes(), b"{}");
        assert_eq!(w.into_line(), b"{}\n");
    }

    proptest! {
        #[test]
        fn any_bytes_match_serde_json(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let want = serde_json::to_vec(&String::from_utf8_lossy(&b)).unwrap();
            prop_assert_eq!(one(|w| { w.bytes(&b); }), want);
        }

        #[test]
        fn addresses_and_hex_match_fmt(v4: [u8; 4], v6: [u16; 8], n: u64, width in 0..20usize) {
            let a = IpAddr::from(v4);
            prop_assert_eq!(one(|w| { w.ip(&a); }), serde_json::to_vec(&a.to_string()).unwrap());
            prop_assert_eq!(one(|w| { w.ip_display(&a); }), serde_json::to_vec(&a.to_string()).unwrap());
            let b = IpAddr::from(v6);
            let full: Vec<String> = v6.iter().map(|g| format!("{g:04x}")).collect();
            prop_assert_eq!(one(|w| { w.ip(&b); }), serde_json::to_vec(&full.join(":")).unwrap());
            prop_assert_eq!(one(|w| { w.ip_display(&b); }), serde_json::to_vec(&b.to_string()).unwrap());
            prop_assert_eq!(one(|w| { w.hex_str(n, width); }), serde_json::to_vec(&format!("{n:0width$x}")).unwrap());
            prop_assert_eq!(one(|w| { w.hex_str(n >> (n % 64), 2); }), serde_json::to_vec(&format!("{:02x}", n >> (n % 64))).unwrap());
            prop_assert_eq!(one(|w| { w.u64(n); }), serde_json::to_vec(&n).unwrap());
        }

        /// Mostly clean text (skipped 8 bytes at a time) with a byte that
        /// needs escaping at any position.
        #[test]
        fn clean_text_with_one_escape_matches_serde_json(
            pre in "[a-zA-Z0-9 /.:=é€-]{0,40}",
            c in prop::sample::select(vec!['"', '\\', '\n', '\u{1}', '\u{1f}', '\u{7f}', ' ', 'x', 'é']),
            post in "[a-zA-Z0-9 /.:=é€-]{0,40}",
        ) {
            let s = format!("{pre}{c}{post}");
            prop_assert_eq!(one(|w| { w.str(&s); }), serde_json::to_vec(&s).unwrap());
        }

        #[test]
        fn any_string_matches_serde_json(s in any::<String>()) {
            prop_assert_eq!(one(|w| { w.str(&s); }), serde_json::to_vec(&s).unwrap());
            let v = Value::from(s.clone());
            prop_assert_eq!(one(|w| { w.begin_array().str(&s).u64(7).end_array(); }), serde_json::to_vec(&json!([v, 7])).unwrap());
            // As a key, plain or needing escapes.
            let mut m = serde_json::Map::new();
            m.insert(s.clone(), json!(1));
            m.insert("plain_key".into(), json!(2));
            let got = one(|w| { w.begin_object().key(&s).u64(1).key("plain_key").u64(2).end_object(); });
            let want: Value = serde_json::from_slice(&got).unwrap();
            prop_assert_eq!(want, Value::Object(m));
            let mut prefix = b"{".to_vec();
            prefix.extend(serde_json::to_vec(&s).unwrap());
            prefix.push(b':');
            prop_assert!(got.starts_with(&prefix));
        }
    }
}
