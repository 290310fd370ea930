//! Transforms on the current sticky buffer: `dotprefix`, `to_lowercase`,
//! `to_uppercase`, `strip_whitespace`, `compress_whitespace`, `url_decode`,
//! `header_lowercase`, `xor`, `from_base64`, `to_md5`, `to_sha1`,
//! `to_sha256` (the raw digest, as Suricata) and `pcrexform` (the first
//! capture group of the first match; the buffer is left as is when the
//! pattern does not match). They apply in rule order to the buffer before
//! its contents are inspected. Output is bounded by the input length (plus
//! one byte for `dotprefix`, or the digest length).

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use super::pcre::{self, Pcre};
use super::Opt;
use crate::error::{reason, SpanError};
use base64::Engine;
use md5::Digest;

/// `pcrexform`'s pattern, compared by its text.
#[derive(Clone, Debug)]
pub(crate) struct PcreXform {
    src: String,
    re: Pcre,
}

impl PartialEq for PcreXform {
    fn eq(&self, other: &Self) -> bool {
        self.src == other.src
    }
}

impl Eq for PcreXform {}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Transform {
    Dotprefix,
    ToLowercase,
    ToUppercase,
    StripWhitespace,
    CompressWhitespace,
    UrlDecode,
    HeaderLowercase,
    Xor(Vec<u8>),
    FromBase64,
    ToMd5,
    ToSha1,
    ToSha256,
    Pcrexform(Box<PcreXform>),
}

/// Parse a transform keyword; `None` when `opt` is not one.
pub(crate) fn parse(opt: &Opt<'_>) -> Option<Result<Transform, SpanError>> {
    let t = match opt.name {
        "dotprefix" => Transform::Dotprefix,
        "to_lowercase" => Transform::ToLowercase,
        "to_uppercase" => Transform::ToUppercase,
        "strip_whitespace" => Transform::StripWhitespace,
        "compress_whitespace" => Transform::CompressWhitespace,
        "url_decode" => Transform::UrlDecode,
        "header_lowercase" => Transform::HeaderLowercase,
        "from_base64" => Transform::FromBase64,
        "to_md5" => Transform::ToMd5,
        "to_sha1" => Transform::ToSha1,
        "to_sha256" => Transform::ToSha256,
        "xor" => return Some(xor(opt)),
        "pcrexform" => return Some(pcrexform(opt)),
        _ => return None,
    };
    if opt.name != "from_base64" {
        if let Err(e) = opt.no_value() {
            return Some(Err(e));
        }
    }
    Some(Ok(t))
}

fn xor(opt: &Opt<'_>) -> Result<Transform, SpanError> {
    let v = opt.value()?.trim().trim_matches('"');
    let bad = || opt.err_value(0, reason::BAD_VALUE, format!("xor key '{v}' must be hex bytes"));
    if v.is_empty() || v.len() % 2 != 0 || v.len() > 510 {
        return Err(bad());
    }
    let key = (0..v.len())
        .step_by(2)
        .map(|i| v.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)?;
    Ok(Transform::Xor(key))
}

/// `pcrexform:"<regex>"`: the pattern without slashes or flags.
fn pcrexform(opt: &Opt<'_>) -> Result<Transform, SpanError> {
    let v = opt.value()?.trim();
    let inner = v
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .ok_or_else(|| opt.err_value(0, reason::BAD_VALUE, "pcrexform value must be quoted"))?;
    let re = pcre::parse(&format!("\"/{inner}/\""))
        .map_err(|e| opt.err_value(e.at.saturating_sub(1), e.reason, e.message))?;
    if re.captures_len() < 2 {
        return Err(opt.err_value(0, reason::BAD_VALUE, "pcrexform needs a capture group"));
    }
    Ok(Transform::Pcrexform(Box::new(PcreXform {
        src: inner.to_string(),
        re,
    })))
}

