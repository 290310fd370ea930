//! One EVE record as the sinks share it: the JSON line (built once by a
//! worker), its delivery sequence number, event type and alert severity.
//!
//! The sequence number lets a collector de-duplicate what an at-least-once
//! sink may send twice. Suricata's EVE schema allows no extra top-level
//! key, so it travels in our one extension object, `mirror`, as
//! `mirror.seq`. It is spliced into the finished line once, by the single
//! dispatcher thread, without re-parsing the JSON.

use std::sync::Arc;

/// A finished EVE line shared by every sink it goes to.
#[derive(Clone, Debug)]
pub struct Record {
    /// Delivery sequence number (0 when sequencing is off).
    pub seq: u64,
    /// Bit of the event type, see [`type_bit`].
    pub kind: u32,
    /// Alert severity (1 highest) for alerts, 0 otherwise.
    pub severity: u8,
    /// The JSON object followed by one '\n' (or, see `lines`, several).
    pub line: Arc<[u8]>,
    /// Record lines in `line`: 1, or more for a block of lines passed
    /// whole to the only sink, a local one taking every type (`seq`,
    /// `kind` and `severity` are then 0).
    pub lines: u32,
}

impl Record {
    /// Build from a finished line (ending in '\n'), as read from a spool.
    pub fn from_line(line: Arc<[u8]>) -> Record {
        let (kind, severity) = scan_meta(&line);
        let seq = scan_seq(&line).unwrap_or(0);
        Record {
            seq,
            kind: type_bit(kind),
            severity,
            line,
            lines: 1,
        }
    }

    /// The JSON without its trailing newline.
    pub fn json(&self) -> &[u8] {
        self.line.strip_suffix(b"\n").unwrap_or(&self.line)
    }

    /// The event type name, read back from the line.
    pub fn event_type(&self) -> &str {
        scan_meta(&self.line).0
    }
}

/// Event types with a routing bit of their own; anything else is `OTHER`.
const TYPES: &[&str] = &[
    "alert", "anomaly", "http", "dns", "tls", "files", "fileinfo", "smtp", "ftp", "ssh", "flow", "netflow",
    "stats", "pgsql", "drop", "dhcp", "smb", "nfs", "krb5", "snmp", "sip", "rdp", "mqtt", "quic", "ike",
    "tftp", "dcerpc", "modbus", "dnp3", "http2", "frame",
];
/// Routing bit of event types not in the list.
pub const OTHER: u32 = 1 << 31;

/// Routing bit of an event type name.
pub fn type_bit(name: &str) -> u32 {
    match TYPES.iter().position(|t| *t == name) {
        Some(i) if i < 31 => 1 << i,
        _ => OTHER,
    }
}

/// Routing mask for a sink's `types` list (`None`: everything).
pub fn type_mask(types: Option<&[String]>) -> u32 {
    match types {
        None => u32::MAX,
        Some(list) => list.iter().fold(0, |m, t| m | type_bit(t)),
    }
}

