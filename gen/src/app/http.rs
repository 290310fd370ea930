//! HTTP/1.1 requests and responses (keep-alive, Content-Length or chunked).

use crate::rng::Rng;

/// Browser and tool user agents seen in normal traffic.
pub const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:134.0) Gecko/20100101 Firefox/134.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "okhttp/4.12.0",
    "Go-http-client/1.1",
];

/// An HTTP/1.1 request.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// Method, e.g. `GET`.
    pub method: &'a str,
    /// Request target as sent (already percent-encoded).
    pub uri: &'a str,
    /// `Host` header.
    pub host: &'a str,
    /// `User-Agent` header.
    pub user_agent: &'a str,
    /// Further headers, in order.
    pub headers: Vec<(&'a str, &'a str)>,
    /// Body; a `Content-Length` header is added when it is not empty.
    pub body: &'a [u8],
    /// Send `Connection: close` instead of `keep-alive`.
    pub close: bool,
}

impl<'a> Request<'a> {
    /// A browser-like GET.
    pub fn get(uri: &'a str, host: &'a str, user_agent: &'a str) -> Self {
        Request {
            method: "GET",
            uri,
            host,
            user_agent,
            headers: vec![
                (
                    "Accept",
                    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                ),
                ("Accept-Language", "en-US,en;q=0.5"),
                ("Accept-Encoding", "gzip, deflate"),
            ],
            body: &[],
            close: false,
        }
    }

    /// A form POST.
    pub fn post_form(uri: &'a str, host: &'a str, user_agent: &'a str, body: &'a [u8]) -> Self {
        let mut r = Request::get(uri, host, user_agent);
        r.method = "POST";
        r.headers = vec![
            ("Accept", "application/json"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        r.body = body;
        r
    }

    /// Serialized request.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\n",
            self.method, self.uri, self.host, self.user_agent
        );
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        if !self.body.is_empty() {
            s.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        s.push_str(if self.close {
            "Connection: close\r\n\r\n"
        } else {
            "Connection: keep-alive\r\n\r\n"
        });
        let mut out = s.into_bytes();
        out.extend_from_slice(self.body);
        out
    }
}

/// Reason phrase for a status code.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

fn head(status: u16, content_type: &str, date_secs: u64, extra: &[(&str, &str)]) -> String {
    let mut s = format!(
        "HTTP/1.1 {status} {}\r\nServer: nginx/1.24.0\r\nDate: {}\r\nContent-Type: {content_type}\r\n",
        reason(status),
        http_date(date_secs)
    );
    for (k, v) in extra {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s
}

/// A response with `Content-Length`, `Connection: keep-alive`.
pub fn response(
    status: u16,
    content_type: &str,
    body: &[u8],
    date_secs: u64,
    extra: &[(&str, &str)],
) -> Vec<u8> {
    let mut s = head(status, content_type, date_secs, extra);
    s.push_str(&format!(
        "Content-Length: {}\r\nConnection: keep-alive\r\n\r\n",
        body.len()
    ));
    let mut out = s.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A response with `Transfer-Encoding: chunked`, the body cut into chunks of
/// `chunk` bytes (at least 1), ending with the zero-length chunk.
pub fn chunked_response(
    status: u16,
    content_type: &str,
    body: &[u8],
    chunk: usize,
    date_secs: u64,
) -> Vec<u8> {
    let mut s = head(status, content_type, date_secs, &[]);
    s.push_str("Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n");
    let mut out = s.into_bytes();
    for c in body.chunks(chunk.max(1)) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// IMF-fixdate (`Thu, 15 Jan 2026 10:00:00 GMT`) for Unix seconds.
pub fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31) in the
/// proleptic Gregorian calendar (Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

const WORDS: &[&str] = &[
    "alpine", "basket", "canvas", "delta", "ember", "forest", "garden", "harbor", "island", "jacket",
    "kettle", "lantern", "meadow", "nickel", "orchard", "pepper", "quartz", "river", "saddle", "timber",
    "velvet", "willow", "yellow", "zephyr", "shipping", "returns", "catalog", "review", "bundle", "classic",
    "premium", "organic",
];

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        let w: &str = rng.pick::<&str>(WORDS);
        s.push_str(w);
    }
    s
}

/// An HTML page of about `len` bytes.
pub fn html_page(rng: &mut Rng, title: &str, len: usize) -> Vec<u8> {
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <link rel=\"stylesheet\" href=\"/static/css/site.css\">\n<script src=\"/static/js/app.js\" defer></script>\n\
         </head>\n<body>\n<header><h1>{title}</h1><nav><a href=\"/\">Home</a> <a href=\"/products\">Products</a> \
         <a href=\"/cart\">Cart</a></nav></header>\n<main>\n"
    );
    let mut id = 1;
    while s.len() + 40 < len {
        let n = rng.range_usize(6, 18);
        s.push_str(&format!(
            "<article id=\"p{id}\"><h2>{}</h2><p>{}.</p><a href=\"/products/{id}\">Details</a></article>\n",
            sentence(rng, 2),
            sentence(rng, n)
        ));
        id += 1;
    }
    s.push_str("</main>\n</body>\n</html>\n");
    s.into_bytes()
}

