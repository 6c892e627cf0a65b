//! EspoCRM datetimes: always UTC, written `YYYY-MM-DD HH:mm:ss`. Agents tend to send ISO 8601
//! (`2026-12-01T17:00:00Z`, or with an offset); [`to_espo_datetime`] turns those into EspoCRM's
//! form, converting offsets to UTC. Also the clock of the sandbox.

use std::time::{SystemTime, UNIX_EPOCH};

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Seconds since the epoch as EspoCRM's `YYYY-MM-DD HH:mm:ss` (UTC).
pub fn format_epoch(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Now, as EspoCRM writes it.
pub fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    format_epoch(secs)
}

/// A datetime in EspoCRM's form (UTC, `YYYY-MM-DD HH:mm:ss`), from either that form or ISO 8601
/// (`T` separator, optional fraction, `Z` or `±HH:MM` offset). `None` when it is neither.
pub fn to_espo_datetime(input: &str) -> Option<String> {
    let s = input.trim();
    let b = s.as_bytes();
    if b.len() < 16 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi) = (num(11..13)?, num(14..16)?);
    if b[13] != b':' || !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 {
        return None;
    }
    let mut rest = &s[16..];
    let mut sec = 0;
    if let Some(r) = rest.strip_prefix(':') {
        sec = num(17..19)?;
        if sec > 60 {
            return None;
        }
        rest = &r[2..];
    }
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset_min = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let oh: i64 = digits[..2].parse().ok()?;
            let om: i64 = digits[2..].parse().ok()?;
            sign * (oh * 60 + om)
        }
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    Some(format_epoch(secs))
}

/// An EspoCRM datetime (`YYYY-MM-DD HH:mm:ss`, UTC) as ISO 8601 (`YYYY-MM-DDTHH:mm:ssZ`).
pub fn espo_to_iso(value: &str) -> String {
    match to_espo_datetime(value) {
        Some(v) => format!("{}T{}Z", &v[..10], &v[11..]),
        None => value.to_owned(),
    }
}

/// Seconds since the epoch of a datetime (EspoCRM or ISO form) or a date (`YYYY-MM-DD`, at
/// midnight UTC).
pub fn epoch_of(value: &str) -> Option<i64> {
    let full = if value.len() == 10 {
        format!("{value} 00:00:00")
    } else {
        value.to_owned()
    };
    let v = to_espo_datetime(&full)?;
    let num = |r: std::ops::Range<usize>| v[r].parse::<i64>().ok();
    Some(
        days_from_civil(num(0..4)?, num(5..7)?, num(8..10)?) * 86_400
            + num(11..13)? * 3600
            + num(14..16)? * 60
            + num(17..19)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_and_offsets_become_utc_espo_form() {
        assert_eq!(
            to_espo_datetime("2026-12-01T17:00:00Z").as_deref(),
            Some("2026-12-01 17:00:00")
        );
        assert_eq!(
            to_espo_datetime("2026-12-01 17:00:00").as_deref(),
            Some("2026-12-01 17:00:00")
        );
        assert_eq!(
            to_espo_datetime("2026-12-01T01:30:00+02:00").as_deref(),
            Some("2026-11-30 23:30:00")
        );
        assert_eq!(
            to_espo_datetime("2026-12-31T23:30:00.123-01:00").as_deref(),
            Some("2027-01-01 00:30:00")
        );
        assert_eq!(
            to_espo_datetime("2026-12-01T17:00").as_deref(),
            Some("2026-12-01 17:00:00")
        );
        assert_eq!(to_espo_datetime("2026-12-01"), None);
        assert_eq!(to_espo_datetime("yesterday at noon"), None);
        assert_eq!(to_espo_datetime("2026-13-01T00:00:00Z"), None);
        assert_eq!(espo_to_iso("2026-11-21 05:34:21"), "2026-11-21T05:34:21Z");
    }

    #[test]
    fn epoch_formatting_round_trips() {
        assert_eq!(format_epoch(0), "1970-01-01 00:00:00");
        assert_eq!(format_epoch(1_795_000_000), "2026-11-18 11:06:40");
        assert_eq!(
            days_from_civil(2024, 2, 29) + 1,
            days_from_civil(2024, 3, 1)
        );
    }
}