/// Positions of `"key":` at the top level of a JSON object line. Keys and
/// values are told apart by what follows the closing quote; quotes inside
/// strings are always escaped, so scanning for unescaped quotes is exact.
fn top_level_key(line: &[u8], key: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0usize;
    while let Some(&c) = line.get(i) {
        match c {
            b'"' => {
                let start = i;
                i += 1;
                while let Some(&q) = line.get(i) {
                    if q == b'"' {
                        break;
                    }
                    if q == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                // i is on the closing quote (or past the end).
                if depth == 1 && line.get(start + 1..i) == Some(key) && line.get(i + 1) == Some(&b':') {
                    return Some(start);
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The line with `mirror.seq` set to `seq`: added to an existing top-level
/// `mirror` object, or as a new `mirror` object at the end.
pub fn with_seq(line: &[u8], seq: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len() + 32);
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    if let Some(k) = top_level_key(body, b"mirror") {
        // `"mirror":` is 9 bytes; its value must be an object.
        let value = k + 9;
        if body.get(value) == Some(&b'{') {
            let empty = body.get(value + 1) == Some(&b'}');
            out.extend_from_slice(body.get(..=value).unwrap_or_default());
            out.extend_from_slice(format!("\"seq\":{seq}").as_bytes());
            if !empty {
                out.push(b',');
            }
            out.extend_from_slice(body.get(value + 1..).unwrap_or_default());
            out.push(b'\n');
            return out;
        }
    }
    match body
        .iter()
        .rposition(|&b| b == b'}')
        .and_then(|end| body.split_at_checked(end))
    {
        Some((head, tail)) => {
            let empty = head.iter().rev().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
            out.extend_from_slice(head);
            if !empty {
                out.push(b',');
            }
            out.extend_from_slice(format!("\"mirror\":{{\"seq\":{seq}}}").as_bytes());
            out.extend_from_slice(tail);
        }
        None => out.extend_from_slice(body),
    }
    out.push(b'\n');
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

fn digits(s: &[u8]) -> Option<u64> {
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 20 {
        return None;
    }
    std::str::from_utf8(s.get(..n)?).ok()?.parse().ok()
}

/// `mirror.seq` of a line written by [`with_seq`].
pub fn scan_seq(line: &[u8]) -> Option<u64> {
    let k = top_level_key(line, b"mirror")?;
    let obj = line.get(k..)?;
    let p = find(obj, b"\"seq\":")?;
    digits(obj.get(p + 6..)?)
}

/// Event type and alert severity of a line, without parsing it.
pub fn scan_meta(line: &[u8]) -> (&str, u8) {
    let mut kind = "";
    if let Some(rest) = find(line, b"\"event_type\":\"").and_then(|p| line.get(p + 14..)) {
        if let Some(head) = memchr::memchr(b'"', rest).and_then(|end| rest.get(..end)) {
            kind = std::str::from_utf8(head).unwrap_or("");
        }
    }
    let mut severity = 0u8;
    if kind == "alert" {
        if let Some(a) = top_level_key(line, b"alert") {
            let mut rest = line.get(a..).unwrap_or_default();
            while let Some(p) = find(rest, b"\"severity\":") {
                rest = rest.get(p + 11..).unwrap_or_default();
                if let Some(n) = digits(rest) {
                    severity = n.min(255) as u8;
                    break;
                }
            }
        }
    }
    (kind, severity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    fn parse(b: &[u8]) -> Value {
        serde_json::from_slice(b).unwrap()
    }

    #[test]
    fn seq_goes_into_new_or_existing_mirror() {
        let plain = b"{\"timestamp\":\"x\",\"event_type\":\"flow\",\"flow\":{\"a\":1}}\n";
        let v = parse(&with_seq(plain, 42));
        assert_eq!(v["mirror"]["seq"], 42);
        assert_eq!(v["flow"]["a"], 1);
        let m = b"{\"event_type\":\"alert\",\"mirror\":{\"vni\":7},\"alert\":{\"severity\":2}}\n";
        let out = with_seq(m, 9);
        assert!(out.ends_with(b"}\n"));
        let v = parse(&out);
        assert_eq!(v["mirror"]["seq"], 9);
        assert_eq!(v["mirror"]["vni"], 7);
        assert_eq!(scan_seq(&out), Some(9));
        assert_eq!(parse(&with_seq(b"{}\n", 1))["mirror"]["seq"], 1);
        assert_eq!(parse(&with_seq(b"{\"mirror\":{}}\n", 3))["mirror"]["seq"], 3);
    }

    #[test]
    fn nested_or_quoted_mirror_is_not_top_level() {
        let line = br#"{"payload_printable":"\"mirror\":{","alert":{"metadata":{"mirror":["x"]}},"event_type":"alert"}"#;
        let v = parse(&with_seq(line, 5));
        assert_eq!(v["mirror"]["seq"], 5);
        assert_eq!(v["alert"]["metadata"]["mirror"][0], "x");
        assert_eq!(v["payload_printable"], "\"mirror\":{");
    }

    #[test]
    fn meta_reads_type_and_severity() {
        let a = br#"{"event_type":"alert","alert":{"metadata":{"severity":["high"]},"severity":3}}"#;
        assert_eq!(scan_meta(a), ("alert", 3));
        assert_eq!(scan_meta(br#"{"event_type":"flow"}"#), ("flow", 0));
        assert_eq!(scan_meta(b"garbage"), ("", 0));
        assert_eq!(type_bit("alert"), 1);
        assert_eq!(type_bit("nonsense"), OTHER);
        let mask = type_mask(Some(&["alert".into(), "stats".into()]));
        assert!(mask & type_bit("stats") != 0 && mask & type_bit("flow") == 0);
    }

    proptest! {
        #[test]
        fn never_panics_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..200), seq in any::<u64>()) {
            let _ = with_seq(&bytes, seq);
            let _ = scan_meta(&bytes);
            let _ = scan_seq(&bytes);
        }

        #[test]
        fn valid_objects_stay_valid(keys in proptest::collection::btree_map("[a-z\"{}:]{1,8}", "[ -~]{0,12}", 0..6), seq in any::<u64>()) {
            let obj: serde_json::Map<String, Value> = keys.into_iter().map(|(k, v)| (k, Value::from(v))).collect();
            let mut line = serde_json::to_vec(&Value::Object(obj.clone())).unwrap();
            line.push(b'\n');
            let out = with_seq(&line, seq);
            let v = parse(&out);
            prop_assert_eq!(v["mirror"]["seq"].as_u64(), Some(seq));
            prop_assert_eq!(scan_seq(&out), Some(seq));
            for (k, val) in &obj {
                if k != "mirror" {
                    prop_assert_eq!(&v[k.as_str()], val);
                }
            }
        }
    }
}
