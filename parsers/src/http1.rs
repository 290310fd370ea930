//! HTTP/1.x message heads (RFC 9112), read as leniently as the servers
//! attackers target.
//!
//! Every function takes the bytes seen so far on one direction of a stream
//! and either returns a view borrowing from them plus the rest, or
//! [`ParseError::Incomplete`] when the line or header block has not ended
//! yet. Malformed requests are data, not errors: a line without a colon is a
//! header with an empty value, bare LF ends lines as CRLF does, folded
//! continuation lines belong to the header above, a request line without a
//! protocol is HTTP/0.9. The only `Invalid` results are for input that is
//! not HTTP at all (a request line that does not start with a token), so
//! protocol detection can rely on them.
//!
//! Bodies are framed by the caller with [`parse_chunk_size`] and
//! [`Headers::content_length`]; the normalised `http.uri` buffer is built
//! by [`normalize_uri`].

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use crate::ParseError;

/// Longest request, status or header line accepted before the message is
/// considered not HTTP (libhtp has a similar limit, its default is 18000).
pub const MAX_LINE: usize = 16 * 1024;
/// Largest header block accepted (all header lines together).
pub const MAX_HEADERS: usize = 64 * 1024;

/// A request line: `METHOD SP request-target SP HTTP-version`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLine<'a> {
    /// The whole line without its line ending.
    pub line: &'a [u8],
    /// The method token as sent (not upper-cased).
    pub method: &'a [u8],
    /// The request target as sent.
    pub uri: &'a [u8],
    /// The protocol as sent; empty for HTTP/0.9 (no protocol, no headers).
    pub protocol: &'a [u8],
}

impl RequestLine<'_> {
    /// HTTP/0.9 simple request: no protocol, no headers follow.
    pub fn is_http09(&self) -> bool {
        self.protocol.is_empty()
    }
}

/// A status line: `HTTP-version SP status-code SP reason-phrase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusLine<'a> {
    /// The whole line without its line ending.
    pub line: &'a [u8],
    /// The protocol as sent.
    pub protocol: &'a [u8],
    /// The status code text as sent (three digits when well-formed).
    pub status: &'a [u8],
    /// The reason phrase (may be empty).
    pub reason: &'a [u8],
}

impl StatusLine<'_> {
    /// The numeric status code, if the status text is 3 digits.
    pub fn code(&self) -> Option<u16> {
        if self.status.len() != 3 {
            return None;
        }
        parse_decimal(self.status).and_then(|v| u16::try_from(v).ok())
    }
}