/// A stylesheet of about `len` bytes.
pub fn css(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut s = String::from("/* site styles */\nbody { font-family: sans-serif; margin: 0; }\n");
    let mut i = 0;
    while s.len() < len {
        s.push_str(&format!(
            ".{}-{i} {{ color: #{:06x}; padding: {}px; }}\n",
            rng.pick(WORDS),
            rng.below(0x0100_0000),
            rng.below(24)
        ));
        i += 1;
    }
    s.into_bytes()
}

/// A script of about `len` bytes.
pub fn javascript(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut s = String::from("\"use strict\";\n");
    let mut i = 0;
    while s.len() < len {
        let w = rng.pick(WORDS);
        s.push_str(&format!(
            "function {w}{i}(el) {{ el.dataset.state = \"{}\"; return el.children.length + {}; }}\n",
            rng.pick(WORDS),
            rng.below(100)
        ));
        i += 1;
    }
    s.into_bytes()
}

/// A JSON product list with `n` items.
pub fn json_products(rng: &mut Rng, first_id: u64, n: usize) -> Vec<u8> {
    let mut s = String::from("{\"items\":[");
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let price = rng.range(199, 19_999);
        s.push_str(&format!(
            "{{\"id\":{},\"name\":\"{} {}\",\"price\":{}.{:02},\"in_stock\":{}}}",
            first_id + i as u64,
            rng.pick(WORDS),
            rng.pick(WORDS),
            price / 100,
            price % 100,
            rng.chance_permille(800)
        ));
    }
    s.push_str(&format!(
        "],\"next\":\"/api/products?page={}\"}}",
        first_id / 20 + 2
    ));
    s.into_bytes()
}

/// CRC-32 (IEEE 802.3), as PNG chunks use it.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A structurally valid PNG of about `len` bytes: signature, IHDR, one IDAT
/// of random (compressed-looking) bytes, IEND, each chunk with its CRC.
pub fn png(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let w = rng.range(16, 1024) as u32;
    let h = rng.range(16, 1024) as u32;
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA, deflate, no filter, no interlace
    png_chunk(&mut out, b"IHDR", &ihdr);
    let idat = rng.bytes(len.saturating_sub(8 + 25 + 12 + 12).max(1));
    png_chunk(&mut out, b"IDAT", &idat);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A body of `len` opaque bytes (an image or archive).
pub fn binary_body(rng: &mut Rng, magic: &[u8], len: usize) -> Vec<u8> {
    let mut b = magic.to_vec();
    b.extend(rng.bytes(len.saturating_sub(magic.len())));
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout() {
        let r = Request::get("/a?b=1", "shop.example.com", "ua/1").to_bytes();
        let s = String::from_utf8(r).unwrap();
        assert!(s.starts_with("GET /a?b=1 HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: ua/1\r\n"));
        assert!(s.ends_with("Connection: keep-alive\r\n\r\n"));
        let p = Request::post_form("/cart", "h", "u", b"qty=2").to_bytes();
        let s = String::from_utf8(p).unwrap();
        assert!(s.contains("Content-Length: 5\r\n"));
        assert!(s.ends_with("\r\n\r\nqty=2"));
    }

    #[test]
    fn response_has_exact_content_length() {
        let r = response(200, "text/plain", b"hello", 0, &[("Cache-Control", "no-store")]);
        let s = String::from_utf8(r).unwrap();
        let (head, body) = s.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(head.contains("Content-Length: 5"));
        assert!(head.contains("Cache-Control: no-store"));
        assert_eq!(body, "hello");
    }

    #[test]
    fn chunked_body_decodes_back() {
        let body: Vec<u8> = (0..1000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let r = chunked_response(200, "application/json", &body, 300, 0);
        let pos = r.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let mut rest = &r[pos..];
        let mut out = Vec::new();
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap(), 16).unwrap();
            rest = &rest[nl + 2..];
            if n == 0 {
                assert_eq!(rest, b"\r\n");
                break;
            }
            out.extend_from_slice(&rest[..n]);
            assert_eq!(&rest[n..n + 2], b"\r\n");
            rest = &rest[n + 2..];
        }
        assert_eq!(out, body);
    }

    #[test]
    fn http_dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_768_471_200), "Thu, 15 Jan 2026 10:00:00 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn fillers_reach_their_size() {
        let mut r = Rng::new(1);
        assert!(html_page(&mut r, "t", 4000).len() >= 3900);
        assert!(css(&mut r, 2000).len() >= 2000);
        assert!(javascript(&mut r, 2000).len() >= 2000);
        let j = json_products(&mut r, 21, 5);
        assert!(j.starts_with(b"{\"items\":[{\"id\":21,"));
        assert_eq!(binary_body(&mut r, b"%PDF-1.7\n", 100).len(), 100);
        let p = png(&mut r, 3000);
        assert_eq!(p.len(), 3000);
        assert_eq!(&p[8..16], b"\x00\x00\x00\x0dIHDR");
        assert!(p.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82]));
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }
}