fn hexval(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

impl Transform {
    /// Apply to `input`, writing into `out` (cleared first).
    pub fn apply(&self, input: &[u8], out: &mut Vec<u8>) {
        out.clear();
        match self {
            Transform::Dotprefix => {
                out.push(b'.');
                out.extend_from_slice(input);
            }
            Transform::ToLowercase => out.extend(input.iter().map(u8::to_ascii_lowercase)),
            Transform::ToUppercase => out.extend(input.iter().map(u8::to_ascii_uppercase)),
            Transform::StripWhitespace => {
                out.extend(input.iter().copied().filter(|c| !c.is_ascii_whitespace()))
            }
            Transform::CompressWhitespace => {
                let mut prev_ws = false;
                for &c in input {
                    let ws = c.is_ascii_whitespace();
                    if !(ws && prev_ws) {
                        out.push(c);
                    }
                    prev_ws = ws;
                }
            }
            Transform::UrlDecode => {
                let mut i = 0;
                while let Some(&c) = input.get(i) {
                    match c {
                        b'%' => match (
                            input.get(i + 1).and_then(|&h| hexval(h)),
                            input.get(i + 2).and_then(|&l| hexval(l)),
                        ) {
                            (Some(h), Some(l)) => {
                                out.push(h << 4 | l);
                                i += 3;
                                continue;
                            }
                            _ => out.push(c),
                        },
                        b'+' => out.push(b' '),
                        _ => out.push(c),
                    }
                    i += 1;
                }
            }
            Transform::HeaderLowercase => {
                // Header names (up to ':' on each line) lowercased.
                let mut in_name = true;
                for &c in input {
                    match c {
                        b'\n' => in_name = true,
                        b':' => in_name = false,
                        _ => {}
                    }
                    out.push(if in_name { c.to_ascii_lowercase() } else { c });
                }
            }
            Transform::Xor(key) => {
                out.extend(input.iter().zip(key.iter().cycle()).map(|(a, k)| a ^ k));
            }
            Transform::FromBase64 => {
                let engine = base64::engine::general_purpose::GeneralPurposeConfig::new()
                    .with_decode_allow_trailing_bits(true)
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent);
                let e = base64::engine::GeneralPurpose::new(&base64::alphabet::STANDARD, engine);
                let clean: Vec<u8> = input
                    .iter()
                    .copied()
                    .filter(|c| !c.is_ascii_whitespace())
                    .collect();
                // Decode the longest prefix of whole 4-char groups that decodes.
                let n = clean.len() - clean.len() % 4;
                let mut part = clean.get(..n).unwrap_or_default();
                if clean.len() % 4 >= 2 {
                    part = &clean;
                }
                if let Ok(v) = e.decode(part) {
                    out.extend_from_slice(&v);
                }
            }
            Transform::ToMd5 => out.extend_from_slice(&md5::Md5::digest(input)),
            Transform::ToSha1 => out.extend_from_slice(&sha1::Sha1::digest(input)),
            Transform::ToSha256 => out.extend_from_slice(&sha2::Sha256::digest(input)),
            Transform::Pcrexform(x) => match x.re.capture1(input) {
                Some((s, e)) => out.extend_from_slice(input.get(s..e).unwrap_or_default()),
                None => out.extend_from_slice(input),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: Transform, i: &[u8]) -> Vec<u8> {
        let mut o = Vec::new();
        t.apply(i, &mut o);
        o
    }

    #[test]
    fn transforms_as_documented() {
        assert_eq!(run(Transform::Dotprefix, b"google.com"), b".google.com");
        assert_eq!(run(Transform::ToLowercase, b"AbC"), b"abc");
        assert_eq!(run(Transform::ToUppercase, b"AbC"), b"ABC");
        assert_eq!(run(Transform::StripWhitespace, b" a b\t\nc "), b"abc");
        assert_eq!(run(Transform::CompressWhitespace, b"a  b\t\tc"), b"a b\tc");
        assert_eq!(run(Transform::UrlDecode, b"%41b+c%2"), b"Ab c%2");
        assert_eq!(
            run(Transform::HeaderLowercase, b"Host: A\r\nX-Y: B"),
            b"host: A\r\nx-y: B"
        );
        assert_eq!(run(Transform::Xor(vec![0x0d, 0x0a]), b"\x0d\x0a\x0d"), b"\0\0\0");
        assert_eq!(
            run(Transform::FromBase64, b"VGhpcyBpcyBTdXJpY2F0YQ=="),
            b"This is Suricata"
        );
        assert_eq!(run(Transform::FromBase64, b"!!"), b"");
        // Digests (of "abc", from the algorithms' test vectors), raw bytes.
        let hex = |v: Vec<u8>| v.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(run(Transform::ToMd5, b"abc")),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            hex(run(Transform::ToSha1, b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(run(Transform::ToSha256, b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    fn opt(name: &'static str, value: &'static str) -> Opt<'static> {
        Opt::test(name, Some(value))
    }

    #[test]
    fn pcrexform_keeps_the_first_capture() {
        // Docs: http.request_line; pcrexform:"[a-zA-Z]+\s+(.*)\s+HTTP";
        let t = parse(&opt("pcrexform", r#""[a-zA-Z]+\s+(.*)\s+HTTP""#))
            .unwrap()
            .unwrap();
        assert_eq!(run(t.clone(), b"GET /dropper.php HTTP/1.1"), b"/dropper.php");
        assert_eq!(run(t, b"nothing here"), b"nothing here");
        // Lookahead works too (PCRE2).
        let t = parse(&opt("pcrexform", r#""(\w+)(?==)""#)).unwrap().unwrap();
        assert_eq!(run(t, b"a=1"), b"a");
        assert!(parse(&opt("pcrexform", r#""abc""#)).unwrap().is_err());
        assert!(parse(&opt("pcrexform", "abc")).unwrap().is_err());
        assert!(parse(&opt("pcrexform", r#""(a""#)).unwrap().is_err());
        assert!(parse(&opt("to_md5", "x")).unwrap().is_err());
    }
}
