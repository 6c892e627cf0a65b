//! Time without a calendar crate: the Unix clock, and timestamps in the form PostgreSQL prints
//! `timestamptz` values in JSON (`2026-03-01T10:00:00+00:00`, UTC, fraction trimmed).

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Now, as PostgreSQL renders a `timestamptz` in UTC.
pub fn now_timestamp() -> String {
    format_unix(unix_now() as i64)
}

/// A Unix time as `YYYY-MM-DDTHH:MM:SS+00:00`.
pub fn format_unix(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Parse `YYYY-MM-DD`, `YYYY-MM-DD[T ]HH:MM[:SS[.f]]` with an optional `Z` or `±HH[:MM]`
/// offset (none means UTC) into (Unix seconds, fraction digits).
pub fn parse_timestamp(s: &str) -> Option<(i64, String)> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year: i64 = s.get(0..4)?.parse().ok()?;
    let month: u32 = s.get(5..7)?.parse().ok()?;
    let day: u32 = s.get(8..10)?.parse().ok()?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut secs = days_from_civil(year, month, day) * 86_400;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some((secs, String::new()));
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let hh: i64 = rest.get(0..2)?.parse().ok()?;
    if rest.as_bytes().get(2) != Some(&b':') {
        return None;
    }
    let mm: i64 = rest.get(3..5)?.parse().ok()?;
    let mut tail = rest.get(5..)?;
    let mut ss = 0;
    let mut fraction = String::new();
    if let Some(after) = tail.strip_prefix(':') {
        ss = after.get(0..2)?.parse().ok()?;
        tail = after.get(2..)?;
        if let Some(after) = tail.strip_prefix('.') {
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            if digits.is_empty() {
                return None;
            }
            tail = &after[digits.len()..];
            fraction = digits.trim_end_matches('0').to_owned();
        }
    }
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    secs += hh * 3600 + mm * 60 + ss;
    let offset = match tail {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match tail.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = tail[1..].chars().filter(|c| *c != ':').collect();
            if !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let (oh, om): (i64, i64) = match digits.len() {
                2 => (digits.parse().ok()?, 0),
                4 => (digits[0..2].parse().ok()?, digits[2..4].parse().ok()?),
                _ => return None,
            };
            sign * (oh * 3600 + om * 60)
        }
    };
    Some((secs - offset, fraction))
}

/// A timestamp in PostgreSQL's UTC rendering, or `None` if it does not parse.
pub fn normalize_timestamp(s: &str) -> Option<String> {
    let (secs, fraction) = parse_timestamp(s)?;
    let base = format_unix(secs);
    if fraction.is_empty() {
        Some(base)
    } else {
        let (date_time, zone) = base.split_at(19);
        Some(format!("{date_time}.{fraction}{zone}"))
    }
}

/// A date `YYYY-MM-DD`, or `None`.
pub fn normalize_date(s: &str) -> Option<String> {
    let s = s.trim();
    if s.len() != 10 {
        return None;
    }
    parse_timestamp(s).map(|_| s.to_owned())
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_normalises_like_postgres() {
        assert_eq!(format_unix(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(
            normalize_timestamp("2026-03-01T10:00:00Z").unwrap(),
            "2026-03-01T10:00:00+00:00"
        );
        assert_eq!(
            normalize_timestamp("2026-03-01 12:30:00+02:00").unwrap(),
            "2026-03-01T10:30:00+00:00"
        );
        assert_eq!(
            normalize_timestamp("2024-02-29T23:59:59.120-01:00").unwrap(),
            "2024-03-01T00:59:59.12+00:00"
        );
        assert_eq!(
            normalize_timestamp("2026-06-01").unwrap(),
            "2026-06-01T00:00:00+00:00"
        );
        assert!(normalize_timestamp("2026-02-30").is_none());
        assert!(normalize_timestamp("yesterday").is_none());
        assert_eq!(normalize_date("2026-06-01").as_deref(), Some("2026-06-01"));
        assert!(normalize_date("2026-06-01T00:00:00Z").is_none());
        let now = unix_now() as i64;
        assert_eq!(parse_timestamp(&format_unix(now)).unwrap().0, now);
    }
}