/// Splits off one line ending in LF (CRLF or bare LF). Returns
/// `(rest, line_without_ending)`.
fn take_line(i: &[u8], limit: usize) -> Result<(&[u8], &[u8]), ParseError> {
    match memchr::memchr(b'\n', i.get(..limit).unwrap_or(i)) {
        Some(lf) => {
            let (line, rest) = i.split_at_checked(lf).unwrap_or((i, &[]));
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            Ok((rest.get(1..).unwrap_or_default(), line))
        }
        None if i.len() >= limit => Err(ParseError::Invalid("http line too long")),
        None => Err(ParseError::Incomplete { needed: 1 }),
    }
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_ws(*first) || *first == b'\r' {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_ws(*last) || *last == b'\r' {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Splits at the first run of spaces/tabs: `(word, remainder)`.
fn split_word(s: &[u8]) -> (&[u8], &[u8]) {
    let end = s.iter().position(|&b| is_ws(b)).unwrap_or(s.len());
    let (w, r) = s.split_at_checked(end).unwrap_or((s, &[]));
    let skip = r.iter().position(|&b| !is_ws(b)).unwrap_or(r.len());
    (w, r.get(skip..).unwrap_or_default())
}

/// A token character (RFC 9110 5.6.2), which methods are made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses a request line. Leading empty lines are skipped (RFC 9112 2.2
/// says servers should ignore at least one).
///
/// # Errors
/// `Incomplete` until a line ending arrives; `Invalid` when the line does
/// not start with a method token or is longer than [`MAX_LINE`].
///
/// # Examples
/// ```
/// use tapwatch_parsers::http1::parse_request_line;
/// let (rest, rl) = parse_request_line(b"GET /a?b HTTP/1.1\r\nHost: x\r\n").unwrap();
/// assert_eq!((rl.method, rl.uri, rl.protocol), (&b"GET"[..], &b"/a?b"[..], &b"HTTP/1.1"[..]));
/// assert_eq!(rest, b"Host: x\r\n");
/// ```
pub fn parse_request_line(mut i: &[u8]) -> Result<(&[u8], RequestLine<'_>), ParseError> {
    // Skip up to a few empty lines left over from a previous message.
    for _ in 0..4 {
        match i {
            [b'\r', b'\n', rest @ ..] | [b'\n', rest @ ..] => i = rest,
            [b'\r'] => return Err(ParseError::Incomplete { needed: 1 }),
            _ => break,
        }
    }
    // Decide early whether this can be HTTP, so detection needs no line end.
    let tok = i.iter().position(|&b| !is_tchar(b)).unwrap_or(i.len());
    if tok == 0 && !i.is_empty() {
        return Err(ParseError::Invalid("http request line: no method"));
    }
    if i.get(tok).is_some_and(|&b| !is_ws(b)) {
        return Err(ParseError::Invalid("http request line: bad method"));
    }
    let (rest, line) = take_line(i, MAX_LINE)?;
    let (method, r) = split_word(line);
    // The target ends at the last run of whitespace before a protocol token
    // that starts with "HTTP/"; otherwise the rest of the line is the target
    // (HTTP/0.9, or spaces inside the URI which libhtp also accepts).
    let r = trim(r);
    let split = r.iter().rposition(|&b| is_ws(b)).and_then(|sp| {
        let (uri, proto) = r.split_at_checked(sp)?;
        let proto = proto.get(1..)?;
        (proto.len() > 4 && proto.starts_with(b"HTTP/")).then(|| (trim(uri), proto))
    });
    let (uri, protocol) = split.unwrap_or((r, &[]));
    Ok((
        rest,
        RequestLine {
            line,
            method,
            uri,
            protocol,
        },
    ))
}

/// Parses a status line.
///
/// # Errors
/// `Incomplete` until a line ending arrives (or while the buffer is still a
/// prefix of `HTTP/`); `Invalid` when the line does not start with `HTTP/`.
pub fn parse_status_line(i: &[u8]) -> Result<(&[u8], StatusLine<'_>), ParseError> {
    let n = i.len().min(5);
    if !i
        .iter()
        .zip(b"HTTP/")
        .take(n)
        .all(|(a, b)| a.eq_ignore_ascii_case(b))
    {
        return Err(ParseError::Invalid("http status line: no HTTP/"));
    }
    let (rest, line) = take_line(i, MAX_LINE)?;
    let (protocol, r) = split_word(line);
    let (status, reason) = split_word(r);
    Ok((
        rest,
        StatusLine {
            line,
            protocol,
            status,
            reason: trim(reason),
        },
    ))
}

/// A header block: every header line up to (not including) the empty line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Headers<'a> {
    /// The raw header lines, each with its line ending.
    pub raw: &'a [u8],
}

/// One header field as seen on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// The name (whitespace before the colon removed). A line without a
    /// colon gives its whole text as the name and an empty value.
    pub name: &'a [u8],
    /// The value, trimmed; folded continuation lines stay inside it with
    /// their line endings ([`Header::value_parts`] splits them).
    pub value: &'a [u8],
    /// The line had no colon (an anomaly).
    pub missing_colon: bool,
}

impl<'a> Header<'a> {
    /// The value's pieces across folded lines, each trimmed; joining them
    /// with one space gives the unfolded value.
    pub fn value_parts(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.value
            .split(|&b| b == b'\n')
            .map(trim)
            .filter(|p| !p.is_empty())
    }

    /// The value unfolded: its parts joined with one space. A value that
    /// was not folded is the value itself.
    pub fn unfolded_into(&self, out: &mut Vec<u8>) {
        if !self.is_folded() {
            out.extend_from_slice(self.value);
            return;
        }
        for (n, part) in self.value_parts().enumerate() {
            if n > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(part);
        }
    }

    /// Whether the value was folded across lines (an anomaly).
    pub fn is_folded(&self) -> bool {
        memchr::memchr(b'\n', self.value).is_some()
    }
}

/// Parses the header block that follows a request or status line, up to
/// and including the empty line that ends it.
///
/// # Errors
/// `Incomplete` until the empty line arrives; `Invalid` when the block is
/// larger than [`MAX_HEADERS`].
pub fn parse_headers(i: &[u8]) -> Result<(&[u8], Headers<'_>), ParseError> {
    let mut pos = 0usize;
    loop {
        let rest = i.get(pos..).unwrap_or_default();
        let (after, line) = match take_line(rest, MAX_LINE) {
            Ok(x) => x,
            Err(ParseError::Incomplete { .. }) if i.len() >= MAX_HEADERS => {
                return Err(ParseError::Invalid("http headers too large"))
            }
            Err(e) => return Err(e),
        };
        if line.is_empty() {
            return Ok((
                after,
                Headers {
                    raw: i.get(..pos).unwrap_or_default(),
                },
            ));
        }
        pos = i.len() - after.len();
        if pos > MAX_HEADERS {
            return Err(ParseError::Invalid("http headers too large"));
        }
    }
}

/// What message framing and anomaly checks need of a header block, read
/// in one pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeaderSummary<'a> {
    /// The first Content-Length value, if present: `Err(())` when it is
    /// not a decimal number.
    pub content_length: Option<Result<u64, ()>>,
    /// Content-Length fields present.
    pub content_length_fields: u32,
    /// The last transfer coding of a Transfer-Encoding field is `chunked`.
    pub chunked: bool,
    /// The first Content-Encoding value.
    pub content_encoding: Option<&'a [u8]>,
    /// A Host field is present.
    pub host: bool,
    /// A line has no colon.
    pub missing_colon: bool,
}

