//! Calendar dates and times, for every crate: civil-date arithmetic (proleptic Gregorian, UTC),
//! a strict parser for the ISO 8601 / SQL forms agents and CRMs write, and broken-down UTC time
//! for each vendor to format its own way.
//!
//! Why not `chrono`, `time` or `jiff`: crmgate needs a few dozen lines of it — no time zones,
//! no locales, no durations — and the parser must accept exactly the forms listed at
//! [`parse_datetime`]. A calendar crate would add a dependency to the binary for less control
//! over that grammar. The arithmetic is checked against `chrono` in this crate's property
//! tests (`tests/properties.rs`).
//!
//! The parser reads bytes with bounds-checked access only: any text, in any script, gives
//! `Some` or `None`, never a panic.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds in a day.
pub const SECS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date `(year, month, day)` of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Whether `year` has a 29 February.
pub fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` (1–12) of `year`; 0 for a month outside 1–12.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        _ => 0,
    }
}

/// Seconds since the Unix epoch, now (0 if the clock is before 1970).
pub fn unix_now() -> i64 {
    unix_now_ms().div_euclid(1000)
}

/// Milliseconds since the Unix epoch, now.
pub fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A moment broken down into UTC calendar fields, for formatting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Year (proleptic Gregorian).
    pub year: i64,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, 1–31.
    pub day: u32,
    /// Hour, 0–23.
    pub hour: u32,
    /// Minute, 0–59.
    pub minute: u32,
    /// Second, 0–59.
    pub second: u32,
}

impl Civil {
    /// The UTC fields of a Unix time in seconds.
    pub fn from_unix(secs: i64) -> Self {
        let (year, month, day) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
        let rem = secs.rem_euclid(SECS_PER_DAY) as u32;
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
        }
    }

    /// `YYYY-MM-DD`.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `HH:MM:SS`.
    pub fn time(&self) -> String {
        format!("{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
    }
}

/// `YYYY-MM-DD` of a day count since 1970-01-01.
pub fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A moment read by [`parse_datetime`] or [`parse_date_or_datetime`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Unix time in seconds (UTC: any offset written is applied).
    pub unix: i64,
    /// The digits of the fractional second as written, trailing zeros removed (`"12"` for
    /// `.120`); empty when none.
    pub fraction: String,
    /// Whether a time of day was written (`false`: a bare date, read as midnight UTC).
    pub has_time: bool,
}

/// A strict `YYYY-MM-DD` (a real day of a real month), as days since 1970-01-01.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut c = Cursor::new(text);
    let days = c.date()?;
    c.at_end().then_some(days)
}

/// Whether `text` is a strict `YYYY-MM-DD`.
pub fn is_date(text: &str) -> bool {
    parse_date(text).is_some()
}

/// A date-time in one of the forms agents and CRMs write:
/// `YYYY-MM-DD` then `T`, `t` or a space, then `HH:MM`, optionally `:SS` (00–60) and a
/// fraction `.d…`, then optionally a zone: `Z`, `z`, `±HH`, `±HHMM` or `±HH:MM` (none: UTC).
/// The date must exist; nothing may follow. No trimming: surrounding spaces are refused.
pub fn parse_datetime(text: &str) -> Option<Parsed> {
    parse(text, true)
}

/// Whether `text` is a date-time [`parse_datetime`] accepts.
pub fn is_datetime(text: &str) -> bool {
    parse_datetime(text).is_some()
}

/// [`parse_datetime`], or a bare `YYYY-MM-DD` (midnight UTC, `has_time: false`).
pub fn parse_date_or_datetime(text: &str) -> Option<Parsed> {
    parse(text, false)
}

fn parse(text: &str, time_required: bool) -> Option<Parsed> {
    let mut c = Cursor::new(text);
    let days = c.date()?;
    if c.at_end() {
        return (!time_required).then(|| Parsed {
            unix: days * SECS_PER_DAY,
            fraction: String::new(),
            has_time: false,
        });
    }
    if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
        return None;
    }
    let hour = c.number(2)?;
    c.expect(b':')?;
    let minute = c.number(2)?;
    let mut second = 0;
    let mut fraction = String::new();
    if c.eat(b':') {
        second = c.number(2)?;
        if c.eat(b'.') {
            let digits = c.digit_run();
            if digits.is_empty() {
                return None;
            }
            fraction = digits.trim_end_matches('0').to_owned();
        }
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let offset = c.zone()?;
    c.at_end().then(|| Parsed {
        unix: days * SECS_PER_DAY + i64::from(hour * 3600 + minute * 60 + second) - offset,
        fraction,
        has_time: true,
    })
}

/// Reads ASCII structure from arbitrary text by byte position, bounds-checked everywhere.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            bytes: text.as_bytes(),
            at: 0,
        }
    }

    fn at_end(&self) -> bool {
        self.at == self.bytes.len()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.bytes.get(self.at) == Some(&byte);
        if hit {
            self.at += 1;
        }
        hit
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// Exactly `width` ASCII digits.
    fn number(&mut self, width: usize) -> Option<u32> {
        let digits = self.bytes.get(self.at..self.at + width)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.at += width;
        Some(digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    }

    /// Every ASCII digit from here on (possibly none).
    fn digit_run(&mut self) -> String {
        let start = self.at;
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        // ASCII digits only, so this is valid UTF-8
        self.bytes[start..self.at]
            .iter()
            .map(|&b| b as char)
            .collect()
    }

    /// `YYYY-MM-DD` as a day count, if that day exists.
    fn date(&mut self) -> Option<i64> {
        let year = self.number(4)?;
        self.expect(b'-')?;
        let month = self.number(2)?;
        self.expect(b'-')?;
        let day = self.number(2)?;
        let year = i64::from(year);
        (day >= 1 && day <= days_in_month(year, month)).then(|| days_from_civil(year, month, day))
    }

    /// An optional zone, as seconds east of UTC.
    fn zone(&mut self) -> Option<i64> {
        if self.at_end() {
            return Some(0);
        }
        if self.eat(b'Z') || self.eat(b'z') {
            return Some(0);
        }
        let sign = if self.eat(b'+') {
            1
        } else if self.eat(b'-') {
            -1
        } else {
            return None;
        };
        let hours = self.number(2)?;
        let minutes = if self.at_end() {
            0
        } else {
            self.eat(b':');
            self.number(2)?
        };
        (hours <= 23 && minutes <= 59).then(|| sign * i64::from(hours * 3600 + minutes * 60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_arithmetic_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2026, 4, 1), 20_544);
        assert_eq!(
            days_from_civil(2024, 2, 29) + 1,
            days_from_civil(2024, 3, 1)
        );
        for days in [-1_000_000, -1000, -1, 0, 59, 60, 11_016, 20_544, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_date(0), "1970-01-01");
        let c = Civil::from_unix(1_795_000_000);
        assert_eq!(
            (c.date(), c.time()),
            ("2026-11-18".into(), "11:06:40".into())
        );
        assert_eq!(Civil::from_unix(-1).time(), "23:59:59");
    }

    #[test]
    fn dates_must_exist() {
        assert_eq!(parse_date("2024-02-29"), Some(days_from_civil(2024, 2, 29)));
        for bad in [
            "2025-02-29",
            "2025-13-01",
            "2025-00-10",
            "2025-01-00",
            "2025-1-01",
            "2025-01-01 ",
            " 2025-01-01",
            "2025-01-01T00:00",
            "",
            "２０２５-01-01",
        ] {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn datetimes_in_every_written_form() {
        let at = |text: &str| parse_datetime(text).map(|p| (p.unix, p.fraction));
        let base = days_from_civil(2026, 12, 1) * SECS_PER_DAY + 17 * 3600;
        assert_eq!(at("2026-12-01T17:00:00Z"), Some((base, String::new())));
        assert_eq!(at("2026-12-01 17:00:00"), Some((base, String::new())));
        assert_eq!(at("2026-12-01t17:00"), Some((base, String::new())));
        assert_eq!(at("2026-12-01T19:00:00+02:00"), Some((base, String::new())));
        assert_eq!(at("2026-12-01T19:00:00+0200"), Some((base, String::new())));
        assert_eq!(at("2026-12-01T19:00+02"), Some((base, String::new())));
        assert_eq!(
            at("2026-12-01T16:30:00.120-00:30"),
            Some((base, "12".into()))
        );
        assert_eq!(at("2026-12-01T17:00:00.000Z"), Some((base, String::new())));
        assert_eq!(
            parse_date_or_datetime("2026-12-01").map(|p| (p.unix, p.has_time)),
            Some((base - 17 * 3600, false))
        );
        assert!(parse_datetime("2026-12-01").is_none());
        for bad in [
            "2026-12-01T24:00:00Z",
            "2026-12-01T17:60",
            "2026-12-01T17:00:61",
            "2026-12-01T17:00:00.",
            "2026-12-01T17:00:00Zjunk",
            "2026-12-01T17:00:00+2",
            "2026-12-01T17:00:00+24:00",
            "2026-12-01X17:00",
            "2026-02-30T10:00",
            // multi-byte characters where a byte index of the old parsers landed
            "2026-01-01é0:00",
            "2026-01-01T1é:00",
            "2026-01-01T10:00:0é",
            "2026-01-01T10:00+0é",
            "2026-01-01T10:00:00.é",
            "yesterday at noon",
        ] {
            assert!(parse_datetime(bad).is_none(), "{bad:?}");
        }
    }
}
