//! Timestamps without a date library: civil-date arithmetic, ISO 8601 formatting, and a clock
//! that never goes backwards, so `updated_at` always changes on a write.

use std::time::{SystemTime, UNIX_EPOCH};

const MS_PER_DAY: i64 = 86_400_000;

/// The moment the seed data was "taken": 2026-04-01T09:00:00Z. Every seeded timestamp is
/// earlier; every write is later.
pub(crate) const SEED_NOW_MS: i64 = 20_544 * MS_PER_DAY + 9 * 3_600_000;

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` of a day count.
pub(crate) fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of milliseconds since the epoch. One fixed width, so timestamps
/// order correctly as strings.
pub(crate) fn format_ms(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let rest = ms.rem_euclid(MS_PER_DAY);
    let (h, min, s, milli) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    format!("{}T{h:02}:{min:02}:{s:02}.{milli:03}Z", format_date(days))
}

/// Milliseconds since the epoch of a day count.
pub(crate) fn day_ms(days: i64) -> i64 {
    days * MS_PER_DAY
}

/// Whether `text` is a valid `YYYY-MM-DD` date.
pub(crate) fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || !text.is_ascii() || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |s: &str| s.parse::<u32>().ok();
    match (num(&text[..4]), num(&text[5..7]), num(&text[8..])) {
        (Some(y), Some(m), Some(d)) if (1..=12).contains(&m) && d >= 1 => {
            let next = if m == 12 {
                days_from_civil(i64::from(y) + 1, 1, 1)
            } else {
                days_from_civil(i64::from(y), m + 1, 1)
            };
            i64::from(d) <= next - days_from_civil(i64::from(y), m, 1)
        }
        _ => false,
    }
}

/// Whether `text` looks like an ISO 8601 date-time (`YYYY-MM-DDTHH:MM…`).
pub(crate) fn is_datetime(text: &str) -> bool {
    text.len() >= 16
        && text.is_char_boundary(10)
        && is_date(&text[..10])
        && matches!(text.as_bytes()[10], b'T' | b' ')
}

/// A clock that never repeats or goes backwards, starting after the seed.
#[derive(Debug)]
pub(crate) struct Clock {
    last_ms: i64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            last_ms: SEED_NOW_MS,
        }
    }
}

impl Clock {
    /// The next timestamp: wall time, but strictly later than the previous one.
    pub(crate) fn tick(&mut self) -> String {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2));
        self.last_ms = wall.max(self.last_ms + 1);
        format_ms(self.last_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2026, 4, 1), 20_544);
        for days in [-1000, 0, 59, 60, 11_016, 20_544, 40_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_ms(SEED_NOW_MS), "2026-04-01T09:00:00.000Z");
    }

    #[test]
    fn validates_dates() {
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2025-02-29"));
        assert!(!is_date("2025-13-01"));
        assert!(!is_date("2025-1-01"));
        assert!(is_datetime("2026-04-01T09:00:00Z"));
        assert!(!is_datetime("2026-04-01"));
    }

    #[test]
    fn clock_is_strictly_increasing() {
        let mut clock = Clock::default();
        let a = clock.tick();
        let b = clock.tick();
        assert!(b > a && a.as_str() > "2026-04-01T09:00:00.000Z");
    }
}