impl<'a> Headers<'a> {
    /// Iterates over header fields in order (duplicates kept).
    pub fn iter(&self) -> HeaderIter<'a> {
        HeaderIter { rest: self.raw }
    }

    /// The framing fields and anomalies of the block, in one pass.
    pub fn summary(&self) -> HeaderSummary<'a> {
        let mut s = HeaderSummary::default();
        for h in self.iter() {
            s.missing_colon |= h.missing_colon;
            let name = h.name;
            if name.eq_ignore_ascii_case(b"content-length") {
                if s.content_length_fields == 0 {
                    s.content_length = Some(parse_decimal(trim(h.value)).ok_or(()));
                }
                s.content_length_fields += 1;
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                s.chunked |= last_coding_is_chunked(h.value);
            } else if name.eq_ignore_ascii_case(b"content-encoding") {
                s.content_encoding = s.content_encoding.or(Some(h.value));
            } else if name.eq_ignore_ascii_case(b"host") {
                s.host = true;
            }
        }
        s
    }

    /// The first header with this name (case-insensitive).
    pub fn get(&self, name: &[u8]) -> Option<Header<'a>> {
        self.iter().find(|h| h.name.eq_ignore_ascii_case(name))
    }
}

/// A Transfer-Encoding value whose last coding is `chunked`.
fn last_coding_is_chunked(value: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .next_back()
        .is_some_and(|c| trim(c).eq_ignore_ascii_case(b"chunked"))
}

/// Iterator over the fields of a [`Headers`] block.
#[derive(Clone, Debug)]
pub struct HeaderIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = Header<'a>;

    fn next(&mut self) -> Option<Header<'a>> {
        let s = self.rest;
        if s.is_empty() {
            return None;
        }
        // The field ends at a line ending not followed by SP/HT (folding).
        let mut end = s.len();
        let mut next = s.len();
        let mut i = 0;
        while let Some(off) = s.get(i..).and_then(|t| memchr::memchr(b'\n', t)) {
            let lf = i + off;
            if s.get(lf + 1).is_some_and(|&b| is_ws(b)) {
                i = lf + 1;
                continue;
            }
            end = lf;
            next = lf + 1;
            break;
        }
        let field = s.get(..end).unwrap_or_default();
        self.rest = s.get(next..).unwrap_or_default();
        Some(match memchr::memchr(b':', field) {
            Some(c) => Header {
                name: trim(field.get(..c).unwrap_or_default()),
                value: trim(field.get(c + 1..).unwrap_or_default()),
                missing_colon: false,
            },
            None => Header {
                name: trim(field),
                value: &[],
                missing_colon: true,
            },
        })
    }
}

/// Parses a decimal number of at most 19 digits (no sign, no spaces).
pub fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0')))
}

/// Parses a chunk-size line (`1a;ext=1\r\n`), returning the size.
///
/// # Errors
/// `Incomplete` until the line ends; `Invalid` if it does not start with
/// hex digits or the size exceeds 2^56.
pub fn parse_chunk_size(i: &[u8]) -> Result<(&[u8], u64), ParseError> {
    let (rest, line) = take_line(i, 1024)?;
    let line = trim(line);
    let hex = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    if hex == 0 || hex > 14 {
        return Err(ParseError::Invalid("http chunk size"));
    }
    let mut v = 0u64;
    for &b in line.get(..hex).unwrap_or_default() {
        v = (v << 4) | u64::from(hex_val(b).unwrap_or(0));
    }
    Ok((rest, v))
}

