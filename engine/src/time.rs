//! Timestamps as EVE writes them: `2026-01-15T10:00:00.123456+0000` (UTC).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use std::fmt::Write;

/// Days since 1970-01-01 to a civil (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Howard Hinnant's public-domain algorithm.
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Length of an EVE timestamp (years stay four digits up to `u64::MAX` ns).
pub const EVE_TS_LEN: usize = 31;

/// Write `v` in `width` decimal digits at `out[at..]`.
fn put_digits(out: &mut [u8], at: usize, width: usize, mut v: u64) {
    for i in (at..at + width).rev() {
        if let Some(b) = out.get_mut(i) {
            *b = b'0' + (v % 10) as u8;
        }
        v /= 10;
    }
}

/// The EVE timestamp for `ts_ns` nanoseconds since the epoch, as bytes
/// (EVE writes one per record; this skips `fmt`).
pub fn eve_ts_bytes(ts_ns: u64) -> [u8; EVE_TS_LEN] {
    let secs = ts_ns / 1_000_000_000;
    let micros = (ts_ns % 1_000_000_000) / 1000;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let mut out = *b"0000-00-00T00:00:00.000000+0000";
    put_digits(&mut out, 0, 4, y.unsigned_abs());
    put_digits(&mut out, 5, 2, m.into());
    put_digits(&mut out, 8, 2, d.into());
    put_digits(&mut out, 11, 2, rem / 3600);
    put_digits(&mut out, 14, 2, (rem / 60) % 60);
    put_digits(&mut out, 17, 2, rem % 60);
    put_digits(&mut out, 20, 6, micros);
    out
}

/// Append an EVE timestamp for `ts_ns` nanoseconds since the epoch.
pub fn write_eve_ts(out: &mut impl Write, ts_ns: u64) {
    let b = eve_ts_bytes(ts_ns);
    let _ = out.write_str(std::str::from_utf8(&b).unwrap_or_default());
}

/// An EVE timestamp as a new string.
pub fn eve_ts(ts_ns: u64) -> String {
    let mut s = String::with_capacity(32);
    write_eve_ts(&mut s, ts_ns);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_epoch_and_known_dates() {
        assert_eq!(eve_ts(0), "1970-01-01T00:00:00.000000+0000");
        // 2026-01-15T10:00:00Z = 1768471200
        assert_eq!(
            eve_ts(1_768_471_200_000_000_000 + 123_456_789),
            "2026-01-15T10:00:00.123456+0000"
        );
        // leap day
        assert_eq!(
            eve_ts(951_782_400 * 1_000_000_000),
            "2000-02-29T00:00:00.000000+0000"
        );
        assert_eq!(eve_ts(u64::MAX).len(), 31);
        assert_eq!(eve_ts(u64::MAX), "2554-07-21T23:34:33.709551+0000");
    }

    proptest::proptest! {
        /// The digit writer against `fmt` for any time.
        #[test]
        fn bytes_match_fmt(ts_ns: u64) {
            let secs = (ts_ns / 1_000_000_000) as i64;
            let micros = (ts_ns % 1_000_000_000) / 1000;
            let rem = secs.rem_euclid(86_400);
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let want = format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}+0000",
                rem / 3600,
                (rem / 60) % 60,
                rem % 60
            );
            proptest::prop_assert_eq!(eve_ts(ts_ns), want);
        }
    }
}