/// Consumes the line ending after a chunk's data (CRLF or bare LF).
///
/// # Errors
/// `Incomplete` while it has not arrived; `Invalid` for other bytes.
pub fn parse_chunk_end(i: &[u8]) -> Result<&[u8], ParseError> {
    match i {
        [b'\r', b'\n', rest @ ..] | [b'\n', rest @ ..] => Ok(rest),
        [] | [b'\r'] => Err(ParseError::Incomplete { needed: 1 }),
        _ => Err(ParseError::Invalid("http chunk end")),
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Builds the normalised URI (the `http.uri` buffer) into `out`, as libhtp
/// does with its default settings: an absolute-form target loses its scheme
/// and authority, the path is percent-decoded (invalid escapes kept as
/// sent) and its `.`/`..` segments removed; the query is kept as sent.
pub fn normalize_uri(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut s = raw;
    // Absolute form: scheme://authority/path
    if let Some(p) = find(s, b"://") {
        let scheme = s.get(..p).unwrap_or_default();
        if p > 0
            && scheme
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
        {
            let after = s.get(p + 3..).unwrap_or_default();
            let slash = after
                .iter()
                .position(|&b| b == b'/' || b == b'?')
                .unwrap_or(after.len());
            s = after.get(slash..).unwrap_or_default();
        }
    }
    let q = s.iter().position(|&b| b == b'?' || b == b'#').unwrap_or(s.len());
    let (path, query) = s.split_at_checked(q).unwrap_or((s, &[]));
    // Most paths have nothing to decode and no dot segment: they stay as
    // sent (splitting at '/' and joining again gives the same bytes).
    if !path.contains(&b'%') && !path.split(|&b| b == b'/').any(|g| g == b"." || g == b"..") {
        out.extend_from_slice(path);
        out.extend_from_slice(query);
        return;
    }
    decode_path(path, query, out);
}

/// [`normalize_uri`]'s general case for the path (and query) of a target.
fn decode_path(path: &[u8], query: &[u8], out: &mut Vec<u8>) {
    let mut decoded: Vec<u8> = Vec::with_capacity(path.len());
    let mut rest = path;
    while let [b, tail @ ..] = rest {
        if *b == b'%' {
            if let [h, l, after @ ..] = tail {
                if let (Some(h), Some(l)) = (hex_val(*h), hex_val(*l)) {
                    decoded.push(h << 4 | l);
                    rest = after;
                    continue;
                }
            }
        }
        decoded.push(*b);
        rest = tail;
    }
    remove_dot_segments(&decoded, out);
    out.extend_from_slice(query);
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// RFC 3986 5.2.4, on a decoded path.
fn remove_dot_segments(path: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    let absolute = path.first() == Some(&b'/');
    let segs: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    let last = segs.len().saturating_sub(1);
    let mut stack: Vec<&[u8]> = Vec::with_capacity(segs.len());
    let mut trailing = false;
    for (n, seg) in segs.iter().enumerate() {
        if n == 0 && absolute {
            continue;
        }
        match *seg {
            b"." => trailing = n == last,
            b".." => {
                stack.pop();
                trailing = n == last;
            }
            s => {
                stack.push(s);
                trailing = false;
            }
        }
    }
    if absolute {
        out.push(b'/');
    }
    for (n, seg) in stack.iter().enumerate() {
        if n > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(seg);
    }
    if trailing && out.len() > start && out.last() != Some(&b'/') {
        out.push(b'/');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REQ: &[u8] = b"GET /index.html?q=1 HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: curl/8.5.0\r\n\
X-Folded: one\r\n two\r\n\
Accept: */*\r\n\
\r\nBODY";

    #[test]
    fn request_line_and_headers() {
        let (rest, rl) = parse_request_line(REQ).unwrap();
        assert_eq!(rl.method, b"GET");
        assert_eq!(rl.uri, b"/index.html?q=1");
        assert_eq!(rl.protocol, b"HTTP/1.1");
        assert_eq!(rl.line, b"GET /index.html?q=1 HTTP/1.1");
        let (body, h) = parse_headers(rest).unwrap();
        assert_eq!(body, b"BODY");
        let names: Vec<&[u8]> = h.iter().map(|h| h.name).collect();
        assert_eq!(names, vec![&b"Host"[..], b"User-Agent", b"X-Folded", b"Accept"]);
        assert_eq!(h.get(b"host").unwrap().value, b"www.example.com");
        let f = h.get(b"x-folded").unwrap();
        assert!(f.is_folded());
        assert_eq!(f.value_parts().collect::<Vec<_>>(), vec![&b"one"[..], b"two"]);
    }

    #[test]
    fn lenient_lines() {
        // Bare LF, missing colon, duplicate headers, spaces before colon.
        let (rest, rl) = parse_request_line(b"\r\nPOST  /x  HTTP/1.0\nA : 1\nbroken\nA: 2\n\n").unwrap();
        assert_eq!(
            (rl.method, rl.uri, rl.protocol),
            (&b"POST"[..], &b"/x"[..], &b"HTTP/1.0"[..])
        );
        let (rest, h) = parse_headers(rest).unwrap();
        assert!(rest.is_empty());
        let v: Vec<Header> = h.iter().collect();
        assert_eq!(v.len(), 3);
        assert_eq!((v[0].name, v[0].value), (&b"A"[..], &b"1"[..]));
        assert!(v[1].missing_colon);
        assert_eq!(v[1].name, b"broken");
        assert_eq!(v[2].value, b"2");
    }

    #[test]
    fn http09_and_spaces_in_uri() {
        let (_, rl) = parse_request_line(b"GET /old\r\n").unwrap();
        assert!(rl.is_http09());
        assert_eq!(rl.uri, b"/old");
        let (_, rl) = parse_request_line(b"GET /a b HTTP/1.1\r\n").unwrap();
        assert_eq!(rl.uri, b"/a b");
    }

    #[test]
    fn not_http_is_invalid_early() {
        assert!(matches!(
            parse_request_line(b"\x16\x03\x01"),
            Err(ParseError::Invalid(_))
        ));
        assert!(matches!(
            parse_request_line(b"GET\x00"),
            Err(ParseError::Invalid(_))
        ));
        assert!(matches!(parse_status_line(b"HTTX"), Err(ParseError::Invalid(_))));
        assert!(matches!(
            parse_status_line(b"HTT"),
            Err(ParseError::Incomplete { .. })
        ));
    }

    #[test]
    fn status_line() {
        let (rest, sl) = parse_status_line(b"HTTP/1.1 404 Not Found\r\nX: y\r\n\r\n").unwrap();
        assert_eq!(sl.code(), Some(404));
        assert_eq!(sl.reason, b"Not Found");
        assert_eq!(sl.protocol, b"HTTP/1.1");
        assert_eq!(rest, b"X: y\r\n\r\n");
        let (_, sl) = parse_status_line(b"HTTP/1.0 2x0\n").unwrap();
        assert_eq!(sl.code(), None);
    }

    #[test]
    fn framing_headers() {
        let (_, h) =
            parse_headers(b"Content-Length: 12\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").unwrap();
        assert_eq!(h.summary().content_length, Some(Ok(12)));
        assert!(h.summary().chunked);
        let (_, h) = parse_headers(b"Content-Length: -1\r\n\r\n").unwrap();
        assert_eq!(h.summary().content_length, Some(Err(())));
    }

    #[test]
    fn chunks() {
        assert_eq!(parse_chunk_size(b"1A;x=y\r\nrest").unwrap(), (&b"rest"[..], 26));
        assert_eq!(parse_chunk_size(b"0\n").unwrap().1, 0);
        assert!(matches!(parse_chunk_size(b"zz\r\n"), Err(ParseError::Invalid(_))));
        assert!(matches!(
            parse_chunk_size(b"ff"),
            Err(ParseError::Incomplete { .. })
        ));
        assert_eq!(parse_chunk_end(b"\r\nX").unwrap(), b"X");
    }

    #[test]
    fn uri_normalisation() {
        let t = |raw: &[u8], want: &[u8]| {
            let mut o = Vec::new();
            normalize_uri(raw, &mut o);
            assert_eq!(o, want, "{}", String::from_utf8_lossy(raw));
        };
        t(b"/a/%2e%2e/b%20c?x=%41", b"/b c?x=%41");
        t(b"/a/./b/../c/", b"/a/c/");
        t(b"http://host:8080/p/q?z", b"/p/q?z");
        t(b"/%zz/%4", b"/%zz/%4");
        t(b"/../../etc/passwd", b"/etc/passwd");
        t(b"/a/..", b"/");
    }

    #[test]
    fn every_prefix_needs_more() {
        let (rest, _) = parse_request_line(REQ).unwrap();
        let hdr_len = REQ.len() - rest.len();
        for n in 0..hdr_len {
            assert!(
                matches!(parse_request_line(&REQ[..n]), Err(ParseError::Incomplete { .. })),
                "prefix {n}"
            );
        }
        let body_at = REQ.len() - 4;
        for n in 0..body_at - hdr_len {
            assert!(matches!(
                parse_headers(&rest[..n]),
                Err(ParseError::Incomplete { .. })
            ));
        }
        let resp = b"HTTP/1.1 200 OK\r\n";
        for n in 0..resp.len() {
            assert!(matches!(
                parse_status_line(&resp[..n]),
                Err(ParseError::Incomplete { .. })
            ));
        }
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_request_line(&data);
            let _ = parse_status_line(&data);
            if let Ok((_, h)) = parse_headers(&data) {
                for f in h.iter() { let _ = f.value_parts().count(); }
                let _ = h.summary();
            }
            let _ = parse_chunk_size(&data);
            let mut o = Vec::new();
            normalize_uri(&data, &mut o);
            prop_assert!(o.len() <= data.len() + 1);
        }

        /// The one-pass summary gives what looking at the fields one at a
        /// time gives, and the unfolded value is the joined parts.
        #[test]
        fn summary_agrees_with_a_field_by_field_reading(
            lines in proptest::collection::vec((
                prop::sample::select(vec!["Content-Length", "content-length", "Transfer-Encoding", "Content-Encoding", "Host", "X-A", ""]),
                prop::sample::select(vec![": ", ":", " : ", " "]),
                prop::sample::select(vec!["12", " 7 ", "x1", "", "gzip, chunked", "chunked , gzip", "CHUNKED", "a\r\n b", "h"]),
            ), 0..6),
        ) {
            let mut raw = Vec::new();
            for (n, sep, v) in &lines {
                raw.extend_from_slice(format!("{n}{sep}{v}\r\n").as_bytes());
            }
            raw.extend_from_slice(b"\r\n");
            let (_, h) = parse_headers(&raw).unwrap();
            let s = h.summary();
            let length = h.get(b"content-length").map(|f| parse_decimal(trim(f.value)).ok_or(()));
            prop_assert_eq!(s.content_length, length);
            let chunked = h
                .iter()
                .filter(|f| f.name.eq_ignore_ascii_case(b"transfer-encoding"))
                .any(|f| f.value.split(|&b| b == b',').next_back().is_some_and(|c| trim(c).eq_ignore_ascii_case(b"chunked")));
            prop_assert_eq!(s.chunked, chunked);
            prop_assert_eq!(s.content_encoding, h.get(b"content-encoding").map(|f| f.value));
            prop_assert_eq!(s.host, h.get(b"host").is_some());
            prop_assert_eq!(s.missing_colon, h.iter().any(|f| f.missing_colon));
            let lengths = h.iter().filter(|f| f.name.eq_ignore_ascii_case(b"content-length")).count();
            prop_assert_eq!(s.content_length_fields as usize, lengths);
            for f in h.iter() {
                let mut v = Vec::new();
                f.unfolded_into(&mut v);
                prop_assert_eq!(v, f.value_parts().collect::<Vec<_>>().join(&b' '));
            }
        }

        #[test]
        fn header_split_points_agree(cut in 0usize..REQ.len()) {
            // Whatever the split, a complete head parses the same.
            let (rest, _) = parse_request_line(REQ).unwrap();
            let full = parse_headers(rest).unwrap().1;
            let n = cut.min(rest.len());
            match parse_headers(&rest[..n]) {
                Ok((_, h)) => prop_assert_eq!(h, full),
                Err(e) => prop_assert!(matches!(e, ParseError::Incomplete { .. }), "{:?}", e),
            }
        }
    }

    proptest! {
        /// The shortcut for paths with nothing to decode or remove gives
        /// what the general case gives.
        #[test]
        fn plain_paths_normalise_as_the_general_case(
            path in proptest::collection::vec(proptest::sample::select(b"/.%2eAa?".to_vec()), 0..24),
        ) {
            let mut fast = Vec::new();
            normalize_uri(&path, &mut fast);
            let q = path.iter().position(|&b| b == b'?').unwrap_or(path.len());
            let mut general = Vec::new();
            decode_path(&path[..q], &path[q..], &mut general);
            prop_assert_eq!(fast, general);
        }
    }
}
